//! Exact values and one input per request (docs/threat-model.md, groups V and P), end to end
//! against spyne, whose lxml schema validation refuses any lexical form XSD does not allow.

use crate::common::fake_soap::{FakeSoap, Reply};
use crate::common::gateway::{assert_problem, TestGateway};
use crate::common::spyne::spyne;
use serde_json::{json, Value};

/// Template routes over spyne's AddNumbers (xs:integer) and AddAmounts (xs:decimal).
fn template_gateway() -> Option<TestGateway> {
    let s = spyne()?;
    let mapping = format!(
        r#"service: sums
backend:
  urls: [{url}]
  soap_version: "1.1"
  namespace: urn:soapgate:test:inventory
routes:
  - id: add
    method: POST
    path: /sum
    operation: AddNumbers
    action: AddNumbers
    request: {{ template: templates/add.xml.hbs }}
    response:
      types: {{ AddNumbersResult: integer }}
  - id: amounts
    method: POST
    path: /amounts
    operation: AddAmounts
    action: AddAmounts
    request: {{ template: templates/amounts.xml.hbs }}
    response:
      types: {{ AddAmountsResult: decimal }}
"#,
        url = s.url("/soap11")
    );
    Some(
        TestGateway::builder()
            .mapping("sums", &mapping)
            .file(
                "templates/add.xml.hbs",
                "<t:AddNumbers xmlns:t=\"{{ns}}\"><t:a>{{input.a}}</t:a><t:b>{{input.b}}</t:b></t:AddNumbers>",
            )
            .file(
                "templates/amounts.xml.hbs",
                "<t:AddAmounts xmlns:t=\"{{ns}}\"><t:a>{{body.a}}</t:a><t:b>{{body.b}}</t:b></t:AddAmounts>",
            )
            .start(),
    )
}

#[actix_rt::test]
async fn v1_template_routes_send_the_clients_digits() {
    let Some(gw) = template_gateway() else { return };
    let r = gw
        .post_json("/sum", r#"{"a": 99999999999999999999, "b": 1}"#)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"AddNumbersResult": "100000000000000000000"}));
    let r = gw
        .post_json(
            "/amounts",
            r#"{"a": 12345678901234567890.123456789, "b": 0.000000001}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json(),
        json!({"AddAmountsResult": "12345678901234567890.123456790"})
    );
    let r = gw
        .post_json("/amounts", r#"{"a": 0.0000001, "b": 12345678901234567.5}"#)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"AddAmountsResult": "12345678901234567.5000001"}));
}

/// Imports spyne's service from its served WSDL with the real binary; `edit` changes the generated
/// mapping before the gateway loads it.
async fn imported(
    edit: impl Fn(String) -> String,
) -> Option<(tempfile::TempDir, actix_web::dev::ServerHandle, String)> {
    let s = spyne()?;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args(["import", &s.url("/soap11?wsdl"), "--service", "inventory"])
        .arg("--backend-url")
        .arg(s.url("/soap11"))
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("import runs");
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mapping = dir.path().join("mappings/inventory.yaml");
    let text = std::fs::read_to_string(&mapping).expect("mapping");
    std::fs::write(&mapping, edit(text)).expect("edit mapping");
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args(["check", "--config"])
        .arg(dir.path().join("soapgate.yaml"))
        .output()
        .expect("check runs");
    assert!(
        check.status.success(),
        "check: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let gw =
        soapgate::gateway::Gateway::load(dir.path().join("soapgate.yaml")).expect("generated config loads");
    let (server, addrs) =
        soapgate::server::rest_server(std::sync::Arc::new(gw), "127.0.0.1:0").expect("bind");
    let handle = server.handle();
    actix_rt::spawn(server);
    Some((dir, handle, format!("http://{}", addrs[0])))
}

async fn call(method: &str, url: &str, body: Option<&str>) -> (u16, Value) {
    let client = awc::Client::default();
    let req = client.request(method.parse().expect("method"), url);
    let mut res = match body {
        Some(b) => req
            .insert_header(("content-type", "application/json"))
            .send_body(b.to_string())
            .await
            .expect("gateway answers"),
        None => req.send().await.expect("gateway answers"),
    };
    let bytes = res.body().await.expect("body");
    (
        res.status().as_u16(),
        serde_json::from_slice(&bytes).expect("JSON"),
    )
}

#[actix_rt::test]
async fn v2_validated_routes_send_the_xsd_form_and_refuse_what_does_not_fit() {
    let Some((_dir, handle, base)) = imported(|m| m).await else {
        return;
    };
    let sum = format!("{base}/inventory/add-numbers");
    let amounts = format!("{base}/inventory/add-amounts");
    // spyne refuses `1e+2` and `1e-7` as xs:integer / xs:decimal: these only pass as 100 and 0.0000001.
    let (status, r) = call("POST", &sum, Some(r#"{"a": 1e2, "b": 99999999999999999999}"#)).await;
    assert_eq!(
        (status, r),
        (200, json!({"AddNumbersResult": "100000000000000000099"}))
    );
    let (status, r) = call(
        "POST",
        &amounts,
        Some(r#"{"a": 1e-7, "b": 12345678901234567890.123456789}"#),
    )
    .await;
    assert_eq!(
        (status, r),
        (200, json!({"AddAmountsResult": "12345678901234567890.123456889"}))
    );
    let (status, r) = call("POST", &sum, Some(r#"{"a": 1.5, "b": 1}"#)).await;
    assert_eq!(
        (status, r["code"].clone()),
        (400, json!("SCHEMA_VIOLATION")),
        "{r}"
    );
    assert_eq!(
        r["errors"],
        json!([{"pointer": "/a", "message": "must be an integer"}])
    );
    let (status, r) = call("POST", &amounts, Some(r#"{"a": 1e4000, "b": 1}"#)).await;
    assert_eq!(
        (status, r["code"].clone()),
        (400, json!("SCHEMA_VIOLATION")),
        "{r}"
    );
    let long = format!(r#"{{"a": {}, "b": 1}}"#, "9".repeat(101));
    let (status, r) = call("POST", &sum, Some(&long)).await;
    assert_eq!((status, r["code"].clone()), (400, json!("JSON_NUMBER")), "{r}");
    handle.stop(false).await;
}

#[actix_rt::test]
async fn p2_query_never_overrides_the_body_on_validated_routes() {
    let Some((_dir, handle, base)) = imported(|m| m).await else {
        return;
    };
    let sum = format!("{base}/inventory/add-numbers");
    let (status, r) = call("POST", &format!("{sum}?a=100"), Some(r#"{"a": 2, "b": 40}"#)).await;
    assert_eq!(
        (status, r["code"].clone()),
        (400, json!("PARAMETER_CONFLICT")),
        "{r}"
    );
    assert_eq!(
        r["detail"],
        json!("`/a` is given in the body and in the query with different values.")
    );
    // The same value twice is one value; a field may come from the query alone.
    let (status, r) = call("POST", &format!("{sum}?a=2"), Some(r#"{"a": 2, "b": 40}"#)).await;
    assert_eq!((status, r), (200, json!({"AddNumbersResult": 42})));
    let (status, r) = call("POST", &format!("{sum}?b=40"), Some(r#"{"a": 2}"#)).await;
    assert_eq!((status, r), (200, json!({"AddNumbersResult": 42})));
    // What is validated is what is sent: an invalid body value cannot hide behind a valid query one.
    let (status, r) = call(
        "POST",
        &format!("{sum}?a=1"),
        Some(r#"{"a": "not a number", "b": 1}"#),
    )
    .await;
    assert_eq!(
        (status, r["code"].clone()),
        (400, json!("PARAMETER_CONFLICT")),
        "{r}"
    );
    let (status, r) = call("POST", &format!("{sum}?a=x"), Some(r#"{"b": 1}"#)).await;
    assert_eq!(
        (status, r["code"].clone()),
        (400, json!("SCHEMA_VIOLATION")),
        "{r}"
    );
    assert_eq!(r["errors"][0]["pointer"], json!("/a"));
    handle.stop(false).await;
}

#[actix_rt::test]
async fn p3_a_generated_route_moved_to_get_with_a_path_parameter_keeps_working() {
    let moved = |m: String| {
        m.replace(
            "method: POST\n    path: /inventory/get-item",
            "method: GET\n    path: /inventory/items/{sku}",
        )
    };
    let Some((_dir, handle, base)) = imported(moved).await else {
        return;
    };
    let (status, item) = call("GET", &format!("{base}/inventory/items/B-002"), None).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["GetItemResult"]["sku"], json!("B-002"));
    let (status, r) = call("GET", &format!("{base}/inventory/items/B-002?sku=A-001"), None).await;
    assert_eq!(
        (status, r["code"].clone()),
        (400, json!("PARAMETER_CONFLICT")),
        "{r}"
    );
    assert_eq!(
        r["detail"],
        json!("`/sku` is given in the path and in the query with different values.")
    );
    handle.stop(false).await;
}

#[actix_rt::test]
async fn p1_query_never_overrides_the_path_and_nothing_is_forwarded() {
    let fake = FakeSoap::new()
        .otherwise(Reply::soap11("<GetResponse><id>7</id></GetResponse>"))
        .start();
    let gw = TestGateway::builder()
        .route(
            &fake.url("/soap"),
            "id: get\nmethod: GET\npath: /customers/{id}\noperation: Get",
            "<Get><id>{{input.id}}</id></Get>",
        )
        .start();
    let r = gw.get("/customers/7?id=12").await;
    assert_problem(
        &r,
        400,
        "PARAMETER_CONFLICT",
        "`/id` is given in the path and in the query with different values.",
        "/customers/7",
    );
    let r = gw.get("/customers/7?x=1&x=2").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["detail"],
        json!("`/x` is given twice in the query with different values.")
    );
    assert_eq!(fake.hits(), 0);
    let r = gw.get("/customers/7?id=7").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = fake.last_request().expect("forwarded").body;
    assert!(sent.contains("<id>7</id>"), "{sent}");
}

#[actix_rt::test]
async fn v5_values_in_a_cdata_section_reach_the_backend_unaltered() {
    let fake = FakeSoap::new()
        .otherwise(Reply::soap11("<NoteResponse><ok>true</ok></NoteResponse>"))
        .start();
    let gw = TestGateway::builder()
        .route(
            &fake.url("/soap"),
            "id: note\nmethod: POST\npath: /notes\noperation: Note",
            "<Note><text><![CDATA[{{input.text}}]]></text><plain>{{input.text}}</plain></Note>",
        )
        .start();
    let r = gw
        .post_json("/notes", r#"{"text": "1 < 2 && ]]> <b>bold</b>"}"#)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = fake.last_request().expect("forwarded").body;
    assert!(
        sent.contains("<text><![CDATA[1 < 2 && ]]]]><![CDATA[> <b>bold</b>]]></text>"),
        "{sent}"
    );
    assert!(
        sent.contains("<plain>1 &lt; 2 &amp;&amp; ]]&gt; &lt;b&gt;bold&lt;/b&gt;</plain>"),
        "{sent}"
    );
}

#[actix_rt::test]
async fn p4_check_warns_about_names_a_route_can_never_supply() {
    let Some(s) = spyne() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = env!("CARGO_BIN_EXE_soapgate");
    let out = std::process::Command::new(bin)
        .args([
            "import",
            &s.url("/soap11?wsdl"),
            "--service",
            "inventory",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("import runs");
    assert!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mapping = dir.path().join("mappings/inventory.yaml");
    let text = std::fs::read_to_string(&mapping).expect("mapping");
    let moved = text.replace(
        "method: POST\n    path: /inventory/get-item",
        "method: GET\n    path: /inventory/items/{sku}",
    );
    std::fs::write(&mapping, moved).expect("edit mapping");
    let check = |dir: &std::path::Path| {
        let out = std::process::Command::new(bin)
            .args(["check", "--config"])
            .arg(dir.join("soapgate.yaml"))
            .output()
            .expect("check runs");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let clean = check(dir.path());
    assert!(
        !clean.contains("can never") && !clean.contains("no input field"),
        "{clean}"
    );
    let template = dir.path().join("templates/inventory/get-item.xml.hbs");
    std::fs::write(
        &template,
        "<ns1:GetItem xmlns:ns1=\"{{ns}}\">\n<ns1:sku>{{path.SKU}}</ns1:sku>\n<x>{{input.skuu}}</x></ns1:GetItem>",
    )
    .expect("edit template");
    let warned = check(dir.path());
    assert!(
        warned.contains("get-item.xml.hbs:2 reads `path.SKU`, but the route's path `/inventory/items/{sku}` has no `{SKU}`"),
        "{warned}"
    );
    assert!(warned.contains("use one of: path.sku"), "{warned}");
    assert!(
        warned.contains(
            "get-item.xml.hbs:3 reads `input.skuu`, but operation GetItem has no input field `skuu`"
        ),
        "{warned}"
    );
}

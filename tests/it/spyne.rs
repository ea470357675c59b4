//! End to end against a real third-party SOAP stack: the spyne service in tests/spyne (1.1 and 1.2).

use crate::common::gateway::{assert_problem, TestGateway};
use crate::common::spyne::spyne;
use serde_json::json;

/// One mapping per SOAP version, routes under /v11 and /v12.
fn mapping(version: &str, url: &str) -> String {
    let v = version.replace('.', "");
    let not_found = if version == "1.1" {
        "code: Client.NotFound"
    } else {
        "code: Sender, subcode: NotFound"
    };
    format!(
        r#"service: inventory{v}
backend:
  urls: [{url}]
  soap_version: "{version}"
  namespace: urn:soapgate:test:inventory
routes:
  - id: get-item
    method: GET
    path: /v{v}/items/{{sku}}
    operation: GetItem
    action: GetItem
    request: {{ template: templates/get-item.xml.hbs }}
    response:
      select: $.GetItemResult
      arrays: [GetItemResult/tags/string]
      types: {{ GetItemResult/price: decimal, GetItemResult/quantity: integer, GetItemResult/active: boolean }}
    faults:
      - when: {{ {not_found} }}
        status: 404
        code: ITEM_NOT_FOUND
        title: Item not found
        expose_message: true
  - id: list-items
    method: GET
    path: /v{v}/items
    operation: ListItems
    action: ListItems
    request: {{ template: templates/list-items.xml.hbs }}
    response:
      select: $.ListItemsResult.Item
      arrays: [ListItemsResult/Item, ListItemsResult/Item/tags/string]
      types: {{ ListItemsResult/Item/quantity: integer, ListItemsResult/Item/active: boolean }}
  - id: add
    method: POST
    path: /v{v}/sum
    operation: AddNumbers
    action: AddNumbers
    request: {{ template: templates/add.xml.hbs }}
    response:
      types: {{ AddNumbersResult: integer }}
"#
    )
}

fn gateway() -> Option<TestGateway> {
    let s = spyne()?;
    Some(
        TestGateway::builder()
            .mapping("inventory11", &mapping("1.1", &s.url("/soap11")))
            .mapping("inventory12", &mapping("1.2", &s.url("/soap12")))
            .file(
                "templates/get-item.xml.hbs",
                "<t:GetItem xmlns:t=\"{{ns}}\"><t:sku>{{path.sku}}</t:sku></t:GetItem>",
            )
            .file(
                "templates/list-items.xml.hbs",
                "<t:ListItems xmlns:t=\"{{ns}}\"><t:count>{{default query.count 1}}</t:count></t:ListItems>",
            )
            .file(
                "templates/add.xml.hbs",
                "<t:AddNumbers xmlns:t=\"{{ns}}\"><t:a>{{body.a}}</t:a><t:b>{{body.b}}</t:b></t:AddNumbers>",
            )
            .start(),
    )
}

#[actix_rt::test]
async fn typed_values_and_arrays_come_back_from_spyne_in_both_versions() {
    let Some(gw) = gateway() else { return };
    for v in ["11", "12"] {
        let r = gw.get(&format!("/v{v}/items/A-001")).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(
            r.json(),
            json!({"sku": "A-001", "name": "Widget", "price": "9.99", "quantity": 12, "active": true,
                   "updated": "2024-01-15T10:30:00+00:00", "tags": {"string": ["blue", "small"]}})
        );
    }
}

#[actix_rt::test]
async fn repeated_elements_keep_their_shape_with_one_and_zero_items() {
    let Some(gw) = gateway() else { return };
    let one = gw.get("/v11/items/B-002").await.json();
    assert_eq!(one["tags"], json!({"string": ["red"]}));
    assert_eq!(
        (one["price"].clone(), one["active"].clone()),
        (json!("120.50"), json!(false))
    );
    let zero = gw.get("/v12/items/C-003").await.json();
    assert_eq!(zero["tags"], json!({"string": []}));
    assert!(zero["name"].as_str().is_some_and(|n| n.contains("& <Co>")));
    let bond = gw.get("/v11/items/007").await.json();
    assert_eq!(bond["sku"], json!("007"));
}

#[actix_rt::test]
async fn list_results_are_arrays_for_zero_one_and_many() {
    let Some(gw) = gateway() else { return };
    for (v, n) in [("11", 0), ("11", 1), ("12", 3), ("12", 1)] {
        let r = gw.get(&format!("/v{v}/items?count={n}")).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let items = r.json();
        assert_eq!(items.as_array().map(Vec::len), Some(n), "v{v} count={n}: {items}");
        if n > 0 {
            assert_eq!(items[0]["quantity"], json!(12));
        }
    }
}

#[actix_rt::test]
async fn spyne_faults_map_to_problems() {
    let Some(gw) = gateway() else { return };
    for v in ["11", "12"] {
        let path = format!("/v{v}/items/missing");
        let r = gw.get(&path).await;
        assert_problem(&r, 404, "ITEM_NOT_FOUND", "item not found", &path);
        let path = format!("/v{v}/items/boom");
        let r = gw.get(&path).await;
        assert_problem(
            &r,
            502,
            "UPSTREAM_FAULT",
            "The backend service reported an error.",
            &path,
        );
        assert!(!String::from_utf8_lossy(&r.body).contains("database"));
    }
}

#[actix_rt::test]
async fn markup_in_input_reaches_spyne_as_text() {
    let Some(gw) = gateway() else { return };
    // Escaped, the value is just an unknown sku (404); unescaped it would be an XML syntax fault (400).
    let path = "/v11/items/%3C%2Fsku%3E%3Cx%3E%26";
    let r = gw.get(path).await;
    assert_problem(&r, 404, "ITEM_NOT_FOUND", "item not found", path);
}

#[actix_rt::test]
async fn json_numbers_go_in_and_typed_results_come_out() {
    let Some(gw) = gateway() else { return };
    let r = gw.post_json("/v12/sum", r#"{"a": 2, "b": 40}"#).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"AddNumbersResult": 42}));
    let r = gw.post_json("/v11/sum", r#"{"a": "abc", "b": 1}"#).await;
    assert_problem(
        &r,
        400,
        "UPSTREAM_CLIENT_FAULT",
        "The backend service reported an error.",
        "/v11/sum",
    );
}

/// Imports the spyne service from its own served WSDL with the real binary; serves the result.
async fn imported(version: &str) -> Option<(tempfile::TempDir, actix_web::dev::ServerHandle, String)> {
    let s = spyne()?;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = if version == "1.1" { "/soap11" } else { "/soap12" };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args([
            "import",
            &s.url(&format!("{path}?wsdl")),
            "--service",
            "inventory",
            "--soap-version",
            version,
        ])
        .arg("--backend-url")
        .arg(s.url(path))
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("import runs");
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.path().join("soapgate.yaml");
    let gw = soapgate::gateway::Gateway::load(config).unwrap_or_else(|e| panic!("generated config: {e:#?}"));
    let (server, addrs) =
        soapgate::server::rest_server(std::sync::Arc::new(gw), "127.0.0.1:0").expect("bind");
    let handle = server.handle();
    actix_rt::spawn(server);
    Some((dir, handle, format!("http://{}", addrs[0])))
}

async fn post(url: &str, body: &str) -> (u16, serde_json::Value) {
    let mut res = awc::Client::default()
        .post(url)
        .insert_header(("content-type", "application/json"))
        .send_body(body.to_string())
        .await
        .expect("gateway answers");
    let bytes = res.body().await.expect("body");
    (
        res.status().as_u16(),
        serde_json::from_slice(&bytes).expect("JSON"),
    )
}

#[actix_rt::test]
async fn spyne_imported_from_its_served_wsdl_serves_typed_json_validates_and_maps_faults() {
    for version in ["1.1", "1.2"] {
        let Some((_dir, handle, base)) = imported(version).await else {
            return;
        };
        let (status, item) = post(&format!("{base}/inventory/get-item"), r#"{"sku": "B-002"}"#).await;
        assert_eq!(status, 200, "{version}: {item}");
        assert_eq!(
            item,
            json!({"GetItemResult": {"sku": "B-002", "name": "Gadget", "price": "120.50", "quantity": 0,
                   "active": false, "updated": "2024-02-01T08:00:00+00:00", "tags": {"string": ["red"]}}})
        );
        let (status, list) = post(&format!("{base}/inventory/list-items"), r#"{"count": 1}"#).await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(
            list["ListItemsResult"]["Item"].as_array().map(Vec::len),
            Some(1),
            "{list}"
        );
        let (status, none) = post(&format!("{base}/inventory/list-items"), r#"{"count": 0}"#).await;
        assert_eq!((status, none), (200, json!({"ListItemsResult": {"Item": []}})));
        let (status, sum) = post(&format!("{base}/inventory/add-numbers"), r#"{"a": 2, "b": 40}"#).await;
        assert_eq!((status, sum), (200, json!({"AddNumbersResult": 42})));
        let (status, bad) = post(&format!("{base}/inventory/add-numbers"), r#"{"a": "two"}"#).await;
        assert_eq!(
            (status, bad["code"].clone()),
            (400, json!("SCHEMA_VIOLATION")),
            "{bad}"
        );
        assert_eq!(
            bad["errors"],
            json!([{"pointer": "/a", "message": "must be an integer"}])
        );
        let (status, fault) = post(&format!("{base}/inventory/get-item"), r#"{"sku": "missing"}"#).await;
        assert_eq!(
            (status, fault["code"].clone()),
            (400, json!("UPSTREAM_CLIENT_FAULT")),
            "{fault}"
        );
        let (status, fault) = post(&format!("{base}/inventory/get-item"), r#"{"sku": "boom"}"#).await;
        assert_eq!(
            (status, fault["code"].clone()),
            (502, json!("UPSTREAM_FAULT")),
            "{fault}"
        );
        handle.stop(false).await;
    }
}

/// spyne's served WSDL with `quantity` taken out of Item: spyne still sends `<quantity>`, which the
/// gateway's copy of the contract no longer declares (a backend ahead of the contract).
async fn wsdl_without_quantity(url: &str) -> String {
    let mut res = awc::Client::default()
        .get(format!("{url}?wsdl"))
        .send()
        .await
        .expect("spyne serves its WSDL");
    let text = String::from_utf8(res.body().await.expect("WSDL").to_vec()).expect("UTF-8");
    let quantity = r#"<xs:element name="quantity" type="xs:integer" minOccurs="0" nillable="true"/>"#;
    assert!(text.contains(quantity), "spyne's WSDL changed: {text}");
    text.replace(quantity, "")
}

#[actix_rt::test]
async fn l1_spyne_sends_an_element_the_contract_does_not_declare_and_only_declared_data_leaves() {
    let Some(s) = spyne() else { return };
    for (version, path) in [("1.1", "/soap11"), ("1.2", "/soap12")] {
        let wsdl = wsdl_without_quantity(&s.url(path)).await;
        let route = |id: &str, undeclared: &str| {
            format!(
                "  - id: {id}\n    method: POST\n    path: /{id}\n    operation: GetItem\n    response: {{ undeclared: {undeclared} }}\n"
            )
        };
        let mapping = format!(
            "service: inventory\nwsdl: wsdl/inventory.wsdl\nbackend:\n  urls: [{}]\n  soap_version: \"{version}\"\nroutes:\n{}{}",
            s.url(path),
            route("drop", "drop"),
            route("reject", "reject"),
        );
        let gw = TestGateway::builder()
            .file("wsdl/inventory.wsdl", &wsdl)
            .mapping("inventory", &mapping)
            .start();
        let r = gw.post_json("/drop", r#"{"sku": "A-001"}"#).await;
        assert_eq!(r.status, 200, "{version}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(
            r.json(),
            json!({"GetItemResult": {"sku": "A-001", "name": "Widget", "price": "9.99", "active": true,
                   "updated": "2024-01-15T10:30:00+00:00", "tags": {"string": ["blue", "small"]}}}),
            "{version}"
        );
        let r = gw.post_json("/reject", r#"{"sku": "A-001"}"#).await;
        assert_problem(
            &r,
            502,
            "UPSTREAM_UNDECLARED",
            "The backend response holds data the route does not declare.",
            "/reject",
        );
        let metrics = gw.gw.metrics.render();
        assert!(
            metrics.contains("soapgate_response_undeclared_total{route=\"drop\"} 1")
                && metrics.contains("soapgate_response_undeclared_total{route=\"reject\"} 1"),
            "{metrics}"
        );
    }
}

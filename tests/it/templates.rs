//! Request templates: XML escaping (T1, T3), invalid characters (T4), raw output (T5), strict mode
//! (T6), configured SOAP action (T7), helpers in a real route, and the JSON request checks.

use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply};
use crate::common::gateway::{assert_problem, Resp, TestGateway};
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::NsReader;
use serde_json::{json, Value};

const ROUTE: &str = "id: save\nmethod: POST\npath: /things\noperation: Save\naction: urn:test/Save";
const REPLY: &str = "<t:SaveResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:SaveResponse>";

fn backend() -> FakeHandle {
    FakeSoap::new().on("Save", Reply::soap11(REPLY)).start()
}

fn gateway(fake: &FakeHandle, template: &str) -> TestGateway {
    TestGateway::builder()
        .route(&fake.url("/s"), ROUTE, template)
        .start()
}

/// One element of a parsed document: local name, attributes (unescaped) and direct text.
#[derive(Debug, PartialEq)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    text: String,
}

/// Parses a whole document, panicking unless it is well-formed; returns its elements in order.
fn elements(xml: &str) -> Vec<Element> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let (mut out, mut open) = (Vec::new(), Vec::<usize>::new());
    loop {
        let (_, event) = reader
            .read_resolved_event()
            .unwrap_or_else(|e| panic!("not well-formed ({e}): {xml}"));
        match event {
            Event::Start(e) => {
                let attributes = e
                    .attributes()
                    .map(|a| a.expect("attribute"))
                    .filter(|a| a.key.as_namespace_binding().is_none())
                    .map(|a| {
                        let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0);
                        let key = a.key.local_name().into_inner().to_string();
                        (key, value.expect("attribute value").into_owned())
                    })
                    .collect();
                let name = e.local_name().into_inner().to_string();
                open.push(out.len());
                out.push(Element {
                    name,
                    attributes,
                    text: String::new(),
                });
            }
            Event::End(_) => drop(open.pop()),
            Event::Text(t) => match open.last() {
                Some(&i) => out[i].text.push_str(&t.xml10_content()),
                None => assert!(
                    t.xml10_content().trim().is_empty(),
                    "text outside the root: {xml}"
                ),
            },
            Event::GeneralRef(r) => {
                let c = resolve_predefined_entity(&r).unwrap_or_else(|| panic!("entity &{}; in {xml}", &*r));
                let i = *open.last().expect("entity inside an element");
                out[i].text.push_str(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(open.is_empty(), "unclosed elements in {xml}");
    out
}

/// The elements inside the SOAP Body of what the backend received.
fn body_elements(fake: &FakeHandle) -> Vec<Element> {
    let sent = fake.last_request().expect("backend called");
    let all = elements(&sent.body);
    let at = all.iter().position(|e| e.name == "Body").expect("a Body");
    all.into_iter().skip(at + 1).collect()
}

fn el(name: &str, attributes: &[(&str, &str)], text: &str) -> Element {
    Element {
        name: name.to_string(),
        attributes: attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        text: text.to_string(),
    }
}

/// Posts raw bytes with a Content-Type.
async fn post_bytes(gw: &TestGateway, path: &str, content_type: &str, body: &'static [u8]) -> Resp {
    let mut res = awc::Client::default()
        .post(gw.url(path))
        .insert_header(("content-type", content_type))
        .send_body(body)
        .await
        .expect("gateway answers");
    let body = res.body().await.expect("body").to_vec();
    Resp {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body,
    }
}

/// A whole problem body whose `detail` is only known to start with `detail_prefix`.
fn assert_problem_prefix(r: &Resp, status: u16, code: &str, title: &str, detail_prefix: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type(), "application/problem+json");
    let body = r.json();
    let detail = body["detail"].as_str().expect("detail").to_string();
    assert!(detail.starts_with(detail_prefix), "{detail}");
    let expected = json!({
        "type": soapgate::error::problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "/things",
        "code": code,
        "correlation_id": r.header("x-correlation-id").expect("correlation id echoed"),
    });
    assert_eq!(body, expected);
}

/// A JSON_SYNTAX problem; its `detail` carries the JSON parser's message.
fn assert_json_syntax(r: &Resp) {
    let prefix = "The request body is not valid JSON";
    assert_problem_prefix(r, 400, "JSON_SYNTAX", "Malformed JSON", prefix);
}

#[actix_rt::test]
async fn markup_in_a_json_string_reaches_the_backend_as_escaped_text() {
    let fake = backend();
    let gw = gateway(
        &fake,
        "<t:Save xmlns:t=\"{{ns}}\"><t:id>{{body.id}}</t:id></t:Save>",
    );
    let r = gw
        .post_json("/things", r#"{"id":"</id><admin>true</admin>"}"#)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"ok": "yes"}));
    assert_eq!(fake.hits(), 1);
    let sent = fake.last_request().expect("backend called").body;
    assert!(
        sent.contains("<t:id>&lt;/id&gt;&lt;admin&gt;true&lt;/admin&gt;</t:id>"),
        "{sent}"
    );
    let expected = [el("Save", &[], ""), el("id", &[], "</id><admin>true</admin>")];
    assert_eq!(body_elements(&fake), expected);
}

#[actix_rt::test]
async fn quotes_in_attribute_values_are_escaped_and_the_xml_stays_well_formed() {
    let fake = backend();
    let template = "<t:Save xmlns:t=\"{{ns}}\"><t:x a=\"{{body.v}}\" b='{{body.v}}'/></t:Save>";
    let gw = gateway(&fake, template);
    let value = r#"say "hi" & it's <b>"#;
    let r = gw.post_json("/things", &json!({ "v": value }).to_string()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"ok": "yes"}));
    assert_eq!(fake.hits(), 1);
    let sent = fake.last_request().expect("backend called").body;
    let escaped = "say &quot;hi&quot; &amp; it&apos;s &lt;b&gt;";
    let expected_xml = format!("<t:x a=\"{escaped}\" b='{escaped}'/>");
    assert!(sent.contains(&expected_xml), "{sent}");
    let expected = [el("Save", &[], ""), el("x", &[("a", value), ("b", value)], "")];
    assert_eq!(body_elements(&fake), expected);
}

#[actix_rt::test]
async fn characters_xml_cannot_carry_are_rejected_before_the_backend() {
    let fake = backend();
    let gw = gateway(&fake, "<t:Save xmlns:t=\"{{ns}}\"><t:v>{{body.v}}</t:v></t:Save>");
    for (escape, code_point) in [("\\u0000", "0000"), ("\\u001b", "001B"), ("\\uffff", "FFFF")] {
        let r = gw.post_json("/things", &format!(r#"{{"v":"a{escape}b"}}"#)).await;
        let detail =
            format!("The request contains a character that XML 1.0 does not allow (U+{code_point}).");
        assert_problem(&r, 400, "XML_INVALID_CHAR", &detail, "/things");
    }
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn triple_stash_in_a_route_template_fails_config_loading_with_file_and_line() {
    let template = "<t:Save xmlns:t=\"{{ns}}\">\n  <t:v>{{{body.x}}}</t:v>\n</t:Save>";
    let errors = TestGateway::builder()
        .route("http://127.0.0.1:9/s", ROUTE, template)
        .load()
        .expect_err("raw output must be rejected");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let shown = errors[0].to_string();
    assert!(shown.contains("templates/t.xml.hbs:2"), "{shown}");
    assert!(shown.contains("raw output"), "{shown}");
    assert_eq!(errors[0].line, Some(2));
}

#[actix_rt::test]
async fn a_field_the_template_needs_but_the_json_lacks_is_missing_field() {
    let fake = backend();
    let gw = gateway(
        &fake,
        "<t:Save xmlns:t=\"{{ns}}\"><t:name>{{body.name}}</t:name></t:Save>",
    );
    let r = gw.post_json("/things", r#"{"other":1}"#).await;
    let detail = "A field the template needs is missing: body.name.";
    assert_problem(&r, 400, "MISSING_FIELD", detail, "/things");
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn client_supplied_soap_action_and_action_param_are_ignored() {
    let fake = backend();
    let gw = gateway(&fake, "<t:Save xmlns:t=\"{{ns}}\"/>");
    let headers = [
        ("content-type", "application/json; action=evil"),
        ("soapaction", "evil"),
    ];
    let r = gw.send("POST", "/things", &headers, Some("{}")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"ok": "yes"}));
    assert_eq!(fake.hits(), 1);
    let sent = fake.last_request().expect("backend called");
    let actions: Vec<&str> = sent
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("soapaction"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(actions, ["\"urn:test/Save\""]);
    assert_eq!(sent.header("content-type"), Some("text/xml; charset=utf-8"));
    assert!(!sent.body.contains("evil"), "{}", sent.body);
}

const HELPERS: &str = "<t:Save xmlns:t=\"{{ns}}\">\
<t:note>{{default body.note \"none\"}}</t:note><t:kept>{{default body.kept \"none\"}}</t:kept>\
<t:date>{{format_date body.when \"%d/%m/%Y\"}}</t:date>\
<t:amount>{{format_number body.amount 2}}</t:amount>\
<t:code>{{upper body.code}}</t:code>\
<t:tags>{{join body.tags \";\"}}</t:tags>\
{{#each body.lines}}<t:line sku=\"{{this.sku}}\">{{this.qty}}</t:line>{{/each}}\
<t:first>{{jsonpath \"$.body.lines[0].sku\"}}</t:first>\
</t:Save>";

#[actix_rt::test]
async fn helpers_render_defaults_dates_numbers_strings_loops_and_jsonpath() {
    let fake = backend();
    let gw = gateway(&fake, HELPERS);
    let body = json!({
        "kept": "given",
        "when": "2024-03-05T10:00:00Z",
        "amount": "3.14159",
        "code": "abc",
        "tags": ["x", "y", 3],
        "lines": [{"sku": "A<1", "qty": 2}, {"sku": "B", "qty": 5}],
    });
    let r = gw.post_json("/things", &body.to_string()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"ok": "yes"}));
    assert_eq!(fake.hits(), 1);
    let sent = fake.last_request().expect("backend called").body;
    let expected =
        "<t:Save xmlns:t=\"urn:test\"><t:note>none</t:note><t:kept>given</t:kept><t:date>05/03/2024</t:date>\
<t:amount>3.14</t:amount><t:code>ABC</t:code><t:tags>x;y;3</t:tags>\
<t:line sku=\"A&lt;1\">2</t:line><t:line sku=\"B\">5</t:line><t:first>A&lt;1</t:first></t:Save>";
    assert!(sent.contains(expected), "{sent}");
}

const BAD_DATE: &str = "<t:Save xmlns:t=\"{{ns}}\"><t:d>{{format_date body.when}}</t:d></t:Save>";

#[actix_rt::test]
async fn a_helper_given_bad_input_is_template_input_and_nothing_is_sent() {
    let fake = backend();
    let gw = gateway(&fake, BAD_DATE);
    let r = gw.post_json("/things", r#"{"when":"yesterday"}"#).await;
    let (title, prefix) = (
        "Request value cannot be rendered",
        "A request value cannot be rendered",
    );
    assert_problem_prefix(&r, 400, "TEMPLATE_INPUT", title, prefix);
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn a_template_input_problem_does_not_echo_the_rejected_value() {
    let fake = backend();
    let gw = gateway(&fake, BAD_DATE);
    let r = gw.post_json("/things", r#"{"when":"yesterday<script>"}"#).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "TEMPLATE_INPUT");
    assert!(!String::from_utf8_lossy(&r.body).contains("yesterday"));
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn an_object_or_array_where_the_template_expects_text_is_rejected() {
    let fake = backend();
    let gw = gateway(&fake, "<t:Save xmlns:t=\"{{ns}}\"><t:n>{{body.n}}</t:n></t:Save>");
    for body in [r#"{"n":{"a":1}}"#, r#"{"n":[1,2]}"#] {
        let r = gw.post_json("/things", body).await;
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["code"], "TEMPLATE_INPUT");
    }
    assert_eq!(fake.hits(), 0);
}

const UNSUPPORTED: &str = "The request body must be application/json.";

#[actix_rt::test]
async fn json_sent_as_text_plain_is_415() {
    let fake = backend();
    let gw = gateway(&fake, "<t:Save xmlns:t=\"{{ns}}\"/>");
    let headers = [("content-type", "text/plain")];
    let r = gw.send("POST", "/things", &headers, Some(r#"{"a":1}"#)).await;
    assert_problem(&r, 415, "UNSUPPORTED_MEDIA_TYPE", UNSUPPORTED, "/things");
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn a_post_without_content_type_is_415() {
    let fake = backend();
    let gw = gateway(&fake, "<t:Save xmlns:t=\"{{ns}}\"/>");
    let r = gw.send("POST", "/things", &[], Some(r#"{"a":1}"#)).await;
    assert_problem(&r, 415, "UNSUPPORTED_MEDIA_TYPE", UNSUPPORTED, "/things");
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn an_empty_post_body_is_json_syntax() {
    let fake = backend();
    let gw = gateway(&fake, "<t:Save xmlns:t=\"{{ns}}\"/>");
    let r = gw.post_json("/things", "").await;
    let detail = "The request body is not valid JSON: the body is empty.";
    assert_problem(&r, 400, "JSON_SYNTAX", detail, "/things");
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn trailing_garbage_after_the_json_value_is_json_syntax() {
    let fake = backend();
    let gw = gateway(&fake, "<t:Save xmlns:t=\"{{ns}}\"/>");
    let r = gw.post_json("/things", r#"{"a":1} x"#).await;
    assert_json_syntax(&r);
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn invalid_utf8_a_lone_surrogate_and_a_bom_are_json_syntax() {
    let fake = backend();
    let gw = gateway(&fake, "<t:Save xmlns:t=\"{{ns}}\"/>");
    let bodies: [&'static [u8]; 3] = [
        b"{\"a\":\"\xff\xfe\"}",
        br#"{"a":"\ud800"}"#,
        b"\xef\xbb\xbf{\"a\":1}",
    ];
    for body in bodies {
        let r = post_bytes(&gw, "/things", "application/json", body).await;
        assert_json_syntax(&r);
    }
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn a_body_over_the_configured_limit_is_413() {
    let fake = backend();
    let gw = TestGateway::builder()
        .config("limits: { request_body: 1KiB }")
        .route(&fake.url("/s"), ROUTE, "<t:Save xmlns:t=\"{{ns}}\"/>")
        .start();
    let big = json!({ "v": "x".repeat(2048) }).to_string();
    let r = gw.post_json("/things", &big).await;
    assert_problem(
        &r,
        413,
        "PAYLOAD_TOO_LARGE",
        "The request body exceeds 1024 bytes.",
        "/things",
    );
    assert_eq!(fake.hits(), 0);
    let small: Value = json!({ "v": "x".repeat(900) });
    let r = gw.post_json("/things", &small.to_string()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(fake.hits(), 1, "only the request within the limit is sent");
}

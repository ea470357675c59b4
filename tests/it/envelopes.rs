//! Outgoing SOAP envelopes: 1.1 and 1.2 transport headers, envelope namespaces, Header blocks.

use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply};
use crate::common::gateway::TestGateway;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use serde_json::json;

const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
const ROUTE: &str = "id: op\nmethod: POST\npath: /ops/{id}\noperation: Op\naction: urn:test/Op";
const BODY: &str = "<t:Op xmlns:t=\"{{ns}}\"><t:id>{{path.id}}</t:id><t:name>{{body.name}}</t:name></t:Op>";
const REPLY: &str = "<t:OpResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:OpResponse>";

/// Every element of a well-formed document in order: (depth, namespace URI, local name).
fn elements(xml: &str) -> Vec<(usize, String, String)> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let (mut out, mut depth) = (Vec::new(), 0usize);
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .unwrap_or_else(|e| panic!("not well-formed ({e}): {xml}"));
        match event {
            Event::Start(e) => {
                let ns = match ns {
                    ResolveResult::Bound(n) => n.0.to_string(),
                    other => panic!("unbound element {other:?} in {xml}"),
                };
                out.push((depth, ns, e.local_name().into_inner().to_string()));
                depth += 1;
            }
            Event::End(_) => depth -= 1,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unclosed elements in {xml}");
    out
}

fn el(depth: usize, ns: &str, name: &str) -> (usize, String, String) {
    (depth, ns.to_string(), name.to_string())
}

/// A one-service mapping whose backend block and route request block are given.
fn mapping(url: &str, backend_extra: &str, request: &str) -> String {
    format!(
        "service: svc\nbackend:\n  urls: [{url}]\n  namespace: urn:test\n{backend_extra}\
routes:\n  - id: op\n    method: POST\n    path: /ops/{{id}}\n    operation: Op\n    action: urn:test/Op\n    request: {request}\n"
    )
}

async fn call(gw: &TestGateway) -> serde_json::Value {
    let r = gw.post_json("/ops/7", r#"{"name":"Ann"}"#).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn only_request(fake: &FakeHandle) -> crate::common::fake_soap::RecordedRequest {
    assert_eq!(fake.hits(), 1);
    fake.last_request().expect("backend called")
}

#[actix_rt::test]
async fn soap11_backend_gets_text_xml_a_quoted_soapaction_and_a_11_envelope() {
    let fake = FakeSoap::new().on("Op", Reply::soap11(REPLY)).start();
    let gw = TestGateway::builder().route(&fake.url("/s"), ROUTE, BODY).start();
    assert_eq!(call(&gw).await, json!({"ok": "yes"}));
    let sent = only_request(&fake);
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/s");
    assert_eq!(sent.header("content-type"), Some("text/xml; charset=utf-8"));
    assert_eq!(sent.header("soapaction"), Some("\"urn:test/Op\""));
    let expected = vec![
        el(0, SOAP11, "Envelope"),
        el(1, SOAP11, "Body"),
        el(2, "urn:test", "Op"),
        el(3, "urn:test", "id"),
        el(3, "urn:test", "name"),
    ];
    assert_eq!(elements(&sent.body), expected);
    assert!(
        sent.body.contains(
            "<soap:Body><t:Op xmlns:t=\"urn:test\"><t:id>7</t:id><t:name>Ann</t:name></t:Op></soap:Body>"
        ),
        "{}",
        sent.body
    );
}

#[actix_rt::test]
async fn soap12_backend_gets_the_action_in_the_content_type_and_a_12_envelope() {
    let fake = FakeSoap::new().on("Op", Reply::soap12(REPLY)).start();
    let request = "{ template: templates/op.xml.hbs }";
    let gw = TestGateway::builder()
        .mapping(
            "svc",
            &mapping(&fake.url("/s12"), "  soap_version: \"1.2\"\n", request),
        )
        .file("templates/op.xml.hbs", BODY)
        .start();
    assert_eq!(call(&gw).await, json!({"ok": "yes"}));
    let sent = only_request(&fake);
    assert_eq!(
        sent.header("content-type"),
        Some("application/soap+xml; charset=utf-8; action=\"urn:test/Op\"")
    );
    assert_eq!(sent.header("soapaction"), None);
    let expected = vec![
        el(0, SOAP12, "Envelope"),
        el(1, SOAP12, "Body"),
        el(2, "urn:test", "Op"),
        el(3, "urn:test", "id"),
        el(3, "urn:test", "name"),
    ];
    assert_eq!(elements(&sent.body), expected);
}

#[actix_rt::test]
async fn header_template_renders_a_soap_header_before_the_body() {
    let fake = FakeSoap::new().on("Op", Reply::soap11(REPLY)).start();
    let request = "{ template: templates/op.xml.hbs, header_template: templates/op-header.xml.hbs }";
    let header = "<h:Trace xmlns:h=\"urn:trace\"><h:cid>{{correlation_id}}</h:cid><h:user>{{body.name}}</h:user></h:Trace>";
    let gw = TestGateway::builder()
        .mapping("svc", &mapping(&fake.url("/s"), "", request))
        .file("templates/op.xml.hbs", BODY)
        .file("templates/op-header.xml.hbs", header)
        .start();
    let r = gw
        .send(
            "POST",
            "/ops/7",
            &[
                ("content-type", "application/json"),
                ("x-correlation-id", "cid-42"),
            ],
            Some(r#"{"name":"Ann"}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"ok": "yes"}));
    let sent = only_request(&fake);
    let expected = vec![
        el(0, SOAP11, "Envelope"),
        el(1, SOAP11, "Header"),
        el(2, "urn:trace", "Trace"),
        el(3, "urn:trace", "cid"),
        el(3, "urn:trace", "user"),
        el(1, SOAP11, "Body"),
        el(2, "urn:test", "Op"),
        el(3, "urn:test", "id"),
        el(3, "urn:test", "name"),
    ];
    assert_eq!(elements(&sent.body), expected);
    let rendered = "<soap:Header><h:Trace xmlns:h=\"urn:trace\"><h:cid>cid-42</h:cid><h:user>Ann</h:user></h:Trace></soap:Header><soap:Body>";
    assert!(sent.body.contains(rendered), "{}", sent.body);
}

#[actix_rt::test]
async fn a_header_template_rendering_only_whitespace_adds_no_header_element() {
    let fake = FakeSoap::new().on("Op", Reply::soap11(REPLY)).start();
    let request = "{ template: templates/op.xml.hbs, header_template: templates/op-header.xml.hbs }";
    let gw = TestGateway::builder()
        .mapping("svc", &mapping(&fake.url("/s"), "", request))
        .file("templates/op.xml.hbs", BODY)
        .file(
            "templates/op-header.xml.hbs",
            "{{#if body.trace}}<h:T xmlns:h=\"urn:trace\"/>{{/if}}\n",
        )
        .start();
    assert_eq!(call(&gw).await, json!({"ok": "yes"}));
    let sent = only_request(&fake);
    let names: Vec<String> = elements(&sent.body).into_iter().map(|e| e.2).collect();
    assert_eq!(names, ["Envelope", "Body", "Op", "id", "name"]);
}

#[actix_rt::test]
async fn a_route_without_action_sends_an_empty_quoted_soapaction_on_11_and_no_action_on_12() {
    let template = "templates/op.xml.hbs";
    for (extra, reply) in [
        ("", Reply::soap11(REPLY)),
        ("  soap_version: \"1.2\"\n", Reply::soap12(REPLY)),
    ] {
        let fake = FakeSoap::new().otherwise(reply).start();
        let yaml = mapping(&fake.url("/s"), extra, &format!("{{ template: {template} }}"))
            .replace("    action: urn:test/Op\n", "");
        let gw = TestGateway::builder()
            .mapping("svc", &yaml)
            .file(template, BODY)
            .start();
        assert_eq!(call(&gw).await, json!({"ok": "yes"}));
        let sent = only_request(&fake);
        if extra.is_empty() {
            assert_eq!(sent.header("soapaction"), Some("\"\""));
            assert_eq!(sent.header("content-type"), Some("text/xml; charset=utf-8"));
        } else {
            assert_eq!(sent.header("soapaction"), None);
            assert_eq!(
                sent.header("content-type"),
                Some("application/soap+xml; charset=utf-8")
            );
        }
    }
}

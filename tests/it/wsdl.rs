//! Schema-aware mediation through the gateway: typed responses, validation, bodies from the schema.

use crate::common::fake_soap::{FakeSoap, Reply};
use crate::common::fixture;
use crate::common::gateway::{assert_problem, TestGateway};
use serde_json::json;

const NS: &str = "urn:test:orders";

fn gateway(fake: &crate::common::fake_soap::FakeHandle, response: &str) -> TestGateway {
    let wsdl = std::fs::read_to_string(fixture("wsdl/orders.wsdl")).expect("fixture");
    let mapping = format!(
        "service: orders\nwsdl: wsdl/orders.wsdl\nbackend:\n  urls: [{}]\nroutes:\n  - id: orders\n    method: POST\n    path: /customers/{{customerId}}/orders\n    operation: GetOrders\n{response}",
        fake.url("/orders")
    );
    TestGateway::builder()
        .file("wsdl/orders.wsdl", &wsdl)
        .mapping("orders", &mapping)
        .start()
}

fn orders(inner: &str) -> Reply {
    Reply::soap11(&format!(
        "<t:GetOrdersResponse xmlns:t=\"{NS}\">{inner}</t:GetOrdersResponse>"
    ))
}

const ORDER: &str = "<t:order channel=\"web\"><t:id>7</t:id><t:total>10.50</t:total><t:paid>true</t:paid><t:tag>a</t:tag></t:order>";

#[actix_rt::test]
async fn repeated_elements_are_arrays_for_zero_one_and_many_items() {
    for (n, inner) in [(0, String::new()), (1, ORDER.to_string()), (2, ORDER.repeat(2))] {
        let fake = FakeSoap::new().otherwise(orders(&inner)).start();
        let gw = gateway(&fake, "");
        let r = gw.post_json("/customers/c1/orders", "{}").await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let order = json!({"@channel": "web", "id": 7, "total": "10.50", "paid": true, "tag": ["a"]});
        assert_eq!(r.json(), json!({"order": vec![order; n]}));
    }
}

#[actix_rt::test]
async fn nil_empty_and_absent_stay_apart_and_types_follow_the_schema() {
    let inner = "<t:order><t:id>1</t:id><t:total>0.1</t:total><t:paid>0</t:paid><t:note xsi:nil=\"true\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/></t:order>\
         <t:order><t:id>2</t:id><t:total>12345678901234567890.12</t:total><t:paid>false</t:paid><t:note/></t:order>\
         <t:order><t:id>3</t:id><t:total>3</t:total><t:paid>1</t:paid><t:note>0042</t:note></t:order>";
    let fake = FakeSoap::new().otherwise(orders(inner)).start();
    let gw = gateway(&fake, "");
    let r = gw.post_json("/customers/c1/orders", "{}").await;
    assert_eq!(
        r.json(),
        json!({"order": [
            {"id": 1, "total": "0.1", "paid": false, "note": null, "tag": []},
            {"id": 2, "total": "12345678901234567890.12", "paid": false, "note": "", "tag": []},
            {"id": 3, "total": "3", "paid": true, "note": "0042", "tag": []},
        ]})
    );
}

#[actix_rt::test]
async fn xsi_type_selects_the_derived_type() {
    let inner = "<t:order xsi:type=\"t:RushOrder\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><t:id>9</t:id><t:total>1</t:total><t:paid>true</t:paid><t:deadline>2026-12-01T00:00:00Z</t:deadline></t:order>";
    let fake = FakeSoap::new().otherwise(orders(inner)).start();
    let gw = gateway(&fake, "");
    let r = gw.post_json("/customers/c1/orders", "{}").await;
    assert_eq!(
        r.json(),
        json!({"order": [{"@xsi:type": "RushOrder", "id": 9, "total": "1", "paid": true, "tag": [],
                          "deadline": "2026-12-01T00:00:00Z"}]})
    );
}

#[actix_rt::test]
async fn invalid_requests_get_400_with_pointers_and_nothing_is_sent() {
    let fake = FakeSoap::new().otherwise(orders("")).start();
    let gw = gateway(&fake, "");
    let r = gw
        .post_json(
            "/customers/c1/orders",
            r#"{"minTotal": true, "status": "Lost", "limit": 3000000000, "x": 1}"#,
        )
        .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["code"], "SCHEMA_VIOLATION");
    let pointers: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    for p in ["/minTotal", "/status", "/limit", "/x"] {
        assert!(pointers.contains(&p), "{p} missing in {body}");
    }
    assert!(!body.to_string().contains("Lost"), "input echoed: {body}");
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn the_body_is_rendered_from_the_schema_in_schema_order() {
    let fake = FakeSoap::new().otherwise(orders("")).start();
    let gw = gateway(&fake, "");
    let r = gw
        .send(
            "POST",
            "/customers/c%3C1%3E/orders?limit=5",
            &[("content-type", "application/json")],
            Some(r#"{"status": "Open", "minTotal": "10.50"}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = fake.last_request().expect("sent");
    assert_eq!(sent.soap_action(), Some("urn:test:orders/GetOrders"));
    let body = &sent.body;
    let start = body.find("<soap:Body>").expect("body") + "<soap:Body>".len();
    let end = body.find("</soap:Body>").expect("end");
    let xml = &body[start..end];
    let expected_order = [
        "customerId>c&lt;1&gt;<",
        "minTotal>10.50<",
        "status>Open<",
        "limit>5<",
    ];
    let mut at = 0;
    for part in expected_order {
        let found = xml[at..]
            .find(part)
            .unwrap_or_else(|| panic!("{part} not after {at} in {xml}"));
        at += found;
    }
    assert!(xml.contains(NS));
}

#[actix_rt::test]
async fn header_blocks_declared_in_the_binding_are_typed_too() {
    let envelope = format!(
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:t=\"{NS}\">\
         <soap:Header><t:Quota><t:remaining>5</t:remaining></t:Quota></soap:Header>\
         <soap:Body><t:GetOrdersResponse>{ORDER}</t:GetOrdersResponse></soap:Body></soap:Envelope>"
    );
    let fake = FakeSoap::new()
        .otherwise(Reply::raw(envelope).content_type("text/xml"))
        .start();
    let gw = gateway(&fake, "    response: { include_header: true }\n");
    let r = gw.post_json("/customers/c1/orders", "{}").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["header"], json!({"Quota": {"remaining": 5}}));
    assert_eq!(v["body"]["order"][0]["id"], json!(7));
}

#[actix_rt::test]
async fn an_unknown_operation_is_a_config_error_listing_the_wsdl_operations() {
    let wsdl = std::fs::read_to_string(fixture("wsdl/orders.wsdl")).expect("fixture");
    let mapping = "service: orders\nwsdl: wsdl/orders.wsdl\nbackend:\n  urls: [http://127.0.0.1:1/x]\nroutes:\n  - id: nope\n    method: POST\n    path: /nope\n    operation: GetNothing\n";
    let errors = TestGateway::builder()
        .file("wsdl/orders.wsdl", &wsdl)
        .mapping("orders", mapping)
        .load()
        .expect_err("unknown op");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|e| e.contains("routes[0].operation") && e.contains("GetOrders")),
        "{text:?}"
    );
}

#[actix_rt::test]
async fn a_problem_is_returned_for_a_soap_fault_on_a_schema_route() {
    let fake = FakeSoap::new()
        .otherwise(Reply::fault11("Client.Bad", "bad customer"))
        .start();
    let gw = gateway(&fake, "");
    let r = gw.post_json("/customers/c1/orders", "{}").await;
    assert_problem(
        &r,
        400,
        "UPSTREAM_CLIENT_FAULT",
        "The backend service reported an error.",
        "/customers/c1/orders",
    );
}

#[actix_rt::test]
async fn a_declared_fault_detail_is_typed_by_its_schema() {
    let detail =
        format!("<t:OrderFault xmlns:t=\"{NS}\"><t:code>7</t:code><t:retry>true</t:retry></t:OrderFault>");
    let fake = FakeSoap::new()
        .otherwise(Reply::fault11_detail("Server.Busy", "busy", Some(&detail)))
        .start();
    let rules = "    faults:\n      - when: { detail: OrderFault }\n        status: 503\n        code: ORDERS_BUSY\n        title: Orders busy\n        expose_detail: true\n";
    let gw = gateway(&fake, rules);
    let r = gw.post_json("/customers/c1/orders", "{}").await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json()["fault_detail"],
        json!({"OrderFault": {"code": 7, "retry": true}})
    );
}

//! Routing: method + path templates, 404/405, and the template context.

use crate::common::fake_soap::{FakeSoap, Reply};
use crate::common::gateway::{assert_problem, TestGateway};
use serde_json::json;

const ROUTE: &str = "id: get-thing\nmethod: GET\npath: /things/{id}\noperation: GetThing\naction: urn:test/GetThing\nheaders: [x-tenant]";
const TEMPLATE: &str = "<t:GetThing xmlns:t=\"{{ns}}\"><t:id>{{path.id}}</t:id><t:q>{{query.q}}</t:q><t:tenant>{{headers.x-tenant}}</t:tenant><t:cid>{{correlation_id}}</t:cid></t:GetThing>";

#[actix_rt::test]
async fn unknown_path_is_404_problem_and_nothing_is_sent() {
    let fake = FakeSoap::new().otherwise(Reply::soap11("<R/>")).start();
    let gw = TestGateway::builder()
        .route(&fake.url("/s"), ROUTE, TEMPLATE)
        .start();
    let r = gw.get("/nothing/here").await;
    assert_problem(
        &r,
        404,
        "NOT_FOUND",
        "No route matches /nothing/here.",
        "/nothing/here",
    );
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn wrong_method_is_405_with_allow() {
    let fake = FakeSoap::new().otherwise(Reply::soap11("<R/>")).start();
    let gw = TestGateway::builder()
        .route(&fake.url("/s"), ROUTE, TEMPLATE)
        .start();
    let r = gw.send("DELETE", "/things/1", &[], None).await;
    assert_problem(
        &r,
        405,
        "METHOD_NOT_ALLOWED",
        "Method DELETE is not allowed here.",
        "/things/1",
    );
    // HEAD is served wherever GET is (docs/threat-model.md D7).
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn path_query_headers_and_correlation_id_reach_the_template() {
    let fake = FakeSoap::new()
        .on(
            "GetThing",
            Reply::soap11("<t:R xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:R>"),
        )
        .start();
    let gw = TestGateway::builder()
        .route(&fake.url("/s"), ROUTE, TEMPLATE)
        .start();
    let headers = [
        ("x-tenant", "acme"),
        ("x-correlation-id", "cid-123"),
        ("x-secret", "nope"),
    ];
    let r = gw.send("GET", "/things/a%20b?q=hello", &headers, None).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"ok": "yes"}));
    assert_eq!(r.header("x-correlation-id"), Some("cid-123"));
    let sent = fake.last_request().expect("backend called");
    assert!(
        sent.body
            .contains("<t:id>a b</t:id><t:q>hello</t:q><t:tenant>acme</t:tenant><t:cid>cid-123</t:cid>"),
        "{}",
        sent.body
    );
    assert_eq!(sent.header("x-correlation-id"), Some("cid-123"));
    assert!(!sent.body.contains("nope"));
}

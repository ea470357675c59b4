//! Tests of the demo backend through an in-memory actix service.

use actix_web::http::StatusCode;
use actix_web::{test, App};

use super::app_config;

const TEXT_XML: &str = "text/xml; charset=utf-8";
const SOAP12: &str = "application/soap+xml; charset=utf-8";

fn envelope11(body: &str) -> String {
    format!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:soapgate:demo:customers"><soapenv:Header/><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

fn envelope12(body: &str) -> String {
    format!(
        r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>{body}</env:Body></env:Envelope>"#
    )
}

/// Posts `xml` with `content_type`; returns status, response content type and body.
async fn post(content_type: &str, xml: String) -> (StatusCode, String, String) {
    let app = test::init_service(App::new().configure(app_config)).await;
    let req = test::TestRequest::post()
        .uri("/CustomerService")
        .insert_header(("Content-Type", content_type))
        .set_payload(xml)
        .to_request();
    let resp = test::call_service(&app, req).await;
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = test::read_body(resp).await;
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

async fn post11(body: &str) -> (StatusCode, String) {
    let (status, ct, body) = post(TEXT_XML, envelope11(body)).await;
    assert_eq!(ct, TEXT_XML);
    (status, body)
}

#[actix_web::test]
async fn get_customer_42_soap11() {
    let (status, body) = post11("<c:GetCustomer><c:customerId>42</c:customerId></c:GetCustomer>").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/""#));
    assert!(body.contains("<c:GetCustomerResponse><c:customer><c:id>42</c:id><c:name>Ada Lovelace</c:name>"));
    assert!(body.contains("<c:tier>Gold</c:tier><c:since>2009-03-14</c:since><c:balance>1250.50</c:balance><c:active>true</c:active>"));
    assert_eq!(body.matches("<c:phone ").count(), 2);
    assert!(body.contains(r#"<c:phone type="mobile">+44 20 7946 0000</c:phone>"#));
    assert!(body.contains("<c:address><c:street>12 Analytical Row</c:street>"));
}

#[actix_web::test]
async fn get_customer_42_soap12_default_namespace() {
    let xml = envelope12(
        r#"<GetCustomer xmlns="urn:soapgate:demo:customers"><customerId> 42 </customerId></GetCustomer>"#,
    );
    let (status, ct, body) = post(r#"application/soap+xml; charset=utf-8; action="x""#, xml).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, SOAP12);
    assert!(body.contains(r#"xmlns:soap="http://www.w3.org/2003/05/soap-envelope""#));
    assert!(body.contains("<c:id>42</c:id>"));
}

#[actix_web::test]
async fn get_customer_1001_escapes_and_has_no_phones() {
    let (status, body) = post11("<c:GetCustomer><c:customerId>1001</c:customerId></c:GetCustomer>").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<c:name>O&apos;Brien &amp; Sons &lt;Ltd&gt;</c:name>"));
    assert!(body.contains("<c:active>false</c:active><c:phones></c:phones>"));
}

#[actix_web::test]
async fn unknown_customer_is_a_declared_fault() {
    let (status, body) = post11("<c:GetCustomer><c:customerId>99</c:customerId></c:GetCustomer>").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("<faultcode>soap:Client.CustomerNotFound</faultcode>"));
    assert!(body.contains("<faultstring>Customer 99 not found</faultstring>"));
    assert!(body.contains(
        "<detail><c:CustomerNotFoundFault><c:customerId>99</c:customerId></c:CustomerNotFoundFault></detail>"
    ));
}

#[actix_web::test]
async fn unknown_customer_soap12_fault() {
    let xml = envelope12(
        r#"<c:GetCustomer xmlns:c="urn:soapgate:demo:customers"><c:customerId>99</c:customerId></c:GetCustomer>"#,
    );
    let (status, _, body) = post(SOAP12, xml).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains(
        "<soap:Value>soap:Sender</soap:Value><soap:Subcode><soap:Value>c:CustomerNotFound</soap:Value>"
    ));
    assert!(body.contains(r#"<soap:Text xml:lang="en">Customer 99 not found</soap:Text>"#));
    assert!(body.contains("<soap:Detail><c:CustomerNotFoundFault>"));
}

#[actix_web::test]
async fn customer_500_is_a_server_fault() {
    let (status, body) = post11("<c:ListOrders><c:customerId>500</c:customerId></c:ListOrders>").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains(
        "<faultcode>soap:Server</faultcode><faultstring>internal error in legacy system</faultstring>"
    ));
}

#[actix_web::test]
async fn list_orders_for_7_returns_exactly_one_order() {
    let (status, body) = post11("<c:ListOrders><c:customerId>7</c:customerId></c:ListOrders>").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.matches("<c:order>").count(), 1);
    assert_eq!(body.matches("<c:line>").count(), 1);
    assert!(body.contains("<c:orderId>ORD-0777</c:orderId><c:placed>2024-02-10T16:45:00Z</c:placed><c:status>Shipped</c:status><c:total>19.99</c:total><c:currency>USD</c:currency>"));
}

#[actix_web::test]
async fn list_orders_filters_by_status() {
    let (_, all) = post11("<c:ListOrders><c:customerId>42</c:customerId></c:ListOrders>").await;
    assert_eq!(all.matches("<c:order>").count(), 5);
    let (_, open) =
        post11("<c:ListOrders><c:customerId>42</c:customerId><c:status>Open</c:status></c:ListOrders>").await;
    assert_eq!(open.matches("<c:order>").count(), 2);
    assert!(!open.contains("Shipped"));
    let (_, none) = post11("<c:ListOrders><c:customerId>1001</c:customerId></c:ListOrders>").await;
    assert!(none.contains("<c:ListOrdersResponse><c:orders></c:orders></c:ListOrdersResponse>"));
}

const CREATE: &str = "<c:CreateOrder><c:customerId>42</c:customerId><c:currency>GBP</c:currency><c:lines>\
    <c:line><c:sku>WIDGET-S</c:sku><c:quantity>3</c:quantity></c:line>\
    <c:line><c:sku>GIZMO-L</c:sku><c:quantity>1</c:quantity></c:line>\
    </c:lines></c:CreateOrder>";

#[actix_web::test]
async fn create_order_happy_path_and_listed_afterwards() {
    let app = test::init_service(App::new().configure(app_config)).await;
    let call = |body: &str| {
        test::TestRequest::post()
            .uri("/CustomerService")
            .insert_header(("Content-Type", TEXT_XML))
            .set_payload(envelope11(body))
            .to_request()
    };
    let created = test::call_and_read_body(&app, call(CREATE)).await;
    let created = String::from_utf8(created.to_vec()).unwrap();
    assert!(created.contains(
        "<c:CreateOrderResponse><c:orderId>ORD-2001</c:orderId><c:status>Open</c:status><c:total>56.50</c:total></c:CreateOrderResponse>"
    ));
    let listed = test::call_and_read_body(
        &app,
        call("<c:ListOrders><c:customerId>42</c:customerId></c:ListOrders>"),
    )
    .await;
    let listed = String::from_utf8(listed.to_vec()).unwrap();
    assert_eq!(listed.matches("<c:order>").count(), 6);
    assert!(listed.contains("<c:orderId>ORD-2001</c:orderId>"));
}

#[actix_web::test]
async fn create_order_unknown_sku_and_bad_quantity() {
    let (status, body) = post11(&CREATE.replace("GIZMO-L", "NOPE-1")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("<faultcode>soap:Client.UnknownSku</faultcode><faultstring>Unknown sku &apos;NOPE-1&apos;</faultstring>"));
    let (status, body) = post11(&CREATE.replace(">3<", ">0<")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("<faultcode>soap:Client.InvalidQuantity</faultcode>"));
}

#[actix_web::test]
async fn update_email_validates_and_updates() {
    let update = |email: &str| {
        format!("<c:UpdateEmail><c:customerId>7</c:customerId><c:email>{email}</c:email></c:UpdateEmail>")
    };
    let (status, body) = post11(&update("grace.hopper@example.org")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<c:UpdateEmailResponse><c:updated>true</c:updated></c:UpdateEmailResponse>"));
    let (status, body) = post11(&update("not-an-address")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("<faultcode>soap:Client.InvalidEmail</faultcode>"));
}

#[actix_web::test]
async fn malformed_xml_is_a_client_fault() {
    for xml in [
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><c:GetCustomer xmlns:c=\"urn:soapgate:demo:customers\">",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body></soap:Envelop>",
        "not xml at all",
        "",
    ] {
        let (status, _, body) = post(TEXT_XML, xml.to_owned()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{xml}");
        assert!(body.contains("<faultcode>soap:Client</faultcode>"), "{xml} => {body}");
    }
}

#[actix_web::test]
async fn doctype_is_rejected() {
    let xml = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]>{}",
        envelope11("<c:GetCustomer><c:customerId>&e;</c:customerId></c:GetCustomer>")
    );
    let (status, _, body) = post(TEXT_XML, xml).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("<faultstring>DTDs are not allowed in SOAP messages</faultstring>"));
}

#[actix_web::test]
async fn entities_in_request_text_are_resolved() {
    let (_, body) = post11("<c:GetCustomer><c:customerId>4&#50;</c:customerId></c:GetCustomer>").await;
    assert!(body.contains("<c:id>42</c:id>"));
    let (_, body) = post11("<c:GetCustomer><c:customerId>a&amp;b&lt;</c:customerId></c:GetCustomer>").await;
    assert!(
        body.contains("<c:customerId>a&amp;b&lt;</c:customerId>"),
        "{body}"
    );
}

#[actix_web::test]
async fn version_and_content_type_mismatches() {
    let body = "<c:GetCustomer><c:customerId>42</c:customerId></c:GetCustomer>";
    let (status, ct, resp) = post(SOAP12, envelope11(body)).await;
    assert_eq!((status, ct.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, SOAP12));
    assert!(resp.contains("<soap:Value>soap:VersionMismatch</soap:Value>"));
    let (status, _, _) = post("application/json", envelope11(body)).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[actix_web::test]
async fn unqualified_children_are_missing() {
    let (status, body) = post11("<c:GetCustomer><customerId>42</customerId></c:GetCustomer>").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("Missing required element c:customerId"));
}

#[actix_web::test]
async fn wsdl_is_served_with_the_real_address() {
    let app = test::init_service(App::new().configure(app_config)).await;
    let req = test::TestRequest::get().uri("/CustomerService?wsdl").to_request();
    let body = test::call_and_read_body(&app, req).await;
    let wsdl = String::from_utf8(body.to_vec()).unwrap();
    assert!(wsdl.contains("<wsdl:service name=\"CustomerService\">"));
    assert!(wsdl.contains("location=\"http://localhost:8080/CustomerService\""));
    assert!(!wsdl.contains("9081"));
}

#[actix_web::test]
async fn wsdl_is_well_formed() {
    let mut reader = quick_xml::reader::Reader::from_str(super::WSDL);
    let mut elements = 0;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(_) | quick_xml::events::Event::Empty(_) => elements += 1,
            _ => {}
        }
    }
    assert!(elements > 100);
    assert!(super::WSDL.contains("soapAction=\"urn:soapgate:demo:customers/CreateOrder\""));
}

#[actix_web::test]
async fn start_serves_over_real_http() {
    let (server, addr) = super::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert_ne!(addr.port(), 0);
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let client = awc::Client::default();
    let url = format!("http://{addr}/CustomerService");
    let mut resp = client
        .post(&url)
        .insert_header(("Content-Type", TEXT_XML))
        .insert_header(("SOAPAction", "\"urn:soapgate:demo:customers/GetCustomer\""))
        .send_body(envelope11(
            "<c:GetCustomer><c:customerId>7</c:customerId></c:GetCustomer>",
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    assert!(body.contains("<c:name>Grace Hopper</c:name>"));
    let mut resp = client.get(format!("{url}?wsdl")).send().await.unwrap();
    let wsdl = String::from_utf8(resp.body().await.unwrap().to_vec()).unwrap();
    assert!(wsdl.contains(&format!("location=\"{url}\"")));
    handle.stop(false).await;
}

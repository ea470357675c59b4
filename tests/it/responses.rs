//! Backend responses: the XML -> JSON convention, route hints and `select`, and hostile replies
//! (THREATS X rows), each rejected with its own code.

use crate::common::fake_soap::{FakeSoap, Reply, SOAP11_CONTENT_TYPE, SOAP11_NS};
use crate::common::gateway::{assert_problem, Resp, TestGateway};
use serde_json::{json, Value};

const ROUTE: &str = "id: op\nmethod: GET\npath: /op\noperation: Op\naction: urn:test/Op";
const TEMPLATE: &str = "<t:Op xmlns:t=\"{{ns}}\"/>";
const MIB: usize = 1024 * 1024;

/// Serves `reply` for each of `n` requests to a route with `route_extra` YAML; returns the answers.
async fn exchange_n(route_extra: &str, replies: Vec<Reply>) -> (Vec<Resp>, usize) {
    let n = replies.len();
    let mut fake = FakeSoap::new();
    for r in replies {
        fake = fake.on("Op", r.times(1));
    }
    let fake = fake.start();
    let gw = TestGateway::builder()
        .route(&fake.url("/s"), &format!("{ROUTE}\n{route_extra}"), TEMPLATE)
        .start();
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(gw.get("/op").await);
    }
    (out, fake.hits())
}

/// One request to a route with `route_extra`, answered by `reply`; asserts the backend got it.
async fn exchange(route_extra: &str, reply: Reply) -> Resp {
    let (mut rs, hits) = exchange_n(route_extra, vec![reply]).await;
    assert_eq!(hits, 1);
    rs.remove(0)
}

fn assert_json(r: &Resp, expected: Value) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(r.json(), expected);
}

/// Asserts the 502 problem of an XML-level rejection.
fn assert_xml_rejected(r: &Resp, code: &str, message: &str) {
    let detail = format!("The backend response is not acceptable XML: {message}.");
    assert_problem(r, 502, code, &detail, "/op");
}

fn envelope(ns: &str, inner: &str) -> String {
    format!("<soap:Envelope xmlns:soap=\"{ns}\"><soap:Body>{inner}</soap:Body></soap:Envelope>")
}

fn xml(body: impl Into<Vec<u8>>) -> Reply {
    Reply::raw(body).content_type(SOAP11_CONTENT_TYPE)
}

const CONVENTION: &str = r#"<m:GetThingResponse xmlns:m="urn:test" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <m:id>007</m:id>
  <m:name m:lang="en" kind="short">Widget</m:name>
  <m:price currency="EUR"/>
  <m:note xsi:nil="true"/>
  <m:empty/>
  <m:blank></m:blank>
  <m:tag>a</m:tag>
  <m:tag>b</m:tag>
  <m:tag>c</m:tag>
  <m:escaped>&lt;a&gt; &amp; &#x263A; <![CDATA[<raw>]]></m:escaped>
  <m:nested><m:x>1</m:x><m:y>true</m:y></m:nested>
</m:GetThingResponse>"#;

fn convention_json() -> Value {
    json!({
        "id": "007",
        "name": {"@lang": "en", "@kind": "short", "#text": "Widget"},
        "price": {"@currency": "EUR"},
        "note": null,
        "empty": "",
        "blank": "",
        "tag": ["a", "b", "c"],
        "escaped": "<a> & \u{263A} <raw>",
        "nested": {"x": "1", "y": "true"},
    })
}

#[actix_rt::test]
async fn convention_without_hints_strips_wrapper_and_keeps_strings() {
    let r = exchange("", Reply::soap11(CONVENTION)).await;
    assert_json(&r, convention_json());
}

#[actix_rt::test]
async fn keys_come_in_document_order_and_names_repeating_apart_merge_into_one_array() {
    // Written while parsing: the text itself is in document order.
    let body = r#"<m:R xmlns:m="urn:test"><m:z>1</m:z><m:a>2</m:a><m:a>3</m:a><m:b/></m:R>"#;
    let r = exchange("", Reply::soap11(body)).await;
    assert_json(&r, json!({"z": "1", "a": ["2", "3"], "b": ""}));
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"z":"1","a":["2","3"],"b":""}"#
    );
    // `a` again after `b`: one array at `a`'s first place (the tree conversion takes over).
    let apart = r#"<m:R xmlns:m="urn:test"><m:z>1</m:z><m:a>2</m:a><m:b/><m:a>3</m:a></m:R>"#;
    let r = exchange("", Reply::soap11(apart)).await;
    assert_eq!(
        String::from_utf8_lossy(&r.body),
        r#"{"z":"1","a":["2","3"],"b":""}"#
    );
}

#[actix_rt::test]
async fn soap12_responses_convert_the_same_way() {
    let r = exchange("", Reply::soap12(CONVENTION)).await;
    assert_json(&r, convention_json());
}

const HINTS: &str = "response:
  arrays: [items/item]
  types:
    items/item/qty: integer
    items/item/price: number
    items/item/amount: decimal
    items/item/active: boolean
    count: integer";

fn list(items: &[(&str, &str, &str, &str, &str)]) -> Reply {
    let items: String = items
        .iter()
        .map(|(sku, qty, price, amount, active)| {
            format!(
                "<item><sku>{sku}</sku><qty>{qty}</qty><price>{price}</price>\
                 <amount>{amount}</amount><active>{active}</active></item>"
            )
        })
        .collect();
    let n = items.matches("<item>").count();
    Reply::soap11(&format!(
        "<r:ListResponse xmlns:r=\"urn:test\"><count>{n}</count><items>{items}</items></r:ListResponse>"
    ))
}

#[actix_rt::test]
async fn hinted_array_has_the_same_shape_for_zero_one_and_many_items() {
    let a = ("007", "3", "12.50", "12345678901234567.89", "true");
    let b = ("B", "-2", "1e3", "0.1", "0");
    let (rs, hits) = exchange_n(HINTS, vec![list(&[]), list(&[a]), list(&[a, b, a])]).await;
    assert_eq!(hits, 3);
    let a = json!({"sku": "007", "qty": 3, "price": 12.5, "amount": "12345678901234567.89", "active": true});
    let b = json!({"sku": "B", "qty": -2, "price": 1000.0, "amount": "0.1", "active": false});
    assert_json(&rs[0], json!({"count": 0, "items": {"item": []}}));
    assert_json(&rs[1], json!({"count": 1, "items": {"item": [a]}}));
    assert_json(&rs[2], json!({"count": 3, "items": {"item": [a, b, a]}}));
}

#[actix_rt::test]
async fn value_not_matching_its_type_hint_is_502() {
    let r = exchange(HINTS, list(&[("A", "three", "1", "1", "true")])).await;
    assert_xml_rejected(&r, "UPSTREAM_XML_TYPE", "`items/item/qty` is not a valid Integer");
}

// Hostile replies ---------------------------------------------------------------------------------

/// The classic billion laughs: lol9 expands to 10^9 "lol"s.
fn laughs() -> String {
    let entities: String = (1..=9)
        .map(|i| format!("<!ENTITY lol{i} \"{}\">", format!("&lol{};", i - 1).repeat(10)))
        .collect();
    format!("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol0 \"lol\">{entities}]>")
}

#[actix_rt::test]
async fn x1_billion_laughs_doctype_is_refused() {
    let doc = format!("{}{}", laughs(), envelope(SOAP11_NS, "<r>&lol9;</r>"));
    let r = exchange("", xml(doc)).await;
    assert_xml_rejected(&r, "UPSTREAM_XML_DTD", "a DOCTYPE is not allowed");
}

#[actix_rt::test]
async fn x2_external_and_parameter_entities_are_refused_without_fetching() {
    let canary = FakeSoap::new().start();
    let dtd = canary.url("/evil.dtd");
    let docs = [
        format!(
            "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
            envelope(SOAP11_NS, "<r>&xxe;</r>")
        ),
        format!(
            "<!DOCTYPE r [<!ENTITY % ext SYSTEM \"{dtd}\"> %ext;]>{}",
            envelope(SOAP11_NS, "<r>&exfil;</r>")
        ),
        format!(
            "<!DOCTYPE soap:Envelope SYSTEM \"{dtd}\">{}",
            envelope(SOAP11_NS, "<r/>")
        ),
    ];
    for doc in docs {
        let r = exchange("", xml(doc)).await;
        assert_xml_rejected(&r, "UPSTREAM_XML_DTD", "a DOCTYPE is not allowed");
        assert!(!String::from_utf8_lossy(&r.body).contains("root:"));
    }
    assert_eq!(canary.connections(), 0, "an external entity was fetched");
    let r = exchange("", xml(envelope(SOAP11_NS, "<r>&xxe;</r>"))).await;
    assert_xml_rejected(&r, "UPSTREAM_XML_ENTITY", "custom entities are not allowed");
}

fn attrs(n: usize) -> String {
    (0..n).map(|i| format!(" a{i}=\"x\"")).collect()
}

fn ns_decls(n: usize) -> String {
    (0..n).map(|i| format!(" xmlns:p{i}=\"urn:{i}\"")).collect()
}

#[actix_rt::test]
async fn x4_100k_attributes_on_one_element_are_refused() {
    let doc = envelope(SOAP11_NS, &format!("<r><e{}/></r>", attrs(100_000)));
    let r = exchange("", xml(doc)).await;
    assert_xml_rejected(&r, "UPSTREAM_XML_ATTRS", "too many attributes on one element");
    // At the limits: 32 attributes or 16 namespace declarations convert; one more is refused.
    let at32: serde_json::Map<String, Value> = (0..32).map(|i| (format!("@a{i}"), json!("x"))).collect();
    for (extra, e) in [(attrs(32), json!(at32)), (ns_decls(16), json!(""))] {
        let r = exchange("", Reply::soap11(&format!("<r><e{extra}/></r>"))).await;
        assert_json(&r, json!({ "e": e }));
    }
    let r = exchange("", Reply::soap11(&format!("<r><e{}/></r>", attrs(33)))).await;
    assert_xml_rejected(&r, "UPSTREAM_XML_ATTRS", "too many attributes on one element");
    let r = exchange("", Reply::soap11(&format!("<r><e{}/></r>", ns_decls(17)))).await;
    assert_xml_rejected(&r, "UPSTREAM_XML_NAMESPACES", "too many namespace declarations");
}

/// Asserts status and code only (for behaviour whose exact detail text does not exist yet).
fn assert_code(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type(), "application/problem+json");
    assert_eq!(r.json()["code"], code);
}

#[actix_rt::test]
async fn x4_limits_apply_to_the_envelope_and_body_elements_too() {
    let doc = |env: &str, body: &str| {
        format!("<soap:Envelope xmlns:soap=\"{SOAP11_NS}\"{env}><soap:Body{body}><r/></soap:Body></soap:Envelope>")
    };
    let big_value = format!(" big=\"{}\"", "v".repeat(64 * 1024 + 1));
    let cases = [
        (doc(&attrs(100_000), ""), "UPSTREAM_XML_ATTRS"),
        (doc("", &attrs(33)), "UPSTREAM_XML_ATTRS"),
        (doc(&ns_decls(17), ""), "UPSTREAM_XML_NAMESPACES"),
        (doc(&big_value, ""), "UPSTREAM_XML_ATTR_VALUE"),
    ];
    for (doc, code) in cases {
        assert_code(&exchange("", xml(doc)).await, 502, code);
    }
}

/// A payload nested so that the whole document (Envelope = 1, Body = 2) is `depth` deep.
fn nested(depth: usize) -> (String, Value) {
    let n = depth - 2;
    let xml = format!("{}x{}", "<d>".repeat(n), "</d>".repeat(n));
    let mut v = json!("x");
    for _ in 0..n - 1 {
        v = json!({ "d": v });
    }
    (xml, v)
}

#[actix_rt::test]
async fn x6_depth_64_converts_and_depth_65_is_refused() {
    let (doc, expected) = nested(64);
    assert_json(&exchange("", Reply::soap11(&doc)).await, expected);
    let (doc, _) = nested(65);
    let r = exchange("", Reply::soap11(&doc)).await;
    assert_xml_rejected(&r, "UPSTREAM_XML_DEPTH", "elements are nested too deeply");
}

#[actix_rt::test]
async fn x6_10000_children_convert_and_10001_are_refused() {
    let r = exchange("", Reply::soap11(&format!("<r>{}</r>", "<i/>".repeat(10_000)))).await;
    assert_json(&r, json!({ "i": vec![""; 10_000] }));
    let r = exchange("", Reply::soap11(&format!("<r>{}</r>", "<i/>".repeat(10_001)))).await;
    assert_xml_rejected(&r, "UPSTREAM_XML_CHILDREN", "too many child elements");
}

#[actix_rt::test]
async fn x6_text_of_1_mib_converts_and_1_mib_plus_1_is_refused() {
    let text = "a".repeat(MIB);
    let r = exchange("", Reply::soap11(&format!("<r><t>{text}</t></r>"))).await;
    assert_json(&r, json!({ "t": text }));
    let r = exchange("", Reply::soap11(&format!("<r><t>{text}a</t></r>"))).await;
    assert_xml_rejected(&r, "UPSTREAM_XML_TEXT", "a text node is too large");
}

/// A valid SOAP response of exactly `size` bytes (padded with a comment).
fn response_of(size: usize) -> Vec<u8> {
    let head = envelope(SOAP11_NS, "<r><ok>1</ok></r>");
    let pad = size - head.len() - "<!---->".len();
    format!("{head}<!--{}-->", " ".repeat(pad)).into_bytes()
}

#[actix_rt::test]
async fn x7_response_over_8_mib_is_refused_chunked_or_with_length() {
    let ok = response_of(8 * MIB);
    assert_json(&exchange("", xml(ok.clone()).chunked()).await, json!({"ok": "1"}));
    let big = response_of(8 * MIB + 1);
    let too_large = "The backend response exceeds 8388608 bytes.";
    for reply in [xml(big.clone()).chunked(), xml(big)] {
        let r = exchange("", reply).await;
        assert_problem(&r, 502, "UPSTREAM_TOO_LARGE", too_large, "/op");
    }
    // A declared length over the limit is refused from the header: no wait for the body
    // (waiting would end in a 504 after the 10 s backend timeout instead).
    let lying = Reply::soap11("<r/>").header("Content-Length", (8 * MIB + 1).to_string());
    let r = exchange("", lying).await;
    assert_problem(&r, 502, "UPSTREAM_TOO_LARGE", too_large, "/op");
}

#[actix_rt::test]
async fn x8_malformed_xml_is_upstream_xml_syntax() {
    let cases = [
        (envelope(SOAP11_NS, "<r><a>1</r>"), "malformed XML near byte 88"),
        (
            format!("<soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body><r><a>1</a>"),
            "unexpected end of document (unclosed element)",
        ),
        (
            format!("{0}{0}", envelope(SOAP11_NS, "<r/>")),
            "more than one root element",
        ),
    ];
    for (doc, message) in cases {
        let r = exchange("", xml(doc)).await;
        assert_xml_rejected(&r, "UPSTREAM_XML_SYNTAX", message);
    }
}

#[actix_rt::test]
async fn x8_forbidden_characters_and_duplicate_attributes_are_upstream_xml_syntax() {
    for inner in [
        "<r><t>\u{1}</t></r>",
        "<r><t>\u{1b}[2J</t></r>",
        "<r><t a=\"1\" a=\"2\"/></r>",
    ] {
        let r = exchange("", xml(envelope(SOAP11_NS, inner))).await;
        assert_code(&r, 502, "UPSTREAM_XML_SYNTAX");
    }
}

#[actix_rt::test]
async fn x8_syntax_error_detail_never_quotes_backend_text() {
    let doc = envelope(SOAP11_NS, "<r><a>1</r at Db.connect(10.0.0.5) password=hunter2>");
    let r = exchange("", xml(doc)).await;
    assert_code(&r, 502, "UPSTREAM_XML_SYNTAX");
    let body = String::from_utf8_lossy(&r.body);
    assert!(!body.contains("hunter2") && !body.contains("10.0.0.5"), "{body}");
}

#[actix_rt::test]
async fn x11_html_or_plain_text_is_upstream_content_type() {
    let html = "<!DOCTYPE html><html><body><h1>Oops</h1><pre>at com.acme.Db.connect</pre></body></html>";
    let replies = [
        Reply::raw(html).content_type("text/html; charset=utf-8"),
        Reply::raw("Service temporarily unavailable").content_type("text/plain"),
        Reply::raw(envelope(SOAP11_NS, "<r/>")),
    ];
    for reply in replies {
        let r = exchange("", reply).await;
        let detail = "The backend answered with an unexpected content type.";
        assert_problem(&r, 502, "UPSTREAM_CONTENT_TYPE", detail, "/op");
        assert!(!String::from_utf8_lossy(&r.body).contains("acme"));
    }
}

#[actix_rt::test]
async fn well_formed_non_soap_xml_is_upstream_not_soap() {
    let doc = "<?xml version=\"1.0\"?><status><ok>true</ok></status>";
    let r = exchange("", Reply::raw(doc).content_type("application/xml")).await;
    let detail = "The backend response is not a SOAP envelope: the root element is not a SOAP Envelope.";
    assert_problem(&r, 502, "UPSTREAM_NOT_SOAP", detail, "/op");
}

#[actix_rt::test]
async fn error_status_with_a_non_fault_body_is_upstream_status() {
    for (status, reply) in [
        (500, Reply::soap11("<r><ok>1</ok></r>").status(500)),
        (404, Reply::soap12("<r/>").status(404)),
    ] {
        let r = exchange("", reply).await;
        let detail = format!("The backend answered with HTTP status {status} and no SOAP Fault.");
        assert_problem(&r, 502, "UPSTREAM_STATUS", &detail, "/op");
    }
}

#[actix_rt::test]
async fn gzip_response_is_decompressed_and_limited_after_decompression() {
    let doc = envelope(SOAP11_NS, "<r><ok>1</ok></r>");
    let small = gzip(doc.as_bytes(), MIB);
    let r = exchange("", xml(small).header("Content-Encoding", "gzip")).await;
    assert_json(&r, json!({"ok": "1"}));
    let bomb = gzip(doc.as_bytes(), 8 * MIB + 1 - doc.len());
    assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
    let r = exchange("", xml(bomb).header("Content-Encoding", "gzip")).await;
    let detail = "The backend response exceeds 8388608 bytes.";
    assert_problem(&r, 502, "UPSTREAM_TOO_LARGE", detail, "/op");
}

/// gzip of `doc` followed by `pad` spaces, built by hand (no compression crate is a dependency):
/// one fixed-Huffman deflate block, the spaces as length-258/distance-1 matches (~300:1).
fn gzip(doc: &[u8], pad: usize) -> Vec<u8> {
    let mut bits: Vec<u8> = vec![1, 1, 0]; // BFINAL = 1, BTYPE = 01, least significant bit first
    let mut code = |c: u32, len: u32| bits.extend((0..len).rev().map(|i| ((c >> i) & 1) as u8));
    let literal = |b: u8| match b {
        0..=143 => (0x30 + u32::from(b), 8),
        _ => (0x190 + u32::from(b - 144), 9),
    };
    let (matches, tail) = (
        pad.saturating_sub(1) / 258,
        pad.saturating_sub(1) % 258 + pad.min(1),
    );
    for &b in doc.iter().chain(std::iter::repeat_n(&b' ', tail)) {
        let (c, len) = literal(b);
        code(c, len);
    }
    for _ in 0..matches {
        code(0b1100_0101, 8); // length symbol 285: 258 bytes
        code(0, 5); // distance symbol 0: 1 byte back
    }
    code(0, 7); // end of block
    let mut data = doc.to_vec();
    data.resize(doc.len() + pad, b' ');
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(
        bits.chunks(8)
            .map(|c| c.iter().rev().fold(0u8, |a, &b| (a << 1) | b)),
    );
    out.extend(crc32(&data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|i| (0..8).fold(i, |c, _| (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg())))
        .collect();
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

// Only declared data leaves (docs/threat-model.md group L) ----------------------------------------

const LEAKS_NS: &str = "urn:leaks";

/// A gateway whose route `get` (GET /customers/{id}) is bound to tests/fixtures/wsdl/leaks.wsdl's
/// GetCustomer, with `extra` YAML under the route (response:, faults:).
fn leaks_gateway(fake: &crate::common::fake_soap::FakeHandle, extra: &str) -> TestGateway {
    let wsdl = std::fs::read_to_string(crate::common::fixture("wsdl/leaks.wsdl")).expect("fixture");
    let extra: String = extra.lines().map(|l| format!("    {l}\n")).collect();
    let mapping = format!(
        "service: customers\nwsdl: wsdl/leaks.wsdl\nbackend:\n  urls: [{}]\nroutes:\n  - id: get\n    method: GET\n    path: /customers/{{id}}\n    operation: GetCustomer\n{extra}",
        fake.url("/customers")
    );
    TestGateway::builder()
        .file("wsdl/leaks.wsdl", &wsdl)
        .mapping("customers", &mapping)
        .start()
}

/// A GetCustomerResponse with declared data (name, phone, @id) and undeclared data (ssn,
/// passwordHash, a stack trace in debug, @ssnHint).
fn hostile_customer() -> Reply {
    Reply::soap11(&format!(
        "<t:GetCustomerResponse xmlns:t=\"{LEAKS_NS}\"><t:customer id=\"7\" ssnHint=\"6789\"><t:name>Ann</t:name>\
         <t:ssn>123-45-6789</t:ssn><t:phone>555</t:phone><t:debug><t:trace>at com.example.Db.query(Db.java:42)</t:trace>\
         </t:debug></t:customer><t:passwordHash>$2b$12$hash</t:passwordHash></t:GetCustomerResponse>"
    ))
}

const SECRETS: [&str; 4] = ["123-45-6789", "6789", "Db.java", "$2b$12$hash"];

fn assert_no_secret(r: &Resp) {
    let text = String::from_utf8_lossy(&r.body);
    for s in SECRETS {
        assert!(!text.contains(s), "{s} leaked: {text}");
    }
}

/// `soapgate_response_undeclared_total` of a route (0 when absent).
fn undeclared_total(gw: &TestGateway, route: &str) -> u64 {
    let line = format!("soapgate_response_undeclared_total{{route=\"{route}\"}} ");
    gw.gw
        .metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

#[actix_rt::test]
async fn l1_undeclared_ssn_is_dropped() {
    let fake = FakeSoap::new().otherwise(hostile_customer()).start();
    let gw = leaks_gateway(&fake, "");
    let r = gw.get("/customers/7").await;
    assert_json(
        &r,
        json!({"customer": [{"@id": 7, "name": "Ann", "phone": ["555"]}]}),
    );
    assert_no_secret(&r);
    assert_eq!(undeclared_total(&gw, "get"), 4);
    // Counted per response: a second one adds its own.
    let r = gw.get("/customers/7").await;
    assert_eq!(r.status, 200);
    assert_eq!(undeclared_total(&gw, "get"), 8);
}

#[actix_rt::test]
async fn l2_select_works_over_the_filtered_data() {
    let fake = FakeSoap::new().otherwise(hostile_customer()).start();
    let gw = leaks_gateway(&fake, "response:\n  select: $.customer[0]");
    let r = gw.get("/customers/7").await;
    assert_json(&r, json!({"@id": 7, "name": "Ann", "phone": ["555"]}));
    assert_no_secret(&r);
    // A select naming undeclared data finds nothing: it was never there.
    let fake = FakeSoap::new().otherwise(hostile_customer()).start();
    let gw = leaks_gateway(&fake, "response:\n  select: $.customer[0].ssn");
    let r = gw.get("/customers/7").await;
    assert_problem(
        &r,
        502,
        "UPSTREAM_SHAPE",
        "The backend response does not have the expected shape: nothing at $.customer[0].ssn.",
        "/customers/7",
    );
    assert_no_secret(&r);
}

#[actix_rt::test]
async fn l3_undeclared_keep_passes_undeclared_data_uncounted() {
    let fake = FakeSoap::new().otherwise(hostile_customer()).start();
    let gw = leaks_gateway(&fake, "response:\n  undeclared: keep");
    let r = gw.get("/customers/7").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["customer"][0]["ssn"], json!("123-45-6789"));
    assert_eq!(v["passwordHash"], json!("$2b$12$hash"));
    assert_eq!(undeclared_total(&gw, "get"), 0);
}

#[actix_rt::test]
async fn l4_undeclared_reject_is_502_upstream_undeclared() {
    let fake = FakeSoap::new().otherwise(hostile_customer()).start();
    let gw = leaks_gateway(&fake, "response:\n  undeclared: reject");
    let r = gw.get("/customers/7").await;
    assert_problem(
        &r,
        502,
        "UPSTREAM_UNDECLARED",
        "The backend response holds data the route does not declare.",
        "/customers/7",
    );
    assert_no_secret(&r);
    assert!(!String::from_utf8_lossy(&r.body).contains("ssn"));
    assert_eq!(undeclared_total(&gw, "get"), 1);
}

#[actix_rt::test]
async fn l5_undeclared_attribute_is_dropped_and_nil_stays_null() {
    let reply = Reply::soap11(&format!(
        "<t:GetCustomerResponse xmlns:t=\"{LEAKS_NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <t:customer id=\"1\" token=\"s3cr3t\"><t:name>Bo</t:name><t:balance xsi:nil=\"true\" internal=\"x\"/>\
         </t:customer></t:GetCustomerResponse>"
    ));
    let fake = FakeSoap::new().otherwise(reply).start();
    let gw = leaks_gateway(&fake, "");
    let r = gw.get("/customers/1").await;
    assert_json(
        &r,
        json!({"customer": [{"@id": 1, "name": "Bo", "balance": null, "phone": []}]}),
    );
    assert!(!String::from_utf8_lossy(&r.body).contains("s3cr3t"));
    assert_eq!(undeclared_total(&gw, "get"), 2);
}

#[actix_rt::test]
async fn l6_undeclared_header_blocks_are_dropped_when_the_header_is_answered() {
    let doc = format!(
        "<soap:Envelope xmlns:soap=\"{SOAP11_NS}\" xmlns:t=\"{LEAKS_NS}\"><soap:Header>\
         <t:Session><t:id>s-1</t:id><t:signingKey>k-123</t:signingKey></t:Session>\
         <w:Security xmlns:w=\"urn:wsse\"><w:Password>hunter2</w:Password></w:Security></soap:Header>\
         <soap:Body><t:GetCustomerResponse><t:customer><t:name>Cy</t:name></t:customer></t:GetCustomerResponse>\
         </soap:Body></soap:Envelope>"
    );
    let fake = FakeSoap::new().otherwise(xml(doc.clone())).start();
    let gw = leaks_gateway(&fake, "response:\n  include_header: true");
    let r = gw.get("/customers/1").await;
    assert_json(
        &r,
        json!({"header": {"Session": {"id": "s-1"}}, "body": {"customer": [{"name": "Cy", "phone": []}]}}),
    );
    let text = String::from_utf8_lossy(&r.body);
    assert!(!text.contains("hunter2") && !text.contains("k-123"), "{text}");
    assert_eq!(undeclared_total(&gw, "get"), 2);
    // Without include_header the Header never leaves, so nothing of it is counted.
    let fake = FakeSoap::new().otherwise(xml(doc)).start();
    let gw = leaks_gateway(&fake, "");
    let r = gw.get("/customers/1").await;
    assert_json(&r, json!({"customer": [{"name": "Cy", "phone": []}]}));
    assert_eq!(undeclared_total(&gw, "get"), 0);
}

#[actix_rt::test]
async fn l7_exposed_fault_detail_keeps_only_the_declared_fault() {
    let detail = format!(
        "<t:NotFound xmlns:t=\"{LEAKS_NS}\"><t:key>42</t:key><t:sql>SELECT * FROM customers</t:sql></t:NotFound>\
         <ns1:hostname xmlns:ns1=\"http://xml.apache.org/axis/\">db-7.internal</ns1:hostname>\
         <t:stackTrace xmlns:t=\"{LEAKS_NS}\">java.lang.IllegalStateException at Db.java:42</t:stackTrace>"
    );
    let reply = Reply::fault11_detail("Client.NotFound", "no such customer", Some(&detail));
    let rules = "faults:\n  - when: { detail: NotFound }\n    status: 404\n    code: CUSTOMER_NOT_FOUND\n    expose_detail: true";
    let fake = FakeSoap::new().otherwise(reply.clone()).start();
    let gw = leaks_gateway(&fake, rules);
    let r = gw.get("/customers/42").await;
    assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["code"], json!("CUSTOMER_NOT_FOUND"));
    assert_eq!(body["fault_detail"], json!({"NotFound": {"key": "42"}}));
    let text = String::from_utf8_lossy(&r.body);
    for s in ["SELECT", "db-7", "Db.java"] {
        assert!(!text.contains(s), "{s} leaked: {text}");
    }
    assert_eq!(undeclared_total(&gw, "get"), 3);
    // A route whose rules never expose the detail counts nothing (it never leaves).
    let fake = FakeSoap::new().otherwise(reply).start();
    let gw = leaks_gateway(&fake, "");
    let r = gw.get("/customers/42").await;
    assert_eq!(r.json()["code"], json!("UPSTREAM_CLIENT_FAULT"));
    assert_eq!(undeclared_total(&gw, "get"), 0);
}

#[actix_rt::test]
async fn l8_xs_any_keeps_lax_and_skip_content_and_strict_only_when_declared() {
    let reply = Reply::soap11(&format!(
        "<t:GetCustomerResponse xmlns:t=\"{LEAKS_NS}\"><t:customer><t:name>Di</t:name></t:customer>\
         <t:lax><t:anything><t:deep>x</t:deep></t:anything></t:lax><t:skip><t:whatever>y</t:whatever></t:skip>\
         <t:strict><t:note><t:text>hi</t:text><t:stars>5</t:stars></t:note><t:rogue>r</t:rogue></t:strict>\
         </t:GetCustomerResponse>"
    ));
    let fake = FakeSoap::new().otherwise(reply).start();
    let gw = leaks_gateway(&fake, "");
    let r = gw.get("/customers/1").await;
    assert_json(
        &r,
        json!({"customer": [{"name": "Di", "phone": []}], "lax": {"anything": {"deep": "x"}},
               "skip": {"whatever": "y"}, "strict": {"note": {"text": "hi", "stars": 5}}}),
    );
    assert_eq!(undeclared_total(&gw, "get"), 1);
}

#[actix_rt::test]
async fn l9_xsi_type_derived_type_elements_are_kept() {
    let reply = Reply::soap11(&format!(
        "<t:GetCustomerResponse xmlns:t=\"{LEAKS_NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
         <t:customer since=\"2020\" xsi:type=\"t:VipCustomer\"><t:name>Vi</t:name><t:tier>gold</t:tier></t:customer>\
         <t:customer><t:name>Wu</t:name><t:tier>gold</t:tier></t:customer></t:GetCustomerResponse>"
    ));
    let fake = FakeSoap::new().otherwise(reply).start();
    let gw = leaks_gateway(&fake, "");
    let r = gw.get("/customers/1").await;
    assert_json(
        &r,
        json!({"customer": [
            {"@xsi:type": "VipCustomer", "@since": 2020, "name": "Vi", "tier": "gold", "phone": []},
            {"name": "Wu", "phone": []}
        ]}),
    );
    assert_eq!(undeclared_total(&gw, "get"), 1);
}

/// A customer followed by 10,000 distinct undeclared elements (in two parents, within the
/// per-parent child limit).
fn ten_thousand_names() -> Reply {
    let mut inner = format!("<t:GetCustomerResponse xmlns:t=\"{LEAKS_NS}\"><t:customer><t:name>Ed</t:name>");
    for i in 0..5_000 {
        inner.push_str(&format!("<t:a{i}>v{i}</t:a{i}>"));
    }
    inner.push_str("</t:customer>");
    for i in 0..5_000 {
        inner.push_str(&format!("<t:b{i}>w{i}</t:b{i}>"));
    }
    inner.push_str("</t:GetCustomerResponse>");
    Reply::soap11(&inner)
}

#[actix_rt::test]
async fn l10_ten_thousand_distinct_undeclared_names_are_dropped_and_counted() {
    let fake = FakeSoap::new().otherwise(ten_thousand_names()).start();
    let gw = leaks_gateway(&fake, "");
    let r = gw.get("/customers/1").await;
    assert_json(&r, json!({"customer": [{"name": "Ed", "phone": []}]}));
    assert_eq!(undeclared_total(&gw, "get"), 10_000);
    // One metric line per route, never per name.
    let m = gw.gw.metrics.render();
    let lines = m
        .lines()
        .filter(|l| l.starts_with("soapgate_response_undeclared_total{"))
        .count();
    assert_eq!(lines, 1, "{m}");
}

#[actix_rt::test]
async fn l10_undeclared_names_are_logged_boundedly_once_per_route_and_minute_never_values() {
    use crate::common::process::Soapgate;
    use std::time::Duration;
    let fake = FakeSoap::new().otherwise(ten_thousand_names()).start();
    let wsdl = std::fs::read_to_string(crate::common::fixture("wsdl/leaks.wsdl")).expect("fixture");
    let mapping = format!(
        "service: customers\nwsdl: wsdl/leaks.wsdl\nbackend:\n  urls: [{}]\nroutes:\n  - id: get\n    method: GET\n    path: /customers/{{id}}\n    operation: GetCustomer\n",
        fake.url("/customers")
    );
    let cfg = TestGateway::builder()
        .file("wsdl/leaks.wsdl", &wsdl)
        .mapping("customers", &mapping);
    let (dir, _) = cfg.write();
    std::fs::write(
        dir.path().join("soapgate.yaml"),
        "listen: 127.0.0.1:0\nworkers: 1\nlogging: { format: json, level: info }\n",
    )
    .expect("config");
    let mut p = Soapgate::start(&["serve", "--config", "soapgate.yaml"], dir.path());
    let ready = p
        .wait_line(Duration::from_secs(20), |l| l.contains("soapgate listening"))
        .unwrap_or_else(|| panic!("no listening line; saw {:?}", p.seen));
    let v: Value = serde_json::from_str(&ready).expect("JSON line");
    let addr = v["listen"]
        .as_str()
        .expect("listen")
        .trim_matches(['[', ']'])
        .to_string();
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    for _ in 0..2 {
        let res = client
            .get(format!("http://{addr}/customers/1"))
            .send()
            .await
            .expect("gateway answers");
        assert_eq!(res.status().as_u16(), 200);
        // The access line comes after the request's undeclared data was counted and logged.
        p.wait_line(Duration::from_secs(10), |l| l.contains("soapgate::access"))
            .expect("an access line");
    }
    let logged: Vec<&String> = p
        .seen
        .iter()
        .filter(|l| l.contains("soapgate::response"))
        .collect();
    assert_eq!(logged.len(), 1, "one line per route and minute: {logged:?}");
    let v: Value = serde_json::from_str(logged[0]).expect("JSON line");
    let fields = if v["fields"].is_object() { &v["fields"] } else { &v };
    assert_eq!(fields["route"], json!("get"));
    assert_eq!(fields["count"], json!(10_000));
    let names: Vec<&str> = fields["names"].as_str().expect("names").split(' ').collect();
    assert_eq!(names.len(), 32, "{names:?}");
    assert_eq!(names[..3], ["a0", "a1", "a2"]);
    assert!(logged[0].len() < 2_000, "the line is bounded: {}", logged[0]);
    assert!(
        p.seen.iter().all(|l| !l.contains("v1234") && !l.contains("w42<")),
        "a value reached the log"
    );
}

#[actix_rt::test]
async fn l11_response_allow_lists_what_leaves_a_route_without_wsdl() {
    let body = r#"<m:GetCustomerResponse xmlns:m="urn:test"><customer id="7"><name>Ann</name><ssn>123-45-6789</ssn>
        <phones><phone><number>1</number><pin>0000</pin></phone><phone><number>2</number></phone></phones>
        </customer><passwordHash>$2b$12$hash</passwordHash></m:GetCustomerResponse>"#;
    let allow = "response:\n  allow: [customer.name, 'customer.phones.phone[*].number']";
    let r = exchange(allow, Reply::soap11(body)).await;
    assert_json(
        &r,
        json!({"customer": {"name": "Ann", "phones": {"phone": [{"number": "1"}, {"number": "2"}]}}}),
    );
    assert_no_secret(&r);
    assert!(!String::from_utf8_lossy(&r.body).contains("0000"));
    // With reject, anything outside the list refuses the response.
    let r = exchange(&format!("{allow}\n  undeclared: reject"), Reply::soap11(body)).await;
    assert_problem(
        &r,
        502,
        "UPSTREAM_UNDECLARED",
        "The backend response holds data the route does not declare.",
        "/op",
    );
    // `select` then picks from the allowed data.
    let r = exchange(
        &format!("{allow}\n  select: $.customer.phones.phone[*].number"),
        Reply::soap11(body),
    )
    .await;
    assert_json(&r, json!(["1", "2"]));
    // Without a WSDL and without allow, everything leaves as before.
    let r = exchange("", Reply::soap11(body)).await;
    assert_eq!(r.json()["passwordHash"], json!("$2b$12$hash"));
}

#[actix_rt::test]
async fn l11_malformed_or_misplaced_allow_and_undeclared_are_config_errors() {
    let cases = [
        (
            "response:\n  allow: ['customer..name']",
            "routes[0].response.allow[0]",
        ),
        (
            "response:\n  allow: ['customer.phone[0]']",
            "routes[0].response.allow[0]",
        ),
        ("response:\n  undeclared: reject", "routes[0].response.undeclared"),
        (
            "response:\n  undeclared: sometimes\n  allow: [a]",
            "routes[0].response.undeclared",
        ),
        (
            "response:\n  undeclared: keep\n  allow: [a]",
            "routes[0].response.undeclared",
        ),
    ];
    for (yaml, key) in cases {
        let errors = TestGateway::builder()
            .route("http://127.0.0.1:1/s", &format!("{ROUTE}\n{yaml}"), TEMPLATE)
            .load()
            .expect_err("refused");
        assert!(
            errors.iter().any(|e| format!("{e:?}").contains(key)),
            "{yaml}: {errors:#?}"
        );
    }
    // allow belongs to routes without a WSDL.
    let fake = FakeSoap::new().start();
    let wsdl = std::fs::read_to_string(crate::common::fixture("wsdl/leaks.wsdl")).expect("fixture");
    let mapping = format!(
        "service: customers\nwsdl: wsdl/leaks.wsdl\nbackend:\n  urls: [{}]\nroutes:\n  - id: get\n    method: GET\n    path: /c/{{id}}\n    operation: GetCustomer\n    response: {{ allow: [customer.name] }}\n",
        fake.url("/c")
    );
    let errors = TestGateway::builder()
        .file("wsdl/leaks.wsdl", &wsdl)
        .mapping("customers", &mapping)
        .load()
        .expect_err("refused");
    assert!(
        errors
            .iter()
            .any(|e| format!("{e:?}").contains("routes[0].response.allow")),
        "{errors:#?}"
    );
}

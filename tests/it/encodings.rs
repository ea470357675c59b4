//! Character encodings of backend replies (threat model group N): every encoding a SOAP stack can
//! send is decoded to UTF-8 before the parser (src/soap/charset.rs), against spyne (ISO-8859-1,
//! windows-1252 and UTF-16, the Content-Type saying utf-8 all the same) and hostile in-process
//! backends; an encoding that cannot be decoded is 502 UPSTREAM_ENCODING naming it.

use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply, SOAP11_NS};
use crate::common::gateway::{assert_problem, Resp, TestGateway};
use crate::common::spyne::spyne;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ROUTE: &str = "id: op\nmethod: GET\npath: /op\noperation: Op\naction: urn:test/Op";
const TEMPLATE: &str = "<t:Op xmlns:t=\"{{ns}}\"><t:v>{{query.v}}</t:v></t:Op>";

/// The reply document, `<?xml ...?>` declaration (`decl`, may be empty) first.
fn doc(decl: &str, text: &str) -> String {
    format!(
        "{decl}<soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body><t:OpResponse \
         xmlns:t=\"urn:test\"><t:text>{text}</t:text></t:OpResponse></soap:Body></soap:Envelope>"
    )
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect()
}

fn utf16(s: &str, big_endian: bool) -> Vec<u8> {
    std::iter::once(0xFEFF)
        .chain(s.encode_utf16())
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// One exchange with a backend answering `bytes` as `content_type`; `config` adds to soapgate.yaml.
async fn exchange_with(config: &str, bytes: Vec<u8>, content_type: &str) -> (Resp, FakeHandle) {
    let fake = FakeSoap::new()
        .otherwise(Reply::raw(bytes).content_type(content_type))
        .start();
    let gw = TestGateway::builder()
        .config(config)
        .route(&fake.url("/s"), ROUTE, TEMPLATE)
        .start();
    (gw.get("/op?v=caf%C3%A9").await, fake)
}

async fn exchange(bytes: Vec<u8>, content_type: &str) -> Resp {
    exchange_with("", bytes, content_type).await.0
}

fn assert_text(r: &Resp, text: &str) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({ "text": text }));
}

fn assert_encoding(r: &Resp, message: &str) {
    let detail = format!("The backend response cannot be read as text: {message}.");
    assert_problem(r, 502, "UPSTREAM_ENCODING", &detail, "/op");
}

#[actix_rt::test]
async fn n1_latin1_declared_in_the_xml_declaration_is_decoded() {
    let decl = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>";
    let r = exchange(latin1(&doc(decl, "café à la crème")), "text/xml").await;
    assert_text(&r, "café à la crème");
}

#[actix_rt::test]
async fn n2_windows_1252_euro_sign_is_decoded() {
    let mut bytes = doc("<?xml version='1.0' encoding='windows-1252'?>", "%").into_bytes();
    let at = bytes.iter().position(|&b| b == b'%').expect("placeholder");
    bytes.splice(at..=at, [0x80, b' ', 0x93, b'q', 0x94]);
    assert_text(&exchange(bytes, "text/xml").await, "€ “q”");
}

#[actix_rt::test]
async fn n3_utf16le_with_a_byte_order_mark_is_decoded() {
    let text = "Grüße € 𝄞 日本";
    let bytes = utf16(&doc("<?xml version=\"1.0\" encoding=\"UTF-16\"?>", text), false);
    assert_text(&exchange(bytes, "text/xml; charset=utf-16").await, text);
}

#[actix_rt::test]
async fn n4_utf16be_with_a_byte_order_mark_is_decoded() {
    let text = "Grüße € 𝄞 日本";
    // The byte order mark decides, whatever the Content-Type says.
    let bytes = utf16(&doc("<?xml version=\"1.0\" encoding=\"UTF-16\"?>", text), true);
    assert_text(&exchange(bytes, "text/xml; charset=utf-8").await, text);
}

#[actix_rt::test]
async fn n5_content_type_charset_and_declaration() {
    // The declaration wins over the header (spyne labels its ISO-8859-1 replies utf-8).
    let decl = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>";
    let r = exchange(latin1(&doc(decl, "é")), "text/xml; charset=utf-8").await;
    assert_text(&r, "é");
    // A declaration without an encoding (or none): the header's charset decides.
    for decl in ["<?xml version=\"1.0\"?>", ""] {
        let r = exchange(latin1(&doc(decl, "é")), "text/xml; charset=\"iso-8859-1\"").await;
        assert_text(&r, "é");
        let r = exchange(latin1(&doc(decl, "é")), "text/xml; charset=utf-8").await;
        let at = doc(decl, "é").find('é').expect("é");
        assert_encoding(
            &r,
            &format!("the text is not valid UTF-8 (encoding from the Content-Type charset) near byte {at}"),
        );
    }
}

#[actix_rt::test]
async fn n6_unknown_encoding_is_502_upstream_encoding_naming_it() {
    let bytes = doc("<?xml version=\"1.0\" encoding=\"x-nonsense\"?>", "a").into_bytes();
    assert_encoding(
        &exchange(bytes, "text/xml").await,
        "the encoding `x-nonsense` named by the XML declaration is not supported",
    );
    assert_encoding(
        &exchange(doc("", "a").into_bytes(), "text/xml; charset=x-nonsense").await,
        "the encoding `x-nonsense` named by the Content-Type charset is not supported",
    );
    // A name that is not an encoding name is not echoed.
    let bytes = doc("<?xml version=\"1.0\" encoding=\"&lt;script&gt;\"?>", "a").into_bytes();
    let r = exchange(bytes, "text/xml").await;
    assert_encoding(
        &r,
        "the encoding (a name that is not an encoding name) named by the XML declaration is not supported",
    );
    // EBCDIC and UTF-32 are not WHATWG encodings.
    let bytes = doc("<?xml version=\"1.0\" encoding=\"IBM037\"?>", "a").into_bytes();
    assert_encoding(
        &exchange(bytes, "text/xml").await,
        "the encoding `IBM037` named by the XML declaration is not supported",
    );
}

#[actix_rt::test]
async fn n7_bytes_invalid_in_the_declared_encoding_are_502_upstream_encoding() {
    let decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    let bytes = latin1(&doc(decl, "é"));
    let at = doc(decl, "é").find('é').expect("é");
    assert_encoding(
        &exchange(bytes, "text/xml").await,
        &format!("the text is not valid UTF-8 (encoding from the XML declaration) near byte {at}"),
    );
    // Never "malformed XML near byte 0", never U+FFFD: an unpaired surrogate in UTF-16.
    let mut bytes = utf16(&doc("", "x"), false);
    let x = bytes.windows(2).position(|w| w == [b'x', 0]).expect("x");
    bytes.splice(x..x + 2, [0x00, 0xD8]);
    assert_encoding(
        &exchange(bytes, "text/xml").await,
        &format!("the text is not valid UTF-16LE (encoding from the byte order mark) near byte {x}"),
    );
}

#[actix_rt::test]
async fn n8_the_decoded_text_must_fit_the_response_limit_too() {
    // 400 kB of `€` in windows-1252 are 1.2 MB of UTF-8: within a 1 MiB limit on the wire,
    // over it once decoded.
    let config = "limits:\n  backend_response: 1MiB";
    let mut bytes = doc("<?xml version=\"1.0\" encoding=\"windows-1252\"?>", "").into_bytes();
    let at = bytes
        .windows(9)
        .position(|w| w == b"</t:text>")
        .expect("text end");
    bytes.splice(at..at, std::iter::repeat_n(0x80, 400_000));
    let (r, _) = exchange_with(config, bytes, "text/xml").await;
    assert_problem(
        &r,
        502,
        "UPSTREAM_TOO_LARGE",
        "The backend response exceeds 1048576 bytes.",
        "/op",
    );
    // 300 kB of them (900 kB decoded) pass.
    let mut bytes = doc("<?xml version=\"1.0\" encoding=\"windows-1252\"?>", "").into_bytes();
    bytes.splice(at..at, std::iter::repeat_n(0x80, 300_000));
    let (r, _) = exchange_with(config, bytes, "text/xml").await;
    assert_text(&r, &"€".repeat(300_000));
    // UTF-16 of ASCII halves once decoded: 1.6 MB on the wire is over the limit before decoding.
    let text = "a".repeat(800_000);
    let (r, _) = exchange_with(config, utf16(&doc("", &text), false), "text/xml").await;
    assert_problem(
        &r,
        502,
        "UPSTREAM_TOO_LARGE",
        "The backend response exceeds 1048576 bytes.",
        "/op",
    );
}

#[actix_rt::test]
async fn n9_limits_hold_on_decoded_text_100k_xmlns_declarations_are_refused_fast() {
    let decls: String = (0..100_000)
        .map(|i| format!(" xmlns:p{i}=\"urn:p:{i}\""))
        .collect();
    let hostile = format!(
        "<soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body><t:OpResponse xmlns:t=\"urn:test\"{decls}>\
         <t:text>a</t:text></t:OpResponse></soap:Body></soap:Envelope>"
    );
    let config = "limits:\n  backend_response: 32MiB";
    for bytes in [hostile.clone().into_bytes(), utf16(&hostile, false)] {
        let started = Instant::now();
        let (r, _) = exchange_with(config, bytes, "text/xml").await;
        assert_problem(
            &r,
            502,
            "UPSTREAM_XML_NAMESPACES",
            "The backend response is not acceptable XML: too many namespace declarations.",
            "/op",
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
    // Depth in UTF-16: the same limit as in UTF-8.
    let deep = format!("{}{}", "<t:a>".repeat(100), "</t:a>".repeat(100));
    let bytes = utf16(&doc("", &deep), true);
    let r = exchange(bytes, "text/xml").await;
    assert_problem(
        &r,
        502,
        "UPSTREAM_XML_DEPTH",
        "The backend response is not acceptable XML: elements are nested too deeply.",
        "/op",
    );
}

#[actix_rt::test]
async fn n10_request_envelopes_stay_utf8() {
    let text = doc("", "ok");
    let (r, fake) = exchange_with("", text.into_bytes(), "text/xml").await;
    assert_text(&r, "ok");
    let sent = fake.last_request().expect("backend called");
    assert_eq!(sent.header("content-type"), Some("text/xml; charset=utf-8"));
    assert!(sent
        .body
        .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    // The body was UTF-8 on the wire (the fake decodes it as UTF-8).
    assert!(sent.body.contains("<t:v>café</t:v>"), "{}", sent.body);
}

/// spyne's replies in three other encodings (its Content-Type says utf-8 for all of them).
#[actix_rt::test]
async fn n1_n2_n3_spyne_replies_in_latin1_windows_1252_and_utf16() {
    let Some(s) = spyne() else { return };
    let mut builder = TestGateway::builder().file(
        "templates/get.xml.hbs",
        "<t:GetItem xmlns:t=\"{{ns}}\"><t:sku>{{path.sku}}</t:sku></t:GetItem>",
    );
    for (name, path, version) in [
        ("latin1", "/soap11-latin1", "1.1"),
        ("cp1252", "/soap11-cp1252", "1.1"),
        ("utf16", "/soap12-utf16", "1.2"),
    ] {
        let mapping = format!(
            "service: {name}\nbackend:\n  urls: [{}]\n  soap_version: \"{version}\"\n  \
             namespace: urn:soapgate:test:inventory\nroutes:\n  - id: get-{name}\n    method: GET\n    \
             path: /{name}/items/{{sku}}\n    operation: GetItem\n    action: GetItem\n    \
             request: {{ template: templates/get.xml.hbs }}\n    response:\n      select: $.GetItemResult\n      \
             arrays: [GetItemResult/tags/string]\n",
            s.url(path)
        );
        builder = builder.mapping(name, &mapping);
    }
    let gw = builder.start();
    for name in ["latin1", "cp1252", "utf16"] {
        let r = gw.get(&format!("/{name}/items/cafe")).await;
        assert_eq!(r.status, 200, "{name}: {}", String::from_utf8_lossy(&r.body));
        let item: Value = r.json();
        assert_eq!(item["name"], json!("Café crème à 3 €"), "{name}");
        assert_eq!(item["tags"], json!({"string": ["naïve", "Œuvre"]}), "{name}");
    }
}

#[actix_rt::test]
async fn n11_a_backend_may_ask_for_another_request_encoding() {
    let fake = FakeSoap::new()
        .otherwise(Reply::raw(doc("", "ok")).content_type("text/xml"))
        .start();
    let mapping = format!(
        "service: svc\nbackend:\n  urls: [{}]\n  namespace: urn:test\n  request_encoding: iso-8859-1\n\
         routes:\n  - request: {{ template: templates/t.xml.hbs }}\n{}",
        fake.url("/s"),
        ROUTE.lines().map(|l| format!("    {l}\n")).collect::<String>()
    );
    let gw = TestGateway::builder()
        .mapping("svc", &mapping)
        .file("templates/t.xml.hbs", TEMPLATE)
        .start();
    assert_text(&gw.get("/op?v=caf%C3%A9").await, "ok");
    let sent = fake.last_request().expect("backend called");
    assert_eq!(sent.header("content-type"), Some("text/xml; charset=ISO-8859-1"));
    assert!(sent
        .body
        .starts_with("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"));
    // `é` went out as the one byte 0xE9 (the fake reads the body as lossy UTF-8).
    assert!(sent.body.contains("<t:v>caf\u{FFFD}</t:v>"), "{}", sent.body);
    // `€` is not in ISO-8859-1: refused before anything is sent, never `&#8364;`.
    let r = gw.get("/op?v=5%E2%82%AC").await;
    assert_problem(
        &r,
        400,
        "REQUEST_ENCODING",
        "The request contains a character (U+20AC) that the backend's encoding ISO-8859-1 cannot carry.",
        "/op",
    );
    assert_eq!(fake.hits(), 1);
    // A name that is no encoding soapgate can write is a config error.
    let bad = mapping.replace("iso-8859-1", "utf-16");
    let errors = TestGateway::builder()
        .mapping("svc", &bad)
        .file("templates/t.xml.hbs", TEMPLATE)
        .load()
        .expect_err("refused");
    assert!(
        format!("{errors:?}").contains("UTF-16 request envelopes are not supported"),
        "{errors:?}"
    );
}

//! Threat protection (THREATS.md rows J*, H*, E*, C2; issue #5): JSON limits, content types, body
//! limits and decoding, injection patterns, header/URL limits, slow senders, concurrency caps, and
//! HTTP/1.1 protocol abuse written byte by byte on raw TCP sockets. Every test asserts the status,
//! the problem `code` (where soapgate answers) and how many requests reached the fake backend.

use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply};
use crate::common::gateway::{GatewayBuilder, Resp, TestGateway};
use crate::common::raw_client::{read_until_closed, Raw};
use std::io::Write;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OK: &str = "<t:OpResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:OpResponse>";
const ROUTE: &str = "id: op\nmethod: POST\npath: /op\noperation: Op\naction: urn:test/Op\npublic: true";
const TEMPLATE: &str = "<t:Op xmlns:t=\"{{ns}}\"/>";

fn fake() -> FakeHandle {
    FakeSoap::new().otherwise(Reply::soap11(OK)).start()
}

/// A gateway with one `POST /op` route (plus `route_extra` lines) and `config` in soapgate.yaml.
fn builder(fake: &FakeHandle, config: &str, route_extra: &str) -> GatewayBuilder {
    let route = format!("{ROUTE}\n{route_extra}");
    TestGateway::builder()
        .config(config)
        .route(&fake.url("/s"), route.trim_end(), TEMPLATE)
}

fn start(fake: &FakeHandle, config: &str) -> TestGateway {
    builder(fake, config, "").start()
}

/// Asserts a problem+json answer with `status` and `code` whose detail does not echo `secret`.
fn assert_code(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type(), "application/problem+json");
    let body = r.json();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], soapgate::error::problem_type(code));
    assert!(body["correlation_id"].as_str().is_some_and(|c| !c.is_empty()));
    assert!(!body.to_string().contains("SECRET"), "input echoed: {body}");
}

async fn post_bytes(gw: &TestGateway, headers: &[(&str, &str)], body: Vec<u8>) -> Resp {
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let mut req = client.post(gw.url("/op"));
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let mut res = req.send_body(body).await.expect("gateway answers");
    let body = res.body().limit(1 << 20).await.expect("body").to_vec();
    Resp {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body,
    }
}

async fn post_json(gw: &TestGateway, body: &str) -> Resp {
    gw.post_json("/op", body).await
}

// ---------------------------------------------------------------------------------------------
// Raw TCP
// ---------------------------------------------------------------------------------------------

fn addr(gw: &TestGateway) -> String {
    gw.base.trim_start_matches("http://").to_string()
}

/// Writes `bytes` on a fresh connection and reads the answer for at most `wait`.
async fn raw(gw: &TestGateway, bytes: &[u8], wait: Duration) -> Raw {
    let mut s = TcpStream::connect(addr(gw)).await.expect("connect");
    // The server may answer (and close) before everything is written.
    let _ = s.write_all(bytes).await;
    read_until_closed(&mut s, wait).await
}

/// Asserts a 400-class refusal by the HTTP layer: status and a closed connection.
fn assert_refused(r: &Raw, statuses: &[u16], what: &str) {
    let status = r.status();
    assert!(
        status.is_some_and(|s| statuses.contains(&s)),
        "{what}: expected {statuses:?}, got {:?}: {}",
        status,
        r.text
    );
    assert!(r.closed, "{what}: connection left open: {}", r.text);
}

const WAIT: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------------------------------------
// J: request JSON
// ---------------------------------------------------------------------------------------------

#[actix_rt::test]
async fn j1_depth_33_and_10000_are_json_depth() {
    let f = fake();
    let gw = start(&f, "");
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    assert_code(&post_json(&gw, &deep(33)).await, 400, "JSON_DEPTH");
    assert_code(&post_json(&gw, &deep(10_000)).await, 400, "JSON_DEPTH");
    let objects = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    assert_code(&post_json(&gw, &objects).await, 400, "JSON_DEPTH");
    assert_eq!(f.hits(), 0);
    assert_eq!(post_json(&gw, &deep(32)).await.status, 200);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn j2_257_keys_is_json_entries_and_1001_items_is_json_array() {
    let f = fake();
    let gw = start(&f, "");
    let obj = |n: usize| {
        let m: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
        format!("{{{}}}", m.join(","))
    };
    let arr = |n: usize| format!("[{}]", vec!["1"; n].join(","));
    assert_code(&post_json(&gw, &obj(257)).await, 400, "JSON_ENTRIES");
    assert_code(&post_json(&gw, &arr(1001)).await, 400, "JSON_ARRAY");
    assert_eq!(f.hits(), 0);
    assert_eq!(post_json(&gw, &obj(256)).await.status, 200);
    assert_eq!(post_json(&gw, &arr(1000)).await.status, 200);
    assert_eq!(f.hits(), 2);
}

#[actix_rt::test]
async fn j3_long_string_is_json_string_and_129_byte_key_is_json_key() {
    let f = fake();
    let gw = start(&f, "");
    let s = format!("{{\"a\":\"{}\"}}", "S".repeat(16 * 1024 + 1));
    assert_code(&post_json(&gw, &s).await, 400, "JSON_STRING");
    let k = format!("{{\"{}\":1}}", "K".repeat(129));
    assert_code(&post_json(&gw, &k).await, 400, "JSON_KEY");
    assert_eq!(f.hits(), 0);
    let ok = format!("{{\"{}\":\"{}\"}}", "K".repeat(128), "S".repeat(16 * 1024));
    assert_eq!(post_json(&gw, &ok).await.status, 200);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn j4_body_over_256kib_is_413_with_content_length_and_chunked() {
    let f = fake();
    let gw = start(&f, "");
    let big = format!("\"{}\"", "a".repeat(256 * 1024 - 1));
    assert_eq!(big.len(), 256 * 1024 + 1);
    assert_code(&post_json(&gw, &big).await, 413, "PAYLOAD_TOO_LARGE");
    // The same size chunked (no Content-Length): the read stops at the limit.
    let mut req = b"POST /op HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
        Transfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for piece in big.as_bytes().chunks(16 * 1024) {
        req.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        req.extend_from_slice(piece);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = raw(&gw, &req, WAIT).await;
    assert_eq!(r.status(), Some(413), "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("PAYLOAD_TOO_LARGE"));
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn j6_duplicate_keys_are_json_dup_key() {
    let f = fake();
    let gw = start(&f, "");
    assert_code(&post_json(&gw, r#"{"a":1,"a":2}"#).await, 400, "JSON_DUP_KEY");
    assert_code(
        &post_json(&gw, r#"{"x":{"a":1,"\u0061":2}}"#).await,
        400,
        "JSON_DUP_KEY",
    );
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn j7_invalid_utf8_lone_surrogate_and_bom_are_json_syntax() {
    let f = fake();
    let gw = start(&f, "");
    let ct = [("content-type", "application/json")];
    for body in [
        b"{\"a\":\"\xff\xfe\"}".to_vec(),
        br#"{"a":"\ud800"}"#.to_vec(),
        br#"{"a":"\udc00\ud800"}"#.to_vec(),
        b"\xef\xbb\xbf{\"a\":1}".to_vec(),
    ] {
        assert_code(&post_bytes(&gw, &ct, body).await, 400, "JSON_SYNTAX");
    }
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn j8_text_plain_or_no_content_type_is_415() {
    let f = fake();
    let gw = start(&f, "");
    let json = br#"{"a":1}"#.to_vec();
    let r = post_bytes(&gw, &[("content-type", "text/plain")], json.clone()).await;
    assert_code(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
    // No Content-Type at all (raw, so no client adds one).
    let req = b"POST /op HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
    let r = raw(&gw, req, Duration::from_millis(500)).await;
    assert_eq!(r.status(), Some(415), "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("UNSUPPORTED_MEDIA_TYPE"));
    // Limits still apply whatever the type claims: an oversize text/plain body is 413 first.
    let big = vec![b'a'; 256 * 1024 + 1];
    let r = post_bytes(&gw, &[("content-type", "text/plain")], big).await;
    assert_code(&r, 413, "PAYLOAD_TOO_LARGE");
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn j10_trailing_garbage_and_empty_body_are_json_syntax() {
    let f = fake();
    let gw = start(&f, "");
    assert_code(&post_json(&gw, r#"{"a":1} SECRET"#).await, 400, "JSON_SYNTAX");
    assert_code(&post_json(&gw, r#"{"a":1}{"b":2}"#).await, 400, "JSON_SYNTAX");
    assert_code(&post_json(&gw, "").await, 400, "JSON_SYNTAX");
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn per_route_limits_override_the_gateway_defaults() {
    let f = fake();
    let extra = "limits: { body: 1KiB, json: { depth: 2, string: 8B } }";
    let gw = builder(&f, "limits: { json: { array: 3 } }", extra).start();
    assert_code(
        &post_json(&gw, &format!("\"{}\"", "a".repeat(1100))).await,
        413,
        "PAYLOAD_TOO_LARGE",
    );
    assert_code(&post_json(&gw, "[[[]]]").await, 400, "JSON_DEPTH");
    assert_code(&post_json(&gw, "\"123456789\"").await, 400, "JSON_STRING");
    // The gateway-wide `limits.json.array` still applies where the route does not override it.
    assert_code(&post_json(&gw, "[1,2,3,4]").await, 400, "JSON_ARRAY");
    assert_eq!(f.hits(), 0);
    assert_eq!(post_json(&gw, "[[1],2,\"12345678\"]").await.status, 200);
    assert_eq!(f.hits(), 1);
}

// ---------------------------------------------------------------------------------------------
// Request Content-Encoding: decoded within the limit
// ---------------------------------------------------------------------------------------------

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

#[actix_rt::test]
async fn gzip_request_bodies_are_decoded_and_limits_count_decoded_bytes() {
    let f = fake();
    let gw = builder(&f, "", "").start();
    let ct = ("content-type", "application/json");
    let r = post_bytes(&gw, &[ct, ("content-encoding", "gzip")], gzip(br#"{"a":[1,2]}"#)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(f.hits(), 1);
    // JSON limits apply to the decoded document.
    let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
    let r = post_bytes(&gw, &[ct, ("content-encoding", "gzip")], gzip(deep.as_bytes())).await;
    assert_code(&r, 400, "JSON_DEPTH");
    // A bomb: 64 MiB of spaces in ~64 KiB of gzip stops at the 256 KiB limit.
    let bomb = gzip(&vec![b' '; 64 << 20]);
    assert!(bomb.len() < 256 * 1024);
    let r = post_bytes(&gw, &[ct, ("content-encoding", "gzip")], bomb).await;
    assert_code(&r, 413, "PAYLOAD_TOO_LARGE");
    let r = post_bytes(&gw, &[ct, ("content-encoding", "br")], b"{}".to_vec()).await;
    assert_code(&r, 415, "UNSUPPORTED_MEDIA_TYPE");
    let r = post_bytes(&gw, &[ct, ("content-encoding", "gzip")], b"not gzip".to_vec()).await;
    assert_code(&r, 400, "BODY_ENCODING");
    assert_eq!(f.hits(), 1);
}

// ---------------------------------------------------------------------------------------------
// Injection patterns
// ---------------------------------------------------------------------------------------------

const PATTERNS: &str = "threats: { patterns: [sql, xpath, xml, script] }";

#[actix_rt::test]
async fn injection_patterns_are_off_by_default() {
    let f = fake();
    let gw = start(&f, "");
    let r = gw
        .send(
            "POST",
            "/op?name=%27%20OR%20%271%27%3D%271",
            &[("content-type", "application/json")],
            Some(r#"{"q":"<!ENTITY x SYSTEM 'file:///etc/passwd'>"}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn injection_in_each_source_is_400_naming_the_source() {
    let f = fake();
    let gw = start(&f, PATTERNS);
    let ct = ("content-type", "application/json");
    let detail = |r: &Resp| r.json()["detail"].as_str().unwrap_or("").to_string();
    // query
    let r = gw
        .send("POST", "/op?id=1%27%20OR%20%271%27%3D%271", &[ct], Some("{}"))
        .await;
    assert_code(&r, 400, "INJECTION_DETECTED");
    assert!(
        detail(&r).contains("query") && detail(&r).contains("sql"),
        "{}",
        detail(&r)
    );
    // headers
    let r = gw
        .send(
            "POST",
            "/op",
            &[ct, ("x-note", "<script>SECRET</script>")],
            Some("{}"),
        )
        .await;
    assert_code(&r, 400, "INJECTION_DETECTED");
    assert!(detail(&r).contains("headers"));
    // JSON value, nested, and a JSON key
    let r = post_json(
        &gw,
        r#"{"a":[{"b":"<!DOCTYPE d [<!ENTITY SECRET SYSTEM \"file:///\">]>"}]}"#,
    )
    .await;
    assert_code(&r, 400, "INJECTION_DETECTED");
    assert!(detail(&r).contains("json") && detail(&r).contains("xml"));
    let r = post_json(&gw, r#"{"x' or '1'='1":1}"#).await;
    assert_code(&r, 400, "INJECTION_DETECTED");
    assert_eq!(f.hits(), 0);
    // Names with apostrophes pass.
    let r = gw
        .send(
            "POST",
            "/op?name=O%27Brien",
            &[ct],
            Some(r#"{"n":"D'Arcy & O'Neil"}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn injection_in_the_path_is_400() {
    let f = fake();
    let route = "id: op\nmethod: GET\npath: /items/{id}\noperation: Op\naction: urn:test/Op\npublic: true";
    let gw = TestGateway::builder()
        .config(PATTERNS)
        .route(&f.url("/s"), route, TEMPLATE)
        .start();
    let r = gw.get("/items/1%20UNION%20SELECT%20pw%20FROM%20users").await;
    assert_code(&r, 400, "INJECTION_DETECTED");
    assert!(r.json()["detail"].as_str().unwrap_or("").contains("path"));
    assert_eq!(f.hits(), 0);
    assert_eq!(gw.get("/items/42").await.status, 200);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn route_threats_override_sources_sets_and_custom_patterns() {
    let f = fake();
    // Gateway: every set on; the route: only JSON values, only a custom pattern.
    let extra = "threats: { patterns: [], sources: [json], custom: ['(?i)forbidden-word'] }";
    let gw = builder(&f, PATTERNS, extra).start();
    let ct = ("content-type", "application/json");
    let r = gw.send("POST", "/op?q=%3Cscript%3E", &[ct], Some("{}")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = post_json(&gw, r#"{"t":"a FORBIDDEN-WORD here"}"#).await;
    assert_code(&r, 400, "INJECTION_DETECTED");
    assert!(r.json()["detail"].as_str().unwrap_or("").contains("custom"));
    assert_eq!(f.hits(), 1);
}

// ---------------------------------------------------------------------------------------------
// H: protocol abuse on raw TCP
// ---------------------------------------------------------------------------------------------

const JSON_HEAD: &str = "POST /op HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";

#[actix_rt::test]
async fn h1_content_length_with_transfer_encoding_is_400_and_closed() {
    let f = fake();
    let gw = start(&f, "");
    let clte = format!("{JSON_HEAD}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /op HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_refused(&raw(&gw, clte.as_bytes(), WAIT).await, &[400], "CL.TE");
    let tecl =
        format!("{JSON_HEAD}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n");
    assert_refused(&raw(&gw, tecl.as_bytes(), WAIT).await, &[400], "TE.CL");
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn h2_obfuscated_transfer_encodings_are_refused_and_closed() {
    let f = fake();
    let gw = start(&f, "");
    for te in [
        "Transfer-Encoding : chunked",
        "Transfer-Encoding: xchunked",
        "Transfer-Encoding: chunked, identity",
    ] {
        let req = format!("{JSON_HEAD}{te}\r\n\r\n2\r\n{{}}\r\n0\r\n\r\n");
        assert_refused(&raw(&gw, req.as_bytes(), WAIT).await, &[400, 501], te);
    }
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn h4_huge_chunk_size_and_missing_chunk_crlf_are_400_and_closed() {
    let f = fake();
    let gw = start(&f, "");
    let huge = format!("{JSON_HEAD}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n{{}}\r\n0\r\n\r\n");
    let r = raw(&gw, huge.as_bytes(), WAIT).await;
    assert_refused(&r, &[400], "huge chunk size");
    let no_crlf = format!("{JSON_HEAD}Transfer-Encoding: chunked\r\n\r\n2\r\n{{}}XX0\r\n\r\n");
    let r = raw(&gw, no_crlf.as_bytes(), WAIT).await;
    assert_refused(&r, &[400], "missing chunk CRLF");
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn h5_chunked_on_http_1_0_is_400_and_closed() {
    let f = fake();
    let gw = start(&f, "");
    let req = "POST /op HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n\
               Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
    assert_refused(&raw(&gw, req.as_bytes(), WAIT).await, &[400], "TE on HTTP/1.0");
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn h6_connection_header_cannot_strip_gateway_set_headers() {
    let f = fake();
    let gw = start(&f, "");
    let req = format!(
        "{JSON_HEAD}Connection: close, X-Forwarded-For, Authorization, X-Correlation-ID, SOAPAction\r\n\
         X-Correlation-ID: abc-123\r\nContent-Length: 2\r\n\r\n{{}}"
    );
    let r = raw(&gw, req.as_bytes(), WAIT).await;
    assert_eq!(r.status(), Some(200), "{}", r.text);
    assert_eq!(f.hits(), 1);
    let got = f.last_request().expect("backend request");
    assert_eq!(got.header("x-correlation-id"), Some("abc-123"));
    assert_eq!(got.soap_action(), Some("urn:test/Op"));
}

#[actix_rt::test]
async fn h7_client_forwarding_headers_never_reach_the_backend() {
    let f = fake();
    let gw = start(&f, "");
    let spoof = [
        ("x-forwarded-for", "10.6.6.6"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "gopher"),
        ("forwarded", "for=10.6.6.6;host=evil.example"),
        ("content-type", "application/json"),
    ];
    let r = gw.send("POST", "/op", &spoof, Some("{}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(f.hits(), 1);
    let got = f.last_request().expect("backend request");
    for (name, _) in &spoof[..4] {
        assert_eq!(got.header(name), None, "{name} forwarded");
    }
    assert!(!got
        .headers
        .iter()
        .any(|(_, v)| v.contains("10.6.6.6") || v.contains("evil.example")));
}

#[actix_rt::test]
async fn h8_duplicate_host_and_absolute_form_mismatch_are_400() {
    let f = fake();
    let gw = start(&f, "");
    let dup = "POST /op HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    // actix refuses a repeated Host itself (400, no body) and closes.
    assert_refused(&raw(&gw, dup.as_bytes(), WAIT).await, &[400], "duplicate Host");
    let abs = "POST http://a.example/op HTTP/1.1\r\nHost: b.example\r\nContent-Type: application/json\r\n\
               Content-Length: 2\r\n\r\n{}";
    let r = raw(&gw, abs.as_bytes(), WAIT).await;
    assert_eq!(r.status(), Some(400), "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("BAD_REQUEST"));
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn h9_nul_cr_lf_in_header_values_and_obs_fold_are_400() {
    let f = fake();
    let gw = start(&f, "");
    for (what, header) in [
        ("NUL", "X-A: a\0b\r\n"),
        ("bare CR", "X-A: a\rb\r\n"),
        ("obs-fold", "X-A: a\r\n  folded\r\n"),
    ] {
        let req = format!("{JSON_HEAD}{header}Content-Length: 2\r\n\r\n{{}}");
        assert_refused(&raw(&gw, req.as_bytes(), WAIT).await, &[400], what);
    }
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn h9_bare_lf_line_endings_parse_as_one_request_without_smuggling() {
    // httparse (actix) accepts a bare LF as a line end (RFC 9112 §2.2 allows it), so the
    // request is one ordinary request; nothing hides a second one.
    let f = fake();
    let gw = start(&f, "");
    let req = "POST /op HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 2\nConnection: close\n\n{}";
    let r = raw(&gw, req.as_bytes(), WAIT).await;
    assert_eq!(r.status(), Some(200), "{}", r.text);
    assert_eq!(r.text.matches("HTTP/1.1 ").count(), 1);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn h10_headers_over_16kib_or_64_and_url_over_8kib_are_431_431_414() {
    let f = fake();
    let gw = start(&f, "");
    let big = format!(
        "{JSON_HEAD}X-Big: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(17 * 1024)
    );
    let r = raw(&gw, big.as_bytes(), WAIT).await;
    assert_eq!(r.status(), Some(431), "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("HEADERS_TOO_LARGE"));
    let many: String = (0..65).map(|i| format!("X-H{i}: v\r\n")).collect();
    let req = format!("{JSON_HEAD}{many}Content-Length: 2\r\n\r\n{{}}");
    let r = raw(&gw, req.as_bytes(), WAIT).await;
    assert_eq!(r.status(), Some(431), "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("HEADERS_TOO_LARGE"));
    let long = format!(
        "POST /op?q={} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(9 * 1024)
    );
    let r = raw(&gw, long.as_bytes(), WAIT).await;
    assert_eq!(r.status(), Some(414), "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("URL_TOO_LONG"));
    // Beyond what actix itself parses (128 KiB heads, 96 headers), it answers 431 and closes.
    let huge = format!("{JSON_HEAD}X-Big: {}\r\n\r\n", "a".repeat(200 * 1024));
    assert_refused(&raw(&gw, huge.as_bytes(), WAIT).await, &[431], "200 KiB head");
    let lots: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let req = format!("{JSON_HEAD}{lots}\r\n");
    assert_refused(&raw(&gw, req.as_bytes(), WAIT).await, &[431], "100 headers");
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn h10_header_and_url_limits_are_configurable() {
    let f = fake();
    let gw = start(&f, "limits: { headers: 1KiB, header_count: 8, url: 64B }");
    let req = format!(
        "{JSON_HEAD}X-Big: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(1100)
    );
    assert_eq!(raw(&gw, req.as_bytes(), WAIT).await.status(), Some(431));
    let r = gw.get(&format!("/op?{}", "q".repeat(70))).await;
    assert_code(&r, 414, "URL_TOO_LONG");
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn h12_expect_100_continue_with_oversize_length_is_413_without_continue() {
    let f = fake();
    let gw = start(&f, "");
    let req = format!(
        "{JSON_HEAD}Content-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        10 << 20
    );
    let r = raw(&gw, req.as_bytes(), WAIT).await;
    assert_eq!(r.status(), Some(413), "{}", r.text);
    assert!(!r.text.contains("100 Continue"), "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("PAYLOAD_TOO_LARGE"));
    // A body within the limit still gets its 100 Continue and goes through.
    let mut s = TcpStream::connect(addr(&gw)).await.expect("connect");
    let ok = format!("{JSON_HEAD}Content-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
    s.write_all(ok.as_bytes()).await.expect("write");
    let mut first = [0u8; 25];
    tokio::time::timeout(WAIT, s.read_exact(&mut first))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(&first, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"{}").await.expect("write");
    assert_eq!(read_until_closed(&mut s, WAIT).await.status(), Some(200));
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn h13_upgrade_requests_are_not_upgraded_nor_forwarded() {
    let f = fake();
    let gw = start(&f, "");
    for up in ["websocket", "h2c"] {
        let req = format!(
            "{JSON_HEAD}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: {up}\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 2\r\n\r\n{{}}"
        );
        let r = raw(&gw, req.as_bytes(), Duration::from_secs(2)).await;
        assert_eq!(r.status(), Some(400), "{up}: {}", r.text);
        assert_eq!(r.code().as_deref(), Some("BAD_REQUEST"));
        assert!(!r.text.contains(" 101 "), "{up}: {}", r.text);
        assert!(r.closed, "{up}: connection left open");
    }
    assert_eq!(f.hits(), 0);
}

// ---------------------------------------------------------------------------------------------
// E: exhaustion
// ---------------------------------------------------------------------------------------------

#[actix_rt::test]
async fn e1_slowloris_headers_get_408_or_close_at_the_header_timeout() {
    let f = fake();
    let gw = start(&f, "timeouts: { client_request: 1s }");
    let mut s = TcpStream::connect(addr(&gw)).await.expect("connect");
    let started = Instant::now();
    let head = b"POST /op HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed_at = None;
    for b in head.iter().take(30) {
        if s.write_all(&[*b]).await.is_err() {
            closed_at = Some(started.elapsed());
            break;
        }
        let r = read_until_closed(&mut s, Duration::from_millis(300)).await;
        if r.closed || !r.text.is_empty() {
            assert!(r.text.is_empty() || r.status() == Some(408), "{}", r.text);
            closed_at = Some(started.elapsed());
            break;
        }
    }
    let at = closed_at.expect("the gateway cut the slow client off");
    assert!(
        at >= Duration::from_millis(900) && at < Duration::from_millis(2500),
        "{at:?}"
    );
    // The worker was not blocked meanwhile.
    assert_eq!(post_json(&gw, "{}").await.status, 200);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn e2_idle_connections_without_bytes_are_closed_after_the_timeout() {
    let f = fake();
    let gw = start(&f, "timeouts: { client_request: 1s, keep_alive: 1s }");
    let mut conns = Vec::new();
    for _ in 0..500 {
        conns.push(TcpStream::connect(addr(&gw)).await.expect("connect"));
    }
    // Still serving while they idle.
    assert_eq!(post_json(&gw, "{}").await.status, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut closed = 0;
    for c in &mut conns {
        let left = deadline.saturating_duration_since(Instant::now());
        let r = read_until_closed(c, left).await;
        if r.closed {
            closed += 1;
        }
    }
    assert_eq!(closed, 500);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn e3_slow_post_body_is_408_at_the_body_timeout() {
    let f = fake();
    let gw = start(&f, "timeouts: { client_body: 1s }");
    let mut s = TcpStream::connect(addr(&gw)).await.expect("connect");
    let head = format!("{JSON_HEAD}Content-Length: 100\r\n\r\n");
    s.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let mut answer = None;
    for _ in 0..20 {
        let _ = s.write_all(b" ").await;
        let r = read_until_closed(&mut s, Duration::from_millis(200)).await;
        if !r.text.is_empty() || r.closed {
            answer = Some(r);
            break;
        }
    }
    let r = answer.expect("an answer before 4 s");
    assert!(
        started.elapsed() < Duration::from_millis(2000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status(), Some(408), "{}", r.text);
    assert_eq!(r.code().as_deref(), Some("REQUEST_TIMEOUT"));
    assert_eq!(f.hits(), 0);
}

#[actix_rt::test]
async fn e4_beyond_the_concurrency_cap_is_503_overloaded_with_retry_after() {
    let f = FakeSoap::new()
        .otherwise(Reply::soap11(OK).delay(Duration::from_millis(600)))
        .start();
    let gw = start(&f, "limits: { concurrency: 4 }");
    let reqs = (0..20).map(|_| post_json(&gw, "{}"));
    let started = Instant::now();
    let results = futures_util::future::join_all(reqs).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let overloaded: Vec<&Resp> = results.iter().filter(|r| r.status == 503).collect();
    assert_eq!(ok + overloaded.len(), 20);
    assert!((1..=8).contains(&ok), "{ok} succeeded");
    assert!(!overloaded.is_empty());
    for r in &overloaded {
        assert_code(r, 503, "OVERLOADED");
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    // Refused requests were answered at once, not queued behind the slow backend.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(f.hits(), ok);
    // Slots are released: a later request goes through.
    assert_eq!(post_json(&gw, "{}").await.status, 200);
}

#[actix_rt::test]
async fn e4_per_route_concurrency_cap() {
    let f = FakeSoap::new()
        .otherwise(Reply::soap11(OK).delay(Duration::from_millis(600)))
        .start();
    let gw = builder(&f, "", "limits: { concurrency: 1 }").start();
    let results = futures_util::future::join_all((0..4).map(|_| post_json(&gw, "{}"))).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1);
    for r in results.iter().filter(|r| r.status != 200) {
        assert_code(r, 503, "OVERLOADED");
    }
    assert_eq!(f.hits(), 1);
}

// ---------------------------------------------------------------------------------------------
// C2: limits of 0 or -1 are refused at load
// ---------------------------------------------------------------------------------------------

#[test]
fn c2_zero_or_negative_threat_limits_are_refused_at_load() {
    let f = fake();
    for (config, route, key) in [
        ("limits: { json: { depth: 0 } }", "", "limits.json.depth"),
        ("limits: { json: { entries: -1 } }", "", "limits.json.entries"),
        ("limits: { json: { string: 0 } }", "", "limits.json.string"),
        ("limits: { json: { depth: 1000 } }", "", "limits.json.depth"),
        ("limits: { headers: 0 }", "", "limits.headers"),
        ("limits: { header_count: -1 }", "", "limits.header_count"),
        ("limits: { url: -1 }", "", "limits.url"),
        ("limits: { concurrency: 0 }", "", "limits.concurrency"),
        ("timeouts: { client_body: 0s }", "", "timeouts.client_body"),
        ("threats: { patterns: [nosuch] }", "", "threats"),
        ("threats: { custom: ['('] }", "", "threats"),
        ("threats: { sources: [body] }", "", "threats.sources"),
        ("", "limits: { body: 0 }", "routes[0].limits.body"),
        ("", "limits: { body: 2MiB }", "routes[0].limits.body"),
        ("", "limits: { json: { key: -1 } }", "routes[0].limits.json.key"),
        ("", "limits: { concurrency: 0 }", "routes[0].limits.concurrency"),
        ("", "threats: { sources: [] }", "routes[0].threats.sources"),
    ] {
        let errors = builder(&f, config, route).load().expect_err(key);
        assert!(
            errors.iter().any(|e| e.path == key),
            "{config}{route}: expected an error at {key}, got {errors:#?}"
        );
    }
}

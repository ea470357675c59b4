//! Decoding and routing of the request line (docs/threat-model.md group D): one strict
//! percent-decoder for routing, inspection and parameters, empty and dot segments, encoded
//! slashes, HEAD, and compressed bodies with bytes after them. Requests are written on raw TCP
//! so that the target reaches the gateway exactly as written; every test counts the fake
//! backend's hits.

use crate::common::certs::Ca;
use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply};
use crate::common::gateway::TestGateway;
use crate::common::tls_client::curl;
use serde_json::Value;
use std::io::Write;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OK: &str = "<t:R xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:R>";
const ID: &str = "<t:Get xmlns:t=\"{{ns}}\"><t:id>{{path.id}}</t:id></t:Get>";
const SEARCH: &str = "<t:Search xmlns:t=\"{{ns}}\"><t:q>{{query.q}}</t:q></t:Search>";
const CREATE: &str = "<t:Create xmlns:t=\"{{ns}}\"><t:a>{{body.a}}</t:a></t:Create>";

/// `GET /items/{id}` (GetItem), `DELETE /items/{id}`, `GET /items/{id}/orders` (GetOrders),
/// `GET /search?q=` and `POST /items`, all public, with `config` in soapgate.yaml.
fn gateway(fake: &FakeHandle, config: &str) -> TestGateway {
    let route = |id: &str, method: &str, path: &str, op: &str, template: &str| {
        format!(
            "  - {{ id: {id}, method: {method}, path: \"{path}\", operation: {op}, action: urn:test/{op}, \
             public: true, request: {{ template: templates/{template} }} }}\n"
        )
    };
    let mapping = format!(
        "service: svc\nbackend:\n  urls: [{}]\n  namespace: urn:test\nroutes:\n{}{}{}{}{}",
        fake.url("/s"),
        route("get-item", "GET", "/items/{id}", "GetItem", "id.hbs"),
        route("delete-item", "DELETE", "/items/{id}", "DeleteItem", "id.hbs"),
        route("get-orders", "GET", "/items/{id}/orders", "GetOrders", "id.hbs"),
        route("search", "GET", "/search", "Search", "search.hbs"),
        route("create", "POST", "/items", "Create", "create.hbs"),
    );
    TestGateway::builder()
        .config(config)
        .mapping("svc", &mapping)
        .file("templates/id.hbs", ID)
        .file("templates/search.hbs", SEARCH)
        .file("templates/create.hbs", CREATE)
        .start()
}

fn fake() -> FakeHandle {
    FakeSoap::new().otherwise(Reply::soap11(OK)).start()
}

/// A response read off a raw connection (the gateway closes it: `Connection: close`).
#[derive(Debug)]
struct Raw {
    status: u16,
    /// Header lines after the status line, names lower-cased, in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn code(&self) -> String {
        let v: Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)));
        v["code"].as_str().unwrap_or("").to_string()
    }
}

/// Writes `METHOD target HTTP/1.1` with `headers` and `body` on a fresh connection, reads to EOF.
async fn raw(gw: &TestGateway, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Raw {
    let mut s = TcpStream::connect(gw.base.trim_start_matches("http://"))
        .await
        .expect("connect");
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    s.write_all(&bytes).await.expect("write");
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut got))
        .await
        .expect("the gateway answers and closes")
        .expect("read");
    let end = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head: {}", String::from_utf8_lossy(&got)));
    let head = String::from_utf8_lossy(&got[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.get(9..12))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status: {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Raw {
        status,
        headers,
        body: got[end + 4..].to_vec(),
    }
}

async fn get(gw: &TestGateway, target: &str) -> Raw {
    raw(gw, "GET", target, &[], b"").await
}

/// Asserts a problem+json refusal with `status` and `code` whose body does not echo `secret`.
fn assert_refused(r: &Raw, status: u16, code: &str, what: &str, secret: &str) {
    assert_eq!(r.status, status, "{what}: {}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{what}"
    );
    assert_eq!(r.code(), code, "{what}");
    if !secret.is_empty() {
        let detail = serde_json::from_slice::<Value>(&r.body).expect("json")["detail"].to_string();
        assert!(!detail.contains(secret), "{what}: input echoed: {detail}");
    }
}

#[actix_rt::test]
async fn d1_a_percent_not_followed_by_two_hex_digits_is_400_in_path_and_query() {
    let f = fake();
    let gw = gateway(&f, "");
    for target in [
        "/items/%zz",
        "/items/1%4",
        "/items/%+9",
        "/items/%-1",
        "/items/7%",
        "/items/%%41",
        "/nothing/here/%zz",
        "/items/7/orders?q=%+9",
        "/search?q=%zz",
        "/search?q=%4",
        "/search?q=x%+9y",
        "/search?%zz=1",
        "/search?q=ok&other=%",
    ] {
        let r = get(&gw, target).await;
        assert_refused(&r, 400, "BAD_PERCENT_ENCODING", target, "zz");
    }
    assert_eq!(f.hits(), 0);
    // Well-formed escapes are decoded once, for the route and the template alike.
    let r = get(&gw, "/items/%41%2b%20b?x=1").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = get(&gw, "/search?q=a+b%2Bc%26d").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = f.requests();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].body.contains("<t:id>A+ b</t:id>"), "{}", sent[0].body);
    assert!(
        sent[1].body.contains("<t:q>a b+c&amp;d</t:q>"),
        "{}",
        sent[1].body
    );
}

#[actix_rt::test]
async fn d2_plus_sign_escapes_cannot_carry_sql_past_the_patterns() {
    let f = fake();
    let gw = gateway(&f, "threats: { patterns: [sql] }");
    // The reviewer's request: the router used to read `%+9` as a tab, the scanner as text.
    let attack = "/items/1%+9UNION%+9SELECT%+9password%+9FROM%+9users";
    assert_refused(
        &get(&gw, attack).await,
        400,
        "BAD_PERCENT_ENCODING",
        attack,
        "UNION",
    );
    let query = "/search?q=1%+9UNION%+9SELECT%+9password%+9FROM%+9users";
    assert_refused(
        &get(&gw, query).await,
        400,
        "BAD_PERCENT_ENCODING",
        query,
        "UNION",
    );
    // The same text written with real escapes is what the scanner sees and blocks.
    for target in [
        "/items/1%09UNION%09SELECT%09password%09FROM%09users",
        "/items/1%20UNION%20SELECT%20password%20FROM%20users",
        "/search?q=1%09UNION%09SELECT%09password%09FROM%09users",
        "/search?q=1+UNION+SELECT+password+FROM+users",
    ] {
        assert_refused(
            &get(&gw, target).await,
            400,
            "INJECTION_DETECTED",
            target,
            "UNION",
        );
    }
    assert_eq!(f.hits(), 0);
    assert_eq!(get(&gw, "/items/42").await.status, 200);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn d3_decoded_bytes_that_are_not_utf8_are_400_never_replaced() {
    let f = fake();
    let gw = gateway(&f, "");
    for target in [
        "/items/%ff",
        "/items/caf%E9",
        "/items/%C3%28",
        "/search?q=%ff",
        "/search?%80=1",
    ] {
        assert_refused(&get(&gw, target).await, 400, "BAD_PERCENT_ENCODING", target, "");
    }
    assert_eq!(f.hits(), 0);
    assert_eq!(get(&gw, "/items/caf%C3%A9").await.status, 200);
    let sent = f.last_request().expect("sent");
    assert!(sent.body.contains("<t:id>café</t:id>"), "{}", sent.body);
}

#[actix_rt::test]
async fn d4_empty_segments_and_a_trailing_slash_are_404_never_another_route() {
    let f = fake();
    let gw = gateway(&f, "");
    for target in [
        "/items//orders",
        "//items///7//",
        "//items/7",
        "/items/7/",
        "/items/7//orders",
        "/items/7/orders/",
        "/search/",
        "/search/?q=1",
    ] {
        assert_refused(&get(&gw, target).await, 404, "NOT_FOUND", target, "");
        assert_refused(
            &raw(&gw, "DELETE", target, &[], b"").await,
            404,
            "NOT_FOUND",
            target,
            "",
        );
    }
    assert_eq!(f.hits(), 0);
    assert_eq!(get(&gw, "/items/7/orders").await.status, 200);
    assert_eq!(
        f.last_request().expect("sent").soap_action(),
        Some("urn:test/GetOrders")
    );
}

#[actix_rt::test]
async fn d5_dot_segments_raw_or_encoded_are_404() {
    let f = fake();
    let gw = gateway(&f, "");
    for target in [
        "/items/./7",
        "/items/../items/7",
        "/items/.",
        "/items/..",
        "/items/7/..",
        "/items/%2e",
        "/items/%2E%2E",
        "/items/%2e%2e/orders",
        "/items/.%2e/orders",
        "/x/../items/7",
    ] {
        assert_refused(&get(&gw, target).await, 404, "NOT_FOUND", target, "");
    }
    assert_eq!(f.hits(), 0);
    // A segment that only starts with a dot is an ordinary value.
    assert_eq!(get(&gw, "/items/.profile").await.status, 200);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn d6_an_encoded_slash_stays_inside_its_segment() {
    let f = fake();
    let gw = gateway(&f, "");
    let r = get(&gw, "/items/a%2Forders").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = f.last_request().expect("sent");
    assert_eq!(sent.soap_action(), Some("urn:test/GetItem"));
    assert!(sent.body.contains("<t:id>a/orders</t:id>"), "{}", sent.body);
    // Escaped letters of a literal segment are those letters: still the route they name.
    let r = get(&gw, "/it%65ms/7/%6Frders").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = f.last_request().expect("sent");
    assert_eq!(sent.soap_action(), Some("urn:test/GetOrders"));
    assert!(sent.body.contains("<t:id>7</t:id>"), "{}", sent.body);
    // `%2F` never splits a literal: `/items%2F7` is one segment, no route.
    assert_refused(&get(&gw, "/items%2F7").await, 404, "NOT_FOUND", "/items%2F7", "");
    assert_eq!(f.hits(), 2);
}

/// The headers of an answer that must agree between GET and HEAD (not `date`).
fn comparable(r: &Raw) -> Vec<(String, String)> {
    let mut h: Vec<_> = r.headers.iter().filter(|(n, _)| n != "date").cloned().collect();
    h.sort();
    h
}

#[actix_rt::test]
async fn d7_head_answers_like_get_without_a_body_and_calls_the_backend_once() {
    let f = fake();
    let gw = gateway(&f, "");
    let cid = [("x-correlation-id", "cid-d7")];
    for (target, status) in [
        ("/items/7", 200),
        ("/items/7/orders", 200),
        ("/items/%zz", 400),
        ("/nothing", 404),
        ("/search?q=%ff", 400),
    ] {
        let before = f.hits();
        let get = raw(&gw, "GET", target, &cid, b"").await;
        let sent_by_get = f.hits() - before;
        let head = raw(&gw, "HEAD", target, &cid, b"").await;
        assert_eq!((get.status, head.status), (status, status), "{target}");
        assert_eq!(comparable(&head), comparable(&get), "{target}");
        assert!(!get.body.is_empty(), "{target}");
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str()),
            "{target}"
        );
        assert!(head.body.is_empty(), "{target}: HEAD sent a body");
        assert_eq!(
            f.hits() - before,
            2 * sent_by_get,
            "{target}: one backend call per HEAD"
        );
    }
    assert_eq!(f.hits(), 4);
    // 405: HEAD is listed wherever GET is.
    let r = raw(&gw, "POST", "/items/7", &[], b"").await;
    assert_refused(&r, 405, "METHOD_NOT_ALLOWED", "POST", "");
    assert_eq!(r.header("allow"), Some("DELETE, GET, HEAD"));
    let r = raw(&gw, "PUT", "/items/7/orders", &[], b"").await;
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    // /openapi.json is served for HEAD like GET, and is 405 for other methods.
    let get = raw(&gw, "GET", "/openapi.json", &cid, b"").await;
    let head = raw(&gw, "HEAD", "/openapi.json", &cid, b"").await;
    assert_eq!((get.status, head.status), (200, 200));
    assert_eq!(comparable(&head), comparable(&get));
    assert!(head.body.is_empty() && !get.body.is_empty());
    let r = raw(&gw, "POST", "/openapi.json", &[], b"{}").await;
    assert_refused(&r, 405, "METHOD_NOT_ALLOWED", "POST /openapi.json", "");
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(f.hits(), 4);
}

#[actix_rt::test]
async fn d7_head_over_http2_answers_like_get_without_a_body() {
    let f = fake();
    let dir = tempfile::tempdir().expect("tmp");
    let ca = Ca::new("soapgate test CA");
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write");
    let (cert, key) = ca.leaf("gw", &["127.0.0.1"]).write(dir.path(), "server");
    let tls = format!(
        "tls:\n  cert_file: {}\n  key_file: {}\n  http2: true\n",
        cert.display(),
        key.display()
    );
    let gw = gateway(&f, &tls);
    let ask = |head: bool| {
        let mut args: Vec<String> = ["--cacert", "ca.pem", "--http2", "-o", "/dev/null", "-D", "-"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args[1] = dir.path().join("ca.pem").display().to_string();
        if head {
            args.push("--head".into());
        }
        args.extend([
            "-H".into(),
            "x-correlation-id: cid-h2".into(),
            "-w".into(),
            "%{http_code} %{http_version} %{size_download}".into(),
            gw.url("/items/7"),
        ]);
        curl(args)
    };
    let get = ask(false).await;
    let head = ask(true).await;
    assert_eq!(get.code, 0, "{get:?}");
    assert_eq!(head.code, 0, "{head:?}");
    let lines = |out: &str| {
        let mut l: Vec<String> = out
            .lines()
            .filter(|l| !l.starts_with("date:") && l.contains(':'))
            .map(str::to_string)
            .collect();
        l.sort();
        l
    };
    assert_eq!(lines(&head.stdout), lines(&get.stdout), "{head:?} {get:?}");
    let length = lines(&head.stdout)
        .iter()
        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no content-length: {head:?}"));
    // `-w`: status, HTTP version, bytes of body received.
    let w = |out: &str| out.lines().last().unwrap_or("").to_string();
    assert_eq!(w(&get.stdout), format!("200 2 {length}"), "{get:?}");
    assert_eq!(w(&head.stdout), "200 2 0", "{head:?}");
    assert_eq!(f.hits(), 2);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).expect("zlib");
    e.finish().expect("zlib")
}

#[actix_rt::test]
async fn d8_bytes_after_a_compressed_body_are_400_and_nothing_is_sent() {
    let f = fake();
    let gw = gateway(&f, "");
    let post = |coding: &'static str, body: Vec<u8>| {
        let gw = &gw;
        async move {
            let h = [("content-type", "application/json"), ("content-encoding", coding)];
            raw(gw, "POST", "/items", &h, &body).await
        }
    };
    let member = gzip(br#"{"a":"first"}"#);
    for junk in [&b"X"[..], br#"{"a":"second"}"#, b"\0\0\0\0", b"\x1f\x8b\x08"] {
        let r = post("gzip", [&member[..], junk].concat()).await;
        assert_refused(&r, 400, "BODY_ENCODING", "gzip + junk", "second");
    }
    let z = zlib(br#"{"a":"first"}"#);
    for junk in [&b"X"[..], &z[..]] {
        let r = post("deflate", [&z[..], junk].concat()).await;
        assert_refused(&r, 400, "BODY_ENCODING", "deflate + junk", "");
    }
    assert_eq!(f.hits(), 0);
    // Several gzip members are one body, decoded in order.
    let r = post("gzip", [gzip(br#"{"a":"#), gzip(br#""two members"}"#)].concat()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let sent = f.last_request().expect("sent");
    assert!(sent.body.contains("<t:a>two members</t:a>"), "{}", sent.body);
    assert_eq!(post("deflate", z).await.status, 200);
    assert_eq!(f.hits(), 2);
}

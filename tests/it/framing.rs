//! HTTP framing of backend and WSDL replies (threat model group F): a body that ends with the
//! connection (RFC 9112 §6.3 rule 8) is read whole, within the size limit and the timeout, and its
//! connection is never reused; a body cut short is never taken for a whole one. The identity
//! provider's side is tested next to its client (src/oauth_http.rs), the WSDL fetch's next to it
//! (src/wsdl/import/fetch.rs); the HTTP/1 client is vendor/actix-http (SOAPGATE-PATCH.md).

use crate::common::fake_soap::SOAP11_NS;
use crate::common::gateway::{assert_problem, TestGateway};
use crate::common::php::{php, raw_post};
use crate::common::raw_http::{After, Answer, RawServer};
use serde_json::json;
use std::time::{Duration, Instant};

const ROUTE: &str = "id: op\nmethod: GET\npath: /op\noperation: Op\naction: urn:test/Op";
const TEMPLATE: &str = "<t:Op xmlns:t=\"{{ns}}\"/>";
const BROKEN: &str = "The backend broke the HTTP exchange.";

fn envelope(payload: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope xmlns:soap=\"{SOAP11_NS}\">\
         <soap:Body><t:OpResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok>{payload}</t:OpResponse>\
         </soap:Body></soap:Envelope>"
    )
}

/// A one-route gateway over `url`; `config` adds lines to soapgate.yaml.
fn gateway(url: &str, config: &str) -> TestGateway {
    TestGateway::builder()
        .config(config)
        .route(url, ROUTE, TEMPLATE)
        .start()
}

const CLOSE_DELIMITED: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nConnection: close\r\n\r\n";
/// The same shape without any `Connection` header: rule 8 alone makes it close-delimited.
const NO_LENGTH: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n";

#[actix_rt::test]
async fn f1_close_delimited_backend_reply_is_read_whole_and_never_pooled() {
    // 200 kB of text: many reads, all of it kept.
    let pad = "x".repeat(200_000);
    let body = envelope(&format!("<t:pad>{pad}</t:pad>"));
    for head in [CLOSE_DELIMITED, NO_LENGTH] {
        let server = RawServer::start(Answer::new(head, body.clone()));
        let gw = gateway(&server.url("/s"), "");
        for _ in 0..3 {
            let r = gw.get("/op").await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            assert_eq!(r.json(), json!({"ok": "yes", "pad": pad}));
        }
        // A connection whose body ended with it is never handed to a later request.
        assert_eq!(server.connections(), 3, "{head}");
        assert!(!server.cut());
    }
}

#[actix_rt::test]
async fn f2_php_builtin_server_reply_is_read_whole() {
    let script = format!(
        "<?php\nfile_get_contents('php://input');\nheader('Content-Type: text/xml; charset=utf-8');\n\
         header('Connection: close');\necho '{}';\nflush();\n",
        envelope("<t:pad>'.str_repeat('y', 100000).'</t:pad>")
    );
    let Some(php) = php(&[("reply.php", script.as_bytes())]) else {
        return;
    };
    // What php -S sends: HTTP/1.1, Connection: close, neither Content-Length nor chunking.
    let port = php.port;
    let raw = actix_rt::task::spawn_blocking(move || raw_post(port, "/reply.php", "<x/>"))
        .await
        .unwrap();
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a head");
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(
        !head.contains("content-length") && !head.contains("transfer-encoding"),
        "{head}"
    );
    assert_eq!(
        raw.len() - head_end - 4,
        envelope(&format!("<t:pad>{}</t:pad>", "y".repeat(100_000))).len()
    );

    let gw = gateway(&php.url("/reply.php"), "");
    for _ in 0..2 {
        let r = gw.get("/op").await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json(), json!({"ok": "yes", "pad": "y".repeat(100_000)}));
    }
}

#[test]
fn f4_close_delimited_wsdl_is_imported_from_php() {
    let wsdl = std::fs::read(crate::common::repo("wsdl/customers.wsdl")).expect("demo wsdl");
    let script =
        b"<?php\nheader('Content-Type: text/xml; charset=utf-8');\nreadfile(__DIR__ . '/customers.wsdl');\n";
    let Some(php) = php(&[("service.php", script), ("customers.wsdl", &wsdl)]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "import".to_string(),
        php.url("/service.php?wsdl"),
        "--out".into(),
        dir.path().display().to_string(),
    ];
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args(&args)
        .env_remove("SOAPGATE_LOG")
        .output()
        .expect("run soapgate");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    // The document saved next to the mapping is the whole WSDL.
    let saved: Vec<Vec<u8>> = std::fs::read_dir(dir.path().join("wsdl"))
        .expect("wsdl folder")
        .flatten()
        .map(|e| std::fs::read(e.path()).expect("read"))
        .collect();
    assert_eq!(saved, vec![wsdl], "{report}");
}

#[actix_rt::test]
async fn f5_close_delimited_reply_over_the_limit_is_refused_and_the_read_stops() {
    // 64 MiB offered against a 1 MiB limit.
    let answer = Answer::new(CLOSE_DELIMITED, vec![b' '; 1 << 20]).repeat(64);
    let server = RawServer::start(answer);
    let gw = gateway(&server.url("/s"), "limits:\n  backend_response: 1MiB");
    let started = Instant::now();
    let r = gw.get("/op").await;
    assert_problem(
        &r,
        502,
        "UPSTREAM_TOO_LARGE",
        "The backend response exceeds 1048576 bytes.",
        "/op",
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // The gateway closed the connection: the server could not write the rest.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.cut() && Instant::now() < deadline {
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.cut(), "wrote {} of {}", server.written(), server.total());
    assert!(server.written() < 32 << 20, "wrote {}", server.written());
}

#[actix_rt::test]
async fn f5_close_delimited_reply_that_never_ends_times_out() {
    let answer = Answer::new(CLOSE_DELIMITED, envelope("")).after(After::Hold(Duration::from_secs(5)));
    let server = RawServer::start(answer);
    let route_timeout = "  timeout: 500ms\n";
    let mapping = format!(
        "service: svc\nbackend:\n  urls: [{}]\n  namespace: urn:test\n{route_timeout}routes:\n  \
         - request: {{ template: templates/t.xml.hbs }}\n{}",
        server.url("/s"),
        ROUTE.lines().map(|l| format!("    {l}\n")).collect::<String>()
    );
    let gw = TestGateway::builder()
        .mapping("svc", &mapping)
        .file("templates/t.xml.hbs", TEMPLATE)
        .start();
    let started = Instant::now();
    let r = gw.get("/op").await;
    assert_problem(
        &r,
        504,
        "UPSTREAM_TIMEOUT",
        "The backend did not answer within 500 ms.",
        "/op",
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[actix_rt::test]
async fn f6_chunked_reply_missing_its_last_chunk_is_502_even_when_the_xml_is_complete() {
    let env = envelope("");
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n";
    let whole = format!("{:x}\r\n{env}\r\n", env.len());
    // Every piece of the chunked framing there, but not `0\r\n\r\n`; then the same with `0\r\n`
    // alone (the last chunk without the empty line that ends the message).
    for cut in [whole.clone(), format!("{whole}0\r\n")] {
        let server = RawServer::start(Answer::new(head, cut.clone()));
        let gw = gateway(&server.url("/s"), "");
        assert_problem(&gw.get("/op").await, 502, "UPSTREAM_PROTOCOL", BROKEN, "/op");
    }
    // Complete: accepted.
    let server = RawServer::start(Answer::new(head, format!("{whole}0\r\n\r\n")));
    let gw = gateway(&server.url("/s"), "");
    assert_eq!(gw.get("/op").await.json(), json!({"ok": "yes"}));
}

#[actix_rt::test]
async fn f7_a_body_without_length_on_204_or_304_is_not_waited_for() {
    // RFC 9112 §6.3 rule 1: no body, whatever follows; the gateway answers from the status
    // without waiting for a close (the server holds the connection for 5 s). Upstream awc waited
    // for an HTTP/1.0 one.
    for status in ["1.1 204 No Content", "1.1 304 Not Modified", "1.0 204 No Content"] {
        let head = format!("HTTP/{status}\r\nContent-Type: text/xml\r\n\r\n");
        let server = RawServer::start(Answer::new(&head, "").after(After::Hold(Duration::from_secs(5))));
        let gw = gateway(&server.url("/s"), "");
        let started = Instant::now();
        let r = gw.get("/op").await;
        assert_eq!(r.status, 502, "{status}");
        assert!(started.elapsed() < Duration::from_secs(3), "{status}");
    }
}

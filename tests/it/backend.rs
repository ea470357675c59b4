//! Backend calls (THREATS B rows): failover, round-robin, timeouts, redirects, broken HTTP, pooling,
//! and the correlation id handed to the backend.

use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply, SOAP11_NS as SOAP11};
use crate::common::gateway::{assert_problem, Resp, TestGateway};
use serde_json::json;
use std::time::Duration;

const ROUTE: &str = "id: op\nmethod: GET\npath: /op\noperation: Op\naction: urn:test/Op";
const TEMPLATE: &str = "<t:Op xmlns:t=\"{{ns}}\"/>";
const BROKEN: &str = "The backend broke the HTTP exchange.";
const TIMED_OUT: &str = "The backend did not answer within 500 ms.";
const OK: &str = "<t:OpResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:OpResponse>";

/// A one-route gateway over `urls`; `backend_extra` adds lines to the `backend:` block.
fn gateway(urls: &[&str], backend_extra: &str) -> TestGateway {
    let route: String = ROUTE.lines().map(|l| format!("    {l}\n")).collect();
    let mapping = format!(
        "service: svc\nbackend:\n  urls: [{}]\n  namespace: urn:test\n{backend_extra}routes:\n  \
         - request: {{ template: templates/t.xml.hbs }}\n{route}",
        urls.join(", ")
    );
    TestGateway::builder()
        .mapping("svc", &mapping)
        .file("templates/t.xml.hbs", TEMPLATE)
        .start()
}

/// A gateway whose single backend answers `reply`, with a 500 ms backend timeout.
fn one_reply(reply: Reply) -> (TestGateway, FakeHandle) {
    let fake = FakeSoap::new().otherwise(reply).start();
    let gw = gateway(&[&fake.url("/s")], "  timeout: 500ms\n");
    (gw, fake)
}

fn assert_ok(r: &Resp) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(r.json(), json!({"ok": "yes"}));
}

#[actix_rt::test]
async fn all_backends_refusing_is_502_upstream_unavailable() {
    let (a, b) = (FakeSoap::refused_url(), FakeSoap::refused_url());
    let gw = gateway(&[&a, &b], "");
    let r = gw.get("/op").await;
    assert_problem(
        &r,
        502,
        "UPSTREAM_UNAVAILABLE",
        "The backend service could not be reached.",
        "/op",
    );
    assert!(!String::from_utf8_lossy(&r.body).contains("127.0.0.1"));
}

#[actix_rt::test]
async fn a_refusing_backend_fails_over_to_the_next_url() {
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let refused = FakeSoap::refused_url();
    let gw = gateway(&[&refused, &fake.url("/s")], "");
    for _ in 0..2 {
        assert_ok(&gw.get("/op").await);
    }
    assert_eq!(fake.hits(), 2);
}

#[actix_rt::test]
async fn two_backends_share_requests_round_robin() {
    let a = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let b = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let gw = gateway(&[&a.url("/s"), &b.url("/s")], "");
    for _ in 0..4 {
        assert_ok(&gw.get("/op").await);
    }
    assert_eq!((a.hits(), b.hits()), (2, 2));
}

#[actix_rt::test]
async fn hanging_backend_is_504_after_the_mapping_timeout() {
    let (gw, fake) = one_reply(Reply::new().hang());
    let r = gw.get("/op").await;
    assert_problem(&r, 504, "UPSTREAM_TIMEOUT", TIMED_OUT, "/op");
    assert_eq!(fake.hits(), 1);
}

#[actix_rt::test]
async fn hung_connection_is_not_reused_for_the_next_request() {
    let fake = FakeSoap::new()
        .on("Op", Reply::new().hang().times(1))
        .otherwise(Reply::soap11(OK))
        .start();
    let gw = gateway(&[&fake.url("/s")], "  timeout: 500ms\n");
    assert_eq!(gw.get("/op").await.status, 504);
    assert_ok(&gw.get("/op").await);
    assert_eq!((fake.hits(), fake.connections()), (2, 2));
}

#[actix_rt::test]
async fn slow_headers_are_504_after_the_mapping_timeout() {
    let (gw, fake) = one_reply(Reply::soap11(OK).delay(Duration::from_secs(2)));
    let r = gw.get("/op").await;
    assert_problem(&r, 504, "UPSTREAM_TIMEOUT", TIMED_OUT, "/op");
    assert_eq!(fake.hits(), 1);
}

#[actix_rt::test]
async fn body_trickling_past_the_total_timeout_is_504_without_partial_json() {
    let items: String = (0..40).map(|i| format!("<t:item>{i:04}</t:item>")).collect();
    let body = format!("<t:OpResponse xmlns:t=\"urn:test\">{items}</t:OpResponse>");
    let (gw, fake) = one_reply(Reply::soap11(&body).trickle(64, Duration::from_millis(100)));
    let r = gw.get("/op").await;
    assert_problem(&r, 504, "UPSTREAM_TIMEOUT", TIMED_OUT, "/op");
    assert_eq!(fake.hits(), 1);
}

#[actix_rt::test]
async fn redirect_to_metadata_address_is_502_and_not_followed() {
    let canary = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let locations = [
        "http://169.254.169.254/".to_string(),
        canary.url("/latest/meta-data"),
    ];
    for (i, status) in [302u16, 301, 303, 307, 308].into_iter().enumerate() {
        let location = &locations[i % 2];
        let (gw, fake) = one_reply(Reply::new().status(status).header("Location", location.as_str()));
        let r = gw.get("/op").await;
        assert_problem(
            &r,
            502,
            "UPSTREAM_REDIRECT",
            "The backend answered with a redirect, which is never followed.",
            "/op",
        );
        assert_eq!((fake.hits(), fake.connections()), (1, 1), "status {status}");
    }
    assert_eq!(canary.connections(), 0, "the redirect target was contacted");
}

#[actix_rt::test]
async fn connection_reset_is_502_upstream_protocol() {
    let (gw, fake) = one_reply(Reply::new().reset());
    let r = gw.get("/op").await;
    assert_problem(&r, 502, "UPSTREAM_PROTOCOL", BROKEN, "/op");
    assert_eq!(fake.hits(), 1);
}

#[actix_rt::test]
async fn malformed_http_response_is_502_upstream_protocol() {
    let garbage: [&[u8]; 3] = [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\nContent-Type: text/xml\r\n\r\n<x/>",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\nZZ\r\n<x/>\r\n",
    ];
    for raw in garbage {
        let (gw, fake) = one_reply(Reply::new().raw_response(raw.to_vec()));
        let r = gw.get("/op").await;
        assert_problem(&r, 502, "UPSTREAM_PROTOCOL", BROKEN, "/op");
        assert_eq!(fake.hits(), 1, "{}", String::from_utf8_lossy(raw));
    }
}

/// A body shorter than its Content-Length is refused, and so is a chunked body whose terminating
/// chunk never came (the patched HTTP/1 client, vendor/actix-http; threat model F6 has the case
/// of a complete envelope).
#[actix_rt::test]
async fn body_cut_short_by_a_close_is_502_not_a_partial_success() {
    let env = format!("<soap:Envelope xmlns:soap=\"{SOAP11}\"><soap:Body>{OK}</soap:Body></soap:Envelope>");
    let short_length = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{env}",
        env.len() + 100
    );
    let (gw, fake) = one_reply(Reply::new().raw_response(short_length));
    assert_problem(&gw.get("/op").await, 502, "UPSTREAM_PROTOCOL", BROKEN, "/op");
    assert_eq!(fake.hits(), 1);
    let half = &env[..env.len() / 2];
    let cut_chunked = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{half}\r\n",
        half.len()
    );
    let (gw, fake) = one_reply(Reply::new().raw_response(cut_chunked));
    assert_problem(&gw.get("/op").await, 502, "UPSTREAM_PROTOCOL", BROKEN, "/op");
    assert_eq!(fake.hits(), 1);
}

#[actix_rt::test]
async fn sequential_requests_reuse_one_pooled_connection() {
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let gw = gateway(&[&fake.url("/s")], "");
    for _ in 0..5 {
        assert_ok(&gw.get("/op").await);
    }
    // The first request closes its connection: until a backend has answered HTTP/1.1 it might
    // be an HTTP/1.0 server closing it (see backend.rs `Reuse`). The other four share one.
    assert_eq!((fake.hits(), fake.connections()), (5, 2));
    let first = fake
        .requests()
        .into_iter()
        .map(|r| r.header("connection").map(str::to_string))
        .collect::<Vec<_>>();
    assert_eq!(first[0].as_deref(), Some("close"));
    assert!(
        first[1..].iter().all(|c| c.as_deref() != Some("close")),
        "{first:?}"
    );
}

/// Sends one request with `headers`; returns the id echoed to the client and the one the backend got.
async fn correlation(headers: &[(&str, &str)]) -> (String, String) {
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let gw = gateway(&[&fake.url("/s")], "");
    let r = gw.send("GET", "/op", headers, None).await;
    assert_ok(&r);
    assert_eq!(fake.hits(), 1);
    let echoed = r.header("x-correlation-id").expect("echoed").to_string();
    let sent = fake.last_request().expect("backend called");
    let sent = sent
        .header("x-correlation-id")
        .expect("sent to backend")
        .to_string();
    (echoed, sent)
}

fn is_minted(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[actix_rt::test]
async fn correlation_id_is_minted_when_the_client_sends_none() {
    let (echoed, sent) = correlation(&[]).await;
    assert_eq!(echoed, sent);
    assert!(is_minted(&echoed), "{echoed}");
    let (again, _) = correlation(&[]).await;
    assert_ne!(echoed, again, "a fresh id per request");
}

#[actix_rt::test]
async fn correlation_id_is_taken_from_x_request_id() {
    let (echoed, sent) = correlation(&[("x-request-id", "req-42.a_b:c")]).await;
    assert_eq!((echoed.as_str(), sent.as_str()), ("req-42.a_b:c", "req-42.a_b:c"));
}

#[actix_rt::test]
async fn correlation_id_is_taken_from_the_traceparent_trace_id() {
    let tp = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
    let (echoed, sent) = correlation(&[("traceparent", tp)]).await;
    assert_eq!(echoed, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(sent, echoed);
}

#[actix_rt::test]
async fn unsafe_client_correlation_id_is_replaced_by_a_minted_one() {
    let long = "a".repeat(129);
    for bad in ["a b", "x<script>", long.as_str()] {
        let (echoed, sent) = correlation(&[("x-correlation-id", bad)]).await;
        assert_eq!(echoed, sent);
        assert!(is_minted(&echoed), "{bad} -> {echoed}");
    }
}

/// B9 (issue 12): an https URL whose port answers plain HTTP (as any HTTP server answers bytes it
/// cannot parse) fails the handshake: 502 `UPSTREAM_TLS`, and what reached the port was a TLS
/// ClientHello, never the request in the clear.
#[actix_rt::test]
async fn b9_https_to_a_plain_http_port_is_upstream_tls_never_sent_in_the_clear() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut buf = [0u8; 512];
        let n = sock.read(&mut buf).unwrap_or(0);
        let _ = sock.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        let _ = tx.send(buf[..n].to_vec());
    });
    let url = format!("https://127.0.0.1:{port}/s");
    let gw = gateway(&[&url], "  timeout: 2s\n");
    let r = gw.get("/op").await;
    assert_problem(
        &r,
        502,
        "UPSTREAM_TLS",
        "The secure connection to the backend service failed.",
        "/op",
    );
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        first.get(..2),
        Some(&[0x16, 0x03][..]),
        "a TLS handshake record, not HTTP"
    );
    assert!(!String::from_utf8_lossy(&first).contains("SOAPAction"));
}

/// B9: an https backend loads under the system trust store (verified, never called insecurely),
/// and a `tls` block over plain http URLs is refused at load.
#[test]
fn b9_https_backends_load_with_verification_and_tls_needs_an_https_url() {
    // Since outbound TLS: an https URL loads under the system trust store (verified against it,
    // never insecurely: tests/it/tls_outbound.rs calls such backends), and a `tls` block over
    // plain http URLs is refused.
    let route: String = ROUTE.lines().map(|l| format!("    {l}\n")).collect();
    let mapping = |urls: &str, tls: &str| {
        format!(
            "service: svc\nbackend:\n  urls: [{urls}]\n{tls}routes:\n  \
             - request: {{ template: templates/t.xml.hbs }}\n{route}"
        )
    };
    let load = |m: String| {
        TestGateway::builder()
            .mapping("svc", &m)
            .file("templates/t.xml.hbs", TEMPLATE)
            .load()
    };
    let snap = load(mapping("'https://127.0.0.1:1/s'", "")).expect("https loads");
    assert_eq!(
        format!("{:?}", snap.services[0].backend.tls),
        "ClientTls(system trust store)"
    );
    let errors = load(mapping(
        "'http://127.0.0.1:1/s'",
        "  tls: { server_name: legacy.internal }\n",
    ))
    .expect_err("tls without https");
    assert!(
        errors.iter().any(|e| e.path == "backend.tls"
            && e.message.contains("no backend URL is https")
            && !e.fix.is_empty()),
        "{errors:#?}"
    );
}

/// A TLS port that accepts the connection and never answers the handshake: 504 after the connect
/// timeout (`timeouts.backend_connect`, 1s here), nothing sent.
#[actix_rt::test]
async fn b9_a_silent_tls_port_times_out_with_504() {
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let url = fake.url("/s").replacen("http://", "https://", 1);
    let gw = gateway(&[&url], "  timeout: 2s\n");
    let r = gw.get("/op").await;
    assert_problem(
        &r,
        504,
        "UPSTREAM_TIMEOUT",
        "The backend did not answer within 1000 ms.",
        "/op",
    );
    assert_eq!(fake.hits(), 0, "no request reached the backend");
}

/// B8: a failing backend opens its circuit: after the threshold, requests are refused at once with
/// 503 + Retry-After without reaching it; after `open_for` one probe closes it again on success.
#[actix_rt::test]
async fn b8_repeated_failures_open_the_circuit_then_a_probe_closes_it() {
    let failing = Reply::raw("<html>unavailable</html>")
        .status(503)
        .content_type("text/html")
        .times(4);
    let fake = FakeSoap::new()
        .on("Op", failing)
        .otherwise(Reply::soap11(OK))
        .start();
    let extra = "  circuit_breaker: { min_requests: 4, failure_ratio: 0.5, window: 30s, open_for: 1s }\n";
    let gw = gateway(&[&fake.url("/s")], extra);
    for _ in 0..4 {
        let r = gw.get("/op").await;
        assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["code"], "UPSTREAM_CONTENT_TYPE");
    }
    let r = gw.get("/op").await;
    assert_problem(
        &r,
        503,
        "UPSTREAM_CIRCUIT_OPEN",
        "The backend's circuit is open after repeated failures.",
        "/op",
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(fake.hits(), 4, "an open circuit does not reach the backend");
    actix_rt::time::sleep(Duration::from_millis(1100)).await;
    assert_ok(&gw.get("/op").await); // the probe
    assert_ok(&gw.get("/op").await); // closed again
    assert_eq!(fake.hits(), 6);
}

/// B1: the probe of a half-open circuit is cancelled (its client resets the connection while the
/// backend is still answering): the probe slot is freed, so the next request probes and closes the
/// circuit, instead of every request answering 503 for as long as the process runs.
#[actix_rt::test]
async fn b1_a_client_resetting_during_the_probe_does_not_keep_the_circuit_open() {
    use tokio::io::AsyncWriteExt;
    let failing = Reply::raw("<html>unavailable</html>")
        .status(503)
        .content_type("text/html")
        .times(4);
    let slow_probe = Reply::soap11(OK).delay(Duration::from_millis(1500)).times(1);
    let fake = FakeSoap::new()
        .on("Op", failing)
        .on("Op", slow_probe)
        .otherwise(Reply::soap11(OK))
        .start();
    let extra = "  circuit_breaker: { min_requests: 4, failure_ratio: 0.5, window: 30s, open_for: 1s }\n";
    let gw = gateway(&[&fake.url("/s")], extra);
    for _ in 0..4 {
        assert_eq!(gw.get("/op").await.status, 502);
    }
    assert_eq!(gw.get("/op").await.status, 503, "the circuit is open");
    actix_rt::time::sleep(Duration::from_millis(1100)).await;

    let addr = gw.base.trim_start_matches("http://").to_string();
    let mut client = tokio::net::TcpStream::connect(&addr).await.unwrap();
    client
        .write_all(b"GET /op HTTP/1.1\r\nHost: gw\r\n\r\n")
        .await
        .unwrap();
    assert!(
        fake.wait_for_hits(5, Duration::from_secs(5)).await,
        "the probe reached the backend"
    );
    client.set_zero_linger().unwrap();
    drop(client); // RST while the probe waits for the backend
    actix_rt::time::sleep(Duration::from_millis(300)).await;

    // The next request is the probe (the slow reply was used up) and closes the circuit.
    assert_ok(&gw.get("/op").await);
    assert_ok(&gw.get("/op").await);
    assert_eq!(fake.hits(), 7);
}

#[test]
fn b8_breaker_settings_are_validated() {
    let route: String = ROUTE.lines().map(|l| format!("    {l}\n")).collect();
    let mapping = format!(
        "service: svc\nbackend:\n  urls: ['http://127.0.0.1:1/s']\n  circuit_breaker: {{ failure_ratio: 1.5, min_requests: 0 }}\n\
         routes:\n  - request: {{ template: templates/t.xml.hbs }}\n{route}"
    );
    let errors = TestGateway::builder()
        .mapping("svc", &mapping)
        .file("templates/t.xml.hbs", TEMPLATE)
        .load()
        .expect_err("invalid breaker");
    for key in [
        "backend.circuit_breaker.failure_ratio",
        "backend.circuit_breaker.min_requests",
    ] {
        assert!(errors.iter().any(|e| e.path == key), "{key}: {errors:#?}");
    }
}

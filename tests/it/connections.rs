//! Connections, timers and reload (docs/threat-model.md group C): every request of a keep-alive
//! connection is read under the configured timeouts, reload applies or refuses each changed
//! setting, and a request whose client goes away still writes its access line and metric.

use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply};
use crate::common::gateway::TestGateway;
use crate::common::raw_client::{read_until_closed, Raw};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OK: &str = "<t:OpResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:OpResponse>";
const ROUTE: &str = "id: op\nmethod: POST\npath: /op\noperation: Op\naction: urn:test/Op\npublic: true";
const TEMPLATE: &str = "<t:Op xmlns:t=\"{{ns}}\"/>";
/// One complete keep-alive request.
const REQUEST: &[u8] =
    b"POST /op HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

fn fake() -> FakeHandle {
    FakeSoap::new().otherwise(Reply::soap11(OK)).start()
}

fn start(fake: &FakeHandle, config: &str) -> TestGateway {
    TestGateway::builder()
        .config(config)
        .route(&fake.url("/s"), ROUTE, TEMPLATE)
        .start()
}

fn addr(gw: &TestGateway) -> String {
    gw.base.trim_start_matches("http://").to_string()
}

/// Reads one whole response (head and Content-Length body) within 10 s; the connection stays open.
async fn read_response(s: &mut TcpStream) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return text;
            }
        }
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            other => panic!(
                "no whole response: {other:?}, read {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
    panic!(
        "no whole response within 10 s: {:?}",
        String::from_utf8_lossy(&buf)
    );
}

/// A connection that has been answered once (200) and is kept alive.
async fn answered_once(gw: &TestGateway) -> TcpStream {
    let mut s = TcpStream::connect(addr(gw)).await.expect("connect");
    s.write_all(REQUEST).await.expect("write");
    let first = read_response(&mut s).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    s
}

/// Asserts the slow request was answered 408 (problem+json or actix's bare 408) or closed, and
/// that the connection is closed.
fn assert_cut(r: &Raw, what: &str) {
    assert!(r.closed, "{what}: connection left open; read {:?}", r.text);
    let statuses = r.statuses();
    assert!(
        statuses.is_empty() || statuses == [408],
        "{what}: expected 408 or a close, read {:?}",
        r.text
    );
}

/// Keep-alive longer than the request timeout, so a close at the request timeout is the head
/// timer's, never the keep-alive timer's.
const TIMERS: &str = "timeouts: { client_request: 1s, keep_alive: 20s, client_body: 1s }";

#[actix_rt::test]
async fn c1_one_byte_of_a_second_request_then_silence_is_cut_at_the_request_timeout() {
    let f = fake();
    let gw = start(&f, TIMERS);
    let mut s = answered_once(&gw).await;
    s.write_all(b"P").await.expect("first byte");
    let sent = Instant::now();
    let r = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert_cut(&r, "one byte of a second request");
    let at = sent.elapsed();
    assert!(at >= Duration::from_millis(900), "cut before the timeout: {at:?}");
    assert_eq!(f.hits(), 1);

    // The same with the first byte already buffered when the first response ends (pipelined).
    let mut s = TcpStream::connect(addr(&gw)).await.expect("connect");
    let mut both = REQUEST.to_vec();
    both.extend_from_slice(b"POST /op HT");
    s.write_all(&both).await.expect("write");
    let r = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(r.closed, "pipelined partial head left open: {:?}", r.text);
    let statuses = r.statuses();
    assert!(statuses == [200] || statuses == [200, 408], "{:?}", r.text);
    assert_eq!(f.hits(), 2);

    // An idle keep-alive connection is left to the keep-alive timer: open after the request timeout.
    let mut s = answered_once(&gw).await;
    let r = read_until_closed(&mut s, Duration::from_millis(2500)).await;
    assert!(
        !r.closed && r.text.is_empty(),
        "idle connection cut: {:?}",
        r.text
    );
    s.write_all(REQUEST).await.expect("write");
    assert!(read_response(&mut s).await.starts_with("HTTP/1.1 200"));
    assert_eq!(f.hits(), 4);
}

#[actix_rt::test]
async fn c2_headers_of_a_second_request_trickled_one_line_per_300ms_are_cut_at_the_request_timeout() {
    let f = fake();
    let gw = start(&f, TIMERS);
    let mut s = answered_once(&gw).await;
    let started = Instant::now();
    let mut cut = None;
    let lines = std::iter::once("POST /op HTTP/1.1\r\n".to_string())
        .chain(std::iter::once("Host: x\r\n".to_string()))
        .chain((0..30).map(|i| format!("X-Line-{i}: {i}\r\n")));
    for line in lines {
        if s.write_all(line.as_bytes()).await.is_err() {
            cut = Some((
                started.elapsed(),
                Raw {
                    text: String::new(),
                    closed: true,
                },
            ));
            break;
        }
        let r = read_until_closed(&mut s, Duration::from_millis(300)).await;
        if r.closed || !r.text.is_empty() {
            let r = if r.closed {
                r
            } else {
                read_until_closed(&mut s, Duration::from_secs(2)).await
            };
            cut = Some((started.elapsed(), r));
            break;
        }
    }
    let (at, r) = cut.expect("the trickled head was never cut (30 lines, 9 s)");
    assert_cut(&r, "trickled head");
    assert!(
        at >= Duration::from_millis(900) && at < Duration::from_secs(5),
        "{at:?}"
    );
    assert_eq!(f.hits(), 1);
    // Each request has its own timer: a connection that keeps making quick requests is served.
    let mut s = answered_once(&gw).await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        s.write_all(REQUEST).await.expect("write");
        assert!(read_response(&mut s).await.starts_with("HTTP/1.1 200"));
    }
    assert_eq!(f.hits(), 5);
}

#[actix_rt::test]
async fn c3_body_of_a_second_request_trickled_is_408_at_the_body_timeout() {
    let f = fake();
    let gw = start(&f, TIMERS);
    let mut s = answered_once(&gw).await;
    s.write_all(
        b"POST /op HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
    )
    .await
    .expect("head");
    let started = Instant::now();
    let mut answer = None;
    for _ in 0..25 {
        let _ = s.write_all(b" ").await;
        let r = read_until_closed(&mut s, Duration::from_millis(200)).await;
        if r.closed || !r.text.is_empty() {
            answer = Some(r);
            break;
        }
    }
    let r = answer.expect("no answer within 5 s");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.statuses(), [408], "{}", r.text);
    assert!(r.text.contains("\"code\":\"REQUEST_TIMEOUT\""), "{}", r.text);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn c4_an_unread_chunked_body_trickled_after_the_response_is_cut_at_the_request_timeout() {
    // `/openapi.json` answers without reading the body; actix then drains a chunked one.
    let f = fake();
    let gw = start(&f, TIMERS);
    let mut s = answered_once(&gw).await;
    s.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n")
        .await
        .expect("head");
    let answer = read_response(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let answered = Instant::now();
    let mut r = None;
    for _ in 0..30 {
        if s.write_all(b"1\r\nb\r\n").await.is_err() {
            r = Some(Raw {
                text: String::new(),
                closed: true,
            });
            break;
        }
        let got = read_until_closed(&mut s, Duration::from_millis(300)).await;
        if got.closed || !got.text.is_empty() {
            r = Some(if got.closed {
                got
            } else {
                read_until_closed(&mut s, Duration::from_secs(2)).await
            });
            break;
        }
    }
    let r = r.expect("the drain was never cut (30 chunks, 9 s)");
    assert_cut(&r, "drained chunked body");
    assert!(
        answered.elapsed() < Duration::from_secs(5),
        "{:?}",
        answered.elapsed()
    );
    assert_eq!(f.hits(), 1);
}

// ---------------------------------------------------------------------------------------------
// C6, C7: reload applies every changed setting or refuses naming what it cannot apply
// ---------------------------------------------------------------------------------------------

/// The admin listener of `gw` (its `POST /reload` and `/metrics`).
fn admin(gw: &TestGateway) -> (String, actix_web::dev::ServerHandle) {
    let (server, addrs) = soapgate::admin::admin_server(gw.gw.clone(), "127.0.0.1:0").expect("admin");
    let handle = server.handle();
    actix_rt::spawn(server);
    (format!("http://{}", addrs[0]), handle)
}

/// `POST /reload`: status and JSON body.
async fn post_reload(admin: &str) -> (u16, serde_json::Value) {
    let mut res = awc::Client::default()
        .post(format!("{admin}/reload"))
        .send()
        .await
        .expect("admin answers");
    let body = res.body().await.expect("body");
    (
        res.status().as_u16(),
        serde_json::from_slice(&body).expect("JSON"),
    )
}

async fn metrics(admin: &str) -> String {
    let mut res = awc::Client::default()
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .expect("admin answers");
    String::from_utf8(res.body().await.expect("body").to_vec()).expect("utf-8")
}

/// Rewrites the gateway's soapgate.yaml with `from` replaced by `to`.
fn edit_config(gw: &TestGateway, from: &str, to: &str) {
    let text = std::fs::read_to_string(&gw.config).expect("config");
    assert!(text.contains(from), "{from:?} not in {text}");
    std::fs::write(&gw.config, text.replace(from, to)).expect("write config");
}

#[actix_rt::test]
async fn c6_a_reload_changing_client_request_is_refused_naming_it_and_the_old_timer_keeps_serving() {
    let f = fake();
    let gw = start(&f, TIMERS);
    let (admin, handle) = admin(&gw);
    // `client_request: 1s` -> 8s, with a live change (the URL limit) alongside.
    edit_config(&gw, "client_request: 1s", "client_request: 8s");
    edit_config(&gw, "workers: 1", "workers: 1\nlimits: { url: 10 }");
    let (status, body) = post_reload(&admin).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["reloaded"], false, "{body}");
    let errors = body["errors"].to_string();
    assert!(
        errors.contains("timeouts.client_request: changed from 1s to 8s"),
        "{body}"
    );
    assert!(errors.contains("applies only at start-up"), "{body}");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
    let m = metrics(&admin).await;
    assert!(
        m.contains("soapgate_config_reloads_total{result=\"rejected\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("soapgate_config_reloads_total{result=\"ok\"} 0"),
        "{m}"
    );
    // Nothing was applied: the URL limit is the old one, the head timer still cuts at 1 s.
    assert_eq!(gw.post_json("/op?long-query=1", "{}").await.status, 200);
    let mut s = answered_once(&gw).await;
    s.write_all(b"P").await.expect("first byte");
    let sent = Instant::now();
    assert_cut(
        &read_until_closed(&mut s, Duration::from_secs(5)).await,
        "after the refused reload",
    );
    assert!(sent.elapsed() < Duration::from_secs(5));

    // Each restart-only setting is named: listen, workers, keep_alive, the log format, TLS.
    edit_config(&gw, "client_request: 8s", "client_request: 1s");
    edit_config(&gw, "workers: 1", "workers: 2");
    edit_config(&gw, "keep_alive: 20s", "keep_alive: 3s");
    edit_config(&gw, "listen: 127.0.0.1:0", "listen: 127.0.0.1:1");
    edit_config(&gw, "format: text", "format: json");
    let errors = gw.gw.reload().expect_err("restart-only changes are refused");
    let keys: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        keys,
        ["listen", "workers", "logging.format", "timeouts.keep_alive"],
        "{errors:#?}"
    );
    assert!(errors.iter().all(|e| e.fix.starts_with("restart soapgate")));
    assert!(metrics(&admin)
        .await
        .contains("soapgate_config_reloads_total{result=\"rejected\"} 2"));

    // Put back, only the live change is left: it applies.
    edit_config(&gw, "workers: 2", "workers: 1");
    edit_config(&gw, "keep_alive: 3s", "keep_alive: 20s");
    edit_config(&gw, "listen: 127.0.0.1:1", "listen: 127.0.0.1:0");
    edit_config(&gw, "format: json", "format: text");
    assert_eq!(
        post_reload(&admin).await,
        (200, serde_json::json!({"reloaded": true}))
    );
    assert_eq!(gw.post_json("/op?long-query=1", "{}").await.status, 414);
    assert_eq!(f.hits(), 2);
    handle.stop(false).await;
}

#[actix_rt::test]
async fn c7_a_reload_changing_only_live_settings_applies_them_to_the_next_requests() {
    let f = FakeSoap::new()
        .otherwise(Reply::soap11(OK).delay(Duration::from_millis(800)))
        .start();
    let gw = start(
        &f,
        "timeouts: { client_request: 1s, keep_alive: 20s, client_body: 15s, backend_connect: 1s, backend_total: 5s }",
    );
    let (admin, handle) = admin(&gw);
    assert_eq!(gw.post_json("/op", "{}").await.status, 200);
    // Backend timeouts, the body timeout, limits and the log level: all live.
    edit_config(&gw, "backend_total: 5s", "backend_total: 300ms");
    edit_config(&gw, "backend_connect: 1s", "backend_connect: 200ms");
    edit_config(&gw, "client_body: 15s", "client_body: 1s");
    edit_config(&gw, "level: warn", "level: error");
    edit_config(
        &gw,
        "workers: 1",
        "workers: 1\nlimits: { url: 10, concurrency: 7 }",
    );
    assert_eq!(
        post_reload(&admin).await,
        (200, serde_json::json!({"reloaded": true}))
    );
    let s = &gw.gw.snapshot().settings;
    assert_eq!(s.backend_connect_timeout, Duration::from_millis(200));
    assert_eq!(s.concurrency, 7);
    let r = gw.post_json("/op", "{}").await;
    assert_eq!(r.status, 504, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["code"], "UPSTREAM_TIMEOUT");
    assert_eq!(gw.post_json("/op?long-query=1", "{}").await.status, 414);
    // The body timeout: 408 at 1 s now.
    let mut s = TcpStream::connect(addr(&gw)).await.expect("connect");
    s.write_all(
        b"POST /op HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{",
    )
    .await
    .expect("head");
    let r = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert_eq!(r.statuses(), [408], "{}", r.text);
    let m = metrics(&admin).await;
    assert!(
        m.contains("soapgate_config_reloads_total{result=\"ok\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("soapgate_config_reloads_total{result=\"rejected\"} 0"),
        "{m}"
    );
    handle.stop(false).await;
}

// ---------------------------------------------------------------------------------------------
// C8: a request whose client goes away still has its access line and its count
// ---------------------------------------------------------------------------------------------

/// The value of `admin=Some([127.0.0.1:port])` in the startup line.
fn admin_addr(listening: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(listening).expect("startup line is JSON");
    let admin = v["admin"].as_str().expect("admin field").to_string();
    let at = admin.find("127.0.0.1:").expect("admin address");
    admin[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect()
}

#[actix_rt::test]
async fn c8_a_client_reset_while_the_backend_answers_writes_one_499_cancelled_line_and_counts_it() {
    use crate::common::process::Soapgate;
    let f = FakeSoap::new()
        .otherwise(Reply::soap11(OK).delay(Duration::from_secs(2)))
        .start();
    let cfg = TestGateway::builder().route(&f.url("/s"), ROUTE, TEMPLATE);
    let (dir, _) = cfg.write();
    std::fs::write(
        dir.path().join("soapgate.yaml"),
        "listen: 127.0.0.1:0\nadmin_listen: 127.0.0.1:0\nworkers: 1\nlogging: { format: json, level: info }\n",
    )
    .expect("config");
    let mut p = Soapgate::start(&["serve", "--config", "soapgate.yaml"], dir.path());
    let ready = p
        .wait_line(Duration::from_secs(20), |l| l.contains("soapgate listening"))
        .unwrap_or_else(|| panic!("no listening line; saw {:?}", p.seen));
    let v: serde_json::Value = serde_json::from_str(&ready).expect("JSON");
    let rest = v["listen"]
        .as_str()
        .expect("listen")
        .trim_matches(['[', ']'])
        .to_string();
    let admin = admin_addr(&ready);

    let mut s = TcpStream::connect(&rest).await.expect("connect");
    let req = b"POST /op HTTP/1.1\r\nHost: x\r\nX-Correlation-ID: gone-1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    s.write_all(req).await.expect("write");
    assert!(
        f.wait_for_hits(1, Duration::from_secs(10)).await,
        "the backend was never called"
    );
    // RST instead of FIN: actix drops the request in service.
    s.set_zero_linger().expect("SO_LINGER 0");
    drop(s);
    let line = p
        .wait_line(Duration::from_secs(10), |l| {
            l.contains("soapgate::access") && l.contains("gone-1")
        })
        .unwrap_or_else(|| panic!("no access line for the cancelled request; saw {:?}", p.seen));
    let v: serde_json::Value = serde_json::from_str(&line).expect("access line is JSON");
    assert_eq!(v["status"], 499, "{line}");
    assert_eq!(v["outcome"], "cancelled", "{line}");
    assert_eq!(v["correlation_id"], "gone-1");
    assert_eq!(v["route"], "op");
    assert_eq!(v["operation"], "Op");
    assert_eq!(v["method"], "POST");
    assert_eq!(v["path"], "/op");
    assert!(v["total_us"].as_u64().is_some_and(|t| t > 0), "{line}");
    // Exactly one line: none when the backend's answer comes in (2 s after the call).
    let again = p.wait_line(Duration::from_secs(3), |l| l.contains("gone-1"));
    assert!(
        again.is_none(),
        "a second line for the cancelled request: {again:?}"
    );

    // A request that completes says so.
    let client = awc::Client::default();
    let mut res = client
        .post(format!("http://{rest}/op"))
        .insert_header(("X-Correlation-ID", "kept-1"))
        .insert_header(("Content-Type", "application/json"))
        .send_body("{}")
        .await
        .expect("gateway answers");
    assert_eq!(res.status().as_u16(), 200);
    let _ = res.body().await;
    let line = p
        .wait_line(Duration::from_secs(10), |l| l.contains("kept-1"))
        .expect("access line");
    let v: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(
        (v["status"].as_u64(), v["outcome"].as_str()),
        (Some(200), Some("completed"))
    );

    let mut m = client
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .expect("metrics");
    let text = String::from_utf8(m.body().await.expect("body").to_vec()).expect("utf-8");
    for want in [
        "soapgate_requests_total{route=\"op\",operation=\"Op\",status=\"499\"} 1",
        "soapgate_requests_total{route=\"op\",operation=\"Op\",status=\"200\"} 1",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    assert_eq!(f.hits(), 2);
}

// ---------------------------------------------------------------------------------------------
// C5: HTTP/2
// ---------------------------------------------------------------------------------------------

/// A gateway serving HTTP/2 over TLS with `config`, and a raw-frame client configuration for it.
fn h2_gateway(
    f: &FakeHandle,
    config: &str,
) -> (
    TestGateway,
    std::sync::Arc<rustls::ClientConfig>,
    tempfile::TempDir,
) {
    use crate::common::certs::Ca;
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = Ca::new("soapgate connections test CA");
    let (cert, key) = ca.leaf("gw", &["127.0.0.1"]).write(dir.path(), "server");
    let tls = format!(
        "tls:\n  cert_file: {}\n  key_file: {}\n  http2: true\n",
        cert.display(),
        key.display()
    );
    let gw = TestGateway::builder()
        .config(config)
        .config(&tls)
        .route(&f.url("/s"), ROUTE, TEMPLATE)
        .start();
    let mut roots = rustls::RootCertStore::empty();
    for c in soapgate::tls::pem::parse_certs(ca.pem().as_bytes()).expect("CA") {
        roots.add(c).expect("root");
    }
    let mut cfg = rustls::ClientConfig::builder_with_provider(soapgate::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    (gw, std::sync::Arc::new(cfg), dir)
}

/// Writes `bytes` on a raw h2 connection, then reads the server's frames until it closes (or
/// `limit` passes); frames as (kind, flags, stream), and the GOAWAY code if one came.
async fn h2_send_then_read(
    tls: tokio_rustls::client::TlsStream<TcpStream>,
    bytes: Vec<u8>,
    limit: Duration,
) -> crate::common::h2raw::Outcome {
    crate::common::h2raw::session(tls, bytes, |_| Vec::new(), 0, Vec::new(), |_| false, limit).await
}

#[actix_rt::test]
async fn c5_http2_a_request_head_left_unfinished_is_cut_at_the_request_timeout() {
    use crate::common::h2raw::{self, frame, hpack, END_HEADERS, END_STREAM, ENHANCE_YOUR_CALM, HEADERS};
    use soapgate::tls::h2guard::Violation;
    let f = fake();
    let (gw, cfg, _dir) = h2_gateway(&f, TIMERS);
    let addr: std::net::SocketAddr = gw.base.trim_start_matches("https://").parse().expect("addr");
    let stats = gw.gw.rest_tls.as_ref().expect("TLS listener").h2_stats();
    let json = [(b"content-type".as_slice(), b"application/json".as_slice())];

    // A header block opened (HEADERS without END_HEADERS), then silence.
    let tls = h2raw::connect(addr, &cfg).await;
    let mut bytes = h2raw::prologue();
    bytes.extend(frame(HEADERS, 0, 1, &hpack::request(0x83, "/op", &json)));
    let out = h2_send_then_read(tls, bytes, Duration::from_secs(8)).await;
    assert_eq!(out.goaway(), Some(ENHANCE_YOUR_CALM), "{out:?}");
    assert!(out.closed, "{out:?}");
    assert!(
        out.elapsed >= Duration::from_millis(900) && out.elapsed < Duration::from_secs(5),
        "{:?}",
        out.elapsed
    );
    assert_eq!(stats.count(Violation::SlowHeaders), 1);

    // Four bytes of a frame header, then silence.
    let tls = h2raw::connect(addr, &cfg).await;
    let mut bytes = h2raw::prologue();
    bytes.extend([0, 0, 40, HEADERS]);
    let out = h2_send_then_read(tls, bytes, Duration::from_secs(8)).await;
    assert_eq!(out.goaway(), Some(ENHANCE_YOUR_CALM), "{out:?}");
    assert!(out.closed && out.elapsed < Duration::from_secs(5), "{out:?}");
    assert_eq!(stats.count(Violation::SlowHeaders), 2);

    // A served request, an idle pause past the request timeout (not a head: the connection
    // stays), then a head trickled in pieces every 300 ms: cut at the timeout from its start.
    let mut tls = h2raw::connect(addr, &cfg).await;
    let mut bytes = h2raw::prologue();
    let head = hpack::request(0x83, "/op", &[json[0], (b"content-length", b"2")]);
    bytes.extend(frame(HEADERS, END_HEADERS, 1, &head));
    bytes.extend(frame(0, END_STREAM, 1, b"{}"));
    tls.write_all(&bytes).await.expect("first request");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let slow = frame(HEADERS, END_HEADERS, 3, &head);
    let started = Instant::now();
    let mut write_failed = false;
    for piece in slow.chunks(3) {
        if tls.write_all(piece).await.is_err() || tls.flush().await.is_err() {
            write_failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        if started.elapsed() > Duration::from_secs(6) {
            break;
        }
    }
    let out = h2_send_then_read(tls, Vec::new(), Duration::from_secs(6)).await;
    let kinds: Vec<(u8, u8, u32)> = out.frames.iter().map(|r| (r.kind, r.flags, r.stream)).collect();
    assert!(
        kinds.contains(&(HEADERS, END_HEADERS, 1)),
        "the first request was answered: {kinds:?}"
    );
    assert!(
        !kinds.iter().any(|k| k.0 == HEADERS && k.2 == 3),
        "the trickled head was served: {kinds:?}"
    );
    assert!(write_failed || out.closed, "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stats.count(Violation::SlowHeaders), 3);
    assert_eq!(f.hits(), 1);

    // A head in, its body stalled: the handler's 408 at `client_body` on the stream (no cut-off).
    let tls = h2raw::connect(addr, &cfg).await;
    let mut bytes = h2raw::prologue();
    bytes.extend(frame(
        HEADERS,
        END_HEADERS,
        1,
        &hpack::request(0x83, "/op", &[json[0], (b"content-length", b"10")]),
    ));
    let out = h2raw::session(
        tls,
        bytes,
        |_| Vec::new(),
        0,
        Vec::new(),
        |r| r.kind == HEADERS,
        Duration::from_secs(5),
    )
    .await;
    assert!(
        out.frames.iter().any(|r| r.kind == HEADERS && r.stream == 1),
        "{out:?}"
    );
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    assert_eq!(stats.count(Violation::SlowHeaders), 3);
    assert_eq!(f.hits(), 1);
}

#[actix_rt::test]
async fn c6_a_reload_turning_tls_off_or_changing_http2_is_refused_naming_it() {
    let f = fake();
    let (gw, _cfg, _dir) = h2_gateway(&f, "");
    edit_config(&gw, "http2: true", "http2: false");
    let errors = gw.gw.reload().expect_err("http2 is fixed at start");
    let keys: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(keys, ["tls.http2"], "{errors:#?}");
    assert!(
        errors[0].message.contains("changed from true to false"),
        "{errors:#?}"
    );
    // Without the `tls:` block at all.
    let text = std::fs::read_to_string(&gw.config).expect("config");
    let at = text.find("tls:").expect("tls block");
    std::fs::write(&gw.config, &text[..at]).expect("write config");
    let errors = gw.gw.reload().expect_err("TLS on/off is fixed at start");
    let keys: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(keys, ["tls"], "{errors:#?}");
    assert!(
        errors[0].message.contains("changed from on to off"),
        "{errors:#?}"
    );
    assert!(
        gw.gw.snapshot().settings.tls.is_some(),
        "the old config keeps serving"
    );
}

//! The TLS listener (`tls:` and `admin_tls:`): real curl over 127.0.0.1 for HTTP/1.1 and HTTP/2,
//! mutual TLS and its refusals, plain HTTP to the TLS port, certificate rotation by reload with a
//! connection opened before it still served, the client certificate in rate limits, route
//! conditions and templates, and `check` refusing listener TLS that can never serve.

use crate::common::certs::{Ca, Leaf};
use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply};
use crate::common::gateway::{GatewayBuilder, TestGateway};
use crate::common::tls_client::{blocking, curl, Conn, Curl};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const ROUTE: &str = "id: things\nmethod: GET\npath: /things\noperation: Get\naction: urn:test/Get";
const TEMPLATE: &str = "<t:Get xmlns:t=\"urn:test\"/>";
const REPLY: &str = "<t:GetResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:GetResponse>";

/// The certificates of one test: a server CA and certificate, a client CA with two clients, and a
/// client from a CA the gateway does not trust. Files live in their own temp dir.
struct Pki {
    dir: tempfile::TempDir,
    server_ca: Ca,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let server_ca = Ca::new("soapgate test server CA");
        let client_ca = Ca::new("soapgate test client CA");
        let stranger_ca = Ca::new("unknown client CA");
        std::fs::write(dir.path().join("server-ca.pem"), server_ca.pem()).expect("write");
        std::fs::write(dir.path().join("client-ca.pem"), client_ca.pem()).expect("write");
        server_ca
            .leaf("gw-one", &["127.0.0.1", "localhost"])
            .write(dir.path(), "server");
        client_ca
            .leaf("partner-a", &["a.partner.example"])
            .write(dir.path(), "partner-a");
        client_ca
            .leaf("partner-b", &["b.partner.example"])
            .write(dir.path(), "partner-b");
        stranger_ca
            .leaf("partner-a", &["a.partner.example"])
            .write(dir.path(), "stranger");
        Pki { dir, server_ca }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The `tls:` block (`client_ca`: mutual TLS).
    fn tls(&self, key: &str, client_ca: bool, http2: bool) -> String {
        let mut y = format!(
            "{key}:\n  cert_file: {}\n  key_file: {}\n  http2: {http2}\n",
            self.path("server.pem"),
            self.path("server.key")
        );
        if client_ca {
            y.push_str(&format!("  client_ca_file: {}\n", self.path("client-ca.pem")));
        }
        y
    }

    /// curl arguments presenting the client certificate `name`.
    fn client(&self, name: &str) -> Vec<String> {
        vec![
            "--cert".into(),
            self.path(&format!("{name}.pem")),
            "--key".into(),
            self.path(&format!("{name}.key")),
        ]
    }
}

fn backend() -> FakeHandle {
    FakeSoap::new().otherwise(Reply::soap11(REPLY)).start()
}

fn gateway(fake: &FakeHandle, config: &str, route: &str, template: &str) -> TestGateway {
    TestGateway::builder()
        .config(config)
        .route(&fake.url("/s"), route, template)
        .start()
}

/// `curl --cacert <server CA> -w '<status> %{http_version}' <extra> <url>`.
async fn https(pki: &Pki, url: &str, extra: &[String]) -> Curl {
    let mut args = vec![
        "--cacert".to_string(),
        pki.path("server-ca.pem"),
        "-o".into(),
        "/dev/null".into(),
        "-w".into(),
        "%{http_code} %{http_version}".into(),
    ];
    args.extend_from_slice(extra);
    args.push(url.to_string());
    curl(args).await
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[actix_rt::test]
async fn https_is_http1_by_default_and_offers_h2_only_with_http2_true() {
    let pki = Pki::new();
    let fake = backend();
    let h1 = gateway(&fake, &pki.tls("tls", false, false), ROUTE, TEMPLATE);
    assert!(h1.base.starts_with("https://"), "{}", h1.base);
    let url = h1.url("/things");
    let r = https(&pki, &url, &[]).await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "200 1.1"), "{r:?}");
    let r = https(&pki, &url, &s(&["--http2"])).await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "200 1.1"), "{r:?}");

    let h2 = gateway(&fake, &pki.tls("tls", false, true), ROUTE, TEMPLATE);
    let url = h2.url("/things");
    let r = https(&pki, &url, &s(&["--http2"])).await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "200 2"), "{r:?}");
    let r = https(&pki, &url, &s(&["--http1.1"])).await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "200 1.1"), "{r:?}");
}

#[actix_rt::test]
async fn mutual_tls_admits_only_client_certificates_of_the_configured_ca() {
    let pki = Pki::new();
    let fake = backend();
    let gw = gateway(&fake, &pki.tls("tls", true, true), ROUTE, TEMPLATE);
    let url = gw.url("/things");
    for version in ["--http1.1", "--http2"] {
        let mut args = pki.client("partner-a");
        args.push(version.into());
        let r = https(&pki, &url, &args).await;
        let want = if version == "--http2" { "200 2" } else { "200 1.1" };
        assert_eq!((r.code, r.stdout.as_str()), (0, want), "{r:?}");
    }
    // TLS 1.2: the server refuses during the handshake, so curl's outcome is exact.
    let tls12 = s(&["--tls-max", "1.2"]);
    let none = https(&pki, &url, &tls12).await;
    assert_eq!((none.code, none.stdout.as_str()), (98, "000 0"), "{none:?}");
    assert!(none.stderr.ends_with("alert certificate required"), "{none:?}");
    let stranger = https(&pki, &url, &[pki.client("stranger"), tls12].concat()).await;
    assert_eq!(
        (stranger.code, stranger.stdout.as_str()),
        (35, "000 0"),
        "{stranger:?}"
    );
    assert!(stranger.stderr.ends_with("alert unknown ca"), "{stranger:?}");
    // TLS 1.3: the client has finished its side and sent the request when the alert comes; the
    // server closes with that request unread, so curl reads the alert (56) or a reset, met while
    // receiving (56, "errno 104") or still sending (55, "Connection reset by peer").
    for args in [Vec::new(), pki.client("stranger")] {
        let r = https(&pki, &url, &args).await;
        let alert = r.code == 56 && r.stderr.contains(" alert ");
        let reset = matches!(r.code, 55 | 56)
            && (r.stderr.contains("errno 10") || r.stderr.contains("Connection reset by peer"));
        assert!(r.stdout == "000 0" && (alert || reset), "{r:?}");
        assert!(r.took < Duration::from_secs(2), "{r:?}");
    }
    assert_eq!(fake.hits(), 2, "refused handshakes never reach the backend");
}

#[actix_rt::test]
async fn plain_http_to_the_tls_port_fails_at_once() {
    let pki = Pki::new();
    let fake = backend();
    let gw = gateway(&fake, &pki.tls("tls", false, false), ROUTE, TEMPLATE);
    let url = gw.url("/things").replacen("https://", "http://", 1);
    let r = curl(s(&[&url])).await;
    assert_eq!(
        (r.code, r.stderr.as_str()),
        (1, "curl: (1) Received HTTP/0.9 when not allowed"),
        "{r:?}"
    );
    assert!(r.took < Duration::from_secs(2), "{r:?}");
    // What curl read as HTTP/0.9: one TLS alert record, then the connection is closed.
    let addr = gw.base.trim_start_matches("https://").to_string();
    let bytes = actix_rt::task::spawn_blocking(move || {
        let mut tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        tcp.write_all(b"GET /things HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut got = Vec::new();
        tcp.read_to_end(&mut got).expect("closed, not timed out");
        got
    })
    .await
    .expect("thread");
    // A fatal (2) decode_error (50) alert: not a TLS record.
    assert_eq!(bytes, [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]);
}

/// `curl --cacert <server CA> -w '\n%{http_code}' <extra> <url>`: status and body.
async fn fetch(pki: &Pki, url: &str, extra: &[String]) -> (u16, String) {
    let mut args = vec!["--cacert".to_string(), pki.path("server-ca.pem")];
    args.extend(s(&["-w", "\n%{http_code}"]));
    args.extend_from_slice(extra);
    args.push(url.to_string());
    let r = curl(args).await;
    assert_eq!(r.code, 0, "{r:?}");
    let (body, status) = r.stdout.rsplit_once('\n').expect("status line");
    (status.parse().expect("status"), body.to_string())
}

#[actix_rt::test]
async fn a_reload_serves_the_renewed_certificate_to_new_connections_and_keeps_open_ones() {
    let pki = Pki::new();
    let fake = backend();
    let tls = format!(
        "{}{}",
        pki.tls("tls", false, false),
        pki.tls("admin_tls", false, false)
    );
    let gw = gateway(&fake, &tls, ROUTE, TEMPLATE);
    let (admin, admin_addrs) = soapgate::admin::admin_server(gw.gw.clone(), "127.0.0.1:0").expect("admin");
    let admin_handle = admin.handle();
    actix_rt::spawn(admin);
    let reload_url = format!("https://{}/reload", admin_addrs[0]);
    let addr = gw.base.trim_start_matches("https://").to_string();
    let ca = pki.server_ca.pem();

    let (a, ca2) = (addr.clone(), ca.clone());
    let mut before = blocking(move || {
        let mut c = Conn::open(&a, &ca2);
        assert_eq!((c.server_cn(), c.get("/things")), ("gw-one".to_string(), 200));
        c
    })
    .await;

    pki.server_ca
        .leaf("gw-two", &["127.0.0.1"])
        .write(pki.dir.path(), "server");
    let (status, body) = fetch(&pki, &reload_url, &s(&["-X", "POST"])).await;
    assert_eq!((status, body.as_str()), (200, r#"{"reloaded":true}"#));

    let (a, ca2) = (addr.clone(), ca.clone());
    let before = blocking(move || {
        assert_eq!(
            before.get("/things"),
            200,
            "the connection opened before still works"
        );
        assert_eq!(before.server_cn(), "gw-one");
        let mut after = Conn::open(&a, &ca2);
        assert_eq!(
            (after.server_cn(), after.get("/things")),
            ("gw-two".to_string(), 200)
        );
        before
    })
    .await;

    // A broken renewal is refused like any config error; the renewed certificate keeps serving.
    std::fs::write(pki.dir.path().join("server.pem"), "not a certificate").expect("write");
    let (status, body) = fetch(&pki, &reload_url, &s(&["-X", "POST"])).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("tls.cert_file") && body.contains("no certificate in it"),
        "{body}"
    );
    blocking(move || {
        let mut next = Conn::open(&addr, &ca);
        assert_eq!(
            (next.server_cn(), next.get("/things")),
            ("gw-two".to_string(), 200)
        );
        drop(before);
    })
    .await;
    assert_eq!(fake.hits(), 4);
    admin_handle.stop(false).await;
}

#[actix_rt::test]
async fn a_rate_limit_keyed_by_client_certificate_counts_each_certificate_apart() {
    let pki = Pki::new();
    let fake = backend();
    let config = format!(
        "{}rate_limits:\n  policies:\n    - {{ name: per-cert, limit: 1, window: 1m, key: client_cert }}\n",
        pki.tls("tls", true, false)
    );
    let route = format!("{ROUTE}\nrate_limit: [per-cert]");
    let gw = gateway(&fake, &config, &route, TEMPLATE);
    let url = gw.url("/things");
    let status = |r: (u16, String)| r.0;
    assert_eq!(status(fetch(&pki, &url, &pki.client("partner-a")).await), 200);
    assert_eq!(status(fetch(&pki, &url, &pki.client("partner-a")).await), 429);
    assert_eq!(status(fetch(&pki, &url, &pki.client("partner-b")).await), 200);
    assert_eq!(fake.hits(), 2);
}

#[actix_rt::test]
async fn route_conditions_and_templates_see_the_client_certificate() {
    let pki = Pki::new();
    let fake = backend();
    let route =
        format!("{ROUTE}\nclaims:\n  client_cert.cn: partner-a\n  client_cert.dns: [a.partner.example]");
    let template = "<t:Get xmlns:t=\"urn:test\"><t:who>{{client_cert.subject}}</t:who>\
        <t:dns>{{client_cert.dns.[0]}}</t:dns></t:Get>";
    let gw = gateway(&fake, &pki.tls("tls", true, false), &route, template);
    let url = gw.url("/things");
    let (status, body) = fetch(&pki, &url, &pki.client("partner-a")).await;
    assert_eq!(status, 200, "{body}");
    let sent = fake.last_request().expect("backend called").body;
    assert!(
        sent.contains("<t:who>CN=partner-a, O=soapgate tests</t:who><t:dns>a.partner.example</t:dns>"),
        "{sent}"
    );
    let (status, body) = fetch(&pki, &url, &pki.client("partner-b")).await;
    assert_eq!(status, 403, "{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).expect("problem+json");
    assert_eq!(problem["code"], "AUTH_CLIENT_CERT");
    assert_eq!(
        problem["detail"],
        "Client certificate refused: the client certificate does not meet the route's conditions."
    );
    // Without client CAs no certificate is asked for, so none is presented.
    let open = gateway(&fake, &pki.tls("tls", false, false), &route, template);
    let (status, body) = fetch(&pki, &open.url("/things"), &[]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("no client certificate was presented"), "{body}");
    assert_eq!(fake.hits(), 1);
}

/// The errors of loading a gateway with `config` (and one route): (key path, message).
fn load_errors(config: &str) -> Vec<(String, String)> {
    let builder: GatewayBuilder =
        TestGateway::builder()
            .config(config)
            .route("http://127.0.0.1:1/s", ROUTE, TEMPLATE);
    match builder.load() {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.path, e.message)).collect(),
    }
}

fn block(key: &str, cert: &Path, key_file: &Path, extra: &str) -> String {
    format!(
        "{key}:\n  cert_file: {}\n  key_file: {}\n{extra}",
        cert.display(),
        key_file.display()
    )
}

#[test]
fn check_refuses_listener_tls_that_can_never_serve() {
    let pki = Pki::new();
    let dir = pki.dir.path();
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    let missing: PathBuf = dir.join("missing.pem");
    let errors = load_errors(&block("tls", &missing, &key, ""));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "tls.cert_file");
    assert!(
        errors[0]
            .1
            .starts_with(&format!("cannot read {}", missing.display())),
        "{errors:?}"
    );

    let errors = load_errors(&block("admin_tls", &cert, &dir.join("client-ca.pem"), ""));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "admin_tls.key_file");
    assert_eq!(errors[0].1, "no private key in it (not PEM, or no key block)");

    let errors = load_errors(&block("tls", &cert, &dir.join("partner-a.key"), ""));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "tls.key_file");
    assert!(
        errors[0]
            .1
            .starts_with("the private key does not match the certificate"),
        "{errors:?}"
    );

    let expired: Leaf = pki.server_ca.until("gw-old", (2020, 1, 1));
    let (old_cert, old_key) = expired.write(dir, "expired");
    let errors = load_errors(&block("tls", &old_cert, &old_key, ""));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "tls.cert_file");
    assert!(errors[0].1.contains("expired on 2020-01-01"), "{errors:?}");

    let errors = load_errors(&block("tls", &cert, &key, "  client_ca_file: nowhere.pem\n"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "tls.client_ca_file");

    let errors = load_errors("tls: { http2: true }");
    let paths: Vec<&str> = errors.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(paths, ["tls.cert_file", "tls.http2"], "{errors:?}");

    let errors = load_errors("tls: { cert: server.pem }");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "tls.cert");
    assert!(
        errors[0]
            .1
            .contains("unknown field `cert`, expected one of `cert_file`"),
        "{errors:?}"
    );

    assert_eq!(load_errors(&block("tls", &cert, &key, "  http2: true\n")), []);
}

#[test]
fn check_warns_about_a_listener_certificate_expiring_within_14_days_and_passes() {
    use chrono::Datelike;
    let pki = Pki::new();
    let day = chrono::Utc::now() + chrono::Duration::days(7);
    let leaf = pki
        .server_ca
        .until("gw-soon", (day.year(), day.month() as u8, day.day() as u8));
    let (cert, key) = leaf.write(pki.dir.path(), "soon");
    let builder = TestGateway::builder()
        .config(&block("tls", &cert, &key, ""))
        .route("http://127.0.0.1:1/s", ROUTE, TEMPLATE);
    let (dir, cfg) = builder.write();
    let out = Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args(["check", "--config", &cfg.display().to_string()])
        .current_dir(dir.path())
        .output()
        .expect("soapgate check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let want = format!(
        "warning: {}: tls.cert_file: {} expires on {} 00:00 UTC (CN=gw-soon, O=soapgate tests) (fix: renew the certificate soon)\n",
        cfg.display(),
        cert.display(),
        day.format("%Y-%m-%d")
    );
    // The warning comes first on stdout, then the `ok` line.
    assert!(stdout.starts_with(&want), "{stdout}");
    assert!(stdout[want.len()..].contains(": ok ("), "{stdout}");
}

/// issue 12 (HTTP/2 safety), on the gateway itself: with `http2: true` the listener's frame guard
/// ends an empty-DATA flood with GOAWAY(ENHANCE_YOUR_CALM), counts it in `/metrics`, and the
/// listener goes on serving HTTP/2.
#[actix_rt::test]
async fn the_http2_listener_cuts_off_an_empty_data_flood_and_keeps_serving() {
    use crate::common::h2raw::{self, frame, hpack, DATA, END_HEADERS, ENHANCE_YOUR_CALM, HEADERS};
    let pki = Pki::new();
    let fake = backend();
    let gw = gateway(&fake, &pki.tls("tls", false, true), ROUTE, TEMPLATE);
    let mut roots = rustls::RootCertStore::empty();
    for c in soapgate::tls::pem::parse_certs(pki.server_ca.pem().as_bytes()).unwrap() {
        roots.add(c).unwrap();
    }
    let mut cfg = rustls::ClientConfig::builder_with_provider(soapgate::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    let addr: std::net::SocketAddr = gw.base.trim_start_matches("https://").parse().unwrap();
    let tls = h2raw::connect(addr, &std::sync::Arc::new(cfg)).await;
    let unit = |i: usize| match i {
        0 => frame(HEADERS, END_HEADERS, 1, &hpack::request(0x83, "/things", &[])),
        _ => frame(DATA, 0, 1, &[]),
    };
    let out = h2raw::session(
        tls,
        h2raw::prologue(),
        unit,
        100_000,
        Vec::new(),
        |f| f.goaway_code().is_some(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(out.goaway(), Some(ENHANCE_YOUR_CALM), "{out:?}");
    assert!(
        out.units_sent < 100_000,
        "cut off before the flood ended: {}",
        out.units_sent
    );
    let stats = gw.gw.rest_tls.as_ref().expect("TLS listener").h2_stats();
    assert_eq!(stats.count(soapgate::tls::h2guard::Violation::EmptyData), 1);
    assert_eq!(fake.hits(), 0, "the flooded request never reached the backend");
    let r = https(&pki, &gw.url("/things"), &s(&["--http2"])).await;
    assert_eq!((r.code, r.stdout.as_str()), (0, "200 2"), "{r:?}");
}

//! Outbound TLS against real components ("TLS everywhere", point 8): nginx as the https SOAP
//! backend (server certificates from a throw-away PKI, mutual TLS), the real OIDC provider over
//! https (discovery, JWKS, tokens, tls_client_auth), a TLS-only redis-server, the trust store
//! from SSL_CERT_FILE, handshake failures as 502 UPSTREAM_TLS with their logged class, and
//! `soapgate check` on broken or expiring certificate files.

use crate::common::fake_soap::{FakeSoap, Reply, SOAP11_NS};
use crate::common::gateway::{assert_problem, GatewayBuilder, Resp, TestGateway};
use crate::common::nginx::{nginx, Nginx, NginxConfig, Upstream};
use crate::common::oidc::{decode_jwt, start_tls, Oidc, OidcTls};
use crate::common::pki::Pki;
use crate::common::process::Soapgate;
use crate::common::redis::{redis_tls, RedisTls};
use actix_web::dev::ServerHandle;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ROUTE: &str = "id: op\nmethod: GET\npath: /op\noperation: Op\naction: urn:test/Op";
const TEMPLATE: &str = "<t:Op xmlns:t=\"{{ns}}\"/>";
const OK: &str = "<t:OpResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:OpResponse>";
const TLS_FAILED: &str = "The secure connection to the backend service failed.";

/// The SOAP 1.1 envelope nginx answers itself (`Upstream::Canned`).
fn canned() -> Upstream {
    Upstream::Canned(format!(
        "<soap:Envelope xmlns:soap=\"{SOAP11_NS}\"><soap:Body>{OK}</soap:Body></soap:Envelope>"
    ))
}

/// nginx serving `<name>.pem` from the PKI.
fn https(pki: &Pki, name: &str, upstream: Upstream, client_ca: bool) -> Option<Nginx> {
    nginx(NginxConfig {
        tls: Some((pki.path(&format!("{name}.pem")), pki.path(&format!("{name}.key")))),
        client_ca: client_ca.then(|| pki.path("ca.pem")),
        upstream,
    })
}

/// The mapping of one route `GET /op` over `url`; `tls` is the `backend.tls` flow mapping.
fn mapping(url: &str, tls: Option<&str>, backend_extra: &str) -> String {
    mapping_of(ROUTE, url, tls, backend_extra)
}

fn mapping_of(route: &str, url: &str, tls: Option<&str>, backend_extra: &str) -> String {
    let route: String = route.lines().map(|l| format!("    {l}\n")).collect();
    let tls = tls.map(|t| format!("  tls: {t}\n")).unwrap_or_default();
    format!(
        "service: svc\nbackend:\n  urls: ['{url}']\n  namespace: urn:test\n{tls}{backend_extra}routes:\n  \
         - request: {{ template: templates/t.xml.hbs }}\n{route}"
    )
}

fn gateway(url: &str, tls: Option<&str>) -> TestGateway {
    TestGateway::builder()
        .mapping("svc", &mapping(url, tls, "  timeout: 2s\n"))
        .file("templates/t.xml.hbs", TEMPLATE)
        .start()
}

fn assert_ok(r: &Resp) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(r.json(), json!({"ok": "yes"}));
}

#[actix_rt::test]
async fn https_backend_through_nginx_with_a_ca_file() {
    let pki = Pki::new();
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let Some(ng) = https(&pki, "server", Upstream::Proxy(fake.url("")), false) else {
        return;
    };
    let tls = format!("{{ ca_file: '{}' }}", pki.p("ca.pem"));
    let gw = gateway(&ng.url("/s"), Some(&tls));
    assert_ok(&gw.get("/op").await);
    // The envelope went through nginx to the plain backend behind it.
    let sent = fake.last_request().expect("nginx proxied the request");
    assert_eq!(sent.soap_action(), Some("urn:test/Op"));
    assert!(
        sent.body.contains("<t:Op xmlns:t=\"urn:test\"/>"),
        "{}",
        sent.body
    );
    // `localhost` is in the certificate too.
    let by_name = gateway(&ng.url("/s").replace("127.0.0.1", "localhost"), Some(&tls));
    assert_ok(&by_name.get("/op").await);
    assert_eq!(fake.hits(), 2);
}

#[actix_rt::test]
async fn server_name_verifies_an_ip_url_against_the_name_in_the_certificate() {
    let pki = Pki::new();
    let Some(ng) = https(&pki, "named", canned(), false) else {
        return;
    };
    let ca = pki.p("ca.pem");
    let gw = gateway(
        &ng.url("/s"),
        Some(&format!("{{ ca_file: '{ca}', server_name: legacy.internal }}")),
    );
    assert_ok(&gw.get("/op").await);
    // The same certificate does not name 127.0.0.1.
    let gw = gateway(&ng.url("/s"), Some(&format!("{{ ca_file: '{ca}' }}")));
    assert_problem(&gw.get("/op").await, 502, "UPSTREAM_TLS", TLS_FAILED, "/op");
}

#[actix_rt::test]
async fn mutual_tls_presents_the_client_certificate_from_files_or_the_environment() {
    let pki = Pki::new();
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let Some(ng) = https(&pki, "server", Upstream::Proxy(fake.url("")), true) else {
        return;
    };
    let (ca, cert, key) = (pki.p("ca.pem"), pki.p("client.pem"), pki.p("client.key"));
    let files = gateway(
        &ng.url("/s"),
        Some(&format!(
            "{{ ca_file: '{ca}', cert_file: '{cert}', key_file: '{key}' }}"
        )),
    );
    assert_ok(&files.get("/op").await);
    let var = "SOAPGATE_IT_TLS_CLIENT_KEY_7c41";
    std::env::set_var(var, pki.read("client.key"));
    let env = gateway(
        &ng.url("/s"),
        Some(&format!(
            "{{ ca_file: '{ca}', cert_file: '{cert}', key_env: {var} }}"
        )),
    );
    assert_ok(&env.get("/op").await);
    assert_eq!(fake.hits(), 2);
}

#[actix_rt::test]
async fn nginx_refusing_a_missing_or_untrusted_client_certificate() {
    let pki = Pki::new();
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let Some(ng) = https(&pki, "server", Upstream::Proxy(fake.url("")), true) else {
        return;
    };
    let ca = pki.p("ca.pem");
    // No client certificate: nginx completes the handshake (it does not abort it for a missing
    // or untrusted certificate) and answers its own `400 No required SSL certificate was sent`
    // page, which soapgate reads as the refusal it is: 502 UPSTREAM_TLS.
    let none = gateway(&ng.url("/s"), Some(&format!("{{ ca_file: '{ca}' }}")));
    let r = none.get("/op").await;
    assert_problem(&r, 502, "UPSTREAM_TLS", TLS_FAILED, "/op");
    // A self-signed client certificate: the same, with nginx's `400 The SSL certificate error`.
    let (cert, key) = (pki.p("self-client.pem"), pki.p("self-client.key"));
    let selfsigned = gateway(
        &ng.url("/s"),
        Some(&format!(
            "{{ ca_file: '{ca}', cert_file: '{cert}', key_file: '{key}' }}"
        )),
    );
    let r = selfsigned.get("/op").await;
    assert_problem(&r, 502, "UPSTREAM_TLS", TLS_FAILED, "/op");
    assert_eq!(fake.hits(), 0, "nothing reached the backend behind nginx");
}

/// `soapgate serve` (the binary) over the files of `b` with `settings` as the rest of
/// soapgate.yaml, JSON logs at info on stdout; `adjust` sets its environment.
fn serve(
    b: &GatewayBuilder,
    settings: &str,
    adjust: impl FnOnce(&mut std::process::Command),
) -> (Soapgate, String, tempfile::TempDir) {
    let (dir, cfg) = b.write();
    std::fs::write(
        &cfg,
        format!("listen: 127.0.0.1:0\nworkers: 1\nlogging: {{ format: json, level: info }}\n{settings}"),
    )
    .expect("config");
    let mut p = Soapgate::start_with(&["serve", "--config", "soapgate.yaml"], dir.path(), adjust);
    let ready = p
        .wait_line(Duration::from_secs(20), |l| l.contains("soapgate listening"))
        .unwrap_or_else(|| panic!("no listening line; saw {:?}", p.seen));
    let v: Value = serde_json::from_str(&ready).expect("JSON line");
    let listen = v["listen"]
        .as_str()
        .expect("listen")
        .trim_matches(['[', ']'])
        .to_string();
    (p, format!("http://{listen}"), dir)
}

/// GET through the binary's listener.
async fn fetch(url: &str) -> Resp {
    let mut res = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish()
        .get(url)
        .send()
        .await
        .expect("gateway answers");
    let body = res.body().await.expect("body").to_vec();
    Resp {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body,
    }
}

/// One request through the binary over `url` with `tls`: the answer and the backend warning
/// logged for it (the `tls_failure` line, or the handshake timeout line).
async fn through_binary(url: &str, tls: Option<&str>, settings: &str) -> (Resp, Value) {
    let b = TestGateway::builder()
        .mapping("svc", &mapping(url, tls, "  timeout: 2s\n"))
        .file("templates/t.xml.hbs", TEMPLATE);
    let (mut p, base, _dir) = serve(&b, settings, |_| {});
    let r = fetch(&format!("{base}/op")).await;
    let line = p
        .wait_line(Duration::from_secs(10), |l| {
            l.contains("\"tls_failure\"") || l.contains("handshake timed out")
        })
        .unwrap_or_else(|| panic!("no TLS warning; saw {:?}", p.seen));
    (r, serde_json::from_str(&line).expect("JSON line"))
}

/// 502 UPSTREAM_TLS with `class` logged for `url`.
async fn assert_tls_failure(url: &str, tls: &str, class: &str) {
    let (r, log) = through_binary(url, Some(tls), "").await;
    assert_problem(&r, 502, "UPSTREAM_TLS", TLS_FAILED, "/op");
    assert_eq!(log["tls_failure"], class, "{log}");
    assert_eq!(log["backend"], url, "{log}");
    assert_eq!(log["level"], "WARN", "{log}");
}

#[actix_rt::test]
async fn a_server_certificate_from_an_unknown_ca_is_502_upstream_tls() {
    let pki = Pki::new();
    let Some(ng) = https(&pki, "server", canned(), false) else {
        return;
    };
    let tls = format!("{{ ca_file: '{}' }}", pki.p("other-ca.pem"));
    assert_tls_failure(&ng.url("/s"), &tls, "unknown CA").await;
}

#[actix_rt::test]
async fn a_server_certificate_for_another_name_is_502_upstream_tls() {
    let pki = Pki::new();
    let Some(ng) = https(&pki, "wrong", canned(), false) else {
        return;
    };
    let tls = format!("{{ ca_file: '{}' }}", pki.p("ca.pem"));
    assert_tls_failure(&ng.url("/s"), &tls, "name mismatch").await;
}

#[actix_rt::test]
async fn an_expired_server_certificate_is_502_upstream_tls() {
    let pki = Pki::new();
    let Some(ng) = https(&pki, "expired", canned(), false) else {
        return;
    };
    let tls = format!("{{ ca_file: '{}' }}", pki.p("ca.pem"));
    assert_tls_failure(&ng.url("/s"), &tls, "certificate expired or not yet valid").await;
}

#[actix_rt::test]
async fn an_https_url_to_a_plain_http_port_is_502_upstream_tls() {
    let pki = Pki::new();
    // Plain-http nginx answers the ClientHello with its HTML 400 page and closes.
    let Some(plain) = nginx(NginxConfig {
        tls: None,
        client_ca: None,
        upstream: canned(),
    }) else {
        return;
    };
    let tls = format!("{{ ca_file: '{}' }}", pki.p("ca.pem"));
    assert_tls_failure(&plain.url("/s"), &tls, "the peer does not speak TLS").await;
}

#[actix_rt::test]
async fn a_tls_port_that_never_answers_is_504_upstream_timeout() {
    let pki = Pki::new();
    // The kernel accepts the TCP connection; nobody ever reads or writes on it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://{}/s", silent.local_addr().expect("addr"));
    let tls = format!("{{ ca_file: '{}' }}", pki.p("ca.pem"));
    let (r, log) = through_binary(&url, Some(&tls), "timeouts: { backend_connect: 300ms }\n").await;
    assert_problem(
        &r,
        504,
        "UPSTREAM_TIMEOUT",
        "The backend did not answer within 300 ms.",
        "/op",
    );
    assert_eq!(log["backend"], url, "{log}");
    assert!(log["tls_failure"].is_null(), "{log}");
    // The handshake timeout (backend_connect, 300 ms) ended it, not the 2 s exchange timeout
    // (the detail names the latter either way).
    assert_eq!(
        log["message"], "backend connect or TLS handshake timed out, trying the next URL",
        "{log}"
    );
    drop(silent);
}

#[actix_rt::test]
async fn ssl_cert_file_is_the_trust_store_without_a_ca_file() {
    let pki = Pki::new();
    let Some(ng) = https(&pki, "server", canned(), false) else {
        return;
    };
    let b = TestGateway::builder()
        .mapping("svc", &mapping(&ng.url("/s"), None, "  timeout: 2s\n"))
        .file("templates/t.xml.hbs", TEMPLATE);
    let ca = pki.path("ca.pem");
    let (_p, base, _dir) = serve(&b, "", |c| {
        c.env("SSL_CERT_FILE", &ca).env_remove("SSL_CERT_DIR");
    });
    assert_ok(&fetch(&format!("{base}/op")).await);
    let (mut p, base, _dir) = serve(&b, "", |c| {
        c.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
    });
    let r = fetch(&format!("{base}/op")).await;
    assert_problem(&r, 502, "UPSTREAM_TLS", TLS_FAILED, "/op");
    let line = p
        .wait_line(Duration::from_secs(10), |l| l.contains("\"tls_failure\""))
        .expect("the TLS warning");
    let log: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(log["tls_failure"], "unknown CA", "{log}");
}

/// The provider over https with `server.pem`; `client_ca` enables its `tls_client_auth` client.
fn https_idp(pki: &Pki, client_ca: bool) -> Option<Oidc> {
    start_tls(&OidcTls {
        cert: pki.path("server.pem"),
        key: pki.path("server.key"),
        ca: pki.path("ca.pem"),
        client_ca: client_ca.then(|| pki.path("ca.pem")),
    })
}

/// A gateway whose route needs `customers:read` from the provider `corp` trusted through
/// `ca_file`, with its admin listener (for `/readyz`).
async fn auth_gateway(idp: &Oidc, ca_file: &str, fake_url: &str) -> (TestGateway, String, ServerHandle) {
    let auth = format!(
        "auth:\n  providers:\n    - name: corp\n      issuer: {}\n      audiences: [urn:soapgate:api]\n      \
         tls: {{ ca_file: '{ca_file}' }}\n",
        idp.issuer()
    );
    let route = format!("{ROUTE}\nscopes: [customers:read]");
    let gw = TestGateway::builder()
        .config(&auth)
        .mapping("svc", &mapping_of(&route, fake_url, None, ""))
        .file("templates/t.xml.hbs", TEMPLATE)
        .start();
    let (server, addrs) = soapgate::admin::admin_server(gw.gw.clone(), "127.0.0.1:0").expect("admin");
    let handle = server.handle();
    actix_rt::spawn(server);
    (gw, format!("http://{}/readyz", addrs[0]), handle)
}

async fn bearer(gw: &TestGateway, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    gw.send("GET", "/op", &[("authorization", auth.as_str())], None)
        .await
}

#[actix_rt::test]
async fn an_https_identity_provider_trusted_by_ca_file_makes_the_gateway_ready() {
    let pki = Pki::new();
    let Some(idp) = https_idp(&pki, false) else {
        return;
    };
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let (gw, readyz, admin) = auth_gateway(&idp, &pki.p("ca.pem"), &fake.url("/s")).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !gw.gw.ready() {
        assert!(Instant::now() < deadline, "the https provider never became ready");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let r = fetch(&readyz).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json(),
        json!({"ready": true, "routes": 1, "providers": [{"name": "corp", "ready": true, "keys": 2}]})
    );
    let token = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    assert_eq!(decode_jwt(&token).1["iss"], idp.issuer());
    assert_ok(&bearer(&gw, &token).await);
    assert_eq!(fake.hits(), 1);
    admin.stop(false).await;
}

#[actix_rt::test]
async fn an_https_identity_provider_under_the_wrong_ca_keeps_the_gateway_unready() {
    let pki = Pki::new();
    let Some(idp) = https_idp(&pki, false) else {
        return;
    };
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let (gw, readyz, admin) = auth_gateway(&idp, &pki.p("other-ca.pem"), &fake.url("/s")).await;
    actix_rt::time::sleep(Duration::from_millis(1000)).await;
    let r = fetch(&readyz).await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json(),
        json!({"ready": false, "routes": 1, "providers": [{"name": "corp", "ready": false, "keys": 0,
            "error": format!("discovery {}/.well-known/oauth-authorization-server: identity provider \
                unreachable: TLS handshake failed (unknown CA): Failed to connect to host: invalid peer \
                certificate: UnknownIssuer", idp.issuer())}]})
    );
    let token = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    let r = bearer(&gw, &token).await;
    assert_problem(
        &r,
        503,
        "AUTH_UNAVAILABLE",
        "The identity provider cannot be reached to check the token.",
        "/op",
    );
    assert_eq!(fake.hits(), 0);
    admin.stop(false).await;
}

#[actix_rt::test]
async fn client_credentials_over_https_with_tls_client_auth_and_with_a_secret() {
    let pki = Pki::new();
    let Some(idp) = https_idp(&pki, true) else {
        return;
    };
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let ca = pki.p("ca.pem");
    let token_url = idp.url("/token");
    let with = |creds: String| {
        TestGateway::builder()
            .mapping(
                "svc",
                &mapping(&fake.url("/s"), None, &format!("  credentials: {creds}\n")),
            )
            .file("templates/t.xml.hbs", TEMPLATE)
            .file("cs", "s3cret\n")
            .start()
    };
    let sent_client_id = || {
        let auth = fake
            .last_request()
            .expect("sent")
            .header("authorization")
            .expect("Authorization")
            .to_string();
        let (_, claims) = decode_jwt(auth.strip_prefix("Bearer ").expect("bearer"));
        assert_eq!(claims["iss"], idp.issuer(), "{claims}");
        claims["client_id"].clone()
    };
    // RFC 8705: no secret, the CA-signed client certificate (CN=soapgate-client) authenticates.
    let mtls = |cert: &str| {
        format!(
            "{{ kind: oauth2_client_credentials, token_url: '{token_url}', client_id: gateway-mtls, \
             auth_method: tls_client_auth, scopes: [customers:read], tls: {{ ca_file: '{ca}', \
             cert_file: '{}', key_file: '{}' }} }}",
            pki.p(&format!("{cert}.pem")),
            pki.p(&format!("{cert}.key"))
        )
    };
    assert_ok(&with(mtls("client")).get("/op").await);
    assert_eq!(sent_client_id(), "gateway-mtls");
    // client_secret_basic over the same https endpoint.
    let basic = format!(
        "{{ kind: oauth2_client_credentials, token_url: '{token_url}', client_id: gateway-tests, \
         client_secret_file: cs, tls: {{ ca_file: '{ca}' }} }}"
    );
    assert_ok(&with(basic).get("/op").await);
    assert_eq!(sent_client_id(), "gateway-tests");
    // A self-signed client certificate is not verified by the provider: no token, no call.
    let r = with(mtls("self-client")).get("/op").await;
    assert_problem(
        &r,
        503,
        "BACKEND_CREDENTIALS_UNAVAILABLE",
        "The gateway could not obtain credentials for the backend.",
        "/op",
    );
    assert_eq!(fake.hits(), 2);
}

/// `rate_limits` over a `rediss://` store with `tls`; policy `p`: 3 per hour, on `on_error`.
fn rediss_gateway(url: &str, tls: &str, on_error: &str, fake_url: &str) -> TestGateway {
    let config = format!(
        "rate_limits:\n  store: {{ kind: redis, url: '{url}', timeout: 2s, retry_interval: 200ms, \
         on_error: {on_error}, tls: {tls} }}\n  policies:\n    - {{ name: p, limit: 3, window: 1h }}\n"
    );
    let route = format!("{ROUTE}\nrate_limit: [p]");
    TestGateway::builder()
        .config(&config)
        .mapping("svc", &mapping_of(&route, fake_url, None, ""))
        .file("templates/t.xml.hbs", TEMPLATE)
        .start()
}

fn degraded(gw: &TestGateway) -> bool {
    gw.gw.metrics.render().contains("soapgate_ratelimit_degraded 1")
}

#[actix_rt::test]
async fn a_rediss_store_with_a_client_certificate_shares_one_limit() {
    let pki = Pki::new();
    let Some(redis) = redis_tls(RedisTls {
        cert: pki.path("server.pem"),
        key: pki.path("server.key"),
        ca: pki.path("ca.pem"),
        auth_clients: true,
    }) else {
        return;
    };
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let tls = format!(
        "{{ ca_file: '{}', cert_file: '{}', key_file: '{}' }}",
        pki.p("ca.pem"),
        pki.p("client.pem"),
        pki.p("client.key")
    );
    let a = rediss_gateway(&redis.url(), &tls, "reject", &fake.url("/s"));
    let b = rediss_gateway(&redis.url(), &tls, "reject", &fake.url("/s"));
    let mut statuses = Vec::new();
    for gw in [&a, &b, &a, &b, &a] {
        statuses.push(gw.get("/op").await.status);
    }
    // One bucket in the TLS store for both instances (on_error: reject, so no local fallback
    // could have produced these).
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert!(!degraded(&a) && !degraded(&b));
    assert_eq!(fake.hits(), 3);
}

#[actix_rt::test]
async fn a_rediss_store_under_the_wrong_ca_or_without_a_client_certificate_falls_back() {
    let pki = Pki::new();
    let Some(redis) = redis_tls(RedisTls {
        cert: pki.path("server.pem"),
        key: pki.path("server.key"),
        ca: pki.path("ca.pem"),
        auth_clients: true,
    }) else {
        return;
    };
    let fake = FakeSoap::new().otherwise(Reply::soap11(OK)).start();
    let wrong_ca = format!("{{ ca_file: '{}' }}", pki.p("other-ca.pem"));
    let no_cert = format!("{{ ca_file: '{}' }}", pki.p("ca.pem"));
    for tls in [&wrong_ca, &no_cert] {
        // on_error: local — this instance's own counters enforce the limit.
        let local = rediss_gateway(&redis.url(), tls, "local", &fake.url("/s"));
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(local.get("/op").await.status);
        }
        assert_eq!(statuses, [200, 200, 200, 429, 429], "{tls}");
        assert!(degraded(&local), "{tls}");
        // on_error: reject — 503 RATE_LIMIT_UNAVAILABLE, the backend untouched.
        let reject = rediss_gateway(&redis.url(), tls, "reject", &fake.url("/s"));
        let r = reject.get("/op").await;
        assert_eq!(r.status, 503, "{tls}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["code"], "RATE_LIMIT_UNAVAILABLE");
        assert_eq!(r.header("retry-after"), Some("1"));
        assert!(degraded(&reject), "{tls}");
    }
    assert_eq!(fake.hits(), 6);
}

/// `soapgate check` over a mapping whose `backend.tls` is `tls`, the PKI's files under `certs/`.
/// `auth` is more of soapgate.yaml, `backend_extra` more of the `backend:` block.
fn check(pki: &Pki, tls: &str, auth: &str, backend_extra: &str) -> (std::process::Output, tempfile::TempDir) {
    let mut b = TestGateway::builder()
        .config(auth)
        .mapping("svc", &mapping("https://127.0.0.1:1/s", Some(tls), backend_extra))
        .file("templates/t.xml.hbs", TEMPLATE)
        .file("certs/notes.txt", "not a certificate\n");
    for f in [
        "ca.pem",
        "client.pem",
        "client.key",
        "server.key",
        "expired.pem",
        "expired.key",
    ] {
        b = b.file(&format!("certs/{f}"), &pki.read(f));
    }
    b = b
        .file("certs/soon.pem", &pki.read("soon.pem"))
        .file("certs/soon.key", &pki.read("soon.key"));
    let (dir, cfg) = b.write();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args(["check", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .output()
        .expect("run soapgate check");
    (out, dir)
}

#[actix_rt::test]
async fn check_names_the_file_and_key_of_each_broken_certificate_without_key_material() {
    let pki = Pki::new();
    let var = "SOAPGATE_IT_TLS_WRONG_KEY_51d0";
    std::env::set_var(var, pki.read("server.key"));
    let secrets: Vec<String> = ["server.key", "client.key", "expired.key"]
        .iter()
        .flat_map(|k| pki.read(k).lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let cases = [
        ("{ ca_file: certs/missing.pem }", "backend.tls.ca_file: cannot read {d}/certs/missing.pem: No such file or directory (os error 2) (fix: check the path (relative to soapgate.yaml) and its permissions)"),
        ("{ ca_file: certs/notes.txt }", "backend.tls.ca_file: {d}/certs/notes.txt: no certificate in it (not PEM, or no CERTIFICATE block) (fix: give a PEM file with -----BEGIN CERTIFICATE----- blocks)"),
        ("{ cert_file: certs/client.pem, key_file: certs/client.pem }", "backend.tls.key_file: no private key in it (not PEM, or no key block) (fix: give an unencrypted PEM key: PKCS#8, RSA (PKCS#1) or EC (SEC1))"),
        ("{ cert_file: certs/client.pem, key_file: certs/server.key }", "backend.tls.key_file: the private key does not match the certificate ({d}/certs/client.pem) (fix: give the key the certificate was issued for)"),
        (&format!("{{ cert_file: certs/client.pem, key_env: {var} }}"), "backend.tls.key_env: the private key does not match the certificate ({d}/certs/client.pem) (fix: give the key the certificate was issued for)"),
        ("{ cert_file: certs/expired.pem, key_file: certs/expired.key }", "backend.tls.cert_file: {d}/certs/expired.pem expired on 2021-01-01 00:00 UTC (CN=expired) (fix: renew the certificate)"),
        ("{ ca_file: certs/expired.pem }", "backend.tls.ca_file: {d}/certs/expired.pem expired on 2021-01-01 00:00 UTC (CN=expired) (fix: renew the certificate)"),
    ];
    for (tls, line) in cases {
        let (out, dir) = check(&pki, tls, "", "");
        let d = dir.path().display().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!(
            "1 config error(s):\n  {d}/mappings/svc.yaml: {}\n",
            line.replace("{d}", &d)
        );
        assert_eq!(out.status.code(), Some(1), "{tls}: {stderr}");
        assert_eq!(stderr, expected, "{tls}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{tls}");
        assert!(!stderr.contains("PRIVATE KEY"), "{tls}: {stderr}");
        for line in secrets.iter().filter(|l| !l.starts_with("-----")) {
            assert!(!stderr.contains(line.as_str()), "{tls}: key material in {stderr}");
        }
    }
}

#[actix_rt::test]
async fn check_names_identity_provider_and_token_endpoint_tls_keys() {
    let pki = Pki::new();
    let auth = "auth:\n  providers:\n    - { name: corp, issuer: 'https://127.0.0.1:1', audiences: [a], \
                tls: { ca_file: certs/notes.txt } }\n";
    let credentials =
        "  credentials: { kind: oauth2_client_credentials, token_url: 'https://127.0.0.1:1/token', \
                       client_id: x, auth_method: tls_client_auth, tls: { ca_file: certs/ca.pem, \
                       cert_file: certs/expired.pem, key_file: certs/expired.key } }\n";
    let (out, dir) = check(&pki, "{ ca_file: certs/ca.pem }", auth, credentials);
    let d = dir.path().display().to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let expected = [
        format!(
            "  {d}/soapgate.yaml: auth.providers[0].tls.ca_file: {d}/certs/notes.txt: no certificate in it \
             (not PEM, or no CERTIFICATE block) (fix: give a PEM file with -----BEGIN CERTIFICATE----- blocks)"
        ),
        format!(
            "  {d}/mappings/svc.yaml: backend.credentials.tls.cert_file: {d}/certs/expired.pem expired on \
             2021-01-01 00:00 UTC (CN=expired) (fix: renew the certificate)"
        ),
    ];
    assert!(stderr.starts_with("2 config error(s):\n"), "{stderr}");
    for line in &expected {
        assert!(stderr.lines().any(|l| l == line), "missing {line:?} in\n{stderr}");
    }
    assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");
}

#[actix_rt::test]
async fn check_warns_about_a_certificate_expiring_in_5_days_and_exits_0() {
    let pki = Pki::new();
    let (out, dir) = check(
        &pki,
        "{ ca_file: certs/ca.pem, cert_file: certs/soon.pem, key_file: certs/soon.key }",
        "",
        "",
    );
    let d = dir.path().display().to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(stderr, "");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[1], format!("{d}/soapgate.yaml: ok (1 services, 1 routes)"));
    let prefix =
        format!("warning: {d}/mappings/svc.yaml: backend.tls.cert_file: {d}/certs/soon.pem expires on ");
    let suffix = " UTC (CN=soon) (fix: renew the certificate soon)";
    let date = lines[0]
        .strip_prefix(&prefix)
        .and_then(|r| r.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("{stdout}"));
    let when = chrono::NaiveDateTime::parse_from_str(date, "%Y-%m-%d %H:%M").expect("a date");
    let days = (when - chrono::Utc::now().naive_utc()).num_minutes() as f64 / 1440.0;
    assert!((4.99..=5.0).contains(&days), "{days} days: {stdout}");
    assert!(!stdout.contains("PRIVATE KEY"));
}

//! Backend credentials (`backend.credentials`): HTTP Basic, WS-Security UsernameToken (text and
//! digest, SOAP 1.1 and 1.2, beside a route's header template), OAuth2 client credentials against the
//! real OIDC provider (cached token, basic and post client authentication), failures as 503 before
//! the backend is touched, config errors, and no secret in the logs.

use crate::common::fake_soap::{FakeHandle, FakeSoap, RecordedRequest, Reply, SOAP11_NS, SOAP12_NS};
use crate::common::gateway::{assert_problem, Resp, TestGateway};
use crate::common::oidc::{decode_jwt, oidc};
use crate::common::process::Soapgate;
use base64::Engine as _;
use serde_json::json;
use sha1::{Digest, Sha1};
use soapgate::config::Snapshot;
use std::time::Duration;

const WSSE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const WSU: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const PROFILE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0";
const OK: &str = "<t:OpResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:OpResponse>";
const NO_CREDENTIALS: &str = "The gateway could not obtain credentials for the backend.";

/// A mapping `svc` over `url` with `credentials` (a YAML flow mapping) and one route `GET /op`.
fn mapping(url: &str, version: &str, credentials: &str, header_template: bool) -> String {
    let header = if header_template {
        ", header_template: templates/h.xml.hbs"
    } else {
        ""
    };
    format!(
        "service: svc\nbackend:\n  urls: [{url}]\n  soap_version: \"{version}\"\n  namespace: urn:test\n  \
         credentials: {credentials}\nroutes:\n  - id: op\n    method: GET\n    path: /op\n    \
         operation: Op\n    action: urn:test/Op\n    \
         request: {{ template: templates/t.xml.hbs{header} }}\n"
    )
}

fn builder(
    url: &str,
    version: &str,
    credentials: &str,
    header_template: bool,
) -> crate::common::gateway::GatewayBuilder {
    TestGateway::builder()
        .mapping("svc", &mapping(url, version, credentials, header_template))
        .file("templates/t.xml.hbs", "<t:Op xmlns:t=\"{{ns}}\"/>")
        .file(
            "templates/h.xml.hbs",
            "<t:Tenant xmlns:t=\"urn:test\">{{correlation_id}}</t:Tenant>",
        )
}

fn fake11() -> FakeHandle {
    FakeSoap::new().otherwise(Reply::soap11(OK)).start()
}

fn assert_ok(r: &Resp) {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"ok": "yes"}));
}

fn sent(fake: &FakeHandle) -> RecordedRequest {
    fake.last_request().expect("the backend got a request")
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

#[actix_rt::test]
async fn basic_credentials_arrive_as_an_authorization_header() {
    let fake = fake11();
    let var = "SOAPGATE_IT_CREDENTIALS_BASIC_PW_3b1e";
    std::env::set_var(var, "it-basic-pw");
    let creds = format!("{{ kind: basic, username: svc, password_env: {var} }}");
    let gw = builder(&fake.url("/s"), "1.1", &creds, false).start();
    assert_ok(&gw.get("/op").await);
    // python3: base64.b64encode(b"svc:it-basic-pw")
    assert_eq!(
        sent(&fake).header("authorization"),
        Some("Basic c3ZjOml0LWJhc2ljLXB3")
    );
    assert!(!sent(&fake).body.contains("Security"));
}

/// The SOAP Header children of a recorded envelope, as (namespace, local name).
fn header_blocks(doc: &roxmltree::Document, soap_ns: &str) -> Vec<(String, String)> {
    let headers: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name((soap_ns, "Header")))
        .collect();
    assert_eq!(headers.len(), 1, "exactly one soap:Header");
    headers[0]
        .children()
        .filter(|n| n.is_element())
        .map(|n| {
            let name = n.tag_name();
            (
                name.namespace().unwrap_or("").to_string(),
                name.name().to_string(),
            )
        })
        .collect()
}

fn text<'a>(doc: &'a roxmltree::Document, ns: &str, name: &str) -> Option<&'a str> {
    doc.descendants()
        .find(|n| n.has_tag_name((ns, name)))
        .and_then(|n| n.text())
}

fn parse_time(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[actix_rt::test]
async fn ws_security_password_text_arrives_in_a_soap12_header() {
    let fake = FakeSoap::new().otherwise(Reply::soap12(OK)).start();
    let creds = "{ kind: ws_security_username_token, username: 'svc&co', password_file: secrets/crm.txt, \
                 password_type: text, ttl: 2m }";
    let gw = builder(&fake.url("/s"), "1.2", creds, false)
        .file("secrets/crm.txt", "pa<ss>&word\n")
        .start();
    assert_ok(&gw.get("/op").await);
    let body = sent(&fake).body;
    let doc = roxmltree::Document::parse(&body).expect("well-formed envelope");
    assert_eq!(
        header_blocks(&doc, SOAP12_NS),
        [(WSSE.to_string(), "Security".to_string())]
    );
    let security = doc
        .descendants()
        .find(|n| n.has_tag_name((WSSE, "Security")))
        .expect("Security");
    assert_eq!(security.attribute((SOAP12_NS, "mustUnderstand")), Some("1"));
    assert_eq!(text(&doc, WSSE, "Username"), Some("svc&co"));
    assert_eq!(text(&doc, WSSE, "Password"), Some("pa<ss>&word"));
    let password = doc
        .descendants()
        .find(|n| n.has_tag_name((WSSE, "Password")))
        .expect("Password");
    assert_eq!(
        password.attribute("Type"),
        Some(format!("{PROFILE}#PasswordText").as_str())
    );
    assert!(text(&doc, WSSE, "Nonce").is_none(), "{body}");
    // Timestamp: Created now, Expires = Created + ttl.
    let timestamp = doc
        .descendants()
        .find(|n| n.has_tag_name((WSU, "Timestamp")))
        .expect("Timestamp");
    let field = |name: &str| {
        timestamp
            .children()
            .find(|n| n.has_tag_name((WSU, name)))
            .and_then(|n| n.text())
            .map(parse_time)
            .expect("timestamp field")
    };
    let (created, expires) = (field("Created"), field("Expires"));
    assert_eq!(expires - created, chrono::TimeDelta::seconds(120));
    let age = chrono::Utc::now().signed_duration_since(created);
    assert!(age.num_seconds().abs() < 60, "{created}");
}

#[actix_rt::test]
async fn ws_security_digest_verifies_is_fresh_per_request_and_sits_beside_the_header_template() {
    let fake = fake11();
    let creds = "{ kind: ws_security_username_token, username: svc, password_file: pw }";
    let gw = builder(&fake.url("/s"), "1.1", creds, true)
        .file("pw", "d1gest-s3cret")
        .start();
    let mut nonces = Vec::new();
    for _ in 0..2 {
        assert_ok(&gw.get("/op").await);
        let req = sent(&fake);
        assert_eq!(req.header("authorization"), None);
        let doc = roxmltree::Document::parse(&req.body).expect("well-formed envelope");
        assert_eq!(
            header_blocks(&doc, SOAP11_NS),
            [
                (WSSE.to_string(), "Security".to_string()),
                ("urn:test".to_string(), "Tenant".to_string())
            ]
        );
        let security = doc
            .descendants()
            .find(|n| n.has_tag_name((WSSE, "Security")))
            .expect("Security");
        assert_eq!(security.attribute((SOAP11_NS, "mustUnderstand")), Some("1"));
        let token = doc
            .descendants()
            .find(|n| n.has_tag_name((WSSE, "UsernameToken")))
            .expect("UsernameToken");
        let child = |ns: &str, name: &str| {
            token
                .children()
                .find(|n| n.has_tag_name((ns, name)))
                .unwrap_or_else(|| panic!("{name} in {}", req.body))
        };
        assert_eq!(child(WSSE, "Username").text(), Some("svc"));
        let password = child(WSSE, "Password");
        assert_eq!(
            password.attribute("Type"),
            Some(format!("{PROFILE}#PasswordDigest").as_str())
        );
        let nonce = child(WSSE, "Nonce");
        assert!(nonce
            .attribute("EncodingType")
            .is_some_and(|t| t.ends_with("#Base64Binary")));
        let nonce_b64 = nonce.text().expect("nonce").to_string();
        let created = child(WSU, "Created").text().expect("created");
        let nonce_bytes = base64::engine::general_purpose::STANDARD
            .decode(&nonce_b64)
            .expect("base64 nonce");
        assert_eq!(nonce_bytes.len(), 16);
        // What a WS-Security server does: Base64(SHA-1(nonce + created + password)).
        let mut h = Sha1::new();
        h.update(&nonce_bytes);
        h.update(created.as_bytes());
        h.update(b"d1gest-s3cret");
        let expected = base64::engine::general_purpose::STANDARD.encode(h.finalize());
        assert_eq!(password.text(), Some(expected.as_str()));
        assert!(!req.body.contains("d1gest-s3cret"));
        assert!(text(&doc, WSU, "Expires").is_some(), "timestamp on by default");
        nonces.push(nonce_b64);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per request");
}

#[actix_rt::test]
async fn client_credentials_send_the_providers_jwt_and_reuse_it() {
    let Some(op) = oidc() else { return };
    let fake = fake11();
    let creds = format!(
        "{{ kind: oauth2_client_credentials, token_url: '{}', client_id: gateway-tests, \
         client_secret_file: cs, scopes: [customers:read, orders:read] }}",
        op.url("/token")
    );
    let gw = builder(&fake.url("/s"), "1.1", &creds, false)
        .file("cs", "s3cret\n")
        .start();
    assert_ok(&gw.get("/op").await);
    let first = sent(&fake)
        .header("authorization")
        .expect("Authorization")
        .to_string();
    let jwt = first.strip_prefix("Bearer ").expect("a bearer token");
    let (header, claims) = decode_jwt(jwt);
    assert_eq!(header["alg"], "RS256", "{header}");
    assert_eq!(claims["client_id"], "gateway-tests", "{claims}");
    assert_eq!(claims["scope"], "customers:read orders:read", "{claims}");
    assert_eq!(claims["aud"], "urn:soapgate:api", "{claims}");
    assert_eq!(claims["iss"], op.issuer());
    // The token is cached: the second request carries the same one (a new token has a new jti).
    assert_ok(&gw.get("/op").await);
    assert_eq!(sent(&fake).header("authorization"), Some(first.as_str()));
    assert_eq!(fake.hits(), 2);
}

#[actix_rt::test]
async fn client_credentials_with_client_secret_post_and_a_resource() {
    let Some(op) = oidc() else { return };
    let fake = fake11();
    let var = "SOAPGATE_IT_CREDENTIALS_CLIENT_SECRET_9d2c";
    std::env::set_var(var, "s3cret");
    let creds = format!(
        "{{ kind: oauth2_client_credentials, token_url: '{}', client_id: gateway-tests-post, \
         client_secret_env: {var}, auth_method: post, scopes: [customers:write], \
         resource: 'urn:soapgate:api-es', refresh_before: 10s }}",
        op.url("/token")
    );
    let gw = builder(&fake.url("/s"), "1.1", &creds, false).start();
    assert_ok(&gw.get("/op").await);
    let auth = sent(&fake)
        .header("authorization")
        .expect("Authorization")
        .to_string();
    let (header, claims) = decode_jwt(auth.strip_prefix("Bearer ").expect("bearer"));
    assert_eq!(header["alg"], "ES256", "{header}");
    assert_eq!(claims["aud"], "urn:soapgate:api-es", "{claims}");
    assert_eq!(claims["client_id"], "gateway-tests-post", "{claims}");
    assert_eq!(claims["scope"], "customers:write", "{claims}");
}

#[actix_rt::test]
async fn a_token_endpoint_that_is_down_is_503_and_the_backend_is_not_reached() {
    let fake = fake11();
    let creds = format!(
        "{{ kind: oauth2_client_credentials, token_url: 'http://127.0.0.1:{}/token', client_id: c, \
         client_secret_file: cs }}",
        closed_port()
    );
    let gw = builder(&fake.url("/s"), "1.1", &creds, false)
        .file("cs", "s3cret")
        .start();
    for _ in 0..2 {
        let r = gw.get("/op").await;
        assert_problem(&r, 503, "BACKEND_CREDENTIALS_UNAVAILABLE", NO_CREDENTIALS, "/op");
        assert!(!String::from_utf8_lossy(&r.body).contains("127.0.0.1"));
    }
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn a_wrong_client_secret_is_503_and_the_backend_is_not_reached() {
    let Some(op) = oidc() else { return };
    let fake = fake11();
    let creds = format!(
        "{{ kind: oauth2_client_credentials, token_url: '{}', client_id: gateway-tests, \
         client_secret_file: cs, scopes: [customers:read] }}",
        op.url("/token")
    );
    let gw = builder(&fake.url("/s"), "1.1", &creds, false)
        .file("cs", "not-the-secret")
        .start();
    let r = gw.get("/op").await;
    assert_problem(&r, 503, "BACKEND_CREDENTIALS_UNAVAILABLE", NO_CREDENTIALS, "/op");
    assert!(!String::from_utf8_lossy(&r.body).contains("not-the-secret"));
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn a_backend_401_drops_the_cached_token() {
    let Some(op) = oidc() else { return };
    let fake = FakeSoap::new()
        .on(
            "Op",
            Reply::fault11("Client", "token expired").status(401).times(1),
        )
        .otherwise(Reply::soap11(OK))
        .start();
    let creds = format!(
        "{{ kind: oauth2_client_credentials, token_url: '{}', client_id: gateway-tests, \
         client_secret_file: cs, scopes: [orders:read] }}",
        op.url("/token")
    );
    let gw = builder(&fake.url("/s"), "1.1", &creds, false)
        .file("cs", "s3cret")
        .start();
    let r = gw.get("/op").await;
    assert_ne!(r.status, 200);
    assert_ok(&gw.get("/op").await);
    let requests = fake.requests();
    let auth = |i: usize| requests[i].header("authorization").map(str::to_string);
    assert!(auth(0).is_some() && auth(1).is_some());
    assert_ne!(
        auth(0),
        auth(1),
        "a new token after the backend refused the first"
    );
}

#[actix_rt::test]
async fn config_errors_name_the_file_the_key_path_and_the_fix() {
    let var = "SOAPGATE_IT_CREDENTIALS_SURELY_UNSET_77aa";
    let b = builder(
        "http://127.0.0.1:9/s",
        "1.1",
        &format!("{{ kind: basic, username: svc, password_env: {var} }}"),
        false,
    );
    let (dir, cfg) = b.write();
    let errors = Snapshot::load(&cfg).expect_err("rejected");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e.file, dir.path().join("mappings/svc.yaml").display().to_string());
    assert_eq!(e.path, "backend.credentials.password_env");
    assert!(e.message.contains(var) && e.fix.contains(var), "{e}");
    // `soapgate check` lists the same error and exits non-zero.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args(["check", "--config", &cfg.display().to_string()])
        .current_dir(dir.path())
        .env_remove(var)
        .output()
        .expect("run soapgate check");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("  {e}\n")), "{stderr}");

    let both = "{ kind: basic, username: svc, password_env: X, password_file: y }";
    let errors = builder("http://127.0.0.1:9/s", "1.1", both, false)
        .load()
        .expect_err("rejected");
    assert_eq!(
        (errors[0].path.as_str(), errors[0].fix.as_str()),
        (
            "backend.credentials",
            "keep exactly one of `password_env` and `password_file`"
        )
    );

    let unknown = "{ kind: ws_security_username_token, username: svc, password_env: X, digest: true }";
    let errors = builder("http://127.0.0.1:9/s", "1.1", unknown, false)
        .load()
        .expect_err("rejected");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "backend.credentials", "{:?}", errors[0]);
    assert!(
        errors[0]
            .message
            .starts_with("unknown field `digest`, expected one of `username`"),
        "{:?}",
        errors[0]
    );
    assert_eq!(errors[0].line, Some(6), "{:?}", errors[0]);
}

#[actix_rt::test]
async fn secrets_and_tokens_never_reach_the_logs() {
    let oidc = oidc();
    let fake = fake11();
    let basic = "{ kind: basic, username: svc, password_file: basic.pw }";
    let wss =
        "{ kind: ws_security_username_token, username: svc, password_file: wss.pw, password_type: text }";
    let down = format!(
        "{{ kind: oauth2_client_credentials, token_url: 'http://127.0.0.1:{}/token', client_id: c, \
         client_secret_file: cc.secret }}",
        closed_port()
    );
    let mut b = TestGateway::builder()
        .file("templates/t.xml.hbs", "<t:Op xmlns:t=\"{{ns}}\"/>")
        .file("basic.pw", "leak-basic-pw")
        .file("wss.pw", "leak-wss-pw")
        .file("cc.secret", "s3cret");
    let services = [("a", basic.to_string()), ("b", wss.to_string()), ("c", down)];
    let mut services: Vec<(&str, String)> = services.into_iter().collect();
    if let Some(op) = oidc {
        let cc = format!(
            "{{ kind: oauth2_client_credentials, token_url: '{}', client_id: gateway-tests, \
             client_secret_file: cc.secret, scopes: [orders:read] }}",
            op.url("/token")
        );
        services.push(("d", cc));
    }
    for (name, creds) in &services {
        let m = mapping(&fake.url("/s"), "1.1", creds, false)
            .replace("service: svc", &format!("service: {name}"))
            .replace("id: op", &format!("id: {name}"))
            .replace("path: /op", &format!("path: /{name}"));
        b = b.mapping(name, &m);
    }
    let (dir, _) = b.write();
    std::fs::write(
        dir.path().join("soapgate.yaml"),
        "listen: 127.0.0.1:0\nworkers: 1\nlogging: { format: json, level: debug }\n",
    )
    .expect("config");
    let mut p = Soapgate::start(&["serve", "--config", "soapgate.yaml"], dir.path());
    let ready = p
        .wait_line(Duration::from_secs(20), |l| l.contains("soapgate listening"))
        .unwrap_or_else(|| panic!("no listening line; saw {:?}", p.seen));
    let v: serde_json::Value = serde_json::from_str(&ready).expect("JSON line");
    let base = format!(
        "http://{}",
        v["listen"].as_str().expect("listen").trim_matches(['[', ']'])
    );
    let client = awc::Client::default();
    for (name, _) in &services {
        let res = client
            .get(format!("{base}/{name}"))
            .send()
            .await
            .expect("answers");
        let expected = if *name == "c" { 503 } else { 200 };
        assert_eq!(res.status().as_u16(), expected, "/{name}");
        p.wait_line(Duration::from_secs(10), |l| l.contains("soapgate::access"))
            .expect("an access line");
    }
    drop(p.wait_line(Duration::from_millis(300), |_| false));
    let mut secrets = vec![
        "leak-basic-pw".to_string(),
        "leak-wss-pw".to_string(),
        "s3cret".to_string(),
        "c3ZjOmxlYWstYmFzaWMtcHc".to_string(), // base64("svc:leak-basic-pw")
    ];
    let requests = fake.requests();
    if let Some(bearer) = requests
        .iter()
        .filter_map(|r| r.header("authorization"))
        .find_map(|a| a.strip_prefix("Bearer "))
    {
        secrets.push(bearer.to_string());
    }
    assert_eq!(secrets.len(), 4 + usize::from(oidc.is_some()));
    assert!(p
        .seen
        .iter()
        .any(|l| l.contains("backend access token request failed")));
    for s in &secrets {
        assert!(
            p.seen.iter().all(|l| !l.contains(s.as_str())),
            "{s} leaked: {:?}",
            p.seen
        );
    }
}

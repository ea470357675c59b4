//! Step 4 against a real OIDC provider (npm oidc-provider) and keys the tests generate: every A*
//! row of THREATS.md, scopes and claims, introspection, key rotation, the IdP going down.

use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply};
use crate::common::gateway::{Resp, TestGateway};
use crate::common::jwks::{self, claims, raw_token, EcKey, JwksServer};
use crate::common::oidc::{self, decode_jwt, Oidc};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const API: &str = "urn:soapgate:api";
const FORGE_ISS: &str = "http://forge.test";
const OK: &str = "<t:GetResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:GetResponse>";
const TEMPLATE: &str =
    "<t:Get xmlns:t=\"urn:test\"><t:id>{{path.id}}</t:id><t:caller>{{principal.client_id}}</t:caller></t:Get>";

/// Routes: /customers/{id} needs customers:read; /orders needs any of orders:read, orders:write
/// and the claim `client_id: gateway-tests`; /public needs nothing.
fn mapping(url: &str) -> String {
    format!(
        "service: svc\nbackend:\n  urls: [{url}]\n  namespace: urn:test\nroutes:\n\
         - {{ id: get, method: GET, path: '/customers/{{id}}', operation: Get, scopes: [customers:read],\n     request: {{ template: templates/t.xml.hbs }} }}\n\
         - {{ id: orders, method: GET, path: /orders, operation: Get, any_scopes: [orders:read, orders:write],\n     claims: {{ client_id: gateway-tests }}, request: {{ template: templates/p.xml.hbs }} }}\n\
         - {{ id: public, method: GET, path: /public, operation: Get, public: true,\n     request: {{ template: templates/p.xml.hbs }} }}\n"
    )
}

/// The `auth:` block: `corp` is the real provider, `forge` trusts the test's own JWKS server.
fn auth_yaml(idp: Option<&Oidc>, forge: Option<&JwksServer>, extra_forge: &str) -> String {
    let mut y = String::from("auth:\n  providers:\n");
    if let Some(idp) = idp {
        y.push_str(&format!(
            "    - name: corp\n      issuer: {}\n      audiences: [{API}, urn:soapgate:api-es, urn:soapgate:opaque]\n      \
             introspection: {{ client_id: gateway-tests, client_secret_file: idp-secret.txt }}\n",
            idp.issuer()
        ));
    }
    if let Some(f) = forge {
        y.push_str(&format!(
            "    - name: forge\n      issuer: {FORGE_ISS}\n      discovery: false\n      jwks_uri: {}\n      \
             audiences: [{API}]\n      leeway: 60s\n{extra_forge}",
            f.url()
        ));
    }
    y
}

fn start(auth: &str, fake: &FakeHandle) -> TestGateway {
    TestGateway::builder()
        .config(auth)
        .mapping("svc", &mapping(&fake.url("/s")))
        .file("templates/t.xml.hbs", TEMPLATE)
        .file("templates/p.xml.hbs", "<t:Get xmlns:t=\"urn:test\"/>")
        .file("idp-secret.txt", "s3cret\n")
        .start()
}

async fn wait_ready(gw: &TestGateway) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !gw.gw.ready() {
        assert!(Instant::now() < deadline, "identity providers never became ready");
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}

fn backend() -> FakeHandle {
    FakeSoap::new().otherwise(Reply::soap11(OK)).start()
}

async fn get(gw: &TestGateway, path: &str, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    gw.send("GET", path, &[("authorization", auth.as_str())], None)
        .await
}

/// A refused request: status, problem code, challenge, and the backend untouched.
fn assert_refused(r: &Resp, status: u16, code: &str, challenge: Option<&str>, fake: &FakeHandle) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type(), "application/problem+json");
    let body = r.json();
    assert_eq!(body["code"], code);
    assert_eq!(body["status"], status);
    assert_eq!(
        body["correlation_id"],
        json!(r.header("x-correlation-id").expect("cid"))
    );
    assert_eq!(r.header("www-authenticate"), challenge, "challenge");
    assert_eq!(fake.hits(), 0, "the backend must not be reached");
}

fn invalid_token(r: &Resp) -> bool {
    r.header("www-authenticate")
        .is_some_and(|c| c.starts_with("Bearer realm=\"soapgate\", error=\"invalid_token\""))
}

#[actix_rt::test]
async fn a_real_providers_rs256_and_es256_tokens_reach_the_backend_with_the_principal() {
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let gw = start(&auth_yaml(Some(idp), None, ""), &fake);
    wait_ready(&gw).await;
    for resource in [None, Some("urn:soapgate:api-es")] {
        let token = idp
            .token("gateway-tests", "s3cret", "customers:read", resource)
            .await;
        let r = get(&gw, "/customers/42", &token).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json(), json!({"ok": "yes"}));
    }
    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    for req in &sent {
        let body = req.body.clone();
        assert!(body.contains("<t:caller>gateway-tests</t:caller>"), "{body}");
        assert!(
            req.header("authorization").is_none(),
            "the client's token is not forwarded"
        );
    }
}

#[actix_rt::test]
async fn a1_a2_missing_empty_and_garbage_tokens_get_401() {
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let gw = start(&auth_yaml(Some(idp), None, ""), &fake);
    wait_ready(&gw).await;
    let r = gw.get("/customers/1").await;
    assert_refused(&r, 401, "AUTH_REQUIRED", Some("Bearer realm=\"soapgate\""), &fake);
    assert_eq!(r.json()["detail"], "A bearer token is required.");
    let r = gw
        .send("GET", "/customers/1", &[("authorization", "Basic dTpw")], None)
        .await;
    assert_refused(&r, 401, "AUTH_REQUIRED", Some("Bearer realm=\"soapgate\""), &fake);
    for bad in [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer eyJhbGciOi.x.y",
        "Bearer not-a-real-token",
    ] {
        let r = gw
            .send("GET", "/customers/1", &[("authorization", bad)], None)
            .await;
        assert_eq!(r.status, 401, "{bad}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["code"], "AUTH_INVALID_TOKEN", "{bad}");
        assert!(invalid_token(&r), "{bad}: {:?}", r.header("www-authenticate"));
    }
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn a3_a4_alg_none_and_rs_hs_confusion_are_refused() {
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let gw = start(&auth_yaml(Some(idp), None, ""), &fake);
    wait_ready(&gw).await;
    let real = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    let (header, payload) = decode_jwt(&real);
    // A3: the real claims, `alg: none`, empty signature.
    let none = raw_token(&json!({"alg": "none", "typ": "JWT"}), &payload, "");
    let r = get(&gw, "/customers/1", &none).await;
    assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
    assert!(invalid_token(&r));
    // A4: the provider's RSA public key (PEM) as an HMAC secret, same kid.
    let jwks = idp.get_json("/jwks").await;
    let kid = header["kid"].as_str().expect("kid");
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("signing key published");
    let pem = jwks::rsa_public_pem(jwk);
    let confused = jwks::hs256(pem.as_bytes(), Some(kid), &payload);
    let r = get(&gw, "/customers/1", &confused).await;
    assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
    assert!(invalid_token(&r));
    // The untouched token still passes: the refusals were about the forgery.
    assert_eq!(get(&gw, "/customers/1", &real).await.status, 200);
}

#[actix_rt::test]
async fn a6_a7_a8_time_issuer_and_audience_claims() {
    let key = EcKey::generate("forge-1");
    let server = JwksServer::start(vec![key.jwk()]);
    let fake = backend();
    let gw = start(&auth_yaml(None, Some(&server), ""), &fake);
    wait_ready(&gw).await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims(FORGE_ISS, API, "customers:read");
        edit(&mut c);
        key.sign(&c)
    };
    let refused: Vec<(&str, String)> = vec![
        (
            "expired 61 s ago (leeway 60 s)",
            with(&|c| c["exp"] = json!(jwks::now() - 61)),
        ),
        (
            "nbf in the future",
            with(&|c| c["nbf"] = json!(jwks::now() + 120)),
        ),
        (
            "exp as a string",
            with(&|c| c["exp"] = json!((jwks::now() + 600).to_string())),
        ),
        (
            "nbf as a string",
            with(&|c| c["nbf"] = json!(jwks::now().to_string())),
        ),
        (
            "no exp",
            with(&|c| drop(c.as_object_mut().map(|m| m.remove("exp")))),
        ),
        ("wrong iss", with(&|c| c["iss"] = json!("http://evil.test"))),
        (
            "no iss",
            with(&|c| drop(c.as_object_mut().map(|m| m.remove("iss")))),
        ),
        (
            "no aud",
            with(&|c| drop(c.as_object_mut().map(|m| m.remove("aud")))),
        ),
        (
            "another service's aud",
            with(&|c| c["aud"] = json!("urn:other:service")),
        ),
        ("typ id_token", {
            let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
            h.kid = Some("forge-1".into());
            h.typ = Some("id_token+jwt".into());
            jsonwebtoken::encode(&h, &claims(FORGE_ISS, API, "customers:read"), &key.encoding_key())
                .expect("sign")
        }),
    ];
    for (case, token) in &refused {
        let r = get(&gw, "/customers/1", token).await;
        assert_eq!(r.status, 401, "{case}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["code"], "AUTH_INVALID_TOKEN", "{case}");
        assert!(invalid_token(&r), "{case}");
    }
    assert_eq!(fake.hits(), 0);
    // Within the leeway, several audiences with one of ours, and a plain `JWT` typ: accepted.
    let accepted = [
        with(&|c| c["exp"] = json!(jwks::now() - 30)),
        with(&|c| c["nbf"] = json!(jwks::now() + 30)),
        with(&|c| c["aud"] = json!(["urn:other:service", API])),
    ];
    for token in &accepted {
        let r = get(&gw, "/customers/1", token).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    assert_eq!(fake.hits(), 3);
}

#[actix_rt::test]
async fn a9_scopes_all_of_any_of_and_claims() {
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let gw = start(&auth_yaml(Some(idp), None, ""), &fake);
    wait_ready(&gw).await;
    let orders_only = idp.token("gateway-tests", "s3cret", "orders:read", None).await;
    let r = get(&gw, "/customers/1", &orders_only).await;
    let challenge = "Bearer realm=\"soapgate\", error=\"insufficient_scope\", scope=\"customers:read\"";
    assert_refused(&r, 403, "AUTH_INSUFFICIENT_SCOPE", Some(challenge), &fake);
    // any_scopes: orders:read is one of them; the claim client_id = gateway-tests holds.
    assert_eq!(get(&gw, "/orders", &orders_only).await.status, 200);
    let customers_only = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    let r = get(&gw, "/orders", &customers_only).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"soapgate\", error=\"insufficient_scope\", scope=\"orders:read orders:write\"")
    );
    // The claim condition: another client with the right scope is refused.
    let other = idp.token("other", "0ther", "orders:read", None).await;
    let r = get(&gw, "/orders", &other).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["code"], "AUTH_FORBIDDEN");
    // A public route needs no token.
    assert_eq!(gw.get("/public").await.status, 200);
    assert_eq!(fake.hits(), 2);
}

#[actix_rt::test]
async fn a10_tokens_in_the_query_or_twice_are_invalid_requests() {
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let gw = start(&auth_yaml(Some(idp), None, ""), &fake);
    wait_ready(&gw).await;
    let token = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    let auth = format!("Bearer {token}");
    let path = format!("/customers/1?access_token={token}");
    let r = gw
        .send("GET", &path, &[("authorization", auth.as_str())], None)
        .await;
    let challenge =
        |d: &str| format!("Bearer realm=\"soapgate\", error=\"invalid_request\", error_description=\"{d}\"");
    let both = challenge("a token in both the query and the Authorization header");
    assert_refused(&r, 400, "AUTH_INVALID_REQUEST", Some(&both), &fake);
    let r = gw.send("GET", &path, &[], None).await;
    let query_only = challenge("tokens are accepted only in the Authorization header");
    assert_refused(&r, 400, "AUTH_INVALID_REQUEST", Some(&query_only), &fake);
    let client = awc::Client::default();
    let mut res = client
        .get(gw.url("/customers/1"))
        .append_header(("authorization", auth.as_str()))
        .append_header(("authorization", auth.as_str()))
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(res.status().as_u16(), 400);
    let body: Value = serde_json::from_slice(&res.body().await.expect("body")).expect("json");
    assert_eq!(body["code"], "AUTH_INVALID_REQUEST");
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn a12_rotation_with_the_jwks_endpoint_down_keeps_cached_keys() {
    let old = EcKey::generate("old");
    let new = EcKey::generate("new");
    let server = JwksServer::start(vec![old.jwk()]);
    let fake = backend();
    let gw = start(
        &auth_yaml(None, Some(&server), "      jwks_refetch_min_interval: 1s\n"),
        &fake,
    );
    wait_ready(&gw).await;
    let c = claims(FORGE_ISS, API, "customers:read");
    assert_eq!(get(&gw, "/customers/1", &old.sign(&c)).await.status, 200);
    // The IdP rotates while its JWKS endpoint is down.
    server.set_keys(vec![new.jwk(), old.jwk()]);
    server.set_up(false);
    let r = get(&gw, "/customers/1", &new.sign(&c)).await;
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
    assert!(invalid_token(&r));
    assert_eq!(
        get(&gw, "/customers/1", &old.sign(&c)).await.status,
        200,
        "cached key serves"
    );
    assert!(
        gw.gw.ready(),
        "a provider that goes down later stays ready on cached keys"
    );
    // Back up: after the refetch interval the new kid is fetched on demand.
    server.set_up(true);
    actix_rt::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&gw, "/customers/1", &new.sign(&c)).await.status, 200);
    assert_eq!(fake.hits(), 3);
}

#[actix_rt::test]
async fn a_flood_of_unknown_kids_costs_at_most_one_jwks_fetch_per_interval() {
    let key = EcKey::generate("known");
    let server = JwksServer::start(vec![key.jwk()]);
    let fake = backend();
    let gw = start(
        &auth_yaml(None, Some(&server), "      jwks_refetch_min_interval: 60s\n"),
        &fake,
    );
    wait_ready(&gw).await;
    let before = server.hits();
    let attackers: Vec<String> = (0..50)
        .map(|i| EcKey::generate(&format!("random-{i}")).sign(&claims(FORGE_ISS, API, "customers:read")))
        .collect();
    let results = futures_util::future::join_all(attackers.iter().map(|t| get(&gw, "/customers/1", t))).await;
    assert!(results.iter().all(|r| r.status == 401 && invalid_token(r)));
    let fetched = server.hits() - before;
    assert!(fetched <= 1, "{fetched} JWKS fetches for 50 unknown kids");
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn key_rotation_at_the_real_provider_needs_no_restart() {
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let gw = start(&auth_yaml(Some(idp), None, ""), &fake);
    wait_ready(&gw).await;
    let before = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    assert_eq!(get(&gw, "/customers/1", &before).await.status, 200);
    let kids = idp.rotate().await;
    let after = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    let (h, _) = decode_jwt(&after);
    assert_eq!(h["kid"], json!(kids[0]), "the new key signs");
    assert_eq!(get(&gw, "/customers/1", &after).await.status, 200);
    assert_eq!(
        get(&gw, "/customers/1", &before).await.status,
        200,
        "old tokens still verify"
    );
}

#[actix_rt::test]
async fn opaque_tokens_are_introspected_once_then_cached() {
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let gw = start(&auth_yaml(Some(idp), None, ""), &fake);
    wait_ready(&gw).await;
    let token = idp
        .token(
            "gateway-tests",
            "s3cret",
            "customers:read",
            Some("urn:soapgate:opaque"),
        )
        .await;
    assert!(!token.contains('.'), "opaque: {token}");
    for _ in 0..3 {
        let r = get(&gw, "/customers/7", &token).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let snap = gw.gw.snapshot();
    let intro = snap.auth.providers[0]
        .introspection
        .as_ref()
        .expect("introspector");
    assert_eq!(intro.cached(), 1);
    let body = fake.requests()[0].body.clone();
    assert!(body.contains("<t:caller>gateway-tests</t:caller>"), "{body}");
    // Scope checks apply to introspected tokens too.
    let orders = idp
        .token(
            "gateway-tests",
            "s3cret",
            "orders:read",
            Some("urn:soapgate:opaque"),
        )
        .await;
    assert_eq!(get(&gw, "/customers/7", &orders).await.status, 403);
    assert_eq!(fake.hits(), 3);
}

#[actix_rt::test]
async fn a13_introspection_down_or_failing_is_503_with_retry_after() {
    let key = EcKey::generate("k");
    let server = JwksServer::start(vec![key.jwk()]);
    for url in [FakeSoap::refused_url(), server.url()] {
        let fake = backend();
        let extra = format!(
            "      introspection: {{ url: '{url}', client_id: gw, client_secret_file: idp-secret.txt }}\n"
        );
        let gw = start(&auth_yaml(None, Some(&server), &extra), &fake);
        wait_ready(&gw).await;
        server.set_up(url != server.url());
        let r = get(&gw, "/customers/1", "opaque-token-value").await;
        server.set_up(true);
        assert_refused(&r, 503, "AUTH_UNAVAILABLE", None, &fake);
        assert_eq!(r.header("retry-after"), Some("5"));
    }
}

#[actix_rt::test]
async fn an_idp_killed_mid_test_leaves_cached_keys_serving() {
    let Some(idp) = oidc::start_dedicated() else {
        return;
    };
    let fake = backend();
    let gw = start(&auth_yaml(Some(&idp), None, ""), &fake);
    wait_ready(&gw).await;
    let token = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    assert_eq!(get(&gw, "/customers/1", &token).await.status, 200);
    idp.kill();
    assert_eq!(
        get(&gw, "/customers/1", &token).await.status,
        200,
        "cached keys serve"
    );
    assert!(gw.gw.ready());
    // An opaque token cannot be checked any more: 503, not 401 or 500.
    let r = get(&gw, "/customers/1", "opaque-after-the-idp-died").await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(fake.hits(), 2);
}

#[actix_rt::test]
async fn not_ready_until_the_keys_are_loaded() {
    let fake = backend();
    let dead = FakeSoap::refused_url();
    let yaml = format!(
        "auth:\n  providers:\n    - {{ name: down, issuer: 'http://127.0.0.1:9', discovery: false, jwks_uri: '{dead}', audiences: [{API}] }}\n"
    );
    let gw = start(&yaml, &fake);
    actix_rt::time::sleep(Duration::from_millis(600)).await;
    assert!(!gw.gw.ready());
    let key = EcKey::generate("k");
    let mut c = claims("http://127.0.0.1:9", API, "customers:read");
    c["iss"] = json!("http://127.0.0.1:9");
    let r = get(&gw, "/customers/1", &key.sign(&c)).await;
    assert_refused(&r, 503, "AUTH_UNAVAILABLE", None, &fake);
}

#[test]
fn auth_config_errors_name_the_key_and_the_fix() {
    let fake_url = "http://127.0.0.1:1/s";
    let cases = [
        (
            "auth:\n  providers:\n    - { name: a, issuer: 'http://i', audiences: [x], algorithms: [none] }\n",
            "auth.providers[0].algorithms[0]",
        ),
        (
            "auth:\n  providers:\n    - { name: a, issuer: 'http://i', audiences: [x], algorithms: [HS256] }\n",
            "auth.providers[0].algorithms[0]",
        ),
        (
            "auth:\n  providers:\n    - { name: a, issuer: 'http://i', audiences: [] }\n",
            "auth.providers[0].audiences",
        ),
        (
            "auth:\n  providers:\n    - { name: a, issuer: 'http://i', audiences: [x], hs_secret_env: SOAPGATE_TEST_UNSET_VAR, algorithms: [HS256] }\n",
            "auth.providers[0].hs_secret_env",
        ),
        ("auth:\n  providers:\n    - { name: a, issuer: 'http://i', audiences: [x], colour: red }\n", "auth.providers[0]"),
    ];
    for (yaml, key) in cases {
        let errors = TestGateway::builder()
            .config(yaml)
            .mapping("svc", &mapping(fake_url))
            .file("templates/t.xml.hbs", TEMPLATE)
            .file("templates/p.xml.hbs", "<x/>")
            .load()
            .expect_err(yaml);
        assert!(
            errors
                .iter()
                .any(|e| e.path.starts_with(key) && !e.fix.is_empty()),
            "{yaml}: {errors:#?}"
        );
    }
    // Scopes without any provider: the route says what is missing.
    let errors = TestGateway::builder()
        .mapping("svc", &mapping(fake_url))
        .file("templates/t.xml.hbs", TEMPLATE)
        .file("templates/p.xml.hbs", "<x/>")
        .load()
        .expect_err("scopes need a provider");
    assert!(
        errors
            .iter()
            .any(|e| e.path == "routes[0]" && e.message.contains("auth.providers")),
        "{errors:#?}"
    );
}

#[actix_rt::test]
async fn the_access_log_names_the_principal_and_never_the_token() {
    use crate::common::process::Soapgate;
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let cfg = TestGateway::builder()
        .mapping("svc", &mapping(&fake.url("/s")))
        .file("templates/t.xml.hbs", TEMPLATE)
        .file("templates/p.xml.hbs", "<t:Get xmlns:t=\"urn:test\"/>")
        .file("idp-secret.txt", "s3cret\n");
    let (dir, cfg_path) = cfg.write();
    std::fs::write(
        &cfg_path,
        format!(
            "listen: 127.0.0.1:0\nworkers: 1\nlogging: {{ format: json, level: debug }}\n{}",
            auth_yaml(Some(idp), None, "")
        ),
    )
    .expect("config");
    let mut p = Soapgate::start(&["serve", "--config", "soapgate.yaml"], dir.path());
    let ready = p
        .wait_line(Duration::from_secs(20), |l| l.contains("soapgate listening"))
        .unwrap_or_else(|| panic!("no listening line; saw {:?}", p.seen));
    let listen: Value = serde_json::from_str(&ready).expect("JSON line");
    let addr = listen["listen"]
        .as_str()
        .expect("listen")
        .trim_matches(['[', ']']);
    let base = format!("http://{addr}");
    p.wait_line(Duration::from_secs(15), |l| {
        l.contains("identity provider keys loaded")
    })
    .unwrap_or_else(|| panic!("keys never loaded; saw {:?}", p.seen));
    let token = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    let (_, claims) = decode_jwt(&token);
    let client = awc::Client::default();
    let res = client
        .get(format!("{base}/customers/5"))
        .insert_header(("authorization", format!("Bearer {token}")))
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status().as_u16(), 200);
    let line = p
        .wait_line(Duration::from_secs(10), |l| l.contains("soapgate::access"))
        .expect("access line");
    let v: Value = serde_json::from_str(&line).expect("JSON");
    let expected = claims["sub"]
        .as_str()
        .or(claims["client_id"].as_str())
        .expect("sub or client_id");
    assert_eq!(v["principal"], expected);
    let forged = format!("{}x", &token[..token.len() - 1]);
    let res = client
        .get(format!("{base}/customers/5"))
        .insert_header(("authorization", format!("Bearer {forged}")))
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status().as_u16(), 401);
    let line = p
        .wait_line(Duration::from_secs(10), |l| l.contains("soapgate::access"))
        .expect("access line");
    let v: Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(v["error_code"], "AUTH_INVALID_TOKEN");
    assert_eq!(v["principal"], "-");
    drop(p.wait_line(Duration::from_millis(300), |_| false));
    let signature = token.rsplit('.').next().expect("signature");
    assert!(
        p.seen
            .iter()
            .all(|l| !l.contains(signature) && !l.contains("s3cret")),
        "a token or secret leaked into the log"
    );
}

#[actix_rt::test]
async fn several_providers_at_once_and_a_route_limited_to_one() {
    let Some(idp) = oidc::oidc() else { return };
    let key = EcKey::generate("forge-multi");
    let server = JwksServer::start(vec![key.jwk()]);
    let fake = backend();
    let m = mapping(&fake.url("/s")).replace(
        "- { id: public,",
        "- { id: forge-only, method: GET, path: /forge-only, operation: Get, providers: [forge],\n     request: { template: templates/p.xml.hbs } }\n- { id: public,",
    );
    let gw = TestGateway::builder()
        .config(&auth_yaml(Some(idp), Some(&server), ""))
        .mapping("svc", &m)
        .file("templates/t.xml.hbs", TEMPLATE)
        .file("templates/p.xml.hbs", "<t:Get xmlns:t=\"urn:test\"/>")
        .file("idp-secret.txt", "s3cret\n")
        .start();
    wait_ready(&gw).await;
    let corp = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
    let forged_here = key.sign(&claims(FORGE_ISS, API, "customers:read"));
    assert_eq!(get(&gw, "/customers/1", &corp).await.status, 200);
    assert_eq!(get(&gw, "/customers/1", &forged_here).await.status, 200);
    assert_eq!(get(&gw, "/forge-only", &forged_here).await.status, 200);
    // The corp token is valid (and cached as verified), but not from a provider this route takes.
    let r = get(&gw, "/forge-only", &corp).await;
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
    assert!(invalid_token(&r));
    assert_eq!(fake.hits(), 3);
}

#[actix_rt::test]
async fn a_reload_keeps_loaded_keys_so_the_gateway_stays_ready() {
    let key = EcKey::generate("reload");
    let server = JwksServer::start(vec![key.jwk()]);
    let fake = backend();
    let gw = start(&auth_yaml(None, Some(&server), ""), &fake);
    wait_ready(&gw).await;
    let fetches = server.hits();
    server.set_up(false);
    gw.gw.reload().expect("reload");
    assert!(
        gw.gw.ready(),
        "an unchanged provider keeps its keys over a reload"
    );
    let token = key.sign(&claims(FORGE_ISS, API, "customers:read"));
    assert_eq!(get(&gw, "/customers/1", &token).await.status, 200);
    assert_eq!(server.hits(), fetches, "no refetch was needed");
}

#[actix_rt::test]
async fn c3_discovery_naming_another_issuer_keeps_the_gateway_unready() {
    // The server answers every path with a JWKS-like document: its discovery names no issuer,
    // so it cannot be the configured one (mix-up defence) and no keys are taken from it.
    let key = EcKey::generate("c3");
    let server = JwksServer::start(vec![key.jwk()]);
    let issuer = format!("http://127.0.0.1:{}", server.port);
    let fake = backend();
    let yaml =
        format!("auth:\n  providers:\n    - {{ name: mixup, issuer: '{issuer}', audiences: [{API}] }}\n");
    let gw = start(&yaml, &fake);
    let deadline = Instant::now() + Duration::from_secs(2);
    while server.hits() < 2 && Instant::now() < deadline {
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(server.hits() >= 1, "discovery was attempted");
    assert!(!gw.gw.ready());
    let mut c = claims(&issuer, API, "customers:read");
    c["iss"] = json!(issuer);
    let r = get(&gw, "/customers/1", &key.sign(&c)).await;
    assert_refused(&r, 503, "AUTH_UNAVAILABLE", None, &fake);
}

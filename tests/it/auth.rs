//! Step 4 against a real OIDC provider (npm oidc-provider) and keys the tests generate: every A*
//! row of THREATS.md, scopes and claims, introspection, key rotation, the IdP going down.

use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply};
use crate::common::gateway::{Resp, TestGateway};
use crate::common::jwks::{self, claims, raw_token, EcKey, IntrospectionServer, JwksServer};
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
    assert_eq!(intro.cached().await, 1);
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

// ---- K: token checks (docs/threat-model.md, group K) ----

/// A provider whose introspection endpoint is the test's own server (no discovery, no JWKS).
fn introspector_yaml(name: &str, url: &str, extra: &str) -> String {
    format!(
        "    - name: {name}\n      issuer: http://{name}.test\n      discovery: false\n      audiences: [{API}]\n      \
         introspection: {{ url: '{url}', client_id: gw, client_secret_file: idp-secret.txt{extra} }}\n"
    )
}

/// The real provider `corp` (introspecting), under another name when several run.
fn real_yaml(name: &str, idp: &Oidc, extra: &str) -> String {
    format!(
        "    - name: {name}\n      issuer: {}\n      audiences: [{API}, urn:soapgate:api-es, urn:soapgate:opaque]\n{extra}      \
         introspection: {{ client_id: gateway-tests, client_secret_file: idp-secret.txt }}\n",
        idp.issuer()
    )
}

/// An active introspection answer for the `hostile` test provider, with `edit` applied.
fn active(edit: &dyn Fn(&mut Value)) -> String {
    let mut v = json!({"active": true, "scope": "customers:read", "client_id": "gateway-tests",
                       "aud": API, "iss": "http://hostile.test", "exp": jwks::now() + 600});
    edit(&mut v);
    v.to_string()
}

fn remove(v: &mut Value, k: &str) {
    v.as_object_mut().map(|m| m.remove(k));
}

/// The `error_description` of a 401 challenge.
fn description(r: &Resp) -> String {
    let c = r.header("www-authenticate").unwrap_or("");
    c.split("error_description=\"")
        .nth(1)
        .and_then(|d| d.split('"').next())
        .unwrap_or("")
        .to_string()
}

async fn opaque(idp: &Oidc, scope: &str) -> String {
    idp.token("gateway-tests", "s3cret", scope, Some("urn:soapgate:opaque"))
        .await
}

#[actix_rt::test]
async fn k1_introspection_without_aud_is_refused() {
    let hostile = IntrospectionServer::start(&active(&|v| remove(v, "aud")));
    hostile.answer("with-aud", &active(&|_| {}));
    let fake = backend();
    let auth = format!(
        "auth:\n  providers:\n{}",
        introspector_yaml("hostile", &hostile.url(), "")
    );
    let gw = start(&auth, &fake);
    wait_ready(&gw).await;
    let r = get(&gw, "/customers/1", "no-aud-token").await;
    assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
    assert!(invalid_token(&r));
    assert_eq!(description(&r), "the token has no audience");
    // The same answer with our audience passes: the refusal was about `aud`.
    assert_eq!(get(&gw, "/customers/1", "with-aud").await.status, 200);
    assert_eq!(fake.hits(), 1);

    // Listed first, a provider vouching without `aud` for every token blocks nobody: the real
    // provider's token is still accepted, because the hostile refusal is not final.
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let auth = format!(
        "auth:\n  providers:\n{}{}",
        introspector_yaml("hostile", &hostile.url(), ""),
        real_yaml("corp", idp, "")
    );
    let gw = start(&auth, &fake);
    wait_ready(&gw).await;
    let token = opaque(idp, "customers:read").await;
    let r = get(&gw, "/customers/1", &token).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = get(&gw, "/customers/1", "unknown-to-corp").await;
    assert_eq!(r.status, 401);
    assert_eq!(description(&r), "the token has no audience");
    assert_eq!(fake.hits(), 1);
}

#[actix_rt::test]
async fn k2_introspection_exp_in_the_past_is_refused() {
    let hostile = IntrospectionServer::start(r#"{"active": false}"#);
    hostile.answer("expired", &active(&|v| v["exp"] = json!(jwks::now() - 120)));
    hostile.answer("in-leeway", &active(&|v| v["exp"] = json!(jwks::now() - 20)));
    hostile.answer("not-yet", &active(&|v| v["nbf"] = json!(jwks::now() + 300)));
    let fake = backend();
    let auth = format!(
        "auth:\n  providers:\n{}",
        introspector_yaml("hostile", &hostile.url(), "")
    );
    let gw = start(&auth, &fake);
    wait_ready(&gw).await;
    let r = get(&gw, "/customers/1", "expired").await;
    assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
    assert_eq!(description(&r), "the token has expired");
    let r = get(&gw, "/customers/1", "not-yet").await;
    assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
    assert_eq!(description(&r), "the token is not valid yet");
    let r = get(&gw, "/customers/1", "in-leeway").await;
    assert_eq!(r.status, 200, "within the 60 s leeway, as for a JWT");
}

#[actix_rt::test]
async fn k3_introspection_from_another_issuer_is_refused() {
    let hostile = IntrospectionServer::start(&active(&|v| v["iss"] = json!("http://evil.test")));
    let fake = backend();
    let auth = format!(
        "auth:\n  providers:\n{}",
        introspector_yaml("hostile", &hostile.url(), "")
    );
    let gw = start(&auth, &fake);
    wait_ready(&gw).await;
    let r = get(&gw, "/customers/1", "evil-token").await;
    assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
    assert_eq!(description(&r), "the token's issuer is not accepted");
    let r = get(&gw, "/customers/1", "evil-token").await;
    assert_eq!(
        description(&r),
        "the token's issuer is not accepted",
        "cached refusal"
    );
    assert_eq!(hostile.hits(), 1);
}

#[actix_rt::test]
async fn k4_required_introspection_claims_must_be_there() {
    let hostile = IntrospectionServer::start(r#"{"active": false}"#);
    hostile.answer("no-exp", &active(&|v| remove(v, "exp")));
    hostile.answer("no-iss", &active(&|v| remove(v, "iss")));
    hostile.answer("no-aud", &active(&|v| remove(v, "aud")));
    hostile.answer("complete", &active(&|_| {}));
    let fake = backend();
    let strict = format!(
        "auth:\n  providers:\n{}",
        introspector_yaml("hostile", &hostile.url(), ", require: [aud, exp, iss]")
    );
    let gw = start(&strict, &fake);
    wait_ready(&gw).await;
    for (token, why) in [
        ("no-exp", "the token has no expiry"),
        ("no-iss", "the token has no issuer"),
        ("no-aud", "the token has no audience"),
    ] {
        let r = get(&gw, "/customers/1", token).await;
        assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
        assert_eq!(description(&r), why, "{token}");
    }
    assert_eq!(get(&gw, "/customers/1", "complete").await.status, 200);
    drop(gw);
    // The default requires `aud` only; `require: [exp]` drops even that (with a config warning).
    let fake = backend();
    let lax = format!(
        "auth:\n  providers:\n{}",
        introspector_yaml("hostile", &hostile.url(), ", require: [exp]")
    );
    let gw = start(&lax, &fake);
    wait_ready(&gw).await;
    assert!(
        gw.gw
            .snapshot()
            .warnings
            .iter()
            .any(|w| w.path == "auth.providers[0].introspection.require"),
        "{:?}",
        gw.gw.snapshot().warnings
    );
    assert_eq!(get(&gw, "/customers/1", "no-aud").await.status, 200);
    assert_eq!(get(&gw, "/customers/1", "no-iss").await.status, 200);
    let r = get(&gw, "/customers/1", "no-exp").await;
    assert_eq!(description(&r), "the token has no expiry");
    let errors = TestGateway::builder()
        .config(&format!(
            "auth:\n  providers:\n{}",
            introspector_yaml("hostile", &hostile.url(), ", require: [sub]")
        ))
        .mapping("svc", &mapping("http://127.0.0.1:1/s"))
        .file("templates/t.xml.hbs", TEMPLATE)
        .file("templates/p.xml.hbs", "<x/>")
        .file("idp-secret.txt", "s3cret\n")
        .load()
        .expect_err("sub cannot be required");
    assert!(
        errors
            .iter()
            .any(|e| e.path == "auth.providers[0].introspection.require[0]"),
        "{errors:#?}"
    );
}

#[actix_rt::test]
async fn k5_an_introspection_answer_without_active_is_unavailable() {
    let broken = IntrospectionServer::start(&active(&|v| remove(v, "active")));
    broken.answer("string-active", &active(&|v| v["active"] = json!("true")));
    let fake = backend();
    let auth = format!(
        "auth:\n  providers:\n{}",
        introspector_yaml("broken", &broken.url(), "")
    );
    let gw = start(&auth, &fake);
    wait_ready(&gw).await;
    for token in ["no-active", "string-active"] {
        let r = get(&gw, "/customers/1", token).await;
        assert_refused(&r, 503, "AUTH_UNAVAILABLE", None, &fake);
        assert_eq!(r.header("retry-after"), Some("5"));
    }
    // Another provider vouching for the token is enough.
    let good = IntrospectionServer::start(&active(&|v| v["iss"] = json!("http://good.test")));
    let fake = backend();
    let auth = format!(
        "auth:\n  providers:\n{}{}",
        introspector_yaml("broken", &broken.url(), ""),
        introspector_yaml("good", &good.url(), "")
    );
    let gw = start(&auth, &fake);
    wait_ready(&gw).await;
    assert_eq!(get(&gw, "/customers/1", "no-active").await.status, 200);
}

#[actix_rt::test]
async fn k6_two_real_providers_introspect_in_turn() {
    let Some(first) = oidc::oidc() else { return };
    let Some(second) = oidc::start_dedicated() else {
        return;
    };
    let fake = backend();
    let auth = format!(
        "auth:\n  providers:\n{}{}",
        real_yaml("corp", first, ""),
        real_yaml("corp2", &second, "")
    );
    let gw = start(&auth, &fake);
    wait_ready(&gw).await;
    let of_first = opaque(first, "customers:read").await;
    let of_second = opaque(&second, "customers:read").await;
    for token in [&of_first, &of_second, &of_second] {
        let r = get(&gw, "/customers/1", token).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let snap = gw.gw.snapshot();
    let cached = |i: usize| {
        snap.auth.providers[i]
            .introspection
            .as_ref()
            .expect("introspects")
    };
    // corp answered for its own token and said "inactive" for corp2's (kept, not asked again);
    // corp2 was asked only for its own.
    assert_eq!(cached(0).cached().await, 2);
    assert_eq!(cached(1).cached().await, 1);
    // Unknown to both: 401, and each provider's refusal is cached.
    let r = get(&gw, "/customers/1", "unknown-opaque-token").await;
    assert_eq!(r.status, 401);
    assert_eq!(description(&r), "the token is not active");
    assert_eq!((cached(0).cached().await, cached(1).cached().await), (3, 2));
    // A second provider that is down does not hide the first one's answer.
    second.kill();
    let again = opaque(first, "customers:read").await;
    assert_eq!(get(&gw, "/customers/1", &again).await.status, 200);
    // ...but a token the first one does not know may be the dead one's: 503, not 401.
    let r = get(&gw, "/customers/1", "maybe-the-dead-ones").await;
    assert_refused(&r, 503, "AUTH_UNAVAILABLE", None, &FakeSoap::new().start());
    assert_eq!(fake.hits(), 4);
}

#[actix_rt::test]
async fn k7_a_flood_of_one_unknown_opaque_token_costs_one_call_per_provider() {
    let a = IntrospectionServer::start(r#"{"active": false}"#);
    let b = IntrospectionServer::start(r#"{"active": false}"#);
    let fake = backend();
    let auth = format!(
        "auth:\n  providers:\n{}{}",
        introspector_yaml("a", &a.url(), ""),
        introspector_yaml("b", &b.url(), "")
    );
    let gw = start(&auth, &fake);
    wait_ready(&gw).await;
    let at_once = futures_util::future::join_all((0..40).map(|_| get(&gw, "/customers/1", "flood"))).await;
    for _ in 0..20 {
        at_once.iter().for_each(|r| assert_eq!(r.status, 401));
        let r = get(&gw, "/customers/1", "flood").await;
        assert_eq!(r.status, 401);
        assert_eq!(description(&r), "the token is not active");
    }
    assert_eq!((a.hits(), b.hits()), (1, 1), "one call per provider");
    assert_eq!(fake.hits(), 0);
}

#[actix_rt::test]
async fn k8_introspection_asks_at_most_the_configured_number_of_providers() {
    let a = IntrospectionServer::start(r#"{"active": false}"#);
    let b = IntrospectionServer::start(&active(&|v| v["iss"] = json!("http://b.test")));
    let providers = format!(
        "{}{}",
        introspector_yaml("a", &a.url(), ""),
        introspector_yaml("b", &b.url(), "")
    );
    let fake = backend();
    let gw = start(
        &format!("auth:\n  introspection_max_providers: 1\n  providers:\n{providers}"),
        &fake,
    );
    wait_ready(&gw).await;
    assert!(gw
        .gw
        .snapshot()
        .warnings
        .iter()
        .any(|w| w.path == "auth.introspection_max_providers"));
    let r = get(&gw, "/customers/1", "token-of-b").await;
    assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
    assert_eq!((a.hits(), b.hits()), (1, 0), "b is past the cap");
    drop(gw);
    let gw = start(&format!("auth:\n  providers:\n{providers}"), &fake);
    wait_ready(&gw).await;
    assert_eq!(get(&gw, "/customers/1", "token-of-b").await.status, 200);
    assert_eq!(b.hits(), 1);
}

#[actix_rt::test]
async fn k9_token_types_at_jwt_refuses_a_plain_jwt() {
    let key = EcKey::generate("typed");
    let server = JwksServer::start(vec![key.jwk()]);
    let fake = backend();
    let mut auth = auth_yaml(None, Some(&server), "      token_types: [at+jwt]\n");
    let idp = oidc::oidc();
    if let Some(idp) = idp {
        auth.push_str(&real_yaml("corp", idp, "      token_types: [at+jwt]\n"));
    }
    let gw = start(&auth, &fake);
    wait_ready(&gw).await;
    let fetches = server.hits();
    let c = claims(FORGE_ISS, API, "customers:read");
    let typed = |typ: Option<&str>| {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.kid = Some("typed".into());
        h.typ = typ.map(str::to_string);
        jsonwebtoken::encode(&h, &c, &key.encoding_key()).expect("sign")
    };
    for typ in [Some("JWT"), None] {
        let r = get(&gw, "/customers/1", &typed(typ)).await;
        assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
        assert_eq!(
            description(&r),
            "the token is not typed at+jwt (RFC 9068)",
            "{typ:?}"
        );
    }
    assert_eq!(
        server.hits(),
        fetches,
        "a mistyped token never refetches the JWKS"
    );
    for typ in ["at+jwt", "application/at+jwt"] {
        assert_eq!(
            get(&gw, "/customers/1", &typed(Some(typ))).await.status,
            200,
            "{typ}"
        );
    }
    if let Some(idp) = idp {
        // oidc-provider types its JWT access tokens at+jwt (RFC 9068): accepted.
        let real = idp.token("gateway-tests", "s3cret", "customers:read", None).await;
        assert_eq!(decode_jwt(&real).0["typ"], "at+jwt");
        assert_eq!(get(&gw, "/customers/1", &real).await.status, 200);
    }
    drop(gw);
    // Without `token_types`, a plain `JWT` (or no typ) is accepted as before.
    let fake = backend();
    let gw = start(&auth_yaml(None, Some(&server), ""), &fake);
    wait_ready(&gw).await;
    for typ in [Some("JWT"), None] {
        assert_eq!(get(&gw, "/customers/1", &typed(typ)).await.status, 200, "{typ:?}");
    }
}

/// `soapgate_jwks_fetches_total{provider,outcome}` as rendered for the admin `/metrics`.
fn jwks_fetches(gw: &TestGateway, provider: &str, outcome: &str) -> u64 {
    let mut text = String::new();
    soapgate::metrics::render_jwks_fetches(&gw.gw.snapshot().auth, &mut text);
    let prefix = format!("soapgate_jwks_fetches_total{{provider=\"{provider}\",outcome=\"{outcome}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in {text}"))
}

#[actix_rt::test]
async fn k10_200_unknown_kids_at_once_cost_one_jwks_fetch_at_defaults() {
    let key = EcKey::generate("known");
    let server = JwksServer::start(vec![key.jwk()]);
    let fake = backend();
    // Default jwks_refetch_min_interval (30 s).
    let gw = start(&auth_yaml(None, Some(&server), ""), &fake);
    wait_ready(&gw).await;
    assert_eq!(
        gw.gw.snapshot().auth.providers[0].spec.refetch_min_interval,
        Duration::from_secs(30)
    );
    let (hits, ok) = (server.hits(), jwks_fetches(&gw, "forge", "ok"));
    assert_eq!(ok, 1, "the initial load");
    let c = claims(FORGE_ISS, API, "customers:read");
    let attackers: Vec<String> = (0..200)
        .map(|i| EcKey::generate(&format!("random-{i}")).sign(&c))
        .collect();
    let results = futures_util::future::join_all(attackers.iter().map(|t| get(&gw, "/customers/1", t))).await;
    for r in &results {
        assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(description(r), "the token is signed with an unknown key");
    }
    assert_eq!(server.hits(), hits + 1, "200 unknown kids, one JWKS fetch");
    assert_eq!(jwks_fetches(&gw, "forge", "ok"), ok + 1);
    // One more unknown kid inside the interval: no fetch, counted as throttled.
    let throttled = jwks_fetches(&gw, "forge", "throttled");
    let r = get(&gw, "/customers/1", &EcKey::generate("one-more").sign(&c)).await;
    assert_eq!(r.status, 401);
    assert_eq!(server.hits(), hits + 1);
    assert_eq!(jwks_fetches(&gw, "forge", "throttled"), throttled + 1);
    assert_eq!(jwks_fetches(&gw, "forge", "error"), 0);
    // The known key still works.
    assert_eq!(get(&gw, "/customers/1", &key.sign(&c)).await.status, 200);
    assert_eq!(fake.hits(), 1);
}

#[actix_rt::test]
async fn k11_a_20_kb_bearer_token_is_401_when_the_header_limit_allows_it() {
    // A provider that would vouch for any token: the 20 KB token must not even be asked about.
    let lenient = IntrospectionServer::start(&active(&|_| {}));
    let providers = introspector_yaml("hostile", &lenient.url(), "");
    let garbage: String = (0..20 * 1024)
        .map(|i| char::from(b"AZaz09-_"[(i * 7 + i / 13) % 8]))
        .collect();
    let fake = backend();
    let gw = start(
        &format!("limits: {{ headers: 64KiB }}\nauth:\n  providers:\n{providers}"),
        &fake,
    );
    wait_ready(&gw).await;
    let r = get(&gw, "/customers/1", &garbage).await;
    assert_refused(&r, 401, "AUTH_INVALID_TOKEN", r.header("www-authenticate"), &fake);
    assert_eq!(description(&r), "the token is malformed");
    assert_eq!(lenient.hits(), 0, "refused unread");
    drop(gw);
    // With the default header limit (16 KiB) the request is refused before step 4.
    let gw = start(&format!("auth:\n  providers:\n{providers}"), &fake);
    wait_ready(&gw).await;
    let r = get(&gw, "/customers/1", &garbage).await;
    assert_eq!(r.status, 431, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["code"], "HEADERS_TOO_LARGE");
    assert_eq!((fake.hits(), lenient.hits()), (0, 0));
}

#[actix_rt::test]
async fn k12_a_real_introspection_answers_numbers_reach_the_principal_exactly() {
    let Some(idp) = oidc::oidc() else { return };
    let fake = backend();
    let gw = TestGateway::builder()
        .config(&format!("auth:\n  providers:\n{}", real_yaml("corp", idp, "")))
        .mapping("svc", &mapping(&fake.url("/s")))
        .file(
            "templates/t.xml.hbs",
            "<t:Get xmlns:t=\"urn:test\"><t:exp>{{principal.claims.exp}}</t:exp><t:iat>{{principal.claims.iat}}</t:iat><t:no>{{principal.claims.tenant_no}}</t:no><t:w>{{principal.claims.weight}}</t:w><t:tenant>{{principal.claims.tenant}}</t:tenant></t:Get>",
        )
        .file("templates/p.xml.hbs", "<t:Get xmlns:t=\"urn:test\"/>")
        .file("idp-secret.txt", "s3cret\n")
        .start();
    wait_ready(&gw).await;
    let token = opaque(idp, "customers:read").await;
    let answer = idp.introspect("gateway-tests", "s3cret", &token).await;
    assert!(answer["exp"].is_u64() && answer["iat"].is_u64(), "{answer}");
    let r = get(&gw, "/customers/1", &token).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = fake.requests()[0].body.clone();
    assert!(
        body.contains(&format!("<t:exp>{}</t:exp>", answer["exp"])),
        "{body} vs {answer}"
    );
    assert!(
        body.contains(&format!("<t:iat>{}</t:iat>", answer["iat"])),
        "{body} vs {answer}"
    );
    // The extra claims (the flattened map of the oauth2 crate's answer) keep their digits.
    assert_eq!(
        (answer["tenant_no"].to_string(), answer["weight"].to_string()),
        ("4242".into(), "0.30000000000000004".into())
    );
    assert!(
        body.contains("<t:no>4242</t:no><t:w>0.30000000000000004</t:w><t:tenant>acme</t:tenant>"),
        "{body}"
    );
}

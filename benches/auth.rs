//! Cost of step 4 per request: the same route through the real gateway (HTTP in, SOAP backend on
//! loopback, JSON out) without auth, with a cached-key RS256 JWT and with a cached-key ES256 JWT.
//! The ratio auth/no-auth within one run is the figure to read (see benches/README.md).

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use soapgate::gateway::Gateway;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const REPLY: &str = "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>\
<t:GetResponse xmlns:t=\"urn:t\"><t:id>42</t:id><t:name>Ada</t:name><t:active>true</t:active></t:GetResponse>\
</soap:Body></soap:Envelope>";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Runs `make` (which binds a server) on its own actix System thread; returns its address.
fn spawn_server(make: impl FnOnce() -> (actix_web::dev::Server, SocketAddr) + Send + 'static) -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let (server, addr) = make();
            tx.send(addr).expect("send address");
            server.await.expect("server");
        })
    });
    rx.recv().expect("server address")
}

/// The SOAP backend and the JWKS endpoint, on one loopback server.
fn backend(jwks: Value) -> SocketAddr {
    spawn_server(move || {
        let jwks = web::Data::new(jwks);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(jwks.clone())
                .route(
                    "/jwks",
                    web::get().to(|k: web::Data<Value>| async move { HttpResponse::Ok().json(k.get_ref()) }),
                )
                .route(
                    "/s",
                    web::post().to(|| async { HttpResponse::Ok().content_type("text/xml").body(REPLY) }),
                )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind backend");
        let addr = server.addrs()[0];
        (server.run(), addr)
    })
}

fn gateway(dir: &std::path::Path, backend: SocketAddr) -> (Arc<Gateway>, SocketAddr) {
    std::fs::create_dir_all(dir.join("mappings")).expect("mkdir");
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    std::fs::write(
        dir.join("soapgate.yaml"),
        format!(
            "listen: 127.0.0.1:0\nworkers: 1\nlogging: {{ format: json, level: error }}\nauth:\n  providers:\n    \
             - {{ name: bench, issuer: 'http://bench.test', discovery: false, jwks_uri: 'http://{backend}/jwks', \
             audiences: [urn:bench], algorithms: [RS256, ES256] }}\n"
        ),
    )
    .expect("config");
    std::fs::write(
        dir.join("templates/t.xml.hbs"),
        "<t:Get xmlns:t=\"urn:t\"><t:id>{{path.id}}</t:id></t:Get>",
    )
    .expect("template");
    std::fs::write(
        dir.join("mappings/svc.yaml"),
        format!(
            "service: svc\nbackend: {{ urls: ['http://{backend}/s'] }}\nroutes:\n\
             - {{ id: open, method: GET, path: '/open/{{id}}', operation: Get, public: true, request: {{ template: templates/t.xml.hbs }} }}\n\
             - {{ id: secure, method: GET, path: '/secure/{{id}}', operation: Get, scopes: [read], request: {{ template: templates/t.xml.hbs }} }}\n"
        ),
    )
    .expect("mapping");
    let gw = Arc::new(Gateway::load(dir.join("soapgate.yaml")).expect("gateway config"));
    let g = gw.clone();
    let addr = spawn_server(move || {
        let (server, addrs) = soapgate::server::rest_server(g, "127.0.0.1:0").expect("bind gateway");
        (server, addrs[0])
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gw.ready() {
        assert!(Instant::now() < deadline, "keys never loaded");
        std::thread::sleep(Duration::from_millis(20));
    }
    (gw, addr)
}

fn bench_auth(c: &mut Criterion) {
    let mut rng = rsa::rand_core::OsRng;
    let rsa_key = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key");
    let rs = EncodingKey::from_rsa_der(rsa_key.to_pkcs1_der().expect("pkcs1").as_bytes());
    let mut ec_bytes = [0u8; 32];
    getrandom::fill(&mut ec_bytes).expect("random");
    let ec_key = p256::SecretKey::from_slice(&ec_bytes).expect("P-256 key");
    let es = EncodingKey::from_ec_der(ec_key.to_pkcs8_der().expect("pkcs8").as_bytes());
    let mut ec_jwk: Value = serde_json::from_str(&ec_key.public_key().to_jwk_string()).expect("jwk");
    ec_jwk["kid"] = json!("es");
    ec_jwk["alg"] = json!("ES256");
    let rs_jwk = json!({"kty": "RSA", "kid": "rs", "alg": "RS256", "use": "sig",
        "n": b64(&rsa_key.n().to_bytes_be()), "e": b64(&rsa_key.e().to_bytes_be())});
    let backend = backend(json!({"keys": [rs_jwk, ec_jwk]}));
    let dir = tempfile::tempdir().expect("temp dir");
    let (_gw, addr) = gateway(dir.path(), backend);

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = json!({"iss": "http://bench.test", "aud": "urn:bench", "sub": "bench", "scope": "read",
        "iat": now, "exp": now + 3600});
    let sign = |alg, kid: &str, key: &EncodingKey| {
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &claims, key).expect("sign")
    };
    let cases = [
        ("no_auth", "/open/42", None),
        ("rs256", "/secure/42", Some(sign(Algorithm::RS256, "rs", &rs))),
        ("es256", "/secure/42", Some(sign(Algorithm::ES256, "es", &es))),
    ];

    // The signature check alone (what a cache miss costs on top of a hit), same keys and tokens.
    let mut verify = c.benchmark_group("jwt_signature_check");
    let rs_dec = jsonwebtoken::DecodingKey::from_rsa_components(
        &b64(&rsa_key.n().to_bytes_be()),
        &b64(&rsa_key.e().to_bytes_be()),
    )
    .expect("RSA decoding key");
    let es_dec = jsonwebtoken::DecodingKey::from_ec_components(
        ec_jwk["x"].as_str().expect("x"),
        ec_jwk["y"].as_str().expect("y"),
    )
    .expect("EC decoding key");
    for (name, alg, token, key) in [
        ("rs256", Algorithm::RS256, cases[1].2.clone(), &rs_dec),
        ("es256", Algorithm::ES256, cases[2].2.clone(), &es_dec),
    ] {
        let token = token.expect("token");
        let mut v = jsonwebtoken::Validation::new(alg);
        v.set_audience(&["urn:bench"]);
        v.set_issuer(&["http://bench.test"]);
        verify.bench_function(name, |b| {
            b.iter(|| jsonwebtoken::decode::<Value>(&token, key, &v).expect("valid"))
        });
    }
    verify.finish();

    let sys = actix_rt::System::new();
    let client = sys.block_on(async { awc::Client::default() });
    let mut group = c.benchmark_group("auth_per_request");
    for (name, path, token) in &cases {
        let url = format!("http://{addr}{path}");
        let auth = token.as_ref().map(|t| format!("Bearer {t}"));
        let once = || async {
            let mut req = client.get(&url);
            if let Some(a) = &auth {
                req = req.insert_header(("authorization", a.as_str()));
            }
            let mut res = req.send().await.expect("gateway answers");
            assert_eq!(res.status().as_u16(), 200, "{name}");
            res.body().await.expect("body")
        };
        sys.block_on(once());
        group.bench_function(*name, |b| b.iter(|| sys.block_on(once())));
    }
    group.finish();
}

criterion_group!(benches, bench_auth);
criterion_main!(benches);

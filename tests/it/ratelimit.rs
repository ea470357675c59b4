//! Step 5, rate limiting: THREATS.md R1–R5 against the real gateway, the fake SOAP backend (which
//! counts what reaches it), a real `redis-server` for the shared store, and a JWKS server of the
//! test's own (which counts key fetches).

use crate::common::fake_soap::{FakeHandle, FakeSoap, Reply};
use crate::common::gateway::{Resp, TestGateway};
use crate::common::jwks::{claims, EcKey, JwksServer};
use crate::common::redis;
use futures_util::future::join_all;
use std::time::{Duration, Instant};

const OK: &str = "<t:GetResponse xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:GetResponse>";
const ISS: &str = "http://forge.test";
const API: &str = "urn:soapgate:api";

fn backend() -> FakeHandle {
    FakeSoap::new().otherwise(Reply::soap11(OK)).start()
}

/// Service `svc` with the given routes (flow-map bodies without operation/request).
fn mapping(url: &str, routes: &[&str]) -> String {
    let mut m = format!("service: svc\nbackend:\n  urls: [{url}]\n  namespace: urn:test\nroutes:\n");
    for r in routes {
        m.push_str(&format!(
            "  - {{ {r}, operation: Get, request: {{ template: templates/t.xml.hbs }} }}\n"
        ));
    }
    m
}

fn builder(config: &str, url: &str, routes: &[&str]) -> crate::common::gateway::GatewayBuilder {
    TestGateway::builder()
        .config(config)
        .mapping("svc", &mapping(url, routes))
        .file("templates/t.xml.hbs", "<t:Get xmlns:t=\"urn:test\"/>")
}

fn rate_header(r: &Resp) -> &str {
    r.header("ratelimit").unwrap_or("")
}

/// A 429 as the contract wants it: problem+json, `Retry-After` ≥ 1, `RateLimit` r=0, the policy.
fn assert_limited(r: &Resp, policy: &str) {
    assert_eq!(r.status, 429, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type(), "application/problem+json");
    let body = r.json();
    assert_eq!(body["code"], "RATE_LIMITED");
    assert_eq!(body["status"], 429);
    assert_eq!(
        body["type"], "https://soapgate.dev/problems/rate-limited",
        "{body}"
    );
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(retry >= 1);
    let state = rate_header(r);
    assert!(
        state.starts_with(&format!("\"{policy}\";r=0;t=")),
        "RateLimit: {state}"
    );
    assert!(
        r.header("ratelimit-policy")
            .is_some_and(|p| p.starts_with(&format!("\"{policy}\";q="))),
        "{:?}",
        r.header("ratelimit-policy")
    );
}

async fn metrics(gw: &TestGateway) -> String {
    gw.gw.metrics.render()
}

#[actix_rt::test]
async fn r1_quota_exceeded_gives_429_with_retry_after_and_ratelimit_headers() {
    let fake = backend();
    let gw = builder(
        "rate_limits:\n  policies:\n    - { name: per-client, limit: 3, window: 1h }\n",
        &fake.url("/s"),
        &[
            "id: get, method: GET, path: /items, rate_limit: [per-client]",
            "id: free, method: GET, path: /free",
        ],
    )
    .start();
    for left in [2, 1, 0] {
        let r = gw.get("/items").await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("ratelimit-policy"), Some("\"per-client\";q=3;w=3600"));
        let state = rate_header(&r);
        assert!(
            state.starts_with(&format!("\"per-client\";r={left};t=")),
            "{state}"
        );
    }
    for _ in 0..5 {
        let r = gw.get("/items").await;
        assert_limited(&r, "per-client");
        let retry: u64 = r.header("retry-after").expect("retry").parse().expect("secs");
        assert!(
            (1..=1200).contains(&retry),
            "one unit comes back every 1200 s: {retry}"
        );
        assert!(r.header("x-correlation-id").is_some());
    }
    assert_eq!(fake.hits(), 3, "refused requests never reach the backend");
    // A route without policies is not limited and carries no RateLimit headers.
    let r = gw.get("/free").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ratelimit"), None);
    let m = metrics(&gw).await;
    assert!(
        m.contains("soapgate_ratelimit_decisions_total{policy=\"per-client\",result=\"allowed\"} 3"),
        "{m}"
    );
    assert!(
        m.contains("soapgate_ratelimit_decisions_total{policy=\"per-client\",result=\"limited\"} 5"),
        "{m}"
    );
}

#[actix_rt::test]
async fn ratelimit_headers_ride_on_errors_after_step_5_too() {
    let gw = builder(
        "rate_limits:\n  policies:\n    - { name: p, limit: 5, window: 1m }\n",
        &FakeSoap::refused_url(),
        &["id: get, method: GET, path: /items, rate_limit: [p]"],
    )
    .start();
    let r = gw.get("/items").await;
    assert_eq!(r.status, 502, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("ratelimit-policy"), Some("\"p\";q=5;w=60"));
    assert!(rate_header(&r).starts_with("\"p\";r=4;t="), "{}", rate_header(&r));
}

#[actix_rt::test]
async fn r1_per_client_buckets_follow_the_tokens_client_id() {
    let key = EcKey::generate("k1");
    let jwks = JwksServer::start(vec![key.jwk()]);
    let fake = backend();
    let config = format!(
        "auth:\n  providers:\n    - {{ name: forge, issuer: '{ISS}', discovery: false, jwks_uri: '{}', audiences: [{API}] }}\n\
         rate_limits:\n  policies:\n    - {{ name: per-client, limit: 2, window: 1h, key: client_id }}\n",
        jwks.url()
    );
    let gw = builder(
        &config,
        &fake.url("/s"),
        &["id: get, method: GET, path: /items, rate_limit: [per-client]"],
    )
    .start();
    wait_ready(&gw).await;
    let token = |client: &str| {
        let mut c = claims(ISS, API, "");
        c["client_id"] = serde_json::json!(client);
        format!("Bearer {}", key.sign(&c))
    };
    let (a, b) = (token("client-a"), token("client-b"));
    let send = |t: String| {
        let gw = &gw;
        async move {
            gw.send("GET", "/items", &[("authorization", t.as_str())], None)
                .await
        }
    };
    assert_eq!(send(a.clone()).await.status, 200);
    assert_eq!(send(a.clone()).await.status, 200);
    assert_limited(&send(a.clone()).await, "per-client");
    assert_eq!(send(b.clone()).await.status, 200, "client-b has its own bucket");
    assert_eq!(fake.hits(), 3);
}

/// 200 requests at once against a limit of 100: exactly 100 pass, exactly 100 reach the backend.
async fn burst_of_200(workers: usize) {
    let fake = backend();
    let gw = builder(
        "rate_limits:\n  policies:\n    - { name: shared, limit: 100, window: 1h, key: route }\n",
        &fake.url("/s"),
        &["id: get, method: GET, path: /items, rate_limit: [shared]"],
    )
    .workers(workers)
    .start();
    let results = join_all((0..200).map(|_| gw.get("/items"))).await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let limited = results.iter().filter(|r| r.status == 429).count();
    assert_eq!((ok, limited), (100, 100), "workers: {workers}");
    assert_eq!(fake.hits(), 100, "workers: {workers}");
}

#[actix_rt::test]
async fn r2_200_parallel_requests_at_limit_100_one_worker() {
    burst_of_200(1).await;
}

#[actix_rt::test]
async fn r2_200_parallel_requests_at_limit_100_two_workers() {
    burst_of_200(2).await;
}

#[actix_rt::test]
async fn cost_5_at_limit_10_allows_two_requests() {
    let fake = backend();
    let gw = builder(
        "rate_limits:\n  policies:\n    - { name: p, limit: 10, window: 1h }\n",
        &fake.url("/s"),
        &["id: get, method: GET, path: /expensive, rate_limit: [p], cost: 5"],
    )
    .start();
    let r = gw.get("/expensive").await;
    assert_eq!(r.status, 200);
    assert!(rate_header(&r).starts_with("\"p\";r=5;t="), "{}", rate_header(&r));
    assert_eq!(gw.get("/expensive").await.status, 200);
    assert_limited(&gw.get("/expensive").await, "p");
    assert_eq!(fake.hits(), 2);
}

#[actix_rt::test]
async fn several_policies_must_all_admit_the_request() {
    let fake = backend();
    let gw = builder(
        "rate_limits:\n  policies:\n    - { name: wide, limit: 10, window: 1h }\n    - { name: narrow, rate: 2/h, key: route }\n",
        &fake.url("/s"),
        &["id: get, method: GET, path: /items, rate_limit: [wide, narrow]"],
    )
    .start();
    let r = gw.get("/items").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("ratelimit-policy"),
        Some("\"wide\";q=10;w=3600, \"narrow\";q=2;w=3600")
    );
    assert_eq!(gw.get("/items").await.status, 200);
    let r = gw.get("/items").await;
    assert_eq!(r.status, 429);
    assert!(
        rate_header(&r).contains("\"narrow\";r=0;t="),
        "{}",
        rate_header(&r)
    );
    assert_eq!(r.json()["code"], "RATE_LIMITED");
    assert_eq!(fake.hits(), 2);
}

#[actix_rt::test]
async fn r4_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let fake = backend();
    // 127.0.0.1 (the test client) is not a trusted proxy: the socket address is the key.
    let gw = builder(
        "rate_limits:\n  trusted_proxies: [10.0.0.0/8]\n  policies:\n    - { name: per-ip, limit: 3, window: 1h, key: ip }\n",
        &fake.url("/s"),
        &["id: get, method: GET, path: /items, rate_limit: [per-ip]"],
    )
    .start();
    for i in 0..3 {
        let xff = format!("203.0.113.{i}");
        let r = gw
            .send("GET", "/items", &[("x-forwarded-for", xff.as_str())], None)
            .await;
        assert_eq!(r.status, 200);
    }
    for i in 3..20 {
        let xff = format!("203.0.113.{i}");
        let r = gw
            .send(
                "GET",
                "/items",
                &[
                    ("x-forwarded-for", xff.as_str()),
                    ("forwarded", "for=198.51.100.7"),
                ],
                None,
            )
            .await;
        assert_limited(&r, "per-ip");
    }
    assert_eq!(fake.hits(), 3);
}

#[actix_rt::test]
async fn r4_x_forwarded_for_from_a_trusted_proxy_keys_on_the_client() {
    let fake = backend();
    let gw = builder(
        "rate_limits:\n  trusted_proxies: [127.0.0.1/32, 10.0.0.0/8]\n  policies:\n    - { name: per-ip, limit: 2, window: 1h, key: ip }\n",
        &fake.url("/s"),
        &["id: get, method: GET, path: /items, rate_limit: [per-ip]"],
    )
    .start();
    let send = |xff: &'static str| {
        let gw = &gw;
        async move { gw.send("GET", "/items", &[("x-forwarded-for", xff)], None).await }
    };
    // The rightmost untrusted hop is the client: a spoofed leftmost entry changes nothing.
    assert_eq!(send("198.51.100.1, 10.0.0.7").await.status, 200);
    assert_eq!(send("6.6.6.6, 198.51.100.1").await.status, 200);
    assert_limited(&send("7.7.7.7, 198.51.100.1, 10.0.0.8").await, "per-ip");
    // Another client behind the same proxy has its own bucket.
    assert_eq!(send("198.51.100.2").await.status, 200);
    assert_eq!(fake.hits(), 3);
}

async fn wait_ready(gw: &TestGateway) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !gw.gw.ready() {
        assert!(Instant::now() < deadline, "keys never loaded");
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_rt::test]
async fn r5_failed_auth_floods_get_429_before_any_key_fetch() {
    let key = EcKey::generate("good");
    let jwks = JwksServer::start(vec![key.jwk()]);
    let fake = backend();
    // Every unknown kid may trigger a refetch (1 ms apart): without the limit, each bad token
    // would cost a JWKS request.
    let config = format!(
        "auth:\n  providers:\n    - {{ name: forge, issuer: '{ISS}', discovery: false, jwks_uri: '{}', audiences: [{API}],\n        \
         jwks_refetch_min_interval: 1ms }}\n\
         rate_limits:\n  policies:\n    - {{ name: auth-failures, limit: 5, window: 1h, on: auth_failure }}\n",
        jwks.url()
    );
    let gw = builder(
        &config,
        &fake.url("/s"),
        &[
            "id: get, method: GET, path: /items",
            "id: open, method: GET, path: /open, public: true",
        ],
    )
    .start();
    wait_ready(&gw).await;
    let forged = || {
        let mut kid = [0u8; 8];
        getrandom::fill(&mut kid).expect("random");
        let k = EcKey::generate(&format!("rogue-{}", u64::from_le_bytes(kid)));
        format!("Bearer {}", k.sign(&claims(ISS, API, "")))
    };
    let before = jwks.hits();
    for _ in 0..5 {
        let t = forged();
        let r = gw
            .send("GET", "/items", &[("authorization", t.as_str())], None)
            .await;
        assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
        actix_rt::time::sleep(Duration::from_millis(3)).await;
    }
    assert!(
        jwks.hits() > before,
        "unknown kids did trigger refetches while under the limit"
    );
    // The sixth failure finds the budget spent.
    let t = forged();
    let r = gw
        .send("GET", "/items", &[("authorization", t.as_str())], None)
        .await;
    assert_limited(&r, "auth-failures");
    let fetched = jwks.hits();
    for i in 0..500 {
        let t = if i % 2 == 0 {
            forged()
        } else {
            "Bearer garbage".to_string()
        };
        let r = gw
            .send("GET", "/items", &[("authorization", t.as_str())], None)
            .await;
        assert_eq!(r.status, 429, "request {i}");
    }
    // Even a valid token from that address waits: the token is not looked at.
    let good = format!("Bearer {}", key.sign(&claims(ISS, API, "")));
    assert_limited(
        &gw.send("GET", "/items", &[("authorization", good.as_str())], None)
            .await,
        "auth-failures",
    );
    assert_eq!(jwks.hits(), fetched, "no JWKS fetch after the limit");
    assert_eq!(fake.hits(), 0);
    // Public routes do not authenticate, so the auth-failure limit does not apply there.
    assert_eq!(gw.get("/open").await.status, 200);
}

#[actix_rt::test]
async fn counters_survive_a_reload_while_the_policy_is_unchanged() {
    let fake = backend();
    let gw = builder(
        "rate_limits:\n  policies:\n    - { name: p, limit: 2, window: 1h }\n",
        &fake.url("/s"),
        &["id: get, method: GET, path: /items, rate_limit: [p]"],
    )
    .start();
    assert_eq!(gw.get("/items").await.status, 200);
    assert_eq!(gw.get("/items").await.status, 200);
    gw.gw.reload().expect("same config reloads");
    assert_limited(&gw.get("/items").await, "p");
    // A changed policy starts afresh.
    let cfg = std::fs::read_to_string(&gw.config).expect("config");
    std::fs::write(&gw.config, cfg.replace("limit: 2", "limit: 3")).expect("write");
    gw.gw.reload().expect("changed config reloads");
    assert_eq!(gw.get("/items").await.status, 200);
}

#[test]
fn config_errors_name_the_file_the_key_and_the_fix() {
    let errors = builder(
        "rate_limits:\n  trusted_proxies: [10.0.0.0/40]\n  store: { kind: memcached }\n  policies:\n    \
         - { name: zero, limit: 0, window: 1m }\n    - { name: badkey, limit: 1, window: 1m, key: cookie }\n    \
         - { name: ok, limit: 4, window: 1m }\n",
        "http://127.0.0.1:9/s",
        &[
            "id: a, method: GET, path: /a, rate_limit: [missing]",
            "id: b, method: GET, path: /b, rate_limit: [ok], cost: 5",
            "id: c, method: GET, path: /c, rate_limit: [ok], cost: 0",
        ],
    )
    .load()
    .expect_err("invalid config");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let all = text.join("\n");
    for (file, want) in [
        ("soapgate.yaml", "rate_limits.trusted_proxies[0]: `10.0.0.0/40`"),
        (
            "soapgate.yaml",
            "rate_limits.store.kind: unknown store `memcached` (fix: use local or redis)",
        ),
        (
            "soapgate.yaml",
            "rate_limits.policies[0].limit: 0 is not a usable limit",
        ),
        (
            "soapgate.yaml",
            "rate_limits.policies[1].key: unknown key kind `cookie`",
        ),
        (
            "svc.yaml",
            "routes[0].rate_limit[0]: no rate-limit policy named `missing` (fix: use one of: ok)",
        ),
        (
            "svc.yaml",
            "routes[1].cost: cost 5 exceeds what policy `ok` ever allows at once (4)",
        ),
        (
            "svc.yaml",
            "routes[2].cost: cost 0 is not a whole number of at least 1",
        ),
    ] {
        assert!(
            text.iter()
                .any(|e| e.contains(file) && e.contains(want) && e.contains("(fix: ")),
            "missing `{want}` in:\n{all}"
        );
    }
    // Unknown keys are errors too.
    let errors = builder(
        "rate_limits:\n  polices: []\n",
        "http://127.0.0.1:9/s",
        &["id: a, method: GET, path: /a"],
    )
    .load()
    .expect_err("unknown key");
    assert!(errors[0].to_string().contains("rate_limits"), "{:?}", errors[0]);
}

fn redis_config(url: &str, extra: &str) -> String {
    format!(
        "rate_limits:\n  store: {{ kind: redis, url: '{url}', retry_interval: 200ms{extra} }}\n  \
         policies:\n    - {{ name: shared, limit: 100, window: 1h }}\n"
    )
}

#[actix_rt::test]
async fn two_instances_on_one_redis_enforce_one_limit_exactly() {
    let Some(redis) = redis::redis() else { return };
    let fake = backend();
    // A generous timeout: this test is about exactness, not about a loaded test machine's latency.
    let config = redis_config(&redis.url(), ", timeout: 3s");
    let routes = ["id: get, method: GET, path: /items, rate_limit: [shared]"];
    let a = builder(&config, &fake.url("/s"), &routes).workers(2).start();
    let b = builder(&config, &fake.url("/s"), &routes).workers(2).start();
    // 200 requests at once, split across both instances (same client: one shared bucket).
    let results = join_all((0..200).map(|i| {
        if i % 2 == 0 {
            a.get("/items")
        } else {
            b.get("/items")
        }
    }))
    .await;
    let ok = results.iter().filter(|r| r.status == 200).count();
    let limited: Vec<&Resp> = results.iter().filter(|r| r.status == 429).collect();
    let (ma, mb) = (metrics(&a).await, metrics(&b).await);
    assert_eq!(
        (ok, limited.len()),
        (100, 100),
        "the Lua script decides atomically: no tolerance\n{ma}\n{mb}"
    );
    assert_eq!(fake.hits(), 100);
    assert_limited(limited[0], "shared");
    for gw in [&a, &b] {
        let m = metrics(gw).await;
        assert!(m.contains("soapgate_ratelimit_degraded 0"), "{m}");
    }
}

async fn degraded(gw: &TestGateway) -> bool {
    metrics(gw).await.contains("soapgate_ratelimit_degraded 1")
}

#[actix_rt::test]
async fn r3_redis_down_falls_back_to_local_counters_and_recovers() {
    let Some(redis) = redis::redis() else { return };
    let fake = backend();
    let routes = ["id: get, method: GET, path: /items, rate_limit: [shared]"];
    let local = builder(
        &redis_config(&redis.url(), ", timeout: 500ms"),
        &fake.url("/s"),
        &routes,
    )
    .start();
    let reject = builder(
        &redis_config(&redis.url(), ", timeout: 500ms, on_error: reject"),
        &fake.url("/s"),
        &routes,
    )
    .start();
    assert_eq!(local.get("/items").await.status, 200);
    assert_eq!(reject.get("/items").await.status, 200);
    assert!(!degraded(&local).await);

    redis.stop();
    for _ in 0..10 {
        let r = local.get("/items").await;
        assert_eq!(
            r.status,
            200,
            "local fallback: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            rate_header(&r).starts_with("\"shared\";r="),
            "decided locally, still signalled"
        );
    }
    assert!(degraded(&local).await, "{}", metrics(&local).await);
    for _ in 0..3 {
        let r = reject.get("/items").await;
        assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.content_type(), "application/problem+json");
        assert_eq!(r.json()["code"], "RATE_LIMIT_UNAVAILABLE");
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    assert!(degraded(&reject).await);
    let m = metrics(&reject).await;
    assert!(
        m.contains("soapgate_ratelimit_decisions_total{policy=\"shared\",result=\"unavailable\"} 3"),
        "{m}"
    );

    // Back on the same port: a later request tries again and decisions are shared once more.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while degraded(&local).await || degraded(&reject).await {
        assert!(
            Instant::now() < deadline,
            "never recovered: {}",
            metrics(&local).await
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(local.get("/items").await.status, 200);
        let s = reject.get("/items").await.status;
        assert!(s == 200 || s == 503, "{s}");
    }
    assert_eq!(reject.get("/items").await.status, 200);
}

#[actix_rt::test]
async fn r3_redis_on_a_closed_port_never_gives_500() {
    let fake = backend();
    let routes = ["id: get, method: GET, path: /items, rate_limit: [p]"];
    let url = FakeSoap::refused_url().replace("http://", "redis://");
    let config = format!(
        "rate_limits:\n  store: {{ kind: redis, url: '{url}', timeout: 100ms }}\n  policies:\n    - {{ name: p, limit: 3, window: 1h }}\n"
    );
    let gw = builder(&config, &fake.url("/s"), &routes).start();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(gw.get("/items").await.status);
    }
    assert_eq!(
        statuses,
        [200, 200, 200, 429, 429],
        "the local fallback enforces the limit per instance"
    );
    assert!(degraded(&gw).await);
}

/// R3, slow: a "Redis" that accepts connections and never answers (a hung store). Each decision
/// waits at most the store timeout, then the local fallback decides; no 500, no unbounded wait.
#[actix_rt::test]
async fn r3_a_redis_that_hangs_times_out_into_the_local_fallback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(64) {
            match s {
                Ok(s) => held.push(s), // keep it open, never reply
                Err(_) => break,
            }
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    });
    let fake = backend();
    let routes = ["id: get, method: GET, path: /items, rate_limit: [p]"];
    let config = format!(
        "rate_limits:\n  store: {{ kind: redis, url: 'redis://127.0.0.1:{port}/', timeout: 100ms }}\n  policies:\n    - {{ name: p, limit: 3, window: 1h }}\n"
    );
    let gw = builder(&config, &fake.url("/s"), &routes).start();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(gw.get("/items").await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert!(degraded(&gw).await);
    assert_eq!(fake.hits(), 3);
}

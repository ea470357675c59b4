//! Step 5 of the flow: rate limiting by named policies (THREATS.md R1–R5).
//!
//! Every policy is GCRA (a token bucket stored as one "theoretical arrival time" per key): a
//! bucket of `burst` units refilled at one unit per `interval`; `limit: N` + `window: W` is a
//! bucket of N refilled at N per W. A route's `cost` takes that many units at once. Counters live
//! in this process (governor, shared by all workers) or in Redis (one Lua script per request,
//! shared by all instances), with this process's counters as the fallback when Redis fails.
//!
//! `on: auth_failure` policies count only requests refused by step 4; once one is spent, the key
//! (the client address) gets 429 *before* its token is looked at, so no key fetch happens.

pub mod config;
pub mod ip;
pub mod store;

use crate::auth::Principal;
use crate::error::GatewayError;
use crate::metrics::RateLimitMetrics;
use crate::tls::ClientCert;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use ip::{Cidr, ForwardedHeader};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use store::{Check, RedisStore, StoreError};

/// What a policy counts by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// The token's `client_id` (else `azp`); the client address without a token.
    ClientId,
    /// The token's `sub`; the client address without a token.
    Subject,
    /// The client address (see [`ip::client_ip`]).
    Ip,
    /// A request header's value; the client address when it is absent.
    Header(HeaderName),
    /// One bucket for the whole route.
    Route,
    /// The subject of the verified TLS client certificate; the client address without one.
    ClientCert,
}

/// Which requests a policy counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Request,
    AuthFailure,
}

/// One policy as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    pub name: String,
    /// Units the bucket holds (`limit`, or `burst`).
    pub burst: u32,
    /// Time to regain one unit (`window / limit`).
    pub interval: Duration,
    pub key: KeyKind,
    pub on: Trigger,
}

impl PolicySpec {
    /// `w` of `RateLimit-Policy`: seconds to refill the whole bucket (the window), at least 1.
    pub fn window_secs(&self) -> u64 {
        ceil_secs(self.interval.saturating_mul(self.burst)).max(1)
    }
}

/// What Redis trouble means for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Decide with this instance's own counters (each instance then allows the full limit).
    Local,
    /// 503 `RATE_LIMIT_UNAVAILABLE`.
    Reject,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedisSpec {
    pub url: String,
    pub timeout: Duration,
    pub on_error: OnError,
    pub prefix: String,
    pub retry_interval: Duration,
    /// Trust and client certificate for `rediss://` (`None` for plain `redis://`).
    pub tls: Option<crate::tls::ClientTls>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreSpec {
    Local,
    Redis(RedisSpec),
}

/// One store's answer for one key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    /// Units left after this request.
    pub remaining: u32,
    /// When refused: wait before the request would fit.
    pub retry: Duration,
    /// Until the bucket is full again (refused: until the request would fit).
    pub reset: Duration,
}

type Limiter = RateLimiter<u128, DashMapStateStore<u128>, DefaultClock, StateInformationMiddleware>;

/// A policy with its in-process state (kept across reloads while the spec is unchanged).
pub struct Policy {
    pub spec: PolicySpec,
    local: Limiter,
    /// auth_failure policies: keys whose budget is spent, until when.
    blocked: moka::sync::Cache<u128, Instant>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("spec", &self.spec)
            .field("keys", &self.local.len())
            .finish()
    }
}

impl Policy {
    fn new(spec: PolicySpec) -> Policy {
        let burst = NonZeroU32::new(spec.burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(spec.interval)
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst);
        let local = RateLimiter::dashmap(quota).with_middleware::<StateInformationMiddleware>();
        let blocked = moka::sync::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(
                spec.interval
                    .saturating_mul(spec.burst)
                    .max(Duration::from_secs(1)),
            )
            .build();
        Policy { spec, local, blocked }
    }

    /// This process's decision for `cost` units of `key`.
    pub fn decide_local(&self, key: u128, cost: u32) -> Decision {
        let n = NonZeroU32::new(cost).unwrap_or(NonZeroU32::MIN);
        let full = self.spec.interval.saturating_mul(self.spec.burst);
        match self.local.check_key_n(&key, n) {
            Ok(Ok(state)) => {
                let remaining = state.remaining_burst_capacity().min(self.spec.burst);
                Decision {
                    allowed: true,
                    remaining,
                    retry: Duration::ZERO,
                    reset: self.spec.interval.saturating_mul(self.spec.burst - remaining),
                }
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.local.clock().now());
                Decision {
                    allowed: false,
                    remaining: 0,
                    retry: wait,
                    reset: wait,
                }
            }
            // More than the bucket holds (the config check prevents it).
            Err(_) => Decision {
                allowed: false,
                remaining: 0,
                retry: full,
                reset: full,
            },
        }
    }
}

/// A route's policies (indexes into [`RateLimits::policies`]) and its cost per request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteLimits {
    pub policies: Vec<usize>,
    pub cost: u32,
}

/// One policy's state for the `RateLimit` / `RateLimit-Policy` response headers.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub policy: String,
    pub quota: u32,
    pub window: u64,
    pub remaining: u32,
    pub reset: u64,
}

/// Every policy of one config snapshot, the store and the client-address rules.
pub struct RateLimits {
    pub policies: Vec<Arc<Policy>>,
    pub store_spec: StoreSpec,
    store: Option<Arc<RedisStore>>,
    pub trusted_proxies: Vec<Cidr>,
    pub forwarded: ForwardedHeader,
    metrics: Arc<RateLimitMetrics>,
    last_maintenance: Mutex<Option<Instant>>,
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits::new(
            Vec::new(),
            StoreSpec::Local,
            Vec::new(),
            ForwardedHeader::XForwardedFor,
        )
    }
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("policies", &self.policies)
            .field("store", &self.store_spec)
            .finish()
    }
}

/// Seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl RateLimits {
    pub fn new(
        specs: Vec<PolicySpec>,
        store: StoreSpec,
        proxies: Vec<Cidr>,
        forwarded: ForwardedHeader,
    ) -> RateLimits {
        let metrics = Arc::new(RateLimitMetrics::default());
        let redis = match &store {
            StoreSpec::Redis(r) => Some(Arc::new(RedisStore::new(r.clone(), metrics.clone()))),
            StoreSpec::Local => None,
        };
        RateLimits {
            policies: specs.into_iter().map(|s| Arc::new(Policy::new(s))).collect(),
            store_spec: store,
            store: redis,
            trusted_proxies: proxies,
            forwarded,
            metrics,
            last_maintenance: Mutex::new(None),
        }
    }

    /// The counters behind `soapgate_ratelimit_*` (kept across reloads).
    pub fn metrics(&self) -> Arc<RateLimitMetrics> {
        self.metrics.clone()
    }

    /// The Redis store, when configured.
    pub fn redis(&self) -> Option<&Arc<RedisStore>> {
        self.store.as_ref()
    }

    /// Carries state over a reload: an unchanged policy keeps its counters, an unchanged store its
    /// connection, and the metrics stay the same.
    pub fn adopt(&mut self, old: &RateLimits) {
        for p in &mut self.policies {
            if let Some(o) = old.policies.iter().find(|o| o.spec == p.spec) {
                *p = o.clone();
            }
        }
        self.metrics = old.metrics.clone();
        if self.store_spec == old.store_spec {
            self.store = old.store.clone();
        } else {
            if old.store.as_ref().is_some_and(|s| s.degraded()) {
                self.metrics.set_degraded(false);
            }
            self.store = match &self.store_spec {
                StoreSpec::Redis(r) => Some(Arc::new(RedisStore::new(r.clone(), self.metrics.clone()))),
                StoreSpec::Local => None,
            };
        }
    }

    /// Drops idle keys (state back to a full bucket) at most every 10 s; called by the gateway's
    /// background task, so memory follows the keys active within one window.
    pub fn maintain(&self) {
        let now = Instant::now();
        {
            let Ok(mut last) = self.last_maintenance.lock() else {
                return;
            };
            if last.is_some_and(|l| now.duration_since(l) < Duration::from_secs(10)) {
                return;
            }
            *last = Some(now);
        }
        for p in &self.policies {
            p.local.retain_recent();
            p.local.shrink_to_fit();
            p.blocked.run_pending_tasks();
        }
    }

    fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        ip::client_ip(peer, headers, &self.trusted_proxies, self.forwarded)
    }

    /// The bucket id of `policy` for this request (a hash: raw values never become keys).
    fn key_of(
        policy: &PolicySpec,
        route: &str,
        principal: Option<&Principal>,
        headers: &HeaderMap,
        cert: Option<&ClientCert>,
        ip: Option<IpAddr>,
    ) -> u128 {
        let by_ip = || match ip {
            Some(a) => format!("ip\0{a}"),
            None => "ip\0unknown".to_string(),
        };
        let id = match &policy.key {
            KeyKind::ClientId => match principal.and_then(|p| p.client_id.as_deref()) {
                Some(c) => format!(
                    "client\0{}\0{c}",
                    principal.map(|p| p.provider.as_str()).unwrap_or("")
                ),
                None => by_ip(),
            },
            KeyKind::Subject => match principal.and_then(|p| p.subject.as_deref()) {
                Some(s) => format!(
                    "sub\0{}\0{s}",
                    principal.map(|p| p.provider.as_str()).unwrap_or("")
                ),
                None => by_ip(),
            },
            KeyKind::Ip => by_ip(),
            KeyKind::Header(h) => match headers.get(h) {
                Some(v) => format!("hdr\0{}", String::from_utf8_lossy(v.as_bytes())),
                None => by_ip(),
            },
            KeyKind::Route => format!("route\0{route}"),
            KeyKind::ClientCert => match cert {
                Some(c) => format!("cert\0{}", c.subject),
                None => by_ip(),
            },
        };
        let digest = Sha256::digest(id.as_bytes());
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        u128::from_be_bytes(first)
    }

    fn status(p: &PolicySpec, d: &Decision) -> Status {
        Status {
            policy: p.name.clone(),
            quota: p.burst,
            window: p.window_secs(),
            remaining: if d.allowed { d.remaining } else { 0 },
            reset: ceil_secs(d.reset),
        }
    }

    /// Decides `checks` (policy index, key) at `cost`: one Redis round trip, or this process.
    async fn decide(&self, checks: &[(usize, u128)], cost: u32) -> Result<Vec<Decision>, GatewayError> {
        if let Some(store) = &self.store {
            let list: Vec<Check> = checks
                .iter()
                .map(|(i, k)| {
                    let s = &self.policies[*i].spec;
                    Check {
                        key: store.key(&s.name, *k),
                        interval: s.interval,
                        burst: s.burst,
                        cost,
                    }
                })
                .collect();
            match store.decide(&list).await {
                Ok(d) => return Ok(d),
                Err(e) => {
                    if store.spec.on_error == OnError::Reject {
                        for (i, _) in checks {
                            self.metrics.decision(&self.policies[*i].spec.name, "unavailable");
                        }
                        let why = match e {
                            StoreError::Open => "the rate-limit store is unavailable".to_string(),
                            StoreError::Failed(w) => w,
                        };
                        return Err(GatewayError::RateLimitUnavailable(why));
                    }
                }
            }
        }
        // Local: policy by policy, stopping at the first refusal (a later refusal does not give
        // back what earlier policies counted).
        let mut out = Vec::with_capacity(checks.len());
        for (i, k) in checks {
            let d = self.policies[*i].decide_local(*k, cost);
            out.push(d);
            if !d.allowed {
                break;
            }
        }
        Ok(out)
    }

    /// Turns decisions into statuses, metrics and, on the first refusal, a 429.
    fn conclude(
        &self,
        checks: &[(usize, u128)],
        decisions: &[Decision],
        statuses: &mut Vec<Status>,
    ) -> Result<(), GatewayError> {
        let mut refused = None;
        for ((i, _), d) in checks.iter().zip(decisions) {
            let spec = &self.policies[*i].spec;
            statuses.push(Self::status(spec, d));
            self.metrics
                .decision(&spec.name, if d.allowed { "allowed" } else { "limited" });
            if !d.allowed && refused.is_none() {
                refused = Some((spec.name.clone(), d.retry));
            }
        }
        match refused {
            None => Ok(()),
            Some((policy, retry)) => Err(GatewayError::RateLimited {
                policy,
                retry_after: ceil_secs(retry).max(1),
            }),
        }
    }

    fn auth_failure_policies(&self) -> impl Iterator<Item = (usize, &Arc<Policy>)> {
        self.policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.spec.on == Trigger::AuthFailure)
    }

    /// Before step 4 on a protected route: 429 when an auth_failure budget of this client is
    /// spent (its token is not even parsed, so a flood of bad tokens costs no key fetch).
    pub fn auth_gate(
        &self,
        route: &str,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
        cert: Option<&ClientCert>,
        statuses: &mut Vec<Status>,
    ) -> Result<(), GatewayError> {
        let mut policies = self.auth_failure_policies().peekable();
        if policies.peek().is_none() {
            return Ok(());
        }
        let ip = self.client_ip(peer, headers);
        let now = Instant::now();
        for (_, p) in policies {
            let key = Self::key_of(&p.spec, route, None, headers, cert, ip);
            if let Some(until) = p.blocked.get(&key) {
                if until > now {
                    let wait = until - now;
                    statuses.push(Status {
                        policy: p.spec.name.clone(),
                        quota: p.spec.burst,
                        window: p.spec.window_secs(),
                        remaining: 0,
                        reset: ceil_secs(wait),
                    });
                    self.metrics.decision(&p.spec.name, "limited");
                    return Err(GatewayError::RateLimited {
                        policy: p.spec.name.clone(),
                        retry_after: ceil_secs(wait).max(1),
                    });
                }
            }
        }
        Ok(())
    }

    /// After step 4 refused a request (400/401): counts it. `Some(429)` when this failure found
    /// the budget spent; the key is then refused before step 4 until the budget refills.
    pub async fn auth_failed(
        &self,
        route: &str,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
        cert: Option<&ClientCert>,
        statuses: &mut Vec<Status>,
    ) -> Option<GatewayError> {
        let ip = self.client_ip(peer, headers);
        let checks: Vec<(usize, u128)> = self
            .auth_failure_policies()
            .map(|(i, p)| (i, Self::key_of(&p.spec, route, None, headers, cert, ip)))
            .collect();
        if checks.is_empty() {
            return None;
        }
        let decisions = match self.decide(&checks, 1).await {
            Ok(d) => d,
            // Reject mode with Redis down: the request is refused anyway (it failed auth).
            Err(_) => return None,
        };
        let now = Instant::now();
        for ((i, key), d) in checks.iter().zip(&decisions) {
            if !d.allowed {
                self.policies[*i].blocked.insert(*key, now + d.retry);
            }
        }
        self.conclude(&checks, &decisions, statuses).err()
    }

    /// Step 5: every policy of the route must admit `cost` units.
    #[allow(clippy::too_many_arguments)]
    pub async fn check(
        &self,
        limits: &RouteLimits,
        route: &str,
        principal: Option<&Principal>,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
        cert: Option<&ClientCert>,
        statuses: &mut Vec<Status>,
    ) -> Result<(), GatewayError> {
        if limits.policies.is_empty() {
            return Ok(());
        }
        let needs_ip = limits.policies.iter().any(|i| {
            let k = &self.policies[*i].spec.key;
            k == &KeyKind::Ip
                || (k == &KeyKind::ClientId && principal.and_then(|p| p.client_id.as_ref()).is_none())
                || (k == &KeyKind::Subject && principal.and_then(|p| p.subject.as_ref()).is_none())
                || matches!(k, KeyKind::Header(h) if !headers.contains_key(h))
                || (k == &KeyKind::ClientCert && cert.is_none())
        });
        let ip = if needs_ip {
            self.client_ip(peer, headers)
        } else {
            None
        };
        let checks: Vec<(usize, u128)> = limits
            .policies
            .iter()
            .map(|i| {
                (
                    *i,
                    Self::key_of(&self.policies[*i].spec, route, principal, headers, cert, ip),
                )
            })
            .collect();
        let decisions = self.decide(&checks, limits.cost.max(1)).await?;
        self.conclude(&checks, &decisions, statuses)
    }
}

/// Adds `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers, structured
/// field lists) for the policies that decided this request.
pub fn apply_headers(statuses: &[Status], headers: &mut HeaderMap) {
    if statuses.is_empty() {
        return;
    }
    let policy: Vec<String> = statuses
        .iter()
        .map(|s| format!("\"{}\";q={};w={}", s.policy, s.quota, s.window))
        .collect();
    let state: Vec<String> = statuses
        .iter()
        .map(|s| format!("\"{}\";r={};t={}", s.policy, s.remaining, s.reset))
        .collect();
    for (name, value) in [
        ("ratelimit-policy", policy.join(", ")),
        ("ratelimit", state.join(", ")),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, burst: u32, window: Duration, key: KeyKind) -> PolicySpec {
        PolicySpec {
            name: name.into(),
            burst,
            interval: window / burst,
            key,
            on: Trigger::Request,
        }
    }

    fn limits(specs: Vec<PolicySpec>) -> RateLimits {
        RateLimits::new(
            specs,
            StoreSpec::Local,
            Vec::new(),
            ForwardedHeader::XForwardedFor,
        )
    }

    fn peer() -> Option<IpAddr> {
        Some("192.0.2.1".parse().expect("ip"))
    }

    #[actix_rt::test]
    async fn local_policy_allows_exactly_the_limit_then_429_with_retry_after() {
        let rl = limits(vec![spec("p", 3, Duration::from_secs(3600), KeyKind::Ip)]);
        let route = RouteLimits {
            policies: vec![0],
            cost: 1,
        };
        let h = HeaderMap::new();
        for left in [2, 1, 0] {
            let mut st = Vec::new();
            rl.check(&route, "r", None, peer(), &h, None, &mut st)
                .await
                .expect("allowed");
            assert_eq!(st[0].remaining, left);
            assert_eq!((st[0].quota, st[0].window), (3, 3600));
        }
        let mut st = Vec::new();
        let err = rl
            .check(&route, "r", None, peer(), &h, None, &mut st)
            .await
            .expect_err("limited");
        match err {
            GatewayError::RateLimited { policy, retry_after } => {
                assert_eq!(policy, "p");
                assert!((1..=1200).contains(&retry_after), "{retry_after}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(st[0].remaining, 0);
        // Another address has its own bucket.
        let mut st = Vec::new();
        let other = Some("192.0.2.2".parse().expect("ip"));
        rl.check(&route, "r", None, other, &h, None, &mut st)
            .await
            .expect("own bucket");
        let mut text = String::new();
        rl.metrics().render(&mut text);
        assert!(
            text.contains("soapgate_ratelimit_decisions_total{policy=\"p\",result=\"limited\"} 1"),
            "{text}"
        );
    }

    #[actix_rt::test]
    async fn cost_takes_several_units() {
        let rl = limits(vec![spec("p", 10, Duration::from_secs(3600), KeyKind::Route)]);
        let route = RouteLimits {
            policies: vec![0],
            cost: 5,
        };
        let h = HeaderMap::new();
        let mut st = Vec::new();
        assert!(rl
            .check(&route, "r", None, peer(), &h, None, &mut st)
            .await
            .is_ok());
        assert!(rl
            .check(&route, "r", None, peer(), &h, None, &mut st)
            .await
            .is_ok());
        assert!(rl
            .check(&route, "r", None, peer(), &h, None, &mut st)
            .await
            .is_err());
    }

    #[actix_rt::test]
    async fn auth_failures_block_before_the_token_is_checked() {
        let mut s = spec("af", 2, Duration::from_secs(3600), KeyKind::Ip);
        s.on = Trigger::AuthFailure;
        let rl = limits(vec![s]);
        let h = HeaderMap::new();
        let mut st = Vec::new();
        assert!(rl.auth_gate("r", peer(), &h, None, &mut st).is_ok());
        assert!(rl.auth_failed("r", peer(), &h, None, &mut st).await.is_none());
        assert!(rl.auth_failed("r", peer(), &h, None, &mut st).await.is_none());
        assert!(
            rl.auth_gate("r", peer(), &h, None, &mut st).is_ok(),
            "two failures spend the budget, no more"
        );
        assert!(matches!(
            rl.auth_failed("r", peer(), &h, None, &mut st).await,
            Some(GatewayError::RateLimited { .. })
        ));
        assert!(matches!(
            rl.auth_gate("r", peer(), &h, None, &mut st),
            Err(GatewayError::RateLimited { .. })
        ));
        let other = Some("192.0.2.9".parse().expect("ip"));
        assert!(rl.auth_gate("r", other, &h, None, &mut st).is_ok());
    }

    #[test]
    fn keys_fall_back_to_the_address_and_hash_everything() {
        let h = HeaderMap::new();
        let ip = peer();
        let by_client = spec("p", 1, Duration::from_secs(1), KeyKind::ClientId);
        let by_ip = spec("p", 1, Duration::from_secs(1), KeyKind::Ip);
        assert_eq!(
            RateLimits::key_of(&by_client, "r", None, &h, None, ip),
            RateLimits::key_of(&by_ip, "r", None, &h, None, ip)
        );
        let mut claims = serde_json::Map::new();
        claims.insert("client_id".into(), serde_json::json!("c1"));
        let p = Principal::from_claims("corp", "http://i", claims);
        assert_ne!(
            RateLimits::key_of(&by_client, "r", Some(&p), &h, None, ip),
            RateLimits::key_of(&by_ip, "r", None, &h, None, ip)
        );
    }

    #[test]
    fn adopt_keeps_counters_of_unchanged_policies() {
        let old = limits(vec![
            spec("same", 2, Duration::from_secs(60), KeyKind::Ip),
            spec("changed", 2, Duration::from_secs(60), KeyKind::Ip),
        ]);
        let mut new = limits(vec![
            spec("same", 2, Duration::from_secs(60), KeyKind::Ip),
            spec("changed", 3, Duration::from_secs(60), KeyKind::Ip),
        ]);
        new.adopt(&old);
        assert!(Arc::ptr_eq(&new.policies[0], &old.policies[0]));
        assert!(!Arc::ptr_eq(&new.policies[1], &old.policies[1]));
        assert!(Arc::ptr_eq(&new.metrics, &old.metrics));
    }

    #[test]
    fn headers_are_structured_field_lists() {
        let mut h = HeaderMap::new();
        let st = [
            Status {
                policy: "a".into(),
                quota: 100,
                window: 60,
                remaining: 99,
                reset: 1,
            },
            Status {
                policy: "b".into(),
                quota: 5,
                window: 1,
                remaining: 0,
                reset: 1,
            },
        ];
        apply_headers(&st, &mut h);
        assert_eq!(
            h.get("ratelimit-policy").and_then(|v| v.to_str().ok()),
            Some("\"a\";q=100;w=60, \"b\";q=5;w=1")
        );
        assert_eq!(
            h.get("ratelimit").and_then(|v| v.to_str().ok()),
            Some("\"a\";r=99;t=1, \"b\";r=0;t=1")
        );
    }
}

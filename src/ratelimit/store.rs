//! The Redis store: every instance's decisions go through one Lua script (GCRA), so N instances
//! share one limit. One round trip per request, atomic across all of the request's policies.

use super::{Decision, RedisSpec};
use crate::metrics::RateLimitMetrics;
use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp per key) over
/// every key of the request, all-or-nothing: either every policy admits the request and all
/// their TATs advance, or nothing changes. The clock is Redis's own (`TIME`), so the instances'
/// clocks do not matter.
///
/// `KEYS[i]`: bucket keys. `ARGV[3i-2..3i]`: emission interval µs, capacity µs (burst × interval),
/// cost. Returns, per key: allowed (1/0), remaining units, retry-after µs, reset µs.
pub const GCRA_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
local tats = {}
local ok = true
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 2])
  local capacity = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  if tat < now then tat = now end
  local new_tat = tat + cost * interval
  local over = new_tat - now - capacity
  if over > 0 then
    ok = false
    local left = math.floor((capacity - (tat - now)) / interval)
    if left < 0 then left = 0 end
    out[#out + 1] = 0
    out[#out + 1] = left
    out[#out + 1] = over
    out[#out + 1] = tat - now
  else
    tats[i] = new_tat
    out[#out + 1] = 1
    out[#out + 1] = math.floor((capacity - (new_tat - now)) / interval)
    out[#out + 1] = 0
    out[#out + 1] = new_tat - now
  end
end
if ok then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1)
  end
end
return out
"#;

/// One key's check in a [`RedisStore::decide`] call.
#[derive(Debug, Clone)]
pub struct Check {
    pub key: String,
    pub interval: Duration,
    pub burst: u32,
    pub cost: u32,
}

/// A Redis-backed store with a breaker: while Redis fails, one request per `retry_interval`
/// tries it again and the others do not wait for it.
pub struct RedisStore {
    pub spec: RedisSpec,
    client: Option<redis::Client>,
    conn: ArcSwapOption<ConnectionManager>,
    script: redis::Script,
    degraded: AtomicBool,
    /// Milliseconds since `epoch` before which a degraded store is not tried.
    next_try_ms: AtomicU64,
    epoch: Instant,
    metrics: Arc<RateLimitMetrics>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.spec.prefix)
            .field("degraded", &self.degraded.load(Ordering::Relaxed))
            .finish()
    }
}

/// Why the store gave no decision.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreError {
    /// Redis failed recently; not tried again yet.
    Open,
    /// Redis failed or was too slow just now.
    Failed(String),
}

/// A client for the store's URL; `rediss://` with the profile's CAs and client certificate
/// (none: the system trust store).
fn client(spec: &RedisSpec) -> Option<redis::Client> {
    let Some(tls) = &spec.tls else {
        return redis::Client::open(spec.url.as_str()).ok();
    };
    crate::tls::provider();
    let m = tls.material();
    let certs = redis::TlsCertificates {
        client_tls: match (&m.cert_pem, &m.key_pem) {
            (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
                client_cert: cert.clone(),
                client_key: key.clone(),
            }),
            _ => None,
        },
        root_cert: m.ca_pem.clone(),
    };
    redis::Client::build_with_tls(spec.url.as_str(), certs).ok()
}

impl RedisStore {
    pub fn new(spec: RedisSpec, metrics: Arc<RateLimitMetrics>) -> RedisStore {
        RedisStore {
            client: client(&spec),
            spec,
            conn: ArcSwapOption::empty(),
            script: redis::Script::new(GCRA_LUA),
            degraded: AtomicBool::new(false),
            next_try_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            metrics,
        }
    }

    /// Whether the last attempt failed (and decisions are local or refused).
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::Relaxed)
    }

    /// The Redis key of one bucket.
    pub fn key(&self, policy: &str, id: u128) -> String {
        format!("{}:rl:{policy}:{id:032x}", self.spec.prefix)
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis().min(u128::from(u64::MAX)) as u64
    }

    /// One atomic decision over all `checks` (one round trip), within `spec.timeout`.
    pub async fn decide(&self, checks: &[Check]) -> Result<Vec<Decision>, StoreError> {
        if self.degraded() {
            // Only the request that moves the deadline on tries Redis; the rest decide locally.
            let now = self.now_ms();
            let next = self.next_try_ms.load(Ordering::Acquire);
            let later = now.saturating_add(self.spec.retry_interval.as_millis() as u64);
            if now < next
                || self
                    .next_try_ms
                    .compare_exchange(next, later, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err()
            {
                return Err(StoreError::Open);
            }
        }
        match tokio::time::timeout(self.spec.timeout, self.call(checks)).await {
            Ok(Ok(d)) => {
                if self.degraded.swap(false, Ordering::AcqRel) {
                    tracing::info!(
                        store = "redis",
                        "rate-limit store recovered; decisions are shared again"
                    );
                    self.metrics.set_degraded(false);
                }
                Ok(d)
            }
            Ok(Err(e)) => Err(self.failed(e)),
            Err(_) => Err(self.failed(format!("no answer within {:?}", self.spec.timeout))),
        }
    }

    fn failed(&self, why: String) -> StoreError {
        // A fresh connection next time: the old one may be half-open.
        self.conn.store(None);
        let later = self
            .now_ms()
            .saturating_add(self.spec.retry_interval.as_millis() as u64);
        self.next_try_ms.store(later, Ordering::Release);
        if !self.degraded.swap(true, Ordering::AcqRel) {
            tracing::warn!(store = "redis", error = %why, on_error = ?self.spec.on_error,
                "rate-limit store unavailable; degraded until it answers again");
            self.metrics.set_degraded(true);
        }
        StoreError::Failed(why)
    }

    async fn call(&self, checks: &[Check]) -> Result<Vec<Decision>, String> {
        let mut conn = self.connection()?;
        let mut inv = self.script.prepare_invoke();
        for c in checks {
            let interval = c.interval.as_micros().max(1);
            inv.key(&c.key)
                .arg(interval.min(u128::from(u64::MAX)) as u64)
                .arg((interval.saturating_mul(u128::from(c.burst))).min(u128::from(u64::MAX)) as u64)
                .arg(c.cost);
        }
        let raw: Vec<i64> = inv.invoke_async(&mut conn).await.map_err(|e| e.to_string())?;
        if raw.len() != checks.len() * 4 {
            return Err(format!("unexpected script answer ({} values)", raw.len()));
        }
        let us = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
        Ok(raw
            .chunks_exact(4)
            .map(|c| Decision {
                allowed: c[0] == 1,
                remaining: u32::try_from(c[1]).unwrap_or(0),
                retry: us(c[2]),
                reset: us(c[3]),
            })
            .collect())
    }

    fn connection(&self) -> Result<ConnectionManager, String> {
        if let Some(c) = self.conn.load_full() {
            return Ok((*c).clone());
        }
        let client = self.client.clone().ok_or("invalid Redis URL")?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_connection_timeout(Some(self.spec.timeout.max(Duration::from_millis(200))))
            .set_response_timeout(Some(self.spec.timeout.max(Duration::from_millis(200))));
        let c = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| e.to_string())?;
        // Concurrent first requests share one connection: the first to publish wins.
        let fresh = Arc::new(c);
        let prev = self
            .conn
            .compare_and_swap(&None::<Arc<ConnectionManager>>, Some(fresh.clone()));
        Ok(match &*prev {
            Some(winner) => (**winner).clone(),
            None => (*fresh).clone(),
        })
    }
}

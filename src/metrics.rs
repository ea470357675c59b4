//! Prometheus metrics: requests by route/operation/status, phase latency histograms, reloads.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.5,
];
const PHASES: [&str; 5] = ["total", "accept", "render", "backend", "convert"];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; 12],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, us: u64) {
        let secs = us as f64 / 1e6;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }
}

/// Process-wide metrics (shared by all workers).
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    phases: [Histogram; 5],
    reloads_ok: AtomicU64,
    reloads_failed: AtomicU64,
    auth_failures: Mutex<BTreeMap<String, u64>>,
    /// `soapgate_response_undeclared_total{route}` and the per-route log throttle.
    undeclared: Mutex<BTreeMap<String, UndeclaredLog>>,
    /// Rate-limit decisions and store health, shared with the rate limiter (kept across reloads).
    pub ratelimit: std::sync::Arc<RateLimitMetrics>,
}

/// `soapgate_ratelimit_decisions_total{policy,result}` and `soapgate_ratelimit_degraded`.
#[derive(Debug, Default)]
pub struct RateLimitMetrics {
    decisions: Mutex<BTreeMap<(String, &'static str), u64>>,
    degraded: std::sync::atomic::AtomicBool,
}

impl RateLimitMetrics {
    /// Counts one policy's decision: `allowed`, `limited` or `unavailable` (store down, reject mode).
    pub fn decision(&self, policy: &str, result: &'static str) {
        if let Ok(mut m) = self.decisions.lock() {
            *m.entry((policy.to_string(), result)).or_default() += 1;
        }
    }

    /// Whether the shared store (Redis) is failing and decisions are local or refused.
    pub fn set_degraded(&self, on: bool) {
        self.degraded.store(on, Ordering::Relaxed);
    }

    pub fn render(&self, out: &mut String) {
        out.push_str("# TYPE soapgate_ratelimit_decisions_total counter\n");
        if let Ok(m) = self.decisions.lock() {
            for ((policy, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "soapgate_ratelimit_decisions_total{{policy=\"{policy}\",result=\"{result}\"}} {n}"
                );
            }
        }
        out.push_str("# TYPE soapgate_ratelimit_degraded gauge\n");
        let on = u8::from(self.degraded.load(Ordering::Relaxed));
        let _ = writeln!(out, "soapgate_ratelimit_degraded {on}");
    }
}

/// `soapgate_jwks_fetches_total{provider,outcome}` for the providers of `auth` (the snapshot in
/// force): outcome `ok` (a JWKS fetched), `error` (discovery or JWKS failed) and `throttled` (an
/// unknown `kid` found a refetch done less than `jwks_refetch_min_interval` ago). The counters live
/// in each provider's key store, which a reload keeps while the provider is unchanged.
pub fn render_jwks_fetches(auth: &crate::auth::Auth, out: &mut String) {
    out.push_str("# TYPE soapgate_jwks_fetches_total counter\n");
    for p in &auth.providers {
        let provider = label(&p.spec.name);
        for (outcome, n) in p.keys.fetch_counts() {
            let _ = writeln!(
                out,
                "soapgate_jwks_fetches_total{{provider=\"{provider}\",outcome=\"{outcome}\"}} {n}"
            );
        }
    }
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// One route's undeclared response data: the total, and the names met since its last log line
/// (at most [`MAX_UNDECLARED_NAMES`](crate::soap::convert::MAX_UNDECLARED_NAMES)).
#[derive(Debug, Default)]
struct UndeclaredLog {
    total: u64,
    since_log: u64,
    names: Vec<String>,
    logged: Option<std::time::Instant>,
}

/// A route logs its undeclared names at most once per this interval.
const UNDECLARED_LOG_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Phase timings of one request, in microseconds.
#[derive(Debug, Default, Clone, Copy)]
pub struct PhaseTimes {
    pub total: u64,
    pub accept: u64,
    pub render: u64,
    pub backend: u64,
    pub convert: u64,
}

impl Metrics {
    /// Metrics whose rate-limit part is the rate limiter's own counters.
    pub fn with_ratelimit(ratelimit: std::sync::Arc<RateLimitMetrics>) -> Metrics {
        Metrics {
            ratelimit,
            ..Metrics::default()
        }
    }

    /// Records one finished request.
    pub fn record(&self, route: &str, operation: &str, status: u16, t: PhaseTimes) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_string(), operation.to_string(), status))
                .or_default() += 1;
        }
        for (h, v) in self
            .phases
            .iter()
            .zip([t.total, t.accept, t.render, t.backend, t.convert])
        {
            if v > 0 {
                h.observe(v);
            }
        }
    }

    /// Counts a refused request at step 4, by error code.
    pub fn auth_failure(&self, code: &str) {
        if let Ok(mut m) = self.auth_failures.lock() {
            *m.entry(code.to_string()).or_default() += 1;
        }
    }

    /// Counts a response's undeclared elements and attributes (dropped or refused) on its route,
    /// and logs their names (never values) at most once per route and minute.
    pub fn undeclared(&self, route: &str, count: u64, names: &[String]) {
        let line = {
            let Ok(mut m) = self.undeclared.lock() else { return };
            let r = m.entry(route.to_string()).or_default();
            r.total += count;
            r.since_log += count;
            for n in names {
                if r.names.len() < crate::soap::convert::MAX_UNDECLARED_NAMES && !r.names.contains(n) {
                    r.names.push(n.clone());
                }
            }
            let due = r.logged.is_none_or(|t| t.elapsed() >= UNDECLARED_LOG_EVERY);
            if !due {
                return;
            }
            r.logged = Some(std::time::Instant::now());
            (std::mem::take(&mut r.since_log), std::mem::take(&mut r.names))
        };
        tracing::warn!(
            target: "soapgate::response",
            route, count = line.0, names = %line.1.join(" "),
            "the backend sent response data the route does not declare (names only; see response.undeclared)"
        );
    }

    /// Counts a reload attempt.
    pub fn reload(&self, ok: bool) {
        let c = if ok {
            &self.reloads_ok
        } else {
            &self.reloads_failed
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# TYPE soapgate_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((route, op, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "soapgate_requests_total{{route=\"{route}\",operation=\"{op}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# TYPE soapgate_phase_duration_seconds histogram\n");
        for (phase, h) in PHASES.iter().zip(&self.phases) {
            for (b, c) in BUCKETS.iter().zip(&h.buckets) {
                let _ = writeln!(
                    out,
                    "soapgate_phase_duration_seconds_bucket{{phase=\"{phase}\",le=\"{b}\"}} {}",
                    c.load(Ordering::Relaxed)
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let sum = h.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "soapgate_phase_duration_seconds_bucket{{phase=\"{phase}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "soapgate_phase_duration_seconds_sum{{phase=\"{phase}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "soapgate_phase_duration_seconds_count{{phase=\"{phase}\"}} {count}"
            );
        }
        out.push_str("# TYPE soapgate_auth_failures_total counter\n");
        if let Ok(m) = self.auth_failures.lock() {
            for (code, n) in m.iter() {
                let _ = writeln!(out, "soapgate_auth_failures_total{{code=\"{code}\"}} {n}");
            }
        }
        out.push_str("# TYPE soapgate_response_undeclared_total counter\n");
        if let Ok(m) = self.undeclared.lock() {
            for (route, r) in m.iter() {
                let _ = writeln!(
                    out,
                    "soapgate_response_undeclared_total{{route=\"{route}\"}} {}",
                    r.total
                );
            }
        }
        out.push_str("# TYPE soapgate_config_reloads_total counter\n");
        let _ = writeln!(
            out,
            "soapgate_config_reloads_total{{result=\"ok\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "soapgate_config_reloads_total{{result=\"rejected\"}} {}",
            self.reloads_failed.load(Ordering::Relaxed)
        );
        self.ratelimit.render(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut out = String::new();
        super::render_jwks_fetches(&crate::auth::Auth::default(), &mut out);
        assert_eq!(out, "# TYPE soapgate_jwks_fetches_total counter\n");
    }
}

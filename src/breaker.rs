//! Circuit breaking per backend URL (DESIGN §2 step 8, THREATS B8): when too many exchanges with
//! one URL fail within a window, the URL is skipped for `open_for`; then one probe request is let
//! through (half-open) and its outcome closes or re-opens the circuit. With every URL of a service
//! open, requests get 503 at once with `Retry-After` instead of waiting on a failing backend.

use crate::config::units::Quantity;
use crate::config::{duration_or, Diagnostics};
use serde::Deserialize;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// `backend.circuit_breaker` in a mapping.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// Off switch (default on).
    pub enabled: Option<bool>,
    /// Share of failed exchanges in the window that opens the circuit (default 0.5).
    pub failure_ratio: Option<f64>,
    /// Fewest exchanges in the window before the ratio is judged (default 20).
    pub min_requests: Option<i64>,
    /// Length of the counting window (default 10s).
    pub window: Option<Quantity>,
    /// How long an open circuit refuses before a probe (default 5s).
    pub open_for: Option<Quantity>,
}

/// Validated breaker settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerSpec {
    pub enabled: bool,
    pub failure_ratio: f64,
    pub min_requests: u32,
    pub window: Duration,
    pub open_for: Duration,
}

impl BreakerSpec {
    pub fn build(raw: Option<&RawBreaker>, file: &str, d: &mut Diagnostics) -> BreakerSpec {
        let empty = RawBreaker::default();
        let raw = raw.unwrap_or(&empty);
        let key = "backend.circuit_breaker";
        let failure_ratio = raw.failure_ratio.unwrap_or(0.5);
        if !(failure_ratio > 0.0 && failure_ratio <= 1.0) {
            d.error(
                file,
                &format!("{key}.failure_ratio"),
                "the failure ratio must be in (0, 1]",
                "write e.g. 0.5",
            );
        }
        let min_requests = match raw.min_requests {
            None => 20,
            Some(n) if n > 0 && n <= i64::from(u32::MAX) => n as u32,
            Some(_) => {
                d.error(
                    file,
                    &format!("{key}.min_requests"),
                    "min_requests must be positive",
                    "write e.g. 20",
                );
                20
            }
        };
        BreakerSpec {
            enabled: raw.enabled.unwrap_or(true),
            failure_ratio,
            min_requests,
            window: duration_or(
                &raw.window,
                Duration::from_secs(10),
                file,
                &format!("{key}.window"),
                d,
            ),
            open_for: duration_or(
                &raw.open_for,
                Duration::from_secs(5),
                file,
                &format!("{key}.open_for"),
                d,
            ),
        }
    }
}

/// What the breaker allows now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Allow {
    Yes,
    /// Half-open: this request is the probe.
    Probe,
    /// Open: skip this URL; it may be tried again after this long.
    No(Duration),
}

#[derive(Debug)]
struct State {
    window_start: Instant,
    total: u32,
    failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// The breaker of one backend URL (shared by every worker).
#[derive(Debug)]
pub struct Breaker {
    spec: BreakerSpec,
    state: Mutex<State>,
}

impl Breaker {
    pub fn new(spec: BreakerSpec) -> Breaker {
        Breaker {
            spec,
            state: Mutex::new(State {
                window_start: Instant::now(),
                total: 0,
                failures: 0,
                open_until: None,
                probing: false,
            }),
        }
    }

    pub fn allow(&self, now: Instant) -> Allow {
        if !self.spec.enabled {
            return Allow::Yes;
        }
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match s.open_until {
            None => Allow::Yes,
            Some(until) if now < until => Allow::No(until - now),
            Some(_) if s.probing => Allow::No(Duration::from_secs(1)),
            Some(_) => {
                s.probing = true;
                Allow::Probe
            }
        }
    }

    /// Records the outcome of an exchange that `allow` let through.
    pub fn record(&self, ok: bool, url: &str, now: Instant) {
        if !self.spec.enabled {
            return;
        }
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if s.probing {
            s.probing = false;
            if ok {
                s.open_until = None;
                s.total = 0;
                s.failures = 0;
                s.window_start = now;
                tracing::info!(backend = url, "circuit closed: the probe succeeded");
            } else {
                s.open_until = Some(now + self.spec.open_for);
                tracing::warn!(backend = url, "circuit stays open: the probe failed");
            }
            return;
        }
        if s.open_until.is_some() {
            return;
        }
        if now.duration_since(s.window_start) > self.spec.window {
            s.window_start = now;
            s.total = 0;
            s.failures = 0;
        }
        s.total = s.total.saturating_add(1);
        if !ok {
            s.failures = s.failures.saturating_add(1);
        }
        if s.total >= self.spec.min_requests
            && f64::from(s.failures) >= self.spec.failure_ratio * f64::from(s.total)
        {
            s.open_until = Some(now + self.spec.open_for);
            tracing::warn!(
                backend = url,
                failures = s.failures,
                requests = s.total,
                "circuit opened: too many failed exchanges; requests are refused fast"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BreakerSpec {
        BreakerSpec {
            enabled: true,
            failure_ratio: 0.5,
            min_requests: 4,
            window: Duration::from_secs(10),
            open_for: Duration::from_secs(5),
        }
    }

    #[test]
    fn opens_at_the_ratio_probes_after_open_for_and_closes_on_success() {
        let b = Breaker::new(spec());
        let t = Instant::now();
        for ok in [true, false, true] {
            assert_eq!(b.allow(t), Allow::Yes);
            b.record(ok, "u", t);
        }
        assert_eq!(
            b.allow(t),
            Allow::Yes,
            "below min_requests the ratio is not judged"
        );
        b.record(false, "u", t);
        assert_eq!(
            b.allow(t + Duration::from_secs(1)),
            Allow::No(Duration::from_secs(4))
        );
        let later = t + Duration::from_secs(5);
        assert_eq!(b.allow(later), Allow::Probe);
        assert_eq!(
            b.allow(later),
            Allow::No(Duration::from_secs(1)),
            "one probe at a time"
        );
        b.record(false, "u", later);
        assert!(matches!(b.allow(later), Allow::No(_)), "a failed probe re-opens");
        let again = later + Duration::from_secs(5);
        assert_eq!(b.allow(again), Allow::Probe);
        b.record(true, "u", again);
        assert_eq!(b.allow(again), Allow::Yes);
    }

    #[test]
    fn old_failures_leave_the_window() {
        let b = Breaker::new(spec());
        let t = Instant::now();
        for _ in 0..3 {
            b.record(false, "u", t);
        }
        let later = t + Duration::from_secs(11);
        b.record(false, "u", later);
        assert_eq!(b.allow(later), Allow::Yes);
    }

    #[test]
    fn disabled_never_opens() {
        let b = Breaker::new(BreakerSpec {
            enabled: false,
            ..spec()
        });
        let t = Instant::now();
        for _ in 0..10 {
            b.record(false, "u", t);
        }
        assert_eq!(b.allow(t), Allow::Yes);
    }
}

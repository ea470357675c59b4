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
#[derive(Debug)]
pub enum Allow<'a> {
    /// Closed (or off): send, and report the outcome through the ticket.
    Yes(Ticket<'a>),
    /// Half-open: this request is the probe; its ticket decides the circuit.
    Probe(Ticket<'a>),
    /// Open: skip this URL; it may be tried again after this long.
    No(Duration),
}

/// One admitted exchange. Its outcome counts only if reported through [`Ticket::record`], and
/// only for the circuit state it was admitted under: a ticket from before the circuit opened (or
/// before it closed again) is stale and ignored. A ticket dropped unreported (the request was
/// cancelled: its client went away) counts as nothing; if it was the probe, the probe slot is
/// released so that the next request probes (threat model B1, B2).
#[derive(Debug)]
pub struct Ticket<'a> {
    breaker: &'a Breaker,
    /// The circuit generation at admission (bumped whenever the circuit opens or closes).
    generation: u64,
    /// Set for the probe: the probe's own number.
    probe: Option<u64>,
    done: bool,
}

impl Ticket<'_> {
    /// Whether this exchange is the half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe.is_some()
    }

    /// Reports the exchange's outcome.
    pub fn record(mut self, ok: bool, url: &str, now: Instant) {
        self.done = true;
        self.breaker.record(self.generation, self.probe, ok, url, now);
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(id) = self.probe {
            let mut s = self.breaker.lock();
            if s.probing == Some(id) {
                s.probing = None;
                tracing::info!("circuit probe cancelled before its outcome; the next request probes");
            }
        }
    }
}

#[derive(Debug)]
struct State {
    window_start: Instant,
    total: u32,
    failures: u32,
    open_until: Option<Instant>,
    /// The probe in flight, by number.
    probing: Option<u64>,
    generation: u64,
    probes: u64,
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
                probing: None,
                generation: 0,
                probes: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ticket(&self, generation: u64, probe: Option<u64>) -> Ticket<'_> {
        Ticket {
            breaker: self,
            generation,
            probe,
            done: false,
        }
    }

    pub fn allow(&self, now: Instant) -> Allow<'_> {
        if !self.spec.enabled {
            return Allow::Yes(self.ticket(0, None));
        }
        let mut s = self.lock();
        match s.open_until {
            None => Allow::Yes(self.ticket(s.generation, None)),
            Some(until) if now < until => Allow::No(until - now),
            Some(_) if s.probing.is_some() => Allow::No(Duration::from_secs(1)),
            Some(_) => {
                s.probes = s.probes.wrapping_add(1);
                let id = s.probes;
                s.probing = Some(id);
                Allow::Probe(self.ticket(s.generation, Some(id)))
            }
        }
    }

    fn record(&self, generation: u64, probe: Option<u64>, ok: bool, url: &str, now: Instant) {
        if !self.spec.enabled {
            return;
        }
        let mut s = self.lock();
        if generation != s.generation {
            // Admitted under another circuit state: says nothing about this one.
            return;
        }
        if let Some(id) = probe {
            if s.probing != Some(id) {
                return;
            }
            s.probing = None;
            if ok {
                s.open_until = None;
                s.total = 0;
                s.failures = 0;
                s.window_start = now;
                s.generation = s.generation.wrapping_add(1);
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
            s.generation = s.generation.wrapping_add(1);
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

    fn pass(b: &Breaker, t: Instant) -> Ticket<'_> {
        match b.allow(t) {
            Allow::Yes(t) => t,
            other => panic!("expected Yes, got {other:?}"),
        }
    }

    fn probe(b: &Breaker, t: Instant) -> Ticket<'_> {
        match b.allow(t) {
            Allow::Probe(t) => t,
            other => panic!("expected Probe, got {other:?}"),
        }
    }

    fn refused(b: &Breaker, t: Instant) -> Option<Duration> {
        match b.allow(t) {
            Allow::No(d) => Some(d),
            _ => None,
        }
    }

    /// Opens the breaker of `spec()` at `t` with four failures.
    fn open(b: &Breaker, t: Instant) {
        for _ in 0..4 {
            pass(b, t).record(false, "u", t);
        }
        assert!(refused(b, t).is_some());
    }

    #[test]
    fn opens_at_the_ratio_probes_after_open_for_and_closes_on_success() {
        let b = Breaker::new(spec());
        let t = Instant::now();
        for ok in [true, false, true] {
            pass(&b, t).record(ok, "u", t);
        }
        // Below min_requests the ratio is not judged.
        let last = pass(&b, t);
        last.record(false, "u", t);
        assert_eq!(
            refused(&b, t + Duration::from_secs(1)),
            Some(Duration::from_secs(4))
        );
        let later = t + Duration::from_secs(5);
        let p = probe(&b, later);
        assert!(p.is_probe());
        assert_eq!(
            refused(&b, later),
            Some(Duration::from_secs(1)),
            "one probe at a time"
        );
        p.record(false, "u", later);
        assert!(refused(&b, later).is_some(), "a failed probe re-opens");
        let again = later + Duration::from_secs(5);
        probe(&b, again).record(true, "u", again);
        pass(&b, again);
    }

    #[test]
    fn b1_a_dropped_probe_frees_the_slot_for_the_next_request() {
        let b = Breaker::new(spec());
        let t = Instant::now();
        open(&b, t);
        let later = t + Duration::from_secs(5);
        let p = probe(&b, later);
        drop(p); // the client went away: the request future was dropped
        let p = probe(&b, later);
        p.record(true, "u", later);
        pass(&b, later);
    }

    #[test]
    fn b2_only_the_probe_decides_a_half_open_circuit() {
        let b = Breaker::new(spec());
        let t = Instant::now();
        // Admitted while closed, finishing after the circuit opened: stale either way.
        let early_ok = pass(&b, t);
        let early_bad = pass(&b, t);
        open(&b, t);
        let later = t + Duration::from_secs(5);
        let p = probe(&b, later);
        early_ok.record(true, "u", later);
        assert!(
            refused(&b, later).is_some(),
            "a stale success does not close the circuit"
        );
        p.record(false, "u", later);
        assert!(refused(&b, later).is_some(), "the probe's failure keeps it open");

        let again = later + Duration::from_secs(5);
        let p = probe(&b, again);
        early_bad.record(false, "u", again);
        p.record(true, "u", again);
        pass(&b, again).record(true, "u", again);
        assert!(
            refused(&b, again).is_none(),
            "a stale failure does not undo the probe's success"
        );
    }

    #[test]
    fn b2_failures_from_before_a_close_do_not_reopen_it() {
        let b = Breaker::new(spec());
        let t = Instant::now();
        open(&b, t);
        let later = t + Duration::from_secs(5);
        let p = probe(&b, later);
        p.record(true, "u", later);
        // Four failures now count: they were admitted after the close.
        let tickets: Vec<_> = (0..4).map(|_| pass(&b, later)).collect();
        for t2 in tickets {
            t2.record(false, "u", later);
        }
        assert!(refused(&b, later).is_some());
    }

    #[test]
    fn old_failures_leave_the_window() {
        let b = Breaker::new(spec());
        let t = Instant::now();
        for _ in 0..3 {
            pass(&b, t).record(false, "u", t);
        }
        let later = t + Duration::from_secs(11);
        pass(&b, later).record(false, "u", later);
        pass(&b, later);
    }

    #[test]
    fn disabled_never_opens() {
        let b = Breaker::new(BreakerSpec {
            enabled: false,
            ..spec()
        });
        let t = Instant::now();
        for _ in 0..10 {
            pass(&b, t).record(false, "u", t);
        }
        pass(&b, t);
    }
}

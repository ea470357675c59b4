//! The running gateway's shared state: the current snapshot (swapped atomically) and metrics.

use crate::config::{ConfigError, Snapshot};
use crate::metrics::Metrics;
use crate::tls::LiveTls;
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Shared, read-mostly state of one gateway process.
#[derive(Debug)]
pub struct Gateway {
    config_path: PathBuf,
    snapshot: ArcSwap<Snapshot>,
    pub metrics: Metrics,
    /// Mediations in flight on this instance (`limits.concurrency`).
    pub inflight: crate::threat::InFlight,
    /// The certificate and client verifier the TLS listeners serve (`tls`, `admin_tls`),
    /// replaced by each successful reload.
    pub rest_tls: Option<Arc<LiveTls>>,
    pub admin_tls: Option<Arc<LiveTls>>,
}

impl Gateway {
    /// Loads the config; every error is returned, none is fatal here.
    pub fn load(config_path: PathBuf) -> Result<Gateway, Vec<ConfigError>> {
        let snap = Snapshot::load(&config_path)?;
        Ok(Gateway::from_snapshot(config_path, snap))
    }

    /// Wraps an already validated snapshot.
    pub fn from_snapshot(config_path: PathBuf, snap: Snapshot) -> Gateway {
        let live = |t: &Option<crate::tls::ListenerTls>| t.as_ref().map(|t| Arc::new(LiveTls::new(t)));
        Gateway {
            config_path,
            rest_tls: live(&snap.settings.tls),
            admin_tls: live(&snap.settings.admin_tls),
            metrics: Metrics::with_ratelimit(snap.ratelimit.metrics()),
            snapshot: ArcSwap::from_pointee(snap),
            inflight: crate::threat::InFlight::default(),
        }
    }

    /// The snapshot in force now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Whether the gateway can serve: every identity provider's keys are loaded.
    pub fn ready(&self) -> bool {
        self.snapshot().auth.ready()
    }

    /// Starts the background task that loads and refreshes identity-provider keys (discovery and
    /// JWKS) for whatever snapshot is current. It ends when the gateway is dropped.
    pub fn spawn_key_refresh(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        actix_rt::spawn(async move {
            let out = crate::outbound::Outbound::new(Duration::from_secs(2), Duration::from_secs(10));
            loop {
                let Some(gw) = weak.upgrade() else { break };
                let snap = gw.snapshot();
                drop(gw);
                snap.auth.refresh_due(&out).await;
                out.sweep(crate::outbound::POOL_IDLE);
                snap.ratelimit.maintain();
                drop(snap);
                actix_rt::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }

    /// Validates the config files in full, then swaps; an invalid config leaves the old one serving.
    ///
    /// Every changed setting is applied, or the reload is refused as a whole: a change to a
    /// restart-only setting ([`crate::config::restart_only_changes`]: listen addresses, workers,
    /// the log format, `timeouts.client_request` and `timeouts.keep_alive`, TLS on or off, h2) is
    /// an error naming it, logged and counted as a rejected reload like an invalid file.
    pub fn reload(&self) -> Result<(), Vec<ConfigError>> {
        let old = self.snapshot();
        let file = self.config_path.display().to_string();
        let loaded = Snapshot::load(&self.config_path).and_then(|new| {
            let refused = crate::config::restart_only_changes(&old.settings, &new.settings, &file);
            if refused.is_empty() {
                Ok(new)
            } else {
                Err(refused)
            }
        });
        match loaded {
            Ok(mut new) => {
                log_warnings(&new);
                new.auth.adopt(&old.auth);
                new.ratelimit.adopt(&old.ratelimit);
                self.renew_tls(&new.settings);
                if new.settings.log_level != old.settings.log_level {
                    crate::logging::set_level(&new.settings.log_level);
                }
                self.snapshot.store(Arc::new(new));
                self.metrics.reload(true);
                tracing::info!(config = %self.config_path.display(), "config reloaded");
                Ok(())
            }
            Err(errors) => {
                self.metrics.reload(false);
                for e in &errors {
                    tracing::error!(error = %e, "config reload rejected; the previous config keeps serving");
                }
                Err(errors)
            }
        }
    }

    /// Puts the reloaded certificates and client CAs in force for new handshakes (open
    /// connections keep theirs). Turning TLS on or off needs a restart (the reload was refused).
    fn renew_tls(&self, s: &crate::config::Settings) {
        for (live, new) in [(&self.rest_tls, &s.tls), (&self.admin_tls, &s.admin_tls)] {
            if let (Some(live), Some(new)) = (live, new) {
                live.store(new);
            }
        }
    }
}

/// Logs the config's warnings (at start-up, once logging is set up, and on every reload).
pub fn log_warnings(snap: &Snapshot) {
    for w in &snap.warnings {
        tracing::warn!(warning = %w, "config warning");
    }
}

//! tracing setup: JSON lines when stdout is not a terminal (or when asked), human-readable otherwise.

use crate::config::LogFormat;
use std::io::IsTerminal;
use std::sync::OnceLock;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

/// The level filter of the subscriber [`init`] installed, which a reload replaces (unset when
/// `SOAPGATE_LOG` gives the filter, or when another subscriber was installed first).
static LEVEL: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the global subscriber once; later calls are no-ops.
pub fn init(format: LogFormat, level: &str) {
    let from_env = EnvFilter::try_from_env("SOAPGATE_LOG").ok();
    let env_given = from_env.is_some();
    let (filter, handle) = reload::Layer::new(from_env.unwrap_or_else(|| EnvFilter::new(level)));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let registry = tracing_subscriber::registry().with(filter);
    let installed = if json {
        let layer = tracing_subscriber::fmt::layer()
            .with_target(true)
            .json()
            .flatten_event(true)
            .with_current_span(false);
        registry.with(layer).try_init()
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().with_target(true).compact())
            .try_init()
    };
    if installed.is_ok() && !env_given {
        let _ = LEVEL.set(handle);
    }
}

/// Puts a reloaded `logging.level` in force (nothing when `SOAPGATE_LOG` gives the filter).
pub fn set_level(level: &str) {
    if let Some(handle) = LEVEL.get() {
        if let Err(e) = handle.reload(EnvFilter::new(level)) {
            tracing::warn!(error = %e, "logging.level could not be changed");
        }
    }
}

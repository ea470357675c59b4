//! Gateway-wide settings (`soapgate.yaml`): listeners (and their TLS), logging, limits, timeouts.

use super::raw::RawGateway;
use super::units::{parse_count, parse_duration, parse_size, Quantity};
use super::{Diagnostics, LogFormat, Settings};
use crate::soap::parse::XmlLimits;
use std::path::Path;
use std::time::Duration;

pub(crate) fn size_or(
    q: &Option<Quantity>,
    default: u64,
    file: &str,
    key: &str,
    d: &mut Diagnostics,
) -> usize {
    match q.as_ref().map(parse_size) {
        None => default as usize,
        Some(Ok(v)) => v as usize,
        Some(Err(e)) => {
            d.error(file, key, e, "write a positive size such as 256KiB");
            default as usize
        }
    }
}

pub(crate) fn duration_or(
    q: &Option<Quantity>,
    default: Duration,
    file: &str,
    key: &str,
    d: &mut Diagnostics,
) -> Duration {
    match q.as_ref().map(parse_duration) {
        None => default,
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            d.error(file, key, e, "write a positive duration such as 5s or 250ms");
            default
        }
    }
}

pub(crate) fn count_or(n: Option<i64>, default: usize, file: &str, key: &str, d: &mut Diagnostics) -> usize {
    match n.map(parse_count) {
        None => default,
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            d.error(file, key, e, "write a positive whole number");
            default
        }
    }
}

/// Validates the gateway-wide settings.
pub(super) fn build(raw: &RawGateway, file: &str, base: &Path, d: &mut Diagnostics) -> Settings {
    let x = &raw.limits.xml;
    let defaults = XmlLimits::default();
    let xml = XmlLimits {
        max_depth: count_or(x.depth, defaults.max_depth, file, "limits.xml.depth", d),
        max_children: count_or(x.children, defaults.max_children, file, "limits.xml.children", d),
        max_attributes: count_or(
            x.attributes,
            defaults.max_attributes,
            file,
            "limits.xml.attributes",
            d,
        ),
        max_namespaces: count_or(
            x.namespaces,
            defaults.max_namespaces,
            file,
            "limits.xml.namespaces",
            d,
        ),
        max_name_len: size_or(
            &x.name_length,
            defaults.max_name_len as u64,
            file,
            "limits.xml.name_length",
            d,
        ),
        max_attr_value: size_or(
            &x.attribute_value,
            defaults.max_attr_value as u64,
            file,
            "limits.xml.attribute_value",
            d,
        ),
        max_text: size_or(&x.text, defaults.max_text as u64, file, "limits.xml.text", d),
    };
    let log_format = match raw.logging.format.as_deref() {
        None | Some("auto") => LogFormat::Auto,
        Some("json") => LogFormat::Json,
        Some("text") => LogFormat::Text,
        Some(other) => {
            d.error(
                file,
                "logging.format",
                format!("unknown format `{other}`"),
                "use auto, json or text",
            );
            LogFormat::Auto
        }
    };
    let t = &raw.timeouts;
    Settings {
        listen: raw.listen.clone().unwrap_or_else(|| "127.0.0.1:8080".into()),
        admin_listen: raw.admin_listen.clone(),
        workers: count_or(raw.workers, default_workers(), file, "workers", d),
        log_format,
        log_level: raw.logging.level.clone().unwrap_or_else(|| "info".into()),
        request_body_limit: body_limit(&raw.limits.request_body, file, d),
        backend_response_limit: size_or(
            &raw.limits.backend_response,
            8 << 20,
            file,
            "limits.backend_response",
            d,
        ),
        xml,
        client_request_timeout: duration_or(
            &t.client_request,
            Duration::from_secs(5),
            file,
            "timeouts.client_request",
            d,
        ),
        client_body_timeout: duration_or(
            &t.client_body,
            Duration::from_secs(15),
            file,
            "timeouts.client_body",
            d,
        ),
        keep_alive: duration_or(
            &t.keep_alive,
            Duration::from_secs(5),
            file,
            "timeouts.keep_alive",
            d,
        ),
        backend_connect_timeout: duration_or(
            &t.backend_connect,
            Duration::from_secs(1),
            file,
            "timeouts.backend_connect",
            d,
        ),
        backend_total_timeout: duration_or(
            &t.backend_total,
            Duration::from_secs(10),
            file,
            "timeouts.backend_total",
            d,
        ),
        threats: crate::threat::config::defaults(&raw.limits.json, &raw.threats, file, d),
        header_limit: size_or(&raw.limits.headers, 16 * 1024, file, "limits.headers", d),
        header_count_limit: count_or(raw.limits.header_count, 64, file, "limits.header_count", d),
        url_limit: size_or(&raw.limits.url, 8 * 1024, file, "limits.url", d),
        concurrency: count_or(raw.limits.concurrency, 1024, file, "limits.concurrency", d),
        tls: listener_tls(raw.tls.as_ref(), "tls", file, base, d),
        admin_tls: listener_tls(raw.admin_tls.as_ref(), "admin_tls", file, base, d),
    }
}

fn listener_tls(
    raw: Option<&crate::tls::RawListenerTls>,
    key: &str,
    file: &str,
    base: &Path,
    d: &mut Diagnostics,
) -> Option<crate::tls::ListenerTls> {
    crate::tls::server::build(raw, crate::tls::At { file, key, base }, d)
}

/// Hard cap on request bodies (THREATS.md): configurable below it, never above.
pub const REQUEST_BODY_HARD_CAP: usize = 1024 * 1024;

fn body_limit(q: &Option<Quantity>, file: &str, d: &mut Diagnostics) -> usize {
    let v = size_or(q, 256 * 1024, file, "limits.request_body", d);
    if v > REQUEST_BODY_HARD_CAP {
        let msg = format!("{v} bytes is above the hard cap of {REQUEST_BODY_HARD_CAP} bytes");
        d.error(file, "limits.request_body", msg, "use at most 1MiB");
    }
    v.min(REQUEST_BODY_HARD_CAP)
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// What a reload cannot apply: the settings of `new` that differ from `old` (the settings in force
/// since start-up, as a refused reload changes nothing) and are read only when the listeners start.
/// Each is named as an error; the caller refuses the whole reload. The match is exhaustive, so a
/// new setting has to be classified here (README "Reload": applied live, or restart-only).
pub fn restart_only_changes(old: &Settings, new: &Settings, file: &str) -> Vec<super::ConfigError> {
    let Settings {
        // Restart-only: the sockets, the worker threads, the global log subscriber's format, the
        // timers actix-http's dispatchers are built with, and whether the listeners speak TLS
        // (and offer h2 by ALPN).
        listen,
        admin_listen,
        workers,
        log_format,
        client_request_timeout,
        keep_alive,
        tls,
        admin_tls,
        // Applied live. Read from the snapshot per request: the limits, the body timeout, the
        // threat defaults, the concurrency cap; `backend_total` through each service's
        // `backend.timeout` (resolved at load) and with `backend_connect` by the workers'
        // outbound clients, rebuilt when they change; the log level through the subscriber's
        // reloadable filter; the TLS certificate, key and client CAs by `LiveTls`.
        log_level: _,
        request_body_limit: _,
        backend_response_limit: _,
        xml: _,
        client_body_timeout: _,
        backend_connect_timeout: _,
        backend_total_timeout: _,
        threats: _,
        header_limit: _,
        header_count_limit: _,
        url_limit: _,
        concurrency: _,
    } = new;
    let mut d = Diagnostics::default();
    let mut refuse = |key: &str, was: String, now: String| {
        d.error(
            file,
            key,
            format!("changed from {was} to {now}, but this setting applies only at start-up; nothing was reloaded"),
            &format!("restart soapgate to apply it, or put back {was} to reload the other changes"),
        );
    };
    if *listen != old.listen {
        refuse("listen", old.listen.clone(), listen.clone());
    }
    if *admin_listen != old.admin_listen {
        let show = |a: &Option<String>| a.clone().unwrap_or_else(|| "none".into());
        refuse("admin_listen", show(&old.admin_listen), show(admin_listen));
    }
    if *workers != old.workers {
        refuse("workers", old.workers.to_string(), workers.to_string());
    }
    if *log_format != old.log_format {
        refuse(
            "logging.format",
            format!("{:?}", old.log_format).to_lowercase(),
            format!("{log_format:?}").to_lowercase(),
        );
    }
    if *client_request_timeout != old.client_request_timeout {
        refuse(
            "timeouts.client_request",
            format!("{:?}", old.client_request_timeout),
            format!("{client_request_timeout:?}"),
        );
    }
    if *keep_alive != old.keep_alive {
        refuse(
            "timeouts.keep_alive",
            format!("{:?}", old.keep_alive),
            format!("{keep_alive:?}"),
        );
    }
    for (key, was, now) in [("tls", &old.tls, tls), ("admin_tls", &old.admin_tls, admin_tls)] {
        let on = |t: &Option<crate::tls::ListenerTls>| if t.is_some() { "on" } else { "off" }.to_string();
        match (was, now) {
            (Some(a), Some(b)) if a.http2 != b.http2 => {
                refuse(&format!("{key}.http2"), a.http2.to_string(), b.http2.to_string());
            }
            (Some(_), None) | (None, Some(_)) => refuse(key, on(was), on(now)),
            _ => {}
        }
    }
    d.errors
}

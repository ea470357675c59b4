//! `rate_limits:` in `soapgate.yaml` and the per-route `rate_limit`/`cost`, validated.

use super::ip::{Cidr, ForwardedHeader};
use super::{KeyKind, OnError, PolicySpec, RateLimits, RedisSpec, RouteLimits, StoreSpec, Trigger};
use crate::config::units::{parse_duration, Quantity};
use crate::config::{duration_or, Diagnostics};
use actix_web::http::header::HeaderName;
use serde::Deserialize;
use std::time::Duration;

/// `rate_limits:` in `soapgate.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimits {
    /// Where counters live: `{ kind: local }` (default) or `{ kind: redis, url: ... }`.
    pub store: Option<RawStore>,
    /// Peers whose forwarding header is believed (CIDR blocks or single addresses).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// `x-forwarded-for` (default) or `forwarded` (RFC 7239): what the trusted proxies append.
    pub forwarded_header: Option<String>,
    /// Named policies; routes attach them by name.
    #[serde(default)]
    pub policies: Vec<RawPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// `local` or `redis`.
    pub kind: String,
    /// `redis://host:port/db` (redis only).
    pub url: Option<String>,
    /// Longest wait for one Redis decision (default 50ms).
    pub timeout: Option<Quantity>,
    /// Redis down or slow: `local` (decide with this instance's counters, default) or `reject` (503).
    pub on_error: Option<String>,
    /// Prefix of every Redis key (default `soapgate`).
    pub prefix: Option<String>,
    /// While Redis is failing, how often one request tries it again (default 1s).
    pub retry_interval: Option<Quantity>,
    /// For `rediss://` URLs: `ca_file` (instead of the system trust store), `cert_file` and
    /// `key_file`/`key_env` (a client certificate).
    pub tls: Option<crate::tls::RawClientTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: String,
    /// Requests (cost units) per `window`.
    pub limit: Option<i64>,
    pub window: Option<Quantity>,
    /// Alternative to limit/window: `10/s`, `600/m`, `5/10s`, with `burst` (default: the count).
    pub rate: Option<String>,
    pub burst: Option<i64>,
    /// `client_id` (default), `subject`, `ip`, `header:<name>`, `route` or `client_cert` (the
    /// subject of the verified TLS client certificate).
    pub key: Option<String>,
    /// `request` (default): every request of the routes naming it; `auth_failure`: only requests
    /// refused by step 4, on every protected route.
    pub on: Option<String>,
}

/// Builds the runtime [`RateLimits`] from the raw block.
pub fn build(raw: &RawRateLimits, base: &std::path::Path, file: &str, d: &mut Diagnostics) -> RateLimits {
    let store = store(raw.store.as_ref(), base, file, d);
    let mut proxies = Vec::new();
    for (i, p) in raw.trusted_proxies.iter().enumerate() {
        match Cidr::parse(p) {
            Ok(c) => proxies.push(c),
            Err(e) => d.error(
                file,
                &format!("rate_limits.trusted_proxies[{i}]"),
                e,
                "write an address or a CIDR block such as 10.0.0.0/8 or 127.0.0.1/32",
            ),
        }
    }
    let forwarded = match raw.forwarded_header.as_deref() {
        None | Some("x-forwarded-for") | Some("X-Forwarded-For") => ForwardedHeader::XForwardedFor,
        Some("forwarded") | Some("Forwarded") => ForwardedHeader::Forwarded,
        Some(o) => {
            d.error(
                file,
                "rate_limits.forwarded_header",
                format!("unknown header `{o}`"),
                "use x-forwarded-for or forwarded",
            );
            ForwardedHeader::XForwardedFor
        }
    };
    let mut specs: Vec<PolicySpec> = Vec::new();
    for (i, p) in raw.policies.iter().enumerate() {
        let at = format!("rate_limits.policies[{i}]");
        let valid = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
        if p.name.is_empty() || !p.name.chars().all(valid) || p.name.len() > 64 {
            d.error(
                file,
                &format!("{at}.name"),
                format!("`{}` is not a valid policy name", p.name),
                "use 1-64 characters from A-Z a-z 0-9 - _ .",
            );
        } else if specs.iter().any(|s| s.name == p.name) {
            d.error(
                file,
                &format!("{at}.name"),
                format!("policy `{}` is defined twice", p.name),
                "give each policy a unique name",
            );
        }
        if let Some(spec) = policy(p, file, &at, d) {
            specs.push(spec);
        }
    }
    RateLimits::new(specs, store, proxies, forwarded)
}

/// The TLS profile of a `rediss://` store. Redis names its peer by the URL's host, so
/// `server_name` has no meaning here; `#insecure` URLs (no verification) are refused.
fn store_tls(
    raw: &RawStore,
    url: &str,
    base: &std::path::Path,
    file: &str,
    d: &mut Diagnostics,
) -> Option<crate::tls::ClientTls> {
    let at = "rate_limits.store";
    let tls_url = url.starts_with("rediss://");
    if url.contains("#insecure") {
        d.error(
            file,
            &format!("{at}.url"),
            "`#insecure` turns certificate verification off",
            "remove it; trust a private CA with `tls.ca_file`",
        );
    }
    if let Some(t) = &raw.tls {
        if !tls_url {
            d.error(
                file,
                &format!("{at}.tls"),
                "`tls` is set but the URL is not rediss://",
                "use a rediss:// URL, or remove `tls`",
            );
        }
        if t.server_name.is_some() {
            d.error(
                file,
                &format!("{at}.tls.server_name"),
                "Redis checks the certificate against the URL's host name",
                "put the certificate's name in the URL (rediss://name:port), e.g. with an /etc/hosts entry",
            );
        }
    }
    tls_url.then(|| {
        crate::tls::ClientTls::build(
            raw.tls.as_ref(),
            crate::tls::At {
                file,
                key: "rate_limits.store.tls",
                base,
            },
            d,
        )
    })
}

fn store(raw: Option<&RawStore>, base: &std::path::Path, file: &str, d: &mut Diagnostics) -> StoreSpec {
    let Some(raw) = raw else {
        return StoreSpec::Local;
    };
    let at = "rate_limits.store";
    match raw.kind.as_str() {
        "local" => {
            if raw.url.is_some()
                || raw.timeout.is_some()
                || raw.on_error.is_some()
                || raw.prefix.is_some()
                || raw.tls.is_some()
            {
                d.error(
                    file,
                    at,
                    "url, timeout, on_error, prefix and tls apply to the redis store only",
                    "remove them, or use `kind: redis`",
                );
            }
            StoreSpec::Local
        }
        "redis" => {
            let url = match &raw.url {
                None => {
                    d.error(
                        file,
                        &format!("{at}.url"),
                        "the redis store needs a URL",
                        "add e.g. `url: redis://127.0.0.1:6379/`",
                    );
                    String::new()
                }
                Some(u) => {
                    let is_redis = u.starts_with("redis://")
                        || u.starts_with("rediss://")
                        || u.starts_with("redis+unix://")
                        || u.starts_with("unix://");
                    if !is_redis || redis::Client::open(u.as_str()).is_err() {
                        d.error(
                            file,
                            &format!("{at}.url"),
                            "not a usable Redis URL",
                            "write redis://host:port/db, or rediss://host:port/db for TLS",
                        );
                    }
                    u.clone()
                }
            };
            let on_error = match raw.on_error.as_deref() {
                None | Some("local") => OnError::Local,
                Some("reject") => OnError::Reject,
                Some(o) => {
                    d.error(
                        file,
                        &format!("{at}.on_error"),
                        format!("unknown value `{o}`"),
                        "use local (fall back to this instance's counters) or reject (503)",
                    );
                    OnError::Local
                }
            };
            let prefix = raw.prefix.clone().unwrap_or_else(|| "soapgate".into());
            if prefix.is_empty()
                || prefix.len() > 64
                || prefix.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                d.error(
                    file,
                    &format!("{at}.prefix"),
                    "the key prefix is empty, too long or holds spaces",
                    "use a short name such as soapgate",
                );
            }
            let tls = store_tls(raw, &url, base, file, d);
            StoreSpec::Redis(RedisSpec {
                tls,
                url,
                timeout: duration_or(
                    &raw.timeout,
                    Duration::from_millis(50),
                    file,
                    &format!("{at}.timeout"),
                    d,
                ),
                on_error,
                prefix,
                retry_interval: duration_or(
                    &raw.retry_interval,
                    Duration::from_secs(1),
                    file,
                    &format!("{at}.retry_interval"),
                    d,
                ),
            })
        }
        other => {
            d.error(
                file,
                &format!("{at}.kind"),
                format!("unknown store `{other}`"),
                "use local or redis",
            );
            StoreSpec::Local
        }
    }
}

/// Smallest emission interval (cost unit spacing) supported: 1 µs, the Redis script's clock unit.
const MIN_INTERVAL: Duration = Duration::from_micros(1);

fn policy(p: &RawPolicy, file: &str, at: &str, d: &mut Diagnostics) -> Option<PolicySpec> {
    let positive = |n: i64, key: &str, d: &mut Diagnostics| -> Option<u32> {
        match u32::try_from(n) {
            Ok(v) if v >= 1 => Some(v),
            _ => {
                d.error(
                    file,
                    &format!("{at}.{key}"),
                    format!("{n} is not a usable {key} (0 and negative values are not \"unlimited\")"),
                    "write a whole number from 1 to 4294967295",
                );
                None
            }
        }
    };
    let (burst, period) = match (p.limit, &p.window, &p.rate) {
        (Some(limit), Some(window), None) => {
            if p.burst.is_some() {
                d.error(
                    file,
                    &format!("{at}.burst"),
                    "burst goes with `rate`; with limit/window the limit is the burst",
                    "remove `burst`",
                );
            }
            let window = match parse_duration(window) {
                Ok(w) => Some(w),
                Err(e) => {
                    d.error(
                        file,
                        &format!("{at}.window"),
                        e,
                        "write a duration such as 1m or 10s",
                    );
                    None
                }
            };
            let limit = positive(limit, "limit", d);
            (limit?, window?)
        }
        (None, None, Some(rate)) => {
            let parsed = parse_rate(rate);
            if let Err(e) = &parsed {
                d.error(
                    file,
                    &format!("{at}.rate"),
                    e.clone(),
                    "write e.g. 10/s, 600/m or 5/10s",
                );
            }
            let (count, per) = parsed.ok()?;
            let burst = match p.burst {
                None => count,
                Some(b) => positive(b, "burst", d)?,
            };
            // `count` per `per` is one unit every per/count; the bucket holds `burst` units.
            (burst, per.checked_mul(burst)?.checked_div(count)?)
        }
        _ => {
            d.error(
                file,
                at,
                "a policy needs either `limit` and `window`, or `rate` (with an optional `burst`)",
                "write e.g. `limit: 100` + `window: 1m`, or `rate: 10/s` + `burst: 20`",
            );
            return None;
        }
    };
    let interval = period.checked_div(burst)?;
    if interval < MIN_INTERVAL {
        d.error(
            file,
            at,
            "more than one unit per microsecond",
            "lower the limit or lengthen the window",
        );
        return None;
    }
    let key = match p.key.as_deref() {
        None | Some("client_id") => KeyKind::ClientId,
        Some("subject") => KeyKind::Subject,
        Some("ip") => KeyKind::Ip,
        Some("route") => KeyKind::Route,
        Some("client_cert") => KeyKind::ClientCert,
        Some(k) if k.starts_with("header:") => {
            let name = k["header:".len()..].trim().to_ascii_lowercase();
            match HeaderName::from_bytes(name.as_bytes()) {
                Ok(h) if !name.is_empty() => KeyKind::Header(h),
                _ => {
                    d.error(
                        file,
                        &format!("{at}.key"),
                        format!("`{k}` does not name a header"),
                        "write header:<name>, e.g. header:x-api-key",
                    );
                    return None;
                }
            }
        }
        Some(k) => {
            d.error(
                file,
                &format!("{at}.key"),
                format!("unknown key kind `{k}`"),
                "use client_id, subject, ip, header:<name>, route or client_cert",
            );
            return None;
        }
    };
    let on = match p.on.as_deref() {
        None | Some("request") => Trigger::Request,
        Some("auth_failure") => Trigger::AuthFailure,
        Some(o) => {
            d.error(
                file,
                &format!("{at}.on"),
                format!("unknown trigger `{o}`"),
                "use request (every request, default) or auth_failure",
            );
            return None;
        }
    };
    if on == Trigger::AuthFailure && matches!(key, KeyKind::ClientId | KeyKind::Subject) && p.key.is_some() {
        d.error(
            file,
            &format!("{at}.key"),
            "a refused request has no validated client or subject",
            "key auth_failure policies on ip or header:<name>",
        );
    }
    // A refused request has only its address (or headers): auth_failure policies default to ip.
    let key = match (on, &p.key) {
        (Trigger::AuthFailure, None) => KeyKind::Ip,
        _ => key,
    };
    Some(PolicySpec {
        name: p.name.clone(),
        burst,
        interval,
        key,
        on,
    })
}

/// `10/s`, `600/m`, `5/10s`, `1000/1h`: a count and a positive duration (a bare unit means 1).
fn parse_rate(s: &str) -> Result<(u32, Duration), String> {
    let (n, per) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}` is not <count>/<duration>"))?;
    let count: u32 = n
        .trim()
        .parse()
        .ok()
        .filter(|c| *c >= 1)
        .ok_or_else(|| format!("`{n}` is not a count of at least 1"))?;
    let per = per.trim();
    let per = if per.starts_with(|c: char| c.is_ascii_digit()) {
        per.to_string()
    } else {
        format!("1{per}")
    };
    let per = parse_duration(&Quantity::Text(per))?;
    Ok((count, per))
}

/// A route's `rate_limit: [names]` and `cost`, against the configured policies.
pub fn route_limits(
    names: &[String],
    cost: Option<i64>,
    rl: &RateLimits,
    file: &str,
    at: &str,
    d: &mut Diagnostics,
) -> RouteLimits {
    let cost = match cost {
        None => 1,
        Some(c) => match u32::try_from(c) {
            Ok(v) if v >= 1 => v,
            _ => {
                d.error(
                    file,
                    &format!("{at}.cost"),
                    format!("cost {c} is not a whole number of at least 1"),
                    "write e.g. `cost: 5` (default 1)",
                );
                1
            }
        },
    };
    let mut policies = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let key = format!("{at}.rate_limit[{i}]");
        match rl.policies.iter().position(|p| &p.spec.name == name) {
            None => {
                let known: Vec<&str> = rl
                    .policies
                    .iter()
                    .filter(|p| p.spec.on == Trigger::Request)
                    .map(|p| p.spec.name.as_str())
                    .collect();
                let fix = if known.is_empty() {
                    "define the policy under rate_limits.policies in soapgate.yaml".to_string()
                } else {
                    format!("use one of: {}", known.join(", "))
                };
                d.error(file, &key, format!("no rate-limit policy named `{name}`"), &fix);
            }
            Some(ix) if rl.policies[ix].spec.on == Trigger::AuthFailure => d.error(
                file,
                &key,
                format!("`{name}` is an auth_failure policy"),
                "remove it: auth_failure policies apply to every protected route by themselves",
            ),
            Some(ix) if policies.contains(&ix) => d.error(
                file,
                &key,
                format!("`{name}` is listed twice"),
                "list each policy once",
            ),
            Some(ix) => {
                let burst = rl.policies[ix].spec.burst;
                if cost > burst {
                    d.error(
                        file,
                        &format!("{at}.cost"),
                        format!("cost {cost} exceeds what policy `{name}` ever allows at once ({burst})"),
                        "lower the cost or raise the policy's limit/burst",
                    );
                }
                policies.push(ix);
            }
        }
    }
    if cost != 1 && names.is_empty() {
        d.error(
            file,
            &format!("{at}.cost"),
            "cost without a rate_limit policy has no effect",
            "attach a policy with rate_limit: [name], or remove cost",
        );
    }
    RouteLimits { policies, cost }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!(parse_rate("10/s"), Ok((10, Duration::from_secs(1))));
        assert_eq!(parse_rate("600/m"), Ok((600, Duration::from_secs(60))));
        assert_eq!(parse_rate("5/10s"), Ok((5, Duration::from_secs(10))));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("10").is_err());
        assert!(parse_rate("10/parsec").is_err());
    }

    fn raw(yaml: &str) -> (RateLimits, Vec<String>) {
        let raw: RawRateLimits = serde_yaml_ng::from_str(yaml).expect("yaml");
        let mut d = Diagnostics::default();
        let rl = build(&raw, std::path::Path::new("."), "soapgate.yaml", &mut d);
        (rl, d.errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn policies_build_with_their_quota() {
        let (rl, errors) = raw(
            "policies:\n  - { name: a, limit: 100, window: 1m }\n  - { name: b, rate: 10/s, burst: 20, key: ip }\n  \
             - { name: c, limit: 5, window: 1m, key: ip, on: auth_failure }\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let a = &rl.policies[0].spec;
        assert_eq!((a.burst, a.interval), (100, Duration::from_millis(600)));
        assert_eq!(a.window_secs(), 60);
        let b = &rl.policies[1].spec;
        assert_eq!((b.burst, b.interval), (20, Duration::from_millis(100)));
        assert_eq!(b.window_secs(), 2);
        assert_eq!(rl.policies[2].spec.on, Trigger::AuthFailure);
    }

    #[test]
    fn errors_name_the_key_and_the_fix() {
        let (_, errors) = raw(
            "store: { kind: redis }\ntrusted_proxies: [10.0.0.0/33]\npolicies:\n  - { name: a, limit: 0, window: 1m }\n  \
             - { name: b, limit: 1, window: 1m, key: cookie }\n  - { name: 'bad name', rate: 10/s }\n  - { name: d }\n",
        );
        let all = errors.join("\n");
        for want in [
            "rate_limits.store.url: the redis store needs a URL",
            "rate_limits.trusted_proxies[0]: `10.0.0.0/33`",
            "rate_limits.policies[0].limit: 0 is not a usable limit",
            "rate_limits.policies[1].key: unknown key kind `cookie`",
            "rate_limits.policies[2].name",
            "rate_limits.policies[3]: a policy needs either",
        ] {
            assert!(all.contains(want), "missing `{want}` in:\n{all}");
        }
        assert!(errors.iter().all(|e| e.contains("(fix: ")), "{all}");
    }

    #[test]
    fn route_references_are_checked() {
        let (rl, _) = raw(
            "policies:\n  - { name: a, limit: 4, window: 1m }\n  - { name: af, limit: 4, window: 1m, key: ip, on: auth_failure }\n",
        );
        let mut d = Diagnostics::default();
        let ok = route_limits(&["a".into()], Some(2), &rl, "m.yaml", "routes[0]", &mut d);
        assert_eq!((ok.policies.clone(), ok.cost), (vec![0], 2));
        assert!(d.errors.is_empty());
        route_limits(
            &["nope".into(), "af".into(), "a".into()],
            Some(5),
            &rl,
            "m.yaml",
            "routes[1]",
            &mut d,
        );
        let all: Vec<String> = d.errors.iter().map(ToString::to_string).collect();
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all[0]
            .contains("routes[1].rate_limit[0]: no rate-limit policy named `nope` (fix: use one of: a)"));
        assert!(all[1].contains("routes[1].rate_limit[1]: `af` is an auth_failure policy"));
        assert!(all[2].contains("routes[1].cost: cost 5 exceeds"));
    }
}

//! Config of step 3: `limits.json` and `threats` in soapgate.yaml, and a route's `limits` /
//! `threats` overrides. Zero or negative limits are errors (never "unlimited").

use super::json::JsonLimits;
use super::patterns::{builtin_names, Patterns, Source};
use super::Policy;
use crate::config::units::Quantity;
use crate::config::{count_or, size_or, Diagnostics};
use serde::Deserialize;
use std::sync::Arc;

/// `limits.json` (gateway) or a route's `limits.json`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJsonLimits {
    pub depth: Option<i64>,
    pub entries: Option<i64>,
    pub array: Option<i64>,
    pub string: Option<Quantity>,
    pub key: Option<Quantity>,
    /// Characters of one number.
    pub number: Option<i64>,
}

/// `threats` (gateway) or a route's `threats`: each key given replaces the gateway's.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThreats {
    /// Built-in pattern sets: `sql`, `xpath`, `xml`, `script`.
    pub patterns: Option<Vec<String>>,
    /// Where patterns apply: `path`, `query`, `headers`, `json` (default: all four).
    pub sources: Option<Vec<String>>,
    /// Extra regular expressions (Rust `regex` syntax).
    pub custom: Option<Vec<String>>,
}

/// A route's `limits`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouteLimits {
    /// Request body limit for this route (≤ the 1 MiB hard cap).
    pub body: Option<Quantity>,
    #[serde(default)]
    pub json: RawJsonLimits,
    /// In-flight mediations on this route.
    pub concurrency: Option<i64>,
}

/// Gateway-wide step-3 defaults (part of `Settings`).
#[derive(Debug, Clone)]
pub struct Defaults {
    pub json: JsonLimits,
    pub patterns: Vec<String>,
    pub sources: Vec<Source>,
    pub custom: Vec<String>,
    /// The compiled gateway patterns, shared by every route without a `threats` override.
    pub compiled: Option<Arc<Patterns>>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            json: JsonLimits::default(),
            patterns: Vec::new(),
            sources: Source::ALL.to_vec(),
            custom: Vec::new(),
            compiled: None,
        }
    }
}

/// `raw` over `base`; `at` is the key path of the block, e.g. `limits.json`.
pub fn json_limits(
    raw: &RawJsonLimits,
    base: JsonLimits,
    file: &str,
    at: &str,
    d: &mut Diagnostics,
) -> JsonLimits {
    let mut depth = count_or(raw.depth, base.depth, file, &format!("{at}.depth"), d);
    if depth > super::json::MAX_DEPTH {
        let msg = format!(
            "a depth of {depth} is above the maximum of {}",
            super::json::MAX_DEPTH
        );
        d.error(file, &format!("{at}.depth"), msg, "use at most 128");
        depth = super::json::MAX_DEPTH;
    }
    JsonLimits {
        depth,
        entries: count_or(raw.entries, base.entries, file, &format!("{at}.entries"), d),
        array: count_or(raw.array, base.array, file, &format!("{at}.array"), d),
        string: size_or(&raw.string, base.string as u64, file, &format!("{at}.string"), d),
        key: size_or(&raw.key, base.key as u64, file, &format!("{at}.key"), d),
        number: count_or(raw.number, base.number, file, &format!("{at}.number"), d),
    }
}

fn sources(raw: &[String], file: &str, key: &str, d: &mut Diagnostics) -> Vec<Source> {
    let mut out = Vec::new();
    for s in raw {
        match Source::parse(s) {
            Some(src) if !out.contains(&src) => out.push(src),
            Some(_) => {}
            None => d.error(
                file,
                key,
                format!("unknown source `{s}`"),
                "use path, query, headers or json",
            ),
        }
    }
    if raw.is_empty() {
        d.error(
            file,
            key,
            "the list of sources is empty",
            "list at least one of path, query, headers, json (or remove the key: default is all)",
        );
    }
    if out.is_empty() {
        return Source::ALL.to_vec();
    }
    out
}

fn compile(
    sets: &[String],
    custom: &[String],
    srcs: &[Source],
    file: &str,
    at: &str,
    d: &mut Diagnostics,
) -> Option<Arc<Patterns>> {
    if sets.is_empty() && custom.is_empty() {
        return None;
    }
    match Patterns::compile(sets, custom, srcs) {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            let fix = format!(
                "use built-in sets ({}) and valid regular expressions",
                builtin_names().join(", ")
            );
            d.error(file, at, e, &fix);
            None
        }
    }
}

/// Builds the gateway defaults from `limits.json` and `threats`.
pub fn defaults(json: &RawJsonLimits, threats: &RawThreats, file: &str, d: &mut Diagnostics) -> Defaults {
    let json = json_limits(json, JsonLimits::default(), file, "limits.json", d);
    let patterns = threats.patterns.clone().unwrap_or_default();
    let custom = threats.custom.clone().unwrap_or_default();
    let srcs = match &threats.sources {
        Some(s) => sources(s, file, "threats.sources", d),
        None => Source::ALL.to_vec(),
    };
    let compiled = compile(&patterns, &custom, &srcs, file, "threats", d);
    Defaults {
        json,
        patterns,
        sources: srcs,
        custom,
        compiled,
    }
}

/// The effective policy of one route. `at` is e.g. `routes[2]`.
#[allow(clippy::too_many_arguments)]
pub fn route_policy(
    defaults: &Defaults,
    body_limit: usize,
    limits: Option<&RawRouteLimits>,
    threats: Option<&RawThreats>,
    file: &str,
    at: &str,
    d: &mut Diagnostics,
) -> Arc<Policy> {
    let mut json = defaults.json;
    let mut body = body_limit;
    let mut concurrency = None;
    if let Some(l) = limits {
        json = json_limits(&l.json, json, file, &format!("{at}.limits.json"), d);
        let key = format!("{at}.limits.body");
        body = size_or(&l.body, body as u64, file, &key, d);
        let cap = crate::config::REQUEST_BODY_HARD_CAP;
        if body > cap {
            let msg = format!("{body} bytes is above the hard cap of {cap} bytes");
            d.error(file, &key, msg, "use at most 1MiB");
            body = cap;
        }
        concurrency = l
            .concurrency
            .map(|n| count_or(Some(n), 1, file, &format!("{at}.limits.concurrency"), d));
    }
    let patterns = match threats {
        None => defaults.compiled.clone(),
        Some(t) => {
            let sets = t.patterns.clone().unwrap_or_else(|| defaults.patterns.clone());
            let custom = t.custom.clone().unwrap_or_else(|| defaults.custom.clone());
            let srcs = match &t.sources {
                Some(s) => sources(s, file, &format!("{at}.threats.sources"), d),
                None => defaults.sources.clone(),
            };
            compile(&sets, &custom, &srcs, file, &format!("{at}.threats"), d)
        }
    };
    Arc::new(Policy {
        body_limit: body,
        json,
        patterns,
        concurrency,
        inflight: super::InFlight::default(),
    })
}

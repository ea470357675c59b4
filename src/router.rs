//! Route table: method + path templates (`/customers/{id}`) -> route, with 404/405 decisions.

use crate::config::{Diagnostics, Route};
use crate::error::GatewayError;
use actix_web::http::Method;
use serde_json::{Map, Value};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A compiled path template.
#[derive(Debug, Clone, PartialEq)]
pub struct PathTemplate {
    raw: String,
    segments: Vec<Segment>,
}

impl PathTemplate {
    /// Parses `/a/{b}/c`. Parameters take whole segments; names are `[A-Za-z0-9_]+` and unique.
    pub fn parse(raw: &str) -> Result<PathTemplate, String> {
        let rest = raw
            .strip_prefix('/')
            .ok_or_else(|| format!("path `{raw}` must start with /"))?;
        let mut segments = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for part in rest.split('/').filter(|s| !s.is_empty()) {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid || names.contains(&name) {
                    return Err(format!("bad or repeated parameter `{part}` in `{raw}`"));
                }
                names.push(name);
                segments.push(Segment::Param(name.to_string()));
            } else if part.contains(['{', '}']) {
                return Err(format!("segment `{part}` mixes text and a parameter"));
            } else {
                segments.push(Segment::Literal(part.to_string()));
            }
        }
        Ok(PathTemplate {
            raw: raw.to_string(),
            segments,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Matches a request path; returns the decoded parameters.
    pub fn matches(&self, path: &str) -> Option<Map<String, Value>> {
        let mut params = Map::new();
        let mut parts = path.split('/').filter(|s| !s.is_empty());
        for seg in &self.segments {
            let part = parts.next()?;
            match seg {
                Segment::Literal(l) => {
                    if l != part {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let decoded = percent_decode(part)?;
                    params.insert(name.clone(), Value::String(decoded));
                }
            }
        }
        parts.next().is_none().then_some(params)
    }

    fn shape(&self) -> Vec<Option<&str>> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => Some(l.as_str()),
                Segment::Param(_) => None,
            })
            .collect()
    }
}

/// Percent-decodes one path segment; invalid UTF-8 or bad escapes do not match.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The result of routing one request.
#[derive(Debug)]
pub struct Matched {
    pub route: Arc<Route>,
    pub params: Map<String, Value>,
}

/// All routes of a snapshot, in config order (first match wins; duplicates are config errors).
#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Arc<Route>>,
}

impl Router {
    /// Builds the table, reporting duplicate ids and ambiguous method + path pairs.
    pub fn build(routes: Vec<Route>, d: &mut Diagnostics) -> Router {
        let mut kept: Vec<Arc<Route>> = Vec::new();
        for r in routes {
            if let Some(o) = kept
                .iter()
                .find(|o| o.id == r.id && o.service.name == r.service.name)
            {
                d.error(
                    &r.service.file,
                    "routes",
                    format!("route id `{}` is used twice", o.id),
                    "give every route a unique id",
                );
            }
            if let Some(o) = kept
                .iter()
                .find(|o| o.method == r.method && o.path.shape() == r.path.shape())
            {
                let msg = format!(
                    "{} {} is also served by route `{}`",
                    r.method,
                    r.path.as_str(),
                    o.id
                );
                d.error(
                    &r.service.file,
                    &format!("routes.{}", r.id),
                    msg,
                    "change the method or the path",
                );
            }
            kept.push(Arc::new(r));
        }
        Router { routes: kept }
    }

    /// Finds the route for a request, or the 404/405 error.
    pub fn find(&self, method: &Method, path: &str) -> Result<Matched, GatewayError> {
        let mut allow: Vec<String> = Vec::new();
        for r in &self.routes {
            if let Some(params) = r.path.matches(path) {
                if r.method == method {
                    return Ok(Matched {
                        route: r.clone(),
                        params,
                    });
                }
                allow.push(r.method.to_string());
            }
        }
        if allow.is_empty() {
            Err(GatewayError::RouteNotFound {
                path: path.to_string(),
            })
        } else {
            allow.sort();
            allow.dedup();
            Err(GatewayError::MethodNotAllowed {
                method: method.to_string(),
                allow,
            })
        }
    }

    /// Every route, in config order.
    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_matches_and_decodes_params() {
        let t = PathTemplate::parse("/customers/{id}/orders").expect("valid");
        let p = t.matches("/customers/a%20b/orders").expect("match");
        assert_eq!(p["id"], "a b");
        assert!(t.matches("/customers/1").is_none());
        assert!(t.matches("/customers/1/orders/2").is_none());
        assert!(t.matches("/customers/%ff/orders").is_none());
    }

    #[test]
    fn bad_templates_are_rejected() {
        assert!(PathTemplate::parse("customers").is_err());
        assert!(PathTemplate::parse("/a/{x}/{x}").is_err());
        assert!(PathTemplate::parse("/a/x{y}").is_err());
    }
}

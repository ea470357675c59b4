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
    /// Literal segments are percent-decoded like request segments; an empty segment (`//`, a
    /// trailing `/`) or a dot segment is refused: no request path could name it (`/` alone is
    /// the root, zero segments).
    pub fn parse(raw: &str) -> Result<PathTemplate, String> {
        let rest = raw
            .strip_prefix('/')
            .ok_or_else(|| format!("path `{raw}` must start with /"))?;
        let mut segments = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for part in rest.split('/').filter(|_| !rest.is_empty()) {
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
                let literal = crate::target::percent_decode(part)
                    .map_err(|e| format!("segment `{part}` of `{raw}`: {}", e.why()))?;
                if literal.is_empty() || literal == "." || literal == ".." {
                    return Err(format!(
                        "path `{raw}` has an empty or dot segment, which no request path names"
                    ));
                }
                segments.push(Segment::Literal(literal.into_owned()));
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

    /// Matches the decoded segments of a request path ([`crate::target::path_segments`]);
    /// returns the parameters.
    pub fn matches(&self, path: &[String]) -> Option<Map<String, Value>> {
        if path.len() != self.segments.len() {
            return None;
        }
        let mut params = Map::new();
        for (seg, part) in self.segments.iter().zip(path) {
            match seg {
                Segment::Literal(l) => {
                    if l != part {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    params.insert(name.clone(), Value::String(part.clone()));
                }
            }
        }
        Some(params)
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

/// The result of routing one request.
#[derive(Debug)]
pub struct Matched {
    pub route: Arc<Route>,
    pub params: Map<String, Value>,
    /// The percent-decoded path (its decoded segments joined by `/`), as the injection patterns
    /// read it.
    pub path: String,
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

    /// Finds the route for a request (HEAD finds the GET route), or the error: 400 `BAD_PERCENT_ENCODING` for a malformed
    /// escape anywhere in the path, 404 for a path no template names (also one with an empty or
    /// dot segment), 405 with the methods that would match (HEAD wherever GET is).
    pub fn find(&self, method: &Method, path: &str) -> Result<Matched, GatewayError> {
        use crate::target::PathError;
        let segments = crate::target::path_segments(path).map_err(|e| match e {
            PathError::Encoding(b) => GatewayError::BadPercentEncoding {
                place: "path",
                why: b.why(),
            },
            PathError::NoRoute => GatewayError::RouteNotFound {
                path: path.to_string(),
            },
        })?;
        let mut allow: Vec<String> = Vec::new();
        for r in &self.routes {
            if let Some(params) = r.path.matches(&segments) {
                // HEAD is served by the GET route (RFC 9110 §9.3.2): the same mediation, whose
                // body the transport does not send.
                if r.method == method || (method == Method::HEAD && r.method == Method::GET) {
                    return Ok(Matched {
                        route: r.clone(),
                        params,
                        path: format!("/{}", segments.join("/")),
                    });
                }
                allow.push(r.method.to_string());
                if r.method == Method::GET {
                    allow.push(Method::HEAD.to_string());
                }
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

    fn segs(path: &str) -> Vec<String> {
        crate::target::path_segments(path).expect("valid path")
    }

    #[test]
    fn template_matches_and_decodes_params() {
        let t = PathTemplate::parse("/customers/{id}/orders").expect("valid");
        let p = t.matches(&segs("/customers/a%20b/orders")).expect("match");
        assert_eq!(p["id"], "a b");
        assert!(t.matches(&segs("/customers/1")).is_none());
        assert!(t.matches(&segs("/customers/1/orders/2")).is_none());
        // Literal segments compare decoded: `%73` is `s`.
        assert!(t.matches(&segs("/customer%73/1/order%73")).is_some());
    }

    #[test]
    fn d6_an_encoded_slash_is_a_character_of_its_parameter() {
        let one = PathTemplate::parse("/items/{id}").expect("valid");
        let two = PathTemplate::parse("/items/{id}/orders").expect("valid");
        let p = one.matches(&segs("/items/a%2Forders")).expect("match");
        assert_eq!(p["id"], "a/orders");
        assert!(two.matches(&segs("/items/a%2Forders")).is_none());
    }

    /// A snapshot with `GET /items/{id}`, `DELETE /items/{id}`, `GET /items/{id}/orders`.
    fn router() -> (tempfile::TempDir, crate::config::Snapshot) {
        let dir = tempfile::tempdir().expect("tmp");
        let route = |id: &str, m: &str, p: &str| {
            format!("  - {{ id: {id}, method: {m}, path: \"{p}\", operation: Op, public: true, request: {{ template: t.hbs }} }}\n")
        };
        let mapping = format!(
            "service: s\nbackend: {{ urls: [\"http://127.0.0.1:1/x\"] }}\nroutes:\n{}{}{}",
            route("get", "GET", "/items/{id}"),
            route("del", "DELETE", "/items/{id}"),
            route("orders", "GET", "/items/{id}/orders"),
        );
        std::fs::create_dir_all(dir.path().join("mappings")).expect("mkdir");
        std::fs::write(dir.path().join("soapgate.yaml"), "listen: 127.0.0.1:0\n").expect("write");
        std::fs::write(dir.path().join("mappings/s.yaml"), mapping).expect("write");
        std::fs::write(dir.path().join("t.hbs"), "<x/>").expect("write");
        let snap = crate::config::Snapshot::load(&dir.path().join("soapgate.yaml"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        (dir, snap)
    }

    fn code(r: Result<Matched, GatewayError>) -> String {
        r.map(|m| m.route.id.clone()).unwrap_or_else(|e| e.code())
    }

    #[test]
    fn d4_d5_d6_paths_match_only_the_route_their_raw_segments_name() {
        let (_dir, snap) = router();
        let r = &snap.router;
        assert_eq!(code(r.find(&Method::GET, "/items/7")), "get");
        assert_eq!(code(r.find(&Method::GET, "/items/7/orders")), "orders");
        for path in [
            "/items//orders",
            "//items///7//",
            "/items/7/",
            "/items/./7",
            "/items/%2e%2e/x",
            "/items/%2E",
        ] {
            assert_eq!(code(r.find(&Method::GET, path)), "NOT_FOUND", "{path}");
        }
        let m = r.find(&Method::GET, "/items/a%2Forders").expect("matched");
        assert_eq!(
            (m.route.id.as_str(), &m.params["id"]),
            ("get", &Value::from("a/orders"))
        );
        for path in ["/items/1%+9UNION", "/items/%zz", "/items/%4", "/nothing/%ff"] {
            assert_eq!(code(r.find(&Method::GET, path)), "BAD_PERCENT_ENCODING", "{path}");
        }
        // What the injection patterns read is what the parameter holds.
        let m = r.find(&Method::GET, "/items/1%09UNION").expect("matched");
        assert_eq!(
            (m.path.as_str(), &m.params["id"]),
            ("/items/1\tUNION", &Value::from("1\tUNION"))
        );
    }

    #[test]
    fn d7_head_finds_the_get_route_and_allow_lists_it_with_get() {
        let (_dir, snap) = router();
        let r = &snap.router;
        assert_eq!(code(r.find(&Method::HEAD, "/items/7")), "get");
        assert_eq!(code(r.find(&Method::HEAD, "/items/7/orders")), "orders");
        match r.find(&Method::POST, "/items/7") {
            Err(GatewayError::MethodNotAllowed { allow, .. }) => assert_eq!(allow, ["DELETE", "GET", "HEAD"]),
            other => panic!("{other:?}"),
        }
        match r.find(&Method::PUT, "/items/7/orders") {
            Err(GatewayError::MethodNotAllowed { allow, .. }) => assert_eq!(allow, ["GET", "HEAD"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_templates_are_rejected() {
        assert!(PathTemplate::parse("customers").is_err());
        assert!(PathTemplate::parse("/a/{x}/{x}").is_err());
        assert!(PathTemplate::parse("/a/x{y}").is_err());
        for bad in ["/a//b", "/a/", "//a", "/a/./b", "/a/%2e%2e/{x}", "/a%zz", "/a%ff"] {
            assert!(PathTemplate::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(PathTemplate::parse("/").expect("root").segments, vec![]);
    }
}

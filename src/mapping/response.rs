//! Response side of a route: conversion hints, what may leave (`undeclared`, `allow`) and the
//! optional `select` JSONPath.

use crate::config::raw::RawResponse;
use crate::config::Diagnostics;
use crate::error::GatewayError;
use crate::soap::convert::{Gate, Hints, ScalarType, Undeclared};
use jsonpath_rust::parser::model::JpQuery;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A compiled JSONPath. A definite path (no wildcard, filter, slice, union or descent) yields
/// one value; any other yields an array, so the shape never depends on how many items matched.
#[derive(Debug, Clone)]
pub struct Selector {
    source: String,
    query: JpQuery,
    definite: bool,
}

impl Selector {
    /// Compiles a JSONPath.
    pub fn compile(source: &str) -> Result<Selector, String> {
        let query = jsonpath_rust::parser::parse_json_path(source).map_err(|e| e.to_string())?;
        let definite = !source.contains(['*', '?', ':', ',']) && !source.contains("..");
        Ok(Selector {
            source: source.to_string(),
            query,
            definite,
        })
    }

    /// Applies the path.
    pub fn apply(&self, value: &Value) -> Result<Value, GatewayError> {
        let found = jsonpath_rust::query::js_path_process(&self.query, value)
            .map_err(|e| GatewayError::Internal(format!("select {}: {e}", self.source)))?;
        if self.definite {
            match found.into_iter().next() {
                Some(r) => Ok(r.val().clone()),
                None => Err(GatewayError::UpstreamShape(format!("nothing at {}", self.source))),
            }
        } else {
            Ok(Value::Array(found.into_iter().map(|r| r.val().clone()).collect()))
        }
    }
}

/// `response.allow`: the paths of the answer (before `select`) that may leave a route without a
/// WSDL. A path names keys from the top, dotted (`customer.name`); `*` is any one key; arrays are
/// crossed item by item, with or without `[*]` (`phones.phone[*].number` is
/// `phones.phone.number`); `['a.b']` quotes a key holding a dot. What a path names leaves whole;
/// the objects on the way keep only allowed keys; everything else is undeclared.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allow {
    root: AllowNode,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct AllowNode {
    /// A path ends here: the whole value leaves.
    all: bool,
    keys: BTreeMap<String, AllowNode>,
    any: Option<Box<AllowNode>>,
}

/// One step of an allow path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Any,
}

impl Allow {
    /// Compiles the paths; `Err((index, why))` names the first malformed one.
    pub fn compile(paths: &[String]) -> Result<Allow, (usize, String)> {
        let mut root = AllowNode::default();
        for (i, p) in paths.iter().enumerate() {
            let steps = parse_allow_path(p).map_err(|e| (i, e))?;
            let mut node = &mut root;
            for step in steps {
                node = match step {
                    Step::Key(k) => node.keys.entry(k).or_default(),
                    Step::Any => node.any.get_or_insert_with(Box::default),
                };
            }
            node.all = true;
        }
        Ok(Allow { root })
    }

    /// The answer with only allowed data; each key left out is judged by `gate` (by name).
    pub fn filter(&self, value: Value, gate: Gate<'_>) -> Result<Value, GatewayError> {
        Ok(keep(value, &[&self.root], "$", gate)?.unwrap_or_else(|| Value::Object(Map::new())))
    }
}

/// `value` (reached under the key `name`) as far as `nodes` allow it; `None`: nothing of it.
fn keep(
    value: Value,
    nodes: &[&AllowNode],
    name: &str,
    gate: Gate<'_>,
) -> Result<Option<Value>, GatewayError> {
    if nodes.iter().any(|n| n.all) {
        return Ok(Some(value));
    }
    match value {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                let next: Vec<&AllowNode> = nodes
                    .iter()
                    .flat_map(|n| n.keys.get(&k).into_iter().chain(n.any.as_deref()))
                    .collect();
                let kept = if next.is_empty() {
                    gate.judge("", &k)?.then_some(v)
                } else {
                    keep(v, &next, &k, gate)?
                };
                if let Some(v) = kept {
                    out.insert(k, v);
                }
            }
            Ok(Some(Value::Object(out)))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(v) = keep(item, nodes, name, gate)? {
                    out.push(v);
                }
            }
            Ok(Some(Value::Array(out)))
        }
        // Nil or an empty element on the way to an allowed path holds no data.
        Value::Null => Ok(Some(Value::Null)),
        Value::String(s) if s.is_empty() => Ok(Some(Value::String(s))),
        // Text where the allowed path goes deeper: not allowed itself.
        other => Ok(gate.judge("", name)?.then_some(other)),
    }
}

/// Parses `a.b[*].c`, `$.a.*`, `a['x.y']`.
fn parse_allow_path(path: &str) -> Result<Vec<Step>, String> {
    let p = path.trim();
    let p = p
        .strip_prefix('$')
        .map_or(p, |r| r.strip_prefix('.').unwrap_or(r));
    let mut steps = Vec::new();
    let mut rest = p;
    let bad = |why: &str| Err(format!("`{path}` is not an allow path: {why}"));
    if rest.is_empty() {
        return bad("it names nothing");
    }
    let mut need_step = true;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("[*]") {
            if need_step {
                return bad("`[*]` must follow a key");
            }
            rest = r;
            need_step = false;
        } else if let Some(r) = rest.strip_prefix("['") {
            let Some((key, r)) = r.split_once("']") else {
                return bad("a quoted key is not closed with ']");
            };
            if key.is_empty() {
                return bad("an empty key");
            }
            steps.push(Step::Key(key.to_string()));
            rest = r;
            need_step = false;
        } else if rest.starts_with('[') {
            return bad("only [*] and ['key'] may come in brackets");
        } else if let Some(r) = rest.strip_prefix('.') {
            if need_step {
                return bad("an empty key");
            }
            rest = r;
            need_step = true;
            if rest.is_empty() {
                return bad("it ends with a dot");
            }
            continue;
        } else {
            if !need_step {
                return bad("keys are separated by dots");
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let (key, r) = rest.split_at(end);
            if key.contains(['*', '\'', '"', ']', '$', '?', '(', ')', ',', ' ', '\t']) && key != "*" {
                return bad("a key may not hold * ' \" ] $ ? ( ) , or spaces (quote it as ['key'])");
            }
            steps.push(if key == "*" {
                Step::Any
            } else {
                Step::Key(key.to_string())
            });
            rest = r;
            need_step = false;
            continue;
        }
        if !rest.is_empty() && !rest.starts_with(['.', '[']) {
            return bad("keys are separated by dots");
        }
    }
    Ok(steps)
}

/// Everything a route says about its response.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    pub unwrap: bool,
    /// Wrap the result as `{"header": ..., "body": ...}` (before `select`).
    pub include_header: bool,
    pub hints: Hints,
    pub select: Option<Selector>,
    /// What becomes of data the WSDL or `allow` does not declare (`Keep` where nothing declares).
    pub undeclared: Undeclared,
    /// Routes without a WSDL: the paths that may leave.
    pub allow: Option<Allow>,
}

impl ResponseSpec {
    /// Validates the raw response block; `typed`: the route is bound to a WSDL operation.
    pub fn build(
        raw: &RawResponse,
        typed: bool,
        file: &str,
        at: &str,
        d: &mut Diagnostics,
    ) -> Option<ResponseSpec> {
        let mut ok = true;
        let allow = match (&raw.allow, typed) {
            (Some(_), true) => {
                ok = false;
                d.error(
                    file,
                    &format!("{at}.allow"),
                    "allow is for routes without a WSDL: the WSDL declares what may leave",
                    "remove allow (use select to return only part of the declared data)",
                );
                None
            }
            (Some(paths), false) => match Allow::compile(paths) {
                Ok(a) => Some(a),
                Err((i, e)) => {
                    ok = false;
                    d.error(
                        file,
                        &format!("{at}.allow[{i}]"),
                        e,
                        "write dotted key paths such as customer.name or orders.order[*].id",
                    );
                    None
                }
            },
            (None, _) => None,
        };
        let declares = typed || raw.allow.is_some();
        let undeclared = match raw.undeclared.as_deref().map(|u| (u, Undeclared::parse(u))) {
            None if declares => Undeclared::Drop,
            None => Undeclared::Keep,
            Some((_, Some(Undeclared::Keep))) if raw.allow.is_some() => {
                ok = false;
                d.error(
                    file,
                    &format!("{at}.undeclared"),
                    "undeclared: keep lets everything through, so allow would do nothing",
                    "remove allow, or use undeclared: drop or reject",
                );
                Undeclared::Keep
            }
            Some((u, Some(p))) if !declares && p != Undeclared::Keep => {
                ok = false;
                d.error(
                    file,
                    &format!("{at}.undeclared"),
                    format!("undeclared: {u} needs something that declares the response"),
                    "name the service's wsdl, or list the paths that may leave in response.allow",
                );
                p
            }
            Some((_, Some(p))) => p,
            Some((u, None)) => {
                ok = false;
                d.error(
                    file,
                    &format!("{at}.undeclared"),
                    format!("unknown value `{u}`"),
                    "use drop, keep or reject",
                );
                Undeclared::Drop
            }
        };
        let select = raw.select.as_deref().and_then(|s| {
            Selector::compile(s)
                .map_err(|e| {
                    ok = false;
                    d.error(
                        file,
                        &format!("{at}.select"),
                        format!("invalid JSONPath `{s}`: {e}"),
                        "write a JSONPath such as $.customer",
                    );
                })
                .ok()
        });
        let mut types = Vec::new();
        for (path, t) in &raw.types {
            match ScalarType::parse(t) {
                Some(t) => types.push((path.clone(), t)),
                None => {
                    ok = false;
                    d.error(
                        file,
                        &format!("{at}.types.{path}"),
                        format!("unknown type `{t}`"),
                        "use string, integer, number, decimal or boolean",
                    );
                }
            }
        }
        let hints = Hints::new(&raw.arrays, &types)
            .map_err(|e| {
                ok = false;
                d.error(
                    file,
                    &format!("{at}.arrays"),
                    e,
                    "use element paths such as customer/phones/phone",
                );
            })
            .ok()?;
        ok.then(|| ResponseSpec {
            unwrap: raw.unwrap.unwrap_or(true),
            include_header: raw.include_header,
            hints,
            select,
            undeclared,
            allow,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soap::convert::Tally;
    use serde_json::json;

    fn allow(paths: &[&str]) -> Allow {
        let paths: Vec<String> = paths.iter().map(|p| p.to_string()).collect();
        Allow::compile(&paths).unwrap_or_else(|(i, e)| panic!("path {i}: {e}"))
    }

    #[test]
    fn l11_allow_keeps_only_the_named_paths_and_counts_the_rest_by_name() {
        let a = allow(&[
            "customer.name",
            "$.customer.phones.phone[*].number",
            "orders.*.id",
            "['a.b']",
            "customer.note",
        ]);
        let v = json!({
            "customer": {"@id": "7", "name": {"#text": "Ann", "@lang": "en"}, "ssn": "123-45-6789",
                         "phones": {"phone": [{"number": "1", "pin": "0000"}, {"number": "2"}]},
                         "note": null},
            "orders": {"o1": {"id": "9", "card": "4111"}, "o2": [{"id": "10"}]},
            "a.b": "dotted",
            "passwordHash": "x",
        });
        let tally = Tally::default();
        let out = a.filter(v, Gate::new(Undeclared::Drop, &tally)).expect("drops");
        assert_eq!(
            out,
            json!({
                "customer": {"name": {"#text": "Ann", "@lang": "en"},
                             "phones": {"phone": [{"number": "1"}, {"number": "2"}]}, "note": null},
                "orders": {"o1": {"id": "9"}, "o2": [{"id": "10"}]},
                "a.b": "dotted",
            })
        );
        assert_eq!(tally.names(), ["@id", "ssn", "pin", "card", "passwordHash"]);
        assert_eq!(tally.count(), 5);
        // Text where an allowed path goes deeper is not allowed itself.
        let tally = Tally::default();
        let out = allow(&["customer.name.first"])
            .filter(
                json!({"customer": {"name": "Ann"}}),
                Gate::new(Undeclared::Drop, &tally),
            )
            .expect("drops");
        assert_eq!(
            (out, tally.names()),
            (json!({"customer": {}}), vec!["name".to_string()])
        );
    }

    #[test]
    fn l11_allow_with_reject_refuses_anything_not_allowed() {
        let tally = Tally::default();
        let a = allow(&["customer.name"]);
        let gate = Gate::new(Undeclared::Reject, &tally);
        let ok = a
            .filter(json!({"customer": {"name": "A"}}), gate)
            .expect("all allowed");
        assert_eq!(ok, json!({"customer": {"name": "A"}}));
        let e = a
            .filter(json!({"customer": {"name": "A", "ssn": "1"}}), gate)
            .expect_err("refused");
        assert_eq!(e.code(), "UPSTREAM_UNDECLARED");
    }

    #[test]
    fn l11_malformed_allow_paths_are_refused_at_load() {
        for bad in [
            "",
            "$",
            "a..b",
            ".a",
            "a.",
            "a[0]",
            "a b",
            "[*]",
            "a*b",
            "a.[*]",
            "a['b",
            "a[?(@.x)]",
        ] {
            let r = Allow::compile(&[bad.to_string()]);
            assert!(r.is_err(), "`{bad}` compiled");
        }
        for good in [
            "a",
            "$.a",
            "a.b[*]",
            "a[*].b",
            "*.id",
            "a['x.y'].z",
            "@attr",
            "a.#text",
        ] {
            assert!(Allow::compile(&[good.to_string()]).is_ok(), "`{good}` refused");
        }
    }

    #[test]
    fn definite_paths_give_a_value_and_wildcards_an_array() {
        let v = json!({"orders": {"order": [{"id": 1}]}});
        let one = Selector::compile("$.orders.order").expect("compiles");
        assert_eq!(one.apply(&v).expect("found"), json!([{"id": 1}]));
        let many = Selector::compile("$.orders.order[*].id").expect("compiles");
        assert_eq!(many.apply(&v).expect("found"), json!([1]));
        let missing = Selector::compile("$.nope").expect("compiles");
        assert!(matches!(missing.apply(&v), Err(GatewayError::UpstreamShape(_))));
    }
}

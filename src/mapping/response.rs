//! Response side of a route: conversion hints and the optional `select` JSONPath.

use crate::config::raw::RawResponse;
use crate::config::Diagnostics;
use crate::error::GatewayError;
use crate::soap::convert::{Hints, ScalarType};
use jsonpath_rust::parser::model::JpQuery;
use serde_json::Value;

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

/// Everything a route says about its response.
#[derive(Debug, Clone)]
pub struct ResponseSpec {
    pub unwrap: bool,
    /// Wrap the result as `{"header": ..., "body": ...}` (before `select`).
    pub include_header: bool,
    pub hints: Hints,
    pub select: Option<Selector>,
}

impl ResponseSpec {
    /// Validates the raw response block.
    pub fn build(raw: &RawResponse, file: &str, at: &str, d: &mut Diagnostics) -> Option<ResponseSpec> {
        let mut ok = true;
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

//! The one input of a request: the JSON body's members, the path parameters and the query
//! parameters merged into one object, which is what is validated, rendered and logged.
//!
//! The rule (README "One input per request"): start from the body's members; add each path
//! parameter, then each query parameter. A name given in two places (or twice in the query) must
//! carry the same value in each, compared as values (`7` in the path equals `7` in the body, `7.0`
//! equals `7`); otherwise the request is refused with 400 `PARAMETER_CONFLICT` naming both places.
//! Nothing is ever overridden. On routes validated against a WSDL, parameters are typed by the
//! schema and only those naming an input field join the input. Headers never join: templates read
//! the route's allow-listed headers as `headers.<name>`.

use crate::decimal::Decimal;
use crate::error::GatewayError;
use crate::wsdl::validate::lexical;
use serde_json::{Map, Value};

/// Where a value of the input came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Body,
    Path,
    Query,
}

impl Place {
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Body => "body",
            Place::Path => "path",
            Place::Query => "query",
        }
    }
}

/// A parameter's value as the input holds it; `None` when the name is not part of the input.
pub type Coerced = Option<Result<Value, String>>;

/// Merges the path parameters, then the query parameters, into the body's members. `coerce` types
/// a raw parameter for a name (`None`: not an input field, left out; `Err`: a violation message
/// reported with the pointer `/name`).
pub fn merge(
    obj: &mut Map<String, Value>,
    path: &Map<String, Value>,
    query: &[(String, String)],
    mut coerce: impl FnMut(&str, &str) -> Coerced,
) -> Result<(), GatewayError> {
    let mut from: Vec<(String, Place)> = Vec::new();
    let place_of = |from: &[(String, Place)], name: &str| {
        from.iter()
            .find(|(n, _)| n == name)
            .map_or(Place::Body, |(_, p)| *p)
    };
    let path = path
        .iter()
        .filter_map(|(k, v)| Some((Place::Path, k.as_str(), v.as_str()?)));
    let query = query.iter().map(|(k, v)| (Place::Query, k.as_str(), v.as_str()));
    let mut violations = Vec::new();
    for (place, name, raw) in path.chain(query) {
        let value = match coerce(name, raw) {
            None => continue,
            Some(Ok(v)) => v,
            Some(Err(message)) => {
                violations.push(crate::wsdl::validate::Violation {
                    pointer: pointer(name),
                    message: format!("{message} (from the {})", place.as_str()),
                });
                continue;
            }
        };
        match obj.get(name) {
            Some(existing) if !same_value(existing, &value) => {
                return Err(GatewayError::ParameterConflict {
                    pointer: pointer(name),
                    first: place_of(&from, name).as_str(),
                    second: place.as_str(),
                });
            }
            Some(_) => {}
            None => {
                obj.insert(name.to_string(), value);
                from.push((name.to_string(), place));
            }
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(GatewayError::SchemaViolation(violations))
    }
}

/// The input of a route that is not validated: the body's members plus every path and query
/// parameter as a string; a body that is not an object (or absent) is the input as it is.
pub fn untyped(
    body: &Value,
    path: &Map<String, Value>,
    query: &[(String, String)],
) -> Result<Value, GatewayError> {
    let mut obj = match body {
        Value::Object(o) => o.clone(),
        Value::Null => Map::new(),
        other => return Ok(other.clone()),
    };
    merge(&mut obj, path, query, |_, raw| {
        Some(Ok(Value::String(raw.to_string())))
    })?;
    Ok(Value::Object(obj))
}

/// The body as a validated route's template sees it: each member as the validated input holds it
/// (numbers in their type's lexical form), so `body.x` and `input.x` render the same.
pub fn validated_body(body: Value, input: &Value) -> Value {
    match (body, input) {
        (Value::Object(mut b), Value::Object(i)) => {
            for (k, v) in b.iter_mut() {
                if let Some(valid) = i.get(k) {
                    v.clone_from(valid);
                }
            }
            Value::Object(b)
        }
        (body, _) => body,
    }
}

/// Same value: numbers (and numeric strings against numbers) by value, other scalars by text,
/// structures never equal a parameter.
fn same_value(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let (Some(x), Some(y)) = (lexical(a), lexical(b)) else {
        return false;
    };
    if x == y {
        return true;
    }
    if a.is_number() || b.is_number() {
        if let (Some(p), Some(q)) = (Decimal::parse(&x), Decimal::parse(&y)) {
            return p.cmp_value(&q).is_eq();
        }
    }
    false
}

/// A JSON pointer to a top-level member (RFC 6901 escaping); a name of a client's choosing is
/// shown to at most 64 characters in the problem.
fn pointer(name: &str) -> String {
    const SHOWN: usize = 64;
    let shown: String = name.chars().take(SHOWN).collect();
    let more = if shown.len() < name.len() { "…" } else { "" };
    format!("/{}{more}", shown.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn conflict(r: Result<Value, GatewayError>) -> (String, &'static str, &'static str) {
        match r {
            Err(GatewayError::ParameterConflict {
                pointer,
                first,
                second,
            }) => (pointer, first, second),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn p1_path_and_query_never_override_each_other() {
        let r = untyped(&Value::Null, &params(json!({"id": "7"})), &q(&[("id", "12")]));
        assert_eq!(conflict(r), ("/id".into(), "path", "query"));
        let same = untyped(&Value::Null, &params(json!({"id": "7"})), &q(&[("id", "7")]));
        assert_eq!(same.expect("same value"), json!({"id": "7"}));
    }

    #[test]
    fn p2_query_never_overrides_the_body() {
        let body = json!({"intA": 2, "intB": 40});
        let r = untyped(&body, &Map::new(), &q(&[("intA", "100")]));
        assert_eq!(conflict(r), ("/intA".into(), "body", "query"));
        let r = untyped(&body, &Map::new(), &q(&[("intA", "2.0")]));
        assert_eq!(r.expect("same number"), json!({"intA": 2, "intB": 40}));
        let r = untyped(&Value::Null, &Map::new(), &q(&[("a", "1"), ("a", "2")]));
        assert_eq!(conflict(r), ("/a".into(), "query", "query"));
        let r = untyped(&json!({"a/b": {"x": 1}}), &Map::new(), &q(&[("a/b", "1")]));
        assert_eq!(conflict(r), ("/a~1b".into(), "body", "query"));
    }

    #[test]
    fn a_long_name_is_shown_shortened() {
        let long = "n".repeat(5000);
        let r = untyped(&Value::Null, &Map::new(), &q(&[(&long, "1"), (&long, "2")]));
        let (pointer, _, _) = conflict(r);
        assert_eq!(pointer, format!("/{}…", "n".repeat(64)));
    }

    #[test]
    fn a_body_that_is_not_an_object_is_the_input() {
        let r = untyped(&json!([1, 2]), &params(json!({"id": "7"})), &[]);
        assert_eq!(r.expect("array"), json!([1, 2]));
    }
}

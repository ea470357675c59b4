//! node-soap's response JSON mapped to soapgate's convention, and a structural comparison that
//! names every place where the two still differ.
//!
//! The normaliser only renames; it never retypes, trims or reshapes, so every difference of
//! substance (arrays, types, null, whitespace) stays visible to the comparison:
//! - `"attributes": {"a": v}` becomes `"@a": v`, keyed by the attribute's local name
//!   (`SOAP-ENC:arrayType` → `@arrayType`); `xmlns` declarations and `xsi:nil` are dropped, as
//!   soapgate never shows them; `xsi:type` becomes `"@xsi:type"` with the local part of its value;
//! - `"$value"` becomes `"#text"` next to attributes or children, and the value itself when alone;
//! - element keys lose their prefix (`platformFaults:code` → `code`).

use serde_json::{Map, Value};

/// node-soap JSON in soapgate's convention (renaming only).
pub(super) fn normalise(v: &Value) -> Value {
    match v {
        Value::Object(o) => object(o),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

fn object(o: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    if let Some(Value::Object(attrs)) = o.get("attributes") {
        out.extend(attrs.iter().filter_map(|(k, v)| attribute(k, v)));
    }
    for (k, v) in o
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "attributes" | "$value"))
    {
        out.insert(local(k).to_string(), normalise(v));
    }
    match o.get("$value") {
        Some(text) if out.is_empty() => normalise(text),
        Some(text) => {
            out.insert("#text".into(), normalise(text));
            Value::Object(out)
        }
        None => Value::Object(out),
    }
}

fn attribute(name: &str, v: &Value) -> Option<(String, Value)> {
    if name == "xmlns" || name.starts_with("xmlns:") || name == "xsi:nil" {
        return None;
    }
    if name == "xsi:type" {
        let ty = v.as_str().map_or(v.clone(), |t| Value::String(local(t).into()));
        return Some(("@xsi:type".into(), ty));
    }
    Some((format!("@{}", local(name)), v.clone()))
}

/// The local part of a prefixed name.
pub(super) fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// One place where soapgate's JSON and node-soap's (normalised) differ.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Mismatch {
    /// JSON pointer into soapgate's JSON, and what differs there, e.g. `/a/b: array`.
    pub key: String,
    /// Both values, for the report.
    pub detail: String,
}

impl Mismatch {
    /// A difference at `at`; `None` stands for an absent key.
    pub(super) fn new(at: &str, kind: &str, ours: Option<&Value>, theirs: Option<&Value>) -> Mismatch {
        let at = if at.is_empty() { "(root)" } else { at };
        Mismatch {
            key: format!("{at}: {kind}"),
            detail: format!("soapgate {} | node-soap {}", short(ours), short(theirs)),
        }
    }
}

fn short(v: Option<&Value>) -> String {
    let Some(v) = v else {
        return "(absent)".into();
    };
    let text = v.to_string();
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// Compares structurally: the same keys, arrays where arrays, the same JSON types and values.
/// Kinds: `array` (soapgate has an array, node-soap one value), `single` (the reverse), `length`,
/// `extra` / `missing` (a key only soapgate / only node-soap has), `type`, `value`, `whitespace`
/// (strings equal once trimmed).
pub(super) fn diff(ours: &Value, theirs: &Value, at: &str, out: &mut Vec<Mismatch>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => objects(a, b, at, out),
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                out.push(Mismatch::new(at, "length", Some(ours), Some(theirs)));
            }
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(x, y, &format!("{at}/{i}"), out);
            }
        }
        (Value::Array(a), _) => {
            out.push(Mismatch::new(at, "array", Some(ours), Some(theirs)));
            if let [only] = a.as_slice() {
                diff(only, theirs, &format!("{at}/0"), out);
            }
        }
        (_, Value::Array(b)) => {
            out.push(Mismatch::new(at, "single", Some(ours), Some(theirs)));
            if let [only] = b.as_slice() {
                diff(ours, only, at, out);
            }
        }
        _ => scalars(ours, theirs, at, out),
    }
}

fn objects(a: &Map<String, Value>, b: &Map<String, Value>, at: &str, out: &mut Vec<Mismatch>) {
    for (k, x) in a {
        let here = format!("{at}/{}", escape(k));
        match b.get(k) {
            Some(y) => diff(x, y, &here, out),
            None => out.push(Mismatch::new(&here, "extra", Some(x), None)),
        }
    }
    for (k, y) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
        out.push(Mismatch::new(
            &format!("{at}/{}", escape(k)),
            "missing",
            None,
            Some(y),
        ));
    }
}

fn scalars(ours: &Value, theirs: &Value, at: &str, out: &mut Vec<Mismatch>) {
    let kind = match (ours, theirs) {
        _ if ours == theirs => return,
        (Value::String(a), Value::String(b)) if a.trim() == b.trim() => "whitespace",
        (Value::String(_), Value::String(_))
        | (Value::Number(_), Value::Number(_))
        | (Value::Bool(_), Value::Bool(_)) => "value",
        _ => "type",
    };
    out.push(Mismatch::new(at, kind, Some(ours), Some(theirs)));
}

/// A JSON pointer reference token.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn attributes_value_and_prefixes_are_renamed_only() {
        let node = json!({"p:a": {"attributes": {"xmlns:p": "urn:p", "xsi:nil": "false",
            "xsi:type": "p:T", "SOAP-ENC:arrayType": "x[1]", "id": "1"}, "$value": " t "},
            "b": {"$value": "7"}, "c": [{"attributes": {"k": "v"}}]});
        assert_eq!(
            normalise(&node),
            json!({"a": {"@xsi:type": "T", "@arrayType": "x[1]", "@id": "1", "#text": " t "},
                "b": "7", "c": [{"@k": "v"}]})
        );
    }

    #[test]
    fn diff_names_each_kind_of_difference() {
        let ours = json!({"a": ["x "], "n": "1.1", "e": "", "only": 1, "s": "q", "l": [1, 2]});
        let node = json!({"a": "x", "n": 1.1, "e": null, "gone": 2, "s": ["q"], "l": [1]});
        let mut out = Vec::new();
        diff(&ours, &node, "", &mut out);
        let mut keys: Vec<&str> = out.iter().map(|m| m.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "/a/0: whitespace",
                "/a: array",
                "/e: type",
                "/gone: missing",
                "/l: length",
                "/n: type",
                "/only: extra",
                "/s: single"
            ]
        );
    }
}

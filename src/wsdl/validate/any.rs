//! Content the schema does not describe (`xs:anyType`, children admitted by `xs:any`): any JSON the
//! schema-less convention can write as XML (names must be XML names, no arrays of arrays).

use super::{is_ncname, lexical, pointer, Validator, MAX_DEPTH, TEXT_KEY};
use serde_json::{Map, Value};

impl Validator<'_> {
    /// The value of an untyped element.
    pub(super) fn any_value(&mut self, v: &Value, ptr: &str, depth: usize) {
        match v {
            Value::Object(obj) => self.any_fields(obj, ptr, depth),
            Value::Array(_) => self.report(ptr, "must not be an array (the element occurs at most once)"),
            _ => {}
        }
    }

    /// The fields of an untyped element: attributes, text and child elements.
    pub(super) fn any_fields(&mut self, obj: &Map<String, Value>, ptr: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.report(ptr, format!("nested deeper than {MAX_DEPTH} levels"));
            return;
        }
        for (key, v) in obj {
            if self.full() {
                return;
            }
            let at = pointer(ptr, key);
            if let Some(name) = key.strip_prefix('@') {
                if !is_ncname(name) {
                    self.report(&at, "is not a valid XML attribute name (untyped content)");
                } else if lexical(v).is_none() {
                    self.report(&at, "must be a string, number or boolean");
                }
            } else if key == TEXT_KEY {
                if lexical(v).is_none() {
                    self.report(&at, "must be a string, number or boolean");
                }
            } else {
                self.any_member(key, v, &at, depth + 1);
            }
        }
    }

    /// An undeclared child element: one occurrence, or an array of them.
    pub(super) fn any_member(&mut self, key: &str, v: &Value, at: &str, depth: usize) {
        if !is_ncname(key) {
            self.report(at, "is not a valid XML element name (untyped content)");
            return;
        }
        match v {
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    self.any_value(x, &pointer(at, &i.to_string()), depth + 1);
                }
            }
            other => self.any_value(other, at, depth),
        }
    }
}

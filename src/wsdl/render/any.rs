//! Content the schema does not describe (`xs:anyType`, children admitted by `xs:any`), rendered by
//! the schema-less convention: unqualified elements named by keys, `"@name"` attributes, `"#text"`
//! text, arrays as repeated elements, `null` as `xsi:nil`.

use super::content::is_element_key;
use super::names::{check_name, escape_text};
use super::{fail, RenderError, Rendered, Writer};
use crate::wsdl::validate::{lexical, MAX_DEPTH, TEXT_KEY};
use serde_json::Value;

impl Writer<'_> {
    /// An undeclared element (repeated for an array).
    pub(super) fn any_element(&mut self, key: &str, v: &Value, depth: usize) -> Rendered {
        if depth > MAX_DEPTH {
            return fail(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        check_name(key)?;
        match v {
            Value::Array(items) if items.iter().any(Value::is_array) => {
                fail(format!("`{key}`: arrays of arrays cannot be written as XML"))
            }
            Value::Array(items) => items.iter().try_for_each(|x| self.any_element(key, x, depth)),
            Value::Null => {
                self.out.push('<');
                self.out.push_str(key);
                self.xsi_attr("nil", "true")?;
                self.out.push_str("/>");
                Ok(())
            }
            _ => {
                self.out.push('<');
                self.out.push_str(key);
                let gt = self.any_content(v, depth)?;
                self.close(gt, key);
                Ok(())
            }
        }
    }

    /// Attributes and content of an untyped element; returns where the start tag's `>` is.
    pub(super) fn any_content(&mut self, v: &Value, depth: usize) -> Result<usize, RenderError> {
        let obj = match v {
            Value::Object(obj) => obj,
            Value::Array(_) => return fail("an array cannot be the content of one element"),
            scalar => {
                let text = lexical(scalar).unwrap_or_default();
                let gt = self.open();
                self.out.push_str(&escape_text(&text)?);
                return Ok(gt);
            }
        };
        for (key, v) in obj.iter().filter(|(k, _)| k.starts_with('@')) {
            let local = key.get(1..).unwrap_or_default();
            check_name(local)?;
            let Some(text) = lexical(v) else {
                return fail(format!("attribute `{local}` must be a single value"));
            };
            self.attr(local, &text)?;
        }
        let gt = self.open();
        if let Some(text) = obj.get(TEXT_KEY) {
            let Some(text) = lexical(text) else {
                return fail(format!("\"{TEXT_KEY}\" must be a single value"));
            };
            self.out.push_str(&escape_text(&text)?);
        }
        for (key, v) in obj.iter().filter(|(k, _)| is_element_key(k)) {
            self.any_element(key, v, depth + 1)?;
        }
        Ok(gt)
    }
}

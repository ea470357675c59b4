//! Complex-type content: attributes, text, children in schema order, SOAP-ENC array items and the
//! undeclared children an open (`xs:any`) type admits.

use super::names::{check_name, escape_text};
use super::{fail, RenderError, Rendered, Writer};
use crate::decimal::Unfit;
use crate::wsdl::model::{Builtin, ComplexType, Content, ElementDecl, QName, TypeRef};
use crate::wsdl::validate::{child_decl, element_keys, lexical, number_form, TEXT_KEY, XSI_TYPE_KEY};
use serde_json::{Map, Value};

impl Writer<'_> {
    /// `"@name"` keys: declared attributes in schema order (qualified ones prefixed), then any
    /// other attribute when `anyAttribute` allows it.
    pub(super) fn attributes(&mut self, ct: &ComplexType, obj: &Map<String, Value>) -> Rendered {
        for decl in &ct.attributes {
            let key = format!("@{}", decl.name.local);
            if let Some(v) = obj.get(&key) {
                let name = self.tag(&decl.name)?;
                let text = self.scalar_text(decl.ty, v, &key)?;
                self.attr(&name, &text)?;
            }
        }
        for (key, v) in obj {
            let Some(local) = key.strip_prefix('@').filter(|_| key != XSI_TYPE_KEY) else {
                continue;
            };
            if ct.attributes.iter().any(|a| a.name.local == local) {
                continue;
            }
            if !ct.any_attribute {
                return fail(format!("unknown attribute `{local}`"));
            }
            check_name(local)?;
            let Some(text) = lexical(v) else {
                return fail(format!("attribute `{local}` must be a single value"));
            };
            self.attr(local, &text)?;
        }
        Ok(())
    }

    /// `"#text"`: simpleContent text or mixed character data (written before the children).
    pub(super) fn text(&mut self, ct: &ComplexType, obj: &Map<String, Value>, element: &str) -> Rendered {
        let Some(v) = obj.get(TEXT_KEY) else { return Ok(()) };
        let text = match &ct.content {
            Content::Simple(t) => self.scalar_text(*t, v, element)?,
            _ if ct.mixed => match v {
                Value::String(s) => s.clone(),
                _ => return fail(format!("`{element}`: \"{TEXT_KEY}\" must be a string")),
            },
            _ => return fail(format!("`{element}` has no text content")),
        };
        self.out.push_str(&escape_text(&text)?);
        Ok(())
    }

    /// Child elements in schema order, then undeclared ones when the type is open.
    pub(super) fn children(&mut self, ct: &ComplexType, obj: &Map<String, Value>, depth: usize) -> Rendered {
        if let Some(item) = ct.soapenc_array_of {
            return self.soapenc_items(item, obj, depth);
        }
        let schema = self.schema;
        for (i, child) in ct.children.iter().enumerate() {
            let Some(head) = schema.elements.get(child.element) else {
                continue;
            };
            for key in element_keys(schema, head) {
                // A key belongs to the first child that declares it.
                if ct.child_index.get(key) != Some(&i) {
                    continue;
                }
                let (Some(v), Some((decl, _))) = (obj.get(key), child_decl(schema, ct, key)) else {
                    continue;
                };
                self.occurrences(decl, child.many, v, depth)?;
            }
        }
        for (key, v) in obj
            .iter()
            .filter(|(k, _)| is_element_key(k) && !ct.child_index.contains_key(*k))
        {
            if !ct.open {
                return fail(format!("unknown field `{key}`"));
            }
            self.any_element(key, v, depth + 1)?;
        }
        Ok(())
    }

    /// A repeating element from an array, or a single one.
    fn occurrences(&mut self, decl: &ElementDecl, many: bool, v: &Value, depth: usize) -> Rendered {
        match (many, v) {
            (true, Value::Array(items)) => items
                .iter()
                .try_for_each(|x| self.element(&decl.name, decl.ty, decl.nillable, x, depth + 1, None)),
            (true, _) => fail(format!("`{}` must be an array", decl.name.local)),
            (false, Value::Array(_)) => fail(format!("`{}` must not be an array", decl.name.local)),
            (false, v) => self.element(&decl.name, decl.ty, decl.nillable, v, depth + 1, None),
        }
    }

    /// SOAP-ENC array items: unqualified elements named by their keys.
    fn soapenc_items(&mut self, item: TypeRef, obj: &Map<String, Value>, depth: usize) -> Rendered {
        for (key, v) in obj.iter().filter(|(k, _)| is_element_key(k)) {
            let Value::Array(items) = v else {
                return fail(format!("`{key}` must be an array (SOAP-encoded array items)"));
            };
            let name = QName::new("", key.clone());
            items
                .iter()
                .try_for_each(|x| self.element(&name, item, true, x, depth + 1, None))?;
        }
        Ok(())
    }

    /// The text of a simple value: booleans as true/false, numbers with the client's digits in the
    /// type's lexical form (see [`number_text`]), strings verbatim.
    pub(super) fn scalar_text(&self, ty: TypeRef, v: &Value, what: &str) -> Result<String, RenderError> {
        match v {
            Value::Number(n) => number_text(self.schema.builtin_of(ty), n, what),
            Value::Null => fail(format!("`{what}` must not be null here")),
            scalar => match lexical(scalar) {
                Some(text) => Ok(text),
                None => fail(format!("`{what}` must be a single value, not an object or array")),
            },
        }
    }
}

/// A JSON number as the XSD type's lexical form, from its written digits (see
/// [`crate::wsdl::validate::number_form`]).
fn number_text(ty: Option<Builtin>, n: &serde_json::Number, what: &str) -> Result<String, RenderError> {
    let text = n.to_string();
    match number_form(ty, &text) {
        Ok(None) => Ok(text),
        Ok(Some(t)) => Ok(t),
        Err(Unfit::Fraction) => fail(format!("`{what}` must be an integer")),
        Err(Unfit::TooLong) => fail(format!("`{what}` has too many digits")),
    }
}

/// Keys that name child elements (not attributes, not text).
pub(super) fn is_element_key(k: &str) -> bool {
    !k.starts_with('@') && k != TEXT_KEY
}

//! SOAP Body generation: renders the XML inside `soap:Body` for an operation's input message from a
//! JSON object (the conventions of [`crate::wsdl::validate`]), without a hand-written template.
//!
//! Children come in schema order (not JSON order); every namespace used gets a prefix (`ns1`, `ns2`…)
//! declared on the root element, and no default namespace is ever declared, so unqualified elements
//! are simply unprefixed. Absent keys are omitted, never rendered empty; `null` is `xsi:nil="true"`;
//! every text and attribute value is escaped, and characters XML 1.0 cannot carry are an error.
//! Input is validated first by the gateway, but invalid input still yields an error here, never a
//! panic and never malformed XML.

mod any;
mod content;
#[cfg(test)]
pub(crate) mod fixtures;
mod names;
#[cfg(test)]
mod tests;

use super::model::{
    Builtin, ComplexType, Content, ElementDecl, Message, Part, PartKind, QName, Schema, TypeRef, Use,
};
use super::validate::{
    accessor, complex_by_id, derived_type, layout, Layout, MAX_DEPTH, TEXT_KEY, XSI_TYPE_KEY,
};
use crate::soap::NS_XSI;
use names::{check_name, escape_attr, escape_text, Namespaces};
use serde_json::{Map, Value};

/// Why a body could not be rendered (the input does not fit the schema).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RenderError(pub String);

type Rendered = Result<(), RenderError>;

fn fail<T>(msg: impl Into<String>) -> Result<T, RenderError> {
    Err(RenderError(msg.into()))
}

/// Renders the content of `soap:Body` for the input message `msg` from `input` (the content of the
/// body wrapper: the part element's fields in document style, one key per part in rpc style).
pub fn render_body(schema: &Schema, msg: &Message, input: &Value) -> Result<String, RenderError> {
    let Some(obj) = input.as_object() else {
        return fail("the input must be a JSON object");
    };
    let mut w = Writer {
        schema,
        encoded: msg.body_use == Use::Encoded,
        out: String::with_capacity(256),
        ns: Namespaces::default(),
    };
    match layout(schema, msg) {
        Some(Layout::Element(decl)) => w.document(decl, input)?,
        Some(Layout::Parts(parts)) => match &msg.rpc_wrapper {
            Some(wrapper) => w.rpc(wrapper, parts, obj)?,
            None => w.bare_parts(parts, obj)?,
        },
        None => return fail("the operation's input element is missing from the WSDL"),
    }
    Ok(w.out)
}

/// Writes one body.
struct Writer<'a> {
    schema: &'a Schema,
    encoded: bool,
    out: String,
    ns: Namespaces,
}

impl<'a> Writer<'a> {
    /// A root element: its namespace gets `ns1`, and every prefix used inside is declared on it.
    fn rooted(&mut self, name: &QName, write: impl FnOnce(&mut Self) -> Rendered) -> Rendered {
        self.ns = Namespaces::default();
        let start = self.out.len();
        let tag = self.tag(name)?;
        write(self)?;
        let at = start + 1 + tag.len();
        let decls = self.ns.declarations()?;
        if !self.out.is_char_boundary(at) || at > self.out.len() {
            return fail("internal: the root element was not written");
        }
        self.out.insert_str(at, &decls);
        Ok(())
    }

    /// Document style: the part element, whose content is the input object.
    fn document(&mut self, decl: &ElementDecl, input: &Value) -> Rendered {
        let simple = self.schema.complex(decl.ty).is_none() && decl.ty != TypeRef::Builtin(Builtin::AnyType);
        let value = match input.get(TEXT_KEY) {
            Some(text) if simple => text,
            None if simple => return fail(format!("`{TEXT_KEY}` is required")),
            _ => input,
        };
        self.rooted(&decl.name, |w| {
            w.element(&decl.name, decl.ty, decl.nillable, value, 0, None)
        })
    }

    /// RPC style: the wrapper, then one accessor per part in part order.
    fn rpc(&mut self, wrapper: &QName, parts: &[Part], obj: &Map<String, Value>) -> Rendered {
        reject_unknown_parts(parts, obj)?;
        self.rooted(wrapper, |w| {
            let tag = w.tag(wrapper)?;
            w.out.push('<');
            w.out.push_str(&tag);
            w.out.push('>');
            for part in parts {
                if let Some(v) = obj.get(&part.name) {
                    w.part(part, v)?;
                }
            }
            w.out.push_str(&format!("</{tag}>"));
            Ok(())
        })
    }

    /// A body of parts without a wrapper: each part element is a root of its own.
    fn bare_parts(&mut self, parts: &[Part], obj: &Map<String, Value>) -> Rendered {
        reject_unknown_parts(parts, obj)?;
        for part in parts {
            let (Some(v), Some(decl)) = (obj.get(&part.name), accessor(self.schema, part, self.encoded))
            else {
                continue;
            };
            self.rooted(&decl.name, |w| w.part(part, v))?;
        }
        Ok(())
    }

    fn part(&mut self, part: &Part, v: &Value) -> Rendered {
        let Some(decl) = accessor(self.schema, part, self.encoded) else {
            return fail(format!("part `{}` refers to an unknown element", part.name));
        };
        let xsi_type = match part.kind {
            PartKind::Type(ty) if self.encoded => self.encoded_type(ty, v)?,
            _ => None,
        };
        self.element(&decl.name, decl.ty, decl.nillable, v, 1, xsi_type)
    }

    /// `xsi:type` of a simple-typed part in an encoded body (`xsd:int`…).
    fn encoded_type(&mut self, ty: TypeRef, v: &Value) -> Result<Option<String>, RenderError> {
        if self.schema.complex(ty).is_some() {
            return Ok(None);
        }
        let name = self.schema.builtin_of(ty).and_then(|b| names::xsd_name(b, v));
        Ok(name.map(|n| format!("{}:{n}", self.ns.prefix(super::ns::XSD))))
    }

    /// The qualified name of an element or attribute (unprefixed when unqualified).
    fn tag(&mut self, name: &QName) -> Result<String, RenderError> {
        check_name(&name.local)?;
        if name.ns.is_empty() {
            return Ok(name.local.clone());
        }
        Ok(format!("{}:{}", self.ns.prefix(&name.ns), name.local))
    }

    fn attr(&mut self, name: &str, value: &str) -> Rendered {
        let value = escape_attr(value)?;
        self.out.push_str(&format!(" {name}=\"{value}\""));
        Ok(())
    }

    fn xsi_attr(&mut self, local: &str, value: &str) -> Rendered {
        let p = self.ns.prefix(NS_XSI);
        self.attr(&format!("{p}:{local}"), value)
    }

    /// Closes the start tag; returns where its `>` is.
    fn open(&mut self) -> usize {
        self.out.push('>');
        self.out.len() - 1
    }

    /// One element: the start tag, attributes, content, end tag (`<x/>` when empty).
    fn element(
        &mut self,
        name: &QName,
        ty: TypeRef,
        nillable: bool,
        v: &Value,
        depth: usize,
        xsi_type: Option<String>,
    ) -> Rendered {
        if depth > MAX_DEPTH {
            return fail(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        let tag = self.tag(name)?;
        self.out.push('<');
        self.out.push_str(&tag);
        if v.is_null() {
            if !nillable {
                return fail(format!(
                    "`{}` is null but the element is not nillable",
                    name.local
                ));
            }
            self.xsi_attr("nil", "true")?;
            self.out.push_str("/>");
            return Ok(());
        }
        if let Some(t) = xsi_type {
            self.xsi_attr("type", &t)?;
        }
        let gt = self.content(name, ty, v, depth)?;
        self.close(gt, &tag);
        Ok(())
    }

    fn close(&mut self, gt: usize, tag: &str) {
        if self.out.len() == gt + 1 {
            self.out.truncate(gt);
            self.out.push_str("/>");
        } else {
            self.out.push_str(&format!("</{tag}>"));
        }
    }

    /// Attributes and content of an element of type `ty`; returns where the start tag's `>` is.
    fn content(&mut self, name: &QName, ty: TypeRef, v: &Value, depth: usize) -> Result<usize, RenderError> {
        if ty == TypeRef::Builtin(Builtin::AnyType) {
            return self.any_content(v, depth);
        }
        if self.schema.complex(ty).is_some() {
            return self.complex(name, ty, v, depth);
        }
        let text = self.scalar_text(ty, v, &name.local)?;
        let gt = self.open();
        self.out.push_str(&escape_text(&text)?);
        Ok(gt)
    }

    fn complex(&mut self, name: &QName, ty: TypeRef, v: &Value, depth: usize) -> Result<usize, RenderError> {
        let schema = self.schema;
        let Some(ct) = schema.complex(ty) else {
            return fail("internal: not a complex type");
        };
        let obj = match (v, &ct.content) {
            (Value::Object(obj), _) => obj,
            (Value::Array(_), _) => return fail(format!("`{}` must not be an array", name.local)),
            (scalar, Content::Simple(text)) => {
                let text = self.scalar_text(*text, scalar, &name.local)?;
                let gt = self.open();
                self.out.push_str(&escape_text(&text)?);
                return Ok(gt);
            }
            _ => return fail(format!("`{}` must be an object", name.local)),
        };
        let ct = self.effective(name, ty, ct, obj)?;
        self.attributes(ct, obj)?;
        let gt = self.open();
        self.text(ct, obj, &name.local)?;
        self.children(ct, obj, depth)?;
        Ok(gt)
    }

    /// The type `"@xsi:type"` selects (written as `xsi:type`), or the declared one.
    fn effective(
        &mut self,
        name: &QName,
        ty: TypeRef,
        declared: &'a ComplexType,
        obj: &Map<String, Value>,
    ) -> Result<&'a ComplexType, RenderError> {
        let Some(given) = obj.get(XSI_TYPE_KEY) else {
            return Ok(declared);
        };
        let schema = self.schema;
        let found = given.as_str().and_then(|local| derived_type(schema, ty, local));
        let Some(ct) = found.and_then(|id| complex_by_id(schema, id)) else {
            return fail(format!(
                "`{}`: \"{XSI_TYPE_KEY}\" names no type derived from the declared one",
                name.local
            ));
        };
        let type_name = ct.name.clone().unwrap_or_default();
        let value = match type_name.ns.as_str() {
            "" => type_name.local.clone(),
            ns => format!("{}:{}", self.ns.prefix(ns), type_name.local),
        };
        check_name(&type_name.local)?;
        self.xsi_attr("type", &value)?;
        Ok(ct)
    }
}

/// Every key of an rpc input must name a part.
fn reject_unknown_parts(parts: &[Part], obj: &Map<String, Value>) -> Rendered {
    match obj.keys().find(|k| !parts.iter().any(|p| &p.name == *k)) {
        Some(k) => fail(format!("unknown field `{k}`")),
        None => Ok(()),
    }
}

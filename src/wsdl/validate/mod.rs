//! Request validation: checks a JSON request against an operation's input schema before anything is sent.
//!
//! The input object is the content of the body wrapper. Document style: the fields of the part
//! element's type (a simple-typed part element takes its value as `"#text"`); rpc style (and bare
//! multi-part bodies): one key per part. The JSON conventions mirror XML -> JSON conversion
//! ([`crate::wsdl::typed`]): children by local name, attributes as `"@name"`, simpleContent (and
//! mixed) text as `"#text"`, repeated elements as arrays, `null` for `xsi:nil`, and
//! `"@xsi:type": "<local name>"` selecting a type derived from the declared one.

mod any;
mod content;
mod lexforms;
mod pattern;
mod scalar;
#[cfg(test)]
mod tests;

pub use scalar::coerce_scalar;
pub(crate) use scalar::{lexical, number_form};

use super::model::{
    Builtin, Child, ComplexType, ElementDecl, Message, Part, PartKind, Schema, TypeDef, TypeId, TypeRef, Use,
};
use serde_json::{Map, Value};

/// Validation stops after this many violations.
pub const MAX_VIOLATIONS: usize = 50;
/// Deepest nesting of elements checked (the JSON depth is limited upstream already).
pub const MAX_DEPTH: usize = 64;
/// The key that selects a derived type (`xsi:type`).
pub const XSI_TYPE_KEY: &str = "@xsi:type";
/// The key of simpleContent or mixed text.
pub const TEXT_KEY: &str = "#text";

/// One schema violation, located by an RFC 6901 JSON pointer into the request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

/// Checks `input` (the content of the body wrapper) against the input message `msg`.
/// Returns every violation found, at most [`MAX_VIOLATIONS`].
pub fn validate(schema: &Schema, msg: &Message, input: &Value) -> Result<(), Vec<Violation>> {
    validator(schema, msg, input).map(|_| ())
}

/// Validates `input` and then writes each number in its type's lexical form (`1e2` in an
/// `xs:int` becomes `100`, `1e-7` in an `xs:decimal` becomes `0.0000001`), so a template reading
/// the validated input renders what the schema renderer would.
pub fn validate_canonical(schema: &Schema, msg: &Message, input: &mut Value) -> Result<(), Vec<Violation>> {
    for (ptr, text) in validator(schema, msg, input)? {
        let number = text.parse::<serde_json::Number>().ok();
        if let (Some(slot), Some(n)) = (input.pointer_mut(&ptr), number) {
            *slot = Value::Number(n);
        }
    }
    Ok(())
}

fn validator(schema: &Schema, msg: &Message, input: &Value) -> Result<Vec<(String, String)>, Vec<Violation>> {
    let mut v = Validator {
        schema,
        out: Vec::new(),
        forms: Vec::new(),
    };
    v.message(msg, input);
    if v.out.is_empty() {
        Ok(v.forms)
    } else {
        Err(v.out)
    }
}

/// Appends one reference token to an RFC 6901 pointer (`~` -> `~0`, `/` -> `~1`).
pub fn pointer(base: &str, token: &str) -> String {
    let mut p = String::with_capacity(base.len() + token.len() + 1);
    p.push_str(base);
    p.push('/');
    for c in token.chars() {
        match c {
            '~' => p.push_str("~0"),
            '/' => p.push_str("~1"),
            c => p.push(c),
        }
    }
    p
}

/// Whether a name is an XML NCName (no prefix), so it can name an element or attribute as is.
pub fn is_ncname(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(|c| is_name_start(c) || is_name_char(c))
}

/// XML 1.0 (fifth edition) `NameStartChar`, without `:`.
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

/// The other characters of XML 1.0 `NameChar`.
fn is_name_char(c: char) -> bool {
    matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// How the body of a message is laid out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Layout<'a> {
    /// Document style: one element; the input holds its content.
    Element(&'a ElementDecl),
    /// RPC style (or a bare multi-part body): one accessor per part, keyed by part name.
    Parts(&'a [Part]),
}

/// The layout of a message (a document message whose element is missing has no content).
pub(crate) fn layout<'a>(schema: &'a Schema, msg: &'a Message) -> Option<Layout<'a>> {
    match msg.element {
        Some(id) => schema.elements.get(id).map(Layout::Element),
        None => Some(Layout::Parts(&msg.parts)),
    }
}

/// The accessor element of a part: its global element, or an unqualified nillable element named
/// after it.
pub(crate) fn part_decl(schema: &Schema, part: &Part) -> Option<ElementDecl> {
    accessor(schema, part, true)
}

/// The accessor element of a part in a body of this `use`: encoded accessors may be omitted or nil
/// (SOAP 1.1 §5.1); literal ones must be present and not nil (WS-I BP R2211).
pub(crate) fn accessor(schema: &Schema, part: &Part, encoded: bool) -> Option<ElementDecl> {
    match &part.kind {
        PartKind::Element(id) => schema.elements.get(*id).cloned(),
        PartKind::Type(ty) => Some(ElementDecl {
            name: super::model::QName::new("", part.name.clone()),
            ty: *ty,
            min: 1,
            max: super::model::MaxOccurs::Bounded(1),
            nillable: encoded,
            is_abstract: false,
            default: None,
            fixed: None,
            substitutes: Vec::new(),
        }),
    }
}

/// The complex type with this id.
pub(crate) fn complex_by_id(schema: &Schema, id: TypeId) -> Option<&ComplexType> {
    match schema.types.get(id) {
        Some(TypeDef::Complex(c)) => Some(c),
        _ => None,
    }
}

/// The type named by `"@xsi:type"`: the declared type itself or one derived from it, by local name.
pub(crate) fn derived_type(schema: &Schema, declared: TypeRef, local: &str) -> Option<TypeId> {
    let TypeRef::Type(id) = declared else { return None };
    let ct = complex_by_id(schema, id)?;
    let named = |t: &TypeId| {
        complex_by_id(schema, *t)
            .and_then(|c| c.name.as_ref())
            .is_some_and(|n| n.local == local)
    };
    if named(&id) {
        return Some(id);
    }
    ct.derived.iter().copied().find(|t| named(t))
}

/// The declaration behind a JSON key inside a complex type: the child with that local name, or the
/// substitution group member standing in for one, with the child it occupies.
pub(crate) fn child_decl<'a, 'c>(
    schema: &'a Schema,
    ct: &'c ComplexType,
    key: &str,
) -> Option<(&'a ElementDecl, &'c Child)> {
    let child = ct.children.get(*ct.child_index.get(key)?)?;
    let head = schema.elements.get(child.element)?;
    if head.name.local == key {
        return Some((head, child));
    }
    let member = head
        .substitutes
        .iter()
        .filter_map(|s| schema.elements.get(*s))
        .find(|d| d.name.local == key)?;
    Some((member, child))
}

/// The JSON keys under which an element (or a member of its substitution group) may appear.
pub(crate) fn element_keys<'a>(schema: &'a Schema, decl: &'a ElementDecl) -> impl Iterator<Item = &'a str> {
    let members = decl.substitutes.iter().filter_map(|s| schema.elements.get(*s));
    std::iter::once(decl.name.local.as_str()).chain(members.map(|d| d.name.local.as_str()))
}

/// Walks a request and collects violations.
struct Validator<'a> {
    schema: &'a Schema,
    out: Vec<Violation>,
    /// Numbers not in their type's lexical form: pointer and the form.
    forms: Vec<(String, String)>,
}

impl<'a> Validator<'a> {
    fn report(&mut self, pointer: &str, message: impl Into<String>) {
        if self.out.len() < MAX_VIOLATIONS {
            self.out.push(Violation {
                pointer: pointer.to_string(),
                message: message.into(),
            });
        }
    }

    fn full(&self) -> bool {
        self.out.len() >= MAX_VIOLATIONS
    }

    fn message(&mut self, msg: &Message, input: &Value) {
        let Some(obj) = input.as_object() else {
            self.report("", "must be a JSON object");
            return;
        };
        match layout(self.schema, msg) {
            Some(Layout::Element(decl)) => self.content(decl.ty, obj, "", 0),
            Some(Layout::Parts(parts)) => self.parts(parts, msg.body_use == Use::Encoded, obj),
            None => self.report("", "the operation's input element is missing from the WSDL"),
        }
    }

    fn parts(&mut self, parts: &[Part], encoded: bool, obj: &Map<String, Value>) {
        for part in parts {
            let ptr = pointer("", &part.name);
            match (obj.get(&part.name), accessor(self.schema, part, encoded)) {
                (None, _) if encoded => {}
                (None, _) => self.report(&ptr, "required"),
                (Some(v), Some(decl)) => self.element_value(&decl, v, &ptr, 1),
                (Some(_), None) => {}
            }
        }
        for key in obj.keys() {
            if !parts.iter().any(|p| &p.name == key) {
                self.report(&pointer("", key), "unknown field");
            }
        }
    }

    /// One occurrence of an element: `null` (xsi:nil) or a value of its type.
    fn element_value(&mut self, decl: &ElementDecl, v: &Value, ptr: &str, depth: usize) {
        if v.is_null() {
            if !decl.nillable {
                self.report(ptr, "must not be null (the element is not nillable)");
            }
            return;
        }
        self.typed(decl.ty, v, ptr, depth);
        if let (Some(fixed), Some(text)) = (&decl.fixed, lexical(v)) {
            if self.schema.complex(decl.ty).is_none() && &text != fixed {
                self.report(ptr, format!("must be the fixed value `{fixed}`"));
            }
        }
    }

    /// A value of a type: complex (object) or simple (scalar).
    fn typed(&mut self, ty: TypeRef, v: &Value, ptr: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.report(ptr, format!("nested deeper than {MAX_DEPTH} levels"));
            return;
        }
        match self.schema.complex(ty) {
            Some(_) => self.complex_value(ty, v, ptr, depth),
            None if ty == TypeRef::Builtin(Builtin::AnyType) => self.any_value(v, ptr, depth),
            None => match scalar::check(self.schema, ty, v) {
                Err(message) => self.report(ptr, message),
                Ok(()) => {
                    if let Value::Number(n) = v {
                        let b = self.schema.builtin_of(ty);
                        if let Ok(Some(form)) = scalar::number_form(b, n.as_str()) {
                            self.forms.push((ptr.to_string(), form));
                        }
                    }
                }
            },
        }
    }

    /// The content of a part element (document style): an object of its type's fields.
    fn content(&mut self, ty: TypeRef, obj: &Map<String, Value>, ptr: &str, depth: usize) {
        match self.schema.complex(ty) {
            Some(_) => self.complex_object(ty, obj, ptr, depth),
            None if ty == TypeRef::Builtin(Builtin::AnyType) => self.any_fields(obj, ptr, depth),
            None => self.simple_text(ty, obj, ptr),
        }
    }

    /// A simple-typed part element: the input is `{"#text": value}`.
    fn simple_text(&mut self, ty: TypeRef, obj: &Map<String, Value>, ptr: &str) {
        for key in obj.keys().filter(|k| *k != TEXT_KEY) {
            self.report(
                &pointer(ptr, key),
                "unknown field (the body element has simple content: use \"#text\")",
            );
        }
        match obj.get(TEXT_KEY) {
            Some(v) => self.typed(ty, v, &pointer(ptr, TEXT_KEY), 1),
            None => self.report(&pointer(ptr, TEXT_KEY), "required"),
        }
    }

    fn complex_value(&mut self, ty: TypeRef, v: &Value, ptr: &str, depth: usize) {
        let Some(ct) = self.schema.complex(ty) else { return };
        match (v, &ct.content) {
            (Value::Object(obj), _) => self.complex_object(ty, obj, ptr, depth),
            (Value::Array(_), _) => {
                self.report(ptr, "must not be an array (the element occurs at most once)")
            }
            (scalar, super::model::Content::Simple(text)) => {
                let text = *text;
                self.typed(text, scalar, ptr, depth + 1);
                self.required_attributes(ct, &Map::new(), ptr);
            }
            _ => self.report(ptr, "must be an object"),
        }
    }

    /// An object of a complex type, after `"@xsi:type"` selected the effective type.
    fn complex_object(&mut self, ty: TypeRef, obj: &Map<String, Value>, ptr: &str, depth: usize) {
        let Some(effective) = self.effective_type(ty, obj, ptr) else {
            return;
        };
        if let Some(ct) = self.schema.complex(TypeRef::Type(effective)) {
            self.fields(ct, obj, ptr, depth);
        }
    }

    /// The type an object is validated against: the declared one or the one `"@xsi:type"` names.
    fn effective_type(&mut self, ty: TypeRef, obj: &Map<String, Value>, ptr: &str) -> Option<TypeId> {
        let TypeRef::Type(id) = ty else { return None };
        let ct = complex_by_id(self.schema, id)?;
        let Some(given) = obj.get(XSI_TYPE_KEY) else {
            if ct.is_abstract {
                let msg = format!(
                    "the type is abstract: give \"{XSI_TYPE_KEY}\" with one of: {}",
                    self.concrete(ct)
                );
                self.report(ptr, msg);
                return None;
            }
            return Some(id);
        };
        let at = pointer(ptr, XSI_TYPE_KEY);
        let found = given
            .as_str()
            .and_then(|local| derived_type(self.schema, ty, local));
        match found {
            Some(t) if complex_by_id(self.schema, t).is_some_and(|c| !c.is_abstract) => Some(t),
            _ => {
                let msg = format!(
                    "must name the declared type or one derived from it: {}",
                    self.concrete(ct)
                );
                self.report(&at, msg);
                None
            }
        }
    }

    /// The local names of the non-abstract types an object of `ct` may take.
    fn concrete(&self, ct: &ComplexType) -> String {
        let own = (!ct.is_abstract).then_some(ct.name.as_ref()).flatten();
        let derived = ct
            .derived
            .iter()
            .filter_map(|t| complex_by_id(self.schema, *t))
            .filter(|c| !c.is_abstract)
            .filter_map(|c| c.name.as_ref());
        let names: Vec<&str> = own
            .into_iter()
            .chain(derived)
            .map(|n| n.local.as_str())
            .take(20)
            .collect();
        if names.is_empty() {
            "(none)".into()
        } else {
            names.join(", ")
        }
    }
}

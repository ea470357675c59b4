//! JSON Schema (OpenAPI 3.1 dialect) of the JSON soapgate exchanges for XSD types.
//!
//! The shapes follow the conversion and validation rules ([`crate::wsdl::typed`],
//! [`crate::wsdl::validate`]): elements are properties in schema order, repeating ones arrays,
//! attributes `@name`, simpleContent and mixed text `#text`, `@xsi:type` naming a derived type,
//! nillable elements admit `null`. Named complex types become `components/schemas` entries
//! referenced with `$ref` (so recursive types are fine); anonymous ones are inlined. XSD patterns are
//! copied unchanged, anchored as `^(?:...)$` because an XSD pattern always matches the whole value.

use crate::wsdl::model::{
    Builtin, ComplexType, Content, ElementDecl, MaxOccurs, Schema, SimpleType, TypeDef, TypeId, TypeRef,
};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// Deepest nesting of inline (anonymous) schemas; deeper ones are `{}`.
const MAX_INLINE_DEPTH: usize = 32;
/// Most derived types listed for one polymorphic element.
const MAX_DERIVED: usize = 50;

/// `components/schemas` of one document, shared by every WSDL of a snapshot.
#[derive(Debug, Default)]
pub struct Components {
    /// (WSDL identity, type) -> component name.
    names: HashMap<(usize, TypeId), String>,
    taken: HashSet<String>,
    pub schemas: Map<String, Value>,
}

impl Components {
    /// Reserves a component name (e.g. `Problem`) and stores its schema.
    pub fn insert(&mut self, name: &str, schema: Value) {
        self.taken.insert(name.to_ascii_lowercase());
        self.schemas.insert(name.to_string(), schema);
    }

    fn claim(&mut self, base: &str) -> String {
        let base = crate::wsdl::import::names::safe_chars(base);
        let base = if base.is_empty() { "Type".to_string() } else { base };
        let mut name = base.clone();
        let mut n = 2;
        while !self.taken.insert(name.to_ascii_lowercase()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        name
    }
}

/// Builds schemas for the types of one WSDL.
#[derive(Debug)]
pub struct SchemaGen<'a> {
    schema: &'a Schema,
    /// Identity of the WSDL (its address), so equal type ids of different WSDLs stay apart.
    key: usize,
    comps: &'a mut Components,
    inline: Vec<TypeId>,
}

impl<'a> SchemaGen<'a> {
    pub fn new(schema: &'a Schema, comps: &'a mut Components) -> Self {
        SchemaGen {
            key: schema as *const Schema as usize,
            schema,
            comps,
            inline: Vec::new(),
        }
    }

    /// The schema of one occurrence of an element: its type, polymorphic when types derive from
    /// it, admitting `null` when nillable.
    pub fn element(&mut self, decl: &ElementDecl) -> Value {
        let mut s = self.typed(decl.ty, &decl.name.local);
        if let Some(fixed) = decl
            .fixed
            .as_deref()
            .filter(|_| self.schema.complex(decl.ty).is_none())
        {
            s = with_const(s, fixed);
        }
        if decl.nillable {
            s = nullable(s);
        }
        s
    }

    /// A type, with the types derived from it as alternatives.
    fn typed(&mut self, ty: TypeRef, hint: &str) -> Value {
        let own = self.type_schema(ty, hint);
        let Some(ct) = self.schema.complex(ty) else {
            return own;
        };
        if ct.derived.is_empty() {
            return own;
        }
        let mut options: Vec<Value> = if ct.is_abstract { Vec::new() } else { vec![own] };
        for d in ct.derived.iter().take(MAX_DERIVED) {
            let concrete = matches!(self.schema.types.get(*d), Some(TypeDef::Complex(c)) if !c.is_abstract);
            if concrete {
                options.push(self.type_schema(TypeRef::Type(*d), hint));
            }
        }
        match options.len() {
            1 => options.pop().unwrap_or_default(),
            _ => json!({ "anyOf": options }),
        }
    }

    /// The value schema of a type: inline for simple and anonymous types, `$ref` for named complex ones.
    pub fn type_schema(&mut self, ty: TypeRef, hint: &str) -> Value {
        let id = match ty {
            TypeRef::Builtin(b) => return builtin(b),
            TypeRef::Type(id) => id,
        };
        match self.schema.types.get(id) {
            None => json!({}),
            Some(TypeDef::Simple(st)) => simple(st),
            Some(TypeDef::Complex(ct)) => match &ct.name {
                Some(name) => self.component(id, ct, &name.local),
                None if self.inline.contains(&id) => self.component(id, ct, &format!("{hint}Type")),
                None if self.inline.len() >= MAX_INLINE_DEPTH => json!({}),
                None => {
                    self.inline.push(id);
                    let s = self.complex(ct);
                    self.inline.pop();
                    s
                }
            },
        }
    }

    /// `$ref` to the component of a complex type, building it on first use.
    fn component(&mut self, id: TypeId, ct: &ComplexType, name: &str) -> Value {
        let key = (self.key, id);
        let name = match self.comps.names.get(&key) {
            Some(n) => n.clone(),
            None => {
                let n = self.comps.claim(name);
                self.comps.names.insert(key, n.clone());
                self.comps.schemas.insert(n.clone(), json!({}));
                let saved = std::mem::take(&mut self.inline);
                let s = self.complex(ct);
                self.inline = saved;
                self.comps.schemas.insert(n.clone(), s);
                n
            }
        };
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// The schema of a complex type's values.
    pub fn complex(&mut self, ct: &ComplexType) -> Value {
        if let Some(item) = ct.soapenc_array_of {
            return json!({ "type": "array", "items": self.type_schema(item, "item") });
        }
        match &ct.content {
            Content::Simple(text) => self.simple_content(ct, *text),
            Content::Empty | Content::Elements(_) => self.object(ct),
        }
    }

    /// simpleContent: the bare value, or an object with `#text` and attributes.
    fn simple_content(&mut self, ct: &ComplexType, text: TypeRef) -> Value {
        let value = match self.schema.complex(text) {
            Some(_) => self.schema.builtin_of(text).map_or_else(|| json!({}), builtin),
            None => self.type_schema(text, "text"),
        };
        if ct.attributes.is_empty() {
            return value;
        }
        let mut obj = self.object(ct);
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("#text".into(), value.clone());
        }
        match ct.attributes.iter().any(|a| a.required) {
            true => obj,
            false => json!({ "anyOf": [value, obj] }),
        }
    }

    /// An object: `@xsi:type`, attributes, `#text` of mixed content, then the child elements.
    fn object(&mut self, ct: &ComplexType) -> Value {
        let mut props = Map::new();
        let mut required: Vec<Value> = Vec::new();
        if let Some(name) = ct
            .name
            .as_ref()
            .filter(|_| !ct.derived.is_empty() || ct.base.is_some())
        {
            props.insert(
                "@xsi:type".into(),
                json!({ "type": "string", "const": name.local }),
            );
        }
        for a in &ct.attributes {
            let key = format!("@{}", a.name.local);
            let mut s = self.type_schema(a.ty, &a.name.local);
            if let Some(fixed) = &a.fixed {
                s = with_const(s, fixed);
            }
            if a.required {
                required.push(json!(key));
            }
            props.insert(key, s);
        }
        if ct.mixed {
            props.insert("#text".into(), json!({ "type": "string" }));
        }
        self.children(ct, &mut props, &mut required);
        let mut obj = json!({ "type": "object", "properties": props });
        if !required.is_empty() {
            obj["required"] = Value::Array(required);
        }
        if !ct.open && !ct.any_attribute {
            obj["additionalProperties"] = json!(false);
        }
        obj
    }

    fn children(&mut self, ct: &ComplexType, props: &mut Map<String, Value>, required: &mut Vec<Value>) {
        for c in &ct.children {
            let Some(decl) = self.schema.elements.get(c.element) else {
                continue;
            };
            let members: Vec<&ElementDecl> = decl
                .substitutes
                .iter()
                .filter_map(|s| self.schema.elements.get(*s))
                .collect();
            let heads = (!decl.is_abstract)
                .then_some(decl)
                .into_iter()
                .chain(members.iter().copied());
            for d in heads {
                let one = self.element(d);
                let s = if c.many { array(one, d, c.optional) } else { one };
                props.insert(d.name.local.clone(), s);
            }
            if !c.optional && decl.substitutes.is_empty() {
                required.push(json!(decl.name.local));
            }
        }
    }
}

/// An array of an element's occurrences, with its occurrence bounds.
fn array(items: Value, d: &ElementDecl, optional: bool) -> Value {
    let mut s = json!({ "type": "array", "items": items });
    if d.min > 0 && !optional {
        s["minItems"] = json!(d.min);
    }
    if let MaxOccurs::Bounded(n) = d.max {
        if n > 1 {
            s["maxItems"] = json!(n);
        }
    }
    s
}

/// A built-in type.
pub fn builtin(b: Builtin) -> Value {
    match b {
        Builtin::String | Builtin::Token | Builtin::QName | Builtin::Gregorian | Builtin::Time => {
            json!({ "type": "string" })
        }
        Builtin::Boolean => json!({ "type": "boolean" }),
        Builtin::Integer { min, max } => integer(min, max),
        Builtin::Decimal => json!({ "type": ["string", "number"], "format": "decimal" }),
        Builtin::Float => json!({ "type": "number", "format": "float" }),
        Builtin::Double => json!({ "type": "number", "format": "double" }),
        Builtin::Date => json!({ "type": "string", "format": "date" }),
        Builtin::DateTime => json!({ "type": "string", "format": "date-time" }),
        Builtin::Duration => json!({ "type": "string", "format": "duration" }),
        Builtin::Base64Binary => json!({ "type": "string", "format": "byte", "contentEncoding": "base64" }),
        Builtin::HexBinary => json!({ "type": "string", "pattern": "^([0-9a-fA-F]{2})*$" }),
        Builtin::AnyUri => json!({ "type": "string", "format": "uri-reference" }),
        Builtin::AnySimpleType => json!({ "type": ["string", "number", "boolean"] }),
        Builtin::AnyType => json!({}),
    }
}

/// An integer: `int32`/`int64` by its bounds, with `minimum`/`maximum` narrower than the format's.
fn integer(min: Option<i128>, max: Option<i128>) -> Value {
    let within = |lo: i128, hi: i128| min.is_some_and(|m| m >= lo) && max.is_some_and(|m| m <= hi);
    let mut s = json!({ "type": "integer" });
    let (lo, hi) = if within(i32::MIN.into(), i32::MAX.into()) {
        s["format"] = json!("int32");
        (i128::from(i32::MIN), i128::from(i32::MAX))
    } else if within(i64::MIN.into(), i64::MAX.into()) {
        s["format"] = json!("int64");
        (i128::from(i64::MIN), i128::from(i64::MAX))
    } else {
        (i128::MIN, i128::MAX)
    };
    if let Some(m) = min.filter(|m| *m != lo) {
        s["minimum"] = number(m);
    }
    if let Some(m) = max.filter(|m| *m != hi) {
        s["maximum"] = number(m);
    }
    s
}

fn number(i: i128) -> Value {
    i64::try_from(i)
        .map(Value::from)
        .or_else(|_| u64::try_from(i).map(Value::from))
        .unwrap_or_else(|_| json!(i as f64))
}

/// A restricted simple type: the built-in's schema plus facets.
pub fn simple(st: &SimpleType) -> Value {
    if let Some(item) = st.list_of {
        let mut s =
            json!({ "type": "string", "description": format!("space-separated list of {item:?} values") });
        add_facets(&mut s, st, false);
        return s;
    }
    let base = st.base.unwrap_or(Builtin::AnySimpleType);
    let mut s = builtin(base);
    if !st.enumeration.is_empty() {
        s["enum"] = Value::Array(st.enumeration.iter().map(|e| enum_value(base, e)).collect());
    }
    let textual = matches!(
        base,
        Builtin::String | Builtin::Token | Builtin::AnyUri | Builtin::QName | Builtin::AnySimpleType
    );
    add_facets(&mut s, st, textual);
    s
}

fn add_facets(s: &mut Value, st: &SimpleType, lengths: bool) {
    if lengths {
        if let Some(n) = st.min_length {
            s["minLength"] = json!(n);
        }
        if let Some(n) = st.max_length {
            s["maxLength"] = json!(n);
        }
    }
    if let Some(p) = &st.pattern {
        s["pattern"] = json!(format!("^(?:{p})$"));
    }
}

/// An enumeration value as JSON of the base type's kind.
fn enum_value(base: Builtin, text: &str) -> Value {
    let parsed = match base {
        Builtin::Integer { .. } | Builtin::Float | Builtin::Double => {
            serde_json::from_str::<Value>(text.trim())
                .ok()
                .filter(Value::is_number)
        }
        Builtin::Boolean => match text.trim() {
            "true" | "1" => Some(json!(true)),
            "false" | "0" => Some(json!(false)),
            _ => None,
        },
        _ => None,
    };
    parsed.unwrap_or_else(|| json!(text))
}

/// Admits `null` too: by widening `type`, or with `anyOf`.
pub fn nullable(s: Value) -> Value {
    let mut s = s;
    let widened = match s.get_mut("type") {
        Some(Value::String(t)) => Some(json!([t.clone(), "null"])),
        Some(Value::Array(ts)) if !ts.contains(&json!("null")) => {
            let mut ts = ts.clone();
            ts.push(json!("null"));
            Some(Value::Array(ts))
        }
        Some(Value::Array(_)) => return s,
        _ => None,
    };
    match widened {
        Some(t) if s.get("enum").is_none() => {
            s["type"] = t;
            s
        }
        _ if s.as_object().is_some_and(Map::is_empty) => s,
        _ => json!({ "anyOf": [s, { "type": "null" }] }),
    }
}

fn with_const(mut s: Value, fixed: &str) -> Value {
    if s.is_object() && s.get("$ref").is_none() {
        let kind = match s.get("type").and_then(Value::as_str) {
            Some("integer" | "number") => Builtin::Double,
            Some("boolean") => Builtin::Boolean,
            _ => Builtin::String,
        };
        s["const"] = enum_value(kind, fixed);
    }
    s
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;

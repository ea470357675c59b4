//! Validation of complex-type content: fields, attributes, text, occurrence counts and choices.

use super::{child_decl, element_keys, pointer, scalar, Validator, TEXT_KEY, XSI_TYPE_KEY};
use crate::wsdl::model::{Child, ComplexType, Content, ElementDecl, ElementId, MaxOccurs, Particle, TypeRef};
use serde_json::{Map, Value};

impl Validator<'_> {
    /// Every key of an object of type `ct`, then what must be present.
    pub(super) fn fields(&mut self, ct: &ComplexType, obj: &Map<String, Value>, ptr: &str, depth: usize) {
        for (key, v) in obj {
            if self.full() {
                return;
            }
            let at = pointer(ptr, key);
            if key == XSI_TYPE_KEY {
                continue;
            } else if let Some(name) = key.strip_prefix('@') {
                self.attribute(ct, name, v, &at);
            } else if key == TEXT_KEY {
                self.text(ct, v, &at, depth);
            } else if let Some(item) = ct.soapenc_array_of {
                self.soapenc_items(item, v, &at, depth);
            } else if let Some((decl, child)) = child_decl(self.schema, ct, key) {
                self.child(ct, decl, child, v, &at, depth);
            } else if ct.open {
                self.any_member(key, v, &at, depth + 1);
            } else {
                self.report(&at, "unknown field");
            }
        }
        if let Content::Simple(t) = &ct.content {
            let empty_ok = scalar::check(self.schema, *t, &Value::String(String::new())).is_ok();
            if !obj.contains_key(TEXT_KEY) && !empty_ok {
                self.report(&pointer(ptr, TEXT_KEY), "required (the element's text)");
            }
        }
        self.required_children(ct, obj, ptr);
        self.required_attributes(ct, obj, ptr);
        if let Content::Elements(p) = &ct.content {
            self.choices(p, obj, ptr, Place::default());
        }
    }

    fn attribute(&mut self, ct: &ComplexType, name: &str, v: &Value, at: &str) {
        match ct.attributes.iter().find(|a| a.name.local == name) {
            Some(decl) => {
                if let Err(message) = attribute_value(self.schema, decl.ty, v) {
                    self.report(at, message);
                } else if let (Some(fixed), Some(text)) = (&decl.fixed, super::lexical(v)) {
                    if &text != fixed {
                        self.report(at, format!("must be the fixed value `{fixed}`"));
                    }
                }
            }
            None if ct.any_attribute => {
                if super::lexical(v).is_none() {
                    self.report(at, "must be a string, number or boolean");
                }
            }
            None => self.report(at, "unknown attribute"),
        }
    }

    /// `"#text"`: the value of simpleContent, or character data of a mixed type.
    fn text(&mut self, ct: &ComplexType, v: &Value, at: &str, depth: usize) {
        match &ct.content {
            Content::Simple(t) => self.typed(*t, v, at, depth + 1),
            _ if ct.mixed => {
                if !v.is_string() {
                    self.report(at, "must be a string");
                }
            }
            _ => self.report(at, "unknown field (the type has no text content)"),
        }
    }

    /// The items of a SOAP-ENC array, under any element name: always an array.
    fn soapenc_items(&mut self, item: TypeRef, v: &Value, at: &str, depth: usize) {
        let Some(items) = v.as_array() else {
            self.report(at, "must be an array (SOAP-encoded array items)");
            return;
        };
        for (i, x) in items.iter().enumerate() {
            if self.full() {
                return;
            }
            if !x.is_null() {
                self.typed(item, x, &pointer(at, &i.to_string()), depth + 1);
            }
        }
    }

    /// A child element: an array of occurrences when it repeats, one occurrence otherwise.
    fn child(
        &mut self,
        ct: &ComplexType,
        decl: &ElementDecl,
        child: &Child,
        v: &Value,
        at: &str,
        depth: usize,
    ) {
        if !child.many {
            if v.is_array() {
                self.report(at, "must not be an array (the element occurs at most once)");
            } else {
                self.element_value(decl, v, at, depth + 1);
            }
            return;
        }
        let Some(items) = v.as_array() else {
            self.report(at, "must be an array (the element may repeat)");
            return;
        };
        self.counts(ct, decl, child, items.len(), at);
        for (i, x) in items.iter().enumerate() {
            if self.full() {
                return;
            }
            self.element_value(decl, x, &pointer(at, &i.to_string()), depth + 1);
        }
    }

    /// minOccurs/maxOccurs of a repeating element (an empty array is an absent element).
    fn counts(&mut self, ct: &ComplexType, decl: &ElementDecl, child: &Child, n: usize, at: &str) {
        if n < decl.min as usize && !(n == 0 && child.optional) {
            self.report(at, format!("must have at least {} item(s)", decl.min));
        }
        if let MaxOccurs::Bounded(max) = decl.max {
            let in_group = match &ct.content {
                Content::Elements(p) => in_repeating_group(p, child.element, false),
                _ => false,
            };
            if n > max as usize && !in_group {
                self.report(at, format!("must have at most {max} item(s)"));
            }
        }
    }

    fn required_children(&mut self, ct: &ComplexType, obj: &Map<String, Value>, ptr: &str) {
        if ct.soapenc_array_of.is_some() {
            return;
        }
        for child in ct.children.iter().filter(|c| !c.optional) {
            let Some(decl) = self.schema.elements.get(child.element) else {
                continue;
            };
            if !element_keys(self.schema, decl).any(|k| obj.contains_key(k)) {
                self.report(&pointer(ptr, &decl.name.local), "required");
            }
        }
    }

    pub(super) fn required_attributes(&mut self, ct: &ComplexType, obj: &Map<String, Value>, ptr: &str) {
        for a in ct.attributes.iter().filter(|a| a.required) {
            let key = format!("@{}", a.name.local);
            if !obj.contains_key(&key) {
                self.report(&pointer(ptr, &key), "required attribute");
            }
        }
    }

    /// `xs:choice` that does not repeat: at most one branch present, and one when the choice is required.
    fn choices(&mut self, p: &Particle, obj: &Map<String, Value>, ptr: &str, at: Place) {
        match p {
            Particle::Sequence { items, min, max } | Particle::All { items, min, max } => {
                let inner = at.enter(*min, *max);
                items.iter().for_each(|i| self.choices(i, obj, ptr, inner));
            }
            Particle::Choice { items, min, max } => {
                let inner = at.enter(*min, *max);
                if !inner.repeating {
                    self.one_branch(items, obj, ptr, !inner.optional && *min > 0);
                }
                let branch = Place {
                    optional: true,
                    ..inner
                };
                items.iter().for_each(|i| self.choices(i, obj, ptr, branch));
            }
            Particle::Element(_) | Particle::Any { .. } => {}
        }
    }

    fn one_branch(&mut self, items: &[Particle], obj: &Map<String, Value>, ptr: &str, required: bool) {
        let present: Vec<Vec<&str>> = items.iter().map(|b| self.present_keys(b, obj)).collect();
        let chosen: Vec<&str> = present.iter().filter_map(|keys| keys.first().copied()).collect();
        if chosen.len() > 1 {
            let names = chosen
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.report(ptr, format!("only one of {names} may be given (xs:choice)"));
        } else if chosen.is_empty() && required && !items.iter().any(|b| emptiable(b, &self.schema.elements))
        {
            let mut names = Vec::new();
            items.iter().for_each(|b| self.branch_names(b, &mut names));
            let names = names
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            self.report(ptr, format!("one of {names} is required (xs:choice)"));
        }
    }

    /// The keys of a branch's elements that are present (an empty array counts as absent).
    fn present_keys<'o>(&self, p: &Particle, obj: &'o Map<String, Value>) -> Vec<&'o str> {
        let mut ids = Vec::new();
        element_ids(p, &mut ids);
        let decls = ids.iter().filter_map(|id| self.schema.elements.get(*id));
        let mut found = Vec::new();
        for decl in decls {
            for key in element_keys(self.schema, decl) {
                let given = obj
                    .get_key_value(key)
                    .filter(|(_, v)| v.as_array().is_none_or(|a| !a.is_empty()));
                found.extend(given.map(|(k, _)| k.as_str()));
            }
        }
        found
    }

    fn branch_names(&self, p: &Particle, names: &mut Vec<String>) {
        let mut ids = Vec::new();
        element_ids(p, &mut ids);
        let decls = ids.iter().filter_map(|id| self.schema.elements.get(*id));
        names.extend(decls.map(|d| d.name.local.clone()));
    }
}

/// An attribute value: typed JSON, or (as XML -> JSON conversion gives attributes) the XML text.
fn attribute_value(schema: &crate::wsdl::model::Schema, ty: TypeRef, v: &Value) -> Result<(), String> {
    let typed = scalar::check(schema, ty, v);
    match v {
        Value::String(s) if typed.is_err() => {
            let coerced = scalar::coerce_scalar(schema, ty, s)?;
            scalar::check(schema, ty, &coerced)
        }
        _ => typed,
    }
}

/// Whether particles enclosing it repeat or are optional.
#[derive(Debug, Clone, Copy, Default)]
struct Place {
    repeating: bool,
    optional: bool,
}

impl Place {
    fn enter(self, min: u32, max: MaxOccurs) -> Place {
        Place {
            repeating: self.repeating || max.is_many(),
            optional: self.optional || min == 0,
        }
    }
}

/// The element ids inside a particle.
fn element_ids(p: &Particle, out: &mut Vec<ElementId>) {
    match p {
        Particle::Element(id) => out.push(*id),
        Particle::Sequence { items, .. } | Particle::Choice { items, .. } | Particle::All { items, .. } => {
            items.iter().for_each(|i| element_ids(i, out));
        }
        Particle::Any { .. } => {}
    }
}

/// Whether a particle may match nothing at all.
fn emptiable(p: &Particle, elements: &[ElementDecl]) -> bool {
    match p {
        Particle::Element(id) => elements.get(*id).is_none_or(|e| e.min == 0),
        Particle::Any { min, .. } => *min == 0,
        Particle::Sequence { items, min, .. } | Particle::All { items, min, .. } => {
            *min == 0 || items.iter().all(|i| emptiable(i, elements))
        }
        Particle::Choice { items, min, .. } => *min == 0 || items.iter().any(|i| emptiable(i, elements)),
    }
}

/// Whether the element sits in a repeating sequence/choice (its own maxOccurs then bounds each round).
fn in_repeating_group(p: &Particle, id: ElementId, repeating: bool) -> bool {
    match p {
        Particle::Element(e) => repeating && *e == id,
        Particle::Any { .. } => false,
        Particle::Sequence { items, max, .. }
        | Particle::Choice { items, max, .. }
        | Particle::All { items, max, .. } => {
            let inner = repeating || max.is_many();
            items.iter().any(|i| in_repeating_group(i, id, inner))
        }
    }
}

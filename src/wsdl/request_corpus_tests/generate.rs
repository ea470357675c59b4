//! Validation and rendering agree over every operation of every corpus WSDL: a minimal instance is
//! generated from each input schema (required children and attributes, first choice branch, sample
//! values); it must validate, render, and the rendering must be well-formed XML. Garbage inputs must
//! give errors, never panics.

use crate::wsdl::model::{
    Builtin, ComplexType, Content, ElementDecl, Message, Particle, Schema, TypeDef, TypeRef, Use,
};
use crate::wsdl::render::render_body;
use crate::wsdl::validate::{
    accessor, child_decl, coerce_scalar, complex_by_id, validate, TEXT_KEY, XSI_TYPE_KEY,
};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

const WSDLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/wsdl");
/// Generation gives up below this depth (recursive types without an optional way out).
const GEN_DEPTH: usize = 24;
/// Optional content is generated down to this depth in full instances.
const FULL_DEPTH: usize = 8;

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "wsdl" || e == "xml") {
            out.push(path);
        }
    }
}

#[test]
fn generated_instances_validate_and_render_for_every_corpus_operation() {
    let root = PathBuf::from(WSDLS);
    if !root.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the corpus is required in CI but missing at {WSDLS}"
        );
        return;
    }
    let mut files = Vec::new();
    files_under(&root, &mut files);
    files.sort();
    let (mut ops, mut generated, mut problems) = (0, 0, Vec::new());
    for path in files {
        let Ok(wsdl) = crate::wsdl::load(&path) else {
            continue;
        };
        for op in &wsdl.operations {
            let Some(msg) = &op.input else { continue };
            ops += 1;
            garbage_never_panics(&wsdl.schema, msg);
            for full in [false, true] {
                let Some(input) = instance(&wsdl.schema, msg, full) else {
                    continue;
                };
                generated += usize::from(full);
                if let Err(p) = round_trip(&wsdl.schema, msg, &input) {
                    problems.push(format!("{} {} (full: {full}): {p}", path.display(), op.name));
                }
            }
        }
    }
    eprintln!(
        "{ops} operations, {generated} instances generated, {} problems",
        problems.len()
    );
    problems.iter().for_each(|p| eprintln!("  {p}"));
    assert!(ops > 500 && generated * 10 > ops * 8, "{generated} of {ops}");
    assert!(problems.is_empty(), "{problems:#?}");
}

fn round_trip(schema: &Schema, msg: &Message, input: &Value) -> Result<(), String> {
    validate(schema, msg, input).map_err(|v| format!("violations {v:?} for {input}"))?;
    let xml = render_body(schema, msg, input).map_err(|e| format!("render: {e} for {input}"))?;
    roxmltree::Document::parse(&format!("<r>{xml}</r>")).map_err(|e| format!("malformed: {e}: {xml}"))?;
    Ok(())
}

fn garbage_never_panics(schema: &Schema, msg: &Message) {
    let deep = (0..80).fold(json!("x"), |v, _| json!({ "a": [v] }));
    for input in [
        json!({}),
        json!(null),
        json!({"\u{0}": [[1]], "@": {}, "#text": {}}),
        deep,
    ] {
        let _ = validate(schema, msg, &input);
        if let Ok(xml) = render_body(schema, msg, &input) {
            let wrapped = format!("<r>{xml}</r>");
            assert!(
                roxmltree::Document::parse(&wrapped).is_ok(),
                "malformed output: {xml}"
            );
        }
    }
}

/// A valid input for a message, minimal or with every optional element and attribute down to
/// [`FULL_DEPTH`]; `None` when one cannot be made (patterns, deep recursion).
fn instance(schema: &Schema, msg: &Message, full: bool) -> Option<Value> {
    let g = Gen { schema, full };
    if let Some(decl) = msg.element.and_then(|id| schema.elements.get(id)) {
        return match g.value(decl.ty, 0)? {
            Value::Object(o) => Some(Value::Object(o)),
            v => Some(json!({ TEXT_KEY: v })),
        };
    }
    let mut obj = Map::new();
    for part in &msg.parts {
        let decl = accessor(schema, part, msg.body_use == Use::Encoded)?;
        obj.insert(part.name.clone(), g.element(&decl, 0)?);
    }
    Some(Value::Object(obj))
}

struct Gen<'a> {
    schema: &'a Schema,
    full: bool,
}

impl Gen<'_> {
    fn element(&self, decl: &ElementDecl, depth: usize) -> Option<Value> {
        if let Some(fixed) = &decl.fixed {
            return coerce_scalar(self.schema, decl.ty, fixed).ok();
        }
        match self.value(decl.ty, depth + 1) {
            Some(v) => Some(v),
            None if decl.nillable => Some(Value::Null),
            None => None,
        }
    }

    fn value(&self, ty: TypeRef, depth: usize) -> Option<Value> {
        if depth > GEN_DEPTH {
            return None;
        }
        let TypeRef::Type(id) = ty else {
            return self.scalar(ty);
        };
        let Some(mut ct) = complex_by_id(self.schema, id) else {
            return self.scalar(ty);
        };
        let mut obj = Map::new();
        if ct.is_abstract {
            let concrete = ct
                .derived
                .iter()
                .filter_map(|t| complex_by_id(self.schema, *t))
                .find(|c| !c.is_abstract)?;
            obj.insert(XSI_TYPE_KEY.into(), json!(concrete.name.as_ref()?.local));
            ct = concrete;
        }
        for a in ct.attributes.iter().filter(|a| a.required || self.wide(depth)) {
            let v = match &a.fixed {
                Some(f) => coerce_scalar(self.schema, a.ty, f).ok()?,
                None => self.scalar(a.ty)?,
            };
            obj.insert(format!("@{}", a.name.local), v);
        }
        match &ct.content {
            Content::Simple(t) => {
                obj.insert(TEXT_KEY.into(), self.scalar(*t)?);
            }
            Content::Elements(p) if ct.soapenc_array_of.is_none() => self.particle(ct, p, &mut obj, depth)?,
            _ => {}
        }
        Some(Value::Object(obj))
    }

    fn particle(
        &self,
        ct: &ComplexType,
        p: &Particle,
        obj: &mut Map<String, Value>,
        depth: usize,
    ) -> Option<()> {
        match p {
            Particle::Element(id) => {
                let decl = self.schema.elements.get(*id)?;
                if decl.min == 0 && !self.wide(depth) {
                    return Some(());
                }
                let decl = match decl.is_abstract {
                    true => decl
                        .substitutes
                        .iter()
                        .filter_map(|s| self.schema.elements.get(*s))
                        .next()?,
                    false => decl,
                };
                let v = self.element(decl, depth)?;
                let many = child_decl(self.schema, ct, &decl.name.local).is_some_and(|(_, c)| c.many);
                let v = if many {
                    Value::Array((0..decl.min.max(1)).map(|_| v.clone()).collect())
                } else {
                    v
                };
                obj.insert(decl.name.local.clone(), v);
                Some(())
            }
            Particle::Sequence { items, min, .. } | Particle::All { items, min, .. }
                if *min > 0 || self.wide(depth) =>
            {
                items.iter().try_for_each(|i| self.particle(ct, i, obj, depth))
            }
            Particle::Choice { items, min, .. } if *min > 0 || self.wide(depth) => items
                .first()
                .map_or(Some(()), |i| self.particle(ct, i, obj, depth)),
            _ => Some(()),
        }
    }

    /// Whether optional content is generated at this depth.
    fn wide(&self, depth: usize) -> bool {
        self.full && depth < FULL_DEPTH
    }

    fn scalar(&self, ty: TypeRef) -> Option<Value> {
        if let TypeRef::Type(id) = ty {
            if let Some(TypeDef::Simple(st)) = self.schema.types.get(id) {
                if let Some(first) = st.enumeration.first() {
                    return coerce_scalar(self.schema, ty, first).ok();
                }
                if st.pattern.is_some() {
                    return None;
                }
                let len = st
                    .min_length
                    .unwrap_or(1)
                    .max(1)
                    .min(st.max_length.unwrap_or(usize::MAX));
                if st.list_of.is_some() || matches!(st.base, Some(Builtin::String | Builtin::Token)) {
                    return Some(Value::String(list_or_text(st.list_of, len)?));
                }
            }
        }
        sample(self.schema.builtin_of(ty)?)
    }
}

fn list_or_text(item: Option<Builtin>, len: usize) -> Option<String> {
    match item {
        Some(b) => {
            let one = crate::wsdl::validate::lexical(&sample(b)?)?;
            Some(vec![one; len].join(" "))
        }
        None => Some("x".repeat(len)),
    }
}

fn sample(b: Builtin) -> Option<Value> {
    Some(match b {
        Builtin::Boolean => json!(true),
        Builtin::Integer { min, max } => {
            json!(i64::try_from(1i128.clamp(min.unwrap_or(i128::MIN), max.unwrap_or(i128::MAX))).ok()?)
        }
        Builtin::Decimal => json!("1.5"),
        Builtin::Float | Builtin::Double => json!(1.5),
        Builtin::Date => json!("2024-01-31"),
        Builtin::DateTime => json!("2024-01-31T12:00:00Z"),
        Builtin::Time => json!("12:00:00"),
        Builtin::Duration => json!("P1D"),
        Builtin::Gregorian => json!("2024"),
        Builtin::Base64Binary => json!("aGk="),
        Builtin::HexBinary => json!("0A"),
        _ => json!("x"),
    })
}

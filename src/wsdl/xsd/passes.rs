//! Passes over the compiled graph that need every type first: simple type roots and inherited facets,
//! simpleContent text types, extension/restriction content, substitution groups, element refs, child
//! indices, SOAP-ENC array items and `derived` lists. Every chain walk carries a visited set.

use super::simple::RawSimple;
use super::{Compiler, Owner};
use crate::wsdl::model::{
    Builtin, ComplexType, Content, Derivation, ElementId, MaxOccurs, Particle, QName, Schema, SimpleType,
    TypeDef, TypeId, TypeRef,
};
use crate::wsdl::ns;
use std::collections::{HashMap, HashSet};

/// Runs every pass in order.
pub(super) fn run(c: &mut Compiler) {
    simple_roots(c);
    simple_content_text(c);
    derivations(c);
    substitutions(c);
    element_refs(c);
    finish_complex(&mut c.schema);
    derived(&mut c.schema);
}

fn complex_of(schema: &Schema, id: TypeId) -> Option<&ComplexType> {
    match schema.types.get(id) {
        Some(TypeDef::Complex(c)) => Some(c),
        _ => None,
    }
}

fn complex_mut(schema: &mut Schema, id: TypeId) -> Option<&mut ComplexType> {
    match schema.types.get_mut(id) {
        Some(TypeDef::Complex(c)) => Some(c),
        _ => None,
    }
}

/// Every simple type gets its root built-in (integer bounds narrowed), list item and inherited facets.
fn simple_roots(c: &mut Compiler) {
    let mut ids: Vec<TypeId> = c.pending.simple.keys().copied().collect();
    ids.sort_unstable();
    let resolved: Vec<(TypeId, SimpleType)> = ids
        .into_iter()
        .filter_map(|id| Some((id, resolve_simple(&c.schema, &c.pending.simple, id)?)))
        .collect();
    for (id, st) in resolved {
        if let Some(slot) = c.schema.types.get_mut(id) {
            *slot = TypeDef::Simple(st);
        }
    }
}

/// Walks a simple type's restriction chain down to its built-in.
fn resolve_simple(schema: &Schema, raw: &HashMap<TypeId, RawSimple>, id: TypeId) -> Option<SimpleType> {
    let Some(TypeDef::Simple(own)) = schema.types.get(id) else {
        return None;
    };
    let mut out = own.clone();
    let (mut min, mut max) = (None, None);
    let mut cur = TypeRef::Type(id);
    let mut seen = HashSet::new();
    let root = loop {
        let TypeRef::Type(t) = cur else {
            break builtin_of(cur);
        };
        if !seen.insert(t) {
            break Builtin::AnySimpleType;
        }
        match schema.types.get(t) {
            Some(TypeDef::Simple(s)) => {
                let r = raw.get(&t).cloned().unwrap_or_default();
                inherit_facets(&mut out, s);
                if let Some(item) = r.item {
                    out.list_of = Some(root_builtin(schema, raw, item));
                    out.base = None;
                    return Some(out);
                }
                min = tighter(min, r.min, i128::max);
                max = tighter(max, r.max, i128::min);
                match r.base {
                    Some(next) => cur = next,
                    None => break s.base.unwrap_or(Builtin::AnySimpleType),
                }
            }
            Some(TypeDef::Complex(ct)) => match ct.content {
                Content::Simple(next) => cur = next,
                _ => break Builtin::AnySimpleType,
            },
            None => break Builtin::AnySimpleType,
        }
    };
    out.base = Some(narrow(root, min, max));
    Some(out)
}

fn builtin_of(t: TypeRef) -> Builtin {
    match t {
        TypeRef::Builtin(b) => b,
        TypeRef::Type(_) => Builtin::AnySimpleType,
    }
}

fn tighter(a: Option<i128>, b: Option<i128>, pick: fn(i128, i128) -> i128) -> Option<i128> {
    match (a, b) {
        (Some(x), Some(y)) => Some(pick(x, y)),
        (x, y) => x.or(y),
    }
}

/// Facets not restated by a derived type come from its base.
fn inherit_facets(out: &mut SimpleType, base: &SimpleType) {
    if out.enumeration.is_empty() {
        out.enumeration.clone_from(&base.enumeration);
    }
    out.min_length = out.min_length.or(base.min_length);
    out.max_length = out.max_length.or(base.max_length);
    if out.pattern.is_none() {
        out.pattern.clone_from(&base.pattern);
    }
}

/// Integer bounds narrowed by facets.
fn narrow(root: Builtin, min: Option<i128>, max: Option<i128>) -> Builtin {
    match root {
        Builtin::Integer { min: lo, max: hi } => Builtin::Integer {
            min: tighter(lo, min, i128::max),
            max: tighter(hi, max, i128::min),
        },
        other => other,
    }
}

/// The built-in at the root of any simple type reference (lists of lists count as strings).
fn root_builtin(schema: &Schema, raw: &HashMap<TypeId, RawSimple>, start: TypeRef) -> Builtin {
    let mut cur = start;
    let mut seen = HashSet::new();
    loop {
        let TypeRef::Type(t) = cur else {
            return builtin_of(cur);
        };
        if !seen.insert(t) {
            return Builtin::AnySimpleType;
        }
        match (schema.types.get(t), raw.get(&t)) {
            (Some(TypeDef::Simple(_)), Some(r)) if r.item.is_some() => return Builtin::String,
            (Some(TypeDef::Simple(_)), Some(RawSimple { base: Some(next), .. })) => cur = *next,
            (Some(TypeDef::Simple(s)), _) => return s.base.unwrap_or(Builtin::AnySimpleType),
            (
                Some(TypeDef::Complex(ComplexType {
                    content: Content::Simple(next),
                    ..
                })),
                _,
            ) => cur = *next,
            _ => return Builtin::AnySimpleType,
        }
    }
}

/// simpleContent whose base is a complex type takes that type's text type, so no chain stays complex.
fn simple_content_text(c: &mut Compiler) {
    let mut updates = Vec::new();
    for (id, def) in c.schema.types.iter().enumerate() {
        if let TypeDef::Complex(ComplexType {
            content: Content::Simple(TypeRef::Type(start)),
            ..
        }) = def
        {
            updates.push((id, text_type(&c.schema, *start)));
        }
    }
    for (id, text) in updates {
        if let Some(ct) = complex_mut(&mut c.schema, id) {
            ct.content = Content::Simple(text);
        }
    }
}

fn text_type(schema: &Schema, start: TypeId) -> TypeRef {
    let mut cur = start;
    let mut seen = HashSet::new();
    loop {
        if !seen.insert(cur) {
            return TypeRef::Builtin(Builtin::AnySimpleType);
        }
        match schema.types.get(cur) {
            Some(TypeDef::Complex(ct)) => match ct.content {
                Content::Simple(TypeRef::Type(next)) => cur = next,
                Content::Simple(builtin) => return builtin,
                _ => return TypeRef::Builtin(Builtin::AnySimpleType),
            },
            _ => return TypeRef::Type(cur),
        }
    }
}

/// Extension and restriction content: each base before its derived types; circular bases are cut.
fn derivations(c: &mut Compiler) {
    let n = c.schema.types.len();
    let mut done = vec![false; n];
    let mut budget = super::MAX_GRAPH;
    for id in 0..n {
        let mut chain = Vec::new();
        let mut on_chain = HashSet::new();
        let mut cur = id;
        let cyclic = loop {
            if done.get(cur).copied().unwrap_or(true) {
                break false;
            }
            if !on_chain.insert(cur) {
                break true;
            }
            chain.push(cur);
            match complex_of(&c.schema, cur).and_then(|ct| ct.base) {
                Some(b) if complex_of(&c.schema, b).is_some() => cur = b,
                _ => break false,
            }
        };
        if cyclic {
            cut_cycle(c, chain.last().copied());
        }
        for t in chain.into_iter().rev() {
            inherit(c, t, &mut budget);
            if let Some(d) = done.get_mut(t) {
                *d = true;
            }
        }
    }
}

fn cut_cycle(c: &mut Compiler, last: Option<TypeId>) {
    let Some(ct) = last.and_then(|t| complex_mut(&mut c.schema, t)) else {
        return;
    };
    ct.base = None;
    let name = ct.name.as_ref().map(super::show).unwrap_or_default();
    c.warnings.push(format!(
        "type `{name}` derives from itself (circular base); the cycle is cut"
    ));
    if let Some(t) = last {
        c.issues
            .add(Owner::Type(t), format!("type `{name}` derives from itself"));
    }
}

/// Merges a type's base content into it, within what is left of the budget of inherited entries.
fn inherit(c: &mut Compiler, t: TypeId, budget: &mut usize) {
    let Some(ct) = complex_of(&c.schema, t) else {
        return;
    };
    let Some(base) = ct.base.and_then(|b| complex_of(&c.schema, b)) else {
        return;
    };
    let cost = base.children.len() + base.attributes.len();
    if cost > *budget {
        let name = ct.name.as_ref().map(super::show).unwrap_or_default();
        c.warnings.push(format!(
            "type `{name}`: the schema is too large to inherit more content; cut"
        ));
        c.issues.add(
            Owner::Type(t),
            format!("type `{name}`: inherited content cut (schema too large)"),
        );
        return;
    }
    *budget -= cost;
    let mut merged = ct.clone();
    match ct.derivation {
        Derivation::Extension => extend(&mut merged, base),
        Derivation::Restriction => {
            let prohibited = c.pending.prohibited.get(&t).cloned().unwrap_or_default();
            let inherited = base.attributes.iter().filter(|a| !prohibited.contains(&a.name));
            merged.attributes = merge_attributes(inherited.cloned().collect(), &ct.attributes);
            if matches!(merged.content, Content::Empty) && matches!(base.content, Content::Simple(_)) {
                merged.content = base.content.clone();
            }
        }
        Derivation::None => return,
    }
    if let Some(slot) = c.schema.types.get_mut(t) {
        *slot = TypeDef::Complex(merged);
    }
}

/// Extension: the base's children and attributes first, then the type's own.
fn extend(merged: &mut ComplexType, base: &ComplexType) {
    let shift = base
        .children
        .iter()
        .filter_map(|ch| ch.choice)
        .max()
        .map_or(0, |m| m + 1);
    let own = std::mem::take(&mut merged.children);
    merged.children = base.children.clone();
    merged.children.extend(own.into_iter().map(|mut ch| {
        ch.choice = ch.choice.map(|i| i + shift);
        ch
    }));
    merged.attributes = merge_attributes(base.attributes.clone(), &merged.attributes);
    merged.open |= base.open;
    merged.any_attribute |= base.any_attribute;
    merged.mixed |= base.mixed;
    merged.content = match (
        &base.content,
        std::mem::replace(&mut merged.content, Content::Empty),
    ) {
        (Content::Elements(b), Content::Elements(own)) => Content::Elements(Particle::Sequence {
            items: vec![b.clone(), own],
            min: 1,
            max: MaxOccurs::Bounded(1),
        }),
        (inherited, Content::Empty) => inherited.clone(),
        (_, own) => own,
    };
}

fn merge_attributes(
    mut base: Vec<crate::wsdl::model::AttributeDecl>,
    own: &[crate::wsdl::model::AttributeDecl],
) -> Vec<crate::wsdl::model::AttributeDecl> {
    for a in own {
        match base.iter_mut().find(|b| b.name == a.name) {
            Some(b) => *b = a.clone(),
            None => base.push(a.clone()),
        }
    }
    base
}

/// Typeless members take their head's type; heads list their (non-abstract) members transitively.
fn substitutions(c: &mut Compiler) {
    let mut heads: HashMap<ElementId, Vec<ElementId>> = HashMap::new();
    for (member, head) in &c.pending.heads {
        heads.entry(*member).or_default().push(*head);
    }
    head_types(c, &heads);
    let mut members: Vec<ElementId> = heads.keys().copied().collect();
    members.sort_unstable();
    let mut budget = super::MAX_GRAPH;
    for member in members {
        if c.schema.elements.get(member).is_none_or(|e| e.is_abstract) {
            continue;
        }
        for ancestor in ancestors(&heads, member) {
            if budget == 0 {
                c.warnings
                    .push("too many substitution group members; the rest are not listed".into());
                return;
            }
            budget -= 1;
            if let Some(h) = c.schema.elements.get_mut(ancestor) {
                h.substitutes.push(member);
            }
        }
    }
}

/// A member declared without a type has its (nearest typed) head's type.
fn head_types(c: &mut Compiler, heads: &HashMap<ElementId, Vec<ElementId>>) {
    let typeless: HashSet<ElementId> = c.pending.typeless.iter().copied().collect();
    for member in &c.pending.typeless {
        let mut cur = *member;
        let mut seen = HashSet::from([cur]);
        while let Some(head) = heads.get(&cur).and_then(|h| h.first()).copied() {
            if !seen.insert(head) {
                break;
            }
            cur = head;
            if !typeless.contains(&head) {
                break;
            }
        }
        let ty = c.schema.elements.get(cur).map(|e| e.ty);
        if let (Some(ty), Some(e)) = (ty, c.schema.elements.get_mut(*member)) {
            e.ty = ty;
        }
    }
}

/// Every head above a member, transitively.
fn ancestors(heads: &HashMap<ElementId, Vec<ElementId>>, member: ElementId) -> Vec<ElementId> {
    let mut found = Vec::new();
    let mut stack = heads.get(&member).cloned().unwrap_or_default();
    let mut seen = HashSet::from([member]);
    while let Some(h) = stack.pop() {
        if seen.insert(h) {
            found.push(h);
            stack.extend(heads.get(&h).into_iter().flatten());
        }
    }
    found
}

/// `element ref=` copies take everything but their occurrence from the global declaration.
fn element_refs(c: &mut Compiler) {
    let mut budget = super::MAX_GRAPH;
    for (local, global) in c.pending.element_refs.clone() {
        let Some(mut g) = c.schema.elements.get(global).cloned() else {
            continue;
        };
        if g.substitutes.len() > budget {
            g.substitutes.clear();
            let issue = format!(
                "substitutes of `{}` are not listed (schema too large)",
                super::show(&g.name)
            );
            c.issues.add(Owner::Element(local), issue);
        }
        budget = budget.saturating_sub(g.substitutes.len());
        if let Some(e) = c.schema.elements.get_mut(local) {
            let (min, max) = (e.min, e.max);
            *e = g;
            e.min = min;
            e.max = max;
        }
        c.issues.copy(Owner::Element(global), Owner::Element(local));
    }
}

/// Child indices (substitution members included) and SOAP-ENC array item types.
fn finish_complex(schema: &mut Schema) {
    let arrays: Vec<TypeId> = [ns::SOAP_ENC, ns::SOAP12_ENC]
        .iter()
        .filter_map(|n| schema.global_types.get(&QName::new(*n, "Array")).copied())
        .collect();
    for id in 0..schema.types.len() {
        let Some(ct) = complex_of(schema, id) else {
            continue;
        };
        let mut index = crate::wsdl::model::NameIndex::default();
        for (i, child) in ct.children.iter().enumerate() {
            let Some(e) = schema.elements.get(child.element) else {
                continue;
            };
            index.entry(e.name.local.clone()).or_insert(i);
            for s in &e.substitutes {
                if let Some(m) = schema.elements.get(*s) {
                    index.entry(m.name.local.clone()).or_insert(i);
                }
            }
        }
        let item = match (ct.soapenc_array_of, ct.base) {
            (None, Some(b)) if arrays.contains(&b) => Some(
                ct.children
                    .first()
                    .and_then(|ch| schema.elements.get(ch.element))
                    .map_or(TypeRef::Builtin(Builtin::AnyType), |e| e.ty),
            ),
            (existing, _) => existing,
        };
        if let Some(ct) = complex_mut(schema, id) {
            ct.child_index = index;
            ct.soapenc_array_of = item;
        }
    }
}

/// Each complex type lists every type derived from it, transitively.
fn derived(schema: &mut Schema) {
    let mut lists: HashMap<TypeId, Vec<TypeId>> = HashMap::new();
    let mut budget = super::MAX_GRAPH;
    for id in 0..schema.types.len() {
        let mut cur = complex_of(schema, id).and_then(|c| c.base);
        let mut seen = HashSet::from([id]);
        while let Some(b) = cur {
            if !seen.insert(b) || budget == 0 {
                break;
            }
            budget -= 1;
            let Some(base) = complex_of(schema, b) else { break };
            lists.entry(b).or_default().push(id);
            cur = base.base;
        }
    }
    for (b, list) in lists {
        if let Some(ct) = complex_mut(schema, b) {
            ct.derived = list;
        }
    }
}

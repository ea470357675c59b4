//! Schema-aware XML -> JSON: a [`Shaper`] that takes arrays and scalar types from the compiled XSD.
//!
//! Rules (DESIGN.md §3): an element whose declaration (or enclosing group) allows more than one
//! occurrence is always an array, also with zero or one item (`[]` is emitted for an absent one
//! when its parent is present); simple types map to JSON by [`Builtin::json_kind`]; `xsi:type`
//! selects the derived type and is kept as `"@xsi:type": "<local name>"`; elements the schema
//! does not know (inside `xs:any`, or undeclared) follow the schema-less convention.

use super::model::{Builtin, ElementId, JsonKind, Part, PartKind, QName, Schema, TypeRef};
use crate::soap::convert::{ScalarType, Shaper};

/// Where conversion starts: the output message of an operation.
#[derive(Debug, Clone, Copy)]
pub enum Root<'a> {
    /// Document style: the body's part element (wrapped or bare).
    Element(ElementId),
    /// RPC style: a wrapper whose children are the parts.
    Rpc(&'a [Part]),
    /// SOAP Header blocks: each top-level element is one of these parts' elements.
    Headers(&'a [Part]),
}

/// Per-element context.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TypedCtx {
    /// Not described by the schema: the convention applies below it.
    Unknown,
    /// The RPC wrapper: children are parts.
    RpcWrapper,
    /// A declared element of this type.
    Known { ty: TypeRef, many: bool },
}

/// Shapes JSON by the schema.
#[derive(Debug, Clone, Copy)]
pub struct SchemaShaper<'a> {
    schema: &'a Schema,
    root: Root<'a>,
}

impl<'a> SchemaShaper<'a> {
    pub fn new(schema: &'a Schema, root: Root<'a>) -> SchemaShaper<'a> {
        SchemaShaper { schema, root }
    }

    fn top(&self, local: &str) -> TypedCtx {
        match self.root {
            Root::Element(id) => match self.schema.elements.get(id) {
                Some(d) if d.name.local == local => TypedCtx::Known {
                    ty: d.ty,
                    many: false,
                },
                _ => TypedCtx::Unknown,
            },
            Root::Rpc(_) => TypedCtx::RpcWrapper,
            Root::Headers(parts) => parts
                .iter()
                .filter_map(|p| match p.kind {
                    PartKind::Element(id) => self.schema.elements.get(id),
                    PartKind::Type(_) => None,
                })
                .find(|d| d.name.local == local)
                .map_or(TypedCtx::Unknown, |d| TypedCtx::Known {
                    ty: d.ty,
                    many: false,
                }),
        }
    }

    fn part(&self, local: &str) -> TypedCtx {
        let Root::Rpc(parts) = self.root else {
            return TypedCtx::Unknown;
        };
        match parts.iter().find(|p| p.name == local).map(|p| &p.kind) {
            Some(PartKind::Type(ty)) => TypedCtx::Known { ty: *ty, many: false },
            Some(PartKind::Element(id)) => match self.schema.elements.get(*id) {
                Some(d) => TypedCtx::Known {
                    ty: d.ty,
                    many: false,
                },
                None => TypedCtx::Unknown,
            },
            None => TypedCtx::Unknown,
        }
    }

    fn child(&self, ty: TypeRef, local: &str) -> TypedCtx {
        let Some(ct) = self.schema.complex(ty) else {
            return TypedCtx::Unknown;
        };
        if let Some(item) = ct.soapenc_array_of {
            return TypedCtx::Known { ty: item, many: true };
        }
        if let Some(c) = ct.child_index.get(local).and_then(|i| ct.children.get(*i)) {
            if let Some(d) = self.schema.elements.get(c.element) {
                return TypedCtx::Known {
                    ty: d.ty,
                    many: c.many,
                };
            }
        }
        // A member of a substitution group stands in for its head.
        for c in &ct.children {
            let Some(head) = self.schema.elements.get(c.element) else {
                continue;
            };
            for s in &head.substitutes {
                if let Some(d) = self.schema.elements.get(*s).filter(|d| d.name.local == local) {
                    return TypedCtx::Known {
                        ty: d.ty,
                        many: c.many,
                    };
                }
            }
        }
        TypedCtx::Unknown
    }
}

fn scalar_of(b: Builtin) -> Option<ScalarType> {
    Some(match b.json_kind() {
        JsonKind::String => return None,
        JsonKind::Integer => ScalarType::Integer,
        JsonKind::Number => ScalarType::Number,
        JsonKind::Decimal => ScalarType::Decimal,
        JsonKind::Boolean => ScalarType::Boolean,
    })
}

impl Shaper for SchemaShaper<'_> {
    type Ctx = TypedCtx;

    fn enter(&mut self, parent: Option<&TypedCtx>, _ns: Option<&[u8]>, local: &str) -> TypedCtx {
        match parent {
            None => self.top(local),
            Some(TypedCtx::RpcWrapper) => self.part(local),
            Some(TypedCtx::Known { ty, .. }) => self.child(*ty, local),
            Some(TypedCtx::Unknown) => TypedCtx::Unknown,
        }
    }

    fn retype(&mut self, ctx: &mut TypedCtx, ns: Option<&[u8]>, local: &str) -> bool {
        let ns = ns.and_then(|n| std::str::from_utf8(n).ok()).unwrap_or("");
        let name = QName::new(ns, local);
        let found = self
            .schema
            .global_types
            .get(&name)
            .map(|id| TypeRef::Type(*id))
            .or_else(|| super::xsd::builtins::builtin_by_qname(&name).map(TypeRef::Builtin));
        match (ctx, found) {
            (TypedCtx::Known { ty, .. }, Some(t)) => {
                *ty = t;
                true
            }
            (c @ TypedCtx::Unknown, Some(t)) => {
                *c = TypedCtx::Known { ty: t, many: false };
                true
            }
            _ => false,
        }
    }

    fn many(&self, ctx: &TypedCtx) -> bool {
        matches!(ctx, TypedCtx::Known { many: true, .. })
    }

    fn scalar(&self, ctx: &TypedCtx) -> Option<ScalarType> {
        match ctx {
            TypedCtx::Known { ty, .. } => self.schema.builtin_of(*ty).and_then(scalar_of),
            _ => None,
        }
    }

    fn array_children(&self, ctx: &TypedCtx, f: &mut dyn FnMut(&str)) {
        let TypedCtx::Known { ty, .. } = ctx else { return };
        let Some(ct) = self.schema.complex(*ty) else {
            return;
        };
        for c in ct.children.iter().filter(|c| c.many) {
            if let Some(d) = self.schema.elements.get(c.element) {
                f(&d.name.local);
            }
        }
    }
}

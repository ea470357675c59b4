//! Schema-aware XML -> JSON: a [`Shaper`] that takes arrays and scalar types from the compiled XSD.
//!
//! Rules (DESIGN.md §3): an element whose declaration (or enclosing group) allows more than one
//! occurrence is always an array, also with zero or one item (`[]` is emitted for an absent one
//! when its parent is present); simple types map to JSON by [`Builtin::json_kind`]; `xsi:type`
//! selects the derived type and is kept as `"@xsi:type": "<local name>"` (naming a base of the
//! declared type keeps the declared one); a substitution group member takes its own declaration;
//! items of a SOAP-ENC array are always arrays; elements the schema does not know (inside
//! `xs:any`, or undeclared) follow the schema-less convention.

use super::model::{
    Builtin, ElementDecl, ElementId, FaultDecl, JsonKind, Part, PartKind, QName, Schema, TypeRef,
};
use super::ns;
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
    /// A SOAP Fault: the elements inside `detail`/`Detail` are these declared faults' elements.
    Fault(&'a [FaultDecl]),
}

/// Per-element context.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TypedCtx {
    /// Not described by the schema: the convention applies below it.
    Unknown,
    /// The RPC wrapper: children are parts.
    RpcWrapper,
    /// A declared element of this type.
    Known {
        ty: TypeRef,
        many: bool,
    },
    /// `xsi:type="soapenc:Array"` on content the schema does not describe: every child is an array
    /// item of unknown type.
    EncArray {
        many: bool,
    },
    /// The `Fault` element itself, and its `detail`/`Detail` child.
    Fault,
    FaultDetail,
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
            Root::Fault(_) if local == "Fault" => TypedCtx::Fault,
            Root::Fault(_) => TypedCtx::Unknown,
        }
    }

    /// A declared fault's detail element, by local name.
    fn fault_element(&self, local: &str) -> TypedCtx {
        let Root::Fault(faults) = self.root else {
            return TypedCtx::Unknown;
        };
        faults
            .iter()
            .filter_map(|f| self.schema.elements.get(f.element?))
            .find(|d| d.name.local == local)
            .map_or(TypedCtx::Unknown, |d| TypedCtx::Known {
                ty: d.ty,
                many: false,
            })
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
        // The index also lists substitution group members, under their head's position.
        let Some(c) = ct.child_index.get(local).and_then(|i| ct.children.get(*i)) else {
            return TypedCtx::Unknown;
        };
        match self.declaration(c.element, local) {
            Some(d) => TypedCtx::Known {
                ty: d.ty,
                many: c.many,
            },
            None => TypedCtx::Unknown,
        }
    }

    /// The declaration named `local`: the child's own, or a member of its substitution group.
    fn declaration(&self, id: ElementId, local: &str) -> Option<&'a ElementDecl> {
        let schema = self.schema;
        let head = schema.elements.get(id)?;
        if head.name.local == local {
            return Some(head);
        }
        head.substitutes
            .iter()
            .filter_map(|s| schema.elements.get(*s))
            .find(|d| d.name.local == local)
    }

    /// The type `xsi:type` names, if the schema knows it.
    fn named_type(&self, ns: &str, local: &str) -> Option<TypeRef> {
        super::xsd::type_by_qname(self.schema, &QName::new(ns, local))
    }

    /// Content the schema does not describe: undeclared, `anyType` or a simple type.
    fn has_no_content_model(&self, ctx: &TypedCtx) -> bool {
        match ctx {
            TypedCtx::Unknown => true,
            TypedCtx::Known { ty, .. } => self.schema.complex(*ty).is_none(),
            TypedCtx::RpcWrapper | TypedCtx::EncArray { .. } | TypedCtx::Fault | TypedCtx::FaultDetail => {
                false
            }
        }
    }

    /// `base` is `ty` or one of the types `ty` derives from.
    fn is_base_of(&self, base: TypeRef, ty: TypeRef) -> bool {
        match (base, ty) {
            _ if base == ty => true,
            (TypeRef::Type(_), TypeRef::Type(id)) => {
                self.schema.complex(base).is_some_and(|c| c.derived.contains(&id))
            }
            _ => false,
        }
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
            Some(TypedCtx::EncArray { .. }) => TypedCtx::Known {
                ty: TypeRef::Builtin(Builtin::AnyType),
                many: true,
            },
            Some(TypedCtx::Unknown) => TypedCtx::Unknown,
            Some(TypedCtx::Fault) if matches!(local, "detail" | "Detail") => TypedCtx::FaultDetail,
            Some(TypedCtx::Fault) => TypedCtx::Unknown,
            Some(TypedCtx::FaultDetail) => self.fault_element(local),
        }
    }

    fn retype(&mut self, ctx: &mut TypedCtx, ns: Option<&[u8]>, local: &str) -> bool {
        let ns = ns.and_then(|n| std::str::from_utf8(n).ok()).unwrap_or("");
        let found = self.named_type(ns, local);
        match (ctx, found) {
            // A base of the declared type (e.g. `soapenc:Array` on an `ArrayOfInt`) adds nothing.
            (TypedCtx::Known { ty, .. }, Some(t)) => {
                if !self.is_base_of(t, *ty) {
                    *ty = t;
                }
                true
            }
            (c @ TypedCtx::Unknown, Some(t)) => {
                *c = TypedCtx::Known { ty: t, many: false };
                true
            }
            (c, None) if is_soapenc_array(ns, local) && self.has_no_content_model(c) => {
                *c = TypedCtx::EncArray { many: self.many(c) };
                true
            }
            _ => false,
        }
    }

    fn many(&self, ctx: &TypedCtx) -> bool {
        matches!(
            ctx,
            TypedCtx::Known { many: true, .. } | TypedCtx::EncArray { many: true }
        )
    }

    fn scalar(&self, ctx: &TypedCtx) -> Option<ScalarType> {
        match ctx {
            TypedCtx::Known { ty, .. } => self.schema.builtin_of(*ty).and_then(scalar_of),
            _ => None,
        }
    }

    fn object(&self, ctx: &TypedCtx) -> bool {
        matches!(ctx, TypedCtx::Known { ty, .. } if self.schema.complex(*ty).is_some_and(|c| c.soapenc_array_of.is_none()))
    }

    fn attribute_type(&self, ctx: &TypedCtx, local: &str) -> Option<ScalarType> {
        let TypedCtx::Known { ty, .. } = ctx else {
            return None;
        };
        let attr = self
            .schema
            .complex(*ty)?
            .attributes
            .iter()
            .find(|a| a.name.local == local)?;
        self.schema.builtin_of(attr.ty).and_then(scalar_of)
    }

    fn array_children(&self, ctx: &TypedCtx, f: &mut dyn FnMut(&str)) {
        let TypedCtx::Known { ty, .. } = ctx else { return };
        let Some(ct) = self.schema.complex(*ty) else {
            return;
        };
        // An abstract head never appears itself: its members come under their own names.
        let present = ct
            .children
            .iter()
            .filter(|c| c.many)
            .filter_map(|c| self.schema.elements.get(c.element))
            .filter(|d| !d.is_abstract);
        for d in present {
            f(&d.name.local);
        }
    }
}

fn is_soapenc_array(ns: &str, local: &str) -> bool {
    ns::is_soap_enc(ns) && local == "Array"
}

#[cfg(test)]
#[path = "typed_tests.rs"]
mod tests;

//! Schema-aware XML -> JSON: a [`Shaper`] that takes arrays and scalar types from the compiled XSD.
//!
//! Rules (DESIGN.md §3): an element whose declaration (or enclosing group) allows more than one
//! occurrence is always an array, also with zero or one item (`[]` is emitted for an absent one
//! when its parent is present); simple types map to JSON by [`Builtin::json_kind`]; `xsi:type`
//! selects the derived type and is kept as `"@xsi:type": "<local name>"` (naming a base of the
//! declared type keeps the declared one); a substitution group member takes its own declaration;
//! items of a SOAP-ENC array are always arrays; content the schema leaves open (`xs:any` with
//! `processContents="lax"` or `"skip"`, `anyType`) follows the schema-less convention.
//!
//! Only declared data leaves (README "Only declared data leaves"): an element or attribute the
//! schema does not declare where it appears is judged by the section's [`Gate`] (dropped with its
//! whole subtree, kept as untyped content, or the response refused). Declared are: the children
//! and attributes of the element's type, or of the derived type `xsi:type` names; substitution
//! group members; what a wildcard admits (`lax`/`skip`: anything; `strict`: elements with a global
//! declaration); attributes in the SOAP envelope and encoding namespaces (`encodingStyle`,
//! `arrayType`, ...); `xsi:type` and `xsi:nil`, which the parser applies itself.

use super::model::{
    Builtin, ComplexType, Content, ElementDecl, ElementId, FaultDecl, JsonKind, Part, PartKind, Particle,
    ProcessContents, QName, Schema, TypeRef,
};
use super::ns;
use crate::error::GatewayError;
use crate::soap::convert::{Gate, ScalarType, Shaper};

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
    /// Content the schema leaves open (a lax or skip wildcard, `anyType`, the parts of a Fault
    /// other than its detail): kept, the convention applies below it.
    Unknown,
    /// Not declared where it appears: judged by the [`Gate`] (kept as `Unknown` when it keeps).
    Undeclared,
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
    gate: Gate<'a>,
}

impl<'a> SchemaShaper<'a> {
    /// Shapes by `schema` from `root`; `gate` judges what the schema does not declare.
    pub fn new(schema: &'a Schema, root: Root<'a>, gate: Gate<'a>) -> SchemaShaper<'a> {
        SchemaShaper { schema, root, gate }
    }

    fn top(&self, local: &str) -> TypedCtx {
        match self.root {
            Root::Element(id) => match self.schema.elements.get(id) {
                Some(d) if d.name.local == local => TypedCtx::Known {
                    ty: d.ty,
                    many: false,
                },
                _ => TypedCtx::Undeclared,
            },
            Root::Rpc(_) => TypedCtx::RpcWrapper,
            Root::Headers(parts) => parts
                .iter()
                .filter_map(|p| match p.kind {
                    PartKind::Element(id) => self.schema.elements.get(id),
                    PartKind::Type(_) => None,
                })
                .find(|d| d.name.local == local)
                .map_or(TypedCtx::Undeclared, |d| TypedCtx::Known {
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
            .map_or(TypedCtx::Undeclared, |d| TypedCtx::Known {
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
                None => TypedCtx::Undeclared,
            },
            None => TypedCtx::Undeclared,
        }
    }

    fn child(&self, ty: TypeRef, local: &str) -> TypedCtx {
        let Some(ct) = self.schema.complex(ty) else {
            // anyType holds any content; a simple type holds none.
            return match ty {
                TypeRef::Builtin(Builtin::AnyType) => TypedCtx::Unknown,
                _ => TypedCtx::Undeclared,
            };
        };
        if let Some(item) = ct.soapenc_array_of {
            return TypedCtx::Known { ty: item, many: true };
        }
        // The index also lists substitution group members, under their head's position.
        let declared = ct.child_index.get(local).and_then(|i| ct.children.get(*i));
        let Some(c) = declared else {
            return self.wildcard(ct, local);
        };
        match self.declaration(c.element, local) {
            Some(d) => TypedCtx::Known {
                ty: d.ty,
                many: c.many,
            },
            None => TypedCtx::Undeclared,
        }
    }

    /// A child the type's own particles do not name: what its wildcard (if any) admits.
    fn wildcard(&self, ct: &ComplexType, local: &str) -> TypedCtx {
        if !ct.open {
            return TypedCtx::Undeclared;
        }
        let mut most = None;
        if let Content::Elements(p) = &ct.content {
            most_open(p, &mut most);
        }
        // Open without a wildcard particle: soapenc:Array / soapenc:Struct, any content.
        match most.unwrap_or(ProcessContents::Lax) {
            ProcessContents::Lax | ProcessContents::Skip => TypedCtx::Unknown,
            // Strict: only an element the schema declares globally (the parser resolves names
            // below the Body's first level by local name only, so the local name decides).
            ProcessContents::Strict => self
                .schema
                .global_elements
                .iter()
                .filter(|(q, _)| q.local == local)
                .min_by(|a, b| a.0.cmp(b.0))
                .and_then(|(_, id)| self.schema.elements.get(*id))
                .map_or(TypedCtx::Undeclared, |d| TypedCtx::Known {
                    ty: d.ty,
                    many: false,
                }),
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
            TypedCtx::Unknown | TypedCtx::Undeclared => true,
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

/// The most open `processContents` of the wildcards in a content model (`skip` > `lax` > `strict`).
fn most_open(p: &Particle, most: &mut Option<ProcessContents>) {
    match p {
        Particle::Any { process, .. } => {
            let rank = |p: ProcessContents| match p {
                ProcessContents::Strict => 0,
                ProcessContents::Lax => 1,
                ProcessContents::Skip => 2,
            };
            if most.is_none_or(|m| rank(*process) > rank(m)) {
                *most = Some(*process);
            }
        }
        Particle::Sequence { items, .. } | Particle::Choice { items, .. } | Particle::All { items, .. } => {
            for i in items {
                most_open(i, most);
            }
        }
        Particle::Element(_) => {}
    }
}

/// Attributes of the SOAP envelope and encoding namespaces (`encodingStyle`, `mustUnderstand`,
/// `arrayType`, `offset`, ...): SOAP's own schemas declare them.
fn is_protocol_namespace(ns: &[u8]) -> bool {
    let ns = std::str::from_utf8(ns).unwrap_or("");
    ns::is_soap_enc(ns) || ns == crate::soap::NS_SOAP11 || ns == crate::soap::NS_SOAP12
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
            Some(TypedCtx::Unknown | TypedCtx::Undeclared) => TypedCtx::Unknown,
            Some(TypedCtx::Fault) if matches!(local, "detail" | "Detail") => TypedCtx::FaultDetail,
            Some(TypedCtx::Fault) => TypedCtx::Unknown,
            Some(TypedCtx::FaultDetail) => self.fault_element(local),
        }
    }

    fn admit(&mut self, ctx: &mut TypedCtx, local: &str) -> Result<bool, GatewayError> {
        if *ctx != TypedCtx::Undeclared {
            return Ok(true);
        }
        let keep = self.gate.judge("", local)?;
        if keep {
            *ctx = TypedCtx::Unknown;
        }
        Ok(keep)
    }

    fn admit_attribute(
        &mut self,
        ctx: &TypedCtx,
        ns: Option<&[u8]>,
        local: &str,
    ) -> Result<bool, GatewayError> {
        if ns.is_some_and(is_protocol_namespace) || self.gate.keeps() {
            return Ok(true);
        }
        let declared = match ctx {
            TypedCtx::Known { ty, .. } => match self.schema.complex(*ty) {
                Some(ct) => ct.any_attribute || ct.attributes.iter().any(|a| a.name.local == local),
                // anyType admits any attribute; a simple type none.
                None => *ty == TypeRef::Builtin(Builtin::AnyType),
            },
            TypedCtx::Unknown | TypedCtx::EncArray { .. } | TypedCtx::Fault => true,
            TypedCtx::Undeclared | TypedCtx::RpcWrapper | TypedCtx::FaultDetail => false,
        };
        if declared {
            return Ok(true);
        }
        self.gate.judge("@", local)
    }

    fn retype(&mut self, ctx: &mut TypedCtx, ns: Option<&[u8]>, local: &str) -> bool {
        let ns = ns.and_then(|n| std::str::from_utf8(n).ok()).unwrap_or("");
        let found = self.named_type(ns, local);
        match (ctx, found) {
            // A base of the declared type (e.g. `soapenc:Array` on an `ArrayOfInt`) adds nothing.
            (TypedCtx::Known { ty, .. }, Some(t)) => {
                // A complex type that does not derive from the declared complex type would
                // declare children the declared type never has: it is not taken (unless the
                // gate keeps undeclared data anyway).
                let unrelated = self.schema.complex(*ty).is_some()
                    && self.schema.complex(t).is_some()
                    && !self.is_base_of(*ty, t)
                    && !self.is_base_of(t, *ty);
                if unrelated && !self.gate.keeps() {
                    return false;
                }
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

#[cfg(test)]
#[path = "undeclared_tests.rs"]
mod undeclared_tests;

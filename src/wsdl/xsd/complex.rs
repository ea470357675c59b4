//! Complex types: content models (sequence, choice, all, group, any), complexContent and
//! simpleContent derivation, SOAP-ENC arrays, and flattening particles into `children`.

use super::{empty_complex, show, Compiler};
use crate::wsdl::loader::xml::{attr, bool_attr, xsd_children};
use crate::wsdl::model::{
    Child, ComplexType, Content, Derivation, ElementDecl, MaxOccurs, Particle, ProcessContents, QName,
    TypeId, TypeRef,
};
use crate::wsdl::ns;
use roxmltree::Node;

impl<'a, 'i> Compiler<'a, 'i> {
    /// Compiles a `complexType` element.
    pub(super) fn complex(
        &mut self,
        id: TypeId,
        unit: usize,
        node: Node<'a, 'i>,
        name: Option<QName>,
    ) -> ComplexType {
        let mut ct = empty_complex(name);
        ct.is_abstract = bool_attr(node, "abstract");
        ct.mixed = bool_attr(node, "mixed");
        self.content_items(id, unit, node, &mut ct);
        ct
    }

    /// The children of a `complexType`, or of its `extension`/`restriction`.
    fn content_items(&mut self, id: TypeId, unit: usize, node: Node<'a, 'i>, ct: &mut ComplexType) {
        for child in xsd_children(node) {
            match child.tag_name().name() {
                "sequence" | "choice" | "all" | "group" => {
                    if let Some(p) = self.particle(unit, child) {
                        self.set_particle(ct, p);
                    }
                }
                "attribute" | "attributeGroup" | "anyAttribute" => self.attribute_item(id, unit, child, ct),
                "simpleContent" => self.simple_content(id, unit, child, ct),
                "complexContent" => self.complex_content(id, unit, child, ct),
                "annotation" => {}
                other => self.problem(
                    unit,
                    child,
                    format!("xs:{other} in a complex type is not supported"),
                ),
            }
        }
    }

    fn set_particle(&mut self, ct: &mut ComplexType, p: Particle) {
        ct.children = flatten(&self.schema.elements, &p);
        ct.open |= has_any(&p);
        ct.content = Content::Elements(p);
    }

    /// `complexContent`: extension or restriction of another complex type (or of `soapenc:Array`).
    fn complex_content(&mut self, id: TypeId, unit: usize, node: Node<'a, 'i>, ct: &mut ComplexType) {
        ct.mixed |= bool_attr(node, "mixed");
        let Some((deriv, derivation)) = derivation_of(node) else {
            self.problem(
                unit,
                node,
                "xs:complexContent without extension or restriction".into(),
            );
            return;
        };
        if !self.enter(unit, node) {
            return;
        }
        ct.derivation = derivation;
        if let Some((q, base)) = self.base_ref(unit, deriv) {
            if ns::is_soap_enc(&q.ns) && q.local == "Array" {
                ct.open = true;
                ct.soapenc_array_of = self.array_item(unit, deriv);
            }
            if let TypeRef::Type(b) = base {
                ct.base = Some(b);
            }
        }
        self.content_items(id, unit, deriv, ct);
        self.leave();
    }

    /// `simpleContent`: text of a simple type plus attributes.
    fn simple_content(&mut self, id: TypeId, unit: usize, node: Node<'a, 'i>, ct: &mut ComplexType) {
        let Some((deriv, derivation)) = derivation_of(node) else {
            self.problem(
                unit,
                node,
                "xs:simpleContent without extension or restriction".into(),
            );
            return;
        };
        ct.derivation = derivation;
        let base = self.base_ref(unit, deriv).map(|(_, t)| t);
        if let Some(TypeRef::Type(b)) = base {
            ct.base = Some(b);
        }
        let restricts = derivation == Derivation::Restriction && has_facets(deriv);
        let text = match base {
            _ if restricts => self.restricted_text(unit, deriv),
            Some(t) => t,
            None => TypeRef::Builtin(crate::wsdl::model::Builtin::AnySimpleType),
        };
        ct.content = Content::Simple(text);
        for child in xsd_children(deriv) {
            if matches!(
                child.tag_name().name(),
                "attribute" | "attributeGroup" | "anyAttribute"
            ) {
                self.attribute_item(id, unit, child, ct);
            }
        }
    }

    /// The `base` of an extension/restriction, resolved (unresolved ones are reported).
    fn base_ref(&mut self, unit: usize, deriv: Node) -> Option<(QName, TypeRef)> {
        let value = attr(deriv, "base")?;
        let q = self.qname(unit, deriv, value)?;
        let t = self.type_ref(unit, deriv, value);
        Some((q, t))
    }

    /// The item type of a SOAP-ENC array from its `wsdl:arrayType="xsd:string[]"` attribute.
    fn array_item(&mut self, unit: usize, deriv: Node) -> Option<TypeRef> {
        let (holder, value) = deriv
            .descendants()
            .filter(|n| crate::wsdl::loader::xml::is_xsd(*n, "attribute"))
            .find_map(|n| {
                let a = n
                    .attributes()
                    .find(|a| a.name() == "arrayType" && a.namespace().is_some())?;
                Some((n, a.value().trim()))
            })?;
        let item = value.split('[').next().unwrap_or(value);
        let dims = value.get(item.len()..).unwrap_or("");
        if dims.matches('[').count() > 1 || dims.contains(',') {
            let issue = format!("SOAP-ENC array of arrays `{value}`: items are typed as `{item}`");
            self.problem(unit, holder, issue);
        }
        Some(self.type_ref(unit, holder, item))
    }

    /// A particle of a content model; `None` for annotations and what cannot be used.
    pub(super) fn particle(&mut self, unit: usize, node: Node<'a, 'i>) -> Option<Particle> {
        let (min, max) = self.occurs(unit, node);
        let kind = node.tag_name().name();
        match kind {
            "element" => Some(Particle::Element(self.local_element(unit, node, min, max))),
            "sequence" | "choice" | "all" => {
                if !self.enter(unit, node) {
                    return None;
                }
                let items: Vec<Particle> = xsd_children(node)
                    .filter_map(|c| self.particle(unit, c))
                    .collect();
                self.leave();
                Some(match kind {
                    "sequence" => Particle::Sequence { items, min, max },
                    "choice" => Particle::Choice { items, min, max },
                    _ => Particle::All { items, min, max },
                })
            }
            "group" => self.group_ref(unit, node, min, max),
            "any" => {
                let namespace = attr(node, "namespace").unwrap_or("##any").to_string();
                let process = match attr(node, "processContents") {
                    Some("lax") => ProcessContents::Lax,
                    Some("skip") => ProcessContents::Skip,
                    _ => ProcessContents::Strict,
                };
                Some(Particle::Any {
                    namespace,
                    min,
                    max,
                    process,
                })
            }
            "annotation" => None,
            other => {
                self.problem(
                    unit,
                    node,
                    format!("xs:{other} in a content model is not supported"),
                );
                None
            }
        }
    }

    /// `<group ref=...>`: the named group's model, expanded in place (recursive groups stop).
    fn group_ref(&mut self, unit: usize, node: Node<'a, 'i>, min: u32, max: MaxOccurs) -> Option<Particle> {
        let Some(value) = attr(node, "ref") else {
            self.problem(unit, node, "xs:group without ref in a content model".into());
            return None;
        };
        let q = self.qname(unit, node, value)?;
        let Some(group) = self.globals.groups.get(&q).copied() else {
            self.unresolved(unit, node, "group", &q, "its content is missing");
            return None;
        };
        if self.active.contains(&q) {
            self.problem(
                unit,
                node,
                format!("group `{}` contains itself; the inner use is ignored", show(&q)),
            );
            return None;
        }
        if self.over_budget(unit, node) {
            return None;
        }
        let model = xsd_children(group.node)
            .find(|c| matches!(c.tag_name().name(), "sequence" | "choice" | "all"))?;
        self.active.push(q);
        let p = self.particle(group.unit, model);
        self.active.pop();
        match (min, max) {
            (1, MaxOccurs::Bounded(1)) => p,
            _ => Some(Particle::Sequence {
                items: vec![p?],
                min,
                max,
            }),
        }
    }

    /// `minOccurs`/`maxOccurs` (defaults 1; numbers too large for u32 saturate).
    pub(super) fn occurs(&mut self, unit: usize, node: Node) -> (u32, MaxOccurs) {
        let min = match attr(node, "minOccurs") {
            None => 1,
            Some(v) => self.count(unit, node, v).unwrap_or(1),
        };
        let max = match attr(node, "maxOccurs") {
            None => MaxOccurs::Bounded(1),
            Some("unbounded") => MaxOccurs::Unbounded,
            Some(v) => self
                .count(unit, node, v)
                .map_or(MaxOccurs::Bounded(1), MaxOccurs::Bounded),
        };
        (min, max)
    }

    fn count(&mut self, unit: usize, node: Node, value: &str) -> Option<u32> {
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            return Some(value.parse().unwrap_or(u32::MAX));
        }
        self.warn(
            unit,
            node,
            format!("occurrence `{value}` is not a number; 1 is used"),
        );
        None
    }
}

/// The `extension` or `restriction` child of a `complexContent`/`simpleContent`.
fn derivation_of<'a, 'i>(node: Node<'a, 'i>) -> Option<(Node<'a, 'i>, Derivation)> {
    xsd_children(node).find_map(|c| match c.tag_name().name() {
        "extension" => Some((c, Derivation::Extension)),
        "restriction" => Some((c, Derivation::Restriction)),
        _ => None,
    })
}

/// Whether a simpleContent restriction narrows the text (facets or an inline simple type).
fn has_facets(deriv: Node) -> bool {
    xsd_children(deriv)
        .any(|c| super::simple::is_facet(c.tag_name().name()) || c.tag_name().name() == "simpleType")
}

/// Where a particle sits: inherited repetition, optionality and choice.
#[derive(Clone, Copy, Default)]
struct Place {
    many: bool,
    optional: bool,
    choice: Option<usize>,
}

/// Flattens a content model into its possible child elements, in document order.
pub(super) fn flatten(elements: &[ElementDecl], p: &Particle) -> Vec<Child> {
    let mut out = Vec::new();
    let mut choices = 0;
    walk(elements, p, Place::default(), &mut choices, &mut out);
    out
}

fn walk(elements: &[ElementDecl], p: &Particle, at: Place, choices: &mut usize, out: &mut Vec<Child>) {
    match p {
        Particle::Element(id) => {
            let Some(e) = elements.get(*id) else { return };
            if e.max == MaxOccurs::Bounded(0) {
                return;
            }
            out.push(Child {
                element: *id,
                many: at.many || e.max.is_many(),
                optional: at.optional || e.min == 0,
                choice: at.choice,
            });
        }
        Particle::Sequence { items, min, max } | Particle::All { items, min, max } => {
            let inner = Place {
                many: at.many || max.is_many(),
                optional: at.optional || *min == 0,
                choice: at.choice,
            };
            items.iter().for_each(|i| walk(elements, i, inner, choices, out));
        }
        Particle::Choice { items, min, max } => {
            let inner = Place {
                many: at.many || max.is_many(),
                optional: at.optional || *min == 0 || items.len() > 1,
                choice: Some(*choices),
            };
            *choices += 1;
            items.iter().for_each(|i| walk(elements, i, inner, choices, out));
        }
        Particle::Any { .. } => {}
    }
}

/// Whether `xs:any` appears in a content model.
pub(super) fn has_any(p: &Particle) -> bool {
    match p {
        Particle::Any { .. } => true,
        Particle::Element(_) => false,
        Particle::Sequence { items, .. } | Particle::Choice { items, .. } | Particle::All { items, .. } => {
            items.iter().any(has_any)
        }
    }
}

//! Simple types: restriction facets (enumeration, lengths, pattern, integer bounds), list and union.
//! Roots of restriction chains are found later, in the passes.

use super::Compiler;
use crate::wsdl::loader::xml::{attr, xsd_child, xsd_children};
use crate::wsdl::model::{Builtin, QName, SimpleType, TypeDef, TypeId, TypeRef};
use roxmltree::Node;

/// What a simple type refers to, resolved by the passes once every type is compiled.
#[derive(Debug, Default, Clone)]
pub(super) struct RawSimple {
    /// Restriction base (a built-in, a simple type, or a complex type with simple content).
    pub base: Option<TypeRef>,
    /// `xs:list` item type.
    pub item: Option<TypeRef>,
    /// Integer bounds from min/max Inclusive/Exclusive facets.
    pub min: Option<i128>,
    pub max: Option<i128>,
}

/// Whether an XSD element name is a constraining facet.
pub(super) fn is_facet(name: &str) -> bool {
    matches!(
        name,
        "enumeration"
            | "length"
            | "minLength"
            | "maxLength"
            | "pattern"
            | "minInclusive"
            | "maxInclusive"
            | "minExclusive"
            | "maxExclusive"
            | "totalDigits"
            | "fractionDigits"
            | "whiteSpace"
            | "assertion"
            | "explicitTimezone"
    )
}

impl<'a, 'i> Compiler<'a, 'i> {
    /// Compiles a `simpleType` element.
    pub(super) fn simple(
        &mut self,
        id: TypeId,
        unit: usize,
        node: Node<'a, 'i>,
        name: Option<QName>,
    ) -> SimpleType {
        let mut st = SimpleType {
            name,
            ..SimpleType::default()
        };
        let mut raw = RawSimple::default();
        for child in xsd_children(node) {
            match child.tag_name().name() {
                "restriction" => self.restriction(unit, child, &mut st, &mut raw),
                "list" => raw.item = Some(self.list_item(unit, child)),
                "union" => st.base = Some(Builtin::AnySimpleType),
                "annotation" => {}
                other => self.problem(
                    unit,
                    child,
                    format!("xs:{other} in a simple type is not supported"),
                ),
            }
        }
        self.pending.simple.insert(id, raw);
        st
    }

    /// A restriction's base and facets.
    fn restriction(&mut self, unit: usize, node: Node<'a, 'i>, st: &mut SimpleType, raw: &mut RawSimple) {
        raw.base = Some(match (xsd_child(node, "simpleType"), attr(node, "base")) {
            (Some(inline), _) => self.anonymous_type(unit, inline),
            (None, Some(value)) => self.type_ref(unit, node, value),
            (None, None) => TypeRef::Builtin(Builtin::AnySimpleType),
        });
        let mut patterns = Vec::new();
        for facet in xsd_children(node) {
            let value = facet.attribute("value").unwrap_or("");
            let number = value.trim().parse::<i128>().ok();
            match facet.tag_name().name() {
                "enumeration" => st.enumeration.push(value.to_string()),
                "length" => {
                    st.min_length = value.trim().parse().ok();
                    st.max_length = st.min_length;
                }
                "minLength" => st.min_length = value.trim().parse().ok(),
                "maxLength" => st.max_length = value.trim().parse().ok(),
                "pattern" => patterns.push(value.to_string()),
                "minInclusive" => raw.min = number,
                "minExclusive" => raw.min = number.and_then(|n| n.checked_add(1)),
                "maxInclusive" => raw.max = number,
                "maxExclusive" => raw.max = number.and_then(|n| n.checked_sub(1)),
                _ => {}
            }
        }
        st.pattern = join_patterns(patterns);
    }

    /// The item type of an `xs:list`.
    fn list_item(&mut self, unit: usize, node: Node<'a, 'i>) -> TypeRef {
        match (attr(node, "itemType"), xsd_child(node, "simpleType")) {
            (Some(value), _) => self.type_ref(unit, node, value),
            (None, Some(inline)) => self.anonymous_type(unit, inline),
            (None, None) => TypeRef::Builtin(Builtin::AnySimpleType),
        }
    }

    /// The text type of a `simpleContent` restriction with facets: a new anonymous simple type.
    pub(super) fn restricted_text(&mut self, unit: usize, deriv: Node<'a, 'i>) -> TypeRef {
        let id = self.push_type(TypeDef::Simple(SimpleType::default()));
        let mut st = SimpleType::default();
        let mut raw = RawSimple::default();
        self.restriction(unit, deriv, &mut st, &mut raw);
        self.pending.simple.insert(id, raw);
        self.set_type(id, TypeDef::Simple(st));
        TypeRef::Type(id)
    }
}

/// Several patterns of one restriction step are alternatives.
fn join_patterns(patterns: Vec<String>) -> Option<String> {
    match patterns.len() {
        0 => None,
        1 => patterns.into_iter().next(),
        _ => Some(
            patterns
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join("|"),
        ),
    }
}

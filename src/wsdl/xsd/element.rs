//! Element and attribute declarations: local, global and by reference, qualified per `form`,
//! `elementFormDefault` and `attributeFormDefault`; attribute groups and `anyAttribute`.

use super::{placeholder_element, show, Compiler};
use crate::wsdl::loader::xml::{attr, bool_attr, xsd_child, xsd_children};
use crate::wsdl::model::{
    AttributeDecl, Builtin, ComplexType, ElementDecl, ElementId, MaxOccurs, QName, TypeId, TypeRef,
};
use crate::wsdl::ns;
use roxmltree::Node;

impl<'a, 'i> Compiler<'a, 'i> {
    /// A local element (or `ref=` to a global one) with its occurrence; returns its new index.
    pub(super) fn local_element(
        &mut self,
        unit: usize,
        node: Node<'a, 'i>,
        min: u32,
        max: MaxOccurs,
    ) -> ElementId {
        if let Some(value) = attr(node, "ref") {
            return self.element_ref(unit, node, value, min, max);
        }
        let local = attr(node, "name").unwrap_or_default();
        if local.is_empty() {
            self.problem(unit, node, "a local xs:element has neither name nor ref".into());
        }
        let qualified = match attr(node, "form") {
            Some(form) => form == "qualified",
            None => self.units.get(unit).is_some_and(|u| u.elements_qualified),
        };
        let ns = if qualified {
            self.unit_tns(unit)
        } else {
            String::new()
        };
        let mut decl = placeholder_element(QName::new(ns, local), min, max);
        let id = self.push_element(decl.clone());
        self.check_element_children(unit, node);
        decl.ty = self
            .element_type(unit, node)
            .unwrap_or(TypeRef::Builtin(Builtin::AnyType));
        self.read_element_facets(node, &mut decl);
        if let Some(slot) = self.schema.elements.get_mut(id) {
            *slot = decl;
        }
        id
    }

    /// `element ref=`: a local copy that the passes complete from the global declaration.
    fn element_ref(&mut self, unit: usize, node: Node, value: &str, min: u32, max: MaxOccurs) -> ElementId {
        let name = self
            .qname(unit, node, value)
            .unwrap_or_else(|| QName::new("", value));
        let id = self.push_element(placeholder_element(name.clone(), min, max));
        if ns::is_xsd(&name.ns) {
            return id; // `ref="xs:schema"` (.NET DataSet): any content
        }
        let global = self.schema.global_elements.get(&name).copied();
        match global.or_else(|| self.unprefixed_element(unit, node, value)) {
            Some(global) => self.pending.element_refs.push((id, global)),
            None => self.unresolved(unit, node, "element", &name, "treated as anyType"),
        }
        id
    }

    /// A sloppy unprefixed element ref that names an element of the schema's own namespace.
    fn unprefixed_element(&mut self, unit: usize, node: Node, value: &str) -> Option<ElementId> {
        if value.contains(':') {
            return None;
        }
        let own = QName::new(self.unit_tns(unit), value);
        let id = self.schema.global_elements.get(&own).copied()?;
        let msg = format!(
            "element ref `{value}` is read as `{}` (unprefixed name in the wrong namespace)",
            show(&own)
        );
        self.warn(unit, node, msg);
        Some(id)
    }

    /// Content an element declaration cannot have is reported, not dropped silently.
    fn check_element_children(&mut self, unit: usize, node: Node) {
        for child in xsd_children(node) {
            let name = child.tag_name().name();
            if !matches!(
                name,
                "annotation" | "complexType" | "simpleType" | "unique" | "key" | "keyref" | "alternative"
            ) {
                self.problem(
                    unit,
                    child,
                    format!("xs:{name} directly inside xs:element is not valid XSD; ignored"),
                );
            }
        }
    }

    /// A global element declaration.
    pub(super) fn global_element(
        &mut self,
        id: ElementId,
        unit: usize,
        node: Node<'a, 'i>,
        name: QName,
    ) -> ElementDecl {
        let mut decl = placeholder_element(name, 1, MaxOccurs::Bounded(1));
        self.check_element_children(unit, node);
        match self.element_type(unit, node) {
            Some(t) => decl.ty = t,
            None if attr(node, "substitutionGroup").is_some() => self.pending.typeless.push(id),
            None => {}
        }
        self.read_element_facets(node, &mut decl);
        for head in attr(node, "substitutionGroup").unwrap_or("").split_whitespace() {
            let Some(q) = self.qname(unit, node, head) else {
                continue;
            };
            match self.schema.global_elements.get(&q) {
                Some(h) => self.pending.heads.push((id, *h)),
                None => self.unresolved(unit, node, "substitution group head", &q, "membership ignored"),
            }
        }
        decl
    }

    /// `nillable`, `abstract`, `default`, `fixed`.
    fn read_element_facets(&self, node: Node, decl: &mut ElementDecl) {
        decl.nillable = bool_attr(node, "nillable");
        decl.is_abstract = bool_attr(node, "abstract");
        decl.default = node.attribute("default").map(str::to_string);
        decl.fixed = node.attribute("fixed").map(str::to_string);
    }

    /// The declared type: `type=`, an anonymous type, or `None` (anyType unless a substitution head gives one).
    fn element_type(&mut self, unit: usize, node: Node<'a, 'i>) -> Option<TypeRef> {
        if let Some(value) = attr(node, "type") {
            return Some(self.type_ref(unit, node, value));
        }
        let anonymous =
            xsd_children(node).find(|c| matches!(c.tag_name().name(), "complexType" | "simpleType"));
        anonymous.map(|t| self.anonymous_type(unit, t))
    }

    /// One `attribute`, `attributeGroup` or `anyAttribute` of a complex type.
    pub(super) fn attribute_item(
        &mut self,
        id: TypeId,
        unit: usize,
        node: Node<'a, 'i>,
        ct: &mut ComplexType,
    ) {
        match node.tag_name().name() {
            "anyAttribute" => ct.any_attribute = true,
            "attributeGroup" => self.attribute_group(id, unit, node, ct),
            _ => {
                let Some(decl) = self.attribute(unit, node) else {
                    return;
                };
                if attr(node, "use") == Some("prohibited") {
                    self.pending.prohibited.entry(id).or_default().push(decl.name);
                    return;
                }
                match ct.attributes.iter_mut().find(|a| a.name == decl.name) {
                    Some(existing) => *existing = decl,
                    None => ct.attributes.push(decl),
                }
            }
        }
    }

    /// `<attributeGroup ref=...>`: its attributes, expanded in place (recursive groups stop).
    fn attribute_group(&mut self, id: TypeId, unit: usize, node: Node<'a, 'i>, ct: &mut ComplexType) {
        let Some(q) = attr(node, "ref").and_then(|v| self.qname(unit, node, v)) else {
            return;
        };
        let Some(group) = self.globals.attribute_groups.get(&q).copied() else {
            self.unresolved(unit, node, "attributeGroup", &q, "its attributes are missing");
            return;
        };
        if self.active.contains(&q) {
            let issue = format!(
                "attributeGroup `{}` contains itself; the inner use is ignored",
                show(&q)
            );
            self.problem(unit, node, issue);
            return;
        }
        if self.over_budget(unit, node) || !self.enter(unit, node) {
            return;
        }
        self.active.push(q);
        for child in xsd_children(group.node) {
            if matches!(
                child.tag_name().name(),
                "attribute" | "attributeGroup" | "anyAttribute"
            ) {
                self.attribute_item(id, group.unit, child, ct);
            }
        }
        self.active.pop();
        self.leave();
    }

    /// A local attribute declaration or a reference to a global one.
    fn attribute(&mut self, unit: usize, node: Node<'a, 'i>) -> Option<AttributeDecl> {
        let mut decl = match attr(node, "ref") {
            Some(value) => {
                let q = self.qname(unit, node, value)?;
                self.global_attribute(unit, node, q)
            }
            None => {
                let local = attr(node, "name")?;
                let qualified = match attr(node, "form") {
                    Some(form) => form == "qualified",
                    None => self.units.get(unit).is_some_and(|u| u.attributes_qualified),
                };
                let ns = if qualified {
                    self.unit_tns(unit)
                } else {
                    String::new()
                };
                self.attribute_decl(unit, node, QName::new(ns, local))
            }
        };
        decl.required = attr(node, "use") == Some("required");
        if let Some(d) = node.attribute("default") {
            decl.default = Some(d.to_string());
        }
        if let Some(f) = node.attribute("fixed") {
            decl.fixed = Some(f.to_string());
        }
        Some(decl)
    }

    /// A global attribute by name (compiled once); well-known namespaces need no declaration.
    fn global_attribute(&mut self, unit: usize, node: Node, q: QName) -> AttributeDecl {
        if let Some(decl) = self.attribute_cache.get(&q) {
            return decl.clone();
        }
        let decl = match self.globals.attributes.get(&q).copied() {
            Some(global) => self.attribute_decl(global.unit, global.node, q.clone()),
            None => {
                let well_known = [ns::XML, ns::WSDL, crate::soap::NS_XSI].contains(&q.ns.as_str());
                if !well_known && !ns::is_soap_enc(&q.ns) && !ns::is_xsd(&q.ns) {
                    self.unresolved(unit, node, "attribute", &q, "typed as anySimpleType");
                }
                any_simple_attribute(q.clone())
            }
        };
        self.attribute_cache.insert(q, decl.clone());
        decl
    }

    /// An attribute's name and type (`type=`, an inline simple type, or anySimpleType).
    fn attribute_decl(&mut self, unit: usize, node: Node<'a, 'i>, name: QName) -> AttributeDecl {
        let ty = match (attr(node, "type"), xsd_child(node, "simpleType")) {
            (Some(value), _) => self.type_ref(unit, node, value),
            (None, Some(inline)) => self.anonymous_type(unit, inline),
            (None, None) => TypeRef::Builtin(Builtin::AnySimpleType),
        };
        let mut decl = any_simple_attribute(name);
        decl.ty = ty;
        decl.default = node.attribute("default").map(str::to_string);
        decl.fixed = node.attribute("fixed").map(str::to_string);
        decl
    }
}

fn any_simple_attribute(name: QName) -> AttributeDecl {
    AttributeDecl {
        name,
        ty: TypeRef::Builtin(Builtin::AnySimpleType),
        required: false,
        default: None,
        fixed: None,
    }
}

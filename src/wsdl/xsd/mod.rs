//! XML Schema compilation: every `xs:schema` of a WSDL (inline, imported, included) into one
//! [`Schema`] graph whose types and elements are addressed by index.
//!
//! Global components get their indices first, so references (also recursive ones) are plain indices;
//! everything that depends on other types (restriction roots, extension content, substitution groups,
//! `derived`) is filled in by later passes that walk chains with visited sets.

pub mod builtins;
mod complex;
mod element;
mod passes;
mod simple;
mod units;

#[cfg(test)]
mod tests;

pub use builtins::{builtin, builtin_by_qname};

use super::loader::xml::{self, show};
use super::loader::Doc;
use super::model::{
    Builtin, ComplexType, Content, Derivation, ElementDecl, ElementId, MaxOccurs, QName, Schema, TypeDef,
    TypeId, TypeRef,
};
use super::ns;
use roxmltree::Node;
use std::collections::{HashMap, HashSet};
use units::{Globals, Unit};

/// Deepest nesting of anonymous types, particles and groups followed (deeper input is cut with a warning).
const MAX_DEPTH: usize = 96;
/// Most elements + types + inherited children + derived/substitute entries in one schema graph; group
/// expansion and inheritance stop there (hostile schemas could otherwise grow it quadratically or more).
pub(super) const MAX_GRAPH: usize = 500_000;

/// A compiled schema set and what went wrong on the way.
pub(crate) struct Compiled {
    pub schema: Schema,
    pub warnings: Vec<String>,
    pub issues: Issues,
}

/// The global component whose definition a problem sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Owner {
    Type(TypeId),
    Element(ElementId),
}

/// Problems (unresolved names, unsupported constructs) per owning global component, so that the
/// operations whose messages reach them can report them.
#[derive(Debug, Default)]
pub(crate) struct Issues {
    by_owner: HashMap<Owner, Vec<String>>,
}

impl Issues {
    fn add(&mut self, owner: Owner, issue: String) {
        let list = self.by_owner.entry(owner).or_default();
        if !list.contains(&issue) {
            list.push(issue);
        }
    }

    fn copy(&mut self, from: Owner, to: Owner) {
        if let Some(list) = self.by_owner.get(&from).cloned() {
            for issue in list {
                self.add(to, issue);
            }
        }
    }

    /// Every problem reachable from these elements and types through the type graph.
    pub(crate) fn reachable(
        &self,
        schema: &Schema,
        elements: &[ElementId],
        types: &[TypeRef],
    ) -> Vec<String> {
        let mut found = Vec::new();
        if self.by_owner.is_empty() {
            return found;
        }
        let mut stack: Vec<Owner> = elements.iter().map(|e| Owner::Element(*e)).collect();
        stack.extend(types.iter().filter_map(|t| type_owner(*t)));
        let mut seen = HashSet::new();
        while let Some(owner) = stack.pop() {
            if !seen.insert(owner) {
                continue;
            }
            for issue in self.by_owner.get(&owner).into_iter().flatten() {
                if !found.contains(issue) {
                    found.push(issue.clone());
                }
            }
            next_owners(schema, owner, &mut stack);
        }
        found
    }
}

fn type_owner(t: TypeRef) -> Option<Owner> {
    match t {
        TypeRef::Type(id) => Some(Owner::Type(id)),
        TypeRef::Builtin(_) => None,
    }
}

/// The components one step away from `owner` in the type graph.
fn next_owners(schema: &Schema, owner: Owner, stack: &mut Vec<Owner>) {
    match owner {
        Owner::Element(id) => {
            if let Some(e) = schema.elements.get(id) {
                stack.extend(type_owner(e.ty));
                stack.extend(e.substitutes.iter().map(|s| Owner::Element(*s)));
            }
        }
        Owner::Type(id) => {
            if let Some(TypeDef::Complex(c)) = schema.types.get(id) {
                stack.extend(c.children.iter().map(|ch| Owner::Element(ch.element)));
                stack.extend(c.base.map(Owner::Type));
                stack.extend(c.attributes.iter().filter_map(|a| type_owner(a.ty)));
                stack.extend(c.soapenc_array_of.and_then(type_owner));
                if let Content::Simple(t) = c.content {
                    stack.extend(type_owner(t));
                }
            }
        }
    }
}

/// Compiles every schema reachable from the documents' `wsdl:types` (and schema documents they import).
pub(crate) fn compile(docs: &[Doc<'_>], remote: bool) -> Compiled {
    let mut warnings = Vec::new();
    let units = units::discover(docs, remote, &mut warnings);
    let globals = units::collect_globals(docs, &units, &mut warnings);
    let mut compiler = Compiler {
        docs,
        units,
        globals,
        schema: Schema::default(),
        warnings,
        issues: Issues::default(),
        owner: Owner::Type(0),
        pending: Pending::default(),
        attribute_cache: HashMap::new(),
        active: Vec::new(),
        depth: 0,
    };
    compiler.compile_globals();
    passes::run(&mut compiler);
    Compiled {
        schema: compiler.schema,
        warnings: compiler.warnings,
        issues: compiler.issues,
    }
}

/// Facts kept from compilation for the passes that need every type compiled first.
#[derive(Default)]
pub(super) struct Pending {
    /// Simple types: restriction base, list item type, integer bounds from facets.
    simple: HashMap<TypeId, simple::RawSimple>,
    /// Complex types: attribute names a restriction prohibits.
    prohibited: HashMap<TypeId, Vec<QName>>,
    /// (local copy, global element) for `element ref=`.
    element_refs: Vec<(ElementId, ElementId)>,
    /// (member, head) of substitution groups.
    heads: Vec<(ElementId, ElementId)>,
    /// Global elements without a type of their own (they take their head's).
    typeless: Vec<ElementId>,
}

/// The compilation state.
pub(super) struct Compiler<'a, 'i> {
    docs: &'a [Doc<'i>],
    units: Vec<Unit<'a, 'i>>,
    globals: Globals<'a, 'i>,
    schema: Schema,
    warnings: Vec<String>,
    issues: Issues,
    /// The global component being compiled (problems are filed under it).
    owner: Owner,
    pending: Pending,
    attribute_cache: HashMap<QName, super::model::AttributeDecl>,
    /// Groups and attribute groups being expanded (to stop recursive definitions).
    active: Vec<QName>,
    depth: usize,
}

impl<'a, 'i> Compiler<'a, 'i> {
    /// Allocates every global type and element, then compiles each in document order.
    fn compile_globals(&mut self) {
        let types = self.globals.types.clone();
        let elements = self.globals.elements.clone();
        let mut type_ids = Vec::with_capacity(types.len());
        for (name, _) in &types {
            let id = self.push_type(TypeDef::Complex(empty_complex(Some(name.clone()))));
            self.schema.global_types.insert(name.clone(), id);
            type_ids.push(id);
        }
        let mut element_ids = Vec::with_capacity(elements.len());
        for (name, _) in &elements {
            let id = self.push_element(placeholder_element(name.clone(), 1, MaxOccurs::Bounded(1)));
            self.schema.global_elements.insert(name.clone(), id);
            element_ids.push(id);
        }
        for (id, (name, global)) in type_ids.into_iter().zip(types) {
            self.owner = Owner::Type(id);
            let def = self.type_def(id, global.unit, global.node, Some(name));
            self.set_type(id, def);
        }
        for (id, (name, global)) in element_ids.into_iter().zip(elements) {
            self.owner = Owner::Element(id);
            let decl = self.global_element(id, global.unit, global.node, name);
            if let Some(slot) = self.schema.elements.get_mut(id) {
                *slot = decl;
            }
        }
    }

    fn push_type(&mut self, def: TypeDef) -> TypeId {
        self.schema.types.push(def);
        self.schema.types.len() - 1
    }

    fn set_type(&mut self, id: TypeId, def: TypeDef) {
        if let Some(slot) = self.schema.types.get_mut(id) {
            *slot = def;
        }
    }

    fn push_element(&mut self, decl: ElementDecl) -> ElementId {
        self.schema.elements.push(decl);
        self.schema.elements.len() - 1
    }

    /// Compiles a `complexType` or `simpleType` element.
    fn type_def(&mut self, id: TypeId, unit: usize, node: Node<'a, 'i>, name: Option<QName>) -> TypeDef {
        if xml::is_xsd(node, "simpleType") {
            TypeDef::Simple(self.simple(id, unit, node, name))
        } else {
            TypeDef::Complex(self.complex(id, unit, node, name))
        }
    }

    /// Compiles an anonymous type definition into a new index.
    fn anonymous_type(&mut self, unit: usize, node: Node<'a, 'i>) -> TypeRef {
        if !self.enter(unit, node) {
            return TypeRef::Builtin(Builtin::AnyType);
        }
        let id = self.push_type(TypeDef::Complex(empty_complex(None)));
        let def = self.type_def(id, unit, node, None);
        self.set_type(id, def);
        self.leave();
        TypeRef::Type(id)
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Whether the graph is too large to expand further (warned once, filed under the current owner).
    fn over_budget(&mut self, unit: usize, node: Node) -> bool {
        let over = self.schema.elements.len() + self.schema.types.len() > MAX_GRAPH;
        if over {
            let issue = format!("the schema grows beyond {MAX_GRAPH} components; expansion stops");
            if self.issues.by_owner.is_empty() || !self.warnings.iter().any(|w| w.ends_with(&issue)) {
                self.warn(unit, node, issue.clone());
            }
            self.issues.add(self.owner, issue);
        }
        over
    }

    /// Guards recursion depth; false (with a warning) when nesting goes too deep.
    fn enter(&mut self, unit: usize, node: Node) -> bool {
        if self.depth >= MAX_DEPTH {
            let issue = format!("nesting deeper than {MAX_DEPTH} levels is cut off");
            self.problem(unit, node, issue);
            return false;
        }
        self.depth += 1;
        true
    }

    /// Resolves a QName value in the scope of `node`; chameleon units take no-namespace names as theirs.
    fn qname(&mut self, unit: usize, node: Node, value: &str) -> Option<QName> {
        match xml::resolve_qname(node, value) {
            Ok(mut q) => {
                if let Some(u) = self.units.get(unit) {
                    if q.ns.is_empty() && u.chameleon {
                        q.ns = u.tns.clone();
                    }
                }
                Some(q)
            }
            Err(msg) => {
                self.problem(unit, node, msg);
                None
            }
        }
    }

    /// A type reference by QName value: built-in, SOAP-ENC or global; unresolved ones become `anyType`.
    fn type_ref(&mut self, unit: usize, node: Node, value: &str) -> TypeRef {
        let Some(q) = self.qname(unit, node, value) else {
            return TypeRef::Builtin(Builtin::AnyType);
        };
        if let Some(t) = resolve_type_name(&mut self.schema, &q) {
            return t;
        }
        match self.unprefixed_fallback(unit, value, &q) {
            Some((t, found)) => {
                let msg =
                    format!("type `{value}` is read as `{found}` (unprefixed name in the wrong namespace)");
                self.warn(unit, node, msg);
                t
            }
            None => self.type_by_name(unit, node, &q),
        }
    }

    /// A sloppy unprefixed type name: the schema's own namespace, then an XSD built-in.
    fn unprefixed_fallback(&mut self, unit: usize, value: &str, q: &QName) -> Option<(TypeRef, String)> {
        if value.contains(':') {
            return None;
        }
        let own = QName::new(self.unit_tns(unit), q.local.clone());
        if own != *q {
            if let Some(id) = self.schema.global_types.get(&own) {
                return Some((TypeRef::Type(*id), show(&own)));
            }
        }
        builtin(&q.local).map(|b| (TypeRef::Builtin(b), format!("xs:{}", q.local)))
    }

    /// A type reference by name; unresolved ones are reported and become `anyType`.
    fn type_by_name(&mut self, unit: usize, node: Node, q: &QName) -> TypeRef {
        match resolve_type_name(&mut self.schema, q) {
            Some(t) => t,
            None => {
                self.unresolved(unit, node, "type", q, "treated as anyType");
                TypeRef::Builtin(Builtin::AnyType)
            }
        }
    }

    /// Records an unresolved reference: a warning and an issue of the current owner.
    fn unresolved(&mut self, unit: usize, node: Node, what: &str, q: &QName, consequence: &str) {
        let issue = format!("unresolved {what} `{}` ({consequence})", show(q));
        self.problem(unit, node, issue);
    }

    /// Records a problem: a warning with its place, and an issue of the current owner.
    fn problem(&mut self, unit: usize, node: Node, issue: String) {
        let place = self.place(unit, node);
        let warning = format!("{place}: {issue}");
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
        self.issues.add(self.owner, issue);
    }

    /// A warning that affects no operation's shape.
    fn warn(&mut self, unit: usize, node: Node, msg: String) {
        let warning = format!("{}: {msg}", self.place(unit, node));
        if !self.warnings.contains(&warning) {
            self.warnings.push(warning);
        }
    }

    /// `location:line` of a node.
    fn place(&self, unit: usize, node: Node) -> String {
        let doc = self.units.get(unit).and_then(|u| self.docs.get(u.doc));
        match doc {
            Some(d) => format!("{}:{}", d.location, d.xml.text_pos_at(node.range().start).row),
            None => "schema".to_string(),
        }
    }

    fn unit_tns(&self, unit: usize) -> String {
        self.units.get(unit).map(|u| u.tns.clone()).unwrap_or_default()
    }
}

/// A complex type with no content yet.
pub(super) fn empty_complex(name: Option<QName>) -> ComplexType {
    ComplexType {
        name,
        base: None,
        derivation: Derivation::None,
        is_abstract: false,
        mixed: false,
        content: Content::Empty,
        children: Vec::new(),
        child_index: Default::default(),
        attributes: Vec::new(),
        open: false,
        any_attribute: false,
        soapenc_array_of: None,
        derived: Vec::new(),
    }
}

/// An element of type `anyType` (filled in later, or kept when its type cannot be resolved).
pub(super) fn placeholder_element(name: QName, min: u32, max: MaxOccurs) -> ElementDecl {
    ElementDecl {
        name,
        ty: TypeRef::Builtin(Builtin::AnyType),
        min,
        max,
        nillable: false,
        is_abstract: false,
        default: None,
        fixed: None,
        substitutes: Vec::new(),
    }
}

/// Looks up a type by name in a compiled schema (for `xsi:type` values): XSD built-ins, SOAP-ENC
/// built-ins (`soapenc:string`, `soapenc:base64`, ...) and global types.
pub fn type_by_qname(schema: &Schema, q: &QName) -> Option<TypeRef> {
    if let Some(id) = schema.global_types.get(q) {
        return Some(TypeRef::Type(*id));
    }
    if ns::is_xsd(&q.ns) || ns::is_soap_enc(&q.ns) {
        let local = if q.local == "base64" {
            "base64Binary"
        } else {
            q.local.as_str()
        };
        return builtin(local).map(TypeRef::Builtin);
    }
    None
}

/// Resolves a type name: XSD built-ins, SOAP-ENC types (their complex ones are added on first use),
/// then the schema's global types.
pub(crate) fn resolve_type_name(schema: &mut Schema, q: &QName) -> Option<TypeRef> {
    if ns::is_xsd(&q.ns) {
        return builtin(&q.local).map(TypeRef::Builtin);
    }
    if let Some(id) = schema.global_types.get(q) {
        return Some(TypeRef::Type(*id));
    }
    if ns::is_soap_enc(&q.ns) {
        return soapenc_type(schema, q);
    }
    None
}

/// `soapenc:string` and friends are built-ins; `soapenc:Array`/`Struct` are open complex types.
fn soapenc_type(schema: &mut Schema, q: &QName) -> Option<TypeRef> {
    let local = q.local.as_str();
    if local == "base64" {
        return Some(TypeRef::Builtin(Builtin::Base64Binary));
    }
    if let Some(b) = builtin(local) {
        return Some(TypeRef::Builtin(b));
    }
    if !matches!(local, "Array" | "Struct") {
        return None;
    }
    let name = q.clone();
    let mut ct = empty_complex(Some(name.clone()));
    ct.open = true;
    ct.any_attribute = true;
    if local == "Array" {
        ct.soapenc_array_of = Some(TypeRef::Builtin(Builtin::AnyType));
    }
    schema.types.push(TypeDef::Complex(ct));
    let id = schema.types.len() - 1;
    schema.global_types.insert(name, id);
    Some(TypeRef::Type(id))
}

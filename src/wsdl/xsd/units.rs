//! Which schemas make up a WSDL's type system (inline, imported, included, chameleon-included) and
//! the global components each one declares.

use crate::wsdl::loader::docs::{resolve, schemas_of, Resolved};
use crate::wsdl::loader::xml::{attr, children_named, is, xsd_children};
use crate::wsdl::loader::Doc;
use crate::wsdl::model::QName;
use crate::wsdl::ns;
use roxmltree::{Node, NodeId};
use std::collections::{HashMap, HashSet, VecDeque};

/// One `xs:schema` element with its effective target namespace.
pub(super) struct Unit<'a, 'i> {
    pub doc: usize,
    pub node: Node<'a, 'i>,
    pub tns: String,
    /// Included without a targetNamespace of its own: no-namespace references mean `tns`.
    pub chameleon: bool,
    pub elements_qualified: bool,
    pub attributes_qualified: bool,
}

/// A global declaration: where it is and in which unit.
#[derive(Clone, Copy)]
pub(super) struct Global<'a, 'i> {
    pub unit: usize,
    pub node: Node<'a, 'i>,
}

/// All global declarations by name (types and elements in document order).
#[derive(Default)]
pub(super) struct Globals<'a, 'i> {
    pub types: Vec<(QName, Global<'a, 'i>)>,
    pub elements: Vec<(QName, Global<'a, 'i>)>,
    pub groups: HashMap<QName, Global<'a, 'i>>,
    pub attribute_groups: HashMap<QName, Global<'a, 'i>>,
    pub attributes: HashMap<QName, Global<'a, 'i>>,
}

type Queued<'a, 'i> = (usize, Node<'a, 'i>, Option<String>);

/// Finds every schema unit, following imports and includes; each (schema, namespace) once.
pub(super) fn discover<'a, 'i>(
    docs: &'a [Doc<'i>],
    remote: bool,
    warnings: &mut Vec<String>,
) -> Vec<Unit<'a, 'i>> {
    let index: HashMap<&str, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.location.as_str(), i))
        .collect();
    let mut queue: VecDeque<Queued> = seeds(docs, &index, remote).into();
    let mut seen: HashSet<(usize, NodeId, String)> = HashSet::new();
    let mut units = Vec::new();
    while let Some((doc, node, includer)) = queue.pop_front() {
        let location = docs.get(doc).map_or("", |d| d.location.as_str());
        let (tns, chameleon) = effective_namespace(node, includer, location, warnings);
        if !seen.insert((doc, node.id(), tns.clone())) {
            continue;
        }
        for (target, include) in references(docs, &index, location, node, remote, warnings) {
            if let Some(d) = docs.get(target) {
                for schema in schemas_of(d.xml.root_element()) {
                    queue.push_back((target, schema, include.then(|| tns.clone())));
                }
            }
        }
        units.push(Unit {
            doc,
            node,
            tns,
            chameleon,
            elements_qualified: attr(node, "elementFormDefault") == Some("qualified"),
            attributes_qualified: attr(node, "attributeFormDefault") == Some("qualified"),
        });
    }
    units
}

/// A schema's target namespace; an included one without its own takes the includer's (chameleon).
fn effective_namespace(
    node: Node,
    includer: Option<String>,
    location: &str,
    warnings: &mut Vec<String>,
) -> (String, bool) {
    let own = attr(node, "targetNamespace").unwrap_or("").to_string();
    match includer {
        Some(t) if own.is_empty() => {
            let chameleon = !t.is_empty();
            (t, chameleon)
        }
        Some(t) if t != own => {
            warnings.push(format!(
                "{location}: included schema has targetNamespace `{own}`, the including one `{t}`"
            ));
            (own, false)
        }
        _ => (own, false),
    }
}

/// Inline schemas of every WSDL document, and schema documents named by a `wsdl:import`.
fn seeds<'a, 'i>(docs: &'a [Doc<'i>], index: &HashMap<&str, usize>, remote: bool) -> Vec<Queued<'a, 'i>> {
    let mut seeds = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let root = doc.xml.root_element();
        if !is(root, ns::WSDL, "definitions") {
            continue;
        }
        seeds.extend(schemas_of(root).into_iter().map(|s| (i, s, None)));
        for import in children_named(root, ns::WSDL, "import") {
            let Some(Resolved::Fetch(target)) =
                attr(import, "location").map(|l| resolve(&doc.location, l, remote))
            else {
                continue;
            };
            let Some((j, imported)) = index.get(target.as_str()).and_then(|j| Some((*j, docs.get(*j)?)))
            else {
                continue;
            };
            let root = imported.xml.root_element();
            if crate::wsdl::loader::xml::is_xsd(root, "schema") {
                seeds.push((j, root, None));
            }
        }
    }
    seeds
}

/// (document index, is-include) of every import/include/redefine with a loaded schemaLocation.
fn references(
    docs: &[Doc],
    index: &HashMap<&str, usize>,
    location: &str,
    schema: Node,
    remote: bool,
    warnings: &mut Vec<String>,
) -> Vec<(usize, bool)> {
    let mut found = Vec::new();
    for child in xsd_children(schema) {
        let kind = child.tag_name().name();
        if !matches!(kind, "import" | "include" | "redefine") {
            continue;
        }
        if kind == "redefine" {
            warnings.push(format!(
                "{location}: xs:redefine is read as xs:include; its redefinitions are ignored"
            ));
        }
        let Some(Resolved::Fetch(target)) =
            attr(child, "schemaLocation").map(|l| resolve(location, l, remote))
        else {
            continue;
        };
        if let Some(i) = index.get(target.as_str()).filter(|i| docs.get(**i).is_some()) {
            found.push((*i, kind != "import"));
        }
    }
    found
}

/// Collects the global declarations of every unit; the first declaration of a name wins.
pub(super) fn collect_globals<'a, 'i>(
    docs: &'a [Doc<'i>],
    units: &[Unit<'a, 'i>],
    warnings: &mut Vec<String>,
) -> Globals<'a, 'i> {
    let mut globals = Globals::default();
    let mut seen_types = HashSet::new();
    let mut seen_elements = HashSet::new();
    for (i, unit) in units.iter().enumerate() {
        for node in xsd_children(unit.node) {
            let kind = node.tag_name().name();
            let global = Global { unit: i, node };
            let Some(name) = attr(node, "name").map(|n| QName::new(unit.tns.clone(), n)) else {
                if matches!(
                    kind,
                    "element" | "complexType" | "simpleType" | "group" | "attributeGroup"
                ) {
                    let location = docs.get(unit.doc).map_or("", |d| d.location.as_str());
                    warnings.push(format!(
                        "{location}: a global xs:{kind} without a name is ignored"
                    ));
                }
                continue;
            };
            match kind {
                "complexType" | "simpleType" if seen_types.insert(name.clone()) => {
                    globals.types.push((name, global))
                }
                "element" if seen_elements.insert(name.clone()) => globals.elements.push((name, global)),
                "group" => {
                    globals.groups.entry(name).or_insert(global);
                }
                "attributeGroup" => {
                    globals.attribute_groups.entry(name).or_insert(global);
                }
                "attribute" => {
                    globals.attributes.entry(name).or_insert(global);
                }
                _ => {}
            }
        }
    }
    globals
}

//! Small roxmltree helpers shared by the WSDL and XSD readers: namespaced children, QName values, text.

use crate::wsdl::model::QName;
use crate::wsdl::ns;
use roxmltree::Node;

/// The namespace URI of an element (empty when it has none).
pub(crate) fn ns_of<'a>(node: Node<'a, '_>) -> &'a str {
    node.tag_name().namespace().unwrap_or("")
}

/// `{ns}local` of an element, for messages.
pub(crate) fn display_name(node: Node) -> String {
    match node.tag_name().namespace() {
        Some(ns) => format!("{{{ns}}}{}", node.tag_name().name()),
        None => node.tag_name().name().to_string(),
    }
}

/// Whether `node` is the element `local` in namespace `ns`.
pub(crate) fn is(node: Node, ns: &str, local: &str) -> bool {
    node.is_element() && node.tag_name().name() == local && ns_of(node) == ns
}

/// Whether `node` is an XML Schema element (any XSD namespace version) named `local`.
pub(crate) fn is_xsd(node: Node, local: &str) -> bool {
    node.is_element() && node.tag_name().name() == local && ns::is_xsd(ns_of(node))
}

/// Element children in namespace `ns`.
pub(crate) fn children_in<'a, 'i>(node: Node<'a, 'i>, ns: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| c.is_element() && ns_of(*c) == ns)
}

/// Element children named `local` in namespace `ns`.
pub(crate) fn children_named<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &'a str,
    local: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, ns, local))
}

/// The first element child named `local` in namespace `ns`.
pub(crate) fn child<'a, 'i>(node: Node<'a, 'i>, ns: &'a str, local: &'a str) -> Option<Node<'a, 'i>> {
    children_named(node, ns, local).next()
}

/// Element children in an XML Schema namespace.
pub(crate) fn xsd_children<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(|c| c.is_element() && ns::is_xsd(ns_of(*c)))
}

/// The first XML Schema element child named `local`.
pub(crate) fn xsd_child<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is_xsd(*c, local))
}

/// A non-empty, trimmed attribute value.
pub(crate) fn attr<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attribute(name).map(str::trim).filter(|v| !v.is_empty())
}

/// An `xs:boolean` attribute (`true`/`1`), false when absent.
pub(crate) fn bool_attr(node: Node, name: &str) -> bool {
    matches!(attr(node, name), Some("true" | "1"))
}

/// Resolves a `prefix:local` value in the scope of `node`; no prefix takes the default namespace.
pub(crate) fn resolve_qname(node: Node, value: &str) -> Result<QName, String> {
    let value = value.trim();
    match value.split_once(':') {
        Some((prefix, local)) => match node.lookup_namespace_uri(Some(prefix)) {
            Some(uri) => Ok(QName::new(uri, local)),
            None => Err(format!(
                "`{value}` uses the undeclared namespace prefix `{prefix}`"
            )),
        },
        None => Ok(QName::new(node.lookup_namespace_uri(None).unwrap_or(""), value)),
    }
}

/// All text inside `node`, trimmed; `None` when there is none.
pub(crate) fn text_of(node: Node) -> Option<String> {
    let text: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// `{ns}local` for messages.
pub(crate) fn show(q: &QName) -> String {
    if q.ns.is_empty() {
        q.local.clone()
    } else {
        format!("{{{}}}{}", q.ns, q.local)
    }
}

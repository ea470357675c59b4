//! WSDL 1.1 definitions (messages, portTypes, bindings, services) into one [`Operation`] per
//! (SOAP binding, operation) and one [`Port`] per SOAP port.

pub(crate) mod docs;
mod message;
pub(crate) mod xml;

#[cfg(test)]
mod tests;

pub(crate) use docs::Doc;

use super::model::{ElementId, Operation, Port, QName, Schema, Style, Wsdl};
use super::xsd::{self, Issues};
use super::{ns, WsdlError};
use crate::soap::SoapVersion;
use roxmltree::Node;
use std::collections::HashMap;
use xml::{attr, child, children_named, is, resolve_qname, show, text_of};

/// Loads the entry and everything it imports into the compiled model.
pub(crate) fn load(entry: &str, fetch: &dyn Fn(&str) -> Result<Vec<u8>, String>) -> Result<Wsdl, WsdlError> {
    let gathered = docs::gather(entry, fetch)?;
    let docs = gathered
        .sources
        .iter()
        .map(|s| {
            Ok(Doc {
                location: s.location.clone(),
                xml: docs::parse(&s.location, &s.text)?,
            })
        })
        .collect::<Result<Vec<_>, WsdlError>>()?;
    let compiled = xsd::compile(&docs, docs::is_http(entry));
    let root = docs.first().map(|d| d.xml.root_element());
    let mut warnings = gathered.warnings;
    warnings.extend(compiled.warnings);
    let wsdl = Wsdl {
        target_namespace: root
            .and_then(|r| attr(r, "targetNamespace"))
            .unwrap_or("")
            .to_string(),
        name: root.and_then(|r| attr(r, "name")).map(str::to_string),
        schema: compiled.schema,
        operations: Vec::new(),
        ports: Vec::new(),
        warnings,
    };
    let defs = Definitions::collect(&docs);
    let mut builder = Builder {
        defs: &defs,
        docs: &docs,
        issues: &compiled.issues,
        wsdl,
        missing: HashMap::new(),
    };
    let versions = builder.operations()?;
    builder.ports(&versions)?;
    Ok(builder.wsdl)
}

/// A `wsdl:binding` with the document it sits in.
struct Binding<'a, 'i> {
    name: QName,
    node: Node<'a, 'i>,
    doc: usize,
    tns: String,
}

/// The named components of every loaded WSDL document (the first definition of a name wins).
struct Definitions<'a, 'i> {
    messages: HashMap<QName, Node<'a, 'i>>,
    port_types: HashMap<QName, Node<'a, 'i>>,
    bindings: Vec<Binding<'a, 'i>>,
    services: Vec<(Node<'a, 'i>, usize)>,
}

impl<'a, 'i> Definitions<'a, 'i> {
    fn collect(docs: &'a [Doc<'i>]) -> Self {
        let mut defs = Definitions {
            messages: HashMap::new(),
            port_types: HashMap::new(),
            bindings: Vec::new(),
            services: Vec::new(),
        };
        for (i, doc) in docs.iter().enumerate() {
            let root = doc.xml.root_element();
            if !is(root, ns::WSDL, "definitions") {
                continue;
            }
            let tns = attr(root, "targetNamespace").unwrap_or("");
            for node in xml::children_in(root, ns::WSDL) {
                let Some(name) = attr(node, "name").map(|n| QName::new(tns, n)) else {
                    continue;
                };
                match node.tag_name().name() {
                    "message" => {
                        defs.messages.entry(name).or_insert(node);
                    }
                    "portType" => {
                        defs.port_types.entry(name).or_insert(node);
                    }
                    "binding" if !defs.bindings.iter().any(|b| b.name == name) => {
                        defs.bindings.push(Binding {
                            name,
                            node,
                            doc: i,
                            tns: tns.to_string(),
                        })
                    }
                    "service" => defs.services.push((node, i)),
                    _ => {}
                }
            }
        }
        defs
    }
}

/// Builds operations and ports into the model under construction.
struct Builder<'s, 'a, 'i> {
    defs: &'s Definitions<'a, 'i>,
    docs: &'s [Doc<'i>],
    issues: &'s Issues,
    wsdl: Wsdl,
    /// Stand-in elements for part elements no schema declares.
    missing: HashMap<QName, ElementId>,
}

impl<'s, 'a, 'i> Builder<'s, 'a, 'i> {
    /// One operation per SOAP binding operation; returns the SOAP version of each SOAP binding.
    fn operations(&mut self) -> Result<HashMap<QName, SoapVersion>, WsdlError> {
        let mut versions = HashMap::new();
        for binding in &self.defs.bindings {
            let Some(version) = binding_version(binding.node) else {
                let count = children_named(binding.node, ns::WSDL, "operation").count();
                let kind = match child(binding.node, ns::WSDL_HTTP, "binding") {
                    Some(_) => "an HTTP GET/POST binding",
                    None => "not a SOAP binding",
                };
                let warning = format!(
                    "binding `{}` is {kind}: its {count} operation(s) are skipped",
                    binding.name.local
                );
                self.wsdl.warnings.push(warning);
                continue;
            };
            let port_type = self.port_type(binding)?;
            for op in children_named(binding.node, ns::WSDL, "operation") {
                let operation = self.operation(binding, op, port_type, version);
                self.wsdl.operations.push(operation);
            }
            versions.insert(binding.name.clone(), version);
        }
        Ok(versions)
    }

    fn port_type(&mut self, binding: &Binding<'a, 'i>) -> Result<Node<'a, 'i>, WsdlError> {
        let value = attr(binding.node, "type").unwrap_or("");
        let name = resolve_qname(binding.node, value).unwrap_or_else(|_| QName::new("", value));
        let found = find(&self.defs.port_types, &name, "portType", &mut self.wsdl.warnings);
        found.ok_or_else(|| WsdlError::Unresolved {
            location: self.location(binding.doc),
            what: format!("portType (of binding `{}`)", binding.name.local),
            name: show(&name),
        })
    }

    fn location(&self, doc: usize) -> String {
        self.docs.get(doc).map(|d| d.location.clone()).unwrap_or_default()
    }

    /// One binding operation with its portType operation.
    fn operation(
        &mut self,
        binding: &Binding<'a, 'i>,
        op: Node<'a, 'i>,
        port_type: Node<'a, 'i>,
        version: SoapVersion,
    ) -> Operation {
        let name = attr(op, "name").unwrap_or("").to_string();
        let soap_op = soap_child(op, "operation");
        let soap_binding = soap_child(binding.node, "binding");
        let style = soap_op
            .and_then(|o| attr(o, "style"))
            .or_else(|| soap_binding.and_then(|b| attr(b, "style")));
        let abstract_op = find_abstract(port_type, &name, op);
        let mut operation = Operation {
            name: name.clone(),
            binding: binding.name.local.clone(),
            version,
            style: if style == Some("rpc") {
                Style::Rpc
            } else {
                Style::Document
            },
            action: action(soap_op, abstract_op),
            input: None,
            output: None,
            faults: Vec::new(),
            documentation: abstract_op.and_then(documentation).or_else(|| documentation(op)),
            unsupported: Vec::new(),
        };
        check_transport(&mut operation, soap_binding);
        let Some(abstract_op) = abstract_op else {
            let pt = attr(port_type, "name").unwrap_or("");
            operation
                .unsupported
                .push(format!("operation `{name}` is not in portType `{pt}`"));
            return operation;
        };
        self.fill_messages(&mut operation, binding, op, abstract_op);
        operation
    }

    /// Ports of SOAP bindings (ports of skipped bindings are skipped with them).
    fn ports(&mut self, versions: &HashMap<QName, SoapVersion>) -> Result<(), WsdlError> {
        for (service, doc) in &self.defs.services {
            let service_name = attr(*service, "name").unwrap_or("");
            for port in children_named(*service, ns::WSDL, "port") {
                let value = attr(port, "binding").unwrap_or("");
                let binding = resolve_qname(port, value).unwrap_or_else(|_| QName::new("", value));
                let Some(version) = find(versions, &binding, "binding", &mut self.wsdl.warnings) else {
                    if self.defs.bindings.iter().any(|b| b.name.local == binding.local) {
                        continue;
                    }
                    return Err(WsdlError::Unresolved {
                        location: self.location(*doc),
                        what: format!("binding (of port `{}`)", attr(port, "name").unwrap_or("")),
                        name: show(&binding),
                    });
                };
                let address = soap_child(port, "address")
                    .and_then(|a| attr(a, "location"))
                    .unwrap_or("");
                self.wsdl.ports.push(Port {
                    service: service_name.to_string(),
                    name: attr(port, "name").unwrap_or("").to_string(),
                    binding: binding.local,
                    address: address.to_string(),
                    version,
                });
            }
        }
        Ok(())
    }

    fn schema(&mut self) -> &mut Schema {
        &mut self.wsdl.schema
    }
}

/// The entry named `q`, else the only entry with its local name (a wrong prefix), with a warning.
pub(super) fn find<V: Copy>(
    map: &HashMap<QName, V>,
    q: &QName,
    what: &str,
    warnings: &mut Vec<String>,
) -> Option<V> {
    if let Some(v) = map.get(q) {
        return Some(*v);
    }
    let mut same_local = map.iter().filter(|(k, _)| k.local == q.local);
    let (found, v) = same_local.next()?;
    if same_local.next().is_some() {
        return None;
    }
    let warning = format!(
        "{what} `{}` is not defined; `{}` (same local name) is used",
        show(q),
        show(found)
    );
    if !warnings.contains(&warning) {
        warnings.push(warning);
    }
    Some(*v)
}

/// The SOAP version of a binding: its soap:binding / soap12:binding, else the namespace its operations use.
fn binding_version(binding: Node) -> Option<SoapVersion> {
    if child(binding, ns::WSDL_SOAP11, "binding").is_some() {
        return Some(SoapVersion::V11);
    }
    if child(binding, ns::WSDL_SOAP12, "binding").is_some() {
        return Some(SoapVersion::V12);
    }
    if child(binding, ns::WSDL_HTTP, "binding").is_some() {
        return None;
    }
    let uses = |ns: &str| {
        binding
            .descendants()
            .any(|n| n.is_element() && xml::ns_of(n) == ns)
    };
    if uses(ns::WSDL_SOAP11) {
        Some(SoapVersion::V11)
    } else if uses(ns::WSDL_SOAP12) {
        Some(SoapVersion::V12)
    } else {
        None
    }
}

/// A SOAP binding extension element (1.1 or 1.2 namespace).
pub(super) fn soap_child<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| is(*c, ns::WSDL_SOAP11, local) || is(*c, ns::WSDL_SOAP12, local))
}

/// The portType operation of a binding operation (by name, and by input name when overloaded).
fn find_abstract<'a, 'i>(port_type: Node<'a, 'i>, name: &str, op: Node) -> Option<Node<'a, 'i>> {
    let input_name = child(op, ns::WSDL, "input").and_then(|i| attr(i, "name"));
    let mut candidates =
        children_named(port_type, ns::WSDL, "operation").filter(|o| attr(*o, "name") == Some(name));
    let first = candidates.next()?;
    let by_input = |o: &Node| child(*o, ns::WSDL, "input").and_then(|i| attr(i, "name")) == input_name;
    match input_name {
        Some(_) if !by_input(&first) => candidates.find(by_input).or(Some(first)),
        _ => Some(first),
    }
}

/// soapAction (1.1) / action (1.2); a WS-Addressing Action on the abstract input when it is empty.
fn action(soap_op: Option<Node>, abstract_op: Option<Node>) -> String {
    if let Some(action) = soap_op.and_then(|o| attr(o, "soapAction")) {
        return action.to_string();
    }
    let input = abstract_op.and_then(|o| child(o, ns::WSDL, "input"));
    input
        .and_then(|i| {
            i.attributes()
                .find(|a| a.name() == "Action" && a.namespace().is_some_and(|n| n.contains("addressing")))
        })
        .map(|a| a.value().trim().to_string())
        .unwrap_or_default()
}

fn documentation(node: Node) -> Option<String> {
    child(node, ns::WSDL, "documentation").and_then(text_of)
}

/// Only HTTP transports can be called.
fn check_transport(operation: &mut Operation, soap_binding: Option<Node>) {
    let Some(transport) = soap_binding.and_then(|b| attr(b, "transport")) else {
        return;
    };
    let http = [
        "http://schemas.xmlsoap.org/soap/http",
        "http://www.w3.org/2003/05/soap/bindings/HTTP",
    ];
    if !http.contains(&transport.trim_end_matches('/')) {
        operation
            .unsupported
            .push(format!("transport `{transport}` is not SOAP over HTTP"));
    }
}

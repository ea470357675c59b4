//! Input, output and fault messages of one operation: body parts (document or rpc), `soap:header`
//! parts, faults, and the schema problems their types reach.

use super::xml::{attr, child, children_named, is, resolve_qname, show};
use super::{find, soap_child, Binding, Builder};
use crate::wsdl::model::{
    Builtin, ElementDecl, FaultDecl, MaxOccurs, Message, Operation, Part, PartKind, QName, Style, TypeRef,
    Use,
};
use crate::wsdl::{ns, xsd};
use roxmltree::Node;

/// Which way a message travels.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Input,
    Output,
}

impl<'s, 'a, 'i> Builder<'s, 'a, 'i> {
    /// Input, output and faults of an operation, then the schema problems they reach.
    pub(super) fn fill_messages(
        &mut self,
        op: &mut Operation,
        binding: &Binding,
        bop: Node<'a, 'i>,
        abs: Node<'a, 'i>,
    ) {
        let first = abs
            .children()
            .find(|c| is(*c, ns::WSDL, "input") || is(*c, ns::WSDL, "output"));
        if first.is_some_and(|f| f.tag_name().name() == "output") {
            op.unsupported.push(
                "solicit-response/notification operation (the service speaks first) cannot be called".into(),
            );
        }
        let order = attr(abs, "parameterOrder");
        for dir in [Dir::Input, Dir::Output] {
            let local = if dir == Dir::Input { "input" } else { "output" };
            let bound = child(bop, ns::WSDL, local);
            let Some(abstract_io) = child(abs, ns::WSDL, local) else {
                continue;
            };
            let message = self.message(op, binding, dir, bound, abstract_io, order);
            match dir {
                Dir::Input => op.input = message,
                Dir::Output => op.output = message,
            }
        }
        op.faults = self.faults(op, abs);
        self.report_schema_issues(op);
    }

    /// One direction's message as it travels.
    fn message(
        &mut self,
        op: &mut Operation,
        binding: &Binding,
        dir: Dir,
        bound: Option<Node<'a, 'i>>,
        abstract_io: Node<'a, 'i>,
        order: Option<&str>,
    ) -> Option<Message> {
        let message = self.lookup_message(op, abstract_io)?;
        let body = bound.and_then(|b| soap_child(b, "body"));
        let body_use = match body.and_then(|b| attr(b, "use")) {
            Some("encoded") => Use::Encoded,
            _ => Use::Literal,
        };
        if let Some(b) = bound {
            check_extensions(op, b);
        }
        let (headers, in_header) = self.headers(op, bound, message);
        let mut parts = select_parts(op, message, body, &in_header);
        if op.style == Style::Rpc {
            parts = order_parts(parts, order, dir);
        }
        let parts: Vec<Part> = parts.into_iter().filter_map(|p| self.part(op, p)).collect();
        let mut message = Message {
            element: None,
            rpc_wrapper: None,
            parts,
            body_use,
            headers,
        };
        match op.style {
            Style::Document => document_body(op, &mut message),
            Style::Rpc => {
                let namespace = body.and_then(|b| attr(b, "namespace")).unwrap_or(&binding.tns);
                let suffix = if dir == Dir::Output { "Response" } else { "" };
                message.rpc_wrapper = Some(QName::new(namespace, format!("{}{suffix}", op.name)));
            }
        }
        Some(message)
    }

    /// The `wsdl:message` an input/output/fault names.
    fn lookup_message(&mut self, op: &mut Operation, node: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
        let value = attr(node, "message").unwrap_or("");
        let name = match resolve_qname(node, value) {
            Ok(q) => q,
            Err(msg) => {
                op.unsupported.push(msg);
                return None;
            }
        };
        let found = find(&self.defs.messages, &name, "message", &mut self.wsdl.warnings);
        if found.is_none() {
            op.unsupported
                .push(format!("message `{}` is not defined", show(&name)));
        }
        found
    }

    /// `soap:header` parts, and the names of this message's parts bound to the header.
    fn headers(
        &mut self,
        op: &mut Operation,
        bound: Option<Node<'a, 'i>>,
        message: Node<'a, 'i>,
    ) -> (Vec<Part>, Vec<String>) {
        let (mut headers, mut in_header) = (Vec::new(), Vec::new());
        let bound_headers = bound.into_iter().flat_map(|b| {
            b.children()
                .filter(|c| is(*c, ns::WSDL_SOAP11, "header") || is(*c, ns::WSDL_SOAP12, "header"))
        });
        for header in bound_headers.collect::<Vec<_>>() {
            if soap_child(header, "headerfault").is_some() {
                op.unsupported.push("soap:headerfault is not supported".into());
            }
            let Some(header_message) = self.lookup_message(op, header) else {
                continue;
            };
            let part_name = attr(header, "part").unwrap_or("");
            let Some(part) = find_part(header_message, part_name) else {
                op.unsupported
                    .push(format!("soap:header part `{part_name}` is not in its message"));
                continue;
            };
            if header_message == message {
                in_header.push(part_name.to_string());
            }
            headers.extend(self.part(op, part));
        }
        (headers, in_header)
    }

    /// A message part: a global element or a type; unknown names are reported.
    fn part(&mut self, op: &mut Operation, node: Node) -> Option<Part> {
        let name = attr(node, "name").unwrap_or("").to_string();
        let (value, is_element) = match (attr(node, "element"), attr(node, "type")) {
            (Some(e), _) => (e, true),
            (None, Some(t)) => (t, false),
            (None, None) => {
                op.unsupported
                    .push(format!("part `{name}` has neither element nor type"));
                return None;
            }
        };
        let q = match resolve_qname(node, value) {
            Ok(q) => q,
            Err(msg) => {
                op.unsupported.push(format!("part `{name}`: {msg}"));
                return None;
            }
        };
        let kind = if is_element {
            PartKind::Element(self.part_element(op, &name, q))
        } else {
            PartKind::Type(self.part_type(op, &name, &q))
        };
        Some(Part { name, kind })
    }

    fn part_element(&mut self, op: &mut Operation, part: &str, q: QName) -> usize {
        let what = format!("element (of part `{part}`)");
        if let Some(id) = find(
            &self.wsdl.schema.global_elements,
            &q,
            &what,
            &mut self.wsdl.warnings,
        ) {
            return id;
        }
        op.unsupported.push(format!(
            "part `{part}`: element `{}` is not declared in any schema",
            show(&q)
        ));
        if let Some(id) = self.missing.get(&q) {
            return *id;
        }
        let elements = &mut self.schema().elements;
        elements.push(ElementDecl {
            name: q.clone(),
            ty: TypeRef::Builtin(Builtin::AnyType),
            min: 1,
            max: MaxOccurs::Bounded(1),
            nillable: false,
            is_abstract: false,
            default: None,
            fixed: None,
            substitutes: Vec::new(),
        });
        let id = elements.len() - 1;
        self.missing.insert(q, id);
        id
    }

    fn part_type(&mut self, op: &mut Operation, part: &str, q: &QName) -> TypeRef {
        if let Some(t) = xsd::resolve_type_name(self.schema(), q) {
            return t;
        }
        let what = format!("type (of part `{part}`)");
        if let Some(id) = find(&self.wsdl.schema.global_types, q, &what, &mut self.wsdl.warnings) {
            return TypeRef::Type(id);
        }
        xsd::resolve_type_name(self.schema(), q).unwrap_or_else(|| {
            op.unsupported.push(format!(
                "part `{part}`: type `{}` is not defined (treated as anyType)",
                show(q)
            ));
            TypeRef::Builtin(Builtin::AnyType)
        })
    }

    /// Declared faults: each one's detail element (its message's first part).
    fn faults(&mut self, op: &mut Operation, abs: Node<'a, 'i>) -> Vec<FaultDecl> {
        let mut faults = Vec::new();
        for fault in children_named(abs, ns::WSDL, "fault") {
            let name = attr(fault, "name").unwrap_or("").to_string();
            let Some(message) = self.lookup_message(op, fault) else {
                continue;
            };
            let part = children_named(message, ns::WSDL, "part").next();
            let element = match part.and_then(|p| self.part(op, p)) {
                Some(Part {
                    kind: PartKind::Element(id),
                    ..
                }) => Some(id),
                Some(_) => {
                    op.unsupported.push(format!(
                        "fault `{name}`: its detail is typed by type=, not an element"
                    ));
                    None
                }
                None => None,
            };
            faults.push(FaultDecl { name, element });
        }
        faults
    }

    /// Every schema problem (unresolved name, unsupported construct) the operation's messages reach.
    fn report_schema_issues(&self, op: &mut Operation) {
        let mut elements = Vec::new();
        let mut types = Vec::new();
        let messages = op.input.iter().chain(op.output.iter());
        for part in messages.flat_map(|m| m.parts.iter().chain(m.headers.iter())) {
            match part.kind {
                PartKind::Element(e) => elements.push(e),
                PartKind::Type(t) => types.push(t),
            }
        }
        elements.extend(op.faults.iter().filter_map(|f| f.element));
        for issue in self.issues.reachable(&self.wsdl.schema, &elements, &types) {
            if !op.unsupported.contains(&issue) {
                op.unsupported.push(issue);
            }
        }
    }
}

/// Document style: one body part, a global element (wrapped or bare).
fn document_body(op: &mut Operation, message: &mut Message) {
    if message.parts.len() > 1 {
        let names: Vec<&str> = message.parts.iter().map(|p| p.name.as_str()).collect();
        op.unsupported.push(format!(
            "document style with {} body parts ({}): only the first, `{}`, is used",
            names.len(),
            names.join(", "),
            names.first().copied().unwrap_or("")
        ));
        message.parts.truncate(1);
    }
    match message.parts.first() {
        Some(Part {
            kind: PartKind::Element(id),
            ..
        }) => message.element = Some(*id),
        Some(Part { name, .. }) => op.unsupported.push(format!(
            "document-style part `{name}` names a type, not an element"
        )),
        None => {}
    }
}

/// The body parts: `soap:body parts=` when given, else every part not bound to a header.
fn select_parts<'a, 'i>(
    op: &mut Operation,
    message: Node<'a, 'i>,
    body: Option<Node>,
    in_header: &[String],
) -> Vec<Node<'a, 'i>> {
    let all: Vec<Node> = children_named(message, ns::WSDL, "part").collect();
    let Some(listed) = body.and_then(|b| b.attribute("parts")) else {
        return all
            .into_iter()
            .filter(|p| !in_header.iter().any(|h| Some(h.as_str()) == attr(*p, "name")))
            .collect();
    };
    let mut parts = Vec::new();
    for name in listed.split_whitespace() {
        match find_part(message, name) {
            Some(p) => parts.push(p),
            None => op
                .unsupported
                .push(format!("soap:body part `{name}` is not in its message")),
        }
    }
    parts
}

fn find_part<'a, 'i>(message: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    children_named(message, ns::WSDL, "part").find(|p| attr(*p, "name") == Some(name))
}

/// rpc: parts in `parameterOrder`; on output the unlisted (return) part comes first.
fn order_parts<'a, 'i>(parts: Vec<Node<'a, 'i>>, order: Option<&str>, dir: Dir) -> Vec<Node<'a, 'i>> {
    let Some(order) = order else { return parts };
    let names: Vec<&str> = order.split_whitespace().collect();
    let position = |p: &Node| attr(*p, "name").and_then(|n| names.iter().position(|x| *x == n));
    let (mut listed, rest): (Vec<Node>, Vec<Node>) = parts.into_iter().partition(|p| position(p).is_some());
    listed.sort_by_key(|p| position(p));
    match dir {
        Dir::Input => listed.into_iter().chain(rest).collect(),
        Dir::Output => rest.into_iter().chain(listed).collect(),
    }
}

/// MIME (SwA) bindings cannot be mapped.
fn check_extensions(op: &mut Operation, bound: Node) {
    if bound
        .children()
        .any(|c| c.is_element() && super::xml::ns_of(c) == ns::WSDL_MIME)
    {
        op.unsupported
            .push("MIME multipart (SOAP with attachments) binding is not supported".into());
    }
}

//! Pull-parser for incoming SOAP requests: finds the envelope version, the
//! operation (first child of `Body`) and the text of its leaf elements.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::soap::{Fault, SoapVersion, SOAP11_ENV, SOAP12_ENV, TNS};

/// Depth (number of open ancestors) of the operation element: Envelope/Body/op.
const OP_DEPTH: usize = 2;

/// The namespaces the parser cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Soap11,
    Soap12,
    Service,
    Other,
}

/// A leaf element below the operation element.
#[derive(Debug, Clone)]
pub(super) struct Field {
    /// Local names below the operation element, e.g. `lines/line/sku`.
    pub(super) path: String,
    /// Ordinal (1-based) of the enclosing grand-child of the operation,
    /// e.g. which `lines/line` a `sku` belongs to; 0 for direct children.
    pub(super) record: usize,
    pub(super) value: String,
}

/// A parsed SOAP request.
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub(super) version: SoapVersion,
    pub(super) operation: String,
    pub(super) fields: Vec<Field>,
}

impl Request {
    /// Text of the first element at `path`, if present.
    pub(super) fn optional(&self, path: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.value.as_str())
    }

    /// Text of the first element at `path`; a Client fault if missing or empty.
    pub(super) fn required(&self, path: &str) -> Result<&str, Fault> {
        match self.optional(path) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Fault::client(format!("Missing required element c:{path}"))),
        }
    }

    /// Fields below `parent` (e.g. `lines/line`), grouped per repeated element.
    pub(super) fn records(&self, parent: &str) -> Vec<Vec<&Field>> {
        let prefix = format!("{parent}/");
        let mut groups: Vec<(usize, Vec<&Field>)> = Vec::new();
        for f in self.fields.iter().filter(|f| f.path.starts_with(&prefix)) {
            match groups.last_mut() {
                Some((record, list)) if *record == f.record => list.push(f),
                _ => groups.push((f.record, vec![f])),
            }
        }
        groups.into_iter().map(|(_, list)| list).collect()
    }
}

/// An open element.
#[derive(Debug)]
struct Frame {
    ns: Ns,
    name: String,
    text: String,
    has_children: bool,
}

/// State of the pull loop.
#[derive(Debug, Default)]
struct Parser {
    stack: Vec<Frame>,
    version: Option<SoapVersion>,
    in_body: bool,
    body_seen: bool,
    operation: Option<String>,
    op_closed: bool,
    record: usize,
    fields: Vec<Field>,
}

/// Parses a SOAP request; any XML or SOAP structure problem is a Client fault.
pub(super) fn parse(xml: &str) -> Result<Request, Fault> {
    let mut reader = NsReader::from_str(xml.trim_start_matches('\u{feff}'));
    let mut parser = Parser::default();
    loop {
        let (resolved, event) = reader.read_resolved_event().map_err(malformed)?;
        let ns = classify(resolved)?;
        match event {
            Event::Start(e) => parser.start(ns, &e)?,
            Event::Empty(e) => {
                parser.start(ns, &e)?;
                parser.end();
            }
            Event::End(_) => parser.end(),
            Event::Text(t) => parser.text(&t.xml10_content())?,
            Event::CData(t) => parser.text(&t.xml10_content())?,
            Event::GeneralRef(r) => parser.text(&resolve_ref(&r)?)?,
            Event::DocType(_) => return Err(Fault::client("DTDs are not allowed in SOAP messages")),
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    parser.finish()
}

fn malformed(err: quick_xml::Error) -> Fault {
    Fault::client(format!("Malformed XML: {err}"))
}

fn classify(resolved: ResolveResult<'_>) -> Result<Ns, Fault> {
    Ok(match resolved {
        ResolveResult::Bound(ns) if ns.as_ref() == SOAP11_ENV => Ns::Soap11,
        ResolveResult::Bound(ns) if ns.as_ref() == SOAP12_ENV => Ns::Soap12,
        ResolveResult::Bound(ns) if ns.as_ref() == TNS => Ns::Service,
        ResolveResult::Bound(_) | ResolveResult::Unbound => Ns::Other,
        ResolveResult::Unknown(prefix) => {
            return Err(Fault::client(format!(
                "Malformed XML: undeclared namespace prefix '{prefix}'"
            )))
        }
    })
}

fn resolve_ref(r: &BytesRef<'_>) -> Result<String, Fault> {
    if let Some(ch) = r.resolve_char_ref().map_err(malformed)? {
        return Ok(ch.to_string());
    }
    let name = r.xml10_content();
    resolve_predefined_entity(&name)
        .map(str::to_owned)
        .ok_or_else(|| Fault::client(format!("Malformed XML: unknown entity '&{name};'")))
}

impl Parser {
    fn start(&mut self, ns: Ns, e: &BytesStart<'_>) -> Result<(), Fault> {
        let name = e.local_name().as_ref().to_owned();
        let depth = self.stack.len();
        match depth {
            0 => self.start_envelope(ns, &name)?,
            1 => {
                self.in_body = self.is_env(ns) && name == "Body";
                self.body_seen |= self.in_body;
            }
            OP_DEPTH if self.in_body && self.operation.is_none() => {
                self.start_operation(ns, &name)?;
            }
            d if d == OP_DEPTH + 2 && self.in_operation() => self.record += 1,
            _ => {}
        }
        if let Some(parent) = self.stack.last_mut() {
            parent.has_children = true;
        }
        self.stack.push(Frame {
            ns,
            name,
            text: String::new(),
            has_children: false,
        });
        Ok(())
    }

    fn start_envelope(&mut self, ns: Ns, name: &str) -> Result<(), Fault> {
        if self.version.is_some() {
            return Err(Fault::client("Malformed XML: more than one root element"));
        }
        self.version = match (ns, name) {
            (Ns::Soap11, "Envelope") => Some(SoapVersion::V11),
            (Ns::Soap12, "Envelope") => Some(SoapVersion::V12),
            (_, "Envelope") => return Err(Fault::version_mismatch("Unknown SOAP envelope namespace")),
            _ => return Err(Fault::client("Root element is not a SOAP Envelope")),
        };
        Ok(())
    }

    fn start_operation(&mut self, ns: Ns, name: &str) -> Result<(), Fault> {
        if ns != Ns::Service {
            return Err(Fault::client(format!(
                "Unknown operation element '{name}' (expected namespace {TNS})"
            )));
        }
        self.operation = Some(name.to_owned());
        Ok(())
    }

    fn is_env(&self, ns: Ns) -> bool {
        matches!(
            (self.version, ns),
            (Some(SoapVersion::V11), Ns::Soap11) | (Some(SoapVersion::V12), Ns::Soap12)
        )
    }

    fn end(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let depth = self.stack.len();
        match depth {
            1 => self.in_body = false,
            OP_DEPTH if self.in_body && self.operation.is_some() => self.op_closed = true,
            _ => {}
        }
        if depth > OP_DEPTH && !frame.has_children && self.in_operation() {
            self.record_field(depth, frame);
        }
    }

    /// Whether the parser is inside the (first) operation element.
    fn in_operation(&self) -> bool {
        self.in_body && self.operation.is_some() && !self.op_closed
    }

    /// Records a closed leaf element below the operation element.
    /// Elements outside the service namespace are ignored.
    fn record_field(&mut self, depth: usize, frame: Frame) {
        let ancestors = &self.stack[OP_DEPTH + 1..];
        if frame.ns != Ns::Service || ancestors.iter().any(|f| f.ns != Ns::Service) {
            return;
        }
        let mut path: Vec<&str> = ancestors.iter().map(|f| f.name.as_str()).collect();
        path.push(&frame.name);
        self.fields.push(Field {
            path: path.join("/"),
            record: if depth > OP_DEPTH + 1 { self.record } else { 0 },
            value: frame.text.trim().to_owned(),
        });
    }

    fn text(&mut self, text: &str) -> Result<(), Fault> {
        match self.stack.last_mut() {
            Some(frame) => frame.text.push_str(text),
            None if !text.trim().is_empty() => {
                return Err(Fault::client("Malformed XML: text outside the root element"))
            }
            None => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Request, Fault> {
        if !self.stack.is_empty() {
            return Err(Fault::client("Malformed XML: unexpected end of document"));
        }
        let version = self
            .version
            .ok_or_else(|| Fault::client("Empty request: no SOAP Envelope"))?;
        if !self.body_seen {
            return Err(Fault::client("SOAP Envelope has no Body"));
        }
        let operation = self
            .operation
            .ok_or_else(|| Fault::client("SOAP Body is empty"))?;
        Ok(Request {
            version,
            operation,
            fields: self.fields,
        })
    }
}

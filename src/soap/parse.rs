//! One bounded streaming quick-xml pass over a SOAP response: limits, envelope, Fault, JSON.

use super::convert::{Converter, Hints, PathShaper, Shaper, Sink};
use super::{SoapVersion, NS_XSI};
use crate::error::GatewayError;
use crate::mapping::request::is_xml_char;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::NsReader;
use serde_json::{Map, Value};

use super::fault::read_fault;
pub use super::fault::Fault;
use super::stream::JsonWriter;
use bytes::Bytes;

/// Bounds on backend XML (defaults from THREATS.md).
#[derive(Debug, Clone, PartialEq)]
pub struct XmlLimits {
    pub max_depth: usize,
    pub max_children: usize,
    pub max_attributes: usize,
    pub max_namespaces: usize,
    pub max_name_len: usize,
    pub max_attr_value: usize,
    pub max_text: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_depth: 64,
            max_children: 10_000,
            max_attributes: 32,
            max_namespaces: 16,
            max_name_len: 256,
            max_attr_value: 64 * 1024,
            max_text: 1024 * 1024,
        }
    }
}

/// What the Body held: the payload (a `Value`, or JSON text from a [`Sink`] that writes it), or a
/// Fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<P = Value> {
    Payload(P),
    Fault(Fault),
}

/// A parsed SOAP response.
#[derive(Debug, Clone, PartialEq)]
pub struct SoapResponse<P = Value> {
    pub version: SoapVersion,
    pub header: Option<Value>,
    pub outcome: Outcome<P>,
}

enum BodyState<'h, P, F: Shaper> {
    /// Before the first element inside Body.
    Waiting,
    Payload(P),
    Fault(Converter<'h, F>),
}

enum Section<'h, P, H: Shaper, F: Shaper> {
    Header(Converter<'h, H>),
    Body(BodyState<'h, P, F>),
    None,
}

/// A closed Body.
enum Closed<O> {
    Empty,
    Payload(O),
    Fault(Map<String, Value>),
}

struct State<'h, P: Sink, H: Shaper, F: Shaper> {
    payload: Option<P>,
    header_shaper: Option<H>,
    fault_shaper: Option<F>,
    limits: &'h XmlLimits,
    unwrap: bool,
    depth: usize,
    version: Option<SoapVersion>,
    envelope_closed: bool,
    section: Section<'h, P, H, F>,
    /// The depth of a Body entry after a SOAP 1.1 Fault, being skipped (0: none).
    skip: usize,
    header: Option<Value>,
    body: Option<Closed<P::Output>>,
}

/// Parses and converts a SOAP response in one pass. `unwrap` strips the doc/literal wrapper.
pub fn parse(
    bytes: &[u8],
    limits: &XmlLimits,
    hints: &Hints,
    unwrap: bool,
) -> Result<SoapResponse, GatewayError> {
    let body = Converter::new(PathShaper::new(hints, unwrap), limits);
    parse_schemaless(bytes, limits, body, unwrap)
}

/// Like [`parse`], writing the payload as JSON text while parsing, without building a `Value`:
/// `Payload(None)` when the text cannot be written in one pass (see [`JsonWriter`]), and then
/// [`parse`] gives the answer.
pub fn stream(
    bytes: &[u8],
    limits: &XmlLimits,
    hints: &Hints,
    unwrap: bool,
) -> Result<SoapResponse<Option<Bytes>>, GatewayError> {
    let body = JsonWriter::new(PathShaper::new(hints, unwrap), limits, bytes.len());
    parse_schemaless(bytes, limits, body, unwrap)
}

/// [`parse_with`] a payload sink, and Header blocks and Faults by the plain convention.
fn parse_schemaless<P: Sink>(
    bytes: &[u8],
    limits: &XmlLimits,
    body: P,
    unwrap: bool,
) -> Result<SoapResponse<P::Output>, GatewayError> {
    let shapers = Shapers {
        body,
        header: plain_shaper(),
        fault: plain_shaper(),
    };
    parse_with(bytes, limits, shapers, unwrap)
}

/// What converts one response: the Body payload's [`Sink`], the shapers of Header blocks and of
/// a Fault (with its detail).
#[derive(Debug)]
pub struct Shapers<P, H, F> {
    pub body: P,
    pub header: H,
    pub fault: F,
}

/// Like [`parse`], with any payload [`Sink`] and any [`Shaper`]s deciding arrays and types of
/// the Header blocks and a Fault's detail (e.g. the WSDL schema).
pub fn parse_with<P: Sink, H: Shaper, F: Shaper>(
    bytes: &[u8],
    limits: &XmlLimits,
    shapers: Shapers<P, H, F>,
    unwrap: bool,
) -> Result<SoapResponse<P::Output>, GatewayError> {
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().expand_empty_elements = true;
    // quick-xml refuses more than 128 bindings in scope (before an element reaches `attributes`):
    // never fewer than one element may declare.
    let in_scope = limits
        .max_namespaces
        .max(quick_xml::name::DEFAULT_MAX_NAMESPACE_BINDINGS);
    reader.resolver_mut().set_max_namespace_bindings(in_scope);
    let mut st = State {
        payload: Some(shapers.body),
        header_shaper: Some(shapers.header),
        fault_shaper: Some(shapers.fault),
        limits,
        unwrap,
        depth: 0,
        version: None,
        envelope_closed: false,
        section: Section::None,
        skip: 0,
        header: None,
        body: None,
    };
    loop {
        let event = reader.read_event().map_err(|e| malformed(&reader, &e))?;
        match event {
            Event::Start(e) => {
                if st.depth < 3 {
                    // Envelope, Header/Body and the first Body child (Fault?) need their namespace.
                    let (ns, _) = reader.resolver().resolve_element(e.name());
                    st.start(&reader, &e, ns_of(&ns))?
                } else {
                    st.start(&reader, &e, None)?
                }
                if let Some(done) = st.handed_over() {
                    return done;
                }
            }
            Event::End(_) => st.end()?,
            Event::Text(t) => {
                let text = t.xml10_content();
                check_text(&text)?;
                st.text(&text)?
            }
            Event::CData(c) => {
                let text = c.into_inner();
                check_text(&text)?;
                st.text(&text)?
            }
            Event::GeneralRef(r) => st.text(&resolve_ref(&r)?)?,
            Event::DocType(_) => return Err(xml("UPSTREAM_XML_DTD", "a DOCTYPE is not allowed")),
            Event::Eof => break,
            Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    st.finish()
}

fn ns_of<'a>(ns: &'a ResolveResult<'_>) -> Option<&'a [u8]> {
    match ns {
        ResolveResult::Bound(n) => Some(n.0.as_bytes()),
        _ => None,
    }
}

impl<'h, P: Sink, H: Shaper, F: Shaper> State<'h, P, H, F> {
    fn start(
        &mut self,
        reader: &NsReader<&[u8]>,
        e: &BytesStart<'_>,
        ns: Option<&[u8]>,
    ) -> Result<(), GatewayError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(xml("UPSTREAM_XML_DEPTH", "elements are nested too deeply"));
        }
        let local = e.local_name().into_inner();
        if e.name().0.len() > self.limits.max_name_len {
            return Err(xml("UPSTREAM_XML_NAME", "an element name is too long"));
        }
        match self.depth {
            1 => {
                self.open_envelope(local, ns)?;
                attributes::<P>(reader, e, None, self.limits)
            }
            2 => {
                self.open_section(local, ns)?;
                attributes::<P>(reader, e, None, self.limits)
            }
            _ => self.open_child(reader, e, local, ns),
        }
    }

    fn open_envelope(&mut self, local: &str, ns: Option<&[u8]>) -> Result<(), GatewayError> {
        if self.envelope_closed {
            return Err(syntax("more than one root element"));
        }
        let version = ns.and_then(SoapVersion::from_namespace);
        match version {
            Some(v) if local == "Envelope" => {
                self.version = Some(v);
                Ok(())
            }
            _ => Err(GatewayError::UpstreamNotSoap(
                "the root element is not a SOAP Envelope".into(),
            )),
        }
    }

    fn open_section(&mut self, local: &str, ns: Option<&[u8]>) -> Result<(), GatewayError> {
        let in_env = ns.and_then(SoapVersion::from_namespace) == self.version;
        self.section = match local {
            "Header" if in_env && self.body.is_none() => {
                let shaper = self
                    .header_shaper
                    .take()
                    .ok_or_else(|| syntax("more than one Header"))?;
                Section::Header(Converter::new(shaper, self.limits))
            }
            "Body" if in_env && self.body.is_none() => Section::Body(BodyState::Waiting),
            _ => {
                return Err(GatewayError::UpstreamNotSoap(format!(
                    "unexpected `{local}` in Envelope"
                )))
            }
        };
        Ok(())
    }

    fn open_child(
        &mut self,
        reader: &NsReader<&[u8]>,
        e: &BytesStart<'_>,
        local: &str,
        ns: Option<&[u8]>,
    ) -> Result<(), GatewayError> {
        if self.skip != 0 {
            return attributes::<P>(reader, e, None, self.limits);
        }
        if self.depth == 3 {
            if let Section::Body(state) = &mut self.section {
                // A Body entry: a Fault wherever the SOAP version allows one (threat model S1, S2).
                let is_fault = local == "Fault" && ns.and_then(SoapVersion::from_namespace) == self.version;
                let v12 = self.version == Some(SoapVersion::V12);
                match state {
                    BodyState::Waiting if !is_fault => {
                        let sink = self.payload.take().ok_or_else(|| syntax("more than one Body"))?;
                        *state = BodyState::Payload(sink);
                    }
                    BodyState::Waiting | BodyState::Payload(_) if is_fault => {
                        // SOAP 1.1 §4.4: a Fault is a Body entry, not necessarily the first; the
                        // entries before it are dropped with the payload. SOAP 1.2 §5.4: a Fault
                        // is the only element in Body.
                        if v12 && matches!(state, BodyState::Payload(_)) {
                            return Err(fault12_not_alone());
                        }
                        let shaper = self
                            .fault_shaper
                            .take()
                            .ok_or_else(|| syntax("more than one Fault"))?;
                        *state = BodyState::Fault(Converter::new(shaper, self.limits));
                    }
                    BodyState::Fault(_) if is_fault => return Err(syntax("more than one Fault")),
                    BodyState::Fault(_) if v12 => return Err(fault12_not_alone()),
                    BodyState::Fault(_) => {
                        // Entries after a SOAP 1.1 Fault say nothing the client may see.
                        self.skip = self.depth;
                        return attributes::<P>(reader, e, None, self.limits);
                    }
                    _ => {}
                }
            }
        }
        match &mut self.section {
            Section::Header(c) => child(reader, e, c, ns, local, self.limits),
            Section::Body(BodyState::Fault(c)) => child(reader, e, c, ns, local, self.limits),
            Section::Body(BodyState::Payload(c)) => child(reader, e, c, ns, local, self.limits),
            _ => Err(syntax("element outside Header or Body")),
        }
    }

    fn end(&mut self) -> Result<(), GatewayError> {
        if self.skip != 0 {
            if self.depth == self.skip {
                self.skip = 0;
            }
            self.depth -= 1;
            return Ok(());
        }
        match self.depth {
            0 => return Err(syntax("unbalanced end tag")),
            1 => self.envelope_closed = true,
            2 => self.close_section()?,
            _ => match &mut self.section {
                Section::Header(c) => c.end()?,
                Section::Body(BodyState::Fault(c)) => c.end()?,
                Section::Body(BodyState::Payload(c)) => c.end()?,
                _ => return Err(syntax("unbalanced end tag")),
            },
        }
        self.depth -= 1;
        Ok(())
    }

    fn close_section(&mut self) -> Result<(), GatewayError> {
        match std::mem::replace(&mut self.section, Section::None) {
            Section::Header(c) => self.header = Some(Value::Object(c.into_map()?)),
            Section::Body(BodyState::Waiting) => self.body = Some(Closed::Empty),
            Section::Body(BodyState::Payload(c)) => self.body = Some(Closed::Payload(c.finish(self.unwrap)?)),
            Section::Body(BodyState::Fault(c)) => self.body = Some(Closed::Fault(c.into_map()?)),
            Section::None => {}
        }
        Ok(())
    }

    fn text(&mut self, s: &str) -> Result<(), GatewayError> {
        if self.skip != 0 {
            return Ok(());
        }
        if self.depth >= 3 {
            match &mut self.section {
                Section::Header(c) => return c.text(s),
                Section::Body(BodyState::Fault(c)) => return c.text(s),
                Section::Body(BodyState::Payload(c)) => return c.text(s),
                _ => {}
            }
        }
        if s.trim().is_empty() {
            Ok(())
        } else if self.depth == 0 {
            Err(syntax("text outside the root element"))
        } else {
            Err(GatewayError::UpstreamNotSoap(
                "text directly inside Envelope or Body".into(),
            ))
        }
    }

    /// The payload sink gave up: the parse ends here with what it says.
    fn handed_over(&mut self) -> Option<Result<SoapResponse<P::Output>, GatewayError>> {
        if !matches!(&self.section, Section::Body(BodyState::Payload(p)) if p.handed_over()) {
            return None;
        }
        let Section::Body(BodyState::Payload(p)) = std::mem::replace(&mut self.section, Section::None) else {
            return None;
        };
        let version = self.version?;
        Some(p.finish(self.unwrap).map(|out| SoapResponse {
            version,
            header: self.header.take(),
            outcome: Outcome::Payload(out),
        }))
    }

    fn finish(self) -> Result<SoapResponse<P::Output>, GatewayError> {
        if self.depth != 0 {
            return Err(syntax("unexpected end of document (unclosed element)"));
        }
        let version = self
            .version
            .ok_or_else(|| GatewayError::UpstreamNotSoap("empty document".into()))?;
        let body = self
            .body
            .ok_or_else(|| GatewayError::UpstreamNotSoap("no Body".into()))?;
        let outcome = match body {
            Closed::Fault(body) => {
                let fault = match body.into_iter().next() {
                    Some((_, Value::Object(m))) => m,
                    _ => Map::new(),
                };
                Outcome::Fault(read_fault(fault))
            }
            Closed::Payload(p) => Outcome::Payload(p),
            // An empty Body: what the (unused) payload sink gives for no elements.
            Closed::Empty => match self.payload {
                Some(sink) => Outcome::Payload(sink.finish(self.unwrap)?),
                None => return Err(syntax("more than one Body")),
            },
        };
        Ok(SoapResponse {
            version,
            header: self.header,
            outcome,
        })
    }
}

fn fault12_not_alone() -> GatewayError {
    GatewayError::UpstreamNotSoap("a SOAP 1.2 Fault must be the only element in Body".into())
}

/// The schema-less shaper without hints (faults, headers of routes without a WSDL).
pub fn plain_shaper() -> PathShaper<'static> {
    PathShaper::new(&EMPTY, false)
}

fn child<C: Sink>(
    reader: &NsReader<&[u8]>,
    e: &BytesStart<'_>,
    conv: &mut C,
    ns: Option<&[u8]>,
    local: &str,
    limits: &XmlLimits,
) -> Result<(), GatewayError> {
    conv.start(ns, local)?;
    attributes(reader, e, Some(conv), limits)
}

static EMPTY: std::sync::LazyLock<Hints> = std::sync::LazyLock::new(Hints::default);

/// Checks and converts the attributes of an element inside Header or Body.
/// Checks the attributes of any element against the limits and, with a converter, converts them.
fn attributes<C: Sink>(
    reader: &NsReader<&[u8]>,
    e: &BytesStart<'_>,
    mut conv: Option<&mut C>,
    limits: &XmlLimits,
) -> Result<(), GatewayError> {
    // `xsi:type` names the type that declares (and types) the other attributes: it applies before
    // them, wherever it is written.
    let retyped = match conv.as_deref_mut() {
        Some(c) if e.attributes_raw().contains("type") => xsi_type(reader, e, c),
        _ => false,
    };
    let (mut count, mut decls) = (0usize, 0usize);
    for a in e.attributes() {
        let a = a.map_err(|_| syntax("a malformed or repeated attribute"))?;
        if a.key.0.len() > limits.max_name_len {
            return Err(xml("UPSTREAM_XML_NAME", "an attribute name is too long"));
        }
        if a.value.len() > limits.max_attr_value {
            return Err(xml("UPSTREAM_XML_ATTR_VALUE", "an attribute value is too long"));
        }
        if a.key.as_namespace_binding().is_some() {
            decls += 1;
            if decls > limits.max_namespaces {
                return Err(xml("UPSTREAM_XML_NAMESPACES", "too many namespace declarations"));
            }
            continue;
        }
        count += 1;
        if count > limits.max_attributes {
            return Err(xml("UPSTREAM_XML_ATTRS", "too many attributes on one element"));
        }
        let (ns, local) = reader.resolver().resolve_attribute(a.key);
        let local = local.into_inner();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|_| xml("UPSTREAM_XML_ENTITY", "an attribute uses an unknown entity"))?;
        check_text(&value)?;
        let Some(conv) = conv.as_deref_mut() else { continue };
        match ns {
            ResolveResult::Bound(n) if n.0 == NS_XSI => match local {
                "nil" if matches!(value.trim(), "true" | "1") => conv.nil(),
                "type" if !retyped => {
                    let (tns, tlocal) = reader.resolver().resolve_element(QName(value.trim()));
                    conv.retype(ns_of(&tns), tlocal.into_inner());
                }
                _ => {}
            },
            _ => conv.attribute(ns_of(&ns), local, &value)?,
        }
    }
    Ok(())
}

/// Applies the element's `xsi:type`, if it has one (`true`); the attribute loop checks it.
fn xsi_type<C: Sink>(reader: &NsReader<&[u8]>, e: &BytesStart<'_>, conv: &mut C) -> bool {
    for a in e.attributes().flatten() {
        let (ns, local) = reader.resolver().resolve_attribute(a.key);
        if !matches!(ns, ResolveResult::Bound(n) if n.0 == NS_XSI) || local.into_inner() != "type" {
            continue;
        }
        let Ok(value) = a.normalized_value(quick_xml::XmlVersion::Implicit1_0) else {
            return false;
        };
        let (tns, tlocal) = reader.resolver().resolve_element(QName(value.trim()));
        conv.retype(ns_of(&tns), tlocal.into_inner());
        return true;
    }
    false
}

/// Resolves `&lt;`-style and `&#..;` references; anything else is a custom entity and refused.
fn resolve_ref(r: &BytesRef<'_>) -> Result<String, GatewayError> {
    if let Some(c) = r
        .resolve_char_ref()
        .map_err(|_| xml("UPSTREAM_XML_SYNTAX", "bad character reference"))?
    {
        if !is_xml_char(c) {
            return Err(xml(
                "UPSTREAM_XML_SYNTAX",
                "character reference to an illegal character",
            ));
        }
        return Ok(c.to_string());
    }
    let s = match &**r {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return Err(xml("UPSTREAM_XML_ENTITY", "custom entities are not allowed")),
    };
    Ok(s.to_string())
}

fn xml(code: &'static str, message: &str) -> GatewayError {
    GatewayError::UpstreamXml {
        code,
        message: message.to_string(),
    }
}

/// A quick-xml error, named by position only: the backend's bytes never reach `detail`. Its own
/// limits (namespace bindings in scope, nesting) are the gateway's limits of the same name.
fn malformed(reader: &NsReader<&[u8]>, e: &quick_xml::Error) -> GatewayError {
    use quick_xml::name::NamespaceError;
    tracing::debug!(error = %e, "backend XML rejected");
    match e {
        quick_xml::Error::Namespace(NamespaceError::TooManyBindings(_)) => {
            xml("UPSTREAM_XML_NAMESPACES", "too many namespace declarations")
        }
        quick_xml::Error::Namespace(NamespaceError::TooDeeplyNested(_)) => {
            xml("UPSTREAM_XML_DEPTH", "elements are nested too deeply")
        }
        // The text was decoded to UTF-8 before (crate::charset): only a caller that skipped that
        // gets here.
        quick_xml::Error::Encoding(_) => GatewayError::UpstreamEncoding("the text is not valid UTF-8".into()),
        _ => syntax(&format!("malformed XML near byte {}", reader.error_position())),
    }
}

/// Rejects text holding characters XML 1.0 forbids (C0 controls, U+FFFE, U+FFFF).
fn check_text(s: &str) -> Result<(), GatewayError> {
    let b = s.as_bytes();
    // Most text has no byte below 0x20 but tab/newline and no 0xEF: one branch-free pass (which
    // the compiler vectorizes) decides that before the exact scan.
    let suspect = b.iter().fold(false, |acc, &c| {
        acc | ((c < 0x20) & !matches!(c, b'\t' | b'\n' | b'\r')) | (c == 0xEF)
    });
    if !suspect {
        return Ok(());
    }
    for (i, &c) in b.iter().enumerate() {
        let bad = if c < 0x20 {
            !matches!(c, b'\t' | b'\n' | b'\r')
        } else {
            // U+FFFE and U+FFFF are EF BF BE / EF BF BF in UTF-8.
            c == 0xEF && b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF))
        };
        if bad {
            return Err(syntax("a character XML 1.0 does not allow"));
        }
    }
    Ok(())
}

fn syntax(message: &str) -> GatewayError {
    xml("UPSTREAM_XML_SYNTAX", message)
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

//! Schema-aware mediation for routes bound to a WSDL operation: input object, validation, body
//! rendering from the schema, and typed response parsing.

use crate::config::Route;
use crate::error::GatewayError;
use crate::soap::convert::{Converter, Gate, Tally, Undeclared};
use crate::soap::parse::{self, SoapResponse, XmlLimits};
use crate::soap::stream::JsonWriter;
use crate::wsdl::model::{Message, Operation, PartKind, Schema, TypeRef, Wsdl};
use crate::wsdl::typed::{Root, SchemaShaper};
use crate::wsdl::{render, validate};
use bytes::Bytes;
use serde_json::{Map, Value};

/// A route's WSDL and operation.
#[derive(Debug, Clone, Copy)]
pub struct Bound<'a> {
    pub wsdl: &'a Wsdl,
    pub op: &'a Operation,
}

/// The WSDL operation a route is bound to, if any.
pub fn bound(route: &Route) -> Option<Bound<'_>> {
    let wsdl = route.service.wsdl.as_deref()?;
    let op = wsdl.operations.get(route.wsdl_op?)?;
    Some(Bound { wsdl, op })
}

/// The type of a top-level input field (a child of the wrapper, or an RPC part).
fn field_type(schema: &Schema, msg: &Message, name: &str) -> Option<TypeRef> {
    if let Some(el) = msg.element.and_then(|id| schema.elements.get(id)) {
        let ct = schema.complex(el.ty)?;
        let child = ct.children.get(*ct.child_index.get(name)?)?;
        return schema.elements.get(child.element).map(|d| d.ty);
    }
    match &msg.parts.iter().find(|p| p.name == name)?.kind {
        PartKind::Type(t) => Some(*t),
        PartKind::Element(id) => schema.elements.get(*id).map(|d| d.ty),
    }
}

/// The operation's input object: the JSON body's members with the path and query parameters that
/// name input fields, typed by the schema and merged by [`super::input::merge`] (never
/// overriding), then validated against the input message.
pub fn input(
    b: Bound<'_>,
    path: &Map<String, Value>,
    query: &[(String, String)],
    body: &Value,
) -> Result<Value, GatewayError> {
    let Some(msg) = &b.op.input else {
        return Ok(Value::Object(Map::new()));
    };
    let mut obj = match body {
        Value::Object(o) => o.clone(),
        Value::Null => Map::new(),
        _ => {
            let v = validate::Violation {
                pointer: String::new(),
                message: "must be a JSON object".into(),
            };
            return Err(GatewayError::SchemaViolation(vec![v]));
        }
    };
    let schema = &b.wsdl.schema;
    super::input::merge(&mut obj, path, query, |name, raw| {
        let ty = field_type(schema, msg, name)?;
        Some(validate::coerce_scalar(schema, ty, raw))
    })?;
    let mut value = Value::Object(obj);
    validate::validate_canonical(schema, msg, &mut value).map_err(GatewayError::SchemaViolation)?;
    Ok(value)
}

/// Whether `name` is a top-level input field of the route's operation.
pub fn is_input_field(b: Bound<'_>, name: &str) -> bool {
    b.op.input
        .as_ref()
        .is_some_and(|msg| field_type(&b.wsdl.schema, msg, name).is_some())
}

/// Renders the SOAP Body content of the operation's input from a validated input object.
pub fn render_body(b: Bound<'_>, input: &Value) -> Result<String, GatewayError> {
    let Some(msg) = &b.op.input else {
        return Ok(String::new());
    };
    render::render_body(&b.wsdl.schema, msg, input).map_err(|e| GatewayError::TemplateInput(e.0))
}

/// What each section of a typed response does with data the schema does not declare: the Body
/// payload, the Header blocks and the Fault detail.
#[derive(Debug, Clone, Copy)]
pub struct Gates<'a> {
    pub body: Gate<'a>,
    pub header: Gate<'a>,
    pub fault: Gate<'a>,
}

impl<'a> Gates<'a> {
    /// The same policy everywhere, reporting to `tally`.
    pub fn all(policy: Undeclared, tally: &'a Tally) -> Gates<'a> {
        let g = Gate::new(policy, tally);
        Gates {
            body: g,
            header: g,
            fault: g,
        }
    }

    /// A route's gates: its policy on the Body, and on the Header blocks and the Fault detail
    /// where they reach the client (`include_header`; a fault rule with `expose_detail`). A
    /// section that never leaves is converted as before, uncounted.
    pub fn of(route: &Route, tally: &'a Tally) -> Gates<'a> {
        let spec = &route.response;
        let g = Gate::new(spec.undeclared, tally);
        Gates {
            body: g,
            header: if spec.include_header { g } else { Gate::KEEP },
            fault: if route.faults.exposes_detail() {
                g
            } else {
                Gate::KEEP
            },
        }
    }
}

/// Parses a response with the operation's output schema deciding arrays and types, and `gates`
/// what becomes of undeclared data.
pub fn parse_typed(
    bytes: &[u8],
    limits: &XmlLimits,
    b: Bound<'_>,
    gates: Gates<'_>,
) -> Result<SoapResponse, GatewayError> {
    let (body, header, fault) = shapers(b, gates);
    let shapers = parse::Shapers {
        body: Converter::new(body, limits),
        header,
        fault,
    };
    parse::parse_with(bytes, limits, shapers, true)
}

/// Like [`parse_typed`], writing the payload's JSON text while parsing (`Payload(None)`: convert
/// with [`parse_typed`] instead, see [`JsonWriter`]).
pub fn stream_typed(
    bytes: &[u8],
    limits: &XmlLimits,
    b: Bound<'_>,
    gates: Gates<'_>,
) -> Result<SoapResponse<Option<Bytes>>, GatewayError> {
    let (body, header, fault) = shapers(b, gates);
    let shapers = parse::Shapers {
        body: JsonWriter::new(body, limits, bytes.len()),
        header,
        fault,
    };
    parse::parse_with(bytes, limits, shapers, true)
}

/// The schema's shapers of the operation's output: Body, Header blocks, Fault detail.
fn shapers<'a>(b: Bound<'a>, gates: Gates<'a>) -> (SchemaShaper<'a>, SchemaShaper<'a>, SchemaShaper<'a>) {
    let schema = &b.wsdl.schema;
    let root = match &b.op.output {
        Some(Message {
            element: Some(id), ..
        }) => Root::Element(*id),
        Some(m) => Root::Rpc(&m.parts),
        None => Root::Rpc(&[]),
    };
    let headers = b.op.output.as_ref().map_or(&[][..], |m| &m.headers[..]);
    (
        SchemaShaper::new(schema, root, gates.body),
        SchemaShaper::new(schema, Root::Headers(headers), gates.header),
        SchemaShaper::new(schema, Root::Fault(&b.op.faults), gates.fault),
    )
}

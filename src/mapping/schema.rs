//! Schema-aware mediation for routes bound to a WSDL operation: input object, validation, body
//! rendering from the schema, and typed response parsing.

use crate::config::Route;
use crate::error::GatewayError;
use crate::soap::convert::Converter;
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

/// Parses a response with the operation's output schema deciding arrays and types.
pub fn parse_typed(bytes: &[u8], limits: &XmlLimits, b: Bound<'_>) -> Result<SoapResponse, GatewayError> {
    let (body, header, fault) = shapers(b);
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
) -> Result<SoapResponse<Option<Bytes>>, GatewayError> {
    let (body, header, fault) = shapers(b);
    let shapers = parse::Shapers {
        body: JsonWriter::new(body, limits, bytes.len()),
        header,
        fault,
    };
    parse::parse_with(bytes, limits, shapers, true)
}

/// The schema's shapers of the operation's output: Body, Header blocks, Fault detail.
fn shapers(b: Bound<'_>) -> (SchemaShaper<'_>, SchemaShaper<'_>, SchemaShaper<'_>) {
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
        SchemaShaper::new(schema, root),
        SchemaShaper::new(schema, Root::Headers(headers)),
        SchemaShaper::new(schema, Root::Fault(&b.op.faults)),
    )
}

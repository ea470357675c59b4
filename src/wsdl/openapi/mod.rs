//! The OpenAPI 3.1 document of the REST facade: every route of a snapshot, with request, response
//! and problem schemas derived from the XSD where the route is bound to a WSDL operation.
//!
//! Bound routes: the input object as the JSON request body (POST, PUT, PATCH) and the converted
//! content of the response wrapper as the 200 body (`{}` once `response.select` reshapes it). When
//! the route validates its input (every schema-rendered route, and template routes with
//! `request.validate`), path parameters are typed by the input field they fill (which the body
//! then need not carry) and the top-level simple fields are optional query parameters, all merged
//! into the one input that is validated and rendered; other routes pass path, query and body to
//! their template unvalidated, and say so. Routes without a WSDL get `{}` schemas. Errors are
//! `application/problem+json` ([`problem_schema`]).

mod schema;

use crate::config::raw::RawMapping;
use crate::config::{Route, Snapshot};
use crate::mapping::schema::{bound, Bound};
use crate::wsdl::model::{Message, Schema, TypeRef};
use crate::wsdl::validate::{layout, part_decl, Layout};
use actix_web::http::Method;
use schema::{builtin, Components, SchemaGen};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};

/// Statuses every route may answer with a problem, and why.
const ERRORS: [(u16, &str); 9] = [
    (
        400,
        "Malformed JSON, a schema violation, a threat, or a backend Client fault without a rule",
    ),
    (404, "No route for the path"),
    (405, "The path exists with other methods"),
    (413, "The request body is too large"),
    (415, "The request body is not application/json"),
    (500, "Internal error"),
    (
        502,
        "The backend is unreachable, faulted, or sent an unusable response",
    ),
    (503, "The backend is unavailable"),
    (504, "The backend timed out"),
];

/// The OpenAPI 3.1 document of every route in the snapshot.
pub fn document(snap: &Snapshot) -> Value {
    let mut comps = Components::default();
    comps.insert("Problem", problem_schema());
    let mut faults = FaultIndex::default();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for route in snap.router.routes() {
        let op = operation(route, &mut comps, &mut faults);
        let method = route.method.as_str().to_ascii_lowercase();
        paths
            .entry(route.path.as_str().to_string())
            .or_default()
            .insert(method, op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "soapgate",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "REST/JSON facade of legacy SOAP services, generated from the gateway's mappings and WSDLs.",
        },
        "paths": paths,
        "components": { "schemas": comps.schemas },
    })
}

/// The RFC 9457 problem body every error uses.
pub fn problem_schema() -> Value {
    let string = json!({ "type": "string" });
    json!({
        "type": "object",
        "required": ["type", "title", "status", "detail", "instance", "code", "correlation_id"],
        "properties": {
            "type": { "type": "string", "format": "uri" },
            "title": string,
            "status": { "type": "integer", "format": "int32", "minimum": 400, "maximum": 599 },
            "detail": string,
            "instance": string,
            "code": { "type": "string", "pattern": "^[A-Z0-9_]+$" },
            "correlation_id": string,
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["pointer", "message"],
                    "properties": { "pointer": string, "message": string },
                },
            },
            "fault_detail": {},
        },
    })
}

fn operation(route: &Route, comps: &mut Components, faults: &mut FaultIndex) -> Value {
    let b = bound(route);
    let mut op = Map::new();
    op.insert(
        "operationId".into(),
        json!(format!("{}.{}", route.service.name, route.id)),
    );
    op.insert("summary".into(), json!(route.operation));
    if let Some(doc) = b.and_then(|b| b.op.documentation.as_deref()) {
        op.insert("description".into(), json!(doc));
    }
    op.insert("tags".into(), json!([route.service.name]));
    // Path and query parameters fill typed input fields when the route validates its input.
    let schema_input = b.filter(|_| route.validate);
    let path_names = path_params(route.path.as_str());
    let mut params: Vec<Value> = path_names
        .iter()
        .map(|n| path_param(n, schema_input, comps))
        .collect();
    if let Some(b) = schema_input {
        params.extend(query_params(b, &path_names, comps));
    }
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if matches!(route.method, Method::POST | Method::PUT | Method::PATCH) {
        let body = request_body(b, schema_input.is_some(), &path_names, comps);
        op.insert("requestBody".into(), body);
    }
    op.insert("responses".into(), responses(route, b, comps, faults));
    Value::Object(op)
}

/// The JSON body: the input object (by the XSD) or `{}` without a WSDL, with what the gateway
/// really does with it.
fn request_body(
    b: Option<Bound<'_>>,
    validated: bool,
    path_names: &[String],
    comps: &mut Components,
) -> Value {
    let filled: &[String] = if validated { path_names } else { &[] };
    let schema = b.map_or_else(|| json!({}), |b| input_schema(b, filled, comps));
    let mut body = json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    let description = match (b.is_some(), validated) {
        (true, true) => {
            "The operation's input object. Its members, the path parameters and the query \
             parameters form the one input of the request: a name given in two places must carry \
             the same value (400 PARAMETER_CONFLICT), and the whole input is validated against the \
             WSDL's schema (400 SCHEMA_VIOLATION) before it is sent."
        }
        (true, false) => {
            "The operation's input object as the WSDL describes it. This route renders a request \
             template without validation (`request.validate` is off): the gateway checks the JSON \
             limits and patterns only; the backend validates."
        }
        _ => {
            "Read by the route's request template; the gateway checks the JSON limits and patterns \
             only (there is no schema to validate against)."
        }
    };
    body["description"] = json!(description);
    body
}

/// `{name}` segments of a path template.
fn path_params(template: &str) -> Vec<String> {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(str::to_string)
        .collect()
}

fn path_param(name: &str, b: Option<Bound<'_>>, comps: &mut Components) -> Value {
    let schema = b
        .and_then(|b| field(b, name).map(|ty| scalar_schema(&b.wsdl.schema, ty, comps)))
        .unwrap_or_else(|| json!({ "type": "string" }));
    let description = match b {
        Some(b) if field(b, name).is_some() => format!(
            "Fills the input field `{name}` (typed and validated); the body may repeat it only with the same value."
        ),
        Some(_) => "Not an input field: available to the route's template as `path` only, not validated.".into(),
        None => "Available to the route's template (`path` and `input`); not validated.".into(),
    };
    json!({ "name": name, "in": "path", "required": true, "description": description, "schema": schema })
}

/// Every top-level simple, non-repeating input field not filled by the path.
fn query_params(b: Bound<'_>, path_names: &[String], comps: &mut Components) -> Vec<Value> {
    top_fields(b)
        .into_iter()
        .filter(|f| !f.many && !path_names.contains(&f.name))
        .filter(|f| b.wsdl.schema.builtin_of(f.ty).is_some())
        .map(|f| {
            let schema = scalar_schema(&b.wsdl.schema, f.ty, comps);
            let description = format!(
                "Fills the input field `{}` (typed and validated); the body may repeat it only with the same value.",
                f.name
            );
            json!({ "name": f.name, "in": "query", "required": false, "description": description, "schema": schema })
        })
        .collect()
}

/// A top-level field of an operation's input object.
struct Field {
    name: String,
    ty: TypeRef,
    many: bool,
}

fn top_fields(b: Bound<'_>) -> Vec<Field> {
    let schema = &b.wsdl.schema;
    let Some(msg) = &b.op.input else { return Vec::new() };
    match layout(schema, msg) {
        Some(Layout::Element(decl)) => match schema.complex(decl.ty) {
            Some(ct) => ct
                .children
                .iter()
                .filter_map(|c| {
                    let d = schema.elements.get(c.element)?;
                    Some(Field {
                        name: d.name.local.clone(),
                        ty: d.ty,
                        many: c.many,
                    })
                })
                .collect(),
            None => Vec::new(),
        },
        Some(Layout::Parts(parts)) => parts
            .iter()
            .filter_map(|p| {
                part_decl(schema, p).map(|d| Field {
                    name: p.name.clone(),
                    ty: d.ty,
                    many: false,
                })
            })
            .collect(),
        None => Vec::new(),
    }
}

fn field(b: Bound<'_>, name: &str) -> Option<TypeRef> {
    top_fields(b)
        .into_iter()
        .find(|f| f.name == name && !f.many)
        .map(|f| f.ty)
}

/// The schema of a value given as text (path or query): simple types, or simpleContent's text.
fn scalar_schema(schema: &Schema, ty: TypeRef, comps: &mut Components) -> Value {
    match schema.complex(ty) {
        Some(_) => schema
            .builtin_of(ty)
            .map_or_else(|| json!({ "type": "string" }), builtin),
        None => SchemaGen::new(schema, comps).type_schema(ty, "param"),
    }
}

/// The input object; fields a path parameter fills are not required in the body.
fn input_schema(b: Bound<'_>, path_names: &[String], comps: &mut Components) -> Value {
    let Some(msg) = &b.op.input else { return json!({}) };
    let mut s = message_schema(&b.wsdl.schema, msg, comps, true);
    if let Some(Value::Array(required)) = s.get_mut("required") {
        required.retain(|r| !path_names.iter().any(|p| r.as_str() == Some(p)));
        if required.is_empty() {
            if let Some(obj) = s.as_object_mut() {
                obj.remove("required");
            }
        }
    }
    s
}

/// The JSON object of a message: the wrapper's content (document) or one key per part (rpc).
fn message_schema(schema: &Schema, msg: &Message, comps: &mut Components, input: bool) -> Value {
    let mut gen = SchemaGen::new(schema, comps);
    match layout(schema, msg) {
        Some(Layout::Element(decl)) => match schema.complex(decl.ty) {
            Some(ct) => gen.complex(ct),
            None if input => object([("#text".to_string(), gen.type_schema(decl.ty, "text"))], true),
            None => object([(decl.name.local.clone(), gen.element(decl))], false),
        },
        Some(Layout::Parts(parts)) => {
            let props = parts
                .iter()
                .filter_map(|p| Some((p.name.clone(), gen.element(&part_decl(schema, p)?))));
            object(props.collect::<Vec<_>>(), input)
        }
        None => json!({}),
    }
}

/// A closed object of these properties, all required or none.
fn object(props: impl IntoIterator<Item = (String, Value)>, required: bool) -> Value {
    let props: Map<String, Value> = props.into_iter().collect();
    let mut s = json!({ "type": "object", "additionalProperties": false });
    if required && !props.is_empty() {
        s["required"] = Value::Array(props.keys().map(|k| json!(k)).collect());
    }
    s["properties"] = Value::Object(props);
    s
}

fn responses(route: &Route, b: Option<Bound<'_>>, comps: &mut Components, faults: &mut FaultIndex) -> Value {
    let output = match (b, &route.response.select) {
        (Some(b), None) => {
            b.op.output
                .as_ref()
                .map(|m| message_schema(&b.wsdl.schema, m, comps, false))
        }
        _ => None,
    };
    let ok = json!({
        "description": "The converted SOAP response",
        "content": { "application/json": { "schema": output.unwrap_or_else(|| json!({})) } },
    });
    let mut statuses: BTreeMap<u16, String> = ERRORS.iter().map(|(s, d)| (*s, d.to_string())).collect();
    for (status, code, title) in faults.rules(route) {
        let line = format!("SOAP fault mapped by a rule: {code} ({title})");
        statuses
            .entry(status)
            .and_modify(|d| *d = format!("{d}; {line}"))
            .or_insert(line);
    }
    let mut out = Map::new();
    out.insert("200".into(), ok);
    for (status, description) in statuses {
        let problem = json!({ "schema": { "$ref": "#/components/schemas/Problem" } });
        let r = json!({ "description": description, "content": { "application/problem+json": problem } });
        out.insert(status.to_string(), r);
    }
    Value::Object(out)
}

/// Fault rules per route, read from the mapping files (one read per file).
#[derive(Default)]
struct FaultIndex {
    files: HashMap<String, Option<RawMapping>>,
}

impl FaultIndex {
    /// (status, code, title) of each fault rule of a route.
    fn rules(&mut self, route: &Route) -> Vec<(u16, String, String)> {
        let file = &route.service.file;
        let mapping = self.files.entry(file.clone()).or_insert_with(|| {
            let text = std::fs::read_to_string(file).ok()?;
            serde_yaml_ng::from_str::<RawMapping>(&text).ok()
        });
        let Some(raw) = mapping
            .as_ref()
            .and_then(|m| m.routes.iter().find(|r| r.id == route.id))
        else {
            return Vec::new();
        };
        raw.faults
            .iter()
            .filter_map(|f| {
                let status = u16::try_from(f.status).ok().filter(|s| (400..=599).contains(s))?;
                let code = f.code.clone().unwrap_or_else(|| "UPSTREAM_FAULT".into());
                Some((
                    status,
                    code,
                    f.title.clone().unwrap_or_else(|| "Backend fault".into()),
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;

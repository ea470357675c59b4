//! `run()`: the request flow of DESIGN.md §2, readable top to bottom, one `Exchange` per request.

use crate::backend::{self, BackendReply};
use crate::config::{BodySource, Route, Settings, Snapshot};
use crate::error::GatewayError;
use crate::mapping::request::Templates;
use crate::mapping::schema;
use crate::router::Matched;
use crate::soap::charset;
use crate::soap::convert::{Gate, Tally};
use crate::soap::envelope::{self, Envelope};
use crate::soap::parse::{self, Outcome};
use actix_web::http::header::HeaderMap;
use actix_web::http::Method;
use bytes::Bytes;
use handlebars::Context;
use serde_json::{json, Map, Value};
use std::time::Instant;

/// Microseconds spent in each phase of one request.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timings {
    pub accept_us: u64,
    pub render_us: u64,
    pub backend_us: u64,
    pub convert_us: u64,
}

/// All per-request state, passed by `&mut` through the phases.
#[derive(Debug)]
pub struct Exchange {
    pub correlation_id: String,
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub route_id: Option<String>,
    pub operation: Option<String>,
    pub backend_status: Option<u16>,
    /// The caller, once step 4 validated its token.
    pub principal: Option<std::sync::Arc<crate::auth::Principal>>,
    /// The TCP peer (the transport sets it; rate limits key on it or on a trusted proxy's hop).
    pub peer: Option<std::net::IpAddr>,
    /// The verified TLS client certificate (mutual TLS on the listener), when one was presented.
    pub client_cert: Option<std::sync::Arc<crate::tls::ClientCert>>,
    /// Step 5's verdict per policy, for the `RateLimit` / `RateLimit-Policy` response headers.
    pub rate_limit: Vec<crate::ratelimit::Status>,
    pub timings: Timings,
    /// Step 10: the response's undeclared elements and attributes, dropped or refused (counted
    /// and logged by name by the transport).
    pub undeclared: Tally,
}

impl Exchange {
    /// A fresh exchange for a request whose body was already read within its limit.
    pub fn new(
        correlation_id: String,
        method: Method,
        path: String,
        query: String,
        headers: HeaderMap,
        body: Bytes,
    ) -> Exchange {
        Exchange {
            correlation_id,
            method,
            path,
            query,
            headers,
            body,
            route_id: None,
            operation: None,
            backend_status: None,
            principal: None,
            peer: None,
            client_cert: None,
            rate_limit: Vec::new(),
            timings: Timings::default(),
            undeclared: Tally::default(),
        }
    }
}

fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros().min(u64::MAX as u128) as u64
}

/// The JSON answer: written as text while the response was parsed, or built as a `Value` (routes
/// that `select` or `includeHeader`, and responses the writer handed over, see
/// [`crate::soap::stream`]).
#[derive(Debug)]
pub enum Answer {
    Text(Bytes),
    Value(Value),
}

impl Answer {
    /// The JSON text.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Answer::Text(b) => b,
            Answer::Value(v) => Bytes::from(v.to_string()),
        }
    }
}

/// The whole mediation of one request: REST/JSON in, SOAP to the backend, JSON out.
pub async fn run(
    snap: &Snapshot,
    out: &crate::outbound::Outbound,
    ex: &mut Exchange,
) -> Result<Answer, GatewayError> {
    // 1. Accept: decode the target (one strict decoder, src/target.rs: a malformed escape is 400)
    //    and match the route (the body was read within its limit by the transport).
    let t = Instant::now();
    let query = crate::target::decode_query(&ex.query).map_err(|e| GatewayError::BadPercentEncoding {
        place: "query",
        why: e.why(),
    })?;
    let matched = snap.router.find(&ex.method, &ex.path)?;
    let route = matched.route.clone();
    ex.route_id = Some(route.id.clone());
    ex.operation = Some(route.operation.clone());
    // 2. Correlate: done by the transport middleware (ex.correlation_id).
    // 3. Threat checks: content type, JSON syntax and structure limits (one non-recursive pass),
    //    injection patterns over path, query, headers and JSON values (THREATS.md J*).
    let body = request_json(ex, &route.threats)?;
    crate::threat::inspect(&route.threats, &matched.path, &query, &ex.headers, &body)?;
    // 4. Check the route's client-certificate conditions, then authenticate the bearer token and
    //    authorize the route's scopes and claims. A client whose auth-failure budget is spent
    //    gets 429 before its token is looked at.
    let rl = &snap.ratelimit;
    snap.auth
        .check_client_cert(&route.auth, ex.client_cert.as_deref())
        .map_err(|e| GatewayError::Auth(Box::new(e)))?;
    if route.auth.required {
        let cert = ex.client_cert.as_deref();
        rl.auth_gate(&route.id, ex.peer, &ex.headers, cert, &mut ex.rate_limit)?;
    }
    match snap
        .auth
        .authenticate(&route.auth, &ex.headers, &query, out)
        .await
    {
        Ok(p) => ex.principal = p,
        Err(e) => {
            if e.counts_as_failure() {
                let r = &mut ex.rate_limit;
                let cert = ex.client_cert.as_deref();
                if let Some(limited) = rl.auth_failed(&route.id, ex.peer, &ex.headers, cert, r).await {
                    return Err(limited);
                }
            }
            return Err(GatewayError::Auth(Box::new(e)));
        }
    }
    // 5. Rate limit by the route's policies (all must admit `cost` units).
    let (principal, peer) = (ex.principal.as_deref(), ex.peer);
    rl.check(
        &route.rate_limit,
        &route.id,
        principal,
        peer,
        &ex.headers,
        ex.client_cert.as_deref(),
        &mut ex.rate_limit,
    )
    .await?;
    // 6. One input: the body's members with the path and query parameters, merged by one rule (a
    //    name given twice with different values is refused, nothing is overridden), validated
    //    against the WSDL schema when the route says so.
    let input = match schema::bound(&route) {
        Some(b) if route.validate => schema::input(b, &matched.params, &query, &body)?,
        _ => crate::mapping::input::untyped(&body, &matched.params, &query)?,
    };
    let body = if route.validate {
        crate::mapping::input::validated_body(body, &input)
    } else {
        body
    };
    ex.timings.accept_us = micros(t);

    // 7. Render the SOAP Body (and Header) and wrap them in the envelope.
    let t = Instant::now();
    let envelope = render(snap, &matched, ex, &query, body, input)?;
    ex.timings.render_us = micros(t);

    // 8. Call the backend.
    let t = Instant::now();
    let limit = snap.settings.backend_response_limit;
    let reply = backend::call(out, &route.service.backend, &envelope, &ex.correlation_id, limit).await;
    ex.timings.backend_us = micros(t);
    let reply = reply?;
    ex.backend_status = Some(reply.status);

    // 9. Parse in one bounded streaming pass; 10. convert to JSON and select.
    let t = Instant::now();
    let out = convert(&snap.settings, &route, &reply, &ex.undeclared);
    ex.timings.convert_us = micros(t);
    out
}

/// Step 3: the body must be JSON within the route's limits when present; an empty body is `null`
/// for GET and DELETE.
fn request_json(ex: &Exchange, policy: &crate::threat::Policy) -> Result<Value, GatewayError> {
    let needs_body = matches!(ex.method, Method::POST | Method::PUT | Method::PATCH);
    if !needs_body && ex.body.is_empty() {
        return Ok(Value::Null);
    }
    let ct = ex
        .headers
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" && !(mime.starts_with("application/") && mime.ends_with("+json")) {
        return Err(GatewayError::UnsupportedMediaType(
            "The request body must be application/json.".into(),
        ));
    }
    crate::threat::parse_json(&ex.body, policy)
}

/// The template context: the merged `input`, and where its values came from (`path`, `query`,
/// `body`), allow-listed `headers`, `principal`, `client_cert`, `correlation_id`.
fn template_context(
    m: &Matched,
    route: &Route,
    ex: &Exchange,
    query_pairs: &[(String, String)],
    body: Value,
    input: Value,
) -> Result<Context, GatewayError> {
    let mut query = Map::new();
    for (k, v) in query_pairs {
        query.entry(k.clone()).or_insert(Value::String(v.clone()));
    }
    let mut headers = Map::new();
    for name in &route.headers {
        if let Some(v) = ex.headers.get(name).and_then(|v| v.to_str().ok()) {
            headers.insert(name.as_str().to_string(), Value::String(v.to_string()));
        }
    }
    Templates::prepare(json!({
        "path": m.params,
        "query": query,
        "headers": headers,
        "body": body,
        "input": input,
        "correlation_id": ex.correlation_id,
        "principal": ex.principal.as_deref().map(crate::auth::Principal::to_json),
        "client_cert": ex.client_cert.as_deref().map(crate::tls::ClientCert::to_json),
        "ns": route.service.backend.namespace,
        "operation": route.operation,
    }))
}

/// Step 7.
fn render(
    snap: &Snapshot,
    m: &Matched,
    ex: &Exchange,
    query: &[(String, String)],
    body: Value,
    input: Value,
) -> Result<Envelope, GatewayError> {
    let route = &m.route;
    let needs_ctx = matches!(route.body, BodySource::Template(_)) || route.header_template.is_some();
    let schema_body = match (&route.body, schema::bound(route)) {
        (BodySource::Schema, Some(b)) if route.validate => Some(schema::render_body(b, &input)?),
        _ => None,
    };
    let ctx = if needs_ctx {
        Some(template_context(m, route, ex, query, body, input)?)
    } else {
        None
    };
    let body_xml = match (&route.body, &ctx, schema_body) {
        (BodySource::Template(name), Some(ctx), _) => snap.templates.render(name, ctx)?,
        (BodySource::Schema, _, Some(xml)) => xml,
        _ => {
            return Err(GatewayError::Internal(
                "route has no way to render its body".into(),
            ))
        }
    };
    let header_xml = match (&route.header_template, &ctx) {
        (Some(h), Some(ctx)) => Some(snap.templates.render(h, ctx)?),
        _ => None,
    };
    // The backend's WS-Security block (fresh nonce and timestamps) goes first in the one Header.
    let security = match &route.service.backend.credentials {
        Some(c) => c.soap_header()?,
        None => None,
    };
    let header_xml = match (security, header_xml) {
        (Some(mut s), Some(h)) => {
            s.push_str(&h);
            Some(s)
        }
        (s, h) => s.or(h),
    };
    let backend = &route.service.backend;
    let encoding = backend.request_encoding;
    envelope::build(
        backend.version,
        &route.action,
        header_xml.as_deref(),
        &body_xml,
        encoding,
    )
    .map_err(|c| GatewayError::RequestEncoding {
        encoding: encoding.name(),
        char: u32::from(c),
    })
}

/// Steps 9 and 10: check the reply, parse it, map a Fault, convert (only declared data: undeclared
/// elements and attributes go to `tally`) and select.
fn convert(
    settings: &Settings,
    route: &Route,
    reply: &BackendReply,
    tally: &Tally,
) -> Result<Answer, GatewayError> {
    if (300..400).contains(&reply.status) {
        return Err(GatewayError::UpstreamRedirect);
    }
    if !is_xml_content_type(reply.content_type.as_deref()) {
        return Err(GatewayError::UpstreamContentType);
    }
    // Once, to UTF-8 (the parser's only input), within the same limit as the bytes received.
    let limit = settings.backend_response_limit;
    let text = charset::decode(&reply.body, reply.content_type.as_deref(), limit).map_err(|e| match e {
        charset::CharsetError::TooLarge(n) => GatewayError::UpstreamTooLarge(n),
        other => GatewayError::UpstreamEncoding(other.to_string()),
    })?;
    let xml = text.as_bytes();
    let spec = &route.response;
    let typed = schema::bound(route).filter(|b| b.op.output.is_some());
    let gates = schema::Gates::of(route, tally);
    if spec.select.is_none() && !spec.include_header && spec.allow.is_none() {
        // The payload is the answer as it is: write its JSON text while parsing.
        let parsed = match typed {
            Some(b) => schema::stream_typed(xml, &settings.xml, b, gates)?,
            None => parse::stream(xml, &settings.xml, &spec.hints, spec.unwrap)?,
        };
        if let Some(text) = payload(route, reply.status, parsed.outcome)? {
            return Ok(Answer::Text(text));
        }
        // Handed over (a name that repeats apart, ...): the tree below gives the answer, and
        // counts the undeclared data afresh.
        tally.reset();
    }
    let parsed = match typed {
        Some(b) => schema::parse_typed(xml, &settings.xml, b, gates)?,
        None => parse::parse(xml, &settings.xml, &spec.hints, spec.unwrap)?,
    };
    let value = payload(route, reply.status, parsed.outcome)?;
    let whole = if spec.include_header {
        let header = parsed.header.unwrap_or_else(|| Value::Object(Map::new()));
        json!({"header": header, "body": value})
    } else {
        value
    };
    // Without a WSDL, `allow` says what may leave (before `select` picks from it).
    let whole = match &spec.allow {
        Some(allow) => allow.filter(whole, Gate::new(spec.undeclared, tally))?,
        None => whole,
    };
    Ok(Answer::Value(match &spec.select {
        Some(sel) => sel.apply(&whole)?,
        None => whole,
    }))
}

/// The payload of a 2xx reply; a Fault (with any status) through the route's fault rules.
fn payload<P>(route: &Route, status: u16, outcome: Outcome<P>) -> Result<P, GatewayError> {
    match outcome {
        Outcome::Fault(f) => Err(GatewayError::UpstreamFault(Box::new(route.faults.map(&f)))),
        Outcome::Payload(_) if !(200..300).contains(&status) => Err(GatewayError::UpstreamStatus(status)),
        Outcome::Payload(p) => Ok(p),
    }
}

/// SOAP travels as `text/xml` (1.1), `application/soap+xml` (1.2) or another XML type.
fn is_xml_content_type(ct: Option<&str>) -> bool {
    let Some(ct) = ct else { return false };
    let mime = ct.split(';').next().unwrap_or("").trim();
    matches!(mime, "text/xml" | "application/xml" | "application/soap+xml") || mime.ends_with("+xml")
}

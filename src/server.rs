//! actix-web transport: correlation id and access-log middleware, body cap, the mediation handler.

use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics::PhaseTimes;
use crate::pipeline::{self, Exchange};
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use futures_util::StreamExt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The request's correlation id, set by the transport middleware.
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

/// What the handler tells the access log.
#[derive(Debug, Clone, Default)]
struct AccessInfo {
    route: Option<String>,
    operation: Option<String>,
    backend_status: Option<u16>,
    /// Subject (or client id) of the validated token; never the token.
    principal: Option<String>,
    timings: pipeline::Timings,
    error: Option<(String, String)>,
}

/// Takes `X-Correlation-ID`, `X-Request-ID` or the W3C `traceparent` trace id, or mints one.
pub fn correlation_id(headers: &header::HeaderMap) -> String {
    let valid = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    };
    for name in ["x-correlation-id", "x-request-id"] {
        if let Some(v) = headers.get(name).and_then(|v| v.to_str().ok()) {
            if valid(v) {
                return v.to_string();
            }
        }
    }
    if let Some(tp) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        let parts: Vec<&str> = tp.split('-').collect();
        if parts.len() == 4 && parts[1].len() == 32 && parts[1].bytes().all(|b| b.is_ascii_hexdigit()) {
            return parts[1].to_ascii_lowercase();
        }
    }
    uuid::Uuid::new_v4().simple().to_string()
}

/// Transport middleware: correlation id in, echoed out, one access-log line and metrics per request.
async fn transport(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let cid = correlation_id(req.headers());
    req.extensions_mut().insert(CorrelationId(cid.clone()));
    let method = req.method().to_string();
    let path = req.path().to_string();
    let peer = req.peer_addr().map(|p| p.ip().to_string()).unwrap_or_default();
    let gw = req.app_data::<web::Data<Gateway>>().cloned();
    let mut res = next.call(req).await?;
    if let Ok(v) = HeaderValue::from_str(&cid) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-correlation-id"), v);
    }
    let info = res
        .response()
        .extensions()
        .get::<AccessInfo>()
        .cloned()
        .unwrap_or_default();
    let status = res.status().as_u16();
    let bytes_out = match res.response().body().size() {
        actix_web::body::BodySize::Sized(n) => n,
        _ => 0,
    };
    let total = started.elapsed().as_micros() as u64;
    let t = info.timings;
    let route = info.route.as_deref().unwrap_or("-");
    let operation = info.operation.as_deref().unwrap_or("-");
    let (code, detail) = info.error.clone().unwrap_or_default();
    let principal = info.principal.as_deref().unwrap_or("-");
    tracing::info!(
        target: "soapgate::access",
        correlation_id = %cid, method = %method, path = %path, peer = %peer,
        route, operation, principal, status, backend_status = info.backend_status.unwrap_or(0),
        total_us = total, accept_us = t.accept_us, render_us = t.render_us,
        backend_us = t.backend_us, convert_us = t.convert_us, bytes_out,
        error_code = %code, error = %detail,
        "request"
    );
    if let Some(gw) = gw {
        let times = PhaseTimes {
            total,
            accept: t.accept_us,
            render: t.render_us,
            backend: t.backend_us,
            convert: t.convert_us,
        };
        gw.metrics.record(route, operation, status, times);
        if code.starts_with("AUTH_") {
            gw.metrics.auth_failure(&code);
        }
    }
    Ok(res)
}

/// Reads the body, refusing more than `limit` bytes (checked on Content-Length and while reading).
async fn read_body(
    headers: &header::HeaderMap,
    mut payload: web::Payload,
    limit: usize,
) -> Result<bytes::Bytes, GatewayError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| GatewayError::JsonSyntax(format!("request body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(GatewayError::PayloadTooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Renders an error as problem+json (no side effects; the access log logs it).
pub fn problem_response(e: &GatewayError, instance: &str, cid: &str) -> HttpResponse {
    let mut b = HttpResponse::build(e.status());
    b.content_type("application/problem+json");
    if let GatewayError::MethodNotAllowed { allow, .. } = e {
        b.insert_header((header::ALLOW, allow.join(", ")));
    }
    if let GatewayError::Auth(a) = e {
        if let Some(challenge) = a.challenge() {
            b.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if matches!(a.failure, crate::auth::AuthFailure::Unavailable(_)) {
            b.insert_header((header::RETRY_AFTER, "5"));
        }
    }
    b.body(e.problem(instance, cid).to_string())
}

/// The single REST handler: everything else is the pipeline.
async fn mediate(
    req: HttpRequest,
    payload: web::Payload,
    gw: web::Data<Gateway>,
    client: web::Data<awc::Client>,
) -> HttpResponse {
    let cid = req
        .extensions()
        .get::<CorrelationId>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let snap = gw.snapshot();
    let mut info = AccessInfo::default();
    let result = match read_body(req.headers(), payload, snap.settings.request_body_limit).await {
        Err(e) => Err(e),
        Ok(body) => {
            let mut ex = Exchange::new(
                cid.clone(),
                req.method().clone(),
                req.path().to_string(),
                req.query_string().to_string(),
                req.headers().clone(),
                body,
            );
            let r = pipeline::run(&snap, &client, &mut ex).await;
            info = AccessInfo {
                route: ex.route_id,
                operation: ex.operation,
                backend_status: ex.backend_status,
                principal: ex.principal.as_ref().map(|p| p.log_name().to_string()),
                timings: ex.timings,
                error: None,
            };
            r
        }
    };
    let mut resp = match result {
        Ok(value) => HttpResponse::Ok()
            .content_type("application/json")
            .body(value.to_string()),
        Err(e) => {
            info.error = Some((e.code(), e.log_detail()));
            problem_response(&e, req.path(), &cid)
        }
    };
    resp.extensions_mut().insert(info);
    resp
}

/// The OpenAPI document of the snapshot it was computed for (recomputed after a reload).
#[derive(Debug, Default)]
struct OpenApiCache(std::sync::Mutex<Option<(std::sync::Weak<crate::config::Snapshot>, bytes::Bytes)>>);

impl OpenApiCache {
    fn get(&self, snap: &Arc<crate::config::Snapshot>) -> bytes::Bytes {
        let mut cached = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match cached.as_ref() {
            Some((weak, body)) if std::ptr::eq(weak.as_ptr(), Arc::as_ptr(snap)) => body.clone(),
            _ => {
                let body = bytes::Bytes::from(crate::wsdl::openapi::document(snap).to_string());
                *cached = Some((Arc::downgrade(snap), body.clone()));
                body
            }
        }
    }
}

/// `GET /openapi.json`: the OpenAPI 3.1 document of the routes being served.
async fn openapi_json(gw: web::Data<Gateway>, cache: web::Data<OpenApiCache>) -> HttpResponse {
    let body = cache.get(&gw.snapshot());
    HttpResponse::Ok().content_type("application/json").body(body)
}

/// Binds the REST listener with the snapshot's settings.
pub fn rest_server(gw: Arc<Gateway>, addr: &str) -> std::io::Result<(Server, Vec<SocketAddr>)> {
    let snap = gw.snapshot();
    let s = snap.settings.clone();
    if tokio::runtime::Handle::try_current().is_ok() {
        gw.spawn_key_refresh();
    }
    let data = web::Data::from(gw);
    let client_settings = s.clone();
    let openapi = web::Data::new(OpenApiCache::default());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::Data::new(crate::backend::client(&client_settings)))
            .app_data(openapi.clone())
            .wrap(from_fn(transport))
            .route("/openapi.json", web::get().to(openapi_json))
            .default_service(web::to(mediate))
    })
    .workers(s.workers)
    .client_request_timeout(s.client_request_timeout)
    .keep_alive(s.keep_alive)
    .disable_signals()
    .bind(addr)?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}

//! actix-web transport: correlation id and access-log middleware, body cap, the mediation handler.

use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::metrics::PhaseTimes;
use crate::pipeline::{self, Exchange};
use actix_service::ServiceFactoryExt;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse};
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

/// The route and operation of a request as soon as the handler has matched it, for the access
/// line of a request that never gets its response (see [`AccessLine`]).
#[derive(Debug, Clone, Default)]
struct Matched(std::rc::Rc<std::cell::RefCell<Option<(String, String)>>>);

/// Status logged and counted for a request whose client went away before its response was ready
/// (nginx's "client closed request").
pub const CLIENT_CLOSED_REQUEST: u16 = 499;

/// The access line and metrics of one request, owned by the transport middleware from the moment
/// the request arrives: [`AccessLine::finish`] writes them with the response; if the request
/// future is dropped first (actix drops it when the client resets or the connection fails while
/// the request is in service), `Drop` writes them with status 499 and `outcome: cancelled`. So
/// every request that reached the application has exactly one line and one count.
struct AccessLine {
    started: Instant,
    cid: String,
    method: String,
    path: String,
    peer: String,
    gw: Option<web::Data<Gateway>>,
    matched: Matched,
    written: bool,
}

impl AccessLine {
    /// Writes the line and the metrics once (later calls do nothing).
    fn finish(&mut self, status: u16, info: &AccessInfo, bytes_out: u64, outcome: &str) {
        if std::mem::replace(&mut self.written, true) {
            return;
        }
        let total = self.started.elapsed().as_micros() as u64;
        let t = info.timings;
        let matched = self.matched.0.borrow();
        let (route, operation) = match (&info.route, &*matched) {
            (Some(r), _) => (r.as_str(), info.operation.as_deref().unwrap_or("-")),
            (None, Some((r, o))) => (r.as_str(), o.as_str()),
            (None, None) => ("-", "-"),
        };
        let (code, detail) = info.error.clone().unwrap_or_default();
        let principal = info.principal.as_deref().unwrap_or("-");
        tracing::info!(
            target: "soapgate::access",
            correlation_id = %self.cid, method = %self.method, path = %self.path, peer = %self.peer,
            route, operation, principal, status, outcome,
            backend_status = info.backend_status.unwrap_or(0),
            total_us = total, accept_us = t.accept_us, render_us = t.render_us,
            backend_us = t.backend_us, convert_us = t.convert_us, bytes_out,
            error_code = %code, error = %detail,
            "request"
        );
        if let Some(gw) = &self.gw {
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
    }
}

impl Drop for AccessLine {
    fn drop(&mut self) {
        if !self.written {
            self.finish(CLIENT_CLOSED_REQUEST, &AccessInfo::default(), 0, "cancelled");
        }
    }
}

/// Transport middleware: correlation id in, echoed out, one access-log line and metrics per request
/// (cancelled ones included: [`AccessLine`]).
async fn transport(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let cid = correlation_id(req.headers());
    let matched = Matched::default();
    req.extensions_mut().insert(CorrelationId(cid.clone()));
    req.extensions_mut().insert(matched.clone());
    let gw = req.app_data::<web::Data<Gateway>>().cloned();
    let mut line = AccessLine {
        started: Instant::now(),
        cid: cid.clone(),
        method: req.method().to_string(),
        path: req.path().to_string(),
        peer: req.peer_addr().map(|p| p.ip().to_string()).unwrap_or_default(),
        gw: gw.clone(),
        matched,
        written: false,
    };
    // Header and URL limits (THREATS.md H10), before routing; actix refuses bigger heads itself.
    let early = gw
        .as_ref()
        .and_then(|g| head_limits(&req, &g.snapshot().settings));
    let mut res = match early {
        Some(e) => {
            let path = &line.path;
            let instance = if path.len() <= 1024 { path.as_str() } else { "" };
            let mut resp = problem_response(&e, instance, &cid);
            let error = Some((e.code(), e.log_detail()));
            resp.extensions_mut().insert(AccessInfo {
                error,
                ..AccessInfo::default()
            });
            req.into_response(resp).map_into_right_body()
        }
        None => match next.call(req).await {
            Ok(res) => res.map_into_left_body(),
            Err(e) => {
                let status = e.as_response_error().status_code().as_u16();
                line.finish(status, &AccessInfo::default(), 0, "error");
                return Err(e);
            }
        },
    };
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
    // A HEAD answer carries GET's Content-Length but no body.
    let bytes_out = match res.response().body().size() {
        actix_web::body::BodySize::Sized(n) if line.method != "HEAD" => n,
        _ => 0,
    };
    line.finish(res.status().as_u16(), &info, bytes_out, "completed");
    Ok(res)
}

/// `limits.headers`, `limits.header_count` (431) and `limits.url` (414).
fn head_limits(req: &ServiceRequest, s: &crate::config::Settings) -> Option<GatewayError> {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > s.url_limit {
        return Some(GatewayError::UrlTooLong { limit: s.url_limit });
    }
    let headers = req.headers();
    // H13: no protocol upgrade on REST routes (actix would hand the rest of the connection over
    // as the body).
    if headers.contains_key(header::UPGRADE) {
        return Some(GatewayError::BadRequest("protocol upgrades are not supported"));
    }
    // H8: one Host, and an absolute-form target must name the same authority.
    let mut hosts = headers.get_all(header::HOST);
    let host = hosts.next();
    if hosts.next().is_some() {
        return Some(GatewayError::BadRequest("more than one Host header"));
    }
    // HTTP/2 carries the authority in `:authority` (the target); a Host header must then agree.
    if let Some(authority) = req.uri().authority() {
        let same = match host {
            Some(h) => h.as_bytes().eq_ignore_ascii_case(authority.as_str().as_bytes()),
            None => req.version() == actix_web::http::Version::HTTP_2,
        };
        if !same {
            return Some(GatewayError::BadRequest(
                "the Host header does not match the request target",
            ));
        }
    }
    if headers.len() > s.header_count_limit {
        let why = format!("{} headers", s.header_count_limit);
        return Some(GatewayError::HeadersTooLarge(why));
    }
    let bytes: usize = headers.iter().map(|(n, v)| n.as_str().len() + v.len() + 4).sum();
    if bytes > s.header_limit {
        return Some(GatewayError::HeadersTooLarge(format!("{} bytes", s.header_limit)));
    }
    None
}

/// Reads the body within `timeout` (408 after: THREATS.md E3) and the limit, then decodes a gzip
/// or deflate `Content-Encoding`; the limit counts decoded bytes.
async fn read_body(
    headers: &header::HeaderMap,
    payload: web::Payload,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<bytes::Bytes, GatewayError> {
    let raw = actix_rt::time::timeout(timeout, read_raw_body(headers, payload, limit))
        .await
        .map_err(|_| GatewayError::RequestTimeout(timeout.as_millis()))??;
    crate::threat::decode_body(headers, raw, limit)
}

/// Reads the body as sent, refusing more than `limit` bytes (on Content-Length and while reading).
async fn read_raw_body(
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
    crate::backend::collect_within(&mut payload, 0, limit)
        .await
        .map_err(|e| match e {
            awc::error::PayloadError::Overflow => GatewayError::PayloadTooLarge { limit },
            e => GatewayError::JsonSyntax(format!("request body: {e}")),
        })
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
    if let GatewayError::CircuitOpen(secs) = e {
        b.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if let GatewayError::RateLimited { retry_after, .. } = e {
        b.insert_header((header::RETRY_AFTER, retry_after.max(&1).to_string()));
    }
    if let GatewayError::RateLimitUnavailable(_) = e {
        b.insert_header((header::RETRY_AFTER, "1"));
    }
    match e {
        GatewayError::Overloaded => {
            b.insert_header((header::RETRY_AFTER, "1"));
        }
        GatewayError::RequestTimeout(_)
        | GatewayError::UrlTooLong { .. }
        | GatewayError::HeadersTooLarge(_)
        | GatewayError::BadRequest(_) => {
            b.insert_header((header::CONNECTION, "close"));
        }
        _ => {}
    }
    b.body(e.problem(instance, cid).to_string())
}

/// The single REST handler: everything else is the pipeline.
async fn mediate(
    req: HttpRequest,
    payload: web::Payload,
    gw: web::Data<Gateway>,
    clients: web::Data<crate::outbound::Outbound>,
) -> HttpResponse {
    let cid = req
        .extensions()
        .get::<CorrelationId>()
        .map(|c| c.0.clone())
        .unwrap_or_default();
    let snap = gw.snapshot();
    // Backend timeouts follow a reload: the worker's clients are rebuilt when they change.
    clients.retime(
        snap.settings.backend_connect_timeout,
        snap.settings.backend_total_timeout,
    );
    let mut info = AccessInfo::default();
    // The route's body limit applies when the route is known (404/405 come from the pipeline).
    let route = snap.router.find(req.method(), req.path()).ok().map(|m| m.route);
    if let (Some(r), Some(m)) = (&route, req.extensions().get::<Matched>()) {
        *m.0.borrow_mut() = Some((r.id.clone(), r.operation.clone()));
    }
    let limit = route
        .as_ref()
        .map_or(snap.settings.request_body_limit, |r| r.threats.body_limit);
    let read = read_body(req.headers(), payload, limit, snap.settings.client_body_timeout).await;
    // Concurrency caps (THREATS.md E4): refuse beyond them, never queue.
    let admitted = read.and_then(|body| admit(&gw, &snap, route.as_deref()).map(|p| (body, p)));
    let mut rate = Vec::new();
    let result = match admitted {
        Err(e) => Err(e),
        Ok((body, _permits)) => {
            let mut ex = Exchange::new(
                cid.clone(),
                req.method().clone(),
                req.path().to_string(),
                req.query_string().to_string(),
                req.headers().clone(),
                body,
            );
            ex.peer = req.peer_addr().map(|a| a.ip());
            ex.client_cert = req.conn_data::<Arc<crate::tls::ClientCert>>().cloned();
            let r = pipeline::run(&snap, &clients, &mut ex).await;
            rate = std::mem::take(&mut ex.rate_limit);
            if let (Some(route), n @ 1..) = (&ex.route_id, ex.undeclared.count()) {
                gw.metrics.undeclared(route, n, &ex.undeclared.names());
            }
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
        Ok(answer) => HttpResponse::Ok()
            .content_type("application/json")
            .body(answer.into_bytes()),
        Err(e) => {
            info.error = Some((e.code(), e.log_detail()));
            problem_response(&e, req.path(), &cid)
        }
    };
    crate::ratelimit::apply_headers(&rate, resp.headers_mut());
    resp.extensions_mut().insert(info);
    resp
}

/// Takes a slot of the instance's and the route's concurrency caps (503 `OVERLOADED` when full).
fn admit<'a>(
    gw: &'a Gateway,
    snap: &crate::config::Snapshot,
    route: Option<&'a crate::config::Route>,
) -> Result<(crate::threat::Permit<'a>, Option<crate::threat::Permit<'a>>), GatewayError> {
    let global = gw
        .inflight
        .try_acquire(snap.settings.concurrency)
        .ok_or(GatewayError::Overloaded)?;
    let per_route = match route.and_then(|r| r.threats.concurrency.map(|c| (r, c))) {
        Some((r, cap)) => Some(
            r.threats
                .inflight
                .try_acquire(cap)
                .ok_or(GatewayError::Overloaded)?,
        ),
        None => None,
    };
    Ok((global, per_route))
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

/// `GET /openapi.json` (and HEAD): the OpenAPI 3.1 document of the routes being served.
fn openapi_json(gw: &Gateway, cache: &OpenApiCache) -> HttpResponse {
    let body = cache.get(&gw.snapshot());
    HttpResponse::Ok().content_type("application/json").body(body)
}

/// The REST listener's one handler. `/openapi.json` is recognised by the same decoder as the
/// routes ([`crate::target::path_segments`]), never by a second router: GET and HEAD serve it;
/// another method is mediated when a configured route serves it, else 405 `Allow: GET, HEAD`.
async fn entry(
    req: HttpRequest,
    payload: web::Payload,
    gw: web::Data<Gateway>,
    clients: web::Data<crate::outbound::Outbound>,
    openapi: web::Data<OpenApiCache>,
) -> HttpResponse {
    let builtin = crate::target::path_segments(req.path()).is_ok_and(|s| s == ["openapi.json"]);
    if builtin {
        if matches!(*req.method(), Method::GET | Method::HEAD) {
            return openapi_json(&gw, &openapi);
        }
        let snap = gw.snapshot();
        if let Err(GatewayError::RouteNotFound { .. }) = snap.router.find(req.method(), req.path()) {
            let e = GatewayError::MethodNotAllowed {
                method: req.method().to_string(),
                allow: vec!["GET".into(), "HEAD".into()],
            };
            let cid = req
                .extensions()
                .get::<CorrelationId>()
                .map(|c| c.0.clone())
                .unwrap_or_default();
            let mut resp = problem_response(&e, req.path(), &cid);
            resp.extensions_mut().insert(AccessInfo {
                error: Some((e.code(), e.log_detail())),
                ..AccessInfo::default()
            });
            return resp;
        }
    }
    mediate(req, payload, gw, clients).await
}

/// Binds the REST listener with the snapshot's settings: https when `tls` is configured.
pub fn rest_server(gw: Arc<Gateway>, addr: &str) -> std::io::Result<(Server, Vec<SocketAddr>)> {
    let snap = gw.snapshot();
    let s = snap.settings.clone();
    if tokio::runtime::Handle::try_current().is_ok() {
        gw.spawn_key_refresh();
    }
    let tls = gw.rest_tls.clone();
    let data = web::Data::from(gw);
    let openapi = web::Data::new(OpenApiCache::default());
    // What `HttpServer` builds, plus an `Expect: 100-continue` check (THREATS.md H12).
    let listener = std::net::TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let builder = actix_server::Server::build().workers(s.workers).disable_signals();
    let server = crate::listener::listen(builder, "soapgate-rest", listener, tls, move || {
        let clients = web::Data::new(crate::outbound::Outbound::new(
            s.backend_connect_timeout,
            s.backend_total_timeout,
        ));
        crate::outbound::Outbound::spawn_sweeper(&clients.clone().into_inner());
        let app = App::new()
            .app_data(data.clone())
            .app_data(clients)
            .app_data(openapi.clone())
            .wrap(from_fn(transport))
            .default_service(web::to(entry));
        let gw = data.clone();
        let expect = actix_service::fn_service(move |req| expect_continue(gw.clone(), req))
            .map_err(|e: actix_web::Error| e.error_response().into());
        crate::listener::Http {
            app: crate::listener::boxed_app(app),
            expect: Some(actix_service::boxed::factory(expect)),
            client_request_timeout: s.client_request_timeout,
            keep_alive: s.keep_alive,
            h2_stream_window: u32::try_from(s.request_body_limit.max(65_535)).unwrap_or(u32::MAX),
        }
    })?
    .run();
    Ok((server, vec![local]))
}

/// `Expect: 100-continue`: a declared body over the route's limit is 413 before any byte of it is
/// sent, and without `100 Continue`; otherwise actix answers `100 Continue`.
async fn expect_continue(
    gw: web::Data<Gateway>,
    req: actix_http::Request,
) -> Result<actix_http::Request, actix_web::Error> {
    let snap = gw.snapshot();
    let limit = snap
        .router
        .find(req.method(), req.path())
        .map_or(snap.settings.request_body_limit, |m| m.route.threats.body_limit);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        let e = GatewayError::PayloadTooLarge { limit };
        let cid = correlation_id(req.headers());
        tracing::info!(
            target: "soapgate::access",
            correlation_id = %cid, method = %req.method(), path = %req.path(),
            status = 413u16, error_code = %e.code(), "request refused before 100 Continue"
        );
        let mut resp = problem_response(&e, req.path(), &cid);
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Err(actix_web::error::InternalError::from_response(e, resp).into());
    }
    Ok(req)
}

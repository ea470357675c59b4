//! Admin listener: `/healthz`, `/readyz`, `/metrics`, `POST /reload`.

use crate::gateway::Gateway;
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready when the config is loaded and every identity provider's metadata and keys are (an IdP
/// that goes down later leaves cached keys serving, so readiness stays true).
async fn readyz(gw: web::Data<Gateway>) -> HttpResponse {
    let snap = gw.snapshot();
    let providers: Vec<_> = snap
        .auth
        .providers
        .iter()
        .map(|p| {
            let mut v = json!({"name": p.spec.name, "ready": p.keys.ready(), "keys": p.keys.keys().len()});
            if let Some(e) = p.keys.last_error() {
                v["error"] = json!(e);
            }
            v
        })
        .collect();
    let ready = snap.auth.ready();
    let body = json!({"ready": ready, "routes": snap.router.routes().len(), "providers": providers});
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

async fn metrics(gw: web::Data<Gateway>) -> HttpResponse {
    let mut text = gw.metrics.render();
    crate::metrics::render_jwks_fetches(&gw.snapshot().auth, &mut text);
    if let Some(tls) = gw.rest_tls.as_ref().filter(|t| t.http2()) {
        h2_guard_metrics(&tls.h2_stats(), &mut text);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}

/// HTTP/2 connections of the REST listener the frame guard cut off, by violation.
fn h2_guard_metrics(stats: &crate::tls::h2guard::H2GuardStats, out: &mut String) {
    use crate::tls::h2guard::Violation;
    use std::fmt::Write;
    out.push_str("# HELP soapgate_h2_connections_cut_off_total HTTP/2 connections ended with GOAWAY(ENHANCE_YOUR_CALM) by the frame guard.\n");
    out.push_str("# TYPE soapgate_h2_connections_cut_off_total counter\n");
    for v in Violation::ALL {
        let _ = writeln!(
            out,
            "soapgate_h2_connections_cut_off_total{{violation=\"{}\"}} {}",
            v.as_str(),
            stats.count(v)
        );
    }
}

async fn reload(gw: web::Data<Gateway>) -> HttpResponse {
    match web::block(move || gw.reload()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"reloaded": true})),
        Ok(Err(errors)) => {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            HttpResponse::UnprocessableEntity().json(json!({"reloaded": false, "errors": list}))
        }
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// GET, and HEAD with it (RFC 9110 §9.1: actix sends HEAD answers without their body).
fn get_or_head() -> actix_web::Route {
    use actix_web::guard;
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Binds the admin listener (one worker): https when `admin_tls` is configured.
pub fn admin_server(gw: Arc<Gateway>, addr: &str) -> std::io::Result<(Server, Vec<SocketAddr>)> {
    let tls = gw.admin_tls.clone();
    let data = web::Data::from(gw);
    let listener = std::net::TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    let builder = actix_server::Server::build().workers(1).disable_signals();
    let server = crate::listener::listen(builder, "soapgate-admin", listener, tls, move || {
        let app = App::new()
            .app_data(data.clone())
            .route("/healthz", get_or_head().to(healthz))
            .route("/readyz", get_or_head().to(readyz))
            .route("/metrics", get_or_head().to(metrics))
            .route("/reload", web::post().to(reload));
        crate::listener::Http {
            app: crate::listener::boxed_app(app),
            expect: None,
            client_request_timeout: ADMIN_TIMEOUT,
            keep_alive: ADMIN_TIMEOUT,
            h2_stream_window: 65_535,
        }
    })?
    .run();
    Ok((server, vec![local]))
}

/// Request head timeout and keep-alive of the admin listener (actix's defaults).
const ADMIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

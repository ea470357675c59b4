//! Admin listener: `/healthz`, `/readyz`, `/metrics`, `POST /reload`.

use crate::gateway::Gateway;
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
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
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(gw.metrics.render())
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

/// Binds the admin listener (one worker).
pub fn admin_server(gw: Arc<Gateway>, addr: &str) -> std::io::Result<(Server, Vec<SocketAddr>)> {
    let data = web::Data::from(gw);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
            .route("/reload", web::post().to(reload))
    })
    .workers(1)
    .disable_signals()
    .bind(addr)?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}

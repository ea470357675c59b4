//! The demo "legacy" SOAP service (`CustomerService`, SOAP 1.1 and 1.2) that `soapgate demo` runs in-process.
//!
//! `POST /CustomerService` answers document/literal requests described by
//! `wsdl/customers.wsdl`; `GET /CustomerService?wsdl` serves that WSDL. The SOAP
//! version is chosen by the request `Content-Type` (`text/xml` = 1.1,
//! `application/soap+xml` = 1.2); the operation by the local name of the first
//! child of `Body`. Faults are returned with HTTP 500.

mod data;
mod ops;
mod request;
mod soap;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{dev::Server, web, App, HttpRequest, HttpResponse, HttpServer};
use quick_xml::escape::escape;

use self::data::Store;
use self::soap::{Fault, SoapVersion};

/// The WSDL describing this service.
pub const WSDL: &str = include_str!("../../../wsdl/customers.wsdl");
/// Path of the service endpoint.
pub const PATH: &str = "/CustomerService";
/// Endpoint address written in [`WSDL`]; rewritten to the real address when served.
const WSDL_ADDRESS: &str = "http://127.0.0.1:9081/CustomerService";

/// Registers `POST /CustomerService` and `GET /CustomerService?wsdl`.
///
/// Every call creates a fresh in-memory data set, shared by the requests of
/// the app instance (that is, of one worker).
pub fn app_config(cfg: &mut web::ServiceConfig) {
    let store = web::Data::new(Mutex::new(Store::seed()));
    cfg.service(
        web::resource(PATH)
            .app_data(store)
            .route(web::post().to(soap_endpoint))
            .route(web::get().to(wsdl_endpoint)),
    );
}

/// Binds the demo service on `addr` (port 0 picks a free port) with one worker.
///
/// Returns the server, which must be awaited or spawned by the caller, and the
/// address actually bound.
pub async fn start(addr: SocketAddr) -> std::io::Result<(Server, SocketAddr)> {
    start_with(addr, None).await
}

/// [`start`], over TLS when `tls` is given (`soapgate demo --tls`).
pub async fn start_with(
    addr: SocketAddr,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
) -> std::io::Result<(Server, SocketAddr)> {
    let server = HttpServer::new(|| App::new().configure(app_config))
        .workers(1)
        .shutdown_timeout(1);
    let server = match tls {
        Some(config) => server.bind_rustls_0_23(addr, (*config).clone())?,
        None => server.bind(addr)?,
    };
    let bound = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("demo backend bound no address"))?;
    Ok((server.run(), bound))
}

async fn soap_endpoint(req: HttpRequest, body: web::Bytes, store: web::Data<Mutex<Store>>) -> HttpResponse {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(version) = SoapVersion::from_content_type(content_type) else {
        let fault = Fault::client(format!(
            "Unsupported Content-Type '{content_type}': use text/xml (SOAP 1.1) or application/soap+xml (SOAP 1.2)"
        ));
        let mut response = respond(SoapVersion::V11, Err(fault));
        *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return response;
    };
    respond(version, handle(version, &body, &store))
}

/// Parses and executes one request.
fn handle(version: SoapVersion, body: &[u8], store: &Mutex<Store>) -> Result<String, Fault> {
    let xml = std::str::from_utf8(body).map_err(|_| Fault::client("Malformed XML: request is not UTF-8"))?;
    let request = request::parse(xml)?;
    if request.version != version {
        return Err(Fault::version_mismatch(
            "SOAP envelope namespace does not match the Content-Type",
        ));
    }
    tracing::debug!(operation = %request.operation, "demo backend request");
    let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
    ops::dispatch(&request, &mut store)
}

fn respond(version: SoapVersion, result: Result<String, Fault>) -> HttpResponse {
    let (mut builder, body) = match result {
        Ok(body) => (HttpResponse::Ok(), body),
        Err(fault) => {
            tracing::debug!(reason = %fault.reason, "demo backend fault");
            (HttpResponse::InternalServerError(), fault.to_xml(version))
        }
    };
    builder
        .insert_header((header::CONTENT_TYPE, version.content_type()))
        .body(soap::envelope(version, &body))
}

async fn wsdl_endpoint(req: HttpRequest) -> HttpResponse {
    if !req.query_string().eq_ignore_ascii_case("wsdl") {
        return HttpResponse::BadRequest()
            .content_type(ContentType::plaintext())
            .body("This is a SOAP endpoint: POST a SOAP message, or GET ?wsdl for its description.\n");
    }
    let info = req.connection_info();
    let address = format!("{}://{}{}", info.scheme(), info.host(), req.path());
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/xml; charset=utf-8"))
        .body(WSDL.replace(WSDL_ADDRESS, &escape(address.as_str())))
}

//! Binds one listener, plain HTTP/1.1 or TLS (HTTP/1.1, and HTTP/2 when enabled, by ALPN), around
//! an app assembled from actix-http's `HttpService` as `HttpServer` would.

use crate::tls::peer::ConnectInfo;
use crate::tls::LiveTls;
use actix_http::body::BoxBody;
use actix_http::h1::UpgradeHandler;
use actix_http::{HttpService, Protocol, Request, Response};
use actix_server::ServerBuilder;
use actix_service::boxed::BoxServiceFactory;
use actix_service::{ServiceFactory, ServiceFactoryExt};
use actix_tls::accept::rustls_0_23::{Acceptor, TlsStream};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// The application of one worker, boxed so plain and TLS listeners share one type.
pub type AppFactory = BoxServiceFactory<(), Request, Response<BoxBody>, Response<BoxBody>, ()>;

/// The `Expect: 100-continue` check of one worker.
pub type ExpectFactory = BoxServiceFactory<(), Request, Request, Response<BoxBody>, ()>;

/// Longest wait for a TLS handshake (a client that opens a connection and stays silent, or
/// speaks plain HTTP and waits, is dropped after it).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// What one worker serves, and the HTTP settings of the listener.
pub struct Http {
    pub app: AppFactory,
    /// `None`: actix answers `100 Continue` to every `Expect`.
    pub expect: Option<ExpectFactory>,
    pub client_request_timeout: Duration,
    pub keep_alive: Duration,
    /// HTTP/2 flow-control window of one stream (the connection's is twice it): how much of a
    /// request body a client may send ahead of the handler.
    pub h2_stream_window: u32,
}

/// Boxes an actix-web `App` (its responses with boxed bodies, its errors rendered).
pub fn boxed_app<T, B>(app: actix_web::App<T>) -> AppFactory
where
    B: actix_web::body::MessageBody + 'static,
    T: ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
{
    use actix_service::IntoServiceFactory;
    let app = actix_service::map_config(app.into_factory(), |_| actix_web::dev::AppConfig::default())
        .map(|res| res.map_into_boxed_body().into())
        .map_err(|e: actix_web::Error| e.error_response().into());
    actix_service::boxed::factory(app)
}

type Service<T> = HttpService<T, AppFactory, BoxBody, ExpectFactory, UpgradeHandler>;

/// Adds the listener to `builder`: TLS when `tls` is given (the certificate and client verifier
/// are read from it at every handshake), plain HTTP/1.1 otherwise.
pub fn listen<F>(
    builder: ServerBuilder,
    name: &str,
    listener: TcpListener,
    tls: Option<Arc<LiveTls>>,
    http: F,
) -> std::io::Result<ServerBuilder>
where
    F: Fn() -> Http + Send + Clone + 'static,
{
    let local = listener.local_addr()?;
    match tls {
        None => builder.listen(name, listener, move || service::<TcpStream>(http(), local).tcp()),
        Some(tls) => builder.listen(name, listener, move || {
            https(&tls, service::<TlsStream<TcpStream>>(http(), local))
        }),
    }
}

fn service<T: ConnectInfo + 'static>(http: Http, local: SocketAddr) -> Service<T> {
    let expect = http.expect.unwrap_or_else(|| {
        actix_service::boxed::factory(actix_service::fn_service(|req: Request| async move {
            Ok::<_, Response<BoxBody>>(req)
        }))
    });
    HttpService::build()
        .client_request_timeout(http.client_request_timeout)
        .keep_alive(http.keep_alive)
        .local_addr(local)
        .h2_initial_window_size(http.h2_stream_window)
        .h2_initial_connection_window_size(http.h2_stream_window.saturating_mul(2))
        .on_connect_ext(|io: &T, ext| io.connect_info(ext))
        .expect(expect)
        .finish(http.app)
}

/// The TLS handshake, then HTTP/2 when ALPN chose `h2`, HTTP/1.1 otherwise. Every TLS connection
/// passes here: the place to wrap the stream (an HTTP/2 guard) before the HTTP service sees it.
///
/// HTTP/2 bounds: actix-http 3 exposes only the flow-control windows (set from the body limit).
/// The h2 crate's defaults apply to the rest: no `SETTINGS_MAX_CONCURRENT_STREAMS` (unbounded
/// concurrent streams), a 16 MiB decoded header list (then `limits.headers` and
/// `limits.header_count` refuse big heads with 431), 20 pending-accept reset streams and 1024
/// locally reset streams per connection (the rapid-reset mitigations), and CONTINUATION frames
/// bounded by that header list size.
fn https(
    tls: &LiveTls,
    service: Service<TlsStream<TcpStream>>,
) -> impl ServiceFactory<TcpStream, Config = (), Response = (), Error = (), InitError = ()> {
    let mut acceptor = Acceptor::new(tls.server_config());
    acceptor.set_handshake_timeout(HANDSHAKE_TIMEOUT);
    acceptor
        .map_err(|e| tracing::debug!(error = ?e, "TLS handshake failed"))
        .and_then(|io: TlsStream<TcpStream>| async move {
            let proto = match io.get_ref().1.alpn_protocol() {
                Some(b"h2") => Protocol::Http2,
                _ => Protocol::Http1,
            };
            let peer = io.get_ref().0.peer_addr().ok();
            Ok((io, proto, peer))
        })
        .and_then(service.map_err(|e| tracing::debug!(error = ?e, "connection ended with an error")))
}

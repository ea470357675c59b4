//! Binds one listener, plain HTTP/1.1 or TLS (HTTP/1.1, and HTTP/2 when enabled, by ALPN), around
//! an app assembled from actix-http's `HttpService` as `HttpServer` would.

use crate::tls::h2guard::{accept_tls, H2Guard, H2GuardStats, H2Limits};
use crate::tls::peer::ConnectInfo;
use crate::tls::LiveTls;
use actix_http::body::BoxBody;
use actix_http::h1::UpgradeHandler;
use actix_http::{HttpService, Request, Response};
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
        Some(tls) => {
            let stats = tls.h2_stats();
            builder.listen(name, listener, move || {
                let http = http();
                // The request head of every h2 stream under the HTTP/1 head timeout (a zero
                // timeout is none, as in actix).
                let limits = H2Limits {
                    header_timeout: Some(http.client_request_timeout).filter(|t| !t.is_zero()),
                    ..H2Limits::default()
                };
                https(
                    &tls,
                    stats.clone(),
                    limits,
                    service::<H2Guard<TlsStream<TcpStream>>>(http, local),
                )
            })
        }
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

/// The TLS handshake, then HTTP/2 when ALPN chose `h2` (behind the frame guard,
/// [`crate::tls::h2guard`]), HTTP/1.1 otherwise.
///
/// HTTP/2 bounds: actix-http 3 exposes only the flow-control windows (set from the body limit);
/// the guard bounds what h2 0.3 does not (concurrent streams, header blocks, CONTINUATION, empty
/// DATA, RST_STREAM, SETTINGS, PING, PRIORITY, WINDOW_UPDATE and unknown-frame floods, and the time
/// a request head takes: `limits.header_timeout`) and ends an abusive connection with
/// GOAWAY(ENHANCE_YOUR_CALM). docs/http2.md has the numbers.
fn https(
    tls: &LiveTls,
    stats: Arc<H2GuardStats>,
    limits: H2Limits,
    service: Service<H2Guard<TlsStream<TcpStream>>>,
) -> impl ServiceFactory<TcpStream, Config = (), Response = (), Error = (), InitError = ()> {
    let mut acceptor = Acceptor::new(tls.server_config());
    acceptor.set_handshake_timeout(HANDSHAKE_TIMEOUT);
    acceptor
        .map_err(|e| tracing::debug!(error = ?e, "TLS handshake failed"))
        .and_then(move |io: TlsStream<TcpStream>| {
            let guarded = accept_tls(io, &limits, &stats);
            async move { Ok(guarded) }
        })
        .and_then(service.map_err(|e| tracing::debug!(error = ?e, "connection ended with an error")))
}

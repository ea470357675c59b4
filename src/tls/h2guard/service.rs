//! The composition a TLS listener uses: rustls handshake, then the guard around h2 connections,
//! then actix-http's `HttpService` (as `HttpService::rustls_0_23` composes it, with the guard added).

use std::future::ready;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_http::Protocol;
use actix_service::{fn_service, ServiceFactory, ServiceFactoryExt};
use actix_tls::accept::rustls_0_23::{reexports::ServerConfig, Acceptor, TlsStream};
use actix_tls::accept::TlsError;
use tokio::net::TcpStream;

use super::{H2Guard, H2GuardStats, H2Limits};

/// What `HttpService` is handed per connection: the (guarded) stream, its protocol, the peer.
pub type Guarded = (H2Guard<TlsStream<TcpStream>>, Protocol, Option<SocketAddr>);

/// The stream guarded when ALPN chose h2 (passthrough for HTTP/1.1), with its protocol and peer.
pub fn accept_tls(io: TlsStream<TcpStream>, limits: &H2Limits, stats: &Arc<H2GuardStats>) -> Guarded {
    let h2 = io.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let peer = io.get_ref().0.peer_addr().ok();
    let _ = io.get_ref().0.set_nodelay(true);
    if h2 {
        (
            H2Guard::new(io, limits.clone(), stats.clone()),
            Protocol::Http2,
            peer,
        )
    } else {
        (H2Guard::passthrough(io), Protocol::Http1, peer)
    }
}

/// A TCP service factory: the rustls handshake (`config`'s ALPN list decides whether h2 is
/// offered), [`accept_tls`], then `http` (an `HttpService` built for [`Guarded`] streams).
pub fn rustls_guarded<S>(
    config: ServerConfig,
    handshake_timeout: Option<Duration>,
    limits: H2Limits,
    stats: Arc<H2GuardStats>,
    http: S,
) -> impl ServiceFactory<
    TcpStream,
    Config = (),
    Response = (),
    Error = TlsError<io::Error, S::Error>,
    InitError = (),
>
where
    S: ServiceFactory<Guarded, Config = (), Response = (), InitError = ()>,
{
    let mut acceptor = Acceptor::new(config);
    if let Some(t) = handshake_timeout {
        acceptor.set_handshake_timeout(t);
    }
    acceptor
        .map_err(TlsError::into_service_error)
        .and_then(fn_service(move |io: TlsStream<TcpStream>| {
            ready(Ok::<_, TlsError<io::Error, S::Error>>(accept_tls(
                io, &limits, &stats,
            )))
        }))
        .and_then(http.map_err(TlsError::Service))
}

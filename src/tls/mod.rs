//! TLS for every connection soapgate makes or accepts: PEM loading and checks, the outbound client
//! configuration, the listener configuration, and the classes of handshake failure.

pub mod client;
pub mod failure;
pub mod h2guard;
pub mod peer;
pub mod pem;
pub mod server;

pub use client::{provider, ClientTls, RawClientTls};
pub use failure::TlsFailure;
pub use peer::ClientCert;
pub use pem::At;
pub use server::{ListenerTls, LiveTls, RawListenerTls};

//! TLS for every connection soapgate makes or accepts: PEM loading and checks, the outbound client
//! configuration, the listener configuration, and the classes of handshake failure.

pub mod client;
pub mod failure;
pub mod h2guard;
pub mod pem;

pub use client::{provider, ClientTls, RawClientTls};
pub use failure::TlsFailure;
pub use pem::At;

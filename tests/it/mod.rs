//! Integration tests, one module per area.

mod auth;
mod backend;
mod config;
mod credentials;
mod demo;
mod envelopes;
mod faults;
mod import;
mod logging;
mod oidc_provider;
mod ratelimit;
mod responses;
mod routing;
mod spyne;
mod templates;
mod threats;
mod tls_listener;
mod tls_outbound;
mod wsdl;

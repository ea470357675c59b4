//! Integration tests, one module per area.

mod auth;
mod backend;
mod config;
mod connections;
mod credentials;
mod demo;
mod encodings;
mod envelopes;
mod faults;
mod framing;
mod h2_abuse;
mod h2_control;
mod h2_smuggling;
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
mod values;
mod wsdl;

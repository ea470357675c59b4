//! Integration tests, one module per area.

mod backend;
mod config;
mod demo;
mod envelopes;
mod faults;
mod import;
mod logging;
mod oidc_provider;
mod responses;
mod routing;
mod spyne;
mod templates;
mod wsdl;

//! Integration tests, one module per area.

mod backend;
mod config;
mod demo;
mod envelopes;
mod faults;
mod logging;
mod responses;
mod routing;
mod spyne;
mod templates;
mod wsdl;
mod import;

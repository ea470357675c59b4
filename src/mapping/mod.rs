//! Mapping between REST/JSON and SOAP: request templates, response conversion/selection, fault rules.

pub mod fault;
pub mod helpers;
pub mod input;
pub mod request;
pub mod response;
pub mod schema;

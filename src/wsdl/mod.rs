//! WSDL 1.1 + XSD: loading into a compiled model.

pub mod model;

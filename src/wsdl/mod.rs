//! WSDL 1.1 + XSD: loading a service description and all its schemas into one compiled [`model::Wsdl`].
//!
//! [`load`] reads files; [`load_with`] takes a fetch function (files or http(s) URLs). Both follow
//! `wsdl:import`, `xsd:import` and `xsd:include` (relative locations resolve against the including
//! document), parse with DTDs disallowed and bounded sizes, and never panic on any input.

pub mod loader;
pub mod model;
pub mod typed;
pub mod xsd;
// Readers of the compiled model (added separately): typed, render, validate, import, openapi.

#[cfg(test)]
mod corpus_tests;

use std::io::Read;
use std::path::Path;

/// Largest accepted document (WSDL or XSD), in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024 * 1024;
/// Most documents one WSDL may pull in (itself included) through imports and includes.
pub const MAX_DOCUMENTS: usize = 500;
/// Most XML nodes in one document.
pub const MAX_XML_NODES: u32 = 2_000_000;

/// Namespaces of WSDL 1.1, its SOAP bindings and XML Schema.
pub mod ns {
    /// WSDL 1.1.
    pub const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
    /// WSDL 2.0 (recognised only to be rejected clearly).
    pub const WSDL20: &str = "http://www.w3.org/ns/wsdl";
    /// The WSDL 1.1 SOAP 1.1 binding.
    pub const WSDL_SOAP11: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
    /// The WSDL 1.1 SOAP 1.2 binding.
    pub const WSDL_SOAP12: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
    /// The WSDL 1.1 HTTP GET/POST binding.
    pub const WSDL_HTTP: &str = "http://schemas.xmlsoap.org/wsdl/http/";
    /// WSDL 1.1 MIME binding (SwA).
    pub const WSDL_MIME: &str = "http://schemas.xmlsoap.org/wsdl/mime/";
    /// XML Schema (2001).
    pub const XSD: &str = "http://www.w3.org/2001/XMLSchema";
    /// SOAP 1.1 encoding (`soapenc:Array`, `soapenc:arrayType`).
    pub const SOAP_ENC: &str = "http://schemas.xmlsoap.org/soap/encoding/";
    /// SOAP 1.2 encoding.
    pub const SOAP12_ENC: &str = "http://www.w3.org/2003/05/soap-encoding";
    /// The `xml:` namespace.
    pub const XML: &str = "http://www.w3.org/XML/1998/namespace";

    /// The SOAP 1.1 or 1.2 encoding namespace.
    pub fn is_soap_enc(ns: &str) -> bool {
        ns == SOAP_ENC || ns == SOAP12_ENC
    }

    /// XML Schema namespaces, including the pre-recommendation drafts old rpc/encoded WSDLs use.
    pub fn is_xsd(ns: &str) -> bool {
        matches!(
            ns,
            XSD | "http://www.w3.org/2000/10/XMLSchema" | "http://www.w3.org/1999/XMLSchema"
        )
    }
}

/// Why a WSDL could not be loaded. Every variant names the document (file path or URL).
#[derive(Debug, thiserror::Error)]
pub enum WsdlError {
    #[error("{location}: cannot read: {msg}")]
    Io { location: String, msg: String },
    #[error("{location}:{line}:{col}: malformed XML: {msg}")]
    Xml {
        location: String,
        line: u32,
        col: u32,
        msg: String,
    },
    #[error("{location}: cannot decode the text: {msg}")]
    Encoding { location: String, msg: String },
    #[error("{location}: larger than the limit of {limit} bytes for one document")]
    TooLarge { location: String, limit: usize },
    #[error("{location}: more than {limit} documents are pulled in through imports and includes")]
    TooManyDocuments { location: String, limit: usize },
    #[error(
        "{location}: not a WSDL 1.1 document: the root element is `{root}`, expected `definitions` \
         in namespace {}",
        ns::WSDL
    )]
    NotWsdl { location: String, root: String },
    #[error(
        "{location}: this is a WSDL 2.0 document (`description` in {}); soapgate reads WSDL 1.1 \
         (`definitions` in {}): ask the service for its WSDL 1.1 description",
        ns::WSDL20,
        ns::WSDL
    )]
    Wsdl20 { location: String },
    #[error(
        "{location} (imported by {referrer}): not a WSDL 1.1 document nor an XML Schema: the root \
         element is `{root}`"
    )]
    NotSchema {
        location: String,
        referrer: String,
        root: String,
    },
    #[error("{location}: namespace `{namespace}` is not a valid URI: {msg}")]
    InvalidNamespace {
        location: String,
        namespace: String,
        msg: String,
    },
    #[error("{location}: {what} `{name}` is referenced but not defined in any loaded document")]
    Unresolved {
        location: String,
        what: String,
        name: String,
    },
}

/// Loads a WSDL file and everything it imports. Never touches the network: http(s) locations in
/// imports are skipped with a warning and their names stay unresolved.
pub fn load(path: &Path) -> Result<model::Wsdl, WsdlError> {
    let location = path.display().to_string();
    let absolute = std::path::absolute(path).map_err(|e| WsdlError::Io {
        location: location.clone(),
        msg: e.to_string(),
    })?;
    let entry = absolute.to_str().ok_or_else(|| WsdlError::Io {
        location,
        msg: "the path is not valid UTF-8".into(),
    })?;
    load_with(&loader::docs::normalize_path(entry), &read_file)
}

/// Loads a WSDL from `entry` (an absolute file path or an http(s) URL), getting every document through
/// `fetch`. Relative locations resolve against the including document. In a file-based load, http(s)
/// locations are never fetched; in a URL-based load, local file references are never followed.
pub fn load_with(
    entry: &str,
    fetch: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<model::Wsdl, WsdlError> {
    loader::load(entry, fetch)
}

/// Reads a file, at most one byte past the size limit (the caller reports the excess).
pub(crate) fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Loads from in-memory files; the first one is the entry.
#[cfg(test)]
pub(crate) fn load_files(files: &[(&str, &str)]) -> Result<model::Wsdl, WsdlError> {
    let map: std::collections::HashMap<String, Vec<u8>> = files
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    let entry = files.first().map_or("", |f| f.0);
    load_with(entry, &|location| {
        map.get(location)
            .cloned()
            .ok_or_else(|| format!("no such file: {location}"))
    })
}

pub mod import;
pub mod openapi;
pub mod render;
#[cfg(test)]
mod request_corpus_tests;
#[cfg(test)]
mod response_corpus_tests;
pub mod validate;

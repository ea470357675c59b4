//! SOAP 1.1/1.2 details: envelope building, reply decoding and the bounded streaming response parser.

pub mod charset;
pub mod convert;
pub mod envelope;
pub mod fault;
pub mod parse;
pub mod stream;

/// SOAP 1.1 envelope namespace.
pub const NS_SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace.
pub const NS_SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
/// XML Schema instance namespace (`xsi:nil`, `xsi:type`).
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The SOAP protocol version of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    V11,
    V12,
}

impl SoapVersion {
    /// The envelope namespace of this version.
    pub fn namespace(self) -> &'static str {
        match self {
            SoapVersion::V11 => NS_SOAP11,
            SoapVersion::V12 => NS_SOAP12,
        }
    }

    /// The version whose envelope namespace this is.
    pub fn from_namespace(ns: &[u8]) -> Option<SoapVersion> {
        if ns == NS_SOAP11.as_bytes() {
            Some(SoapVersion::V11)
        } else if ns == NS_SOAP12.as_bytes() {
            Some(SoapVersion::V12)
        } else {
            None
        }
    }

    /// `"1.1"` or `"1.2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SoapVersion::V11 => "1.1",
            SoapVersion::V12 => "1.2",
        }
    }
}

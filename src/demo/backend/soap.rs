//! SOAP 1.1 / 1.2 envelopes and faults as written by the demo backend.

use quick_xml::escape::escape;

/// Target namespace of the demo service (prefix `c:` in every response).
pub(super) const TNS: &str = "urn:soapgate:demo:customers";
/// SOAP 1.1 envelope namespace.
pub(super) const SOAP11_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// SOAP 1.2 envelope namespace.
pub(super) const SOAP12_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";

/// The SOAP version of a request/response pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SoapVersion {
    V11,
    V12,
}

impl SoapVersion {
    /// Picks the version from a request `Content-Type` (media type only).
    pub(super) fn from_content_type(content_type: &str) -> Option<Self> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("text/xml") {
            Some(Self::V11)
        } else if media.eq_ignore_ascii_case("application/soap+xml") {
            Some(Self::V12)
        } else {
            None
        }
    }

    /// Envelope namespace of this version.
    pub(super) fn namespace(self) -> &'static str {
        match self {
            Self::V11 => SOAP11_ENV,
            Self::V12 => SOAP12_ENV,
        }
    }

    /// `Content-Type` of responses in this version.
    pub(super) fn content_type(self) -> &'static str {
        match self {
            Self::V11 => "text/xml; charset=utf-8",
            Self::V12 => "application/soap+xml; charset=utf-8",
        }
    }
}

/// Who is to blame for a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FaultKind {
    VersionMismatch,
    /// SOAP 1.1 `Client`, SOAP 1.2 `Sender`.
    Client,
    /// SOAP 1.1 `Server`, SOAP 1.2 `Receiver`.
    Server,
}

/// A SOAP fault, renderable in either SOAP version.
#[derive(Debug, Clone)]
pub(super) struct Fault {
    pub(super) kind: FaultKind,
    /// Local name of an application subcode in the service namespace.
    pub(super) subcode: Option<&'static str>,
    pub(super) reason: String,
    /// Already-escaped XML placed inside `detail` / `Detail`.
    pub(super) detail: Option<String>,
}

impl Fault {
    pub(super) fn client(reason: impl Into<String>) -> Self {
        Self {
            kind: FaultKind::Client,
            subcode: None,
            reason: reason.into(),
            detail: None,
        }
    }

    pub(super) fn server(reason: impl Into<String>) -> Self {
        Self {
            kind: FaultKind::Server,
            ..Self::client(reason)
        }
    }

    pub(super) fn version_mismatch(reason: impl Into<String>) -> Self {
        Self {
            kind: FaultKind::VersionMismatch,
            ..Self::client(reason)
        }
    }

    pub(super) fn with_subcode(mut self, subcode: &'static str) -> Self {
        self.subcode = Some(subcode);
        self
    }

    /// The declared `CustomerNotFound` fault.
    pub(super) fn customer_not_found(customer_id: &str) -> Self {
        let id = escape(customer_id);
        Self {
            detail: Some(format!(
                "<c:CustomerNotFoundFault><c:customerId>{id}</c:customerId></c:CustomerNotFoundFault>"
            )),
            ..Self::client(format!("Customer {customer_id} not found")).with_subcode("CustomerNotFound")
        }
    }

    /// The `<soap:Fault>` element for `version`.
    pub(super) fn to_xml(&self, version: SoapVersion) -> String {
        match version {
            SoapVersion::V11 => self.to_xml11(),
            SoapVersion::V12 => self.to_xml12(),
        }
    }

    fn to_xml11(&self) -> String {
        let base = match self.kind {
            FaultKind::VersionMismatch => "VersionMismatch",
            FaultKind::Client => "Client",
            FaultKind::Server => "Server",
        };
        let code = match self.subcode {
            Some(sub) => format!("soap:{base}.{sub}"),
            None => format!("soap:{base}"),
        };
        let detail = match &self.detail {
            Some(d) => format!("<detail>{d}</detail>"),
            None => String::new(),
        };
        format!(
            "<soap:Fault><faultcode>{code}</faultcode><faultstring>{}</faultstring>{detail}</soap:Fault>",
            escape(self.reason.as_str())
        )
    }

    fn to_xml12(&self) -> String {
        let base = match self.kind {
            FaultKind::VersionMismatch => "VersionMismatch",
            FaultKind::Client => "Sender",
            FaultKind::Server => "Receiver",
        };
        let sub = match self.subcode {
            Some(s) => format!("<soap:Subcode><soap:Value>c:{s}</soap:Value></soap:Subcode>"),
            None => String::new(),
        };
        let detail = match &self.detail {
            Some(d) => format!("<soap:Detail>{d}</soap:Detail>"),
            None => String::new(),
        };
        format!(
            "<soap:Fault><soap:Code><soap:Value>soap:{base}</soap:Value>{sub}</soap:Code>\
             <soap:Reason><soap:Text xml:lang=\"en\">{}</soap:Text></soap:Reason>{detail}</soap:Fault>",
            escape(self.reason.as_str())
        )
    }
}

/// Wraps body content (already-escaped XML) into a complete envelope.
pub(super) fn envelope(version: SoapVersion, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <soap:Envelope xmlns:soap=\"{}\" xmlns:c=\"{TNS}\"><soap:Body>{body}</soap:Body></soap:Envelope>",
        version.namespace()
    )
}

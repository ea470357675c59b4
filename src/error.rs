//! One error enum for every way a mediation can fail, and the single table mapping it to problem+json.

use actix_web::http::StatusCode;
use serde_json::{json, Map, Value};

/// Base of every problem `type` URI; the suffix is the kebab-case form of the stable `code`.
pub const PROBLEM_BASE: &str = "https://soapgate.dev/problems/";

/// Everything that can end a request early. Carries context for `detail`, never secrets.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("no route matches {path}")]
    RouteNotFound { path: String },
    #[error("method {method} is not allowed here")]
    MethodNotAllowed { method: String, allow: Vec<String> },
    #[error("the request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request body is not valid JSON: {0}")]
    JsonSyntax(String),
    #[error("the request JSON exceeds a limit: {message}")]
    JsonLimit { code: &'static str, message: String },
    #[error("the request's {place} matches a blocked pattern (set `{set}`)")]
    InjectionDetected { place: &'static str, set: String },
    #[error("the request body is not valid {0} data")]
    BodyEncoding(String),
    #[error("the request headers exceed {0}")]
    HeadersTooLarge(String),
    #[error("the request target exceeds {limit} bytes")]
    UrlTooLong { limit: usize },
    #[error("the request body did not arrive within {0} ms")]
    RequestTimeout(u128),
    #[error("the gateway is at its concurrency limit; retry shortly")]
    Overloaded,
    #[error("the request is malformed: {0}")]
    BadRequest(&'static str),
    #[error("the request {place} is not valid percent-encoding: {why}")]
    BadPercentEncoding { place: &'static str, why: &'static str },
    #[error("the request contains a character that XML 1.0 does not allow (U+{0:04X})")]
    XmlInvalidChar(u32),
    #[error(
        "the request contains a character (U+{char:04X}) that the backend's encoding {encoding} cannot carry"
    )]
    RequestEncoding { encoding: &'static str, char: u32 },
    #[error("the request does not match the operation's schema ({} error(s))", .0.len())]
    SchemaViolation(Vec<crate::wsdl::validate::Violation>),
    #[error("{}", conflict_message(pointer, first, second))]
    ParameterConflict {
        pointer: String,
        first: &'static str,
        second: &'static str,
    },
    #[error("a field the template needs is missing: {0}")]
    MissingField(String),
    #[error("a request value cannot be rendered: {0}")]
    TemplateInput(String),
    #[error("the request template failed")]
    TemplateFailed(String),
    #[error("the backend could not be reached")]
    UpstreamUnavailable(String),
    #[error("the TLS connection to the backend failed")]
    UpstreamTls(String),
    #[error("the backend did not answer within {0} ms")]
    UpstreamTimeout(u128),
    #[error("the backend answered with a redirect, which is never followed")]
    UpstreamRedirect,
    #[error("the backend answered with HTTP status {0} and no SOAP Fault")]
    UpstreamStatus(u16),
    #[error("the backend answered with an unexpected content type")]
    UpstreamContentType,
    #[error("the backend response exceeds {0} bytes")]
    UpstreamTooLarge(usize),
    #[error("the backend broke the HTTP exchange")]
    UpstreamProtocol(String),
    #[error("the backend response cannot be read as text: {0}")]
    UpstreamEncoding(String),
    #[error("the backend response is not acceptable XML: {message}")]
    UpstreamXml { code: &'static str, message: String },
    #[error("the backend response is not a SOAP envelope: {0}")]
    UpstreamNotSoap(String),
    #[error("the backend response does not have the expected shape: {0}")]
    UpstreamShape(String),
    #[error("the backend response holds data the route does not declare")]
    UpstreamUndeclared,
    #[error("the backend returned a SOAP Fault")]
    UpstreamFault(Box<MappedFault>),
    #[error("{}", auth_message(.0))]
    Auth(Box<crate::auth::AuthError>),
    #[error("the gateway could not obtain credentials for the backend")]
    BackendCredentials(String),
    #[error("rate limit `{policy}` exceeded; retry in {retry_after} s")]
    RateLimited { policy: String, retry_after: u64 },
    #[error("the rate-limit store cannot be reached")]
    RateLimitUnavailable(String),
    #[error("the backend's circuit is open after repeated failures")]
    CircuitOpen(u64),
    #[error("internal error")]
    Internal(String),
}

fn auth_message(e: &crate::auth::AuthError) -> String {
    use crate::auth::AuthFailure as F;
    match &e.failure {
        F::Missing => "a bearer token is required".into(),
        F::InvalidRequest(d) => format!("the request's credentials are ambiguous: {d}"),
        F::InvalidToken(d) => format!("the bearer token was refused: {d}"),
        F::InsufficientScope(s) => format!("the token lacks the scope this route requires ({s})"),
        F::ClaimMismatch => "the token's claims do not allow this route".into(),
        F::Unavailable(_) => "the identity provider cannot be reached to check the token".into(),
        F::ClientCert(d) => format!("client certificate refused: {d}"),
    }
}

/// A SOAP Fault after the route's fault rules were applied.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedFault {
    pub status: u16,
    pub code: String,
    pub title: String,
    /// The fault string, present only when a rule exposes it.
    pub message: Option<String>,
    /// The converted `detail` payload, present only when a rule exposes it.
    pub detail: Option<Value>,
}

/// One row of the error table.
struct Row {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
}

fn row(status: u16, code: &'static str, title: &'static str) -> Row {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Row { status, code, title }
}

impl GatewayError {
    /// The single table: status, stable code and title of each kind.
    fn row(&self) -> Row {
        use GatewayError as E;
        match self {
            E::RouteNotFound { .. } => row(404, "NOT_FOUND", "No such route"),
            E::MethodNotAllowed { .. } => row(405, "METHOD_NOT_ALLOWED", "Method not allowed"),
            E::PayloadTooLarge { .. } => row(413, "PAYLOAD_TOO_LARGE", "Request body too large"),
            E::UnsupportedMediaType(_) => row(415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"),
            E::JsonSyntax(_) => row(400, "JSON_SYNTAX", "Malformed JSON"),
            E::JsonLimit { code, .. } => row(400, code, "JSON limit exceeded"),
            E::InjectionDetected { .. } => row(400, "INJECTION_DETECTED", "Blocked pattern in request"),
            E::BodyEncoding(_) => row(400, "BODY_ENCODING", "Undecodable request body"),
            E::HeadersTooLarge(_) => row(431, "HEADERS_TOO_LARGE", "Request headers too large"),
            E::UrlTooLong { .. } => row(414, "URL_TOO_LONG", "Request URL too long"),
            E::RequestTimeout(_) => row(408, "REQUEST_TIMEOUT", "Request body timeout"),
            E::Overloaded => row(503, "OVERLOADED", "Gateway overloaded"),
            E::BadRequest(_) => row(400, "BAD_REQUEST", "Malformed request"),
            E::BadPercentEncoding { .. } => row(400, "BAD_PERCENT_ENCODING", "Malformed percent-encoding"),
            E::XmlInvalidChar(_) => row(400, "XML_INVALID_CHAR", "Character not allowed in XML"),
            E::RequestEncoding { .. } => {
                row(400, "REQUEST_ENCODING", "Character not in the backend's encoding")
            }
            E::SchemaViolation(_) => row(400, "SCHEMA_VIOLATION", "Request does not match the schema"),
            E::ParameterConflict { .. } => row(400, "PARAMETER_CONFLICT", "Conflicting request parameters"),
            E::MissingField(_) => row(400, "MISSING_FIELD", "Required field missing"),
            E::TemplateInput(_) => row(400, "TEMPLATE_INPUT", "Request value cannot be rendered"),
            E::TemplateFailed(_) => row(500, "TEMPLATE_FAILED", "Request template failed"),
            E::UpstreamUnavailable(_) => row(502, "UPSTREAM_UNAVAILABLE", "Backend unavailable"),
            E::UpstreamTls(_) => row(502, "UPSTREAM_TLS", "Backend TLS failure"),
            E::UpstreamTimeout(_) => row(504, "UPSTREAM_TIMEOUT", "Backend timeout"),
            E::UpstreamRedirect => row(502, "UPSTREAM_REDIRECT", "Backend redirect refused"),
            E::UpstreamStatus(_) => row(502, "UPSTREAM_STATUS", "Bad backend status"),
            E::UpstreamContentType => row(502, "UPSTREAM_CONTENT_TYPE", "Bad backend content type"),
            E::UpstreamTooLarge(_) => row(502, "UPSTREAM_TOO_LARGE", "Backend response too large"),
            E::UpstreamProtocol(_) => row(502, "UPSTREAM_PROTOCOL", "Backend protocol error"),
            E::UpstreamEncoding(_) => row(502, "UPSTREAM_ENCODING", "Backend response encoding refused"),
            E::UpstreamXml { code, .. } => row(502, code, "Backend response rejected"),
            E::UpstreamNotSoap(_) => row(502, "UPSTREAM_NOT_SOAP", "Backend response is not SOAP"),
            E::UpstreamShape(_) => row(502, "UPSTREAM_SHAPE", "Unexpected backend response"),
            E::UpstreamUndeclared => row(502, "UPSTREAM_UNDECLARED", "Undeclared backend data"),
            E::UpstreamFault(_) => row(502, "UPSTREAM_FAULT", "Backend fault"),
            E::Auth(a) => {
                use crate::auth::AuthFailure as F;
                match a.failure {
                    F::Missing => row(401, "AUTH_REQUIRED", "Authentication required"),
                    F::InvalidRequest(_) => {
                        row(400, "AUTH_INVALID_REQUEST", "Invalid authentication request")
                    }
                    F::InvalidToken(_) => row(401, "AUTH_INVALID_TOKEN", "Invalid token"),
                    F::InsufficientScope(_) => row(403, "AUTH_INSUFFICIENT_SCOPE", "Insufficient scope"),
                    F::ClaimMismatch => row(403, "AUTH_FORBIDDEN", "Forbidden"),
                    F::Unavailable(_) => row(503, "AUTH_UNAVAILABLE", "Identity provider unavailable"),
                    F::ClientCert(_) => row(403, "AUTH_CLIENT_CERT", "Client certificate refused"),
                }
            }
            E::BackendCredentials(_) => row(
                503,
                "BACKEND_CREDENTIALS_UNAVAILABLE",
                "Backend credentials unavailable",
            ),
            E::RateLimited { .. } => row(429, "RATE_LIMITED", "Too many requests"),
            E::RateLimitUnavailable(_) => row(503, "RATE_LIMIT_UNAVAILABLE", "Rate-limit store unavailable"),
            E::CircuitOpen(_) => row(503, "UPSTREAM_CIRCUIT_OPEN", "Backend circuit open"),
            E::Internal(_) => row(500, "INTERNAL", "Internal error"),
        }
    }

    /// HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            GatewayError::UpstreamFault(f) => {
                StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            other => other.row().status,
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> String {
        match self {
            GatewayError::UpstreamFault(f) => f.code.clone(),
            other => other.row().code.to_string(),
        }
    }

    /// Text safe to show a client. Backend internals and template internals stay out.
    fn public_detail(&self) -> String {
        use GatewayError as E;
        match self {
            E::UpstreamFault(f) => f
                .message
                .clone()
                .unwrap_or_else(|| "The backend service reported an error.".to_string()),
            E::TemplateFailed(_) => "The request could not be translated for the backend.".into(),
            E::UpstreamUnavailable(_) => "The backend service could not be reached.".into(),
            E::UpstreamProtocol(_) => "The backend broke the HTTP exchange.".into(),
            E::UpstreamTls(_) => "The secure connection to the backend service failed.".into(),
            E::Internal(_) => "An internal error occurred.".into(),
            other => {
                let mut s = other.to_string();
                if let Some(c) = s.get(..1) {
                    let upper = c.to_uppercase();
                    s.replace_range(..1, &upper);
                }
                if !s.ends_with('.') {
                    s.push('.');
                }
                s
            }
        }
    }

    /// Internal detail for the log (may name backend URLs or template errors; never request data).
    pub fn log_detail(&self) -> String {
        use GatewayError as E;
        match self {
            E::TemplateFailed(s)
            | E::UpstreamUnavailable(s)
            | E::UpstreamProtocol(s)
            | E::UpstreamTls(s)
            | E::BackendCredentials(s)
            | E::RateLimitUnavailable(s) => {
                format!("{self}: {s}")
            }
            E::Internal(s) => format!("internal: {s}"),
            E::Auth(a) => match &a.failure {
                crate::auth::AuthFailure::Unavailable(why) => format!("{self}: {why}"),
                _ => self.to_string(),
            },
            other => other.to_string(),
        }
    }

    /// The RFC 9457 body for this error.
    pub fn problem(&self, instance: &str, correlation_id: &str) -> Value {
        let code = self.code();
        let title = match self {
            GatewayError::UpstreamFault(f) => f.title.clone(),
            other => other.row().title.to_string(),
        };
        let mut body = Map::new();
        body.insert("type".into(), json!(problem_type(&code)));
        body.insert("title".into(), json!(title));
        body.insert("status".into(), json!(self.status().as_u16()));
        body.insert("detail".into(), json!(self.public_detail()));
        body.insert("instance".into(), json!(instance));
        body.insert("code".into(), json!(code));
        body.insert("correlation_id".into(), json!(correlation_id));
        if let GatewayError::UpstreamFault(f) = self {
            if let Some(d) = &f.detail {
                body.insert("fault_detail".into(), d.clone());
            }
        }
        if let GatewayError::SchemaViolation(v) = self {
            let errors = v
                .iter()
                .map(|e| json!({"pointer": e.pointer, "message": e.message}));
            body.insert("errors".into(), Value::Array(errors.collect()));
        }
        Value::Object(body)
    }
}

fn conflict_message(pointer: &str, first: &str, second: &str) -> String {
    if first == second {
        format!("`{pointer}` is given twice in the {first} with different values")
    } else {
        format!("`{pointer}` is given in the {first} and in the {second} with different values")
    }
}

/// `UPSTREAM_XML_DTD` -> `https://soapgate.dev/problems/upstream-xml-dtd`.
pub fn problem_type(code: &str) -> String {
    let mut s = String::with_capacity(PROBLEM_BASE.len() + code.len());
    s.push_str(PROBLEM_BASE);
    s.extend(
        code.chars()
            .map(|c| if c == '_' { '-' } else { c.to_ascii_lowercase() }),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_type_is_kebab_case_of_code() {
        assert_eq!(
            problem_type("UPSTREAM_XML_DTD"),
            "https://soapgate.dev/problems/upstream-xml-dtd"
        );
    }

    #[test]
    fn internal_details_never_reach_the_client() {
        let e = GatewayError::UpstreamUnavailable("http://10.0.0.1:9/secret".into());
        let body = e.problem("/x", "c1");
        assert_eq!(body["status"], 502);
        assert!(!body.to_string().contains("10.0.0.1"));
        assert!(e.log_detail().contains("10.0.0.1"));
    }
}

//! Raw file structs exactly as users write them (serde, unknown keys rejected).

use super::units::Quantity;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `soapgate.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGateway {
    /// Address of the REST listener, e.g. `127.0.0.1:8080`.
    pub listen: Option<String>,
    /// Address of the admin listener (health, readiness, metrics, reload).
    pub admin_listen: Option<String>,
    /// HTTPS on the REST listener: certificate, key, client CAs (mutual TLS), HTTP/2.
    pub tls: Option<crate::tls::RawListenerTls>,
    /// HTTPS on the admin listener (same keys as `tls`).
    pub admin_tls: Option<crate::tls::RawListenerTls>,
    /// Worker threads; defaults to the number of cores.
    pub workers: Option<i64>,
    /// Folder holding `mappings/*.yaml`, relative to this file.
    pub mappings: Option<String>,
    #[serde(default)]
    pub logging: RawLogging,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub timeouts: RawTimeouts,
    /// Injection pattern checks (step 3); routes may override.
    #[serde(default)]
    pub threats: crate::threat::config::RawThreats,
    /// OAuth2/OIDC providers whose bearer tokens are accepted.
    #[serde(default)]
    pub auth: crate::auth::config::RawAuth,
    /// Rate-limit store, trusted proxies and named policies (step 5).
    #[serde(default)]
    pub rate_limits: crate::ratelimit::config::RawRateLimits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogging {
    /// `auto` (JSON unless stdout is a terminal), `json` or `text`.
    pub format: Option<String>,
    /// A tracing filter, e.g. `info` or `soapgate=debug`.
    pub level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub request_body: Option<Quantity>,
    pub backend_response: Option<Quantity>,
    #[serde(default)]
    pub xml: RawXmlLimits,
    /// Request JSON structure limits (step 3).
    #[serde(default)]
    pub json: crate::threat::config::RawJsonLimits,
    /// Total size of the request headers (431 above).
    pub headers: Option<Quantity>,
    /// Number of request headers (431 above).
    pub header_count: Option<i64>,
    /// Length of the request target, path plus query (414 above).
    pub url: Option<Quantity>,
    /// In-flight mediations per instance (503 `OVERLOADED` above).
    pub concurrency: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawXmlLimits {
    pub depth: Option<i64>,
    pub children: Option<i64>,
    pub attributes: Option<i64>,
    pub namespaces: Option<i64>,
    pub name_length: Option<Quantity>,
    pub attribute_value: Option<Quantity>,
    pub text: Option<Quantity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTimeouts {
    pub client_request: Option<Quantity>,
    /// Time to receive the whole request body once the headers are in (408 after).
    pub client_body: Option<Quantity>,
    pub keep_alive: Option<Quantity>,
    pub backend_connect: Option<Quantity>,
    pub backend_total: Option<Quantity>,
}

/// `mappings/<service>.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMapping {
    pub service: String,
    /// The backend's WSDL (relative to soapgate.yaml): schema-aware typing, validation, bodies.
    pub wsdl: Option<String>,
    pub backend: RawBackend,
    pub routes: Vec<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackend {
    pub urls: Vec<String>,
    /// `"1.1"` (default) or `"1.2"`.
    pub soap_version: Option<String>,
    /// Total time for one backend exchange (defaults to `timeouts.backend_total`).
    pub timeout: Option<Quantity>,
    /// Target namespace offered to templates as `ns`.
    pub namespace: Option<String>,
    /// What soapgate presents to the backend: HTTP Basic, WS-Security UsernameToken, OAuth2 token.
    pub credentials: Option<crate::credentials::CredentialsBlock>,
    /// Circuit breaking per URL (on by default).
    pub circuit_breaker: Option<crate::breaker::RawBreaker>,
    pub tls: Option<crate::tls::RawClientTls>,
    /// The encoding of request envelopes (`utf-8` by default), e.g. `iso-8859-1`.
    pub request_encoding: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub id: String,
    pub method: String,
    pub path: String,
    pub operation: String,
    /// SOAPAction (1.1) or `action` (1.2); empty when absent.
    pub action: Option<String>,
    /// Request headers exposed to templates (case-insensitive names).
    #[serde(default)]
    pub headers: Vec<String>,
    #[serde(default)]
    pub request: RawRequest,
    #[serde(default)]
    pub response: RawResponse,
    #[serde(default)]
    pub faults: Vec<RawFaultRule>,
    /// OAuth2 scopes the token must all carry.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// OAuth2 scopes of which the token must carry at least one.
    #[serde(default)]
    pub any_scopes: Vec<String>,
    /// Claim conditions: claim -> accepted value or list of accepted values.
    #[serde(default)]
    pub claims: BTreeMap<String, serde_json::Value>,
    /// Only tokens of these providers (names from `auth.providers`).
    #[serde(default)]
    pub providers: Vec<String>,
    /// No token needed, even when providers are configured.
    #[serde(default)]
    pub public: bool,
    /// Rate-limit policies (names from `rate_limits.policies`); all must admit the request.
    #[serde(default)]
    pub rate_limit: Vec<String>,
    /// Units each request takes from the route's policies (default 1).
    pub cost: Option<i64>,
    /// Step 3 overrides: `{ body, json: {...}, concurrency }`.
    pub limits: Option<crate::threat::config::RawRouteLimits>,
    /// Step 3 overrides of the gateway's `threats`.
    pub threats: Option<crate::threat::config::RawThreats>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// Template rendering the SOAP Body content (optional when the route is bound to a WSDL
    /// operation: the body is then rendered from the schema).
    pub template: Option<String>,
    /// Optional template rendering SOAP Header blocks.
    pub header_template: Option<String>,
    /// Check the JSON against the WSDL input schema before rendering (default: true when the
    /// body is rendered from the schema, false with a template, whose JSON shape is its own).
    pub validate: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResponse {
    /// JSONPath applied to the converted body.
    pub select: Option<String>,
    /// Strip the Body's single wrapper element (default true).
    pub unwrap: Option<bool>,
    /// Answer `{"header": <SOAP Header blocks>, "body": <Body>}` instead of the Body alone.
    #[serde(default)]
    pub include_header: bool,
    /// Element paths that are always arrays, e.g. `customer/phones/phone`.
    #[serde(default)]
    pub arrays: Vec<String>,
    /// Element paths with a scalar type: `string`, `integer`, `number`, `boolean`.
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    /// What becomes of data the WSDL (or `allow`) does not declare: `drop` (default where
    /// something declares), `keep` or `reject`.
    pub undeclared: Option<String>,
    /// Routes without a WSDL: the paths of the answer that may leave (`customer.name`,
    /// `orders.order[*].id`, `*` for any one key).
    pub allow: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaultRule {
    #[serde(default)]
    pub when: RawFaultMatch,
    pub status: i64,
    /// Problem `code`; defaults to `UPSTREAM_FAULT`.
    pub code: Option<String>,
    /// Problem `title`.
    pub title: Option<String>,
    /// Put the fault string in `detail`.
    #[serde(default)]
    pub expose_message: bool,
    /// Put the converted fault detail in `fault_detail`.
    #[serde(default)]
    pub expose_detail: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFaultMatch {
    /// Fault code (1.1 `faultcode`, 1.2 `Code/Value`) local part, e.g. `Client.NotFound`.
    pub code: Option<String>,
    /// SOAP 1.2 `Subcode/Value` local part.
    pub subcode: Option<String>,
    /// Regular expression over the fault string.
    pub message: Option<String>,
    /// Local name of the first element inside `detail`.
    pub detail: Option<String>,
}

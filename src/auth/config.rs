//! The `auth:` block of `soapgate.yaml` and the per-route `scopes`/`any_scopes`/`claims`, validated.

use super::keys::KeyStore;
use super::policy::RoutePolicy;
use super::{Auth, Provider, ProviderSpec, TokenType};
use crate::config::secret::{read as read_secret, Secret};
use crate::config::units::Quantity;
use crate::config::{duration_or, Diagnostics};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// `auth:` in `soapgate.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// `realm` of every `WWW-Authenticate: Bearer` challenge (default `soapgate`).
    pub realm: Option<String>,
    /// The identity providers whose tokens are accepted. With at least one, every route requires a
    /// token unless it says `public: true`.
    #[serde(default)]
    pub providers: Vec<RawProvider>,
    /// An opaque token is offered to at most this many introspecting providers, in the route's
    /// (else the config's) order (default 3).
    pub introspection_max_providers: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// Short name, used in logs, metrics and route `providers:` lists.
    pub name: String,
    /// The issuer (`iss` of its tokens). Metadata is discovered below it (OIDC discovery, then
    /// RFC 8414) unless `discovery: false`.
    pub issuer: String,
    #[serde(default = "yes")]
    pub discovery: bool,
    /// Explicit JWKS URL (otherwise the discovered `jwks_uri`).
    pub jwks_uri: Option<String>,
    /// Accepted `aud` values; a token must name at least one.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// JWT typings accepted: `at+jwt` (RFC 9068) and/or `jwt` (`typ: JWT` or none); default both.
    pub token_types: Option<Vec<String>>,
    /// Accepted signature algorithms (default RS256, PS256, ES256, EdDSA). HS* need `hs_secret_*`.
    pub algorithms: Option<Vec<String>>,
    /// Clock leeway for `exp` and `nbf` (default 60s).
    pub leeway: Option<Quantity>,
    /// Shared secret for HS256/384/512 tokens, from an environment variable or a file.
    pub hs_secret_env: Option<String>,
    pub hs_secret_file: Option<String>,
    /// How often the JWKS is refreshed in the background (default 5m).
    pub jwks_refresh: Option<Quantity>,
    /// At most one refetch per this interval when a token names an unknown `kid` (default 30s).
    pub jwks_refetch_min_interval: Option<Quantity>,
    /// Timeout of each call to the provider (default 5s).
    pub timeout: Option<Quantity>,
    /// RFC 7662 introspection of opaque tokens.
    pub introspection: Option<RawIntrospection>,
    /// How the provider's https endpoints are trusted (and the client certificate presented):
    /// discovery, JWKS and introspection.
    pub tls: Option<crate::tls::RawClientTls>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntrospection {
    /// The endpoint (otherwise the discovered `introspection_endpoint`).
    pub url: Option<String>,
    pub client_id: String,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<String>,
    /// `basic` (client_secret_basic, default) or `post` (client_secret_post).
    pub auth_method: Option<String>,
    /// Longest time an introspection result is reused (default 5m; never past the token's `exp`).
    pub cache_ttl: Option<Quantity>,
    /// Most results kept (default 10000).
    pub cache_size: Option<i64>,
    /// Claims an active answer must carry: any of `aud`, `exp`, `iss` (default `[aud]`, as every
    /// JWT must name an audience). Present ones are always checked, required or not.
    pub require: Option<Vec<String>>,
}

/// Per-route authorization, as written in a mapping's route.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouteAuth {
    /// Scopes the token must all carry.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Scopes of which the token must carry at least one.
    #[serde(default)]
    pub any_scopes: Vec<String>,
    /// Claim conditions: claim name -> accepted value, or list of accepted values.
    #[serde(default)]
    pub claims: BTreeMap<String, Value>,
    /// Only these providers' tokens (default: any configured provider).
    #[serde(default)]
    pub providers: Vec<String>,
    /// No token needed (the route is open even when providers are configured).
    #[serde(default)]
    pub public: bool,
}

const DEFAULT_ALGS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

fn parse_alg(s: &str) -> Option<Algorithm> {
    use Algorithm as A;
    Some(match s {
        "RS256" => A::RS256,
        "RS384" => A::RS384,
        "RS512" => A::RS512,
        "PS256" => A::PS256,
        "PS384" => A::PS384,
        "PS512" => A::PS512,
        "ES256" => A::ES256,
        "ES384" => A::ES384,
        "EdDSA" => A::EdDSA,
        "HS256" => A::HS256,
        "HS384" => A::HS384,
        "HS512" => A::HS512,
        _ => return None,
    })
}

pub(crate) fn is_hmac(a: Algorithm) -> bool {
    matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn http_url(u: &str) -> bool {
    matches!(u.parse::<awc::http::Uri>(), Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some())
}

/// Builds the runtime [`Auth`] from the raw block.
pub fn build(raw: &RawAuth, base: &Path, file: &str, d: &mut Diagnostics) -> Auth {
    let realm = raw.realm.clone().unwrap_or_else(|| "soapgate".into());
    if realm.contains(['"', '\\']) || realm.chars().any(char::is_control) {
        d.error(
            file,
            "auth.realm",
            "the realm contains a quote, backslash or control character",
            "use plain text",
        );
    }
    let mut providers = Vec::new();
    for (i, p) in raw.providers.iter().enumerate() {
        let at = format!("auth.providers[{i}]");
        if p.name.is_empty() || raw.providers[..i].iter().any(|q| q.name == p.name) {
            d.error(
                file,
                &format!("{at}.name"),
                format!("provider name `{}` is empty or repeated", p.name),
                "give each provider a unique name",
            );
        }
        if !http_url(&p.issuer) {
            d.error(
                file,
                &format!("{at}.issuer"),
                format!("`{}` is not an http(s) URL", p.issuer),
                "write the issuer exactly as its tokens' `iss` claim",
            );
        }
        if let Some(u) = &p.jwks_uri {
            if !http_url(u) {
                d.error(
                    file,
                    &format!("{at}.jwks_uri"),
                    format!("`{u}` is not an http(s) URL"),
                    "write an absolute URL",
                );
            }
        }
        if !p.discovery
            && p.jwks_uri.is_none()
            && p.introspection.as_ref().and_then(|i| i.url.as_ref()).is_none()
        {
            d.error(file, &at, "no way to check tokens: discovery is off and neither `jwks_uri` nor `introspection.url` is set", "set `jwks_uri`, an introspection URL, or turn discovery on");
        }
        if p.audiences.is_empty() {
            d.error(
                file,
                &format!("{at}.audiences"),
                "no accepted audience",
                "list the `aud` values meant for this gateway (tokens for other services are refused)",
            );
        }
        let hs_secret = read_secret(
            &p.hs_secret_env,
            &p.hs_secret_file,
            base,
            file,
            &at,
            "hs_secret",
            false,
            d,
        );
        let mut algorithms = Vec::new();
        match &p.algorithms {
            None => algorithms.extend(DEFAULT_ALGS),
            Some(list) => {
                for (j, a) in list.iter().enumerate() {
                    match parse_alg(a) {
                        Some(alg) if is_hmac(alg) && hs_secret.is_none() => d.error(
                            file,
                            &format!("{at}.algorithms[{j}]"),
                            format!("{a} needs a shared secret"),
                            "set hs_secret_env or hs_secret_file, or remove the HS algorithm",
                        ),
                        Some(alg) => algorithms.push(alg),
                        None => d.error(
                            file,
                            &format!("{at}.algorithms[{j}]"),
                            format!("unknown or refused algorithm `{a}`"),
                            "use RS256/384/512, PS256/384/512, ES256/384, EdDSA or HS256/384/512 (`none` is never accepted)",
                        ),
                    }
                }
                if list.is_empty() {
                    d.error(
                        file,
                        &format!("{at}.algorithms"),
                        "empty algorithm list",
                        "list at least one algorithm",
                    );
                }
            }
        }
        if hs_secret.is_some() && !algorithms.iter().any(|a| is_hmac(*a)) {
            d.error(
                file,
                &format!("{at}.hs_secret"),
                "a shared secret is set but no HS algorithm is allowed",
                "add HS256 to `algorithms` or remove the secret",
            );
        }
        let introspection = p.introspection.as_ref().map(|raw_i| {
            let at_i = format!("{at}.introspection");
            if let Some(u) = &raw_i.url {
                if !http_url(u) {
                    d.error(
                        file,
                        &format!("{at_i}.url"),
                        format!("`{u}` is not an http(s) URL"),
                        "write an absolute URL",
                    );
                }
            }
            let (env, secret_file) = (&raw_i.client_secret_env, &raw_i.client_secret_file);
            let secret_value = read_secret(env, secret_file, base, file, &at_i, "client_secret", true, d);
            let post = match raw_i.auth_method.as_deref() {
                None | Some("basic") => false,
                Some("post") => true,
                Some(o) => {
                    d.error(
                        file,
                        &format!("{at_i}.auth_method"),
                        format!("unknown auth method `{o}`"),
                        "use basic or post",
                    );
                    false
                }
            };
            let size = match raw_i.cache_size {
                None => 10_000,
                Some(n) if n > 0 => n as u64,
                Some(_) => {
                    d.error(
                        file,
                        &format!("{at_i}.cache_size"),
                        "cache size must be positive",
                        "write e.g. 10000",
                    );
                    10_000
                }
            };
            let mut require = super::introspect::Required {
                aud: true,
                exp: false,
                iss: false,
            };
            if let Some(list) = &raw_i.require {
                require.aud = false;
                for (j, c) in list.iter().enumerate() {
                    match c.as_str() {
                        "aud" => require.aud = true,
                        "exp" => require.exp = true,
                        "iss" => require.iss = true,
                        other => d.error(
                            file,
                            &format!("{at_i}.require[{j}]"),
                            format!("`{other}` cannot be required"),
                            "list any of aud, exp, iss",
                        ),
                    }
                }
                if !require.aud {
                    d.warn(
                        file,
                        &format!("{at_i}.require"),
                        "introspection answers without `aud` are accepted for this provider",
                        "keep `aud` in the list unless the provider never names audiences (an `aud` it does send is still checked)",
                    );
                }
            }
            super::introspect::IntrospectionSpec {
                require,
                url: raw_i.url.clone(),
                client_id: raw_i.client_id.clone(),
                client_secret: secret_value.unwrap_or_else(|| Secret::new("")),
                post,
                cache_ttl: duration_or(
                    &raw_i.cache_ttl,
                    Duration::from_secs(300),
                    file,
                    &format!("{at_i}.cache_ttl"),
                    d,
                ),
                cache_size: size,
            }
        });
        let tls_key = format!("{at}.tls");
        let tls_at = crate::tls::At {
            file,
            key: &tls_key,
            base,
        };
        let tls = crate::tls::ClientTls::build(p.tls.as_ref(), tls_at, d);
        tls.check_https(&p.issuer, file, &format!("{at}.issuer"), d);
        if let Some(j) = &p.jwks_uri {
            tls.check_https(j, file, &format!("{at}.jwks_uri"), d);
        }
        let spec = ProviderSpec {
            tls,
            name: p.name.clone(),
            issuer: p.issuer.clone(),
            discovery: p.discovery,
            jwks_uri: p.jwks_uri.clone(),
            introspection_url: p.introspection.as_ref().and_then(|i| i.url.clone()),
            audiences: p.audiences.clone(),
            token_types: token_types(p.token_types.as_deref(), file, &at, d),
            algorithms,
            leeway: duration_or(
                &p.leeway,
                Duration::from_secs(60),
                file,
                &format!("{at}.leeway"),
                d,
            ),
            hs_secret,
            jwks_refresh: duration_or(
                &p.jwks_refresh,
                Duration::from_secs(300),
                file,
                &format!("{at}.jwks_refresh"),
                d,
            ),
            refetch_min_interval: duration_or(
                &p.jwks_refetch_min_interval,
                Duration::from_secs(30),
                file,
                &format!("{at}.jwks_refetch_min_interval"),
                d,
            ),
            timeout: duration_or(
                &p.timeout,
                Duration::from_secs(5),
                file,
                &format!("{at}.timeout"),
                d,
            ),
        };
        let introspection = introspection.map(super::introspect::Introspector::new);
        providers.push(Arc::new(Provider {
            keys: Arc::new(KeyStore::new()),
            introspection,
            spec,
        }));
    }
    let introspection_max_providers = match raw.introspection_max_providers {
        None => super::INTROSPECTION_MAX_PROVIDERS,
        Some(n) if (1..=16).contains(&n) => n as usize,
        Some(_) => {
            d.error(
                file,
                "auth.introspection_max_providers",
                "must be between 1 and 16",
                "write e.g. 3",
            );
            super::INTROSPECTION_MAX_PROVIDERS
        }
    };
    let introspecting = providers.iter().filter(|p| p.introspection.is_some()).count();
    if introspecting > introspection_max_providers {
        d.warn(
            file,
            "auth.introspection_max_providers",
            format!(
                "{introspecting} providers introspect but an opaque token is offered to at most {introspection_max_providers}: on routes without `providers:` the last ones are never asked"
            ),
            "raise auth.introspection_max_providers or list the providers on each route",
        );
    }
    Auth {
        realm,
        providers,
        introspection_max_providers,
        verified: Default::default(),
    }
}

/// `token_types` of a provider (default: `at+jwt` and `jwt`).
fn token_types(raw: Option<&[String]>, file: &str, at: &str, d: &mut Diagnostics) -> Vec<TokenType> {
    let Some(list) = raw else {
        return vec![TokenType::AtJwt, TokenType::Jwt];
    };
    let mut out = Vec::new();
    for (i, t) in list.iter().enumerate() {
        match t.to_ascii_lowercase().as_str() {
            "at+jwt" => out.push(TokenType::AtJwt),
            "jwt" => out.push(TokenType::Jwt),
            _ => d.error(
                file,
                &format!("{at}.token_types[{i}]"),
                format!("unknown token type `{t}`"),
                "use at+jwt (RFC 9068) and/or jwt",
            ),
        }
    }
    if list.is_empty() {
        d.error(
            file,
            &format!("{at}.token_types"),
            "empty token type list",
            "list at+jwt, jwt or both",
        );
    }
    out
}

/// Validates a route's authorization against the configured providers.
pub fn route_policy(
    mut raw: RawRouteAuth,
    auth: &Auth,
    file: &str,
    at: &str,
    d: &mut Diagnostics,
) -> RoutePolicy {
    let client_cert = super::client_cert::CertConditions::take(&mut raw.claims, file, at, d);
    let wants = !raw.scopes.is_empty()
        || !raw.any_scopes.is_empty()
        || !raw.claims.is_empty()
        || !raw.providers.is_empty();
    if auth.providers.is_empty() && wants {
        d.error(
            file,
            at,
            "the route asks for scopes, claims or providers but `auth.providers` is empty",
            "configure an identity provider under `auth:` in soapgate.yaml",
        );
    }
    if raw.public && wants {
        d.error(
            file,
            &format!("{at}.public"),
            "a public route cannot require scopes, claims or providers",
            "remove `public: true` or the requirements",
        );
    }
    let valid_scope =
        |s: &String| !s.is_empty() && s.bytes().all(|b| b > 0x20 && b != b'"' && b != b'\\' && b < 0x7f);
    for (key, list) in [("scopes", &raw.scopes), ("any_scopes", &raw.any_scopes)] {
        for (i, s) in list.iter().enumerate() {
            if !valid_scope(s) {
                d.error(
                    file,
                    &format!("{at}.{key}[{i}]"),
                    format!("`{s}` is not a valid scope token (RFC 6749 §3.3)"),
                    "use printable ASCII without spaces, quotes or backslashes",
                );
            }
        }
    }
    for (name, v) in &raw.claims {
        let ok = match v {
            Value::Array(items) => !items.is_empty() && items.iter().all(is_scalar),
            other => is_scalar(other),
        };
        if !ok {
            d.error(
                file,
                &format!("{at}.claims.{name}"),
                "a claim condition is a string, number, boolean or a non-empty list of them",
                "write e.g. `tenant: acme` or `tenant: [acme, globex]`",
            );
        }
    }
    let mut providers = Vec::new();
    for (i, name) in raw.providers.iter().enumerate() {
        match auth.providers.iter().position(|p| &p.spec.name == name) {
            Some(ix) => providers.push(ix),
            None => d.error(
                file,
                &format!("{at}.providers[{i}]"),
                format!("no provider named `{name}`"),
                "use a name from auth.providers in soapgate.yaml",
            ),
        }
    }
    RoutePolicy {
        required: !auth.providers.is_empty() && !raw.public,
        scopes: raw.scopes,
        any_scopes: raw.any_scopes,
        claims: raw.claims.into_iter().collect(),
        providers,
        client_cert,
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

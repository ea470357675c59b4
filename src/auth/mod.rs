//! Step 4 of the flow: authenticate the bearer token against the organisation's OAuth2/OIDC
//! providers (JWT via JWKS, or RFC 7662 introspection for opaque tokens), then authorize the
//! route's scopes and claim conditions. Failures follow RFC 6750 (`WWW-Authenticate: Bearer`).

pub mod client_cert;
pub mod config;
pub mod introspect;
pub mod jwt;
pub mod keys;
pub mod policy;

use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use jsonwebtoken::Algorithm;
use keys::KeyStore;
pub use policy::{Principal, RoutePolicy};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::config::secret::Secret;

/// One identity provider, as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSpec {
    pub name: String,
    pub issuer: String,
    pub discovery: bool,
    pub jwks_uri: Option<String>,
    pub introspection_url: Option<String>,
    pub audiences: Vec<String>,
    /// JWT typings accepted (`token_types`): RFC 9068 `at+jwt`, and/or plain `JWT` (or no `typ`).
    pub token_types: Vec<TokenType>,
    pub algorithms: Vec<Algorithm>,
    pub leeway: Duration,
    pub hs_secret: Option<Secret>,
    pub jwks_refresh: Duration,
    pub refetch_min_interval: Duration,
    pub timeout: Duration,
    /// How discovery, JWKS and introspection calls trust the provider (and present a client certificate).
    pub tls: crate::tls::ClientTls,
}

/// A JWT typing a provider's tokens may have (`token_types` in the provider's config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenType {
    /// RFC 9068 §2.1: header `typ` is `at+jwt` (or `application/at+jwt`).
    AtJwt,
    /// Header `typ` is `JWT`, or absent.
    Jwt,
}

impl TokenType {
    /// The typing of a JWT header's `typ` (case-insensitive, RFC 7515 §4.1.9); `None` for any
    /// other type (an ID token, a logout token...), which is never an access token.
    pub fn of(typ: Option<&str>) -> Option<TokenType> {
        let Some(t) = typ else {
            return Some(TokenType::Jwt);
        };
        let t = t.to_ascii_lowercase();
        match t.strip_prefix("application/").unwrap_or(&t) {
            "at+jwt" => Some(TokenType::AtJwt),
            "jwt" => Some(TokenType::Jwt),
            _ => None,
        }
    }
}

/// Default cap on introspecting providers one opaque token is offered to
/// (`auth.introspection_max_providers`).
pub const INTROSPECTION_MAX_PROVIDERS: usize = 3;

/// A configured provider with its runtime state (keys, introspection cache).
#[derive(Debug)]
pub struct Provider {
    pub spec: ProviderSpec,
    pub keys: Arc<KeyStore>,
    pub introspection: Option<introspect::Introspector>,
}

/// Every provider of one config snapshot.
#[derive(Debug)]
pub struct Auth {
    pub realm: String,
    pub providers: Vec<Arc<Provider>>,
    /// An opaque token is offered to at most this many introspecting providers (the first ones
    /// of the route's list, in order): the cost of one unknown token is bounded per request.
    pub introspection_max_providers: usize,
    /// JWTs already verified, by SHA-256 of the whole token (signature included), until their
    /// `exp` and at most [`VERIFIED_TTL`]: a client re-sending its token costs one hash, not one
    /// signature check. Authorization still runs on every request.
    pub verified: VerifiedCache,
}

impl Default for Auth {
    fn default() -> Auth {
        Auth {
            realm: String::new(),
            providers: Vec::new(),
            introspection_max_providers: INTROSPECTION_MAX_PROVIDERS,
            verified: VerifiedCache::default(),
        }
    }
}

/// Longest time a verified JWT is reused without checking its signature again.
pub const VERIFIED_TTL: Duration = Duration::from_secs(300);

/// A cache value that lives for its own time-to-live (verified JWTs, introspection answers).
#[derive(Debug, Clone)]
pub(crate) struct Expiring<V> {
    pub value: V,
    pub ttl: Duration,
}

/// The moka expiry policy for [`Expiring`] values.
pub(crate) struct PerEntry;

impl<K, V> moka::Expiry<K, Expiring<V>> for PerEntry {
    fn expire_after_create(&self, _k: &K, v: &Expiring<V>, _at: Instant) -> Option<Duration> {
        Some(v.ttl)
    }
}

/// Cache key of a token: the SHA-256 of all of it (signature included); tokens are not kept.
pub(crate) fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Bounded cache of verified JWTs (see [`Auth::verified`]).
pub struct VerifiedCache(moka::sync::Cache<[u8; 32], Expiring<Arc<Principal>>>);

impl Default for VerifiedCache {
    fn default() -> VerifiedCache {
        VerifiedCache(
            moka::sync::Cache::builder()
                .max_capacity(100_000)
                .expire_after(PerEntry)
                .build(),
        )
    }
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VerifiedCache({} entries)", self.0.entry_count())
    }
}

impl VerifiedCache {
    fn get(&self, key: &[u8; 32]) -> Option<Arc<Principal>> {
        self.0.get(key).map(|e| e.value)
    }

    /// Keeps `p` until its `exp` (never past [`VERIFIED_TTL`]); expired-within-leeway tokens are
    /// not kept.
    fn insert(&self, key: [u8; 32], p: &Arc<Principal>) {
        let Some(exp) = p.claims.get("exp").and_then(serde_json::Value::as_u64) else {
            return;
        };
        let ttl = Duration::from_secs(exp.saturating_sub(unix_now())).min(VERIFIED_TTL);
        if !ttl.is_zero() {
            self.0.insert(
                key,
                Expiring {
                    value: p.clone(),
                    ttl,
                },
            );
        }
    }
}

/// Why a request is not authenticated or not authorized (RFC 6750 §3.1).
#[derive(Debug, Clone, PartialEq)]
pub enum AuthFailure {
    /// No credentials: 401 with a bare challenge.
    Missing,
    /// 400 `invalid_request`: ambiguous or misplaced credentials.
    InvalidRequest(&'static str),
    /// 401 `invalid_token`: the description says why, never what the token held.
    InvalidToken(&'static str),
    /// 403 `insufficient_scope`, naming the scopes the route requires.
    InsufficientScope(String),
    /// 403: the token's claims do not meet the route's conditions.
    ClaimMismatch,
    /// 503: the provider could not be asked (introspection down, keys never loaded).
    Unavailable(String),
    /// 403: no TLS client certificate, or one that does not meet the route's `client_cert`
    /// conditions.
    ClientCert(&'static str),
}

/// An auth failure with the realm of its challenge.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthError {
    pub failure: AuthFailure,
    pub realm: String,
}

impl AuthError {
    /// Whether the client's credentials were refused (400/401), as opposed to a valid token
    /// without rights (403) or an unreachable provider (503): what `auth_failure` limits count.
    pub fn counts_as_failure(&self) -> bool {
        matches!(
            self.failure,
            AuthFailure::Missing | AuthFailure::InvalidRequest(_) | AuthFailure::InvalidToken(_)
        )
    }

    /// The `WWW-Authenticate` value, when the status calls for one.
    pub fn challenge(&self) -> Option<String> {
        let realm = &self.realm;
        match &self.failure {
            AuthFailure::Missing => Some(format!("Bearer realm=\"{realm}\"")),
            AuthFailure::InvalidRequest(d) => Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_request\", error_description=\"{d}\""
            )),
            AuthFailure::InvalidToken(d) => Some(format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{d}\""
            )),
            AuthFailure::InsufficientScope(scope) => Some(format!(
                "Bearer realm=\"{realm}\", error=\"insufficient_scope\", scope=\"{scope}\""
            )),
            AuthFailure::ClaimMismatch => Some(format!(
                "Bearer realm=\"{realm}\", error=\"insufficient_scope\", error_description=\"the token's claims do not allow this route\""
            )),
            AuthFailure::Unavailable(_) | AuthFailure::ClientCert(_) => None,
        }
    }
}

/// Largest bearer token considered (larger ones are refused unread).
const MAX_TOKEN: usize = 16 * 1024;

impl Auth {
    /// True when every provider's metadata and keys are loaded.
    pub fn ready(&self) -> bool {
        self.providers.iter().all(|p| p.keys.ready())
    }

    /// Carries runtime state over a reload: an unchanged provider keeps its loaded keys and
    /// introspection cache, so a reload never makes the gateway unready or cold.
    pub fn adopt(&mut self, old: &Auth) {
        for p in &mut self.providers {
            if let Some(o) = old.providers.iter().find(|o| o.spec == p.spec) {
                let same_introspection = match (&p.introspection, &o.introspection) {
                    (Some(a), Some(b)) => a.spec == b.spec,
                    (None, None) => true,
                    _ => false,
                };
                if same_introspection {
                    *p = o.clone();
                } else if let Some(np) = Arc::get_mut(p) {
                    np.keys = o.keys.clone();
                }
            }
        }
    }

    /// Background maintenance: loads and refreshes each provider's keys when due.
    pub async fn refresh_due(&self, out: &crate::outbound::Outbound) {
        let now = Instant::now();
        for p in &self.providers {
            if p.keys.refresh_due(&p.spec, now) {
                p.keys.refresh(&p.spec, &out.get(&p.spec.tls)).await;
            }
        }
    }

    fn err(&self, failure: AuthFailure) -> AuthError {
        AuthError {
            failure,
            realm: self.realm.clone(),
        }
    }

    /// Step 4, first: the route's conditions on the TLS client certificate.
    pub fn check_client_cert(
        &self,
        policy: &RoutePolicy,
        cert: Option<&crate::tls::ClientCert>,
    ) -> Result<(), AuthError> {
        policy.client_cert.check(cert).map_err(|f| self.err(f))
    }

    /// Step 4: token from the request, checked by the route's providers, then authorized.
    /// `Ok(None)` for a route that needs no token.
    pub async fn authenticate(
        &self,
        policy: &RoutePolicy,
        headers: &HeaderMap,
        query: &[(String, String)],
        out: &crate::outbound::Outbound,
    ) -> Result<Option<Arc<Principal>>, AuthError> {
        if !policy.required {
            return Ok(None);
        }
        let token = self.bearer(headers, query)?;
        let providers: Vec<&Arc<Provider>> = if policy.providers.is_empty() {
            self.providers.iter().collect()
        } else {
            policy
                .providers
                .iter()
                .filter_map(|i| self.providers.get(*i))
                .collect()
        };
        let principal = if jwt::looks_like_jwt(token) {
            let key = token_key(token);
            match self.verified.get(&key) {
                Some(p) if providers.iter().any(|q| q.spec.name == p.provider) => p,
                _ => {
                    let p = Arc::new(
                        jwt::verify(token, &providers, out)
                            .await
                            .map_err(|f| self.err(f))?,
                    );
                    self.verified.insert(key, &p);
                    p
                }
            }
        } else {
            introspect::check(token, &providers, self.introspection_max_providers, out)
                .await
                .map_err(|f| self.err(f))?
        };
        policy.authorize(&principal).map_err(|f| self.err(f))?;
        Ok(Some(principal))
    }

    /// RFC 6750 §2.1: one `Authorization: Bearer` header; tokens in the URL are refused.
    fn bearer<'h>(&self, headers: &'h HeaderMap, query: &[(String, String)]) -> Result<&'h str, AuthError> {
        let mut values = headers.get_all(AUTHORIZATION);
        let first = values.next();
        let in_query = query.iter().any(|(k, _)| k == "access_token");
        if values.next().is_some() {
            return Err(self.err(AuthFailure::InvalidRequest("more than one Authorization header")));
        }
        if in_query {
            return Err(self.err(AuthFailure::InvalidRequest(if first.is_some() {
                "a token in both the query and the Authorization header"
            } else {
                "tokens are accepted only in the Authorization header"
            })));
        }
        let Some(value) = first else {
            return Err(self.err(AuthFailure::Missing));
        };
        let Ok(value) = value.to_str() else {
            return Err(self.err(AuthFailure::InvalidToken("the token is malformed")));
        };
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(self.err(AuthFailure::Missing));
        }
        let token = rest.trim_matches(' ');
        if token.is_empty() || token.len() > MAX_TOKEN || !is_b64token(token) {
            return Err(self.err(AuthFailure::InvalidToken("the token is malformed")));
        }
        Ok(token)
    }
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn auth() -> Auth {
        Auth {
            realm: "soapgate".into(),
            ..Auth::default()
        }
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn bearer_extraction_follows_rfc_6750() {
        let a = auth();
        let q: Vec<(String, String)> = Vec::new();
        assert_eq!(
            a.bearer(&headers(&["Bearer abc.def-_~+/=="]), &q).ok(),
            Some("abc.def-_~+/==")
        );
        assert_eq!(a.bearer(&headers(&["bearer  x"]), &q).ok(), Some("x"));
        let fail = |h: &[&str], q: &[(String, String)]| a.bearer(&headers(h), q).err().map(|e| e.failure);
        assert_eq!(fail(&[], &q), Some(AuthFailure::Missing));
        assert_eq!(fail(&["Basic dXNlcjpwYXNz"], &q), Some(AuthFailure::Missing));
        assert!(matches!(
            fail(&["Bearer "], &q),
            Some(AuthFailure::InvalidToken(_))
        ));
        assert!(matches!(
            fail(&["Bearer a b"], &q),
            Some(AuthFailure::InvalidToken(_))
        ));
        assert!(matches!(
            fail(&["Bearer ä"], &q),
            Some(AuthFailure::InvalidToken(_))
        ));
        assert!(matches!(
            fail(&["Bearer a", "Bearer b"], &q),
            Some(AuthFailure::InvalidRequest(_))
        ));
        let in_query = vec![("access_token".to_string(), "x".to_string())];
        assert!(matches!(
            fail(&["Bearer a"], &in_query),
            Some(AuthFailure::InvalidRequest(_))
        ));
        assert!(matches!(
            fail(&[], &in_query),
            Some(AuthFailure::InvalidRequest(_))
        ));
    }

    #[test]
    fn challenges_name_the_error_and_scope() {
        let e = |failure| AuthError {
            failure,
            realm: "api".into(),
        };
        assert_eq!(
            e(AuthFailure::Missing).challenge().as_deref(),
            Some("Bearer realm=\"api\"")
        );
        assert_eq!(
            e(AuthFailure::InsufficientScope("a b".into()))
                .challenge()
                .as_deref(),
            Some("Bearer realm=\"api\", error=\"insufficient_scope\", scope=\"a b\"")
        );
        assert!(e(AuthFailure::InvalidToken("expired"))
            .challenge()
            .is_some_and(|c| c.contains("error=\"invalid_token\"")));
        assert_eq!(e(AuthFailure::Unavailable("down".into())).challenge(), None);
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "***");
    }
}

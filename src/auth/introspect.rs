//! Opaque tokens: RFC 7662 introspection through the `oauth2` crate (over awc), with the gateway's
//! client credentials, results cached until the token's `exp` (bounded by `cache_ttl`) in a bounded
//! cache keyed by the token's SHA-256 (tokens themselves are not kept).
//!
//! An answer must carry `active` (one without is unreadable: the provider is failing). An active
//! answer's `exp`, `nbf`, `iss` and `aud` are checked as a JWT's are, and the claims the provider's
//! `introspection.require` lists (default `aud`) must be there. With several introspecting
//! providers an opaque token is offered to each in turn, in the route's order, until one vouches for
//! it; every provider's refusal is cached for a minute and at most `introspection_max_providers`
//! are asked, so one unknown token costs at most one call per provider per minute.

use super::{token_key, unix_now, AuthFailure, Expiring, PerEntry, Principal, Provider, Secret};
use crate::oauth_http::AwcHttp;
use moka::future::Cache;
use oauth2::basic::{BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenResponse, BasicTokenType};
use oauth2::{
    AccessToken, AuthType, ClientId, ClientSecret, EndpointNotSet, ExtraTokenFields, IntrospectionUrl,
    StandardRevocableToken, StandardTokenIntrospectionResponse, TokenIntrospectionResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Introspection settings of one provider.
#[derive(Debug, Clone, PartialEq)]
pub struct IntrospectionSpec {
    pub url: Option<String>,
    pub client_id: String,
    pub client_secret: Secret,
    /// client_secret_post instead of client_secret_basic.
    pub post: bool,
    pub cache_ttl: Duration,
    pub cache_size: u64,
    /// Claims an active answer must carry (`introspection.require`).
    pub require: Required,
}

/// Claims an active introspection answer must carry; present ones are checked either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Required {
    pub aud: bool,
    pub exp: bool,
    pub iss: bool,
}

/// Claims beyond RFC 7662's own fields, kept for claim conditions and templates.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Extra {
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}

impl ExtraTokenFields for Extra {}

type Response = StandardTokenIntrospectionResponse<Extra, BasicTokenType>;

/// A cached verdict of one provider: the principal it vouched for, or why the token was refused.
type Cached = Expiring<Result<Arc<Principal>, AuthFailure>>;

/// Why an inactive answer is refused (the weakest refusal: another provider may own the token).
const NOT_ACTIVE: &str = "the token is not active";

/// An introspection client with its cache.
pub struct Introspector {
    pub spec: IntrospectionSpec,
    cache: Cache<[u8; 32], Cached>,
}

impl std::fmt::Debug for Introspector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspector")
            .field("spec", &self.spec)
            .field("cached", &self.cache.entry_count())
            .finish()
    }
}

/// How long an inactive answer is reused (so a flood of one bad token costs one call a minute).
const INACTIVE_TTL: Duration = Duration::from_secs(60);

impl Introspector {
    pub fn new(spec: IntrospectionSpec) -> Introspector {
        let cache = Cache::builder()
            .max_capacity(spec.cache_size)
            .expire_after(PerEntry)
            .build();
        Introspector { spec, cache }
    }

    /// Cached results now held (for tests and metrics).
    pub async fn cached(&self) -> u64 {
        self.cache.run_pending_tasks().await;
        self.cache.entry_count()
    }
}

/// Checks an opaque token with the route's introspecting providers in turn (at most `max` of
/// them), cached verdicts first, until one vouches for it.
///
/// When none does, the answer is the most telling refusal: an active token whose claims are
/// refused (401), else a provider that could not be asked (503: it may own the token), else 401
/// "not active".
pub async fn check(
    token: &str,
    providers: &[&Arc<Provider>],
    max: usize,
    out: &crate::outbound::Outbound,
) -> Result<Arc<Principal>, AuthFailure> {
    let asked: Vec<(&Arc<Provider>, &Introspector)> = providers
        .iter()
        .filter_map(|p| p.introspection.as_ref().map(|i| (*p, i)))
        .take(max)
        .collect();
    if asked.is_empty() {
        return Err(AuthFailure::InvalidToken(
            "the token is not a JWT and no provider introspects",
        ));
    }
    let key = token_key(token);
    let mut refused: Option<AuthFailure> = None;
    let mut unavailable: Option<AuthFailure> = None;
    for (p, intro) in asked {
        // Concurrent requests with the same token wait for one call (nothing is cached when the
        // provider cannot be asked).
        let verdict = match intro
            .cache
            .try_get_with(key, verdict_of(token, p, intro, out))
            .await
        {
            Ok(cached) => cached.value,
            Err(e) => {
                unavailable.get_or_insert(AuthFailure::clone(&e));
                continue;
            }
        };
        match verdict {
            Ok(principal) => return Ok(principal),
            Err(AuthFailure::InvalidToken(why)) if why == NOT_ACTIVE => {}
            Err(e) => {
                refused.get_or_insert(e);
            }
        }
    }
    Err(refused
        .or(unavailable)
        .unwrap_or(AuthFailure::InvalidToken(NOT_ACTIVE)))
}

/// Asks one provider: its verdict and how long to keep it; `Err` when it could not be asked or
/// its answer is unreadable.
async fn verdict_of(
    token: &str,
    p: &Provider,
    intro: &Introspector,
    out: &crate::outbound::Outbound,
) -> Result<Cached, AuthFailure> {
    let url = p
        .keys
        .endpoints()
        .and_then(|e| e.introspection)
        .or_else(|| intro.spec.url.clone())
        .ok_or_else(|| {
            AuthFailure::Unavailable(format!(
                "provider `{}` has no introspection endpoint yet",
                p.spec.name
            ))
        })?;
    let answer = ask(&intro.spec, &url, token, &out.get(&p.spec.tls), p.spec.timeout)
        .await
        .map_err(|e| {
            tracing::warn!(provider = %p.spec.name, error = %e, "token introspection failed");
            AuthFailure::Unavailable(e)
        })?;
    let now = unix_now();
    let verdict = judge(&answer, p, &intro.spec.require, now).map(Arc::new);
    let ttl = match &verdict {
        Ok(_) => {
            let left = answer
                .exp()
                .map(|e| Duration::from_secs(e.timestamp().saturating_sub(now as i64).max(0) as u64))
                .unwrap_or(intro.spec.cache_ttl);
            left.min(intro.spec.cache_ttl)
        }
        Err(_) => INACTIVE_TTL.min(intro.spec.cache_ttl),
    };
    Ok(Cached { value: verdict, ttl })
}

/// Active, not expired, not before `nbf`, from this issuer, for one of our audiences, carrying
/// the claims the provider requires.
fn judge(r: &Response, p: &Provider, require: &Required, now: u64) -> Result<Principal, AuthFailure> {
    if !r.active() {
        return Err(AuthFailure::InvalidToken(NOT_ACTIVE));
    }
    if require.exp && r.exp().is_none() {
        return Err(AuthFailure::InvalidToken("the token has no expiry"));
    }
    if require.iss && r.iss().is_none() {
        return Err(AuthFailure::InvalidToken("the token has no issuer"));
    }
    if require.aud && r.aud().is_none() {
        return Err(AuthFailure::InvalidToken("the token has no audience"));
    }
    let leeway = p.spec.leeway.as_secs() as i64;
    if r.exp().is_some_and(|e| e.timestamp() + leeway < now as i64) {
        return Err(AuthFailure::InvalidToken("the token has expired"));
    }
    if r.nbf().is_some_and(|n| n.timestamp() - leeway > now as i64) {
        return Err(AuthFailure::InvalidToken("the token is not valid yet"));
    }
    if r.iss().is_some_and(|i| i != p.spec.issuer) {
        return Err(AuthFailure::InvalidToken("the token's issuer is not accepted"));
    }
    if let Some(aud) = r.aud() {
        if !aud.iter().any(|a| p.spec.audiences.contains(a)) {
            return Err(AuthFailure::InvalidToken(
                "the token is not meant for this service",
            ));
        }
    }
    let mut claims = r.extra_fields().claims.clone();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            claims.insert(k.to_string(), v);
        }
    };
    put("sub", r.sub().map(|s| Value::from(s.to_string())));
    put("client_id", r.client_id().map(|c| Value::from(c.as_str())));
    put("username", r.username().map(Value::from));
    put(
        "scope",
        r.scopes()
            .map(|s| Value::from(s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))),
    );
    put("exp", r.exp().map(|e| Value::from(e.timestamp())));
    put("iat", r.iat().map(|e| Value::from(e.timestamp())));
    put("nbf", r.nbf().map(|e| Value::from(e.timestamp())));
    put("jti", r.jti().map(Value::from));
    put("iss", r.iss().map(Value::from));
    put("aud", r.aud().map(|a| Value::from(a.clone())));
    Ok(Principal::from_claims(&p.spec.name, &p.spec.issuer, claims))
}

async fn ask(
    spec: &IntrospectionSpec,
    url: &str,
    token: &str,
    client: &awc::Client,
    timeout: Duration,
) -> Result<Response, String> {
    let url = IntrospectionUrl::new(url.to_string()).map_err(|e| format!("introspection URL: {e}"))?;
    let oauth = oauth2::Client::<
        BasicErrorResponse,
        BasicTokenResponse,
        Response,
        StandardRevocableToken,
        BasicRevocationErrorResponse,
        EndpointNotSet,
        EndpointNotSet,
        EndpointNotSet,
        EndpointNotSet,
        EndpointNotSet,
    >::new(ClientId::new(spec.client_id.clone()))
    .set_client_secret(ClientSecret::new(spec.client_secret.expose().to_string()))
    .set_auth_type(if spec.post {
        AuthType::RequestBody
    } else {
        AuthType::BasicAuth
    })
    .set_introspection_url(url);
    let http = AwcHttp { client, timeout };
    let token = AccessToken::new(token.to_string());
    oauth
        .introspect(&token)
        .set_token_type_hint("access_token")
        .request_async(&http)
        .await
        .map_err(|e| match e {
            oauth2::RequestTokenError::ServerResponse(r) => {
                format!("introspection refused: {}", r.error())
            }
            oauth2::RequestTokenError::Request(e) => format!("introspection request: {e}"),
            oauth2::RequestTokenError::Parse(e, _) => format!("introspection answer unreadable: {e}"),
            oauth2::RequestTokenError::Other(e) => format!("introspection: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::KeyStore;
    use crate::auth::{ProviderSpec, TokenType};

    fn provider() -> Provider {
        Provider {
            spec: ProviderSpec {
                tls: crate::tls::ClientTls::system(),
                name: "corp".into(),
                issuer: "http://idp".into(),
                discovery: false,
                jwks_uri: None,
                introspection_url: Some("http://idp/introspect".into()),
                audiences: vec!["api".into()],
                token_types: vec![TokenType::AtJwt, TokenType::Jwt],
                algorithms: Vec::new(),
                leeway: Duration::from_secs(60),
                hs_secret: None,
                jwks_refresh: Duration::from_secs(300),
                refetch_min_interval: Duration::from_secs(30),
                timeout: Duration::from_secs(5),
            },
            keys: Arc::new(KeyStore::new()),
            introspection: None,
        }
    }

    fn answer(v: Value) -> Response {
        serde_json::from_value(v).expect("an RFC 7662 answer")
    }

    const AUD: Required = Required {
        aud: true,
        exp: false,
        iss: false,
    };

    fn refusal(v: Value, require: &Required) -> Option<&'static str> {
        match judge(&answer(v), &provider(), require, 1_000_000) {
            Ok(_) => None,
            Err(AuthFailure::InvalidToken(why)) => Some(why),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_answer_without_active_does_not_parse() {
        assert!(serde_json::from_str::<Response>(r#"{"aud":"api","exp":2000000}"#).is_err());
        assert!(serde_json::from_str::<Response>(r#"{"active":"true","aud":"api"}"#).is_err());
    }

    #[test]
    fn numeric_time_claims_and_extra_claims_keep_their_digits() {
        // serde_json is built with arbitrary_precision: the flattened `Extra` map and the
        // chrono-typed exp/iat must still read plain JSON numbers.
        let r: Response = serde_json::from_str(
            r#"{"active":true,"aud":"api","exp":1000100,"iat":999990,"level":12345678901234567890123,"ratio":1.50}"#,
        )
        .expect("parses");
        assert_eq!(r.exp().map(|e| e.timestamp()), Some(1_000_100));
        assert_eq!(r.iat().map(|e| e.timestamp()), Some(999_990));
        let p = judge(&r, &provider(), &AUD, 1_000_000).expect("accepted");
        let text = serde_json::to_string(&p.claims).expect("json");
        assert!(text.contains(r#""level":12345678901234567890123"#), "{text}");
        assert!(text.contains(r#""ratio":1.50"#), "{text}");
        assert_eq!(p.claims["exp"], serde_json::json!(1_000_100));
        assert_eq!(p.claims["iat"], serde_json::json!(999_990));
    }

    #[test]
    fn claims_are_checked_like_a_jwts_and_required_ones_must_be_there() {
        use serde_json::json;
        let all = Required {
            aud: true,
            exp: true,
            iss: true,
        };
        let none = Required {
            aud: false,
            exp: false,
            iss: false,
        };
        assert_eq!(
            refusal(json!({"active": false, "aud": "api"}), &AUD),
            Some(NOT_ACTIVE)
        );
        assert_eq!(
            refusal(json!({"active": true}), &AUD),
            Some("the token has no audience")
        );
        assert_eq!(refusal(json!({"active": true}), &none), None);
        assert_eq!(refusal(json!({"active": true, "aud": "api"}), &AUD), None);
        assert_eq!(refusal(json!({"active": true, "aud": ["x", "api"]}), &AUD), None);
        assert_eq!(
            refusal(json!({"active": true, "aud": "other"}), &none),
            Some("the token is not meant for this service")
        );
        assert_eq!(
            refusal(json!({"active": true, "aud": "api", "exp": 1_000_000 - 61}), &AUD),
            Some("the token has expired")
        );
        assert_eq!(
            refusal(json!({"active": true, "aud": "api", "exp": 1_000_000 - 30}), &AUD),
            None,
            "within the leeway"
        );
        assert_eq!(
            refusal(
                json!({"active": true, "aud": "api", "nbf": 1_000_000 + 120}),
                &AUD
            ),
            Some("the token is not valid yet")
        );
        assert_eq!(
            refusal(json!({"active": true, "aud": "api", "iss": "http://evil"}), &none),
            Some("the token's issuer is not accepted")
        );
        assert_eq!(
            refusal(json!({"active": true, "aud": "api", "iss": "http://idp"}), &all),
            Some("the token has no expiry")
        );
        assert_eq!(
            refusal(json!({"active": true, "aud": "api", "exp": 1_000_100}), &all),
            Some("the token has no issuer")
        );
        assert_eq!(
            refusal(
                json!({"active": true, "aud": "api", "exp": 1_000_100, "iss": "http://idp"}),
                &all
            ),
            None
        );
    }
}

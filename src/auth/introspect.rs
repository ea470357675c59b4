//! Opaque tokens: RFC 7662 introspection through the `oauth2` crate (over awc), with the gateway's
//! client credentials, results cached until the token's `exp` (bounded by `cache_ttl`) in a bounded
//! cache keyed by the token's SHA-256 (tokens themselves are not kept).

use super::{token_key, unix_now, AuthFailure, Expiring, PerEntry, Principal, Provider, Secret};
use crate::oauth_http::AwcHttp;
use moka::sync::Cache;
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
}

/// Claims beyond RFC 7662's own fields, kept for claim conditions and templates.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Extra {
    #[serde(flatten)]
    pub claims: Map<String, Value>,
}

impl ExtraTokenFields for Extra {}

type Response = StandardTokenIntrospectionResponse<Extra, BasicTokenType>;

/// A cached answer: the principal of an active token, or `None` for an inactive one.
type Cached = Expiring<Option<Arc<Principal>>>;

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
    pub fn cached(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
    }
}

/// Checks an opaque token with the first provider that introspects; cached answers first.
pub async fn check(
    token: &str,
    providers: &[&Arc<Provider>],
    out: &crate::outbound::Outbound,
) -> Result<Arc<Principal>, AuthFailure> {
    let Some(p) = providers.iter().find(|p| p.introspection.is_some()) else {
        return Err(AuthFailure::InvalidToken(
            "the token is not a JWT and no provider introspects",
        ));
    };
    let Some(intro) = p.introspection.as_ref() else {
        return Err(AuthFailure::InvalidToken("the token is malformed"));
    };
    let key = token_key(token);
    if let Some(hit) = intro.cache.get(&key) {
        return match hit.value {
            Some(principal) => Ok(principal),
            None => Err(AuthFailure::InvalidToken("the token is not active")),
        };
    }
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
    let verdict = judge(&answer, p, now).map(Arc::new);
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
    let cached = Cached {
        value: verdict.as_ref().ok().cloned(),
        ttl,
    };
    if !ttl.is_zero() {
        intro.cache.insert(key, cached);
    }
    verdict
}

/// Active, not expired, not before `nbf`, from this issuer, for one of our audiences.
fn judge(r: &Response, p: &Provider, now: u64) -> Result<Principal, AuthFailure> {
    if !r.active() {
        return Err(AuthFailure::InvalidToken("the token is not active"));
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

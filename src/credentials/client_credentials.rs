//! OAuth2 client credentials grant (RFC 6749 §4.4) through the `oauth2` crate over awc: one token per
//! backend, shared by every worker, fetched again `refresh_before` its expiry, one fetch in flight.

use super::{AuthMethod, RawClientCredentials, Secret, KEY};
use crate::config::Diagnostics;
use crate::error::GatewayError;
use crate::oauth_http::AwcHttp;
use oauth2::basic::{BasicClient, BasicTokenType};
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a token without `expires_in` is reused.
const NO_EXPIRY_REUSE: Duration = Duration::from_secs(60);

/// Validated settings of one token source.
#[derive(Debug, Clone)]
pub struct TokenConfig {
    pub token_url: String,
    pub client_id: String,
    /// `None` with `tls_client_auth` (the client certificate authenticates).
    pub client_secret: Option<Secret>,
    pub scopes: Vec<String>,
    /// Sent as the `resource` parameter.
    pub resource: Option<String>,
    pub auth_method: AuthMethod,
    pub refresh_before: Duration,
    /// Total time for one token request.
    pub timeout: Duration,
    /// How the token endpoint is trusted (and the client certificate presented to it).
    pub tls: crate::tls::ClientTls,
}

/// A token and when to fetch the next one.
struct Cached {
    token: Secret,
    refresh_at: Instant,
}

/// The shared token of one backend (Send + Sync: lives in the snapshot, used by every worker).
pub struct TokenSource {
    config: TokenConfig,
    token_url: TokenUrl,
    cache: Mutex<Option<Cached>>,
    /// Held while a token request is in flight: the others wait for its result.
    fetching: tokio::sync::Mutex<()>,
    /// Token requests finished (successfully or not); lets waiters share a failure.
    completed: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Token requests sent.
    fetches: AtomicU64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("config", &self.config)
            .field("fetches", &self.fetches.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Validates the non-secret keys of `oauth2_client_credentials`; pushes every problem.
pub(super) fn check(raw: &RawClientCredentials, file: &str, d: &mut Diagnostics) -> bool {
    let before = d.errors.len();
    let url_ok = raw
        .token_url
        .parse::<awc::http::Uri>()
        .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some())
        && TokenUrl::new(raw.token_url.clone()).is_ok();
    if !url_ok {
        d.error(
            file,
            &format!("{KEY}.token_url"),
            format!("`{}` is not an absolute http(s) URL", raw.token_url),
            "write the token endpoint's URL, e.g. https://idp.internal/oauth2/token",
        );
    }
    if raw.client_id.trim().is_empty() {
        d.error(
            file,
            &format!("{KEY}.client_id"),
            "the client id is empty",
            "set the OAuth2 client id",
        );
    }
    for (i, s) in raw.scopes.iter().enumerate() {
        let bad = s.is_empty()
            || s.chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\');
        if bad {
            d.error(
                file,
                &format!("{KEY}.scopes[{i}]"),
                format!("`{s}` is not a valid scope"),
                "list one scope per entry, without spaces",
            );
        }
    }
    if raw.resource.as_deref().is_some_and(|r| r.trim().is_empty()) {
        d.error(
            file,
            &format!("{KEY}.resource"),
            "the resource is empty",
            "remove it or name the resource",
        );
    }
    d.errors.len() == before
}

/// `tls_client_auth` takes no secret and needs a client certificate in `tls`.
pub(super) fn check_mtls(raw: &RawClientCredentials, file: &str, d: &mut Diagnostics) -> bool {
    let before = d.errors.len();
    if raw.client_secret_env.is_some() || raw.client_secret_file.is_some() {
        d.error(
            file,
            KEY,
            "`tls_client_auth` sends no client secret",
            "remove `client_secret_env`/`client_secret_file`, or use auth_method basic or post",
        );
    }
    // Over plain http the certificate would never be presented: the token request cannot work.
    if !raw
        .token_url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        d.error(
            file,
            &format!("{KEY}.token_url"),
            "`tls_client_auth` needs an https token endpoint (the certificate travels in the TLS handshake)",
            "use the token endpoint's https:// URL",
        );
    }
    if raw.tls.as_ref().and_then(|t| t.cert_file.as_ref()).is_none() {
        d.error(
            file,
            &format!("{KEY}.tls"),
            "`tls_client_auth` needs a client certificate",
            "add `tls: { cert_file: ..., key_file: ... }`",
        );
    }
    d.errors.len() == before
}

impl TokenSource {
    /// `None` when the token URL does not parse (already reported by `check`).
    pub fn new(config: TokenConfig) -> Option<TokenSource> {
        let token_url = TokenUrl::new(config.token_url.clone()).ok()?;
        Some(TokenSource {
            config,
            token_url,
            cache: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            completed: AtomicU64::new(0),
            last_error: Mutex::new(None),
            fetches: AtomicU64::new(0),
        })
    }

    /// How many token requests were sent.
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// A valid access token: the cached one, or a new one. Concurrent callers wait for the one
    /// request in flight and share its result (also a failure).
    pub async fn token(&self, out: &crate::outbound::Outbound) -> Result<Secret, GatewayError> {
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        let done = self.completed.load(Ordering::SeqCst);
        let _in_flight = self.fetching.lock().await;
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        if self.completed.load(Ordering::SeqCst) != done {
            // A request finished while this one waited and left no token: share its failure.
            let e = lock(&self.last_error)
                .clone()
                .unwrap_or_else(|| "the token request failed".into());
            return Err(GatewayError::BackendCredentials(e));
        }
        let result = self.fetch(&out.get(&self.config.tls)).await;
        let out = match result {
            Ok((token, lifetime)) => {
                *lock(&self.cache) = Some(Cached {
                    token: token.clone(),
                    refresh_at: Instant::now() + lifetime,
                });
                *lock(&self.last_error) = None;
                tracing::debug!(
                    token_url = %self.config.token_url,
                    client_id = %self.config.client_id,
                    reuse_s = lifetime.as_secs(),
                    "backend access token obtained"
                );
                Ok(token)
            }
            Err(e) => {
                tracing::warn!(
                    token_url = %self.config.token_url,
                    client_id = %self.config.client_id,
                    error = %e,
                    "backend access token request failed"
                );
                *lock(&self.last_error) = Some(e.clone());
                Err(GatewayError::BackendCredentials(e))
            }
        };
        self.completed.fetch_add(1, Ordering::SeqCst);
        out
    }

    /// Drops the cached token (the backend refused it).
    pub fn invalidate(&self) {
        *lock(&self.cache) = None;
    }

    fn cached(&self) -> Option<Secret> {
        lock(&self.cache)
            .as_ref()
            .filter(|c| Instant::now() < c.refresh_at)
            .map(|c| c.token.clone())
    }

    /// One token request; the error text never holds the secret or a token.
    async fn fetch(&self, client: &awc::Client) -> Result<(Secret, Duration), String> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let c = &self.config;
        // tls_client_auth (RFC 8705 §2): `client_id` in the form, no secret; the certificate
        // presented on the connection authenticates.
        let oauth = BasicClient::new(ClientId::new(c.client_id.clone()))
            .set_auth_type(match c.auth_method {
                AuthMethod::Basic => AuthType::BasicAuth,
                AuthMethod::Post | AuthMethod::TlsClientAuth => AuthType::RequestBody,
            })
            .set_token_uri(self.token_url.clone());
        let oauth = match &c.client_secret {
            Some(s) => oauth.set_client_secret(ClientSecret::new(s.expose().to_string())),
            None => oauth,
        };
        let mut request = oauth
            .exchange_client_credentials()
            .add_scopes(c.scopes.iter().cloned().map(Scope::new));
        if let Some(r) = &c.resource {
            request = request.add_extra_param("resource", r.clone());
        }
        let http = AwcHttp {
            client,
            timeout: c.timeout,
        };
        let response = request.request_async(&http).await.map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => format!("the token endpoint refused: {}", r.error()),
            RequestTokenError::Request(e) => format!("token request failed: {e}"),
            RequestTokenError::Parse(e, _) => {
                format!("the token response is unreadable (at `{}`)", e.path())
            }
            RequestTokenError::Other(e) => format!("token request failed: {e}"),
        })?;
        if *response.token_type() != BasicTokenType::Bearer {
            return Err("the token endpoint issued a token that is not a bearer token".into());
        }
        let token = response.access_token().secret();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("the token endpoint issued an access token that cannot travel in a header".into());
        }
        let lifetime = match response.expires_in() {
            Some(e) if e > c.refresh_before => e - c.refresh_before,
            Some(e) => e / 2,
            None => NO_EXPIRY_REUSE,
        };
        Ok((Secret::new(token.clone()), lifetime))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[derive(Default)]
    struct Seen {
        hits: AtomicUsize,
        requests: Mutex<Vec<(Option<String>, String)>>,
    }

    /// A token endpoint on 127.0.0.1:0 answering after `delay` with `answer(hit number)`.
    fn endpoint(delay: Duration, answer: fn(usize) -> (u16, String)) -> (String, Arc<Seen>) {
        let seen = Arc::new(Seen::default());
        let s = seen.clone();
        let server = HttpServer::new(move || {
            let s = s.clone();
            App::new().route(
                "/token",
                web::post().to(move |req: HttpRequest, body: String| {
                    let s = s.clone();
                    async move {
                        let n = s.hits.fetch_add(1, Ordering::SeqCst) + 1;
                        let auth = req
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        lock(&s.requests).push((auth, body));
                        actix_rt::time::sleep(delay).await;
                        let (status, json) = answer(n);
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
                            .content_type("application/json")
                            .body(json)
                    }
                }),
            )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let addr = server.addrs()[0];
        actix_rt::spawn(server.run());
        (format!("http://{addr}/token"), seen)
    }

    fn source(url: &str, auth_method: AuthMethod, refresh_before: Duration) -> TokenSource {
        TokenSource::new(TokenConfig {
            token_url: url.into(),
            client_id: "cid".into(),
            client_secret: Some(Secret::new("sec:ret")),
            tls: crate::tls::ClientTls::system(),
            scopes: vec!["a".into(), "b".into()],
            resource: Some("urn:r".into()),
            auth_method,
            refresh_before,
            timeout: Duration::from_secs(5),
        })
        .expect("valid URL")
    }

    fn ok(n: usize) -> (u16, String) {
        (
            200,
            format!(r#"{{"access_token":"tok-{n}","token_type":"Bearer","expires_in":3600}}"#),
        )
    }

    #[actix_rt::test]
    async fn concurrent_requests_share_one_fetch() {
        let (url, seen) = endpoint(Duration::from_millis(300), ok);
        let src = source(&url, AuthMethod::Basic, Duration::from_secs(30));
        let client = crate::outbound::Outbound::new(Duration::from_secs(2), Duration::from_secs(5));
        let all = futures_util::future::join_all((0..10).map(|_| src.token(&client))).await;
        for t in &all {
            assert_eq!(t.as_ref().map(Secret::expose).ok(), Some("tok-1"), "{t:?}");
        }
        assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
        assert_eq!(src.fetches(), 1);
        // Cached afterwards, too.
        assert_eq!(src.token(&client).await.expect("token").expose(), "tok-1");
        assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
        // The request: client_secret_basic (form-urlencoded id and secret), scopes, resource.
        let (auth, body) = lock(&seen.requests)[0].clone();
        assert_eq!(auth.as_deref(), Some("Basic Y2lkOnNlYyUzQXJldA==")); // base64("cid:sec%3Aret")
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).expect("form");
        let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("grant_type"), Some("client_credentials"));
        assert_eq!(get("scope"), Some("a b"));
        assert_eq!(get("resource"), Some("urn:r"));
        assert_eq!(get("client_secret"), None);
    }

    #[actix_rt::test]
    async fn waiters_share_a_failure_and_the_next_call_tries_again() {
        let (url, seen) = endpoint(Duration::from_millis(300), |n| match n {
            1 => (400, r#"{"error":"invalid_client"}"#.into()),
            n => ok(n),
        });
        let src = source(&url, AuthMethod::Post, Duration::from_secs(30));
        let client = crate::outbound::Outbound::new(Duration::from_secs(2), Duration::from_secs(5));
        let all = futures_util::future::join_all((0..5).map(|_| src.token(&client))).await;
        for r in &all {
            match r {
                Err(GatewayError::BackendCredentials(e)) => assert!(e.contains("invalid_client"), "{e}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
        assert_eq!(src.token(&client).await.expect("token").expose(), "tok-2");
        // client_secret_post: the credentials travel in the form, no Authorization header.
        let (auth, body) = lock(&seen.requests)[1].clone();
        assert_eq!(auth, None);
        let form: Vec<(String, String)> = serde_urlencoded::from_str(&body).expect("form");
        assert!(form.contains(&("client_id".into(), "cid".into())), "{form:?}");
        assert!(
            form.contains(&("client_secret".into(), "sec:ret".into())),
            "{form:?}"
        );
    }

    #[actix_rt::test]
    async fn a_token_is_fetched_again_before_it_expires_and_after_invalidation() {
        // expires_in 1 s with refresh_before 30 s: reused for half its life.
        let (url, seen) = endpoint(Duration::ZERO, |n| {
            (
                200,
                format!(r#"{{"access_token":"tok-{n}","token_type":"bearer","expires_in":1}}"#),
            )
        });
        let src = source(&url, AuthMethod::Basic, Duration::from_secs(30));
        let client = crate::outbound::Outbound::new(Duration::from_secs(2), Duration::from_secs(5));
        assert_eq!(src.token(&client).await.expect("token").expose(), "tok-1");
        assert_eq!(src.token(&client).await.expect("token").expose(), "tok-1");
        actix_rt::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(src.token(&client).await.expect("token").expose(), "tok-2");
        src.invalidate();
        assert_eq!(src.token(&client).await.expect("token").expose(), "tok-3");
        assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
    }

    #[actix_rt::test]
    async fn unusable_answers_are_errors_without_the_token() {
        let (url, _) = endpoint(Duration::ZERO, |n| match n {
            1 => (200, r#"{"access_token":"leak-me","token_type":"mac"}"#.into()),
            2 => (200, r#"{"access_token":"leak me","token_type":"Bearer"}"#.into()),
            _ => (200, r#"{"token_type":"Bearer"}"#.into()),
        });
        let src = source(&url, AuthMethod::Basic, Duration::from_secs(30));
        let client = crate::outbound::Outbound::new(Duration::from_secs(2), Duration::from_secs(5));
        for _ in 0..3 {
            match src.token(&client).await {
                Err(e) => assert!(!e.log_detail().contains("leak"), "{}", e.log_detail()),
                Ok(t) => panic!("accepted {t:?}"),
            }
        }
    }

    #[actix_rt::test]
    async fn an_unreachable_endpoint_is_backend_credentials_unavailable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let src = source(
            &format!("http://127.0.0.1:{port}/token"),
            AuthMethod::Basic,
            Duration::from_secs(30),
        );
        let err = src
            .token(&crate::outbound::Outbound::new(
                Duration::from_secs(2),
                Duration::from_secs(5),
            ))
            .await
            .expect_err("refused");
        assert_eq!(err.status().as_u16(), 503);
        assert_eq!(err.code(), "BACKEND_CREDENTIALS_UNAVAILABLE");
        assert!(!err.log_detail().contains("sec:ret"));
    }
}

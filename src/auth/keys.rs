//! A provider's signing keys: discovery, the JWKS cache, background refresh, rate-limited refetch.
//!
//! Keys are shared by every worker (one store per provider, kept across config reloads when the
//! provider is unchanged). A failed fetch never drops keys already loaded: an IdP that goes down
//! leaves the cached keys serving.

use super::config::is_hmac;
use super::ProviderSpec;
use crate::oauth_http::{get_json, IdpHttpError};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// One verification key.
pub struct Key {
    pub kid: Option<String>,
    /// The JWK's own `alg`, when it names one: the token's `alg` must then match it.
    pub alg: Option<Algorithm>,
    pub kty: Kty,
    pub key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

/// Key families: an algorithm is only ever tried with a key of its own family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kty {
    Rsa,
    Ec,
    Okp,
}

impl Kty {
    pub fn for_alg(a: Algorithm) -> Option<Kty> {
        use Algorithm as A;
        match a {
            A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512 => Some(Kty::Rsa),
            A::ES256 | A::ES384 => Some(Kty::Ec),
            A::EdDSA => Some(Kty::Okp),
            _ => None,
        }
    }
}

/// Endpoints learned from discovery (or configured).
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub jwks_uri: Option<String>,
    pub introspection: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    endpoints: Option<Endpoints>,
    keys: Arc<Vec<Key>>,
    /// Last successful JWKS fetch.
    fetched: Option<Instant>,
    /// Last attempt (success or not), and consecutive failures (backoff).
    attempted: Option<Instant>,
    failures: u32,
    /// Why the last attempt failed (cleared by a success), for `/readyz`.
    last_error: Option<String>,
    /// Last on-demand refetch for an unknown `kid`.
    refetched: Option<Instant>,
}

/// The key cache of one provider.
#[derive(Debug, Default)]
pub struct KeyStore {
    state: RwLock<State>,
    /// Ready: endpoints known and (when the provider signs JWTs) keys loaded once.
    ready: AtomicBool,
    /// Serializes fetches: concurrent misses wait for one fetch instead of each doing one.
    fetching: tokio::sync::Mutex<()>,
    /// `soapgate_jwks_fetches_total{outcome}`: JWKS documents fetched, failed fetches (discovery
    /// or JWKS), and unknown-`kid` refetches refused because one was done less than
    /// `jwks_refetch_min_interval` ago.
    pub fetched_ok: AtomicU64,
    pub fetch_errors: AtomicU64,
    pub throttled: AtomicU64,
}

impl KeyStore {
    /// Why the last fetch failed, while it has not succeeded since.
    pub fn last_error(&self) -> Option<String> {
        self.read(|s| s.last_error.clone())
    }

    pub fn new() -> KeyStore {
        KeyStore::default()
    }

    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn keys(&self) -> Arc<Vec<Key>> {
        self.read(|s| s.keys.clone())
    }

    pub fn endpoints(&self) -> Option<Endpoints> {
        self.read(|s| s.endpoints.clone())
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn write<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// Is a background refresh due (initial load with backoff, or the periodic refresh)?
    pub fn refresh_due(&self, spec: &ProviderSpec, now: Instant) -> bool {
        self.read(|s| {
            let backoff = Duration::from_millis(500u64 << s.failures.min(6)).min(Duration::from_secs(30));
            match (s.fetched, s.attempted) {
                (_, Some(a)) if s.failures > 0 => now.duration_since(a) >= backoff,
                (Some(f), _) => now.duration_since(f) >= spec.jwks_refresh,
                (None, Some(a)) => now.duration_since(a) >= backoff,
                (None, None) => true,
            }
        })
    }

    /// Background refresh: discovery when still needed, then the JWKS. Keys already held survive
    /// any failure.
    pub async fn refresh(&self, spec: &ProviderSpec, client: &awc::Client) {
        let _one = self.fetching.lock().await;
        self.fetch(spec, client).await;
    }

    /// On-demand refetch for a `kid` not in the cache: at most one per `refetch_min_interval`,
    /// however many requests ask and however many of them arrive at once (the check and the
    /// stamp happen under the fetch lock, so concurrent misses can never start two fetches).
    /// Returns whether a fetch happened (or was just done by another).
    pub async fn refetch_for_unknown_kid(&self, spec: &ProviderSpec, client: &awc::Client) -> bool {
        let asked = Instant::now();
        let _one = self.fetching.lock().await;
        let allowed = self.write(|s| match s.refetched {
            // Another request fetched while this one waited: its result is fresh enough.
            Some(r) if r >= asked => Some(true),
            Some(r) if asked.duration_since(r) < spec.refetch_min_interval => Some(false),
            _ => {
                s.refetched = Some(Instant::now());
                None
            }
        });
        if let Some(fresh) = allowed {
            if !fresh {
                self.throttled.fetch_add(1, Ordering::Relaxed);
            }
            return fresh;
        }
        self.fetch(spec, client).await;
        true
    }

    /// `(outcome, count)` for `soapgate_jwks_fetches_total`.
    pub fn fetch_counts(&self) -> [(&'static str, u64); 3] {
        [
            ("ok", self.fetched_ok.load(Ordering::Relaxed)),
            ("error", self.fetch_errors.load(Ordering::Relaxed)),
            ("throttled", self.throttled.load(Ordering::Relaxed)),
        ]
    }

    async fn fetch(&self, spec: &ProviderSpec, client: &awc::Client) {
        match self.try_fetch(spec, client).await {
            Ok(jwks) => {
                if jwks {
                    self.fetched_ok.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                self.fetch_errors.fetch_add(1, Ordering::Relaxed);
                let held = self.write(|s| {
                    s.attempted = Some(Instant::now());
                    s.failures = s.failures.saturating_add(1);
                    s.last_error = Some(e.clone());
                    s.keys.len()
                });
                tracing::warn!(
                    provider = %spec.name, error = %e, keys_held = held,
                    "identity provider metadata or keys could not be fetched; cached keys keep serving"
                );
            }
        }
    }

    /// Discovery when still needed, then the JWKS; `Ok(false)` when the provider has no JWKS
    /// (opaque tokens only).
    async fn try_fetch(&self, spec: &ProviderSpec, client: &awc::Client) -> Result<bool, String> {
        let endpoints = match self.endpoints() {
            Some(e) => e,
            None => {
                let e = discover(spec, client).await?;
                self.write(|s| s.endpoints = Some(e.clone()));
                e
            }
        };
        let Some(uri) = endpoints.jwks_uri.as_deref() else {
            // Opaque tokens only: ready once the introspection endpoint is known.
            self.write(|s| {
                s.fetched = Some(Instant::now());
                s.attempted = s.fetched;
                s.failures = 0;
                s.last_error = None;
            });
            self.ready.store(true, Ordering::Release);
            return Ok(false);
        };
        let doc = get_json(client, spec.timeout, uri)
            .await
            .map_err(|e: IdpHttpError| format!("JWKS {uri}: {e}"))?;
        let keys = parse_jwks(&doc, spec)?;
        let count = keys.len();
        self.write(|s| {
            s.keys = Arc::new(keys);
            s.fetched = Some(Instant::now());
            s.attempted = s.fetched;
            s.failures = 0;
            s.last_error = None;
        });
        if !self.ready.swap(true, Ordering::AcqRel) {
            tracing::info!(provider = %spec.name, keys = count, "identity provider keys loaded");
        }
        Ok(true)
    }
}

/// OIDC discovery, then RFC 8414; the document's `issuer` must be the configured one (mix-up
/// defence). Without discovery the configured URLs are used as they are.
async fn discover(spec: &ProviderSpec, client: &awc::Client) -> Result<Endpoints, String> {
    let configured = Endpoints {
        jwks_uri: spec.jwks_uri.clone(),
        introspection: spec.introspection_url.clone(),
    };
    if !spec.discovery {
        return Ok(configured);
    }
    let base = spec.issuer.trim_end_matches('/');
    let mut last = String::new();
    for well_known in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let url = format!("{base}{well_known}");
        match get_json(client, spec.timeout, &url).await {
            Ok(doc) => {
                let issuer = doc.get("issuer").and_then(Value::as_str).unwrap_or("");
                if issuer != spec.issuer {
                    return Err(format!(
                        "discovery at {url} names issuer `{issuer}`, not the configured `{}`",
                        spec.issuer
                    ));
                }
                let field = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
                return Ok(Endpoints {
                    jwks_uri: configured.jwks_uri.or_else(|| field("jwks_uri")),
                    introspection: configured
                        .introspection
                        .or_else(|| field("introspection_endpoint")),
                });
            }
            Err(e) => last = format!("discovery {url}: {e}"),
        }
    }
    Err(last)
}

/// Keeps the signature keys this provider may use: `use` absent or `sig`, a known family, and an
/// `alg` (when the key names one) that is on the allow-list. Symmetric (`oct`) keys from a JWKS are
/// never used: HS* secrets come only from the config.
pub fn parse_jwks(doc: &Value, spec: &ProviderSpec) -> Result<Vec<Key>, String> {
    let set: JwkSet = match doc.get("keys") {
        Some(Value::Array(items)) => JwkSet {
            keys: items
                .iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .collect(),
        },
        _ => return Err("the JWKS has no `keys` array".into()),
    };
    let mut out = Vec::new();
    for jwk in &set.keys {
        if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let kty = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Kty::Rsa,
            AlgorithmParameters::EllipticCurve(_) => Kty::Ec,
            AlgorithmParameters::OctetKeyPair(_) => Kty::Okp,
            AlgorithmParameters::OctetKey(_) => continue,
        };
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(ka) => match key_alg(ka) {
                Some(a) if spec.algorithms.contains(&a) && !is_hmac(a) => Some(a),
                _ => continue,
            },
        };
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        out.push(Key {
            kid: jwk.common.key_id.clone(),
            alg,
            kty,
            key,
        });
    }
    Ok(out)
}

fn key_alg(k: KeyAlgorithm) -> Option<Algorithm> {
    use Algorithm as A;
    use KeyAlgorithm as K;
    Some(match k {
        K::RS256 => A::RS256,
        K::RS384 => A::RS384,
        K::RS512 => A::RS512,
        K::PS256 => A::PS256,
        K::PS384 => A::PS384,
        K::PS512 => A::PS512,
        K::ES256 => A::ES256,
        K::ES384 => A::ES384,
        K::EdDSA => A::EdDSA,
        K::HS256 => A::HS256,
        K::HS384 => A::HS384,
        K::HS512 => A::HS512,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(algorithms: Vec<Algorithm>) -> ProviderSpec {
        ProviderSpec {
            tls: crate::tls::ClientTls::system(),
            name: "t".into(),
            issuer: "http://i".into(),
            discovery: false,
            jwks_uri: None,
            introspection_url: None,
            audiences: vec!["a".into()],
            token_types: vec![super::super::TokenType::AtJwt, super::super::TokenType::Jwt],
            algorithms,
            leeway: Duration::from_secs(60),
            hs_secret: None,
            jwks_refresh: Duration::from_secs(300),
            refetch_min_interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }

    const EC: (&str, &str) = (
        "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    );

    #[test]
    fn only_signature_keys_of_allowed_algorithms_are_kept() {
        let doc = json!({"keys": [
            {"kty": "EC", "crv": "P-256", "x": EC.0, "y": EC.1, "kid": "ok", "use": "sig", "alg": "ES256"},
            {"kty": "EC", "crv": "P-256", "x": EC.0, "y": EC.1, "kid": "no-alg"},
            {"kty": "EC", "crv": "P-256", "x": EC.0, "y": EC.1, "kid": "enc", "use": "enc"},
            {"kty": "EC", "crv": "P-256", "x": EC.0, "y": EC.1, "kid": "wrong-alg", "alg": "ES384"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "symmetric", "alg": "HS256"},
            {"kty": "RSA", "kid": "broken"},
            "not a key"
        ]});
        let keys = parse_jwks(&doc, &spec(vec![Algorithm::ES256, Algorithm::HS256])).expect("jwks");
        let kids: Vec<_> = keys.iter().map(|k| k.kid.as_deref().unwrap_or("")).collect();
        assert_eq!(kids, ["ok", "no-alg"]);
        assert_eq!(keys[0].alg, Some(Algorithm::ES256));
        assert_eq!(keys[0].kty, Kty::Ec);
        assert!(parse_jwks(&json!({"nokeys": []}), &spec(vec![Algorithm::ES256])).is_err());
    }

    #[test]
    fn refresh_is_due_at_start_then_after_the_interval_with_backoff_on_failure() {
        let s = spec(vec![Algorithm::RS256]);
        let store = KeyStore::new();
        let now = Instant::now();
        assert!(store.refresh_due(&s, now));
        store.write(|st| {
            st.attempted = Some(now);
            st.failures = 1;
        });
        assert!(!store.refresh_due(&s, now));
        assert!(store.refresh_due(&s, now + Duration::from_secs(2)));
        store.write(|st| {
            st.failures = 0;
            st.fetched = Some(now);
        });
        assert!(!store.refresh_due(&s, now + Duration::from_secs(299)));
        assert!(store.refresh_due(&s, now + Duration::from_secs(300)));
    }
}

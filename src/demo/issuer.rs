//! The demo's development OAuth2 token issuer: started only by `soapgate demo`, never by `serve`.
//!
//! A throw-away authorization server on 127.0.0.1 so the demo runs with auth on and the gateway
//! consumes it exactly as it would a real IdP (discovery, then the JWKS):
//!
//! * `GET /.well-known/openid-configuration` (and `/.well-known/oauth-authorization-server`):
//!   metadata naming the issuer `http://<addr>`, the JWKS and the token endpoint;
//! * `GET /jwks`: the public half of a P-256 key generated at startup (never stored);
//! * `POST /token`: the client-credentials grant (RFC 6749 §4.4) for one client,
//!   [`CLIENT_ID`]/[`CLIENT_SECRET`], by HTTP Basic or form parameters. Access tokens are RFC 9068
//!   JWTs (`typ: at+jwt`, ES256) for the audience [`AUDIENCE`], valid for an hour.
//!
//! The credentials are public, so tokens from it prove nothing outside the demo.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{dev::Server, web, App, HttpRequest, HttpResponse, HttpServer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use futures_util::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::{SocketAddr, TcpListener};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where `soapgate demo` runs the issuer unless told otherwise (matches the demo's soapgate.yaml).
pub const DEFAULT_ADDR: &str = "127.0.0.1:9082";
/// The one client the issuer knows.
pub const CLIENT_ID: &str = "demo-client";
/// Its secret (public: this is a demo).
pub const CLIENT_SECRET: &str = "demo-secret";
/// `aud` of every token.
pub const AUDIENCE: &str = "urn:soapgate:demo";
/// The scopes a token may carry; a request without `scope` gets all of them.
pub const SCOPES: [&str; 2] = ["customers:read", "customers:write"];
/// Token lifetime in seconds.
pub const TOKEN_TTL: u64 = 3600;
/// Largest token request body read.
pub const MAX_FORM: usize = 4 * 1024;

/// The issuer's identity and signing key.
pub struct Issuer {
    /// `http://<addr>`: the `iss` of its tokens and the base of its endpoints.
    issuer: String,
    kid: String,
    key: EncodingKey,
    /// The public JWK (with `kid`, `use`, `alg`).
    jwk: Value,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish()
    }
}

/// A refused token request (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub status: u16,
    pub error: &'static str,
    pub description: &'static str,
}

impl TokenError {
    fn new(status: u16, error: &'static str, description: &'static str) -> TokenError {
        TokenError {
            status,
            error,
            description,
        }
    }

    fn invalid_request(description: &'static str) -> TokenError {
        TokenError::new(400, "invalid_request", description)
    }

    fn invalid_client() -> TokenError {
        TokenError::new(401, "invalid_client", "client authentication failed")
    }
}

impl Issuer {
    /// An issuer named `http://<addr>` with a freshly generated P-256 key.
    pub fn generate(addr: SocketAddr) -> Result<Issuer, String> {
        Issuer::generate_at(format!("http://{addr}"))
    }

    /// An issuer named `issuer` (its base URL) with a freshly generated P-256 key.
    pub fn generate_at(issuer: String) -> Result<Issuer, String> {
        let secret = random_p256_key()?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode the demo issuer key: {e}"))?;
        let mut jwk: Value = serde_json::from_str(&secret.public_key().to_jwk_string())
            .map_err(|e| format!("cannot encode the demo issuer JWK: {e}"))?;
        let kid = thumbprint(&jwk).ok_or("the demo issuer JWK lacks its coordinates")?;
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!("ES256");
        Ok(Issuer {
            issuer,
            kid,
            key: EncodingKey::from_ec_der(der.as_bytes()),
            jwk,
        })
    }

    /// The issuer identifier (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// OIDC discovery / RFC 8414 metadata.
    pub fn metadata(&self) -> Value {
        let i = &self.issuer;
        json!({
            "issuer": i,
            "jwks_uri": format!("{i}/jwks"),
            "token_endpoint": format!("{i}/token"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": SCOPES,
            // No authorization endpoint: only the client-credentials grant is offered.
            "response_types_supported": [],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"],
        })
    }

    /// The JWKS: the one public key.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    /// Handles a token request: `authorization` is the request's Authorization header (if any),
    /// `form` its `application/x-www-form-urlencoded` body. Returns the token response.
    pub fn token(&self, authorization: Option<&str>, form: &[u8]) -> Result<Value, TokenError> {
        let params: Vec<(String, String)> = serde_urlencoded::from_bytes(form)
            .map_err(|_| TokenError::invalid_request("the body is not a valid form"))?;
        for (i, (k, _)) in params.iter().enumerate() {
            if params[..i].iter().any(|(p, _)| p == k) {
                return Err(TokenError::invalid_request("a parameter is repeated"));
            }
        }
        let param = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str());

        let client = authenticate(authorization, param("client_id"), param("client_secret"))?;
        match param("grant_type") {
            None => return Err(TokenError::invalid_request("grant_type is missing")),
            Some("client_credentials") => {}
            Some(_) => {
                return Err(TokenError::new(
                    400,
                    "unsupported_grant_type",
                    "only client_credentials is supported",
                ))
            }
        }
        let scope = granted_scope(param("scope"))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = json!({
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": client,
            "client_id": client,
            "scope": scope,
            "iat": now,
            "exp": now + TOKEN_TTL,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        let mut h = Header::new(Algorithm::ES256);
        h.typ = Some("at+jwt".into());
        h.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&h, &claims, &self.key)
            .map_err(|_| TokenError::new(500, "server_error", "the token could not be signed"))?;
        Ok(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": TOKEN_TTL,
            "scope": scope,
        }))
    }
}

/// A P-256 secret key from the OS random source (retrying the rare out-of-range scalar).
fn random_p256_key() -> Result<p256::SecretKey, String> {
    for _ in 0..8 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| format!("no random bytes for the demo issuer key: {e}"))?;
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
            return Ok(secret);
        }
    }
    Err("could not generate the demo issuer key".into())
}

/// RFC 7638 JWK thumbprint of an EC key, base64url.
fn thumbprint(jwk: &Value) -> Option<String> {
    let field = |k: &str| jwk.get(k).and_then(Value::as_str);
    let canonical = format!(
        r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
        field("crv")?,
        field("x")?,
        field("y")?
    );
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// Client authentication (RFC 6749 §2.3.1): Basic or form parameters, never both.
fn authenticate(
    authorization: Option<&str>,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<&'static str, TokenError> {
    let (id, secret) = match (authorization, form_id) {
        (Some(_), Some(_)) => {
            return Err(TokenError::invalid_request(
                "use one client authentication method, not both",
            ))
        }
        (Some(h), None) => basic_credentials(h).ok_or_else(TokenError::invalid_client)?,
        (None, Some(id)) => (id.to_string(), form_secret.unwrap_or("").to_string()),
        (None, None) => return Err(TokenError::invalid_client()),
    };
    // Compare digests so the time taken says nothing about the secret.
    let ok = Sha256::digest(id.as_bytes()) == Sha256::digest(CLIENT_ID.as_bytes())
        && Sha256::digest(secret.as_bytes()) == Sha256::digest(CLIENT_SECRET.as_bytes());
    if ok {
        Ok(CLIENT_ID)
    } else {
        Err(TokenError::invalid_client())
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))`, decoded.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space), by the gateway's
/// one strict decoder.
fn form_decode(s: &str) -> Option<String> {
    crate::target::form_decode(s).ok()
}

/// The scopes granted: the requested ones (each must be known), or all when none are asked for.
fn granted_scope(requested: Option<&str>) -> Result<String, TokenError> {
    let asked: Vec<&str> = requested
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if asked.iter().any(|s| !SCOPES.contains(s)) {
        return Err(TokenError::new(
            400,
            "invalid_scope",
            "allowed scopes: customers:read customers:write",
        ));
    }
    let granted: Vec<&str> = SCOPES
        .iter()
        .copied()
        .filter(|s| asked.is_empty() || asked.contains(s))
        .collect();
    Ok(granted.join(" "))
}

/// Binds the issuer on `addr` (port 0 picks a free port) with one worker.
///
/// Returns the server, which must be awaited or spawned by the caller, and the issuer identifier
/// (`http://<bound address>`).
pub fn start(
    addr: SocketAddr,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
) -> std::io::Result<(Server, String)> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let issuer = Issuer::generate_at(format!("{scheme}://{bound}")).map_err(std::io::Error::other)?;
    let issuer = web::Data::new(issuer);
    let name = issuer.issuer().to_string();
    let server = HttpServer::new(move || App::new().app_data(issuer.clone()).configure(routes))
        .workers(1)
        .shutdown_timeout(1);
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, (*config).clone())?,
        None => server.listen(listener)?,
    };
    Ok((server.run(), name))
}

/// The issuer's endpoints (the [`Issuer`] comes as app data).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/openid-configuration", web::get().to(metadata))
        .route("/.well-known/oauth-authorization-server", web::get().to(metadata))
        .route("/jwks", web::get().to(jwks))
        .service(web::resource("/token").route(web::post().to(token)));
}

async fn metadata(issuer: web::Data<Issuer>) -> HttpResponse {
    HttpResponse::Ok().json(issuer.metadata())
}

async fn jwks(issuer: web::Data<Issuer>) -> HttpResponse {
    HttpResponse::Ok().json(issuer.jwks())
}

async fn token(req: HttpRequest, payload: web::Payload, issuer: web::Data<Issuer>) -> HttpResponse {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    let result = if !form_type {
        Err(TokenError::invalid_request(
            "send the request as application/x-www-form-urlencoded",
        ))
    } else {
        match read_bounded(payload, MAX_FORM).await {
            Some(body) => {
                let authorization = req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .map(|v| v.to_str().unwrap_or(""));
                issuer.token(authorization, &body)
            }
            None => Err(TokenError::new(
                413,
                "invalid_request",
                "the request body is too large",
            )),
        }
    };
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            json!({"error": e.error, "error_description": e.description}),
        ),
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"soapgate-demo\""),
        ));
    }
    res.json(body)
}

/// The body, or `None` when it is unreadable or longer than `limit`.
async fn read_bounded(mut payload: web::Payload, limit: usize) -> Option<web::BytesMut> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.ok()?;
        if body.len() + chunk.len() > limit {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, DecodingKey, Validation};
    use serde_json::Map;

    fn issuer() -> Issuer {
        Issuer::generate("127.0.0.1:9082".parse().unwrap()).unwrap()
    }

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    fn refused(i: &Issuer, auth: Option<&str>, form: &str) -> (u16, &'static str) {
        let e = i.token(auth, form.as_bytes()).unwrap_err();
        (e.status, e.error)
    }

    /// Verifies like the gateway does: key picked by `kid` from the JWKS, iss/aud/exp required.
    fn verify(i: &Issuer, token: &str) -> Map<String, Value> {
        let header = decode_header(token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let set: JwkSet = serde_json::from_value(i.jwks()).unwrap();
        let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
        let mut v = Validation::new(Algorithm::ES256);
        v.required_spec_claims = ["exp", "iss", "aud"].iter().map(|s| s.to_string()).collect();
        v.set_issuer(&["http://127.0.0.1:9082"]);
        v.set_audience(&[AUDIENCE]);
        decode::<Map<String, Value>>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
            .unwrap()
            .claims
    }

    #[test]
    fn metadata_names_the_issuer_and_its_endpoints() {
        let i = issuer();
        let m = i.metadata();
        assert_eq!(m["issuer"], "http://127.0.0.1:9082");
        assert_eq!(m["jwks_uri"], "http://127.0.0.1:9082/jwks");
        assert_eq!(m["token_endpoint"], "http://127.0.0.1:9082/token");
        assert_eq!(m["grant_types_supported"], json!(["client_credentials"]));
        assert_eq!(m["id_token_signing_alg_values_supported"], json!(["ES256"]));
        let jwk = &i.jwks()["keys"][0];
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "ES256");
        assert!(jwk.get("d").is_none(), "the private part must never be published");
        assert_eq!(jwk["kid"].as_str().map(str::len), Some(43));
    }

    #[test]
    fn each_issuer_has_its_own_key() {
        assert_ne!(issuer().jwks()["keys"][0]["x"], issuer().jwks()["keys"][0]["x"]);
    }

    #[test]
    fn a_token_by_basic_auth_verifies_against_the_jwks() {
        let i = issuer();
        let auth = basic(CLIENT_ID, CLIENT_SECRET);
        let res = i.token(Some(&auth), b"grant_type=client_credentials").unwrap();
        assert_eq!(res["token_type"], "Bearer");
        assert_eq!(res["expires_in"], 3600);
        assert_eq!(res["scope"], "customers:read customers:write");
        let claims = verify(&i, res["access_token"].as_str().unwrap());
        assert_eq!(claims["iss"], "http://127.0.0.1:9082");
        assert_eq!(claims["aud"], AUDIENCE);
        assert_eq!(claims["sub"], CLIENT_ID);
        assert_eq!(claims["client_id"], CLIENT_ID);
        assert_eq!(claims["scope"], "customers:read customers:write");
        let (iat, exp) = (claims["iat"].as_u64().unwrap(), claims["exp"].as_u64().unwrap());
        assert_eq!(exp - iat, TOKEN_TTL);
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
        let again = i.token(Some(&auth), b"grant_type=client_credentials").unwrap();
        assert_ne!(
            verify(&i, again["access_token"].as_str().unwrap())["jti"],
            claims["jti"]
        );
    }

    #[test]
    fn a_token_by_form_credentials_carries_the_requested_scope() {
        let i = issuer();
        let form = "grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret&scope=customers%3Aread";
        let res = i.token(None, form.as_bytes()).unwrap();
        assert_eq!(res["scope"], "customers:read");
        let claims = verify(&i, res["access_token"].as_str().unwrap());
        assert_eq!(claims["scope"], "customers:read");
        let both = "grant_type=client_credentials&scope=customers:write+customers:read";
        let res = i
            .token(Some(&basic(CLIENT_ID, CLIENT_SECRET)), both.as_bytes())
            .unwrap();
        assert_eq!(res["scope"], "customers:read customers:write");
    }

    #[test]
    fn token_requests_are_validated() {
        let i = issuer();
        let good = basic(CLIENT_ID, CLIENT_SECRET);
        let good = Some(good.as_str());
        let grant = "grant_type=client_credentials";
        // Client authentication.
        assert_eq!(refused(&i, None, grant), (401, "invalid_client"));
        let wrong = basic(CLIENT_ID, "nope");
        assert_eq!(refused(&i, Some(&wrong), grant), (401, "invalid_client"));
        let other = basic("someone", CLIENT_SECRET);
        assert_eq!(refused(&i, Some(&other), grant), (401, "invalid_client"));
        assert_eq!(refused(&i, Some("Bearer x"), grant), (401, "invalid_client"));
        assert_eq!(refused(&i, Some("Basic !!!"), grant), (401, "invalid_client"));
        let no_colon = format!("Basic {}", STANDARD.encode("demo-client"));
        assert_eq!(refused(&i, Some(&no_colon), grant), (401, "invalid_client"));
        assert_eq!(
            refused(&i, None, "grant_type=client_credentials&client_id=demo-client"),
            (401, "invalid_client")
        );
        assert_eq!(
            refused(
                &i,
                good,
                "grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret"
            ),
            (400, "invalid_request")
        );
        // Grant type.
        assert_eq!(refused(&i, good, ""), (400, "invalid_request"));
        assert_eq!(
            refused(&i, good, "grant_type=password"),
            (400, "unsupported_grant_type")
        );
        assert_eq!(
            refused(&i, good, "grant_type=client_credentials&grant_type=password"),
            (400, "invalid_request")
        );
        // Scope.
        assert_eq!(
            refused(&i, good, "grant_type=client_credentials&scope=admin"),
            (400, "invalid_scope")
        );
        assert_eq!(
            refused(
                &i,
                good,
                "grant_type=client_credentials&scope=customers:read+admin"
            ),
            (400, "invalid_scope")
        );
        // Malformed bodies never panic.
        for body in ["%", "a=%zz", "grant_type=%ff", "&&&", "=", "scope=%E2%82"] {
            assert!(i.token(good, body.as_bytes()).is_err(), "{body}");
        }
        assert!(i.token(good, &[0xff, 0xfe]).is_err());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            basic_credentials("basic ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ="),
            Some(("demo-client".into(), "demo-secret".into()))
        );
        assert_eq!(form_decode("a%3Ab+c"), Some("a:b c".into()));
        assert_eq!(form_decode("%"), None);
        assert_eq!(form_decode("%4"), None);
        assert_eq!(form_decode("%é1"), None);
        assert_eq!(form_decode("%ff"), None);
        assert_eq!(form_decode("%+9"), None);
    }

    #[actix_web::test]
    async fn the_endpoints_answer_over_http() {
        use actix_web::test;
        let i = web::Data::new(issuer());
        let app = test::init_service(App::new().app_data(i.clone()).configure(routes)).await;
        let req = test::TestRequest::get()
            .uri("/.well-known/openid-configuration")
            .to_request();
        let m: Value = test::call_and_read_body_json(&app, req).await;
        assert_eq!(m["issuer"], "http://127.0.0.1:9082");

        let form = |body: &str| {
            test::TestRequest::post()
                .uri("/token")
                .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                .set_payload(body.to_string())
        };
        let res = test::call_service(
            &app,
            form("grant_type=client_credentials")
                .insert_header((header::AUTHORIZATION, basic(CLIENT_ID, CLIENT_SECRET)))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
        let body: Value = test::read_body_json(res).await;
        let jwks: Value =
            test::call_and_read_body_json(&app, test::TestRequest::get().uri("/jwks").to_request()).await;
        assert_eq!(jwks, i.jwks());
        verify(&i, body["access_token"].as_str().unwrap());

        let res = test::call_service(&app, form("grant_type=client_credentials").to_request()).await;
        assert_eq!(res.status(), 401);
        assert_eq!(
            res.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Basic realm=\"soapgate-demo\""
        );
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["error"], "invalid_client");

        let res = test::call_service(
            &app,
            form("grant_type=authorization_code")
                .insert_header((header::AUTHORIZATION, basic(CLIENT_ID, CLIENT_SECRET)))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 400);
        let body: Value = test::read_body_json(res).await;
        assert_eq!(body["error"], "unsupported_grant_type");

        let big = format!("grant_type=client_credentials&pad={}", "x".repeat(MAX_FORM));
        let res = test::call_service(&app, form(&big).to_request()).await;
        assert_eq!(res.status(), 413);

        let json_body = test::TestRequest::post()
            .uri("/token")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload("{}")
            .to_request();
        assert_eq!(test::call_service(&app, json_body).await.status(), 400);

        let get = test::TestRequest::get().uri("/token").to_request();
        assert_eq!(test::call_service(&app, get).await.status(), 405);
    }
}

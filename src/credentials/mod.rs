//! Backend credentials: what soapgate presents to a SOAP backend on every call (`backend.credentials`
//! of a mapping): HTTP Basic, a WS-Security UsernameToken header, or an OAuth2 client-credentials
//! bearer token. Secrets are read from the environment or a file when the config loads, and never
//! reach a log: every holder prints `***` for `Debug`.

pub mod client_credentials;
pub mod wss;

use crate::config::units::{parse_duration, Quantity};
use crate::config::Diagnostics;
use crate::error::GatewayError;
use actix_web::http::header::HeaderValue;
use base64::Engine as _;
use serde::Deserialize;
use std::fmt;
use std::path::Path;
use std::time::Duration;

/// `backend.credentials` as written. Read through [`CredentialsBlock`], so that an error inside
/// points at this block (key path and line), not at the enclosing `backend:`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RawCredentials {
    /// `Authorization: Basic` on every backend request.
    Basic(RawBasic),
    /// A `wsse:Security` SOAP header with a UsernameToken (and a Timestamp).
    WsSecurityUsernameToken(RawUsernameToken),
    /// `Authorization: Bearer` with a token from an OAuth2 token endpoint (client credentials grant).
    Oauth2ClientCredentials(RawClientCredentials),
}

/// The `backend.credentials` block: the YAML mapping is taken whole, then read as [`RawCredentials`]
/// (an internally tagged enum buffers its input, which would otherwise move the error's location to
/// the parent mapping).
#[derive(Debug)]
pub struct CredentialsBlock(pub RawCredentials);

impl<'de> Deserialize<'de> for CredentialsBlock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Block;
        impl<'de> serde::de::Visitor<'de> for Block {
            type Value = CredentialsBlock;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping with `kind` and the keys of that kind")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                use serde::de::Error as _;
                let mut block = serde_yaml_ng::Mapping::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value: serde_yaml_ng::Value = map.next_value()?;
                    if block.insert(key.clone().into(), value).is_some() {
                        return Err(A::Error::custom(format!("duplicate field `{key}`")));
                    }
                }
                RawCredentials::deserialize(serde_yaml_ng::Value::Mapping(block))
                    .map(CredentialsBlock)
                    .map_err(A::Error::custom)
            }
        }
        d.deserialize_map(Block)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBasic {
    pub username: String,
    /// Name of the environment variable holding the password.
    pub password_env: Option<String>,
    /// File holding the password (relative to soapgate.yaml; one trailing newline is ignored).
    pub password_file: Option<String>,
}

/// How the UsernameToken carries the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordType {
    /// `#PasswordText`: the password itself.
    Text,
    /// `#PasswordDigest`: Base64(SHA-1(nonce + created + password)).
    Digest,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUsernameToken {
    pub username: String,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    /// `text` or `digest` (default).
    pub password_type: Option<PasswordType>,
    /// Add a `wsu:Timestamp` (default true).
    pub timestamp: Option<bool>,
    /// Lifetime of the Timestamp (`Expires - Created`), default 5m.
    pub ttl: Option<Quantity>,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// `client_secret_basic` (default).
    Basic,
    /// `client_secret_post`.
    Post,
    /// RFC 8705 `tls_client_auth`: no secret; the client certificate of `tls` authenticates.
    TlsClientAuth,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClientCredentials {
    pub token_url: String,
    pub client_id: String,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Sent as the RFC 8707 `resource` parameter (`audience` is accepted as another name).
    #[serde(alias = "audience")]
    pub resource: Option<String>,
    /// `basic` (default), `post` or `tls_client_auth`.
    pub auth_method: Option<AuthMethod>,
    /// How the token endpoint is trusted, and the client certificate for `tls_client_auth`.
    pub tls: Option<crate::tls::RawClientTls>,
    /// Fetch a new token this long before the current one expires (default 30s).
    pub refresh_before: Option<Quantity>,
}

// The raw structs hold no secret values, only where to find them; Debug still stays terse.
macro_rules! terse_debug {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(stringify!($t))
            }
        }
    )*};
}
terse_debug!(RawBasic, RawUsernameToken, RawClientCredentials);

pub use crate::config::secret::Secret;

/// Validated credentials of one backend.
#[derive(Debug)]
pub enum Credentials {
    /// The whole `Authorization` header value (`Basic ...`).
    Basic {
        username: String,
        header: Secret,
    },
    UsernameToken(wss::UsernameToken),
    ClientCredentials(Box<client_credentials::TokenSource>),
}

/// Where `build` reports errors: `file` and the key prefix `backend.credentials`.
struct At<'a> {
    file: &'a str,
    base: &'a Path,
}

const KEY: &str = "backend.credentials";

impl Credentials {
    /// Validates `backend.credentials` and reads its secret. `base` is the folder of soapgate.yaml
    /// (files are relative to it); `timeout` bounds each token request.
    pub fn build(
        raw: &RawCredentials,
        base: &Path,
        file: &str,
        timeout: Duration,
        d: &mut Diagnostics,
    ) -> Option<Credentials> {
        let at = At { file, base };
        match raw {
            RawCredentials::Basic(b) => {
                let username = username(&b.username, &at, d, true);
                let password = secret(&b.password_env, &b.password_file, "password", &at, d);
                let (username, password) = (username?, password?);
                let pair = format!("{username}:{}", password.expose());
                let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair));
                Some(Credentials::Basic {
                    username,
                    header: Secret::new(header),
                })
            }
            RawCredentials::WsSecurityUsernameToken(u) => {
                let username = username(&u.username, &at, d, false);
                let password = secret(&u.password_env, &u.password_file, "password", &at, d);
                if let Some(p) = &password {
                    if let Some(c) = p.expose().chars().find(|c| !wss::is_xml_char(*c)) {
                        d.error(
                            file,
                            &format!("{KEY}.password"),
                            format!("the password holds U+{:04X}, which XML cannot carry", c as u32),
                            "use a password of XML characters (no control characters)",
                        );
                        return None;
                    }
                }
                let ttl = duration(&u.ttl, Duration::from_secs(300), "ttl", &at, d);
                Some(Credentials::UsernameToken(wss::UsernameToken {
                    username: username?,
                    password: password?,
                    password_type: u.password_type.unwrap_or(PasswordType::Digest),
                    timestamp: u.timestamp.unwrap_or(true),
                    ttl: ttl?,
                }))
            }
            RawCredentials::Oauth2ClientCredentials(c) => {
                let method = c.auth_method.unwrap_or(AuthMethod::Basic);
                let tls_at = crate::tls::At {
                    file,
                    key: "backend.credentials.tls",
                    base,
                };
                let tls = crate::tls::ClientTls::build(c.tls.as_ref(), tls_at, d);
                tls.check_https(&c.token_url, file, &format!("{KEY}.token_url"), d);
                let secret = if method == AuthMethod::TlsClientAuth {
                    client_credentials::check_mtls(c, file, d).then_some(None)
                } else {
                    secret(
                        &c.client_secret_env,
                        &c.client_secret_file,
                        "client_secret",
                        &at,
                        d,
                    )
                    .map(Some)
                };
                let refresh_before = duration(
                    &c.refresh_before,
                    Duration::from_secs(30),
                    "refresh_before",
                    &at,
                    d,
                );
                let valid = client_credentials::check(c, file, d);
                let (client_secret, refresh_before) = (secret?, refresh_before?);
                if !valid {
                    return None;
                }
                let source = client_credentials::TokenSource::new(client_credentials::TokenConfig {
                    token_url: c.token_url.clone(),
                    client_id: c.client_id.clone(),
                    client_secret,
                    scopes: c.scopes.clone(),
                    resource: c.resource.clone(),
                    auth_method: method,
                    refresh_before,
                    timeout,
                    tls,
                })?;
                Some(Credentials::ClientCredentials(Box::new(source)))
            }
        }
    }

    /// The `Authorization` header value for the next backend request, if any. Client credentials
    /// fetch (or reuse) a token: a failure is `503 BACKEND_CREDENTIALS_UNAVAILABLE`.
    pub async fn authorization(
        &self,
        out: &crate::outbound::Outbound,
    ) -> Result<Option<HeaderValue>, GatewayError> {
        let value = match self {
            Credentials::Basic { header, .. } => header.clone(),
            Credentials::UsernameToken(_) => return Ok(None),
            Credentials::ClientCredentials(s) => {
                let token = s.token(out).await?;
                Secret::new(format!("Bearer {}", token.expose()))
            }
        };
        let mut v = HeaderValue::from_str(value.expose()).map_err(|_| {
            GatewayError::BackendCredentials("the credential is not a valid header value".into())
        })?;
        v.set_sensitive(true);
        Ok(Some(v))
    }

    /// The SOAP Header block these credentials add (a fresh `wsse:Security` per request), if any.
    pub fn soap_header(&self) -> Result<Option<String>, GatewayError> {
        match self {
            Credentials::UsernameToken(t) => t.header().map(Some),
            _ => Ok(None),
        }
    }

    /// The backend answered 401: a cached token is dropped so the next request fetches a new one.
    pub fn rejected(&self) {
        if let Credentials::ClientCredentials(s) = self {
            s.invalidate();
        }
    }
}

fn username(u: &str, at: &At, d: &mut Diagnostics, basic: bool) -> Option<String> {
    let key = format!("{KEY}.username");
    if u.trim().is_empty() {
        d.error(
            at.file,
            &key,
            "the username is empty",
            "set the backend account's user name",
        );
        return None;
    }
    if basic && u.contains(':') {
        d.error(
            at.file,
            &key,
            "an HTTP Basic username cannot contain `:`",
            "use the account's user name without `:`",
        );
        return None;
    }
    if let Some(c) = u.chars().find(|c| c.is_control()) {
        d.error(
            at.file,
            &key,
            format!("the username holds the control character U+{:04X}", c as u32),
            "remove the control character",
        );
        return None;
    }
    Some(u.to_string())
}

fn duration(
    q: &Option<Quantity>,
    default: Duration,
    name: &str,
    at: &At,
    d: &mut Diagnostics,
) -> Option<Duration> {
    match q {
        None => Some(default),
        Some(q) => match parse_duration(q) {
            Ok(v) => Some(v),
            Err(e) => {
                d.error(
                    at.file,
                    &format!("{KEY}.{name}"),
                    e,
                    "write a duration such as 30s or 5m",
                );
                None
            }
        },
    }
}

/// Reads `<name>_env` or `<name>_file` of the credentials block (exactly one of them).
fn secret(
    env: &Option<String>,
    file: &Option<String>,
    name: &str,
    at: &At,
    d: &mut Diagnostics,
) -> Option<Secret> {
    crate::config::secret::read(env, file, at.base, at.file, KEY, name, true, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    fn parse(yaml: &str) -> Result<RawCredentials, String> {
        serde_yaml_ng::from_str::<CredentialsBlock>(yaml)
            .map(|b| b.0)
            .map_err(|e| e.to_string())
    }

    fn build(yaml: &str, base: &Path) -> (Option<Credentials>, Vec<ConfigError>) {
        let raw = parse(yaml).unwrap_or_else(|e| panic!("{e}"));
        let mut d = Diagnostics::default();
        let c = Credentials::build(&raw, base, "mappings/svc.yaml", Duration::from_secs(5), &mut d);
        (c, d.errors)
    }

    fn dir_with(name: &str, content: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(name), content).expect("write");
        dir
    }

    #[test]
    fn debug_of_secrets_and_credentials_is_masked() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        let dir = dir_with("pw", "hunter2\n");
        let (c, errors) = build("{kind: basic, username: svc, password_file: pw}", dir.path());
        assert!(errors.is_empty(), "{errors:?}");
        let c = c.expect("built");
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        // The Basic header holds base64("svc:hunter2") = c3ZjOmh1bnRlcjI=.
        assert!(!shown.contains("c3ZjOmh1bnRlcjI"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        let (c, _) = build(
            "{kind: ws_security_username_token, username: svc, password_file: pw}",
            dir.path(),
        );
        let shown = format!("{:?}", c.expect("built"));
        assert!(!shown.contains("hunter2") && shown.contains("***"), "{shown}");
    }

    #[actix_rt::test]
    async fn basic_header_is_base64_of_user_colon_password_from_a_file() {
        // One trailing newline is dropped, inner `:` kept: base64("svc:s3cr:et") (python3 base64).
        let dir = dir_with("pw", "s3cr:et\n");
        let (c, errors) = build("{kind: basic, username: svc, password_file: pw}", dir.path());
        assert!(errors.is_empty(), "{errors:?}");
        let client = crate::outbound::Outbound::new(Duration::from_secs(2), Duration::from_secs(5));
        let v = c.expect("built").authorization(&client).await.expect("header");
        assert_eq!(v.expect("some").to_str().ok(), Some("Basic c3ZjOnMzY3I6ZXQ="));
    }

    #[test]
    fn password_from_the_environment() {
        let var = "SOAPGATE_UNIT_CRED_ENV_PRESENT_7f3a";
        std::env::set_var(var, "from-env");
        let (c, errors) = build(
            &format!("{{kind: basic, username: u, password_env: {var}}}"),
            Path::new("."),
        );
        assert!(errors.is_empty(), "{errors:?}");
        match c {
            // base64("u:from-env")
            Some(Credentials::Basic { header, .. }) => assert_eq!(header.expose(), "Basic dTpmcm9tLWVudg=="),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_env_and_file_is_an_error() {
        let (c, errors) = build(
            "{kind: basic, username: svc, password_env: X, password_file: pw}",
            Path::new("."),
        );
        assert!(c.is_none());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].file, "mappings/svc.yaml");
        assert_eq!(errors[0].path, "backend.credentials");
        assert!(errors[0]
            .message
            .contains("both `password_env` and `password_file`"));
        assert!(errors[0].fix.contains("exactly one"));
    }

    #[test]
    fn neither_env_nor_file_is_an_error() {
        let (c, errors) = build(
            "{kind: oauth2_client_credentials, token_url: 'http://127.0.0.1:1/token', client_id: x}",
            Path::new("."),
        );
        assert!(c.is_none());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0]
            .message
            .contains("no `client_secret_env` or `client_secret_file`"));
    }

    #[test]
    fn a_missing_environment_variable_names_the_key_and_the_fix() {
        let var = "SOAPGATE_UNIT_CRED_SURELY_UNSET_41c9";
        let (c, errors) = build(
            &format!("{{kind: ws_security_username_token, username: svc, password_env: {var}}}"),
            Path::new("."),
        );
        assert!(c.is_none());
        assert_eq!(errors.len(), 1, "{errors:?}");
        let e = &errors[0];
        assert_eq!(e.path, "backend.credentials.password_env");
        assert!(e.message.contains(var), "{e}");
        assert!(e.fix.contains(var) && e.fix.contains("password_file"), "{e}");
    }

    #[test]
    fn a_missing_or_empty_file_is_an_error() {
        let dir = dir_with("empty", "\n");
        let (c, errors) = build(
            "{kind: basic, username: svc, password_file: nope.txt}",
            dir.path(),
        );
        assert!(c.is_none());
        assert_eq!(errors[0].path, "backend.credentials.password_file");
        assert!(errors[0].message.contains("nope.txt"), "{}", errors[0]);
        let (c, errors) = build("{kind: basic, username: svc, password_file: empty}", dir.path());
        assert!(c.is_none());
        assert_eq!(errors[0].path, "backend.credentials.password_file");
        assert!(errors[0].message.contains("empty"));
    }

    #[test]
    fn unknown_keys_and_kinds_are_rejected() {
        let e =
            parse("{kind: basic, username: svc, password_env: X, pasword_file: y}").expect_err("unknown key");
        assert!(e.contains("unknown field `pasword_file`"), "{e}");
        let e = parse("{kind: ws_security_username_token, username: s, password_env: X, nonce: true}")
            .expect_err("unknown key");
        assert!(e.contains("unknown field `nonce`"), "{e}");
        let e = parse(
            "{kind: oauth2_client_credentials, token_url: u, client_id: c, client_secret_env: X, scope: a}",
        )
        .expect_err("unknown key");
        assert!(e.contains("unknown field `scope`"), "{e}");
        let e = parse("{kind: kerberos, username: svc}").expect_err("unknown kind");
        assert!(e.contains("unknown variant `kerberos`"), "{e}");
        let e =
            parse("{kind: ws_security_username_token, username: s, password_env: X, password_type: plain}")
                .expect_err("bad password type");
        assert!(e.contains("unknown variant `plain`"), "{e}");
        let e = parse("{username: svc, password_env: X}").expect_err("no kind");
        assert!(e.contains("missing field `kind`"), "{e}");
    }

    #[test]
    fn bad_usernames_durations_and_urls_are_reported_together() {
        let dir = dir_with("pw", "x");
        let (c, errors) = build("{kind: basic, username: 'a:b', password_file: pw}", dir.path());
        assert!(c.is_none());
        assert_eq!(errors[0].path, "backend.credentials.username");
        let (_, errors) = build(
            "{kind: ws_security_username_token, username: '', password_file: pw, ttl: 0s}",
            dir.path(),
        );
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["backend.credentials.username", "backend.credentials.ttl"]);
        let (_, errors) = build(
            "{kind: oauth2_client_credentials, token_url: 'ftp://x/token', client_id: '', client_secret_file: pw, scopes: ['a b']}",
            dir.path(),
        );
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "backend.credentials.token_url",
                "backend.credentials.client_id",
                "backend.credentials.scopes[0]"
            ],
            "{errors:?}"
        );
    }

    /// issue 12: a client certificate is only ever shown in a TLS handshake, so `tls_client_auth`
    /// towards an http token endpoint can never obtain a token: `check` refuses it.
    #[test]
    fn tls_client_auth_needs_an_https_token_endpoint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let yaml = "{kind: oauth2_client_credentials, token_url: 'http://idp/token', client_id: c, \
                    auth_method: tls_client_auth, tls: { cert_file: c.pem, key_file: c.key }}";
        let (c, errors) = build(yaml, dir.path());
        assert!(c.is_none());
        assert!(
            errors.iter().any(|e| e.path == "backend.credentials.token_url"
                && e.message.contains("needs an https token endpoint")),
            "{errors:#?}"
        );
    }

    #[test]
    fn defaults_of_the_username_token() {
        let dir = dir_with("pw", "x");
        let (c, errors) = build(
            "{kind: ws_security_username_token, username: svc, password_file: pw}",
            dir.path(),
        );
        assert!(errors.is_empty(), "{errors:?}");
        match c {
            Some(Credentials::UsernameToken(t)) => {
                assert_eq!(t.password_type, PasswordType::Digest);
                assert!(t.timestamp);
                assert_eq!(t.ttl, Duration::from_secs(300));
            }
            other => panic!("{other:?}"),
        }
    }
}

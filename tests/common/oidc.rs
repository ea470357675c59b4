//! The OpenID Connect provider (npm `oidc-provider`) under tests/oidc, run with Node on 127.0.0.1.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

/// A running provider; it exits when this process does (it watches its stdin).
pub struct Oidc {
    pub port: u16,
    _child: Mutex<Child>,
    /// Over https: the test's own client config trusting the provider's CA.
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// The files of an https provider (see tests/oidc/README.md).
#[derive(Debug, Clone)]
pub struct OidcTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA the test's own requests trust (the provider's certificate chains to it).
    pub ca: PathBuf,
    /// Enables `tls_client_auth` (client `gateway-mtls`) with client certificates of this CA.
    pub client_ca: Option<PathBuf>,
}

impl Oidc {
    /// The issuer (`iss` of every token, base of every endpoint).
    pub fn issuer(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// A client for the test's own requests (trusting the provider's CA over https).
    fn client(&self) -> awc::Client {
        match &self.tls {
            None => awc::Client::default(),
            Some(cfg) => awc::Client::builder()
                .connector(awc::Connector::new().rustls_0_23(cfg.clone()))
                .finish(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    /// GET a JSON document (discovery, JWKS).
    pub async fn get_json(&self, path: &str) -> Value {
        let mut res = self.client().get(self.url(path)).send().await.expect("oidc GET");
        serde_json::from_slice(&res.body().await.expect("oidc body")).expect("oidc JSON")
    }

    /// A client_credentials request (client_secret_basic): status and JSON body, success or not.
    pub async fn token_response(
        &self,
        client: &str,
        secret: &str,
        scope: &str,
        resource: Option<&str>,
    ) -> (u16, Value) {
        let mut form = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", scope));
        }
        if let Some(r) = resource {
            form.push(("resource", r));
        }
        let mut res = self
            .client()
            .post(self.url("/token"))
            .basic_auth(client, secret)
            .send_form(&form)
            .await
            .expect("oidc token request");
        let body = res.body().await.expect("oidc token body");
        (
            res.status().as_u16(),
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    /// An access token; the format follows the resource: `None` or `urn:soapgate:api` (RS256 JWT),
    /// `urn:soapgate:api-es` (ES256 JWT), `urn:soapgate:opaque` (opaque, for introspection).
    pub async fn token(&self, client: &str, secret: &str, scope: &str, resource: Option<&str>) -> String {
        let (status, body) = self.token_response(client, secret, scope, resource).await;
        assert_eq!(status, 200, "token request failed: {body}");
        body["access_token"].as_str().expect("access_token").to_owned()
    }

    /// RFC 7662 introspection, authenticated as `client` (client_secret_basic).
    pub async fn introspect(&self, client: &str, secret: &str, token: &str) -> Value {
        let mut res = self
            .client()
            .post(self.url("/token/introspection"))
            .basic_auth(client, secret)
            .send_form(&[("token", token)])
            .await
            .expect("oidc introspection request");
        let body = res.body().await.expect("oidc introspection body");
        serde_json::from_slice(&body).expect("oidc introspection JSON")
    }

    /// Stops the provider (for tests that kill the IdP mid-test; use [`start_dedicated`]).
    pub fn kill(&self) {
        let mut child = self
            ._child
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Puts a new RSA signing key first in the JWKS (old keys stay published); returns all kids.
    /// The provider is shared: tests that rotate must not assume which kid signs other tests' tokens.
    pub async fn rotate(&self) -> Vec<String> {
        let mut res = self
            .client()
            .post(self.url("/test/rotate"))
            .send()
            .await
            .expect("oidc rotate");
        let body: Value = serde_json::from_slice(&res.body().await.expect("body")).expect("JSON");
        body["kids"]
            .as_array()
            .expect("kids")
            .iter()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect()
    }
}

/// Header and payload of a compact JWS (no signature check).
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {token}");
    let json = |p: &str| serde_json::from_slice(&base64url(p)).expect("JWT part is JSON");
    (json(parts[0]), json(parts[1]))
}

fn base64url(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64url") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The shared instance, or `None` (with a message) when Node is unavailable outside CI.
pub fn oidc() -> Option<&'static Oidc> {
    static OIDC: OnceLock<Option<Oidc>> = OnceLock::new();
    OIDC.get_or_init(|| match start() {
        Ok(s) => Some(s),
        Err(e) if std::env::var_os("CI").is_some() => panic!("OIDC provider unavailable in CI: {e}"),
        Err(e) => {
            eprintln!("skipping OIDC end-to-end tests: {e}");
            None
        }
    })
    .as_ref()
}

/// A provider of the test's own, which it may kill; `None` when Node is unavailable outside CI.
pub fn start_dedicated() -> Option<Oidc> {
    match start() {
        Ok(s) => Some(s),
        Err(e) if std::env::var_os("CI").is_some() => panic!("OIDC provider unavailable in CI: {e}"),
        Err(e) => {
            eprintln!("skipping OIDC end-to-end test: {e}");
            None
        }
    }
}

/// A provider of the test's own serving https; `None` when Node is unavailable outside CI.
pub fn start_tls(tls: &OidcTls) -> Option<Oidc> {
    match start_with(Some(tls)) {
        Ok(s) => Some(s),
        Err(e) if std::env::var_os("CI").is_some() => panic!("OIDC provider unavailable in CI: {e}"),
        Err(e) => {
            eprintln!("skipping OIDC end-to-end test: {e}");
            None
        }
    }
}

/// A rustls client config trusting the certificates of `ca` (PEM).
fn trusting(ca: &Path) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).map_err(|e| e.to_string())? {
        roots
            .add(c.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let provider = soapgate::tls::provider();
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Installs tests/oidc/node_modules from package-lock.json when oidc-provider is missing.
fn ensure_node_modules(dir: &Path) -> Result<(), String> {
    let ok = |d: &Path| d.join("node_modules/oidc-provider/package.json").is_file();
    if ok(dir) {
        return Ok(());
    }
    let mut cmd = Command::new("npm");
    cmd.args(["ci", "--no-audit", "--no-fund"]).current_dir(dir);
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if ok(dir) {
        Ok(())
    } else {
        Err("oidc-provider still missing after npm ci".into())
    }
}

fn start() -> Result<Oidc, String> {
    start_with(None)
}

fn start_with(tls: Option<&OidcTls>) -> Result<Oidc, String> {
    let dir = dir();
    ensure_node_modules(&dir)?;
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("provider.mjs"))
        .arg("0")
        .current_dir(&dir)
        .env("OIDC_TEST_ADMIN", "1");
    if let Some(t) = tls {
        cmd.env("OIDC_TLS_CERT", &t.cert).env("OIDC_TLS_KEY", &t.key);
        if let Some(ca) = &t.client_ca {
            cmd.env("OIDC_TLS_CLIENT_CA", ca);
        }
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start node: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let port = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("unexpected first line from the OIDC provider: {line:?}"))?;
    Ok(Oidc {
        port,
        _child: Mutex::new(child),
        tls: tls.map(|t| trusting(&t.ca)).transpose()?,
    })
}

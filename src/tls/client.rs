//! Outbound TLS: the rustls client configuration of every https backend, identity provider, token
//! endpoint, WSDL fetch and `rediss://` store. Certificates are always verified against the host
//! name (or the configured `server_name`); there is no switch that turns verification off.

use super::pem::{self, At};
use crate::config::Diagnostics;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::{Arc, OnceLock};

/// A `tls:` block of a backend, an identity provider, a token endpoint or the rate-limit store.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClientTls {
    /// PEM bundle of the CAs to trust instead of the system's trust store.
    pub ca_file: Option<String>,
    /// Client certificate chain (PEM) presented when the server asks for one (mutual TLS).
    pub cert_file: Option<String>,
    /// Its private key: a PEM file, or the PEM text in an environment variable.
    pub key_file: Option<String>,
    pub key_env: Option<String>,
    /// The name the server's certificate must carry, for servers addressed by IP address.
    pub server_name: Option<String>,
}

/// A validated outbound TLS profile. Two profiles built from the same files and settings are
/// equal and share one connection pool per worker.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    id: u64,
    material: Arc<Material>,
}

/// The PEM texts behind a profile, for clients that assemble their own rustls config (redis).
#[derive(Default)]
pub struct Material {
    pub ca_pem: Option<Vec<u8>>,
    pub cert_pem: Option<Vec<u8>>,
    pub key_pem: Option<Vec<u8>>,
    pub server_name: Option<String>,
    describe: String,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientTls({})", self.material.describe)
    }
}

impl PartialEq for ClientTls {
    fn eq(&self, other: &ClientTls) -> bool {
        self.id == other.id
    }
}

impl Default for ClientTls {
    fn default() -> ClientTls {
        ClientTls::system()
    }
}

impl ClientTls {
    /// The system trust store (honouring `SSL_CERT_FILE` / `SSL_CERT_DIR`), no client certificate.
    pub fn system() -> ClientTls {
        static SYSTEM: OnceLock<ClientTls> = OnceLock::new();
        SYSTEM
            .get_or_init(|| ClientTls {
                config: Arc::new(finish(system_verifier(), None)),
                id: 0,
                material: Arc::new(Material {
                    describe: "system trust store".into(),
                    ..Material::default()
                }),
            })
            .clone()
    }

    /// Validates a `tls:` block (`None`: the system default). Every file is read now, so `check`
    /// reports a missing, unreadable, mismatched or expired certificate or key.
    pub fn build(raw: Option<&RawClientTls>, at: At<'_>, d: &mut Diagnostics) -> ClientTls {
        let Some(raw) = raw else {
            return ClientTls::system();
        };
        let before = d.errors.len();
        let mut m = Material::default();
        let mut hash = Sha256::new();
        let roots = raw.ca_file.as_deref().and_then(|ca| {
            let (roots, text) = pem::roots(ca, "ca_file", at, d)?;
            m.ca_pem = Some(text);
            Some(roots)
        });
        let identity = match (&raw.cert_file, raw.key_file.is_some() || raw.key_env.is_some()) {
            (Some(cert), true) => pem::identity(cert, &raw.key_file, &raw.key_env, at, d).map(|id| {
                m.cert_pem = Some(id.cert_pem);
                m.key_pem = Some(id.key_pem.expose().as_bytes().to_vec());
                id.certified
            }),
            (None, false) => None,
            (Some(_), false) => {
                d.error(
                    at.file,
                    &at.path("cert_file"),
                    "a client certificate without its key",
                    "add `key_file` (or `key_env`)",
                );
                None
            }
            (None, true) => {
                d.error(
                    at.file,
                    at.key,
                    "a client key without its certificate",
                    "add `cert_file`",
                );
                None
            }
        };
        let name = raw
            .server_name
            .as_deref()
            .and_then(|n| match ServerName::try_from(n.to_string()) {
                Ok(s) => Some(s),
                Err(_) => {
                    d.error(
                        at.file,
                        &at.path("server_name"),
                        format!("`{n}` is not a DNS name or IP address"),
                        "write the name the certificate carries, e.g. legacy.internal",
                    );
                    None
                }
            });
        if d.errors.len() > before {
            return ClientTls::system();
        }
        for part in [&m.ca_pem, &m.cert_pem, &m.key_pem] {
            hash.update(part.as_deref().unwrap_or(b"-"));
            hash.update([0]);
        }
        hash.update(raw.server_name.as_deref().unwrap_or("-"));
        m.server_name = raw.server_name.clone();
        m.describe = describe(raw);
        let verifier = match roots {
            Some(r) => webpki(Arc::new(r)),
            None => system_verifier(),
        };
        let verifier: Arc<dyn ServerCertVerifier> = match name {
            Some(name) => Arc::new(NamedVerifier {
                name,
                inner: verifier,
            }),
            None => verifier,
        };
        let id = u64::from_be_bytes(hash.finalize()[..8].try_into().unwrap_or([0; 8])) | 1;
        ClientTls {
            config: Arc::new(finish(verifier, identity)),
            id,
            material: Arc::new(m),
        }
    }

    /// `check`'s proof that an https `url` (at `key`) can be trusted at all: a profile on the
    /// system trust store needs that store to hold anchors (else every handshake would fail).
    pub fn check_https(&self, url: &str, file: &str, key: &str, d: &mut Diagnostics) {
        let https = url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        if https && self.material.ca_pem.is_none() && system_roots().is_empty() {
            d.error(
                file,
                key,
                format!("`{url}` is https, but this machine's trust store holds no CA certificates"),
                "install the ca-certificates package, point SSL_CERT_FILE at a PEM bundle, or set `tls.ca_file`",
            );
        }
    }

    /// The rustls configuration (HTTP/1.1 by ALPN, TLS 1.2 and 1.3, session resumption).
    pub fn config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// A stable identity of the profile (the pool key).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The PEM texts of the profile (`None` fields: system trust, no client certificate).
    pub fn material(&self) -> &Material {
        &self.material
    }
}

fn describe(raw: &RawClientTls) -> String {
    let mut parts = vec![match &raw.ca_file {
        Some(ca) => format!("trusting {ca}"),
        None => "system trust store".into(),
    }];
    if let Some(c) = &raw.cert_file {
        parts.push(format!("client certificate {c}"));
    }
    if let Some(n) = &raw.server_name {
        parts.push(format!("server name {n}"));
    }
    parts.join(", ")
}

/// The crypto provider of every TLS config (ring); also installed as the process default for
/// libraries that build their own (redis).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static P: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| {
        // ring builds with the C compiler alone (aws-lc-rs needs more of a toolchain); its key
        // exchanges are X25519 and the NIST curves, without the post-quantum hybrids, hence the
        // deprecation this allows.
        #[allow(deprecated)]
        let p = rustls::crypto::ring::default_provider();
        let _ = p.clone().install_default();
        Arc::new(p)
    })
    .clone()
}

/// The system's trust anchors, read once per process.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            let mut roots = RootCertStore::empty();
            let (added, _ignored) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!(errors = ?found.errors.iter().map(ToString::to_string).collect::<Vec<_>>(), "no system trust anchors found: https peers need a `tls.ca_file`");
            }
            Arc::new(roots)
        })
        .clone()
}

fn webpki(roots: Arc<RootCertStore>) -> Arc<dyn ServerCertVerifier> {
    match WebPkiServerVerifier::builder_with_provider(roots, provider()).build() {
        Ok(v) => v,
        // Only an empty store fails: a verifier that trusts nothing (every handshake is refused).
        Err(_) => Arc::new(NoTrust),
    }
}

fn system_verifier() -> Arc<dyn ServerCertVerifier> {
    webpki(system_roots())
}

fn finish(verifier: Arc<dyn ServerCertVerifier>, identity: Option<Arc<CertifiedKey>>) -> ClientConfig {
    // TLS 1.2 and 1.3, both of which the ring provider always supports.
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(ck) => builder.with_client_cert_resolver(Arc::new(Presents(ck))),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// Presents one client certificate whenever a server asks.
#[derive(Debug)]
struct Presents(Arc<CertifiedKey>);

impl ResolvesClientCert for Presents {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Full WebPKI verification against a configured name instead of the URL's host (`server_name`).
#[derive(Debug)]
struct NamedVerifier {
    name: ServerName<'static>,
    inner: Arc<dyn ServerCertVerifier>,
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _url_host: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        s: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(m, c, s)
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        s: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(m, c, s)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The verifier of an empty trust store: every certificate is from an unknown CA.
#[derive(Debug)]
struct NoTrust;

impl ServerCertVerifier for NoTrust {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ))
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ))
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider().signature_verification_algorithms.supported_schemes()
    }
}

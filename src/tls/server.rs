//! Inbound TLS: the `tls:` and `admin_tls:` blocks of `soapgate.yaml`, validated, and the live
//! rustls server configuration whose certificate and client-CA verifier a reload swaps while open
//! connections keep going.

use super::pem::{self, At};
use super::provider;
use crate::config::Diagnostics;
use arc_swap::ArcSwap;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, NoServerSessionStorage, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use serde::Deserialize;
use std::sync::Arc;

/// A listener's `tls:` block (`tls` for the REST listener, `admin_tls` for the admin listener).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListenerTls {
    /// The server certificate chain (PEM), leaf first.
    pub cert_file: Option<String>,
    /// Its private key: a PEM file, or the PEM text in an environment variable.
    pub key_file: Option<String>,
    pub key_env: Option<String>,
    /// PEM bundle of the CAs client certificates must chain to; with it a client certificate is
    /// required on every connection (mutual TLS).
    pub client_ca_file: Option<String>,
    /// Also offer HTTP/2 (ALPN `h2`); HTTP/1.1 only by default.
    #[serde(default)]
    pub http2: bool,
}

/// The validated TLS material of one listener in one config snapshot.
#[derive(Clone)]
pub struct ListenerTls {
    pub identity: Arc<CertifiedKey>,
    /// Verifies client certificates (`client_ca_file`); `None`: no client certificate is asked.
    pub client_auth: Option<Arc<dyn ClientCertVerifier>>,
    pub http2: bool,
    describe: String,
}

impl std::fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ListenerTls({})", self.describe)
    }
}

/// Validates a listener's `tls:` block: every file is read now, so `check` refuses a missing,
/// non-PEM, mismatched or expired certificate or key. `None` without a block or on errors.
pub fn build(raw: Option<&RawListenerTls>, at: At<'_>, d: &mut Diagnostics) -> Option<ListenerTls> {
    let raw = raw?;
    let Some(cert_file) = &raw.cert_file else {
        d.error(
            at.file,
            &at.path("cert_file"),
            "the listener's TLS needs a server certificate",
            "add `cert_file` (PEM chain, leaf first) and `key_file` (or `key_env`)",
        );
        if raw.http2 {
            d.error(
                at.file,
                &at.path("http2"),
                "HTTP/2 is offered only over TLS (ALPN h2); plain-text h2c is not supported",
                "configure the certificate, or remove `http2: true`",
            );
        }
        return None;
    };
    let before = d.errors.len();
    let identity = pem::identity(cert_file, &raw.key_file, &raw.key_env, at, d);
    let client_auth = raw
        .client_ca_file
        .as_deref()
        .and_then(|ca| client_verifier(ca, at, d));
    if d.errors.len() > before {
        return None;
    }
    let mut describe = vec![cert_file.clone()];
    if let Some(ca) = &raw.client_ca_file {
        describe.push(format!("client certificates from {ca}"));
    }
    if raw.http2 {
        describe.push("h2".into());
    }
    Some(ListenerTls {
        identity: identity?.certified,
        client_auth,
        http2: raw.http2,
        describe: describe.join(", "),
    })
}

/// A verifier requiring a client certificate that chains to the CAs of `ca`.
fn client_verifier(ca: &str, at: At<'_>, d: &mut Diagnostics) -> Option<Arc<dyn ClientCertVerifier>> {
    let (roots, _) = pem::roots(ca, "client_ca_file", at, d)?;
    match WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build() {
        Ok(v) => Some(v),
        Err(e) => {
            d.error(
                at.file,
                &at.path("client_ca_file"),
                format!("no usable client CA ({e})"),
                "give the PEM of the CA certificate(s) that issue client certificates",
            );
            None
        }
    }
}

/// What a running TLS listener serves: the certificate and the client verifier in force, both
/// swapped by [`LiveTls::store`]; ALPN (`h2`) is fixed when the listener starts.
#[derive(Debug)]
pub struct LiveTls {
    cert: Arc<LiveCert>,
    verifier: Arc<LiveVerifier>,
    http2: bool,
    /// HTTP/2 connections the frame guard cut off, by violation (for `/metrics`).
    h2_stats: Arc<super::h2guard::H2GuardStats>,
}

impl LiveTls {
    pub fn new(tls: &ListenerTls) -> LiveTls {
        LiveTls {
            cert: Arc::new(LiveCert(ArcSwap::new(tls.identity.clone()))),
            verifier: Arc::new(LiveVerifier(ArcSwap::from_pointee(ClientAuth(
                tls.client_auth.clone(),
            )))),
            http2: tls.http2,
            h2_stats: Arc::default(),
        }
    }

    /// Puts a reloaded snapshot's material in force for the next handshakes (a reload changing
    /// `http2` is refused before: `config::restart_only_changes`).
    pub fn store(&self, tls: &ListenerTls) {
        self.cert.0.store(tls.identity.clone());
        self.verifier
            .0
            .store(Arc::new(ClientAuth(tls.client_auth.clone())));
    }

    /// Whether HTTP/2 is offered (ALPN `h2`).
    pub fn http2(&self) -> bool {
        self.http2
    }

    /// The counters of this listener's HTTP/2 frame guard.
    pub fn h2_stats(&self) -> Arc<super::h2guard::H2GuardStats> {
        self.h2_stats.clone()
    }

    /// The rustls configuration of the listener: TLS 1.2 and 1.3, ALPN `http/1.1` (and `h2`
    /// first when enabled), certificate and client verifier read at every handshake. Session
    /// resumption is off, so every connection is verified against the CAs in force.
    pub fn server_config(&self) -> ServerConfig {
        let verifier: Arc<dyn ClientCertVerifier> = self.verifier.clone();
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(self.cert.clone());
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        config.alpn_protocols = if self.http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        config
    }
}

/// The server certificate in force.
#[derive(Debug)]
struct LiveCert(ArcSwap<CertifiedKey>);

impl ResolvesServerCert for LiveCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// The client verifier in force (`None`: no client certificate is asked for).
#[derive(Debug)]
struct ClientAuth(Option<Arc<dyn ClientCertVerifier>>);

/// Delegates to the client verifier in force. It names no CAs in its request (the hint list
/// would have to outlive a swap); clients then offer the certificate they have.
#[derive(Debug)]
struct LiveVerifier(ArcSwap<ClientAuth>);

impl LiveVerifier {
    fn current(&self) -> Option<Arc<dyn ClientCertVerifier>> {
        self.0.load().0.clone()
    }
}

impl ClientCertVerifier for LiveVerifier {
    fn offer_client_auth(&self) -> bool {
        self.current().is_some_and(|v| v.offer_client_auth())
    }

    fn client_auth_mandatory(&self) -> bool {
        self.current().is_some_and(|v| v.client_auth_mandatory())
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self.current() {
            Some(v) => v.verify_client_cert(end_entity, intermediates, now),
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider().signature_verification_algorithms.supported_schemes()
    }
}

//! The verified client certificate of a mutual-TLS connection, as rate limits, route conditions
//! and templates see it: subject, common name and subject alternative names.

use actix_http::Extensions;
use actix_tls::accept::rustls_0_23::TlsStream;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::net::TcpStream;

/// What the client certificate (verified during the handshake) says about the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// The subject distinguished name, e.g. `CN=partner-a, O=Acme`.
    pub subject: String,
    /// The subject's first common name, when it has one.
    pub cn: Option<String>,
    pub dns: Vec<String>,
    pub ip: Vec<String>,
    pub email: Vec<String>,
    pub uri: Vec<String>,
}

impl ClientCert {
    /// Reads a DER certificate; `None` when it does not parse (rustls verified it already).
    pub fn from_der(der: &[u8]) -> Option<ClientCert> {
        let info = super::pem::info(der)?;
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .map(str::to_string);
        Some(ClientCert {
            subject: info.subject,
            cn,
            dns: info.dns_names,
            ip: info.ip_addresses,
            email: info.emails,
            uri: info.uris,
        })
    }

    /// `client_cert` in the template context.
    pub fn to_json(&self) -> Value {
        json!({
            "subject": self.subject,
            "cn": self.cn,
            "dns": self.dns,
            "ip": self.ip,
            "email": self.email,
            "uri": self.uri,
        })
    }
}

/// What a connection tells its requests when it opens (actix-http's `on_connect_ext`).
pub trait ConnectInfo {
    fn connect_info(&self, ext: &mut Extensions);
}

impl ConnectInfo for TcpStream {
    fn connect_info(&self, _ext: &mut Extensions) {}
}

impl ConnectInfo for crate::tls::h2guard::H2Guard<TlsStream<TcpStream>> {
    fn connect_info(&self, ext: &mut Extensions) {
        self.get_ref().connect_info(ext);
    }
}

impl ConnectInfo for TlsStream<TcpStream> {
    /// The leaf client certificate, when the client presented one (the verifier checked it).
    fn connect_info(&self, ext: &mut Extensions) {
        let (_, conn) = self.get_ref();
        let leaf = conn.peer_certificates().and_then(|chain| chain.first());
        if let Some(cert) = leaf.and_then(|der| ClientCert::from_der(der)) {
            ext.insert(Arc::new(cert));
        }
    }
}

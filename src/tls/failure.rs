//! What kind of TLS failure ended an outbound exchange, for the log (the client only ever sees
//! `UPSTREAM_TLS`): unknown CA, name mismatch, expired, client certificate refused, other.

use rustls::{AlertDescription, CertificateError};

/// The class of a TLS failure, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// The peer's certificate does not chain to a trusted CA.
    UnknownCa,
    /// The certificate does not carry the host name (or `server_name`).
    NameMismatch,
    /// The certificate is expired or not yet valid.
    Expired,
    /// The peer refused our client certificate (or wanted one and got none).
    ClientCertificateRefused,
    /// The peer does not speak TLS on that port.
    NotTls,
    /// Any other handshake failure (no shared protocol version or cipher, bad signature...).
    Handshake,
}

impl TlsFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsFailure::UnknownCa => "unknown CA",
            TlsFailure::NameMismatch => "name mismatch",
            TlsFailure::Expired => "certificate expired or not yet valid",
            TlsFailure::ClientCertificateRefused => "client certificate refused",
            TlsFailure::NotTls => "the peer does not speak TLS",
            TlsFailure::Handshake => "handshake failed",
        }
    }

    /// Classifies a rustls error.
    pub fn of(e: &rustls::Error) -> TlsFailure {
        use CertificateError as C;
        match e {
            rustls::Error::InvalidCertificate(c) => match c {
                C::UnknownIssuer | C::BadSignature | C::UnhandledCriticalExtension => TlsFailure::UnknownCa,
                C::NotValidForName | C::NotValidForNameContext { .. } => TlsFailure::NameMismatch,
                C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
                    TlsFailure::Expired
                }
                _ => TlsFailure::Handshake,
            },
            rustls::Error::AlertReceived(
                AlertDescription::CertificateRequired
                | AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown
                | AlertDescription::CertificateExpired
                | AlertDescription::CertificateRevoked
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::AccessDenied,
            ) => TlsFailure::ClientCertificateRefused,
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateHandshakeMessage { .. } => {
                TlsFailure::NotTls
            }
            _ => TlsFailure::Handshake,
        }
    }

    /// The TLS failure behind an awc send error, if one is: a failed handshake, or an alert the
    /// server sent once it had read the request (a TLS 1.3 server refuses a client certificate
    /// after the client's side of the handshake is done; nothing was processed).
    pub fn of_send(e: &awc::error::SendRequestError) -> Option<TlsFailure> {
        use awc::error::{ConnectError, SendRequestError};
        match e {
            SendRequestError::Connect(ConnectError::Io(io)) | SendRequestError::Send(io) => {
                TlsFailure::of_io(io)
            }
            SendRequestError::Response(actix_http::error::ParseError::Io(io)) => TlsFailure::of_io(io),
            _ => None,
        }
    }

    /// nginx (`ssl_verify_client on`) does not fail the handshake over a missing or untrusted
    /// client certificate: it answers its own 400 page, "No required SSL certificate was sent" or
    /// "The SSL certificate error", without passing the request on. That page is read as the
    /// refusal it is.
    pub fn refused_at_http(body: &[u8]) -> bool {
        let head = &body[..body.len().min(1024)];
        let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
        has(b"No required SSL certificate was sent") || has(b"The SSL certificate error")
    }

    /// Finds a rustls error behind an I/O error (tokio-rustls wraps them so).
    pub fn of_io(e: &std::io::Error) -> Option<TlsFailure> {
        let inner = e.get_ref()?;
        inner.downcast_ref::<rustls::Error>().map(TlsFailure::of)
    }
}

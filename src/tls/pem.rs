//! PEM certificates and private keys named by `tls:` blocks: read, parsed, matched and dated, with
//! errors that name the file and the key path and never show key material.

use crate::config::secret::{read as read_secret, Secret};
use crate::config::Diagnostics;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// A certificate expiring within this time gets a `check` warning.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// Where a `tls:` block sits: the config file, the key path of the block (`backend.tls`) and the
/// folder relative paths are read from.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub file: &'a str,
    pub key: &'a str,
    pub base: &'a Path,
}

impl At<'_> {
    pub fn path(&self, name: &str) -> String {
        format!("{}.{name}", self.key)
    }

    pub fn resolve(&self, p: &str) -> PathBuf {
        self.base.join(p)
    }
}

/// The certificates of a PEM file, with the text they were parsed from (read once: what was
/// checked is what a client that wants PEM, such as redis, is given).
#[derive(Debug)]
pub struct Certs {
    pub der: Vec<CertificateDer<'static>>,
    pub pem: Vec<u8>,
}

/// A certificate chain paired with its key, with both PEM texts as read.
pub struct Identity {
    pub certified: Arc<CertifiedKey>,
    pub cert_pem: Vec<u8>,
    pub key_pem: Secret,
}

/// Reads the certificates of a PEM file (`key` names it in errors): at least one, each dated.
pub fn certs(p: &str, name: &str, at: At<'_>, d: &mut Diagnostics) -> Option<Certs> {
    let path = at.resolve(p);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            d.error(
                at.file,
                &at.path(name),
                format!("cannot read {}: {e}", path.display()),
                "check the path (relative to soapgate.yaml) and its permissions",
            );
            return None;
        }
    };
    match parse_certs(&bytes) {
        Ok(list) => {
            for (i, c) in list.iter().enumerate() {
                date_check(c, &path, i, &at.path(name), at.file, d);
            }
            Some(Certs {
                der: list,
                pem: bytes,
            })
        }
        Err(e) => {
            d.error(
                at.file,
                &at.path(name),
                format!("{}: {e}", path.display()),
                "give a PEM file with -----BEGIN CERTIFICATE----- blocks",
            );
            None
        }
    }
}

/// Parses every `CERTIFICATE` block; none (or a damaged one) is an error.
pub fn parse_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let list: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let list = list.map_err(|e| format!("not a readable PEM file ({e})"))?;
    if list.is_empty() {
        return Err("no certificate in it (not PEM, or no CERTIFICATE block)".into());
    }
    for c in &list {
        x509_parser::parse_x509_certificate(c)
            .map_err(|e| format!("a CERTIFICATE block is not an X.509 certificate ({e})"))?;
    }
    Ok(list)
}

/// Reads the private key named by `<name>_file` or `<name>_env` (PEM text in the variable); the
/// parsed key and its text.
pub fn key(
    file: &Option<String>,
    env: &Option<String>,
    name: &str,
    at: At<'_>,
    d: &mut Diagnostics,
) -> Option<(PrivateKeyDer<'static>, Secret)> {
    let secret: Secret = read_secret(env, file, at.base, at.file, at.key, name, true, d)?;
    let key_path = if file.is_some() {
        at.path(&format!("{name}_file"))
    } else {
        at.path(&format!("{name}_env"))
    };
    match parse_key(secret.expose().as_bytes()) {
        Ok(k) => Some((k, secret)),
        Err(e) => {
            d.error(
                at.file,
                &key_path,
                e,
                "give an unencrypted PEM key: PKCS#8, RSA (PKCS#1) or EC (SEC1)",
            );
            None
        }
    }
}

/// Parses the first private key of a PEM text. The message never quotes the text.
pub fn parse_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    if std::str::from_utf8(pem).is_ok_and(|t| t.contains("ENCRYPTED PRIVATE KEY")) {
        return Err("the private key is encrypted".into());
    }
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            "no private key in it (not PEM, or no key block)".into()
        }
        _ => "the private key is not readable PEM".into(),
    })
}

/// Pairs a chain with its key: the key type is supported and the key is the first certificate's.
pub fn pair(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<CertifiedKey>, String> {
    let provider = super::provider();
    let signer = provider.key_provider.load_private_key(key).map_err(|_| {
        "the private key's type is not supported (use RSA, ECDSA P-256/P-384 or Ed25519)".to_string()
    })?;
    let ck = CertifiedKey::new(chain, signer);
    match ck.keys_match() {
        Ok(()) => Ok(Arc::new(ck)),
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err("the private key does not match the certificate".into())
        }
        // Unknown: the key type cannot say which public key it has; the handshake will tell.
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(Arc::new(ck)),
        Err(e) => Err(format!("the certificate and key cannot be paired ({e})")),
    }
}

/// Reads `cert_file` and the key (`key_file`/`key_env`) of a block and pairs them.
pub fn identity(
    cert_file: &str,
    key_file: &Option<String>,
    key_env: &Option<String>,
    at: At<'_>,
    d: &mut Diagnostics,
) -> Option<Identity> {
    let chain = certs(cert_file, "cert_file", at, d);
    let key = key(key_file, key_env, "key", at, d);
    let (chain, (key, key_pem)) = (chain?, key?);
    match pair(chain.der, key) {
        Ok(certified) => Some(Identity {
            certified,
            cert_pem: chain.pem,
            key_pem,
        }),
        Err(e) => {
            let key_at = if key_file.is_some() { "key_file" } else { "key_env" };
            d.error(
                at.file,
                &at.path(key_at),
                format!("{e} ({})", at.resolve(cert_file).display()),
                "give the key the certificate was issued for",
            );
            None
        }
    }
}

/// The trust anchors of a CA bundle (`name` is its key, e.g. `ca_file`), with its PEM text.
pub fn roots(p: &str, name: &str, at: At<'_>, d: &mut Diagnostics) -> Option<(RootCertStore, Vec<u8>)> {
    let certs = certs(p, name, at, d)?;
    let mut roots = RootCertStore::empty();
    for (i, c) in certs.der.into_iter().enumerate() {
        if let Err(e) = roots.add(c) {
            d.error(
                at.file,
                &at.path(name),
                format!("certificate {} cannot be a trust anchor ({e})", i + 1),
                "give the PEM of the CA certificate(s)",
            );
            return None;
        }
    }
    Some((roots, certs.pem))
}

/// What a certificate says about itself (subject, names, validity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub subject: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<String>,
    pub emails: Vec<String>,
    pub uris: Vec<String>,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

/// Parses a DER certificate's subject, subject alternative names and validity.
pub fn info(der: &[u8]) -> Option<CertInfo> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let mut out = CertInfo {
        subject: cert.subject().to_string(),
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        emails: Vec::new(),
        uris: Vec::new(),
        not_before: to_system(cert.validity().not_before.timestamp()),
        not_after: to_system(cert.validity().not_after.timestamp()),
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(s) => out.dns_names.push((*s).to_string()),
                GeneralName::RFC822Name(s) => out.emails.push((*s).to_string()),
                GeneralName::URI(s) => out.uris.push((*s).to_string()),
                GeneralName::IPAddress(b) => out.ip_addresses.extend(ip_text(b)),
                _ => {}
            }
        }
    }
    Some(out)
}

fn ip_text(b: &[u8]) -> Option<String> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b)
            .ok()
            .map(|a| std::net::Ipv4Addr::from(a).to_string()),
        16 => <[u8; 16]>::try_from(b)
            .ok()
            .map(|a| std::net::Ipv6Addr::from(a).to_string()),
        _ => None,
    }
}

fn to_system(unix: i64) -> SystemTime {
    match u64::try_from(unix) {
        Ok(s) => SystemTime::UNIX_EPOCH + Duration::from_secs(s),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

/// An expired certificate is an error, one expiring within [`EXPIRY_WARNING`] a warning.
fn date_check(der: &[u8], path: &Path, index: usize, key: &str, file: &str, d: &mut Diagnostics) {
    let Some(i) = info(der) else { return };
    let now = SystemTime::now();
    let which = if index == 0 {
        String::new()
    } else {
        format!(" (certificate {} of the file)", index + 1)
    };
    if i.not_after <= now {
        d.error(
            file,
            key,
            format!(
                "{}{which} expired on {} ({})",
                path.display(),
                day(i.not_after),
                i.subject
            ),
            "renew the certificate",
        );
    } else if i.not_after <= now + EXPIRY_WARNING {
        d.warn(
            file,
            key,
            format!(
                "{}{which} expires on {} ({})",
                path.display(),
                day(i.not_after),
                i.subject
            ),
            "renew the certificate soon",
        );
    } else if i.not_before > now {
        d.error(
            file,
            key,
            format!(
                "{}{which} is not valid before {} ({})",
                path.display(),
                day(i.not_before),
                i.subject
            ),
            "check the certificate's dates and this machine's clock",
        );
    }
}

fn day(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

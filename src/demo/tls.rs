//! `soapgate demo --tls`: a throwaway CA made at start-up, one certificate for 127.0.0.1 and
//! localhost signed by it, and a copy of the demo's config that uses them everywhere (the REST
//! listener, the SOAP service, the token issuer), so the demo runs end to end over TLS.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The demo's certificates, written under `dir`.
#[derive(Debug)]
pub struct DemoPki {
    pub dir: PathBuf,
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// The same certificate and key as a rustls server config (the demo's SOAP service and issuer).
    pub server: Arc<rustls::ServerConfig>,
}

impl DemoPki {
    /// Makes a CA and a server certificate for 127.0.0.1 and localhost, valid for 30 days, in a
    /// fresh folder under the system's temporary directory (the key readable by this user only).
    pub fn create() -> Result<DemoPki, String> {
        let dir = std::env::temp_dir().join(format!("soapgate-demo-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let err = |e: rcgen::Error| format!("making the demo certificates: {e}");
        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca.distinguished_name
            .push(DnType::CommonName, "soapgate demo CA (throwaway)");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        valid_for_a_month(&mut ca);
        let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().map_err(err)?;
        let mut leaf =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).map_err(err)?;
        leaf.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        valid_for_a_month(&mut leaf);
        let cert = leaf.signed_by(&key, &issuer).map_err(err)?;
        let pki = DemoPki {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("server.pem"),
            key_file: dir.join("server.key"),
            server: server_config(&cert.pem(), &key.serialize_pem())?,
            dir,
        };
        write(&pki.ca_file, ca_cert.pem().as_bytes(), false)?;
        write(&pki.cert_file, cert.pem().as_bytes(), false)?;
        write(&pki.key_file, key.serialize_pem().as_bytes(), true)?;
        Ok(pki)
    }

    /// Copies the demo's config folder (soapgate.yaml with its mappings, templates and WSDLs)
    /// into `dir`/config and switches it to TLS: the listener's certificate, https backends and
    /// issuer, each trusting the demo CA. Returns the new soapgate.yaml.
    pub fn tls_config(&self, config: &Path) -> Result<PathBuf, String> {
        let from = config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let to = self.dir.join("config");
        let mut gateway = read_yaml(config)?;
        let mappings = gateway
            .get("mappings")
            .and_then(Value::as_str)
            .unwrap_or("mappings")
            .to_string();
        for sub in ["templates", "wsdl"] {
            if from.join(sub).is_dir() {
                copy_tree(&from.join(sub), &to.join(sub))?;
            }
        }
        let ca = Value::from(self.ca_file.display().to_string());
        let trust = || Value::Mapping(Mapping::from_iter([("ca_file".into(), ca.clone())]));
        std::fs::create_dir_all(to.join(&mappings)).map_err(|e| e.to_string())?;
        for entry in std::fs::read_dir(from.join(&mappings)).map_err(|e| format!("{mappings}: {e}"))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if !matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
                continue;
            }
            let mut m = read_yaml(&path)?;
            if let Some(b) = m.get_mut("backend").and_then(Value::as_mapping_mut) {
                if let Some(urls) = b.get_mut("urls").and_then(Value::as_sequence_mut) {
                    urls.iter_mut().for_each(to_https);
                }
                b.insert("tls".into(), trust());
            }
            let name = path.file_name().map(PathBuf::from).unwrap_or_default();
            write_yaml(&to.join(&mappings).join(name), &m)?;
        }
        let providers = gateway
            .get_mut("auth")
            .and_then(|a| a.get_mut("providers"))
            .and_then(Value::as_sequence_mut);
        for p in providers.into_iter().flatten() {
            if let Some(p) = p.as_mapping_mut() {
                if let Some(issuer) = p.get_mut("issuer") {
                    to_https(issuer);
                }
                p.insert("tls".into(), trust());
            }
        }
        if let Some(g) = gateway.as_mapping_mut() {
            let listener = Mapping::from_iter([
                (
                    "cert_file".into(),
                    Value::from(self.cert_file.display().to_string()),
                ),
                (
                    "key_file".into(),
                    Value::from(self.key_file.display().to_string()),
                ),
            ]);
            g.insert("tls".into(), Value::Mapping(listener));
        }
        let out = to.join("soapgate.yaml");
        write_yaml(&out, &gateway)?;
        Ok(out)
    }
}

/// Thirty days: past `check`'s 14-day expiry warning, short enough to be obviously throwaway.
fn valid_for_a_month(p: &mut CertificateParams) {
    let now = time_now();
    p.not_before = now - std::time::Duration::from_secs(3600);
    p.not_after = now + std::time::Duration::from_secs(30 * 24 * 3600);
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn to_https(v: &mut Value) {
    if let Some(s) = v.as_str() {
        if let Some(rest) = s.strip_prefix("http://") {
            *v = Value::from(format!("https://{rest}"));
        }
    }
}

fn server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, String> {
    let chain = crate::tls::pem::parse_certs(cert_pem.as_bytes())?;
    let key = crate::tls::pem::parse_key(key_pem.as_bytes())?;
    let config = rustls::ServerConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

fn read_yaml(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_yaml(path: &Path, v: &Value) -> Result<(), String> {
    let text = serde_yaml_ng::to_string(v).map_err(|e| e.to_string())?;
    write(path, text.as_bytes(), false)
}

fn write(path: &Path, bytes: &[u8], private: bool) -> Result<(), String> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(if private { 0o600 } else { 0o644 });
    }
    let mut f = o.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            std::fs::copy(&path, &target).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_copy_of_the_demo_config_is_https_everywhere_and_checks() {
        let pki = DemoPki::create().expect("pki");
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("soapgate.yaml");
        let tls = pki.tls_config(&config).expect("config");
        let text = std::fs::read_to_string(&tls).expect("read");
        assert!(text.contains("issuer: https://127.0.0.1:9082"), "{text}");
        assert!(
            text.contains(&format!("cert_file: {}", pki.cert_file.display())),
            "{text}"
        );
        let mapping =
            std::fs::read_to_string(pki.dir.join("config/mappings/customers.yaml")).expect("mapping");
        assert!(
            mapping.contains("https://127.0.0.1:9081/CustomerService"),
            "{mapping}"
        );
        assert!(
            mapping.contains(&format!("ca_file: {}", pki.ca_file.display())),
            "{mapping}"
        );
        let snap = crate::config::Snapshot::load(&tls).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
        let _ = std::fs::remove_dir_all(&pki.dir);
    }
}

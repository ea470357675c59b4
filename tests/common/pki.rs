//! A throw-away test PKI (rcgen, ECDSA P-256) written as PEM files into a temp dir per test run:
//! nothing here is ever committed, private keys included.
//!
//! Files (`<name>.pem` certificate, `<name>.key` its PKCS#8 key):
//! - `ca`: the test CA; `other-ca`: an unrelated CA nobody trusts.
//! - `server`: CA-signed, SANs `127.0.0.1` (IP) and `localhost` (DNS).
//! - `named`: CA-signed, only `legacy.internal` (for `server_name` with an IP URL).
//! - `wrong`: CA-signed, only `wrong.example`.
//! - `expired`: CA-signed, `127.0.0.1`/`localhost`, valid 2020-01-01 to 2021-01-01.
//! - `soon`: CA-signed, `127.0.0.1`/`localhost`, expires in 5 days.
//! - `client`: CA-signed client certificate (CN `soapgate-client`, clientAuth).
//! - `self-client`: a self-signed client certificate (CN `self-client`).
#![allow(dead_code)]

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The generated files; the folder is removed on drop.
pub struct Pki {
    dir: tempfile::TempDir,
}

fn leaf(cn: &str, sans: &[&str]) -> CertificateParams {
    let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("SANs");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.use_authority_key_identifier_extension = true;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p
}

/// Seconds since 1970 (rcgen's dates are built from the epoch plus this).
fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
}

impl Pki {
    /// Generates every file (a few milliseconds).
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = Pki { dir };
        let ca_key = KeyPair::generate().expect("key");
        let ca = ca_params("soapgate test CA");
        pki.write("ca", &ca.self_signed(&ca_key).expect("CA").pem(), &ca_key);
        let other_key = KeyPair::generate().expect("key");
        let other = ca_params("unrelated test CA");
        pki.write(
            "other-ca",
            &other.self_signed(&other_key).expect("CA").pem(),
            &other_key,
        );
        let issuer = Issuer::new(ca, ca_key);
        let local = ["127.0.0.1", "localhost"];
        let mut expired = leaf("expired", &local);
        expired.not_before = date_time_ymd(2020, 1, 1);
        expired.not_after = date_time_ymd(2021, 1, 1);
        let mut soon = leaf("soon", &local);
        soon.not_after = date_time_ymd(1970, 1, 1) + unix_now() + Duration::from_secs(5 * 24 * 3600);
        for (name, params) in [
            ("server", leaf("server", &local)),
            ("named", leaf("legacy.internal", &["legacy.internal"])),
            ("wrong", leaf("wrong.example", &["wrong.example"])),
            ("expired", expired),
            ("soon", soon),
            ("client", leaf("soapgate-client", &[])),
        ] {
            let key = KeyPair::generate().expect("key");
            let cert = params.signed_by(&key, &issuer).expect("sign");
            pki.write(name, &cert.pem(), &key);
        }
        let key = KeyPair::generate().expect("key");
        let cert = leaf("self-client", &[]).self_signed(&key).expect("self-signed");
        pki.write("self-client", &cert.pem(), &key);
        pki
    }

    fn write(&self, name: &str, cert: &str, key: &KeyPair) {
        std::fs::write(self.path(&format!("{name}.pem")), cert).expect("write cert");
        std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).expect("write key");
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Absolute path of a generated file (`ca.pem`, `server.key`, ...).
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// The path as a string, for YAML and command lines.
    pub fn p(&self, file: &str) -> String {
        self.path(file).display().to_string()
    }

    /// The text of a generated file.
    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.path(file)).expect("read PKI file")
    }
}

//! Shared test helpers: the fake SOAP backend, the in-process test gateway, fixtures.

pub mod certs;
pub mod fake_soap;
pub mod gateway;
pub mod h2;
pub mod h2raw;
pub mod jwks;
pub mod nginx;
pub mod oidc;
pub mod php;
pub mod pki;
pub mod process;
pub mod raw_client;
pub mod raw_http;
pub mod redis;
pub mod spyne;
pub mod tls_client;

use std::path::PathBuf;

/// Path of a file under `tests/fixtures/`.
#[allow(dead_code)]
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Path of a file in the repository.
#[allow(dead_code)]
pub fn repo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

//! Clients for TLS listener tests: real `curl` run off the runtime thread, and a rustls
//! HTTP/1.1 connection of the test's own that stays open across a reload.
#![allow(dead_code)]

use rustls::pki_types::ServerName;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What curl did.
#[derive(Debug)]
pub struct Curl {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

/// Runs `curl -sS --max-time 10 <args>` off the runtime thread.
pub async fn curl(args: Vec<String>) -> Curl {
    actix_rt::task::spawn_blocking(move || {
        let t = Instant::now();
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10"])
            .args(&args)
            .output()
            .expect("curl runs");
        Curl {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            took: t.elapsed(),
        }
    })
    .await
    .expect("curl thread")
}

/// A TLS connection of the test's own (rustls, HTTP/1.1 keep-alive), trusting the server CA.
pub struct Conn(rustls::StreamOwned<rustls::ClientConnection, TcpStream>);

impl Conn {
    pub fn open(addr: &str, ca_pem: &str) -> Conn {
        let mut roots = rustls::RootCertStore::empty();
        for c in soapgate::tls::pem::parse_certs(ca_pem.as_bytes()).expect("CA") {
            roots.add(c).expect("anchor");
        }
        let mut config = rustls::ClientConfig::builder_with_provider(soapgate::tls::provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = ServerName::try_from("127.0.0.1").expect("name").to_owned();
        let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
        let tcp = TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        stream.conn.complete_io(&mut stream.sock).expect("handshake");
        Conn(stream)
    }

    /// The common name of the certificate the server presented on this connection.
    pub fn server_cn(&self) -> String {
        let der = &self.0.conn.peer_certificates().expect("certificates")[0];
        soapgate::tls::ClientCert::from_der(der)
            .and_then(|c| c.cn)
            .expect("CN")
    }

    /// `GET path` on this connection; the status (the body is read, the connection stays open).
    pub fn get(&mut self, path: &str) -> u16 {
        let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        self.0.write_all(req.as_bytes()).expect("write");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let head_end = loop {
            let n = self.0.read(&mut buf).expect("read");
            assert!(n > 0, "the server closed the connection");
            got.extend_from_slice(&buf[..n]);
            if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&got[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().expect("length"));
        while got.len() < head_end + length {
            let n = self.0.read(&mut buf).expect("read body");
            assert!(n > 0, "the server closed the connection mid-body");
            got.extend_from_slice(&buf[..n]);
        }
        head[9..12].parse().expect("status")
    }
}

/// Runs blocking client work off the runtime thread.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    actix_rt::task::spawn_blocking(f).await.expect("client thread")
}

//! A real `redis-server` per test on 127.0.0.1 (a free port, no persistence), killed on drop;
//! it can be stopped and started again on the same port (THREATS.md R3). [`Redis::start_tls`]
//! serves TLS only (`--tls-port`, `--port 0`) with certificates from tests/common/pki.rs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Redis {
    pub port: u16,
    child: Mutex<Option<Child>>,
    tls: Option<RedisTls>,
}

/// The TLS files of a TLS-only server.
#[derive(Debug, Clone)]
pub struct RedisTls {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// `--tls-ca-cert-file`: the CA client certificates must chain to.
    pub ca: PathBuf,
    /// `--tls-auth-clients yes|no`: whether a client certificate is required.
    pub auth_clients: bool,
}

/// A TLS-only server, or `None` (with a message) when `redis-server` is missing outside CI.
pub fn redis_tls(tls: RedisTls) -> Option<Redis> {
    match Redis::start_tls(tls) {
        Ok(r) => Some(r),
        Err(e) if std::env::var_os("CI").is_some() => panic!("redis-server unavailable in CI: {e}"),
        Err(e) => {
            eprintln!("skipping Redis TLS test: {e}");
            None
        }
    }
}

/// A fresh server, or `None` (with a message) when `redis-server` is missing outside CI.
pub fn redis() -> Option<Redis> {
    match Redis::start() {
        Ok(r) => Some(r),
        Err(e) if std::env::var_os("CI").is_some() => panic!("redis-server unavailable in CI: {e}"),
        Err(e) => {
            eprintln!("skipping Redis test: {e}");
            None
        }
    }
}

impl Redis {
    pub fn start() -> Result<Redis, String> {
        Redis::start_with(None)
    }

    pub fn start_tls(tls: RedisTls) -> Result<Redis, String> {
        Redis::start_with(Some(tls))
    }

    fn start_with(tls: Option<RedisTls>) -> Result<Redis, String> {
        let probe = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = probe.local_addr().map_err(|e| e.to_string())?.port();
        drop(probe);
        let r = Redis {
            port,
            child: Mutex::new(None),
            tls,
        };
        r.launch()?;
        Ok(r)
    }

    /// `redis://` or, for a TLS server, `rediss://`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/", self.port)
    }

    fn launch(&self) -> Result<(), String> {
        let port = self.port.to_string();
        let mut cmd = Command::new("redis-server");
        match &self.tls {
            None => cmd.args(["--port", &port]),
            Some(t) => cmd
                .args(["--port", "0", "--tls-port", &port, "--tls-cert-file"])
                .arg(&t.cert)
                .arg("--tls-key-file")
                .arg(&t.key)
                .arg("--tls-ca-cert-file")
                .arg(&t.ca)
                .args(["--tls-auth-clients", if t.auth_clients { "yes" } else { "no" }]),
        };
        let child = cmd
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server (apt-get install redis-server): {e}"))?;
        *self.child.lock().expect("child") = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.listening() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(format!("redis-server did not answer on port {port}"))
    }

    /// Up: a plain server answers `PING`; a TLS one accepts a connection on its port.
    fn listening(&self) -> bool {
        match self.tls {
            None => self.ping(),
            Some(_) => TcpStream::connect(("127.0.0.1", self.port)).is_ok(),
        }
    }

    /// `PING` over a raw connection (plain servers only).
    pub fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 16];
        s.write_all(b"PING\r\n").is_ok() && s.read(&mut buf).is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
    }

    /// Kills the server (the port is free again).
    pub fn stop(&self) {
        if let Some(mut c) = self.child.lock().expect("child").take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port (empty: nothing is persisted).
    pub fn restart(&self) {
        self.stop();
        self.launch().expect("redis-server restarts on its port");
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

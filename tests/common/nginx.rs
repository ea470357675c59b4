//! Debian's nginx as a real https SOAP backend on 127.0.0.1 (a free port): its own prefix, config,
//! pid, logs and temp paths in a temp dir, one foreground process, killed on drop.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What the https server does with a request.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// `proxy_pass` to a plain http server (the in-process FakeSoap, spyne...).
    Proxy(String),
    /// `return 200 '<body>'` with `Content-Type: text/xml`.
    Canned(String),
}

/// One server: https with `cert`/`key`, or plain http without them.
#[derive(Debug, Clone)]
pub struct NginxConfig {
    /// `ssl_certificate` and `ssl_certificate_key`; `None`: plain http.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `ssl_verify_client on` with this CA bundle.
    pub client_ca: Option<PathBuf>,
    pub upstream: Upstream,
}

pub struct Nginx {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

/// The binary: `/usr/sbin/nginx` (Debian's path), or `nginx` on PATH.
fn binary() -> PathBuf {
    let debian = Path::new("/usr/sbin/nginx");
    if debian.is_file() {
        debian.to_path_buf()
    } else {
        PathBuf::from("nginx")
    }
}

/// A running nginx, or `None` (with a message) when nginx is missing outside CI.
pub fn nginx(cfg: NginxConfig) -> Option<Nginx> {
    match Nginx::start(cfg) {
        Ok(n) => Some(n),
        Err(e) if std::env::var_os("CI").is_some() => panic!("nginx unavailable in CI: {e}"),
        Err(e) => {
            eprintln!("skipping nginx test: {e}");
            None
        }
    }
}

/// A single-quoted nginx string.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Nginx {
    pub fn start(cfg: NginxConfig) -> Result<Nginx, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let d = dir.path().display().to_string();
        let mut ssl = match &cfg.tls {
            Some((cert, key)) => format!(
                " ssl;\n    ssl_certificate {};\n    ssl_certificate_key {};\n",
                cert.display(),
                key.display()
            ),
            None => ";\n".into(),
        };
        if let Some(ca) = &cfg.client_ca {
            ssl.push_str(&format!(
                "    ssl_verify_client on;\n    ssl_client_certificate {};\n",
                ca.display()
            ));
        }
        let location = match &cfg.upstream {
            Upstream::Proxy(url) => format!("proxy_pass {url};"),
            Upstream::Canned(body) => format!("default_type text/xml;\n      return 200 {};", quoted(body)),
        };
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log {d}/error.log info;\nevents {{ worker_connections 64; }}\nhttp {{\n  \
             access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             server {{\n    listen 127.0.0.1:{port}{ssl}    location / {{\n      {location}\n    }}\n  }}\n}}\n"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let child = Command::new(binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start nginx (apt-get install nginx): {e}"))?;
        let mut n = Nginx { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = n.child.try_wait() {
                return Err(format!("nginx exited ({status}): {}", n.error_log()));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(n);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("nginx did not listen on port {port}: {}", n.error_log()))
    }

    /// `https://127.0.0.1:<port><path>` (also for a plain http server: an https URL to it is
    /// what the tests want).
    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    /// The error log so far (startup problems, handshake refusals at `info`).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

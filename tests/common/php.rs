//! PHP's built-in web server (`php -S`, Debian's php-cli) on 127.0.0.1: it answers HTTP/1.1 with
//! `Connection: close` and neither Content-Length nor chunking, the body ending with the
//! connection (RFC 9112 §6.3). Serves the scripts given, from a temp folder; killed on drop.
#![allow(dead_code)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Php {
    pub port: u16,
    child: Child,
    _root: tempfile::TempDir,
}

impl Php {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Php {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `php -S` serving `files` (name, content), or `None` (with a message) when php is
/// missing outside CI.
pub fn php(files: &[(&str, &[u8])]) -> Option<Php> {
    match start(files) {
        Ok(p) => Some(p),
        Err(e) if std::env::var_os("CI").is_some() => panic!("php unavailable in CI: {e}"),
        Err(e) => {
            eprintln!("skipping php test: {e}");
            None
        }
    }
}

fn start(files: &[(&str, &[u8])]) -> Result<Php, String> {
    let root = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (name, content) in files {
        std::fs::write(root.path().join(name), content).map_err(|e| e.to_string())?;
    }
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        l.local_addr().map_err(|e| e.to_string())?.port()
    };
    let child = Command::new("php")
        .args(["-n", "-S", &format!("127.0.0.1:{port}"), "-t"])
        .arg(root.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("php: {e} (Debian: apt-get install php-cli)"))?;
    let mut php = Php {
        port,
        child,
        _root: root,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = php.child.try_wait() {
            return Err(format!("php -S exited: {status}"));
        }
        if Instant::now() > deadline {
            return Err("php -S did not listen within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(php)
}

/// The raw response to `POST path` with `body` (read until the server closes), for tests to check
/// what php actually sends.
pub fn raw_post(port: u16, path: &str, body: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("connect to php");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(request.as_bytes()).expect("send");
    let mut out = Vec::new();
    sock.read_to_end(&mut out).expect("read until close");
    out
}

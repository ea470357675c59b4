//! A real `redis-server` per test on 127.0.0.1 (a free port, no persistence), killed on drop;
//! it can be stopped and started again on the same port (THREATS.md R3).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Redis {
    pub port: u16,
    child: Mutex<Option<Child>>,
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
        let probe = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = probe.local_addr().map_err(|e| e.to_string())?.port();
        drop(probe);
        let r = Redis {
            port,
            child: Mutex::new(None),
        };
        r.launch()?;
        Ok(r)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn launch(&self) -> Result<(), String> {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server (apt-get install redis-server): {e}"))?;
        *self.child.lock().expect("child") = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(format!("redis-server did not answer on port {port}"))
    }

    /// `PING` over a raw connection.
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

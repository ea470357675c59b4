//! A raw TCP client's view of the gateway: what it read, and whether the server closed.

use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// What a raw client read: the text, and whether the server closed within the wait.
#[derive(Debug)]
pub struct Raw {
    pub text: String,
    pub closed: bool,
}

impl Raw {
    /// Statuses of the responses read, in order (1xx included).
    #[allow(dead_code)]
    pub fn statuses(&self) -> Vec<u16> {
        self.text
            .split("HTTP/1.")
            .skip(1)
            .filter_map(|s| s.get(2..5)?.parse().ok())
            .collect()
    }

    /// Status of the first non-1xx response.
    #[allow(dead_code)]
    pub fn status(&self) -> Option<u16> {
        self.statuses().into_iter().find(|s| *s >= 200)
    }

    /// `code` of the first response's problem+json body.
    #[allow(dead_code)]
    pub fn code(&self) -> Option<String> {
        let start = self.text.find("\r\n\r\n")? + 4;
        let json: serde_json::Value = serde_json::from_str(self.text.get(start..)?.trim()).ok()?;
        json["code"].as_str().map(str::to_string)
    }
}

/// Reads until EOF (or a reset) or `wait` passes; `closed` tells which.
pub async fn read_until_closed(s: &mut TcpStream, wait: Duration) -> Raw {
    let deadline = Instant::now() + wait;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut closed = false;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Err(_) => break,
        }
    }
    Raw {
        text: String::from_utf8_lossy(&buf).into_owned(),
        closed,
    }
}

//! A raw-socket HTTP/1 server for framing tests: it answers every request with the same bytes,
//! exactly as given (no Content-Length or chunking added), then closes or holds the connection,
//! and records how many connections came and how many bytes it managed to write.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the server does once the answer is written.
#[derive(Debug, Clone, Copy)]
pub enum After {
    /// Closes its side (FIN) and waits for the client to close.
    Close,
    /// Keeps the connection open this long, then closes.
    Hold(Duration),
}

/// The answer: `head` (status line and headers, with the blank line) then `body` repeated
/// `times` times, written in pieces until the client stops reading.
#[derive(Debug, Clone)]
pub struct Answer {
    pub head: Vec<u8>,
    pub body: Vec<u8>,
    pub times: usize,
    pub after: After,
}

impl Answer {
    /// `head` and `body` once, then close.
    pub fn new(head: &str, body: impl Into<Vec<u8>>) -> Answer {
        Answer {
            head: head.as_bytes().to_vec(),
            body: body.into(),
            times: 1,
            after: After::Close,
        }
    }

    /// The body repeated `times` times.
    pub fn repeat(mut self, times: usize) -> Answer {
        self.times = times;
        self
    }

    pub fn after(mut self, after: After) -> Answer {
        self.after = after;
        self
    }

    fn len(&self) -> usize {
        self.head.len() + self.body.len() * self.times
    }
}

/// The running server; stops accepting when dropped (open connections end on their own).
pub struct RawServer {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    /// Bytes written on the last connection, and whether the peer stopped the write.
    written: Arc<AtomicUsize>,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    total: usize,
}

impl RawServer {
    pub fn start(answer: Answer) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = RawServer {
            port,
            connections: Arc::default(),
            written: Arc::default(),
            cut: Arc::default(),
            stop: Arc::default(),
            total: answer.len(),
        };
        let (connections, written, cut, stop) = (
            server.connections.clone(),
            server.written.clone(),
            server.cut.clone(),
            server.stop.clone(),
        );
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(sock) = sock else { continue };
                connections.fetch_add(1, Ordering::SeqCst);
                let (answer, written, cut) = (answer.clone(), written.clone(), cut.clone());
                std::thread::spawn(move || serve(sock, &answer, &written, &cut));
            }
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Bytes of the last answer written before the client closed (or all of them).
    pub fn written(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }

    /// Whether the client closed before the whole answer was written.
    pub fn cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }

    /// The size of the whole answer.
    pub fn total(&self) -> usize {
        self.total
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(mut sock: TcpStream, answer: &Answer, written: &AtomicUsize, cut: &AtomicBool) {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(10)));
    if !read_request(&mut sock) {
        return;
    }
    written.store(0, Ordering::SeqCst);
    let pieces = std::iter::once(answer.head.as_slice())
        .chain(std::iter::repeat_n(answer.body.as_slice(), answer.times));
    for piece in pieces {
        for part in piece.chunks(64 * 1024) {
            if sock.write_all(part).is_err() {
                cut.store(true, Ordering::SeqCst);
                return;
            }
            written.fetch_add(part.len(), Ordering::SeqCst);
        }
    }
    if let After::Hold(d) = answer.after {
        std::thread::sleep(d);
    }
    let _ = sock.shutdown(Shutdown::Write);
    // Until the client closes: closing with unread bytes would send it a reset.
    let mut buf = [0u8; 4096];
    while sock.read(&mut buf).is_ok_and(|n| n > 0) {}
}

/// Reads one request: the head, then a Content-Length body. False when the client went away.
fn read_request(sock: &mut TcpStream) -> bool {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
    true
}

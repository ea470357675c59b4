//! A raw HTTP/2 client for abuse tests: frames and HPACK written by hand over rustls, the
//! server's frames read back, every loop bounded in count and time.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const PRIORITY: u8 = 0x2;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut f = vec![len[1], len[2], len[3], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The preface, an empty SETTINGS and the ACK of the server's SETTINGS.
pub fn prologue() -> Vec<u8> {
    let mut b = PREFACE.to_vec();
    b.extend(frame(SETTINGS, 0, 0, &[]));
    b.extend(frame(SETTINGS, ACK, 0, &[]));
    b
}

/// HPACK (RFC 7541), the few representations a request needs, never Huffman-coded.
pub mod hpack {
    /// An integer with an `n`-bit prefix; `flags` are the bits above the prefix.
    pub fn int(out: &mut Vec<u8>, n: u8, flags: u8, v: usize) {
        let max = (1usize << n) - 1;
        if v < max {
            out.push(flags | v as u8);
            return;
        }
        out.push(flags | max as u8);
        let mut rest = v - max;
        while rest >= 128 {
            out.push((rest % 128) as u8 | 0x80);
            rest /= 128;
        }
        out.push(rest as u8);
    }

    fn string(out: &mut Vec<u8>, s: &[u8]) {
        int(out, 7, 0, s.len());
        out.extend_from_slice(s);
    }

    /// Literal without indexing, the name from the static table (`index`).
    pub fn indexed_name(out: &mut Vec<u8>, index: usize, value: &[u8]) {
        int(out, 4, 0, index);
        string(out, value);
    }

    /// Literal without indexing, new name.
    pub fn literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
        out.push(0);
        string(out, name);
        string(out, value);
    }

    /// `method` (GET 0x82 or POST 0x83), :scheme https, :path, :authority, then `extra`.
    pub fn request(method: u8, path: &str, extra: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut b = vec![method, 0x87];
        indexed_name(&mut b, 4, path.as_bytes());
        indexed_name(&mut b, 1, b"127.0.0.1");
        for (n, v) in extra {
            literal(&mut b, n, v);
        }
        b
    }
}

/// A frame the server sent (payload cut to 64 bytes).
#[derive(Clone, Debug)]
pub struct Rx {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub len: usize,
    pub payload: Vec<u8>,
}

impl Rx {
    /// GOAWAY's error code.
    pub fn goaway_code(&self) -> Option<u32> {
        (self.kind == GOAWAY && self.payload.len() >= 8).then(|| be32(&self.payload[4..8]))
    }

    pub fn rst_code(&self) -> Option<u32> {
        (self.kind == RST_STREAM && self.payload.len() >= 4).then(|| be32(&self.payload[..4]))
    }
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

pub async fn connect(addr: SocketAddr, cfg: &Arc<rustls::ClientConfig>) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls = tokio_rustls::TlsConnector::from(cfg.clone())
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(b"h2".as_slice()));
    tls
}

/// How a session ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Frames the server sent (the first 10 000 kept).
    pub frames: Vec<Rx>,
    pub frames_in: usize,
    /// Units the client wrote before the connection broke or `max_units` was reached.
    pub units_sent: usize,
    /// The server closed the connection (EOF or reset).
    pub closed: bool,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn goaway(&self) -> Option<u32> {
        self.frames.iter().find_map(Rx::goaway_code)
    }
}

/// Writes `prologue`, then `unit(i)` for i in 0..max_units (in writes of 16 KiB), then `tail`,
/// while reading the server's frames until it closes, `until` matches one, or `limit` passes.
pub async fn session(
    tls: TlsStream<TcpStream>,
    prologue: Vec<u8>,
    unit: impl Fn(usize) -> Vec<u8>,
    max_units: usize,
    tail: Vec<u8>,
    until: impl Fn(&Rx) -> bool,
    limit: Duration,
) -> Outcome {
    paced(tls, prologue, unit, max_units, tail, until, limit, 16 * 1024).await
}

/// [`session`] writing every `batch` bytes (1: each unit on its own, the task yielding between).
#[allow(clippy::too_many_arguments)]
pub async fn paced(
    tls: TlsStream<TcpStream>,
    prologue: Vec<u8>,
    unit: impl Fn(usize) -> Vec<u8>,
    max_units: usize,
    tail: Vec<u8>,
    until: impl Fn(&Rx) -> bool,
    limit: Duration,
    batch_bytes: usize,
) -> Outcome {
    let started = Instant::now();
    let (mut r, mut w) = tokio::io::split(tls);
    let done = AtomicBool::new(false);
    let writer = async {
        let deadline = started + limit;
        let mut batch = prologue;
        let mut sent = 0;
        for i in 0..=max_units {
            if i < max_units {
                batch.extend(unit(i));
            } else {
                batch.extend_from_slice(&tail);
            }
            if batch.len() < batch_bytes && i < max_units {
                continue;
            }
            if done.load(Ordering::Relaxed) || Instant::now() > deadline {
                break;
            }
            let wrote = tokio::time::timeout_at(deadline.into(), w.write_all(&batch)).await;
            if !matches!(wrote, Ok(Ok(()))) {
                break;
            }
            sent = (i + 1).min(max_units);
            batch.clear();
            if batch_bytes == 1 {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
        let _ = w.flush().await;
        sent
    };
    let reader = async {
        let out = read_frames(&mut r, &until, started + limit).await;
        done.store(true, Ordering::Relaxed);
        out
    };
    let (sent, mut out) = tokio::join!(writer, reader);
    out.units_sent = sent;
    out.elapsed = started.elapsed();
    out
}

async fn read_frames(
    r: &mut (impl tokio::io::AsyncRead + Unpin),
    until: &impl Fn(&Rx) -> bool,
    deadline: Instant,
) -> Outcome {
    let mut out = Outcome::default();
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    for _ in 0..1_000_000 {
        while let Some(rx) = take_frame(&mut buf) {
            out.frames_in += 1;
            let stop = until(&rx);
            if out.frames.len() < 10_000 {
                out.frames.push(rx);
            }
            if stop {
                return out;
            }
        }
        match tokio::time::timeout_at(deadline.into(), r.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            Ok(_) => {
                out.closed = true;
                return out;
            }
            Err(_) => return out,
        }
    }
    out
}

fn take_frame(buf: &mut Vec<u8>) -> Option<Rx> {
    if buf.len() < 9 {
        return None;
    }
    let len = (usize::from(buf[0]) << 16) | (usize::from(buf[1]) << 8) | usize::from(buf[2]);
    if buf.len() < 9 + len {
        return None;
    }
    let rx = Rx {
        kind: buf[3],
        flags: buf[4],
        stream: be32(&buf[5..9]) & 0x7fff_ffff,
        len,
        payload: buf[9..9 + len.min(64)].to_vec(),
    };
    buf.drain(..9 + len);
    Some(rx)
}

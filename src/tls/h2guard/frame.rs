//! HTTP/2 frame headers (RFC 9113 §4.1) and the table of open streams both directions update.

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
pub const END_HEADERS: u8 = 0x4;

/// The 9 bytes before every frame.
pub const HEADER_LEN: usize = 9;

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
}

impl Header {
    /// Parses the first 9 bytes of `b` (the caller checked there are 9).
    pub fn parse(b: &[u8; HEADER_LEN]) -> Header {
        Header {
            len: (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]),
            kind: b[3],
            flags: b[4],
            stream: u32::from_be_bytes([b[5], b[6], b[7], b[8]]) & 0x7fff_ffff,
        }
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// HEADERS or DATA that ends its sender's half of the stream.
    pub fn ends_stream(&self) -> bool {
        matches!(self.kind, DATA | HEADERS) && self.has(END_STREAM)
    }
}

#[derive(Clone, Copy, Debug)]
struct Open {
    id: u32,
    client_done: bool,
    server_done: bool,
}

/// Client-opened streams not yet closed on both sides (at most the limit plus one entries).
#[derive(Debug, Default)]
pub struct Streams {
    open: Vec<Open>,
}

impl Streams {
    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn open(&mut self, id: u32, client_done: bool) {
        self.open.push(Open {
            id,
            client_done,
            server_done: false,
        });
    }

    /// The client ended its half of `id`.
    pub fn client_end(&mut self, id: u32) {
        self.update(id, |o| o.client_done = true);
    }

    /// The server ended its half of `id`.
    pub fn server_end(&mut self, id: u32) {
        self.update(id, |o| o.server_done = true);
    }

    /// Either side reset `id`.
    pub fn reset(&mut self, id: u32) {
        self.open.retain(|o| o.id != id);
    }

    fn update(&mut self, id: u32, f: impl FnOnce(&mut Open)) {
        if let Some(i) = self.open.iter().position(|o| o.id == id) {
            f(&mut self.open[i]);
            if self.open[i].client_done && self.open[i].server_done {
                self.open.swap_remove(i);
            }
        }
    }
}

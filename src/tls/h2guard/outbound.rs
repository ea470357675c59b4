//! The server→client side: frame boundaries of what h2 writes (streams it ends or resets), and
//! the guard's own GOAWAY, written only between two of h2's frames.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::AsyncWrite;

use super::frame::{self, Header, Streams, HEADER_LEN};

/// ENHANCE_YOUR_CALM (RFC 9113 §7).
const ENHANCE_YOUR_CALM: u32 = 0xb;
const GOAWAY_LEN: usize = HEADER_LEN + 8;

/// GOAWAY(ENHANCE_YOUR_CALM) naming `last` as the last stream processed.
pub fn goaway_frame(last: u32) -> [u8; GOAWAY_LEN] {
    let mut f = [0u8; GOAWAY_LEN];
    f[2] = 8;
    f[3] = frame::GOAWAY;
    f[9..13].copy_from_slice(&(last & 0x7fff_ffff).to_be_bytes());
    f[13..17].copy_from_slice(&ENHANCE_YOUR_CALM.to_be_bytes());
    f
}

/// The guard's GOAWAY: none, waiting for a frame boundary (or being written), written.
#[derive(Debug, Default)]
pub enum Goaway {
    #[default]
    None,
    Pending {
        frame: [u8; GOAWAY_LEN],
        sent: usize,
    },
    Sent,
}

/// Where the server's byte stream is: inside a frame header or payload, or between frames.
#[derive(Debug, Default)]
pub struct Outbound {
    head: [u8; HEADER_LEN],
    have: usize,
    payload_left: usize,
    pub goaway: Goaway,
}

impl Outbound {
    fn at_boundary(&self) -> bool {
        self.have == 0 && self.payload_left == 0
    }

    /// Consumes the first bytes of `b` (at least one): header bytes, then payload bytes.
    fn step(&mut self, b: &[u8]) -> (usize, Option<Header>) {
        if self.payload_left > 0 {
            let n = self.payload_left.min(b.len());
            self.payload_left -= n;
            return (n, None);
        }
        let n = (HEADER_LEN - self.have).min(b.len());
        self.head[self.have..self.have + n].copy_from_slice(&b[..n]);
        self.have += n;
        if self.have < HEADER_LEN {
            return (n, None);
        }
        self.have = 0;
        let h = Header::parse(&self.head);
        self.payload_left = h.len;
        (n, Some(h))
    }

    /// Follows `b`, written by h2, updating the streams the server ends or resets.
    fn feed(&mut self, b: &[u8], streams: &mut Streams) {
        let mut at = 0;
        while at < b.len() {
            let (n, head) = self.step(&b[at..]);
            at += n.max(1);
            match head {
                Some(h) if h.kind == frame::RST_STREAM => streams.reset(h.stream),
                Some(h) if h.ends_stream() => streams.server_end(h.stream),
                _ => {}
            }
        }
    }

    /// How many leading bytes of `b` finish the frame being written.
    fn until_boundary(&self, b: &[u8]) -> usize {
        let mut probe = Outbound {
            head: self.head,
            have: self.have,
            payload_left: self.payload_left,
            goaway: Goaway::None,
        };
        let mut at = 0;
        while at < b.len() {
            at += probe.step(&b[at..]).0.max(1);
            if probe.at_boundary() {
                break;
            }
        }
        at
    }

    /// h2's write: passed on (and followed) until a GOAWAY is pending; then only the rest of the
    /// current frame, then the GOAWAY; after it h2's bytes are dropped.
    pub fn write<IO: AsyncWrite + Unpin>(
        &mut self,
        io: &mut IO,
        cx: &mut Context<'_>,
        b: &[u8],
        streams: &mut Streams,
    ) -> Poll<io::Result<usize>> {
        let limit = match self.goaway {
            Goaway::None => b.len(),
            Goaway::Sent => return Poll::Ready(Ok(b.len())),
            Goaway::Pending { .. } if self.at_boundary() => {
                ready!(self.drive(io, cx))?;
                return Poll::Ready(Ok(b.len()));
            }
            Goaway::Pending { .. } => self.until_boundary(b),
        };
        let n = ready!(Pin::new(&mut *io).poll_write(cx, &b[..limit]))?;
        self.feed(&b[..n], streams);
        if matches!(self.goaway, Goaway::Pending { .. }) && self.at_boundary() {
            let _ = self.drive(io, cx);
        }
        Poll::Ready(Ok(n))
    }

    /// Writes the pending GOAWAY if h2 is between frames, then flushes; otherwise does nothing.
    pub fn drive<IO: AsyncWrite + Unpin>(
        &mut self,
        io: &mut IO,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let boundary = self.at_boundary();
        let Goaway::Pending { frame, sent } = &mut self.goaway else {
            return Poll::Ready(Ok(()));
        };
        if !boundary {
            return Poll::Ready(Ok(()));
        }
        while *sent < frame.len() {
            let n = ready!(Pin::new(&mut *io).poll_write(cx, &frame[*sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *sent += n;
        }
        self.goaway = Goaway::Sent;
        Pin::new(io).poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_frames_split_anywhere() {
        let mut streams = Streams::default();
        streams.open(1, true);
        let mut out = Outbound::default();
        // HEADERS(stream 1, END_STREAM|END_HEADERS, 1 byte) split inside its header.
        let f = [0, 0, 1, frame::HEADERS, 0x5, 0, 0, 0, 1, 0x88];
        out.feed(&f[..4], &mut streams);
        assert!(!out.at_boundary());
        assert_eq!(out.until_boundary(&f[4..]), 6);
        out.feed(&f[4..], &mut streams);
        assert!(out.at_boundary());
        assert_eq!(streams.len(), 0);
    }
}

//! The client→server side: the preface, then each frame header judged against [`H2Limits`].

use std::time::Instant;

use super::frame::{self, Header, Streams, HEADER_LEN};
use super::{H2Limits, Violation};

/// The client connection preface (RFC 9113 §3.4).
const PREFACE_LEN: usize = 24;

/// How much of `buf` may go to h2, and why the rest may not.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub approved: usize,
    pub violation: Option<Violation>,
}

/// A header block being received (HEADERS without END_HEADERS, then CONTINUATION frames).
#[derive(Debug)]
struct Block {
    bytes: usize,
    continuations: u32,
}

/// Counts of cheap frames in the current window, indexed by [`Violation`].
#[derive(Debug, Default)]
struct Rates {
    since: Option<Instant>,
    n: [u32; Violation::ALL.len()],
}

/// The parser and rules of the client's byte stream.
#[derive(Debug)]
pub struct Inbound {
    limits: H2Limits,
    preface_left: usize,
    payload_left: usize,
    block: Option<Block>,
    highest: u32,
    streams: Streams,
    rates: Rates,
    /// The payload being passed is a HEADERS or CONTINUATION frame's.
    header_payload: bool,
    /// Header blocks ended (frames with END_HEADERS judged): each head has its own time.
    heads_done: u64,
}

impl Inbound {
    pub fn new(limits: H2Limits) -> Self {
        Inbound {
            limits,
            preface_left: PREFACE_LEN,
            payload_left: 0,
            block: None,
            highest: 0,
            streams: Streams::default(),
            rates: Rates::default(),
            header_payload: false,
            heads_done: 0,
        }
    }

    /// Header blocks whose last frame was judged so far.
    pub fn heads_done(&self) -> u64 {
        self.heads_done
    }

    pub fn header_timeout(&self) -> Option<std::time::Duration> {
        self.limits.header_timeout
    }

    /// Whether a request head (or trailers) is arriving: `unjudged` bytes of a frame header are
    /// in (its kind is not known yet), a header block is open (HEADERS without END_HEADERS), or a
    /// HEADERS or CONTINUATION payload is not all in. Not the preface (actix times the handshake)
    /// nor DATA (the handler times the body).
    pub fn head_arriving(&self, unjudged: usize) -> bool {
        self.preface_left == 0
            && ((unjudged > 0 && self.payload_left == 0)
                || self.block.is_some()
                || (self.header_payload && self.payload_left > 0))
    }

    /// The highest stream id the client opened (GOAWAY's last-stream-id).
    pub fn highest_stream(&self) -> u32 {
        self.highest
    }

    pub fn streams_mut(&mut self) -> &mut Streams {
        &mut self.streams
    }

    /// Judges the frames that start in `b` (bytes not judged yet, continuing the previous call):
    /// the preface and payloads pass, a frame header once its 9 bytes (and, for WINDOW_UPDATE,
    /// its increment) are there. Stops before the first header that breaks a limit.
    pub fn scan(&mut self, b: &[u8]) -> Verdict {
        let mut at = 0;
        while at < b.len() {
            let rest = &b[at..];
            if self.preface_left > 0 || self.payload_left > 0 {
                let left = if self.preface_left > 0 {
                    &mut self.preface_left
                } else {
                    &mut self.payload_left
                };
                let n = (*left).min(rest.len());
                *left -= n;
                at += n;
                continue;
            }
            let Some(head) = rest.first_chunk::<HEADER_LEN>() else {
                break;
            };
            let h = Header::parse(head);
            let peek = if h.kind == frame::WINDOW_UPDATE {
                h.len.min(4)
            } else {
                0
            };
            let Some(peeked) = rest.get(HEADER_LEN..HEADER_LEN + peek) else {
                break;
            };
            if let Err(v) = self.judge(&h, peeked) {
                return Verdict {
                    approved: at,
                    violation: Some(v),
                };
            }
            at += HEADER_LEN;
            self.payload_left = h.len;
            self.header_payload = matches!(h.kind, frame::HEADERS | frame::CONTINUATION);
            if self.header_payload && h.has(frame::END_HEADERS) {
                self.heads_done += 1;
            }
        }
        Verdict {
            approved: at,
            violation: None,
        }
    }

    fn judge(&mut self, h: &Header, peeked: &[u8]) -> Result<(), Violation> {
        if h.kind != frame::CONTINUATION {
            // h2 rejects a header block interrupted by another frame.
            self.block = None;
        }
        match h.kind {
            frame::DATA => {
                if h.len == 0 && !h.has(frame::END_STREAM) {
                    self.hit(Violation::EmptyData)?;
                }
                if h.has(frame::END_STREAM) {
                    self.streams.client_end(h.stream);
                }
                Ok(())
            }
            frame::HEADERS => self.headers(h),
            frame::CONTINUATION => self.continuation(h),
            frame::RST_STREAM => {
                self.streams.reset(h.stream);
                self.hit(Violation::Resets)
            }
            frame::PRIORITY => self.hit(Violation::Priority),
            frame::SETTINGS => self.hit(Violation::Settings),
            frame::PING => self.hit(Violation::Pings),
            frame::WINDOW_UPDATE => {
                let inc = peeked
                    .first_chunk::<4>()
                    .map_or(0, |b| u32::from_be_bytes(*b) & 0x7fff_ffff);
                if inc < self.limits.small_window_update {
                    self.hit(Violation::WindowUpdates)?;
                }
                Ok(())
            }
            frame::GOAWAY => Ok(()),
            _ => self.hit(Violation::Unknown),
        }
    }

    /// HEADERS: a new stream (odd id above every earlier one) or trailers, and a new header block.
    fn headers(&mut self, h: &Header) -> Result<(), Violation> {
        let ends = h.has(frame::END_STREAM);
        if h.stream % 2 == 1 && h.stream > self.highest {
            if self.streams.len() >= self.limits.max_concurrent_streams {
                return Err(Violation::ConcurrentStreams);
            }
            self.highest = h.stream;
            self.streams.open(h.stream, ends);
        } else if ends {
            self.streams.client_end(h.stream);
        }
        if h.len > self.limits.max_header_block {
            return Err(Violation::HeaderBlock);
        }
        if !h.has(frame::END_HEADERS) {
            self.block = Some(Block {
                bytes: h.len,
                continuations: 0,
            });
        }
        Ok(())
    }

    fn continuation(&mut self, h: &Header) -> Result<(), Violation> {
        let Some(block) = self.block.as_mut() else {
            return Ok(()); // a stray CONTINUATION: h2 answers it with PROTOCOL_ERROR
        };
        block.continuations = block.continuations.saturating_add(1);
        block.bytes = block.bytes.saturating_add(h.len);
        if block.continuations > self.limits.max_continuations {
            return Err(Violation::Continuations);
        }
        if block.bytes > self.limits.max_header_block {
            return Err(Violation::HeaderBlock);
        }
        if h.has(frame::END_HEADERS) {
            self.block = None;
        }
        Ok(())
    }

    /// Counts one frame of kind `v` in the current window.
    fn hit(&mut self, v: Violation) -> Result<(), Violation> {
        let now = Instant::now();
        let fresh = self
            .rates
            .since
            .is_some_and(|t| now.duration_since(t) < self.limits.window);
        if !fresh {
            self.rates = Rates {
                since: Some(now),
                n: [0; Violation::ALL.len()],
            };
        }
        let n = &mut self.rates.n[v.index()];
        *n = n.saturating_add(1);
        if *n > max_per_window(&self.limits, v) {
            return Err(v);
        }
        Ok(())
    }
}

fn max_per_window(l: &H2Limits, v: Violation) -> u32 {
    match v {
        Violation::EmptyData => l.max_empty_data,
        Violation::Resets => l.max_resets,
        Violation::Settings => l.max_settings,
        Violation::Pings => l.max_pings,
        Violation::WindowUpdates => l.max_small_window_updates,
        Violation::Priority => l.max_priority,
        Violation::Unknown => l.max_unknown,
        Violation::ConcurrentStreams
        | Violation::HeaderBlock
        | Violation::Continuations
        | Violation::SlowHeaders => u32::MAX,
    }
}

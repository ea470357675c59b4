//! A guard between the TLS stream and actix-http's HTTP/2 server: it reads the frame headers the
//! client sends and ends the connection with GOAWAY(ENHANCE_YOUR_CALM) when the client exceeds the
//! bounds that h2 0.3 leaves open (open streams, header block size, floods of cheap frames; see
//! docs/http2.md).

mod frame;
mod inbound;
mod outbound;
mod service;

pub use service::{accept_tls, rustls_guarded, Guarded};

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use inbound::Inbound;
use outbound::{Goaway, Outbound};

/// The bounds one HTTP/2 connection is held to. Counts marked "per window" restart every `window`.
#[derive(Clone, Debug)]
pub struct H2Limits {
    /// Client-opened streams open at once (a stream closes when both sides ended it or either
    /// reset it). h2 0.3 sets no SETTINGS_MAX_CONCURRENT_STREAMS under actix-http. Default 128.
    pub max_concurrent_streams: usize,
    /// Bytes of one header block on the wire (HEADERS plus its CONTINUATION payloads). Default 64 KiB.
    pub max_header_block: usize,
    /// CONTINUATION frames in one header block. Default 8.
    pub max_continuations: u32,
    /// The window the per-window counts below are taken over. Default 10 s.
    pub window: Duration,
    /// DATA frames with no payload and no END_STREAM, per window. Default 100.
    pub max_empty_data: u32,
    /// RST_STREAM frames from the client, per window (rapid reset). Default 100.
    pub max_resets: u32,
    /// SETTINGS frames (ACKs included), per window. Default 20.
    pub max_settings: u32,
    /// PING frames (ACKs included), per window. Default 50.
    pub max_pings: u32,
    /// WINDOW_UPDATE frames raising a window by less than `small_window_update` bytes, per window.
    /// Default 200.
    pub max_small_window_updates: u32,
    /// What counts as a small WINDOW_UPDATE increment. Default 1024.
    pub small_window_update: u32,
    /// PRIORITY frames, per window. Default 100.
    pub max_priority: u32,
    /// Frames of an unknown type (and PUSH_PROMISE, which a client never sends), per window. Default 20.
    pub max_unknown: u32,
    /// Longest a request head may take to arrive: from its first unjudged frame-header byte, or
    /// from a HEADERS frame, until the payload of the frame ending its header block is in.
    /// `None` (the default): no bound here (h2 and actix bound it only by the keep-alive PING).
    /// The gateway sets `timeouts.client_request`.
    pub header_timeout: Option<Duration>,
}

impl Default for H2Limits {
    fn default() -> Self {
        H2Limits {
            max_concurrent_streams: 128,
            max_header_block: 64 * 1024,
            max_continuations: 8,
            window: Duration::from_secs(10),
            max_empty_data: 100,
            max_resets: 100,
            max_settings: 20,
            max_pings: 50,
            max_small_window_updates: 200,
            small_window_update: 1024,
            max_priority: 100,
            max_unknown: 20,
            header_timeout: None,
        }
    }
}

/// Why a connection was cut off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    ConcurrentStreams,
    HeaderBlock,
    Continuations,
    EmptyData,
    Resets,
    Settings,
    Pings,
    WindowUpdates,
    Priority,
    Unknown,
    /// A request head (or trailers) still arriving after [`H2Limits::header_timeout`].
    SlowHeaders,
}

impl Violation {
    pub const ALL: [Violation; 11] = [
        Violation::ConcurrentStreams,
        Violation::HeaderBlock,
        Violation::Continuations,
        Violation::EmptyData,
        Violation::Resets,
        Violation::Settings,
        Violation::Pings,
        Violation::WindowUpdates,
        Violation::Priority,
        Violation::Unknown,
        Violation::SlowHeaders,
    ];

    /// A short name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Violation::ConcurrentStreams => "concurrent_streams",
            Violation::HeaderBlock => "header_block",
            Violation::Continuations => "continuations",
            Violation::EmptyData => "empty_data",
            Violation::Resets => "resets",
            Violation::Settings => "settings",
            Violation::Pings => "pings",
            Violation::WindowUpdates => "window_updates",
            Violation::Priority => "priority",
            Violation::Unknown => "unknown_frames",
            Violation::SlowHeaders => "slow_headers",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Connections cut off, by violation; shared by every connection of a listener (for metrics).
#[derive(Debug, Default)]
pub struct H2GuardStats {
    counts: [AtomicU64; Violation::ALL.len()],
}

impl H2GuardStats {
    /// Connections cut off for `v`.
    pub fn count(&self, v: Violation) -> u64 {
        self.counts[v.index()].load(Ordering::Relaxed)
    }

    /// Connections cut off, for any reason.
    pub fn total(&self) -> u64 {
        Violation::ALL.iter().map(|v| self.count(*v)).sum()
    }

    fn record(&self, v: Violation) {
        self.counts[v.index()].fetch_add(1, Ordering::Relaxed);
    }
}

/// Bytes read from the client at a time; also the most the guard holds.
const READ_CHUNK: usize = 16 * 1024;

/// An I/O stream whose client→server HTTP/2 frames are checked against [`H2Limits`] before h2 sees
/// them. Bytes are handed on once their frame's header was judged (payloads pass as they come);
/// on a violation the rest is dropped, GOAWAY(ENHANCE_YOUR_CALM) is written at the next outbound
/// frame boundary, and reads end (EOF). A passthrough guard (HTTP/1.1) checks nothing.
pub struct H2Guard<IO> {
    io: IO,
    /// `None`: passthrough.
    state: Option<Box<State>>,
}

struct State {
    inbound: Inbound,
    outbound: Outbound,
    stats: Arc<H2GuardStats>,
    buf: Box<[u8]>,
    /// `buf[start..approved]` is judged and not yet read by h2; `buf[approved..end]` is not judged.
    start: usize,
    approved: usize,
    end: usize,
    tripped: Option<Violation>,
    /// Since when a request head has been arriving, and the timer waking the task at its
    /// deadline ([`H2Limits::header_timeout`]).
    head_since: Option<Instant>,
    head_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// [`Inbound::heads_done`] when the clock last started: a head ending restarts it.
    heads_seen: u64,
}

impl<IO> H2Guard<IO> {
    /// Guards an HTTP/2 connection (ALPN `h2`).
    pub fn new(io: IO, limits: H2Limits, stats: Arc<H2GuardStats>) -> Self {
        let state = State {
            inbound: Inbound::new(limits),
            outbound: Outbound::default(),
            stats,
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            approved: 0,
            end: 0,
            tripped: None,
            head_since: None,
            head_timer: None,
            heads_seen: 0,
        };
        H2Guard {
            io,
            state: Some(Box::new(state)),
        }
    }

    /// Checks nothing (an HTTP/1.1 connection on the same listener).
    pub fn passthrough(io: IO) -> Self {
        H2Guard { io, state: None }
    }

    /// Why this connection was cut off, if it was.
    pub fn violation(&self) -> Option<Violation> {
        self.state.as_ref().and_then(|s| s.tripped)
    }

    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }
}

impl State {
    /// Judges what can be judged of `buf[approved..end]`; on a violation drops the unjudged rest.
    fn scan(&mut self) {
        let verdict = self.inbound.scan(&self.buf[self.approved..self.end]);
        self.approved += verdict.approved;
        if let Some(v) = verdict.violation {
            self.trip(v);
        }
    }

    fn trip(&mut self, v: Violation) {
        self.tripped = Some(v);
        self.end = self.approved;
        self.stats.record(v);
        self.outbound.goaway = Goaway::Pending {
            frame: outbound::goaway_frame(self.inbound.highest_stream()),
            sent: 0,
        };
        tracing::warn!(target: "soapgate::h2", violation = v.as_str(), "HTTP/2 client cut off");
    }

    /// Whether a request head has been arriving for longer than the limit. While one arrives and
    /// `cx` is given (the client sent nothing more), the timer wakes the task at the deadline.
    fn head_overdue(&mut self, cx: Option<&mut Context<'_>>) -> bool {
        let Some(limit) = self.inbound.header_timeout() else {
            return false;
        };
        let done = self.inbound.heads_done();
        if done != self.heads_seen || !self.inbound.head_arriving(self.end - self.approved) {
            self.heads_seen = done;
            self.head_since = None;
        }
        if !self.inbound.head_arriving(self.end - self.approved) {
            return false;
        }
        let deadline = *self.head_since.get_or_insert_with(Instant::now) + limit;
        if Instant::now() >= deadline {
            return true;
        }
        let Some(cx) = cx else { return false };
        let deadline = tokio::time::Instant::from_std(deadline);
        let timer = self
            .head_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx).is_ready()
    }

    /// Moves the unjudged tail to the front once h2 has read everything judged.
    fn compact(&mut self) {
        if self.start == self.approved && self.start > 0 {
            self.buf.copy_within(self.approved..self.end, 0);
            self.end -= self.approved;
            self.start = 0;
            self.approved = 0;
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> H2Guard<IO> {
    fn read_guarded(&mut self, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let Some(st) = self.state.as_deref_mut() else {
            return Pin::new(&mut self.io).poll_read(cx, out);
        };
        // Each turn reads at least one byte; a frame is judged after at most 13 of them.
        for _ in 0..32 {
            if st.start < st.approved {
                let n = (st.approved - st.start).min(out.remaining());
                out.put_slice(&st.buf[st.start..st.start + n]);
                st.start += n;
                return Poll::Ready(Ok(()));
            }
            if st.tripped.is_some() {
                let _ = st.outbound.drive(&mut self.io, cx);
                return Poll::Ready(Ok(()));
            }
            st.compact();
            let mut rb = ReadBuf::new(&mut st.buf[st.end..]);
            if Pin::new(&mut self.io).poll_read(cx, &mut rb)?.is_pending() {
                if st.head_overdue(Some(cx)) {
                    st.trip(Violation::SlowHeaders);
                    continue;
                }
                return Poll::Pending;
            }
            let n = rb.filled().len();
            if n == 0 {
                return Poll::Ready(Ok(()));
            }
            st.end += n;
            st.scan();
            if st.tripped.is_none() && st.head_overdue(None) {
                st.trip(Violation::SlowHeaders);
            }
            if st.tripped.is_some() {
                let _ = st.outbound.drive(&mut self.io, cx);
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for H2Guard<IO> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.get_mut().read_guarded(cx, buf)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncWrite for H2Guard<IO> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.state.as_deref_mut() {
            None => Pin::new(&mut this.io).poll_write(cx, buf),
            Some(st) => st.outbound.write(&mut this.io, cx, buf, st.inbound.streams_mut()),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(st) = this.state.as_deref_mut() {
            ready!(st.outbound.drive(&mut this.io, cx))?;
        }
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(st) = this.state.as_deref_mut() {
            ready!(st.outbound.drive(&mut this.io, cx))?;
        }
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;

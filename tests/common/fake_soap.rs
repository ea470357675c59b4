//! In-process fake SOAP backend: a raw HTTP/1.1 server with scriptable replies for integration tests.
//!
//! ```ignore
//! let fake = FakeSoap::new()
//!     .on("GetUser", Reply::soap11("<GetUserResponse><id>7</id></GetUserResponse>"))
//!     .on("Flaky", Reply::new().reset().times(1))
//!     .otherwise(Reply::fault11("Client", "unknown operation"))
//!     .start();
//! let url = fake.url("/soap");
//! // ... drive the gateway ...
//! assert_eq!(fake.hits(), 1);
//! ```
//!
//! The server runs on its own thread with its own current-thread tokio runtime, so a busy or
//! blocked test runtime never starves it. Dropping the [`FakeHandle`] stops it and closes every
//! connection (including hung ones).
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use regex::Regex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Maximum size of a request head (request line + headers).
const MAX_HEAD: usize = 64 * 1024;
/// Maximum size of a request body.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// How long a graceful close waits for the client to hang up before dropping the socket.
const CLOSE_DRAIN: Duration = Duration::from_millis(500);

pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const SOAP11_CONTENT_TYPE: &str = "text/xml; charset=utf-8";
pub const SOAP12_CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

// ---------------------------------------------------------------------------------------------
// Recorded requests
// ---------------------------------------------------------------------------------------------

/// One request as received by the fake.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// Request target exactly as sent (path plus query, if any).
    pub path: String,
    /// e.g. `HTTP/1.1`.
    pub version: String,
    /// Headers in arrival order, names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
    /// Body (de-chunked if it was sent chunked), decoded as lossy UTF-8.
    pub body: String,
    /// When the request had been fully read.
    pub at: Instant,
    /// 0-based index of the TCP connection it arrived on (see [`FakeHandle::connections`]).
    pub connection: usize,
}

impl RecordedRequest {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }

    /// The SOAP action: `SOAPAction` header (quotes stripped) or the `action=` Content-Type param.
    pub fn soap_action(&self) -> Option<&str> {
        let from_header = self.header("soapaction").map(|v| v.trim_matches('"'));
        from_header.or_else(|| self.header("content-type").and_then(content_type_action))
    }

    fn wants_close(&self) -> bool {
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        let has = |token: &str| connection.split(',').any(|t| t.trim() == token);
        has("close") || (self.version == "HTTP/1.0" && !has("keep-alive"))
    }
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn has_header(headers: &[(String, String)], name: &str) -> bool {
    header_value(headers, name).is_some()
}

/// The `action` parameter of a (SOAP 1.2) Content-Type value, quotes stripped.
fn content_type_action(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        let is_action = key.trim().eq_ignore_ascii_case("action");
        is_action.then(|| value.trim().trim_matches('"'))
    })
}

// ---------------------------------------------------------------------------------------------
// Reply builder
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Action {
    Respond,
    Reset,
    Hang,
    Raw(Vec<u8>),
}

/// What the fake does with a matched request. Build with a constructor, then chain modifiers.
#[derive(Clone, Debug)]
pub struct Reply {
    status: u16,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    action: Action,
    delay: Duration,
    chunked: bool,
    trickle: Option<(usize, Duration)>,
    close: bool,
    times: Option<usize>,
}

impl Default for Reply {
    fn default() -> Self {
        Self {
            status: 200,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
            action: Action::Respond,
            delay: Duration::ZERO,
            chunked: false,
            trickle: None,
            close: false,
            times: None,
        }
    }
}

impl Reply {
    /// Empty 200 response without Content-Type; a base for `.reset()`, `.hang()`, `.raw_response()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Exact body bytes, status 200, no Content-Type (set it with `.content_type()`/`.header()`).
    pub fn raw(body: impl Into<Vec<u8>>) -> Self {
        Self {
            body: body.into(),
            ..Self::default()
        }
    }

    /// `inner` wrapped in a SOAP 1.1 Envelope/Body; 200, `text/xml; charset=utf-8`.
    pub fn soap11(inner: &str) -> Self {
        Self::raw(envelope(SOAP11_NS, inner)).content_type(SOAP11_CONTENT_TYPE)
    }

    /// `inner` wrapped in a SOAP 1.2 Envelope/Body; 200, `application/soap+xml; charset=utf-8`.
    pub fn soap12(inner: &str) -> Self {
        Self::raw(envelope(SOAP12_NS, inner)).content_type(SOAP12_CONTENT_TYPE)
    }

    /// SOAP 1.1 fault, status 500. An unprefixed `code` (e.g. `Server`) gets the `soap:` prefix.
    pub fn fault11(code: &str, string: &str) -> Self {
        Self::fault11_detail(code, string, None)
    }

    /// SOAP 1.1 fault with an optional `<detail>` whose inner XML is inserted verbatim.
    pub fn fault11_detail(code: &str, string: &str, detail_xml: Option<&str>) -> Self {
        let detail = detail_xml.map_or(String::new(), |d| format!("<detail>{d}</detail>"));
        let fault = format!(
            "<soap:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring>{detail}</soap:Fault>",
            qualify(code),
            xml_escape(string)
        );
        Self::soap11(&fault).status(500)
    }

    /// SOAP 1.2 fault, status 500. An unprefixed `code` (e.g. `Receiver`) gets the `soap:` prefix;
    /// `subcode` is inserted as given.
    pub fn fault12(code: &str, subcode: Option<&str>, reason: &str) -> Self {
        let subcode = subcode.map_or(String::new(), |s| {
            format!("<soap:Subcode><soap:Value>{s}</soap:Value></soap:Subcode>")
        });
        let fault = format!(
            "<soap:Fault><soap:Code><soap:Value>{}</soap:Value>{subcode}</soap:Code>\
             <soap:Reason><soap:Text xml:lang=\"en\">{}</soap:Text></soap:Reason></soap:Fault>",
            qualify(code),
            xml_escape(reason)
        );
        Self::soap12(&fault).status(500)
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Extra response header, sent verbatim. A user `Content-Length`, `Transfer-Encoding` or
    /// `Connection` header suppresses the one the fake would add itself (handy for lying framing).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn content_type(mut self, value: impl Into<String>) -> Self {
        self.content_type = Some(value.into());
        self
    }

    /// Wait this long after reading the request, before sending anything (or resetting).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Send the body with `Transfer-Encoding: chunked` (split into ~3 chunks, or trickle-sized).
    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    /// Send headers at once, then the body in `chunk_size` pieces, sleeping `interval` before
    /// each piece. With `.raw_response()` the raw bytes are trickled instead.
    pub fn trickle(mut self, chunk_size: usize, interval: Duration) -> Self {
        self.trickle = Some((chunk_size.max(1), interval));
        self
    }

    /// Close the connection abruptly (RST via SO_LINGER 0) without sending any byte.
    pub fn reset(mut self) -> Self {
        self.action = Action::Reset;
        self
    }

    /// Never answer; the socket stays open until the server is dropped.
    pub fn hang(mut self) -> Self {
        self.action = Action::Hang;
        self
    }

    /// Send `Connection: close` and close the connection after the response.
    pub fn close(mut self) -> Self {
        self.close = true;
        self
    }

    /// Write exactly these bytes as the whole HTTP response (status line included), then close.
    pub fn raw_response(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.action = Action::Raw(bytes.into());
        self
    }

    /// Use this reply for the first `n` matching requests only; later ones fall through.
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }

    /// Whether the connection must be closed after this reply.
    fn closes(&self) -> bool {
        let user_close = header_value(&self.headers, "connection")
            .is_some_and(|v| v.to_ascii_lowercase().contains("close"));
        self.close || user_close
    }

    fn head(&self, close: bool) -> Vec<u8> {
        let mut head = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        if let Some(ct) = &self.content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let framed =
            has_header(&self.headers, "content-length") || has_header(&self.headers, "transfer-encoding");
        if self.chunked && !framed {
            head.push_str("Transfer-Encoding: chunked\r\n");
        } else if !framed && !matches!(self.status, 100..=199 | 204 | 304) {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        if close && !has_header(&self.headers, "connection") {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    /// Body split into the pieces to write (chunk-encoded if `.chunked()`).
    fn body_pieces(&self) -> Vec<Vec<u8>> {
        let size = match self.trickle {
            Some((size, _)) => size,
            None if self.chunked => self.body.len().div_ceil(3).max(1),
            None => self.body.len().max(1),
        };
        let pieces = self.body.chunks(size).map(<[u8]>::to_vec);
        if !self.chunked {
            return pieces.collect();
        }
        let mut encoded: Vec<Vec<u8>> = pieces.map(|p| encode_chunk(&p)).collect();
        encoded.push(b"0\r\n\r\n".to_vec());
        encoded
    }
}

fn encode_chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn envelope(ns: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
         <soap:Envelope xmlns:soap=\"{ns}\"><soap:Body>{inner}</soap:Body></soap:Envelope>"
    )
}

fn qualify(code: &str) -> String {
    if code.contains(':') {
        code.to_owned()
    } else {
        format!("soap:{code}")
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

struct Matcher {
    key: String,
    element: Regex,
}

impl Matcher {
    fn new(key: &str) -> Self {
        let pattern = format!(r"<\s*/?(?:[\w.\-]+:)?{}[\s/>]", regex::escape(key));
        Self {
            key: key.to_owned(),
            element: Regex::new(&pattern).expect("escaped key yields a valid regex"),
        }
    }

    fn matches(&self, req: &RecordedRequest) -> bool {
        let in_header = req.header("soapaction").is_some_and(|v| v.contains(&self.key));
        let in_content_type = req
            .header("content-type")
            .and_then(content_type_action)
            .is_some_and(|a| a.contains(&self.key));
        in_header || in_content_type || self.element.is_match(&req.body)
    }
}

struct Rule {
    /// `None` matches everything (the `.otherwise()` default).
    matcher: Option<Matcher>,
    remaining: Option<usize>,
    reply: Reply,
}

impl Rule {
    fn new(matcher: Option<Matcher>, reply: Reply) -> Self {
        Self {
            matcher,
            remaining: reply.times,
            reply,
        }
    }

    /// If this rule applies, consume one use and return its reply.
    fn take(&mut self, req: &RecordedRequest) -> Option<Reply> {
        let matched = self.matcher.as_ref().is_none_or(|m| m.matches(req));
        if !matched || self.remaining == Some(0) {
            return None;
        }
        if let Some(left) = self.remaining.as_mut() {
            *left -= 1;
        }
        Some(self.reply.clone())
    }
}

fn no_route_fault() -> Reply {
    Reply::fault11("Server", "fake SOAP backend: no route matched this request")
}

// ---------------------------------------------------------------------------------------------
// Builder and handle
// ---------------------------------------------------------------------------------------------

/// Builder for a fake SOAP backend. Rules are tried in order; the first match wins.
#[derive(Default)]
pub struct FakeSoap {
    rules: Vec<Rule>,
    default: Option<Reply>,
}

impl FakeSoap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reply with `reply` when the SOAPAction header or Content-Type `action=` contains `key`, or
    /// the body has an element whose local name is exactly `key` (`<key>`, `<p:key ...>`, ...).
    pub fn on(mut self, key: &str, reply: Reply) -> Self {
        self.rules.push(Rule::new(Some(Matcher::new(key)), reply));
        self
    }

    /// Reply used when no `.on()` rule matches (default: 500 SOAP 1.1 `soap:Server` fault).
    pub fn otherwise(mut self, reply: Reply) -> Self {
        self.default = Some(reply);
        self
    }

    /// Bind 127.0.0.1:0 and start serving on a dedicated thread.
    pub fn start(self) -> FakeHandle {
        let listener = StdListener::bind("127.0.0.1:0").expect("bind fake SOAP listener");
        listener
            .set_nonblocking(true)
            .expect("make fake SOAP listener non-blocking");
        let addr = listener.local_addr().expect("fake SOAP listener address");
        let mut rules = self.rules;
        rules.extend(self.default.map(|reply| Rule::new(None, reply)));
        let shared = Arc::new(Shared {
            rules: Mutex::new(rules),
            requests: Mutex::default(),
            connections: AtomicUsize::new(0),
        });
        let (shutdown, shutdown_rx) = oneshot::channel();
        let server_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("fake-soap-{}", addr.port()))
            .spawn(move || serve(listener, server_shared, shutdown_rx))
            .expect("spawn fake SOAP thread");
        FakeHandle {
            addr,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// A URL (`http://127.0.0.1:PORT/`) on which nothing listens: connecting is refused.
    pub fn refused_url() -> String {
        let listener = StdListener::bind("127.0.0.1:0").expect("bind probe listener");
        let port = listener.local_addr().expect("probe listener address").port();
        drop(listener);
        format!("http://127.0.0.1:{port}/")
    }
}

/// A running fake backend. Dropping it stops the server and closes all its connections.
pub struct FakeHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeHandle {
    /// `http://127.0.0.1:PORT/path` (a leading `/` is added if missing).
    pub fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("http://{}{slash}{path}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Number of fully received requests.
    pub fn hits(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Snapshot of all received requests, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    pub fn last_request(&self) -> Option<RecordedRequest> {
        lock(&self.shared.requests).last().cloned()
    }

    /// Number of accepted TCP connections.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Forget recorded requests (the connection counter is kept).
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Poll until at least `n` requests arrived; false on timeout.
    pub async fn wait_for_hits(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.hits() < n {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Stop the server now (same as dropping the handle).
    pub fn stop(self) {}
}

impl Drop for FakeHandle {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

struct Shared {
    rules: Mutex<Vec<Rule>>,
    requests: Mutex<Vec<RecordedRequest>>,
    connections: AtomicUsize,
}

impl Shared {
    fn route(&self, req: &RecordedRequest) -> Reply {
        let mut rules = lock(&self.rules);
        rules
            .iter_mut()
            .find_map(|rule| rule.take(req))
            .unwrap_or_else(no_route_fault)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Thread body: own runtime; returning drops the runtime, which drops every connection task.
fn serve(listener: StdListener, shared: Arc<Shared>, shutdown: oneshot::Receiver<()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build fake SOAP runtime");
    runtime.block_on(async move {
        let listener = TcpListener::from_std(listener).expect("register fake SOAP listener");
        tokio::select! {
            () = accept_loop(listener, shared) => {}
            _ = shutdown => {}
        }
    });
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let id = shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(stream, id, Arc::clone(&shared)));
            }
            // e.g. EMFILE: back off instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn serve_connection(stream: TcpStream, id: usize, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        buf: BytesMut::with_capacity(16 * 1024),
    };
    loop {
        let req = match conn.read_request(id).await {
            Ok(req) => req,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad(status, msg)) => return conn.send_error(status, msg).await,
        };
        let client_close = req.wants_close();
        let reply = shared.route(&req);
        lock(&shared.requests).push(req);
        if !conn.respond(&reply, client_close).await {
            return;
        }
    }
}

enum ReadError {
    /// EOF or I/O error: drop the connection silently.
    Closed,
    /// Malformed or oversized request: answer with this status, then close.
    Bad(u16, &'static str),
}

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

struct Head {
    method: String,
    path: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Conn {
    async fn read_request(&mut self, id: usize) -> Result<RecordedRequest, ReadError> {
        let head = self.read_head().await?;
        if header_value(&head.headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(|_| ReadError::Closed)?;
        }
        let body = self.read_body(&head.headers).await?;
        Ok(RecordedRequest {
            method: head.method,
            path: head.path,
            version: head.version,
            headers: head.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
            connection: id,
        })
    }

    /// Read more bytes into the buffer; EOF and errors both end the connection.
    async fn fill(&mut self) -> Result<(), ReadError> {
        self.buf.reserve(16 * 1024);
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) | Err(_) => Err(ReadError::Closed),
            Ok(_) => Ok(()),
        }
    }

    /// Bytes up to (excluding) `delim`, consuming the delimiter; `Bad(status)` past `limit`.
    async fn read_until(&mut self, delim: &[u8], limit: usize, status: u16) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(pos) = find(&self.buf, delim) {
                let line = self.buf.split_to(pos).to_vec();
                let _ = self.buf.split_to(delim.len());
                return Ok(line);
            }
            if self.buf.len() > limit {
                return Err(ReadError::Bad(status, "request head too large"));
            }
            self.fill().await?;
        }
    }

    async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() < n {
            self.fill().await?;
        }
        Ok(self.buf.split_to(n).to_vec())
    }

    async fn read_head(&mut self) -> Result<Head, ReadError> {
        // Tolerate stray CRLFs between pipelined requests.
        loop {
            while self.buf.starts_with(b"\r\n") {
                let _ = self.buf.split_to(2);
            }
            if self.buf.len() >= 2 || (self.buf.len() == 1 && self.buf[0] != b'\r') {
                break;
            }
            self.fill().await?;
        }
        let raw = self.read_until(b"\r\n\r\n", MAX_HEAD, 431).await?;
        parse_head(&raw)
    }

    async fn read_body(&mut self, headers: &[(String, String)]) -> Result<Vec<u8>, ReadError> {
        let chunked = header_value(headers, "transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            return self.read_chunked().await;
        }
        let Some(length) = header_value(headers, "content-length") else {
            return Ok(Vec::new());
        };
        let length: usize = length
            .parse()
            .map_err(|_| ReadError::Bad(400, "invalid Content-Length"))?;
        if length > MAX_BODY {
            return Err(ReadError::Bad(413, "request body too large"));
        }
        self.read_exact(length).await
    }

    async fn read_chunked(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_until(b"\r\n", MAX_HEAD, 400).await?;
            let size = parse_chunk_size(&line)?;
            if size == 0 {
                return self.skip_trailers().await.map(|()| body);
            }
            if body.len().saturating_add(size) > MAX_BODY {
                return Err(ReadError::Bad(413, "request body too large"));
            }
            body.extend(self.read_exact(size).await?);
            if self.read_exact(2).await? != b"\r\n" {
                return Err(ReadError::Bad(400, "malformed chunk"));
            }
        }
    }

    async fn skip_trailers(&mut self) -> Result<(), ReadError> {
        while !self.read_until(b"\r\n", MAX_HEAD, 400).await?.is_empty() {}
        Ok(())
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    /// Act out `reply`; returns whether the connection stays open for another request.
    async fn respond(&mut self, reply: &Reply, client_close: bool) -> bool {
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        match &reply.action {
            Action::Reset => {
                let _ = self.stream.set_zero_linger();
                false
            }
            Action::Hang => std::future::pending().await,
            Action::Raw(bytes) => {
                let _ = self.write_raw(bytes, reply.trickle).await;
                self.close_gracefully().await;
                false
            }
            Action::Respond => {
                let close = client_close || reply.closes();
                let written = self.write_reply(reply, close).await.is_ok();
                if close || !written {
                    self.close_gracefully().await;
                }
                written && !close
            }
        }
    }

    async fn write_reply(&mut self, reply: &Reply, close: bool) -> std::io::Result<()> {
        let interval = reply.trickle.map(|(_, interval)| interval);
        let head = reply.head(close);
        let pieces = reply.body_pieces();
        if interval.is_none() && !reply.chunked {
            return self.write(&[head, pieces.concat()].concat()).await;
        }
        self.write(&head).await?;
        for piece in pieces {
            if let Some(interval) = interval {
                tokio::time::sleep(interval).await;
            }
            self.write(&piece).await?;
        }
        Ok(())
    }

    async fn write_raw(&mut self, bytes: &[u8], trickle: Option<(usize, Duration)>) -> std::io::Result<()> {
        let Some((size, interval)) = trickle else {
            return self.write(bytes).await;
        };
        for (i, piece) in bytes.chunks(size).enumerate() {
            if i > 0 {
                tokio::time::sleep(interval).await;
            }
            self.write(piece).await?;
        }
        Ok(())
    }

    async fn send_error(mut self, status: u16, message: &str) {
        let reply = Reply::raw(message).status(status).content_type("text/plain");
        let _ = self.write_reply(&reply, true).await;
        self.close_gracefully().await;
    }

    /// Send FIN, then briefly drain input so unread request bytes do not turn the close into a RST.
    async fn close_gracefully(&mut self) {
        let _ = self.stream.shutdown().await;
        let mut sink = [0u8; 4096];
        let drain = async { while matches!(self.stream.read(&mut sink).await, Ok(n) if n > 0) {} };
        let _ = tokio::time::timeout(CLOSE_DRAIN, drain).await;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_chunk_size(line: &[u8]) -> Result<usize, ReadError> {
    let line = String::from_utf8_lossy(line);
    let size = line.split(';').next().unwrap_or("").trim();
    usize::from_str_radix(size, 16).map_err(|_| ReadError::Bad(400, "invalid chunk size"))
}

fn parse_head(raw: &[u8]) -> Result<Head, ReadError> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let parts: Vec<&str> = request_line.split_whitespace().collect();
    let [method, path, version] = parts[..] else {
        return Err(ReadError::Bad(400, "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(400, "unsupported HTTP version"));
    }
    let headers = lines.map(parse_header_line).collect::<Result<Vec<_>, _>>()?;
    Ok(Head {
        method: method.to_owned(),
        path: path.to_owned(),
        version: version.to_owned(),
        headers,
    })
}

fn parse_header_line(line: &str) -> Result<(String, String), ReadError> {
    match line.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(ReadError::Bad(400, "malformed header line")),
    }
}

// ---------------------------------------------------------------------------------------------
// Self-tests (raw TCP client against the fake)
// ---------------------------------------------------------------------------------------------

mod selftest {
    use super::*;

    fn post(path: &str, extra_headers: &str, body: &str) -> String {
        format!(
            "POST {path} HTTP/1.1\r\nHost: fake\r\nContent-Length: {}\r\nConnection: close\r\n\
             {extra_headers}\r\n{body}",
            body.len()
        )
    }

    /// Send `request`, read until the server closes.
    async fn exchange(addr: SocketAddr, request: &str) -> std::io::Result<Vec<u8>> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await?;
        Ok(out)
    }

    async fn exchange_text(addr: SocketAddr, request: &str) -> String {
        let bytes = exchange(addr, request).await.expect("exchange with fake");
        String::from_utf8(bytes).expect("utf-8 response")
    }

    fn split_response(response: &str) -> (&str, &str) {
        response.split_once("\r\n\r\n").expect("response has a head")
    }

    fn dechunk(mut body: &str) -> String {
        let mut out = String::new();
        loop {
            let (size, rest) = body.split_once("\r\n").expect("chunk size line");
            let size = usize::from_str_radix(size, 16).expect("hex chunk size");
            if size == 0 {
                return out;
            }
            out.push_str(&rest[..size]);
            body = &rest[size + 2..];
        }
    }

    #[actix_rt::test]
    async fn soap11_round_trip_counts_hits_and_captures_headers() {
        let fake = FakeSoap::new().otherwise(Reply::soap11("<r>ok</r>")).start();
        let request = post("/svc", "X-Test: yes\r\n", "<x/>");
        let response = exchange_text(fake.addr(), &request).await;
        let (head, body) = split_response(&response);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("Content-Type: text/xml; charset=utf-8"), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head}"
        );
        assert!(body.contains(SOAP11_NS) && body.contains("<soap:Body><r>ok</r></soap:Body>"));
        assert_eq!(fake.hits(), 1);
        assert_eq!(fake.connections(), 1);
        let req = fake.last_request().expect("a recorded request");
        assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/svc"));
        assert_eq!(req.header("x-TEST"), Some("yes"));
        assert_eq!(req.body, "<x/>");
    }

    #[actix_rt::test]
    async fn routes_by_soap_action_content_type_body_and_times() {
        let fake = FakeSoap::new()
            .on("GetA", Reply::soap11("<a/>"))
            .on("GetB", Reply::soap11("<b/>"))
            .on("Once", Reply::soap11("<first/>").times(1))
            .on("Once", Reply::soap11("<later/>"))
            .start();
        let by_header = post("/", "SOAPAction: \"urn:x#GetB\"\r\n", "<Other/>");
        assert!(exchange_text(fake.addr(), &by_header).await.contains("<b/>"));
        let soap12 = "Content-Type: application/soap+xml; charset=utf-8; action=\"urn:GetB\"\r\n";
        assert!(exchange_text(fake.addr(), &post("/", soap12, ""))
            .await
            .contains("<b/>"));
        let by_body = post("/", "", "<m:GetA xmlns:m=\"urn:m\"><id>1</id></m:GetA>");
        assert!(exchange_text(fake.addr(), &by_body).await.contains("<a/>"));
        let once = post("/", "", "<Once/>");
        assert!(exchange_text(fake.addr(), &once).await.contains("<first/>"));
        assert!(exchange_text(fake.addr(), &once).await.contains("<later/>"));
        let unmatched = exchange_text(fake.addr(), &post("/", "", "<GetAll/>")).await;
        assert!(unmatched.starts_with("HTTP/1.1 500"), "{unmatched}");
        assert!(unmatched.contains("<faultcode>soap:Server</faultcode>"));
        assert_eq!(fake.hits(), 6);
    }

    #[actix_rt::test]
    async fn keep_alive_serves_pipelined_requests_on_one_connection() {
        let fake = FakeSoap::new().otherwise(Reply::soap12("<ok/>")).start();
        let first = "POST /a HTTP/1.1\r\nHost: fake\r\nTransfer-Encoding: chunked\r\n\r\n\
                     3\r\n<ok\r\n2\r\n/>\r\n0\r\n\r\n";
        let request = format!("{first}{}", post("/b", "", "<second/>"));
        let response = exchange_text(fake.addr(), &request).await;
        assert_eq!(response.matches("HTTP/1.1 200 OK").count(), 2, "{response}");
        assert!(response.contains(SOAP12_CONTENT_TYPE));
        assert_eq!((fake.connections(), fake.hits()), (1, 2));
        let requests = fake.requests();
        assert_eq!(requests[0].body, "<ok/>");
        assert_eq!(requests[1].body, "<second/>");
    }

    #[actix_rt::test]
    async fn chunked_reply_is_chunk_encoded() {
        let fake = FakeSoap::new()
            .otherwise(Reply::fault12("Receiver", Some("m:Busy"), "try later").chunked())
            .start();
        let response = exchange_text(fake.addr(), &post("/", "", "")).await;
        let (head, body) = split_response(&response);
        assert!(head.starts_with("HTTP/1.1 500"), "{head}");
        assert!(head.contains("Transfer-Encoding: chunked") && !head.contains("Content-Length"));
        let xml = dechunk(body);
        assert!(
            xml.starts_with("<?xml") && xml.ends_with("</soap:Envelope>"),
            "{xml}"
        );
        assert!(xml.contains("<soap:Value>soap:Receiver</soap:Value>"));
        assert!(xml.contains("<soap:Value>m:Busy</soap:Value>"));
    }

    #[actix_rt::test]
    async fn delay_postpones_the_response() {
        let delay = Duration::from_millis(200);
        let fake = FakeSoap::new()
            .otherwise(Reply::soap11("<late/>").delay(delay))
            .start();
        let started = Instant::now();
        let response = exchange_text(fake.addr(), &post("/", "", "")).await;
        assert!(started.elapsed() >= delay);
        assert!(response.contains("<late/>"));
    }

    #[actix_rt::test]
    async fn reset_sends_no_bytes() {
        let fake = FakeSoap::new().otherwise(Reply::new().reset()).start();
        match exchange(fake.addr(), &post("/", "", "<x/>")).await {
            Ok(bytes) => assert!(bytes.is_empty(), "got {bytes:?}"),
            Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset),
        }
        assert_eq!(fake.hits(), 1);
    }

    #[actix_rt::test]
    async fn raw_response_arrives_verbatim() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\nX-Broken\r\n\r\n\xff\x00garbage";
        let fake = FakeSoap::new()
            .otherwise(Reply::new().raw_response(raw.to_vec()))
            .start();
        let bytes = exchange(fake.addr(), &post("/", "", "")).await.expect("exchange");
        assert_eq!(bytes, raw.to_vec());
    }

    #[actix_rt::test]
    async fn hang_is_released_when_the_handle_drops() {
        let fake = FakeSoap::new().otherwise(Reply::new().hang()).start();
        let mut stream = TcpStream::connect(fake.addr()).await.expect("connect");
        stream
            .write_all(post("/", "", "").as_bytes())
            .await
            .expect("send");
        assert!(fake.wait_for_hits(1, Duration::from_secs(5)).await);
        let mut buf = [0u8; 16];
        let early = tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await;
        assert!(early.is_err(), "hung reply must not answer");
        drop(fake);
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0) | Err(_))), "{read:?}");
    }

    #[actix_rt::test]
    async fn malformed_request_gets_400_and_refused_url_refuses() {
        let fake = FakeSoap::new().start();
        let response = exchange_text(fake.addr(), "NONSENSE\r\n\r\n").await;
        assert!(response.starts_with("HTTP/1.1 400"), "{response}");
        assert_eq!(fake.hits(), 0);
        let url = FakeSoap::refused_url();
        let addr = url.trim_start_matches("http://").trim_end_matches('/');
        assert!(TcpStream::connect(addr).await.is_err());
        assert_eq!(fake.url("svc"), format!("http://127.0.0.1:{}/svc", fake.port()));
    }
}

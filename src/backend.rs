//! Backend calls with awc: one client per worker, timeouts, no redirects, round-robin with failover.

use crate::breaker::{Allow, Breaker, BreakerSpec};
use crate::config::raw::RawBackend;
use crate::config::{duration_or, Diagnostics, Settings};
use crate::credentials::Credentials;
use crate::error::GatewayError;
use crate::soap::envelope::Envelope;
use crate::soap::SoapVersion;
use actix_web::http::header;
use awc::error::{ConnectError, PayloadError, SendRequestError};
use bytes::Bytes;
use std::path::Path;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A service's backend endpoints and how to talk to them.
#[derive(Debug)]
pub struct BackendSpec {
    pub urls: Vec<String>,
    pub version: SoapVersion,
    pub timeout: Duration,
    pub namespace: Option<String>,
    /// What soapgate presents to the backend (`backend.credentials`).
    pub credentials: Option<Credentials>,
    /// One circuit breaker per URL.
    breakers: Vec<Breaker>,
    next: AtomicUsize,
    /// Per URL: may its connections be reused? Learned from the first response (see [`Reuse`]).
    reuse: Vec<AtomicU8>,
}

/// Whether a backend keeps connections open. Until a response shows HTTP/1.1 (or an explicit
/// HTTP/1.0 keep-alive), requests carry `Connection: close`: awc would otherwise pool an
/// HTTP/1.0 connection the server is closing, and the next request on it would be lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Reuse {
    Unknown = 0,
    KeepAlive = 1,
    Close = 2,
}

/// What the backend sent back.
#[derive(Debug)]
pub struct BackendReply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl BackendSpec {
    /// Validates the raw `backend:` block of a mapping; `default_version` comes from the WSDL,
    /// `base` (the folder of soapgate.yaml) anchors relative secret files.
    pub fn build(
        raw: &RawBackend,
        s: &Settings,
        default_version: Option<SoapVersion>,
        base: &Path,
        file: &str,
        d: &mut Diagnostics,
    ) -> BackendSpec {
        if raw.urls.is_empty() {
            d.error(
                file,
                "backend.urls",
                "no backend URL",
                "list at least one http:// URL",
            );
        }
        for (i, u) in raw.urls.iter().enumerate() {
            match u.parse::<awc::http::Uri>() {
                Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => {}
                Ok(uri) if uri.scheme_str() == Some("https") => d.error(
                    file,
                    &format!("backend.urls[{i}]"),
                    "https backends need TLS, which this build does not include",
                    "use an http:// URL or a TLS-terminating sidecar",
                ),
                _ => d.error(
                    file,
                    &format!("backend.urls[{i}]"),
                    format!("`{u}` is not an absolute http URL"),
                    "write a URL such as http://127.0.0.1:9001/Service",
                ),
            }
        }
        let version = match raw.soap_version.as_deref() {
            None => default_version.unwrap_or(SoapVersion::V11),
            Some("1.1") => SoapVersion::V11,
            Some("1.2") => SoapVersion::V12,
            Some(v) => {
                d.error(
                    file,
                    "backend.soap_version",
                    format!("unknown SOAP version `{v}`"),
                    "use \"1.1\" or \"1.2\"",
                );
                SoapVersion::V11
            }
        };
        let timeout = duration_or(&raw.timeout, s.backend_total_timeout, file, "backend.timeout", d);
        let credentials = raw
            .credentials
            .as_ref()
            .and_then(|c| Credentials::build(&c.0, base, file, timeout, d));
        BackendSpec {
            urls: raw.urls.clone(),
            version,
            timeout,
            namespace: raw.namespace.clone(),
            credentials,
            breakers: {
                let spec = BreakerSpec::build(raw.circuit_breaker.as_ref(), file, d);
                raw.urls.iter().map(|_| Breaker::new(spec)).collect()
            },
            next: AtomicUsize::new(0),
            reuse: raw
                .urls
                .iter()
                .map(|_| AtomicU8::new(Reuse::Unknown as u8))
                .collect(),
        }
    }

    /// URLs in the order to try them: round-robin start, then the others for failover.
    fn rotation(&self) -> impl Iterator<Item = usize> {
        let n = self.urls.len().max(1);
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        (0..self.urls.len()).map(move |i| (start + i) % n)
    }

    fn may_reuse(&self, i: usize) -> bool {
        self.reuse
            .get(i)
            .is_some_and(|r| r.load(Ordering::Relaxed) == Reuse::KeepAlive as u8)
    }

    fn learn_reuse(&self, i: usize, version: awc::http::Version, headers: &awc::http::header::HeaderMap) {
        let says = |token: &str| {
            headers
                .get(header::CONNECTION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        };
        // Asked on a `Connection: close` request, so a `close` in the answer is only an echo:
        // HTTP/1.1 servers keep connections by default; HTTP/1.0 ones only when they say so.
        let keep = version != awc::http::Version::HTTP_10 || says("keep-alive");
        let state = if keep { Reuse::KeepAlive } else { Reuse::Close };
        if let Some(r) = self.reuse.get(i) {
            r.store(state as u8, Ordering::Relaxed);
        }
    }
}

/// How long a pooled backend connection may stay idle before it is closed.
pub const POOL_IDLE: Duration = Duration::from_secs(30);

/// Builds the per-worker client: pooled keep-alive connections, connect timeout, no redirects.
pub fn client(s: &Settings) -> awc::Client {
    client_with(s.backend_connect_timeout, s.backend_total_timeout)
}

fn client_with(connect: Duration, total: Duration) -> awc::Client {
    let connector = awc::Connector::new()
        .timeout(connect)
        .conn_keep_alive(POOL_IDLE)
        .conn_lifetime(Duration::from_secs(300));
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .no_default_headers()
        .timeout(total)
        .finish()
}

/// A worker's backend client. awc closes an idle pooled connection only when the pool is next
/// used, so after a burst the pool's sockets (up to its limit, per backend) would stay open, in
/// CLOSE_WAIT once the backend times them out, for as long as no request comes (THREATS.md E5).
/// [`WorkerClient::sweep`] replaces a client unused for [`POOL_IDLE`] with a fresh one: the old
/// pool closes its connections as soon as the last request holding it finishes.
pub struct WorkerClient {
    connect: Duration,
    total: Duration,
    client: std::cell::RefCell<awc::Client>,
    /// The last request's time; `None` while the pool is a fresh, empty one.
    last_used: std::cell::Cell<Option<std::time::Instant>>,
}

impl WorkerClient {
    pub fn new(connect: Duration, total: Duration) -> WorkerClient {
        WorkerClient {
            connect,
            total,
            client: std::cell::RefCell::new(client_with(connect, total)),
            last_used: std::cell::Cell::new(None),
        }
    }

    /// The client for one request (a cheap handle on the worker's pool).
    pub fn get(&self) -> awc::Client {
        self.last_used.set(Some(std::time::Instant::now()));
        self.client.borrow().clone()
    }

    /// Drops the pool when it was not used for `idle`; true when it did.
    pub fn sweep(&self, idle: Duration) -> bool {
        match self.last_used.get() {
            Some(t) if t.elapsed() >= idle => {
                *self.client.borrow_mut() = client_with(self.connect, self.total);
                self.last_used.set(None);
                true
            }
            _ => false,
        }
    }

    /// Runs [`WorkerClient::sweep`] on the current worker every `POOL_IDLE / 2` until the worker
    /// (the last strong reference) goes away.
    pub fn spawn_sweeper(this: &std::sync::Arc<WorkerClient>) {
        let weak = std::sync::Arc::downgrade(this);
        actix_rt::spawn(async move {
            let mut tick = actix_rt::time::interval(POOL_IDLE / 2);
            tick.tick().await;
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(c) => {
                        c.sweep(POOL_IDLE);
                    }
                    None => break,
                }
            }
        });
    }
}

/// Sends the envelope; fails over to the next URL only on connect errors (nothing was sent).
pub async fn call(
    client: &awc::Client,
    spec: &BackendSpec,
    env: &Envelope,
    correlation_id: &str,
    limit: usize,
) -> Result<BackendReply, GatewayError> {
    // Credentials first (a token may need fetching): without them nothing is sent.
    let authorization = match &spec.credentials {
        Some(c) => c.authorization(client).await?,
        None => None,
    };
    let mut last = String::from("no backend URL");
    let mut open_for: Option<Duration> = None;
    for i in spec.rotation() {
        let url = spec.urls[i].as_str();
        let breaker = spec.breakers.get(i);
        if let Some(Allow::No(wait)) = breaker.map(|b| b.allow(Instant::now())) {
            open_for = Some(open_for.map_or(wait, |w| w.min(wait)));
            continue;
        }
        let judge = |ok: bool| {
            if let Some(b) = breaker {
                b.record(ok, url, Instant::now());
            }
        };
        let attempt = send_one(
            client,
            spec,
            i,
            env,
            correlation_id,
            authorization.as_ref(),
            limit,
        );
        match actix_rt::time::timeout(spec.timeout, attempt).await {
            Err(_) => {
                judge(false);
                return Err(GatewayError::UpstreamTimeout(spec.timeout.as_millis()));
            }
            Ok(Err(Attempt::Connect(e))) => {
                judge(false);
                tracing::warn!(backend = url, error = %e, "backend connect failed, trying the next URL");
                last = format!("{url}: {e}");
            }
            Ok(Err(Attempt::Failed(e))) => {
                judge(false);
                return Err(e);
            }
            Ok(Ok(reply)) => {
                // A SOAP Fault (500) is an answer; a gateway-class status is a failing backend.
                judge(!matches!(reply.status, 502..=504));
                if reply.status == 401 {
                    if let Some(c) = &spec.credentials {
                        c.rejected();
                    }
                }
                return Ok(reply);
            }
        }
    }
    match open_for {
        Some(wait) if last == "no backend URL" => Err(GatewayError::CircuitOpen(wait.as_secs().max(1))),
        _ => Err(GatewayError::UpstreamUnavailable(last)),
    }
}

enum Attempt {
    Connect(String),
    Failed(GatewayError),
}

async fn send_one(
    client: &awc::Client,
    spec: &BackendSpec,
    i: usize,
    env: &Envelope,
    correlation_id: &str,
    authorization: Option<&header::HeaderValue>,
    limit: usize,
) -> Result<BackendReply, Attempt> {
    let mut req = client
        .post(spec.urls[i].as_str())
        .timeout(spec.timeout)
        .insert_header((header::CONTENT_TYPE, env.content_type.as_str()))
        .insert_header(("X-Correlation-ID", correlation_id))
        .insert_header((header::ACCEPT, "text/xml, application/soap+xml"));
    if let Some(a) = &env.soap_action {
        req = req.insert_header(("SOAPAction", a.as_str()));
    }
    if let Some(v) = authorization {
        req = req.insert_header((header::AUTHORIZATION, v.clone()));
    }
    let reuse = spec.may_reuse(i);
    if !reuse {
        req = req.force_close();
    }
    let mut resp = req
        .send_body(env.body.clone())
        .await
        .map_err(|e| send_error(e, spec.timeout))?;
    if !reuse {
        spec.learn_reuse(i, resp.version(), resp.headers());
    }
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let declared = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    // The client's total timeout still applies to every chunk of the stream.
    let body = match declared {
        Some(n) if n > limit => Err(PayloadError::Overflow),
        _ => collect_within(&mut resp, declared.unwrap_or(0), limit).await,
    };
    let body = body.map_err(|e| {
        Attempt::Failed(match e {
            PayloadError::Overflow => GatewayError::UpstreamTooLarge(limit),
            other => GatewayError::UpstreamProtocol(other.to_string()),
        })
    })?;
    if declared.is_some_and(|n| n != body.len()) && resp.headers().get(header::CONTENT_ENCODING).is_none() {
        return Err(Attempt::Failed(GatewayError::UpstreamProtocol(
            "the body is shorter than its Content-Length".into(),
        )));
    }
    Ok(BackendReply {
        status,
        content_type,
        body,
    })
}

/// Collects a body stream within `limit` bytes (`PayloadError::Overflow` beyond it) into a buffer
/// of `capacity` to start with. Used for backend responses (sized from their Content-Length:
/// awc's own collector grows by doubling, which for a 10 MiB answer holds up to 24 MiB at once,
/// BENCHMARKS.md "Memory") and for request bodies (capacity 0: a client's Content-Length is not
/// trusted to reserve memory before its bytes arrive).
pub(crate) async fn collect_within<S>(
    stream: &mut S,
    capacity: usize,
    limit: usize,
) -> Result<Bytes, PayloadError>
where
    S: futures_util::Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    use futures_util::StreamExt;
    let mut buf = bytes::BytesMut::with_capacity(capacity.min(limit));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if buf.len() + chunk.len() > limit {
            return Err(PayloadError::Overflow);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn send_error(e: SendRequestError, timeout: Duration) -> Attempt {
    match e {
        SendRequestError::Connect(ConnectError::Timeout) => Attempt::Connect("connect timeout".into()),
        // The request went out on a connection the server then closed: not safe to resend.
        SendRequestError::Connect(ConnectError::Disconnected) => Attempt::Failed(
            GatewayError::UpstreamProtocol("connection closed before a response".into()),
        ),
        SendRequestError::Connect(c) => Attempt::Connect(c.to_string()),
        SendRequestError::Timeout => Attempt::Failed(GatewayError::UpstreamTimeout(timeout.as_millis())),
        other => Attempt::Failed(GatewayError::UpstreamProtocol(other.to_string())),
    }
}

/// A one-connection HTTP/1.1 server on 127.0.0.1 for tests of connection reuse.
#[cfg(test)]
pub(crate) fn one_connection_server(body: &'static str) -> (String, std::sync::mpsc::Receiver<()>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let (closed_tx, closed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 4096];
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).expect("read");
            head.extend_from_slice(&buf[..n]);
        }
        // Keep-alive unless the request asked to close (then the server closes too).
        let close = String::from_utf8_lossy(&head)
            .to_ascii_lowercase()
            .contains("connection: close");
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}\r\n{body}",
            body.len(),
            if close { "connection: close\r\n" } else { "" }
        );
        sock.write_all(answer.as_bytes()).expect("write");
        if close {
            let _ = sock.shutdown(std::net::Shutdown::Write);
        }
        // read() returns 0 once the client closed its end.
        while sock.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
        let _ = closed_tx.send(());
    });
    (url, closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn sweep_closes_the_idle_pool_and_only_once() {
        let (url, closed) = one_connection_server("{}");
        let clients = WorkerClient::new(Duration::from_secs(2), Duration::from_secs(5));
        let mut res = clients.get().get(&url).send().await.expect("send");
        assert_eq!(res.body().await.expect("body").as_ref(), b"{}");
        drop(res);
        // Used just now: not swept, and the pooled connection stays open.
        assert!(!clients.sweep(Duration::from_secs(60)));
        assert!(closed.recv_timeout(Duration::from_millis(300)).is_err());
        assert!(clients.sweep(Duration::ZERO));
        closed
            .recv_timeout(Duration::from_secs(5))
            .expect("the swept pool closes its connection");
        // The fresh pool is not replaced again until it has been used.
        assert!(!clients.sweep(Duration::ZERO));
    }
}

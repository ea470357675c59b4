//! Backend calls with awc: one client per worker, timeouts, no redirects, round-robin with failover.

use crate::breaker::{Allow, Breaker, BreakerSpec};
use crate::config::raw::RawBackend;
use crate::config::{duration_or, Diagnostics, Settings};
use crate::credentials::Credentials;
use crate::error::GatewayError;
use crate::soap::charset::RequestEncoding;
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
    /// How https URLs are trusted and which client certificate they are shown (`backend.tls`).
    pub tls: crate::tls::ClientTls,
    /// The encoding of request envelopes (`backend.request_encoding`, UTF-8 by default).
    pub request_encoding: RequestEncoding,
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
                Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {}
                _ => d.error(
                    file,
                    &format!("backend.urls[{i}]"),
                    format!("`{u}` is not an absolute http(s) URL"),
                    "write a URL such as https://legacy.internal/Service",
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
        let tls = crate::tls::ClientTls::build(
            raw.tls.as_ref(),
            crate::tls::At {
                file,
                key: "backend.tls",
                base,
            },
            d,
        );
        if raw.tls.is_some()
            && !raw
                .urls
                .iter()
                .any(|u| u.to_ascii_lowercase().starts_with("https://"))
        {
            d.error(
                file,
                "backend.tls",
                "`tls` is set but no backend URL is https",
                "use https:// URLs, or remove `tls`",
            );
        }
        for (i, u) in raw.urls.iter().enumerate() {
            tls.check_https(u, file, &format!("backend.urls[{i}]"), d);
        }
        let request_encoding = match raw.request_encoding.as_deref().map(RequestEncoding::from_label) {
            None => RequestEncoding::Utf8,
            Some(Ok(e)) => e,
            Some(Err(why)) => {
                d.error(
                    file,
                    "backend.request_encoding",
                    why,
                    "name a WHATWG encoding such as iso-8859-1, windows-1252 or utf-8",
                );
                RequestEncoding::Utf8
            }
        };
        BackendSpec {
            tls,
            request_encoding,
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

/// Sends the envelope; fails over to the next URL only on connect errors (nothing was sent).
pub async fn call(
    out: &crate::outbound::Outbound,
    spec: &BackendSpec,
    env: &Envelope,
    correlation_id: &str,
    limit: usize,
) -> Result<BackendReply, GatewayError> {
    // Credentials first (a token may need fetching): without them nothing is sent.
    let authorization = match &spec.credentials {
        Some(c) => c.authorization(out).await?,
        None => None,
    };
    let client = out.get(&spec.tls);
    let mut last = String::from("no backend URL");
    let mut failed = Failed::Connect;
    let mut open_for: Option<Duration> = None;
    for i in spec.rotation() {
        let url = spec.urls[i].as_str();
        // The ticket reports the exchange's outcome; dropped unreported (this future cancelled),
        // it counts as nothing and frees the probe slot if it held it.
        let mut ticket = match spec.breakers.get(i).map(|b| b.allow(Instant::now())) {
            Some(Allow::No(wait)) => {
                open_for = Some(open_for.map_or(wait, |w| w.min(wait)));
                continue;
            }
            Some(Allow::Yes(t) | Allow::Probe(t)) => Some(t),
            None => None,
        };
        let mut judge = |ok: bool| {
            if let Some(t) = ticket.take() {
                t.record(ok, url, Instant::now());
            }
        };
        failed = Failed::Connect;
        let https = url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://"));
        let attempt = send_one(
            https,
            &client,
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
            Ok(Err(Attempt::Tls(class, e))) => {
                judge(false);
                tracing::warn!(backend = url, tls_failure = class.as_str(), error = %e, "backend TLS handshake failed, trying the next URL");
                last = format!("{url}: {}: {e}", class.as_str());
                failed = Failed::Tls;
            }
            Ok(Err(Attempt::HandshakeTimeout)) => {
                judge(false);
                tracing::warn!(
                    backend = url,
                    "backend connect or TLS handshake timed out, trying the next URL"
                );
                last = format!("{url}: connect or TLS handshake timed out");
                failed = Failed::Timeout;
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
    match (open_for, failed) {
        (Some(wait), _) if last == "no backend URL" => Err(GatewayError::CircuitOpen(wait.as_secs().max(1))),
        (_, Failed::Tls) => Err(GatewayError::UpstreamTls(last)),
        (_, Failed::Timeout) => Err(GatewayError::UpstreamTimeout(out.connect_timeout().as_millis())),
        (_, Failed::Connect) => Err(GatewayError::UpstreamUnavailable(last)),
    }
}

/// How the last URL tried failed before anything was sent.
#[derive(Clone, Copy)]
enum Failed {
    Connect,
    Tls,
    Timeout,
}

enum Attempt {
    /// Nothing was sent: TCP connect failed.
    Connect(String),
    /// Nothing was sent: the TLS handshake failed (or the request was refused on the connection
    /// for the client certificate).
    Tls(crate::tls::TlsFailure, String),
    /// Nothing was sent: the TCP connect or TLS handshake of an https URL timed out (awc reports
    /// both alike).
    HandshakeTimeout,
    Failed(GatewayError),
}

#[allow(clippy::too_many_arguments)]
async fn send_one(
    https: bool,
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
        .map_err(|e| send_error(e, https, spec.timeout))?;
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
    if https && status == 400 && crate::tls::TlsFailure::refused_at_http(&body) {
        return Err(Attempt::Tls(
            crate::tls::TlsFailure::ClientCertificateRefused,
            "the TLS terminator answered 400 for the client certificate".into(),
        ));
    }
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

fn send_error(e: SendRequestError, https: bool, timeout: Duration) -> Attempt {
    if let Some(class) = crate::tls::TlsFailure::of_send(&e) {
        return Attempt::Tls(class, e.to_string());
    }
    match e {
        SendRequestError::Connect(ConnectError::Timeout) if https => Attempt::HandshakeTimeout,
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

/// A one-connection server on 127.0.0.1 for framing tests: reads one request head, writes
/// `answer` exactly as given (status line included), then closes its side.
#[cfg(test)]
pub(crate) fn raw_answer_server(answer: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        let mut buf = [0u8; 4096];
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match sock.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = sock.write_all(&answer);
        let _ = sock.shutdown(std::net::Shutdown::Write);
        while sock.read(&mut buf).is_ok_and(|n| n > 0) {}
    });
    url
}

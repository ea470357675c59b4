//! Step 3 threat protection: JSON structure limits, injection patterns, request body decoding within
//! the limit, concurrency caps. Limits come from `soapgate.yaml` (`limits`, `threats`) with per-route
//! overrides (`limits`, `threats` on a route); see README "Threat protection".

pub mod config;
pub mod json;
pub mod patterns;

use crate::error::GatewayError;
use actix_web::http::header::HeaderMap;
use patterns::{Hit, Patterns, Source};
use serde_json::Value;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub use json::{JsonError, JsonLimits};

/// The effective threat policy of one route (gateway defaults with the route's overrides).
#[derive(Debug)]
pub struct Policy {
    /// Request body limit after decoding (≤ the 1 MiB hard cap).
    pub body_limit: usize,
    pub json: JsonLimits,
    /// Injection patterns; `None` when no set or custom pattern is enabled.
    pub patterns: Option<Arc<Patterns>>,
    /// In-flight mediations allowed on this route (on top of the gateway-wide cap).
    pub concurrency: Option<usize>,
    pub inflight: InFlight,
}

impl Policy {
    /// The gateway defaults alone (routes without overrides, and unit tests).
    pub fn new(body_limit: usize, json: JsonLimits, patterns: Option<Arc<Patterns>>) -> Policy {
        Policy {
            body_limit,
            json,
            patterns,
            concurrency: None,
            inflight: InFlight::default(),
        }
    }
}

impl From<JsonError> for GatewayError {
    fn from(e: JsonError) -> GatewayError {
        match e {
            JsonError::Syntax(m) => GatewayError::JsonSyntax(m),
            other => GatewayError::JsonLimit {
                code: other.code(),
                message: other.message(),
            },
        }
    }
}

impl From<Hit> for GatewayError {
    fn from(h: Hit) -> GatewayError {
        GatewayError::InjectionDetected {
            place: h.source.name(),
            set: h.set,
        }
    }
}

/// Parses the body under the route's JSON limits (one pass, no recursion).
pub fn parse_json(body: &[u8], policy: &Policy) -> Result<Value, GatewayError> {
    json::parse(body, &policy.json).map_err(GatewayError::from)
}

/// Runs the route's injection patterns over path, query, headers and the JSON body. `path` and
/// `query` come already decoded by [`crate::target`], the decoder the route's parameters come from,
/// so what is inspected is what is forwarded.
pub fn inspect(
    policy: &Policy,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &Value,
) -> Result<(), GatewayError> {
    let Some(p) = policy.patterns.as_deref() else {
        return Ok(());
    };
    if p.covers(Source::Path) {
        p.check(Source::Path, path)?;
    }
    if p.covers(Source::Query) {
        for (k, v) in query {
            p.check(Source::Query, k)?;
            p.check(Source::Query, v)?;
        }
    }
    if p.covers(Source::Headers) {
        for (_, v) in headers.iter() {
            p.check(Source::Headers, &String::from_utf8_lossy(v.as_bytes()))?;
        }
    }
    p.check_json(body)?;
    Ok(())
}

/// Decodes a `Content-Encoding` (gzip, deflate, identity) within `limit` decoded bytes: a
/// decompression bomb stops at `limit + 1` bytes. Other encodings are 415. gzip may hold several
/// members (RFC 1952 §2.2), all decoded in order; any byte after the last member, or after the
/// zlib stream of `deflate`, is 400 `BODY_ENCODING` (docs/threat-model.md D8).
pub fn decode_body(
    headers: &HeaderMap,
    raw: bytes::Bytes,
    limit: usize,
) -> Result<bytes::Bytes, GatewayError> {
    let mut codings = Vec::new();
    for v in headers.get_all(actix_web::http::header::CONTENT_ENCODING) {
        let v = v.to_str().map_err(|_| {
            GatewayError::UnsupportedMediaType("The Content-Encoding is not supported.".into())
        })?;
        codings.extend(
            v.split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .filter(|c| !c.is_empty() && c != "identity"),
        );
    }
    let coding = match codings.as_slice() {
        [] => return Ok(raw),
        [one] => one.as_str(),
        _ => {
            return Err(GatewayError::UnsupportedMediaType(
                "Only one Content-Encoding (gzip or deflate) is supported.".into(),
            ))
        }
    };
    let bad = || GatewayError::BodyEncoding(coding.to_string());
    // The bufread decoders leave the bytes after the compressed data in `rest`: any left over
    // is refused (RFC 1952 §2.2 members are all decoded; what is not a member is an error).
    let mut rest: &[u8] = &raw[..];
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit + 1));
    let budget = limit as u64 + 1;
    match coding {
        "gzip" | "x-gzip" => {
            let mut d = flate2::bufread::MultiGzDecoder::new(&mut rest);
            d.by_ref().take(budget).read_to_end(&mut out).map_err(|_| bad())?;
        }
        "deflate" => {
            let mut d = flate2::bufread::ZlibDecoder::new(&mut rest);
            d.by_ref().take(budget).read_to_end(&mut out).map_err(|_| bad())?;
        }
        _ => {
            return Err(GatewayError::UnsupportedMediaType(
                "The Content-Encoding is not supported (use gzip or deflate).".into(),
            ))
        }
    }
    if out.len() > limit {
        return Err(GatewayError::PayloadTooLarge { limit });
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok(bytes::Bytes::from(out))
}

/// A count of in-flight mediations; `try_acquire` refuses beyond the limit instead of queueing.
#[derive(Debug, Default)]
pub struct InFlight(AtomicUsize);

/// Holds one slot until dropped.
#[derive(Debug)]
pub struct Permit<'a>(&'a AtomicUsize);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl InFlight {
    pub fn try_acquire(&self, limit: usize) -> Option<Permit<'_>> {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            if cur >= limit {
                return None;
            }
            match self
                .0
                .compare_exchange_weak(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(Permit(&self.0)),
                Err(now) => cur = now,
            }
        }
    }

    pub fn current(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};
    use std::io::Write;

    fn gz(data: &[u8]) -> bytes::Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).expect("gzip");
        bytes::Bytes::from(e.finish().expect("gzip"))
    }

    fn headers(ce: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("content-encoding"),
            HeaderValue::from_str(ce).expect("value"),
        );
        h
    }

    #[test]
    fn gzip_is_decoded_within_the_limit() {
        let body = gz(br#"{"a":1}"#);
        let out = decode_body(&headers("gzip"), body, 100).expect("decoded");
        assert_eq!(&out[..], br#"{"a":1}"#);
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_limit() {
        let bomb = gz(&vec![b' '; 64 << 20]);
        assert!(bomb.len() < 256 * 1024);
        let e = decode_body(&headers("gzip"), bomb, 256 * 1024).expect_err("bomb");
        assert_eq!(e.code(), "PAYLOAD_TOO_LARGE");
    }

    #[test]
    fn unknown_or_stacked_encodings_and_garbage() {
        let b = bytes::Bytes::from_static(b"xx");
        assert_eq!(
            decode_body(&headers("br"), b.clone(), 10).expect_err("br").code(),
            "UNSUPPORTED_MEDIA_TYPE"
        );
        assert_eq!(
            decode_body(&headers("gzip, gzip"), b.clone(), 10)
                .expect_err("2")
                .code(),
            "UNSUPPORTED_MEDIA_TYPE"
        );
        assert_eq!(
            decode_body(&headers("gzip"), b.clone(), 10)
                .expect_err("junk")
                .code(),
            "BODY_ENCODING"
        );
        assert_eq!(decode_body(&headers("identity"), b.clone(), 10).ok(), Some(b));
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).expect("zlib");
        e.finish().expect("zlib")
    }

    fn cat(parts: &[&[u8]]) -> bytes::Bytes {
        bytes::Bytes::from(parts.concat())
    }

    #[test]
    fn d8_bytes_after_the_compressed_body_are_refused() {
        let member = gz(br#"{"a":1}"#);
        for junk in [
            &b"X"[..],
            b"\0\0\0\0",
            br#"{"admin":true}"#,
            b"\x1f\x8b",
            &member[..10],
        ] {
            let e = decode_body(&headers("gzip"), cat(&[&member, junk]), 1000).expect_err("junk");
            assert_eq!(e.code(), "BODY_ENCODING", "{junk:?}");
        }
        let z = zlib(br#"{"a":1}"#);
        for junk in [&b"X"[..], b"\0", &z[..]] {
            let e = decode_body(&headers("deflate"), cat(&[&z, junk]), 1000).expect_err("junk");
            assert_eq!(e.code(), "BODY_ENCODING", "{junk:?}");
        }
        assert_eq!(
            decode_body(&headers("deflate"), cat(&[&z]), 1000).ok(),
            Some(cat(&[br#"{"a":1}"#]))
        );
        // An empty body is not gzip data either.
        let e = decode_body(&headers("gzip"), bytes::Bytes::new(), 1000).expect_err("empty");
        assert_eq!(e.code(), "BODY_ENCODING");
    }

    #[test]
    fn d8_every_gzip_member_is_decoded_within_one_limit() {
        let (a, b) = (gz(br#"{"a":"#), gz(br#"1}"#));
        let out = decode_body(&headers("gzip"), cat(&[&a, &b]), 1000).expect("two members");
        assert_eq!(&out[..], br#"{"a":1}"#);
        // The limit counts the members together.
        let (x, y) = (gz(&[b' '; 600]), gz(&[b' '; 600]));
        let e = decode_body(&headers("gzip"), cat(&[&x, &y]), 1000).expect_err("over");
        assert_eq!(e.code(), "PAYLOAD_TOO_LARGE");
        assert_eq!(
            decode_body(&headers("gzip"), cat(&[&x, &y]), 1200)
                .map(|b| b.len())
                .ok(),
            Some(1200)
        );
    }

    #[test]
    fn in_flight_caps_and_releases() {
        let f = InFlight::default();
        let a = f.try_acquire(2);
        let b = f.try_acquire(2);
        assert!(a.is_some() && b.is_some());
        assert!(f.try_acquire(2).is_none());
        drop(a);
        assert!(f.try_acquire(2).is_some());
        assert_eq!(f.current(), 1);
    }
}

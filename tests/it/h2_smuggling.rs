//! h2 → h1 smuggling rows: requests an HTTP/2 client can frame that must never reach the service
//! (and so never become an HTTP/1.1 request to a SOAP backend). Each row goes through the guard to
//! h2 0.3 and actix-http; it must end in RST_STREAM, GOAWAY or 400, and its path is never served.

use std::time::Duration;

use crate::common::h2::H2Server;
use crate::common::h2raw::{self, frame, hpack, Rx, *};
use soapgate::tls::h2guard::H2Limits;

/// How the server ended stream 1.
#[derive(Debug, PartialEq)]
enum Fate {
    /// RST_STREAM with this error code.
    Reset(u32),
    /// A response; the first byte of its header block (0x88 = 200, 0x8c = 400).
    Status(u8),
    GoAway(u32),
    Nothing,
}

const STATUS_200: u8 = 0x88;
const STATUS_400: u8 = 0x8c;

/// A header block of literal fields, in the order given (pseudo-headers included).
fn block(fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, v) in fields {
        hpack::literal(&mut b, n.as_bytes(), v);
    }
    b
}

/// The usual pseudo-headers of a request for `path`, then `extra`.
fn request(method: &str, path: &str, extra: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    let mut f = vec![
        (":method".to_string(), method.as_bytes().to_vec()),
        (":scheme".to_string(), b"https".to_vec()),
        (":path".to_string(), path.as_bytes().to_vec()),
        (":authority".to_string(), b"127.0.0.1".to_vec()),
    ];
    f.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_vec())));
    f
}

/// Sends HEADERS (END_STREAM when `body` is None) and the body as one DATA frame.
async fn send(srv: &H2Server, fields: &[(String, Vec<u8>)], body: Option<&[u8]>) -> Fate {
    let borrowed: Vec<(&str, &[u8])> = fields.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    let flags = END_HEADERS | if body.is_none() { END_STREAM } else { 0 };
    let mut bytes = frame(HEADERS, flags, 1, &block(&borrowed));
    if let Some(b) = body {
        bytes.extend(frame(DATA, END_STREAM, 1, b));
    }
    let tls = h2raw::connect(srv.addr, &srv.client).await;
    let until = |rx: &Rx| matches!((rx.kind, rx.stream), (HEADERS | RST_STREAM, 1) | (GOAWAY, _));
    let out = h2raw::session(
        tls,
        prologue(),
        |_| bytes.clone(),
        1,
        vec![],
        until,
        Duration::from_secs(5),
    )
    .await;
    out.frames
        .iter()
        .find_map(|rx| match rx.kind {
            RST_STREAM if rx.stream == 1 => rx.rst_code().map(Fate::Reset),
            HEADERS if rx.stream == 1 => rx.payload.first().map(|b| Fate::Status(*b)),
            GOAWAY => rx.goaway_code().map(Fate::GoAway),
            _ => None,
        })
        .unwrap_or(Fate::Nothing)
}

type Row = (&'static str, Vec<(String, Vec<u8>)>, Option<&'static [u8]>);

fn rows() -> Vec<Row> {
    let r = |n: usize| format!("/row/{n}");
    let pseudo_late = vec![
        (":method".to_string(), b"GET".to_vec()),
        (":scheme".to_string(), b"https".to_vec()),
        ("x-a".to_string(), b"1".to_vec()),
        (":path".to_string(), r(13).into_bytes()),
    ];
    let mut dup_path = request("GET", &r(14), &[]);
    dup_path.push((":path".to_string(), b"/other".to_vec()));
    let mut no_path = request("GET", &r(16), &[]);
    no_path.retain(|(n, _)| n != ":path");
    vec![
        (
            "CR LF in a value",
            request("GET", &r(0), &[("x-a", b"b\r\nx-injected: 1")]),
            None,
        ),
        (
            "LF in a value",
            request("GET", &r(1), &[("x-a", b"b\nx-injected: 1")]),
            None,
        ),
        ("NUL in a value", request("GET", &r(2), &[("x-a", b"b\0c")]), None),
        (
            "transfer-encoding: chunked",
            request("POST", &r(3), &[("transfer-encoding", b"chunked")]),
            Some(b"0\r\n\r\n"),
        ),
        (
            "connection: keep-alive",
            request("GET", &r(4), &[("connection", b"keep-alive")]),
            None,
        ),
        (
            "keep-alive",
            request("GET", &r(5), &[("keep-alive", b"timeout=5")]),
            None,
        ),
        (
            "proxy-connection",
            request("GET", &r(6), &[("proxy-connection", b"keep-alive")]),
            None,
        ),
        (
            "upgrade",
            request("GET", &r(7), &[("upgrade", b"websocket")]),
            None,
        ),
        ("te: gzip", request("GET", &r(8), &[("te", b"gzip")]), None),
        (
            "content-length 5, DATA of 10",
            request("POST", &r(9), &[("content-length", b"5")]),
            Some(b"0123456789"),
        ),
        (
            "content-length 10, DATA of 5",
            request("POST", &r(10), &[("content-length", b"10")]),
            Some(b"01234"),
        ),
        (
            "uppercase name",
            request("GET", &r(11), &[("X-Upper", b"1")]),
            None,
        ),
        (
            "CR LF in a name",
            request("GET", &r(12), &[("x-a\r\nx-b", b"1")]),
            None,
        ),
        ("pseudo-header after a field", pseudo_late, None),
        ("duplicated :path", dup_path, None),
        (
            "unknown pseudo-header",
            request("GET", &r(15), &[(":foo", b"1")]),
            None,
        ),
        ("no :path", no_path, None),
        (
            "space in :path",
            request("GET", "/row/17 HTTP/1.1\r\nx: y", &[]),
            None,
        ),
    ]
}

#[actix_rt::test]
async fn h2_smuggling_rows_are_never_served() {
    let srv = H2Server::start(Some(H2Limits::default()));
    let mut failed = Vec::new();
    for (n, (name, fields, body)) in rows().into_iter().enumerate() {
        let fate = send(&srv, &fields, body).await;
        let served = srv.seen.served(&format!("/row/{n}"));
        eprintln!("row {n:2} {name:32} {fate:?} served={served}");
        let refused = matches!(fate, Fate::Reset(_) | Fate::GoAway(_) | Fate::Status(STATUS_400));
        if served || !refused {
            failed.push(format!("{name}: {fate:?}, served={served}"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(srv.stats.total(), 0, "no row is a flood");
}

/// The rows' legitimate neighbours are served: `te: trailers`, a body matching content-length, a
/// tab in a value. So is a second, different content-length when the DATA matches the first: h2
/// 0.3 checks the first value only; the body is framed by DATA either way, and soapgate builds
/// the backend request (and its length) itself (docs/http2.md).
#[actix_rt::test]
async fn h2_legitimate_neighbours_of_the_rows_are_served() {
    let srv = H2Server::start(Some(H2Limits::default()));
    let ok: [Row; 4] = [
        (
            "te: trailers",
            request("GET", "/ok/0", &[("te", b"trailers")]),
            None,
        ),
        (
            "content-length 5, DATA of 5",
            request("POST", "/ok/1", &[("content-length", b"5")]),
            Some(b"01234"),
        ),
        (
            "tab in a value",
            request("GET", "/ok/2", &[("x-a", b"b\tc")]),
            None,
        ),
        (
            "content-length 5 and 6, DATA of 5",
            request(
                "POST",
                "/ok/3",
                &[("content-length", b"5"), ("content-length", b"6")],
            ),
            Some(b"01234"),
        ),
    ];
    for (n, (name, fields, body)) in ok.into_iter().enumerate() {
        let fate = send(&srv, &fields, body).await;
        assert_eq!(fate, Fate::Status(STATUS_200), "{name}");
        assert!(srv.seen.served(&format!("/ok/{n}")), "{name}");
    }
}

//! HTTP/2 through the guard when the client behaves (the h2 crate's client: never cut off), and
//! the empty-DATA flood without the guard, measured for comparison (docs/http2.md).

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use crate::common::h2::{H2Server, Usage};
use crate::common::h2raw::{self, frame, hpack, Outcome, Rx, *};
use soapgate::tls::h2guard::H2Limits;

/// 300 requests (10 at a time, half of them POSTs with a 2 KiB body, plus a few PINGs) over one
/// connection: more streams in all than the concurrency bound, none of them refused.
#[actix_rt::test]
async fn h2_well_behaved_client_is_never_cut_off() {
    let srv = H2Server::start(Some(H2Limits::default()));
    let tls = h2raw::connect(srv.addr, &srv.client).await;
    let (mut client, mut conn) = h2::client::handshake(tls).await.unwrap();
    let mut pings = conn.ping_pong().unwrap();
    let conn = actix_rt::spawn(conn);
    for batch in 0..30 {
        let mut pending = Vec::new();
        for j in 0..10 {
            let i = batch * 10 + j;
            client = client.ready().await.unwrap();
            let post = i % 2 == 1;
            let uri = if post {
                "https://127.0.0.1/sink".to_string()
            } else {
                format!("https://127.0.0.1/ok/{i}")
            };
            let req = http02::Request::builder()
                .method(if post { "POST" } else { "GET" })
                .uri(uri)
                .body(())
                .unwrap();
            let (resp, mut send) = client.send_request(req, !post).unwrap();
            if post {
                send.send_data(Bytes::from(vec![b'x'; 2048]), true).unwrap();
            }
            pending.push(resp);
        }
        for resp in pending {
            let resp = tokio::time::timeout(Duration::from_secs(10), resp)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(resp.status(), 200);
            let mut body = resp.into_body();
            for _ in 0..100 {
                let Some(chunk) = body.data().await else { break };
                let chunk = chunk.unwrap();
                body.flow_control().release_capacity(chunk.len()).unwrap();
            }
        }
        if batch % 10 == 0 {
            pings.ping(h2::Ping::opaque()).await.unwrap();
        }
    }
    assert_eq!(srv.seen.requests.load(Ordering::Relaxed), 300);
    assert_eq!(srv.stats.total(), 0);
    drop(client);
    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
}

/// Writes `frames` frames of `unit` and a PING, without the guard; reads until that PING's ACK
/// (or a GOAWAY). Returns the outcome, whether the PING was answered, and server usage.
async fn unguarded(
    srv: &H2Server,
    unit: impl Fn(usize) -> Vec<u8>,
    frames: usize,
    batch: usize,
) -> (Outcome, bool, Usage) {
    let before = srv.usage();
    let tls = h2raw::connect(srv.addr, &srv.client).await;
    let marker = *b"flood-ok";
    let acked = Cell::new(false);
    let until = |rx: &Rx| {
        acked.set(rx.kind == PING && rx.flags & ACK != 0 && rx.payload == marker);
        acked.get() || rx.goaway_code().is_some()
    };
    let tail = frame(PING, 0, 0, &marker);
    let out = h2raw::paced(
        tls,
        prologue(),
        unit,
        frames,
        tail,
        until,
        Duration::from_secs(120),
        batch,
    )
    .await;
    let after = srv.usage();
    let used = Usage {
        cpu_ns: after.cpu_ns - before.cpu_ns,
        rss_kib: after.rss_kib.saturating_sub(before.rss_kib),
    };
    (out, acked.get(), used)
}

/// Without the guard, 200 000 empty DATA frames on one stream are all handed to the service (one
/// empty body chunk each) and the connection stays up; if the service is not reading yet they
/// pile up in h2. Rapid reset is measured too. These are the numbers the guard saves.
#[actix_rt::test]
async fn h2_empty_data_flood_without_guard_is_not_cut_off() {
    const FRAMES: usize = 200_000;
    let srv = H2Server::start(None);
    for path in ["/sink", "/hold"] {
        let open = frame(HEADERS, END_HEADERS, 1, &hpack::request(0x83, path, &[]));
        let unit = |i: usize| {
            if i == 0 {
                open.clone()
            } else {
                frame(DATA, 0, 1, &[])
            }
        };
        let chunks = srv.seen.sink_chunks.load(Ordering::Relaxed);
        let (out, acked, used) = unguarded(&srv, unit, FRAMES, 16 * 1024).await;
        let read = srv.seen.sink_chunks.load(Ordering::Relaxed) - chunks;
        eprintln!(
            "unguarded empty DATA flood on {path}: goaway={:?} acked={acked} units_sent={} elapsed={:?} server_cpu={}us rss+={}KiB chunks_read_by_then={read}",
            out.goaway(), out.units_sent, out.elapsed, used.cpu_ns / 1000, used.rss_kib,
        );
        assert!(
            out.goaway().is_none(),
            "h2 0.3 cut the flood off by itself: {:?}",
            out.frames.last()
        );
        assert!(acked, "{out:?}");
    }
    let rapid = |i: usize| {
        let id = 2 * i as u32 + 1;
        let mut b = frame(HEADERS, END_HEADERS, id, &hpack::request(0x83, "/sink", &[]));
        b.extend(frame(RST_STREAM, 0, id, &8u32.to_be_bytes()));
        b
    };
    for (pairs, batch) in [(20_000, 16 * 1024), (2_000, 1)] {
        let requests = srv.seen.requests.load(Ordering::Relaxed);
        let (out, acked, used) = unguarded(&srv, rapid, pairs, batch).await;
        eprintln!(
            "unguarded rapid reset (writes of {batch} B): goaway={:?} acked={acked} units_sent={} elapsed={:?} server_cpu={}us rss+={}KiB requests={}",
            out.goaway(), out.units_sent, out.elapsed, used.cpu_ns / 1000, used.rss_kib,
            srv.seen.requests.load(Ordering::Relaxed) - requests,
        );
    }
}

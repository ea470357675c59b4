//! HTTP/2 floods against the real stack (rustls → H2Guard → actix-http/h2 0.3): each ends with
//! GOAWAY(ENHANCE_YOUR_CALM) after a bounded number of frames, with server CPU and memory close
//! to a well-behaved session's; a well-behaved client is never cut off.

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::common::h2::{H2Server, Usage};
use crate::common::h2raw::{self, frame, hpack, Outcome, Rx, *};
use soapgate::tls::h2guard::{H2Limits, Violation};

const LIMIT: Duration = Duration::from_secs(30);

fn get(id: u32, path: &str) -> Vec<u8> {
    frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        id,
        &hpack::request(0x82, path, &[]),
    )
}

/// A POST whose body never ends: its stream stays open.
fn open_post(id: u32) -> Vec<u8> {
    frame(HEADERS, END_HEADERS, id, &hpack::request(0x83, "/sink", &[]))
}

/// Server CPU (ns) and RSS growth (KiB) over `f`.
async fn metered<T>(srv: &H2Server, f: impl std::future::Future<Output = T>) -> (T, Usage) {
    let before = srv.usage();
    let out = f.await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after = srv.usage();
    let used = Usage {
        cpu_ns: after.cpu_ns - before.cpu_ns,
        rss_kib: after.rss_kib.saturating_sub(before.rss_kib),
    };
    (out, used)
}

/// A well-behaved session: handshake and 20 GETs, each answered.
async fn baseline(srv: &H2Server) -> Usage {
    let (out, used) = metered(srv, async {
        let tls = h2raw::connect(srv.addr, &srv.client).await;
        let ended = Cell::new(0);
        let until = |rx: &Rx| {
            if rx.kind == DATA && rx.flags & END_STREAM != 0 {
                ended.set(ended.get() + 1);
            }
            ended.get() == 20
        };
        h2raw::session(
            tls,
            prologue(),
            |i| get(2 * i as u32 + 1, "/base"),
            20,
            vec![],
            until,
            LIMIT,
        )
        .await
    })
    .await;
    assert!(out.goaway().is_none(), "{out:?}");
    used
}

/// Runs `unit` up to `max_units` times on a fresh connection, reading until the server closes.
async fn attack(srv: &H2Server, unit: impl Fn(usize) -> Vec<u8>, max_units: usize) -> (Outcome, Usage) {
    metered(srv, async {
        let tls = h2raw::connect(srv.addr, &srv.client).await;
        h2raw::session(tls, prologue(), unit, max_units, vec![], |_| false, LIMIT).await
    })
    .await
}

/// The attack ended with GOAWAY(ENHANCE_YOUR_CALM) and EOF, counted as `v`, with server CPU
/// within 10× and memory growth within 16 MiB of a well-behaved session's.
fn assert_cut_off(name: &str, srv: &H2Server, out: &Outcome, base: Usage, used: Usage, v: Violation) {
    eprintln!(
        "{name}: goaway={:?} frames_in={} units_sent={} elapsed={:?} server_cpu={}us (baseline {}us) rss+={}KiB (baseline +{}KiB) requests={} sink_chunks={}",
        out.goaway(), out.frames_in, out.units_sent, out.elapsed, used.cpu_ns / 1000, base.cpu_ns / 1000,
        used.rss_kib, base.rss_kib, srv.seen.requests.load(Ordering::Relaxed), srv.seen.sink_chunks.load(Ordering::Relaxed),
    );
    assert_eq!(
        out.goaway(),
        Some(ENHANCE_YOUR_CALM),
        "{name}: {:?}",
        out.frames.last()
    );
    assert!(out.closed, "{name}: the server did not close the connection");
    assert!(
        out.frames_in < 1000,
        "{name}: {} frames before the GOAWAY",
        out.frames_in
    );
    assert_eq!(srv.stats.count(v), 1, "{name}");
    assert_eq!(srv.stats.total(), 1, "{name}");
    assert!(
        used.cpu_ns <= 10 * base.cpu_ns.max(1),
        "{name}: cpu {} vs baseline {}",
        used.cpu_ns,
        base.cpu_ns
    );
    assert!(
        used.rss_kib <= 16 * 1024 + 4 * base.rss_kib,
        "{name}: rss +{} KiB",
        used.rss_kib
    );
}

#[actix_rt::test]
async fn h2_empty_data_flood_is_cut_off() {
    let srv = H2Server::start(Some(H2Limits::default()));
    let base = baseline(&srv).await;
    let unit = |i: usize| {
        if i == 0 {
            open_post(1)
        } else {
            frame(DATA, 0, 1, &[])
        }
    };
    let (out, used) = attack(&srv, unit, 200_000).await;
    assert_cut_off("empty DATA flood", &srv, &out, base, used, Violation::EmptyData);
    assert!(srv.seen.sink_chunks.load(Ordering::Relaxed) <= 100);
}

/// In bulk, and paced (one HEADERS+RST_STREAM pair per write, 200 µs apart, so that actix
/// accepts each stream before the reset and h2's own pending-accept bound does not see it).
#[actix_rt::test]
async fn h2_rapid_reset_is_cut_off() {
    let unit = |i: usize| {
        let id = 2 * i as u32 + 1;
        let mut b = open_post(id);
        b.extend(frame(RST_STREAM, 0, id, &8u32.to_be_bytes()));
        b
    };
    for (name, batch) in [("rapid reset", 16 * 1024), ("rapid reset, paced", 1)] {
        let srv = H2Server::start(Some(H2Limits::default()));
        let base = baseline(&srv).await;
        let (out, used) = metered(&srv, async {
            let tls = h2raw::connect(srv.addr, &srv.client).await;
            h2raw::paced(tls, prologue(), unit, 5_000, vec![], |_| false, LIMIT, batch).await
        })
        .await;
        let paced_cpu = if batch == 1 { 20 } else { 1 };
        let base = Usage {
            cpu_ns: base.cpu_ns * paced_cpu,
            ..base
        };
        assert_cut_off(name, &srv, &out, base, used, Violation::Resets);
        assert!(srv.seen.requests.load(Ordering::Relaxed) <= 20 + 101);
    }
}

#[actix_rt::test]
async fn h2_too_many_concurrent_streams_are_cut_off() {
    let srv = H2Server::start(Some(H2Limits::default()));
    let base = baseline(&srv).await;
    let (out, used) = attack(&srv, |i| open_post(2 * i as u32 + 1), 10_000).await;
    assert_cut_off(
        "concurrent streams",
        &srv,
        &out,
        base,
        used,
        Violation::ConcurrentStreams,
    );
    assert!(srv.seen.requests.load(Ordering::Relaxed) <= 20 + 128);
}

#[actix_rt::test]
async fn h2_oversized_header_block_is_cut_off() {
    let srv = H2Server::start(Some(H2Limits::default()));
    let base = baseline(&srv).await;
    let filler = vec![b'a'; 16_000];
    let unit = |i: usize| {
        if i == 0 {
            frame(HEADERS, 0, 1, &[0x82])
        } else {
            frame(CONTINUATION, 0, 1, &filler)
        }
    };
    let (out, used) = attack(&srv, unit, 2_000).await;
    assert_cut_off(
        "oversized header block",
        &srv,
        &out,
        base,
        used,
        Violation::HeaderBlock,
    );
}

#[actix_rt::test]
async fn h2_continuation_flood_is_cut_off() {
    let srv = H2Server::start(Some(H2Limits::default()));
    let base = baseline(&srv).await;
    let unit = |i: usize| {
        if i == 0 {
            frame(HEADERS, 0, 1, &[0x82])
        } else {
            frame(CONTINUATION, 0, 1, &[])
        }
    };
    let (out, used) = attack(&srv, unit, 100_000).await;
    assert_cut_off(
        "CONTINUATION flood",
        &srv,
        &out,
        base,
        used,
        Violation::Continuations,
    );
}

#[actix_rt::test]
async fn h2_settings_flood_is_cut_off() {
    let srv = H2Server::start(Some(H2Limits::default()));
    let base = baseline(&srv).await;
    let (out, used) = attack(&srv, |_| frame(SETTINGS, 0, 0, &[]), 100_000).await;
    assert_cut_off("SETTINGS flood", &srv, &out, base, used, Violation::Settings);
}

#[actix_rt::test]
async fn h2_ping_flood_is_cut_off() {
    let srv = H2Server::start(Some(H2Limits::default()));
    let base = baseline(&srv).await;
    let (out, used) = attack(&srv, |i| frame(PING, 0, 0, &(i as u64).to_be_bytes()), 100_000).await;
    assert_cut_off("PING flood", &srv, &out, base, used, Violation::Pings);
}

#[actix_rt::test]
async fn h2_priority_window_update_and_unknown_floods_are_cut_off() {
    let floods: [(&str, Vec<u8>, Violation); 3] = [
        (
            "PRIORITY flood",
            frame(PRIORITY, 0, 1, &[0, 0, 0, 0, 16]),
            Violation::Priority,
        ),
        (
            "WINDOW_UPDATE(1) flood",
            frame(WINDOW_UPDATE, 0, 0, &1u32.to_be_bytes()),
            Violation::WindowUpdates,
        ),
        ("unknown frame flood", frame(0x42, 0, 0, b"x"), Violation::Unknown),
    ];
    for (name, f, v) in floods {
        let srv = H2Server::start(Some(H2Limits::default()));
        let base = baseline(&srv).await;
        let (out, used) = attack(&srv, |_| f.clone(), 100_000).await;
        assert_cut_off(name, &srv, &out, base, used, v);
    }
}

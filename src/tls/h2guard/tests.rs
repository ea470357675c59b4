//! The client-side rules on byte streams made here, fed whole and in odd-sized pieces.

use super::frame::{self, HEADER_LEN};
use super::inbound::Inbound;
use super::{H2Limits, Violation};

const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len().to_be_bytes();
    let mut f = vec![len[5], len[6], len[7], kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Feeds `bytes` in pieces of `piece` bytes as the guard does (unjudged bytes are offered again
/// with the next piece); returns the bytes approved and the violation, if any.
fn feed(bytes: &[u8], piece: usize) -> (usize, Option<Violation>) {
    let mut inbound = Inbound::new(H2Limits::default());
    let (mut approved, mut end) = (0, 0);
    while end < bytes.len() {
        end = (end + piece).min(bytes.len());
        let v = inbound.scan(&bytes[approved..end]);
        approved += v.approved;
        if v.violation.is_some() {
            return (approved, v.violation);
        }
    }
    (approved, None)
}

fn stream_of(frames: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut b = PREFACE.to_vec();
    frames.into_iter().for_each(|f| b.extend(f));
    b
}

#[test]
fn normal_requests_pass_whole_and_split() {
    let get = |id| {
        frame(
            frame::HEADERS,
            frame::END_HEADERS | frame::END_STREAM,
            id,
            &[0x82, 0x87, 0x84],
        )
    };
    let b = stream_of(
        [frame(frame::SETTINGS, 0, 0, &[])]
            .into_iter()
            .chain((0..300).map(|i| get(2 * i + 1))),
    );
    for piece in [1, 7, 9, 13, 4096, b.len()] {
        // 300 streams the server never answered: over the concurrency bound.
        let (_, v) = feed(&b, piece);
        assert_eq!(v, Some(Violation::ConcurrentStreams), "piece {piece}");
    }
    let ok = stream_of((0..100).map(|i| get(2 * i + 1)));
    assert_eq!(feed(&ok, 5), (ok.len(), None));
}

#[test]
fn empty_data_flood_stops_at_the_first_frame_over_the_bound() {
    let open = frame(frame::HEADERS, frame::END_HEADERS, 1, &[0x83, 0x87, 0x84]);
    let empties = (0..1000).map(|_| frame(frame::DATA, 0, 1, &[]));
    let b = stream_of(std::iter::once(open.clone()).chain(empties));
    let (approved, v) = feed(&b, 1000);
    assert_eq!(v, Some(Violation::EmptyData));
    assert_eq!(approved, PREFACE.len() + open.len() + 100 * HEADER_LEN);
}

#[test]
fn continuation_flood_and_big_blocks() {
    let mut frames = vec![frame(frame::HEADERS, 0, 1, &[0x82])];
    frames.extend((0..20).map(|_| frame(frame::CONTINUATION, 0, 1, &[])));
    assert_eq!(feed(&stream_of(frames), 64).1, Some(Violation::Continuations));
    let big = vec![0u8; 16_000];
    let mut frames = vec![frame(frame::HEADERS, 0, 1, &big)];
    frames.extend((0..4).map(|_| frame(frame::CONTINUATION, 0, 1, &big)));
    assert_eq!(feed(&stream_of(frames), 999).1, Some(Violation::HeaderBlock));
}

#[test]
fn control_frame_floods() {
    let cases = [
        (frame(frame::PING, 0, 0, &[0; 8]), Violation::Pings),
        (frame(frame::SETTINGS, 0, 0, &[]), Violation::Settings),
        (
            frame(frame::PRIORITY, 0, 1, &[0, 0, 0, 0, 16]),
            Violation::Priority,
        ),
        (
            frame(frame::WINDOW_UPDATE, 0, 0, &1u32.to_be_bytes()),
            Violation::WindowUpdates,
        ),
        (frame(0x42, 0, 0, b"x"), Violation::Unknown),
        (frame(frame::RST_STREAM, 0, 1, &[0, 0, 0, 8]), Violation::Resets),
    ];
    for (f, want) in cases {
        let b = stream_of((0..500).map(|_| f.clone()));
        assert_eq!(feed(&b, 100).1, Some(want));
    }
    let big_update = frame(frame::WINDOW_UPDATE, 0, 0, &65_536u32.to_be_bytes());
    let b = stream_of((0..500).map(|_| big_update.clone()));
    assert_eq!(feed(&b, 100), (b.len(), None));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..200 {
        let bytes: Vec<u8> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let (approved, _) = feed(&bytes, 1 + round % 50);
        assert!(approved <= bytes.len());
    }
}

/// The time a request head takes is what `header_timeout` bounds: `head_arriving` is true from a
/// partial frame header or an open header block until the last header payload byte, never for
/// DATA, and every ended block is counted (so each head gets its own time).
#[test]
fn c5_a_head_is_arriving_from_its_first_header_byte_to_its_last_payload_byte() {
    let mut inbound = Inbound::new(H2Limits::default());
    let v = inbound.scan(PREFACE);
    assert_eq!(v.approved, PREFACE.len());
    assert!(!inbound.head_arriving(0));
    // Four bytes of a frame header: not judged, its kind unknown yet.
    let headers = frame(frame::HEADERS, 0, 1, &[0x82; 6]);
    assert_eq!(inbound.scan(&headers[..4]).approved, 0);
    assert!(inbound.head_arriving(4));
    // HEADERS without END_HEADERS, payload in part.
    assert_eq!(inbound.scan(&headers[..HEADER_LEN + 2]).approved, HEADER_LEN + 2);
    assert!(inbound.head_arriving(0));
    assert_eq!(inbound.scan(&headers[HEADER_LEN + 2..]).approved, 4);
    assert!(inbound.head_arriving(0), "the block is open until END_HEADERS");
    let last = frame(frame::CONTINUATION, frame::END_HEADERS, 1, &[0x82; 6]);
    assert_eq!(inbound.scan(&last[..HEADER_LEN + 1]).approved, HEADER_LEN + 1);
    assert!(inbound.head_arriving(0));
    assert_eq!(inbound.heads_done(), 1);
    assert_eq!(inbound.scan(&last[HEADER_LEN + 1..]).approved, 5);
    assert!(!inbound.head_arriving(0));
    // DATA in part is the body's business.
    let data = frame(frame::DATA, 0, 1, &[b'x'; 20]);
    assert_eq!(inbound.scan(&data[..HEADER_LEN + 3]).approved, HEADER_LEN + 3);
    assert!(!inbound.head_arriving(0));
}

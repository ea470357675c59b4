//! Where the memory of one large SOAP response goes, phase by phase, as the gateway handles it:
//! the body as read; the JSON text written while parsing (routes without `select`); then, for
//! routes that select, the JSON value built from it and the JSON text written from the value.
//!
//!   cargo run --release --example memory_profile -- RESPONSE.xml
//!
//! (bench/run.sh writes a 10 MiB one to bench/.work/<ts>/www/items-10m with KEEP_WORK=1.)
//! Figures come from /proc/self/status: VmRSS after each phase and VmHWM (the peak, reset before
//! each phase through /proc/self/clear_refs), so they include allocator overhead, as the
//! gateway's own figures in BENCHMARKS.md do. Linux only.

use soapgate::soap::convert::Hints;
use soapgate::soap::parse::{parse, stream, Outcome, XmlLimits};

fn status_kib(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)
                .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn reset_peak() {
    // "5" resets VmHWM to the current RSS (proc(5)).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() -> std::process::ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: memory_profile RESPONSE.xml");
        return std::process::ExitCode::from(2);
    };
    let start = status_kib("VmRSS");
    reset_peak();
    let body = match std::fs::read(&path) {
        Ok(b) => bytes::Bytes::from(b),
        Err(e) => {
            eprintln!("{path}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let after_body = status_kib("VmRSS");
    println!("process at start              {:8.1} MiB", mib(start));
    println!(
        "body read ({:.1} MiB)           {:+8.1} MiB",
        body.len() as f64 / 1048576.0,
        mib(after_body) - mib(start)
    );

    // The limits of bench/run.sh's 10 MiB probe (gw-m): many children, long texts.
    let limits = XmlLimits {
        max_children: 1_000_000,
        max_text: 1 << 20,
        ..XmlLimits::default()
    };
    reset_peak();
    let streamed = match stream(&body, &limits, &Hints::default(), true).map(|r| r.outcome) {
        Ok(Outcome::Payload(Some(text))) => text,
        Ok(_) => {
            eprintln!("{path}: not streamed (a Fault, or handed over to the tree)");
            return std::process::ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "JSON text ({:.1} MiB) streamed  {:+8.1} MiB   (peak while parsing {:+.1} MiB over the body)",
        streamed.len() as f64 / 1048576.0,
        mib(status_kib("VmRSS")) - mib(after_body),
        mib(status_kib("VmHWM")) - mib(after_body)
    );
    drop(streamed);
    let after_body = status_kib("VmRSS");

    reset_peak();
    let parsed = match parse(&body, &limits, &Hints::default(), true) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{path}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let value = match parsed.outcome {
        Outcome::Payload(v) => v,
        Outcome::Fault(_) => {
            eprintln!("{path}: a SOAP Fault");
            return std::process::ExitCode::FAILURE;
        }
    };
    let after_parse = status_kib("VmRSS");
    println!(
        "JSON value built (DOM)        {:+8.1} MiB   (peak while parsing {:+.1} MiB over the body)",
        mib(after_parse) - mib(after_body),
        mib(status_kib("VmHWM")) - mib(after_body)
    );
    drop(body);
    let without_body = status_kib("VmRSS");
    println!(
        "body dropped                  {:+8.1} MiB",
        mib(without_body) - mib(after_parse)
    );

    reset_peak();
    let text = value.to_string();
    let peak_ser = status_kib("VmHWM");
    println!(
        "JSON text ({:.1} MiB) written   {:+8.1} MiB   (peak while writing {:+.1} MiB)",
        text.len() as f64 / 1048576.0,
        mib(status_kib("VmRSS")) - mib(without_body),
        mib(peak_ser) - mib(without_body)
    );
    std::hint::black_box(&text);
    std::process::ExitCode::SUCCESS
}

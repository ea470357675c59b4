//! Step 3 costs: the JSON limit checker (one non-recursive pass that also builds the Value) against
//! a bare `serde_json::from_slice` on the same 1 KiB and 256 KiB bodies, and the injection checks
//! (all four built-in sets over every JSON string) on the parsed document.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use soapgate::threat::json::{parse, JsonLimits};
use soapgate::threat::patterns::{Patterns, Source};
use std::hint::black_box;

/// An order-like body of about `target` bytes, inside the default limits.
fn body(target: usize) -> Vec<u8> {
    let mut lines = Vec::new();
    let mut len = 0;
    let mut i = 0;
    while len < target {
        let line = json!({
            "sku": format!("SKU-{:05}", i),
            "description": format!("Widget, blue, size {} — O'Brien & Sons <{i}>", ["S", "M", "L"][i % 3]),
            "quantity": i % 9 + 1,
            "unitPrice": 1.5 + (i % 200) as f64 * 0.25,
            "gift": i % 2 == 0,
            "note": if i % 3 == 0 { Value::Null } else { json!("leave at the door") },
        });
        len += serde_json::to_string(&line).map_or(0, |s| s.len() + 1);
        lines.push(line);
        i += 1;
    }
    // Within the array limit: orders of at most 200 lines each.
    let orders: Vec<Value> = lines
        .chunks(200)
        .enumerate()
        .map(|(n, l)| json!({"reference": format!("PO-2024-{n:04}"), "lines": l}))
        .collect();
    let doc = json!({"currency": "GBP", "orders": orders});
    serde_json::to_vec(&doc).unwrap_or_default()
}

fn bench_json(c: &mut Criterion) {
    let lim = JsonLimits::default();
    let all: Vec<String> = ["sql", "xpath", "xml", "script"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let patterns = Patterns::compile(&all, &[], &Source::ALL).unwrap_or_else(|e| panic!("{e}"));
    for (label, size) in [("1KiB", 1024), ("256KiB", 250 * 1024)] {
        let bytes = body(size);
        assert!(parse(&bytes, &lim).is_ok(), "bench body must pass the limits");
        let mut g = c.benchmark_group(format!("threats/{label}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("serde_json_from_slice", |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&bytes)).map(|v| v.is_object()))
        });
        g.bench_function("limit_checker", |b| {
            b.iter(|| parse(black_box(&bytes), &lim).map(|v| v.is_object()))
        });
        let doc = parse(&bytes, &lim).unwrap_or(Value::Null);
        g.bench_function("injection_all_sets", |b| {
            b.iter(|| patterns.check_json(black_box(&doc)).is_ok())
        });
        g.finish();
    }
}

criterion_group!(benches, bench_json);
criterion_main!(benches);

//! Mediation hot paths: SOAP response XML -> JSON, and JSON -> SOAP request via a template,
//! each measured next to a floor (a bare quick-xml pass, a bare `serde_json::to_string`).

use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, Criterion, Throughput};
use handlebars::Context;
use quick_xml::events::Event;
use quick_xml::NsReader;
use serde_json::{json, Value};
use soapgate::config::Diagnostics;
use soapgate::mapping::request::Templates;
use soapgate::mapping::schema::{parse_typed, stream_typed, Bound, Gates};
use soapgate::soap::convert::{Hints, ScalarType};
use soapgate::soap::convert::{Tally, Undeclared};
use soapgate::soap::parse::{parse, stream, Outcome, XmlLimits};
use std::fmt::Write;
use std::hint::black_box;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// The two payload sizes every group is measured at.
const SIZES: [(&str, usize, usize); 2] = [("1KiB", KIB, 100), ("1MiB", MIB, 20)];

// ---------------------------------------------------------------------------------------------
// XML -> JSON
// ---------------------------------------------------------------------------------------------

/// One `order` of a document/literal `GetOrdersResponse`: attributes, an entity reference,
/// a typed total with an attribute, an `xsi:nil`, a nested object and 1..=3 `lines/line`.
fn push_order(xml: &mut String, i: usize) {
    let status = ["open", "shipped", "cancelled"][i % 3];
    let paid = i % 2 == 0;
    write!(
        xml,
        r#"<m:order id="ORD-{i:06}" status="{status}">
<m:orderId>{i}</m:orderId>
<m:customer>Smith &amp; Sons Ltd &lt;{i}&gt;</m:customer>
<m:placedAt>2024-03-{day:02}T10:15:00Z</m:placedAt>
<m:total currency="GBP">{total}.{cents:02}</m:total>
<m:paid>{paid}</m:paid>
"#,
        day = i % 28 + 1,
        total = 10 + i % 990,
        cents = i % 100,
    )
    .expect("write to String");
    if i % 3 == 0 {
        xml.push_str("<m:note xsi:nil=\"true\"/>\n");
    } else {
        writeln!(xml, "<m:note>Leave at door {i}</m:note>").expect("write to String");
    }
    xml.push_str(
        "<m:shipTo><m:city>London</m:city><m:postcode>SW1A 1AA</m:postcode></m:shipTo>\n<m:lines>\n",
    );
    for n in 1..=(i % 3 + 1) {
        writeln!(
            xml,
            "<m:line no=\"{n}\"><m:sku>SKU-{sku:05}</m:sku><m:quantity>{qty}</m:quantity>\
             <m:unitPrice>{p}.99</m:unitPrice></m:line>",
            sku = (i * 7 + n) % 100_000,
            qty = n * 2,
            p = n + i % 50,
        )
        .expect("write to String");
    }
    xml.push_str("</m:lines>\n</m:order>\n");
}

/// A SOAP 1.1 `GetOrdersResponse` of about `target` bytes (it stops at the first order past it).
fn soap_response(target: usize) -> Vec<u8> {
    const HEAD: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soap:Body>
<m:GetOrdersResponse xmlns:m="urn:example:orders">
"#;
    const TAIL: &str = "</m:GetOrdersResponse>\n</soap:Body>\n</soap:Envelope>\n";
    let mut xml = String::with_capacity(target + 1024);
    xml.push_str(HEAD);
    let mut i = 0;
    while xml.len() + TAIL.len() < target {
        push_order(&mut xml, i);
        i += 1;
    }
    xml.push_str(TAIL);
    xml.into_bytes()
}

/// The hints a route for `GetOrders` would declare (paths below the unwrapped wrapper).
fn order_hints() -> Hints {
    let arrays = ["order", "order/lines/line"].map(String::from);
    let types = [
        ("order/orderId", ScalarType::Integer),
        ("order/total", ScalarType::Decimal),
        ("order/paid", ScalarType::Boolean),
        ("order/lines/line/quantity", ScalarType::Integer),
        ("order/lines/line/unitPrice", ScalarType::Decimal),
    ]
    .map(|(p, t)| (p.to_string(), t));
    Hints::new(&arrays, &types).expect("valid hints")
}

/// The floor: one namespace-resolving quick-xml pass that only looks at each event.
fn bare_quick_xml(bytes: &[u8]) {
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().expand_empty_elements = true;
    loop {
        let (ns, event) = reader.read_resolved_event().expect("well-formed XML");
        if matches!(event, Event::Eof) {
            break;
        }
        black_box((ns, event));
    }
}

/// One conversion of the document, by name.
type Job<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Everything the XML -> JSON groups measure: the floor, the tree (`Value`: what routes with
/// `select` or `includeHeader` build), the tree then its text (the whole job before JSON was
/// written while parsing), and the JSON text written while parsing (the job of every other route).
fn conversions<'a>(
    xml: &'a [u8],
    limits: &'a XmlLimits,
    hints: [&'a Hints; 2],
    bound: Bound<'a>,
) -> Vec<Job<'a>> {
    let [untyped, hinted] = hints;
    vec![
        ("bare_quick_xml", Box::new(move || bare_quick_xml(black_box(xml)))),
        (
            "untyped",
            job(move || parse(black_box(xml), limits, untyped, true)),
        ),
        ("hinted", job(move || parse(black_box(xml), limits, hinted, true))),
        (
            "typed_wsdl",
            job(move || parse_typed(black_box(xml), limits, bound, drop_gates())),
        ),
        (
            "typed_wsdl_tree_text",
            job(move || {
                parse_typed(black_box(xml), limits, bound, drop_gates()).map(|r| match r.outcome {
                    Outcome::Payload(v) => v.to_string(),
                    Outcome::Fault(_) => String::new(),
                })
            }),
        ),
        (
            "untyped_stream",
            job(move || stream(black_box(xml), limits, untyped, true)),
        ),
        (
            "typed_wsdl_stream",
            job(move || stream_typed(black_box(xml), limits, bound, drop_gates())),
        ),
    ]
}

/// A route's default: undeclared data dropped (counted in a tally nobody reads here).
fn drop_gates() -> Gates<'static> {
    static TALLY: Tally = Tally::new();
    Gates::all(Undeclared::Drop, &TALLY)
}

/// A conversion as a job: its result is checked, then dropped inside the measurement.
fn job<'a, T, E: std::fmt::Debug>(f: impl Fn() -> Result<T, E> + 'a) -> Box<dyn Fn() + 'a> {
    Box::new(move || drop(black_box(f().expect("parses"))))
}

/// The document, its limits, hints and WSDL binding, checked to convert on every path.
struct Fixture {
    limits: XmlLimits,
    untyped: Hints,
    hinted: Hints,
    wsdl: soapgate::wsdl::model::Wsdl,
}

impl Fixture {
    fn new() -> Fixture {
        let wsdl_path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/fixtures/orders.wsdl");
        Fixture {
            // The 1 MiB document has ~1,500 orders under one wrapper; the default child limit is 10,000.
            limits: XmlLimits {
                max_children: 1_000_000,
                ..Default::default()
            },
            untyped: Hints::default(),
            hinted: order_hints(),
            wsdl: soapgate::wsdl::load(std::path::Path::new(wsdl_path)).expect("bench WSDL loads"),
        }
    }

    fn bound(&self) -> Bound<'_> {
        let op = self.wsdl.operation("GetOrders", None).expect("GetOrders");
        Bound { wsdl: &self.wsdl, op }
    }

    fn check(&self, xml: &[u8]) {
        let limits = &self.limits;
        for hints in [&self.untyped, &self.hinted] {
            let res = parse(xml, limits, hints, true).expect("the generated response parses");
            assert!(matches!(res.outcome, Outcome::Payload(_)), "not a payload");
            let res = stream(xml, limits, hints, true).expect("the generated response parses");
            assert!(matches!(res.outcome, Outcome::Payload(Some(_))), "not streamed");
        }
        let res =
            stream_typed(xml, limits, self.bound(), drop_gates()).expect("the generated response parses");
        assert!(matches!(res.outcome, Outcome::Payload(Some(_))), "not streamed");
    }
}

fn bench_xml_to_json(c: &mut Criterion) {
    let fx = Fixture::new();
    for (label, target, samples) in SIZES {
        let xml = soap_response(target);
        fx.check(&xml);
        let mut group = c.benchmark_group(format!("xml_to_json/{label}"));
        group.throughput(Throughput::Bytes(xml.len() as u64));
        group.sample_size(samples);
        for (name, job) in conversions(&xml, &fx.limits, [&fx.untyped, &fx.hinted], fx.bound()) {
            group.bench_function(name, |b| b.iter(&job));
        }
        group.finish();
    }
}

/// `SOAPGATE_INTERLEAVE=ROUNDS`: the conversions again, interleaved instead of one after the other
/// (criterion measures each function for seconds in turn, and a noisy minute then lands on one of
/// them). Each round times every job for about 25 ms, in a rotating order; prints the median time
/// per job, and the median, lowest and highest of the per-round ratios to the floor, as `crit`
/// lines for bench/lib/report.py.
fn interleaved(rounds: usize) {
    let fx = Fixture::new();
    for (label, target, _) in SIZES {
        let xml = soap_response(target);
        fx.check(&xml);
        let jobs = conversions(&xml, &fx.limits, [&fx.untyped, &fx.hinted], fx.bound());
        // Iterations per job and round: about 25 ms each.
        let iters: Vec<u32> = jobs
            .iter()
            .map(|(_, job)| {
                let t = std::time::Instant::now();
                job();
                (0.025 / t.elapsed().as_secs_f64().max(1e-7)).clamp(1.0, 100_000.0) as u32
            })
            .collect();
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); jobs.len()];
        for round in 0..rounds {
            for k in 0..jobs.len() {
                let j = (k + round) % jobs.len();
                let (_, job) = &jobs[j];
                let t = std::time::Instant::now();
                for _ in 0..iters[j] {
                    job();
                }
                times[j].push(t.elapsed().as_secs_f64() * 1e6 / f64::from(iters[j]));
            }
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let mut line = format!("crit\tsize={label}\trounds={rounds}");
        for (j, (name, _)) in jobs.iter().enumerate() {
            let _ = write!(line, "\t{name}_us={:.2}", median(times[j].clone()));
            if j > 0 {
                let mut r: Vec<f64> = times[0].iter().zip(&times[j]).map(|(b, t)| b / t).collect();
                r.sort_by(f64::total_cmp);
                let (lo, hi) = (r[0], r[r.len() - 1]);
                let _ = write!(
                    line,
                    "\t{name}_ratio={:.3}\t{name}_ratio_range={lo:.3}-{hi:.3}",
                    median(r)
                );
            }
        }
        println!("{line}");
    }
}

// ---------------------------------------------------------------------------------------------
// JSON -> SOAP request (template render)
// ---------------------------------------------------------------------------------------------

/// What a user writes for `CreateOrder`: a loop, `default`, `upper` and `format_number`.
const CREATE_ORDER: &str = r#"<c:CreateOrder xmlns:c="{{ns}}">
  <c:customerId>{{path.id}}</c:customerId>
  <c:currency>{{upper (default body.currency "GBP")}}</c:currency>
  <c:reference>{{body.reference}}</c:reference>
  <c:lines>
    {{#each body.lines}}
    <c:line>
      <c:sku>{{upper this.sku}}</c:sku>
      <c:description>{{this.description}}</c:description>
      <c:quantity>{{this.quantity}}</c:quantity>
      <c:unitPrice>{{format_number this.unitPrice 2}}</c:unitPrice>
      <c:note>{{default this.note "none"}}</c:note>
    </c:line>
    {{/each}}
  </c:lines>
</c:CreateOrder>
"#;

/// One order line of the JSON request body; every other note is null (so `default` kicks in).
fn order_line(i: usize) -> Value {
    json!({
        "sku": format!("sku-{:05}", i % 100_000),
        "description": format!("Widget, blue, size {}", ["S", "M", "L"][i % 3]),
        "quantity": i % 9 + 1,
        "unitPrice": 1.5 + (i % 200) as f64 * 0.25,
        "note": if i % 2 == 0 { Value::Null } else { json!(format!("gift wrap & card #{i}")) },
    })
}

/// A `CreateOrder` body whose JSON text is about `target` bytes (~110 bytes per line).
fn order_body(target: usize) -> Value {
    let mut lines = Vec::new();
    let mut len = 0;
    while len < target {
        let line = order_line(lines.len());
        len += serde_json::to_string(&line).expect("serializes").len() + 1;
        lines.push(line);
    }
    json!({ "currency": null, "reference": "PO-2024-0001 <urgent>", "lines": lines })
}

fn bench_template_render(c: &mut Criterion) {
    let mut templates = Templates::new();
    let mut diagnostics = Diagnostics::default();
    let compiled = templates.compile("create_order", CREATE_ORDER, "bench", &mut diagnostics);
    assert!(compiled, "template does not compile: {:?}", diagnostics.errors);

    let mut group = c.benchmark_group("template_render");
    for (label, target, samples) in SIZES {
        let body = order_body(target);
        let ctx = Context::from(json!({
            "path": { "id": "C-1001" },
            "body": body.clone(),
            "ns": "urn:example:orders",
        }));
        let json_len = serde_json::to_string(&body).expect("serializes").len();
        templates
            .render("create_order", &ctx)
            .expect("the template renders");
        configure(&mut group, json_len, samples);
        group.bench_function(format!("serde_json_to_string/{label}"), |b| {
            b.iter(|| serde_json::to_string(black_box(&body)).expect("serializes"))
        });
        group.bench_function(format!("render/{label}"), |b| {
            b.iter(|| {
                templates
                    .render("create_order", black_box(&ctx))
                    .expect("renders")
            })
        });
    }
    group.finish();
}

/// Throughput is the JSON body's size, so render and its floor are comparable.
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, bytes: usize, samples: usize) {
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(samples);
}

criterion_group!(benches, bench_xml_to_json, bench_template_render);

fn main() {
    if let Some(rounds) = std::env::var("SOAPGATE_INTERLEAVE")
        .ok()
        .and_then(|r| r.parse::<usize>().ok())
    {
        interleaved(rounds.max(1));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! Logging through the real binary: one JSON access line per request, correlation ids, no secrets.

use crate::common::fake_soap::{FakeSoap, Reply};
use crate::common::gateway::TestGateway;
use crate::common::process::Soapgate;
use serde_json::Value;
use std::time::Duration;

const ROUTE: &str =
    "id: get-thing\nmethod: GET\npath: /things/{id}\noperation: GetThing\naction: urn:test/GetThing";

fn json_line(line: &str) -> Option<Value> {
    serde_json::from_str(line).ok()
}

/// Starts `soapgate serve` on a free port and returns it with its REST address.
fn serve(dir: &std::path::Path) -> (Soapgate, String) {
    let mut p = Soapgate::start(&["serve", "--config", "soapgate.yaml"], dir);
    let ready = p
        .wait_line(Duration::from_secs(20), |l| l.contains("soapgate listening"))
        .unwrap_or_else(|| panic!("no listening line; saw {:?}", p.seen));
    let v = json_line(&ready).expect("startup line is JSON");
    let listen = v["listen"].as_str().expect("listen field").to_string();
    let addr = listen.trim_matches(|c| c == '[' || c == ']').to_string();
    (p, format!("http://{addr}"))
}

#[actix_rt::test]
async fn each_request_writes_one_json_access_line_without_the_token() {
    let fake = FakeSoap::new()
        .on("GetThing", Reply::soap11("<R><v>1</v></R>"))
        .start();
    let cfg = TestGateway::builder()
        .route(&fake.url("/s"), ROUTE, "<GetThing>{{path.id}}</GetThing>")
        .config("logging: { format: auto, level: info }");
    let (dir, _) = cfg.write();
    std::fs::write(
        dir.path().join("soapgate.yaml"),
        "listen: 127.0.0.1:0\nworkers: 1\nlogging: { format: auto, level: info }\n",
    )
    .expect("config");
    let (mut p, base) = serve(dir.path());
    let client = awc::Client::default();
    let res = client
        .get(format!("{base}/things/7"))
        .insert_header(("Authorization", "Bearer sekrit-token-value"))
        .insert_header(("X-Correlation-ID", "corr-42"))
        .send()
        .await
        .expect("gateway answers");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok()),
        Some("corr-42")
    );
    let line = p
        .wait_line(Duration::from_secs(10), |l| l.contains("soapgate::access"))
        .expect("an access line");
    let v = json_line(&line).expect("access line is JSON");
    assert_eq!(v["correlation_id"], "corr-42");
    assert_eq!(v["route"], "get-thing");
    assert_eq!(v["operation"], "GetThing");
    assert_eq!(v["status"], 200);
    assert_eq!(v["backend_status"], 200);
    assert_eq!(v["method"], "GET");
    assert_eq!(v["path"], "/things/7");
    for phase in [
        "total_us",
        "accept_us",
        "render_us",
        "backend_us",
        "convert_us",
        "bytes_out",
    ] {
        assert!(v[phase].is_u64(), "{phase} missing in {line}");
    }
    assert_eq!(
        fake.last_request().expect("sent").header("x-correlation-id"),
        Some("corr-42")
    );
    // A failing request logs its error code once, on the access line.
    let res = client.get(format!("{base}/nope")).send().await.expect("answers");
    assert_eq!(res.status().as_u16(), 404);
    let line = p
        .wait_line(Duration::from_secs(10), |l| l.contains("soapgate::access"))
        .expect("line");
    assert_eq!(json_line(&line).expect("json")["error_code"], "NOT_FOUND");
    drop(p.wait_line(Duration::from_millis(300), |_| false));
    assert!(
        p.seen.iter().all(|l| !l.contains("sekrit")),
        "token leaked: {:?}",
        p.seen
    );
}

#[actix_rt::test]
async fn correlation_id_is_minted_or_taken_from_request_id_or_traceparent() {
    let fake = FakeSoap::new().otherwise(Reply::soap11("<R/>")).start();
    let gw = TestGateway::builder()
        .route(&fake.url("/s"), ROUTE, "<GetThing/>")
        .start();
    let minted = gw.get("/things/1").await;
    let id = minted.header("x-correlation-id").expect("minted").to_string();
    assert_eq!(id.len(), 32);
    assert_eq!(
        fake.last_request().expect("sent").header("x-correlation-id"),
        Some(id.as_str())
    );
    let r = gw
        .send("GET", "/things/1", &[("x-request-id", "req-9")], None)
        .await;
    assert_eq!(r.header("x-correlation-id"), Some("req-9"));
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = gw.send("GET", "/things/1", &[("traceparent", tp)], None).await;
    assert_eq!(
        r.header("x-correlation-id"),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    // A hostile id (header injection attempt, oversize) is replaced, never echoed.
    let r = gw
        .send("GET", "/things/1", &[("x-correlation-id", "a b<script>")], None)
        .await;
    assert_ne!(r.header("x-correlation-id"), Some("a b<script>"));
}

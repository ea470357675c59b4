//! Cost of step 5. `ratelimit_per_request`: the same route through the real gateway (HTTP in, SOAP
//! backend on loopback, JSON out) without a policy and with a local (governor) policy that never
//! refuses — the ratio is the figure to read. `ratelimit_decide`: one decision alone, local
//! (governor) and Redis (the GCRA Lua script over loopback, against a `redis-server` this bench
//! starts; skipped with a message when it is missing).

use actix_web::{web, App, HttpResponse, HttpServer};
use criterion::{criterion_group, criterion_main, Criterion};
use soapgate::gateway::Gateway;
use soapgate::ratelimit::store::{Check, RedisStore};
use soapgate::ratelimit::{OnError, RedisSpec};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const REPLY: &str = "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>\
<t:GetResponse xmlns:t=\"urn:t\"><t:id>42</t:id><t:name>Ada</t:name><t:active>true</t:active></t:GetResponse>\
</soap:Body></soap:Envelope>";

/// Runs `make` (which binds a server) on its own actix System thread; returns its address.
fn spawn_server(make: impl FnOnce() -> (actix_web::dev::Server, SocketAddr) + Send + 'static) -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let (server, addr) = make();
            tx.send(addr).expect("send address");
            server.await.expect("server");
        })
    });
    rx.recv().expect("server address")
}

fn backend() -> SocketAddr {
    spawn_server(|| {
        let server = HttpServer::new(|| {
            App::new().route(
                "/s",
                web::post().to(|| async { HttpResponse::Ok().content_type("text/xml").body(REPLY) }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind backend");
        let addr = server.addrs()[0];
        (server.run(), addr)
    })
}

fn gateway(dir: &std::path::Path, backend: SocketAddr) -> (Arc<Gateway>, SocketAddr) {
    std::fs::create_dir_all(dir.join("mappings")).expect("mkdir");
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    // A policy that never refuses at bench speed (a million per second), keyed by client address.
    std::fs::write(
        dir.join("soapgate.yaml"),
        "listen: 127.0.0.1:0\nworkers: 1\nlogging: { format: json, level: error }\n\
         rate_limits:\n  policies:\n    - { name: bench, rate: 1000000/s, key: ip }\n",
    )
    .expect("config");
    std::fs::write(
        dir.join("templates/t.xml.hbs"),
        "<t:Get xmlns:t=\"urn:t\"><t:id>{{path.id}}</t:id></t:Get>",
    )
    .expect("template");
    std::fs::write(
        dir.join("mappings/svc.yaml"),
        format!(
            "service: svc\nbackend: {{ urls: ['http://{backend}/s'] }}\nroutes:\n\
             - {{ id: open, method: GET, path: '/open/{{id}}', operation: Get, request: {{ template: templates/t.xml.hbs }} }}\n\
             - {{ id: limited, method: GET, path: '/limited/{{id}}', operation: Get, rate_limit: [bench], request: {{ template: templates/t.xml.hbs }} }}\n"
        ),
    )
    .expect("mapping");
    let gw = Arc::new(Gateway::load(dir.join("soapgate.yaml")).expect("gateway config"));
    let g = gw.clone();
    let addr = spawn_server(move || {
        let (server, addrs) = soapgate::server::rest_server(g, "127.0.0.1:0").expect("bind gateway");
        (server, addrs[0])
    });
    (gw, addr)
}

/// A throwaway redis-server on a free loopback port, killed on drop.
struct RedisServer(Child, u16);

impl RedisServer {
    fn start() -> Option<RedisServer> {
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = RedisServer(child, port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bench_ratelimit(c: &mut Criterion) {
    let backend = backend();
    let dir = tempfile::tempdir().expect("temp dir");
    let (gw, addr) = gateway(dir.path(), backend);
    let sys = actix_rt::System::new();
    let client = sys.block_on(async { awc::Client::default() });

    let mut group = c.benchmark_group("ratelimit_per_request");
    for (name, path) in [("no_limit", "/open/42"), ("local_limit", "/limited/42")] {
        let url = format!("http://{addr}{path}");
        let once = || async {
            let mut res = client.get(&url).send().await.expect("gateway answers");
            assert_eq!(res.status().as_u16(), 200, "{name}");
            res.body().await.expect("body")
        };
        sys.block_on(once());
        group.bench_function(name, |b| b.iter(|| sys.block_on(once())));
    }
    group.finish();

    let mut decide = c.benchmark_group("ratelimit_decide");
    let policy = gw.snapshot().ratelimit.policies[0].clone();
    let mut n = 0u128;
    decide.bench_function("local_governor", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            policy.decide_local(n % 1024, 1)
        })
    });
    match RedisServer::start() {
        None => eprintln!(
            "skipping ratelimit_decide/redis_*: redis-server is missing (apt-get install redis-server)"
        ),
        Some(server) => {
            let spec = RedisSpec {
                url: format!("redis://127.0.0.1:{}/", server.1),
                timeout: Duration::from_secs(1),
                on_error: OnError::Reject,
                prefix: "bench".into(),
                retry_interval: Duration::from_secs(1),
                tls: None,
            };
            let store = sys.block_on(async { RedisStore::new(spec, Default::default()) });
            let check = |key: &str| Check {
                key: key.to_string(),
                interval: Duration::from_micros(1),
                burst: 1_000_000,
                cost: 1,
            };
            let one = vec![check("bench:a")];
            let three = vec![check("bench:a"), check("bench:b"), check("bench:c")];
            for (name, checks) in [("redis_one_policy", &one), ("redis_three_policies", &three)] {
                let d = sys.block_on(store.decide(checks)).expect("redis answers");
                assert!(d.iter().all(|d| d.allowed));
                decide.bench_function(name, |b| {
                    b.iter(|| sys.block_on(store.decide(checks)).expect("redis answers"))
                });
            }
            drop(server);
        }
    }
    decide.finish();
}

criterion_group!(benches, bench_ratelimit);
criterion_main!(benches);

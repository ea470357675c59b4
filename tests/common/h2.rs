//! An in-process HTTP/2-over-TLS server (rustls, rcgen certificate, actix-http) with or without
//! the h2 guard, on its own thread so its CPU time can be read from /proc.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_http::{body::BoxBody, HttpService, Request, Response, StatusCode};
use actix_service::{fn_service, Service, ServiceFactory};
use futures_util::StreamExt;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use soapgate::tls::h2guard::{rustls_guarded, H2GuardStats, H2Limits};
use tokio::sync::oneshot;

/// What the service saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub requests: AtomicU64,
    /// Body chunks read (one per DATA frame h2 handed on, empty ones included).
    pub sink_chunks: AtomicU64,
    /// Paths whose whole body was read and answered (the first 1000).
    pub served: Mutex<Vec<String>>,
}

impl Seen {
    pub fn served(&self, path: &str) -> bool {
        self.served.lock().unwrap().iter().any(|p| p == path)
    }
}

/// CPU time (ns) and resident memory (KiB) at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Usage {
    pub cpu_ns: u64,
    pub rss_kib: u64,
}

pub struct H2Server {
    pub addr: SocketAddr,
    pub stats: Arc<H2GuardStats>,
    pub seen: Arc<Seen>,
    pub client: Arc<rustls::ClientConfig>,
    tid: u64,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl H2Server {
    /// Starts a server; `limits: None` serves h2 without the guard.
    pub fn start(limits: Option<H2Limits>) -> H2Server {
        let (server_cfg, client) = tls_pair();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stats = Arc::new(H2GuardStats::default());
        let seen = Arc::new(Seen::default());
        let (stop, stopped) = oneshot::channel();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (st, sn) = (stats.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            tid_tx.send(thread_id()).unwrap();
            actix_rt::System::new().block_on(serve(listener, server_cfg, limits, st, sn, stopped));
        });
        let tid = tid_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        H2Server {
            addr,
            stats,
            seen,
            client,
            tid,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The server thread's CPU time and the process's resident memory.
    pub fn usage(&self) -> Usage {
        Usage {
            cpu_ns: thread_cpu_ns(self.tid),
            rss_kib: rss_kib(),
        }
    }
}

impl Drop for H2Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves one accepted TCP connection to its end.
type ConnHandler =
    Rc<dyn Fn(tokio::net::TcpStream) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>;

async fn serve(
    listener: std::net::TcpListener,
    mut cfg: rustls::ServerConfig,
    limits: Option<H2Limits>,
    stats: Arc<H2GuardStats>,
    seen: Arc<Seen>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let app = move || {
        let seen = seen.clone();
        fn_service(move |req: Request| handle(seen.clone(), req))
    };
    let svc: ConnHandler = match limits {
        Some(limits) => {
            cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            let http = HttpService::build().finish(app());
            let s = Rc::new(
                rustls_guarded(cfg, None, limits, stats, http)
                    .new_service(())
                    .await
                    .unwrap(),
            );
            Rc::new(move |tcp| {
                let s = s.clone();
                Box::pin(async move {
                    let _ = s.call(tcp).await;
                })
            })
        }
        None => {
            let s = Rc::new(
                HttpService::build()
                    .finish(app())
                    .rustls_0_23(cfg)
                    .new_service(())
                    .await
                    .unwrap(),
            );
            Rc::new(move |tcp| {
                let s = s.clone();
                Box::pin(async move {
                    let _ = s.call(tcp).await;
                })
            })
        }
    };
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => {
                if let Ok((tcp, _)) = accepted {
                    actix_rt::spawn(svc(tcp));
                }
            }
        }
    }
}

/// Reads the body, counting chunks (`/hold` after a second), as the gateway does before it
/// builds a backend request; a path counts as served once its whole body was read: 200 "served".
async fn handle(seen: Arc<Seen>, mut req: Request) -> Result<Response<BoxBody>, actix_http::Error> {
    seen.requests.fetch_add(1, Ordering::Relaxed);
    let path = req.path().to_string();
    if path == "/hold" {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    {
        let mut payload = req.take_payload();
        while let Some(chunk) = payload.next().await {
            chunk?;
            seen.sink_chunks.fetch_add(1, Ordering::Relaxed);
        }
    }
    {
        let mut served = seen.served.lock().unwrap();
        if served.len() < 1000 {
            served.push(path);
        }
    }
    Ok(Response::with_body(StatusCode::OK, "served").map_into_boxed_body())
}

/// A self-signed certificate for 127.0.0.1: the server's config and a client config trusting it
/// (ALPN h2).
fn tls_pair() -> (rustls::ServerConfig, Arc<rustls::ClientConfig>) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der());
    let provider = soapgate::tls::provider();
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key.into())
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![b"h2".to_vec()];
    (server, Arc::new(client))
}

/// This thread's kernel id (from /proc/thread-self → "<pid>/task/<tid>").
fn thread_id() -> u64 {
    let link = std::fs::read_link("/proc/thread-self").unwrap();
    link.file_name().unwrap().to_string_lossy().parse().unwrap()
}

/// CPU time of thread `tid`: schedstat's first field (ns), else stat's utime+stime (ticks of 10 ms).
fn thread_cpu_ns(tid: u64) -> u64 {
    if let Ok(s) = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")) {
        if let Some(ns) = s.split_whitespace().next().and_then(|v| v.parse().ok()) {
            return ns;
        }
    }
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = after.split_whitespace().map(|v| v.parse().unwrap_or(0)).collect();
    (f[11] + f[12]) * 10_000_000
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

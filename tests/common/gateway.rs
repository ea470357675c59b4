//! `TestGateway`: a real soapgate REST listener on 127.0.0.1:0, built from config written to a temp dir.
#![allow(dead_code)]

use serde_json::Value;
use soapgate::config::{ConfigError, Snapshot};
use soapgate::gateway::Gateway;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Builds the files of one gateway config.
#[derive(Debug, Default, Clone)]
pub struct GatewayBuilder {
    config: String,
    workers: Option<usize>,
    files: Vec<(String, String)>,
}

impl GatewayBuilder {
    /// Extra lines of `soapgate.yaml` (limits, timeouts, ...).
    pub fn config(mut self, yaml: &str) -> Self {
        self.config.push_str(yaml);
        self.config.push('\n');
        self
    }

    /// Worker threads (default 1).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n);
        self
    }

    /// A mapping file `mappings/<name>.yaml`.
    pub fn mapping(self, name: &str, yaml: &str) -> Self {
        self.file(&format!("mappings/{name}.yaml"), yaml)
    }

    /// Any file relative to the config folder (templates, ...).
    pub fn file(mut self, path: &str, content: &str) -> Self {
        self.files.push((path.to_string(), content.to_string()));
        self
    }

    /// A one-route service `svc` at `url`: `route_yaml` is the route's body (id, method, path...).
    pub fn route(self, url: &str, route_yaml: &str, template: &str) -> Self {
        let indented: String = route_yaml.lines().map(|l| format!("    {l}\n")).collect();
        let mapping = format!(
            "service: svc\nbackend:\n  urls: [{url}]\n  namespace: urn:test\nroutes:\n  - request: {{ template: templates/t.xml.hbs }}\n{indented}"
        );
        self.mapping("svc", &mapping)
            .file("templates/t.xml.hbs", template)
    }

    /// Writes the files; returns the temp dir and the config path.
    pub fn write(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = dir.path().join("soapgate.yaml");
        let workers = self.workers.unwrap_or(1);
        let base =
            format!("listen: 127.0.0.1:0\nworkers: {workers}\nlogging: {{ format: text, level: warn }}\n");
        std::fs::write(&cfg, format!("{base}{}", self.config)).expect("write config");
        for (rel, content) in &self.files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, content).expect("write file");
        }
        (dir, cfg)
    }

    /// Loads the config without starting anything.
    pub fn load(&self) -> Result<Snapshot, Vec<ConfigError>> {
        let (_dir, cfg) = self.write();
        Snapshot::load(&cfg)
    }

    /// Starts the gateway on the current actix runtime.
    pub fn start(self) -> TestGateway {
        let (dir, cfg) = self.write();
        soapgate::logging::init(soapgate::config::LogFormat::Text, "warn");
        let gw = Arc::new(Gateway::load(cfg.clone()).unwrap_or_else(|e| panic!("config errors: {e:#?}")));
        let (server, addrs) = soapgate::server::rest_server(gw.clone(), "127.0.0.1:0").expect("bind");
        let handle = server.handle();
        actix_rt::spawn(server);
        let scheme = if gw.rest_tls.is_some() { "https" } else { "http" };
        TestGateway {
            base: format!("{scheme}://{}", addrs[0]),
            handle,
            gw,
            dir,
            config: cfg,
        }
    }
}

/// A running gateway; stops when dropped.
pub struct TestGateway {
    pub base: String,
    pub gw: Arc<Gateway>,
    handle: actix_web::dev::ServerHandle,
    dir: tempfile::TempDir,
    pub config: PathBuf,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        let h = self.handle.clone();
        actix_rt::spawn(async move { h.stop(false).await });
    }
}

/// A response as the tests see it.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }
}

impl TestGateway {
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder::default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Sends a request with optional JSON body and extra headers.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> Resp {
        let client = awc::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .finish();
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = client.request(method, self.url(path));
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_body(b.to_string()).await,
            None => req.send().await,
        }
        .expect("gateway answers");
        let body = res.body().limit(64 << 20).await.expect("body").to_vec();
        Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[], None).await
    }

    pub async fn post_json(&self, path: &str, body: &str) -> Resp {
        self.send("POST", path, &[("content-type", "application/json")], Some(body))
            .await
    }
}

/// Asserts a problem+json body whole, with the correlation id taken from the response.
pub fn assert_problem(r: &Resp, status: u16, code: &str, detail: &str, instance: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type(), "application/problem+json");
    let cid = r
        .header("x-correlation-id")
        .expect("correlation id echoed")
        .to_string();
    let body = r.json();
    let title = body["title"].clone();
    let expected = serde_json::json!({
        "type": soapgate::error::problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
        "correlation_id": cid,
    });
    assert_eq!(body, expected);
    assert!(title.as_str().is_some_and(|t| !t.is_empty()));
}

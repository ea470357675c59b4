//! `soapgate import` and OpenAPI: the demo WSDL imported by the real binary passes `check` and serves
//! typed JSON in front of the demo SOAP service; `/openapi.json` and `soapgate openapi` agree; every
//! loadable corpus WSDL imports into a config that loads.

use crate::common::repo;
use serde_json::{json, Value};
use soapgate::gateway::Gateway;
use soapgate::wsdl::import::{import, ImportOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

fn soapgate(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args(args)
        .env_remove("SOAPGATE_LOG")
        .output()
        .expect("run soapgate");
    assert!(
        out.status.success(),
        "soapgate {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The demo SOAP service on a free port; returns its handle and endpoint URL.
async fn demo_backend() -> (actix_web::dev::ServerHandle, String) {
    let (server, addr) = soapgate::demo::backend::start("127.0.0.1:0".parse().unwrap())
        .await
        .expect("demo backend starts");
    let handle = server.handle();
    actix_rt::spawn(server);
    (handle, format!("http://{addr}{}", soapgate::demo::backend::PATH))
}

/// A gateway on 127.0.0.1:0 serving `config`; returns its handle and base URL.
fn gateway(config: &Path) -> (actix_web::dev::ServerHandle, String) {
    let gw = Gateway::load(config.to_path_buf()).unwrap_or_else(|e| panic!("config errors: {e:#?}"));
    let (server, addrs) = soapgate::server::rest_server(Arc::new(gw), "127.0.0.1:0").expect("bind");
    let handle = server.handle();
    actix_rt::spawn(server);
    (handle, format!("http://{}", addrs[0]))
}

async fn call(method: &str, url: &str, body: Option<&str>) -> (u16, String, Value) {
    let client = awc::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .finish();
    let req = client.request(awc::http::Method::from_bytes(method.as_bytes()).unwrap(), url);
    let mut res = match body {
        Some(b) => {
            req.insert_header(("content-type", "application/json"))
                .send_body(b.to_string())
                .await
        }
        None => req.send().await,
    }
    .expect("gateway answers");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = res.body().limit(16 << 20).await.expect("body");
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (res.status().as_u16(), ct, value)
}

/// Imports the demo WSDL with the real binary into `dir`; returns the printed report.
fn import_demo(dir: &Path, backend: &str) -> String {
    let wsdl = repo("wsdl/customers.wsdl");
    let args = [
        "import",
        wsdl.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--backend-url",
        backend,
    ];
    String::from_utf8(soapgate(&args).stdout).unwrap()
}

#[actix_rt::test]
async fn imported_demo_wsdl_passes_check_and_serves_typed_json_and_faults() {
    let (backend, url) = demo_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let report = import_demo(dir.path(), &url);
    assert!(
        report.contains("GetCustomer  POST /customers/get-customer  enabled"),
        "{report}"
    );
    let config = dir.path().join("soapgate.yaml");
    soapgate(&["check", "--config", config.to_str().unwrap()]);
    let (gw, base) = gateway(&config);
    let get_customer = format!("{base}/customers/get-customer");

    let (status, _, body) = call("POST", &get_customer, Some(r#"{"customerId":"7"}"#)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, grace_hopper());

    let (status, _, fault) = call("POST", &get_customer, Some(r#"{"customerId":"99"}"#)).await;
    assert_eq!(status, 422, "{fault}");
    assert_eq!(fault["code"], json!("CUSTOMER_NOT_FOUND"));
    assert_eq!(fault["title"], json!("CustomerNotFound"));
    assert_eq!(
        fault["fault_detail"],
        json!({"CustomerNotFoundFault": {"customerId": "99"}})
    );
    // The generated routes validate against the schema (`validate: true`) before the backend.
    let (status, _, problem) = call("POST", &get_customer, Some(r#"{"customerId":7}"#)).await;
    assert_eq!(
        (status, problem["code"].clone()),
        (400, json!("SCHEMA_VIOLATION")),
        "{problem}"
    );
    assert_eq!(
        problem["errors"],
        json!([{"pointer": "/customerId", "message": "must be a string"}])
    );
    gw.stop(false).await;
    backend.stop(false).await;
}

/// Customer 7 of the demo data, converted by the schema (arrays, decimals as strings, booleans).
fn grace_hopper() -> Value {
    json!({"customer": {
        "id": "7", "name": "Grace Hopper", "email": "grace@example.org", "tier": "Silver",
        "since": "2015-12-09", "balance": "49.99", "active": true,
        "phones": {"phone": [{"@type": "work", "#text": "+1 202 555 0143"}]},
        "address": {"street": "1 Compiler Way", "city": "Arlington", "postcode": "22201", "country": "US"},
    }})
}

/// Deleting the `request.template` lines (the documented switch) renders bodies from the schema,
/// which also validates requests: same answers, and schema violations before the backend is called.
#[actix_rt::test]
async fn without_the_template_line_the_schema_renders_and_validates() {
    let (backend, url) = demo_backend().await;
    let dir = tempfile::tempdir().unwrap();
    import_demo(dir.path(), &url);
    let mapping = dir.path().join("mappings/customers.yaml");
    let text = std::fs::read_to_string(&mapping).unwrap();
    let edited: String = text
        .lines()
        .filter(|l| {
            !["request:", "template:", "validate:"]
                .iter()
                .any(|k| l.trim_start().starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&mapping, edited).unwrap();
    let (gw, base) = gateway(&dir.path().join("soapgate.yaml"));
    let get_customer = format!("{base}/customers/get-customer");
    let (status, _, body) = call("POST", &get_customer, Some(r#"{"customerId":"7"}"#)).await;
    assert_eq!((status, body), (200, grace_hopper()));
    let (status, ct, problem) = call("POST", &get_customer, Some(r#"{"customerId":7}"#)).await;
    assert_eq!(
        (status, ct.as_str()),
        (400, "application/problem+json"),
        "{problem}"
    );
    assert_eq!(problem["code"], json!("SCHEMA_VIOLATION"));
    assert_eq!(
        problem["errors"],
        json!([{"pointer": "/customerId", "message": "must be a string"}])
    );
    gw.stop(false).await;
    backend.stop(false).await;
}

#[actix_rt::test]
async fn openapi_json_is_served_and_printed_alike() {
    let (backend, url) = demo_backend().await;
    let dir = tempfile::tempdir().unwrap();
    import_demo(dir.path(), &url);
    let config = dir.path().join("soapgate.yaml");
    let (gw, base) = gateway(&config);
    let (status, ct, served) = call("GET", &format!("{base}/openapi.json"), None).await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    assert_eq!(served["openapi"], json!("3.1.0"));
    let paths: Vec<&String> = served["paths"].as_object().unwrap().keys().collect();
    let expected =
        ["create-order", "get-customer", "list-orders", "update-email"].map(|p| format!("/customers/{p}"));
    assert_eq!(paths, expected.iter().collect::<Vec<_>>());
    assert!(served["paths"]["/customers/create-order"]["post"]["requestBody"].is_object());
    let printed = soapgate(&["openapi", "--config", config.to_str().unwrap()]).stdout;
    let printed: Value = serde_json::from_slice(&printed).unwrap();
    assert_eq!(printed, served);
    gw.stop(false).await;
    backend.stop(false).await;
}

#[actix_rt::test]
async fn import_from_a_url_saves_the_wsdl_and_takes_the_backend_from_it() {
    let (backend, url) = demo_backend().await;
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "import".to_string(),
        format!("{url}?wsdl"),
        "--out".into(),
        dir.path().display().to_string(),
    ];
    // The in-process backend runs on this thread's runtime: run the binary off it.
    let out = actix_rt::task::spawn_blocking(move || soapgate(&args.each_ref().map(String::as_str)))
        .await
        .unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains(&format!("backend {url})")), "{report}");
    assert!(
        dir.path().join("wsdl/customer-service.wsdl").is_file(),
        "{report}"
    );
    let (gw, base) = gateway(&dir.path().join("soapgate.yaml"));
    let (status, _, body) = call(
        "POST",
        &format!("{base}/customer-service/update-email"),
        Some(r#"{"customerId":"7","email":"g@h.i"}"#),
    )
    .await;
    assert_eq!((status, body), (200, json!({"updated": true})));
    gw.stop(false).await;
    backend.stop(false).await;
}

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/wsdl");
/// WSDLs only imported by another one (not entry points).
const IMPORTED_ONLY: &[&str] = &["python-zeep/tests/wsdl_files/soap_import_2.wsdl"];

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Entry WSDLs of the corpus: every `.wsdl`, plus savon's `spec/fixtures/wsdl/*.xml`.
fn corpus_entries(root: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    files_under(root, &mut files);
    let mut entries: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|p| Some((p.strip_prefix(root).ok()?.to_str()?.to_string(), p)))
        .filter(|(rel, _)| {
            rel.ends_with(".wsdl") || (rel.starts_with("savon/spec/fixtures/wsdl/") && rel.ends_with(".xml"))
        })
        .filter(|(rel, _)| !IMPORTED_ONLY.contains(&rel.as_str()))
        .collect();
    entries.sort();
    entries
}

/// Imports one corpus WSDL; `Ok(None)` when the WSDL itself does not load (the loader's tests cover it).
fn import_one(path: &Path, out: &Path) -> Result<Option<usize>, String> {
    let Ok(original) = soapgate::wsdl::load(path) else {
        return Ok(None);
    };
    let opts = ImportOptions {
        tls: soapgate::tls::ClientTls::system(),
        out: out.to_path_buf(),
        ..ImportOptions::default()
    };
    let report = import(path.to_str().unwrap(), &opts).map_err(|e| format!("import: {e}"))?;
    let snap = soapgate::config::Snapshot::load(&out.join("soapgate.yaml")).map_err(|e| {
        format!(
            "check: {}",
            e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
        )
    })?;
    let saved = soapgate::wsdl::load(&out.join(format!("wsdl/{}.wsdl", report.service)))
        .map_err(|e| format!("saved copy: {e}"))?;
    if saved.operations.len() != original.operations.len()
        || saved.schema.types.len() != original.schema.types.len()
    {
        return Err("the saved copy loads into a different model".into());
    }
    let enabled = report.operations.iter().filter(|o| o.disabled.is_none()).count();
    if snap.router.routes().len() != enabled {
        return Err(format!(
            "{} routes served, {enabled} enabled in the report",
            snap.router.routes().len()
        ));
    }
    Ok(Some(enabled))
}

#[test]
fn every_loadable_corpus_wsdl_imports_into_a_config_that_loads() {
    let root = PathBuf::from(CORPUS);
    if !root.is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the corpus is required in CI but missing at {CORPUS}"
        );
        eprintln!("skipping: no corpus at {CORPUS}");
        return;
    }
    let entries = corpus_entries(&root);
    let (mut imported, mut routes, mut failures) = (0, 0, Vec::new());
    for (rel, path) in &entries {
        let dir = tempfile::tempdir().unwrap();
        match import_one(path, dir.path()) {
            Ok(Some(n)) => {
                imported += 1;
                routes += n;
            }
            Ok(None) => {}
            Err(e) => failures.push(format!("{rel}: {e}")),
        }
    }
    eprintln!(
        "corpus: {imported} of {} entry WSDLs imported and loaded ({routes} routes)",
        entries.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(imported >= 50, "only {imported} corpus WSDLs imported");
}

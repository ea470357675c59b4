//! Config validation: unknown keys, every error listed at once (C2), template lint (C1),
//! `soapgate check` / `serve` as real processes, and hot reload keeping the last good config (C5).

use crate::common::fake_soap::{FakeSoap, Reply};
use crate::common::gateway::{assert_problem, GatewayBuilder, TestGateway};
use serde_json::json;
use soapgate::config::{ConfigError, Snapshot};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TEMPLATE: &str = "templates/t.xml.hbs";
const REPLY: &str = "<t:R xmlns:t=\"urn:test\"><t:ok>yes</t:ok></t:R>";

/// One route of a mapping, indented for `routes:`; `extra` is more route keys (already indented).
fn route(id: &str, method: &str, path: &str, template: &str, extra: &str) -> String {
    format!(
        "  - id: {id}\n    method: {method}\n    path: {path}\n    operation: Op\n    \
request: {{ template: {template} }}\n{extra}"
    )
}

fn mapping(routes: &[String]) -> String {
    format!(
        "service: svc\nbackend:\n  urls: [http://127.0.0.1:9/s]\nroutes:\n{}",
        routes.concat()
    )
}

/// Writes the files and loads them; returns the errors and the folder they were written to.
fn load_errors(b: &GatewayBuilder) -> (Vec<ConfigError>, tempfile::TempDir) {
    let (dir, cfg) = b.write();
    let errors = Snapshot::load(&cfg).expect_err("config must be rejected");
    (errors, dir)
}

fn in_dir(dir: &Path, rel: &str) -> String {
    dir.join(rel).display().to_string()
}

fn soapgate(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run soapgate")
}

#[actix_rt::test]
async fn unknown_key_in_a_route_names_file_key_path_line_and_fix() {
    let extra = "    bogus: 1\n";
    let b = TestGateway::builder()
        .mapping("svc", &mapping(&[route("a", "GET", "/a", TEMPLATE, extra)]))
        .file(TEMPLATE, "<a/>");
    let (errors, dir) = load_errors(&b);
    let file = in_dir(dir.path(), "mappings/svc.yaml");
    let message = "routes[0]: unknown field `bogus`, expected one of `id`, `method`, `path`, `operation`, \
`action`, `headers`, `request`, `response`, `faults`, `scopes`, `any_scopes`, `claims`, `providers`, `public`, \
`rate_limit`, `cost`, `limits`, `threats`";
    let fix = "remove or rename the key; the message lists the accepted keys";
    let expected = ConfigError {
        file: file.clone(),
        path: "routes[0].bogus".into(),
        line: Some(10),
        message: message.into(),
        fix: fix.into(),
    };
    assert_eq!(errors, [expected]);
    let shown = format!("{file}:10: routes[0].bogus: {message} (fix: {fix})");
    assert_eq!(errors[0].to_string(), shown);
}

#[actix_rt::test]
async fn unknown_key_in_soapgate_yaml_is_rejected_with_its_path() {
    let b = TestGateway::builder()
        .config("limits: { request_bodee: 1KiB }")
        .mapping("svc", &mapping(&[route("a", "GET", "/a", TEMPLATE, "")]))
        .file(TEMPLATE, "<a/>");
    let (errors, dir) = load_errors(&b);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert_eq!(e.file, in_dir(dir.path(), "soapgate.yaml"));
    assert_eq!(e.path, "limits.request_bodee");
    assert_eq!(e.line, Some(4));
    assert!(e.message.contains("unknown field `request_bodee`"), "{e}");
    assert!(!e.fix.is_empty());
}

/// A config with seven independent errors in two files.
fn broken() -> GatewayBuilder {
    let routes = [
        route("r0", "FETCH", "/r0", TEMPLATE, ""),
        route("r1", "GET", "r1/{id", TEMPLATE, ""),
        route("r2", "GET", "/r2", "templates/missing.xml.hbs", ""),
        route("r3", "GET", "/r3", TEMPLATE, "    response: { select: \"$[\" }\n"),
        route(
            "r4",
            "GET",
            "/r4",
            TEMPLATE,
            "    faults:\n      - when: { code: Client }\n        status: 200\n",
        ),
    ];
    TestGateway::builder()
        .config("limits: { request_body: 0, xml: { depth: -1 } }")
        .mapping("svc", &mapping(&routes))
        .file(TEMPLATE, "<a/>")
}

#[actix_rt::test]
async fn every_config_error_is_listed_at_once() {
    let (errors, dir) = load_errors(&broken());
    let cfg = in_dir(dir.path(), "soapgate.yaml");
    let svc = in_dir(dir.path(), "mappings/svc.yaml");
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.file.as_str(), e.path.as_str()))
        .collect();
    let expected = [
        (cfg.as_str(), "limits.xml.depth"),
        (cfg.as_str(), "limits.request_body"),
        (svc.as_str(), "routes[0].method"),
        (svc.as_str(), "routes[1].path"),
        (svc.as_str(), "routes[2].request.template"),
        (svc.as_str(), "routes[3].response.select"),
        (svc.as_str(), "routes[4].faults[0].status"),
    ];
    assert_eq!(found, expected, "{errors:#?}");
    let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let wanted = [
        "a limit must be at least 1 (0 and negative values are not \"unlimited\")",
        "a size must be at least 1 byte (0 and negative values are not \"unlimited\")",
        "unsupported method `FETCH`",
        "path `r1/{id` must start with /",
        "cannot read template ",
        "invalid JSONPath `$[`",
        "status 200 is not an error status",
    ];
    for (m, w) in messages.iter().zip(wanted) {
        assert!(m.starts_with(w), "{m:?} should start with {w:?}");
    }
    assert!(errors.iter().all(|e| !e.fix.is_empty()), "{errors:#?}");
}

#[actix_rt::test]
async fn a_request_body_limit_above_the_hard_cap_is_rejected_or_capped() {
    let b = TestGateway::builder()
        .config("limits: { request_body: 2MiB }")
        .mapping("svc", &mapping(&[route("a", "GET", "/a", TEMPLATE, "")]))
        .file(TEMPLATE, "<a/>");
    match b.load() {
        Err(errors) => assert!(
            errors.iter().any(|e| e.path == "limits.request_body"),
            "{errors:#?}"
        ),
        Ok(snap) => assert!(snap.settings.request_body_limit <= 1 << 20),
    }
}

#[actix_rt::test]
async fn template_syntax_error_names_the_template_file_and_line() {
    let template = "<t:A xmlns:t=\"urn:test\">\n  <t:v>{{body.v}</t:v>\n</t:A>";
    let b = TestGateway::builder()
        .mapping("svc", &mapping(&[route("a", "GET", "/a", TEMPLATE, "")]))
        .file(TEMPLATE, template);
    let (errors, dir) = load_errors(&b);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let file = in_dir(dir.path(), TEMPLATE);
    assert_eq!(errors[0].file, file);
    assert_eq!(errors[0].line, Some(2));
    let shown = errors[0].to_string();
    assert!(
        shown.starts_with(&format!("{file}:2: template syntax error: ")),
        "{shown}"
    );
    assert!(
        shown.ends_with("(fix: fix the Handlebars syntax at that line)"),
        "{shown}"
    );
}

#[actix_rt::test]
async fn check_accepts_the_repository_config_and_prints_ok() {
    let out = soapgate(
        &["check", "--config", "soapgate.yaml"],
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.starts_with("soapgate.yaml: ok ("), "{stdout}");
    assert_eq!(stderr, "");
}

#[actix_rt::test]
async fn check_rejects_a_broken_config_and_prints_every_error() {
    let (dir, cfg) = broken().write();
    let errors = Snapshot::load(&cfg).expect_err("broken");
    let cfg = cfg.display().to_string();
    let out = soapgate(&["check", "--config", &cfg], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let mut expected = format!("{} config error(s):\n", errors.len());
    for e in &errors {
        expected.push_str(&format!("  {e}\n"));
    }
    assert_eq!(stderr, expected);
    assert_eq!(errors.len(), 7);
}

#[actix_rt::test]
async fn serve_with_a_template_syntax_error_exits_non_zero_at_start() {
    let b = TestGateway::builder()
        .mapping("svc", &mapping(&[route("a", "GET", "/a", TEMPLATE, "")]))
        .file(TEMPLATE, "<a>\n\n{{#if body.x}}</a>");
    let (dir, cfg) = b.write();
    let mut child = Command::new(env!("CARGO_BIN_EXE_soapgate"))
        .args(["serve", "--config", &cfg.display().to_string()])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn soapgate serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("kill the serve process this test started");
            panic!("soapgate serve kept running with a broken template");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    let at = format!("{}:3: template syntax error", in_dir(dir.path(), TEMPLATE));
    assert!(stderr.contains(&at), "{stderr}");
}

const ROUTE: &str = "id: get-thing\nmethod: GET\npath: /things/{id}\noperation: GetThing";

#[actix_rt::test]
async fn reload_with_an_invalid_mapping_keeps_the_old_config_then_a_fixed_one_applies() {
    let fake = FakeSoap::new().otherwise(Reply::soap11(REPLY)).start();
    let gw = TestGateway::builder()
        .route(&fake.url("/s"), ROUTE, "<t:GetThing xmlns:t=\"{{ns}}\"/>")
        .start();
    assert_eq!(gw.get("/things/1").await.json(), json!({"ok": "yes"}));

    let file = gw.dir().join("mappings/svc.yaml");
    let good = std::fs::read_to_string(&file).expect("mapping");
    let bad = good.replace("path: /things/{id}", "path: /things/{id}\n    bogus: true");
    std::fs::write(&file, &bad).expect("break mapping");
    let errors = gw.gw.reload().expect_err("invalid config must be rejected");
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.file.as_str(), e.path.as_str()))
        .collect();
    let file_name = file.display().to_string();
    assert_eq!(found, [(file_name.as_str(), "routes[0].bogus")]);
    let r = gw.get("/things/2").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"ok": "yes"}));
    assert_eq!(fake.hits(), 2);

    std::fs::write(&file, good.replace("/things/{id}", "/items/{id}")).expect("fix mapping");
    gw.gw.reload().expect("valid config is applied");
    let r = gw.get("/items/3").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"ok": "yes"}));
    let r = gw.get("/things/4").await;
    assert_problem(&r, 404, "NOT_FOUND", "No route matches /things/4.", "/things/4");
    assert_eq!(fake.hits(), 3);
}

#[actix_rt::test]
async fn reload_with_a_raw_output_template_keeps_rendering_the_old_template() {
    let fake = FakeSoap::new().otherwise(Reply::soap11(REPLY)).start();
    let gw = TestGateway::builder()
        .route(
            &fake.url("/s"),
            ROUTE,
            "<t:GetThing xmlns:t=\"{{ns}}\">{{path.id}}</t:GetThing>",
        )
        .start();
    let template = gw.dir().join(TEMPLATE);
    std::fs::write(&template, "<t:GetThing>{{{path.id}}}</t:GetThing>").expect("break template");
    let errors = gw.gw.reload().expect_err("raw output must be rejected");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].file, template.display().to_string());
    assert_eq!(errors[0].line, Some(1));
    let r = gw.get("/things/a%3Cb").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(fake.hits(), 1);
    let sent = fake.last_request().expect("backend called").body;
    assert!(
        sent.contains("<t:GetThing xmlns:t=\"urn:test\">a&lt;b</t:GetThing>"),
        "{sent}"
    );
}

//! Config loading: raw YAML files -> one validated runtime [`Snapshot`], with every error collected.

pub mod raw;
pub mod units;

use crate::backend::BackendSpec;
use crate::mapping::fault::FaultRules;
use crate::mapping::request::Templates;
use crate::mapping::response::ResponseSpec;
use crate::router::{PathTemplate, Router};
use crate::soap::parse::XmlLimits;
use actix_web::http::{header::HeaderName, Method};
use raw::{RawGateway, RawMapping, RawRoute};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use units::{parse_count, parse_duration, parse_size, Quantity};

/// One problem found in the config, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    pub file: String,
    pub path: String,
    pub line: Option<usize>,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

/// Collects every error so `soapgate check` can list them all at once.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<ConfigError>,
}

impl Diagnostics {
    pub fn error(&mut self, file: &str, path: &str, message: impl Into<String>, fix: &str) {
        self.errors.push(ConfigError {
            file: file.to_string(),
            path: path.to_string(),
            line: None,
            message: message.into(),
            fix: fix.to_string(),
        });
    }

    pub fn error_at(&mut self, file: &str, path: &str, line: Option<usize>, message: String, fix: &str) {
        self.errors.push(ConfigError {
            file: file.to_string(),
            path: path.to_string(),
            line,
            message,
            fix: fix.to_string(),
        });
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Auto,
    Json,
    Text,
}

/// Gateway-wide settings after validation.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub admin_listen: Option<String>,
    pub workers: usize,
    pub log_format: LogFormat,
    pub log_level: String,
    pub request_body_limit: usize,
    pub backend_response_limit: usize,
    pub xml: XmlLimits,
    pub client_request_timeout: Duration,
    pub keep_alive: Duration,
    pub backend_connect_timeout: Duration,
    pub backend_total_timeout: Duration,
}

/// One legacy SOAP service.
#[derive(Debug)]
pub struct Service {
    pub name: String,
    pub file: String,
    pub backend: BackendSpec,
}

/// One REST route, fully validated.
#[derive(Debug)]
pub struct Route {
    pub id: String,
    pub service: Arc<Service>,
    pub method: Method,
    pub path: PathTemplate,
    pub operation: String,
    pub action: String,
    pub headers: Vec<HeaderName>,
    /// Registered name of the Body template.
    pub body_template: String,
    /// Registered name of the Header template.
    pub header_template: Option<String>,
    pub response: ResponseSpec,
    pub faults: FaultRules,
}

/// Everything the running gateway needs, validated; swapped atomically on reload.
#[derive(Debug)]
pub struct Snapshot {
    pub config_path: PathBuf,
    pub settings: Settings,
    pub router: Router,
    pub templates: Templates,
    pub services: Vec<Arc<Service>>,
}

impl Snapshot {
    /// Loads and validates `soapgate.yaml` and every mapping it points to.
    pub fn load(config_path: &Path) -> Result<Snapshot, Vec<ConfigError>> {
        let mut diag = Diagnostics::default();
        let base = config_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let file = config_path.display().to_string();
        let raw: RawGateway = match read_yaml(config_path, &mut diag) {
            Some(r) => r,
            None => return Err(diag.errors),
        };
        let settings = build_settings(&raw, &file, &mut diag);
        let mappings_dir = base.join(raw.mappings.as_deref().unwrap_or("mappings"));
        let mut templates = Templates::new();
        let mut services = Vec::new();
        let mut routes = Vec::new();
        for path in mapping_files(&mappings_dir, &file, &mut diag) {
            let Some(m) = read_yaml::<RawMapping>(&path, &mut diag) else {
                continue;
            };
            let (svc, svc_routes) = build_service(m, &path, &base, &settings, &mut templates, &mut diag);
            services.push(svc);
            routes.extend(svc_routes);
        }
        let router = Router::build(routes, &mut diag);
        if diag.errors.is_empty() {
            Ok(Snapshot {
                config_path: config_path.to_path_buf(),
                settings,
                router,
                templates,
                services,
            })
        } else {
            Err(diag.errors)
        }
    }
}

/// Reads a YAML file into `T`, reporting the key path and line of the first error.
fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path, diag: &mut Diagnostics) -> Option<T> {
    let file = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diag.error(
                &file,
                "",
                format!("cannot read file: {e}"),
                "check the path and permissions",
            );
            return None;
        }
    };
    let de = serde_yaml_ng::Deserializer::from_str(&text);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Some(v),
        Err(e) => {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let line = inner.location().map(|l| l.line());
            let msg = strip_location(&inner.to_string());
            let fix = if msg.contains("unknown field") {
                "remove or rename the key; the message lists the accepted keys"
            } else if msg.contains("missing field") {
                "add the required key"
            } else if msg.contains("duplicate") {
                "keep one of the repeated keys"
            } else {
                "correct the value's type or syntax"
            };
            let key = if key == "." { String::new() } else { key };
            let msg = msg
                .strip_prefix(&format!("{key}: "))
                .map(str::to_string)
                .unwrap_or(msg);
            diag.error_at(&file, &key, line, msg, fix);
            None
        }
    }
}

fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn mapping_files(dir: &Path, file: &str, diag: &mut Diagnostics) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            let msg = format!("cannot read mappings folder {}: {e}", dir.display());
            diag.error(
                file,
                "mappings",
                msg,
                "point `mappings` at a folder of <service>.yaml files",
            );
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    if files.is_empty() {
        let msg = format!("no mapping files (*.yaml) in {}", dir.display());
        diag.error(file, "mappings", msg, "add mappings/<service>.yaml");
    }
    files
}

fn size_or(q: &Option<Quantity>, default: u64, file: &str, key: &str, d: &mut Diagnostics) -> usize {
    match q.as_ref().map(parse_size) {
        None => default as usize,
        Some(Ok(v)) => v as usize,
        Some(Err(e)) => {
            d.error(file, key, e, "write a positive size such as 256KiB");
            default as usize
        }
    }
}

pub(crate) fn duration_or(
    q: &Option<Quantity>,
    default: Duration,
    file: &str,
    key: &str,
    d: &mut Diagnostics,
) -> Duration {
    match q.as_ref().map(parse_duration) {
        None => default,
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            d.error(file, key, e, "write a positive duration such as 5s or 250ms");
            default
        }
    }
}

fn count_or(n: Option<i64>, default: usize, file: &str, key: &str, d: &mut Diagnostics) -> usize {
    match n.map(parse_count) {
        None => default,
        Some(Ok(v)) => v,
        Some(Err(e)) => {
            d.error(file, key, e, "write a positive whole number");
            default
        }
    }
}

fn build_settings(raw: &RawGateway, file: &str, d: &mut Diagnostics) -> Settings {
    let x = &raw.limits.xml;
    let defaults = XmlLimits::default();
    let xml = XmlLimits {
        max_depth: count_or(x.depth, defaults.max_depth, file, "limits.xml.depth", d),
        max_children: count_or(x.children, defaults.max_children, file, "limits.xml.children", d),
        max_attributes: count_or(
            x.attributes,
            defaults.max_attributes,
            file,
            "limits.xml.attributes",
            d,
        ),
        max_namespaces: count_or(
            x.namespaces,
            defaults.max_namespaces,
            file,
            "limits.xml.namespaces",
            d,
        ),
        max_name_len: size_or(
            &x.name_length,
            defaults.max_name_len as u64,
            file,
            "limits.xml.name_length",
            d,
        ),
        max_attr_value: size_or(
            &x.attribute_value,
            defaults.max_attr_value as u64,
            file,
            "limits.xml.attribute_value",
            d,
        ),
        max_text: size_or(&x.text, defaults.max_text as u64, file, "limits.xml.text", d),
    };
    let log_format = match raw.logging.format.as_deref() {
        None | Some("auto") => LogFormat::Auto,
        Some("json") => LogFormat::Json,
        Some("text") => LogFormat::Text,
        Some(other) => {
            d.error(
                file,
                "logging.format",
                format!("unknown format `{other}`"),
                "use auto, json or text",
            );
            LogFormat::Auto
        }
    };
    let t = &raw.timeouts;
    Settings {
        listen: raw.listen.clone().unwrap_or_else(|| "127.0.0.1:8080".into()),
        admin_listen: raw.admin_listen.clone(),
        workers: count_or(raw.workers, default_workers(), file, "workers", d),
        log_format,
        log_level: raw.logging.level.clone().unwrap_or_else(|| "info".into()),
        request_body_limit: body_limit(&raw.limits.request_body, file, d),
        backend_response_limit: size_or(
            &raw.limits.backend_response,
            8 << 20,
            file,
            "limits.backend_response",
            d,
        ),
        xml,
        client_request_timeout: duration_or(
            &t.client_request,
            Duration::from_secs(5),
            file,
            "timeouts.client_request",
            d,
        ),
        keep_alive: duration_or(
            &t.keep_alive,
            Duration::from_secs(5),
            file,
            "timeouts.keep_alive",
            d,
        ),
        backend_connect_timeout: duration_or(
            &t.backend_connect,
            Duration::from_secs(1),
            file,
            "timeouts.backend_connect",
            d,
        ),
        backend_total_timeout: duration_or(
            &t.backend_total,
            Duration::from_secs(10),
            file,
            "timeouts.backend_total",
            d,
        ),
    }
}

/// Hard cap on request bodies (THREATS.md): configurable below it, never above.
pub const REQUEST_BODY_HARD_CAP: usize = 1024 * 1024;

fn body_limit(q: &Option<Quantity>, file: &str, d: &mut Diagnostics) -> usize {
    let v = size_or(q, 256 * 1024, file, "limits.request_body", d);
    if v > REQUEST_BODY_HARD_CAP {
        let msg = format!("{v} bytes is above the hard cap of {REQUEST_BODY_HARD_CAP} bytes");
        d.error(file, "limits.request_body", msg, "use at most 1MiB");
    }
    v.min(REQUEST_BODY_HARD_CAP)
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

fn build_service(
    m: RawMapping,
    path: &Path,
    base: &Path,
    settings: &Settings,
    templates: &mut Templates,
    d: &mut Diagnostics,
) -> (Arc<Service>, Vec<Route>) {
    let file = path.display().to_string();
    if m.service.is_empty()
        || !m
            .service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        d.error(
            &file,
            "service",
            "service name must be non-empty [A-Za-z0-9_-]",
            "rename the service",
        );
    }
    let backend = BackendSpec::build(&m.backend, settings, &file, d);
    let svc = Arc::new(Service {
        name: m.service.clone(),
        file: file.clone(),
        backend,
    });
    let routes = m
        .routes
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| build_route(r, i, &svc, base, templates, d))
        .collect();
    (svc, routes)
}

fn build_route(
    r: RawRoute,
    index: usize,
    svc: &Arc<Service>,
    base: &Path,
    templates: &mut Templates,
    d: &mut Diagnostics,
) -> Option<Route> {
    let file = svc.file.as_str();
    let at = format!("routes[{index}]");
    let method = match Method::from_bytes(r.method.to_ascii_uppercase().as_bytes()) {
        Ok(m) if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) => Some(m),
        _ => {
            d.error(
                file,
                &format!("{at}.method"),
                format!("unsupported method `{}`", r.method),
                "use GET, POST, PUT, PATCH or DELETE",
            );
            None
        }
    };
    let path = PathTemplate::parse(&r.path)
        .map_err(|e| {
            d.error(
                file,
                &format!("{at}.path"),
                e,
                "write a path like /customers/{id}",
            )
        })
        .ok();
    let headers = r
        .headers
        .iter()
        .filter_map(
            |h| match HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes()) {
                Ok(n) => Some(n),
                Err(_) => {
                    d.error(
                        file,
                        &format!("{at}.headers"),
                        format!("`{h}` is not a header name"),
                        "list header names such as x-tenant-id",
                    );
                    None
                }
            },
        )
        .collect();
    let name = format!("{}/{}", svc.name, r.id);
    let body_ok = templates.compile_file(
        &name,
        &base.join(&r.request.template),
        file,
        &format!("{at}.request.template"),
        d,
    );
    let header_template = r.request.header_template.as_ref().and_then(|h| {
        let hname = format!("{name}#header");
        templates
            .compile_file(
                &hname,
                &base.join(h),
                file,
                &format!("{at}.request.header_template"),
                d,
            )
            .then_some(hname)
    });
    let response = ResponseSpec::build(&r.response, file, &format!("{at}.response"), d);
    let faults = FaultRules::build(&r.faults, file, &format!("{at}.faults"), d);
    if r.id.is_empty() {
        d.error(
            file,
            &format!("{at}.id"),
            "route id is empty",
            "give every route a unique id",
        );
    }
    Some(Route {
        id: r.id,
        service: svc.clone(),
        method: method?,
        path: path?,
        operation: r.operation,
        action: r.action.unwrap_or_default(),
        headers,
        body_template: body_ok.then_some(name)?,
        header_template,
        response: response?,
        faults: faults?,
    })
}

//! Config loading: raw YAML files -> one validated runtime [`Snapshot`], with every error collected.

pub mod raw;
mod routes;
pub mod secret;
mod settings;
pub mod units;

use crate::backend::BackendSpec;
use crate::mapping::fault::FaultRules;
use crate::mapping::request::Templates;
use crate::mapping::response::ResponseSpec;
use crate::router::{PathTemplate, Router};
use crate::soap::parse::XmlLimits;
use crate::wsdl::model::Wsdl;
use actix_web::http::{header::HeaderName, Method};
use raw::{RawGateway, RawMapping};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub(crate) use settings::{count_or, duration_or, size_or};
pub use settings::{restart_only_changes, REQUEST_BODY_HARD_CAP};

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
    /// Problems that do not stop the config from serving (a certificate expiring soon).
    pub warnings: Vec<ConfigError>,
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

    pub fn warn(&mut self, file: &str, path: &str, message: impl Into<String>, fix: &str) {
        self.warnings.push(ConfigError {
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
    /// Time to receive the request body (408 after).
    pub client_body_timeout: Duration,
    pub keep_alive: Duration,
    pub backend_connect_timeout: Duration,
    pub backend_total_timeout: Duration,
    /// Step 3 defaults: JSON limits and injection patterns.
    pub threats: crate::threat::config::Defaults,
    /// Total bytes of request headers (431 above).
    pub header_limit: usize,
    /// Number of request headers (431 above).
    pub header_count_limit: usize,
    /// Bytes of the request target (414 above).
    pub url_limit: usize,
    /// In-flight mediations per instance (503 above).
    pub concurrency: usize,
    /// HTTPS on the REST listener (`tls`).
    pub tls: Option<crate::tls::ListenerTls>,
    /// HTTPS on the admin listener (`admin_tls`).
    pub admin_tls: Option<crate::tls::ListenerTls>,
}

/// One legacy SOAP service.
#[derive(Debug)]
pub struct Service {
    pub name: String,
    pub file: String,
    pub backend: BackendSpec,
    /// The service's WSDL, when the mapping names one.
    pub wsdl: Option<Arc<Wsdl>>,
}

/// Where a route's SOAP Body comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum BodySource {
    /// A registered Handlebars template.
    Template(String),
    /// Rendered from the WSDL schema of the bound operation.
    Schema,
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
    /// Where the SOAP Body comes from.
    pub body: BodySource,
    /// Index of the bound operation in `service.wsdl`'s operations (schema-aware mediation).
    pub wsdl_op: Option<usize>,
    /// Validate requests against the operation's input schema (step 6).
    pub validate: bool,
    /// Registered name of the Header template.
    pub header_template: Option<String>,
    pub response: ResponseSpec,
    pub faults: FaultRules,
    /// Step 4: whether a token is needed, and the scopes and claims it must carry.
    pub auth: crate::auth::RoutePolicy,
    /// Step 5: the route's rate-limit policies and cost.
    pub rate_limit: crate::ratelimit::RouteLimits,
    /// Step 3: body and JSON limits, injection patterns, concurrency cap.
    pub threats: Arc<crate::threat::Policy>,
}

/// Everything the running gateway needs, validated; swapped atomically on reload.
#[derive(Debug)]
pub struct Snapshot {
    pub config_path: PathBuf,
    pub settings: Settings,
    pub router: Router,
    pub templates: Templates,
    pub services: Vec<Arc<Service>>,
    /// The identity providers (with their key caches) of this config.
    pub auth: crate::auth::Auth,
    /// Rate-limit policies with their counters, and the store.
    pub ratelimit: crate::ratelimit::RateLimits,
    /// What `check` warns about and `serve` logs (a certificate expiring soon).
    pub warnings: Vec<ConfigError>,
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
        let settings = settings::build(&raw, &file, &base, &mut diag);
        let auth = crate::auth::config::build(&raw.auth, &base, &file, &mut diag);
        let ratelimit = crate::ratelimit::config::build(&raw.rate_limits, &base, &file, &mut diag);
        let mappings_dir = base.join(raw.mappings.as_deref().unwrap_or("mappings"));
        let mut templates = Templates::new();
        let mut services = Vec::new();
        let mut routes = Vec::new();
        for path in mapping_files(&mappings_dir, &file, &mut diag) {
            let Some(m) = read_yaml::<RawMapping>(&path, &mut diag) else {
                continue;
            };
            let (svc, svc_routes) = routes::build_service(
                m,
                &path,
                &base,
                &settings,
                (&auth, &ratelimit),
                &mut templates,
                &mut diag,
            );
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
                auth,
                ratelimit,
                warnings: diag.warnings,
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

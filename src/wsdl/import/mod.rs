//! `soapgate import`: a WSDL in, a ready-to-serve mapping, editable templates and a local copy of
//! the WSDL out, plus a report of what each operation could not map.
//!
//! Route rules (also in README.md, "Importing a WSDL"); nothing is guessed from operation names:
//! - every operation becomes `POST /<service>/<operation-kebab>`, taking the operation's input
//!   as a JSON object (fields of the request wrapper, or the rpc parts) and returning the converted
//!   content of the response wrapper;
//! - kebab case splits camelCase, acronyms (`getHTTPStatus` -> `get-http-status`) and `_`, and
//!   lower-cases; operations whose names collide get `-2`, `-3`, ... in WSDL order;
//! - the route id is the operation in kebab case; `operation:` is the WSDL name;
//! - `<service>` is `--service`, else the entry's file name (or last URL path segment) without
//!   extension, in kebab case;
//! - the SOAP version is `--soap-version`, else 1.1 when the WSDL has a SOAP 1.1 binding, else 1.2;
//!   operations only the other version's binding has are reported, not mixed in;
//! - the backend URL is `--backend-url`, else the `soap:address` of that version's port; an
//!   address this build cannot call (https, none) becomes a commented placeholder on
//!   `backend.invalid`;
//! - `request.template` points at the generated template (delete the line to render from the schema);
//! - each declared fault with a detail element gets `{ when: { detail: <Element> }, status: 422,
//!   code: <FAULT_NAME>, title: <FaultName>, expose_detail: true }`;
//! - operations without input, or with anything the loader could not map, are written commented
//!   out with the reason.

mod fetch;
mod mapping;
pub mod names;
mod plan;
mod save;
pub mod template;

use crate::soap::SoapVersion;
use crate::wsdl::loader::docs::is_http;
use crate::wsdl::model::Wsdl;
use crate::wsdl::WsdlError;
use mapping::{BackendYaml, FaultYaml, RouteYaml};
use names::kebab;
use plan::{backend_url, choose_version, plan, service_notes, Planned};
use std::path::{Path, PathBuf};

/// What `import` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Folder receiving `soapgate.yaml`, `mappings/`, `templates/` and `wsdl/`.
    pub out: PathBuf,
    /// Service name (default: from the entry's file name).
    pub service: Option<String>,
    /// Backend URL (default: the WSDL's SOAP address).
    pub backend_url: Option<String>,
    /// SOAP version (default: 1.1 when the WSDL has it, else 1.2).
    pub soap_version: Option<SoapVersion>,
    /// How https WSDL/XSD locations are trusted (`--ca-file`; default the system trust store).
    pub tls: crate::tls::ClientTls,
}

/// One operation's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationReport {
    pub operation: String,
    pub route_id: String,
    pub method: String,
    pub path: String,
    /// Why the route was written commented out.
    pub disabled: Option<String>,
    /// What the route does not map.
    pub not_mapped: Vec<String>,
}

/// What `import` wrote and what it could not map.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub service: String,
    pub soap_version: SoapVersion,
    pub backend_url: String,
    pub files: Vec<PathBuf>,
    pub operations: Vec<OperationReport>,
    /// Service-wide remarks (placeholder URL, other bindings, loader warnings).
    pub notes: Vec<String>,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Wsdl(#[from] WsdlError),
    #[error("{path}: {msg}")]
    Io { path: String, msg: String },
    #[error(
        "{path} already exists: remove it, or import into another --out folder or with another --service"
    )]
    Exists { path: String },
    #[error("{0}")]
    InvalidOption(String),
}

/// Imports the WSDL at `entry` (a file path or an http(s) URL) into `opts.out`.
pub fn import(entry: &str, opts: &ImportOptions) -> Result<ImportReport, ImportError> {
    let entry = absolute_entry(entry)?;
    check_backend_option(opts.backend_url.as_deref())?;
    let (wsdl, fetched) = fetch::load_recorded(&entry, &opts.tls)?;
    let service = service_name(&entry, &wsdl, opts.service.as_deref())?;
    let mapping_file = opts.out.join("mappings").join(format!("{service}.yaml"));
    if mapping_file.exists() {
        return Err(ImportError::Exists {
            path: mapping_file.display().to_string(),
        });
    }
    let version = choose_version(&wsdl, opts.soap_version)?;
    let mut plan = plan(&wsdl, version, &service);
    let backend = backend_url(&wsdl, version, &plan, opts.backend_url.as_deref());
    let mut files = save::save(&opts.out.join("wsdl"), &service, &fetched)?;
    let wsdl_rel = format!("wsdl/{service}.wsdl");
    files.extend(write_templates(&opts.out, &wsdl, &mut plan, &wsdl_rel)?);
    let routes: Vec<RouteYaml> = plan.iter().map(|p| route_yaml(&wsdl, p)).collect();
    let backend_yaml = BackendYaml {
        url: &backend.url,
        url_note: backend.placeholder.as_deref(),
        version,
        namespace: &wsdl.target_namespace,
    };
    let text = mapping::mapping(&entry, &service, &wsdl_rel, &backend_yaml, &routes);
    write_file(&mapping_file, text.as_bytes())?;
    files.push(mapping_file);
    files.extend(write_gateway_config(&opts.out)?);
    let notes = service_notes(
        &wsdl,
        version,
        &plan,
        backend.placeholder,
        &opts.out.join(&wsdl_rel),
    );
    Ok(ImportReport {
        service: service.clone(),
        soap_version: version,
        backend_url: backend.url,
        files,
        operations: plan.into_iter().map(Planned::report).collect(),
        notes,
    })
}

/// An http(s) URL as given, or an absolute file path.
fn absolute_entry(entry: &str) -> Result<String, ImportError> {
    if is_http(entry) {
        return Ok(entry.to_string());
    }
    let io = |msg: String| ImportError::Io {
        path: entry.to_string(),
        msg,
    };
    let abs = std::path::absolute(entry).map_err(|e| io(e.to_string()))?;
    let abs = abs
        .to_str()
        .ok_or_else(|| io("the path is not valid UTF-8".into()))?;
    Ok(crate::wsdl::loader::docs::normalize_path(abs))
}

fn check_backend_option(url: Option<&str>) -> Result<(), ImportError> {
    match url {
        Some(u) if !is_http(u) => Err(ImportError::InvalidOption(format!(
            "--backend-url `{u}` is not an http(s) URL"
        ))),
        _ => Ok(()),
    }
}

fn service_name(entry: &str, wsdl: &Wsdl, given: Option<&str>) -> Result<String, ImportError> {
    if let Some(s) = given {
        return match names::valid_service(s) {
            true => Ok(s.to_string()),
            false => Err(ImportError::InvalidOption(format!(
                "--service `{s}` must be non-empty [A-Za-z0-9_-]"
            ))),
        };
    }
    let from_wsdl = || {
        let name = wsdl
            .name
            .clone()
            .or_else(|| wsdl.ports.first().map(|p| p.service.clone()))?;
        name.chars()
            .any(|c| c.is_ascii_alphanumeric())
            .then(|| kebab(&name))
    };
    Ok(names::service_from_entry(entry)
        .or_else(from_wsdl)
        .unwrap_or_else(|| "service".into()))
}

/// Writes one template per operation with input; records template notes in the plan.
fn write_templates(
    out: &Path,
    wsdl: &Wsdl,
    plan: &mut [Planned],
    origin: &str,
) -> Result<Vec<PathBuf>, ImportError> {
    let mut files = Vec::new();
    for p in plan {
        let Some(rel) = &p.template else { continue };
        let generated = template::template(&wsdl.schema, p.op, origin);
        let path = out.join(rel);
        write_file(&path, generated.text.as_bytes())?;
        files.push(path);
        p.not_mapped.extend(generated.notes);
    }
    Ok(files)
}

fn route_yaml<'a>(wsdl: &'a Wsdl, p: &'a Planned<'a>) -> RouteYaml<'a> {
    let mut seen = std::collections::HashSet::new();
    let faults =
        p.op.faults
            .iter()
            .filter_map(|f| Some((f, wsdl.schema.elements.get(f.element?)?)))
            .filter(|(_, d)| seen.insert(d.name.local.clone()))
            .map(|(f, d)| FaultYaml {
                detail: d.name.local.clone(),
                code: names::upper_snake(&f.name),
                title: f.name.clone(),
            })
            .collect();
    RouteYaml {
        id: &p.id,
        path: &p.path,
        operation: &p.op.name,
        documentation: p.op.documentation.as_deref(),
        template: p.template.as_deref(),
        faults,
        disabled: p.disabled.as_deref(),
    }
}

/// `soapgate.yaml` for the imported service, unless one exists.
fn write_gateway_config(out: &Path) -> Result<Option<PathBuf>, ImportError> {
    let path = out.join("soapgate.yaml");
    if path.exists() {
        return Ok(None);
    }
    let text = "# soapgate gateway config, written by `soapgate import`. See README.md \"Configuration\".\n\
                listen: 127.0.0.1:8080\nmappings: mappings\n";
    write_file(&path, text.as_bytes())?;
    Ok(Some(path))
}

/// Writes a file, creating its folder.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ImportError> {
    let io = |e: std::io::Error| ImportError::Io {
        path: path.display().to_string(),
        msg: e.to_string(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}

impl ImportReport {
    /// The report as the CLI prints it: a summary line, then one row per operation.
    pub fn table(&self) -> String {
        let mut s = format!(
            "imported service `{}` (SOAP {}, backend {}): {} of {} operation(s) enabled\n",
            self.service,
            self.soap_version.as_str(),
            self.backend_url,
            self.operations.iter().filter(|o| o.disabled.is_none()).count(),
            self.operations.len()
        );
        let width = |f: fn(&OperationReport) -> usize, min: usize| {
            self.operations.iter().map(f).max().unwrap_or(0).max(min)
        };
        let (w_op, w_route) = (width(|o| o.operation.len(), 9), width(|o| o.path.len() + 5, 5));
        s.push_str(&format!(
            "{:w_op$}  {:w_route$}  {:8}  NOT MAPPED\n",
            "OPERATION", "ROUTE", "STATUS"
        ));
        for o in &self.operations {
            let route = format!("{} {}", o.method, o.path);
            let status = if o.disabled.is_some() {
                "disabled"
            } else {
                "enabled"
            };
            let first = o.not_mapped.first().map_or("-", String::as_str);
            s.push_str(&format!(
                "{:w_op$}  {route:w_route$}  {status:8}  {first}\n",
                o.operation
            ));
            for more in o.not_mapped.iter().skip(1) {
                s.push_str(&format!("{:w$}  {more}\n", "", w = w_op + w_route + 12));
            }
        }
        for n in &self.notes {
            s.push_str(&format!("note: {n}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests;

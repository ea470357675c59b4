//! Planning an import: which operations of which binding, their route ids and paths, which are
//! disabled and why, what each leaves unmapped, and the backend URL.

use super::names::{kebab, Unique};
use super::ImportError;
use super::OperationReport;
use crate::soap::SoapVersion;
use crate::wsdl::model::{Message, Operation, PartKind, Schema, TypeRef, Use, Wsdl};
use std::path::Path;

/// `--soap-version`, else 1.1 when the WSDL has a SOAP 1.1 binding, else 1.2.
pub(super) fn choose_version(wsdl: &Wsdl, given: Option<SoapVersion>) -> Result<SoapVersion, ImportError> {
    let has = |v: SoapVersion| wsdl.operations.iter().any(|o| o.version == v);
    match given {
        Some(v) if has(v) || wsdl.operations.is_empty() => Ok(v),
        Some(v) => Err(ImportError::InvalidOption(format!(
            "the WSDL has no SOAP {} binding; leave out --soap-version",
            v.as_str()
        ))),
        None if has(SoapVersion::V11) || !has(SoapVersion::V12) => Ok(SoapVersion::V11),
        None => Ok(SoapVersion::V12),
    }
}

/// One operation's route in the making.
#[derive(Debug)]
pub(super) struct Planned<'w> {
    pub(super) op: &'w Operation,
    pub(super) id: String,
    pub(super) path: String,
    pub(super) disabled: Option<String>,
    pub(super) not_mapped: Vec<String>,
    pub(super) template: Option<String>,
}

impl Planned<'_> {
    pub(super) fn report(self) -> OperationReport {
        OperationReport {
            operation: self.op.name.clone(),
            path: self.path,
            route_id: self.id,
            method: "POST".into(),
            disabled: self.disabled,
            not_mapped: self.not_mapped,
        }
    }
}

/// The operations of the chosen binding version (first of each name), with unique route ids.
pub(super) fn plan<'w>(wsdl: &'w Wsdl, version: SoapVersion, service: &str) -> Vec<Planned<'w>> {
    let mut ids = Unique::default();
    let mut seen = std::collections::HashSet::new();
    wsdl.operations
        .iter()
        .filter(|o| o.version == version && seen.insert(o.name.as_str()))
        .map(|op| {
            let id = ids.claim(&kebab(&op.name));
            let template = op
                .input
                .as_ref()
                .map(|_| format!("templates/{service}/{id}.xml.hbs"));
            Planned {
                op,
                path: format!("/{service}/{id}"),
                disabled: disabled_reason(op),
                not_mapped: not_mapped(wsdl, op),
                id,
                template,
            }
        })
        .collect()
}

pub(super) fn disabled_reason(op: &Operation) -> Option<String> {
    if op.input.is_none() {
        return Some("the operation has no input message, so a client cannot call it".into());
    }
    (!op.unsupported.is_empty()).then(|| format!("not supported: {}", op.unsupported.join("; ")))
}

/// What a route leaves out, beyond `Operation::unsupported`.
pub(super) fn not_mapped(wsdl: &Wsdl, op: &Operation) -> Vec<String> {
    let mut out = op.unsupported.clone();
    out.extend(response_notes(&wsdl.schema, op));
    let encoded = [&op.input, &op.output]
        .iter()
        .any(|m| m.as_ref().is_some_and(|m| m.body_use == Use::Encoded));
    if encoded {
        out.push(
            "rpc/encoded: xsi:type is written for simple-typed parts only; multiRef/href in responses \
             are not resolved"
                .into(),
        );
    }
    let headers = |m: &Option<Message>| -> Vec<String> {
        m.iter()
            .flat_map(|m| m.headers.iter().map(|p| p.name.clone()))
            .collect()
    };
    let input_headers = headers(&op.input);
    if !input_headers.is_empty() {
        out.push(format!(
            "SOAP header part(s) {}: add a request.header_template",
            input_headers.join(", ")
        ));
    }
    let output_headers = headers(&op.output);
    if !output_headers.is_empty() {
        out.push(format!(
            "response SOAP header part(s) {} are not converted",
            output_headers.join(", ")
        ));
    }
    if op.output.is_none() && op.input.is_some() {
        out.push("one-way operation: an empty HTTP 202 reply gives 502 UPSTREAM_CONTENT_TYPE".into());
    }
    for f in op.faults.iter().filter(|f| f.element.is_none()) {
        out.push(format!(
            "fault {} has no detail element: the default fault mapping applies",
            f.name
        ));
    }
    out
}

/// What the typed conversion of the response leaves to the schema-less convention.
pub(super) fn response_notes(schema: &Schema, op: &Operation) -> Vec<String> {
    let Some(out) = &op.output else { return Vec::new() };
    let mut roots: Vec<TypeRef> = out
        .element
        .and_then(|id| schema.elements.get(id))
        .map(|d| d.ty)
        .into_iter()
        .collect();
    roots.extend(out.parts.iter().filter_map(|p| match p.kind {
        PartKind::Type(t) => Some(t),
        PartKind::Element(id) => schema.elements.get(id).map(|d| d.ty),
    }));
    let mut seen = std::collections::HashSet::new();
    let mut open = std::collections::BTreeSet::new();
    while let Some(t) = roots.pop() {
        let TypeRef::Type(id) = t else { continue };
        let Some(ct) = schema.complex(t).filter(|_| seen.insert(id)) else {
            continue;
        };
        if ct.open {
            open.insert(
                ct.name
                    .as_ref()
                    .map_or("(anonymous)".to_string(), |n| n.local.clone()),
            );
        }
        roots.extend(
            ct.children
                .iter()
                .filter_map(|c| schema.elements.get(c.element))
                .map(|d| d.ty),
        );
        roots.extend(ct.derived.iter().map(|d| TypeRef::Type(*d)));
        roots.extend(ct.soapenc_array_of);
    }
    open.into_iter()
        .map(|t| format!("xs:any in response type {t}: unknown elements follow the schema-less convention"))
        .collect()
}

/// The backend URL and, for a placeholder, why.
pub(super) struct Backend {
    pub(super) url: String,
    pub(super) placeholder: Option<String>,
}

pub(super) fn backend_url(
    wsdl: &Wsdl,
    version: SoapVersion,
    plan: &[Planned],
    given: Option<&str>,
) -> Backend {
    if let Some(u) = given {
        return Backend {
            url: u.to_string(),
            placeholder: None,
        };
    }
    let binding = plan.first().map(|p| p.op.binding.as_str());
    let ports = wsdl.ports.iter().filter(|p| p.version == version);
    let port = ports
        .clone()
        .find(|p| Some(p.binding.as_str()) == binding)
        .or_else(|| ports.clone().next());
    let address = port.map(|p| p.address.as_str()).unwrap_or("");
    let lower = address.to_ascii_lowercase();
    if (lower.starts_with("http://") || lower.starts_with("https://"))
        && address
            .parse::<awc::http::Uri>()
            .is_ok_and(|u| u.host().is_some())
    {
        return Backend {
            url: address.to_string(),
            placeholder: None,
        };
    }
    let path = address
        .split_once("://")
        .and_then(|(_, r)| r.find('/').and_then(|i| r.get(i..)))
        .unwrap_or("/");
    let why = match address {
        "" => format!("the WSDL has no SOAP {} address", version.as_str()),
        a => format!("the WSDL's address `{a}` is not an http(s) URL"),
    };
    let url = format!(
        "http://backend.invalid{}",
        path.split(['?', '#']).next().unwrap_or("/")
    );
    let url = if url.parse::<awc::http::Uri>().is_ok() {
        url
    } else {
        "http://backend.invalid/".into()
    };
    Backend {
        url,
        placeholder: Some(format!(
            "placeholder URL: {why}; set the real one (or use --backend-url)"
        )),
    }
}

/// The operations come from bindings served at different addresses: one mapping has one backend.
fn several_addresses(wsdl: &Wsdl, version: SoapVersion, plan: &[Planned]) -> Option<String> {
    let mut addresses: Vec<&str> = wsdl
        .ports
        .iter()
        .filter(|p| p.version == version && plan.iter().any(|o| o.op.binding == p.binding))
        .map(|p| p.address.as_str())
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    (addresses.len() > 1).then(|| {
        format!(
            "the operations' ports have different addresses ({}): the mapping uses one backend; \
             move operations to another mapping where needed",
            addresses.join(", ")
        )
    })
}

/// Service-wide remarks: placeholder URL, other bindings, several addresses, loader warnings.
pub(super) fn service_notes(
    wsdl: &Wsdl,
    version: SoapVersion,
    plan: &[Planned],
    url: Option<String>,
    saved: &Path,
) -> Vec<String> {
    let mut notes: Vec<String> = url.into_iter().collect();
    let mut others: Vec<&str> = wsdl
        .operations
        .iter()
        .filter(|o| o.version != version && !plan.iter().any(|p| p.op.name == o.name))
        .map(|o| o.name.as_str())
        .collect();
    others.dedup();
    if !others.is_empty() {
        let v = if version == SoapVersion::V11 { "1.2" } else { "1.1" };
        notes.push(format!(
            "only in the SOAP {v} binding (import with --soap-version {v}): {}",
            others.join(", ")
        ));
    }
    notes.extend(several_addresses(wsdl, version, plan));
    if plan.is_empty() {
        notes.push(format!(
            "the WSDL has no SOAP {} operation: the mapping has no routes",
            version.as_str()
        ));
    }
    notes.extend(wsdl.warnings.iter().map(|w| format!("WSDL: {w}")));
    if let Err(e) = crate::wsdl::load(saved) {
        notes.push(format!("the saved copy of the WSDL does not load: {e}"));
    }
    notes
}

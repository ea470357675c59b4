//! Mappings: services, their backends and WSDLs, and validated routes.

use super::raw::{RawMapping, RawRoute};
use super::{BodySource, Diagnostics, Route, Service, Settings};
use crate::auth::config::RawRouteAuth;
use crate::auth::Auth;
use crate::backend::BackendSpec;
use crate::mapping::fault::FaultRules;
use crate::mapping::request::Templates;
use crate::mapping::response::ResponseSpec;
use crate::router::PathTemplate;
use crate::soap::SoapVersion;
use crate::wsdl::model::Wsdl;
use actix_web::http::{header::HeaderName, Method};
use std::path::Path;
use std::sync::Arc;

pub(super) fn build_service(
    m: RawMapping,
    path: &Path,
    base: &Path,
    settings: &Settings,
    (auth, ratelimit): (&Auth, &crate::ratelimit::RateLimits),
    templates: &mut Templates,
    d: &mut Diagnostics,
) -> (Arc<Service>, Vec<Route>) {
    let file = path.display().to_string();
    let valid_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if m.service.is_empty() || !m.service.chars().all(valid_name) {
        d.error(
            &file,
            "service",
            "service name must be non-empty [A-Za-z0-9_-]",
            "rename the service",
        );
    }
    let wsdl = m.wsdl.as_deref().and_then(|w| load_wsdl(&base.join(w), &file, d));
    let default_version = wsdl.as_deref().and_then(binding_version);
    let backend = BackendSpec::build(&m.backend, settings, default_version, base, &file, d);
    let svc = Arc::new(Service {
        name: m.service.clone(),
        file: file.clone(),
        backend,
        wsdl,
    });
    let routes = m
        .routes
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| build_route(r, i, &svc, base, settings, (auth, ratelimit), templates, d))
        .collect();
    (svc, routes)
}

fn load_wsdl(path: &Path, file: &str, d: &mut Diagnostics) -> Option<Arc<Wsdl>> {
    match crate::wsdl::load(path) {
        Ok(w) => {
            for warning in &w.warnings {
                tracing::warn!(wsdl = %path.display(), "{warning}");
            }
            Some(Arc::new(w))
        }
        Err(e) => {
            d.error(
                file,
                "wsdl",
                e.to_string(),
                "fix the WSDL or the path (relative to soapgate.yaml)",
            );
            None
        }
    }
}

/// The SOAP version of the WSDL's bindings: 1.1 when it has a 1.1 binding, else 1.2.
fn binding_version(w: &Wsdl) -> Option<SoapVersion> {
    let has = |v| w.operations.iter().any(|o| o.version == v);
    [SoapVersion::V11, SoapVersion::V12].into_iter().find(|v| has(*v))
}

#[allow(clippy::too_many_arguments)]
fn build_route(
    r: RawRoute,
    index: usize,
    svc: &Arc<Service>,
    base: &Path,
    settings: &Settings,
    (auth, ratelimit): (&Auth, &crate::ratelimit::RateLimits),
    templates: &mut Templates,
    d: &mut Diagnostics,
) -> Option<Route> {
    let file = svc.file.as_str();
    let at = format!("routes[{index}]");
    if r.id.is_empty() {
        d.error(
            file,
            &format!("{at}.id"),
            "route id is empty",
            "give every route a unique id",
        );
    }
    let method = route_method(&r.method, file, &at, d);
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
    let headers = route_headers(&r.headers, file, &at, d);
    let wsdl_op = bind_operation(&r, svc, file, &at, d);
    let name = format!("{}/{}", svc.name, r.id);
    let body = route_body(&r, &name, wsdl_op, base, templates, file, &at, d);
    let header_template = r.request.header_template.as_ref().and_then(|h| {
        let hname = format!("{name}#header");
        let key = format!("{at}.request.header_template");
        templates
            .compile_file(&hname, &base.join(h), file, &key, d)
            .then_some(hname)
    });
    let typed = wsdl_op.is_some();
    let response = ResponseSpec::build(&r.response, typed, file, &format!("{at}.response"), d);
    let faults = FaultRules::build(&r.faults, file, &format!("{at}.faults"), d);
    let wsdl_action = wsdl_op
        .and_then(|i| svc.wsdl.as_ref()?.operations.get(i))
        .map(|o| o.action.clone());
    let validate = r
        .request
        .validate
        .unwrap_or(matches!(body, Some(BodySource::Schema)));
    if validate && wsdl_op.is_none() {
        let fix = "name the service's wsdl, or remove request.validate";
        d.error(
            file,
            &format!("{at}.request.validate"),
            "validation needs a WSDL operation",
            fix,
        );
    }
    let threats = crate::threat::config::route_policy(
        &settings.threats,
        settings.request_body_limit,
        r.limits.as_ref(),
        r.threats.as_ref(),
        file,
        &at,
        d,
    );
    let rate_limit = crate::ratelimit::config::route_limits(&r.rate_limit, r.cost, ratelimit, file, &at, d);
    let raw_auth = RawRouteAuth {
        scopes: r.scopes,
        any_scopes: r.any_scopes,
        claims: r.claims,
        providers: r.providers,
        public: r.public,
    };
    let auth = crate::auth::config::route_policy(raw_auth, auth, file, &at, d);
    let template_file = r.request.template.clone();
    let route = Route {
        id: r.id,
        service: svc.clone(),
        method: method?,
        path: path?,
        operation: r.operation,
        action: r.action.or(wsdl_action).unwrap_or_default(),
        headers,
        body: body?,
        wsdl_op,
        validate,
        header_template,
        response: response?,
        faults: faults?,
        auth,
        threats,
        rate_limit,
    };
    if let (BodySource::Template(name), Some(t)) = (&route.body, &template_file) {
        let key = format!("{at}.request.template");
        unsuppliable_reads(&route, templates.paths_read(name), (file, &key, t), d);
    }
    Some(route)
}

/// Warns about every name a route's template reads that the route can never supply: a path
/// parameter its path does not have, or (on a validated route) an input field the operation does
/// not have. Such a template fails every request with 400 `MISSING_FIELD`, blaming the client.
fn unsuppliable_reads(
    route: &Route,
    reads: Vec<(String, Option<usize>)>,
    (file, key, template): (&str, &str, &str),
    d: &mut Diagnostics,
) {
    let path = route.path.as_str();
    let params: Vec<&str> = path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect();
    let bound = crate::mapping::schema::bound(route).filter(|_| route.validate);
    let mut seen = Vec::new();
    for (read, line) in reads {
        let mut segs = read.split('.');
        let (Some(place), Some(name)) = (segs.next(), segs.next()) else {
            continue;
        };
        if seen.contains(&(place.to_string(), name.to_string())) {
            continue;
        }
        let at = line.map_or_else(|| template.to_string(), |l| format!("{template}:{l}"));
        let (message, fix) = match place {
            "path" if !params.contains(&name) => (
                format!("{at} reads `path.{name}`, but the route's path `{path}` has no `{{{name}}}`"),
                match params.as_slice() {
                    [] => "add the parameter to the route's path, or read the value from input".to_string(),
                    ps => format!("use one of: {}", ps.iter().map(|p| format!("path.{p}")).collect::<Vec<_>>().join(", ")),
                },
            ),
            "input" | "body" if bound.is_some_and(|b| !crate::mapping::schema::is_input_field(b, name)) => (
                format!("{at} reads `{place}.{name}`, but operation {} has no input field `{name}`: the request is validated, so no client can send it", route.operation),
                "use the field's name as the WSDL spells it (see the route's OpenAPI request schema)".to_string(),
            ),
            _ => continue,
        };
        seen.push((place.to_string(), name.to_string()));
        d.warn(file, key, message, &fix);
    }
}

fn route_method(raw: &str, file: &str, at: &str, d: &mut Diagnostics) -> Option<Method> {
    match Method::from_bytes(raw.to_ascii_uppercase().as_bytes()) {
        Ok(m) if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()) => Some(m),
        _ => {
            let msg = format!("unsupported method `{raw}`");
            d.error(
                file,
                &format!("{at}.method"),
                msg,
                "use GET, POST, PUT, PATCH or DELETE",
            );
            None
        }
    }
}

fn route_headers(raw: &[String], file: &str, at: &str, d: &mut Diagnostics) -> Vec<HeaderName> {
    raw.iter()
        .filter_map(
            |h| match HeaderName::from_bytes(h.to_ascii_lowercase().as_bytes()) {
                Ok(n) => Some(n),
                Err(_) => {
                    let msg = format!("`{h}` is not a header name");
                    d.error(
                        file,
                        &format!("{at}.headers"),
                        msg,
                        "list header names such as x-tenant-id",
                    );
                    None
                }
            },
        )
        .collect()
}

/// With a WSDL, the route's `operation` must name one of its operations (of the backend's SOAP
/// version when both exist).
fn bind_operation(r: &RawRoute, svc: &Service, file: &str, at: &str, d: &mut Diagnostics) -> Option<usize> {
    let wsdl = svc.wsdl.as_ref()?;
    let version = svc.backend.version;
    let ops = &wsdl.operations;
    let found = ops
        .iter()
        .position(|o| o.name == r.operation && o.version == version)
        .or_else(|| ops.iter().position(|o| o.name == r.operation));
    if found.is_none() {
        let mut names: Vec<&str> = ops.iter().map(|o| o.name.as_str()).collect();
        names.dedup();
        let msg = format!(
            "operation `{}` is not in the WSDL (it has: {})",
            r.operation,
            names.join(", ")
        );
        d.error(
            file,
            &format!("{at}.operation"),
            msg,
            "use one of the WSDL's operation names",
        );
    }
    found
}

#[allow(clippy::too_many_arguments)]
fn route_body(
    r: &RawRoute,
    name: &str,
    wsdl_op: Option<usize>,
    base: &Path,
    templates: &mut Templates,
    file: &str,
    at: &str,
    d: &mut Diagnostics,
) -> Option<BodySource> {
    let key = format!("{at}.request.template");
    match (&r.request.template, wsdl_op) {
        (Some(t), _) => templates
            .compile_file(name, &base.join(t), file, &key, d)
            .then(|| BodySource::Template(name.to_string())),
        (None, Some(_)) => Some(BodySource::Schema),
        (None, None) => {
            let fix = "add request.template, or name the service's wsdl so the body comes from the schema";
            d.error(file, &key, "the route has no request template", fix);
            None
        }
    }
}

//! Fetching the documents of one WSDL: the entry, its `wsdl:import`s and every schema import/include,
//! each bounded in size, decoded, parsed without DTDs and checked for its root element.

use super::xml::{attr, children_named, display_name, is, ns_of, xsd_children};
use crate::wsdl::{ns, WsdlError, MAX_DOCUMENTS, MAX_DOCUMENT_BYTES, MAX_XML_NODES};
use roxmltree::{Document, Node, ParsingOptions};
use std::collections::{HashSet, VecDeque};

/// One fetched document's text.
pub(crate) struct Source {
    pub location: String,
    pub text: String,
}

/// All documents of a WSDL, entry first, plus what was skipped on the way.
#[derive(Default)]
pub(crate) struct Gathered {
    pub sources: Vec<Source>,
    pub warnings: Vec<String>,
}

/// One parsed document.
pub(crate) struct Doc<'i> {
    pub location: String,
    pub xml: Document<'i>,
}

/// Where a referenced location leads.
#[derive(Debug, PartialEq)]
pub(crate) enum Resolved {
    Fetch(String),
    Skip(String),
    Ignore,
}

/// Fetches the entry and, breadth first, everything it references (each location once).
pub(crate) fn gather(
    entry: &str,
    fetch: &dyn Fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Gathered, WsdlError> {
    let remote = is_http(entry);
    let mut queue = VecDeque::from([(entry.to_string(), None::<String>)]);
    let mut seen = HashSet::from([entry.to_string()]);
    let mut out = Gathered::default();
    while let Some((location, referrer)) = queue.pop_front() {
        if out.sources.len() >= MAX_DOCUMENTS {
            return Err(WsdlError::TooManyDocuments {
                location,
                limit: MAX_DOCUMENTS,
            });
        }
        let text = match (fetch(&location), &referrer) {
            (Ok(bytes), _) => checked_text(&location, &bytes)?,
            (Err(msg), None) => return Err(WsdlError::Io { location, msg }),
            (Err(msg), Some(by)) => {
                out.warnings.push(format!(
                    "{location} (imported by {by}): cannot read: {msg}; the names it defines stay unresolved"
                ));
                continue;
            }
        };
        let references = {
            let doc = parse(&location, &text)?;
            check_root(doc.root_element(), &location, referrer.as_deref())?;
            check_namespaces(doc.root_element(), &location)?;
            references(doc.root_element())
        };
        for reference in references {
            match resolve(&location, &reference, remote) {
                Resolved::Fetch(next) if seen.insert(next.clone()) => {
                    queue.push_back((next, Some(location.clone())))
                }
                Resolved::Skip(why) => out.warnings.push(format!("{location}: {why}")),
                _ => {}
            }
        }
        out.sources.push(Source { location, text });
    }
    Ok(out)
}

/// The size-checked, decoded text of a fetched document.
fn checked_text(location: &str, bytes: &[u8]) -> Result<String, WsdlError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(WsdlError::TooLarge {
            location: location.to_string(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    decode(location, bytes)
}

/// Parses with DTDs disallowed and a node limit.
pub(crate) fn parse<'i>(location: &str, text: &'i str) -> Result<Document<'i>, WsdlError> {
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|e| {
        let pos = e.pos();
        let msg = match e {
            roxmltree::Error::DtdDetected => "a DTD (<!DOCTYPE>) is not allowed".to_string(),
            roxmltree::Error::NodesLimitReached => format!("more than {MAX_XML_NODES} XML nodes"),
            other => other.to_string(),
        };
        WsdlError::Xml {
            location: location.to_string(),
            line: pos.row,
            col: pos.col,
            msg,
        }
    })
}

/// The text in any WHATWG encoding, by its byte order mark or XML declaration (a file has no
/// Content-Type; an http one's is not kept): the rules of backend replies, [`charset`].
///
/// [`charset`]: crate::soap::charset
pub(crate) fn decode(location: &str, bytes: &[u8]) -> Result<String, WsdlError> {
    crate::soap::charset::decode(bytes, None, MAX_DOCUMENT_BYTES)
        .map(std::borrow::Cow::into_owned)
        .map_err(|e| WsdlError::Encoding {
            location: location.to_string(),
            msg: e.to_string(),
        })
}

/// The entry must be WSDL 1.1 `definitions`; an import may also be an XML Schema.
fn check_root(root: Node, location: &str, referrer: Option<&str>) -> Result<(), WsdlError> {
    if ns_of(root) == ns::WSDL20 {
        return Err(WsdlError::Wsdl20 {
            location: location.to_string(),
        });
    }
    if is(root, ns::WSDL, "definitions") {
        return Ok(());
    }
    match referrer {
        Some(_) if super::xml::is_xsd(root, "schema") => Ok(()),
        Some(referrer) => Err(WsdlError::NotSchema {
            location: location.to_string(),
            referrer: referrer.to_string(),
            root: display_name(root),
        }),
        None => Err(WsdlError::NotWsdl {
            location: location.to_string(),
            root: display_name(root),
        }),
    }
}

/// Namespace names on the root and every `targetNamespace` must be usable URIs.
fn check_namespaces(root: Node, location: &str) -> Result<(), WsdlError> {
    let declared = root.namespaces().map(|n| n.uri());
    let targets = std::iter::once(root)
        .chain(schemas_of(root))
        .filter_map(|n| n.attribute("targetNamespace"));
    for uri in declared.chain(targets) {
        if let Some(msg) = uri_problem(uri) {
            return Err(WsdlError::InvalidNamespace {
                location: location.to_string(),
                namespace: uri.to_string(),
                msg,
            });
        }
    }
    Ok(())
}

fn uri_problem(uri: &str) -> Option<String> {
    if uri.contains("{{") {
        return Some("it holds a `{{...}}` template placeholder that was never filled in".into());
    }
    let bad = uri
        .chars()
        .find(|c| c.is_whitespace() || "{}<>\"\\^`|".contains(*c))?;
    Some(format!(
        "it contains the character {bad:?}, which URIs do not allow"
    ))
}

/// The `xs:schema` elements of a document: the root itself or those under `wsdl:types`.
pub(crate) fn schemas_of<'a, 'i>(root: Node<'a, 'i>) -> Vec<Node<'a, 'i>> {
    if super::xml::is_xsd(root, "schema") {
        return vec![root];
    }
    children_named(root, ns::WSDL, "types")
        .flat_map(|types| types.children().filter(|c| super::xml::is_xsd(*c, "schema")))
        .collect()
}

/// Locations referenced by a document: `wsdl:import@location` and schema import/include/redefine.
fn references(root: Node) -> Vec<String> {
    let wsdl_imports = children_named(root, ns::WSDL, "import").filter_map(|i| attr(i, "location"));
    let schema_refs = schemas_of(root).into_iter().flat_map(|s| {
        xsd_children(s)
            .filter(|c| matches!(c.tag_name().name(), "import" | "include" | "redefine"))
            .filter_map(|c| attr(c, "schemaLocation"))
    });
    wsdl_imports.chain(schema_refs).map(str::to_string).collect()
}

/// Whether a location is an http(s) URL.
pub(crate) fn is_http(location: &str) -> bool {
    let lower = location.get(..8).unwrap_or(location).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Resolves `reference` against the document at `base`. A file-based load never fetches http(s);
/// a URL-based load never reads local files.
pub(crate) fn resolve(base: &str, reference: &str, remote: bool) -> Resolved {
    let reference = reference.trim();
    if reference.is_empty() {
        return Resolved::Ignore;
    }
    if is_http(reference) {
        return match remote {
            true => Resolved::Fetch(normalize_url(reference)),
            false => Resolved::Skip(format!(
                "remote location `{reference}` is not fetched in a file-based load; the names it defines \
                 stay unresolved"
            )),
        };
    }
    if let Some(path) = reference.strip_prefix("file://") {
        return match remote {
            true => Resolved::Skip(format!(
                "local file `{reference}` referenced by a remote document is ignored"
            )),
            false => Resolved::Fetch(normalize_path(path)),
        };
    }
    if has_scheme(reference) {
        return Resolved::Skip(format!(
            "location `{reference}` has an unsupported scheme; not fetched"
        ));
    }
    match remote {
        true => Resolved::Fetch(join_url(base, reference)),
        false if reference.starts_with('/') => Resolved::Fetch(normalize_path(reference)),
        false => Resolved::Fetch(normalize_path(&format!("{}/{reference}", parent_dir(base)))),
    }
}

/// `scheme:` per RFC 3986 (two characters at least, so `C:` drive letters are not schemes).
fn has_scheme(reference: &str) -> bool {
    match reference.split_once(':') {
        Some((scheme, _)) => {
            scheme.len() > 1
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

fn parent_dir(path: &str) -> &str {
    path.rfind('/').and_then(|i| path.get(..i)).unwrap_or("")
}

/// Removes `.` and `..` segments (lexically) from a `/`-separated path.
pub(crate) fn normalize_path(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if absolute {
        format!("/{joined}")
    } else {
        joined
    }
}

/// Splits an absolute URL into `scheme://authority` and the rest.
fn split_origin(url: &str) -> (&str, &str) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = url.get(start..).unwrap_or("");
    let end = rest.find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    (url.get(..end).unwrap_or(url), url.get(end..).unwrap_or(""))
}

fn split_query(path: &str) -> (&str, &str) {
    match path.find(['?', '#']) {
        Some(i) => (path.get(..i).unwrap_or(path), path.get(i..).unwrap_or("")),
        None => (path, ""),
    }
}

/// An absolute URL with its dot segments removed.
fn normalize_url(url: &str) -> String {
    let (origin, rest) = split_origin(url);
    let (path, query) = split_query(rest);
    let mut normalized = normalize_path(if path.is_empty() { "/" } else { path });
    if path.ends_with('/') && !normalized.ends_with('/') {
        normalized.push('/');
    }
    format!("{origin}{normalized}{query}")
}

/// RFC 3986 reference resolution, reduced to what schema locations use.
pub(crate) fn join_url(base: &str, reference: &str) -> String {
    let (origin, rest) = split_origin(base);
    if let Some(after) = reference.strip_prefix("//") {
        let scheme = origin.split("://").next().unwrap_or("http");
        return normalize_url(&format!("{scheme}://{after}"));
    }
    if reference.starts_with('/') {
        return normalize_url(&format!("{origin}{reference}"));
    }
    let (base_path, _) = split_query(rest);
    if reference.starts_with('?') {
        return format!("{origin}{base_path}{reference}");
    }
    let dir = parent_dir(base_path);
    normalize_url(&format!("{origin}{dir}/{reference}"))
}

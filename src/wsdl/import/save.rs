//! Saving a WSDL and every document it pulled in under `wsdl/`, so the copy loads on its own.
//!
//! The entry becomes `wsdl/<service>.wsdl`; every imported document goes below `wsdl/<service>/`,
//! keeping its path relative to the entry (`..` becomes `_up`; documents on other hosts go under
//! the host name). Each `location`/`schemaLocation` that now points elsewhere is rewritten in the
//! saved copy; a document whose references all still match is saved byte for byte.

use super::names::Unique;
use super::ImportError;
use crate::wsdl::loader::docs::{self, Resolved};
use crate::wsdl::loader::xml::{children_named, xsd_children};
use crate::wsdl::ns;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One fetched document: where the loader found it and its bytes.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub location: String,
    pub bytes: Vec<u8>,
}

/// Writes the documents (entry first) below `wsdl_dir`; returns the written files, entry first.
pub fn save(wsdl_dir: &Path, service: &str, fetched: &[Fetched]) -> Result<Vec<PathBuf>, ImportError> {
    let Some(entry) = fetched.first() else {
        return Ok(Vec::new());
    };
    let remote = docs::is_http(&entry.location);
    let locals = local_names(service, &entry.location, fetched);
    let by_location: HashMap<&str, &str> = fetched
        .iter()
        .zip(&locals)
        .map(|(f, l)| (f.location.as_str(), l.as_str()))
        .collect();
    let mut written = Vec::new();
    for (doc, local) in fetched.iter().zip(&locals) {
        let bytes = rewritten(doc, local, &by_location, remote)?;
        let path = wsdl_dir.join(local);
        super::write_file(&path, &bytes)?;
        written.push(path);
    }
    Ok(written)
}

/// Local paths (relative to `wsdl/`, `/`-separated) for every document, unique ignoring case.
pub fn local_names(service: &str, entry: &str, fetched: &[Fetched]) -> Vec<String> {
    let mut unique = Unique::default();
    fetched
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if i == 0 {
                return unique.claim_file(&format!("{service}.wsdl"));
            }
            let rel = match docs::is_http(entry) {
                true => url_relative(entry, &f.location),
                false => relative_segments(parent(entry), &f.location),
            };
            let rel = with_extension(rel, &f.bytes, docs::is_http(entry));
            unique.claim_file(&format!("{service}/{}", rel.join("/")))
        })
        .collect()
}

/// Path segments of `target` relative to the directory `base` (both `/`-separated), with each
/// `..` as `_up` and every segment made file-system safe.
fn relative_segments(base: &str, target: &str) -> Vec<String> {
    let base: Vec<&str> = base.split('/').filter(|s| !s.is_empty()).collect();
    let target: Vec<&str> = target.split('/').filter(|s| !s.is_empty()).collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    let ups = base.len().saturating_sub(common);
    let rest = target.iter().skip(common).map(|s| safe_segment(s));
    std::iter::repeat_n("_up".to_string(), ups).chain(rest).collect()
}

/// A URL relative to the entry URL's directory; other hosts go under their host name.
fn url_relative(entry: &str, url: &str) -> Vec<String> {
    let (entry_origin, entry_path) = split_url(entry);
    let (origin, path_query) = split_url(url);
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut segs = match origin == entry_origin {
        true => relative_segments(parent(entry_path.split('?').next().unwrap_or("")), path),
        false => {
            let host = origin.split("://").nth(1).unwrap_or(origin);
            let mut v = vec![safe_segment(host)];
            v.extend(relative_segments("", path));
            v
        }
    };
    if segs.is_empty() {
        segs.push("index".into());
    }
    if !query.is_empty() {
        if let Some(last) = segs.last_mut() {
            last.push('_');
            last.push_str(&safe_segment(query));
        }
    }
    segs
}

/// `scheme://authority` and the rest of a URL.
fn split_url(url: &str) -> (&str, &str) {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url
        .get(start..)
        .and_then(|r| r.find('/'))
        .map_or(url.len(), |i| start + i);
    (url.get(..end).unwrap_or(url), url.get(end..).unwrap_or(""))
}

/// URL documents without a `.wsdl`/`.xsd` name get one from their root element.
fn with_extension(mut segs: Vec<String>, bytes: &[u8], remote: bool) -> Vec<String> {
    if let Some(last) = segs.last_mut() {
        let lower = last.to_ascii_lowercase();
        if remote && !lower.ends_with(".wsdl") && !lower.ends_with(".xsd") {
            let is_wsdl = String::from_utf8_lossy(bytes.get(..bytes.len().min(4096)).unwrap_or(bytes))
                .contains(ns::WSDL);
            last.push_str(if is_wsdl { ".wsdl" } else { ".xsd" });
        }
    }
    segs
}

fn safe_segment(s: &str) -> String {
    let cleaned = super::names::safe_chars(s);
    match cleaned.as_str() {
        "" | "." | ".." => "_".into(),
        _ => cleaned,
    }
}

fn parent(path: &str) -> &str {
    path.rfind('/').and_then(|i| path.get(..i)).unwrap_or("")
}

/// The document's bytes with its references pointing at the local copies.
fn rewritten(
    doc: &Fetched,
    local: &str,
    by_location: &HashMap<&str, &str>,
    remote: bool,
) -> Result<Vec<u8>, ImportError> {
    let text = docs::decode(&doc.location, &doc.bytes)?;
    let edits = {
        let xml = docs::parse(&doc.location, &text)?;
        reference_edits(&xml, &doc.location, local, by_location, remote)
    };
    if edits.is_empty() {
        return Ok(doc.bytes.clone());
    }
    let mut out = text;
    for (range, value) in edits.into_iter().rev() {
        if out.get(range.clone()).is_some() {
            out.replace_range(range, &value);
        }
    }
    Ok(utf8_declaration(&out).into_bytes())
}

/// (byte range of an attribute value, new value) for every reference that must change, in order.
fn reference_edits(
    xml: &roxmltree::Document,
    location: &str,
    local: &str,
    by_location: &HashMap<&str, &str>,
    remote: bool,
) -> Vec<(std::ops::Range<usize>, String)> {
    let root = xml.root_element();
    let wsdl_imports = children_named(root, ns::WSDL, "import").filter_map(|n| n.attribute_node("location"));
    let schema_refs = docs::schemas_of(root).into_iter().flat_map(|s| {
        xsd_children(s)
            .filter(|c| matches!(c.tag_name().name(), "import" | "include" | "redefine"))
            .filter_map(|c| c.attribute_node("schemaLocation"))
    });
    let mut edits: Vec<_> = wsdl_imports
        .chain(schema_refs)
        .filter_map(|a| {
            let Resolved::Fetch(target) = docs::resolve(location, a.value(), remote) else {
                return None;
            };
            let new = relative_reference(local, by_location.get(target.as_str())?);
            (new != a.value().trim()).then(|| (a.range_value(), new))
        })
        .collect();
    edits.sort_by_key(|(r, _)| r.start);
    edits
}

/// The `/`-separated path from the file `from` to the file `to` (both relative to `wsdl/`).
pub fn relative_reference(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = parent(from).split('/').filter(|s| !s.is_empty()).collect();
    let to_segs: Vec<&str> = to.split('/').filter(|s| !s.is_empty()).collect();
    let dirs_of_to = to_segs.len().saturating_sub(1);
    let common = from_dir
        .iter()
        .zip(&to_segs)
        .take(dirs_of_to)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts = vec![".."; from_dir.len() - common];
    parts.extend(to_segs.iter().skip(common));
    parts.join("/")
}

/// Declares UTF-8 in the XML declaration (the rewritten text is written as UTF-8).
fn utf8_declaration(text: &str) -> String {
    let Some(rest) = text.strip_prefix("<?xml") else {
        return text.to_string();
    };
    let Some(end) = rest.find("?>") else {
        return text.to_string();
    };
    let decl = rest.get(..end).unwrap_or("");
    let Some(at) = decl.find("encoding") else {
        return text.to_string();
    };
    let after = decl.get(at..).unwrap_or("");
    let Some(q_start) = after.find(['"', '\'']) else {
        return text.to_string();
    };
    let quote = after.get(q_start..=q_start).unwrap_or("\"");
    let Some(q_len) = after.get(q_start + 1..).and_then(|s| s.find(quote)) else {
        return text.to_string();
    };
    let value_start = 5 + at + q_start + 1;
    let mut out = text.to_string();
    out.replace_range(value_start..value_start + q_len, "UTF-8");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(location: &str, text: &str) -> Fetched {
        Fetched {
            location: location.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn file_documents_keep_their_layout_below_the_service_folder() {
        let docs = [
            fetched("/a/b/main.wsdl", ""),
            fetched("/a/b/xsd/types.xsd", ""),
            fetched("/a/common/base.xsd", ""),
        ];
        let names = local_names("svc", "/a/b/main.wsdl", &docs);
        assert_eq!(
            names,
            ["svc.wsdl", "svc/xsd/types.xsd", "svc/_up/common/base.xsd"]
        );
        assert_eq!(
            relative_reference("svc.wsdl", "svc/xsd/types.xsd"),
            "svc/xsd/types.xsd"
        );
        assert_eq!(
            relative_reference("svc/xsd/types.xsd", "svc/_up/common/base.xsd"),
            "../_up/common/base.xsd"
        );
        assert_eq!(
            relative_reference("svc/xsd/types.xsd", "svc.wsdl"),
            "../../svc.wsdl"
        );
    }

    #[test]
    fn url_documents_are_named_after_their_path_and_query() {
        let schema = format!("<xs:schema xmlns:xs=\"{}\"/>", ns::XSD);
        let docs = [
            fetched("http://h/s/Service.svc?wsdl", ""),
            fetched("http://h/s/Service.svc?xsd=xsd0", &schema),
            fetched("http://other:81/x/common.xsd", &schema),
        ];
        let names = local_names("svc", "http://h/s/Service.svc?wsdl", &docs);
        assert_eq!(
            names,
            [
                "svc.wsdl",
                "svc/Service.svc_xsd_xsd0.xsd",
                "svc/other_81/x/common.xsd"
            ]
        );
    }

    #[test]
    fn references_are_rewritten_and_the_encoding_declared_utf8() {
        let wsdl = format!(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><definitions xmlns=\"{}\"><import location=\"t.xsd\"/>\
             <types><s:schema xmlns:s=\"{}\"><s:include schemaLocation=\"./t.xsd\"/></s:schema></types></definitions>",
            ns::WSDL,
            ns::XSD
        );
        let docs = [fetched("/d/main.wsdl", &wsdl), fetched("/d/t.xsd", "<x/>")];
        let dir = tempfile::tempdir().expect("tmp");
        let files = save(dir.path(), "svc", &docs).expect("saved");
        assert_eq!(files.len(), 2);
        let text = std::fs::read_to_string(dir.path().join("svc.wsdl")).expect("read");
        assert!(text.contains("encoding=\"UTF-8\""), "{text}");
        assert!(text.contains("location=\"svc/t.xsd\""), "{text}");
        assert!(text.contains("schemaLocation=\"svc/t.xsd\""), "{text}");
        let xsd = std::fs::read_to_string(dir.path().join("svc/t.xsd")).expect("read");
        assert_eq!(xsd, "<x/>");
    }
}

//! Acceptance over the shared corpus (`../shared/corpus`): every entry WSDL loads, or fails with the
//! specific error its README entry calls for; nothing panics; a few facts are checked in detail.

use super::model::{ComplexType, QName, Style, TypeDef, Use, Wsdl};
use super::{load, WsdlError};
use crate::soap::SoapVersion;
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");

/// WSDLs that are only imported by another one (not entry points).
const IMPORTED_ONLY: &[&str] = &["python-zeep/tests/wsdl_files/soap_import_2.wsdl"];

/// The entries that must fail, and how.
fn expected_failure(rel: &str) -> Option<fn(&WsdlError) -> bool> {
    match rel {
        "node-soap/test/wsdl/attachments.wsdl" | "node-soap/test/wsdl/ws-policy.wsdl" => {
            Some(|e| matches!(e, WsdlError::Xml { msg, .. } if msg.contains("unknown namespace prefix")))
        }
        "wsdl-to-postman/test/data/validWSDLs11/manyfaults.wsdl" => Some(
            |e| matches!(e, WsdlError::InvalidNamespace { namespace, .. } if namespace.contains("{{url}}")),
        ),
        "wsdl-to-postman/test/data/validWSDLs20/W3Example_wsdl_20.wsdl" => {
            Some(|e| matches!(e, WsdlError::Wsdl20 { .. }))
        }
        _ => None,
    }
}

/// The corpus root; `None` (test skipped) when absent, unless `CI` is set.
fn corpus() -> Option<PathBuf> {
    let root = PathBuf::from(CORPUS);
    if root.join("wsdl").is_dir() {
        return Some(root);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the corpus is required in CI but missing at {CORPUS}"
    );
    eprintln!("skipping: no corpus at {CORPUS}");
    None
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Entry WSDLs under `wsdl/`: every `.wsdl`, plus savon's `spec/fixtures/wsdl/*.xml`; relative path first.
fn entries(wsdl_dir: &Path) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    files_under(wsdl_dir, &mut files);
    let mut entries: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|p| Some((p.strip_prefix(wsdl_dir).ok()?.to_str()?.to_string(), p)))
        .filter(|(rel, _)| {
            rel.ends_with(".wsdl") || (rel.starts_with("savon/spec/fixtures/wsdl/") && rel.ends_with(".xml"))
        })
        .filter(|(rel, _)| !IMPORTED_ONLY.contains(&rel.as_str()))
        .collect();
    entries.sort();
    entries
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => s.to_string(),
        (_, Some(s)) => s.clone(),
        _ => "non-text panic".into(),
    }
}

/// A file and what loading it gave.
type Outcome = (String, Result<Wsdl, WsdlError>);

/// Loads each file inside `catch_unwind`; returns the panics, and prints one line per file.
fn load_all(files: &[(String, PathBuf)]) -> (Vec<String>, Vec<Outcome>) {
    let mut panics = Vec::new();
    let mut results = Vec::new();
    for (rel, path) in files {
        match std::panic::catch_unwind(|| load(path)) {
            Err(payload) => panics.push(format!("{rel}: {}", panic_text(payload))),
            Ok(result) => {
                match &result {
                    Ok(w) => {
                        let unsupported = w.operations.iter().filter(|o| !o.unsupported.is_empty()).count();
                        eprintln!(
                            "ok    {rel}: {} operations ({unsupported} with unsupported parts), {} ports, {} warnings",
                            w.operations.len(),
                            w.ports.len(),
                            w.warnings.len()
                        );
                    }
                    Err(e) => eprintln!("error {rel}: {e}"),
                }
                results.push((rel.clone(), result));
            }
        }
    }
    (panics, results)
}

#[test]
fn every_corpus_wsdl_loads_or_fails_with_its_specific_error() {
    let Some(root) = corpus() else { return };
    let files = entries(&root.join("wsdl"));
    assert!(
        files.len() >= 59,
        "expected the README's 59 entry WSDLs, found {}",
        files.len()
    );
    let (panics, results) = load_all(&files);
    assert!(panics.is_empty(), "panics:\n{}", panics.join("\n"));
    let mut wrong = Vec::new();
    for (rel, result) in &results {
        match (result, expected_failure(rel)) {
            (Ok(_), None) => {}
            (Err(e), Some(check)) if check(e) => {}
            (Ok(_), Some(_)) => wrong.push(format!("{rel}: loaded, but must be rejected")),
            (Err(e), _) => wrong.push(format!("{rel}: {e}")),
        }
    }
    let ok = results.iter().filter(|(_, r)| r.is_ok()).count();
    eprintln!(
        "corpus: {} entry WSDLs, {ok} loaded, {} rejected as expected",
        results.len(),
        results.len() - ok
    );
    assert!(wrong.is_empty(), "unexpected outcomes:\n{}", wrong.join("\n"));
}

#[test]
fn every_node_soap_sample_wsdl_loads() {
    let Some(root) = corpus() else { return };
    let samples = root.join("messages/node-soap/test/request-response-samples");
    let mut files = Vec::new();
    files_under(&samples, &mut files);
    let mut files: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "soap.wsdl"))
        .filter_map(|p| Some((p.strip_prefix(&samples).ok()?.to_str()?.to_string(), p)))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "found {} sample WSDLs", files.len());
    let (panics, results) = load_all(&files);
    assert!(panics.is_empty(), "panics:\n{}", panics.join("\n"));
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(rel, r)| Some(format!("{rel}: {}", r.as_ref().err()?)))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

fn corpus_wsdl(rel: &str) -> Option<Wsdl> {
    let root = corpus()?;
    match load(&root.join(rel)) {
        Ok(w) => Some(w),
        Err(e) => panic!("{rel}: {e}"),
    }
}

fn element_type<'a>(w: &'a Wsdl, ns: &str, local: &str) -> &'a ComplexType {
    let id = w.schema.global_elements[&QName::new(ns, local)];
    w.schema.complex(w.schema.element(id).ty).expect("complex type")
}

fn child_many(ct: &ComplexType, local: &str) -> bool {
    ct.children[ct.child_index[local]].many
}

#[test]
fn zeep_soap_wsdl_operations_actions_and_faults() {
    let Some(w) = corpus_wsdl("wsdl/python-zeep/tests/wsdl_files/soap.wsdl") else {
        return;
    };
    let names: Vec<&str> = w.operations.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["GetLastTradePrice", "GetLastTradePriceNoOutput"]);
    let op = &w.operations[0];
    assert_eq!(
        (op.action.as_str(), op.style, op.version),
        (
            "http://example.com/GetLastTradePrice",
            Style::Document,
            SoapVersion::V11
        )
    );
    let faults: Vec<&str> = op.faults.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(faults, ["fault1", "fault2"]);
    assert!(op.faults.iter().all(|f| f.element.is_some()));
    assert!(w.operations[1].output.is_none());
    let request = element_type(&w, "http://example.com/stockquote.xsd", "TradePriceRequest");
    let country = w
        .schema
        .element(request.children[request.child_index["country"]].element);
    assert_eq!(
        country.name,
        QName::new("http://example.com/stockquote.xsd", "country"),
        "element ref"
    );
    assert!(request.children[request.child_index["account"]].optional);
}

#[test]
fn node_soap_min_max_occurs_sample_is_many() {
    let rel = "messages/node-soap/test/request-response-samples/Dummy__should_handle_minOccurs_and_maxOccurs/soap.wsdl";
    let Some(w) = corpus_wsdl(rel) else { return };
    let response = element_type(&w, "http://www.Dummy.com/Name/Types", "DummyResponse");
    assert!(child_many(response, "DummyList_MaxUnbounded"));
    assert!(child_many(response, "DummyList_MaxInt"));
    let item = w.schema.element(response.children[0].element);
    let inner = w.schema.complex(item.ty).expect("anonymous complex type");
    assert!(!child_many(inner, "DummyFirst"));
}

#[test]
fn calculator_yields_operations_for_both_soap_versions() {
    let Some(w) = corpus_wsdl("wsdl/wsdl-to-postman/test/data/validWSDLs11/calculator-soap11and12.wsdl")
    else {
        return;
    };
    for version in [SoapVersion::V11, SoapVersion::V12] {
        let mut names: Vec<&str> = w
            .operations
            .iter()
            .filter(|o| o.version == version)
            .map(|o| o.name.as_str())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["Add", "Divide", "Multiply", "Subtract"], "{version:?}");
    }
    assert_eq!(
        w.operation("Add", Some(SoapVersion::V12))
            .map(|o| o.action.as_str()),
        Some("http://tempuri.org/Add")
    );
    assert_eq!(w.ports.len(), 2);
    let add = element_type(&w, "http://tempuri.org/", "Add");
    let int_a = w.schema.element(add.children[0].element);
    assert_eq!(
        int_a.name,
        QName::new("http://tempuri.org/", "intA"),
        "elementFormDefault=qualified"
    );
}

#[test]
fn rpc_encoded_wsdls_keep_style_use_and_soapenc_arrays() {
    let Some(w) = corpus_wsdl("wsdl/node-soap/test/wsdl/hello.wsdl") else {
        return;
    };
    let op = &w.operations[0];
    assert_eq!(
        (op.style, op.input.as_ref().map(|m| m.body_use)),
        (Style::Rpc, Some(Use::Encoded))
    );
    assert!(op.input.as_ref().and_then(|m| m.rpc_wrapper.as_ref()).is_some());
    let Some(w) = corpus_wsdl("wsdl/node-soap/test/wsdl/rpcexample.wsdl") else {
        return;
    };
    assert!(w
        .operations
        .iter()
        .all(|o| o.version == SoapVersion::V12 && o.style == Style::Rpc));
    let arrays = w
        .schema
        .types
        .iter()
        .filter(|t| matches!(t, TypeDef::Complex(c) if c.soapenc_array_of.is_some()));
    assert!(arrays.count() >= 2, "SOAP-ENC arrays are recognised");
    let Some(w) = corpus_wsdl("messages/node-soap/test/request-response-samples/multiCall__rpc_stype_request_xsi_attributes/soap.wsdl")
    else {
        return;
    };
    let op = &w.operations[0];
    assert_eq!(
        (op.style, op.input.as_ref().map(|m| m.body_use)),
        (Style::Rpc, Some(Use::Encoded))
    );
    assert!(op.unsupported.is_empty(), "{:?}", op.unsupported);
}

#[test]
fn epcis_substitution_group_head_lists_its_members() {
    let Some(w) = corpus_wsdl("wsdl/gowsdl/fixtures/epcis/EPCglobal-epcis-query-1_2.wsdl") else {
        return;
    };
    let sbdh = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader";
    let head = w
        .schema
        .element(w.schema.global_elements[&QName::new(sbdh, "ScopeInformation")]);
    let mut members: Vec<&str> = head
        .substitutes
        .iter()
        .map(|s| w.schema.element(*s).name.local.as_str())
        .collect();
    members.sort_unstable();
    assert_eq!(members, ["BusinessService", "CorrelationInformation"]);
}

#[test]
fn wcf_split_schemas_with_circular_imports_resolve() {
    let rel = "wsdl/wsdl-to-postman/test/data/separatedFiles/deepCircularRefs/ServiceFinderQuery.wsdl";
    let Some(w) = corpus_wsdl(rel) else { return };
    assert!(w.operations.iter().all(|o| o.version == SoapVersion::V12));
    assert!(
        w.operations.iter().all(|o| o.unsupported.is_empty()),
        "{:?}",
        w.operations
    );
    let typed = w
        .operations
        .iter()
        .filter_map(|o| o.input.as_ref()?.element)
        .count();
    assert_eq!(typed, w.operations.len());
}

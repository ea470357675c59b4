//! Acceptance of body generation over node-soap's request samples (`../shared/corpus`): each sample's
//! `request.json` is converted from node-soap's convention to ours, validated and rendered from the
//! WSDL, and the result is compared semantically with the Body of its `request.xml`.

use super::model::{Message, PartKind, Schema, TypeRef};
use super::validate::{child_decl, coerce_scalar, lexical, validate, TEXT_KEY, XSI_TYPE_KEY};
use super::{load, render::render_body};
use roxmltree::{Document, Node};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

mod generate;

const SAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/corpus/messages/node-soap/test/request-response-samples"
);

/// Samples that must render to the expected body from input that validates.
const MIN_PASSING: usize = 22;

/// The samples that differ on purpose: (name prefix, render differs, validation fails, why).
const DELIBERATE: &[(&str, bool, bool, &str)] = &[
    (
        "Dummy__should_escape_xml",
        true,
        true,
        "null for a non-nillable element (node-soap writes xsi:nil anyway)",
    ),
    (
        "Dummy__should_handle_attributes_in_request",
        true,
        true,
        "attribute on an xs:string element (undeclared)",
    ),
    (
        "IndienenBericht__",
        false,
        true,
        "the sample omits the required `Bericht`; the body itself matches",
    ),
    (
        "RetrieveFareQuoteDateRange__",
        false,
        true,
        "dates given for xs:dateTime; the body itself matches",
    ),
    (
        "SendCDATA__",
        true,
        false,
        "a CDATA section in a JSON string is text for us, escaped, never raw markup",
    ),
    (
        "getAttachments__",
        true,
        false,
        "rpc wrapper in soap:body/@namespace (WSDL 1.1 §3.5) and xsi:type on encoded parts",
    ),
    (
        "multiCall__",
        true,
        true,
        "xsi:type inside xs:anyType content; node-soap moves items into SOAP-ENC",
    ),
    (
        "update__",
        true,
        true,
        "`replaceAll` is an attribute, the sample gives an element; node-soap keeps JSON order",
    ),
];

/// The samples directory; `None` (test skipped) when absent, unless `CI` is set.
fn samples() -> Option<PathBuf> {
    let root = PathBuf::from(SAMPLES);
    if root.is_dir() {
        return Some(root);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the corpus is required in CI but missing at {SAMPLES}"
    );
    eprintln!("skipping: no corpus at {SAMPLES}");
    None
}

#[test]
fn node_soap_request_samples_render_to_the_expected_bodies() {
    let Some(root) = samples() else { return };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("request.json").is_file() && p.join("request.xml").is_file())
        .collect();
    dirs.sort();
    let (mut passed, mut unexpected) = (0, Vec::new());
    eprintln!("{:<96} {:<8} {:<8} detail", "sample", "render", "valid");
    for dir in &dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let (render, valid) = run_sample(dir, &name);
        let mark = |r: &Result<(), String>| if r.is_ok() { "ok" } else { "FAIL" };
        let detail: Vec<&str> = [&render, &valid]
            .into_iter()
            .filter_map(|r| r.as_ref().err())
            .map(String::as_str)
            .collect();
        eprintln!(
            "{name:<96} {:<8} {:<8} {}",
            mark(&render),
            mark(&valid),
            detail.join(" | ")
        );
        passed += usize::from(render.is_ok() && valid.is_ok());
        let known = DELIBERATE.iter().find(|d| name.starts_with(d.0));
        let outcome = (render.is_err(), valid.is_err());
        match known {
            Some((_, r, v, why)) => {
                eprintln!("{:<96} deliberate: {why}", "");
                unexpected.extend((outcome != (*r, *v)).then(|| format!("{name}: {outcome:?}")));
            }
            None => unexpected.extend((outcome != (false, false)).then(|| format!("{name}: {outcome:?}"))),
        }
    }
    eprintln!(
        "{passed}/{} samples render to the expected body from valid input",
        dirs.len()
    );
    assert!(
        dirs.len() >= 30,
        "expected the 30 node-soap samples, found {}",
        dirs.len()
    );
    assert!(
        unexpected.is_empty(),
        "unexpected outcomes (render failed, validation failed): {unexpected:#?}"
    );
    assert!(
        passed >= MIN_PASSING,
        "{passed} samples pass, expected at least {MIN_PASSING}"
    );
}

/// Renders and compares one sample, and validates its input: (render result, validation result).
fn run_sample(dir: &Path, name: &str) -> (Result<(), String>, Result<(), String>) {
    let op_name = name.split("__").next().unwrap_or_default();
    let wsdl = match load(&dir.join("soap.wsdl")) {
        Ok(w) => w,
        Err(e) => return (Err(format!("load: {e}")), Err("not run".into())),
    };
    let Some(msg) = wsdl.operation(op_name, None).and_then(|op| op.input.as_ref()) else {
        return (Err("no such operation or no input".into()), Err("not run".into()));
    };
    let input = std::fs::read_to_string(dir.join("request.json"))
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()))
        .map(|raw| from_node_soap(&wsdl.schema, msg, &raw));
    let Ok(input) = input else {
        return (Err("unreadable request.json".into()), Err("not run".into()));
    };
    let rendered = render_body(&wsdl.schema, msg, &input).map_err(|e| format!("render error: {e}"));
    let expected = std::fs::read_to_string(dir.join("request.xml")).map_err(|e| e.to_string());
    let render = rendered.and_then(|r| compare_bodies(&expected?, &r));
    let valid = validate(&wsdl.schema, msg, &input).map_err(|v| {
        let list: Vec<String> = v
            .iter()
            .map(|v| format!("{}: {}", v.pointer, v.message))
            .collect();
        format!("violations: {}", list.join("; "))
    });
    (render, valid)
}

// ---- node-soap JSON -> our convention --------------------------------------------------------

/// node-soap puts attributes under `"attributes"` (`xsi_type: {type, xmlns}` for xsi:type), text
/// under `"$value"`, allows prefixed keys, single objects for repeated elements and strings for
/// every scalar. Ours: `"@name"`, `"#text"`, local names, arrays, typed scalars.
fn from_node_soap(schema: &Schema, msg: &Message, raw: &Value) -> Value {
    let Some(obj) = raw.as_object() else {
        return raw.clone();
    };
    if let Some(decl) = msg.element.and_then(|id| schema.elements.get(id)) {
        return convert(schema, Some(decl.ty), raw, 0);
    }
    let mut out = Map::new();
    for (k, v) in obj {
        let key = local(k);
        let ty = msg.parts.iter().find(|p| p.name == key).map(|p| match &p.kind {
            PartKind::Type(t) => *t,
            PartKind::Element(id) => schema
                .elements
                .get(*id)
                .map_or(TypeRef::Builtin(super::model::Builtin::AnyType), |d| d.ty),
        });
        out.insert(key.to_string(), convert(schema, ty, v, 0));
    }
    Value::Object(out)
}

fn local(k: &str) -> &str {
    k.rsplit_once(':').map_or(k, |(_, l)| l)
}

fn convert(schema: &Schema, ty: Option<TypeRef>, v: &Value, depth: usize) -> Value {
    if depth > 64 {
        return v.clone();
    }
    match v {
        Value::Object(obj) => convert_object(schema, ty, obj, depth),
        Value::String(_) | Value::Number(_) | Value::Bool(_) => match (ty, lexical(v)) {
            (Some(t), Some(text)) if schema.complex(t).is_none() => {
                coerce_scalar(schema, t, &text).unwrap_or_else(|_| v.clone())
            }
            _ => v.clone(),
        },
        Value::Array(items) => {
            Value::Array(items.iter().map(|x| convert(schema, ty, x, depth + 1)).collect())
        }
        other => other.clone(),
    }
}

fn convert_object(schema: &Schema, ty: Option<TypeRef>, obj: &Map<String, Value>, depth: usize) -> Value {
    let mut out = Map::new();
    let mut ct = ty.and_then(|t| schema.complex(t));
    if let Some(attrs) = obj.get("attributes").and_then(Value::as_object) {
        for (k, v) in attrs {
            if k == "xsi_type" {
                let derived = v.get("type").cloned().unwrap_or(Value::Null);
                if let (Some(t), Some(local)) = (ty, derived.as_str()) {
                    let found = super::validate::derived_type(schema, t, local);
                    ct = found.and_then(|id| schema.complex(TypeRef::Type(id))).or(ct);
                }
                out.insert(XSI_TYPE_KEY.into(), derived);
            } else {
                let aty = ct
                    .and_then(|c| c.attributes.iter().find(|a| a.name.local == *k))
                    .map(|a| a.ty);
                out.insert(format!("@{k}"), convert(schema, aty, v, depth + 1));
            }
        }
    }
    for (k, v) in obj.iter().filter(|(k, _)| *k != "attributes") {
        if k == "$value" {
            let text_ty = ct.and_then(|c| match c.content {
                super::model::Content::Simple(t) => Some(t),
                _ => None,
            });
            out.insert(TEXT_KEY.into(), convert(schema, text_ty, v, depth + 1));
            continue;
        }
        let key = local(k);
        let found = ct.and_then(|c| child_decl(schema, c, key));
        let item_ty = found
            .map(|(d, _)| d.ty)
            .or_else(|| ct.and_then(|c| c.soapenc_array_of));
        let many = found.is_some_and(|(_, c)| c.many) || ct.is_some_and(|c| c.soapenc_array_of.is_some());
        let value = match (many, v) {
            (true, Value::Array(_)) | (false, _) => convert(schema, item_ty, v, depth + 1),
            (true, single) => Value::Array(vec![convert(schema, item_ty, single, depth + 1)]),
        };
        out.insert(key.to_string(), value);
    }
    Value::Object(out)
}

// ---- semantic comparison ---------------------------------------------------------------------

/// Compares the elements inside `soap:Body` of `expected` with `rendered`: namespace URI and local
/// name of every element, attributes (xsi:type by resolved QName), trimmed text; prefixes,
/// whitespace and attribute order do not count.
fn compare_bodies(expected: &str, rendered: &str) -> Result<(), String> {
    let exp = Document::parse(expected).map_err(|e| format!("request.xml: {e}"))?;
    let body = exp
        .descendants()
        .find(|n| n.is_element() && n.tag_name().name() == "Body")
        .ok_or("no Body in request.xml")?;
    let wrapped = format!("<r>{rendered}</r>");
    let got = Document::parse(&wrapped).map_err(|e| format!("rendered XML is malformed: {e}: {rendered}"))?;
    let a: Vec<Node> = body.children().filter(Node::is_element).collect();
    let b: Vec<Node> = got.root_element().children().filter(Node::is_element).collect();
    compare_lists(&a, &b, "Body").map_err(|e| format!("differs: {e}; rendered: {rendered}"))
}

fn compare_lists(a: &[Node], b: &[Node], at: &str) -> Result<(), String> {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        compare(x, y, &format!("{at}/{}[{i}]", x.tag_name().name()))?;
    }
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Equal => Ok(()),
        _ => Err(format!(
            "{at}: expected {} children {:?}, got {} {:?}",
            a.len(),
            names(a),
            b.len(),
            names(b)
        )),
    }
}

fn names(nodes: &[Node]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| show(n.tag_name().namespace(), n.tag_name().name()))
        .collect()
}

fn show(ns: Option<&str>, local: &str) -> String {
    format!("{{{}}}{local}", ns.unwrap_or(""))
}

fn compare(x: &Node, y: &Node, at: &str) -> Result<(), String> {
    let (nx, ny) = (x.tag_name(), y.tag_name());
    if nx.namespace() != ny.namespace() || nx.name() != ny.name() {
        return Err(format!(
            "{at}: expected {}, got {}",
            show(nx.namespace(), nx.name()),
            show(ny.namespace(), ny.name())
        ));
    }
    let (ax, ay) = (attributes(x), attributes(y));
    if ax != ay {
        return Err(format!("{at}: attributes: expected {ax:?}, got {ay:?}"));
    }
    let (cx, cy): (Vec<Node>, Vec<Node>) = (
        x.children().filter(Node::is_element).collect(),
        y.children().filter(Node::is_element).collect(),
    );
    if cx.is_empty() && cy.is_empty() {
        let (tx, ty) = (text(x), text(y));
        if tx.trim() != ty.trim() {
            return Err(format!(
                "{at}: text: expected {:?}, got {:?}",
                tx.trim(),
                ty.trim()
            ));
        }
    }
    compare_lists(&cx, &cy, at)
}

fn text(n: &Node) -> String {
    n.children().filter_map(|c| c.text()).collect()
}

/// Attributes as sorted `({ns}local, value)`, with `xsi:type` values resolved to `{ns}local`.
fn attributes(n: &Node) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = n
        .attributes()
        .map(|a| {
            let name = show(a.namespace(), a.name());
            let value = if a.name() == "type" && a.namespace() == Some(crate::soap::NS_XSI) {
                let (prefix, local) = a
                    .value()
                    .split_once(':')
                    .map_or((None, a.value()), |(p, l)| (Some(p), l));
                show(n.lookup_namespace_uri(prefix), local)
            } else {
                a.value().to_string()
            };
            (name, value)
        })
        .collect();
    out.sort();
    out
}

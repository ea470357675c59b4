//! SOAP Faults as read from the wire: 1.1 `faultcode`/`faultstring`/`detail` and 1.2
//! `Code`/`Subcode`/`Reason`/`Detail`, from the converted Fault element.

use serde_json::{Map, Value};

/// A SOAP Fault as read from the wire (before the route's rules apply).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fault {
    /// Local part of `faultcode` / `Code/Value`, e.g. `Client.NotFound` or `Sender`.
    pub code: String,
    /// Local parts of SOAP 1.2 `Subcode/Value`s, outermost first.
    pub subcodes: Vec<String>,
    /// `faultstring` / first `Reason/Text`.
    pub message: String,
    /// Local name of the first element in `detail` / `Detail`.
    pub detail_name: Option<String>,
    /// The converted `detail` content.
    pub detail: Option<Value>,
}

/// Reads a Fault (1.1 `faultcode`/`faultstring`/`detail` or 1.2 `Code`/`Reason`/`Detail`).
pub(super) fn read_fault(fault: Map<String, Value>) -> Fault {
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Object(o) => o
                .get("#text")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_string()),
            Value::Array(a) => a.first().and_then(|f| match f {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Object(o) => o
                    .get("#text")
                    .and_then(Value::as_str)
                    .map(|s| s.trim().to_string()),
                _ => None,
            }),
            _ => None,
        }
    };
    let mut f = Fault::default();
    if let Some(code) = text(fault.get("faultcode")) {
        f.code = local_part(&code);
    } else if let Some(Value::Object(code)) = fault.get("Code") {
        f.code = text(code.get("Value"))
            .map(|c| local_part(&c))
            .unwrap_or_default();
        let mut sub = code.get("Subcode");
        while let Some(Value::Object(s)) = sub {
            if let Some(v) = text(s.get("Value")) {
                f.subcodes.push(local_part(&v));
            }
            sub = s.get("Subcode");
        }
    }
    f.message = text(fault.get("faultstring"))
        .or_else(|| match fault.get("Reason") {
            Some(Value::Object(r)) => text(r.get("Text")),
            other => text(other),
        })
        .unwrap_or_default();
    if let Some(Value::Object(d)) = fault.get("detail").or_else(|| fault.get("Detail")) {
        f.detail_name = d.keys().find(|k| !k.starts_with(['@', '#'])).cloned();
        f.detail = Some(Value::Object(d.clone()));
    }
    f
}

fn local_part(qname: &str) -> String {
    qname.split_once(':').map_or(qname, |(_, l)| l).trim().to_string()
}

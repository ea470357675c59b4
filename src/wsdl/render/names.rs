//! Namespace prefixes, XML names, escaping and `xsi:type` names for generated bodies.

use super::RenderError;
use crate::mapping::request::{is_xml_char, xml_escape};
use crate::soap::NS_XSI;
use crate::wsdl::model::Builtin;
use crate::wsdl::ns;
use serde_json::Value;

/// The prefixes of one generated root element: `ns1`, `ns2`… in order of first use; `xsi` and `xsd`
/// for the instance and schema namespaces. A default namespace is never declared, so unprefixed
/// names are always unqualified.
#[derive(Debug, Default)]
pub(super) struct Namespaces {
    bound: Vec<(String, String)>,
    counter: usize,
}

impl Namespaces {
    /// The prefix of a namespace, bound on first use.
    pub(super) fn prefix(&mut self, uri: &str) -> String {
        if let Some((_, p)) = self.bound.iter().find(|(u, _)| u == uri) {
            return p.clone();
        }
        let p = match uri {
            NS_XSI => "xsi".to_string(),
            ns::XSD => "xsd".to_string(),
            _ => {
                self.counter += 1;
                format!("ns{}", self.counter)
            }
        };
        self.bound.push((uri.to_string(), p.clone()));
        p
    }

    /// The `xmlns:` declarations of every prefix used.
    pub(super) fn declarations(&self) -> Result<String, RenderError> {
        let mut out = String::new();
        for (uri, p) in &self.bound {
            out.push_str(&format!(" xmlns:{p}=\"{}\"", escape_attr(uri)?));
        }
        Ok(out)
    }
}

/// Checks that a name is an XML NCName (no prefix), so it cannot break the markup.
pub(super) fn check_name(name: &str) -> Result<(), RenderError> {
    if crate::wsdl::validate::is_ncname(name) {
        Ok(())
    } else {
        Err(RenderError(format!(
            "`{}` is not a valid XML name",
            shorten(name)
        )))
    }
}

fn shorten(s: &str) -> String {
    s.chars().take(64).collect()
}

/// Rejects characters XML 1.0 cannot carry.
fn check_chars(s: &str) -> Result<(), RenderError> {
    match s.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(RenderError(format!(
            "the value contains a character that XML 1.0 does not allow (U+{:04X})",
            c as u32
        ))),
        None => Ok(()),
    }
}

/// Escapes element text.
pub(super) fn escape_text(s: &str) -> Result<String, RenderError> {
    check_chars(s)?;
    // `xml_escape` reserves a leading `[` for Handlebars' object marker: escape it apart.
    Ok(match s.strip_prefix('[') {
        Some(rest) => format!("[{}", xml_escape(rest)),
        None => xml_escape(s),
    })
}

/// Escapes an attribute value; tabs and newlines are kept as references so they survive
/// attribute-value normalisation.
pub(super) fn escape_attr(s: &str) -> Result<String, RenderError> {
    let text = escape_text(s)?;
    Ok(text.replace('\n', "&#10;").replace('\t', "&#9;"))
}

/// The XML Schema name of a built-in for `xsi:type` in rpc/encoded bodies (some are chosen by the
/// value: the gregorian types and untyped values).
pub(super) fn xsd_name(b: Builtin, v: &Value) -> Option<&'static str> {
    match b {
        Builtin::Gregorian => Some(gregorian_name(v.as_str()?)),
        Builtin::AnySimpleType | Builtin::AnyType => untyped_name(v),
        other => other.xsd_name(),
    }
}

/// gYear, gYearMonth, gMonth, gMonthDay or gDay, by the shape of the value.
fn gregorian_name(s: &str) -> &'static str {
    let core = strip_timezone(s);
    if core.starts_with("---") {
        "gDay"
    } else if core.starts_with("--") {
        if core.len() >= 7 {
            "gMonthDay"
        } else {
            "gMonth"
        }
    } else if core.trim_start_matches('-').contains('-') {
        "gYearMonth"
    } else {
        "gYear"
    }
}

/// A value without its time zone (`Z`, `+hh:mm`, `-hh:mm`).
fn strip_timezone(s: &str) -> &str {
    if let Some(head) = s.strip_suffix('Z') {
        return head;
    }
    let split = s.len().saturating_sub(6);
    match (s.get(..split), s.get(split..)) {
        (Some(head), Some(tail)) if is_offset(tail) => head,
        _ => s,
    }
}

fn is_offset(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 6
        && matches!(b.first(), Some(b'+' | b'-'))
        && b.get(3) == Some(&b':')
        && [1, 2, 4, 5]
            .iter()
            .all(|i| b.get(*i).is_some_and(u8::is_ascii_digit))
}

fn untyped_name(v: &Value) -> Option<&'static str> {
    Some(match v {
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => "int",
        Value::Number(n) if n.is_i64() => "long",
        Value::Number(n) if n.is_u64() => "unsignedLong",
        Value::Number(_) => "double",
        _ => return None,
    })
}

//! Template helpers for what SOAP needs: defaults, dates, numbers, strings, `jsonpath` look-ups.

use super::request::{INPUT_ERROR, LITERAL};
use crate::decimal::Decimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, RenderContext, RenderError, RenderErrorReason, ScopedJson,
};
use serde_json::Value;
use std::fmt::Write;

type HelperFn = fn(&[Value], &Value) -> Result<Value, String>;

/// Prefix of a helper error caused by the template (bad format string), not by request data.
const TEMPLATE_ERROR: &str = "template: ";

/// A value-returning helper; its result is escaped like any `{{value}}`.
struct ValueHelper(HelperFn);

impl HelperDef for ValueHelper {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        let params: Vec<Value> = h.params().iter().map(|p| p.value().clone()).collect();
        (self.0)(&params, ctx.data())
            .map(mark_literal)
            .map(ScopedJson::Derived)
            .map_err(|m| match m.strip_prefix(TEMPLATE_ERROR) {
                // The template itself is wrong (a 500, not the client's fault).
                Some(m) => RenderErrorReason::Other(format!("{}: {m}", h.name())).into(),
                None => RenderErrorReason::Other(format!("{INPUT_ERROR}{}: {m}", h.name())).into(),
            })
    }
}

/// A helper's string result is text even when it starts with `[` (see `request::xml_escape`).
fn mark_literal(v: Value) -> Value {
    match v {
        Value::String(s) if s.starts_with('[') => Value::String(format!("{LITERAL}{s}")),
        other => other,
    }
}

/// `{{cdata value}}`: a value written inside a template's `<![CDATA[ … ]]>` section exactly as
/// it is (no entity escaping, which CDATA would not undo), with any `]]>` in it split across two
/// sections (`]]]]><![CDATA[>`) so it cannot end the section. Templates get it automatically for
/// every `{{value}}` between `<![CDATA[` and `]]>` (see `request::cdata_values`).
struct CdataHelper;

impl HelperDef for CdataHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn handlebars::Output,
    ) -> handlebars::HelperResult {
        let Some(p) = h.param(0) else {
            return Err(RenderErrorReason::ParamNotFoundForIndex("cdata", 0).into());
        };
        if p.is_value_missing() {
            let path = p.relative_path().cloned();
            return Err(RenderErrorReason::MissingVariable(path).into());
        }
        let text = match p.value() {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            // Objects and arrays are not text: the same marker `xml_escape` leaves.
            _ => {
                return out
                    .write(&super::request::NOT_TEXT.to_string())
                    .map_err(Into::into)
            }
        };
        out.write(&text.replace("]]>", "]]]]><![CDATA[>"))
            .map_err(Into::into)
    }
}

/// Registers every helper on a registry.
pub fn register(r: &mut Handlebars<'static>) {
    r.register_helper("cdata", Box::new(CdataHelper));
    let helpers: [(&str, HelperFn); 9] = [
        ("default", default),
        ("format_date", format_date),
        ("format_number", format_number),
        ("jsonpath", jsonpath),
        ("upper", |p, _| {
            text(p, 0).map(|s| Value::String(s.to_uppercase()))
        }),
        ("lower", |p, _| {
            text(p, 0).map(|s| Value::String(s.to_lowercase()))
        }),
        ("trim", |p, _| {
            text(p, 0).map(|s| Value::String(s.trim().to_string()))
        }),
        ("join", join),
        ("xsd_boolean", xsd_boolean),
    ];
    for (name, f) in helpers {
        r.register_helper(name, Box::new(ValueHelper(f)));
    }
}

fn arg(p: &[Value], i: usize) -> Result<&Value, String> {
    p.get(i)
        .ok_or_else(|| format!("needs at least {} argument(s)", i + 1))
}

fn text(p: &[Value], i: usize) -> Result<String, String> {
    match arg(p, i)? {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("expects text, got {}", kind(other))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null or a missing field",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `{{default body.x "fallback"}}`: the value, or the fallback when it is missing or null.
fn default(p: &[Value], _: &Value) -> Result<Value, String> {
    let fallback = arg(p, 1)?;
    Ok(match arg(p, 0)? {
        Value::Null => fallback.clone(),
        v => v.clone(),
    })
}

/// `{{format_date body.when "%Y-%m-%dT%H:%M:%SZ"}}`: RFC 3339, `YYYY-MM-DD` or Unix seconds in.
fn format_date(p: &[Value], _: &Value) -> Result<Value, String> {
    let fmt = match p.get(1) {
        Some(Value::String(f)) => f.as_str(),
        None => "%Y-%m-%d",
        Some(other) => return Err(format!("format must be a string, got {}", kind(other))),
    };
    let when = parse_when(arg(p, 0)?)?;
    let mut out = String::new();
    write!(out, "{}", when.format(fmt)).map_err(|_| format!("{TEMPLATE_ERROR}bad date format `{fmt}`"))?;
    Ok(Value::String(out))
}

fn parse_when(v: &Value) -> Result<DateTime<Utc>, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or_else(|| "not a valid Unix time".to_string()),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").map(|d| d.and_utc()))
            .or_else(|_| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            })
            .map_err(|_| "the value is not a date (use RFC 3339 or YYYY-MM-DD)".to_string()),
        other => Err(format!("expects a date, got {}", kind(other))),
    }
}

/// `{{format_number body.amount 2}}`: fixed decimals from a number or numeric string, rounded
/// decimally (halves away from zero) from the written digits, never through `f64`.
fn format_number(p: &[Value], _: &Value) -> Result<Value, String> {
    let decimals = match p.get(1) {
        None => 2,
        Some(v) => v.as_u64().filter(|d| *d <= 18).ok_or("decimals must be 0..=18")? as u32,
    };
    let d = match arg(p, 0)? {
        Value::Number(n) => Decimal::parse(&n.to_string()).ok_or("not a finite number")?,
        Value::String(s) => {
            Decimal::parse(s.trim()).ok_or_else(|| "the value is not a number".to_string())?
        }
        other => return Err(format!("expects a number, got {}", kind(other))),
    };
    let text = d
        .to_fixed(decimals)
        .map_err(|_| "the number has too many digits".to_string())?;
    Ok(Value::String(text))
}

/// `{{jsonpath "$.body.lines[0].sku"}}`: one match gives the value, several an array, none null.
fn jsonpath(p: &[Value], root: &Value) -> Result<Value, String> {
    let Value::String(path) = arg(p, 0)? else {
        return Err("expects a JSONPath string".into());
    };
    let q = jsonpath_rust::parser::parse_json_path(path).map_err(|e| format!("bad JSONPath: {e}"))?;
    let found = jsonpath_rust::query::js_path_process(&q, root).map_err(|e| format!("{e}"))?;
    Ok(match found.len() {
        0 => Value::Null,
        1 => found[0].clone().val().clone(),
        _ => Value::Array(found.into_iter().map(|r| r.val().clone()).collect()),
    })
}

/// `{{join body.tags ","}}`.
fn join(p: &[Value], _: &Value) -> Result<Value, String> {
    let Value::Array(items) = arg(p, 0)? else {
        return Err(format!("expects an array, got {}", kind(arg(p, 0)?)));
    };
    let sep = match p.get(1) {
        Some(Value::String(s)) => s.as_str(),
        _ => ",",
    };
    let parts: Result<Vec<String>, String> = (0..items.len()).map(|i| text(items, i)).collect();
    Ok(Value::String(parts?.join(sep)))
}

/// `{{xsd_boolean body.flag}}`: `true`/`false` from a boolean or the strings XSD accepts.
fn xsd_boolean(p: &[Value], _: &Value) -> Result<Value, String> {
    let b = match arg(p, 0)? {
        Value::Bool(b) => *b,
        Value::String(s) if s == "true" || s == "1" => true,
        Value::String(s) if s == "false" || s == "0" => false,
        other => return Err(format!("expects a boolean, got {}", kind(other))),
    };
    Ok(Value::String(b.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hb() -> Handlebars<'static> {
        let mut r = Handlebars::new();
        r.set_strict_mode(true);
        register(&mut r);
        r
    }

    #[test]
    fn helpers_format_and_default() {
        let r = hb();
        let data = json!({"d": "2024-03-05", "n": "3.14159", "tags": ["a", "b"], "x": null});
        let out = r
            .render_template(
                "{{format_date d \"%d/%m/%Y\"}}|{{format_number n 2}}|{{join tags \";\"}}|{{default x \"none\"}}|{{default missing \"m\"}}|{{jsonpath \"$.tags[1]\"}}",
                &data,
            )
            .expect("renders");
        assert_eq!(out, "05/03/2024|3.14|a;b|none|m|b");
    }

    #[test]
    fn bad_input_is_an_input_error() {
        let r = hb();
        let err = r
            .render_template("{{format_date d}}", &json!({"d": "yesterday"}))
            .expect_err("bad date");
        assert!(err.to_string().contains(INPUT_ERROR), "{err}");
        let err = r
            .render_template("{{format_date d \"%Q\"}}", &json!({"d": "2024-01-01"}))
            .expect_err("bad format");
        assert!(err.to_string().contains("bad date format"), "{err}");
        assert!(!err.to_string().contains(INPUT_ERROR), "{err}");
    }
}

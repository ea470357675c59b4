//! Simple values: JSON kind by built-in type, XSD lexical forms, facets, and path/query coercion.

use super::lexforms;
use super::pattern;
use crate::decimal::{Decimal, Unfit};
use crate::wsdl::model::{Builtin, Schema, SimpleType, TypeDef, TypeRef};
use serde_json::{Number, Value};

/// Most enumeration values listed in a violation message.
const ENUM_SHOWN: usize = 10;

/// The text a scalar JSON value stands for in XML; `None` for null, objects and arrays.
pub(crate) fn lexical(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A JSON number's text in the XSD lexical form of `ty`, from the client's digits: integers without
/// exponent or fraction (`1e2` is `100`), decimals without exponent (`1e-7` is `0.0000001`); any
/// other type (doubles, floats, untyped) keeps the text as written. `Ok(None)`: already in form.
pub(crate) fn number_form(ty: Option<Builtin>, text: &str) -> Result<Option<String>, Unfit> {
    let plain_integer = text
        .strip_prefix('-')
        .unwrap_or(text)
        .bytes()
        .all(|b| b.is_ascii_digit());
    let d = match ty {
        Some(Builtin::Integer { .. }) if !plain_integer => Decimal::parse(text).map(|d| d.to_integer()),
        Some(Builtin::Decimal) if text.contains(['e', 'E']) => Decimal::parse(text).map(|d| d.to_plain()),
        _ => return Ok(None),
    };
    d.unwrap_or(Err(Unfit::TooLong)).map(Some)
}

/// Checks a JSON value against a simple type (a built-in, a restriction with facets, or a list).
pub(super) fn check(schema: &Schema, ty: TypeRef, v: &Value) -> Result<(), String> {
    match ty {
        TypeRef::Builtin(b) => builtin(b, v),
        TypeRef::Type(id) => match schema.types.get(id) {
            Some(TypeDef::Simple(st)) => simple(st, v),
            Some(TypeDef::Complex(_)) => Err("must be an object".into()),
            None => Ok(()),
        },
    }
}

fn simple(st: &SimpleType, v: &Value) -> Result<(), String> {
    if let Some(item) = st.list_of {
        return list(st, item, v);
    }
    let base = st.base.unwrap_or(Builtin::AnySimpleType);
    builtin(base, v)?;
    let Some(text) = lexical(v) else { return Ok(()) };
    enumeration(st, &text, v)?;
    if let Some(n) = length(base, &text) {
        lengths(st, n)?;
    }
    matches_pattern(st, &text)
}

/// `xs:list`: a string of whitespace-separated items, each of the item type.
fn list(st: &SimpleType, item: Builtin, v: &Value) -> Result<(), String> {
    let Value::String(s) = v else {
        return Err("must be a string of space-separated items".into());
    };
    for (i, token) in s.split_ascii_whitespace().enumerate() {
        lexical_item(item, token).map_err(|e| format!("item {} `{token}`: {e}", i + 1))?;
    }
    enumeration(st, s, v)?;
    lengths(st, s.split_ascii_whitespace().count())?;
    matches_pattern(st, s)
}

fn enumeration(st: &SimpleType, text: &str, v: &Value) -> Result<(), String> {
    if st.enumeration.is_empty() || st.enumeration.iter().any(|e| same_value(e, text, v)) {
        return Ok(());
    }
    let shown: Vec<String> = st
        .enumeration
        .iter()
        .take(ENUM_SHOWN)
        .map(|e| format!("`{e}`"))
        .collect();
    let more = if st.enumeration.len() > ENUM_SHOWN {
        ", ..."
    } else {
        ""
    };
    Err(format!("must be one of {}{more}", shown.join(", ")))
}

/// Enumeration values compare as text, numbers also by value (`1.0` matches `1`).
fn same_value(allowed: &str, text: &str, v: &Value) -> bool {
    if allowed == text {
        return true;
    }
    match (v.as_f64(), allowed.trim().parse::<f64>()) {
        (Some(a), Ok(b)) if v.is_number() => a == b,
        _ => false,
    }
}

fn lengths(st: &SimpleType, n: usize) -> Result<(), String> {
    match (st.min_length, st.max_length) {
        (Some(min), Some(max)) if min == max && n != min => Err(format!("must have length {min}")),
        (Some(min), _) if n < min => Err(format!("must have length at least {min}")),
        (_, Some(max)) if n > max => Err(format!("must have length at most {max}")),
        _ => Ok(()),
    }
}

fn matches_pattern(st: &SimpleType, text: &str) -> Result<(), String> {
    let Some(p) = &st.pattern else { return Ok(()) };
    match pattern::is_match(p, text) {
        Some(false) => Err(format!("must match the pattern `{p}`")),
        _ => Ok(()),
    }
}

/// The length a length facet measures: characters, or octets for binary types; none for the rest.
fn length(base: Builtin, text: &str) -> Option<usize> {
    match base {
        Builtin::String | Builtin::Token | Builtin::AnyUri | Builtin::QName | Builtin::AnySimpleType => {
            Some(text.chars().count())
        }
        Builtin::HexBinary => Some(text.len() / 2),
        Builtin::Base64Binary => Some(lexforms::base64_octets(text)),
        _ => None,
    }
}

/// Checks the JSON kind and lexical form of a built-in type.
fn builtin(b: Builtin, v: &Value) -> Result<(), String> {
    match b {
        Builtin::AnyType => Ok(()),
        Builtin::AnySimpleType => lexical(v)
            .map(|_| ())
            .ok_or_else(|| "must be a string, number or boolean".into()),
        Builtin::Boolean => v
            .is_boolean()
            .then_some(())
            .ok_or_else(|| "must be a boolean".into()),
        Builtin::Integer { min, max } => integer(v, min, max),
        Builtin::Decimal => decimal(v),
        Builtin::Float => float(v, f64::from(f32::MAX), "xs:float"),
        Builtin::Double => float(v, f64::MAX, "xs:double"),
        _ => match v {
            Value::String(s) => lexical_item(b, s),
            _ => Err("must be a string".into()),
        },
    }
}

/// The lexical form of one item of a string-valued built-in (also used for list items).
fn lexical_item(b: Builtin, s: &str) -> Result<(), String> {
    let ok = match b {
        Builtin::Date => lexforms::is_date(s),
        Builtin::DateTime => lexforms::is_date_time(s),
        Builtin::Time => lexforms::is_time(s),
        Builtin::Duration => lexforms::is_duration(s),
        Builtin::Gregorian => lexforms::is_gregorian(s),
        Builtin::Base64Binary => lexforms::is_base64(s),
        Builtin::HexBinary => lexforms::is_hex(s),
        Builtin::Boolean => matches!(s, "true" | "false" | "1" | "0"),
        Builtin::Integer { min, max } => return integer_text(s, min, max),
        Builtin::Decimal => is_decimal_lexical(s),
        Builtin::Float | Builtin::Double => is_float_lexical(s),
        _ => true,
    };
    ok.then_some(())
        .ok_or_else(|| format!("must be {}", lexforms::describe(b)))
}

/// Integers are JSON numbers with an integral value (`1e2` and `100.0` are 100), read from their
/// digits (never through `f64`); strings of digits are accepted only beyond `i64`.
fn integer(v: &Value, min: Option<i128>, max: Option<i128>) -> Result<(), String> {
    match v {
        Value::Number(n) => match Decimal::parse(&n.to_string()) {
            Some(d) if d.is_integer() => {
                d.to_integer().map_err(|_| too_long())?;
                decimal_bounds(&d, min, max)
            }
            _ => Err("must be an integer".into()),
        },
        Value::String(s) if s.parse::<i64>().is_ok() => Err("must be a JSON number (not a string)".into()),
        Value::String(s) => integer_text(s, min, max),
        _ => Err("must be an integer".into()),
    }
}

fn decimal_bounds(d: &Decimal, min: Option<i128>, max: Option<i128>) -> Result<(), String> {
    if min.is_some_and(|m| d.cmp_i128(m).is_lt()) {
        return Err(too_small(min));
    }
    if max.is_some_and(|m| d.cmp_i128(m).is_gt()) {
        return Err(too_large(max));
    }
    Ok(())
}

fn too_long() -> String {
    format!(
        "has more than {} digits written without an exponent",
        crate::decimal::MAX_PLAIN_DIGITS
    )
}

/// An integer in the XSD lexical form (optional sign, digits), within bounds.
fn integer_text(s: &str, min: Option<i128>, max: Option<i128>) -> Result<(), String> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be an integer".into());
    }
    match s.strip_prefix('+').unwrap_or(s).parse::<i128>() {
        Ok(i) => bounds(i, min, max),
        Err(_) if s.starts_with('-') && min.is_some() => Err(too_small(min)),
        Err(_) if !s.starts_with('-') && max.is_some() => Err(too_large(max)),
        Err(_) => Ok(()),
    }
}

fn bounds(i: i128, min: Option<i128>, max: Option<i128>) -> Result<(), String> {
    if min.is_some_and(|m| i < m) {
        return Err(too_small(min));
    }
    if max.is_some_and(|m| i > m) {
        return Err(too_large(max));
    }
    Ok(())
}

fn too_small(min: Option<i128>) -> String {
    format!("must be at least {}", min.unwrap_or_default())
}

fn too_large(max: Option<i128>) -> String {
    format!("must be at most {}", max.unwrap_or_default())
}

fn decimal(v: &Value) -> Result<(), String> {
    match v {
        Value::Number(n) => match Decimal::parse(&n.to_string()).map(|d| d.to_plain()) {
            Some(Ok(_)) => Ok(()),
            _ => Err(too_long()),
        },
        Value::String(s) if is_decimal_lexical(s) => Ok(()),
        _ => Err("must be a number or a string holding a decimal number".into()),
    }
}

/// Floats are JSON numbers within the type's range (the digits are sent as written); strings only
/// for what JSON cannot hold (INF, NaN).
fn float(v: &Value, max: f64, name: &str) -> Result<(), String> {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.abs() <= max => Ok(()),
            _ => Err(format!("is out of the range of {name}")),
        },
        Value::String(s) if is_float_lexical(s) => Ok(()),
        _ => Err("must be a number".into()),
    }
}

/// `xs:decimal`: optional sign, digits with an optional fraction.
pub(crate) fn is_decimal_lexical(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// `xs:double`/`xs:float`: a decimal with an optional exponent, `INF`, `-INF` or `NaN`.
pub(crate) fn is_float_lexical(t: &str) -> bool {
    if matches!(t, "INF" | "-INF" | "+INF" | "NaN") {
        return true;
    }
    let (mantissa, exponent) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (t, None),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let d = e.strip_prefix(['-', '+']).unwrap_or(e);
        !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit())
    });
    is_decimal_lexical(mantissa) && exponent_ok
}

/// Converts a path or query parameter to the JSON value of a simple type: integers, numbers and
/// booleans are parsed; decimals, big integers and every other type stay strings.
pub fn coerce_scalar(schema: &Schema, ty: TypeRef, raw: &str) -> Result<Value, String> {
    let Some(b) = schema.builtin_of(ty) else {
        return Err("cannot be given as a path or query parameter: the field has structure".into());
    };
    match b {
        Builtin::Integer { .. } => coerce_integer(raw),
        Builtin::Float | Builtin::Double => coerce_float(raw),
        Builtin::Decimal if is_decimal_lexical(raw) => Ok(Value::String(raw.to_string())),
        Builtin::Decimal => Err("must be a decimal number".into()),
        Builtin::Boolean => match raw {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err("must be true or false".into()),
        },
        _ => Ok(Value::String(raw.to_string())),
    }
}

/// A path or query integer keeps its digits: a JSON number when it is one (`+7` is `7`), a string
/// of digits otherwise is refused.
fn coerce_integer(raw: &str) -> Result<Value, String> {
    let t = raw.strip_prefix('+').unwrap_or(raw);
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("must be an integer".into());
    }
    // JSON has no leading zeros: `007` is the number 7, written `7`.
    let trimmed = digits.trim_start_matches('0');
    let canonical = match (t.starts_with('-'), trimmed.is_empty()) {
        (_, true) => "0".to_string(),
        (true, false) => format!("-{trimmed}"),
        (false, false) => trimmed.to_string(),
    };
    canonical
        .parse::<Number>()
        .map(Value::Number)
        .map_err(|_| "must be an integer".into())
}

/// A path or query float keeps its digits when they are a JSON number; `INF`, `NaN` and other XSD
/// spellings (`.5`, `1.`) stay strings of the lexical form.
fn coerce_float(raw: &str) -> Result<Value, String> {
    if !is_float_lexical(raw) {
        return Err("must be a number".into());
    }
    Ok(match raw.parse::<Number>() {
        Ok(n) if n.as_f64().is_some() => Value::Number(n),
        _ => Value::String(raw.to_string()),
    })
}

//! XSD lexical forms of the date/time, duration, gregorian and binary built-ins.

use crate::wsdl::model::Builtin;
use regex::Regex;
use std::sync::LazyLock;

const YEAR: &str = r"-?(?:[1-9][0-9]{3,}|0[0-9]{3})";
const TZ: &str = r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?";
const TIME: &str = r"(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?|24:00:00(?:\.0+)?)";

/// A constant pattern, anchored (`None` only if a constant were wrong: the tests would catch it).
fn anchored(body: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{body})$")).ok()
}

fn is(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|r| r.is_match(s))
}

static DATE: LazyLock<Option<Regex>> =
    LazyLock::new(|| anchored(&format!(r"({YEAR})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]){TZ}")));
static DATE_TIME: LazyLock<Option<Regex>> = LazyLock::new(|| {
    anchored(&format!(
        r"({YEAR})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T{TIME}{TZ}"
    ))
});
static TIME_OF_DAY: LazyLock<Option<Regex>> = LazyLock::new(|| anchored(&format!("{TIME}{TZ}")));
static DURATION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    anchored(
        r"-?P(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?(?:T(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?",
    )
});
static GREGORIAN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let forms = [
        format!("{YEAR}{TZ}"),
        format!("{YEAR}-(?:0[1-9]|1[0-2]){TZ}"),
        format!("--(?:0[1-9]|1[0-2])(?:--)?{TZ}"),
        format!("--(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01]){TZ}"),
        format!("---(?:0[1-9]|[12][0-9]|3[01]){TZ}"),
    ];
    anchored(&forms.join("|"))
});

/// `xs:date`, also checking the day exists in its month.
pub(super) fn is_date(s: &str) -> bool {
    DATE.as_ref()
        .and_then(|r| r.captures(s))
        .is_some_and(|c| day_exists(c.get(1), c.get(2), c.get(3)))
}

/// `xs:dateTime`.
pub(super) fn is_date_time(s: &str) -> bool {
    DATE_TIME
        .as_ref()
        .and_then(|r| r.captures(s))
        .is_some_and(|c| day_exists(c.get(1), c.get(2), c.get(3)))
}

/// `xs:time`.
pub(super) fn is_time(s: &str) -> bool {
    is(&TIME_OF_DAY, s)
}

/// `xs:duration`: at least one component, and one after `T` when there is a `T`.
pub(super) fn is_duration(s: &str) -> bool {
    is(&DURATION, s) && !s.ends_with('P') && !s.ends_with('T')
}

/// `xs:gYear`, `gYearMonth`, `gMonth`, `gMonthDay` or `gDay`.
pub(super) fn is_gregorian(s: &str) -> bool {
    is(&GREGORIAN, s)
}

fn day_exists(y: Option<regex::Match>, m: Option<regex::Match>, d: Option<regex::Match>) -> bool {
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return false;
    };
    let (Ok(y), Ok(m), Ok(d)) = (
        y.as_str().parse::<i32>(),
        m.as_str().parse::<u32>(),
        d.as_str().parse::<u32>(),
    ) else {
        // A year beyond i32: only the form is checked.
        return true;
    };
    // XSD 1.0 has no year 0: -0001 is the year the proleptic calendar numbers 0.
    let year = if y < 0 { y + 1 } else { y };
    if !(-200_000..=200_000).contains(&year) {
        return true;
    }
    chrono::NaiveDate::from_ymd_opt(year, m, d).is_some()
}

fn xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `xs:base64Binary`: the base64 alphabet in groups of four, `=` padding only at the end.
pub(super) fn is_base64(s: &str) -> bool {
    let chars: Vec<char> = s.chars().filter(|c| !xml_space(*c)).collect();
    if chars.len() % 4 != 0 {
        return false;
    }
    let pad = chars.iter().rev().take_while(|c| **c == '=').count();
    let body = chars.len() - pad;
    pad <= 2
        && chars
            .iter()
            .take(body)
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/'))
}

/// The number of octets a base64 text decodes to.
pub(super) fn base64_octets(s: &str) -> usize {
    let chars = s.chars().filter(|c| !xml_space(*c)).count();
    let pad = s
        .chars()
        .rev()
        .filter(|c| !xml_space(*c))
        .take_while(|c| *c == '=')
        .count();
    (chars / 4 * 3).saturating_sub(pad)
}

/// `xs:hexBinary`: an even number of hex digits.
pub(super) fn is_hex(s: &str) -> bool {
    s.len() % 2 == 0 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How a violation message describes the lexical form of a built-in.
pub(super) fn describe(b: Builtin) -> &'static str {
    match b {
        Builtin::Date => "a date like 2024-01-31 (optional time zone)",
        Builtin::DateTime => "a date-time like 2024-01-31T13:45:00Z",
        Builtin::Time => "a time like 13:45:00 (optional time zone)",
        Builtin::Duration => "a duration like P1DT2H or PT30M",
        Builtin::Gregorian => "a date part like 2024, 2024-01, --01, --01-31 or ---31",
        Builtin::Base64Binary => "base64 text",
        Builtin::HexBinary => "hexadecimal text with an even number of digits",
        Builtin::Boolean => "true, false, 1 or 0",
        Builtin::Decimal => "a decimal number",
        Builtin::Float | Builtin::Double => "a number",
        _ => "text",
    }
}

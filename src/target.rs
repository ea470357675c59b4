//! The request target (path and query), decoded once, strictly, by the one percent-decoder of the
//! gateway: routing, injection inspection, path/query parameters, templates and the access-token
//! check all read what these functions return (docs/threat-model.md group D, README "Routing: how
//! the request target is read").
//!
//! Rules:
//! - every `%` starts an escape of exactly two hexadecimal digits (`%+9`, `%zz`, a final `%4` are
//!   refused, never passed through as text nor read leniently as a number);
//! - the decoded bytes must be UTF-8 (never replaced by U+FFFD);
//! - a path is split on its raw `/` first, then each segment is decoded: `%2F` is a character of
//!   a segment, never a separator; empty segments (`//`, a trailing `/`) and dot segments (`.`,
//!   `..`, also encoded as `%2e`) name no route;
//! - in the query, pairs are split on `&` and `=` first, then `+` is a space and the rest is
//!   decoded as above (`application/x-www-form-urlencoded`).
//!
//! The `percent-encoding` and `form_urlencoded` crates are not used: their decoders pass a
//! malformed escape through as text and replace invalid UTF-8, so strictness would need a
//! second pass over the same bytes; this one pass both checks and decodes.

use std::borrow::Cow;

/// Why a component of the target cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadEncoding {
    /// A `%` not followed by two hexadecimal digits.
    Escape,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
}

impl BadEncoding {
    /// The reason, for the problem's `detail` (never the input).
    pub fn why(self) -> &'static str {
        match self {
            BadEncoding::Escape => "a `%` is not followed by two hexadecimal digits",
            BadEncoding::NotUtf8 => "the decoded bytes are not UTF-8",
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Strict percent-decoding (RFC 3986 §2.1): `%XX` with two hex digits, UTF-8 result.
pub fn percent_decode(s: &str) -> Result<Cow<'_, str>, BadEncoding> {
    if !s.contains('%') {
        return Ok(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = b.get(i + 1).copied().and_then(hex);
            let lo = b.get(i + 2).copied().and_then(hex);
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(BadEncoding::Escape);
            };
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| BadEncoding::NotUtf8)
}

/// `application/x-www-form-urlencoded` decoding of one name or value: `+` is a space, then
/// [`percent_decode`] (so `%2B` is a `+`).
pub fn form_decode(s: &str) -> Result<String, BadEncoding> {
    if s.contains('+') {
        percent_decode(&s.replace('+', " ")).map(Cow::into_owned)
    } else {
        percent_decode(s).map(Cow::into_owned)
    }
}

/// The query's pairs in order: split on `&` (empty pieces skipped), then on the first `=` (a
/// piece without one is a name with an empty value), each side [`form_decode`]d.
pub fn decode_query(q: &str) -> Result<Vec<(String, String)>, BadEncoding> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((form_decode(k)?, form_decode(v)?))
        })
        .collect()
}

/// Why a path names no route, or cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// A segment's percent-encoding is malformed (400).
    Encoding(BadEncoding),
    /// Not `/`-rooted, an empty segment (`//`, trailing `/`) or a dot segment (404: no route is
    /// named by such a path, and none is guessed by normalising it).
    NoRoute,
}

/// The decoded segments of a request path. `/` is zero segments; `/a/b` is `["a", "b"]`. Every
/// segment is decoded before the shape is judged, so a malformed escape is always 400.
pub fn path_segments(path: &str) -> Result<Vec<String>, PathError> {
    let rest = path.strip_prefix('/').ok_or(PathError::NoRoute)?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let segments = rest
        .split('/')
        .map(|s| percent_decode(s).map(Cow::into_owned))
        .collect::<Result<Vec<_>, _>>()
        .map_err(PathError::Encoding)?;
    if segments.iter().any(|s| s.is_empty() || s == "." || s == "..") {
        return Err(PathError::NoRoute);
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d1_malformed_escapes_are_refused() {
        for bad in [
            "%+9",
            "1%+9UNION",
            "%zz",
            "%4",
            "a%",
            "%%41",
            "%-1",
            "%4g",
            "% 9",
            "%é1",
        ] {
            assert_eq!(percent_decode(bad), Err(BadEncoding::Escape), "{bad}");
        }
        // `from_str_radix` reads `+9` as 9; this decoder never does.
        assert_eq!(form_decode("%+9"), Err(BadEncoding::Escape));
        assert_eq!(decode_query("a=1&b=%+9"), Err(BadEncoding::Escape));
        assert_eq!(decode_query("%zz=1"), Err(BadEncoding::Escape));
    }

    #[test]
    fn d1_well_formed_escapes_decode() {
        assert_eq!(percent_decode("a%20b%3Cscript%3E").as_deref(), Ok("a b<script>"));
        assert_eq!(percent_decode("%09UNION").as_deref(), Ok("\tUNION"));
        assert_eq!(percent_decode("%C3%A9%c3%a9").as_deref(), Ok("éé"));
        assert_eq!(percent_decode("plain+text").as_deref(), Ok("plain+text"));
        assert!(matches!(percent_decode("plain"), Ok(Cow::Borrowed("plain"))));
    }

    #[test]
    fn d3_decoded_bytes_must_be_utf8() {
        for bad in ["%ff", "%C3%28", "a%80", "%ED%A0%80"] {
            assert_eq!(percent_decode(bad), Err(BadEncoding::NotUtf8), "{bad}");
        }
        assert_eq!(decode_query("q=%ff"), Err(BadEncoding::NotUtf8));
    }

    #[test]
    fn d1_query_is_form_decoded_in_order() {
        let q = decode_query("a=1&&b=x+y%2Bz&c&d=%3D=&a=2").expect("valid");
        let pairs: Vec<(&str, &str)> = q.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [("a", "1"), ("b", "x y+z"), ("c", ""), ("d", "=="), ("a", "2")]
        );
        assert_eq!(decode_query(""), Ok(vec![]));
    }

    #[test]
    fn d4_d5_empty_and_dot_segments_name_no_route() {
        for bad in [
            "",
            "items",
            "//",
            "/items//orders",
            "//items///7//",
            "/items/7/",
            "/items/./7",
            "/items/../items/7",
            "/items/%2e%2e/x",
            "/items/%2E",
            "/items/.%2e",
        ] {
            assert_eq!(path_segments(bad), Err(PathError::NoRoute), "{bad}");
        }
        assert_eq!(path_segments("/"), Ok(vec![]));
        assert_eq!(path_segments("/items/7"), Ok(vec!["items".into(), "7".into()]));
        assert_eq!(
            path_segments("/items/.7/..."),
            Ok(vec!["items".into(), ".7".into(), "...".into()])
        );
    }

    #[test]
    fn d6_encoded_slash_stays_inside_its_segment() {
        assert_eq!(
            path_segments("/items/a%2Forders"),
            Ok(vec!["items".into(), "a/orders".into()])
        );
    }

    #[test]
    fn d1_path_escapes_are_judged_before_the_shape() {
        assert_eq!(
            path_segments("/items//%zz"),
            Err(PathError::Encoding(BadEncoding::Escape))
        );
        assert_eq!(
            path_segments("/a/%ff/"),
            Err(PathError::Encoding(BadEncoding::NotUtf8))
        );
    }
}

//! The JSON limit checker: one non-recursive pass over the body bytes that enforces strict
//! RFC 8259 syntax and the structure limits of THREATS.md (J1–J3, J6, J7, J10) while building the
//! `serde_json::Value` the pipeline uses. Nesting lives on an explicit stack whose height is the
//! depth limit, so depth 10,000 (or 10,000,000) is an error, never a stack overflow.

use serde_json::{Map, Number, Value};

/// The highest configurable depth: later phases (templates, validation, dropping the `Value`)
/// recurse over the document, so the checker keeps it shallow enough for any worker stack.
pub const MAX_DEPTH: usize = 128;

/// Structure limits on request JSON (defaults from THREATS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Nesting depth of arrays and objects (a top-level `[]` is depth 1).
    pub depth: usize,
    /// Members of one object.
    pub entries: usize,
    /// Elements of one array.
    pub array: usize,
    /// Decoded UTF-8 bytes of one string value.
    pub string: usize,
    /// Decoded UTF-8 bytes of one object key.
    pub key: usize,
    /// Characters of one number (sign, digits, point and exponent). Numbers keep their written
    /// digits through the gateway, so this bounds what one number can cost downstream.
    pub number: usize,
}

impl Default for JsonLimits {
    fn default() -> Self {
        JsonLimits {
            depth: 32,
            entries: 256,
            array: 1000,
            string: 16 * 1024,
            key: 128,
            number: 100,
        }
    }
}

/// Why a body was refused. Messages name positions and limits, never the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    Syntax(String),
    Depth { limit: usize, at: usize },
    Entries { limit: usize, at: usize },
    Array { limit: usize, at: usize },
    String { limit: usize, at: usize },
    Key { limit: usize, at: usize },
    Number { limit: usize, at: usize },
    DupKey { at: usize },
}

impl JsonError {
    /// The stable problem `code`.
    pub fn code(&self) -> &'static str {
        match self {
            JsonError::Syntax(_) => "JSON_SYNTAX",
            JsonError::Depth { .. } => "JSON_DEPTH",
            JsonError::Entries { .. } => "JSON_ENTRIES",
            JsonError::Array { .. } => "JSON_ARRAY",
            JsonError::String { .. } => "JSON_STRING",
            JsonError::Key { .. } => "JSON_KEY",
            JsonError::Number { .. } => "JSON_NUMBER",
            JsonError::DupKey { .. } => "JSON_DUP_KEY",
        }
    }

    /// Text safe for the client (positions and limits only).
    pub fn message(&self) -> String {
        match self {
            JsonError::Syntax(m) => m.clone(),
            JsonError::Depth { limit, at } => {
                format!("nesting deeper than {limit} levels at byte {at}")
            }
            JsonError::Entries { limit, at } => {
                format!("an object has more than {limit} members (byte {at})")
            }
            JsonError::Array { limit, at } => {
                format!("an array has more than {limit} elements (byte {at})")
            }
            JsonError::String { limit, at } => {
                format!("a string is longer than {limit} bytes (byte {at})")
            }
            JsonError::Key { limit, at } => {
                format!("an object key is longer than {limit} bytes (byte {at})")
            }
            JsonError::Number { limit, at } => {
                format!("a number is longer than {limit} characters (byte {at})")
            }
            JsonError::DupKey { at } => format!("an object repeats a key (byte {at})"),
        }
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

enum Frame {
    Array(Vec<Value>),
    /// The object so far and the key whose value is being parsed.
    Object(Map<String, Value>, String),
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    lim: &'a JsonLimits,
}

fn syntax(msg: &str, at: usize) -> JsonError {
    JsonError::Syntax(format!("{msg} at byte {at}"))
}

/// Parses one JSON value under `lim`. The body must be the value alone (whitespace around it is
/// allowed; a BOM, trailing bytes or an empty body are syntax errors).
pub fn parse(input: &[u8], lim: &JsonLimits) -> Result<Value, JsonError> {
    let text = std::str::from_utf8(input).map_err(|e| syntax("invalid UTF-8", e.valid_up_to()))?;
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
        lim,
    };
    let mut stack: Vec<Frame> = Vec::new();
    'value: loop {
        s.ws();
        let start = s.i;
        let mut v = match s.peek() {
            None if stack.is_empty() && start == 0 => {
                return Err(JsonError::Syntax("the body is empty".into()))
            }
            None => return Err(syntax("unexpected end of input", start)),
            Some(open @ (b'{' | b'[')) => {
                if stack.len() >= lim.depth {
                    return Err(JsonError::Depth {
                        limit: lim.depth,
                        at: start,
                    });
                }
                let object = open == b'{';
                s.i += 1;
                s.ws();
                if s.peek() == Some(if object { b'}' } else { b']' }) {
                    s.i += 1;
                    if object {
                        Value::Object(Map::new())
                    } else {
                        Value::Array(Vec::new())
                    }
                } else {
                    let frame = if object {
                        Frame::Object(Map::new(), s.key()?)
                    } else {
                        Frame::Array(Vec::new())
                    };
                    stack.push(frame);
                    continue 'value;
                }
            }
            Some(b'"') => Value::String(s.string(lim.string, false)?),
            Some(b't') => s.literal(b"true", Value::Bool(true))?,
            Some(b'f') => s.literal(b"false", Value::Bool(false))?,
            Some(b'n') => s.literal(b"null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => s.number()?,
            Some(_) => return Err(syntax("expected a JSON value", start)),
        };
        // Attach the finished value to its parent; close every container that ends here.
        loop {
            match stack.last_mut() {
                None => {
                    s.ws();
                    if s.i != s.b.len() {
                        return Err(syntax("unexpected data after the JSON value", s.i));
                    }
                    return Ok(v);
                }
                Some(Frame::Array(items)) => {
                    if items.len() >= lim.array {
                        return Err(JsonError::Array {
                            limit: lim.array,
                            at: start,
                        });
                    }
                    items.push(v);
                    s.ws();
                    match s.peek() {
                        Some(b',') => {
                            s.i += 1;
                            continue 'value;
                        }
                        Some(b']') => {
                            s.i += 1;
                            let Some(Frame::Array(items)) = stack.pop() else {
                                return Err(syntax("internal parser state", s.i));
                            };
                            v = Value::Array(items);
                        }
                        _ => return Err(syntax("expected `,` or `]`", s.i)),
                    }
                }
                Some(Frame::Object(map, key)) => {
                    if map.len() >= lim.entries {
                        return Err(JsonError::Entries {
                            limit: lim.entries,
                            at: start,
                        });
                    }
                    map.insert(std::mem::take(key), v);
                    s.ws();
                    match s.peek() {
                        Some(b',') => {
                            s.i += 1;
                            s.ws();
                            let at = s.i;
                            let k = s.key()?;
                            if map.contains_key(&k) {
                                return Err(JsonError::DupKey { at });
                            }
                            *key = k;
                            continue 'value;
                        }
                        Some(b'}') => {
                            s.i += 1;
                            let Some(Frame::Object(map, _)) = stack.pop() else {
                                return Err(syntax("internal parser state", s.i));
                            };
                            v = Value::Object(map);
                        }
                        _ => return Err(syntax("expected `,` or `}`", s.i)),
                    }
                }
            }
        }
    }
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// RFC 8259 whitespace only (space, tab, LF, CR).
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &[u8], v: Value) -> Result<Value, JsonError> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(syntax("invalid literal", self.i))
        }
    }

    /// An object key followed by `:`.
    fn key(&mut self) -> Result<String, JsonError> {
        if self.peek() != Some(b'"') {
            return Err(syntax("expected a string key", self.i));
        }
        let k = self.string(self.lim.key, true)?;
        self.ws();
        if self.peek() != Some(b':') {
            return Err(syntax("expected `:`", self.i));
        }
        self.i += 1;
        Ok(k)
    }

    fn too_long(&self, limit: usize, is_key: bool, at: usize) -> JsonError {
        if is_key {
            JsonError::Key { limit, at }
        } else {
            JsonError::String { limit, at }
        }
    }

    /// A string starting at `"`; its decoded length must stay within `limit` bytes.
    fn string(&mut self, limit: usize, is_key: bool) -> Result<String, JsonError> {
        let at = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let run = self.i;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            if self.i > run {
                if out.len() + (self.i - run) > limit {
                    return Err(self.too_long(limit, is_key, at));
                }
                // The input is valid UTF-8 and the run stops at ASCII bytes only.
                let piece =
                    std::str::from_utf8(&self.b[run..self.i]).map_err(|_| syntax("invalid UTF-8", run))?;
                out.push_str(piece);
            }
            match self.peek() {
                None => return Err(syntax("unterminated string", at)),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let c = self.escape()?;
                    if out.len() + c.len_utf8() > limit {
                        return Err(self.too_long(limit, is_key, at));
                    }
                    out.push(c);
                }
                Some(_) => return Err(syntax("control character in a string", self.i)),
            }
        }
    }

    /// One escape sequence starting at `\`.
    fn escape(&mut self) -> Result<char, JsonError> {
        let at = self.i;
        self.i += 1;
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.i += 1;
                let hi = self.hex4()?;
                return match hi {
                    0xD800..=0xDBFF => {
                        if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                            return Err(syntax("lone surrogate escape", at));
                        }
                        self.i += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(syntax("lone surrogate escape", at));
                        }
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        char::from_u32(cp).ok_or_else(|| syntax("invalid escape", at))
                    }
                    0xDC00..=0xDFFF => Err(syntax("lone surrogate escape", at)),
                    _ => char::from_u32(hi).ok_or_else(|| syntax("invalid escape", at)),
                };
            }
            _ => return Err(syntax("invalid escape", at)),
        };
        self.i += 1;
        Ok(c)
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let at = self.i;
        let digits = self
            .b
            .get(at..at + 4)
            .ok_or_else(|| syntax("truncated \\u escape", at))?;
        let mut v = 0u32;
        for d in digits {
            let n = (*d as char)
                .to_digit(16)
                .ok_or_else(|| syntax("invalid \\u escape", at))?;
            v = v * 16 + n;
        }
        self.i += 4;
        Ok(v)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as written (never rounded).
    fn number(&mut self) -> Result<Value, JsonError> {
        let at = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(syntax("invalid number", at)),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(syntax("invalid number", at));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(syntax("invalid number", at));
            }
            self.digits();
        }
        if self.i - at > self.lim.number {
            return Err(JsonError::Number {
                limit: self.lim.number,
                at,
            });
        }
        let text = std::str::from_utf8(&self.b[at..self.i]).map_err(|_| syntax("invalid number", at))?;
        // With serde_json's `arbitrary_precision` the number keeps these exact characters.
        text.parse::<Number>()
            .map(Value::Number)
            .map_err(|_| syntax("number out of range", at))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Result<Value, JsonError> {
        parse(s.as_bytes(), &JsonLimits::default())
    }

    fn code(s: &[u8]) -> &'static str {
        match parse(s, &JsonLimits::default()) {
            Ok(_) => "OK",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn parses_like_serde_json() {
        let docs = [
            r#"{"a":[1,-2,3.5,1e3,-0,18446744073709551615,-9223372036854775808,123456789012345678901234567890],"b":{"c":null,"d":true,"e":false},"s":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 é"}"#,
            " [ ] ",
            "{}",
            "0",
            "\"\"",
            "[[[]],{},[{}]]",
            "1.5E+10",
        ];
        for d in docs {
            let ours = p(d).unwrap_or_else(|e| panic!("{d}: {e}"));
            let theirs: Value = serde_json::from_str(d).expect("serde");
            assert_eq!(ours, theirs, "{d}");
        }
    }

    #[test]
    fn v3_long_numbers_are_json_number_and_others_keep_their_characters() {
        for n in [
            "99999999999999999999",
            "12345678901234567.5",
            "0.0000001",
            "-0",
            "1.50",
            "1e-7",
        ] {
            let v = p(&format!("[{n}]")).expect("parses");
            assert_eq!(v[0].to_string(), n);
        }
        // serde_json writes a positive exponent with its sign: the same digits.
        assert_eq!(p("[1e400]").expect("parses")[0].to_string(), "1e+400");
        let long = format!("[{}]", "9".repeat(101));
        assert_eq!(code(long.as_bytes()), "JSON_NUMBER");
        let fits = format!("[{}]", "9".repeat(100));
        assert_eq!(code(fits.as_bytes()), "OK");
    }

    #[test]
    fn depth_33_and_10000_are_json_depth_without_overflow() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(code(deep(32).as_bytes()), "OK");
        assert_eq!(code(deep(33).as_bytes()), "JSON_DEPTH");
        assert_eq!(code(deep(10_000).as_bytes()), "JSON_DEPTH");
        let huge = "[".repeat(1_000_000);
        assert_eq!(code(huge.as_bytes()), "JSON_DEPTH");
        let objs = "{\"a\":".repeat(40);
        assert_eq!(code(objs.as_bytes()), "JSON_DEPTH");
        let lim = JsonLimits {
            depth: MAX_DEPTH,
            ..JsonLimits::default()
        };
        assert!(parse(deep(MAX_DEPTH).as_bytes(), &lim).is_ok());
        assert_eq!(
            parse(deep(10_000).as_bytes(), &lim).map_err(|e| e.code()),
            Err("JSON_DEPTH")
        );
    }

    #[test]
    fn entries_and_array_limits() {
        let obj = |n: usize| {
            let members: Vec<String> = (0..n).map(|i| format!("\"k{i}\":{i}")).collect();
            format!("{{{}}}", members.join(","))
        };
        assert_eq!(code(obj(256).as_bytes()), "OK");
        assert_eq!(code(obj(257).as_bytes()), "JSON_ENTRIES");
        let arr = |n: usize| format!("[{}]", vec!["0"; n].join(","));
        assert_eq!(code(arr(1000).as_bytes()), "OK");
        assert_eq!(code(arr(1001).as_bytes()), "JSON_ARRAY");
    }

    #[test]
    fn string_and_key_limits_count_decoded_bytes() {
        let s = |n: usize| format!("\"{}\"", "a".repeat(n));
        assert_eq!(code(s(16 * 1024).as_bytes()), "OK");
        assert_eq!(code(s(16 * 1024 + 1).as_bytes()), "JSON_STRING");
        // 6 input bytes per char, 1 decoded byte: 16 KiB decoded is fine.
        let escaped = format!("\"{}\"", "\\u0041".repeat(16 * 1024));
        assert_eq!(code(escaped.as_bytes()), "OK");
        let k = |n: usize| format!("{{\"{}\":1}}", "k".repeat(n));
        assert_eq!(code(k(128).as_bytes()), "OK");
        assert_eq!(code(k(129).as_bytes()), "JSON_KEY");
        // A 129-byte string value is fine; only keys have the 128 B limit.
        assert_eq!(code(format!("{{\"a\":{}}}", s(129)).as_bytes()), "OK");
    }

    #[test]
    fn duplicate_keys_are_refused() {
        assert_eq!(code(br#"{"a":1,"a":2}"#), "JSON_DUP_KEY");
        assert_eq!(code(br#"{"a":1,"b":{"a":2}}"#), "OK");
        // Same key once escaped: still a duplicate after decoding.
        assert_eq!(code(br#"{"a":1,"\u0061":2}"#), "JSON_DUP_KEY");
    }

    #[test]
    fn strict_syntax() {
        for bad in [
            &b"\xff"[..],
            b"\"\xc3\x28\"",
            br#""\ud800""#,
            br#""\udc00x""#,
            br#""\ud800\u0041""#,
            b"\xef\xbb\xbf{}",
            b"{} x",
            b"{}{}",
            b"",
            b"   ",
            b"[1,]",
            b"{\"a\":1,}",
            b"01",
            b"1.",
            b".5",
            b"+1",
            b"1e",
            b"NaN",
            b"Infinity",
            b"'a'",
            b"\"a\tb\"",
            b"\"\\x\"",
            b"\"\\u12\"",
            b"[1 2]",
            b"{\"a\" 1}",
            b"{a:1}",
            b"tru",
            b"nul",
            b"\x0c[]",
            b"[\"unterminated",
            b"{\"a\":",
        ] {
            assert_eq!(code(bad), "JSON_SYNTAX", "{:?}", String::from_utf8_lossy(bad));
            assert!(serde_json::from_slice::<Value>(bad).is_err());
        }
    }

    #[test]
    fn messages_never_echo_input() {
        let e = p(r#"{"secret-key":1,"secret-key":2}"#).expect_err("dup");
        assert!(!e.message().contains("secret"));
        let e = p(r#"{"a": tru3-secret}"#).expect_err("syntax");
        assert!(!e.message().contains("secret"));
    }

    #[test]
    fn values_are_built_in_one_pass() {
        assert_eq!(
            p(r#"{"x":[{"y":"z"}],"n":1}"#).ok(),
            Some(json!({"x":[{"y":"z"}],"n":1}))
        );
    }
}

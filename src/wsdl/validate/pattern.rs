//! XSD `pattern` facets: translated to the `regex` crate where the meaning is kept, compiled once.
//!
//! XSD regular expressions are implicitly anchored, have no `^`/`$` anchors (they are literals),
//! and add `\i`, `\c`, class subtraction `[a-z-[aeiou]]` and Unicode blocks `\p{IsBasicLatin}`.
//! What cannot be translated faithfully (blocks, `\I`, `\C`, `(?`) is not checked at all: a pattern
//! check must never reject a value the schema accepts.

use regex::{Regex, RegexBuilder};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// Compiled patterns kept (the cache is emptied when it fills up).
const CACHE_ENTRIES: usize = 4096;
/// Compiled size limit of one pattern.
const SIZE_LIMIT: usize = 1 << 20;

static CACHE: LazyLock<Mutex<HashMap<String, Option<Regex>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Whether `text` matches the XSD pattern; `None` when the pattern cannot be checked.
pub(super) fn is_match(xsd: &str, text: &str) -> Option<bool> {
    compiled(xsd).map(|re| re.is_match(text))
}

fn compiled(xsd: &str) -> Option<Regex> {
    if let Some(hit) = CACHE.lock().ok().and_then(|c| c.get(xsd).cloned()) {
        return hit;
    }
    let re = translate(xsd).and_then(|body| {
        RegexBuilder::new(&format!("^(?:{body})$"))
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .ok()
    });
    if let Ok(mut cache) = CACHE.lock() {
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(xsd.to_string(), re.clone());
    }
    re
}

/// Translates an XSD regular expression to `regex` syntax; `None` when it cannot be done faithfully.
pub(super) fn translate(xsd: &str) -> Option<String> {
    let mut out = String::with_capacity(xsd.len() + 16);
    let mut chars = xsd.chars().peekable();
    let mut depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str(&escape(&mut chars)?),
            '[' if depth == 0 => {
                depth = 1;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            _ if depth == 0 => out.push_str(&outside(c, chars.peek().copied())?),
            '-' if chars.peek() == Some(&'[') => {
                chars.next();
                depth += 1;
                out.push_str("--[");
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
            }
            ']' => {
                depth -= 1;
                out.push(']');
            }
            '[' | '&' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '-' if chars.peek() == Some(&'-') => out.push_str("\\-"),
            c => out.push(c),
        }
    }
    (depth == 0).then_some(out)
}

/// A character outside a class.
fn outside(c: char, next: Option<char>) -> Option<String> {
    Some(match c {
        '.' => r"[^\n\r]".into(),
        '^' => r"\^".into(),
        '$' => r"\$".into(),
        '(' if next == Some('?') => return None,
        c => c.to_string(),
    })
}

/// An escape; multi-character escapes become classes (nested classes are fine in `regex`).
fn escape(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<String> {
    let c = chars.next()?;
    Some(match c {
        'n' => r"\n".into(),
        'r' => r"\r".into(),
        't' => r"\t".into(),
        's' => r"[ \t\n\r]".into(),
        'S' => r"[^ \t\n\r]".into(),
        'd' => r"\p{Nd}".into(),
        'D' => r"\P{Nd}".into(),
        'w' => r"[^\p{P}\p{Z}\p{C}]".into(),
        'W' => r"[\p{P}\p{Z}\p{C}]".into(),
        'i' => r"[\p{L}_:]".into(),
        'c' => r"[\p{L}\p{M}\p{N}._:\-\x{B7}]".into(),
        'p' | 'P' => property(c, chars)?,
        '\\' | '|' | '.' | '-' | '^' | '?' | '*' | '+' | '{' | '}' | '(' | ')' | '[' | ']' => {
            format!("\\{c}")
        }
        _ => return None,
    })
}

/// `\p{Name}`: general categories pass through; Unicode blocks (`IsName`) are not supported.
fn property(kind: char, chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<String> {
    if chars.next()? != '{' {
        return None;
    }
    let name: String = chars.by_ref().take_while(|c| *c != '}').collect();
    let known = !name.is_empty() && !name.starts_with("Is") && name.chars().all(|c| c.is_ascii_alphabetic());
    known.then(|| format!("\\{kind}{{{name}}}"))
}

//! Names `soapgate import` derives: kebab-case route ids, UPPER_SNAKE problem codes, service names.

use std::collections::HashSet;

/// `GetCustomer` -> `get-customer`, `getHTTPStatus_v2` -> `get-http-status-v2`.
///
/// Words split at `_`, `-`, `.`, spaces and other non-alphanumerics, at lower-to-upper case changes
/// (`getCustomer`), before the last capital of an acronym followed by lower case (`HTTPStatus`), and
/// between a digit and a capital (`Get2Items`). Only ASCII letters and digits survive; a name with
/// none gives `operation`.
pub fn kebab(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            flush(&mut words, &mut current);
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        if c.is_ascii_uppercase() && prev.is_some_and(|p| starts_word_after(p, next)) {
            flush(&mut words, &mut current);
        }
        current.push(c.to_ascii_lowercase());
    }
    flush(&mut words, &mut current);
    if words.is_empty() {
        return "operation".into();
    }
    words.join("-")
}

/// Whether a capital letter preceded by `prev` (and followed by `next`) begins a new word.
fn starts_word_after(prev: char, next: Option<char>) -> bool {
    prev.is_ascii_lowercase()
        || prev.is_ascii_digit()
        || (prev.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
}

fn flush(words: &mut Vec<String>, current: &mut String) {
    if !current.is_empty() {
        words.push(std::mem::take(current));
    }
}

/// `CustomerNotFound` -> `CUSTOMER_NOT_FOUND` (never empty: `FAULT`).
pub fn upper_snake(name: &str) -> String {
    let k = kebab(name);
    if k == "operation" && !name.chars().any(|c| c.is_ascii_alphanumeric()) {
        return "FAULT".into();
    }
    k.replace('-', "_").to_ascii_uppercase()
}

/// Hands out unique names: the first `x` stays `x`, later ones become `x-2`, `x-3`, ...
#[derive(Debug, Default)]
pub struct Unique {
    taken: HashSet<String>,
}

impl Unique {
    /// A name not handed out before (compared case-insensitively, for file systems that fold case).
    pub fn claim(&mut self, base: &str) -> String {
        let mut candidate = base.to_string();
        let mut n = 2;
        while !self.taken.insert(candidate.to_ascii_lowercase()) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        candidate
    }

    /// Like [`Unique::claim`] for a file path: the number goes before the extension (`a-2.xsd`).
    pub fn claim_file(&mut self, path: &str) -> String {
        let name_start = path.rfind('/').map_or(0, |i| i + 1);
        let (stem, ext) = match path.rfind('.') {
            Some(dot) if dot > name_start => path.split_at(dot),
            _ => (path, ""),
        };
        let mut candidate = path.to_string();
        let mut n = 2;
        while !self.taken.insert(candidate.to_ascii_lowercase()) {
            candidate = format!("{stem}-{n}{ext}");
            n += 1;
        }
        candidate
    }
}

/// A valid `service:` name given on the command line: `[A-Za-z0-9_-]+`.
pub fn valid_service(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The service name derived from the entry: its file name (or last URL path segment) without
/// extension, in kebab case; `None` when nothing usable is left.
pub fn service_from_entry(entry: &str) -> Option<String> {
    let path = entry.split(['?', '#']).next().unwrap_or(entry);
    let path = match path.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
        None => path,
    };
    let last = path
        .trim_end_matches('/')
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path);
    let stem = match last.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => last,
    };
    stem.chars()
        .any(|c| c.is_ascii_alphanumeric())
        .then(|| kebab(stem))
}

/// Keeps ASCII letters, digits, `.`, `_` and `-`; anything else becomes `_` (file and component names).
pub(crate) fn safe_chars(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_splits_camel_case_acronyms_digits_and_underscores() {
        assert_eq!(kebab("GetCustomer"), "get-customer");
        assert_eq!(kebab("getCustomer"), "get-customer");
        assert_eq!(kebab("getHTTPStatus_v2"), "get-http-status-v2");
        assert_eq!(kebab("get_customer_BY_ID"), "get-customer-by-id");
        assert_eq!(kebab("Get2Items"), "get2-items");
        assert_eq!(kebab("NumberToWords"), "number-to-words");
        assert_eq!(kebab("CelsiusToFahrenheit"), "celsius-to-fahrenheit");
        assert_eq!(kebab("ADD"), "add");
        assert_eq!(kebab("Op.Name with spaces"), "op-name-with-spaces");
        assert_eq!(kebab("über"), "ber");
        assert_eq!(kebab("ÄÖÜ"), "operation");
    }

    #[test]
    fn collisions_are_numbered_in_order() {
        let mut u = Unique::default();
        let names: Vec<String> = ["GetUser", "getUser", "get_user", "get-user-2"]
            .iter()
            .map(|n| u.claim(&kebab(n)))
            .collect();
        assert_eq!(names, ["get-user", "get-user-2", "get-user-3", "get-user-2-2"]);
    }

    #[test]
    fn upper_snake_codes() {
        assert_eq!(upper_snake("CustomerNotFound"), "CUSTOMER_NOT_FOUND");
        assert_eq!(upper_snake("invalid-quantity"), "INVALID_QUANTITY");
        assert_eq!(upper_snake("é"), "FAULT");
    }

    #[test]
    fn service_names_come_from_the_entry() {
        assert_eq!(
            service_from_entry("/x/wsdl/customers.wsdl").as_deref(),
            Some("customers")
        );
        assert_eq!(
            service_from_entry("http://h/TempConvert.asmx?WSDL").as_deref(),
            Some("temp-convert")
        );
        assert_eq!(
            service_from_entry("http://h/Service.svc/").as_deref(),
            Some("service")
        );
        assert_eq!(service_from_entry("http://h/").as_deref(), None);
        assert!(valid_service("my_svc-1"));
        assert!(!valid_service("a/b"));
    }
}

//! Injection pattern checks: named built-in sets plus custom regexes, compiled once per snapshot
//! into one `RegexSet`, run over the sources a route enables (path, query, headers, JSON values).

use regex::{RegexSet, RegexSetBuilder};
use serde_json::Value;

/// Where a request value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Path,
    Query,
    Headers,
    Json,
}

impl Source {
    pub const ALL: [Source; 4] = [Source::Path, Source::Query, Source::Headers, Source::Json];

    pub fn name(self) -> &'static str {
        match self {
            Source::Path => "path",
            Source::Query => "query",
            Source::Headers => "headers",
            Source::Json => "json",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|x| x.name() == s)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The built-in pattern sets. Kept narrow: each pattern is a construct that has no business in a
/// value of a REST API, so `O'Brien`, `select a plan` or `a < b` pass.
pub const BUILTIN: &[(&str, &[&str])] = &[
    (
        "sql",
        &[
            r"(?i)\bunion\b\s+(?:all\s+)?\bselect\b",
            r"(?i)\bselect\b[\s\S]{1,200}?\bfrom\b\s+\w",
            r"(?i)\binsert\s+into\b",
            r"(?i)\bdelete\s+from\b",
            r"(?i)\bdrop\s+(?:table|database|schema)\b",
            r"(?i)\bupdate\s+\w+\s+set\b",
            r"(?i)'\s*(?:or|and)\s+(?:'[^']*'|\d+)\s*(?:=|<|>|like\b)",
            r"(?i)'\s*;\s*(?:drop|delete|insert|update|shutdown|exec)\b",
            r"(?i)'\s*(?:--|#)",
            r"/\*[\s\S]*?\*/",
            r"(?i)\b(?:waitfor\s+delay|pg_sleep\s*\(|sleep\s*\(\s*\d|benchmark\s*\()",
            r"(?i)\bxp_cmdshell\b",
        ],
    ),
    (
        "xpath",
        &[
            r#"(?i)['"]\s*(?:or|and)\s+['"]?[^'"]*['"]?\s*=\s*['"]"#,
            r"(?i)\b(?:or|and)\s+\d+\s*=\s*\d+",
            r"(?i)(?:/|\[)\s*(?:text|node|comment|processing-instruction)\s*\(\s*\)",
            r"(?i)\b(?:string-length|substring|count|local-name|name|contains)\s*\(\s*(?:/|\.\.?/|\*)",
            r"\]\s*\|\s*/",
            r"//\*",
        ],
    ),
    (
        "xml",
        &[
            r"(?i)<!\s*(?:ENTITY|DOCTYPE|ELEMENT|ATTLIST)\b",
            r"<!\[CDATA\[",
            r"(?i)<\?xml",
            r"(?i)\bxmlns(?::\w+)?\s*=",
            r"(?i)\bxi:include\b",
        ],
    ),
    (
        "script",
        &[
            r"(?i)<\s*script\b",
            r"(?i)\bjavascript\s*:",
            r"(?i)\bvbscript\s*:",
            r"(?i)<[^>]*\bon[a-z]+\s*=",
            r"(?i)<\s*(?:iframe|object|embed|svg|img|link|meta|style)\b",
        ],
    ),
];

/// Names of the built-in sets, for error messages.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// A compiled set of patterns and the sources it applies to.
#[derive(Debug)]
pub struct Patterns {
    set: RegexSet,
    /// For each regex of `set`, the name of the set it came from (`custom` for custom ones).
    origin: Vec<String>,
    sources: u8,
}

/// A match: which source, which named set. Never the matched text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub source: Source,
    pub set: String,
}

/// Bound on the compiled size of one route's patterns.
const COMPILED_LIMIT: usize = 16 << 20;

impl Patterns {
    /// Compiles built-in sets by name plus custom regexes. Errors name the culprit.
    pub fn compile(sets: &[String], custom: &[String], sources: &[Source]) -> Result<Patterns, String> {
        let mut regexes: Vec<String> = Vec::new();
        let mut origin = Vec::new();
        for name in sets {
            let Some((_, pats)) = BUILTIN.iter().find(|(n, _)| n == name) else {
                return Err(format!(
                    "unknown pattern set `{name}` (built-in sets: {})",
                    builtin_names().join(", ")
                ));
            };
            for p in *pats {
                regexes.push((*p).to_string());
                origin.push(name.clone());
            }
        }
        for (i, c) in custom.iter().enumerate() {
            if let Err(e) = regex::RegexBuilder::new(c).size_limit(COMPILED_LIMIT).build() {
                return Err(format!("custom[{i}] is not a valid regular expression: {e}"));
            }
            regexes.push(c.clone());
            origin.push("custom".to_string());
        }
        let set = RegexSetBuilder::new(&regexes)
            .size_limit(COMPILED_LIMIT)
            .dfa_size_limit(COMPILED_LIMIT)
            .build()
            .map_err(|e| format!("the patterns do not compile together: {e}"))?;
        let sources = sources.iter().fold(0u8, |acc, s| acc | s.bit());
        Ok(Patterns { set, origin, sources })
    }

    /// Whether `source` is checked at all.
    pub fn covers(&self, source: Source) -> bool {
        self.sources & source.bit() != 0 && !self.set.is_empty()
    }

    /// Checks one text from `source`.
    pub fn check(&self, source: Source, text: &str) -> Result<(), Hit> {
        if !self.covers(source) {
            return Ok(());
        }
        match self.set.matches(text).iter().next() {
            None => Ok(()),
            Some(i) => Err(Hit {
                source,
                set: self.origin.get(i).cloned().unwrap_or_default(),
            }),
        }
    }

    /// Checks every key and string value of a JSON document (explicit stack, no recursion).
    pub fn check_json(&self, v: &Value) -> Result<(), Hit> {
        if !self.covers(Source::Json) {
            return Ok(());
        }
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                Value::String(s) => self.check(Source::Json, s)?,
                Value::Array(items) => stack.extend(items.iter()),
                Value::Object(map) => {
                    for (k, v) in map {
                        self.check(Source::Json, k)?;
                        stack.push(v);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(sets: &[&str]) -> Patterns {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        Patterns::compile(&sets, &[], &Source::ALL).expect("compile")
    }

    fn hit(p: &Patterns, s: &str) -> Option<String> {
        p.check(Source::Query, s).err().map(|h| h.set)
    }

    #[test]
    fn sql_set_catches_classics_and_spares_names() {
        let p = pats(&["sql"]);
        for bad in [
            "' OR '1'='1",
            "x' or 1=1 --",
            "1; DROP TABLE users",
            "a' ; drop table t",
            "1 UNION SELECT password FROM users",
            "admin'--",
            "1 /* x */",
            "'; WAITFOR DELAY '0:0:5'",
        ] {
            assert_eq!(hit(&p, bad).as_deref(), Some("sql"), "{bad}");
        }
        for good in [
            "O'Brien",
            "D'Arcy and O'Neil",
            "Select a plan",
            "Rock 'n' roll",
            "update me",
            "42",
        ] {
            assert_eq!(hit(&p, good), None, "{good}");
        }
    }

    #[test]
    fn xpath_xml_script_sets() {
        let p = pats(&["xpath", "xml", "script"]);
        assert_eq!(hit(&p, "' or '1'='1").as_deref(), Some("xpath"));
        assert_eq!(hit(&p, "x or 1=1").as_deref(), Some("xpath"));
        assert_eq!(hit(&p, "//user[name/text()='a']").as_deref(), Some("xpath"));
        assert_eq!(
            hit(&p, "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>").as_deref(),
            Some("xml")
        );
        assert_eq!(hit(&p, "<![CDATA[x]]>").as_deref(), Some("xml"));
        assert_eq!(hit(&p, "<script>alert(1)</script>").as_deref(), Some("script"));
        assert_eq!(hit(&p, "<img src=x onerror=alert(1)>").as_deref(), Some("script"));
        assert_eq!(hit(&p, "javascript:alert(1)").as_deref(), Some("script"));
        for good in ["a < b and c > d", "Smith & Sons", "price/2", "O'Brien"] {
            assert_eq!(hit(&p, good), None, "{good}");
        }
    }

    #[test]
    fn sources_and_custom_patterns() {
        let p = Patterns::compile(&[], &["(?i)forbidden".into()], &[Source::Json]).expect("compile");
        assert!(p.check(Source::Query, "FORBIDDEN").is_ok());
        let v = serde_json::json!({"a": [{"b": "is Forbidden"}]});
        assert_eq!(
            p.check_json(&v),
            Err(Hit {
                source: Source::Json,
                set: "custom".into()
            })
        );
        let k = serde_json::json!({"forbidden": 1});
        assert!(p.check_json(&k).is_err());
    }

    #[test]
    fn bad_config_is_reported() {
        assert!(Patterns::compile(&["nosuch".into()], &[], &Source::ALL)
            .err()
            .is_some_and(|e| e.contains("nosuch") && e.contains("sql")));
        assert!(Patterns::compile(&[], &["(".into()], &Source::ALL)
            .err()
            .is_some_and(|e| e.contains("custom[0]")));
    }
}

//! SOAP Fault -> problem+json: declarative per-route rules, first match wins, safe defaults.

use crate::config::raw::RawFaultRule;
use crate::config::Diagnostics;
use crate::error::MappedFault;
use crate::soap::parse::Fault;
use regex::Regex;

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct FaultRule {
    code: Option<String>,
    subcode: Option<String>,
    message: Option<Regex>,
    detail: Option<String>,
    status: u16,
    problem_code: String,
    title: String,
    expose_message: bool,
    expose_detail: bool,
}

/// The rules of one route.
#[derive(Debug, Clone, Default)]
pub struct FaultRules {
    rules: Vec<FaultRule>,
}

/// `Client.NotFound` matches a rule for `Client.NotFound` or `Client` (SOAP 1.1 dot hierarchy).
fn code_matches(rule: &str, actual: &str) -> bool {
    actual == rule
        || actual
            .strip_prefix(rule)
            .is_some_and(|rest| rest.starts_with('.'))
}

impl FaultRule {
    fn matches(&self, f: &Fault) -> bool {
        self.code.as_deref().is_none_or(|c| code_matches(c, &f.code))
            && self
                .subcode
                .as_deref()
                .is_none_or(|s| f.subcodes.iter().any(|a| code_matches(s, a)))
            && self.message.as_ref().is_none_or(|r| r.is_match(&f.message))
            && self
                .detail
                .as_deref()
                .is_none_or(|d| f.detail_name.as_deref() == Some(d))
    }
}

impl FaultRules {
    /// Validates the raw rules.
    pub fn build(raw: &[RawFaultRule], file: &str, at: &str, d: &mut Diagnostics) -> Option<FaultRules> {
        let mut rules = Vec::new();
        let mut ok = true;
        for (i, r) in raw.iter().enumerate() {
            let key = format!("{at}[{i}]");
            if !(400..=599).contains(&r.status) {
                ok = false;
                d.error(
                    file,
                    &format!("{key}.status"),
                    format!("status {} is not an error status", r.status),
                    "use a 4xx or 5xx status",
                );
            }
            let message = match r.when.message.as_deref().map(Regex::new) {
                Some(Err(e)) => {
                    ok = false;
                    d.error(
                        file,
                        &format!("{key}.when.message"),
                        format!("invalid regular expression: {e}"),
                        "fix the pattern",
                    );
                    None
                }
                Some(Ok(re)) => Some(re),
                None => None,
            };
            let problem_code = r.code.clone().unwrap_or_else(|| "UPSTREAM_FAULT".into());
            if !problem_code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            {
                ok = false;
                d.error(
                    file,
                    &format!("{key}.code"),
                    format!("code `{problem_code}` is not UPPER_SNAKE_CASE"),
                    "use a code such as CUSTOMER_NOT_FOUND",
                );
            }
            rules.push(FaultRule {
                code: r.when.code.clone(),
                subcode: r.when.subcode.clone(),
                message,
                detail: r.when.detail.clone(),
                status: r.status.clamp(400, 599) as u16,
                problem_code,
                title: r.title.clone().unwrap_or_else(|| "Backend fault".into()),
                expose_message: r.expose_message,
                expose_detail: r.expose_detail,
            });
        }
        ok.then_some(FaultRules { rules })
    }

    /// Whether a rule puts the fault's detail in the problem (`expose_detail`).
    pub fn exposes_detail(&self) -> bool {
        self.rules.iter().any(|r| r.expose_detail)
    }

    /// Applies the first matching rule, else the default: Client/Sender -> 400, anything else -> 502.
    pub fn map(&self, f: &Fault) -> MappedFault {
        if let Some(r) = self.rules.iter().find(|r| r.matches(f)) {
            return MappedFault {
                status: r.status,
                code: r.problem_code.clone(),
                title: r.title.clone(),
                message: r
                    .expose_message
                    .then(|| f.message.clone())
                    .filter(|m| !m.is_empty()),
                detail: if r.expose_detail { f.detail.clone() } else { None },
            };
        }
        let client = code_matches("Client", &f.code) || code_matches("Sender", &f.code);
        MappedFault {
            status: if client { 400 } else { 502 },
            code: if client {
                "UPSTREAM_CLIENT_FAULT"
            } else {
                "UPSTREAM_FAULT"
            }
            .into(),
            title: if client {
                "Request rejected by backend"
            } else {
                "Backend fault"
            }
            .into(),
            message: None,
            detail: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw::RawFaultMatch;

    fn fault(code: &str, msg: &str) -> Fault {
        Fault {
            code: code.into(),
            message: msg.into(),
            ..Fault::default()
        }
    }

    #[test]
    fn defaults_split_client_and_server() {
        let rules = FaultRules::default();
        assert_eq!(rules.map(&fault("Client.Bad", "x")).status, 400);
        assert_eq!(rules.map(&fault("Sender", "x")).status, 400);
        assert_eq!(rules.map(&fault("Server", "db down")).status, 502);
        assert_eq!(rules.map(&fault("Receiver", "x")).message, None);
    }

    #[test]
    fn first_matching_rule_wins_and_exposes_only_when_told() {
        let raw = vec![
            RawFaultRule {
                when: RawFaultMatch {
                    code: Some("Client.NotFound".into()),
                    ..Default::default()
                },
                status: 404,
                code: Some("CUSTOMER_NOT_FOUND".into()),
                title: Some("Customer not found".into()),
                expose_message: true,
                expose_detail: false,
            },
            RawFaultRule {
                when: RawFaultMatch {
                    message: Some("(?i)timeout".into()),
                    ..Default::default()
                },
                status: 504,
                code: None,
                title: None,
                expose_message: false,
                expose_detail: false,
            },
        ];
        let mut d = Diagnostics::default();
        let rules = FaultRules::build(&raw, "m.yaml", "faults", &mut d).expect("valid");
        let m = rules.map(&fault("Client.NotFound", "no customer 9"));
        assert_eq!(
            (m.status, m.code.as_str(), m.message.as_deref()),
            (404, "CUSTOMER_NOT_FOUND", Some("no customer 9"))
        );
        let m = rules.map(&fault("Server", "Upstream TIMEOUT"));
        assert_eq!((m.status, m.message), (504, None));
    }
}

//! Route conditions on the TLS client certificate: the reserved `client_cert` names of a route's
//! `claims:`, checked against the certificate verified during the handshake (not the token).
//!
//! `client_cert: true` requires a client certificate; `client_cert.<field>: value` (or a list of
//! accepted values) requires one whose field matches, with `field` one of `subject` (the whole
//! DN, e.g. `CN=partner-a, O=Acme`), `cn`, `dns`, `ip`, `email`, `uri` (subject alternative names;
//! any of them may match). They need no identity provider: a route can be open to tokens and
//! still demand a given client certificate.

use super::policy::claim_matches;
use super::AuthFailure;
use crate::config::Diagnostics;
use crate::tls::ClientCert;
use serde_json::Value;
use std::collections::BTreeMap;

/// The reserved claim name (and prefix, `client_cert.`).
pub const NAMESPACE: &str = "client_cert";

/// A field of the client certificate a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertField {
    Subject,
    Cn,
    Dns,
    Ip,
    Email,
    Uri,
}

impl CertField {
    const ALL: [(&'static str, CertField); 6] = [
        ("subject", CertField::Subject),
        ("cn", CertField::Cn),
        ("dns", CertField::Dns),
        ("ip", CertField::Ip),
        ("email", CertField::Email),
        ("uri", CertField::Uri),
    ];

    fn parse(name: &str) -> Option<CertField> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    fn of(self, c: &ClientCert) -> Value {
        let list = |v: &[String]| Value::from(v.to_vec());
        match self {
            CertField::Subject => Value::from(c.subject.clone()),
            CertField::Cn => c.cn.clone().map_or(Value::Null, Value::from),
            CertField::Dns => list(&c.dns),
            CertField::Ip => list(&c.ip),
            CertField::Email => list(&c.email),
            CertField::Uri => list(&c.uri),
        }
    }
}

/// A route's client-certificate conditions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CertConditions {
    /// A client certificate must be present (`client_cert: true`, or any field condition).
    pub required: bool,
    /// Field -> accepted value, or list of accepted values.
    pub fields: Vec<(CertField, Value)>,
}

impl CertConditions {
    /// Takes the `client_cert` names out of a route's `claims:` (`at` is the route's key path).
    pub fn take(
        claims: &mut BTreeMap<String, Value>,
        file: &str,
        at: &str,
        d: &mut Diagnostics,
    ) -> CertConditions {
        let mut out = CertConditions::default();
        let prefix = format!("{NAMESPACE}.");
        let names: Vec<String> = claims
            .keys()
            .filter(|k| *k == NAMESPACE || k.starts_with(&prefix))
            .cloned()
            .collect();
        for name in names {
            let Some(value) = claims.remove(&name) else {
                continue;
            };
            let key = format!("{at}.claims.{name}");
            match name.strip_prefix(&prefix) {
                None if value == Value::Bool(true) => out.required = true,
                None => d.error(
                    file,
                    &key,
                    "`client_cert` takes `true` (a client certificate is required)",
                    "write `client_cert: true`, or conditions such as `client_cert.cn: partner-a`",
                ),
                Some(field) => match (CertField::parse(field), is_text_condition(&value)) {
                    (Some(f), true) => {
                        out.required = true;
                        out.fields.push((f, value));
                    }
                    (None, _) => d.error(
                        file,
                        &key,
                        format!("unknown client certificate field `{field}`"),
                        "use client_cert.subject, .cn, .dns, .ip, .email or .uri",
                    ),
                    (Some(_), false) => d.error(
                        file,
                        &key,
                        "a client certificate condition is a string or a non-empty list of strings",
                        "write e.g. `client_cert.cn: partner-a` or `client_cert.dns: [a.example, b.example]`",
                    ),
                },
            }
        }
        out
    }

    /// Whether the certificate meets every condition (none is needed when nothing is required).
    pub fn check(&self, cert: Option<&ClientCert>) -> Result<(), AuthFailure> {
        if !self.required {
            return Ok(());
        }
        let Some(cert) = cert else {
            return Err(AuthFailure::ClientCert("no client certificate was presented"));
        };
        for (field, want) in &self.fields {
            if !claim_matches(Some(&field.of(cert)), want) {
                return Err(AuthFailure::ClientCert(
                    "the client certificate does not meet the route's conditions",
                ));
            }
        }
        Ok(())
    }
}

fn is_text_condition(v: &Value) -> bool {
    match v {
        Value::String(_) => true,
        Value::Array(items) => !items.is_empty() && items.iter().all(Value::is_string),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cert() -> ClientCert {
        ClientCert {
            subject: "CN=partner-a, O=Acme".into(),
            cn: Some("partner-a".into()),
            dns: vec!["a.partner.example".into(), "b.partner.example".into()],
            ip: Vec::new(),
            email: Vec::new(),
            uri: Vec::new(),
        }
    }

    fn take(claims: Value) -> (CertConditions, BTreeMap<String, Value>, Diagnostics) {
        let mut map: BTreeMap<String, Value> = serde_json::from_value(claims).expect("map");
        let mut d = Diagnostics::default();
        let c = CertConditions::take(&mut map, "m.yaml", "routes[0]", &mut d);
        (c, map, d)
    }

    #[test]
    fn conditions_leave_token_claims_alone_and_match_any_name() {
        let (c, rest, d) = take(json!({"tenant": "acme", "client_cert.cn": "partner-a",
            "client_cert.dns": ["x.example", "b.partner.example"]}));
        assert!(d.errors.is_empty(), "{:?}", d.errors);
        assert_eq!(rest.keys().collect::<Vec<_>>(), ["tenant"]);
        assert!(c.required);
        assert_eq!(c.check(Some(&cert())), Ok(()));
        assert_eq!(
            c.check(None),
            Err(AuthFailure::ClientCert("no client certificate was presented"))
        );
        let (c, _, _) = take(json!({"client_cert.subject": "CN=partner-b, O=Acme"}));
        assert!(c.check(Some(&cert())).is_err());
        let (c, _, _) = take(json!({"client_cert": true}));
        assert_eq!((c.required, c.check(Some(&cert()))), (true, Ok(())));
        assert_eq!(CertConditions::default().check(None), Ok(()));
    }

    #[test]
    fn bad_conditions_name_their_key() {
        let (_, _, d) = take(json!({"client_cert.serial": "1", "client_cert.cn": 3, "client_cert": "yes"}));
        let paths: Vec<&str> = d.errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "routes[0].claims.client_cert",
                "routes[0].claims.client_cert.cn",
                "routes[0].claims.client_cert.serial"
            ]
        );
    }
}

//! WS-Security 1.0 UsernameToken Profile: the `wsse:Security` SOAP header block, with a fresh nonce
//! and timestamps per request.

use super::{PasswordType, Secret};
use crate::error::GatewayError;
use crate::mapping::request::escape_text;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use sha1::{Digest, Sha1};
use std::time::Duration;

pub const WSSE_NS: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
pub const WSU_NS: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const TOKEN_PROFILE: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0";
const BASE64_BINARY: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

/// A validated `ws_security_username_token` configuration.
#[derive(Debug)]
pub struct UsernameToken {
    pub username: String,
    pub password: Secret,
    pub password_type: PasswordType,
    /// Add `wsu:Timestamp` (Created/Expires).
    pub timestamp: bool,
    /// `Expires - Created` of the Timestamp.
    pub ttl: Duration,
}

impl UsernameToken {
    /// The header block for one request: a fresh random nonce, `Created` = now.
    pub fn header(&self) -> Result<String, GatewayError> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| {
            GatewayError::BackendCredentials(format!("no randomness for the WS-Security nonce: {e}"))
        })?;
        Ok(self.render(Utc::now(), &nonce))
    }

    /// The header block for a given instant and nonce (deterministic, for tests).
    pub fn render(&self, now: DateTime<Utc>, nonce: &[u8]) -> String {
        let created = timestamp(now);
        let mut x = String::with_capacity(1024);
        x.push_str(r#"<wsse:Security soap:mustUnderstand="1" xmlns:wsse=""#);
        x.push_str(WSSE_NS);
        x.push_str(r#"" xmlns:wsu=""#);
        x.push_str(WSU_NS);
        x.push_str(r#"">"#);
        if self.timestamp {
            let ttl = TimeDelta::from_std(self.ttl).unwrap_or(TimeDelta::seconds(300));
            let expires = now.checked_add_signed(ttl).unwrap_or(now);
            x.push_str("<wsu:Timestamp><wsu:Created>");
            x.push_str(&created);
            x.push_str("</wsu:Created><wsu:Expires>");
            x.push_str(&timestamp(expires));
            x.push_str("</wsu:Expires></wsu:Timestamp>");
        }
        x.push_str("<wsse:UsernameToken><wsse:Username>");
        x.push_str(&escape_text(&self.username));
        x.push_str("</wsse:Username>");
        match self.password_type {
            PasswordType::Text => {
                x.push_str(r#"<wsse:Password Type=""#);
                x.push_str(TOKEN_PROFILE);
                x.push_str(r##"#PasswordText">"##);
                x.push_str(&escape_text(self.password.expose()));
                x.push_str("</wsse:Password>");
            }
            PasswordType::Digest => {
                x.push_str(r#"<wsse:Password Type=""#);
                x.push_str(TOKEN_PROFILE);
                x.push_str(r##"#PasswordDigest">"##);
                x.push_str(&password_digest(nonce, &created, self.password.expose()));
                x.push_str(r#"</wsse:Password><wsse:Nonce EncodingType=""#);
                x.push_str(BASE64_BINARY);
                x.push_str(r#"">"#);
                x.push_str(&base64::engine::general_purpose::STANDARD.encode(nonce));
                x.push_str("</wsse:Nonce><wsu:Created>");
                x.push_str(&created);
                x.push_str("</wsu:Created>");
            }
        }
        x.push_str("</wsse:UsernameToken></wsse:Security>");
        x
    }
}

/// `Base64(SHA-1(nonce + created + password))` (UsernameToken Profile 1.0, §3.1).
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// `2024-01-02T03:04:05.678Z`: UTC, milliseconds.
fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// True for characters XML 1.0 allows.
pub fn is_xml_char(c: char) -> bool {
    crate::mapping::request::is_xml_char(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const NONCE: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    fn token(password_type: PasswordType, timestamp: bool) -> UsernameToken {
        UsernameToken {
            username: "svc<&>\"'".into(),
            password: Secret::new("p&ss<w>\"rd"),
            password_type,
            timestamp,
            ttl: Duration::from_secs(300),
        }
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5)
            .single()
            .expect("valid instant")
            + TimeDelta::milliseconds(678)
    }

    #[test]
    fn digest_matches_an_independently_computed_vector() {
        // python3: base64.b64encode(hashlib.sha1(bytes(range(16)) + b'2024-01-02T03:04:05.678Z'
        //          + b'p&ss<w>"rd').digest())
        assert_eq!(
            password_digest(&NONCE, "2024-01-02T03:04:05.678Z", "p&ss<w>\"rd"),
            "s9h7aJ2VjZJJ+x8Cr40+KVY3zsk="
        );
    }

    #[test]
    fn digest_header_carries_nonce_created_digest_and_timestamp() {
        let x = token(PasswordType::Digest, true).render(at(), &NONCE);
        assert!(x.starts_with(&format!(
            r#"<wsse:Security soap:mustUnderstand="1" xmlns:wsse="{WSSE_NS}" xmlns:wsu="{WSU_NS}">"#
        )));
        assert!(x.contains(
            "<wsu:Timestamp><wsu:Created>2024-01-02T03:04:05.678Z</wsu:Created>\
             <wsu:Expires>2024-01-02T03:09:05.678Z</wsu:Expires></wsu:Timestamp>"
        ));
        assert!(x.contains(&format!(
            r##"<wsse:Password Type="{TOKEN_PROFILE}#PasswordDigest">s9h7aJ2VjZJJ+x8Cr40+KVY3zsk=</wsse:Password>"##
        )));
        assert!(x.contains(&format!(
            r#"<wsse:Nonce EncodingType="{BASE64_BINARY}">AAECAwQFBgcICQoLDA0ODw==</wsse:Nonce>"#
        )));
        assert!(x.contains("<wsu:Created>2024-01-02T03:04:05.678Z</wsu:Created></wsse:UsernameToken>"));
        // The digest covers the raw password, the clear text never appears.
        assert!(!x.contains("p&ss") && !x.contains("p&amp;ss"), "{x}");
        roxmltree::Document::parse(&wrap(&x)).expect("well-formed");
    }

    #[test]
    fn text_password_and_username_are_escaped() {
        let x = token(PasswordType::Text, false).render(at(), &NONCE);
        assert!(
            x.contains("<wsse:Username>svc&lt;&amp;&gt;&quot;&apos;</wsse:Username>"),
            "{x}"
        );
        assert!(x.contains(&format!(
            r##"<wsse:Password Type="{TOKEN_PROFILE}#PasswordText">p&amp;ss&lt;w&gt;&quot;rd</wsse:Password>"##
        )));
        assert!(!x.contains("Nonce") && !x.contains("Timestamp"), "{x}");
        let doc = wrap(&x);
        let doc = roxmltree::Document::parse(&doc).expect("well-formed");
        let text = |name: &str| {
            doc.descendants()
                .find(|n| n.has_tag_name((WSSE_NS, name)))
                .and_then(|n| n.text())
                .map(str::to_string)
        };
        assert_eq!(text("Username").as_deref(), Some("svc<&>\"'"));
        assert_eq!(text("Password").as_deref(), Some("p&ss<w>\"rd"));
    }

    #[test]
    fn each_header_gets_a_fresh_nonce() {
        let t = token(PasswordType::Digest, true);
        let nonce = |x: &str| {
            let start = x.find("<wsse:Nonce").expect("nonce");
            x[start..].split('>').nth(1).map(str::to_string)
        };
        let (a, b) = (t.header().expect("header"), t.header().expect("header"));
        assert_ne!(nonce(&a), nonce(&b));
    }

    fn wrap(x: &str) -> String {
        format!(
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>{x}</soap:Header></soap:Envelope>"#
        )
    }
}

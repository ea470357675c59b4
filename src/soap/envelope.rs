//! Builds the outgoing SOAP envelope and its transport headers for 1.1 and 1.2.

use super::SoapVersion;

/// A ready-to-send SOAP request.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub body: String,
    pub content_type: String,
    /// `SOAPAction` header value (SOAP 1.1 only; 1.2 carries it in the content type).
    pub soap_action: Option<String>,
}

/// Wraps rendered Body (and optional Header) content in an envelope of the given version.
/// `action` is trusted config, never client input; quotes are stripped defensively.
pub fn build(version: SoapVersion, action: &str, header: Option<&str>, body: &str) -> Envelope {
    let mut xml = String::with_capacity(body.len() + header.map_or(0, str::len) + 200);
    xml.push_str(r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap=""#);
    xml.push_str(version.namespace());
    xml.push_str(r#"">"#);
    if let Some(h) = header.filter(|h| !h.trim().is_empty()) {
        xml.push_str("<soap:Header>");
        xml.push_str(h);
        xml.push_str("</soap:Header>");
    }
    xml.push_str("<soap:Body>");
    xml.push_str(body);
    xml.push_str("</soap:Body></soap:Envelope>");
    let action: String = action
        .chars()
        .filter(|c| !matches!(c, '"' | '\r' | '\n'))
        .collect();
    match version {
        SoapVersion::V11 => Envelope {
            body: xml,
            content_type: "text/xml; charset=utf-8".into(),
            soap_action: Some(format!("\"{action}\"")),
        },
        SoapVersion::V12 => Envelope {
            body: xml,
            content_type: if action.is_empty() {
                "application/soap+xml; charset=utf-8".into()
            } else {
                format!("application/soap+xml; charset=utf-8; action=\"{action}\"")
            },
            soap_action: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap11_uses_text_xml_and_soapaction() {
        let e = build(SoapVersion::V11, "urn:x/Get", None, "<a/>");
        assert_eq!(e.content_type, "text/xml; charset=utf-8");
        assert_eq!(e.soap_action.as_deref(), Some("\"urn:x/Get\""));
        assert!(e
            .body
            .contains(r#"xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/""#));
        assert!(e.body.ends_with("<soap:Body><a/></soap:Body></soap:Envelope>"));
    }

    #[test]
    fn soap12_puts_action_in_content_type() {
        let e = build(SoapVersion::V12, "urn:x/Get", Some("<h/>"), "<a/>");
        assert_eq!(
            e.content_type,
            "application/soap+xml; charset=utf-8; action=\"urn:x/Get\""
        );
        assert_eq!(e.soap_action, None);
        assert!(e.body.contains("<soap:Header><h/></soap:Header>"));
        assert!(e.body.contains("http://www.w3.org/2003/05/soap-envelope"));
    }
}

//! Builds the outgoing SOAP envelope and its transport headers for 1.1 and 1.2.

use super::charset::RequestEncoding;
use super::SoapVersion;
use bytes::Bytes;

/// A ready-to-send SOAP request.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The envelope in its encoding (UTF-8 unless `backend.request_encoding` says otherwise).
    pub body: Bytes,
    pub content_type: String,
    /// `SOAPAction` header value (SOAP 1.1 only; 1.2 carries it in the content type).
    pub soap_action: Option<String>,
}

/// Wraps rendered Body (and optional Header) content in an envelope of the given version, in
/// `encoding` (declared in the XML declaration and the Content-Type charset); `Err` is the first
/// character the encoding cannot carry. `action` is trusted config, never client input; quotes
/// are stripped defensively.
pub fn build(
    version: SoapVersion,
    action: &str,
    header: Option<&str>,
    body: &str,
    encoding: RequestEncoding,
) -> Result<Envelope, char> {
    let charset = encoding.name();
    let mut xml = String::with_capacity(body.len() + header.map_or(0, str::len) + 200);
    xml.push_str(r#"<?xml version="1.0" encoding=""#);
    xml.push_str(charset);
    xml.push_str(r#""?><soap:Envelope xmlns:soap=""#);
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
    let body = Bytes::from(encoding.encode(xml)?);
    Ok(match version {
        SoapVersion::V11 => Envelope {
            body,
            content_type: format!("text/xml; charset={charset}"),
            soap_action: Some(format!("\"{action}\"")),
        },
        SoapVersion::V12 => Envelope {
            body,
            content_type: if action.is_empty() {
                format!("application/soap+xml; charset={charset}")
            } else {
                format!("application/soap+xml; charset={charset}; action=\"{action}\"")
            },
            soap_action: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf8(version: SoapVersion, action: &str, header: Option<&str>, body: &str) -> (Envelope, String) {
        let e = build(version, action, header, body, RequestEncoding::Utf8).expect("UTF-8 carries all");
        let text = String::from_utf8(e.body.to_vec()).expect("UTF-8");
        (e, text)
    }

    #[test]
    fn soap11_uses_text_xml_and_soapaction() {
        let (e, body) = utf8(SoapVersion::V11, "urn:x/Get", None, "<a/>");
        assert_eq!(e.content_type, "text/xml; charset=utf-8");
        assert_eq!(e.soap_action.as_deref(), Some("\"urn:x/Get\""));
        assert!(body.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#));
        assert!(body.contains(r#"xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/""#));
        assert!(body.ends_with("<soap:Body><a/></soap:Body></soap:Envelope>"));
    }

    #[test]
    fn soap12_puts_action_in_content_type() {
        let (e, body) = utf8(SoapVersion::V12, "urn:x/Get", Some("<h/>"), "<a/>");
        assert_eq!(
            e.content_type,
            "application/soap+xml; charset=utf-8; action=\"urn:x/Get\""
        );
        assert_eq!(e.soap_action, None);
        assert!(body.contains("<soap:Header><h/></soap:Header>"));
        assert!(body.contains("http://www.w3.org/2003/05/soap-envelope"));
    }

    #[test]
    fn n11_another_request_encoding_is_declared_and_used_or_refused() {
        let latin1 = RequestEncoding::from_label("latin1").expect("usable");
        let e = build(SoapVersion::V12, "", None, "<a>é</a>", latin1).expect("é is Latin-1");
        assert_eq!(e.content_type, "application/soap+xml; charset=ISO-8859-1");
        assert!(e
            .body
            .starts_with(br#"<?xml version="1.0" encoding="ISO-8859-1"?>"#));
        assert!(e
            .body
            .ends_with(b"<soap:Body><a>\xE9</a></soap:Body></soap:Envelope>"));
        assert_eq!(build(SoapVersion::V11, "", None, "<a>€</a>", latin1), Err('€'));
    }
}

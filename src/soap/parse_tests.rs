//! Unit tests of the bounded SOAP parser: conversion convention, faults and hostile documents.

use super::*;
use crate::soap::convert::ScalarType;
use serde_json::json;

const ENV11: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:c="urn:c">"#;

fn env11(body: &str) -> String {
    format!("{ENV11}<s:Body>{body}</s:Body></s:Envelope>")
}

fn payload(xml: &str, hints: &Hints) -> Result<Value, GatewayError> {
    match parse(xml.as_bytes(), &XmlLimits::default(), hints, true)?.outcome {
        Outcome::Payload(v) => Ok(v),
        Outcome::Fault(f) => panic!("unexpected fault {f:?}"),
    }
}

fn code_of(r: Result<impl std::fmt::Debug, GatewayError>) -> String {
    r.expect_err("must be rejected").code()
}

#[test]
fn convention_strips_envelope_and_wrapper_and_keeps_strings() {
    let xml = env11(
        r#"<c:R><c:id>007</c:id><c:name>A &amp; B</c:name><c:empty/><c:gone xsi:nil="true"/>
        <c:phone type="mobile">+44</c:phone><c:tag>x</c:tag><c:tag>y</c:tag><c:note><![CDATA[<b>]]></c:note></c:R>"#,
    );
    let v = payload(&xml, &Hints::default()).expect("converts");
    assert_eq!(
        v,
        json!({"id": "007", "name": "A & B", "empty": "", "gone": null,
               "phone": {"@type": "mobile", "#text": "+44"}, "tag": ["x", "y"], "note": "<b>"})
    );
}

#[test]
fn hinted_arrays_keep_their_shape_for_zero_one_and_many_items() {
    let types = [("orders/order/qty".to_string(), ScalarType::Integer)];
    let hints = Hints::new(&["orders/order".into()], &types).expect("hints");
    let one = env11("<c:R><c:orders><c:order><c:qty>2</c:qty></c:order></c:orders></c:R>");
    let zero = env11("<c:R><c:orders/></c:R>");
    assert_eq!(
        payload(&one, &hints).expect("one"),
        json!({"orders": {"order": [{"qty": 2}]}})
    );
    assert_eq!(
        payload(&zero, &hints).expect("zero"),
        json!({"orders": {"order": []}})
    );
}

#[test]
fn soap11_fault_is_read_with_code_message_and_detail() {
    let xml = env11(
        "<s:Fault><faultcode>s:Client.NotFound</faultcode><faultstring>no such thing</faultstring>\
         <detail><c:NotFoundFault><c:id>9</c:id></c:NotFoundFault></detail></s:Fault>",
    );
    let r = parse(xml.as_bytes(), &XmlLimits::default(), &Hints::default(), true).expect("parses");
    let Outcome::Fault(f) = r.outcome else {
        panic!("not a fault")
    };
    assert_eq!(f.code, "Client.NotFound");
    assert_eq!(f.message, "no such thing");
    assert_eq!(f.detail_name.as_deref(), Some("NotFoundFault"));
}

#[test]
fn soap12_fault_is_read_with_subcodes() {
    let xml = r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault>
        <e:Code><e:Value>e:Sender</e:Value><e:Subcode><e:Value>m:Missing</e:Value></e:Subcode></e:Code>
        <e:Reason><e:Text xml:lang="en">bad input</e:Text></e:Reason></e:Fault></e:Body></e:Envelope>"#;
    let r = parse(xml.as_bytes(), &XmlLimits::default(), &Hints::default(), true).expect("parses");
    assert_eq!(r.version, SoapVersion::V12);
    let Outcome::Fault(f) = r.outcome else {
        panic!("not a fault")
    };
    assert_eq!(
        (f.code.as_str(), f.subcodes, f.message.as_str()),
        ("Sender", vec!["Missing".to_string()], "bad input")
    );
}

/// S1: a SOAP 1.1 Fault is a Body entry, not necessarily the first (SOAP 1.1 §4.4): found after
/// payload entries, by the tree and the streaming parser alike; the entries around it never leave.
#[test]
fn s1_a_soap11_fault_after_other_body_entries_is_the_outcome() {
    let fault = "<s:Fault><faultcode>s:Server</faultcode><faultstring>password=hunter2</faultstring>\
                 <detail><c:Trace>at com.example.Dao</c:Trace></detail></s:Fault>";
    for body in [
        format!("<c:Resp><c:ok>1</c:ok></c:Resp>{fault}"),
        format!("<c:Resp/><c:Other>x</c:Other>{fault}"),
        format!("{fault}<c:After><c:secret>s</c:secret></c:After>"),
        format!("<c:Resp/>{fault}<c:After>text<c:deep/></c:After>"),
    ] {
        let xml = env11(&body);
        let limits = XmlLimits::default();
        for r in [
            parse(xml.as_bytes(), &limits, &Hints::default(), true).map(|r| r.outcome),
            stream(xml.as_bytes(), &limits, &Hints::default(), true).map(|r| match r.outcome {
                Outcome::Fault(f) => Outcome::Fault(f),
                Outcome::Payload(p) => Outcome::Payload(json!(p.map(|b| b.len()))),
            }),
        ] {
            match r.expect("parses") {
                Outcome::Fault(f) => {
                    assert_eq!(
                        (f.code.as_str(), f.detail_name.as_deref()),
                        ("Server", Some("Trace")),
                        "{body}"
                    );
                }
                other => panic!("{body}: not a fault: {other:?}"),
            }
        }
    }
    let two = env11(&format!("<c:Resp/>{fault}{fault}"));
    assert_eq!(
        code_of(parse(
            two.as_bytes(),
            &XmlLimits::default(),
            &Hints::default(),
            true
        )),
        "UPSTREAM_XML_SYNTAX"
    );
}

/// S2: a SOAP 1.2 Fault is the only element in Body (SOAP 1.2 part 1 §5.4): with other entries
/// before or after it the reply is not SOAP, never a payload with the fault inside.
#[test]
fn s2_a_soap12_fault_beside_other_body_entries_is_refused() {
    let fault = "<e:Fault><e:Code><e:Value>e:Receiver</e:Value></e:Code>\
                 <e:Reason><e:Text xml:lang=\"en\">secret</e:Text></e:Reason></e:Fault>";
    for body in [
        format!("<m:R xmlns:m=\"urn:m\"/>{fault}"),
        format!("{fault}<m:R xmlns:m=\"urn:m\"/>"),
    ] {
        let xml = format!(
            r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>{body}</e:Body></e:Envelope>"#
        );
        let limits = XmlLimits::default();
        let a = parse(xml.as_bytes(), &limits, &Hints::default(), true).expect_err("tree refuses");
        let b = stream(xml.as_bytes(), &limits, &Hints::default(), true).expect_err("stream refuses");
        assert_eq!(a.code(), "UPSTREAM_NOT_SOAP", "{body}");
        assert_eq!((a.code(), a.to_string()), (b.code(), b.to_string()));
    }
}

#[test]
fn doctype_and_entities_are_refused() {
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#;
    assert_eq!(code_of(payload(laughs, &Hints::default())), "UPSTREAM_XML_DTD");
    let xxe = r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>"#;
    assert_eq!(code_of(payload(xxe, &Hints::default())), "UPSTREAM_XML_DTD");
    let custom = env11("<c:R><c:a>&x;</c:a></c:R>");
    assert_eq!(
        code_of(payload(&custom, &Hints::default())),
        "UPSTREAM_XML_ENTITY"
    );
}

#[test]
fn structural_limits_are_enforced() {
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"1\"")).collect();
    assert_eq!(
        code_of(payload(&env11(&format!("<c:R{attrs}/>")), &Hints::default())),
        "UPSTREAM_XML_ATTRS"
    );
    let deep = format!("{}{}", "<c:a>".repeat(65), "</c:a>".repeat(65));
    assert_eq!(
        code_of(payload(&env11(&deep), &Hints::default())),
        "UPSTREAM_XML_DEPTH"
    );
    let wide = format!("<c:R>{}</c:R>", "<c:i/>".repeat(10_001));
    assert_eq!(
        code_of(payload(&env11(&wide), &Hints::default())),
        "UPSTREAM_XML_CHILDREN"
    );
    let text = format!("<c:R><c:t>{}</c:t></c:R>", "x".repeat(1024 * 1024 + 1));
    assert_eq!(
        code_of(payload(&env11(&text), &Hints::default())),
        "UPSTREAM_XML_TEXT"
    );
    let ns: String = (0..17).map(|i| format!(" xmlns:p{i}=\"urn:{i}\"")).collect();
    assert_eq!(
        code_of(payload(&env11(&format!("<c:R{ns}/>")), &Hints::default())),
        "UPSTREAM_XML_NAMESPACES"
    );
}

#[test]
fn malformed_documents_are_syntax_errors() {
    for bad in [
        env11("<c:R><c:a></c:R>"),
        format!("{ENV11}<s:Body><c:R/></s:Body>"),
        format!("{}<second/>", env11("<c:R/>")),
    ] {
        assert_eq!(
            code_of(payload(&bad, &Hints::default())),
            "UPSTREAM_XML_SYNTAX",
            "{bad}"
        );
    }
}

#[test]
fn non_soap_documents_are_refused() {
    assert_eq!(
        code_of(payload("<html><body>oops</body></html>", &Hints::default())),
        "UPSTREAM_NOT_SOAP"
    );
    let no_body = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"></s:Envelope>"#;
    assert_eq!(code_of(payload(no_body, &Hints::default())), "UPSTREAM_NOT_SOAP");
    assert_eq!(code_of(payload("", &Hints::default())), "UPSTREAM_NOT_SOAP");
}

#[test]
fn a_commented_envelope_before_the_real_one_is_ignored() {
    let xml = format!(
        "<!-- {} -->{}",
        env11("<c:R><c:x>fake</c:x></c:R>"),
        env11("<c:R><c:x>real</c:x></c:R>")
    );
    assert_eq!(
        payload(&xml, &Hints::default()).expect("converts"),
        json!({"x": "real"})
    );
}

#[test]
fn invalid_utf8_is_an_error_not_a_panic() {
    let mut bytes = env11("<c:R><c:x>ok</c:x></c:R>").into_bytes();
    let at = bytes.len() - 40;
    bytes[at] = 0xff;
    assert!(parse(&bytes, &XmlLimits::default(), &Hints::default(), true).is_err());
}

#[test]
fn issue_2_empty_parent_of_a_hinted_array_gives_an_empty_array() {
    let hints = Hints::new(&["R/tags/string".into()], &[]).expect("hints");
    let xml = env11("<c:W><c:R><c:sku>C</c:sku><c:tags/></c:R></c:W>");
    assert_eq!(
        payload(&xml, &hints).expect("converts"),
        json!({"R": {"sku": "C", "tags": {"string": []}}})
    );
}

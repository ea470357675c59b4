//! Only declared data leaves (docs/threat-model.md group L): what the schema does not declare is
//! dropped, kept or refused by the section's gate, the same way by the tree (`parse_typed`) and by
//! the JSON writer (`stream_typed`), which still streams past what it drops.

use crate::error::GatewayError;
use crate::mapping::schema::{parse_typed, stream_typed, Bound, Gates};
use crate::soap::convert::{Tally, Undeclared, MAX_UNDECLARED_NAMES};
use crate::soap::parse::{Outcome, SoapResponse, XmlLimits};
use crate::wsdl::load_files;
use crate::wsdl::model::Wsdl;
use serde_json::{json, Value};

fn leaks() -> Wsdl {
    let text = include_str!("../../tests/fixtures/wsdl/leaks.wsdl");
    load_files(&[("/mem/leaks.wsdl", text)]).unwrap_or_else(|e| panic!("load failed: {e}"))
}

/// Both conversions of one response, checked to agree (text, error, Fault, and the names they
/// met), with what the tree's tally noted.
struct Converted {
    response: Result<SoapResponse, GatewayError>,
    streamed: bool,
    count: u64,
    names: Vec<String>,
}

fn convert_with(header: &str, body: &str, policy: Undeclared, limits: &XmlLimits) -> Converted {
    let w = leaks();
    let op = w.operation("GetCustomer", None).expect("operation GetCustomer");
    let xml = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:t="urn:leaks"><s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    );
    let bound = Bound { wsdl: &w, op };
    let (tree_tally, text_tally) = (Tally::default(), Tally::default());
    let tree = parse_typed(xml.as_bytes(), limits, bound, Gates::all(policy, &tree_tally));
    let text = stream_typed(xml.as_bytes(), limits, bound, Gates::all(policy, &text_tally));
    let streamed = crate::soap::stream::check_against_tree(&tree, &text);
    let fault = matches!(
        &tree,
        Ok(SoapResponse {
            outcome: Outcome::Fault(_),
            ..
        })
    );
    if streamed || fault || (tree.is_err() && text.is_err()) {
        assert_eq!(
            (tree_tally.count(), tree_tally.names()),
            (text_tally.count(), text_tally.names()),
            "the tree and the writer met different undeclared data"
        );
    }
    Converted {
        response: tree,
        streamed,
        count: tree_tally.count(),
        names: tree_tally.names(),
    }
}

fn convert(body: &str, policy: Undeclared) -> Converted {
    convert_with("", body, policy, &XmlLimits::default())
}

fn payload(c: &Converted) -> Value {
    match &c.response {
        Ok(SoapResponse {
            outcome: Outcome::Payload(v),
            ..
        }) => v.clone(),
        other => panic!("not a payload: {other:?}"),
    }
}

const HOSTILE: &str = r#"<t:GetCustomerResponse>
  <t:customer id="7" ssnHint="last4"><t:name>Ann</t:name><t:ssn>123-45-6789</t:ssn><t:phone>555</t:phone>
    <t:debug><t:trace>at com.example.Db.query(Db.java:42)</t:trace><t:trace>at com.example.Api.get</t:trace></t:debug>
    <t:balance>1.50</t:balance></t:customer>
  <t:passwordHash>$2b$12$abcdefghijklmnopqrstuv</t:passwordHash>
</t:GetCustomerResponse>"#;

#[test]
fn l1_undeclared_elements_are_dropped_by_default_the_same_way_by_tree_and_stream() {
    let c = convert(HOSTILE, Undeclared::Drop);
    assert!(c.streamed, "the writer must stream past what it drops");
    assert_eq!(
        payload(&c),
        json!({"customer": [{"@id": 7, "name": "Ann", "phone": ["555"], "balance": "1.50"}]})
    );
    assert_eq!(c.count, 4);
    assert_eq!(c.names, ["@ssnHint", "ssn", "debug", "passwordHash"]);
    let text = payload(&c).to_string();
    for value in ["123-45-6789", "Db.java", "$2b$", "last4"] {
        assert!(!text.contains(value), "{value} leaked: {text}");
    }
}

#[test]
fn l3_keep_converts_undeclared_data_by_the_convention_uncounted() {
    let c = convert(HOSTILE, Undeclared::Keep);
    assert!(c.streamed);
    assert_eq!(
        payload(&c),
        json!({
            "customer": [{"@id": 7, "@ssnHint": "last4", "name": "Ann", "ssn": "123-45-6789", "phone": ["555"],
                "debug": {"trace": ["at com.example.Db.query(Db.java:42)", "at com.example.Api.get"]},
                "balance": "1.50"}],
            "passwordHash": "$2b$12$abcdefghijklmnopqrstuv"
        })
    );
    assert_eq!((c.count, c.names.len()), (0, 0));
}

#[test]
fn l4_reject_refuses_the_whole_response_with_upstream_undeclared() {
    let c = convert(HOSTILE, Undeclared::Reject);
    let e = c.response.expect_err("refused");
    assert_eq!(
        (e.code(), e.status().as_u16()),
        ("UPSTREAM_UNDECLARED".to_string(), 502)
    );
    assert!(!e.to_string().contains("ssn"), "the problem names no data: {e}");
    // A response with only declared data passes.
    let ok = convert(
        "<t:GetCustomerResponse><t:customer><t:name>Bo</t:name></t:customer></t:GetCustomerResponse>",
        Undeclared::Reject,
    );
    assert_eq!(payload(&ok), json!({"customer": [{"name": "Bo", "phone": []}]}));
}

#[test]
fn l5_undeclared_attributes_are_dropped_and_declared_nil_and_any_attribute_kept() {
    let c = convert(
        r#"<t:GetCustomerResponse>
        <t:customer id="1" token="s3cr3t" s:mustUnderstand="0"><t:name role="admin">C</t:name>
          <t:balance xsi:nil="true" internal="x"/></t:customer>
        <t:tagged free="yes" other="also"><t:label>l</t:label></t:tagged></t:GetCustomerResponse>"#,
        Undeclared::Drop,
    );
    assert!(c.streamed);
    assert_eq!(
        payload(&c),
        json!({
            "customer": [{"@id": 1, "@mustUnderstand": "0", "name": "C", "balance": null, "phone": []}],
            "tagged": {"@free": "yes", "@other": "also", "label": "l"}
        })
    );
    assert_eq!(c.names, ["@token", "@role", "@internal"]);
}

#[test]
fn l6_undeclared_header_blocks_and_their_undeclared_children_are_dropped() {
    let header = r#"<t:Session><t:id>s-1</t:id><t:signingKey>k</t:signingKey></t:Session>
        <w:Security xmlns:w="urn:wsse"><w:Password>hunter2</w:Password></w:Security>"#;
    let body = "<t:GetCustomerResponse><t:customer><t:name>D</t:name></t:customer></t:GetCustomerResponse>";
    let c = convert_with(header, body, Undeclared::Drop, &XmlLimits::default());
    let r = c.response.as_ref().expect("converts");
    assert_eq!(r.header, Some(json!({"Session": {"id": "s-1"}})));
    assert_eq!(c.names, ["signingKey", "Security"]);
    let kept = convert_with(header, body, Undeclared::Keep, &XmlLimits::default());
    let header = kept.response.expect("converts").header.expect("header");
    assert_eq!(header["Security"], json!({"Password": "hunter2"}));
}

#[test]
fn l7_fault_detail_keeps_only_the_declared_fault_element_and_its_declared_children() {
    let body = r#"<s:Fault><faultcode>s:Client</faultcode><faultstring>no such customer</faultstring>
        <detail><t:NotFound><t:key>42</t:key><t:sql>SELECT * FROM customers WHERE id=42</t:sql></t:NotFound>
        <ns1:hostname xmlns:ns1="http://xml.apache.org/axis/">db-7.internal</ns1:hostname>
        <t:stackTrace>java.lang.IllegalStateException</t:stackTrace></detail></s:Fault>"#;
    let c = convert(body, Undeclared::Drop);
    let Ok(SoapResponse {
        outcome: Outcome::Fault(f),
        ..
    }) = &c.response
    else {
        panic!("not a fault: {:?}", c.response);
    };
    assert_eq!(f.detail, Some(json!({"NotFound": {"key": "42"}})));
    assert_eq!(f.detail_name.as_deref(), Some("NotFound"));
    assert_eq!(c.names, ["sql", "hostname", "stackTrace"]);
}

#[test]
fn l8_xs_any_lax_and_skip_keep_content_strict_keeps_only_globally_declared_elements() {
    let c = convert(
        r#"<t:GetCustomerResponse><t:customer><t:name>E</t:name></t:customer>
        <t:lax><t:anything a="1"><t:deep>x</t:deep></t:anything></t:lax>
        <t:skip><t:whatever>y</t:whatever></t:skip>
        <t:strict><t:note><t:text>hi</t:text><t:stars>5</t:stars><t:extra>z</t:extra></t:note><t:rogue>r</t:rogue></t:strict>
        </t:GetCustomerResponse>"#,
        Undeclared::Drop,
    );
    assert!(c.streamed);
    assert_eq!(
        payload(&c),
        json!({
            "customer": [{"name": "E", "phone": []}],
            "lax": {"anything": {"@a": "1", "deep": "x"}},
            "skip": {"whatever": "y"},
            "strict": {"note": {"text": "hi", "stars": 5}}
        })
    );
    assert_eq!(c.names, ["extra", "rogue"]);
}

#[test]
fn l9_xsi_type_declares_the_derived_types_elements_and_attributes_and_nothing_unrelated() {
    let c = convert(
        r#"<t:GetCustomerResponse>
        <t:customer since="2020" id="1" xsi:type="t:VipCustomer"><t:name>V</t:name><t:tier>gold</t:tier></t:customer>
        <t:customer xsi:type="t:Account"><t:name>W</t:name><t:passwordHash>h</t:passwordHash></t:customer>
        <t:customer since="2021"><t:name>X</t:name><t:tier>gold</t:tier></t:customer>
        </t:GetCustomerResponse>"#,
        Undeclared::Drop,
    );
    assert_eq!(
        payload(&c),
        json!({"customer": [
            {"@xsi:type": "VipCustomer", "@since": 2020, "@id": 1, "name": "V", "tier": "gold", "phone": []},
            {"name": "W", "phone": []},
            {"name": "X", "phone": []}
        ]})
    );
    assert_eq!(c.names, ["passwordHash", "@since", "tier"]);
}

#[test]
fn l10_ten_thousand_distinct_undeclared_names_are_counted_but_remembered_boundedly() {
    let mut body = String::from("<t:GetCustomerResponse><t:customer><t:name>F</t:name>");
    for i in 0..5_000 {
        body.push_str(&format!("<t:a{i}>v</t:a{i}>"));
    }
    body.push_str("</t:customer>");
    for i in 0..5_000 {
        body.push_str(&format!("<t:b{i} x=\"1\"><t:c>v</t:c></t:b{i}>"));
    }
    body.push_str("</t:GetCustomerResponse>");
    let c = convert(&body, Undeclared::Drop);
    assert!(c.streamed);
    assert_eq!(payload(&c), json!({"customer": [{"name": "F", "phone": []}]}));
    assert_eq!(c.count, 10_000);
    assert_eq!(c.names.len(), MAX_UNDECLARED_NAMES);
    assert_eq!(c.names.first().map(String::as_str), Some("a0"));
}

#[test]
fn l1_a_dropped_subtree_is_skipped_without_being_buffered() {
    // Text beyond max_text in a dropped element is never held, so it does not trip the limit;
    // in a declared element it does.
    let limits = XmlLimits {
        max_text: 64,
        ..XmlLimits::default()
    };
    let big = "x".repeat(10_000);
    let dropped = format!(
        "<t:GetCustomerResponse><t:customer><t:name>G</t:name><t:dump><t:core>{big}</t:core></t:dump></t:customer></t:GetCustomerResponse>"
    );
    let c = convert_with("", &dropped, Undeclared::Drop, &limits);
    assert!(c.streamed);
    assert_eq!(payload(&c), json!({"customer": [{"name": "G", "phone": []}]}));
    let declared = format!(
        "<t:GetCustomerResponse><t:customer><t:name>{big}</t:name></t:customer></t:GetCustomerResponse>"
    );
    let e = convert_with("", &declared, Undeclared::Drop, &limits)
        .response
        .expect_err("too long");
    assert_eq!(e.code(), "UPSTREAM_XML_TEXT");
}

#[test]
fn l1_a_body_element_that_is_not_the_output_element_is_undeclared() {
    let c = convert(
        "<t:Other><t:secret>1</t:secret></t:Other><t:GetCustomerResponse><t:customer><t:name>H</t:name></t:customer></t:GetCustomerResponse>",
        Undeclared::Drop,
    );
    assert_eq!(payload(&c), json!({"customer": [{"name": "H", "phone": []}]}));
    assert_eq!(c.names, ["Other"]);
}

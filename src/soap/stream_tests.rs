//! The streamed JSON text against the `Value` the tree converter builds from the same response.

use super::super::convert::{Hints, ScalarType};
use super::super::parse::{parse, stream, Outcome, XmlLimits};
use serde_json::{json, Value};

fn env(body: &str) -> String {
    format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

/// The streamed text (`None`: the writer handed over), checked to be the tree's value with its
/// keys in the same order.
fn streamed(body: &str, hints: &Hints, unwrap: bool) -> Option<Value> {
    let xml = env(body);
    let limits = XmlLimits::default();
    let tree = parse(xml.as_bytes(), &limits, hints, unwrap);
    let text = stream(xml.as_bytes(), &limits, hints, unwrap);
    if !super::check_against_tree(&tree, &text) {
        return None;
    }
    match tree.map(|r| r.outcome) {
        Ok(Outcome::Payload(v)) => Some(v),
        _ => None,
    }
}

fn hints(arrays: &[&str], types: &[(&str, ScalarType)]) -> Hints {
    let arrays: Vec<String> = arrays.iter().map(|s| s.to_string()).collect();
    let types: Vec<(String, ScalarType)> = types.iter().map(|(p, t)| (p.to_string(), *t)).collect();
    Hints::new(&arrays, &types).expect("hints")
}

#[test]
fn the_convention_streams_to_the_same_json_in_document_order() {
    let h = Hints::default();
    let v = streamed(
        r#"<m:R xmlns:m="urn:m"><m:z>1</m:z><m:a x="1" y="two">t</m:a><m:e/><m:n xsi:nil="true" k="v"><m:c/></m:n></m:R>"#,
        &h,
        true,
    );
    assert_eq!(
        v,
        Some(json!({"z": "1", "a": {"@x": "1", "@y": "two", "#text": "t"}, "e": "", "n": null}))
    );
}

#[test]
fn adjacent_repeats_become_arrays_and_hinted_ones_are_always_arrays() {
    let h = hints(
        &["list/item", "list/none"],
        &[("list/item/q", ScalarType::Integer)],
    );
    let body = r#"<R><list><item><q>1</q></item><item><q> 2 </q></item></list><p>a</p><p>b</p><p>c</p></R>"#;
    assert_eq!(
        streamed(body, &h, true),
        Some(json!({"list": {"item": [{"q": 1}, {"q": 2}], "none": []}, "p": ["a", "b", "c"]}))
    );
    let one = r#"<R><list><item><q>7</q></item></list></R>"#;
    assert_eq!(
        streamed(one, &h, true),
        Some(json!({"list": {"item": [{"q": 7}], "none": []}}))
    );
    let empty = r#"<R><list/></R>"#;
    assert_eq!(
        streamed(empty, &h, true),
        Some(json!({"list": {"item": [], "none": []}}))
    );
}

#[test]
fn a_name_coming_back_after_another_hands_over_to_the_tree() {
    let h = Hints::default();
    assert_eq!(streamed("<R><a>1</a><b/><a>2</a></R>", &h, true), None);
    // Attributes with one local name in two namespaces: the tree keeps the last.
    let twice = r#"<R><a xmlns:p="urn:p" xmlns:q="urn:q" p:x="1" q:x="2"/></R>"#;
    assert_eq!(streamed(twice, &h, true), None);
    // More distinct keys than the linear scan is for.
    let many: String = (0..=super::MAX_KEYS).map(|i| format!("<k{i}/>")).collect();
    assert_eq!(streamed(&format!("<R>{many}</R>"), &h, true), None);
    let enough: String = (0..super::MAX_KEYS).map(|i| format!("<k{i}/>")).collect();
    assert!(streamed(&format!("<R>{enough}</R>"), &h, true).is_some());
    // The parse stops where the writer hands over: a later error is the tree's to find, so the
    // answer never depends on which path met it first.
    let typed = hints(&[], &[("n", ScalarType::Integer)]);
    let xml = env("<R><a>1</a><b/><a>2</a><n>x</n></R>");
    let limits = XmlLimits::default();
    let text = stream(xml.as_bytes(), &limits, &typed, true).expect("handed over, not refused");
    assert!(matches!(text.outcome, Outcome::Payload(None)));
    let tree = parse(xml.as_bytes(), &limits, &typed, true).expect_err("the tree refuses");
    assert_eq!(tree.code(), "UPSTREAM_XML_TYPE");
}

#[test]
fn the_wrapper_is_unwrapped_like_the_tree_does() {
    let h = Hints::default();
    assert_eq!(streamed("<R/>", &h, true), Some(json!({})));
    assert_eq!(streamed("<R>  </R>", &h, true), Some(json!({})));
    assert_eq!(streamed(r#"<R xsi:nil="true"/>"#, &h, true), Some(json!({})));
    assert_eq!(streamed("<R>text</R>", &h, true), Some(json!({"R": "text"})));
    assert_eq!(
        streamed("<R>1</R><R>2</R>", &h, true),
        Some(json!({"R": ["1", "2"]}))
    );
    assert_eq!(streamed("<A/><B/>", &h, true), Some(json!({"A": "", "B": ""})));
    assert_eq!(streamed("", &h, true), Some(json!({})));
    assert_eq!(
        streamed("<R><a>1</a></R>", &h, false),
        Some(json!({"R": {"a": "1"}}))
    );
}

#[test]
fn text_is_escaped_and_typed_text_is_checked() {
    let h = hints(
        &[],
        &[
            ("n", ScalarType::Number),
            ("b", ScalarType::Boolean),
            ("d", ScalarType::Decimal),
        ],
    );
    let body = "<R><s>q\"uo\\te\t&#10;&#13;&lt;\u{e9}\u{1F600}</s><n>1.50</n><b>1</b><d>0.10</d><n2/></R>";
    assert_eq!(
        streamed(body, &h, true),
        Some(json!({"s": "q\"uo\\te\t\n\r<\u{e9}\u{1F600}", "n": 1.5, "b": true, "d": "0.10", "n2": ""}))
    );
    // The type error names the element, as the tree's does (compared inside `streamed`).
    assert_eq!(streamed("<R><n>x</n></R>", &h, true), None);
}

#[test]
fn mixed_content_keeps_the_elements_own_text() {
    let h = Hints::default();
    assert_eq!(
        streamed("<R><p>one <b>two</b> three</p></R>", &h, true),
        Some(json!({"p": {"b": "two", "#text": "one  three"}}))
    );
}

#[test]
fn limits_give_the_same_errors() {
    let limits = XmlLimits {
        max_children: 3,
        max_text: 8,
        ..XmlLimits::default()
    };
    for body in [
        "<R><a/><a/><a/><a/></R>",
        "<R><t>0123456789</t></R>",
        "<R><t>0123<x/>456789</t></R>",
    ] {
        let xml = env(body);
        let a = parse(xml.as_bytes(), &limits, &Hints::default(), true).expect_err("tree refuses");
        let b = stream(xml.as_bytes(), &limits, &Hints::default(), true).expect_err("stream refuses");
        assert_eq!((a.code(), a.to_string()), (b.code(), b.to_string()));
    }
}

#[test]
fn a_fault_is_read_the_same_way() {
    let xml = env("<s:Fault><faultcode>s:Client</faultcode><faultstring>no</faultstring></s:Fault>");
    let limits = XmlLimits::default();
    let a = parse(xml.as_bytes(), &limits, &Hints::default(), true).expect("tree");
    let b = stream(xml.as_bytes(), &limits, &Hints::default(), true).expect("stream");
    match (a.outcome, b.outcome) {
        (Outcome::Fault(a), Outcome::Fault(b)) => assert_eq!(a, b),
        other => panic!("not two faults: {other:?}"),
    }
}

#[test]
fn control_characters_are_escaped_as_serde_json_does() {
    let s: String = (0u8..0x80).map(char::from).collect();
    let mut out = Vec::new();
    super::write_str(&mut out, "@", &s);
    assert_eq!(out, serde_json::to_vec(&format!("@{s}")).expect("serializes"));
}

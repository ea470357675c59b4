//! Rendering rules over the hand-built schemas of `fixtures`.

use super::fixtures::{self, b, el, seq, string, Fx, ONE, T};
use super::*;
use crate::wsdl::model::MaxOccurs;
use serde_json::json;

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

fn order(input: Value) -> Result<String, RenderError> {
    let (schema, msg) = fixtures::order();
    render_body(&schema, &msg, &input)
}

fn ok(input: Value) -> String {
    let out = order(input).expect("renders");
    roxmltree::Document::parse(&out).expect("well-formed");
    out
}

#[test]
fn children_in_schema_order_with_prefixes_and_unqualified_names() {
    let out = ok(json!({"email": "a@b.c", "tags": ["x"], "id": 7, "@version": 2}));
    assert_eq!(
        out,
        "<ns1:Order xmlns:ns1=\"urn:t\" version=\"2\"><ns1:id>7</ns1:id><ns1:email>a@b.c</ns1:email>\
         <tags>x</tags></ns1:Order>"
    );
}

#[test]
fn qualified_attributes_get_their_prefix() {
    let out = ok(json!({"@version": 1, "@lang": "en", "id": 1, "email": "e"}));
    assert!(
        out.starts_with("<ns1:Order xmlns:ns1=\"urn:t\" xmlns:ns2=\"urn:x\" version=\"1\" ns2:lang=\"en\">"),
        "{out}"
    );
}

#[test]
fn arrays_repeat_and_nested_types_render() {
    let out = ok(json!({"@version": 1, "id": 1, "email": "e",
        "line": [{"qty": 2, "sku": "ABC1", "price": 1.5}, {"sku": "B", "qty": 1, "price": "0.10"}]}));
    assert!(
        out.contains(
            "<ns1:line><ns1:sku>ABC1</ns1:sku><ns1:qty>2</ns1:qty><ns1:price>1.5</ns1:price></ns1:line>\
         <ns1:line><ns1:sku>B</ns1:sku><ns1:qty>1</ns1:qty><ns1:price>0.10</ns1:price></ns1:line>"
        ),
        "{out}"
    );
}

#[test]
fn null_is_xsi_nil_and_declares_xsi() {
    let out = ok(json!({"@version": 1, "id": 1, "note": null, "email": "e"}));
    assert!(out.contains(&format!("xmlns:xsi=\"{XSI}\"")), "{out}");
    assert!(out.contains("<ns1:note xsi:nil=\"true\"/>"), "{out}");
    let err = order(json!({"@version": 1, "id": null, "email": "e"})).expect_err("not nillable");
    assert!(err.0.contains("not nillable"), "{err}");
}

#[test]
fn values_are_escaped_and_invalid_characters_refused() {
    let out = ok(json!({"@version": 1, "id": 1, "email": "</x><admin>\"'&", "tags": ["[object]"]}));
    assert!(
        out.contains("<ns1:email>&lt;/x&gt;&lt;admin&gt;&quot;&apos;&amp;</ns1:email>"),
        "{out}"
    );
    assert!(out.contains("<tags>[object]</tags>"), "{out}");
    let out = ok(json!({"@version": 1, "@lang": "a\"b\n", "id": 1, "email": "e"}));
    assert!(out.contains("ns2:lang=\"a&quot;b&#10;\""), "{out}");
    for bad in ["\u{0}", "\u{1b}", "\u{ffff}"] {
        let err = order(json!({"@version": 1, "id": 1, "email": bad})).expect_err("invalid char");
        assert!(err.0.contains("XML 1.0"), "{err}");
    }
}

#[test]
fn scalars_render_as_xml_text() {
    let mut fx = Fx::default();
    let items = vec![
        el(fx.el(T, "flag", b(Builtin::Boolean), 0, ONE)),
        el(fx.el(T, "big", b(Builtin::Decimal), 0, ONE)),
        el(fx.el(T, "d", b(Builtin::Double), 0, ONE)),
        el(fx.el(T, "n", fixtures::int(), 0, ONE)),
        el(fx.el(T, "e", string(), 0, ONE)),
    ];
    let ty = fx.complex(None, Some(seq(items)), vec![]);
    let root = fx.global(T, "S", TypeRef::Type(ty));
    let msg = fx.doc(root);
    let input = json!({"flag": false, "big": 1e21, "d": 2.5, "n": -3, "e": ""});
    let out = render_body(&fx.schema, &msg, &input).expect("renders");
    assert_eq!(
        out,
        "<ns1:S xmlns:ns1=\"urn:t\"><ns1:flag>false</ns1:flag><ns1:big>1000000000000000000000</ns1:big>\
         <ns1:d>2.5</ns1:d><ns1:n>-3</ns1:n><ns1:e/></ns1:S>"
    );
}

#[test]
fn absent_elements_are_omitted_and_empty_objects_are_empty_elements() {
    let out = ok(json!({"@version": 1, "id": 1, "email": "e", "address": {"street": ""}}));
    assert!(!out.contains("note") && !out.contains("line"), "{out}");
    assert!(out.contains("<ns1:address><ns1:street/></ns1:address>"), "{out}");
}

#[test]
fn simple_content_with_attributes() {
    let out =
        ok(json!({"@version": 1, "id": 1, "email": "e", "total": {"@currency": "EUR", "#text": "9.5"}}));
    assert!(
        out.contains("<ns1:total currency=\"EUR\">9.5</ns1:total>"),
        "{out}"
    );
    let out = ok(json!({"@version": 1, "id": 1, "email": "e", "total": 3}));
    assert!(out.contains("<ns1:total>3</ns1:total>"), "{out}");
}

#[test]
fn xsi_type_renders_the_derived_type() {
    let out = ok(json!({"@version": 1, "id": 1, "email": "e",
        "address": {"zip": "12345", "@xsi:type": "UsAddress", "street": "Main"}}));
    assert!(out.contains(&format!("xmlns:xsi=\"{XSI}\"")), "{out}");
    assert!(out.contains(
        "<ns1:address xsi:type=\"ns1:UsAddress\"><ns1:street>Main</ns1:street><ns1:zip>12345</ns1:zip></ns1:address>"
    ), "{out}");
    let err = order(json!({"@version": 1, "id": 1, "email": "e", "address": {"@xsi:type": "Nope"}}));
    assert!(err.is_err());
}

#[test]
fn any_type_content_follows_the_convention() {
    let out = ok(json!({"@version": 1, "id": 1, "email": "e",
        "meta": {"@k": "v", "a": [1, 2], "b": {"#text": "t", "c": null}}}));
    assert!(
        out.contains("<meta k=\"v\"><a>1</a><a>2</a><b>t<c xsi:nil=\"true\"/></b></meta>"),
        "{out}"
    );
    let bad = order(json!({"@version": 1, "id": 1, "email": "e", "meta": {"a b": 1}}));
    assert!(bad.is_err_and(|e| e.0.contains("not a valid XML name")));
    let bad = order(json!({"@version": 1, "id": 1, "email": "e", "meta": {"x": [[1]]}}));
    assert!(bad.is_err());
}

#[test]
fn invalid_input_is_an_error_not_bad_xml() {
    let cases = [
        json!([1]),
        json!({"@version": 1, "nope": 1}),
        json!({"@version": 1, "@nope": 1}),
        json!({"@version": 1, "line": {"sku": "x"}}),
        json!({"@version": 1, "id": [1]}),
        json!({"@version": 1, "id": {"x": 1}}),
        json!({"@version": 1, "address": "x"}),
        json!({"@version": 1, "#text": "x"}),
    ];
    for c in cases {
        assert!(order(c.clone()).is_err(), "{c}");
    }
}

#[test]
fn open_types_render_unknown_children_after_declared_ones() {
    let (mut schema, msg) = fixtures::order();
    for t in &mut schema.types {
        if let crate::wsdl::model::TypeDef::Complex(c) = t {
            c.open = true;
            c.any_attribute = true;
        }
    }
    let input = json!({"extra": {"y": "1"}, "@foo": "bar", "@version": 1, "id": 1, "email": "e"});
    let out = render_body(&schema, &msg, &input).expect("renders");
    assert!(out.contains(" foo=\"bar\""), "{out}");
    assert!(
        out.ends_with("<ns1:email>e</ns1:email><extra><y>1</y></extra></ns1:Order>"),
        "{out}"
    );
}

#[test]
fn rpc_literal_wrapper_and_unqualified_parts_in_order() {
    let (schema, msg) = fixtures::rpc(Use::Literal);
    let input = json!({"line": {"qty": 2, "sku": "s"}, "b": "x", "a": 1});
    let out = render_body(&schema, &msg, &input).expect("renders");
    assert_eq!(
        out,
        "<ns1:Add xmlns:ns1=\"urn:t\"><a>1</a><b>x</b><line><sku>s</sku><qty>2</qty></line></ns1:Add>"
    );
    assert!(render_body(&schema, &msg, &json!({"zz": 1})).is_err());
}

#[test]
fn rpc_encoded_types_simple_parts() {
    let (schema, msg) = fixtures::rpc(Use::Encoded);
    let out = render_body(
        &schema,
        &msg,
        &json!({"a": 1, "b": "x", "line": {"sku": "s", "qty": 2}}),
    )
    .expect("renders");
    assert_eq!(
        out,
        format!(
            "<ns1:Add xmlns:ns1=\"urn:t\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"{XSI}\">\
             <a xsi:type=\"xsd:int\">1</a><b xsi:type=\"xsd:string\">x</b><line><sku>s</sku><qty>2</qty></line></ns1:Add>"
        )
    );
    let out = render_body(&schema, &msg, &json!({"a": null})).expect("renders");
    assert!(out.contains("<a xsi:nil=\"true\"/>"), "{out}");
}

#[test]
fn soapenc_arrays_render_items() {
    let mut fx = Fx::default();
    let ty = fx.complex(Some("ArrayOfString"), None, vec![]);
    fx.ct(ty).soapenc_array_of = Some(string());
    let (mut schema, mut msg) = fixtures::rpc(Use::Literal);
    let offset = schema.types.len();
    schema.types.extend(fx.schema.types);
    msg.parts = vec![crate::wsdl::model::Part {
        name: "names".into(),
        kind: crate::wsdl::model::PartKind::Type(TypeRef::Type(offset)),
    }];
    let out = render_body(&schema, &msg, &json!({"names": {"item": ["a", "b"]}})).expect("renders");
    assert!(
        out.contains("<names><item>a</item><item>b</item></names>"),
        "{out}"
    );
    assert!(crate::wsdl::validate::validate(&schema, &msg, &json!({"names": {"item": ["a", 1]}})).is_err());
}

#[test]
fn simple_typed_body_element_and_depth_limit() {
    let mut fx = Fx::default();
    let root = fx.global(T, "Ping", fixtures::int());
    let msg = fx.doc(root);
    assert_eq!(
        render_body(&fx.schema, &msg, &json!({"#text": 5})),
        Ok("<ns1:Ping xmlns:ns1=\"urn:t\">5</ns1:Ping>".into())
    );
    assert!(render_body(&fx.schema, &msg, &json!({})).is_err());
    let ty = fx.schema.types.len();
    let child = fx.el(T, "c", TypeRef::Type(ty), 0, MaxOccurs::Bounded(1));
    fx.complex(Some("Node"), Some(seq(vec![el(child)])), vec![]);
    let root = fx.global(T, "Root", TypeRef::Type(ty));
    let msg = fx.doc(root);
    let mut v = json!({});
    for _ in 0..70 {
        v = json!({ "c": v });
    }
    assert!(render_body(&fx.schema, &msg, &v).is_err_and(|e| e.0.contains("nested deeper")));
}

#[test]
fn substitution_group_members_render_in_the_heads_place() {
    let mut fx = Fx::default();
    let head = fx.el(T, "shape", string(), 1, ONE);
    let member = fx.el(T, "circle", string(), 1, ONE);
    fx.decl(head).substitutes = vec![member];
    let z = fx.el(T, "z", string(), 0, ONE);
    let ty = fx.complex(None, Some(seq(vec![el(head), el(z)])), vec![]);
    let root = fx.global(T, "R", TypeRef::Type(ty));
    let msg = fx.doc(root);
    let input = json!({"z": "1", "circle": "c"});
    assert_eq!(crate::wsdl::validate::validate(&fx.schema, &msg, &input), Ok(()));
    let out = render_body(&fx.schema, &msg, &input).expect("renders");
    assert_eq!(
        out,
        "<ns1:R xmlns:ns1=\"urn:t\"><ns1:circle>c</ns1:circle><ns1:z>1</ns1:z></ns1:R>"
    );
}

#[test]
fn encoded_type_names() {
    use super::names::xsd_name;
    let long = Builtin::Integer {
        min: Some(i64::MIN.into()),
        max: Some(i64::MAX.into()),
    };
    assert_eq!(xsd_name(long, &json!(1)), Some("long"));
    assert_eq!(
        xsd_name(
            Builtin::Integer {
                min: Some(0),
                max: Some(255)
            },
            &json!(1)
        ),
        Some("unsignedByte")
    );
    assert_eq!(
        xsd_name(Builtin::Integer { min: None, max: None }, &json!(1)),
        Some("integer")
    );
    assert_eq!(
        xsd_name(Builtin::Gregorian, &json!("2024-05")),
        Some("gYearMonth")
    );
    assert_eq!(xsd_name(Builtin::Gregorian, &json!("2024-05:00")), Some("gYear"));
    assert_eq!(
        xsd_name(Builtin::Gregorian, &json!("--05-01Z")),
        Some("gMonthDay")
    );
    assert_eq!(xsd_name(Builtin::Gregorian, &json!("--05")), Some("gMonth"));
    assert_eq!(xsd_name(Builtin::Gregorian, &json!("---05")), Some("gDay"));
    assert_eq!(xsd_name(Builtin::AnyType, &json!(1.5)), Some("double"));
    assert_eq!(xsd_name(Builtin::AnyType, &json!({})), None);
}

/// The text between `<ns1:{name}>` and its end tag.
fn element_text<'a>(out: &'a str, name: &str) -> &'a str {
    let open = format!("<ns1:{name}>");
    let start = out.find(&open).map(|i| i + open.len()).expect("element");
    let end = out[start..].find('<').expect("end tag") + start;
    &out[start..end]
}

#[test]
fn v2_numbers_take_the_xsd_lexical_form_from_the_clients_digits() {
    let (schema, msg) = fixtures::order();
    let render = |id: &str, total: &str| {
        let json = format!(
            r##"{{"@version": 1, "id": {id}, "email": "e", "total": {{"@currency": "EUR", "#text": {total}}}}}"##
        );
        let input: Value = serde_json::from_str(&json).expect("json");
        crate::wsdl::validate::validate(&schema, &msg, &input).map_err(|v| v[0].message.clone())?;
        let out = render_body(&schema, &msg, &input).map_err(|e| e.0)?;
        Ok::<_, String>((element_text(&out, "id").to_string(), {
            let i = out.find("<ns1:total").expect("total");
            let s = out[i..].find('>').expect(">") + i + 1;
            out[s..s + out[s..].find('<').expect("<")].to_string()
        }))
    };
    let ok = |id: &str, total: &str| render(id, total).unwrap_or_else(|e| panic!("{id} {total}: {e}"));
    assert_eq!(
        ok("1e2", "12345678901234567890.123456789"),
        ("100".into(), "12345678901234567890.123456789".into())
    );
    assert_eq!(ok("-0", "0.0000001"), ("-0".into(), "0.0000001".into()));
    assert_eq!(
        ok("2147483647", "1e-7"),
        ("2147483647".into(), "0.0000001".into())
    );
    assert_eq!(
        ok("100.0", "99999999999999999999"),
        ("100".into(), "99999999999999999999".into())
    );
    assert_eq!(ok("7", "1.5E+3"), ("7".into(), "1500".into()));
    // Out of range or not an integer: refused, never rounded.
    for (id, why) in [
        ("2147483648", "at most"),
        ("-2147483649", "at least"),
        ("1.5", "integer"),
        ("1e400", "at most"),
    ] {
        let e = render(id, "1").expect_err(id);
        assert!(e.contains(why), "{id}: {e}");
    }
    assert!(render("1", "1e400000").expect_err("too long").contains("digits"));
}

/// Random numerals of every shape into `xs:decimal` and `xs:int`: what is sent has no exponent,
/// equals the client's number exactly, and an integer out of range is refused, never rounded.
#[test]
fn v2_property_random_numerals_reach_the_backend_exactly() {
    use crate::decimal::Decimal;
    let (schema, msg) = fixtures::order();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let digits = |n: u64, next: &mut dyn FnMut() -> u64| -> String {
        let mut s: String = (0..n).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
        if s.len() > 1 {
            s = s.trim_start_matches('0').to_string();
        }
        if s.is_empty() {
            "0".into()
        } else {
            s
        }
    };
    for _ in 0..2000 {
        let sign = if next() % 2 == 0 { "-" } else { "" };
        let int = digits(1 + next() % 25, &mut next);
        let frac = digits(next() % 12, &mut next);
        let exp = match next() % 3 {
            0 => String::new(),
            _ => format!("e{}", (next() % 31) as i64 - 15),
        };
        let dec = if next() % 2 == 0 {
            format!("{sign}{int}.{frac}{exp}")
        } else {
            format!("{sign}{int}{exp}")
        };
        let id = format!("{sign}{int}{}", if next() % 4 == 0 { "e2" } else { "" });
        let json = format!(
            r##"{{"@version": 1, "id": {id}, "email": "e", "total": {{"@currency": "EUR", "#text": {dec}}}}}"##
        );
        let input: Value = serde_json::from_str(&json).expect("json");
        let want_id = Decimal::parse(&id).expect("id");
        let in_range = want_id.cmp_i128(i32::MIN.into()).is_ge() && want_id.cmp_i128(i32::MAX.into()).is_le();
        let valid = crate::wsdl::validate::validate(&schema, &msg, &input);
        assert_eq!(valid.is_ok(), in_range, "{json}: {valid:?}");
        if !in_range {
            continue;
        }
        let out = render_body(&schema, &msg, &input).expect("renders");
        let sent_id = element_text(&out, "id");
        assert!(
            sent_id.bytes().all(|b| b == b'-' || b.is_ascii_digit()),
            "{id} -> {sent_id}"
        );
        assert!(
            Decimal::parse(sent_id).expect("sent").cmp_value(&want_id).is_eq(),
            "{id} -> {sent_id}"
        );
        let i = out.find("<ns1:total").expect("total");
        let s = out[i..].find('>').expect(">") + i + 1;
        let sent = &out[s..s + out[s..].find('<').expect("<")];
        assert!(!sent.contains(['e', 'E']), "{dec} -> {sent}");
        let want = Decimal::parse(&dec).expect("dec");
        assert!(
            Decimal::parse(sent).expect("sent").cmp_value(&want).is_eq(),
            "{dec} -> {sent}"
        );
    }
}

//! Validation rules, one test per rule, over the hand-built schemas of `render::fixtures`.

use super::*;
use crate::wsdl::model::{Builtin, MaxOccurs, Particle, SimpleType, Use};
use crate::wsdl::render::fixtures::{self, attr, b, choice, el, int, seq, string, Fx, ONE, T};
use serde_json::json;

fn ok() -> Value {
    json!({"@version": 2, "id": 7, "email": "a@b.c"})
}

fn with(extra: Value) -> Value {
    let mut v = ok();
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    v
}

fn errors(input: Value) -> Vec<(String, String)> {
    let (schema, msg) = fixtures::order();
    match validate(&schema, &msg, &input) {
        Ok(()) => Vec::new(),
        Err(v) => v.into_iter().map(|v| (v.pointer, v.message)).collect(),
    }
}

fn one_error(input: Value) -> (String, String) {
    let e = errors(input);
    assert_eq!(e.len(), 1, "{e:?}");
    e.into_iter().next().expect("one")
}

#[test]
fn a_valid_request_passes() {
    assert!(errors(ok()).is_empty());
    let full = with(json!({
        "@lang": "en", "note": null, "tags": ["a", "b"], "color": "red",
        "line": [{"sku": "ABC1", "qty": 3, "price": "12.50"}, {"sku": "XYZ22", "qty": 100, "price": 3.5}],
        "total": {"@currency": "EUR", "#text": "99.95"},
        "address": {"@xsi:type": "UsAddress", "street": "Main", "zip": "12345"},
        "meta": {"anything": [1, {"goes": true}]}
    }));
    assert_eq!(errors(full), vec![]);
}

#[test]
fn unknown_keys_and_attributes_are_violations() {
    assert_eq!(
        one_error(with(json!({"nope": 1}))),
        ("/nope".into(), "unknown field".into())
    );
    assert_eq!(
        one_error(with(json!({"@nope": 1}))),
        ("/@nope".into(), "unknown attribute".into())
    );
    assert_eq!(one_error(with(json!({"#text": "x"}))).0, "/#text");
}

#[test]
fn required_children_and_attributes() {
    let e = errors(json!({"email": "a@b.c"}));
    assert!(e.contains(&("/id".into(), "required".into())), "{e:?}");
    assert!(
        e.contains(&("/@version".into(), "required attribute".into())),
        "{e:?}"
    );
    let (p, m) = one_error(with(json!({"line": [{"qty": 1}]})));
    assert_eq!((p.as_str(), m.as_str()), ("/line/0/sku", "required"));
}

#[test]
fn repeated_elements_are_arrays_with_counts() {
    assert_eq!(
        one_error(with(json!({"line": {"sku": "ABC1", "qty": 1}}))).1,
        "must be an array (the element may repeat)"
    );
    assert_eq!(
        one_error(with(json!({"id": [1]}))).1,
        "must not be an array (the element occurs at most once)"
    );
    assert_eq!(
        one_error(with(json!({"tags": ["a", "b", "c", "d"]}))),
        ("/tags".into(), "must have at most 3 item(s)".into())
    );
    assert!(errors(with(json!({"tags": []}))).is_empty());
    let (p, m) = one_error(with(
        json!({"line": [{"sku": "ABC1", "qty": 1}, {"sku": "abc", "qty": 1}]}),
    ));
    assert_eq!(p, "/line/1/sku");
    assert!(m.contains("pattern"), "{m}");
}

#[test]
fn min_occurs_of_a_repeating_element() {
    let mut fx = Fx::default();
    let item = fx.el(T, "item", string(), 2, MaxOccurs::Bounded(4));
    let list = fx.complex(None, Some(seq(vec![el(item)])), vec![]);
    let root = fx.global(T, "List", TypeRef::Type(list));
    let msg = fx.doc(root);
    let check = |v: Value| validate(&fx.schema, &msg, &v).map_err(|e| e[0].message.clone());
    assert_eq!(
        check(json!({"item": ["a"]})),
        Err("must have at least 2 item(s)".into())
    );
    assert_eq!(
        check(json!({"item": []})),
        Err("must have at least 2 item(s)".into())
    );
    assert_eq!(check(json!({})), Err("required".into()));
    assert_eq!(check(json!({"item": ["a", "b"]})), Ok(()));
}

#[test]
fn max_occurs_inside_a_repeating_group_bounds_each_round_only() {
    let mut fx = Fx::default();
    let item = fx.el(T, "item", string(), 1, ONE);
    let group = Particle::Sequence {
        items: vec![el(item)],
        min: 1,
        max: MaxOccurs::Unbounded,
    };
    let list = fx.complex(None, Some(group), vec![]);
    let root = fx.global(T, "List", TypeRef::Type(list));
    let msg = fx.doc(root);
    assert_eq!(
        validate(&fx.schema, &msg, &json!({"item": ["a", "b", "c"]})),
        Ok(())
    );
}

#[test]
fn null_only_for_nillable_elements() {
    assert!(errors(with(json!({"note": null}))).is_empty());
    assert_eq!(
        one_error(with(json!({"id": null}))).1,
        "must not be null (the element is not nillable)"
    );
}

#[test]
fn complex_types_must_be_objects() {
    assert_eq!(
        one_error(with(json!({"address": "Main"}))),
        ("/address".into(), "must be an object".into())
    );
    assert_eq!(one_error(json!([1])), ("".into(), "must be a JSON object".into()));
}

#[test]
fn choice_allows_one_branch_and_requires_one() {
    let (p, m) = one_error(with(json!({"phone": "123"})));
    assert_eq!(p, "");
    assert!(
        m.contains("only one of") && m.contains("email") && m.contains("phone"),
        "{m}"
    );
    let (_, m) = one_error(json!({"@version": 1, "id": 1}));
    assert!(m.contains("one of `email`, `phone` is required"), "{m}");
}

#[test]
fn a_sequence_branch_of_a_choice_may_give_all_its_elements() {
    let mut fx = Fx::default();
    let (a, b1, c) = (
        fx.el(T, "a", string(), 1, ONE),
        fx.el(T, "b", string(), 1, ONE),
        fx.el(T, "c", string(), 1, ONE),
    );
    let ty = fx.complex(
        None,
        Some(choice(vec![seq(vec![el(a), el(b1)]), el(c)], 1, ONE)),
        vec![],
    );
    let root = fx.global(T, "R", TypeRef::Type(ty));
    let msg = fx.doc(root);
    assert_eq!(validate(&fx.schema, &msg, &json!({"a": "1", "b": "2"})), Ok(()));
    assert!(validate(&fx.schema, &msg, &json!({"a": "1", "c": "2"})).is_err());
    let repeating = fx.complex(
        None,
        Some(choice(vec![el(a), el(c)], 1, MaxOccurs::Unbounded)),
        vec![],
    );
    let root = fx.global(T, "S", TypeRef::Type(repeating));
    let msg = fx.doc(root);
    assert_eq!(
        validate(&fx.schema, &msg, &json!({"a": ["1"], "c": ["2"]})),
        Ok(())
    );
}

#[test]
fn simple_types_by_builtin() {
    assert_eq!(
        one_error(with(json!({"id": "7"}))).1,
        "must be a JSON number (not a string)"
    );
    assert_eq!(one_error(with(json!({"id": 7.5}))).1, "must be an integer");
    assert_eq!(
        one_error(with(json!({"id": 3_000_000_000u64}))).1,
        "must be at most 2147483647"
    );
    assert_eq!(one_error(with(json!({"email": 5}))).1, "must be a string");
    assert_eq!(
        one_error(with(json!({"line": [{"sku": "ABC1", "qty": 0}]}))).1,
        "must be at least 1"
    );
    assert_eq!(
        one_error(with(json!({"line": [{"sku": "ABC1", "qty": 1, "price": "1e3"}]}))).0,
        "/line/0/price"
    );
    assert!(errors(with(json!({"line": [{"sku": "ABC1", "qty": 1, "price": "-.5"}]}))).is_empty());
    assert_eq!(
        one_error(with(json!({"color": "blue"}))).1,
        "must be one of `red`, `green`"
    );
    assert!(
        one_error(with(json!({"line": [{"sku": "ABCDEFGHIJ12", "qty": 1}]})))
            .1
            .contains("at most 10")
    );
}

#[test]
fn builtin_lexical_forms() {
    let check = |bt: Builtin, v: Value| super::scalar::check(&Schema::default(), b(bt), &v).is_ok();
    assert!(check(Builtin::Boolean, json!(true)) && !check(Builtin::Boolean, json!("true")));
    assert!(
        check(Builtin::Double, json!(1.5))
            && check(Builtin::Float, json!("INF"))
            && !check(Builtin::Double, json!("x"))
    );
    assert!(check(Builtin::Date, json!("2024-02-29")) && !check(Builtin::Date, json!("2023-02-29")));
    assert!(check(Builtin::Date, json!("2024-01-31+02:00")) && !check(Builtin::Date, json!("2024-1-31")));
    assert!(
        check(Builtin::DateTime, json!("2026-02-15T14:30:00.000Z"))
            && !check(Builtin::DateTime, json!("2026-02-15 14:30"))
    );
    assert!(check(Builtin::Time, json!("23:59:59.5-05:00")) && !check(Builtin::Time, json!("25:00:00")));
    assert!(check(Builtin::Duration, json!("P1Y2M3DT4H5M6.7S")) && check(Builtin::Duration, json!("-PT30M")));
    assert!(!check(Builtin::Duration, json!("P")) && !check(Builtin::Duration, json!("P1DT")));
    for g in ["2024", "2024-05", "--05", "--05-31", "---31", "2024Z"] {
        assert!(check(Builtin::Gregorian, json!(g)), "{g}");
    }
    assert!(!check(Builtin::Gregorian, json!("May")));
    assert!(
        check(Builtin::Base64Binary, json!("aGVsbG8=")) && !check(Builtin::Base64Binary, json!("aGVsbG8"))
    );
    assert!(check(Builtin::HexBinary, json!("0aFF")) && !check(Builtin::HexBinary, json!("0aF")));
    assert!(check(Builtin::AnyType, json!({"x": [1]})) && !check(Builtin::AnySimpleType, json!([1])));
    let huge = Builtin::Integer { min: None, max: None };
    assert!(check(huge, json!("123456789012345678901234567890")) && !check(huge, json!("12")));
    let ulong = Builtin::Integer {
        min: Some(0),
        max: Some(u64::MAX.into()),
    };
    assert!(check(ulong, json!(u64::MAX)) && !check(ulong, json!("-99999999999999999999")));
    assert!(check(ulong, json!("18446744073709551615")) && !check(ulong, json!("18446744073709551616")));
}

#[test]
fn lists_and_fixed_values() {
    let mut fx = Fx::default();
    let ints = fx.simple(SimpleType {
        list_of: Some(Builtin::Integer { min: None, max: None }),
        max_length: Some(3),
        ..SimpleType::default()
    });
    let v = fx.el(T, "v", ints, 1, ONE);
    fx.decl(v).fixed = None;
    let f = fx.el(T, "f", string(), 0, ONE);
    fx.decl(f).fixed = Some("x".into());
    let ty = fx.complex(
        None,
        Some(seq(vec![el(v), el(f)])),
        vec![attr("", "k", string(), false)],
    );
    fx.ct(ty).attributes[0].fixed = Some("1".into());
    let root = fx.global(T, "R", TypeRef::Type(ty));
    let msg = fx.doc(root);
    let check = |v: Value| validate(&fx.schema, &msg, &v).map_err(|e| e[0].message.clone());
    assert_eq!(check(json!({"v": "1 2 3"})), Ok(()));
    assert!(check(json!({"v": "1 x"})).is_err_and(|m| m.starts_with("item 2")));
    assert!(check(json!({"v": "1 2 3 4"})).is_err());
    assert_eq!(
        check(json!({"v": "1", "f": "y"})),
        Err("must be the fixed value `x`".into())
    );
    assert_eq!(
        check(json!({"v": "1", "@k": "2"})),
        Err("must be the fixed value `1`".into())
    );
}

#[test]
fn simple_content_and_attributes_are_typed() {
    assert_eq!(
        one_error(with(json!({"total": {"#text": "9"}}))),
        ("/total/@currency".into(), "required attribute".into())
    );
    assert_eq!(
        one_error(with(json!({"total": {"@currency": "EUR", "#text": "abc"}}))).0,
        "/total/#text"
    );
    assert_eq!(one_error(with(json!({"total": 5}))).1, "required attribute");
    assert!(
        errors(with(json!({"@version": "2"}))).is_empty(),
        "attributes may keep their XML text"
    );
    assert_eq!(one_error(with(json!({"@version": "2x"}))).1, "must be an integer");
    assert_eq!(
        one_error(with(json!({"total": {"@currency": "EUR"}}))),
        ("/total/#text".into(), "required (the element's text)".into())
    );
}

#[test]
fn xsi_type_selects_a_derived_type() {
    assert_eq!(
        one_error(with(json!({"address": {"street": "M", "zip": "1"}}))),
        ("/address/zip".into(), "unknown field".into())
    );
    let (p, m) = one_error(with(json!({"address": {"@xsi:type": "Nope", "street": "M"}})));
    assert_eq!(p, "/address/@xsi:type");
    assert!(m.contains("Address, UsAddress"), "{m}");
}

#[test]
fn abstract_types_need_xsi_type() {
    let (mut schema, msg) = fixtures::order();
    for t in &mut schema.types {
        if let TypeDef::Complex(c) = t {
            if c.name.as_ref().is_some_and(|n| n.local == "Address") {
                c.is_abstract = true;
            }
        }
    }
    let e = validate(&schema, &msg, &with(json!({"address": {"street": "M"}}))).expect_err("abstract");
    assert!(
        e[0].message.contains("abstract") && e[0].message.contains("UsAddress"),
        "{e:?}"
    );
    let good = with(json!({"address": {"@xsi:type": "UsAddress", "street": "M", "zip": "1"}}));
    assert_eq!(validate(&schema, &msg, &good), Ok(()));
}

#[test]
fn open_types_accept_unknown_children_and_any_attribute_unknown_attributes() {
    let (mut schema, msg) = fixtures::order();
    for t in &mut schema.types {
        if let TypeDef::Complex(c) = t {
            c.open = true;
            c.any_attribute = true;
        }
    }
    assert_eq!(
        validate(&schema, &msg, &with(json!({"extra": {"x": 1}, "@foo": "bar"}))),
        Ok(())
    );
    assert!(validate(&schema, &msg, &with(json!({"@foo": {"x": 1}}))).is_err());
}

#[test]
fn rpc_parts_are_keys() {
    let (schema, msg) = fixtures::rpc(Use::Literal);
    let good = json!({"a": 1, "b": "x", "line": {"sku": "s", "qty": 2}});
    assert_eq!(validate(&schema, &msg, &good), Ok(()));
    let e = validate(&schema, &msg, &json!({"a": "1", "zz": 0, "line": {"sku": "s"}})).expect_err("bad");
    let got: Vec<(&str, &str)> = e
        .iter()
        .map(|v| (v.pointer.as_str(), v.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/a", "must be a JSON number (not a string)"),
            ("/b", "required"),
            ("/line/qty", "required"),
            ("/zz", "unknown field")
        ]
    );
}

#[test]
fn pointers_escape_and_violations_stop_at_the_limit() {
    assert_eq!(pointer("/a", "x/y~z"), "/a/x~1y~0z");
    let mut many = serde_json::Map::new();
    for i in 0..80 {
        many.insert(format!("k{i}"), json!(1));
    }
    assert_eq!(errors(Value::Object(many)).len(), MAX_VIOLATIONS);
    assert_eq!(one_error(with(json!({"a/b": 1}))).0, "/a~1b");
}

#[test]
fn depth_is_bounded() {
    let mut fx = Fx::default();
    let ty = fx.schema.types.len();
    let child = fx.el(T, "child", TypeRef::Type(ty), 0, ONE);
    assert_eq!(fx.complex(Some("Node"), Some(seq(vec![el(child)])), vec![]), ty);
    let root = fx.global(T, "Root", TypeRef::Type(ty));
    let msg = fx.doc(root);
    let mut v = json!({});
    for _ in 0..70 {
        v = json!({ "child": v });
    }
    let e = validate(&fx.schema, &msg, &v).expect_err("too deep");
    assert!(e[0].message.contains("nested deeper"), "{e:?}");
}

#[test]
fn coerce_scalar_parses_parameters() {
    let s = Schema::default();
    assert_eq!(coerce_scalar(&s, int(), "42"), Ok(json!(42)));
    assert_eq!(coerce_scalar(&s, int(), "+7"), Ok(json!(7)));
    assert!(coerce_scalar(&s, int(), "4x").is_err());
    let big = coerce_scalar(&s, int(), "123456789012345678901234").expect("integer");
    assert!(
        big.is_number()
            && big.as_number().map(serde_json::Number::as_str) == Some("123456789012345678901234"),
        "{big}"
    );
    assert_eq!(
        coerce_scalar(&s, int(), "-007").map(|v| v.to_string()),
        Ok("-7".into())
    );
    assert_eq!(coerce_scalar(&s, b(Builtin::Double), "1.5"), Ok(json!(1.5)));
    assert_eq!(coerce_scalar(&s, b(Builtin::Double), "INF"), Ok(json!("INF")));
    assert_eq!(
        coerce_scalar(&s, b(Builtin::Decimal), "12.50"),
        Ok(json!("12.50"))
    );
    assert!(coerce_scalar(&s, b(Builtin::Decimal), "1e3").is_err());
    assert_eq!(coerce_scalar(&s, b(Builtin::Boolean), "1"), Ok(json!(true)));
    assert!(coerce_scalar(&s, b(Builtin::Boolean), "yes").is_err());
    assert_eq!(coerce_scalar(&s, string(), "007"), Ok(json!("007")));
    let (schema, _) = fixtures::rpc(Use::Literal);
    assert!(coerce_scalar(&schema, TypeRef::Type(0), "x").is_err());
}

#[test]
fn xsd_patterns_translate() {
    use super::pattern::{is_match, translate};
    assert_eq!(is_match(r"[A-Z]{3}\d+", "ABC12"), Some(true));
    assert_eq!(
        is_match(r"[A-Z]{3}\d+", "xABC12"),
        Some(false),
        "implicitly anchored"
    );
    assert_eq!(is_match(r"a$b^", "a$b^"), Some(true), "^ and $ are literals");
    assert_eq!(is_match(r"[a-z-[aeiou]]+", "bcd"), Some(true));
    assert_eq!(is_match(r"[a-z-[aeiou]]+", "bad"), Some(false));
    assert_eq!(is_match(r"\i\c*", "_x-1.y"), Some(true));
    assert_eq!(is_match(r"\w+", "a+b"), Some(true), "XSD \\w includes symbols");
    assert_eq!(is_match(r"a.c", "a\rc"), Some(false));
    assert_eq!(is_match(r"[&~]+", "&~"), Some(true));
    assert_eq!(
        is_match(r"\p{IsBasicLatin}+", "x"),
        None,
        "blocks are not checked"
    );
    assert_eq!(is_match(r"(unclosed", "x"), None);
    assert_eq!(translate(r"\I"), None);
    assert_eq!(is_match(r"(\d{3})|([A-Z]{2})", "AB"), Some(true));
}

#[test]
fn simple_typed_body_element_takes_text() {
    let mut fx = Fx::default();
    let root = fx.global(T, "Ping", string());
    let msg = fx.doc(root);
    assert_eq!(validate(&fx.schema, &msg, &json!({"#text": "hi"})), Ok(()));
    assert!(validate(&fx.schema, &msg, &json!({"x": "hi"})).is_err());
}

#[test]
fn xml_names_follow_xml_1_0() {
    for good in ["a", "_x", "é1", "a-b.c", "名前"] {
        assert!(is_ncname(good), "{good}");
    }
    for bad in ["", "1a", "a:b", "a b", "ª", "-a", "a<"] {
        assert!(!is_ncname(bad), "{bad}");
    }
    let e = errors(with(
        json!({"meta": {"a b": 1, "@x:y": "1", "#text": [1], "ok": [[1]]}}),
    ));
    assert_eq!(e.len(), 4, "{e:?}");
}

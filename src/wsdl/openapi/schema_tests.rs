//! JSON Schema of representative XSD types.

use super::*;
use crate::wsdl::model::Wsdl;
use serde_json::json;

fn demo() -> Wsdl {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wsdl/customers.wsdl");
    crate::wsdl::load(&path).expect("demo WSDL loads")
}

fn int(min: i128, max: i128) -> Value {
    builtin(Builtin::Integer {
        min: Some(min),
        max: Some(max),
    })
}

#[test]
fn builtins_get_types_and_formats() {
    assert_eq!(
        int(i32::MIN.into(), i32::MAX.into()),
        json!({"type": "integer", "format": "int32"})
    );
    assert_eq!(
        int(i64::MIN.into(), i64::MAX.into()),
        json!({"type": "integer", "format": "int64"})
    );
    assert_eq!(
        int(0, 65535),
        json!({"type": "integer", "format": "int32", "minimum": 0, "maximum": 65535})
    );
    assert_eq!(
        int(0, u64::MAX.into()),
        json!({"type": "integer", "minimum": 0, "maximum": 18446744073709551615u64})
    );
    assert_eq!(
        builtin(Builtin::Integer { min: None, max: None }),
        json!({"type": "integer"})
    );
    assert_eq!(
        builtin(Builtin::Decimal),
        json!({"type": ["string", "number"], "format": "decimal"})
    );
    assert_eq!(
        builtin(Builtin::DateTime),
        json!({"type": "string", "format": "date-time"})
    );
    assert_eq!(
        builtin(Builtin::Date),
        json!({"type": "string", "format": "date"})
    );
    assert_eq!(
        builtin(Builtin::Double),
        json!({"type": "number", "format": "double"})
    );
    assert_eq!(builtin(Builtin::Base64Binary)["format"], json!("byte"));
    assert_eq!(builtin(Builtin::AnyType), json!({}));
}

#[test]
fn facets_become_enum_lengths_and_anchored_patterns() {
    let st = SimpleType {
        base: Some(Builtin::String),
        pattern: Some("[A-Z]{3}".into()),
        min_length: Some(3),
        max_length: Some(3),
        ..SimpleType::default()
    };
    assert_eq!(
        simple(&st),
        json!({"type": "string", "minLength": 3, "maxLength": 3, "pattern": "^(?:[A-Z]{3})$"})
    );
    let ints = SimpleType {
        base: Some(Builtin::Integer {
            min: Some(i32::MIN.into()),
            max: Some(i32::MAX.into()),
        }),
        enumeration: vec!["1".into(), "2".into()],
        ..SimpleType::default()
    };
    assert_eq!(
        simple(&ints),
        json!({"type": "integer", "format": "int32", "enum": [1, 2]})
    );
}

#[test]
fn nullable_widens_type_or_wraps() {
    assert_eq!(
        nullable(json!({"type": "string"})),
        json!({"type": ["string", "null"]})
    );
    assert_eq!(
        nullable(json!({"type": ["string", "number"]})),
        json!({"type": ["string", "number", "null"]})
    );
    let r = json!({"$ref": "#/components/schemas/X"});
    assert_eq!(nullable(r.clone()), json!({"anyOf": [r, {"type": "null"}]}));
    let e = json!({"type": "string", "enum": ["a"]});
    assert_eq!(nullable(e.clone()), json!({"anyOf": [e, {"type": "null"}]}));
}

#[test]
fn named_complex_types_are_components_in_schema_order() {
    let w = demo();
    let mut comps = Components::default();
    let decl = w
        .schema
        .global_elements
        .iter()
        .find(|(q, _)| q.local == "GetCustomerResponse")
        .and_then(|(_, id)| w.schema.elements.get(*id))
        .expect("element");
    let top = SchemaGen::new(&w.schema, &mut comps).element(decl);
    assert_eq!(
        top,
        json!({
            "type": "object",
            "properties": { "customer": { "$ref": "#/components/schemas/Customer" } },
            "required": ["customer"],
            "additionalProperties": false,
        })
    );
    let customer = &comps.schemas["Customer"];
    let keys: Vec<&String> = customer["properties"]
        .as_object()
        .expect("props")
        .keys()
        .collect();
    // Properties come in the schema's sequence order (serde_json keeps insertion order).
    assert_eq!(
        keys,
        ["id", "name", "email", "tier", "since", "balance", "active", "phones", "address"]
    );
    assert_eq!(
        customer["properties"]["tier"],
        json!({"type": "string", "enum": ["Gold", "Silver", "Bronze"]})
    );
    assert_eq!(customer["properties"]["balance"]["format"], json!("decimal"));
    assert_eq!(customer["required"].as_array().map(Vec::len), Some(9));
    assert_eq!(
        comps.schemas["PhoneList"]["properties"]["phone"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/Phone"}})
    );
    assert_eq!(
        comps.schemas["Phone"],
        json!({
            "type": "object",
            "properties": { "@type": {"type": "string"}, "#text": {"type": "string"} },
            "required": ["@type"],
            "additionalProperties": false,
        })
    );
}

#[test]
fn required_repeating_elements_need_their_minimum_of_items() {
    let w = demo();
    let mut comps = Components::default();
    let id = w
        .schema
        .global_types
        .iter()
        .find(|(q, _)| q.local == "NewOrderLineList")
        .map(|(_, id)| *id);
    SchemaGen::new(&w.schema, &mut comps).type_schema(TypeRef::Type(id.expect("type")), "x");
    assert_eq!(
        comps.schemas["NewOrderLineList"]["properties"]["line"],
        json!({"type": "array", "items": {"$ref": "#/components/schemas/NewOrderLine"}, "minItems": 1})
    );
}

#[test]
fn recursive_types_refer_to_themselves() {
    let xsd = r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
        xmlns:t="urn:r" targetNamespace="urn:r"><types><xs:schema targetNamespace="urn:r">
        <xs:complexType name="Node"><xs:sequence>
          <xs:element name="kids" type="t:Node" minOccurs="0" maxOccurs="3"/>
          <xs:element name="note" type="xs:string" nillable="true"/>
        </xs:sequence></xs:complexType>
        <xs:element name="root" type="t:Node"/>
      </xs:schema></types></definitions>"#;
    let w = crate::wsdl::load_files(&[("/r.wsdl", xsd)]).expect("loads");
    let id = w
        .schema
        .global_elements
        .iter()
        .find(|(q, _)| q.local == "root")
        .map(|(_, id)| *id)
        .expect("root");
    let mut comps = Components::default();
    let s = SchemaGen::new(&w.schema, &mut comps).element(&w.schema.elements[id]);
    assert_eq!(s, json!({"$ref": "#/components/schemas/Node"}));
    assert_eq!(
        comps.schemas["Node"]["properties"],
        json!({
            "kids": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}, "maxItems": 3},
            "note": {"type": ["string", "null"]},
        })
    );
}

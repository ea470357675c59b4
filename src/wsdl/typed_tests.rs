//! Unit tests of the schema-aware [`SchemaShaper`](super::SchemaShaper): derived types, substitution
//! groups, SOAP-ENC arrays, RPC parts and nil / empty / absent, through the pipeline's `parse_typed`.

use crate::mapping::schema::{parse_typed, stream_typed, Bound, Gates};
use crate::soap::convert::{Tally, Undeclared};
use crate::soap::parse::{Outcome, XmlLimits};
use crate::wsdl::load_files;
use crate::wsdl::model::Wsdl;
use serde_json::{json, Value};

const ENV: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:t="urn:t"><s:Body>"#;

/// A WSDL with one operation `Op` of the given style, `schema` and message parts.
fn wsdl(style: &str, body: &str, schema: &str, out_parts: &str) -> Wsdl {
    let text = format!(
        r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t"
    xmlns:enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">
  <types><xs:schema targetNamespace="urn:t" elementFormDefault="qualified">{schema}</xs:schema></types>
  <message name="In"/>
  <message name="Out">{out_parts}</message>
  <portType name="PT"><operation name="Op"><input message="t:In"/><output message="t:Out"/></operation></portType>
  <binding name="B" type="t:PT"><soap:binding style="{style}" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Op"><soap:operation soapAction="urn:t/Op"/>
      <input><soap:body {body}/></input><output><soap:body {body}/></output></operation></binding>
  <service name="S"><port name="P" binding="t:B"><soap:address location="http://localhost/s"/></port></service>
</definitions>"#
    );
    load_files(&[("/mem/t.wsdl", &text)]).unwrap_or_else(|e| panic!("load failed: {e}"))
}

/// A document/literal WSDL whose output is the element `t:R`.
fn document(schema: &str) -> Wsdl {
    wsdl(
        "document",
        r#"use="literal""#,
        schema,
        r#"<part name="parameters" element="t:R"/>"#,
    )
}

/// Converts a Body (inside the envelope above) as the pipeline does for `Op`.
fn convert(w: &Wsdl, body: &str) -> Value {
    let op = w.operation("Op", None).expect("operation Op");
    let xml = format!("{ENV}{body}</s:Body></s:Envelope>");
    let bound = Bound { wsdl: w, op };
    let tally = Tally::default();
    let gates = Gates::all(Undeclared::Drop, &tally);
    let r = parse_typed(xml.as_bytes(), &XmlLimits::default(), bound, gates);
    let text = stream_typed(xml.as_bytes(), &XmlLimits::default(), bound, gates);
    crate::soap::stream::check_against_tree(&r, &text);
    match r.expect("parses").outcome {
        Outcome::Payload(v) => v,
        Outcome::Fault(f) => panic!("unexpected fault {f:?}"),
    }
}

const ANIMALS: &str = r#"
  <xs:complexType name="Animal"><xs:sequence><xs:element name="name" type="xs:string"/></xs:sequence>
  </xs:complexType>
  <xs:complexType name="Dog"><xs:complexContent><xs:extension base="t:Animal"><xs:sequence>
    <xs:element name="toy" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
    <xs:element name="age" type="xs:int"/>
  </xs:sequence></xs:extension></xs:complexContent></xs:complexType>
  <xs:element name="R"><xs:complexType><xs:sequence>
    <xs:element name="animal" type="t:Animal" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType></xs:element>"#;

#[test]
fn xsi_type_selects_the_derived_type_its_children_and_arrays() {
    let w = document(ANIMALS);
    let v = convert(
        &w,
        r#"<t:R><t:animal xsi:type="t:Dog"><t:name>Rex</t:name><t:toy>ball</t:toy><t:age>3</t:age></t:animal>
        <t:animal><t:name>Tom</t:name></t:animal></t:R>"#,
    );
    let dog = json!({"@xsi:type": "Dog", "name": "Rex", "toy": ["ball"], "age": 3});
    assert_eq!(v, json!({"animal": [dog, {"name": "Tom"}]}));
    let none = convert(
        &w,
        r#"<t:R><t:animal xsi:type="t:Dog"><t:name>Rex</t:name><t:age>3</t:age></t:animal></t:R>"#,
    );
    assert_eq!(
        none,
        json!({"animal": [{"@xsi:type": "Dog", "name": "Rex", "toy": [], "age": 3}]})
    );
}

#[test]
fn xsi_type_naming_a_base_type_keeps_the_declared_derived_type() {
    let w = document(&ANIMALS.replace(
        r#"name="animal" type="t:Animal""#,
        r#"name="animal" type="t:Dog""#,
    ));
    let v = convert(
        &w,
        r#"<t:R><t:animal xsi:type="t:Animal"><t:name>Rex</t:name><t:age>3</t:age></t:animal></t:R>"#,
    );
    assert_eq!(
        v,
        json!({"animal": [{"@xsi:type": "Animal", "name": "Rex", "toy": [], "age": 3}]})
    );
}

#[test]
fn a_substitution_group_member_stands_in_for_its_head() {
    let w = document(
        r#"<xs:complexType name="Item"><xs:sequence><xs:element name="id" type="xs:long"/></xs:sequence>
        </xs:complexType>
        <xs:complexType name="Book"><xs:complexContent><xs:extension base="t:Item"><xs:sequence>
          <xs:element name="pages" type="xs:int"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>
        <xs:element name="item" type="t:Item" abstract="true"/>
        <xs:element name="book" type="t:Book" substitutionGroup="t:item"/>
        <xs:element name="R"><xs:complexType><xs:sequence>
          <xs:element ref="t:item" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>"#,
    );
    let v = convert(
        &w,
        "<t:R><t:book><t:id>7</t:id><t:pages>120</t:pages></t:book></t:R>",
    );
    assert_eq!(v, json!({"book": [{"id": 7, "pages": 120}]}));
}

const ENCODED: &str =
    r#"use="encoded" namespace="urn:t" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/""#;

fn encoded_arrays() -> Wsdl {
    wsdl(
        "rpc",
        ENCODED,
        r#"<xs:import namespace="http://schemas.xmlsoap.org/soap/encoding/"/>
        <xs:complexType name="ArrayOfInt"><xs:complexContent><xs:restriction base="enc:Array">
          <xs:attribute ref="enc:arrayType" wsdl:arrayType="xs:int[]"/>
        </xs:restriction></xs:complexContent></xs:complexType>"#,
        r#"<part name="numbers" type="t:ArrayOfInt"/><part name="other" type="xs:anyType"/>"#,
    )
}

#[test]
fn soap_enc_array_items_are_always_arrays_of_the_item_type() {
    let w = encoded_arrays();
    let one = convert(
        &w,
        r#"<t:OpResponse><numbers xsi:type="enc:Array" enc:arrayType="xsd:int[1]"><item>5</item></numbers>
        </t:OpResponse>"#,
    );
    assert_eq!(
        one,
        json!({"numbers": {"@xsi:type": "Array", "@arrayType": "xsd:int[1]", "item": [5]}})
    );
    let two = convert(
        &w,
        "<t:OpResponse><numbers><a>1</a><a>2</a></numbers></t:OpResponse>",
    );
    assert_eq!(two, json!({"numbers": {"a": [1, 2]}}));
}

#[test]
fn xsi_type_soap_enc_array_and_soap_enc_scalars_shape_untyped_content() {
    let body = r#"<t:OpResponse><other xsi:type="enc:Array"><item xsi:type="enc:int">4</item></other>
        </t:OpResponse>"#;
    let expected = json!({"other": {"@xsi:type": "Array", "item": [{"@xsi:type": "int", "#text": 4}]}});
    assert_eq!(convert(&encoded_arrays(), body), expected);
    // Also when the schema itself never mentions SOAP-ENC.
    let plain = wsdl("rpc", ENCODED, "", r#"<part name="other" type="xs:anyType"/>"#);
    assert_eq!(convert(&plain, body), expected);
}

#[test]
fn rpc_literal_parts_are_typed_by_their_types() {
    let w = wsdl(
        "rpc",
        r#"use="literal" namespace="urn:t""#,
        r#"<xs:complexType name="Names"><xs:sequence>
          <xs:element name="name" type="xs:string" maxOccurs="unbounded"/></xs:sequence></xs:complexType>"#,
        r#"<part name="count" type="xs:int"/><part name="names" type="t:Names"/><part name="ok" type="xs:boolean"/>"#,
    );
    let v = convert(
        &w,
        "<t:OpResponse><count>2</count><names><name>007</name></names><ok>1</ok></t:OpResponse>",
    );
    assert_eq!(v, json!({"count": 2, "names": {"name": ["007"]}, "ok": true}));
}

#[test]
fn nil_empty_and_absent_stay_apart() {
    let w = document(
        r#"<xs:element name="R"><xs:complexType><xs:sequence>
          <xs:element name="s" type="xs:string" minOccurs="0" nillable="true"/>
          <xs:element name="i" type="xs:int" minOccurs="0" nillable="true"/>
          <xs:element name="list" type="xs:string" minOccurs="0" maxOccurs="unbounded" nillable="true"/>
        </xs:sequence></xs:complexType></xs:element>"#,
    );
    let nil = r#"<t:R><t:s xsi:nil="true"/><t:i xsi:nil="1"/><t:list xsi:nil="true"/><t:list/></t:R>"#;
    assert_eq!(
        convert(&w, nil),
        json!({"s": null, "i": null, "list": [null, ""]})
    );
    assert_eq!(
        convert(&w, "<t:R><t:s/><t:i>0</t:i></t:R>"),
        json!({"s": "", "i": 0, "list": []})
    );
    assert_eq!(convert(&w, "<t:R/>"), json!({"list": []}));
    assert_eq!(
        convert(&w, r#"<t:R><t:s xsi:nil="false"> x </t:s></t:R>"#),
        json!({"s": " x ", "list": []})
    );
}

const MONEY: &str = r#"
  <xs:complexType name="Money"><xs:simpleContent><xs:extension base="xs:decimal">
    <xs:attribute name="currency" type="xs:string"/><xs:attribute name="exact" type="xs:boolean"/>
  </xs:extension></xs:simpleContent></xs:complexType>
  <xs:complexType name="Box"><xs:sequence><xs:element name="w" type="xs:int" minOccurs="0"/></xs:sequence>
    <xs:attribute name="n" type="xs:int"/></xs:complexType>
  <xs:element name="R"><xs:complexType><xs:sequence>
    <xs:element name="m" type="t:Money" maxOccurs="unbounded"/>
    <xs:element name="b" type="t:Box" minOccurs="0" maxOccurs="unbounded" nillable="true"/>
  </xs:sequence></xs:complexType></xs:element>"#;

#[test]
fn complex_types_are_objects_and_attributes_are_typed() {
    let w = document(MONEY);
    let body = r#"<t:R><t:m currency="EUR" exact="true">1.50</t:m><t:m>2</t:m><t:b/><t:b n="3"><t:w>4</t:w></t:b></t:R>"#;
    assert_eq!(
        convert(&w, body),
        json!({"m": [{"@currency": "EUR", "@exact": true, "#text": "1.50"}, {"#text": "2"}],
               "b": [{}, {"@n": 3, "w": 4}]})
    );
}

#[test]
fn xsi_nil_wins_over_attributes() {
    let w = document(MONEY);
    let body = r#"<t:R><t:m>1</t:m><t:b n="3" xsi:nil="true"/></t:R>"#;
    assert_eq!(convert(&w, body), json!({"m": [{"#text": "1"}], "b": [null]}));
}

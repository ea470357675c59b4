//! Schema compilation tests: one small inline WSDL per construct.

use crate::wsdl::load_files;
use crate::wsdl::model::{
    Builtin, ComplexType, Content, Derivation, ElementDecl, QName, SimpleType, TypeDef, TypeRef, Wsdl,
};

const TNS: &str = "urn:test";

/// A document/literal WSDL with one operation `Op` (elements `Op`/`OpResponse`) around `schema`.
fn wsdl_with(schema: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:test" targetNamespace="urn:test">
  <types>
    <xs:schema targetNamespace="urn:test" elementFormDefault="qualified">{schema}</xs:schema>
  </types>
  <message name="In"><part name="parameters" element="tns:Op"/></message>
  <message name="Out"><part name="parameters" element="tns:OpResponse"/></message>
  <portType name="PT"><operation name="Op"><input message="tns:In"/><output message="tns:Out"/></operation></portType>
  <binding name="B" type="tns:PT">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Op"><soap:operation soapAction="urn:test/Op"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
  </binding>
  <service name="S"><port name="P" binding="tns:B"><soap:address location="http://localhost/s"/></port></service>
</definitions>"#
    )
}

fn load(schema: &str) -> Wsdl {
    let text = wsdl_with(schema);
    match load_files(&[("/mem/t.wsdl", &text)]) {
        Ok(w) => w,
        Err(e) => panic!("load failed: {e}"),
    }
}

fn global_type<'a>(w: &'a Wsdl, local: &str) -> &'a TypeDef {
    let id = w.schema.global_types[&QName::new(TNS, local)];
    &w.schema.types[id]
}

fn complex<'a>(w: &'a Wsdl, local: &str) -> &'a ComplexType {
    match global_type(w, local) {
        TypeDef::Complex(c) => c,
        other => panic!("{local} is not complex: {other:?}"),
    }
}

fn simple<'a>(w: &'a Wsdl, local: &str) -> &'a SimpleType {
    match global_type(w, local) {
        TypeDef::Simple(s) => s,
        other => panic!("{local} is not simple: {other:?}"),
    }
}

fn element<'a>(w: &'a Wsdl, local: &str) -> &'a ElementDecl {
    w.schema
        .element(w.schema.global_elements[&QName::new(TNS, local)])
}

fn element_type<'a>(w: &'a Wsdl, local: &str) -> &'a ComplexType {
    w.schema
        .complex(element(w, local).ty)
        .expect("complex element type")
}

fn names(w: &Wsdl, ct: &ComplexType) -> Vec<String> {
    ct.children
        .iter()
        .map(|c| w.schema.element(c.element).name.local.clone())
        .collect()
}

fn child<'a>(ct: &'a ComplexType, local: &str) -> &'a crate::wsdl::model::Child {
    &ct.children[ct.child_index[local]]
}

#[test]
fn extension_chain_inherits_children_attributes_and_lists_derived() {
    let w = load(
        r#"<xs:complexType name="Base"><xs:sequence><xs:element name="a" type="xs:string"/>
             <xs:element name="b" type="xs:int"/></xs:sequence><xs:attribute name="id" type="xs:int"/></xs:complexType>
           <xs:complexType name="Mid"><xs:complexContent><xs:extension base="tns:Base">
             <xs:sequence><xs:element name="c" type="xs:boolean"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>
           <xs:complexType name="Leaf"><xs:complexContent><xs:extension base="tns:Mid">
             <xs:sequence><xs:element name="d" type="xs:double"/></xs:sequence>
             <xs:attribute name="kind" type="xs:string" use="required"/></xs:extension></xs:complexContent></xs:complexType>
           <xs:element name="Op" type="tns:Leaf"/><xs:element name="OpResponse" type="tns:Base"/>"#,
    );
    let leaf = complex(&w, "Leaf");
    assert_eq!(names(&w, leaf), ["a", "b", "c", "d"]);
    assert_eq!(leaf.derivation, Derivation::Extension);
    let attrs: Vec<_> = leaf
        .attributes
        .iter()
        .map(|a| (a.name.local.as_str(), a.required))
        .collect();
    assert_eq!(attrs, [("id", false), ("kind", true)]);
    let base_id = w.schema.global_types[&QName::new(TNS, "Base")];
    let mid_id = w.schema.global_types[&QName::new(TNS, "Mid")];
    let leaf_id = w.schema.global_types[&QName::new(TNS, "Leaf")];
    let mut derived = complex(&w, "Base").derived.clone();
    derived.sort_unstable();
    assert_eq!(derived, [mid_id, leaf_id]);
    assert_eq!(complex(&w, "Mid").derived, [leaf_id]);
    assert_eq!(leaf.base, Some(mid_id));
    assert_eq!(complex(&w, "Mid").base, Some(base_id));
    let b = w.schema.element(child(leaf, "b").element);
    assert_eq!(
        b.ty,
        TypeRef::Builtin(Builtin::Integer {
            min: Some(i32::MIN.into()),
            max: Some(i32::MAX.into())
        })
    );
    assert_eq!(b.name, QName::new(TNS, "b"), "elementFormDefault=qualified");
    assert!(
        w.operations[0].unsupported.is_empty(),
        "{:?}",
        w.operations[0].unsupported
    );
}

#[test]
fn choice_members_are_optional_and_share_a_choice_index() {
    let w = load(
        r#"<xs:element name="Op"><xs:complexType><xs:sequence>
             <xs:element name="a" type="xs:string"/>
             <xs:choice><xs:element name="b" type="xs:string"/><xs:element name="c" type="xs:string"/></xs:choice>
             <xs:choice maxOccurs="unbounded"><xs:element name="d" type="xs:string"/><xs:element name="e" type="xs:int"/></xs:choice>
             <xs:element name="f" type="xs:string" minOccurs="0" maxOccurs="3"/>
           </xs:sequence></xs:complexType></xs:element>"#,
    );
    let op = element_type(&w, "Op");
    assert_eq!(names(&w, op), ["a", "b", "c", "d", "e", "f"]);
    let flags = |n: &str| {
        let c = child(op, n);
        (c.many, c.optional, c.choice)
    };
    assert_eq!(flags("a"), (false, false, None));
    assert_eq!(flags("b"), (false, true, Some(0)));
    assert_eq!(flags("c"), (false, true, Some(0)));
    assert_eq!(flags("d"), (true, true, Some(1)));
    assert_eq!(flags("e"), (true, true, Some(1)));
    assert_eq!(flags("f"), (true, true, None));
}

#[test]
fn group_refs_expand_in_place_and_repeat_with_the_reference() {
    let w = load(
        r#"<xs:group name="Pair"><xs:sequence><xs:element name="x" type="xs:string"/>
             <xs:element name="y" type="xs:string" minOccurs="0"/></xs:sequence></xs:group>
           <xs:complexType name="T"><xs:sequence><xs:element name="head" type="xs:string"/>
             <xs:group ref="tns:Pair" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
           <xs:element name="Op" type="tns:T"/>"#,
    );
    let t = complex(&w, "T");
    assert_eq!(names(&w, t), ["head", "x", "y"]);
    assert!(!child(t, "head").many);
    assert!(child(t, "x").many && !child(t, "x").optional);
    assert!(child(t, "y").many && child(t, "y").optional);
}

#[test]
fn attribute_groups_and_any_attribute_are_expanded() {
    let w = load(
        r#"<xs:attribute name="lang" type="xs:language"/>
           <xs:attributeGroup name="Common"><xs:attribute name="id" type="xs:ID" use="required"/>
             <xs:attribute ref="tns:lang"/><xs:attributeGroup ref="tns:More"/></xs:attributeGroup>
           <xs:attributeGroup name="More"><xs:attribute name="rev" type="xs:int" default="1"/>
             <xs:anyAttribute namespace="urn:other"/></xs:attributeGroup>
           <xs:complexType name="T"><xs:sequence/><xs:attributeGroup ref="tns:Common"/></xs:complexType>"#,
    );
    let t = complex(&w, "T");
    let attrs: Vec<_> = t
        .attributes
        .iter()
        .map(|a| (a.name.clone(), a.required, a.default.clone()))
        .collect();
    assert_eq!(
        attrs,
        [
            (QName::new("", "id"), true, None),
            (QName::new(TNS, "lang"), false, None),
            (QName::new("", "rev"), false, Some("1".to_string())),
        ]
    );
    assert!(t.any_attribute);
    assert_eq!(t.attributes[1].ty, TypeRef::Builtin(Builtin::Token));
}

#[test]
fn simple_content_extension_and_restriction() {
    let w = load(
        r#"<xs:complexType name="Amount"><xs:simpleContent><xs:extension base="xs:decimal">
             <xs:attribute name="currency" type="xs:string" use="required"/></xs:extension></xs:simpleContent></xs:complexType>
           <xs:complexType name="Euro"><xs:simpleContent><xs:restriction base="tns:Amount">
             <xs:maxInclusive value="1000"/></xs:restriction></xs:simpleContent></xs:complexType>
           <xs:complexType name="Tagged"><xs:simpleContent><xs:extension base="tns:Amount">
             <xs:attribute name="tag" type="xs:string"/></xs:extension></xs:simpleContent></xs:complexType>"#,
    );
    let amount = complex(&w, "Amount");
    assert_eq!(
        amount.content,
        Content::Simple(TypeRef::Builtin(Builtin::Decimal))
    );
    assert_eq!(amount.attributes.len(), 1);
    let euro_id = w.schema.global_types[&QName::new(TNS, "Euro")];
    assert_eq!(
        w.schema.builtin_of(TypeRef::Type(euro_id)),
        Some(Builtin::Decimal)
    );
    assert_eq!(
        complex(&w, "Euro").attributes.len(),
        1,
        "restriction keeps the base attributes"
    );
    let tagged = complex(&w, "Tagged");
    assert_eq!(
        tagged.content,
        Content::Simple(TypeRef::Builtin(Builtin::Decimal))
    );
    let names: Vec<_> = tagged.attributes.iter().map(|a| a.name.local.as_str()).collect();
    assert_eq!(names, ["currency", "tag"]);
}

#[test]
fn enumerations_facets_and_integer_bounds_follow_the_restriction_chain() {
    let w = load(
        r#"<xs:simpleType name="Color"><xs:restriction base="xs:string"><xs:enumeration value="red"/>
             <xs:enumeration value="green"/><xs:maxLength value="5"/></xs:restriction></xs:simpleType>
           <xs:simpleType name="Warm"><xs:restriction base="tns:Color"><xs:pattern value="r.*"/></xs:restriction></xs:simpleType>
           <xs:simpleType name="Percent"><xs:restriction base="xs:int"><xs:minInclusive value="0"/>
             <xs:maxExclusive value="101"/></xs:restriction></xs:simpleType>
           <xs:simpleType name="Small"><xs:restriction base="tns:Percent"><xs:maxInclusive value="10"/></xs:restriction></xs:simpleType>
           <xs:simpleType name="Either"><xs:union memberTypes="xs:int xs:string"/></xs:simpleType>"#,
    );
    let color = simple(&w, "Color");
    assert_eq!(color.base, Some(Builtin::String));
    assert_eq!(color.enumeration, ["red", "green"]);
    let warm = simple(&w, "Warm");
    assert_eq!(warm.base, Some(Builtin::String));
    assert_eq!(warm.enumeration, ["red", "green"]);
    assert_eq!(warm.max_length, Some(5));
    assert_eq!(warm.pattern.as_deref(), Some("r.*"));
    assert_eq!(
        simple(&w, "Percent").base,
        Some(Builtin::Integer {
            min: Some(0),
            max: Some(100)
        })
    );
    assert_eq!(
        simple(&w, "Small").base,
        Some(Builtin::Integer {
            min: Some(0),
            max: Some(10)
        })
    );
    assert_eq!(simple(&w, "Either").base, Some(Builtin::AnySimpleType));
}

#[test]
fn lists_record_their_item_builtin() {
    let w = load(
        r#"<xs:simpleType name="Ints"><xs:list itemType="xs:int"/></xs:simpleType>
           <xs:simpleType name="Codes"><xs:list><xs:simpleType><xs:restriction base="xs:token">
             <xs:enumeration value="A"/></xs:restriction></xs:simpleType></xs:list></xs:simpleType>
           <xs:simpleType name="ShortInts"><xs:restriction base="tns:Ints"><xs:maxLength value="3"/></xs:restriction></xs:simpleType>"#,
    );
    assert!(matches!(
        simple(&w, "Ints").list_of,
        Some(Builtin::Integer { .. })
    ));
    assert_eq!(simple(&w, "Codes").list_of, Some(Builtin::Token));
    assert!(matches!(
        simple(&w, "ShortInts").list_of,
        Some(Builtin::Integer { .. })
    ));
    let id = w.schema.global_types[&QName::new(TNS, "Ints")];
    assert_eq!(w.schema.builtin_of(TypeRef::Type(id)), Some(Builtin::String));
}

#[test]
fn substitution_groups_fill_substitutes_transitively() {
    let w = load(
        r#"<xs:element name="Vehicle" type="tns:VehicleType" abstract="true"/>
           <xs:complexType name="VehicleType"><xs:sequence><xs:element name="wheels" type="xs:int"/></xs:sequence></xs:complexType>
           <xs:complexType name="CarType"><xs:complexContent><xs:extension base="tns:VehicleType">
             <xs:sequence><xs:element name="doors" type="xs:int"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>
           <xs:element name="Car" type="tns:CarType" substitutionGroup="tns:Vehicle"/>
           <xs:element name="SportsCar" substitutionGroup="tns:Car"/>
           <xs:element name="Op"><xs:complexType><xs:sequence><xs:element ref="tns:Vehicle" maxOccurs="unbounded"/>
             </xs:sequence></xs:complexType></xs:element>"#,
    );
    let car = w.schema.global_elements[&QName::new(TNS, "Car")];
    let sports = w.schema.global_elements[&QName::new(TNS, "SportsCar")];
    let mut subs = element(&w, "Vehicle").substitutes.clone();
    subs.sort_unstable();
    assert_eq!(subs, [car, sports]);
    assert_eq!(element(&w, "Car").substitutes, [sports]);
    assert_eq!(
        element(&w, "SportsCar").ty,
        element(&w, "Car").ty,
        "a typeless member takes its head's type"
    );
    let op = element_type(&w, "Op");
    let slot = child(op, "Vehicle");
    let local = w.schema.element(slot.element);
    assert!(slot.many && local.is_abstract);
    assert_eq!(local.substitutes.len(), 2);
    assert_eq!(op.child_index["Car"], op.child_index["Vehicle"]);
    assert_eq!(op.child_index["SportsCar"], op.child_index["Vehicle"]);
}

#[test]
fn recursive_and_circular_types_compile() {
    let w = load(
        r#"<xs:complexType name="Node"><xs:sequence><xs:element name="value" type="xs:string"/>
             <xs:element name="child" type="tns:Node" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
           <xs:complexType name="A"><xs:sequence><xs:element name="b" type="tns:B" minOccurs="0"/></xs:sequence></xs:complexType>
           <xs:complexType name="B"><xs:sequence><xs:element name="a" type="tns:A" minOccurs="0"/></xs:sequence></xs:complexType>
           <xs:complexType name="X"><xs:complexContent><xs:extension base="tns:Y"><xs:sequence>
             <xs:element name="x" type="xs:string"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>
           <xs:complexType name="Y"><xs:complexContent><xs:extension base="tns:X"><xs:sequence>
             <xs:element name="y" type="xs:string"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>
           <xs:element name="Op" type="tns:Node"/>
           <xs:element name="OpResponse"><xs:complexType><xs:sequence><xs:element ref="tns:OpResponse" minOccurs="0"/>
             </xs:sequence></xs:complexType></xs:element>"#,
    );
    let node_id = w.schema.global_types[&QName::new(TNS, "Node")];
    let node = complex(&w, "Node");
    assert_eq!(
        w.schema.element(child(node, "child").element).ty,
        TypeRef::Type(node_id)
    );
    let a = complex(&w, "A");
    let b_id = w.schema.global_types[&QName::new(TNS, "B")];
    assert_eq!(w.schema.element(child(a, "b").element).ty, TypeRef::Type(b_id));
    let (x, y) = (complex(&w, "X"), complex(&w, "Y"));
    assert!(
        x.base.is_none() || y.base.is_none(),
        "the derivation cycle is cut"
    );
    assert!(
        w.warnings.iter().any(|m| m.contains("derives from itself")),
        "{:?}",
        w.warnings
    );
    let response = element_type(&w, "OpResponse");
    assert_eq!(names(&w, response), ["OpResponse"]);
}

#[test]
fn nillable_defaults_forms_and_any() {
    let w = load(
        r#"<xs:element name="Op"><xs:complexType><xs:sequence>
             <xs:element name="n" type="xs:string" nillable="true"/>
             <xs:element name="d" type="xs:int" default="7"/>
             <xs:element name="u" type="xs:string" form="unqualified"/>
             <xs:any namespace="urn:other" processContents="lax" minOccurs="0"/>
           </xs:sequence><xs:attribute name="v" type="xs:string" fixed="1"/></xs:complexType></xs:element>"#,
    );
    let op = element_type(&w, "Op");
    let get = |n: &str| w.schema.element(child(op, n).element);
    assert!(get("n").nillable);
    assert_eq!(get("d").default.as_deref(), Some("7"));
    assert_eq!(get("u").name, QName::new("", "u"));
    assert!(op.open);
    assert_eq!(op.attributes[0].fixed.as_deref(), Some("1"));
    assert!(matches!(op.content, Content::Elements(_)));
}

#[test]
fn soapenc_arrays_record_their_item_type() {
    let w = load(
        r#"<xs:import namespace="http://schemas.xmlsoap.org/soap/encoding/"/>
           <xs:complexType name="Strings" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"
               xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">
             <xs:complexContent><xs:restriction base="soapenc:Array">
               <xs:attribute ref="soapenc:arrayType" wsdl:arrayType="xs:string[]"/></xs:restriction></xs:complexContent></xs:complexType>
           <xs:complexType name="Items" xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/">
             <xs:complexContent><xs:restriction base="soapenc:Array"><xs:sequence>
               <xs:element name="item" type="tns:Strings" maxOccurs="unbounded"/></xs:sequence></xs:restriction></xs:complexContent></xs:complexType>"#,
    );
    let strings = complex(&w, "Strings");
    assert_eq!(strings.soapenc_array_of, Some(TypeRef::Builtin(Builtin::String)));
    assert!(strings.open);
    let strings_id = w.schema.global_types[&QName::new(TNS, "Strings")];
    assert_eq!(
        complex(&w, "Items").soapenc_array_of,
        Some(TypeRef::Type(strings_id))
    );
    let array = w.schema.global_types[&QName::new("http://schemas.xmlsoap.org/soap/encoding/", "Array")];
    assert_eq!(strings.base, Some(array));
    assert!(w.warnings.is_empty(), "{:?}", w.warnings);
}

#[test]
fn unresolved_names_warn_and_mark_the_operations_that_reach_them() {
    let w = load(
        r#"<xs:complexType name="T"><xs:sequence><xs:element name="m" type="tns:Missing"/></xs:sequence></xs:complexType>
           <xs:element name="Op"><xs:complexType><xs:sequence><xs:element name="t" type="tns:T"/>
             </xs:sequence></xs:complexType></xs:element>
           <xs:element name="OpResponse" type="xs:string"/>"#,
    );
    let m = w.schema.element(child(complex(&w, "T"), "m").element);
    assert_eq!(m.ty, TypeRef::Builtin(Builtin::AnyType));
    assert!(
        w.warnings.iter().any(|x| x.contains("{urn:test}Missing")),
        "{:?}",
        w.warnings
    );
    assert_eq!(
        w.operations[0].unsupported,
        ["unresolved type `{urn:test}Missing` (treated as anyType)"]
    );
}

#[test]
fn chameleon_include_takes_the_includers_namespace() {
    let wsdl = wsdl_with(r#"<xs:include schemaLocation="common/types.xsd"/>"#);
    let types = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
        <xs:include schemaLocation="../more.xsd"/>
        <xs:complexType name="Req"><xs:sequence><xs:element name="id" type="Id"/></xs:sequence></xs:complexType>
        <xs:element name="Op" type="Req"/><xs:element name="OpResponse" type="Id"/>
      </xs:schema>"#;
    let more = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
        <xs:simpleType name="Id"><xs:restriction base="xs:long"/></xs:simpleType>
        <xs:include schemaLocation="common/types.xsd"/></xs:schema>"#;
    let w = load_files(&[
        ("/svc/a.wsdl", &wsdl),
        ("/svc/common/types.xsd", types),
        ("/svc/more.xsd", more),
    ])
    .expect("loads");
    let req = complex(&w, "Req");
    let id = w.schema.element(child(req, "id").element);
    assert_eq!(id.name, QName::new(TNS, "id"));
    assert!(matches!(
        w.schema.builtin_of(id.ty),
        Some(Builtin::Integer { .. })
    ));
    assert!(
        w.operations[0].unsupported.is_empty(),
        "{:?}",
        w.operations[0].unsupported
    );
    assert!(w.warnings.is_empty(), "{:?}", w.warnings);
}

#[test]
fn import_cycles_load_each_schema_once() {
    let wsdl = wsdl_with(
        r#"<xs:import namespace="urn:a" schemaLocation="a.xsd"/>
           <xs:element name="Op" xmlns:a="urn:a" type="a:A"/><xs:element name="OpResponse" type="xs:string"/>"#,
    );
    let a = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:a" xmlns:b="urn:b">
        <xs:import namespace="urn:b" schemaLocation="b.xsd"/>
        <xs:complexType name="A"><xs:sequence><xs:element name="b" type="b:B" minOccurs="0"/></xs:sequence></xs:complexType>
      </xs:schema>"#;
    let b = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:b" xmlns:a="urn:a">
        <xs:import namespace="urn:a" schemaLocation="./a.xsd"/>
        <xs:complexType name="B"><xs:sequence><xs:element name="a" type="a:A" minOccurs="0"/></xs:sequence></xs:complexType>
      </xs:schema>"#;
    let w = load_files(&[("/x/s.wsdl", &wsdl), ("/x/a.xsd", a), ("/x/b.xsd", b)]).expect("loads");
    assert!(w.schema.global_types.contains_key(&QName::new("urn:a", "A")));
    assert!(w.schema.global_types.contains_key(&QName::new("urn:b", "B")));
    assert_eq!(w.schema.global_types.len(), 2);
    assert!(
        w.operations[0].unsupported.is_empty(),
        "{:?}",
        w.operations[0].unsupported
    );
}

#[test]
fn deep_nesting_is_cut_without_overflowing() {
    let depth = 3000;
    let open = r#"<xs:complexType><xs:sequence><xs:element name="n">"#.repeat(depth);
    let close = "</xs:element></xs:sequence></xs:complexType>".repeat(depth);
    let w = load(&format!(r#"<xs:element name="Op">{open}{close}</xs:element>"#));
    assert!(
        w.warnings.iter().any(|m| m.contains("nesting deeper")),
        "{:?}",
        w.warnings.first()
    );
    assert!(!w.operations[0].unsupported.is_empty());
}

#[test]
fn unprefixed_builtin_names_are_read_leniently_with_a_warning() {
    let w = load(r#"<xs:element name="Op" type="string"/><xs:element name="OpResponse" type="int"/>"#);
    assert_eq!(element(&w, "Op").ty, TypeRef::Builtin(Builtin::String));
    assert_eq!(w.warnings.len(), 2, "{:?}", w.warnings);
    assert!(w.operations[0].unsupported.is_empty());
}

#[test]
fn exponential_group_expansion_is_bounded() {
    let levels = 24;
    let mut schema = String::new();
    for i in 0..levels {
        schema.push_str(&format!(
            r#"<xs:group name="G{i}"><xs:sequence><xs:group ref="tns:G{n}"/><xs:group ref="tns:G{n}"/></xs:sequence></xs:group>"#,
            n = i + 1
        ));
    }
    schema.push_str(&format!(
        r#"<xs:group name="G{levels}"><xs:sequence><xs:element name="leaf" type="xs:string"/></xs:sequence></xs:group>
           <xs:element name="Op"><xs:complexType><xs:group ref="tns:G0"/></xs:complexType></xs:element>"#
    ));
    let started = std::time::Instant::now();
    let w = load(&schema);
    assert!(
        w.schema.elements.len() <= super::MAX_GRAPH + 10,
        "{}",
        w.schema.elements.len()
    );
    assert!(
        w.warnings.iter().any(|m| m.contains("expansion stops")),
        "{:?}",
        w.warnings.first()
    );
    assert!(w.operations[0]
        .unsupported
        .iter()
        .any(|u| u.contains("expansion stops")));
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn types_are_found_by_qname_for_xsi_type() {
    let w = load(r#"<xs:complexType name="T"><xs:sequence/></xs:complexType>"#);
    let t = w.schema.global_types[&QName::new(TNS, "T")];
    let find = |ns: &str, local: &str| super::type_by_qname(&w.schema, &QName::new(ns, local));
    assert_eq!(find(TNS, "T"), Some(TypeRef::Type(t)));
    assert_eq!(
        find("http://www.w3.org/2001/XMLSchema", "boolean"),
        Some(TypeRef::Builtin(Builtin::Boolean))
    );
    assert_eq!(
        find("http://schemas.xmlsoap.org/soap/encoding/", "base64"),
        Some(TypeRef::Builtin(Builtin::Base64Binary))
    );
    assert_eq!(find(TNS, "Nope"), None);
}

//! Import: generated templates render what the schema renderer renders; files, options, reports.

use super::*;
use crate::config::Diagnostics;
use crate::mapping::request::Templates;
use crate::wsdl::model::Wsdl;
use serde_json::{json, Value};

fn demo() -> Wsdl {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("wsdl/customers.wsdl");
    crate::wsdl::load(&path).expect("demo WSDL loads")
}

/// Renders `op`'s generated template over `{"input": input}`.
fn through_template(wsdl: &Wsdl, op: &str, input: &Value) -> String {
    let op = wsdl.operation(op, None).expect("operation");
    let generated = template::template(&wsdl.schema, op, "test.wsdl");
    let mut t = Templates::new();
    let mut d = Diagnostics::default();
    assert!(
        t.compile("t", &generated.text, "t", &mut d),
        "{:?}\n{}",
        d.errors,
        generated.text
    );
    let ctx = Templates::prepare(json!({ "input": input })).expect("context");
    t.render("t", &ctx)
        .unwrap_or_else(|e| panic!("{e:?}\n{}", generated.text))
}

fn through_renderer(wsdl: &Wsdl, op: &str, input: &Value) -> String {
    let msg = wsdl
        .operation(op, None)
        .and_then(|o| o.input.as_ref())
        .expect("input");
    crate::wsdl::render::render_body(&wsdl.schema, msg, input).expect("renders")
}

/// An XML tree as (expanded name, attributes by expanded name, trimmed text, children), so the
/// comparison ignores prefixes, declarations and indentation.
fn tree(xml: &str) -> Vec<String> {
    let wrapped = format!("<root>{xml}</root>");
    let doc = roxmltree::Document::parse(&wrapped).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let mut out = Vec::new();
    for n in doc.root_element().descendants().skip(1) {
        if n.is_element() {
            let mut attrs: Vec<String> = n
                .attributes()
                .map(|a| format!("{{{}}}{}={}", a.namespace().unwrap_or(""), a.name(), a.value()))
                .collect();
            attrs.sort();
            let name = n.tag_name();
            out.push(format!(
                "<{{{}}}{} {}>",
                name.namespace().unwrap_or(""),
                name.name(),
                attrs.join(" ")
            ));
        } else if let Some(t) = n.text().map(str::trim).filter(|t| !t.is_empty()) {
            out.push(t.to_string());
        }
    }
    out
}

fn assert_same(wsdl: &Wsdl, op: &str, input: Value) {
    let a = through_template(wsdl, op, &input);
    let b = through_renderer(wsdl, op, &input);
    assert_eq!(tree(&a), tree(&b), "template:\n{a}\nrenderer:\n{b}");
}

#[test]
fn demo_templates_render_what_the_schema_renderer_renders() {
    let w = demo();
    assert_same(&w, "GetCustomer", json!({"customerId": "007"}));
    assert_same(&w, "ListOrders", json!({"customerId": "7"}));
    assert_same(&w, "ListOrders", json!({"customerId": "7", "status": "Open"}));
    let lines = json!({"line": [{"sku": "A", "quantity": 2}, {"sku": "B<&>", "quantity": 0}]});
    assert_same(
        &w,
        "CreateOrder",
        json!({"customerId": "7", "currency": "GBP", "lines": lines}),
    );
    assert_same(&w, "UpdateEmail", json!({"customerId": "7", "email": "a@b.c"}));
}

const FEATURES: &str = r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:tns="urn:f"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    targetNamespace="urn:f">
  <types><xs:schema targetNamespace="urn:f" elementFormDefault="unqualified">
    <xs:complexType name="Money"><xs:simpleContent><xs:extension base="xs:decimal">
      <xs:attribute name="currency" type="xs:string"/></xs:extension></xs:simpleContent></xs:complexType>
    <xs:complexType name="Node"><xs:sequence>
      <xs:element name="label" type="xs:string"/>
      <xs:element name="child" type="tns:Node" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType>
    <xs:element name="Do"><xs:complexType>
      <xs:sequence>
        <xs:element name="price" type="tns:Money"/>
        <xs:element name="note" type="xs:string" nillable="true"/>
        <xs:element name="flag" type="xs:boolean" minOccurs="0"/>
        <xs:choice><xs:element name="a" type="xs:int"/><xs:element name="b" type="xs:string"/></xs:choice>
        <xs:element name="tree" type="tns:Node" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="mode" type="xs:string" use="required"/>
    </xs:complexType></xs:element>
    <xs:element name="DoResponse"><xs:complexType><xs:sequence/></xs:complexType></xs:element>
  </xs:schema></types>
  <message name="In"><part name="p" element="tns:Do"/></message>
  <message name="Out"><part name="p" element="tns:DoResponse"/></message>
  <message name="RpcIn"><part name="n" type="xs:int"/><part name="s" type="xs:string"/></message>
  <message name="RpcOut"><part name="r" type="xs:int"/></message>
  <portType name="PT">
    <operation name="Do"><input message="tns:In"/><output message="tns:Out"/></operation>
    <operation name="Calc"><input message="tns:RpcIn"/><output message="tns:RpcOut"/></operation>
  </portType>
  <binding name="B" type="tns:PT"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Do"><soap:operation soapAction="urn:f/Do"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>
    <operation name="Calc"><soap:operation soapAction="urn:f/Calc" style="rpc"/>
      <input><soap:body use="encoded" namespace="urn:f" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></input>
      <output><soap:body use="encoded" namespace="urn:f" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></output></operation>
  </binding>
  <service name="S"><port name="P" binding="tns:B"><soap:address location="https://secure.example/S"/></port></service>
</definitions>"#;

fn features() -> Wsdl {
    crate::wsdl::load_files(&[("/f/features.wsdl", FEATURES)]).expect("loads")
}

#[test]
fn attributes_simple_content_nil_optional_and_choice_match_the_renderer() {
    let w = features();
    let tree_input = json!({"label": "r", "child": [{"label": "c1"}, {"label": "c2", "child": []}]});
    assert_same(
        &w,
        "Do",
        json!({"@mode": "x", "price": {"@currency": "EUR", "#text": "1.50"}, "note": null, "a": 5, "tree": tree_input}),
    );
    assert_same(
        &w,
        "Do",
        json!({"@mode": "y", "price": "2", "note": "n", "flag": false, "b": ""}),
    );
}

#[test]
fn rpc_encoded_parts_carry_xsi_type() {
    let w = features();
    assert_same(&w, "Calc", json!({"n": 3, "s": "x"}));
    assert_same(&w, "Calc", json!({"n": null, "s": "x"}));
}

#[test]
fn recursive_types_are_cut_at_the_depth_limit_with_a_comment() {
    let w = features();
    let op = w.operation("Do", None).expect("op");
    let g = template::template(&w.schema, op, "f.wsdl");
    assert!(
        g.text.contains("<child> not expanded: write it by hand"),
        "{}",
        g.text
    );
    assert!(
        g.notes
            .iter()
            .any(|n| n.contains("depth 6") && n.contains("child")),
        "{:?}",
        g.notes
    );
}

fn import_features(dir: &Path, extra: impl FnOnce(&mut ImportOptions)) -> Result<ImportReport, ImportError> {
    let wsdl = dir.join("features.wsdl");
    std::fs::write(&wsdl, FEATURES).expect("write");
    let mut opts = ImportOptions {
        out: dir.join("out"),
        ..ImportOptions::default()
    };
    extra(&mut opts);
    import(wsdl.to_str().expect("utf-8"), &opts)
}

#[test]
fn import_writes_a_config_that_loads_and_reports_what_it_could_not_map() {
    let dir = tempfile::tempdir().expect("tmp");
    let report = import_features(dir.path(), |_| {}).expect("imports");
    assert_eq!(report.service, "features");
    // issue 12: an https address is taken as it is (TLS is built in), with no placeholder note.
    assert_eq!(report.backend_url, "https://secure.example/S");
    assert!(
        !report.notes.iter().any(|n| n.contains("placeholder")),
        "{:?}",
        report.notes
    );
    let routes: Vec<(&str, &str)> = report
        .operations
        .iter()
        .map(|o| (o.route_id.as_str(), o.path.as_str()))
        .collect();
    assert_eq!(routes, [("do", "/features/do"), ("calc", "/features/calc")]);
    let calc = &report.operations[1];
    assert!(
        calc.not_mapped.iter().any(|n| n.starts_with("rpc/encoded")),
        "{:?}",
        calc.not_mapped
    );
    let snap = crate::config::Snapshot::load(&dir.path().join("out/soapgate.yaml"))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(snap.router.routes().len(), 2);
    assert!(
        report.table().contains("POST /features/calc"),
        "{}",
        report.table()
    );
    let again = import_features(dir.path(), |_| {});
    assert!(matches!(again, Err(ImportError::Exists { .. })), "{again:?}");
}

#[test]
fn options_are_checked() {
    let dir = tempfile::tempdir().expect("tmp");
    let v12 = import_features(dir.path(), |o| o.soap_version = Some(SoapVersion::V12));
    assert!(
        matches!(&v12, Err(ImportError::InvalidOption(m)) if m.contains("no SOAP 1.2")),
        "{v12:?}"
    );
    let bad = import_features(dir.path(), |o| o.service = Some("a b".into()));
    assert!(matches!(bad, Err(ImportError::InvalidOption(_))));
    let url = import_features(dir.path(), |o| o.backend_url = Some("ftp://x".into()));
    assert!(matches!(url, Err(ImportError::InvalidOption(_))));
    let named = import_features(dir.path(), |o| {
        o.service = Some("calc_svc".into());
        o.backend_url = Some("http://127.0.0.1:1/x".into());
    })
    .expect("imports");
    assert_eq!(named.backend_url, "http://127.0.0.1:1/x");
    assert_eq!(named.operations[0].path, "/calc_svc/do");
}

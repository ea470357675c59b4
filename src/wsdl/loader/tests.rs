//! WSDL loading tests: bindings, styles, headers, faults, imports, errors and location handling.

use super::docs::{join_url, normalize_path, resolve, Resolved};
use crate::soap::SoapVersion;
use crate::wsdl::model::{PartKind, QName, Style, TypeRef, Use, Wsdl};
use crate::wsdl::{load_files, load_with, WsdlError, MAX_DOCUMENTS, MAX_DOCUMENT_BYTES};

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/" xmlns:http="http://schemas.xmlsoap.org/wsdl/http/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:shop" targetNamespace="urn:shop" name="Shop">"#;

/// Document/literal wrapped, SOAP 1.1 + 1.2 + HTTP bindings, a header and a fault.
const SHOP: &str = r#"
  <wsdl:types><xs:schema targetNamespace="urn:shop" elementFormDefault="qualified">
    <xs:element name="GetItem"><xs:complexType><xs:sequence><xs:element name="id" type="xs:int"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="GetItemResponse"><xs:complexType><xs:sequence>
      <xs:element name="name" type="xs:string" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="Auth"><xs:complexType><xs:sequence><xs:element name="token" type="xs:string"/></xs:sequence></xs:complexType></xs:element>
    <xs:element name="NotFound"><xs:complexType><xs:sequence><xs:element name="id" type="xs:int"/></xs:sequence></xs:complexType></xs:element>
  </xs:schema></wsdl:types>
  <wsdl:message name="GetItemIn"><wsdl:part name="parameters" element="tns:GetItem"/><wsdl:part name="auth" element="tns:Auth"/></wsdl:message>
  <wsdl:message name="GetItemOut"><wsdl:part name="parameters" element="tns:GetItemResponse"/></wsdl:message>
  <wsdl:message name="NotFoundFault"><wsdl:part name="detail" element="tns:NotFound"/></wsdl:message>
  <wsdl:portType name="ShopPort">
    <wsdl:operation name="GetItem"><wsdl:documentation>Reads one item.</wsdl:documentation>
      <wsdl:input message="tns:GetItemIn"/><wsdl:output message="tns:GetItemOut"/>
      <wsdl:fault name="NotFound" message="tns:NotFoundFault"/></wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="Shop11" type="tns:ShopPort">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="GetItem"><soap:operation soapAction="urn:shop/GetItem"/>
      <wsdl:input><soap:body use="literal"/><soap:header message="tns:GetItemIn" part="auth" use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
      <wsdl:fault name="NotFound"><soap:fault name="NotFound" use="literal"/></wsdl:fault></wsdl:operation>
  </wsdl:binding>
  <wsdl:binding name="Shop12" type="tns:ShopPort">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="GetItem"><soap12:operation soapAction="urn:shop/GetItem12"/>
      <wsdl:input><soap12:body use="literal" parts="parameters"/></wsdl:input>
      <wsdl:output><soap12:body use="literal"/></wsdl:output></wsdl:operation>
  </wsdl:binding>
  <wsdl:binding name="ShopGet" type="tns:ShopPort"><http:binding verb="GET"/>
    <wsdl:operation name="GetItem"><http:operation location="/GetItem"/></wsdl:operation></wsdl:binding>
  <wsdl:service name="ShopService">
    <wsdl:port name="P11" binding="tns:Shop11"><soap:address location="http://shop/11"/></wsdl:port>
    <wsdl:port name="P12" binding="tns:Shop12"><soap12:address location="http://shop/12"/></wsdl:port>
    <wsdl:port name="PGet" binding="tns:ShopGet"><http:address location="http://shop/get"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>"#;

/// rpc/literal and rpc/encoded with parameterOrder.
const RPC: &str = r#"
  <wsdl:message name="AddIn"><wsdl:part name="b" type="xs:int"/><wsdl:part name="a" type="xs:int"/></wsdl:message>
  <wsdl:message name="AddOut"><wsdl:part name="sum" type="xs:long"/></wsdl:message>
  <wsdl:portType name="Calc"><wsdl:operation name="Add" parameterOrder="a b">
    <wsdl:input message="tns:AddIn"/><wsdl:output message="tns:AddOut"/></wsdl:operation></wsdl:portType>
  <wsdl:binding name="CalcLit" type="tns:Calc"><soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Add"><soap:operation soapAction=""/>
      <wsdl:input><soap:body use="literal" namespace="urn:calc"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation></wsdl:binding>
  <wsdl:binding name="CalcEnc" type="tns:Calc"><soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="Add"><soap:operation soapAction="Add"/>
      <wsdl:input><soap:body use="encoded" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/" namespace="urn:calc"/></wsdl:input>
      <wsdl:output><soap:body use="encoded" encodingStyle="http://schemas.xmlsoap.org/soap/encoding/" namespace="urn:calc"/></wsdl:output>
    </wsdl:operation></wsdl:binding>
</wsdl:definitions>"#;

fn shop() -> Wsdl {
    load_files(&[("/w/shop.wsdl", &format!("{HEAD}{SHOP}"))]).expect("shop loads")
}

fn error_of(files: &[(&str, &str)]) -> WsdlError {
    match load_files(files) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn document_literal_wrapped_operation() {
    let w = shop();
    assert_eq!(w.name.as_deref(), Some("Shop"));
    assert_eq!(w.target_namespace, "urn:shop");
    let op = w.operation("GetItem", Some(SoapVersion::V11)).expect("op");
    assert_eq!(
        (op.binding.as_str(), op.style, op.action.as_str()),
        ("Shop11", Style::Document, "urn:shop/GetItem")
    );
    assert_eq!(op.documentation.as_deref(), Some("Reads one item."));
    let input = op.input.as_ref().expect("input");
    let element = w.schema.element(input.element.expect("wrapper element"));
    assert_eq!(element.name, QName::new("urn:shop", "GetItem"));
    assert_eq!(input.body_use, Use::Literal);
    assert_eq!(input.parts.len(), 1, "the header part is not in the body");
    assert_eq!(input.headers.len(), 1);
    assert_eq!(input.headers[0].name, "auth");
    let out = op
        .output
        .as_ref()
        .and_then(|m| m.element)
        .expect("output element");
    let response = w.schema.complex(w.schema.element(out).ty).expect("complex");
    assert!(response.children[0].many);
    assert_eq!(op.faults.len(), 1);
    assert_eq!(op.faults[0].name, "NotFound");
    let fault = w.schema.element(op.faults[0].element.expect("fault element"));
    assert_eq!(fault.name.local, "NotFound");
    assert!(op.unsupported.is_empty(), "{:?}", op.unsupported);
}

#[test]
fn soap11_and_soap12_bindings_both_yield_operations_and_http_is_skipped() {
    let w = shop();
    let versions: Vec<_> = w
        .operations
        .iter()
        .map(|o| (o.binding.as_str(), o.version))
        .collect();
    assert_eq!(
        versions,
        [("Shop11", SoapVersion::V11), ("Shop12", SoapVersion::V12)]
    );
    assert_eq!(
        w.operation("GetItem", Some(SoapVersion::V12))
            .map(|o| o.action.as_str()),
        Some("urn:shop/GetItem12")
    );
    let ports: Vec<_> = w
        .ports
        .iter()
        .map(|p| (p.name.as_str(), p.address.as_str(), p.version))
        .collect();
    assert_eq!(
        ports,
        [
            ("P11", "http://shop/11", SoapVersion::V11),
            ("P12", "http://shop/12", SoapVersion::V12)
        ]
    );
    assert!(
        w.warnings
            .iter()
            .any(|m| m.contains("ShopGet") && m.contains("HTTP")),
        "{:?}",
        w.warnings
    );
}

#[test]
fn rpc_literal_and_encoded_operations() {
    let w = load_files(&[("/w/calc.wsdl", &format!("{HEAD}{RPC}"))]).expect("loads");
    let lit = &w.operations[0];
    assert_eq!(lit.style, Style::Rpc);
    let input = lit.input.as_ref().expect("input");
    assert_eq!(input.rpc_wrapper, Some(QName::new("urn:calc", "Add")));
    assert_eq!(input.element, None);
    let names: Vec<_> = input.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "b"], "parameterOrder");
    assert!(matches!(input.parts[0].kind, PartKind::Type(TypeRef::Builtin(_))));
    let output = lit.output.as_ref().expect("output");
    assert_eq!(
        output.rpc_wrapper,
        Some(QName::new("urn:shop", "AddResponse")),
        "defaults to the targetNamespace"
    );
    let enc = &w.operations[1];
    assert_eq!(
        (enc.style, enc.input.as_ref().map(|m| m.body_use)),
        (Style::Rpc, Some(Use::Encoded))
    );
    assert_eq!(enc.action, "Add");
    assert!(w.ports.is_empty());
}

#[test]
fn document_style_with_several_body_parts_keeps_the_first_and_says_so() {
    let text = format!(
        "{HEAD}{}",
        SHOP.replace(
            r#"<soap:header message="tns:GetItemIn" part="auth" use="literal"/>"#,
            ""
        )
    );
    let w = load_files(&[("/w/shop.wsdl", &text)]).expect("loads");
    let op = &w.operations[0];
    assert_eq!(op.input.as_ref().map(|m| m.parts.len()), Some(1));
    assert!(
        op.unsupported.iter().any(|u| u.contains("2 body parts")),
        "{:?}",
        op.unsupported
    );
}

#[test]
fn wsdl_import_brings_bindings_from_another_document() {
    let main = r#"<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
        xmlns:abs="urn:abstract" targetNamespace="urn:concrete">
      <import namespace="urn:abstract" location="sub/abstract.wsdl"/>
      <service name="S"><port name="P" binding="abs:B"><soap:address location="http://x/"/></port></service>
    </definitions>"#;
    let abstract_wsdl = format!(
        "{}{}",
        HEAD.replace("urn:shop", "urn:abstract"),
        RPC.replace("tns:Calc\"", "tns:Calc\" xmlns:tns=\"urn:abstract\"")
            .replace("CalcLit", "B")
            .replace(
                "</wsdl:definitions>",
                r#"<wsdl:import namespace="urn:concrete" location="../main.wsdl"/></wsdl:definitions>"#
            )
    );
    let w = load_files(&[("/w/main.wsdl", main), ("/w/sub/abstract.wsdl", &abstract_wsdl)]).expect("loads");
    assert_eq!(w.target_namespace, "urn:concrete");
    assert_eq!(w.operations.len(), 2);
    assert_eq!(w.ports.len(), 1);
    assert_eq!(w.ports[0].binding, "B");
}

#[test]
fn wsdl_2_and_other_roots_are_rejected_clearly() {
    let w20 = r#"<description xmlns="http://www.w3.org/ns/wsdl" targetNamespace="urn:x"/>"#;
    assert!(matches!(error_of(&[("/a.wsdl", w20)]), WsdlError::Wsdl20 { .. }));
    let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>"#;
    let e = error_of(&[("/a.wsdl", xsd)]);
    assert!(matches!(e, WsdlError::NotWsdl { .. }));
    assert!(
        e.to_string().contains("{http://www.w3.org/2001/XMLSchema}schema"),
        "{e}"
    );
}

#[test]
fn malformed_xml_reports_the_position() {
    let e = error_of(&[(
        "/a.wsdl",
        "<definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\">\n  <x:y/>\n</definitions>",
    )]);
    match e {
        WsdlError::Xml {
            line,
            col,
            ref location,
            ..
        } => {
            assert_eq!((line, col, location.as_str()), (2, 4, "/a.wsdl"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let dtd = "<!DOCTYPE d [<!ENTITY x \"y\">]><definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\"/>";
    let e = error_of(&[("/a.wsdl", dtd)]);
    assert!(e.to_string().contains("DTD"), "{e}");
    let e = error_of(&[("/a.wsdl", "")]);
    assert!(matches!(e, WsdlError::Xml { .. }), "{e:?}");
    let e = error_of(&[("/b.wsdl", "<definitions/>"), ("/a.wsdl", "")]);
    assert!(matches!(e, WsdlError::NotWsdl { .. }), "{e:?}");
    let e = load_with("/none.wsdl", &|_| Err("gone".into())).expect_err("entry must exist");
    assert!(
        matches!(e, WsdlError::Io { ref location, .. } if location == "/none.wsdl"),
        "{e:?}"
    );
}

#[test]
fn a_missing_import_is_a_warning_and_its_names_stay_unresolved() {
    let text = format!("{HEAD}<wsdl:import location=\"missing.wsdl\"/></wsdl:definitions>");
    let w = load_files(&[("/a.wsdl", &text)]).expect("loads");
    assert!(
        w.warnings
            .iter()
            .any(|m| m.starts_with("/missing.wsdl (imported by /a.wsdl)")),
        "{:?}",
        w.warnings
    );
}

#[test]
fn a_binding_without_its_port_type_is_an_error() {
    let text = format!(
        "{HEAD}{}",
        SHOP.replace(
            r#"<wsdl:portType name="ShopPort">"#,
            r#"<wsdl:portType name="Other">"#
        )
    );
    let e = error_of(&[("/w/shop.wsdl", &text)]);
    assert!(
        matches!(e, WsdlError::Unresolved { ref what, .. } if what.contains("portType")),
        "{e:?}"
    );
}

#[test]
fn remote_locations_are_not_fetched_in_a_file_based_load() {
    let text = format!(
        "{HEAD}<wsdl:types><xs:schema targetNamespace=\"urn:shop\"><xs:import namespace=\"urn:r\" \
         schemaLocation=\"http://example.com/r.xsd\"/><xs:element name=\"E\" xmlns:r=\"urn:r\" type=\"r:T\"/>\
         </xs:schema></wsdl:types></wsdl:definitions>"
    );
    let fetch = |location: &str| {
        assert!(!location.starts_with("http"), "fetched {location}");
        Ok(text.as_bytes().to_vec())
    };
    let w = load_with("/w/a.wsdl", &fetch).expect("loads");
    assert!(
        w.warnings.iter().any(|m| m.contains("http://example.com/r.xsd")),
        "{:?}",
        w.warnings
    );
    assert!(
        w.warnings.iter().any(|m| m.contains("{urn:r}T")),
        "{:?}",
        w.warnings
    );
}

#[test]
fn url_loads_resolve_relative_locations_and_never_read_files() {
    let main = format!(
        "{HEAD}<wsdl:types><xs:schema targetNamespace=\"urn:shop\"><xs:include schemaLocation=\"../x/t.xsd?v=1\"/>\
         <xs:include schemaLocation=\"file:///etc/passwd\"/></xs:schema></wsdl:types></wsdl:definitions>"
    );
    let xsd = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="E" type="xs:string"/></xs:schema>"#;
    let fetch = |location: &str| match location {
        "https://h/svc/a/s.wsdl" => Ok(main.as_bytes().to_vec()),
        "https://h/svc/x/t.xsd?v=1" => Ok(xsd.as_bytes().to_vec()),
        other => Err(format!("unexpected fetch of {other}")),
    };
    let w = load_with("https://h/svc/a/s.wsdl", &fetch).expect("loads");
    assert!(w
        .schema
        .global_elements
        .contains_key(&QName::new("urn:shop", "E")));
    assert!(
        w.warnings.iter().any(|m| m.contains("file:///etc/passwd")),
        "{:?}",
        w.warnings
    );
}

#[test]
fn size_and_count_limits() {
    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    let e = load_with("/big.wsdl", &|_| Ok(big.clone())).expect_err("too large");
    assert!(matches!(e, WsdlError::TooLarge { .. }), "{e:?}");
    let chain = |location: &str| {
        let n: usize = location
            .trim_start_matches("/d")
            .trim_end_matches(".wsdl")
            .parse()
            .unwrap_or(0);
        Ok(format!(
            "{HEAD}<wsdl:import location=\"d{}.wsdl\"/></wsdl:definitions>",
            n + 1
        )
        .into_bytes())
    };
    let e = load_with("/d0.wsdl", &chain).expect_err("too many");
    assert!(
        matches!(e, WsdlError::TooManyDocuments { limit, .. } if limit == MAX_DOCUMENTS),
        "{e:?}"
    );
}

#[test]
fn non_utf8_documents_are_decoded_or_rejected() {
    let mut latin1 = br#"<?xml version="1.0" encoding="ISO-8859-1"?>"#.to_vec();
    latin1.extend_from_slice(b"<definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\" name=\"Caf\xe9\"/>");
    let w = load_with("/l.wsdl", &|_| Ok(latin1.clone())).expect("latin-1 loads");
    assert_eq!(w.name.as_deref(), Some("Café"));
    let bad = b"<definitions name=\"\xff\"/>".to_vec();
    let e = load_with("/b.wsdl", &|_| Ok(bad.clone())).expect_err("rejected");
    assert!(matches!(e, WsdlError::Encoding { .. }), "{e:?}");
    // Any WHATWG encoding, as backend replies (crate::soap::charset).
    let mut cp1252 = br#"<?xml version="1.0" encoding="windows-1252"?>"#.to_vec();
    cp1252.extend_from_slice(b"<definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\" name=\"\x80\"/>");
    let w = load_with("/w.wsdl", &|_| Ok(cp1252.clone())).expect("windows-1252 loads");
    assert_eq!(w.name.as_deref(), Some("€"));
    let text = r#"<?xml version="1.0" encoding="UTF-16"?><definitions xmlns="http://schemas.xmlsoap.org/wsdl/" name="Œ"/>"#;
    let utf16be: Vec<u8> = std::iter::once(0xFEFF_u16)
        .chain(text.encode_utf16())
        .flat_map(u16::to_be_bytes)
        .collect();
    let w = load_with("/u.wsdl", &|_| Ok(utf16be.clone())).expect("UTF-16BE loads");
    assert_eq!(w.name.as_deref(), Some("Œ"));
    let unknown = br#"<?xml version="1.0" encoding="x-nonsense"?><definitions/>"#.to_vec();
    let e = load_with("/x.wsdl", &|_| Ok(unknown.clone())).expect_err("rejected");
    assert_eq!(
        e.to_string(),
        "/x.wsdl: cannot decode the text: the encoding `x-nonsense` named by the XML declaration is not supported"
    );
}

#[test]
fn locations_join_like_paths_and_urls() {
    assert_eq!(normalize_path("/a/b/../c/./d.xsd"), "/a/c/d.xsd");
    assert_eq!(normalize_path("/../x"), "/x");
    assert_eq!(
        resolve("/a/b/s.wsdl", "../t.xsd", false),
        Resolved::Fetch("/a/t.xsd".into())
    );
    assert_eq!(
        resolve("/a/b/s.wsdl", "/abs/t.xsd", false),
        Resolved::Fetch("/abs/t.xsd".into())
    );
    assert_eq!(resolve("/a/s.wsdl", "  ", false), Resolved::Ignore);
    assert!(matches!(
        resolve("/a/s.wsdl", "https://x/t.xsd", false),
        Resolved::Skip(_)
    ));
    assert!(matches!(
        resolve("/a/s.wsdl", "urn:x:y", false),
        Resolved::Skip(_)
    ));
    assert_eq!(
        join_url("http://h/a/b/s.wsdl?wsdl", "t.xsd"),
        "http://h/a/b/t.xsd"
    );
    assert_eq!(
        join_url("http://h/a/b/s.wsdl", "../../../t.xsd"),
        "http://h/t.xsd"
    );
    assert_eq!(
        join_url("http://h/a/s.svc?wsdl", "?xsd=xsd0"),
        "http://h/a/s.svc?xsd=xsd0"
    );
    assert_eq!(join_url("https://h/a/s.svc", "/root.xsd"), "https://h/root.xsd");
    assert_eq!(join_url("https://h/a/s.svc", "//cdn/x.xsd"), "https://cdn/x.xsd");
    assert_eq!(join_url("http://h", "x.xsd"), "http://h/x.xsd");
    assert_eq!(
        resolve("http://h/a/s.wsdl", "http://h/a/./b/../c.xsd", true),
        Resolved::Fetch("http://h/a/c.xsd".into())
    );
}

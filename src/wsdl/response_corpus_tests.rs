//! Acceptance of schema-aware response conversion over the corpus (`../shared/corpus`): node-soap's
//! request/response samples are converted with their WSDL exactly as the pipeline does
//! (`parse_typed`) and compared structurally with node-soap's `response.json`; every place where
//! the two differ must be listed, with its reason, in [`DIFFERENCES`]. The wsdl2phpgenerator
//! recorded exchanges are checked against exact JSON in `recorded`.

mod node_soap;
mod recorded;

use self::node_soap::{diff, local, normalise, Mismatch};
use super::load;
use super::model::{Operation, Wsdl};
use crate::mapping::schema::{parse_typed, stream_typed, Bound, Gates};
use crate::soap::convert::{Tally, Undeclared};
use crate::soap::parse::{Fault, Outcome, SoapResponse, XmlLimits};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus");
const SAMPLES: &str = "messages/node-soap/test/request-response-samples";

/// Where soapgate and node-soap (normalised) differ on purpose: (sample, why, the differences as
/// `pointer: kind`, see [`node_soap::diff`]). The README table "Conventions compared with node-soap"
/// lists each convention once.
const DIFFERENCES: &[(&str, &str, &[&str])] = &[
    (
        "Dummy__should_deserialize_basic_types",
        "xs:decimal is a string holding the exact decimal (node-soap: a JS number)",
        &["/decimal: type"],
    ),
    ("Dummy__should_escape_xml", NIL_DEFAULT, &[LIST_NULL]),
    ("Dummy__should_handle_attributes_in_request", ARRAY_OBJECT, &[ELEMENT_ARRAY, ELEMENT_TYPE]),
    ("Dummy__should_handle_attributes_in_response", ARRAY_TRIM, &[ELEMENT_ARRAY, TEXT_TRIM]),
    (
        "Dummy__should_handle_cdata_xml_in_response",
        "DummyElement is an array (maxOccurs=unbounded); CDATA is text, so the XML inside stays a \
         string (node-soap parses it into objects)",
        &[ELEMENT_ARRAY, "/DummyResult/DummyList/DummyElement/0/#text: type"],
    ),
    (
        "Dummy__should_handle_datetime_transformation",
        "xs:dateTime keeps its lexical value (node-soap re-formats it through a JS Date, adding \
         `.000Z`: a time zone the backend never sent)",
        &["/NextScheduledDateTime: value"],
    ),
    ("Dummy__should_handle_nil", NIL_DEFAULT, &[LIST_NULL]),
    (
        "Dummy__should_handle_nil_as_null",
        "DummyElement is an array (maxOccurs=unbounded): `[null]` (node-soap, handleNilAsNull: `null`)",
        &[ELEMENT_ARRAY],
    ),
    ("Dummy__should_handle_nil_false", ARRAY_OBJECT, &[ELEMENT_ARRAY, ELEMENT_TYPE]),
    ("Dummy__should_handle_null_args", ARRAY_OBJECT, &[ELEMENT_ARRAY, ELEMENT_TYPE]),
    ("Dummy__should_ignore_commented_envelope_in_response", ARRAY_TRIM, &[ELEMENT_ARRAY, TEXT_TRIM]),
    (
        "GetAccountXml__non_xmlns_attributes_should_be_returned",
        "AccountXml holds `<s:any/>`, whose processContents is strict by default, and Foo has no global \
         declaration: undeclared, so dropped (README \"Only declared data leaves\"; node-soap converts it)",
        &["/AccountXml/Foo: missing"],
    ),
    ("RequestHeaders__propogate_basic_security", EMPTY_BODY, &["(root): type"]),
    (
        "ResponseHeaders__return_soap_headers",
        "an empty response wrapper gives {} (node-soap: null): a body is always an object; the Header \
         block SomeToken is not bound in the WSDL: undeclared, so dropped (node-soap returns it)",
        &["(root): type", "(header)/SomeToken: missing"],
    ),
    (
        "execFile__valid_xml_generated_on_request_with_complex_type_element_form_default_qualified",
        EXEC_FILE,
        &["/result: missing"],
    ),
    (
        "execFile__valid_xml_generated_on_request_with_complex_type_element_form_default_unqualified",
        EXEC_FILE,
        &["/result: missing"],
    ),
    (
        "login__error_returned_should_contain_root_Json_on_fault",
        "Axis adds `hostname` (the server's host name) beside the declared invalidCredentialsFault in the \
         Fault detail: undeclared, so dropped (node-soap returns it)",
        &["(fault)/detail/hostname: missing"],
    ),
    (
        "RetrieveFareQuoteDateRange__should_handle_child_namespaces",
        "empty elements are \"\" (node-soap: null) and xsi:nil is null (node-soap drops the element); \
         the result type ViewFareQuote is missing from the corpus, so both use the schema-less convention",
        &[
            "/RetrieveFareQuoteDateRangeResult/FlightSegments: type",
            "/RetrieveFareQuoteDateRangeResult/LegDetails: type",
            "/RetrieveFareQuoteDateRangeResult/RequestedIataNumber: type",
            "/RetrieveFareQuoteDateRangeResult/RequestedPromotionalCode: extra",
            "/RetrieveFareQuoteDateRangeResult/SegmentDetails: type",
            "/RetrieveFareQuoteDateRangeResult/TaxDetails: type",
        ],
    ),
    (
        "getAttachments__should_handle_MTOM_response",
        "MTOM (multipart/related) responses are not unpacked: the raw body is 502 UPSTREAM_XML_SYNTAX; \
         its root part converts exactly like node-soap's",
        &["(multipart body): rejected"],
    ),
    (
        "multiCall__rpc_stype_request_xsi_attributes",
        "SOAP-ENC array items are always arrays (FixedArray restricts soapenc:Array) and an item with \
         xsi:type=\"xsd:boolean\" is a JSON boolean (node-soap: one object, the string \"true\")",
        &["/multiCallReturn/item: array", "/multiCallReturn/item/0/#text: type"],
    ),
    (
        "readMetadata__should_respect_xsi_type_attribute",
        "an absent maxOccurs>1 child is [] when its parent is present: BusinessProcess/values, reached \
         through the xsi:type-selected CustomObject (node-soap: absent)",
        &[
            "/result/records/0/businessProcesses/0/values: extra",
            "/result/records/0/businessProcesses/1/values: extra",
        ],
    ),
    (
        "update__complex_extension_with_array_attributes",
        "an absent maxOccurs>1 child is [] when its parent is present: Status/statusDetail (node-soap: absent); \
         attributes are typed by the schema: @isSuccess is the boolean true (node-soap: the string); the \
         xsi:type RecordRef declares internalId and externalId but no `type` attribute: undeclared, so dropped",
        &[
            "/writeResponse/status/@isSuccess: type",
            "/writeResponse/status/statusDetail: extra",
            "/writeResponse/baseRef/@type: missing",
        ],
    ),
];

const ELEMENT_ARRAY: &str = "/DummyResult/DummyList/DummyElement: array";
const ELEMENT_TYPE: &str = "/DummyResult/DummyList/DummyElement/0: type";
const ARRAY_OBJECT: &str = "DummyElement is an array also for one item (maxOccurs=unbounded), and its type \
    (simpleContent) is always an object, `{\"#text\": ...}`, also when no attribute came (node-soap: the bare \
    text once `xsi:nil=\"false\"` is dropped)";
const TEXT_TRIM: &str = "/DummyResult/DummyList/DummyElement/0/#text: whitespace";
const LIST_NULL: &str = "/DummyResult/DummyList: type";
const ARRAY_TRIM: &str = "DummyElement is an array also for one item (maxOccurs=unbounded; node-soap: the \
    bare value), and its xs:string text is kept as sent, whitespace included (node-soap trims)";
const NIL_DEFAULT: &str =
    "xsi:nil is null in place, in the DummyElement array: `{\"DummyElement\": [null]}` \
    (node-soap by default drops the nil element and makes the emptied DummyList null)";
const EXEC_FILE: &str = "the Body holds execFileResponse but the output part's element is execFileResult: \
    undeclared, so dropped with its content (node-soap converts it)";
const EMPTY_BODY: &str = "an empty response wrapper gives {} (node-soap: null): a body is always an object";

/// Samples without a response to compare (request-only, or a one-way operation).
const NO_RESPONSE: &[(&str, &str)] = &[
    (
        "Dummy__should_use_empty_tags_when_directed",
        "a request rendering option; the sample has no response",
    ),
    (
        "OneWay__should_handle_one_way_operation",
        "one-way operation: there is no response",
    ),
];

/// The corpus directory below [`CORPUS`]; `None` (test skipped) when absent, unless `CI` is set.
pub(super) fn corpus(below: &str) -> Option<PathBuf> {
    let dir = Path::new(CORPUS).join(below);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the corpus is required in CI but missing at {}",
        dir.display()
    );
    eprintln!("skipping: no corpus at {}", dir.display());
    None
}

/// Converts a response as the pipeline does for a route bound to `op`.
/// The JSON text written while parsing is checked against it, byte for byte; `streamed` says
/// whether the writer produced it (or handed over to the tree).
pub(super) fn convert(wsdl: &Wsdl, op: &Operation, xml: &[u8]) -> Result<Converted, String> {
    let bound = Bound { wsdl, op };
    let (tree_tally, text_tally) = (Tally::default(), Tally::default());
    let tree = parse_typed(
        xml,
        &XmlLimits::default(),
        bound,
        Gates::all(Undeclared::Drop, &tree_tally),
    );
    let text = stream_typed(
        xml,
        &XmlLimits::default(),
        bound,
        Gates::all(Undeclared::Drop, &text_tally),
    );
    let streamed = crate::soap::stream::check_against_tree(&tree, &text);
    if streamed {
        assert_eq!(tree_tally.names(), text_tally.names());
    }
    let response = tree.map_err(|e| format!("{}: {e}", e.code()))?;
    Ok(Converted { response, streamed })
}

/// A converted response, and whether its payload was written while parsing.
pub(super) struct Converted {
    pub response: SoapResponse,
    pub streamed: bool,
}

/// How one sample came out.
enum Verdict {
    /// Converted and compared: the differences left (none: the sample passes).
    Compared(Vec<Mismatch>),
    /// No response to compare, with the reason.
    NoResponse(&'static str),
    /// Could not be converted or compared.
    Failed(String),
}

#[test]
fn node_soap_response_samples_match_except_listed_differences() {
    let Some(root) = corpus(SAMPLES) else { return };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("readable samples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 30, "expected the 30 node-soap samples");
    let mut unexpected = Vec::new();
    eprintln!("{:<96} {:<11} detail", "sample", "result");
    for dir in &dirs {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let verdict = run_sample(dir, name);
        unexpected.extend(report(name, &verdict));
    }
    let known: Vec<&str> = DIFFERENCES.iter().map(|d| d.0).collect();
    let missing: Vec<&&str> = known
        .iter()
        .filter(|k| !dirs.iter().any(|d| d.ends_with(k)))
        .collect();
    assert!(
        missing.is_empty(),
        "DIFFERENCES names unknown samples: {missing:?}"
    );
    assert!(
        unexpected.is_empty(),
        "samples that neither pass nor differ as listed in DIFFERENCES:\n{}",
        unexpected.join("\n")
    );
}

/// Prints one table row (and the differences below it); returns what is not as expected.
fn report(name: &str, verdict: &Verdict) -> Option<String> {
    let listed = DIFFERENCES.iter().find(|d| d.0 == name);
    let mut expected: Vec<&str> = listed.map_or(Vec::new(), |d| d.2.to_vec());
    expected.sort_unstable();
    match verdict {
        Verdict::NoResponse(why) => {
            eprintln!("{name:<96} {:<11} {why}", "n/a");
            None
        }
        Verdict::Failed(e) => {
            eprintln!("{name:<96} {:<11} {e}", "FAILED");
            Some(format!("{name}: {e}"))
        }
        Verdict::Compared(found) => {
            let mut keys: Vec<&str> = found.iter().map(|m| m.key.as_str()).collect();
            keys.sort_unstable();
            let result = match (keys == expected, keys.is_empty()) {
                (true, true) => "pass",
                (true, false) => "difference",
                (false, _) => "UNEXPECTED",
            };
            eprintln!("{name:<96} {result:<11} {}", listed.map_or("", |d| d.1));
            for m in found {
                eprintln!("{:<108} {} ({})", "", m.key, m.detail);
            }
            (keys != expected).then(|| format!("{name}: found {keys:?}, listed {expected:?}"))
        }
    }
}

/// Converts one sample's `response.xml` and compares it with node-soap's JSON.
fn run_sample(dir: &Path, name: &str) -> Verdict {
    if let Some((_, why)) = NO_RESPONSE.iter().find(|n| n.0 == name) {
        let has = dir.join("response.xml").is_file();
        return if has {
            Verdict::Failed("listed in NO_RESPONSE but has a response.xml".into())
        } else {
            Verdict::NoResponse(why)
        };
    }
    match compare_sample(dir, name) {
        Ok(found) => Verdict::Compared(found),
        Err(e) => Verdict::Failed(e),
    }
}

fn compare_sample(dir: &Path, name: &str) -> Result<Vec<Mismatch>, String> {
    let wsdl = load(&dir.join("soap.wsdl")).map_err(|e| format!("load: {e}"))?;
    let op = operation(&wsdl, name)?;
    let raw = std::fs::read(dir.join("response.xml")).map_err(|e| format!("response.xml: {e}"))?;
    let mut found = Vec::new();
    let xml = match mime_root(&raw) {
        Some(root) => {
            if let Err(e) = convert(&wsdl, op, &raw) {
                found.push(Mismatch {
                    key: "(multipart body): rejected".into(),
                    detail: format!("soapgate {e} | node-soap unpacks the root part"),
                });
            }
            root
        }
        None => raw,
    };
    let Converted { response, streamed } = convert(&wsdl, op, &xml)?;
    match &response.outcome {
        Outcome::Payload(v) => {
            // Every payload of the corpus is written while parsing (none needs the tree).
            assert!(streamed, "{name}: the JSON writer handed over to the tree");
            diff(v, &normalise(&read_json(dir, "response.json")?), "", &mut found);
            compare_header(dir, &response, &mut found)?;
        }
        Outcome::Fault(f) => compare_fault(f, &read_json(dir, "error_response.json")?, &mut found),
    }
    Ok(found)
}

/// The operation named by the sample's prefix (the text before `__`), exactly or ignoring case.
fn operation<'w>(wsdl: &'w Wsdl, sample: &str) -> Result<&'w Operation, String> {
    let name = sample.split("__").next().unwrap_or_default();
    wsdl.operation(name, None)
        .or_else(|| wsdl.operations.iter().find(|o| o.name.eq_ignore_ascii_case(name)))
        .ok_or_else(|| format!("no operation `{name}` in soap.wsdl"))
}

fn read_json(dir: &Path, file: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))
}

/// node-soap's response headers (`responseSoapHeader.json`), where the sample gives them.
fn compare_header(dir: &Path, response: &SoapResponse, found: &mut Vec<Mismatch>) -> Result<(), String> {
    if !dir.join("responseSoapHeader.json").is_file() {
        return Ok(());
    }
    let expected = normalise(&read_json(dir, "responseSoapHeader.json")?);
    let header = response.header.clone().unwrap_or(Value::Null);
    diff(&header, &expected, "(header)", found);
    Ok(())
}

/// A Fault against node-soap's `{"Envelope": {"Body": {"Fault": ...}}}`: the code's local part,
/// the message and the (schema-less) detail.
fn compare_fault(f: &Fault, expected: &Value, found: &mut Vec<Mismatch>) {
    let fault = &expected["Envelope"]["Body"]["Fault"];
    let code = fault["faultcode"]
        .as_str()
        .map_or(Value::Null, |c| json!(local(c)));
    diff(&json!(f.code), &code, "(fault)/faultcode", found);
    diff(
        &json!(f.message),
        &fault["faultstring"],
        "(fault)/faultstring",
        found,
    );
    let detail = f.detail.clone().unwrap_or(Value::Null);
    diff(&detail, &normalise(&fault["detail"]), "(fault)/detail", found);
}

/// The root part of a MIME multipart (MTOM) body; `None` when the body is not multipart.
fn mime_root(raw: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(raw);
    let start = text.trim_start();
    let boundary = start.strip_prefix("--")?.lines().next()?.trim();
    let part = start.split(&format!("--{boundary}")).nth(1)?;
    let (_, body) = part.split_once("\r\n\r\n").or_else(|| part.split_once("\n\n"))?;
    Some(body.trim().as_bytes().to_vec())
}

//! The wsdl2phpgenerator exchanges recorded from live ASMX services (2015), converted with their
//! WSDLs and compared with the exact JSON: schema arrays also for one item, XSD-typed numbers and
//! booleans, and an empty `<Country />` kept as `""` (an empty string is not an absent element).

use super::{convert, corpus};
use crate::soap::parse::Outcome;
use crate::soap::SoapVersion;
use crate::wsdl::load;
use serde_json::{json, Value};

const EXTRACTED: &str = "messages/wsdl2phpgenerator/extracted";
const WSDLS: &str = "wsdl/wsdl2phpgenerator/tests/fixtures/wsdl";

/// Each cassette's WSDL (corpus README index) and the operation its recorded request calls.
const CASSETTES: &[(&str, &str, &str)] = &[
    (
        "CurrencyConverterTest_testCurrencyConvertor",
        "currencyconvertor/CurrencyConvertor.wsdl",
        "ConversionRate",
    ),
    (
        "NaicsTest_testNaics",
        "naics/GenericNAICS.wsdl",
        "GetNAICSByIndustry",
    ),
    (
        "NaicsTest_testSingleNaics",
        "naics/GenericNAICS.wsdl",
        "GetNAICSByID",
    ),
];

const TITLE_5415: &str = "Computer Systems Design and Related Services";
const DESC_5415: &str = "See industry description for 54151 below.";
const DESC_54151: &str = "This industry comprises establishments primarily engaged in providing expertise in \
the field of information technologies through one or more of the following activities: (1) writing, modifying, \
testing, and supporting software to meet the needs of a particular customer; (2) planning and designing \
computer systems that integrate computer hardware, software, and communication technologies; (3) on-site \
management and operation of clients' computer systems and/or data processing facilities; and (4) other \
professional and technical computer-related advice and services.";
const DESC_541512: &str = "This U.S. industry comprises establishments primarily engaged in planning and \
designing computer systems that integrate computer hardware, software, and communication technologies. The \
hardware and software components of the system may be provided by this establishment or company as part of \
integrated services or may be provided by third parties or vendors. These establishments often install the \
system and train and support users of the system.";

/// The cassette's response converted as the pipeline does; `None` when the corpus is absent.
fn converted(cassette: &str) -> Option<Value> {
    let (_, wsdl_path, op_name) = CASSETTES
        .iter()
        .find(|c| c.0 == cassette)
        .expect("listed cassette");
    let wsdl = load(&corpus(WSDLS)?.join(wsdl_path)).expect("the cassette's WSDL loads");
    let op = wsdl
        .operation(op_name, Some(SoapVersion::V11))
        .expect("the recorded operation");
    let dir = corpus(EXTRACTED)?;
    let request = std::fs::read_to_string(dir.join(format!("{cassette}.0.request.xml"))).expect("request");
    assert!(
        request.contains(&format!(":{op_name}>")),
        "{cassette} does not call {op_name}"
    );
    let xml = std::fs::read(dir.join(format!("{cassette}.0.response.xml"))).expect("response");
    let converted = convert(&wsdl, op, &xml).expect("converts");
    match converted.response.outcome {
        Outcome::Payload(v) => {
            assert!(
                converted.streamed,
                "{cassette}: the JSON writer handed over to the tree"
            );
            Some(v)
        }
        Outcome::Fault(f) => panic!("{cassette}: unexpected fault {f:?}"),
    }
}

#[test]
fn every_recorded_response_has_a_cassette_entry() {
    let Some(dir) = corpus(EXTRACTED) else { return };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("readable")
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| n.strip_suffix(".0.response.xml").map(str::to_string))
        .collect();
    names.sort();
    let listed: Vec<&str> = CASSETTES.iter().map(|c| c.0).collect();
    assert_eq!(names, listed);
}

#[test]
fn single_naics_record_is_an_array_of_one_and_empty_country_stays_a_string() {
    let Some(v) = converted("NaicsTest_testSingleNaics") else {
        return;
    };
    let naics =
        json!({"NAICSCode": "54151", "Title": TITLE_5415, "Country": "", "IndustryDescription": DESC_54151});
    assert_eq!(
        v,
        json!({"GetNAICSByIDResult": true, "NAICSData": {"Records": 1, "NAICSData": {"NAICS": [naics]}}})
    );
}

#[test]
fn naics_records_are_an_array_of_many_with_typed_count() {
    let Some(v) = converted("NaicsTest_testNaics") else {
        return;
    };
    let record = |code: &str, title: &str, country: &str, desc: &str| json!({"NAICSCode": code, "Title": title, "Country": country, "IndustryDescription": desc});
    let records = [
        record("5415", TITLE_5415, "", DESC_5415),
        record("54151", TITLE_5415, "", DESC_54151),
        record("541512", "Computer Systems Design Services", "US", DESC_541512),
    ];
    assert_eq!(
        v,
        json!({"GetNAICSByIndustryResult": true, "NAICSData": {"Records": 3, "NAICSData": {"NAICS": records}}})
    );
}

#[test]
fn currency_conversion_rate_is_a_json_number() {
    let Some(v) = converted("CurrencyConverterTest_testCurrencyConvertor") else {
        return;
    };
    assert_eq!(v, json!({"ConversionRateResult": 0.9167}));
}

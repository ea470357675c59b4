//! The JSON limit checker against serde_json as an oracle: it never panics; what it accepts
//! serde_json accepts with the same value; a syntax error is an error for serde_json too; and what
//! serde_json accepts it refuses only for a limit. Also the exact numerals of `soapgate::decimal`:
//! never a panic, and the plain form reads back as the same number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use soapgate::decimal::Decimal;
use soapgate::threat::json::{parse, JsonError, JsonLimits};

fuzz_target!(|data: &[u8]| {
    if let Some(d) = std::str::from_utf8(data).ok().and_then(Decimal::parse) {
        if let Ok(plain) = d.to_plain() {
            let back = Decimal::parse(&plain).expect("the plain form is a numeral");
            assert!(back.cmp_value(&d).is_eq(), "{plain}");
        }
        let _ = d.to_integer();
        for places in [0, 2, 18] {
            if let Ok(fixed) = d.to_fixed(places) {
                assert!(Decimal::parse(&fixed).is_some(), "{fixed}");
            }
        }
    }
    // Small limits so the fuzzer reaches every limit branch with short inputs.
    let small = JsonLimits { depth: 4, entries: 4, array: 4, string: 8, key: 4, number: 8 };
    for lim in [JsonLimits::default(), small] {
        let ours = parse(data, &lim);
        let theirs = serde_json::from_slice::<Value>(data);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "values differ"),
            (Ok(_), Err(e)) => panic!("accepted what serde_json refuses: {e}"),
            (Err(JsonError::Syntax(m)), Ok(_)) => panic!("syntax error on valid JSON: {m}"),
            (Err(e), _) => assert!(!e.message().is_empty()),
        }
    }
});

//! The bounded streaming SOAP response parser (default XmlLimits, no hints): never panics, with
//! and without unwrapping the doc/literal wrapper; converting twice gives the same result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soapgate::soap::convert::Hints;
use soapgate::soap::parse::{parse, XmlLimits};

fuzz_target!(|data: &[u8]| {
    let limits = XmlLimits::default();
    let hints = Hints::default();
    for unwrap in [true, false] {
        let a = parse(data, &limits, &hints, unwrap);
        if let Ok(a) = a {
            let b = parse(data, &limits, &hints, unwrap).ok();
            assert_eq!(Some(a), b);
        }
    }
});

//! The bounded streaming SOAP response parser (default XmlLimits): never panics, with and without
//! unwrapping the doc/literal wrapper, without and with path hints; converting twice gives the
//! same result; and the JSON text written while parsing is the tree's JSON, byte for byte (or
//! the writer hands over), with the same error when there is one before it would.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soapgate::soap::convert::{Hints, ScalarType};
use soapgate::soap::parse::{parse, stream, Outcome, XmlLimits};

fuzz_target!(|data: &[u8]| {
    let limits = XmlLimits::default();
    let arrays = ["R/item".to_string(), "a".to_string()];
    let types = [("R/n".to_string(), ScalarType::Integer), ("b".to_string(), ScalarType::Boolean)];
    let hinted = Hints::new(&arrays, &types).expect("valid hints");
    for hints in [&Hints::default(), &hinted] {
        for unwrap in [true, false] {
            let tree = parse(data, &limits, hints, unwrap);
            let text = stream(data, &limits, hints, unwrap);
            match (&tree, &text) {
                (Ok(t), Ok(s)) => match (&t.outcome, &s.outcome) {
                    (Outcome::Payload(v), Outcome::Payload(Some(b))) => {
                        assert_eq!(std::str::from_utf8(b).ok(), Some(v.to_string().as_str()));
                    }
                    (Outcome::Payload(_), Outcome::Payload(None)) => {}
                    (Outcome::Fault(a), Outcome::Fault(b)) => assert_eq!(a, b),
                    _ => panic!("tree and stream disagree"),
                },
                (Err(a), Err(b)) => assert_eq!((a.code(), a.to_string()), (b.code(), b.to_string())),
                // Handed over before the tree's error: the tree's answer is the only one.
                (Err(_), Ok(s)) if matches!(s.outcome, Outcome::Payload(None)) => {}
                _ => panic!("tree and stream disagree: {:?} / {:?}", tree.is_ok(), text.is_ok()),
            }
            if let Ok(a) = tree {
                assert_eq!(Some(a), parse(data, &limits, hints, unwrap).ok());
            }
        }
    }
});

//! XML Schema built-in types by local name, with the bounds of the integer family.

use crate::wsdl::model::{Builtin, QName};
use crate::wsdl::ns;

/// The built-in for a QName in an XML Schema namespace (also the 1999/2000 drafts).
pub fn builtin_by_qname(name: &QName) -> Option<Builtin> {
    if ns::is_xsd(&name.ns) {
        builtin(&name.local)
    } else {
        None
    }
}

/// The built-in type with this local name in the XML Schema namespace.
pub fn builtin(local: &str) -> Option<Builtin> {
    if let Some(b) = integer(local) {
        return Some(b);
    }
    Some(match local {
        "string" => Builtin::String,
        "normalizedString" | "token" | "language" | "Name" | "NCName" | "ID" | "IDREF" | "IDREFS"
        | "ENTITY" | "ENTITIES" | "NMTOKEN" | "NMTOKENS" | "NOTATION" => Builtin::Token,
        "boolean" => Builtin::Boolean,
        "decimal" => Builtin::Decimal,
        "float" => Builtin::Float,
        "double" => Builtin::Double,
        "date" => Builtin::Date,
        "dateTime" | "dateTimeStamp" | "timeInstant" => Builtin::DateTime,
        "time" => Builtin::Time,
        "duration" | "dayTimeDuration" | "yearMonthDuration" | "timeDuration" => Builtin::Duration,
        "gYear" | "gYearMonth" | "gMonth" | "gMonthDay" | "gDay" => Builtin::Gregorian,
        "base64Binary" => Builtin::Base64Binary,
        "hexBinary" => Builtin::HexBinary,
        "anyURI" | "uriReference" => Builtin::AnyUri,
        "QName" => Builtin::QName,
        "anySimpleType" | "anyAtomicType" => Builtin::AnySimpleType,
        "anyType" | "ur-type" => Builtin::AnyType,
        _ => return None,
    })
}

/// The integer family with inclusive bounds.
fn integer(local: &str) -> Option<Builtin> {
    let (min, max): (Option<i128>, Option<i128>) = match local {
        "integer" => (None, None),
        "nonPositiveInteger" => (None, Some(0)),
        "negativeInteger" => (None, Some(-1)),
        "nonNegativeInteger" => (Some(0), None),
        "positiveInteger" => (Some(1), None),
        "long" => (Some(i64::MIN.into()), Some(i64::MAX.into())),
        "int" => (Some(i32::MIN.into()), Some(i32::MAX.into())),
        "short" => (Some(i16::MIN.into()), Some(i16::MAX.into())),
        "byte" => (Some(i8::MIN.into()), Some(i8::MAX.into())),
        "unsignedLong" => (Some(0), Some(u64::MAX.into())),
        "unsignedInt" => (Some(0), Some(u32::MAX.into())),
        "unsignedShort" => (Some(0), Some(u16::MAX.into())),
        "unsignedByte" => (Some(0), Some(u8::MAX.into())),
        _ => return None,
    };
    Some(Builtin::Integer { min, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_family_has_bounds() {
        assert_eq!(
            builtin("unsignedByte"),
            Some(Builtin::Integer {
                min: Some(0),
                max: Some(255)
            })
        );
        assert_eq!(
            builtin("integer"),
            Some(Builtin::Integer { min: None, max: None })
        );
        assert_eq!(builtin("token"), Some(Builtin::Token));
        assert_eq!(builtin("gYearMonth"), Some(Builtin::Gregorian));
        assert_eq!(builtin("nope"), None);
        assert_eq!(
            builtin_by_qname(&QName::new("http://www.w3.org/1999/XMLSchema", "int")),
            builtin("int")
        );
    }
}

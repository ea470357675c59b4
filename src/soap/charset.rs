//! The character encoding of an XML document received over HTTP, and its text as UTF-8: backend
//! replies are decoded here once, before the parser (which reads UTF-8 only), and so are WSDL
//! documents.
//!
//! Which encoding, first match wins:
//!
//! 1. a byte order mark: UTF-8 (`EF BB BF`), UTF-16LE (`FF FE`), UTF-16BE (`FE FF`);
//! 2. UTF-16 recognised by its first two characters, `<?` (XML 1.0 Appendix F);
//! 3. the `encoding` of the XML declaration (one that names UTF-16 while being readable as ASCII
//!    is UTF-8: a document serialized from a UTF-16 string often says so);
//! 4. the `charset` parameter of the HTTP `Content-Type`;
//! 5. UTF-8.
//!
//! The declaration comes before the Content-Type, the other way round from RFC 7303 §3.2: it is
//! written by the serializer that encoded the bytes, while the header is often a framework's
//! constant (spyne 2.14 answers `text/xml; charset=utf-8` for a reply it encodes as ISO-8859-1
//! and declares so), and the SOAP clients a backend is tested with read the declaration and
//! ignore the header (libxml2 under PHP's SoapClient, lxml under zeep). The header still decides
//! for a document whose declaration names no encoding.
//!
//! Any WHATWG encoding (encoding_rs) is decoded: UTF-8, UTF-16LE/BE, windows-1252 (what
//! `ISO-8859-1`, `latin1` and `US-ASCII` name there too), the other ISO-8859 and windows code
//! pages, KOI8, Shift_JIS, EUC-JP, EUC-KR, GBK, gb18030, Big5... A name encoding_rs does not know
//! (UTF-32, EBCDIC, `x-nonsense`), one WHATWG maps to its replacement decoder (ISO-2022-KR...), or
//! bytes invalid in the chosen encoding are [`CharsetError`]s, never text with U+FFFD in it.
//!
//! The decoded text must fit the same size limit as the bytes received: a Latin-1 reply with
//! accents grows by up to 2×, a windows-1252 one by up to 3× (`€` is one byte, three in UTF-8), a
//! UTF-16 one of mostly ASCII text halves. The limit is checked before any text is written.

use encoding_rs::{DecoderResult, Encoding, UTF_16BE, UTF_16LE, UTF_8};
use std::borrow::Cow;

/// Where the encoding came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ByteOrderMark,
    ContentType,
    Declaration,
    /// UTF-16 recognised by the bytes of `<?` (XML 1.0 Appendix F).
    Detected,
    Default,
}

impl Source {
    fn describe(self) -> &'static str {
        match self {
            Source::ByteOrderMark => "the byte order mark",
            Source::ContentType => "the Content-Type charset",
            Source::Declaration => "the XML declaration",
            Source::Detected => "the first bytes",
            Source::Default => "the default",
        }
    }
}

/// Why a document cannot be read as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CharsetError {
    /// The encoding name is not one that can be decoded.
    #[error("the encoding {name} named by {} is not supported", .from.describe())]
    Unsupported { name: String, from: Source },
    /// Bytes that the encoding does not allow.
    #[error("the text is not valid {encoding} (encoding from {}) near byte {at}", .from.describe())]
    Invalid {
        encoding: &'static str,
        from: Source,
        at: usize,
    },
    /// The decoded text is larger than the limit.
    #[error("the text decoded to UTF-8 exceeds {0} bytes")]
    TooLarge(usize),
}

/// The document as UTF-8 text (borrowed when it was UTF-8 already), without a byte order mark.
pub fn decode<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
    limit: usize,
) -> Result<Cow<'a, str>, CharsetError> {
    let (encoding, source, rest) = detect(bytes, content_type)?;
    if encoding == UTF_8 {
        if rest.len() > limit {
            return Err(CharsetError::TooLarge(limit));
        }
        return std::str::from_utf8(rest)
            .map(Cow::Borrowed)
            .map_err(|e| CharsetError::Invalid {
                encoding: "UTF-8",
                from: source,
                at: bytes.len() - rest.len() + e.valid_up_to(),
            });
    }
    let mut decoder = encoding.new_decoder_without_bom_handling();
    // The worst case of this encoding, but never more than the limit (and one character).
    let room = decoder
        .max_utf8_buffer_length_without_replacement(rest.len())
        .unwrap_or(usize::MAX)
        .min(limit.saturating_add(4));
    let mut text = String::with_capacity(room);
    let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut text, true);
    match result {
        DecoderResult::InputEmpty if text.len() <= limit => Ok(Cow::Owned(text)),
        DecoderResult::InputEmpty | DecoderResult::OutputFull => Err(CharsetError::TooLarge(limit)),
        DecoderResult::Malformed(bad, after) => Err(CharsetError::Invalid {
            encoding: encoding.name(),
            from: source,
            at: (bytes.len() - rest.len() + read).saturating_sub(usize::from(bad) + usize::from(after)),
        }),
    }
}

/// The encoding, where it was named, and the bytes after any byte order mark.
fn detect<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
) -> Result<(&'static Encoding, Source, &'a [u8]), CharsetError> {
    // UTF-32 marks first: `FF FE 00 00` also starts like UTF-16LE's.
    if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) || bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return Err(CharsetError::Unsupported {
            name: "UTF-32".into(),
            from: Source::ByteOrderMark,
        });
    }
    if let Some((encoding, mark)) = Encoding::for_bom(bytes) {
        return Ok((encoding, Source::ByteOrderMark, bytes.get(mark..).unwrap_or(&[])));
    }
    // UTF-16 without a mark: `<?` as two 16-bit units.
    if bytes.starts_with(&[b'<', 0, b'?', 0]) {
        return Ok((UTF_16LE, Source::Detected, bytes));
    }
    if bytes.starts_with(&[0, b'<', 0, b'?']) {
        return Ok((UTF_16BE, Source::Detected, bytes));
    }
    if let Some(label) = declared(bytes) {
        return match resolve(label, Source::Declaration, bytes)? {
            // A declaration readable as ASCII is not UTF-16 text, whatever it says: UTF-8.
            e if e == UTF_16LE || e == UTF_16BE => Ok((UTF_8, Source::Detected, bytes)),
            e => Ok((e, Source::Declaration, bytes)),
        };
    }
    if let Some(label) = content_type.and_then(charset_param) {
        return Ok((
            resolve(label, Source::ContentType, bytes)?,
            Source::ContentType,
            bytes,
        ));
    }
    Ok((UTF_8, Source::Default, bytes))
}

/// The encoding a label names. `UTF-16` alone (no byte order mark, which would have been seen
/// first) is big-endian unless the document starts like little-endian text (RFC 2781 §4.3).
fn resolve(label: &str, source: Source, bytes: &[u8]) -> Result<&'static Encoding, CharsetError> {
    let unsupported = || CharsetError::Unsupported {
        name: shown(label),
        from: source,
    };
    let encoding = Encoding::for_label_no_replacement(label.as_bytes()).ok_or_else(unsupported)?;
    if label.trim().eq_ignore_ascii_case("utf-16") {
        let little = bytes.get(1) == Some(&0) && bytes.first() != Some(&0);
        return Ok(if little { UTF_16LE } else { UTF_16BE });
    }
    Ok(encoding)
}

/// An encoding name as a message may show it: the XML `EncName` characters only (the name is the
/// backend's text), in backticks; anything else is described, not echoed.
fn shown(label: &str) -> String {
    let label = label.trim();
    let plain = label.len() <= 40
        && label.starts_with(|c: char| c.is_ascii_alphabetic())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if plain {
        format!("`{label}`")
    } else {
        "(a name that is not an encoding name)".into()
    }
}

/// The `charset` parameter of a Content-Type value, unquoted.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').trim())
            .filter(|v| !v.is_empty())
    })
}

/// The `encoding` of an XML declaration at the very start (ASCII-compatible encodings only:
/// others have a byte order mark or are recognised before).
fn declared(bytes: &[u8]) -> Option<&str> {
    let decl = bytes.strip_prefix(b"<?xml")?;
    if !decl.first().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    // A declaration is short: `version`, `encoding` and `standalone` with their quotes.
    let head = decl.get(..decl.len().min(256))?;
    let decl = head.get(..head.windows(2).position(|w| w == b"?>")?)?;
    let decl = std::str::from_utf8(decl).ok()?;
    let after = &decl[decl.find("encoding")? + "encoding".len()..];
    let value = after.trim_start().strip_prefix('=')?.trim_start();
    let quote = value.chars().next().filter(|q| matches!(q, '"' | '\''))?;
    let value = &value[1..];
    Some(&value[..value.find(quote)?])
}

/// The encoding request envelopes are sent in (`backend.request_encoding`; UTF-8 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestEncoding {
    Utf8,
    /// The code points up to `max`, one byte each: ISO-8859-1 (0xFF) and US-ASCII (0x7F), which
    /// WHATWG reads as windows-1252 but a backend asking for them does not (`€` would go out as
    /// 0x80, a C1 control in ISO-8859-1).
    Exact {
        name: &'static str,
        max: u32,
    },
    /// Any other WHATWG encoding with an encoder (windows-125x, ISO-8859-x, KOI8, Shift_JIS...).
    Other(&'static Encoding),
}

impl RequestEncoding {
    /// The encoding a configured label names; `Err` says why it cannot be used.
    pub fn from_label(label: &str) -> Result<RequestEncoding, String> {
        let lower = label.trim().to_ascii_lowercase();
        let latin1 = [
            "iso-8859-1",
            "iso8859-1",
            "iso88591",
            "iso_8859-1",
            "iso_8859-1:1987",
            "iso-ir-100",
            "l1",
            "latin1",
            "csisolatin1",
            "ibm819",
            "cp819",
        ];
        if latin1.contains(&lower.as_str()) {
            return Ok(RequestEncoding::Exact {
                name: "ISO-8859-1",
                max: 0xFF,
            });
        }
        if matches!(lower.as_str(), "us-ascii" | "ascii" | "ansi_x3.4-1968") {
            return Ok(RequestEncoding::Exact {
                name: "US-ASCII",
                max: 0x7F,
            });
        }
        match Encoding::for_label_no_replacement(lower.as_bytes()) {
            Some(e) if e == UTF_8 => Ok(RequestEncoding::Utf8),
            Some(e) if e == UTF_16LE || e == UTF_16BE => {
                Err("UTF-16 request envelopes are not supported".into())
            }
            // Every other WHATWG encoding but x-user-defined encodes as itself.
            Some(e) if e.output_encoding() == e => Ok(RequestEncoding::Other(e)),
            _ => Err(format!(
                "`{}` is not an encoding soapgate can write",
                label.trim()
            )),
        }
    }

    /// The name for the XML declaration and the Content-Type charset.
    pub fn name(self) -> &'static str {
        match self {
            RequestEncoding::Utf8 => "utf-8",
            RequestEncoding::Exact { name, .. } => name,
            RequestEncoding::Other(e) => e.name(),
        }
    }

    /// `text` in this encoding, or the first character it cannot carry. Never a character
    /// reference in its place: the text may be a name or CDATA, where `&#…;` is no character.
    pub fn encode(self, text: String) -> Result<Vec<u8>, char> {
        match self {
            RequestEncoding::Utf8 => Ok(text.into_bytes()),
            RequestEncoding::Exact { max, .. } => text
                .chars()
                .map(|c| {
                    u8::try_from(u32::from(c))
                        .ok()
                        .filter(|b| u32::from(*b) <= max)
                        .ok_or(c)
                })
                .collect(),
            RequestEncoding::Other(e) => {
                let mut encoder = e.new_encoder();
                let room = encoder
                    .max_buffer_length_from_utf8_without_replacement(text.len())
                    .unwrap_or(text.len().saturating_mul(4));
                let mut out = Vec::with_capacity(room);
                let (result, _) = encoder.encode_from_utf8_to_vec_without_replacement(&text, &mut out, true);
                match result {
                    encoding_rs::EncoderResult::Unmappable(c) => Err(c),
                    _ => Ok(out),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    fn latin1(s: &str) -> Vec<u8> {
        s.chars()
            .map(|c| u8::try_from(u32::from(c)).expect("latin-1"))
            .collect()
    }

    fn utf16(s: &str, big: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom.then_some(0xFEFF).into_iter().chain(s.encode_utf16());
        for u in units {
            out.extend_from_slice(&if big { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    }

    fn text(bytes: &[u8], ct: Option<&str>) -> String {
        decode(bytes, ct, LIMIT).expect("decodes").into_owned()
    }

    #[test]
    fn n1_latin1_declared_in_the_xml_declaration_is_decoded() {
        let doc = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>café</a>";
        assert_eq!(text(&latin1(doc), Some("text/xml")), doc);
        assert_eq!(text(&latin1(doc), None), doc);
        let single = "<?xml version='1.0' encoding='latin1' ?><a>é</a>";
        assert_eq!(text(&latin1(single), None), single);
    }

    #[test]
    fn n2_windows_1252_euro_sign_is_decoded() {
        let mut doc = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><a>".to_vec();
        doc.extend_from_slice(&[0x80, 0x93, b'x', 0x94]);
        doc.extend_from_slice(b"</a>");
        assert!(text(&doc, None).ends_with("<a>€“x”</a>"));
    }

    #[test]
    fn n3_n4_utf16_with_a_byte_order_mark_either_way() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>é€𝄞</a>";
        for big in [false, true] {
            assert_eq!(text(&utf16(doc, big, true), None), doc);
            // The mark wins over a Content-Type that says otherwise.
            assert_eq!(
                text(&utf16(doc, big, true), Some("text/xml; charset=iso-8859-1")),
                doc
            );
            // Without a mark: recognised by `<?`.
            assert_eq!(text(&utf16(doc, big, false), None), doc);
            assert_eq!(
                text(&utf16(doc, big, false), Some("text/xml; charset=\"UTF-16\"")),
                doc
            );
        }
        // A UTF-8 mark is dropped.
        assert_eq!(text(b"\xEF\xBB\xBF<a>\xC3\xA9</a>", None), "<a>é</a>");
    }

    #[test]
    fn n5_the_declaration_wins_over_the_content_type_charset() {
        // spyne's ISO-8859-1 replies say `charset=utf-8` in the header.
        let doc = "<?xml version='1.0' encoding='ISO-8859-1'?><a>é</a>";
        assert_eq!(text(&latin1(doc), Some("text/xml; charset=utf-8")), doc);
        // Without an encoding in the declaration (or without one at all) the charset decides.
        for doc in ["<?xml version=\"1.0\"?><a>é</a>", "<a>é</a>"] {
            assert_eq!(text(&latin1(doc), Some("text/xml; charset=ISO-8859-1")), doc);
            // And when it is wrong, the error says where the encoding was named.
            let e = decode(&latin1(doc), Some("text/xml;charset=utf-8"), LIMIT).expect_err("refused");
            let at = doc.find('é').expect("é");
            assert_eq!(
                e.to_string(),
                format!(
                    "the text is not valid UTF-8 (encoding from the Content-Type charset) near byte {at}"
                )
            );
        }
        // A declaration of UTF-16 in ASCII-readable text is UTF-8.
        let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><a>é</a>";
        assert_eq!(text(doc.as_bytes(), Some("text/xml; charset=utf-16")), doc);
    }

    #[test]
    fn n6_unknown_or_undecodable_encoding_names_are_refused_by_name() {
        let cases: [(&[u8], Option<&str>, &str); 5] = [
            (b"<?xml version=\"1.0\" encoding=\"x-nonsense\"?><a/>", None, "the encoding `x-nonsense` named by the XML declaration is not supported"),
            (b"<a/>", Some("text/xml; charset=x-nonsense"), "the encoding `x-nonsense` named by the Content-Type charset is not supported"),
            (b"<?xml version=\"1.0\" encoding=\"ISO-2022-KR\"?><a/>", None, "the encoding `ISO-2022-KR` named by the XML declaration is not supported"),
            (b"\xFF\xFE\x00\x00<\x00\x00\x00", None, "the encoding UTF-32 named by the byte order mark is not supported"),
            (b"<?xml version=\"1.0\" encoding=\"a<b>&c\"?><a/>", None, "the encoding (a name that is not an encoding name) named by the XML declaration is not supported"),
        ];
        for (doc, ct, message) in cases {
            assert_eq!(decode(doc, ct, LIMIT).expect_err("refused").to_string(), message);
        }
    }

    #[test]
    fn n7_bytes_invalid_in_the_encoding_are_refused_not_replaced() {
        let e = decode(b"<a>caf\xE9</a>", None, LIMIT).expect_err("refused");
        assert_eq!(
            e,
            CharsetError::Invalid {
                encoding: "UTF-8",
                from: Source::Default,
                at: 6
            }
        );
        // Unpaired surrogate in UTF-16.
        let mut doc = utf16("<a>", false, true);
        doc.extend_from_slice(&[0x00, 0xD8, b'x', 0]);
        assert!(matches!(
            decode(&doc, None, LIMIT),
            Err(CharsetError::Invalid {
                encoding: "UTF-16LE",
                ..
            })
        ));
        // A byte ISO-8859-3 leaves unassigned.
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-3\"?><a>\xA5</a>";
        assert!(matches!(
            decode(doc, None, LIMIT),
            Err(CharsetError::Invalid {
                encoding: "ISO-8859-3",
                from: Source::Declaration,
                at: 46
            })
        ));
    }

    #[test]
    fn n8_the_decoded_text_must_fit_the_limit_too() {
        // 1000 `€` are 1000 bytes in windows-1252 and 3000 in UTF-8.
        let mut doc = b"<?xml version=\"1.0\" encoding=\"windows-1252\"?>".to_vec();
        let head = doc.len();
        doc.extend(std::iter::repeat_n(0x80, 1000));
        assert_eq!(decode(&doc, None, head + 3000).map(|t| t.len()), Ok(head + 3000));
        assert_eq!(
            decode(&doc, None, head + 2999),
            Err(CharsetError::TooLarge(head + 2999))
        );
        // UTF-16 of ASCII halves: a reply of twice the limit decodes within it.
        let doc = utf16(&"a".repeat(100), false, true);
        assert_eq!(decode(&doc, None, 100).map(|t| t.len()), Ok(100));
        assert_eq!(decode(b"<a/>", None, 3), Err(CharsetError::TooLarge(3)));
    }

    #[test]
    fn utf8_text_is_borrowed_not_copied() {
        let doc = b"<?xml version=\"1.0\"?><a>\xC3\xA9</a>";
        assert!(matches!(
            decode(doc, Some("text/xml; charset=utf-8"), LIMIT),
            Ok(Cow::Borrowed(_))
        ));
        assert!(matches!(decode(doc, None, LIMIT), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn n11_request_encodings_carry_what_they_can_and_refuse_the_rest() {
        let latin1 = RequestEncoding::from_label("ISO-8859-1").expect("usable");
        assert_eq!(latin1.name(), "ISO-8859-1");
        assert_eq!(latin1.encode("café".into()), Ok(b"caf\xE9".to_vec()));
        assert_eq!(latin1.encode("5 €".into()), Err('€'));
        let cp1252 = RequestEncoding::from_label("windows-1252").expect("usable");
        assert_eq!(cp1252.encode("5 €".into()), Ok(b"5 \x80".to_vec()));
        assert_eq!(cp1252.encode("Ω".into()), Err('Ω'));
        let ascii = RequestEncoding::from_label("US-ASCII").expect("usable");
        assert_eq!(ascii.encode("é".into()), Err('é'));
        let sjis = RequestEncoding::from_label("shift_jis").expect("usable");
        assert_eq!(sjis.name(), "Shift_JIS");
        assert_eq!(sjis.encode("日本".into()), Ok(vec![0x93, 0xFA, 0x96, 0x7B]));
        assert_eq!(RequestEncoding::from_label("UTF8"), Ok(RequestEncoding::Utf8));
        assert!(RequestEncoding::from_label("utf-16").is_err());
        assert!(RequestEncoding::from_label("x-nonsense").is_err());
        assert!(RequestEncoding::from_label("iso-2022-kr").is_err());
    }

    #[test]
    fn charset_parameters_and_declarations_are_read_leniently() {
        assert_eq!(
            charset_param("text/xml; Charset = \"ISO-8859-1\" "),
            Some("ISO-8859-1")
        );
        assert_eq!(
            charset_param("application/soap+xml; action=\"x\";charset=utf-16"),
            Some("utf-16")
        );
        assert_eq!(charset_param("text/xml; charset="), None);
        assert_eq!(charset_param("text/xml"), None);
        assert_eq!(declared(b"<?xml version=\"1.0\"?><a/>"), None);
        assert_eq!(
            declared(b"<?xml\nversion='1.0'\nencoding = 'KOI8-R'?>"),
            Some("KOI8-R")
        );
        assert_eq!(declared(b"<?xml-stylesheet encoding='x'?>"), None);
    }
}

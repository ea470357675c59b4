//! XML -> JSON text while parsing: the shapes [`Converter`](super::convert::Converter) builds (same
//! [`Shaper`], limits and errors), written into one buffer as the events arrive, without a `Value`
//! per element. A 10 MiB response then needs its bytes and its JSON text, not a tree of maps and
//! strings several times its size.
//!
//! Text already written never changes, except one byte: the `[` before the first of two adjacent
//! elements of the same name that the shaper did not know to be an array. Where more would have to
//! change, the writer gives up, the parse stops there, and the caller converts through the
//! `Value` path instead (whose answer, error included, is then the only one):
//! - an element name that comes back after a different one (the tree merges both into one array),
//! - two attributes with the same local name (the tree keeps the last),
//! - an object with more than [`MAX_KEYS`] distinct keys (duplicates are found by a linear scan).

use super::convert::{limit, scalar_of, type_error, unbalanced, Scalar, ScalarType, Shaper, Sink};
use super::parse::XmlLimits;
use crate::error::GatewayError;
use bytes::Bytes;

/// Distinct keys one object may have before the writer hands over to the `Value` path.
pub const MAX_KEYS: usize = 64;

struct Frame<C> {
    /// `None` for the root (e.g. `soap:Body`).
    ctx: Option<C>,
    /// Where this element's value starts in the output.
    start: usize,
    /// `{` is written.
    object: bool,
    /// This object's keys are `spans[keys_from..]`, their text `names[names_from..]`.
    keys_from: usize,
    names_from: usize,
    /// One bit per key by [`key_bit`]: a key whose bit is clear is new without a scan.
    bloom: u64,
    /// The key of the last child element, and where its value starts.
    last: Option<usize>,
    last_start: usize,
    /// The last child's value is an array still open.
    open_array: bool,
    /// This element's text is `texts[text_from..]` (its children's text is gone when they close).
    text_from: usize,
    nil: bool,
    children: usize,
}

impl<C> Frame<C> {
    fn new(ctx: Option<C>, start: usize, keys: (usize, usize), text_from: usize) -> Self {
        Frame {
            ctx,
            start,
            object: false,
            keys_from: keys.0,
            names_from: keys.1,
            bloom: 0,
            last: None,
            last_start: 0,
            open_array: false,
            text_from,
            nil: false,
            children: 0,
        }
    }
}

/// Writes the JSON text of the root's children; `Output` is `None` when it gave up.
pub struct JsonWriter<'a, S: Shaper> {
    shaper: S,
    limits: &'a XmlLimits,
    out: Vec<u8>,
    /// Text of the open elements, innermost last.
    texts: String,
    /// Keys of the open objects, innermost last, as ranges of `names`.
    names: String,
    spans: Vec<(usize, usize)>,
    stack: Vec<Frame<S::Ctx>>,
    gave_up: bool,
    /// Depth inside an element the shaper did not admit (0: not in one): its events are ignored,
    /// nothing of it is kept, so it streams by like any other.
    skip: usize,
}

impl<'a, S: Shaper> JsonWriter<'a, S> {
    /// A writer for a document of `size` bytes (the JSON text is rarely longer; untouched
    /// capacity costs no memory).
    pub fn new(shaper: S, limits: &'a XmlLimits, size: usize) -> JsonWriter<'a, S> {
        let mut out = Vec::with_capacity(size.saturating_add(64));
        out.push(b'{');
        let mut root = Frame::new(None, 0, (0, 0), 0);
        root.object = true;
        JsonWriter {
            shaper,
            limits,
            out,
            texts: String::new(),
            names: String::new(),
            spans: Vec::new(),
            stack: vec![root],
            gave_up: false,
            skip: 0,
        }
    }

    fn name(&self, i: usize) -> &str {
        self.spans
            .get(i)
            .and_then(|&(a, b)| self.names.get(a..b))
            .unwrap_or("")
    }

    /// Writes `,"<prefix><local>":` as a new key of the innermost object, opening it on its first
    /// key. `None`: the key is there already or the object has too many (the writer gave up).
    fn new_key(&mut self, prefix: &str, local: &str) -> Option<usize> {
        let f = self.stack.last_mut()?;
        if !f.object {
            self.out.push(b'{');
            f.object = true;
        }
        let keys = self.spans.get(f.keys_from..).unwrap_or(&[]);
        let bit = key_bit(prefix, local);
        let seen = f.bloom & bit != 0
            && keys.iter().any(|&(a, b)| {
                let n = self.names.get(a..b).unwrap_or("");
                n.len() == prefix.len() + local.len() && n.starts_with(prefix) && n.ends_with(local)
            });
        f.bloom |= bit;
        if seen || keys.len() >= MAX_KEYS {
            self.gave_up = true;
            return None;
        }
        if !keys.is_empty() {
            self.out.push(b',');
        }
        let a = self.names.len();
        self.names.push_str(prefix);
        self.names.push_str(local);
        self.spans.push((a, self.names.len()));
        write_str(&mut self.out, prefix, local);
        self.out.push(b':');
        Some(self.spans.len() - 1)
    }

    /// Writes the text of the element just closed as the scalar its shaper types it as.
    fn scalar(&mut self, ctx: &S::Ctx, text_from: usize) -> Result<(), GatewayError> {
        let ty = self.shaper.scalar(ctx);
        let text = self.texts.get(text_from..).unwrap_or("");
        if write_typed(&mut self.out, text, ty).is_none() {
            // Its key is its parent's last one (it is popped already).
            let key = self
                .stack
                .last()
                .and_then(|p| p.last)
                .map_or("", |i| self.name(i));
            return Err(type_error(&self.shaper.describe(ctx, key), ty));
        }
        Ok(())
    }

    /// Closes an element that is an object: array still open, `[]` for absent array children,
    /// `#text`.
    fn close_object(&mut self, f: &Frame<S::Ctx>, ctx: &S::Ctx) -> Result<(), GatewayError> {
        if !f.object {
            self.out.push(b'{');
        }
        if f.open_array {
            self.out.push(b']');
        }
        let mut count = self.spans.len() - f.keys_from;
        let (out, spans, names) = (&mut self.out, &self.spans, &self.names);
        self.shaper.array_children(ctx, &mut |n| {
            let keys = spans.get(f.keys_from..).unwrap_or(&[]);
            if keys.iter().any(|&(a, b)| names.get(a..b) == Some(n)) {
                return;
            }
            if count > 0 {
                out.push(b',');
            }
            count += 1;
            write_str(out, "", n);
            out.extend_from_slice(b":[]");
        });
        let text = self.texts.get(f.text_from..).unwrap_or("");
        if !text.trim().is_empty() {
            if count > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(b"\"#text\":");
            self.scalar(ctx, f.text_from)?;
        }
        self.out.push(b'}');
        Ok(())
    }
}

impl<S: Shaper> Sink for JsonWriter<'_, S> {
    type Output = Option<Bytes>;

    fn start(&mut self, ns: Option<&[u8]>, local: &str) -> Result<(), GatewayError> {
        if self.gave_up {
            return Ok(());
        }
        if self.skip > 0 {
            self.skip += 1;
            return Ok(());
        }
        let parent = self.stack.last_mut().ok_or_else(unbalanced)?;
        parent.children += 1;
        if parent.children > self.limits.max_children {
            return Err(limit("UPSTREAM_XML_CHILDREN", "too many child elements"));
        }
        let mut ctx = self.shaper.enter(parent.ctx.as_ref(), ns, local);
        if !self.shaper.admit(&mut ctx, local)? {
            self.shaper.leave(&ctx);
            self.skip = 1;
            return Ok(());
        }
        let parent = self.stack.last_mut().ok_or_else(unbalanced)?;
        let repeat = parent
            .last
            .filter(|&i| self.spans.get(i).and_then(|&(a, b)| self.names.get(a..b)) == Some(local));
        if repeat.is_some() {
            // The same name again: one more item of the array (made one now if it was not).
            if !parent.open_array {
                self.out.insert(parent.last_start, b'[');
                parent.open_array = true;
            }
            self.out.push(b',');
        } else {
            if parent.open_array {
                self.out.push(b']');
                parent.open_array = false;
            }
            let many = self.shaper.many(&ctx);
            let Some(key) = self.new_key("", local) else {
                self.shaper.leave(&ctx);
                return Ok(());
            };
            let parent = self.stack.last_mut().ok_or_else(unbalanced)?;
            parent.last = Some(key);
            parent.last_start = self.out.len();
            if many {
                self.out.push(b'[');
                parent.open_array = true;
            }
        }
        let keys = (self.spans.len(), self.names.len());
        let f = Frame::new(Some(ctx), self.out.len(), keys, self.texts.len());
        self.stack.push(f);
        Ok(())
    }

    fn retype(&mut self, ns: Option<&[u8]>, local: &str) {
        if self.gave_up || self.skip > 0 {
            return;
        }
        let Some(Frame { ctx: Some(c), .. }) = self.stack.last_mut() else {
            return;
        };
        if self.shaper.retype(c, ns, local) && self.new_key("@", "xsi:type").is_some() {
            write_str(&mut self.out, "", local);
        }
    }

    fn attribute(&mut self, ns: Option<&[u8]>, local: &str, value: &str) -> Result<(), GatewayError> {
        if self.gave_up || self.skip > 0 {
            return Ok(());
        }
        let ty = match self.stack.last() {
            Some(Frame { ctx: Some(c), .. }) => {
                if !self.shaper.admit_attribute(c, ns, local)? {
                    return Ok(());
                }
                self.shaper.attribute_type(c, local)
            }
            _ => None,
        };
        if self.new_key("@", local).is_some() && write_typed(&mut self.out, value, ty).is_none() {
            return Err(type_error(&format!("@{local}"), ty));
        }
        Ok(())
    }

    fn nil(&mut self) {
        if self.skip > 0 {
            return;
        }
        if let Some(f) = self.stack.last_mut() {
            f.nil = true;
        }
    }

    fn text(&mut self, s: &str) -> Result<(), GatewayError> {
        if self.gave_up || self.skip > 0 {
            return Ok(());
        }
        let f = self.stack.last().ok_or_else(unbalanced)?;
        if self.texts.len() - f.text_from + s.len() > self.limits.max_text {
            return Err(limit("UPSTREAM_XML_TEXT", "a text node is too large"));
        }
        self.texts.push_str(s);
        Ok(())
    }

    fn end(&mut self) -> Result<(), GatewayError> {
        if self.gave_up {
            return Ok(());
        }
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(());
        }
        if self.stack.len() < 2 {
            return Err(unbalanced());
        }
        let f = self.stack.pop().ok_or_else(unbalanced)?;
        let ctx = f.ctx.as_ref().ok_or_else(unbalanced)?;
        let written = if f.nil {
            // `xsi:nil` wins over attributes and content: the value is null.
            self.out.truncate(f.start);
            self.out.extend_from_slice(b"null");
            Ok(())
        } else if f.object || self.shaper.object(ctx) || self.forces_arrays(ctx) {
            self.close_object(&f, ctx)
        } else {
            self.scalar(ctx, f.text_from)
        };
        self.shaper.leave(ctx);
        self.texts.truncate(f.text_from);
        self.spans.truncate(f.keys_from);
        self.names.truncate(f.names_from);
        written
    }

    fn handed_over(&self) -> bool {
        self.gave_up
    }

    fn finish(mut self, unwrap: bool) -> Result<Option<Bytes>, GatewayError> {
        if self.gave_up {
            return Ok(None);
        }
        if self.stack.len() != 1 || self.skip > 0 {
            return Err(unbalanced());
        }
        let root = self.stack.pop().ok_or_else(unbalanced)?;
        if root.open_array {
            self.out.push(b']');
        }
        self.out.push(b'}');
        let keys = self.spans.len();
        let start = root.last_start;
        let out = Bytes::from(self.out);
        if !unwrap || keys != 1 {
            return Ok(Some(out));
        }
        // The single doc/literal wrapper: its object is the answer; an empty or nil wrapper is `{}`.
        let value = out.slice(start..out.len() - 1);
        Ok(Some(match value.first() {
            Some(b'{') => value,
            Some(b'n') => Bytes::from_static(b"{}"),
            Some(b'"') if is_blank_string(&value) => Bytes::from_static(b"{}"),
            _ => out,
        }))
    }
}

impl<S: Shaper> JsonWriter<'_, S> {
    /// The element has array children that must show as `[]` (it has none yet: it has no keys).
    fn forces_arrays(&self, ctx: &S::Ctx) -> bool {
        let mut any = false;
        self.shaper.array_children(ctx, &mut |_| any = true);
        any
    }
}

/// A key's bit in [`Frame::bloom`]: from its length and last byte, which tell most sibling names
/// apart.
fn key_bit(prefix: &str, local: &str) -> u64 {
    let len = prefix.len() + local.len();
    let last = local.as_bytes().last().copied().unwrap_or(0) as usize;
    1 << ((len * 7 + last) % 64)
}

fn is_blank_string(json: &[u8]) -> bool {
    serde_json::from_slice::<String>(json).is_ok_and(|s| s.trim().is_empty())
}

/// Writes text as the JSON value its type gives it; `None` when it does not fit the type.
fn write_typed(out: &mut Vec<u8>, text: &str, ty: Option<ScalarType>) -> Option<()> {
    let Some(ty) = ty.filter(|t| *t != ScalarType::String) else {
        write_str(out, "", text);
        return Some(());
    };
    match scalar_of(text, ty)? {
        Scalar::Null => out.extend_from_slice(b"null"),
        Scalar::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Scalar::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        Scalar::UInt(u) => out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes()),
        Scalar::Float(f) => match serde_json::Number::from_f64(f) {
            Some(n) => out.extend_from_slice(n.to_string().as_bytes()),
            None => out.extend_from_slice(b"null"),
        },
        Scalar::Text(t) => write_str(out, "", t),
    }
    Some(())
}

/// Writes `prefix` + `s` as one JSON string.
fn write_str(out: &mut Vec<u8>, prefix: &str, s: &str) {
    out.push(b'"');
    escape_into(out, prefix);
    escape_into(out, s);
    out.push(b'"');
}

/// The escape of each byte in a JSON string: 0 for none, `u` for `\u00XX`, else the letter after `\`.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t
};

fn escape_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[usize::from(b)];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(bytes.get(run..i).unwrap_or(&[]));
        out.push(b'\\');
        out.push(esc);
        if esc == b'u' {
            out.extend_from_slice(b"00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        }
        run = i + 1;
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or(&[]));
}

/// Test support: checks a streamed conversion against the tree's conversion of the same response
/// (same JSON text, key order included; same error; same Fault). `true` when it streamed.
#[cfg(test)]
pub(crate) fn check_against_tree(
    tree: &Result<super::parse::SoapResponse, GatewayError>,
    text: &Result<super::parse::SoapResponse<Option<Bytes>>, GatewayError>,
) -> bool {
    use super::parse::Outcome;
    match (tree, text) {
        (Ok(t), Ok(s)) => {
            assert_eq!((t.version, &t.header), (s.version, &s.header));
            match (&t.outcome, &s.outcome) {
                (Outcome::Payload(v), Outcome::Payload(Some(b))) => {
                    assert_eq!(std::str::from_utf8(b).ok(), Some(v.to_string().as_str()));
                    true
                }
                (Outcome::Payload(_), Outcome::Payload(None)) => false,
                (Outcome::Fault(a), Outcome::Fault(b)) => {
                    assert_eq!(a, b);
                    false
                }
                other => panic!("tree and stream disagree: {other:?}"),
            }
        }
        (Err(a), Err(b)) => {
            assert_eq!((a.code(), a.to_string()), (b.code(), b.to_string()));
            false
        }
        // Handed over before the tree's error: the tree's answer is the only one.
        (Err(_), Ok(s)) if matches!(s.outcome, Outcome::Payload(None)) => false,
        other => panic!("tree and stream disagree: {other:?}"),
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;

//! XML -> JSON without a schema: the documented convention plus per-route hints for arrays and types.
//!
//! Convention: keys are local names; an element with only text becomes a string; an element with
//! children or attributes becomes an object, attributes as `@name`, its text as `#text`;
//! `xsi:nil="true"` becomes `null`; an empty element is `""`; an absent element is an absent key.
//! A repeated element becomes an array; elements listed in `arrays` are always arrays (also with
//! zero or one item), so their shape never changes with the number of items.

use super::parse::XmlLimits;
use crate::error::GatewayError;
use serde_json::{Map, Number, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Scalar type hint of an element path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarType {
    String,
    Integer,
    Number,
    /// Validated as a decimal number, kept as a string so no precision is lost.
    Decimal,
    Boolean,
}

impl ScalarType {
    /// Parses a hint name.
    pub fn parse(s: &str) -> Option<ScalarType> {
        Some(match s {
            "string" => ScalarType::String,
            "integer" => ScalarType::Integer,
            "number" => ScalarType::Number,
            "decimal" => ScalarType::Decimal,
            "boolean" => ScalarType::Boolean,
            _ => return None,
        })
    }
}

/// Per-route shape hints, keyed by element paths such as `customer/phones/phone`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hints {
    arrays: HashSet<String>,
    /// Parent path -> names of children that are always arrays (to emit `[]` for zero items).
    array_children: HashMap<String, Vec<String>>,
    types: HashMap<String, ScalarType>,
}

impl Hints {
    /// Builds hints from element paths; a path is local names joined by `/`.
    pub fn new(arrays: &[String], types: &[(String, ScalarType)]) -> Result<Hints, String> {
        let mut h = Hints::default();
        for a in arrays {
            let a = normalize(a)?;
            let (parent, name) = a.rsplit_once('/').unwrap_or(("", a.as_str()));
            h.array_children
                .entry(parent.to_string())
                .or_default()
                .push(name.to_string());
            h.arrays.insert(a);
        }
        for (path, t) in types {
            h.types.insert(normalize(path)?, *t);
        }
        Ok(h)
    }
}

fn normalize(p: &str) -> Result<String, String> {
    let p = p.trim().trim_matches('/');
    let ok = !p.is_empty()
        && p.split('/')
            .all(|s| !s.is_empty() && !s.contains([' ', '*', '$', '.', '[']));
    if ok {
        Ok(p.to_string())
    } else {
        Err(format!("`{p}` is not an element path like customer/phones/phone"))
    }
}

/// What happens to response data a route does not declare (README "Only declared data leaves").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undeclared {
    /// Left out of the answer (counted and logged by name).
    Drop,
    /// Converted like declared data (the schema-less convention).
    Keep,
    /// The whole response is refused: `502 UPSTREAM_UNDECLARED`.
    Reject,
}

impl Undeclared {
    /// Parses `response.undeclared`.
    pub fn parse(s: &str) -> Option<Undeclared> {
        Some(match s {
            "drop" => Undeclared::Drop,
            "keep" => Undeclared::Keep,
            "reject" => Undeclared::Reject,
            _ => return None,
        })
    }
}

/// Distinct undeclared names one response (and one route's log line) remembers.
pub const MAX_UNDECLARED_NAMES: usize = 32;

/// The undeclared elements and attributes of one response: how many were dropped or refused, and
/// the first [`MAX_UNDECLARED_NAMES`] distinct names (never values), so a backend sending
/// thousands of different names costs a bounded amount.
#[derive(Debug, Default)]
pub struct Tally {
    inner: Mutex<(u64, Vec<String>)>,
}

impl Tally {
    pub const fn new() -> Tally {
        Tally {
            inner: Mutex::new((0, Vec::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Vec<String>)> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes one undeclared element (`name`) or attribute (`@name`).
    pub fn note(&self, prefix: &str, name: &str) {
        let mut t = self.lock();
        t.0 += 1;
        let known =
            t.1.iter()
                .any(|n| n.len() == prefix.len() + name.len() && n.starts_with(prefix) && n.ends_with(name));
        if !known && t.1.len() < MAX_UNDECLARED_NAMES {
            t.1.push(format!("{prefix}{name}"));
        }
    }

    /// How many elements and attributes were dropped or refused.
    pub fn count(&self) -> u64 {
        self.lock().0
    }

    /// The distinct names noted (at most [`MAX_UNDECLARED_NAMES`]).
    pub fn names(&self) -> Vec<String> {
        self.lock().1.clone()
    }

    /// Forgets everything (before the same response is converted again another way).
    pub fn reset(&self) {
        *self.lock() = (0, Vec::new());
    }
}

/// A policy and the tally it reports to: what one section of a response (Body, Header blocks,
/// Fault detail) does with undeclared data.
#[derive(Debug, Clone, Copy)]
pub struct Gate<'a> {
    policy: Undeclared,
    tally: Option<&'a Tally>,
}

impl<'a> Gate<'a> {
    /// Everything passes, uncounted (a section that never reaches the client, or a route that
    /// keeps undeclared data).
    pub const KEEP: Gate<'static> = Gate {
        policy: Undeclared::Keep,
        tally: None,
    };

    pub fn new(policy: Undeclared, tally: &'a Tally) -> Gate<'a> {
        Gate {
            policy,
            tally: Some(tally),
        }
    }

    /// Whether undeclared data passes this gate as it is.
    pub fn keeps(&self) -> bool {
        self.policy == Undeclared::Keep
    }

    /// Judges one undeclared element (`prefix` "") or attribute (`prefix` "@"): `Ok(false)` drops
    /// it, an error refuses the response.
    pub fn judge(&self, prefix: &str, name: &str) -> Result<bool, GatewayError> {
        if self.policy == Undeclared::Keep {
            return Ok(true);
        }
        if let Some(t) = self.tally {
            t.note(prefix, name);
        }
        match self.policy {
            Undeclared::Reject => Err(GatewayError::UpstreamUndeclared),
            _ => Ok(false),
        }
    }
}

/// Decides the JSON shape of each element: by path hints, or by the compiled WSDL schema.
pub trait Shaper {
    /// Per-element context.
    type Ctx;
    /// Enters an element below `parent` (`None`: a direct child of the root, e.g. the wrapper).
    fn enter(&mut self, parent: Option<&Self::Ctx>, ns: Option<&[u8]>, local: &str) -> Self::Ctx;
    /// Applies `xsi:type="ns:local"` to the element just entered; `true` keeps it as `@xsi:type`.
    fn retype(&mut self, _ctx: &mut Self::Ctx, _ns: Option<&[u8]>, _local: &str) -> bool {
        false
    }
    /// Whether the element just entered may leave (`false`: its whole subtree is skipped); an
    /// error refuses the response. May turn `ctx` into what the element converts as when kept.
    fn admit(&mut self, _ctx: &mut Self::Ctx, _local: &str) -> Result<bool, GatewayError> {
        Ok(true)
    }
    /// Whether an attribute (namespace, local name) of the element may leave, like [`Shaper::admit`].
    fn admit_attribute(
        &mut self,
        _ctx: &Self::Ctx,
        _ns: Option<&[u8]>,
        _local: &str,
    ) -> Result<bool, GatewayError> {
        Ok(true)
    }
    /// Leaves the element (after its value was built).
    fn leave(&mut self, _ctx: &Self::Ctx) {}
    /// The element is always an array item.
    fn many(&self, ctx: &Self::Ctx) -> bool;
    /// Scalar type of the element's text.
    fn scalar(&self, ctx: &Self::Ctx) -> Option<ScalarType>;
    /// Calls `f` with each child name that must appear as `[]` when absent.
    fn array_children(&self, ctx: &Self::Ctx, f: &mut dyn FnMut(&str));
    /// The element is always a JSON object (a complex type), even with only text or nothing.
    fn object(&self, _ctx: &Self::Ctx) -> bool {
        false
    }
    /// Scalar type of an attribute of the element.
    fn attribute_type(&self, _ctx: &Self::Ctx, _local: &str) -> Option<ScalarType> {
        None
    }
    /// How error messages name the element.
    fn describe(&self, _ctx: &Self::Ctx, local: &str) -> String {
        local.to_string()
    }
}

/// The schema-less shaper: the convention plus per-route path hints.
#[derive(Debug)]
pub struct PathShaper<'a> {
    hints: &'a Hints,
    skip_first: bool,
    path: String,
}

impl<'a> PathShaper<'a> {
    /// `skip_first`: the first-level element (the doc/literal wrapper) does not count in paths.
    pub fn new(hints: &'a Hints, skip_first: bool) -> PathShaper<'a> {
        PathShaper {
            hints,
            skip_first,
            path: String::new(),
        }
    }
}

/// Context of [`PathShaper`]: where the element's path starts and ends in the shared buffer.
#[derive(Debug, Clone, Copy)]
pub struct PathCtx {
    before: usize,
    after: usize,
}

impl PathShaper<'_> {
    fn at(&self, ctx: &PathCtx) -> &str {
        self.path.get(..ctx.after).unwrap_or("")
    }
}

impl Shaper for PathShaper<'_> {
    type Ctx = PathCtx;

    fn enter(&mut self, parent: Option<&PathCtx>, _ns: Option<&[u8]>, local: &str) -> PathCtx {
        let before = self.path.len();
        let hinted = !self.hints.arrays.is_empty() || !self.hints.types.is_empty();
        let counts = !(self.skip_first && parent.is_none());
        if hinted && counts {
            if !self.path.is_empty() {
                self.path.push('/');
            }
            self.path.push_str(local);
        }
        PathCtx {
            before,
            after: self.path.len(),
        }
    }

    fn leave(&mut self, ctx: &PathCtx) {
        self.path.truncate(ctx.before);
    }

    fn many(&self, ctx: &PathCtx) -> bool {
        !self.hints.arrays.is_empty() && self.hints.arrays.contains(self.at(ctx))
    }

    fn scalar(&self, ctx: &PathCtx) -> Option<ScalarType> {
        if self.hints.types.is_empty() {
            return None;
        }
        self.hints.types.get(self.at(ctx)).copied()
    }

    fn describe(&self, ctx: &PathCtx, local: &str) -> String {
        let path = self.at(ctx);
        if path.is_empty() { local } else { path }.to_string()
    }

    fn array_children(&self, ctx: &PathCtx, f: &mut dyn FnMut(&str)) {
        if self.hints.array_children.is_empty() {
            return;
        }
        for name in self.hints.array_children.get(self.at(ctx)).into_iter().flatten() {
            f(name);
        }
    }
}

/// Receives the elements inside Header or Body, one event at a time: [`Converter`] builds a
/// `Value`, [`super::stream::JsonWriter`] writes JSON text.
pub trait Sink {
    /// What the children of the root become.
    type Output;
    /// Opens an element with this namespace and local name.
    fn start(&mut self, ns: Option<&[u8]>, local: &str) -> Result<(), GatewayError>;
    /// Applies `xsi:type` to the open element.
    fn retype(&mut self, ns: Option<&[u8]>, local: &str);
    /// Adds an attribute (namespace, local name) to the open element.
    fn attribute(&mut self, ns: Option<&[u8]>, local: &str, value: &str) -> Result<(), GatewayError>;
    /// Marks the open element `xsi:nil="true"`.
    fn nil(&mut self);
    /// Appends character data to the open element.
    fn text(&mut self, s: &str) -> Result<(), GatewayError>;
    /// Closes the open element.
    fn end(&mut self) -> Result<(), GatewayError>;
    /// The children of the root as one object; `unwrap` strips a single doc/literal wrapper.
    fn finish(self, unwrap: bool) -> Result<Self::Output, GatewayError>;
    /// The sink cannot go on: the parse stops and [`Sink::finish`] says so in its output.
    fn handed_over(&self) -> bool {
        false
    }
}

struct Frame<C> {
    key: String,
    ctx: Option<C>,
    obj: Option<Map<String, Value>>,
    text: String,
    nil: bool,
    children: usize,
}

/// Builds JSON from start/attribute/text/end calls, one frame per open element.
pub struct Converter<'a, S: Shaper> {
    shaper: S,
    limits: &'a XmlLimits,
    stack: Vec<Frame<S::Ctx>>,
    /// Depth inside an element the shaper did not admit (0: not in one): its events are ignored.
    skip: usize,
}

impl<'a, S: Shaper> Converter<'a, S> {
    /// A converter whose root is the element holding the payload (e.g. `soap:Body`).
    pub fn new(shaper: S, limits: &'a XmlLimits) -> Converter<'a, S> {
        let root = Frame {
            key: String::new(),
            ctx: None,
            obj: None,
            text: String::new(),
            nil: false,
            children: 0,
        };
        Converter {
            shaper,
            limits,
            stack: vec![root],
            skip: 0,
        }
    }

    /// The converted children of the root (e.g. of `soap:Body`).
    pub fn into_map(mut self) -> Result<Map<String, Value>, GatewayError> {
        if self.stack.len() != 1 || self.skip > 0 {
            return Err(unbalanced());
        }
        Ok(self.stack.pop().and_then(|f| f.obj).unwrap_or_default())
    }

    fn value_of(
        &self,
        ctx: &S::Ctx,
        key: &str,
        obj: Option<Map<String, Value>>,
        text: String,
        nil: bool,
    ) -> Result<Value, GatewayError> {
        let ty = self.shaper.scalar(ctx);
        let scalar =
            |text: String| typed(text, ty).ok_or_else(|| type_error(&self.shaper.describe(ctx, key), ty));
        if nil {
            // `xsi:nil` wins over attributes (including `@xsi:type`): the value is null.
            return Ok(Value::Null);
        }
        // Always-array children that did not occur become `[]` (allocating only for those).
        let mut forced: Vec<String> = Vec::new();
        self.shaper.array_children(ctx, &mut |n| {
            if !obj.as_ref().is_some_and(|o| o.contains_key(n)) {
                forced.push(n.to_string());
            }
        });
        if obj.is_none() && forced.is_empty() && !self.shaper.object(ctx) {
            return scalar(text);
        }
        let mut obj = obj.unwrap_or_default();
        for name in forced {
            obj.insert(name, Value::Array(Vec::new()));
        }
        if !text.trim().is_empty() {
            obj.insert("#text".into(), scalar(text)?);
        }
        Ok(Value::Object(obj))
    }
}

impl<S: Shaper> Sink for Converter<'_, S> {
    type Output = Value;

    fn start(&mut self, ns: Option<&[u8]>, local: &str) -> Result<(), GatewayError> {
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
        self.stack.push(Frame {
            key: local.to_string(),
            ctx: Some(ctx),
            obj: None,
            text: String::new(),
            nil: false,
            children: 0,
        });
        Ok(())
    }

    fn retype(&mut self, ns: Option<&[u8]>, local: &str) {
        if self.skip > 0 {
            return;
        }
        if let Some(Frame {
            ctx: Some(c), obj, ..
        }) = self.stack.last_mut()
        {
            if self.shaper.retype(c, ns, local) {
                obj.get_or_insert_with(Map::new)
                    .insert("@xsi:type".into(), Value::String(local.into()));
            }
        }
    }

    fn attribute(&mut self, ns: Option<&[u8]>, local: &str, value: &str) -> Result<(), GatewayError> {
        if self.skip > 0 {
            return Ok(());
        }
        let Some(f) = self.stack.last_mut() else {
            return Ok(());
        };
        if let Some(c) = f.ctx.as_ref() {
            if !self.shaper.admit_attribute(c, ns, local)? {
                return Ok(());
            }
        }
        let ty = f.ctx.as_ref().and_then(|c| self.shaper.attribute_type(c, local));
        let value = typed(value.to_string(), ty).ok_or_else(|| type_error(&format!("@{local}"), ty))?;
        f.obj
            .get_or_insert_with(Map::new)
            .insert(format!("@{local}"), value);
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
        if self.skip > 0 {
            return Ok(());
        }
        let f = self.stack.last_mut().ok_or_else(unbalanced)?;
        if f.text.len() + s.len() > self.limits.max_text {
            return Err(limit("UPSTREAM_XML_TEXT", "a text node is too large"));
        }
        f.text.push_str(s);
        Ok(())
    }

    fn end(&mut self) -> Result<(), GatewayError> {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(());
        }
        if self.stack.len() < 2 {
            return Err(unbalanced());
        }
        let frame = self.stack.pop().ok_or_else(unbalanced)?;
        let ctx = frame.ctx.ok_or_else(unbalanced)?;
        let value = self.value_of(&ctx, &frame.key, frame.obj, frame.text, frame.nil);
        let many = self.shaper.many(&ctx);
        self.shaper.leave(&ctx);
        let parent = self.stack.last_mut().ok_or_else(unbalanced)?;
        insert(parent.obj.get_or_insert_with(Map::new), frame.key, value?, many);
        Ok(())
    }

    fn finish(self, unwrap: bool) -> Result<Value, GatewayError> {
        Ok(unwrap_body(self.into_map()?, unwrap))
    }
}

/// Strips the single wrapper element of a document/literal response body.
fn unwrap_body(mut body: Map<String, Value>, unwrap: bool) -> Value {
    if !unwrap || body.len() != 1 {
        return Value::Object(body);
    }
    let first = body.keys().next().cloned().unwrap_or_default();
    match body.remove(&first).map(|v| (first, v)) {
        Some((_, Value::Object(inner))) => Value::Object(inner),
        Some((_, Value::String(s))) if s.trim().is_empty() => Value::Object(Map::new()),
        Some((_, Value::Null)) => Value::Object(Map::new()),
        Some((k, other)) => {
            let mut m = Map::new();
            m.insert(k, other);
            Value::Object(m)
        }
        None => Value::Object(Map::new()),
    }
}

fn insert(obj: &mut Map<String, Value>, key: String, value: Value, always_array: bool) {
    use serde_json::map::Entry;
    match obj.entry(key) {
        Entry::Occupied(mut o) => match o.get_mut() {
            Value::Array(items) => items.push(value),
            existing => {
                let first = std::mem::take(existing);
                *existing = Value::Array(vec![first, value]);
            }
        },
        Entry::Vacant(v) if always_array => {
            v.insert(Value::Array(vec![value]));
        }
        Entry::Vacant(v) => {
            v.insert(value);
        }
    }
}

/// Types a text value by its hint. Empty text of a non-string type is `null`.
pub fn scalar(text: String, ty: Option<ScalarType>, path: &str) -> Result<Value, GatewayError> {
    typed(text, ty).ok_or_else(|| type_error(path, ty))
}

pub(super) fn type_error(path: &str, ty: Option<ScalarType>) -> GatewayError {
    let ty = ty.unwrap_or(ScalarType::String);
    GatewayError::UpstreamXml {
        code: "UPSTREAM_XML_TYPE",
        message: format!("`{path}` is not a valid {ty:?}"),
    }
}

/// The typed value, or `None` when the text does not fit the type.
fn typed(text: String, ty: Option<ScalarType>) -> Option<Value> {
    match ty.filter(|t| *t != ScalarType::String) {
        None => Some(Value::String(text)),
        Some(ty) => scalar_of(&text, ty).map(Scalar::into_value),
    }
}

/// A typed text value; text that stays text is borrowed, so writing it needs no allocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(&'a str),
}

impl Scalar<'_> {
    fn into_value(self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Number(i.into()),
            Scalar::UInt(u) => Value::Number(u.into()),
            Scalar::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
            Scalar::Text(t) => Value::String(t.to_string()),
        }
    }
}

/// [`typed`] for a type other than `String`, from borrowed text.
pub(super) fn scalar_of(text: &str, ty: ScalarType) -> Option<Scalar<'_>> {
    let t = text.trim();
    if t.is_empty() {
        return Some(Scalar::Null);
    }
    match ty {
        ScalarType::Boolean => match t {
            "true" | "1" => Some(Scalar::Bool(true)),
            "false" | "0" => Some(Scalar::Bool(false)),
            _ => None,
        },
        ScalarType::Integer => integer(t),
        ScalarType::Number => number(t),
        ScalarType::Decimal => is_decimal(t).then_some(Scalar::Text(t)),
        ScalarType::String => Some(Scalar::Text(text)),
    }
}

fn integer(t: &str) -> Option<Scalar<'_>> {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = t.strip_prefix('+').unwrap_or(t);
    if let Ok(i) = t.parse::<i64>() {
        return Some(Scalar::Int(i));
    }
    if let Ok(u) = t.parse::<u64>() {
        return Some(Scalar::UInt(u));
    }
    // Does not fit 64 bits: keep every digit as a string rather than round it.
    Some(Scalar::Text(t))
}

fn number(t: &str) -> Option<Scalar<'_>> {
    if !is_decimal(t) && !t.contains(['e', 'E']) {
        return None;
    }
    let significant = t
        .bytes()
        .filter(u8::is_ascii_digit)
        .skip_while(|b| *b == b'0')
        .count();
    let f: f64 = t.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    if significant > 15 && !t.contains(['e', 'E']) {
        // More digits than an f64 holds exactly: keep them.
        return Some(Scalar::Text(t));
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 && !t.contains(['.', 'e', 'E']) {
        return Some(Scalar::Int(f as i64));
    }
    Some(Scalar::Float(f))
}

fn is_decimal(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn unbalanced() -> GatewayError {
    limit("UPSTREAM_XML_SYNTAX", "unbalanced elements")
}

pub(super) fn limit(code: &'static str, message: &str) -> GatewayError {
    GatewayError::UpstreamXml {
        code,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_keep_precision_they_cannot_hold() {
        let n = |s: &str| scalar(s.into(), Some(ScalarType::Number), "x").expect("number");
        assert_eq!(n("12.50"), json!(12.5));
        assert_eq!(n("42"), json!(42));
        assert_eq!(n("12345678901234567.89"), json!("12345678901234567.89"));
        let i = |s: &str| scalar(s.into(), Some(ScalarType::Integer), "x").expect("integer");
        assert_eq!(i("007"), json!(7));
        assert_eq!(i("123456789012345678901234"), json!("123456789012345678901234"));
        assert!(scalar("1.5".into(), Some(ScalarType::Integer), "x").is_err());
        assert_eq!(scalar("0012".into(), None, "x").expect("string"), json!("0012"));
    }

    /// Responses: random digit strings typed `xs:decimal` keep every character; typed `xs:integer`
    /// keep every digit (as a number, or as a string beyond 64 bits); doubles are numbers of the
    /// same value.
    #[test]
    fn v4_property_response_numbers_keep_their_digits() {
        let mut seed = 0xd1b5_4a32_d192_ed03u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            let n = 1 + next() % 40;
            let int: String = (0..n).map(|_| char::from(b'0' + (next() % 10) as u8)).collect();
            let frac: String = (0..next() % 15)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let sign = ["", "-", "+"][(next() % 3) as usize];
            let dec = if frac.is_empty() {
                format!("{sign}{int}")
            } else {
                format!("{sign}{int}.{frac}")
            };
            let v = scalar(dec.clone(), Some(ScalarType::Decimal), "x").expect("decimal");
            assert_eq!(v, Value::String(dec.clone()));
            let i = scalar(format!("{sign}{int}"), Some(ScalarType::Integer), "x").expect("integer");
            let text = match &i {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                other => panic!("{other}"),
            };
            let want = crate::decimal::Decimal::parse(&format!("{sign}{int}")).expect("numeral");
            let got = crate::decimal::Decimal::parse(&text).expect("numeral");
            assert!(got.cmp_value(&want).is_eq(), "{sign}{int} -> {text}");
        }
    }
}

//! Request templates: compiled once per snapshot, strict, XML-escaped, raw output rejected at load.

use super::helpers;
use crate::config::Diagnostics;
use crate::error::GatewayError;
use handlebars::{Context, Handlebars, RenderError, RenderErrorReason};
use serde_json::Value;
use std::path::Path;

/// Prefix of helper errors caused by request data (mapped to 400, not 500).
pub const INPUT_ERROR: &str = "input: ";

/// The compiled templates of one snapshot.
#[derive(Debug)]
pub struct Templates {
    registry: Handlebars<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

impl Templates {
    /// A registry in strict mode with XML escaping and the SOAP helpers.
    pub fn new() -> Templates {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(xml_escape);
        helpers::register(&mut registry);
        Templates { registry }
    }

    /// Loads, lints and compiles one template file; reports problems and returns whether it worked.
    pub fn compile_file(
        &mut self,
        name: &str,
        path: &Path,
        file: &str,
        key: &str,
        d: &mut Diagnostics,
    ) -> bool {
        let source = match std::fs::read_to_string(path) {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("cannot read template {}: {e}", path.display());
                d.error(
                    file,
                    key,
                    msg,
                    "create the file or fix the path (relative to soapgate.yaml)",
                );
                return false;
            }
        };
        self.compile(name, &source, &path.display().to_string(), d)
    }

    /// Lints and compiles template source registered as `name`; `origin` names it in errors.
    pub fn compile(&mut self, name: &str, source: &str, origin: &str, d: &mut Diagnostics) -> bool {
        if let Some((line, what)) = find_raw_output(source) {
            let msg = format!("raw output `{what}` would bypass XML escaping");
            d.error_at(
                origin,
                "",
                Some(line),
                msg,
                "use {{value}}; every value is XML-escaped",
            );
            return false;
        }
        let source = cdata_values(source);
        match self.registry.register_template_string(name, &source) {
            Ok(()) => true,
            Err(e) => {
                let line = e.pos().map(|(l, _)| l);
                let msg = format!("template syntax error: {}", e.reason());
                d.error_at(origin, "", line, msg, "fix the Handlebars syntax at that line");
                false
            }
        }
    }

    /// Checks that every string of a request context is legal XML 1.0 and marks the strings that
    /// could be mistaken for a rendered object or array (see [`xml_escape`]).
    pub fn prepare(mut data: Value) -> Result<Context, GatewayError> {
        prepare_value(&mut data)?;
        Ok(Context::from(data))
    }

    /// Renders a template over a context made by [`Templates::prepare`].
    pub fn render(&self, name: &str, ctx: &Context) -> Result<String, GatewayError> {
        let out = self
            .registry
            .render_with_context(name, ctx)
            .map_err(render_error)?;
        if out.contains(NOT_TEXT) {
            return Err(GatewayError::TemplateInput(
                "an object or array was given where the template expects a single value".into(),
            ));
        }
        Ok(if out.contains(LITERAL) {
            out.replace(LITERAL, "")
        } else {
            out
        })
    }
}

impl Templates {
    /// The context paths a compiled template reads (`path.id`, `input.customer.name`, ...) with
    /// their lines, outside blocks that change the context (`each`, `with`), where a path means
    /// the item's field instead; `@root.` paths count everywhere.
    pub fn paths_read(&self, name: &str) -> Vec<(String, Option<usize>)> {
        let mut out = Vec::new();
        if let Some(t) = self.registry.get_template(name) {
            walk_template(t, true, None, &mut out);
        }
        out
    }
}

fn walk_template(
    t: &handlebars::template::Template,
    top: bool,
    line: Option<usize>,
    out: &mut Vec<(String, Option<usize>)>,
) {
    for (i, el) in t.elements.iter().enumerate() {
        let line = t.mapping.get(i).map(|m| m.0).or(line);
        walk_element(el, top, line, out);
    }
}

fn walk_element(
    el: &handlebars::template::TemplateElement,
    top: bool,
    line: Option<usize>,
    out: &mut Vec<(String, Option<usize>)>,
) {
    use handlebars::template::TemplateElement as E;
    let (E::Expression(h) | E::HtmlExpression(h) | E::HelperBlock(h)) = el else {
        return;
    };
    let mut params: Vec<&handlebars::template::Parameter> = h.params.iter().chain(h.hash.values()).collect();
    if !h.block && h.params.is_empty() && h.hash.is_empty() {
        params.push(&h.name);
    }
    for p in params {
        match p {
            handlebars::template::Parameter::Path(_) => {
                let raw = p.as_name().unwrap_or_default();
                if let Some(rooted) = raw.strip_prefix("@root.") {
                    out.push((rooted.to_string(), line));
                } else if top {
                    out.push((raw.to_string(), line));
                }
            }
            handlebars::template::Parameter::Subexpression(sub) => walk_element(&sub.element, top, line, out),
            _ => {}
        }
    }
    let scoped = top && !matches!(h.name.as_name(), Some("each" | "with"));
    if let Some(t) = &h.template {
        walk_template(t, scoped, line, out);
    }
    if let Some(t) = &h.inverse {
        walk_template(t, top, line, out);
    }
}

fn render_error(e: RenderError) -> GatewayError {
    match e.reason() {
        RenderErrorReason::MissingVariable(path) => {
            GatewayError::MissingField(path.clone().unwrap_or_else(|| "(helper result)".into()))
        }
        RenderErrorReason::Other(msg) if msg.starts_with(INPUT_ERROR) => {
            GatewayError::TemplateInput(msg[INPUT_ERROR.len()..].to_string())
        }
        RenderErrorReason::InvalidParamType(_) | RenderErrorReason::ParamTypeMismatchForName(..) => {
            GatewayError::TemplateInput(e.reason().to_string())
        }
        _ => GatewayError::TemplateFailed(e.to_string()),
    }
}

/// Rewrites every plain `{{value}}` between `<![CDATA[` and `]]>` of a template's text as
/// `{{cdata value}}`: inside CDATA, entity escaping would reach the backend as literal `&lt;`, so
/// such values are written as they are and only `]]>` is split. Blocks (`{{#…}}`, `{{/…}}`,
/// `{{else}}`), comments and partials are left alone. Line numbers do not move.
pub(crate) fn cdata_values(source: &str) -> std::borrow::Cow<'_, str> {
    const OPEN: &str = "<![CDATA[";
    const CLOSE: &str = "]]>";
    if !source.contains(OPEN) {
        return std::borrow::Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 32);
    let mut rest = source;
    while let Some(start) = rest.find(OPEN) {
        let (before, after) = rest.split_at(start + OPEN.len());
        out.push_str(before);
        let end = after.find(CLOSE).unwrap_or(after.len());
        out.push_str(&cdata_section(&after[..end]));
        rest = &after[end..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// One CDATA section's text with its plain mustaches wrapped in the `cdata` helper.
fn cdata_section(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let Some(len) = rest[i..].find("}}") else {
            out.push_str(&rest[i..]);
            return out;
        };
        let inner = &rest[i + 2..i + len];
        let (open_ws, body) = match inner.strip_prefix('~') {
            Some(b) => ("~", b),
            None => ("", inner),
        };
        let (body, close_ws) = match body.strip_suffix('~') {
            Some(b) => (b, "~"),
            None => (body, ""),
        };
        let t = body.trim_start();
        let plain = !t.is_empty()
            && !t.starts_with(['#', '/', '!', '>', '^', '{', '&', '*'])
            && t != "else"
            && !t.starts_with("else ");
        if plain {
            // `{{a.b}}` is a value, `{{upper a.b}}` a helper call: a subexpression.
            let t = body.trim();
            let arg = if t.contains(char::is_whitespace) {
                format!("({t})")
            } else {
                t.to_string()
            };
            out.push_str(&format!("{{{{{open_ws}cdata {arg}{close_ws}}}}}"));
        } else {
            out.push_str(&rest[i..i + len + 2]);
        }
        rest = &rest[i + len + 2..];
    }
    out.push_str(rest);
    out
}

/// Finds `{{{`, `{{&` or a raw block (`{{{{`) and returns its line.
fn find_raw_output(source: &str) -> Option<(usize, &'static str)> {
    for (i, line) in source.lines().enumerate() {
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        for (pat, what) in [
            ("{{{", "{{{ }}}"),
            ("{{~{", "{{~{ }}}"),
            ("{{&", "{{& }}"),
            ("{{~&", "{{~& }}"),
        ] {
            if compact.contains(pat) {
                return Some((i + 1, what));
            }
        }
    }
    None
}

/// Marks a request string that starts with `[` (so it cannot be confused with the `[object]` or
/// `[a, b]` text Handlebars renders for objects and arrays). U+FFFE never survives
/// [`check_xml_chars`], so it cannot come from a client.
pub(crate) const LITERAL: char = '\u{FFFE}';
/// Left by [`xml_escape`] where an object or array was rendered as a value.
pub(crate) const NOT_TEXT: char = '\u{FFFF}';

fn prepare_value(v: &mut Value) -> Result<(), GatewayError> {
    match v {
        Value::String(s) => {
            check_str(s)?;
            if s.starts_with('[') {
                s.insert(0, LITERAL);
            }
            Ok(())
        }
        Value::Array(a) => a.iter_mut().try_for_each(prepare_value),
        Value::Object(o) => o.iter_mut().try_for_each(|(k, v)| {
            check_str(k)?;
            prepare_value(v)
        }),
        _ => Ok(()),
    }
}

fn check_str(s: &str) -> Result<(), GatewayError> {
    match s.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(GatewayError::XmlInvalidChar(c as u32)),
        None => Ok(()),
    }
}

/// Escapes a value so it is inert in element text and in single- or double-quoted attributes.
/// Text Handlebars produced for an object or array (`[object]`, `[a, b]`) becomes a marker that
/// [`Templates::render`] turns into `400 TEMPLATE_INPUT`.
pub fn xml_escape(s: &str) -> String {
    if s.starts_with('[') {
        return NOT_TEXT.to_string();
    }
    escape_text(s)
}

/// Escapes `& < > " '` and CR (which a parser would otherwise normalise away): inert in element
/// text and in single- or double-quoted attributes.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// True for characters XML 1.0 allows.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Rejects any string (or key) holding a character XML 1.0 cannot carry.
pub fn check_xml_chars(v: &Value) -> Result<(), GatewayError> {
    let check = check_str;
    match v {
        Value::String(s) => check(s),
        Value::Array(a) => a.iter().try_for_each(check_xml_chars),
        Value::Object(o) => o.iter().try_for_each(|(k, v)| {
            check(k)?;
            check_xml_chars(v)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compiled(src: &str) -> Templates {
        let mut t = Templates::new();
        let mut d = Diagnostics::default();
        assert!(t.compile("t", src, "t.hbs", &mut d), "{:?}", d.errors);
        t
    }

    fn render(t: &Templates, v: Value) -> Result<String, GatewayError> {
        t.render("t", &Templates::prepare(v)?)
    }

    #[test]
    fn values_are_escaped_as_text_not_structure() {
        let t = compiled("<id a='{{body.a}}'>{{body.id}}</id>");
        let out = render(
            &t,
            json!({"body": {"id": "</id><admin>true</admin>", "a": "x'\"y"}}),
        );
        assert_eq!(
            out.expect("renders"),
            "<id a='x&apos;&quot;y'>&lt;/id&gt;&lt;admin&gt;true&lt;/admin&gt;</id>"
        );
    }

    #[test]
    fn v1_template_numbers_render_the_clients_digits() {
        let t = compiled("<a>{{body.n}}</a>|{{format_number body.n 2}}");
        for (n, fixed) in [
            ("99999999999999999999", "99999999999999999999.00"),
            ("12345678901234567.5", "12345678901234567.50"),
            ("0.0000001", "0.00"),
            ("-0", "0.00"),
            ("1.005", "1.01"),
        ] {
            let body: Value = serde_json::from_str(&format!(r#"{{"n": {n}}}"#)).expect("json");
            let out = render(&t, json!({ "body": body })).expect("renders");
            assert_eq!(out, format!("<a>{n}</a>|{fixed}"));
        }
    }

    #[test]
    fn v5_values_inside_cdata_reach_the_backend_unaltered() {
        let t = compiled(
            "<a>{{body.x}}</a><b><![CDATA[{{body.x}}|{{upper body.y}}|{{~body.y~}}|{{#if body.x}}y{{/if}}]]></b>",
        );
        let out = render(&t, json!({"body": {"x": "1 < 2 && ]]> <x/>", "y": "q\"r"}})).expect("renders");
        assert_eq!(
            out,
            "<a>1 &lt; 2 &amp;&amp; ]]&gt; &lt;x/&gt;</a><b><![CDATA[1 < 2 && ]]]]><![CDATA[> <x/>|Q\"R|q\"r|y]]></b>"
        );
        let xml = format!("<r>{out}</r>");
        let doc = roxmltree::Document::parse(&xml).expect("well-formed");
        let b = doc.descendants().find(|n| n.has_tag_name("b")).expect("b");
        let text: String = b.children().filter_map(|n| n.text()).collect();
        assert_eq!(text, "1 < 2 && ]]> <x/>|Q\"R|q\"r|y");
        let err = render(&t, json!({"body": {"x": {"k": 1}, "y": "s"}})).expect_err("object");
        assert!(matches!(err, GatewayError::TemplateInput(_)), "{err:?}");
        let err = render(&t, json!({"body": {"y": "s"}})).expect_err("missing");
        assert!(matches!(err, GatewayError::MissingField(_)), "{err:?}");
    }

    #[test]
    fn paths_read_are_found_with_their_lines_outside_item_scopes() {
        let t = compiled(
            "<a>{{path.id}}</a>\n{{#if input.x}}<b>{{upper query.q}}</b>{{/if}}\n{{#each body.lines}}{{sku}}{{@root.path.y}}{{/each}}",
        );
        let got = t.paths_read("t");
        let names: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(names, ["path.id", "input.x", "query.q", "body.lines", "path.y"]);
        assert_eq!(got[0].1, Some(1));
        assert_eq!(got[4].1, Some(3));
    }

    #[test]
    fn triple_stash_is_rejected_with_its_line() {
        let mut t = Templates::new();
        let mut d = Diagnostics::default();
        assert!(!t.compile("t", "<a/>\n<b>{{{ body.x }}}</b>", "x.hbs", &mut d));
        assert_eq!(d.errors[0].line, Some(2));
        assert!(d.errors[0].to_string().contains("x.hbs:2"));
    }

    #[test]
    fn missing_field_is_an_error_in_strict_mode() {
        let t = compiled("<a>{{body.nope}}</a>");
        let err = render(&t, json!({"body": {}})).expect_err("strict");
        assert!(
            matches!(err, GatewayError::MissingField(ref p) if p.contains("nope")),
            "{err:?}"
        );
    }

    #[test]
    fn objects_and_arrays_are_not_rendered_as_text_but_bracketed_strings_are() {
        let t = compiled("<a>{{body.x}}</a>");
        for bad in [json!({"k": 1}), json!([1, 2]), json!(["a"])] {
            let err = render(&t, json!({"body": {"x": bad}})).expect_err("not text");
            assert!(matches!(err, GatewayError::TemplateInput(_)), "{err:?}");
        }
        let out = render(&t, json!({"body": {"x": "[object]"}})).expect("a string");
        assert_eq!(out, "<a>[object]</a>");
        let t = compiled("<a>{{default body.y \"[none]\"}}|{{upper body.x}}</a>");
        let out = render(&t, json!({"body": {"x": "[a]"}})).expect("helper strings are text");
        assert_eq!(out, "<a>[none]|[A]</a>");
    }

    #[test]
    fn characters_outside_xml_are_rejected() {
        let t = compiled("<a>{{body.x}}</a>");
        for bad in ["\u{0}", "\u{1b}", "\u{ffff}"] {
            let err = render(&t, json!({"body": {"x": bad}})).expect_err("invalid char");
            assert!(matches!(err, GatewayError::XmlInvalidChar(_)));
        }
    }
}

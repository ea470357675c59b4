//! The template renderer over fuzz-derived JSON: a fixed template set (loops, helpers, attribute
//! and text contexts) rendered with the fuzzed body never panics, and whatever it renders is
//! well-formed XML (escaping holds for every input).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use soapgate::config::Diagnostics;
use soapgate::mapping::request::Templates;
use soapgate::threat::json::{parse, JsonLimits};
use std::sync::OnceLock;

const TEMPLATES: &[(&str, &str)] = &[
    ("text", r#"<c:Op xmlns:c="{{ns}}"><c:a>{{body.a}}</c:a><c:id>{{path.id}}</c:id></c:Op>"#),
    ("attr", r#"<c:Op xmlns:c="{{ns}}" c:x="{{body.a}}" c:y='{{body.b}}'/>"#),
    (
        "loop",
        r#"<c:Op xmlns:c="{{ns}}">{{#each body.items}}<c:i n="{{@index}}">{{this.name}}|{{upper this.code}}|{{lower this.code}}|{{trim this.code}}</c:i>{{/each}}</c:Op>"#,
    ),
    (
        "helpers",
        r#"<c:Op xmlns:c="{{ns}}"><c:d>{{format_date body.when "%Y-%m-%dT%H:%M:%SZ"}}</c:d><c:n>{{format_number body.amount body.decimals}}</c:n><c:b>{{xsd_boolean body.flag}}</c:b><c:f>{{default body.missing "none"}}</c:f></c:Op>"#,
    ),
    (
        "jsonpath",
        r#"<c:Op xmlns:c="{{ns}}"><c:j>{{jsonpath body body.path}}</c:j><c:k>{{join body.list ","}}</c:k></c:Op>"#,
    ),
    (
        "nested",
        r#"<c:Op xmlns:c="{{ns}}">{{#if body.a}}{{#with body.o}}<c:w>{{this.x}}</c:w>{{/with}}{{else}}<c:e/>{{/if}}{{#each body.o}}<c:kv k="{{@key}}">{{this}}</c:kv>{{/each}}</c:Op>"#,
    ),
];

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Templates::new();
        let mut d = Diagnostics::default();
        for (name, src) in TEMPLATES {
            assert!(t.compile(name, src, "fuzz", &mut d), "{:?}", d.errors);
        }
        t
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = parse(data, &JsonLimits::default()) else { return };
    let id = body.get("id").cloned().unwrap_or(json!("1"));
    let ctx = json!({
        "path": {"id": id},
        "query": {},
        "headers": {},
        "body": body,
        "correlation_id": "c",
        "principal": null,
        "ns": "urn:fuzz",
        "operation": "Op",
    });
    let Ok(ctx) = Templates::prepare(ctx) else { return };
    for (name, _) in TEMPLATES {
        if let Ok(xml) = templates().render(name, &ctx) {
            let doc = format!("<root>{xml}</root>");
            if let Err(e) = roxmltree::Document::parse(&doc) {
                panic!("template {name} rendered malformed XML ({e}): {xml}");
            }
        }
    }
});

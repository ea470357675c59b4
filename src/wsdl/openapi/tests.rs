//! The OpenAPI document of a snapshot: bound, template-only and parameterised routes.

use super::*;
use serde_json::json;
use std::path::Path;

const EXTRA: &str = r#"service: extra
wsdl: wsdl/customers.wsdl
backend: { urls: ["http://127.0.0.1:1/x"] }
routes:
  - { id: orders, method: GET, path: "/c/{customerId}/orders", operation: ListOrders }
"#;

const PLAIN: &str = r#"service: plain
backend: { urls: ["http://127.0.0.1:1/x"] }
routes:
  - id: raw
    method: PUT
    path: "/raw/{id}"
    operation: Anything
    request: { template: t.hbs }
    response: { select: "$.x" }
    faults: [ { when: { code: Client }, status: 409, code: BUSY } ]
"#;

/// The demo WSDL imported, plus a bound GET route with a path parameter and a template-only route.
fn snapshot(dir: &Path) -> Snapshot {
    let wsdl = Path::new(env!("CARGO_MANIFEST_DIR")).join("wsdl/customers.wsdl");
    let opts = crate::wsdl::import::ImportOptions {
        tls: crate::tls::ClientTls::system(),
        out: dir.to_path_buf(),
        ..Default::default()
    };
    crate::wsdl::import::import(wsdl.to_str().expect("utf-8"), &opts).expect("imports");
    std::fs::write(dir.join("mappings/extra.yaml"), EXTRA).expect("write");
    std::fs::write(dir.join("mappings/plain.yaml"), PLAIN).expect("write");
    std::fs::write(dir.join("t.hbs"), "<x/>").expect("write");
    Snapshot::load(&dir.join("soapgate.yaml")).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn document_lists_every_route_with_schemas_from_the_xsd() {
    let dir = tempfile::tempdir().expect("tmp");
    let doc = document(&snapshot(dir.path()));
    assert_eq!(doc["openapi"], json!("3.1.0"));
    assert_eq!(doc["info"]["title"], json!("soapgate"));
    assert_eq!(doc["info"]["version"], json!(env!("CARGO_PKG_VERSION")));
    let paths: Vec<&String> = doc["paths"].as_object().expect("paths").keys().collect();
    assert_eq!(
        paths,
        [
            "/c/{customerId}/orders",
            "/customers/create-order",
            "/customers/get-customer",
            "/customers/list-orders",
            "/customers/update-email",
            "/raw/{id}",
        ]
    );
    let get = &doc["paths"]["/customers/get-customer"]["post"];
    assert_eq!(get["operationId"], json!("customers.get-customer"));
    assert_eq!(
        get["requestBody"]["content"]["application/json"]["schema"],
        json!({
            "type": "object",
            "properties": { "customerId": { "type": "string" } },
            "required": ["customerId"],
            "additionalProperties": false,
        })
    );
    assert!(get["requestBody"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("PARAMETER_CONFLICT") && d.contains("validated against the")));
    let ok = &get["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(
        ok["properties"]["customer"],
        json!({"$ref": "#/components/schemas/Customer"})
    );
    let statuses: Vec<&String> = get["responses"].as_object().expect("responses").keys().collect();
    assert_eq!(
        statuses,
        ["200", "400", "404", "405", "413", "415", "422", "500", "502", "503", "504"]
    );
    let problem = &get["responses"]["422"]["content"]["application/problem+json"]["schema"];
    assert_eq!(problem, &json!({"$ref": "#/components/schemas/Problem"}));
    assert!(get["responses"]["422"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("CUSTOMER_NOT_FOUND")));
    assert_eq!(doc["components"]["schemas"]["Problem"], problem_schema());
}

#[test]
fn path_and_query_parameters_are_typed_and_template_routes_are_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let doc = document(&snapshot(dir.path()));
    let orders = &doc["paths"]["/c/{customerId}/orders"]["get"];
    assert_eq!(
        orders["parameters"],
        json!([
            { "name": "customerId", "in": "path", "required": true,
              "description": "Fills the input field `customerId` (typed and validated); the body may repeat it only with the same value.",
              "schema": { "type": "string" } },
            { "name": "status", "in": "query", "required": false,
              "description": "Fills the input field `status` (typed and validated); the body may repeat it only with the same value.",
              "schema": { "type": "string", "enum": ["Open", "Shipped", "Cancelled"] } },
        ])
    );
    assert!(orders.get("requestBody").is_none());
    let raw = &doc["paths"]["/raw/{id}"]["put"];
    assert_eq!(raw["parameters"][0]["schema"], json!({"type": "string"}));
    assert_eq!(
        raw["requestBody"]["content"]["application/json"]["schema"],
        json!({})
    );
    assert_eq!(
        raw["responses"]["200"]["content"]["application/json"]["schema"],
        json!({})
    );
    assert!(raw["responses"]["409"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("BUSY")));
}

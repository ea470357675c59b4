//! End to end against a real third-party SOAP stack: the spyne service in tests/spyne (1.1 and 1.2).

use crate::common::gateway::{assert_problem, TestGateway};
use crate::common::spyne::spyne;
use serde_json::json;

/// One mapping per SOAP version, routes under /v11 and /v12.
fn mapping(version: &str, url: &str) -> String {
    let v = version.replace('.', "");
    let not_found = if version == "1.1" {
        "code: Client.NotFound"
    } else {
        "code: Sender, subcode: NotFound"
    };
    format!(
        r#"service: inventory{v}
backend:
  urls: [{url}]
  soap_version: "{version}"
  namespace: urn:soapgate:test:inventory
routes:
  - id: get-item
    method: GET
    path: /v{v}/items/{{sku}}
    operation: GetItem
    action: GetItem
    request: {{ template: templates/get-item.xml.hbs }}
    response:
      select: $.GetItemResult
      arrays: [GetItemResult/tags/string]
      types: {{ GetItemResult/price: decimal, GetItemResult/quantity: integer, GetItemResult/active: boolean }}
    faults:
      - when: {{ {not_found} }}
        status: 404
        code: ITEM_NOT_FOUND
        title: Item not found
        expose_message: true
  - id: list-items
    method: GET
    path: /v{v}/items
    operation: ListItems
    action: ListItems
    request: {{ template: templates/list-items.xml.hbs }}
    response:
      select: $.ListItemsResult.Item
      arrays: [ListItemsResult/Item, ListItemsResult/Item/tags/string]
      types: {{ ListItemsResult/Item/quantity: integer, ListItemsResult/Item/active: boolean }}
  - id: add
    method: POST
    path: /v{v}/sum
    operation: AddNumbers
    action: AddNumbers
    request: {{ template: templates/add.xml.hbs }}
    response:
      types: {{ AddNumbersResult: integer }}
"#
    )
}

fn gateway() -> Option<TestGateway> {
    let s = spyne()?;
    Some(
        TestGateway::builder()
            .mapping("inventory11", &mapping("1.1", &s.url("/soap11")))
            .mapping("inventory12", &mapping("1.2", &s.url("/soap12")))
            .file(
                "templates/get-item.xml.hbs",
                "<t:GetItem xmlns:t=\"{{ns}}\"><t:sku>{{path.sku}}</t:sku></t:GetItem>",
            )
            .file(
                "templates/list-items.xml.hbs",
                "<t:ListItems xmlns:t=\"{{ns}}\"><t:count>{{default query.count 1}}</t:count></t:ListItems>",
            )
            .file(
                "templates/add.xml.hbs",
                "<t:AddNumbers xmlns:t=\"{{ns}}\"><t:a>{{body.a}}</t:a><t:b>{{body.b}}</t:b></t:AddNumbers>",
            )
            .start(),
    )
}

#[actix_rt::test]
async fn typed_values_and_arrays_come_back_from_spyne_in_both_versions() {
    let Some(gw) = gateway() else { return };
    for v in ["11", "12"] {
        let r = gw.get(&format!("/v{v}/items/A-001")).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(
            r.json(),
            json!({"sku": "A-001", "name": "Widget", "price": "9.99", "quantity": 12, "active": true,
                   "updated": "2024-01-15T10:30:00+00:00", "tags": {"string": ["blue", "small"]}})
        );
    }
}

#[actix_rt::test]
async fn repeated_elements_keep_their_shape_with_one_and_zero_items() {
    let Some(gw) = gateway() else { return };
    let one = gw.get("/v11/items/B-002").await.json();
    assert_eq!(one["tags"], json!({"string": ["red"]}));
    assert_eq!(
        (one["price"].clone(), one["active"].clone()),
        (json!("120.50"), json!(false))
    );
    let zero = gw.get("/v12/items/C-003").await.json();
    assert_eq!(zero["tags"], json!({"string": []}));
    assert!(zero["name"].as_str().is_some_and(|n| n.contains("& <Co>")));
    let bond = gw.get("/v11/items/007").await.json();
    assert_eq!(bond["sku"], json!("007"));
}

#[actix_rt::test]
async fn list_results_are_arrays_for_zero_one_and_many() {
    let Some(gw) = gateway() else { return };
    for (v, n) in [("11", 0), ("11", 1), ("12", 3), ("12", 1)] {
        let r = gw.get(&format!("/v{v}/items?count={n}")).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let items = r.json();
        assert_eq!(items.as_array().map(Vec::len), Some(n), "v{v} count={n}: {items}");
        if n > 0 {
            assert_eq!(items[0]["quantity"], json!(12));
        }
    }
}

#[actix_rt::test]
async fn spyne_faults_map_to_problems() {
    let Some(gw) = gateway() else { return };
    for v in ["11", "12"] {
        let path = format!("/v{v}/items/missing");
        let r = gw.get(&path).await;
        assert_problem(&r, 404, "ITEM_NOT_FOUND", "item not found", &path);
        let path = format!("/v{v}/items/boom");
        let r = gw.get(&path).await;
        assert_problem(
            &r,
            502,
            "UPSTREAM_FAULT",
            "The backend service reported an error.",
            &path,
        );
        assert!(!String::from_utf8_lossy(&r.body).contains("database"));
    }
}

#[actix_rt::test]
async fn markup_in_input_reaches_spyne_as_text() {
    let Some(gw) = gateway() else { return };
    // Escaped, the value is just an unknown sku (404); unescaped it would be an XML syntax fault (400).
    let path = "/v11/items/%3C%2Fsku%3E%3Cx%3E%26";
    let r = gw.get(path).await;
    assert_problem(&r, 404, "ITEM_NOT_FOUND", "item not found", path);
}

#[actix_rt::test]
async fn json_numbers_go_in_and_typed_results_come_out() {
    let Some(gw) = gateway() else { return };
    let r = gw.post_json("/v12/sum", r#"{"a": 2, "b": 40}"#).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), json!({"AddNumbersResult": 42}));
    let r = gw.post_json("/v11/sum", r#"{"a": "abc", "b": 1}"#).await;
    assert_problem(
        &r,
        400,
        "UPSTREAM_CLIENT_FAULT",
        "The backend service reported an error.",
        "/v11/sum",
    );
}

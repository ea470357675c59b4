//! Self-test of the OIDC provider the auth tests run against (tests/oidc, npm `oidc-provider`).

use crate::common::oidc::{decode_jwt, oidc};
use serde_json::json;

#[actix_rt::test]
async fn discovery_names_the_issuer_the_harness_reports() {
    let Some(op) = oidc() else { return };
    let discovery = op.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], op.issuer());
    assert!(discovery["introspection_endpoint"].is_string(), "{discovery}");
    let jwks = op.get_json("/jwks").await;
    let ktys: Vec<_> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kty"].clone())
        .collect();
    assert!(
        ktys.contains(&"RSA".into()) && ktys.contains(&"EC".into()),
        "{jwks}"
    );
}

#[actix_rt::test]
async fn client_credentials_gives_a_jwt_access_token_for_the_default_resource() {
    let Some(op) = oidc() else { return };
    let token = op
        .token("gateway-tests", "s3cret", "customers:read orders:read", None)
        .await;
    assert_eq!(token.split('.').count(), 3, "{token}");
    let (header, payload) = decode_jwt(&token);
    assert_eq!(header["typ"], "at+jwt", "{header}");
    assert!(header["kid"].is_string(), "{header}");
    assert_eq!(payload["aud"], "urn:soapgate:api", "{payload}");
    assert_eq!(payload["scope"], "customers:read orders:read", "{payload}");
    assert_eq!(payload["client_id"], "gateway-tests");
    assert_eq!(payload["iss"], op.issuer());
    for claim in ["exp", "iat", "jti"] {
        assert!(!payload[claim].is_null(), "{claim} missing: {payload}");
    }

    let es = op
        .token(
            "gateway-tests",
            "s3cret",
            "customers:read",
            Some("urn:soapgate:api-es"),
        )
        .await;
    let (header, payload) = decode_jwt(&es);
    assert_eq!(
        (header["alg"].as_str(), payload["aud"].as_str()),
        (Some("ES256"), Some("urn:soapgate:api-es"))
    );
}

#[actix_rt::test]
async fn an_opaque_token_introspects_as_active() {
    let Some(op) = oidc() else { return };
    let token = op
        .token(
            "gateway-tests",
            "s3cret",
            "orders:read",
            Some("urn:soapgate:opaque"),
        )
        .await;
    assert_eq!(token.split('.').count(), 1, "{token}");
    let info = op.introspect("gateway-tests", "s3cret", &token).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["aud"], "urn:soapgate:opaque");
    assert_eq!(info["scope"], "orders:read");
    assert_eq!(info["client_id"], "gateway-tests");
    assert_eq!(
        (&info["tenant"], &info["tenant_no"], &info["weight"]),
        (&json!("acme"), &json!(4242), &json!(0.30000000000000004)),
        "the extra claims: {info}"
    );
    let unknown = op.introspect("gateway-tests", "s3cret", "not-a-token").await;
    assert_eq!(unknown["active"], false, "{unknown}");
}

#[actix_rt::test]
async fn a_wrong_secret_is_rejected_with_401() {
    let Some(op) = oidc() else { return };
    let (status, body) = op
        .token_response("gateway-tests", "wrong", "customers:read", None)
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client");
}

#[actix_rt::test]
async fn rotation_puts_a_new_signing_key_first_and_keeps_the_old_ones() {
    let Some(op) = oidc() else { return };
    let opaque = op
        .token("gateway-tests", "s3cret", "", Some("urn:soapgate:opaque"))
        .await;
    let kids = op.rotate().await;
    let published: Vec<_> = op.get_json("/jwks").await["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kids.iter().all(|k| published.contains(k)),
        "{kids:?} vs {published:?}"
    );
    let (header, _) = decode_jwt(&op.token("gateway-tests", "s3cret", "", None).await);
    assert_eq!(header["kid"], kids[0].as_str());
    let info = op.introspect("gateway-tests", "s3cret", &opaque).await;
    assert_eq!(info["active"], true, "tokens survive rotation: {info}");
}

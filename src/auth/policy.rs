//! The validated principal, and a route's authorization: scopes (all-of, any-of) and claim conditions.

use super::AuthFailure;
use serde_json::{json, Map, Value};

/// Who is calling, as the provider vouched for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// Name of the provider that validated the token.
    pub provider: String,
    pub issuer: String,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    /// Every claim of the token (JWT) or introspection response.
    pub claims: Map<String, Value>,
}

impl Principal {
    /// Builds a principal from claims: scopes from `scope` (space-separated, RFC 9068/7662) or
    /// `scp` (array or string); client from `client_id`, else `azp`.
    pub fn from_claims(provider: &str, issuer: &str, claims: Map<String, Value>) -> Principal {
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
        let scopes = match claims.get("scope").or_else(|| claims.get("scp")) {
            Some(Value::String(s)) => s
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        Principal {
            provider: provider.to_string(),
            issuer: issuer.to_string(),
            subject: text("sub"),
            client_id: text("client_id").or_else(|| text("azp")),
            scopes,
            claims,
        }
    }

    /// `principal` in the template context.
    pub fn to_json(&self) -> Value {
        json!({
            "sub": self.subject,
            "client_id": self.client_id,
            "scopes": self.scopes,
            "iss": self.issuer,
            "provider": self.provider,
            "claims": self.claims,
        })
    }

    /// How the access log names the caller: subject, else client id.
    pub fn log_name(&self) -> &str {
        self.subject
            .as_deref()
            .or(self.client_id.as_deref())
            .unwrap_or("-")
    }
}

/// A route's requirements, validated at load time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutePolicy {
    /// A token is needed (providers are configured and the route is not public).
    pub required: bool,
    pub scopes: Vec<String>,
    pub any_scopes: Vec<String>,
    /// Claim -> accepted value, or list of accepted values.
    pub claims: Vec<(String, Value)>,
    /// Indexes into `Auth::providers`; empty = any.
    pub providers: Vec<usize>,
    /// Conditions on the TLS client certificate (`client_cert` in `claims:`).
    pub client_cert: super::client_cert::CertConditions,
}

impl RoutePolicy {
    /// All of `scopes`, at least one of `any_scopes`, every claim condition.
    pub fn authorize(&self, p: &Principal) -> Result<(), AuthFailure> {
        let has = |s: &String| p.scopes.iter().any(|g| g == s);
        if !self.scopes.iter().all(has) {
            return Err(AuthFailure::InsufficientScope(self.scopes.join(" ")));
        }
        if !self.any_scopes.is_empty() && !self.any_scopes.iter().any(has) {
            return Err(AuthFailure::InsufficientScope(self.any_scopes.join(" ")));
        }
        for (name, want) in &self.claims {
            if !claim_matches(p.claims.get(name), want) {
                return Err(AuthFailure::ClaimMismatch);
            }
        }
        Ok(())
    }
}

/// A claim meets a condition when it equals the value (or one of the listed values); an array
/// claim meets it when any of its items does.
pub(super) fn claim_matches(have: Option<&Value>, want: &Value) -> bool {
    let accepted = |v: &Value| match want {
        Value::Array(options) => options.iter().any(|o| o == v),
        one => one == v,
    };
    match have {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => items.iter().any(accepted),
        Some(v) => accepted(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(claims: Value) -> Principal {
        let Value::Object(m) = claims else {
            panic!("object")
        };
        Principal::from_claims("corp", "http://idp", m)
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        assert_eq!(principal(json!({"scope": "a  b"})).scopes, ["a", "b"]);
        assert_eq!(principal(json!({"scp": ["x", 1, "y"]})).scopes, ["x", "y"]);
        assert_eq!(principal(json!({"azp": "app"})).client_id.as_deref(), Some("app"));
    }

    #[test]
    fn all_of_any_of_and_claims() {
        let p =
            principal(json!({"scope": "read write", "tenant": "acme", "groups": ["ops", "dev"], "level": 3}));
        let policy = |scopes: &[&str], any: &[&str], claims: Value| RoutePolicy {
            required: true,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            any_scopes: any.iter().map(|s| s.to_string()).collect(),
            claims: claims
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            providers: Vec::new(),
            client_cert: Default::default(),
        };
        assert_eq!(policy(&["read", "write"], &[], json!({})).authorize(&p), Ok(()));
        assert_eq!(
            policy(&["read", "admin"], &[], json!({})).authorize(&p),
            Err(AuthFailure::InsufficientScope("read admin".into()))
        );
        assert_eq!(policy(&[], &["admin", "write"], json!({})).authorize(&p), Ok(()));
        assert_eq!(
            policy(&[], &["admin", "root"], json!({})).authorize(&p),
            Err(AuthFailure::InsufficientScope("admin root".into()))
        );
        assert_eq!(
            policy(
                &[],
                &[],
                json!({"tenant": "acme", "groups": "ops", "level": [2, 3]})
            )
            .authorize(&p),
            Ok(())
        );
        assert_eq!(
            policy(&[], &[], json!({"tenant": "globex"})).authorize(&p),
            Err(AuthFailure::ClaimMismatch)
        );
        assert_eq!(
            policy(&[], &[], json!({"missing": true})).authorize(&p),
            Err(AuthFailure::ClaimMismatch)
        );
        assert_eq!(
            policy(&[], &[], json!({"level": "3"})).authorize(&p),
            Err(AuthFailure::ClaimMismatch)
        );
    }
}

//! JWT access tokens (RFC 7519, RFC 9068) verified with jsonwebtoken against the provider's keys.
//!
//! Rules: the `alg` must be on the provider's allow-list and match the key's family and the key's
//! own `alg`; the header `typ` is one the provider's `token_types` accepts (RFC 9068 `at+jwt`,
//! plain `JWT` or none); `none` never parses; HS* uses only the configured shared secret (a JWKS public key
//! can never become an HMAC secret); `exp`, `iss` and `aud` are required, `nbf` is honoured, and a
//! time claim that is not a number is refused.

use super::config::is_hmac;
use super::keys::{Key, Kty};
use super::{AuthFailure, Principal, Provider, TokenType};
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Three base64url segments, the first a JSON header: a JWT. Anything else is opaque.
pub fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2 && token.starts_with("eyJ")
}

/// The `iss` of a token, read before verification only to pick the provider.
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_string)
}

/// Verifies `token` with the provider whose issuer it names.
pub async fn verify(
    token: &str,
    providers: &[&Arc<Provider>],
    out: &crate::outbound::Outbound,
) -> Result<Principal, AuthFailure> {
    let header = decode_header(token).map_err(|_| AuthFailure::InvalidToken("the token is malformed"))?;
    let Some(typing) = TokenType::of(header.typ.as_deref()) else {
        return Err(AuthFailure::InvalidToken("the token type is not an access token"));
    };
    let iss = unverified_issuer(token).ok_or(AuthFailure::InvalidToken("the token has no issuer"))?;
    let mut last = AuthFailure::InvalidToken("the token's issuer is not accepted");
    for p in providers.iter().filter(|p| p.spec.issuer == iss) {
        if !p.spec.token_types.contains(&typing) {
            // Checked before any key is looked up: a mistyped token never causes a JWKS refetch.
            last = AuthFailure::InvalidToken(match typing {
                TokenType::Jwt => "the token is not typed at+jwt (RFC 9068)",
                TokenType::AtJwt => "the token type is not accepted",
            });
            continue;
        }
        match verify_with(token, &header, p, &out.get(&p.spec.tls)).await {
            Ok(claims) => return Ok(Principal::from_claims(&p.spec.name, &p.spec.issuer, claims)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

async fn verify_with(
    token: &str,
    header: &jsonwebtoken::Header,
    p: &Provider,
    client: &awc::Client,
) -> Result<Map<String, Value>, AuthFailure> {
    let alg = header.alg;
    let spec = &p.spec;
    if !spec.algorithms.contains(&alg) {
        return Err(AuthFailure::InvalidToken(
            "the signature algorithm is not accepted",
        ));
    }
    let mut v = Validation::new(alg);
    v.required_spec_claims = ["exp", "iss", "aud"].iter().map(|s| s.to_string()).collect();
    v.leeway = spec.leeway.as_secs();
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = true;
    v.set_issuer(&[&spec.issuer]);
    v.set_audience(&spec.audiences);

    if is_hmac(alg) {
        let secret = spec.hs_secret.as_ref().ok_or(AuthFailure::InvalidToken(
            "the signature algorithm is not accepted",
        ))?;
        return check(token, &DecodingKey::from_secret(secret.expose().as_bytes()), &v);
    }
    let family = Kty::for_alg(alg).ok_or(AuthFailure::InvalidToken(
        "the signature algorithm is not accepted",
    ))?;
    let mut keys = p.keys.keys();
    if candidates(&keys, header.kid.as_deref(), alg, family).is_empty() {
        // An unknown kid may be a rotated-in key: refetch (rate-limited), then look again.
        p.keys.refetch_for_unknown_kid(spec, client).await;
        keys = p.keys.keys();
        if !p.keys.ready() {
            return Err(AuthFailure::Unavailable(format!(
                "the keys of provider `{}` are not loaded yet",
                spec.name
            )));
        }
    }
    let found = candidates(&keys, header.kid.as_deref(), alg, family);
    if found.is_empty() {
        return Err(AuthFailure::InvalidToken(
            "the token is signed with an unknown key",
        ));
    }
    let mut last = AuthFailure::InvalidToken("the signature is invalid");
    for key in found {
        match check(token, &key.key, &v) {
            Ok(claims) => return Ok(claims),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Keys that may verify this token: same `kid` (when the token names one), same family, and the
/// key's own `alg` (when it has one) equal to the token's.
fn candidates<'k>(
    keys: &'k [Key],
    kid: Option<&str>,
    alg: jsonwebtoken::Algorithm,
    family: Kty,
) -> Vec<&'k Key> {
    keys.iter()
        .filter(|k| k.kty == family && k.alg.is_none_or(|a| a == alg))
        .filter(|k| match kid {
            Some(kid) => k.kid.as_deref() == Some(kid),
            None => true,
        })
        .collect()
}

fn check(token: &str, key: &DecodingKey, v: &Validation) -> Result<Map<String, Value>, AuthFailure> {
    match decode::<Map<String, Value>>(token, key, v) {
        Ok(data) => {
            // Belt and braces over CVE-2026-25537: time claims must be numbers.
            for claim in ["exp", "nbf", "iat"] {
                if data.claims.get(claim).is_some_and(|c| !c.is_number()) {
                    return Err(AuthFailure::InvalidToken("a time claim is not a number"));
                }
            }
            Ok(data.claims)
        }
        Err(e) => Err(AuthFailure::InvalidToken(match e.kind() {
            ErrorKind::ExpiredSignature => "the token has expired",
            ErrorKind::ImmatureSignature => "the token is not valid yet",
            ErrorKind::InvalidIssuer => "the token's issuer is not accepted",
            ErrorKind::InvalidAudience => "the token is not meant for this service",
            ErrorKind::MissingRequiredClaim(c) if c == "aud" => "the token has no audience",
            ErrorKind::MissingRequiredClaim(c) if c == "exp" => "the token has no expiry",
            ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
            ErrorKind::InvalidClaimFormat(_) => "a time claim is not a number",
            ErrorKind::InvalidSignature => "the signature is invalid",
            ErrorKind::InvalidAlgorithm => "the signature algorithm does not match the key",
            _ => "the token is malformed",
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::TokenType;

    #[test]
    fn header_typ_gives_the_typing() {
        assert_eq!(TokenType::of(None), Some(TokenType::Jwt));
        assert_eq!(TokenType::of(Some("JWT")), Some(TokenType::Jwt));
        assert_eq!(TokenType::of(Some("at+jwt")), Some(TokenType::AtJwt));
        assert_eq!(TokenType::of(Some("AT+JWT")), Some(TokenType::AtJwt));
        assert_eq!(TokenType::of(Some("application/at+jwt")), Some(TokenType::AtJwt));
        assert_eq!(TokenType::of(Some("id_token+jwt")), None);
        assert_eq!(TokenType::of(Some("logout+jwt")), None);
    }
}

//! Keys the tests generate, a JWKS server for them on 127.0.0.1 (counts hits, can go down), and
//! token minting with any header and claims, for the forgery rows of THREATS.md (A*).
#![allow(dead_code)]

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An ES256 key pair made by the test.
pub struct EcKey {
    pub kid: String,
    secret: p256::SecretKey,
}

impl EcKey {
    pub fn generate(kid: &str) -> EcKey {
        loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("random bytes");
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                return EcKey {
                    kid: kid.to_string(),
                    secret,
                };
            }
        }
    }

    /// The public JWK (with `kid`, `use`, `alg`).
    pub fn jwk(&self) -> Value {
        let mut jwk: Value = serde_json::from_str(&self.secret.public_key().to_jwk_string()).expect("jwk");
        jwk["kid"] = json!(self.kid);
        jwk["use"] = json!("sig");
        jwk["alg"] = json!("ES256");
        jwk
    }

    pub fn encoding_key(&self) -> EncodingKey {
        let der = self.secret.to_pkcs8_der().expect("pkcs8 der");
        EncodingKey::from_ec_der(der.as_bytes())
    }

    /// A token signed by this key, with `kid` set and the given header type.
    pub fn sign(&self, claims: &Value) -> String {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(self.kid.clone());
        h.typ = Some("at+jwt".into());
        jsonwebtoken::encode(&h, claims, &self.encoding_key()).expect("sign")
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Standard claims for `iss`/`aud`, valid for ten minutes, with `scope`.
pub fn claims(iss: &str, aud: &str, scope: &str) -> Value {
    json!({"iss": iss, "aud": aud, "sub": "alice", "client_id": "test-client", "scope": scope,
           "iat": now(), "exp": now() + 600})
}

/// Compact JWS from raw parts: `header` and `claims` as JSON, `signature` as given (base64url).
pub fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    let b = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{signature}", b(header), b(claims))
}

/// An HS256 token signed with `secret` (for the RS/HS confusion row).
pub fn hs256(secret: &[u8], kid: Option<&str>, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::HS256);
    h.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_secret(secret)).expect("sign HS256")
}

/// The PEM of an RSA public key given as JWK `n` and `e`.
pub fn rsa_public_pem(jwk: &Value) -> String {
    use rsa::pkcs8::EncodePublicKey;
    let d = |k: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk[k].as_str().expect("n/e"))
            .expect("base64url")
    };
    let key = rsa::RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&d("n")),
        rsa::BigUint::from_bytes_be(&d("e")),
    )
    .expect("rsa key");
    key.to_public_key_pem(rsa::pkcs8::LineEnding::LF).expect("pem")
}

/// A JWKS endpoint on 127.0.0.1: serves `keys`, counts requests, answers 503 while down.
pub struct JwksServer {
    pub port: u16,
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
    up: Arc<AtomicBool>,
}

impl JwksServer {
    pub fn start(keys: Vec<Value>) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind JWKS server");
        let port = listener.local_addr().expect("addr").port();
        let keys = Arc::new(Mutex::new(keys));
        let hits = Arc::new(AtomicUsize::new(0));
        let up = Arc::new(AtomicBool::new(true));
        let (k, h, u) = (keys.clone(), hits.clone(), up.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let mut req = Vec::new();
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                let (status, body) = if u.load(Ordering::SeqCst) {
                    let keys = k.lock().expect("keys").clone();
                    ("200 OK", json!({ "keys": keys }).to_string())
                } else {
                    ("503 Service Unavailable", "{}".to_string())
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        JwksServer { port, keys, hits, up }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/jwks", self.port)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.keys.lock().expect("keys") = keys;
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

/// An RFC 7662 introspection endpoint on 127.0.0.1 that answers whatever the test says (a hostile
/// or broken provider): per token, else a default answer; counts requests.
pub struct IntrospectionServer {
    pub port: u16,
    answers: Arc<Mutex<Vec<(String, String)>>>,
    default: Arc<Mutex<String>>,
    hits: Arc<AtomicUsize>,
}

impl IntrospectionServer {
    /// Answers `default` (raw JSON text, sent as it is) to every token without its own answer.
    pub fn start(default: &str) -> IntrospectionServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind introspection server");
        let port = listener.local_addr().expect("addr").port();
        let answers: Arc<Mutex<Vec<(String, String)>>> = Arc::new(Mutex::new(Vec::new()));
        let default = Arc::new(Mutex::new(default.to_string()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (a, d, h) = (answers.clone(), default.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let (a, d, h) = (a.clone(), d.clone(), h.clone());
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let Some(body) = read_request_body(&mut s) else {
                        return;
                    };
                    h.fetch_add(1, Ordering::SeqCst);
                    let token = body
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("token="))
                        .unwrap_or("")
                        .to_string();
                    let answer = a
                        .lock()
                        .expect("answers")
                        .iter()
                        .find(|(t, _)| *t == token)
                        .map(|(_, json)| json.clone())
                        .unwrap_or_else(|| d.lock().expect("default").clone());
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                });
            }
        });
        IntrospectionServer {
            port,
            answers,
            default,
            hits,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/introspect", self.port)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// The answer (raw JSON text) for one token.
    pub fn answer(&self, token: &str, json: &str) {
        self.answers
            .lock()
            .expect("answers")
            .push((token.to_string(), json.to_string()));
    }
}

/// The body of one HTTP/1.1 request (by `content-length`), as text.
fn read_request_body(s: &mut std::net::TcpStream) -> Option<String> {
    let mut buf = [0u8; 4096];
    let mut req = Vec::new();
    let head_end = loop {
        if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&req[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while req.len() < head_end + len {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    Some(String::from_utf8_lossy(&req[head_end..head_end + len]).into_owned())
}

//! The `oauth2` crate's async HTTP client, implemented over awc (no second HTTP stack).
//!
//! `oauth2` speaks `http` 1.x types; awc (actix-web 4) speaks `http` 0.2: requests and responses
//! are converted field by field. Redirects are never followed and bodies are bounded.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Largest response an identity provider may send (token, introspection, discovery, JWKS).
pub const MAX_IDP_RESPONSE: usize = 1 << 20;

/// Why an identity-provider exchange failed. Never carries a secret or a token.
#[derive(Debug, thiserror::Error)]
pub enum IdpHttpError {
    #[error("invalid request to the identity provider: {0}")]
    Request(String),
    #[error("identity provider unreachable: {0}")]
    Send(String),
    #[error("identity provider response unreadable: {0}")]
    Body(String),
}

/// An `oauth2::AsyncHttpClient` over one awc client, with a total timeout per exchange.
pub struct AwcHttp<'a> {
    pub client: &'a awc::Client,
    pub timeout: Duration,
}

impl std::fmt::Debug for AwcHttp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwcHttp").field("timeout", &self.timeout).finish()
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for AwcHttp<'_> {
    type Error = IdpHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, IdpHttpError>> + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self.client, self.timeout, request))
    }
}

/// Sends one `http` 1.x request through awc and returns an `http` 1.x response.
pub async fn send(
    client: &awc::Client,
    timeout: Duration,
    request: http::Request<Vec<u8>>,
) -> Result<http::Response<Vec<u8>>, IdpHttpError> {
    let (parts, body) = request.into_parts();
    let method = awc::http::Method::from_bytes(parts.method.as_str().as_bytes())
        .map_err(|e| IdpHttpError::Request(e.to_string()))?;
    let mut req = client.request(method, parts.uri.to_string()).timeout(timeout);
    for (name, value) in &parts.headers {
        // awc writes its own Connection header (it drops a caller's); ask it to close instead.
        if name == http::header::CONNECTION && value.as_bytes().eq_ignore_ascii_case(b"close") {
            req = req.force_close();
            continue;
        }
        req = req.append_header((name.as_str(), value.as_bytes()));
    }
    let mut res = req
        .send_body(body)
        .await
        .map_err(|e| match crate::tls::TlsFailure::of_send(&e) {
            Some(class) => IdpHttpError::Send(format!("TLS handshake failed ({}): {e}", class.as_str())),
            None => IdpHttpError::Send(e.to_string()),
        })?;
    let bytes = res
        .body()
        .limit(MAX_IDP_RESPONSE)
        .await
        .map_err(|e| IdpHttpError::Body(e.to_string()))?;
    let mut out = http::Response::builder().status(res.status().as_u16());
    for (name, value) in res.headers() {
        out = out.header(name.as_str(), value.as_bytes());
    }
    out.body(bytes.to_vec())
        .map_err(|e| IdpHttpError::Body(e.to_string()))
}

/// GET a JSON document (discovery, JWKS) with a total timeout; non-2xx is an error. These come
/// minutes apart, so the connection is not kept: a pooled one would sit in CLOSE_WAIT once the
/// IdP times it out (THREATS.md E5).
pub async fn get_json(
    client: &awc::Client,
    timeout: Duration,
    url: &str,
) -> Result<serde_json::Value, IdpHttpError> {
    let request = http::Request::get(url)
        .header("accept", "application/json")
        .header("connection", "close")
        .body(Vec::new())
        .map_err(|e| IdpHttpError::Request(e.to_string()))?;
    let res = send(client, timeout, request).await?;
    if !res.status().is_success() {
        return Err(IdpHttpError::Body(format!(
            "HTTP status {}",
            res.status().as_u16()
        )));
    }
    serde_json::from_slice(res.body()).map_err(|e| IdpHttpError::Body(format!("not JSON: {e}")))
}

/// A client for identity-provider calls: no redirects, bounded connect time.
pub fn idp_client(connect_timeout: Duration) -> awc::Client {
    awc::Client::builder()
        .connector(awc::Connector::new().timeout(connect_timeout))
        .disable_redirects()
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn json_documents_are_fetched_without_keeping_the_connection() {
        let (url, closed) = crate::backend::one_connection_server(r#"{"keys":[]}"#);
        let client = idp_client(Duration::from_secs(2));
        let doc = get_json(&client, Duration::from_secs(5), &url)
            .await
            .expect("fetched");
        assert_eq!(doc, serde_json::json!({"keys": []}));
        // The client is still alive: only a connection it did not pool can have been closed.
        closed
            .recv_timeout(Duration::from_secs(5))
            .expect("the connection is closed after the document");
        drop(client);
    }

    async fn fetch(answer: String) -> Result<serde_json::Value, IdpHttpError> {
        let url = crate::backend::raw_answer_server(answer.into_bytes());
        let client = idp_client(Duration::from_secs(2));
        get_json(&client, Duration::from_secs(5), &url).await
    }

    #[actix_rt::test]
    async fn f3_close_delimited_discovery_and_jwks_documents_are_read_whole() {
        // A JWKS larger than one read, ending with the connection (HTTP/1.1, no length).
        let keys: Vec<_> = (0..300)
            .map(|i| serde_json::json!({"kty": "EC", "kid": format!("k{i}"), "x": "a".repeat(43)}))
            .collect();
        let doc = serde_json::json!({"keys": keys});
        for connection in ["Connection: close\r\n", ""] {
            let answer =
                format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{connection}\r\n{doc}");
            assert_eq!(fetch(answer).await.expect("fetched"), doc);
        }
    }

    #[actix_rt::test]
    async fn f5_close_delimited_idp_document_over_the_limit_is_refused() {
        let big = format!("{{\"pad\":\"{}\"}}", "a".repeat(MAX_IDP_RESPONSE));
        let answer =
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{big}");
        let e = fetch(answer).await.expect_err("too large");
        assert!(matches!(e, IdpHttpError::Body(_)), "{e}");
    }

    #[actix_rt::test]
    async fn f6_chunked_idp_document_missing_its_last_chunk_is_refused() {
        let doc = r#"{"keys":[]}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{doc}\r\n",
            doc.len()
        );
        let e = fetch(answer).await.expect_err("incomplete");
        assert!(matches!(e, IdpHttpError::Body(_)), "{e}");
    }
}

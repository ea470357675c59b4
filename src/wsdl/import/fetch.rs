//! Getting the documents of a WSDL for `import`: local files, or http(s) URLs with a blocking GET,
//! each recorded so the whole set can be saved next to the generated mapping.

use super::save::Fetched;
use crate::wsdl::loader::docs::is_http;
use crate::wsdl::model::Wsdl;
use crate::wsdl::{WsdlError, MAX_DOCUMENT_BYTES};
use std::cell::RefCell;
use std::time::Duration;

/// Total time for one HTTP GET (connect, headers and body).
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed for one document.
const MAX_REDIRECTS: u8 = 5;

/// Loads `entry` (absolute file path or http(s) URL); returns the model and every fetched document,
/// entry first.
pub fn load_recorded(entry: &str, tls: &crate::tls::ClientTls) -> Result<(Wsdl, Vec<Fetched>), WsdlError> {
    let recorded: RefCell<Vec<Fetched>> = RefCell::new(Vec::new());
    let fetch = |location: &str| -> Result<Vec<u8>, String> {
        let bytes = match is_http(location) {
            true => http_get(location, tls)?,
            false => crate::wsdl::read_file(location)?,
        };
        recorded.borrow_mut().push(Fetched {
            location: location.to_string(),
            bytes: bytes.clone(),
        });
        Ok(bytes)
    };
    let wsdl = crate::wsdl::load_with(entry, &fetch)?;
    Ok((wsdl, recorded.into_inner()))
}

/// A blocking GET on a fresh actix system (the CLI runs outside any runtime).
fn http_get(url: &str, tls: &crate::tls::ClientTls) -> Result<Vec<u8>, String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err("only http and https URLs are fetched".into());
    }
    let work = async {
        match actix_rt::time::timeout(HTTP_TIMEOUT, get(url, tls)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no complete answer within {}s", HTTP_TIMEOUT.as_secs())),
        }
    };
    actix_rt::System::new().block_on(work)
}

async fn get(url: &str, tls: &crate::tls::ClientTls) -> Result<Vec<u8>, String> {
    let connector = awc::Connector::new()
        .rustls_0_23(tls.config())
        .timeout(HTTP_TIMEOUT)
        .handshake_timeout(HTTP_TIMEOUT);
    let client = awc::Client::builder()
        .connector(connector)
        .timeout(HTTP_TIMEOUT)
        .max_redirects(MAX_REDIRECTS)
        .finish();
    let mut res = client
        .get(url)
        .insert_header(("accept", "text/xml, application/xml, application/wsdl+xml, */*"))
        .send()
        .await
        .map_err(|e| describe_send_error(url, &e))?;
    if !res.status().is_success() {
        return Err(format!("HTTP status {}", res.status()));
    }
    let body = res
        .body()
        .limit(MAX_DOCUMENT_BYTES)
        .await
        .map_err(|e| format!("reading the body: {e} (limit {MAX_DOCUMENT_BYTES} bytes)"))?;
    Ok(body.to_vec())
}

fn describe_send_error(url: &str, e: &awc::error::SendRequestError) -> String {
    use awc::error::{ConnectError, SendRequestError};
    if let SendRequestError::Connect(ConnectError::Io(io)) = e {
        if let Some(class) = crate::tls::TlsFailure::of_io(io) {
            return format!(
                "TLS handshake with {url} failed: {} (trust a private CA with --ca-file)",
                class.as_str()
            );
        }
    }
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(answer: String) -> Result<Vec<u8>, String> {
        let url = crate::backend::raw_answer_server(answer.into_bytes());
        http_get(&url, &crate::tls::ClientTls::system())
    }

    #[test]
    fn f4_close_delimited_wsdl_is_read_whole() {
        let wsdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/wsdl/customers.wsdl"))
            .expect("demo WSDL");
        for connection in ["Connection: close\r\n", ""] {
            let answer = format!("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n{connection}\r\n{wsdl}");
            assert_eq!(get(answer).expect("fetched"), wsdl.as_bytes());
        }
    }

    #[test]
    fn f5_close_delimited_wsdl_over_the_limit_is_refused() {
        let big = " ".repeat(MAX_DOCUMENT_BYTES + 1);
        let e =
            get(format!("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n{big}")).expect_err("too large");
        assert!(e.contains(&format!("limit {MAX_DOCUMENT_BYTES} bytes")), "{e}");
    }

    #[test]
    fn f6_chunked_wsdl_missing_its_last_chunk_is_refused() {
        let doc = "<definitions/>";
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{doc}\r\n",
            doc.len()
        );
        let e = get(answer).expect_err("incomplete");
        assert!(e.starts_with("reading the body"), "{e}");
    }
}

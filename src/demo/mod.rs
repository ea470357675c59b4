//! The bundled demo: a sample legacy SOAP service, a development token issuer, and the gateway
//! wired to both.
pub mod backend;
pub mod issuer;
pub mod tls;

use crate::config::Settings;
use std::net::SocketAddr;

/// The shell command that fetches a token from the demo issuer (all scopes, or `scope`) and
/// prints only the access token.
fn token_command(issuer_url: &str, scope: Option<&str>) -> String {
    let scope = scope.map(|s| format!(" -d scope={s}")).unwrap_or_default();
    format!(
        r#"curl -s -u {id}:{secret} -d grant_type=client_credentials{scope} {issuer_url}/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/'"#,
        id = issuer::CLIENT_ID,
        secret = issuer::CLIENT_SECRET,
    )
}

/// The text `soapgate demo` prints: where things run and commands that work as printed, pasted in
/// order into a POSIX shell (the first fetches the token the others send).
/// With `cacert` (`demo --tls`) every command trusts the demo's CA and the SOAP service is https.
pub fn banner(base: &str, soap: SocketAddr, issuer_url: &str, s: &Settings, cacert: Option<&str>) -> String {
    let text = banner_text(base, soap, issuer_url, s);
    match cacert {
        None => text,
        Some(ca) => text
            .replace("curl -s", &format!("curl -s --cacert {ca}"))
            .replace(&format!("http://{soap}"), &format!("https://{soap}"))
            .replacen(
                "soapgate demo is running.",
                &format!("soapgate demo is running over TLS.\n  demo CA (throwaway, made at start-up): {ca}"),
                1,
            ),
    }
}

fn banner_text(base: &str, soap: SocketAddr, issuer_url: &str, s: &Settings) -> String {
    let admin = s
        .admin_listen
        .as_deref()
        .map(|a| format!("\n  curl -s http://{a}/metrics | head"))
        .unwrap_or_default();
    let bearer = r#"-H "authorization: Bearer $TOKEN""#;
    format!(
        "soapgate demo is running.
  legacy SOAP service: http://{soap}{path} (WSDL: http://{soap}{path}?wsdl)
  token issuer:        {issuer_url} (development only: client {id} / {secret})
  REST gateway:        {base}

Try (first fetch a token; it is valid for an hour):
  export TOKEN=$({fetch_all})
  curl -s {bearer} {base}/customers/42
  curl -s {bearer} {base}/customers/7/orders
  curl -s {bearer} '{base}/customers/42/orders?status=Open'
  curl -s {bearer} -X POST {base}/customers/42/orders -H 'content-type: application/json' \\
       -d '{{\"currency\":\"GBP\",\"lines\":[{{\"sku\":\"WIDGET-S\",\"quantity\":3}}]}}'
  curl -s {bearer} -X PUT {base}/customers/7/email -H 'content-type: application/json' -d '{{\"email\":\"grace@example.org\"}}'
  curl -s -i {bearer} -X PUT {base}/customers/7/email -H 'content-type: application/json' -d '{{}}'   # WSDL schema check -> 400 problem+json
  curl -s -i {bearer} {base}/customers/99    # SOAP Fault -> 404 problem+json
  curl -s -i {bearer} {base}/customers/500   # Server fault -> 502 problem+json
  curl -s -i {base}/customers/42   # no token -> 401 problem+json
  export READ_TOKEN=$({fetch_read})
  curl -s -i -H \"authorization: Bearer $READ_TOKEN\" -X PUT {base}/customers/7/email -H 'content-type: application/json' -d '{{\"email\":\"ada@example.org\"}}'   # read-only token -> 403 problem+json{admin}

Press Ctrl-C to stop.",
        path = backend::PATH,
        id = issuer::CLIENT_ID,
        secret = issuer::CLIENT_SECRET,
        fetch_all = token_command(issuer_url, None),
        fetch_read = token_command(issuer_url, Some("customers:read")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Snapshot;
    use std::path::Path;

    fn demo_config() -> Snapshot {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("soapgate.yaml");
        Snapshot::load(&path).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn the_demo_config_trusts_the_demo_issuer() {
        let snap = demo_config();
        let issuer = format!("http://{}", issuer::DEFAULT_ADDR);
        let p = snap
            .auth
            .providers
            .iter()
            .find(|p| p.spec.issuer == issuer)
            .unwrap_or_else(|| panic!("no provider for {issuer}"));
        assert_eq!(p.spec.audiences, [issuer::AUDIENCE]);
        assert!(
            p.spec.discovery,
            "the demo uses discovery, as a real IdP would be used"
        );
    }

    #[test]
    fn the_banner_fetches_a_token_before_using_it() {
        let snap = demo_config();
        let soap: SocketAddr = "127.0.0.1:9081".parse().unwrap_or_else(|e| panic!("{e}"));
        let text = banner(
            "http://127.0.0.1:8080",
            soap,
            "http://127.0.0.1:9082",
            &snap.settings,
            None,
        );
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let fetch = lines
            .iter()
            .position(|l| l.starts_with("export TOKEN=$(curl -s -u demo-client:demo-secret "))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(lines[fetch].contains("http://127.0.0.1:9082/token"), "{text}");
        let gateway_calls: Vec<(usize, &&str)> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with("curl ") && l.contains("http://127.0.0.1:8080/"))
            .collect();
        assert!(gateway_calls.len() >= 8, "{text}");
        for (i, l) in gateway_calls {
            assert!(i > fetch, "{l} comes before the token fetch");
            assert!(
                l.contains("authorization: Bearer $") || l.contains("-> 401"),
                "{l} sends no token"
            );
        }
    }
}

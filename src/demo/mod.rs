//! The bundled demo: a sample legacy SOAP service and the gateway wired to it.
pub mod backend;

use crate::config::Settings;
use std::net::SocketAddr;

/// The text `soapgate demo` prints: where things run and curl commands that work as printed.
pub fn banner(base: &str, soap: SocketAddr, s: &Settings) -> String {
    let admin = s
        .admin_listen
        .as_deref()
        .map(|a| format!("\n  curl -s http://{a}/metrics | head"))
        .unwrap_or_default();
    format!(
        "soapgate demo is running.
  legacy SOAP service: http://{soap}{path} (WSDL: http://{soap}{path}?wsdl)
  REST gateway:        {base}

Try:
  curl -s {base}/customers/42
  curl -s {base}/customers/7/orders
  curl -s '{base}/customers/42/orders?status=Open'
  curl -s -X POST {base}/customers/42/orders -H 'content-type: application/json' \\
       -d '{{\"currency\":\"GBP\",\"lines\":[{{\"sku\":\"WIDGET-S\",\"quantity\":3}}]}}'
    curl -s -X PUT {base}/customers/7/email -H 'content-type: application/json' -d '{{\"email\":\"grace@example.org\"}}'
  curl -s -i -X PUT {base}/customers/7/email -H 'content-type: application/json' -d '{{}}'   # WSDL schema check -> 400 problem+json
  curl -s -i {base}/customers/99          # SOAP Fault -> 404 problem+json
  curl -s -i {base}/customers/500         # Server fault -> 502 problem+json{admin}

Press Ctrl-C to stop.",
        path = backend::PATH
    )
}

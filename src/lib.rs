//! soapgate: expose legacy SOAP/XML services as REST/JSON.

pub mod admin; // health, readiness, metrics, reload
pub mod auth; // step 4: bearer tokens (JWT via JWKS, introspection), scopes, claims
pub mod backend;
pub mod breaker; // circuit breaking per backend URL // awc client per worker, timeouts, round-robin, failover
pub mod cli; // the `serve`, `check` and `demo` commands
pub mod config; // raw YAML -> validated Snapshot
pub mod credentials; // what soapgate presents to backends: Basic, WS-Security, OAuth2 tokens
pub mod decimal; // exact decimal numerals: XSD canonical forms, comparisons, rounding (never f64)
pub mod demo; // the bundled sample SOAP service and its wiring
pub mod error; // one error enum + the problem+json table
pub mod gateway; // shared state: current snapshot (atomic swap), metrics
pub mod listener; // binds a listener: plain HTTP/1.1, or TLS with HTTP/1.1 and optional h2
pub mod logging; // tracing subscriber setup
pub mod mapping; // templates, response selection, fault rules
pub mod metrics; // Prometheus counters and histograms
pub mod oauth_http; // the oauth2 crate's HTTP client over awc
pub mod outbound; // per-worker awc clients, one pool per TLS profile
pub mod pipeline; // run(): the request flow
pub mod ratelimit; // step 5: named policies, local (governor) or Redis (GCRA script) counters
pub mod router; // method + path templates -> route
pub mod server; // actix transport: middleware, body cap, handler
pub mod soap; // envelopes and the bounded streaming parser
pub mod target; // the request target: the one strict percent-decoder, path segments, the query
pub mod threat; // step 3: JSON limits, injection patterns, body decoding, concurrency caps
pub mod tls; // rustls: PEM checks, outbound profiles, the listener, failure classes
pub mod wsdl; // WSDL 1.1 + XSD loading into a compiled model; typed mediation

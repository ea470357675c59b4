//! The command line: `serve`, `check`, `demo`, `import` and `openapi`.

use crate::config::ConfigError;
use crate::gateway::Gateway;
use crate::{admin, demo, logging, server};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// soapgate: expose legacy SOAP/XML services as REST/JSON.
#[derive(Debug, Parser)]
#[command(name = "soapgate", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        #[arg(long, default_value = "soapgate.yaml")]
        config: PathBuf,
    },
    /// Validate config, mappings and templates; exit non-zero on any error.
    Check {
        #[arg(long, default_value = "soapgate.yaml")]
        config: PathBuf,
    },
    /// Run the bundled demo: a sample legacy SOAP service plus the gateway wired to it.
    Demo {
        /// Config to use (default: the repository's soapgate.yaml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address of the demo SOAP service (must match the demo mapping's backend URL).
        #[arg(long, default_value = "127.0.0.1:9081")]
        backend: SocketAddr,
        /// Address of the demo's development token issuer (must match the issuer of the demo
        /// config's `auth:` provider).
        #[arg(long, default_value = demo::issuer::DEFAULT_ADDR)]
        issuer: SocketAddr,
        /// Run everything over TLS: a throwaway CA is made at start-up and its path printed.
        #[arg(long)]
        tls: bool,
    },
    /// Generate a mapping, templates and a local WSDL copy for every operation of a WSDL.
    Import {
        /// WSDL file path or http(s) URL.
        wsdl: String,
        /// Folder receiving soapgate.yaml (if absent), mappings/, templates/ and wsdl/.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Service name (default: the WSDL file name in kebab case).
        #[arg(long)]
        service: Option<String>,
        /// Backend URL (default: the WSDL's SOAP address).
        #[arg(long)]
        backend_url: Option<String>,
        /// "1.1" or "1.2" (default: 1.1 when the WSDL has a SOAP 1.1 binding).
        #[arg(long)]
        soap_version: Option<String>,
        /// PEM bundle of the CAs trusted for https WSDL and XSD locations (default: the system
        /// trust store, which honours SSL_CERT_FILE and SSL_CERT_DIR).
        #[arg(long)]
        ca_file: Option<PathBuf>,
    },
    /// Print the OpenAPI 3.1 document of the REST facade.
    Openapi {
        #[arg(long, default_value = "soapgate.yaml")]
        config: PathBuf,
    },
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Serve { config } => with_runtime(serve(config)),
        Command::Demo {
            config,
            backend,
            issuer,
            tls,
        } => with_runtime(run_demo(demo_config(config), backend, issuer, tls)),
        Command::Import {
            wsdl,
            out,
            service,
            backend_url,
            soap_version,
            ca_file,
        } => import(&wsdl, out, service, backend_url, soap_version.as_deref(), ca_file),
        Command::Openapi { config } => openapi(&config),
    }
}

/// `soapgate import`: writes the files, prints the report table.
fn import(
    wsdl: &str,
    out: PathBuf,
    service: Option<String>,
    backend_url: Option<String>,
    soap_version: Option<&str>,
    ca_file: Option<PathBuf>,
) -> ExitCode {
    let raw = ca_file.map(|f| crate::tls::RawClientTls {
        ca_file: Some(f.display().to_string()),
        ..Default::default()
    });
    let mut d = crate::config::Diagnostics::default();
    let at = crate::tls::At {
        file: "command line",
        key: "--ca-file",
        base: Path::new("."),
    };
    let tls = crate::tls::ClientTls::build(raw.as_ref(), at, &mut d);
    if !d.errors.is_empty() {
        eprint!("{}", report(&d.errors));
        return ExitCode::FAILURE;
    }
    let soap_version = match soap_version {
        None => None,
        Some("1.1") => Some(crate::soap::SoapVersion::V11),
        Some("1.2") => Some(crate::soap::SoapVersion::V12),
        Some(other) => {
            eprintln!("soapgate: --soap-version `{other}`: use 1.1 or 1.2");
            return ExitCode::FAILURE;
        }
    };
    let opts = crate::wsdl::import::ImportOptions {
        out,
        service,
        backend_url,
        soap_version,
        tls,
    };
    match crate::wsdl::import::import(wsdl, &opts) {
        Ok(report) => {
            print!("{}", report.table());
            for f in &report.files {
                println!("wrote {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("soapgate: import failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `soapgate openapi`: prints the OpenAPI 3.1 document of a valid config.
fn openapi(config: &Path) -> ExitCode {
    match crate::config::Snapshot::load(config) {
        Ok(snap) => match serde_json::to_string_pretty(&crate::wsdl::openapi::document(&snap)) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("soapgate: {e}");
                ExitCode::FAILURE
            }
        },
        Err(errors) => {
            eprint!("{}", report(&errors));
            ExitCode::FAILURE
        }
    }
}

fn with_runtime(f: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    match actix_rt::System::new().block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soapgate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn report(errors: &[ConfigError]) -> String {
    let mut s = format!("{} config error(s):\n", errors.len());
    for e in errors {
        s.push_str(&format!("  {e}\n"));
    }
    s
}

fn check(config: &Path) -> ExitCode {
    match Gateway::load(config.to_path_buf()) {
        Ok(gw) => {
            let snap = gw.snapshot();
            for w in &snap.warnings {
                println!("warning: {w}");
            }
            println!(
                "{}: ok ({} services, {} routes)",
                config.display(),
                snap.services.len(),
                snap.router.routes().len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprint!("{}", report(&errors));
            ExitCode::FAILURE
        }
    }
}

/// Starts the REST and admin listeners and serves until Ctrl-C or SIGTERM; SIGHUP reloads.
async fn serve(config: PathBuf) -> Result<(), String> {
    let gw = Arc::new(Gateway::load(config).map_err(|e| report(&e))?);
    let (_, running) = start(gw).await?;
    running.await
}

type Running = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

/// Binds both listeners; returns the REST addresses and a future that runs until shutdown.
async fn start(gw: Arc<Gateway>) -> Result<(Vec<SocketAddr>, Running), String> {
    let snap = gw.snapshot();
    let s = &snap.settings;
    logging::init(s.log_format, &s.log_level);
    crate::gateway::log_warnings(&snap);
    let (rest, addrs) = server::rest_server(gw.clone(), &s.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", s.listen))?;
    let admin = match &s.admin_listen {
        Some(a) => {
            Some(admin::admin_server(gw.clone(), a).map_err(|e| format!("cannot listen on {a}: {e}"))?)
        }
        None => None,
    };
    tracing::info!(listen = ?addrs, https = gw.rest_tls.is_some(), admin = ?admin.as_ref().map(|a| &a.1), routes = snap.router.routes().len(), "soapgate listening");
    let rest_handle = rest.handle();
    let admin_handle = admin.as_ref().map(|a| a.0.handle());
    actix_rt::spawn(rest);
    if let Some((srv, _)) = admin {
        actix_rt::spawn(srv);
    }
    let running = async move {
        wait_for_shutdown(&gw).await;
        tracing::info!("shutting down");
        rest_handle.stop(true).await;
        if let Some(h) = admin_handle {
            h.stop(true).await;
        }
        Ok(())
    };
    Ok((addrs, Box::pin(running)))
}

#[cfg(unix)]
async fn wait_for_shutdown(gw: &Gateway) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut hup), Ok(mut term)) = (signal(SignalKind::hangup()), signal(SignalKind::terminate())) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = hup.recv() => { let _ = gw.reload(); }
            _ = term.recv() => return,
            _ = tokio::signal::ctrl_c() => return,
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_shutdown(_gw: &Gateway) {
    let _ = tokio::signal::ctrl_c().await;
}

/// The demo's config: given, or `soapgate.yaml` here, or the one in the source tree.
fn demo_config(given: Option<PathBuf>) -> PathBuf {
    if let Some(p) = given {
        return p;
    }
    let here = PathBuf::from("soapgate.yaml");
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("soapgate.yaml")
}

/// Longest wait for the gateway to load the issuer's keys before the banner is printed.
const DEMO_READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

/// `soapgate demo`: the SOAP service and the development token issuer (only ever started here),
/// then the gateway; the banner once the gateway holds the issuer's keys.
async fn run_demo(config: PathBuf, backend: SocketAddr, issuer: SocketAddr, tls: bool) -> Result<(), String> {
    let pki = if tls {
        Some(demo::tls::DemoPki::create()?)
    } else {
        None
    };
    let config = match &pki {
        Some(p) => p.tls_config(&config)?,
        None => config,
    };
    let server_tls = pki.as_ref().map(|p| p.server.clone());
    let gw = Arc::new(Gateway::load(config.clone()).map_err(|e| report(&e))?);
    let (soap, soap_addr) = demo::backend::start_with(backend, server_tls.clone())
        .await
        .map_err(|e| format!("cannot start the demo SOAP service on {backend}: {e}"))?;
    let soap_handle = soap.handle();
    actix_rt::spawn(soap);
    let (idp, issuer_url) = demo::issuer::start(issuer, server_tls)
        .map_err(|e| format!("cannot start the demo token issuer on {issuer}: {e}"))?;
    let idp_handle = idp.handle();
    actix_rt::spawn(idp);
    if !gw
        .snapshot()
        .auth
        .providers
        .iter()
        .any(|p| p.spec.issuer == issuer_url)
    {
        eprintln!(
            "soapgate: note: {} has no `auth:` provider with issuer {issuer_url}; tokens from the demo issuer will be refused",
            config.display()
        );
    }
    let (addrs, running) = start(gw.clone()).await?;
    let deadline = std::time::Instant::now() + DEMO_READY_WITHIN;
    while !gw.ready() && std::time::Instant::now() < deadline {
        actix_rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if !gw.ready() {
        eprintln!(
            "soapgate: note: the identity provider keys are not loaded yet; requests needing a token get 503 until they are"
        );
    }
    let scheme = if pki.is_some() { "https" } else { "http" };
    let base = addrs
        .first()
        .map(|a| format!("{scheme}://{a}"))
        .unwrap_or_default();
    let ca = pki.as_ref().map(|p| p.ca_file.display().to_string());
    println!(
        "{}",
        demo::banner(
            &base,
            soap_addr,
            &issuer_url,
            &gw.snapshot().settings,
            ca.as_deref()
        )
    );
    let r = running.await;
    idp_handle.stop(true).await;
    soap_handle.stop(true).await;
    if let Some(p) = pki {
        // The throwaway CA and key go with the demo.
        let _ = std::fs::remove_dir_all(&p.dir);
    }
    r
}

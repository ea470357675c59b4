//! The command line: `serve`, `check` and `demo`.

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
    },
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Serve { config } => with_runtime(serve(config)),
        Command::Demo { config, backend } => with_runtime(run_demo(demo_config(config), backend)),
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
    let (rest, addrs) = server::rest_server(gw.clone(), &s.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", s.listen))?;
    let admin = match &s.admin_listen {
        Some(a) => {
            Some(admin::admin_server(gw.clone(), a).map_err(|e| format!("cannot listen on {a}: {e}"))?)
        }
        None => None,
    };
    tracing::info!(listen = ?addrs, admin = ?admin.as_ref().map(|a| &a.1), routes = snap.router.routes().len(), "soapgate listening");
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

async fn run_demo(config: PathBuf, backend: SocketAddr) -> Result<(), String> {
    let gw = Arc::new(Gateway::load(config.clone()).map_err(|e| report(&e))?);
    let (soap, soap_addr) = demo::backend::start(backend)
        .await
        .map_err(|e| format!("cannot start the demo SOAP service on {backend}: {e}"))?;
    let soap_handle = soap.handle();
    actix_rt::spawn(soap);
    let (addrs, running) = start(gw.clone()).await?;
    let base = addrs.first().map(|a| format!("http://{a}")).unwrap_or_default();
    println!("{}", demo::banner(&base, soap_addr, &gw.snapshot().settings));
    let r = running.await;
    soap_handle.stop(true).await;
    r
}

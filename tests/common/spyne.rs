//! The spyne (PyPI) SOAP service under tests/spyne, run from a virtualenv on 127.0.0.1.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A running spyne service; it exits when this process does (it watches its stdin).
pub struct Spyne {
    pub port: u16,
    _child: Mutex<Child>,
}

impl Spyne {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// The shared instance, or `None` (with a message) when Python is unavailable outside CI.
pub fn spyne() -> Option<&'static Spyne> {
    static SPYNE: OnceLock<Option<Spyne>> = OnceLock::new();
    SPYNE
        .get_or_init(|| match start() {
            Ok(s) => Some(s),
            Err(e) if std::env::var_os("CI").is_some() => panic!("spyne service unavailable in CI: {e}"),
            Err(e) => {
                eprintln!("skipping spyne end-to-end tests: {e}");
                None
            }
        })
        .as_ref()
}

fn venv() -> PathBuf {
    std::env::var_os("SOAPGATE_SPYNE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/spyne-venv"))
}

/// Creates the virtualenv from tests/spyne/requirements.txt when it lacks spyne.
fn ensure_venv(venv: &Path) -> Result<PathBuf, String> {
    let python = venv.join("bin/python");
    let ok = |p: &Path| {
        Command::new(p)
            .args(["-c", "import spyne, lxml"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ok(&python) {
        return Ok(python);
    }
    let run = |cmd: &mut Command| -> Result<(), String> {
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{cmd:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    run(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    let req = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spyne/requirements.txt");
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "-r"])
        .arg(req))?;
    if ok(&python) {
        Ok(python)
    } else {
        Err("spyne still not importable after install".into())
    }
}

fn start() -> Result<Spyne, String> {
    let python = ensure_venv(&venv())?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spyne/service.py");
    let mut child = Command::new(python)
        .arg(script)
        .args(["0", "--exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start spyne: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let port = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("unexpected first line from spyne: {line:?}"))?;
    Ok(Spyne {
        port,
        _child: Mutex::new(child),
    })
}

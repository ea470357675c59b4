//! Runs the real `soapgate` binary and reads its stdout line by line with a deadline.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// A running soapgate process; killed when dropped.
pub struct Soapgate {
    child: Child,
    lines: Receiver<String>,
    pub seen: Vec<String>,
}

impl Soapgate {
    /// Starts `soapgate <args>` in `dir` with stdout piped (so logs are JSON lines).
    pub fn start(args: &[&str], dir: &std::path::Path) -> Soapgate {
        Soapgate::start_with(args, dir, |_| {})
    }

    /// [`Soapgate::start`] with the command adjusted first (environment variables...).
    pub fn start_with(args: &[&str], dir: &std::path::Path, adjust: impl FnOnce(&mut Command)) -> Soapgate {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_soapgate"));
        cmd.args(args).current_dir(dir).env_remove("SOAPGATE_LOG");
        adjust(&mut cmd);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start soapgate");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Soapgate {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (at most `within`) for a stdout line matching `pred`; returns it.
    pub fn wait_line(&mut self, within: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return Some(line);
                    }
                }
                Err(_) => return None,
            }
        }
        None
    }
}

impl Drop for Soapgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

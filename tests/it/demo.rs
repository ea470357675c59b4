//! `soapgate demo`: the real binary starts the sample service and the gateway; the printed curl commands work.

use crate::common::process::Soapgate;
use crate::common::repo;
use std::process::Command;
use std::time::Duration;

/// The curl commands of the banner, with `\` continuations joined.
fn curl_commands(banner: &[String]) -> Vec<String> {
    let mut cmds: Vec<String> = Vec::new();
    let mut continued = false;
    for line in banner {
        let t = line.trim();
        if continued {
            if let Some(last) = cmds.last_mut() {
                last.push(' ');
                last.push_str(t.trim_end_matches('\\'));
            }
        } else if t.starts_with("curl ") {
            cmds.push(t.trim_end_matches('\\').to_string());
        }
        continued = t.ends_with('\\') && (continued || t.starts_with("curl "));
    }
    cmds
}

#[test]
fn demo_prints_curl_commands_that_work_as_printed() {
    let mut p = Soapgate::start(&["demo"], &repo(""));
    p.wait_line(Duration::from_secs(30), |l| l.contains("Press Ctrl-C"))
        .unwrap_or_else(|| panic!("demo did not start; saw {:?}", p.seen));
    let cmds = curl_commands(&p.seen);
    assert!(cmds.len() >= 7, "{cmds:?}");
    for cmd in &cmds {
        let shell = cmd
            .split('#')
            .next()
            .unwrap_or(cmd)
            .trim()
            .replace("curl -s", "curl -sS --max-time 10");
        let out = Command::new("sh")
            .arg("-c")
            .arg(&shell)
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected_status = cmd.split("-> ").nth(1).and_then(|s| s.get(..3));
        if cmd.contains("/metrics") {
            assert!(text.contains("soapgate_requests_total"), "{text}");
        } else if let Some(status) = expected_status {
            assert!(text.starts_with(&format!("HTTP/1.1 {status}")), "{cmd}: {text}");
            assert!(text.contains("application/problem+json"), "{text}");
        } else {
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{cmd}: {e}: {text}"));
            assert!(v.get("type").is_none(), "{cmd} returned a problem: {text}");
        }
    }
}

//! `soapgate demo`: the real binary starts the sample service, the development token issuer and the
//! gateway; the printed commands work as printed, pasted in order into a POSIX shell.

use crate::common::process::Soapgate;
use crate::common::repo;
use std::process::Command;
use std::time::Duration;

/// One printed command: its text (with `\` continuations joined) and the `export` lines printed
/// before it, which a user pasting in order has run in the same shell.
#[derive(Debug)]
struct Printed {
    cmd: String,
    exports: Vec<String>,
}

/// The curl commands of the banner, each with the exports printed before it.
fn curl_commands(banner: &[String]) -> Vec<Printed> {
    let mut cmds: Vec<Printed> = Vec::new();
    let mut exports: Vec<String> = Vec::new();
    let mut continued = false;
    for line in banner {
        let t = line.trim();
        if continued {
            if let Some(last) = cmds.last_mut() {
                last.cmd.push(' ');
                last.cmd.push_str(t.trim_end_matches('\\'));
            }
        } else if t.starts_with("curl ") {
            cmds.push(Printed {
                cmd: t.trim_end_matches('\\').to_string(),
                exports: exports.clone(),
            });
        } else if t.starts_with("export ") {
            exports.push(t.to_string());
        }
        continued = t.ends_with('\\') && (continued || t.starts_with("curl "));
    }
    cmds
}

/// Bounds every curl of a command line and makes its failures visible.
fn bounded(cmd: &str) -> String {
    cmd.replace("curl -s", "curl -sS --max-time 10")
}

#[test]
fn demo_prints_curl_commands_that_work_as_printed() {
    // One test for both modes: they share the demo's fixed ports, so they run one after the other.
    demo_works_as_printed(&["demo"]);
    let seen = demo_works_as_printed(&["demo", "--tls"]);
    let ca = seen
        .iter()
        .find_map(|l| l.trim().strip_prefix("demo CA (throwaway, made at start-up): "))
        .unwrap_or_else(|| panic!("no CA path printed; saw {seen:?}"));
    assert!(std::path::Path::new(ca).is_file(), "{ca}");
    for c in curl_commands(&seen) {
        assert!(c.cmd.contains(&format!("--cacert {ca}")), "{c:?}");
        if !c.cmd.contains("/metrics") {
            assert!(c.cmd.contains("https://127.0.0.1:"), "{c:?}");
            assert!(!c.cmd.contains("http://"), "{c:?}");
        }
    }
}

/// Runs `soapgate <args>`, then every printed curl command as printed; returns the banner.
fn demo_works_as_printed(args: &[&str]) -> Vec<String> {
    let mut p = Soapgate::start(args, &repo(""));
    p.wait_line(Duration::from_secs(30), |l| l.contains("Press Ctrl-C"))
        .unwrap_or_else(|| panic!("demo did not start; saw {:?}", p.seen));
    let token_line = p
        .seen
        .iter()
        .position(|l| l.trim().starts_with("export TOKEN=$(curl "))
        .unwrap_or_else(|| panic!("no token fetch printed; saw {:?}", p.seen));
    let first_use = p
        .seen
        .iter()
        .position(|l| l.trim().starts_with("curl ") && l.contains("$TOKEN"))
        .unwrap_or_else(|| panic!("no curl uses $TOKEN; saw {:?}", p.seen));
    assert!(
        token_line < first_use,
        "the token must be fetched before it is used: {:?}",
        p.seen
    );
    let cmds = curl_commands(&p.seen);
    assert!(cmds.len() >= 9, "{cmds:?}");
    assert!(cmds.iter().any(|c| c.cmd.contains("-> 401")), "{cmds:?}");
    assert!(cmds.iter().any(|c| c.cmd.contains("-> 403")), "{cmds:?}");
    for Printed { cmd, exports } in &cmds {
        let curl = cmd.split('#').next().unwrap_or(cmd).trim();
        // The exports first, in the same shell, as when the banner is pasted in order.
        let mut shell = String::new();
        for e in exports {
            shell.push_str(&bounded(e));
            shell.push('\n');
        }
        shell.push_str(&bounded(curl));
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
            if matches!(status, "401" | "403") {
                assert!(
                    text.to_ascii_lowercase().contains("www-authenticate: bearer"),
                    "{cmd}: {text}"
                );
            }
        } else {
            let v: serde_json::Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{cmd}: {e}: {text}"));
            assert!(v.get("type").is_none(), "{cmd} returned a problem: {text}");
        }
    }
    p.seen.clone()
}

//! `promtool check metrics` (Prometheus' own linter) on our `/metrics` output.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Exporter, tool};

#[test]
fn promtool_accepts_our_metrics() {
    let Some(promtool) = tool("promtool", &["/usr/bin/promtool"]) else {
        return;
    };
    let exp = Exporter::start(&[]);
    exp.wait_ready(Duration::from_secs(20));
    let body = exp.metrics();
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- body ---\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

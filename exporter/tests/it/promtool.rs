//! `promtool check metrics` (Prometheus' own linter) on our `/metrics` output.

use std::time::Duration;

use crate::support::{Exporter, promtool_check_metrics, tool};

#[test]
fn promtool_accepts_our_metrics() {
    if tool("promtool", &["/usr/bin/promtool"]).is_none() {
        return;
    }
    let exp = Exporter::start(&[]);
    exp.wait_ready(Duration::from_secs(20));
    let body = exp.metrics();
    if let Some(Err(problems)) = promtool_check_metrics(&body) {
        panic!("promtool check metrics failed:\n{problems}\n--- body ---\n{body}");
    }
}

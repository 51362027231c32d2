//! How Lakewatch is deployed: what the binary says it is (`--version`,
//! `lakewatch_build_info`), and the artifacts under `deploy/` and the `Dockerfile`,
//! each checked with the tool its users run.

use std::process::Command;
use std::time::Duration;

use crate::support::{Exporter, exporter_bin, parse_exposition};

/// One trimmed line of a command's stdout, `None` when it cannot run or fails.
fn line_of(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn version_and_build_info_name_the_revision_and_the_compiler() {
    // The facts as this checkout and toolchain state them, found independently of the
    // build script. Outside a git checkout the build says `unknown`.
    let revision = line_of("git", &["rev-parse", "--short=12", "HEAD"])
        .unwrap_or_else(|| "unknown".to_string());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rust_version = line_of(&rustc, &["--version"])
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .expect("rustc --version answers");
    let version = env!("CARGO_PKG_VERSION");

    let out = Command::new(exporter_bin())
        .arg("--version")
        .output()
        .expect("running --version");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("lakewatch-exporter {version} (revision {revision}, rustc {rust_version})")
    );

    let exp = Exporter::start(&[]);
    exp.wait_ready(Duration::from_secs(30));
    let (samples, _) = parse_exposition(&exp.metrics());
    let info: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "lakewatch_build_info")
        .collect();
    assert_eq!(info.len(), 1, "one build_info series");
    let labels = &info[0].labels;
    assert_eq!(labels.get("version").map(String::as_str), Some(version));
    assert_eq!(labels.get("revision"), Some(&revision));
    assert_eq!(labels.get("rustversion"), Some(&rust_version));
    assert_eq!(info[0].value, 1.0);
}

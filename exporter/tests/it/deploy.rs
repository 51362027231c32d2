//! How Lakewatch is deployed: what the binary says it is (`--version`,
//! `lakewatch_build_info`), and the artifacts under `deploy/` and the `Dockerfile`,
//! each checked with the tool its users run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Exporter, exporter_bin, parse_exposition, tool};

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

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Python with kubernetes-validate (PyPI), or `None` with the reason printed (a failure
/// under CI=true), like `tool`.
fn kubernetes_validate() -> Option<PathBuf> {
    let python = tool("python3", &["/usr/bin/python3"])?;
    let ok = Command::new(&python)
        .args(["-c", "import kubernetes_validate, jsonschema, yaml"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let msg = "python3 cannot import kubernetes_validate (pip install kubernetes-validate; scripts/test.sh does it)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and {msg}");
        eprintln!("SKIPPED: {msg}");
        return None;
    }
    Some(python)
}

/// `scripts/validate-kubernetes.py` over rendered manifests: its report and success.
fn validate_manifests(python: &Path, rendered: &str) -> (String, bool) {
    let mut child = Command::new(python)
        .arg(root().join("scripts/validate-kubernetes.py"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting validate-kubernetes.py");
    child
        .stdin
        .take()
        .expect("a stdin pipe")
        .write_all(rendered.as_bytes())
        .expect("writing the manifests");
    let out = child.wait_with_output().expect("validate-kubernetes.py ends");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (report, out.status.success())
}

/// `kubectl kustomize DIR`.
fn kustomize(kubectl: &Path, dir: &str) -> String {
    let out = Command::new(kubectl)
        .args(["kustomize", &root().join(dir).display().to_string()])
        .output()
        .expect("running kubectl kustomize");
    assert!(
        out.status.success(),
        "kubectl kustomize {dir}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 manifests")
}

#[test]
fn kubernetes_manifests_render_and_validate_strictly() {
    let Some(kubectl) = tool("kubectl", &["/usr/bin/kubectl"]) else {
        return;
    };
    let Some(python) = kubernetes_validate() else {
        return;
    };
    for (dir, kinds) in [
        (
            "deploy/kubernetes/base",
            &[
                "ServiceAccount",
                "ConfigMap",
                "Service",
                "DaemonSet",
                "PrometheusRule",
                "ServiceMonitor",
            ][..],
        ),
        (
            "deploy/kubernetes/examples/postgres-sidecar",
            &["ConfigMap", "Service", "StatefulSet", "PodMonitor"][..],
        ),
    ] {
        let rendered = kustomize(&kubectl, dir);
        let (report, ok) = validate_manifests(&python, &rendered);
        assert!(ok, "{dir} does not validate:\n{report}");
        for kind in kinds {
            assert!(
                report.contains(&format!("ok   {kind}/")),
                "{dir} renders a {kind}:\n{report}"
            );
        }
    }

    // The validation is strict: a misspelt field in a core kind or in an Operator CRD
    // is reported, where the API server would drop it silently.
    let rendered = kustomize(&kubectl, "deploy/kubernetes/base");
    for (good, typo) in [
        ("readOnlyRootFilesystem", "readOnlyRootFileSystem"),
        ("      interval: 15s", "      intervall: 15s"),
    ] {
        assert!(rendered.contains(good), "the base renders `{good}`");
        let (report, ok) = validate_manifests(&python, &rendered.replace(good, typo));
        assert!(!ok && report.contains("FAIL"), "`{typo}` is refused:\n{report}");
    }
}

#[test]
fn shipped_exporter_configs_pass_check_config() {
    for config in [
        "deploy/kubernetes/base/config.yml",
        "deploy/kubernetes/examples/postgres-sidecar/config.yml",
    ] {
        let out = Command::new(exporter_bin())
            .args(["--check-config", "--config"])
            .arg(root().join(config))
            .env("PG_PASSWORD", "from-the-pods-secret")
            .output()
            .expect("running --check-config");
        assert!(
            out.status.success(),
            "{config}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

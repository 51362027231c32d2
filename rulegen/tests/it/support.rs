//! Helpers shared by the integration tests: the binary, scratch directories, promtool.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate's directory.
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<rel>`.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    crate_dir().join("tests/fixtures").join(rel)
}

/// Runs the real `lakewatch-rulegen` binary.
pub(crate) fn rulegen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lakewatch-rulegen"))
        .args(args)
        .current_dir(crate_dir())
        .output()
        .expect("the test binary can start lakewatch-rulegen")
}

/// A fresh, empty scratch directory under cargo's per-target temp dir; removed on drop
/// (so a failing test does not leave the next run a dirty directory).
pub(crate) struct Scratch(pub PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Scratch {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("can create a scratch dir");
        Scratch(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Path to promtool, or `None` (with the reason printed) when it is missing and we are not
/// in CI. In CI (`CI=true`) a missing promtool fails the test: a green run must mean the
/// rules were checked.
pub(crate) fn promtool() -> Option<PathBuf> {
    tool("promtool", "prometheus")
}

/// Path to amtool, like [`promtool`] (Debian's `prometheus-alertmanager` package).
pub(crate) fn amtool() -> Option<PathBuf> {
    tool("amtool", "prometheus-alertmanager")
}

/// Whether the run must not skip anything.
pub(crate) fn ci() -> bool {
    std::env::var("CI").map(|v| v == "true").unwrap_or(false)
}

/// The one rule for a check that cannot run here (a tool or a schema missing): it prints
/// why and the caller returns early, but under `CI=true` it fails the test, so a green CI
/// run means everything was checked. (The exporter's tests follow the same rule in their
/// own `support::skip_or_fail`; the two test binaries share no code.)
pub(crate) fn skip_or_fail(reason: &str) {
    assert!(!ci(), "CI=true and {reason}");
    eprintln!("SKIPPED: {reason}");
}

/// An external tool on PATH, or `None` after [`skip_or_fail`].
pub(crate) fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        skip_or_fail(&format!(
            "{name} is not on PATH (apt-get install {package}); not checking"
        ));
    }
    found
}

/// The repository root (the workspace).
pub(crate) fn repo_root() -> PathBuf {
    crate_dir()
        .parent()
        .expect("the crate lives in the workspace")
        .to_path_buf()
}

/// Runs promtool with `args` in `dir` and asserts success, showing its output on failure;
/// returns its standard output.
pub(crate) fn promtool_ok(promtool: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool can start");
    assert!(
        out.status.success(),
        "promtool {args:?} in {} failed:\n{}\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every file under `dir` (recursively), sorted.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable dir") {
            let p = e.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The valid spec fixtures, by format directory.
pub(crate) fn good_specs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for format in ["native", "sloth", "openslo"] {
        let dir = fixture(format);
        if dir.is_dir() {
            v.extend(
                files_under(&dir)
                    .into_iter()
                    .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml")),
            );
        }
    }
    v
}

/// Generates `spec` into `out` with extra args, asserting success.
pub(crate) fn generate(spec: &Path, out: &Path, extra: &[&str]) {
    let spec = spec.to_str().expect("utf-8 path");
    let out_s = out.to_str().expect("utf-8 path");
    let mut args = vec!["generate", spec, "-o", out_s];
    args.extend(extra);
    let o = rulegen(&args);
    assert!(
        o.status.success(),
        "generate {spec} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

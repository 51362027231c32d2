//! Build facts for `--version` and `lakewatch_build_info`, as the Prometheus exporters'
//! `*_build_info` carry them: the git revision and the compiler's version.
//!
//! Outside a git checkout (a source tarball, a Debian source package) the revision comes
//! from `LAKEWATCH_REVISION`, else it is `unknown`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LAKEWATCH_REVISION");
    let revision = std::env::var("LAKEWATCH_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the ref it names (a commit),
    // loose or packed. --git-path resolves them inside a linked worktree too. Only paths
    // that exist: cargo reruns a build script on every build for a missing one.
    let head = git(&["symbolic-ref", "-q", "HEAD"]);
    for path in ["HEAD", "packed-refs"].into_iter().chain(head.as_deref()) {
        if let Some(p) = git(&["rev-parse", "--git-path", path])
            && std::path::Path::new(&p).exists()
        {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    // `rustc 1.95.0 (59807616e 2026-04-14)` -> `1.95.0`
    let rust_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LAKEWATCH_REVISION={revision}");
    println!("cargo:rustc-env=LAKEWATCH_RUST_VERSION={rust_version}");
}

/// One line of `git` output, `None` when git or the repository is missing.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let line = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !line.is_empty()).then_some(line)
}

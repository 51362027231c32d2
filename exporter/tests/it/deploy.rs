//! How Lakewatch is deployed: what the binary says it is (`--version`,
//! `lakewatch_build_info`), and the artifacts under `deploy/` and the `Dockerfile`,
//! each checked with the tool its users run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::docker;
use crate::support::{
    Exporter, eventually, exporter_bin, http, parse_exposition, skip_or_fail, tool, try_http,
};

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
    // The python3 on PATH: the one pip (scripts/test.sh) installs into.
    let python = tool("python3", &[])?;
    let ok = Command::new(&python)
        .args(["-c", "import kubernetes_validate, jsonschema, yaml"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip_or_fail(
            "python3 cannot import kubernetes_validate (pip install kubernetes-validate; scripts/test.sh does it)",
        );
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
    let out = child
        .wait_with_output()
        .expect("validate-kubernetes.py ends");
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
        ("interval: 15s", "intervall: 15s"),
    ] {
        assert_eq!(
            rendered.matches(good).count(),
            1,
            "the base renders `{good}` once"
        );
        let (report, ok) = validate_manifests(&python, &rendered.replace(good, typo));
        assert!(
            !ok && report.contains("FAIL"),
            "`{typo}` is refused:\n{report}"
        );
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

/// The README's `docker run` line for monitoring the host (between its markers).
fn documented_docker_run() -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("reading README.md");
    let start = "<!-- docker-run:start -->\n```sh\n";
    let from = readme
        .find(start)
        .expect("the docker-run start marker in README")
        + start.len();
    let to = from
        + readme[from..]
            .find("```\n")
            .expect("the end of the docker-run block");
    readme[from..to].to_string()
}

/// `scripts/image.sh TAG`: builds the release binaries and the image (nothing pulled).
fn build_image(tag: &str) {
    let out = Command::new(root().join("scripts/image.sh"))
        .arg(tag)
        .output()
        .expect("running scripts/image.sh");
    assert!(
        out.status.success(),
        "scripts/image.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().last(),
        Some(tag),
        "the script prints the tag it built"
    );
}

/// What a container wrote (the exporter logs to stderr).
fn container_log(container: &str) -> String {
    let out = Command::new("docker")
        .args(["logs", container])
        .output()
        .expect("running docker logs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// GETs `/metrics` from a published port once the exporter in `container` listens and
/// answers ready. (Before it listens, docker's port proxy accepts and closes at once.)
fn metrics_from(container: &str, port: &str) -> String {
    eventually(Duration::from_secs(60), "the exporter to listen", || {
        container_log(container).contains("listening").then_some(())
    });
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
    eventually(Duration::from_secs(60), "the container to be ready", || {
        try_http(addr, "GET", "/readyz", &[])
            .ok()
            .filter(|r| r.status == 200)
    });
    http(addr, "GET", "/metrics", &[]).text()
}

#[test]
fn image_runs_as_documented_and_in_compose_sees_the_host_not_as_root() {
    if !docker::ready() {
        return;
    }
    let image = Image(format!("lakewatch:test-{}", std::process::id()));
    let tag = image.0.as_str();
    build_image(tag);
    let scene = docker::Scene::new("image");
    let name = scene.name("exporter");
    // A container of this machine that the exporter must see.
    let witness = scene.run("witness", &[], "sleep 600");

    // The documented `-v /:/host/root:ro,rslave` needs the host's / to be a shared
    // mount, as systemd makes it at boot; a container or chroot test host may have it
    // private (docker: "path / is mounted on / but it is not a shared or slave mount").
    let propagation = Command::new("findmnt")
        .args(["-no", "PROPAGATION", "/"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if propagation == "private" {
        eprintln!("making / a shared mount, as on a systemd host, for rslave");
        let ok = Command::new("mount")
            .args(["--make-rshared", "/"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mount --make-rshared / failed (the test needs root)");
    }
    let line = documented_docker_run();
    assert!(
        line.contains("lakewatch:0.1.0") && line.contains("-p 9717:9717"),
        "{line}"
    );
    let line = line
        .replace(
            "--name lakewatch-exporter",
            &format!("--name {name} --label {}={}", docker::LABEL, scene.id),
        )
        .replace("-p 9717:9717", "-p 127.0.0.1::9717")
        .replace("lakewatch:0.1.0", tag);
    let out = Command::new("sh")
        .args(["-c", &line])
        .current_dir(root())
        .output()
        .expect("running the documented docker run line");
    assert!(
        out.status.success(),
        "{line}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let logs = || container_log(&name);
    let port = docker::docker(&["port", &name, "9717/tcp"]);
    let port = port
        .lines()
        .next()
        .and_then(|l| l.rsplit(':').next())
        .unwrap_or_default();
    let text = metrics_from(&name, port);

    // The host's root filesystem, as the host names it (not the container's overlay).
    let (samples, _) = parse_exposition(&text);
    let root_fs = samples
        .iter()
        .find(|s| s.name == "node_filesystem_size_bytes" && s.labels["mountpoint"] == "/");
    let host_root = rustix::fs::statvfs("/").expect("statvfs /");
    assert_eq!(
        root_fs.map(|s| s.value),
        Some((host_root.f_blocks * host_root.f_bsize) as f64),
        "the host's / with the host's size\n{}",
        logs()
    );
    // This machine's containers: the witness, and the exporter's own container.
    let seen = |id: &str| {
        samples
            .iter()
            .any(|s| s.name == "lakewatch_container_info" && s.labels["id"].contains(id))
    };
    assert!(seen(&witness), "the witness container\n{}", logs());
    let own = docker::inspect(&name, "{{.Id}}");
    assert!(seen(&own), "its own container\n{}", logs());

    // Not root: the process's real and effective uid as the host's kernel sees them.
    let pid = docker::inspect(&name, "{{.State.Pid}}");
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process status");
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .expect("a Uid line");
    assert_eq!(
        uid.split_whitespace().take(2).collect::<Vec<_>>(),
        ["65532", "65532"],
        "runs as distroless' nonroot"
    );

    compose_up_serves(tag, &scene.id);
}

/// An image tag removed on drop, also when the test fails.
struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rmi", "-f", &self.0]).output();
    }
}

/// `docker-compose down` of a project on drop, also when the test fails.
struct ComposeProject {
    compose: PathBuf,
    name: String,
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let _ = Command::new(&self.compose)
            .args([
                "-p",
                &self.name,
                "-f",
                "deploy/compose/docker-compose.yml",
                "down",
                "-v",
            ])
            .current_dir(root())
            .output();
    }
}

/// The Compose file's exporter service, from the image `tag`, answers on its port.
fn compose_up_serves(tag: &str, project: &str) {
    let Some(compose) = tool("docker-compose", &["/usr/bin/docker-compose"]) else {
        return;
    };
    let secrets = crate::support::TempDir::new("compose-secrets");
    for name in ["pg_password", "s3_secret_key"] {
        let path = secrets.write(name, "not-a-real-secret");
        // Read by the exporter's user (65532) through the bind mount.
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .expect("chmod a secret");
    }
    let port = crate::support::free_port().to_string();
    let gid = std::os::unix::fs::MetadataExt::gid(
        &std::fs::metadata("/var/run/docker.sock").expect("the Docker socket"),
    )
    .to_string();
    let project = ComposeProject {
        compose,
        name: project.replace(|c: char| !c.is_ascii_alphanumeric(), ""),
    };
    let out = Command::new(&project.compose)
        .args([
            "-p",
            &project.name,
            "-f",
            "deploy/compose/docker-compose.yml",
        ])
        .args(["up", "-d", "--no-deps", "lakewatch-exporter"])
        .env("LAKEWATCH_IMAGE", tag)
        .env("LAKEWATCH_PORT", &port)
        .env("LAKEWATCH_SECRETS", &secrets.0)
        .env("DOCKER_GID", &gid)
        .current_dir(root())
        .output()
        .expect("running docker-compose up");
    assert!(
        out.status.success(),
        "docker-compose up: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let container = format!("{}_lakewatch-exporter_1", project.name);
    let text = metrics_from(&container, &port);
    let (samples, _) = parse_exposition(&text);
    let up = |collector: &str, target: &str| {
        samples
            .iter()
            .find(|s| {
                s.name == "lakewatch_collector_up"
                    && s.labels["collector"] == collector
                    && s.labels["target"] == target
            })
            .map(|s| s.value)
    };
    // The host's disks and containers; the platform's services it is meant to join are
    // not running here, so their targets are down (and say so, rather than missing).
    assert_eq!(
        up("disk", "localhost"),
        Some(1.0),
        "{}",
        container_log(&container)
    );
    assert_eq!(
        up("container", "localhost"),
        Some(1.0),
        "{}",
        container_log(&container)
    );
    assert_eq!(up("postgres", "postgres"), Some(0.0), "{text}");
}

#[test]
fn systemd_unit_verifies_and_stays_hardened() {
    let Some(analyze) = tool("systemd-analyze", &["/usr/bin/systemd-analyze"]) else {
        return;
    };
    // The unit as installed, with ExecStart pointing at this build's binary (verify
    // checks that the command exists and is executable).
    let unit = std::fs::read_to_string(root().join("deploy/systemd/lakewatch-exporter.service"))
        .expect("reading the unit");
    assert!(
        unit.contains(
            "ExecStart=/usr/bin/lakewatch-exporter --config /etc/lakewatch/lakewatch.yml"
        )
    );
    assert!(
        unit.contains("ExecReload=/bin/kill -HUP $MAINPID"),
        "systemctl reload sends SIGHUP"
    );
    let dir = crate::support::TempDir::new("systemd");
    let path = dir.write(
        "lakewatch-exporter.service",
        &unit.replace("/usr/bin/lakewatch-exporter", exporter_bin()),
    );
    // --man=no: the man page referenced by Documentation= is not installed here.
    let out = Command::new(&analyze)
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("running systemd-analyze verify");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The exposure score (0 = locked down, 10 = unprotected) stays in systemd's "OK"
    // band; --threshold is on a 0-100 scale.
    let out = Command::new(&analyze)
        .args(["security", "--offline=yes", "--threshold=20"])
        .arg(&path)
        .output()
        .expect("running systemd-analyze security");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exposure above 2.0:\n{report}");
    assert!(report.contains("Overall exposure level"), "{report}");
}

#[test]
fn compose_file_is_valid() {
    let Some(compose) = tool("docker-compose", &["/usr/bin/docker-compose"]) else {
        return;
    };
    let out = Command::new(&compose)
        .args([
            "-f",
            "deploy/compose/docker-compose.yml",
            "config",
            "--services",
        ])
        .current_dir(root())
        .output()
        .expect("running docker-compose config");
    assert!(
        out.status.success(),
        "docker-compose config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut services: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    services.sort();
    assert_eq!(
        services,
        [
            "alertmanager",
            "grafana",
            "lakewatch-exporter",
            "prometheus"
        ]
    );
    // Every file the stack mounts from the repository exists (a moved file would
    // otherwise become an empty directory on `up`).
    let config = String::from_utf8_lossy(
        &Command::new(&compose)
            .args(["-f", "deploy/compose/docker-compose.yml", "config"])
            .current_dir(root())
            .output()
            .expect("running docker-compose config")
            .stdout,
    )
    .into_owned();
    let root = root().canonicalize().expect("the repository root");
    let mut mounted = 0;
    // Volumes in short syntax: `- /abs/host/path:/container/path:ro`.
    for source in config
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|v| v.split(':').next())
        .filter(|s| s.starts_with(&*root.to_string_lossy()))
    {
        assert!(
            Path::new(source).exists(),
            "{source} is mounted but missing"
        );
        mounted += 1;
    }
    assert!(
        mounted >= 6,
        "the stack mounts its files from the repository:\n{config}"
    );
}

/// Runs a command and returns its stdout; panics with its output when it fails.
fn run_ok(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("running {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the installed package, also when the test fails half-way.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", "lakewatch"]).output();
    }
}

#[test]
fn deb_installs_where_the_unit_expects_and_passes_lintian() {
    // dpkg -i changes this machine: only as root, where CI runs.
    // /proc/self belongs to this process's effective uid.
    let euid =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").expect("/proc"));
    if euid != 0 {
        skip_or_fail("the .deb test installs the package and needs root");
        return;
    }
    let (Some(_), Some(lintian)) = (
        tool("cargo-deb", &[]),
        tool("lintian", &["/usr/bin/lintian"]),
    ) else {
        return;
    };
    let deb = run_ok("scripts/deb.sh", &[]);
    let deb = deb
        .lines()
        .last()
        .expect("deb.sh prints the package path")
        .to_string();
    assert!(deb.ends_with(".deb"), "{deb}");

    // lintian: no errors (warnings and info are printed for the record).
    let out = Command::new(&lintian)
        .args(["--fail-on", "error", "--no-tag-display-limit", &deb])
        .output()
        .expect("running lintian");
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("lintian:\n{report}");
    assert!(out.status.success(), "lintian reports errors:\n{report}");

    let _installed = Installed;
    run_ok("dpkg", &["-i", &deb]);
    // The unit as installed names a binary and a config that the package installed.
    let unit_path = "/lib/systemd/system/lakewatch-exporter.service";
    let unit = std::fs::read_to_string(unit_path).expect("the unit is installed");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let mut words = exec.split_whitespace();
    let binary = words.next().expect("a command");
    assert!(Path::new(binary).is_file(), "{binary} is installed");
    let config = words
        .skip_while(|w| *w != "--config")
        .nth(1)
        .expect("--config in ExecStart");
    // The shipped config is the embedded default, and it validates as installed.
    let out = Command::new(binary)
        .args(["--check-config", "--config", config])
        .output()
        .expect("running the installed binary");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(config).expect("the config is installed"),
        run_ok(binary, &["--print-default-config"])
    );
    // A conffile: dpkg keeps the admin's edits on upgrade.
    let conffiles = run_ok("dpkg-query", &["-W", "-f=${Conffiles}", "lakewatch"]);
    assert!(
        conffiles.contains(config),
        "{config} is a conffile: {conffiles}"
    );
    // The unit's user exists, may read the config, and everyone else may not.
    let user = unit
        .lines()
        .find_map(|l| l.strip_prefix("User="))
        .expect("a User= line");
    assert!(
        run_ok("getent", &["passwd", user]).starts_with(&format!("{user}:")),
        "the package created {user}"
    );
    assert_eq!(
        run_ok("stat", &["-c", "%U:%G %a", config]).trim(),
        format!("root:{user} 640")
    );
    // Man pages and completions for both binaries.
    for path in [
        "/usr/share/man/man1/lakewatch-exporter.1.gz",
        "/usr/share/man/man1/lakewatch-rulegen.1.gz",
        "/usr/share/bash-completion/completions/lakewatch-exporter",
        "/usr/share/bash-completion/completions/lakewatch-rulegen",
        "/usr/bin/lakewatch-rulegen",
        "/usr/share/lakewatch/alerts/lakewatch.rules.yml",
    ] {
        assert!(Path::new(path).is_file(), "{path} is installed");
    }
    // With its man page installed, the unit verifies without --man=no.
    if let Some(analyze) = tool("systemd-analyze", &["/usr/bin/systemd-analyze"]) {
        let out = Command::new(analyze)
            .args(["verify", unit_path])
            .output()
            .expect("running systemd-analyze verify");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The fenced block of `lang` that follows `heading` in the README.
fn readme_block(heading: &str, lang: &str) -> String {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("reading README.md");
    let at = readme
        .find(heading)
        .unwrap_or_else(|| panic!("{heading:?} in the README"));
    let open = format!("```{lang}\n");
    let from = at + readme[at..].find(&open).expect("a block after the heading") + open.len();
    let to = from + readme[from..].find("```\n").expect("the end of the block");
    readme[from..to].to_string()
}

/// The README's Docker discovery example: its config (every collector's
/// `docker_discovery:`) passes `--check-config` and turns discovery on for each, and its
/// Compose file, with the files it mounts, passes `docker-compose config`. (Its images,
/// postgres and minio, cannot be pulled here; the discovery tests run the same labels
/// against real containers.)
#[test]
fn readme_docker_discovery_example_is_valid() {
    let dir = crate::support::TempDir::new("readme-compose");
    let config = readme_block("### Docker discovery", "yaml");
    let path = dir.write("lakewatch.yml", &config);
    let out = Command::new(exporter_bin())
        .args(["--check-config", "--config"])
        .arg(&path)
        .output()
        .expect("running --check-config");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    for collector in ["postgres", "s3", "trino"] {
        assert!(
            config.contains(&format!("  {collector}:\n    docker_discovery:")),
            "the example shows {collector}'s block:\n{config}"
        );
    }
    let Some(compose) = tool("docker-compose", &["/usr/bin/docker-compose"]) else {
        return;
    };
    let file = dir.write(
        "compose.yaml",
        &readme_block(
            "adding a labelled database (or object store) is all it takes",
            "yaml",
        ),
    );
    for secret in ["pg_monitor_password", "minio_monitor_secret"] {
        dir.write(secret, "not-a-real-secret");
    }
    let out = Command::new(compose)
        .arg("-f")
        .arg(&file)
        .args(["config"])
        .current_dir(&dir.0)
        .env("DOCKER_GID", "999")
        .output()
        .expect("running docker-compose config");
    let rendered = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "docker-compose config: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every database and store is labelled for discovery, and the exporter may read the
    // Docker socket as its non-root user.
    for label in [
        "lakewatch.postgres.enable: \"true\"",
        "lakewatch.s3.enable: \"true\"",
    ] {
        assert!(rendered.contains(label), "{label} in\n{rendered}");
    }
    assert!(rendered.contains("group_add:\n    - '999'\n"), "{rendered}");
}

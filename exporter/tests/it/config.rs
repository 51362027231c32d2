//! `--check-config`, `--print-default-config` and the bad-config suite: every error
//! names file:line:column and what was expected, and the exit code is 1.

use std::process::Command;

use crate::support::{TempDir, exporter_bin};

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(exporter_bin())
        .args(args)
        .output()
        .expect("running the exporter");
    (
        out.status.code().expect("exited normally"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check_file(yaml: &str) -> (i32, String, String, String) {
    let dir = TempDir::new("config");
    let path = dir.write("bad.yml", yaml).display().to_string();
    let (code, out, err) = check(&["--check-config", "--config", &path]);
    (code, out, err, path)
}

#[test]
fn default_config_round_trips() {
    let (code, default, _) = check(&["--print-default-config"]);
    assert_eq!(code, 0);
    assert!(default.contains("collectors:"), "{default}");
    let (code, out, err, path) = check_file(&default);
    assert_eq!(code, 0, "printed default must be a valid config: {err}");
    assert!(out.starts_with(&format!("{path}: OK")), "{out}");
    assert!(out.contains("disk localhost every 15s"), "{out}");
}

#[test]
fn embedded_default_checks() {
    let (code, out, _) = check(&["--check-config"]);
    assert_eq!(code, 0);
    // The container collector is `enabled: auto`: on when a Docker daemon answers.
    let container = lakewatch_exporter::config::Config::embedded_default()
        .container
        .expect("the default has a container section");
    let docker = lakewatch_exporter::collector::container::ContainerCollector::new(container)
        .probe(std::time::Duration::from_secs(2))
        .is_ok();
    let expected = if docker { 2 } else { 1 };
    assert!(
        out.starts_with(&format!(
            "embedded default: OK, {expected} collector target(s) enabled"
        )),
        "{out}"
    );
    assert!(out.contains("disk localhost every 15s"), "{out}");
    assert_eq!(
        out.contains("container localhost every 15s"),
        docker,
        "{out}"
    );
}

#[test]
fn unknown_key() {
    let (code, _, err, path) =
        check_file("collectors:\n  disk:\n    interval: 15s\n    mountpoint_exclude: x\n");
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{path}:4:5")), "{err}");
    assert!(err.contains("unknown field `mountpoint_exclude`"), "{err}");
    assert!(
        err.contains("mountpoints_exclude"),
        "says what is expected: {err}"
    );
}

#[test]
fn wrong_type() {
    let (code, _, err, path) = check_file("collectors:\n  disk:\n    paths: /data\n");
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{path}:3:12")), "{err}");
    assert!(err.contains("expected sequence"), "{err}");
}

#[test]
fn bad_duration() {
    let (code, _, err, path) = check_file("collectors:\n  disk:\n    interval: 15 seconds\n");
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{path}:3:15")), "{err}");
    assert!(err.contains("invalid duration \"15 seconds\""), "{err}");
    assert!(err.contains("such as 500ms, 15s, 5m or 1h30m"), "{err}");
}

#[test]
fn timeout_longer_than_interval() {
    let (code, _, err, path) =
        check_file("collectors:\n  disk:\n    interval: 5s\n    timeout: 10s\n");
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "{path}:4:14: timeout 10s is longer than the interval 5s"
        )),
        "{err}"
    );
}

#[test]
fn invalid_regex() {
    let (code, _, err, path) =
        check_file("collectors:\n  disk:\n    mountpoints_exclude: '^/(proc'\n");
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("{path}:3:26: invalid regular expression")),
        "{err}"
    );
}

#[test]
fn missing_file() {
    let (code, _, err) = check(&["--check-config", "--config", "/nonexistent/lakewatch.yml"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "/nonexistent/lakewatch.yml: cannot read config file: No such file or directory"
        ),
        "{err}"
    );
}

#[test]
fn bad_flag_is_a_usage_error() {
    let (code, _, err) = check(&["--web.listen-adress", "x"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--web.listen-address"),
        "suggests the right flag: {err}"
    );
}

/// Issue 10's secrets hygiene, every output channel at once: a config with a secret in
/// each place one can go (Postgres DSN and `password`, S3 secret key, Trino password and
/// token), every target failing (nothing listens on port 1), debug logging on. No secret
/// may appear in `--check-config` output, the log, `/metrics` or the status page `/`
/// (which shows each target's last error).
#[test]
fn secrets_never_reach_any_output() {
    let secrets = [
        "pg-Dsn-Secret-51",
        "pg-Key-Secret-52",
        "s3-Secret-Key-53",
        "trino-Password-54",
        "trino-Token-55",
    ];
    let dir = TempDir::new("secrets");
    let path = dir
        .write(
            "lakewatch.yml",
            &format!(
                "collectors:
  disk: {{ enabled: false }}
  container: {{ enabled: false }}
  postgres:
    interval: 1s
    timeout: 900ms
    targets:
      - {{ name: dsn, dsn: 'postgresql://lw:{}@127.0.0.1:1/postgres?sslmode=disable' }}
      - {{ name: key, host: 127.0.0.1, port: 1, user: lw, password: {}, sslmode: disable }}
  s3:
    interval: 1s
    timeout: 900ms
    targets:
      - {{ name: s3, endpoint: 'http://127.0.0.1:1', region: us-east-1, access_key: ak, secret_key: {}, path_style: true }}
  trino:
    interval: 1s
    timeout: 900ms
    targets:
      - {{ name: basic, url: 'http://127.0.0.1:1', user: lw, password: {} }}
      - {{ name: bearer, url: 'http://127.0.0.1:1', user: lw, token: {} }}
",
                secrets[0], secrets[1], secrets[2], secrets[3], secrets[4]
            ),
        )
        .display()
        .to_string();
    let (code, out, err) = check(&["--check-config", "--config", &path]);
    assert_eq!(code, 0, "{out}{err}");
    let targets = ["dsn", "key", "s3", "basic", "bearer"];
    for t in targets {
        assert!(out.contains(t), "--check-config lists target {t}: {out}");
    }
    // The harness runs the exporter with --log.level debug.
    let exp = crate::support::Exporter::start(&["--config", &path]);
    // Wait until every target has failed at least twice (errors logged and shown).
    crate::support::eventually_with(
        std::time::Duration::from_secs(30),
        "every target to fail twice",
        || exp.metrics(),
        || {
            let m = exp.metrics();
            let failed = |t: &str| {
                m.lines().any(|l| {
                    l.starts_with("lakewatch_collector_errors_total{")
                        && l.contains(&format!("target=\"{t}\""))
                        && l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) >= Some(2.0)
                })
            };
            targets.iter().all(|t| failed(t)).then_some(())
        },
    );
    let status = exp.get("/").text();
    assert!(
        status.contains("127.0.0.1:1"),
        "the status page shows the errors: {status}"
    );
    for (channel, text) in [
        ("--check-config stdout", out),
        ("--check-config stderr", err),
        ("log", exp.log_text()),
        ("/metrics", exp.metrics()),
        ("/", status),
    ] {
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{secret} leaked into {channel}:\n{text}"
            );
        }
    }
}

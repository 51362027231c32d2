//! The command line: exit codes, validate and explain, generate options.

use crate::support::{Scratch, fixture, repo_root, rulegen};

#[test]
fn usage_errors_exit_2() {
    assert_eq!(rulegen(&[]).status.code(), Some(2));
    assert_eq!(rulegen(&["generate", "x.yml"]).status.code(), Some(2));
    let spec = fixture("native/checkout.yml");
    let o = rulegen(&[
        "generate",
        spec.to_str().unwrap(),
        "-o",
        "/tmp/x",
        "--format",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(rulegen(&["--help"]).status.code(), Some(0));
}

#[test]
fn validate_accepts_every_good_fixture() {
    for spec in crate::support::good_specs() {
        let o = rulegen(&["validate", spec.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("ok: "));
    }
}

#[test]
fn missing_file_is_invalid_input() {
    let o = rulegen(&["validate", "does/not/exist.yml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does/not/exist.yml: cannot read spec"));
}

#[test]
fn explain_prints_the_window_table() {
    let o = rulegen(&["explain", fixture("timing/api.yml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("api/availability: ratio SLI, objective 99.9%, period 30d"),
        "{out}"
    );
    assert!(
        out.contains(
            "page              2%           1h            5m        14.4x                 0.0144"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "ticket           10%           3d            6h           1x                  0.001"
        ),
        "{out}"
    );
}

#[test]
fn param_overrides_a_declared_value_for_one_run() {
    let scratch = Scratch::new("cli-param");
    let spec = repo_root().join("alerts/lakewatch.yml");
    let spec = spec.to_str().unwrap();
    let out = scratch.path().to_str().unwrap();
    let o = rulegen(&["generate", spec, "-o", out, "--param", "pg_down_for=2s"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rules = std::fs::read_to_string(scratch.path().join("lakewatch.rules.yml")).unwrap();
    let pg = rules
        .split("- alert: ")
        .find(|r| r.starts_with("\"PostgresDown\""))
        .expect("PostgresDown is generated");
    assert!(pg.contains("\n        for: 2s\n"), "{pg}");
    let trino = rules
        .split("- alert: ")
        .find(|r| r.starts_with("\"TrinoDown\""))
        .expect("TrinoDown is generated");
    assert!(
        trino.contains("\n        for: 2m\n"),
        "others keep the spec's value: {trino}"
    );

    // A typo is an error, not a silently ignored flag.
    let o = rulegen(&["generate", spec, "-o", out, "--param", "pg_down=2s"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--param pg_down: no spec declares a parameter `pg_down`")
            && err.contains("pg_down_for"),
        "{err}"
    );
    // A value that does not fit where the parameter is used points into the spec.
    let o = rulegen(&["generate", spec, "-o", out, "--param", "pg_down_for=soon"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("alerts/lakewatch.yml:") && err.contains("`soon` is not a duration"),
        "{err}"
    );
}

#[test]
fn bad_generate_options_are_usage_errors() {
    let spec = repo_root().join("alerts/lakewatch.yml");
    let spec = spec.to_str().unwrap();
    for (extra, says) in [
        (&["--param", "pg_down_for"][..], "is not NAME=VALUE"),
        (&["--param", "Pg=1"][..], "must match [a-z_][a-z0-9_]*"),
        (
            &["--param", "pg_down_for=1s", "--param", "pg_down_for=2s"][..],
            "--param pg_down_for is given twice",
        ),
        (
            &["--alertmanager", "--group-interval", "0s"][..],
            "at least 1s",
        ),
        (
            &["--alertmanager", "--group-wait", "1x"][..],
            "is not a duration",
        ),
        (
            &["--alertmanager", "--webhook-url", "hook:9"][..],
            "not an http://",
        ),
        (&["--webhook-url", "http://h/"][..], "--alertmanager"),
    ] {
        let mut args = vec!["generate", spec, "-o", "/nonexistent/out"];
        args.extend(extra);
        let o = rulegen(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{extra:?}: {err}");
    }
}

/// An SLI window of fewer than two scrapes (`--scrape-interval`, default Prometheus' 1m)
/// is warned about at its `file:line:column`, and the run still succeeds.
#[test]
fn windows_shorter_than_two_scrapes_are_warned_about() {
    let slices = fixture("openslo/cart-timeslices.yml");
    let slices = slices.to_str().unwrap();
    let o = rulegen(&["validate", slices]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(
        err.lines().collect::<Vec<_>>()[0],
        format!(
            "warning: {slices}:20:24: timeSliceWindow of 1m is shorter than two scrape intervals (1m each, --scrape-interval): a rate over it has fewer than two samples and is often empty"
        ),
        "{err}"
    );
    let o = rulegen(&["validate", slices, "--scrape-interval", "30s"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    let native = fixture("native/checkout.yml");
    let native = native.to_str().unwrap();
    let o = rulegen(&["validate", native, "--scrape-interval", "5m"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.starts_with(&format!("warning: {native}:"))
            && err.contains(
                "the SLI's 5m window of 5m is shorter than two scrape intervals (5m each"
            ),
        "{err}"
    );
}

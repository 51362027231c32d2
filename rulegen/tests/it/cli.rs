//! The command line: exit codes, validate and explain.

use crate::support::{fixture, rulegen};

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

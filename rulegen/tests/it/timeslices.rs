//! OpenSLO time-slice budgeting (`Timeslices`, `RatioTimeslices`): for a known series of
//! good and bad minutes, the SLI over the period is exactly the one worked out by hand
//! (in each test file's comments), and the alerts fire at the minutes computed there.

use crate::support::{Scratch, fixture, generate, promtool, promtool_ok};

/// Generates `openslo/<service>-<method>.yml` and runs `timeslices/<method>.test.yml`.
fn run(service: &str, method: &str) {
    let Some(promtool) = promtool() else { return };
    let scratch = Scratch::new(&format!("timeslices-{method}"));
    generate(
        &fixture(&format!("openslo/{service}-{method}.yml")),
        scratch.path(),
        &["--dashboards"],
    );
    let test = format!("{method}.test.yml");
    std::fs::copy(
        fixture(&format!("timeslices/{test}")),
        scratch.path().join(&test),
    )
    .unwrap();
    promtool_ok(
        &promtool,
        scratch.path(),
        &["check", "rules", &format!("{service}.rules.yml")],
    );
    promtool_ok(&promtool, scratch.path(), &["test", "rules", &test]);
    // The same SLO dashboard as any other SLI.
    assert!(
        scratch
            .path()
            .join(format!("{service}.slo.dashboard.json"))
            .is_file()
    );
}

#[test]
fn timeslices_count_good_minutes() {
    run("cart", "timeslices");
}

#[test]
fn ratio_timeslices_average_the_minutes() {
    run("basket", "ratio-timeslices");
}

#[test]
fn a_slice_window_that_does_not_divide_5m_is_refused() {
    let scratch = Scratch::new("timeslices-bad");
    let spec = scratch.path().join("s.yml");
    let text = std::fs::read_to_string(fixture("openslo/cart-timeslices.yml"))
        .unwrap()
        .replace("timeSliceWindow: 1m", "timeSliceWindow: 2m");
    std::fs::write(&spec, text).unwrap();
    let o = crate::support::rulegen(&["validate", spec.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("s.yml:20:24") && err.contains("timeSliceWindow `2m` must be"),
        "{err}"
    );
}

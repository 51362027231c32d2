//! The generated artifacts checked by Prometheus' own tool: `promtool check rules` on every
//! rule file, `promtool test rules` on every emitted test, and hand-written alert-timing
//! tests derived from the burn-rate math.

use crate::support::{Scratch, files_under, fixture, generate, good_specs, promtool, promtool_ok};

#[test]
fn every_generated_rule_file_passes_check_and_every_emitted_test_passes() {
    let Some(promtool) = promtool() else { return };
    let mut checked = 0;
    let mut tested = 0;
    for spec in good_specs() {
        let scratch = Scratch::new("promtool-check");
        generate(&spec, scratch.path(), &["--emit-tests"]);
        for f in files_under(scratch.path()) {
            let dir = f.parent().unwrap();
            let name = f.file_name().unwrap().to_str().unwrap();
            if name.ends_with(".rules.yml") {
                promtool_ok(&promtool, dir, &["check", "rules", name]);
                checked += 1;
            } else if name.ends_with(".test.yml") {
                promtool_ok(&promtool, dir, &["test", "rules", name]);
                tested += 1;
            }
        }
    }
    assert!(
        checked >= 3 && tested >= 3,
        "checked {checked} rule files, ran {tested} tests"
    );
}

/// 99.9% over 30d, ratio SLI on `http_requests_total{job="api"}`. The test file was
/// written by hand from the workbook math (see its comments), not generated.
#[test]
fn burn_rate_alert_timing() {
    let Some(promtool) = promtool() else { return };
    let scratch = Scratch::new("promtool-timing");
    generate(&fixture("timing/api.yml"), scratch.path(), &[]);
    std::fs::copy(
        fixture("timing/api.test.yml"),
        scratch.path().join("api.test.yml"),
    )
    .unwrap();
    promtool_ok(
        &promtool,
        scratch.path(),
        &["test", "rules", "api.test.yml"],
    );
}

/// The hand-written timing test must fail against wrong rules: guards against a test that
/// passes whatever the rules say.
#[test]
fn timing_test_catches_a_wrong_factor() {
    let Some(promtool) = promtool() else { return };
    let scratch = Scratch::new("promtool-timing-broken");
    generate(&fixture("timing/api.yml"), scratch.path(), &[]);
    let rules = scratch.path().join("api.rules.yml");
    let text = std::fs::read_to_string(&rules).unwrap();
    assert!(text.contains("(14.4 * 0.001)"));
    std::fs::write(&rules, text.replace("(14.4 * 0.001)", "(30 * 0.001)")).unwrap();
    std::fs::copy(
        fixture("timing/api.test.yml"),
        scratch.path().join("api.test.yml"),
    )
    .unwrap();
    let out = std::process::Command::new(&promtool)
        .args(["test", "rules", "api.test.yml"])
        .current_dir(scratch.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a 30x page threshold must miss the 2% burn"
    );
}

/// The SLO overview's remaining error budget (`slo:period_error_budget_remaining:ratio`)
/// for a series computed by hand (see `timing/budget.test.yml`).
#[test]
fn remaining_error_budget_for_a_known_series() {
    let Some(promtool) = promtool() else { return };
    let scratch = Scratch::new("promtool-budget");
    generate(&fixture("timing/budget.yml"), scratch.path(), &[]);
    let test = std::fs::read_to_string(fixture("timing/budget.test.yml")).unwrap();
    std::fs::write(scratch.path().join("budget.test.yml"), &test).unwrap();
    promtool_ok(
        &promtool,
        scratch.path(),
        &["test", "rules", "budget.test.yml"],
    );
    // And it can fail: a budget half spent at 12h is not reported as a quarter spent.
    std::fs::write(
        scratch.path().join("wrong.test.yml"),
        test.replacen("value: 500", "value: 750", 1),
    )
    .unwrap();
    let out = std::process::Command::new(&promtool)
        .args(["test", "rules", "wrong.test.yml"])
        .current_dir(scratch.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

//! Grouped SLOs (`group_by`): each group its own SLI, error budget and alerts, under a
//! bound on the number of groups; the dashboards filter and list by group.

use serde_json::Value;

use crate::support::{Scratch, fixture, generate, promtool, promtool_ok};

const SPEC: &str = "native/shop-grouped.yml";

/// Two routes, one burning: only its alerts fire, each route with its own error ratio
/// and budget (the values are worked out in the test file's comments).
#[test]
fn only_the_burning_routes_alerts_fire() {
    let Some(promtool) = promtool() else { return };
    let scratch = Scratch::new("grouped-promtool");
    generate(&fixture(SPEC), scratch.path(), &[]);
    std::fs::copy(
        fixture("grouped/shop.test.yml"),
        scratch.path().join("shop.test.yml"),
    )
    .unwrap();
    promtool_ok(
        &promtool,
        scratch.path(),
        &["check", "rules", "shop.rules.yml"],
    );
    promtool_ok(
        &promtool,
        scratch.path(),
        &["test", "rules", "shop.test.yml"],
    );
}

/// More groups than `max_groups`: Prometheus refuses to record them (the group's
/// `limit`), so a label with unbounded values cannot flood the TSDB.
#[test]
fn max_groups_caps_what_a_grouped_slo_records() {
    let Some(promtool) = promtool() else { return };
    let scratch = Scratch::new("grouped-limit");
    let spec = scratch.path().join("shop.yml");
    let text = std::fs::read_to_string(fixture(SPEC))
        .unwrap()
        .replace("max_groups: 20", "max_groups: 1");
    std::fs::write(&spec, text).unwrap();
    generate(&spec, scratch.path(), &[]);
    let rules = std::fs::read_to_string(scratch.path().join("shop.rules.yml")).unwrap();
    assert!(rules.contains("    limit: 1\n"), "{rules}");
    std::fs::write(
        scratch.path().join("limit.test.yml"),
        r#"rule_files: [shop.rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http_requests_total{job="shop",route="/a",code="200"}'
        values: '0+600x20'
      - series: 'http_requests_total{job="shop",route="/b",code="500"}'
        values: '0+600x20'
    promql_expr_test:
      - expr: vector(1)
        eval_time: 10m
        exp_samples:
          - value: 1
"#,
    )
    .unwrap();
    let out = std::process::Command::new(&promtool)
        .args(["test", "rules", "limit.test.yml"])
        .current_dir(scratch.path())
        .output()
        .unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{report}");
    assert!(
        report.contains("rule: slo:sli_total:rate5m")
            && report.contains("exceeded limit of 1 with 2 series"),
        "{report}"
    );
}

#[test]
fn dashboards_filter_and_list_by_group() {
    let scratch = Scratch::new("grouped-dashboards");
    generate(
        &fixture(SPEC),
        scratch.path(),
        &["--dashboards", "--overview"],
    );
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(scratch.path().join(name)).unwrap()).unwrap()
    };
    let slo = read("shop.slo.dashboard.json");
    let overview = read("slo-overview.dashboard.json");
    crate::stock::validate_schema(&[
        ("slo".into(), slo.clone()),
        ("overview".into(), overview.clone()),
    ]);
    let vars: Vec<&str> = slo["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["datasource", "service", "route", "method"]);
    let text = slo.to_string();
    assert!(
        text.contains(r#"slo:period_error_budget_remaining:ratio{service=\"$service\",slo=\"requests\",route=~\"$route\"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"slo=\"latency\",route=~\"$route\",method=~\"$method\"}"#),
        "{text}"
    );
    let queries: Vec<&str> = overview["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["targets"].as_array())
        .flatten()
        .map(|t| t["expr"].as_str().unwrap())
        .collect();
    assert!(!queries.is_empty());
    for q in &queries {
        assert!(q.contains("route, method"), "{q}");
        lakewatch_rulegen::promql::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    }
}

#[test]
fn a_query_that_sums_the_group_away_is_refused() {
    let scratch = Scratch::new("grouped-bad");
    let spec = scratch.path().join("shop.yml");
    let text = std::fs::read_to_string(fixture(SPEC))
        .unwrap()
        .replace("total: sum by (route) (rate(", "total: sum(rate(");
    std::fs::write(&spec, text).unwrap();
    let o = crate::support::rulegen(&["validate", spec.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("shop.yml:14:16") && err.contains("total query aggregates `route` away"),
        "{err}"
    );
}

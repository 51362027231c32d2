//! The SLO overview dashboard (`--overview`): valid Grafana JSON, queries that parse,
//! links that reach the services' SLO dashboards, and values that are right for a known
//! series (promtool, with the queries as the dashboard has them).

use serde_json::Value;

use crate::support::{Scratch, fixture, generate, promtool, promtool_ok};

fn overview(dir: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(dir.join("slo-overview.dashboard.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A table's queries by column name (panel 1: the SLOs, panel 2: the alerts).
fn queries(d: &Value, panel: usize) -> Vec<(String, String)> {
    let table = &d["panels"][panel];
    assert_eq!(table["type"], "table");
    table["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["legendFormat"].as_str().unwrap().to_string(),
                t["expr"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn lists_every_slo_and_links_each_service() {
    let scratch = Scratch::new("overview");
    generate(
        &fixture("timing/budget.yml"),
        scratch.path(),
        &["--overview", "--dashboards"],
    );
    let d = overview(scratch.path());
    crate::stock::validate_schema(&[("overview".into(), d.clone())]);
    let columns: Vec<String> = queries(&d, 1).into_iter().map(|(c, _)| c).collect();
    assert_eq!(columns, ["Objective", "SLI", "Budget remaining"]);
    for (column, q) in queries(&d, 1).into_iter().chain(queries(&d, 2)) {
        lakewatch_rulegen::promql::parse(&q).unwrap_or_else(|e| panic!("{column}: {q}: {e}"));
    }
    // A row links to the SLO dashboard --dashboards wrote.
    let slo: Value = serde_json::from_str(
        &std::fs::read_to_string(scratch.path().join("shop.slo.dashboard.json")).unwrap(),
    )
    .unwrap();
    let defaults = &d["panels"][1]["fieldConfig"]["defaults"];
    let link = defaults["links"][0]["url"]
        .as_str()
        .unwrap()
        .replace("${__data.fields.service}", "shop");
    let uid = slo["uid"].as_str().unwrap();
    assert!(link.starts_with(&format!("/d/{uid}?")), "{link} vs {uid}");
    // Cells are coloured: red overspent, orange under a quarter left, green.
    assert_eq!(
        defaults["custom"]["cellOptions"]["type"],
        "color-background"
    );
    let steps: Vec<(f64, String)> = defaults["thresholds"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .map(|s| {
            (
                s["value"].as_f64().unwrap(),
                s["color"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (-1e9, "red".to_string()),
            (0.0, "orange".to_string()),
            (0.25, "green".to_string())
        ]
    );
    // -o - has no directory to put it in.
    let o = crate::support::rulegen(&[
        "generate",
        "tests/fixtures/timing/budget.yml",
        "-o",
        "-",
        "--overview",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

/// The overview's own queries against the series of `timing/budget.test.yml` at 12h:
/// 0.5% errors against 99% over 1d.
#[test]
fn shows_the_right_values_for_a_known_series() {
    let Some(promtool) = promtool() else { return };
    let scratch = Scratch::new("overview-values");
    generate(
        &fixture("timing/budget.yml"),
        scratch.path(),
        &["--overview"],
    );
    let expect = [("Objective", 990), ("SLI", 995), ("Budget remaining", 500)];
    let d = overview(scratch.path());
    let q = queries(&d, 1);
    assert_eq!(q.len(), expect.len());
    let mut tests = String::new();
    for ((column, expr), (want_column, value)) in q.iter().zip(expect) {
        assert_eq!(column, want_column);
        tests.push_str(&format!(
            "  - expr: 'round(1000 * ({expr}))'\n    eval_time: 12h\n    exp_samples:\n    - labels: '{{period=\"1d\",service=\"shop\",slo=\"checkout\"}}'\n      value: {value}\n"
        ));
    }
    // A half-spent budget at a steady 0.5x burn: no alert fires.
    let (_, alerts) = &queries(&d, 2)[0];
    tests.push_str(&format!(
        "  - expr: '{alerts}'\n    eval_time: 12h\n    exp_samples: []\n"
    ));
    let test = format!(
        r#"rule_files: [shop.rules.yml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: 'http_requests_total{{code="200"}}'
    values: '0+597x720'
  - series: 'http_requests_total{{code="500"}}'
    values: '0+3x720'
  promql_expr_test:
{tests}"#
    );
    std::fs::write(scratch.path().join("overview.test.yml"), test).unwrap();
    promtool_ok(
        &promtool,
        scratch.path(),
        &["test", "rules", "overview.test.yml"],
    );
}

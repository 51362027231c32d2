//! The stock pack and the Alertmanager and Grafana generators, checked by the ecosystem's
//! own tools: no drift in alerts/, dashboards/ and deploy/ (regenerate with
//! `LAKEWATCH_BLESS=1`), every query parses and reads known metrics, dashboards validate
//! against Grafana's JSON schema and lay out cleanly, promtool checks and unit-tests every
//! stock alert and checks `deploy/prometheus.yml`, amtool checks and routes the generated
//! Alertmanager configs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use lakewatch_rulegen::rules::{self, RuleKind, SliSource};
use lakewatch_rulegen::stock::{self, Origin};
use lakewatch_rulegen::{alertmanager, dashboard};
use serde_json::Value;

use crate::support::{
    Scratch, amtool, ci, files_under, generate, good_specs, promtool, promtool_ok, repo_root,
    skip_or_fail,
};

/// `LAKEWATCH_BLESS=1` rewrites the checked-in files; never in CI, where a rewrite would
/// turn every drift into a silent pass.
pub(crate) fn bless() -> bool {
    let on = std::env::var("LAKEWATCH_BLESS").is_ok_and(|v| v == "1");
    assert!(
        !(on && ci()),
        "LAKEWATCH_BLESS=1 with CI=true: CI compares with the checked-in files and must not rewrite them"
    );
    on
}

fn spec_text() -> String {
    std::fs::read_to_string(repo_root().join(stock::SPEC_PATH)).expect("alerts/lakewatch.yml")
}

fn stock_files() -> Vec<stock::File> {
    stock::generate(&spec_text()).unwrap_or_else(|e| panic!("stock pack: {e}"))
}

#[test]
fn stock_pack_has_no_drift() {
    let root = repo_root();
    let files = stock_files();
    let mut problems = Vec::new();
    for f in &files {
        let path = root.join(&f.path);
        if bless() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &f.text).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) if text == f.text => {}
            Ok(_) => problems.push(format!("{} differs", f.path)),
            Err(_) => problems.push(format!("{} is missing", f.path)),
        }
    }
    // A dashboard left behind by a renamed definition would still be provisioned.
    let generated: BTreeSet<PathBuf> = files.iter().map(|f| root.join(&f.path)).collect();
    for f in files_under(&root.join("dashboards")) {
        if !generated.contains(&f) {
            problems.push(format!("{} is not generated; remove it", f.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "the stock pack is out of date (LAKEWATCH_BLESS=1 cargo test -p lakewatch-rulegen --test it stock regenerates it):\n{}",
        problems.join("\n")
    );
}

/// Every dashboard the tests look at: the stock ones and one SLO dashboard per fixture
/// service, with the recording rules their queries may read.
fn all_dashboards() -> (Vec<(String, Value)>, BTreeSet<String>) {
    let mut out = Vec::new();
    let mut recorded = BTreeSet::new();
    for d in stock::dashboards().unwrap() {
        out.push((d.title.clone(), dashboard::to_json(&d)));
    }
    for spec in good_specs() {
        let text = std::fs::read_to_string(&spec).unwrap();
        for s in lakewatch_rulegen::spec::load("x.yml", &text).unwrap() {
            for g in rules::generate(&s, SliSource::Spec).unwrap().groups {
                for r in g.rules {
                    if let RuleKind::Record(n) = r.kind {
                        recorded.insert(n);
                    }
                }
            }
            if let Some(d) = dashboard::slo_dashboard(&s) {
                out.push((d.title.clone(), dashboard::to_json(&d)));
            }
        }
    }
    assert!(out.len() >= 9, "{} dashboards", out.len());
    (out, recorded)
}

fn panels(d: &Value) -> Vec<&Value> {
    d["panels"].as_array().expect("panels").iter().collect()
}

fn exprs(d: &Value) -> Vec<String> {
    panels(d)
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .map(|t| t["expr"].as_str().expect("expr").to_string())
        .collect()
}

fn check_known(what: &str, expr: &str, recorded: &BTreeSet<String>, bad: &mut Vec<String>) {
    let parsed = match lakewatch_rulegen::promql::parse(&dashboard::substitute_variables(expr)) {
        Ok(p) => p,
        Err(e) => {
            bad.push(format!("{what}: does not parse: {e}\n  {expr}"));
            return;
        }
    };
    for m in lakewatch_rulegen::promql::metric_names(&parsed) {
        match stock::origin(&m, recorded) {
            Origin::Catalog | Origin::Prometheus | Origin::Recorded | Origin::Passthrough => {}
            other => bad.push(format!("{what}: `{m}` is {other:?}\n  {expr}")),
        }
    }
}

#[test]
fn every_generated_query_parses_and_reads_known_metrics() {
    let (dashboards, recorded) = all_dashboards();
    let mut bad = Vec::new();
    let mut count = 0;
    for (title, d) in &dashboards {
        for e in exprs(d) {
            check_known(&format!("dashboard {title}"), &e, &recorded, &mut bad);
            count += 1;
        }
    }
    let service = stock::load_spec(&spec_text()).unwrap();
    for g in rules::generate(&service, SliSource::Spec).unwrap().groups {
        for r in g.rules {
            check_known("stock rule", &r.expr, &recorded, &mut bad);
            count += 1;
        }
    }
    assert!(count > 50, "only {count} queries");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn schema_path() -> Option<PathBuf> {
    let p = repo_root().join("../shared/schemas/grafana/dashboard.jsonschema.json");
    if p.is_file() {
        return Some(p);
    }
    skip_or_fail(&format!(
        "{} not found; not validating dashboards",
        p.display()
    ));
    None
}

pub(crate) fn validate_schema(dashboards: &[(String, Value)]) {
    let Some(path) = schema_path() else { return };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::draft7::new(&schema).expect("Grafana's schema compiles");
    let mut bad = Vec::new();
    for (title, d) in dashboards {
        for e in validator.iter_errors(d) {
            bad.push(format!("{title}: {} at {}", e, e.instance_path()));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn dashboards_validate_against_grafanas_schema() {
    let (dashboards, _) = all_dashboards();
    validate_schema(&dashboards);
    // The checked-in files too (the drift test makes them equal, this makes it obvious).
    let files: Vec<(String, Value)> = files_under(&repo_root().join("dashboards"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p.display().to_string(), v)
        })
        .collect();
    assert_eq!(files.len(), 6, "six stock dashboards");
    validate_schema(&files);
}

#[test]
fn schema_validation_catches_a_bad_dashboard() {
    let (mut dashboards, _) = all_dashboards();
    let Some(path) = schema_path() else { return };
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let d = &mut dashboards[0].1;
    d["panels"][1]["gridPos"]["w"] = Value::from(30);
    assert!(!validator.is_valid(d));
}

#[test]
fn dashboards_are_structurally_sound() {
    let (dashboards, _) = all_dashboards();
    let mut uids = BTreeSet::new();
    for (title, d) in &dashboards {
        assert!(d["schemaVersion"].as_u64().unwrap() >= 39, "{title}");
        let uid = d["uid"].as_str().unwrap();
        assert!(!uid.is_empty() && uid.len() <= 40, "{title}: uid {uid}");
        assert!(uids.insert(uid.to_string()), "{title}: uid {uid} reused");
        let vars = d["templating"]["list"].as_array().unwrap();
        assert!(
            vars.iter().any(|v| v["type"] == "datasource"
                && v["name"] == dashboard::DATASOURCE_VAR
                && v["query"] == "prometheus"),
            "{title}: no datasource variable"
        );
        let mut ids = BTreeSet::new();
        let mut cells: BTreeMap<(u64, u64), String> = BTreeMap::new();
        for p in panels(d) {
            let name = p["title"].as_str().unwrap_or("").to_string();
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "{title}: duplicate id"
            );
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().unwrap(),
                g["y"].as_u64().unwrap(),
                g["w"].as_u64().unwrap(),
                g["h"].as_u64().unwrap(),
            );
            assert!(w > 0 && h > 0 && x + w <= 24, "{title}/{name}: {g}");
            for cx in x..x + w {
                for cy in y..y + h {
                    if let Some(other) = cells.insert((cx, cy), name.clone()) {
                        panic!("{title}: {name} overlaps {other} at ({cx},{cy})");
                    }
                }
            }
            if let Some(targets) = p["targets"].as_array() {
                assert!(!targets.is_empty(), "{title}/{name}: no query");
                for t in std::iter::once(p).chain(targets) {
                    assert_eq!(
                        t["datasource"]["uid"], "${datasource}",
                        "{title}/{name}: not on the datasource variable"
                    );
                }
            }
        }
    }
}

#[test]
fn slo_dashboard_draws_objective_budget_and_alert_factors() {
    let (dashboards, _) = all_dashboards();
    let (_, d) = dashboards
        .iter()
        .find(|(t, _)| t == "SLOs / checkout")
        .expect("checkout SLO dashboard");
    assert_eq!(d["uid"], "lakewatch-slo-checkout");
    let text = d.to_string();
    for needle in [
        "slo:objective:ratio{service=\\\"$service\\\",slo=\\\"requests-availability\\\"}",
        "slo:period_error_budget_remaining:ratio",
        "slo:sli_error:ratio_rate1h{service=\\\"$service\\\",slo=\\\"requests-availability\\\"} / 0.001",
        "ALERTS{service=\\\"$service\\\"",
    ] {
        assert!(text.contains(needle), "missing {needle}");
    }
    let burn = panels(d)
        .into_iter()
        .find(|p| p["title"] == "Burn rate per alert window")
        .unwrap();
    let steps: Vec<f64> = burn["fieldConfig"]["defaults"]["thresholds"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["value"].as_f64())
        .collect();
    assert_eq!(steps, [1.0, 3.0, 6.0, 14.4]);
}

// ---- alert rules ------------------------------------------------------------------------

#[test]
fn stock_rules_pass_promtool_check_and_every_alert_has_a_firing_and_a_silent_test() {
    let Some(promtool) = promtool() else { return };
    let root = repo_root();
    promtool_ok(
        &promtool,
        &root.join("alerts"),
        &["check", "rules", "lakewatch.rules.yml"],
    );
    let service = stock::load_spec(&spec_text()).unwrap();
    // Annotations stay: promtool compares them after template expansion, so each firing
    // case also proves the rendered summary (which must name the target in trouble).
    let set = rules::generate(&service, SliSource::Spec).unwrap();
    let scratch = Scratch::new("stock-promtool");
    std::fs::write(
        scratch.path().join("lakewatch.rules.yml"),
        lakewatch_rulegen::output::render(
            lakewatch_rulegen::output::Flavor::Plain,
            "lakewatch",
            "lakewatch.yml",
            &set,
        ),
    )
    .unwrap();
    let mut fires = BTreeSet::new();
    let mut silent = BTreeSet::new();
    let tests = files_under(&root.join("alerts/tests"));
    assert!(!tests.is_empty());
    for t in &tests {
        let name = t.file_name().unwrap().to_str().unwrap();
        std::fs::copy(t, scratch.path().join(name)).unwrap();
        promtool_ok(&promtool, scratch.path(), &["test", "rules", name]);
        collect_cases(
            &std::fs::read_to_string(t).unwrap(),
            &mut fires,
            &mut silent,
        );
    }
    let mut missing = Vec::new();
    for a in &service.alerts {
        if !fires.contains(&a.name) {
            missing.push(format!("{}: no case where it fires", a.name));
        }
        if !silent.contains(&a.name) {
            missing.push(format!("{}: no case where it stays silent", a.name));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// Reads `alertname:` / `exp_alerts:` pairs from a promtool test file: an empty
/// `exp_alerts` is a silent case, a non-empty one a firing case.
fn collect_cases(text: &str, fires: &mut BTreeSet<String>, silent: &mut BTreeSet<String>) {
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(name) = l.trim().strip_prefix("- alertname:") else {
            continue;
        };
        let name = name.trim().to_string();
        for next in lines.by_ref() {
            let t = next.trim();
            if t.starts_with("exp_alerts:") {
                if t.ends_with("[]") {
                    silent.insert(name.clone());
                } else {
                    fires.insert(name.clone());
                }
                break;
            }
        }
    }
}

#[test]
fn every_stock_alert_has_a_runbook_section() {
    let service = stock::load_spec(&spec_text()).unwrap();
    let runbooks = std::fs::read_to_string(repo_root().join("alerts/RUNBOOKS.md")).unwrap();
    let anchors: BTreeSet<String> = runbooks
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_lowercase())
        .collect();
    let mut bad = Vec::new();
    let mut named = BTreeSet::new();
    for a in &service.alerts {
        let url = a
            .annotations
            .get("runbook_url")
            .cloned()
            .unwrap_or_default();
        let anchor = url.rsplit_once('#').map(|(_, a)| a.to_string());
        match anchor {
            Some(x) if x == a.name.to_lowercase() && anchors.contains(&x) => {}
            _ => bad.push(format!(
                "{}: runbook_url {url:?} has no matching section",
                a.name
            )),
        }
        for key in ["summary", "description"] {
            if !a.annotations.contains_key(key) {
                bad.push(format!("{}: no {key}", a.name));
            }
        }
        named.insert(a.name.to_lowercase());
    }
    for h in &anchors {
        if !named.contains(h) {
            bad.push(format!("RUNBOOKS.md section {h} has no alert"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `deploy/prometheus.yml` as Prometheus reads it, with the stock rules and a generated SLO
/// rule file where it loads them from (its rule paths are relative to the file).
#[test]
fn deploy_prometheus_config_passes_promtool_with_its_rule_files() {
    let Some(promtool) = promtool() else { return };
    let root = repo_root();
    let scratch = Scratch::new("deploy-prometheus");
    std::fs::copy(
        root.join("deploy/prometheus.yml"),
        scratch.path().join("prometheus.yml"),
    )
    .unwrap();
    let rules = scratch.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::copy(
        root.join("alerts/lakewatch.rules.yml"),
        rules.join("lakewatch.rules.yml"),
    )
    .unwrap();
    generate(
        &crate::support::fixture("native/checkout.yml"),
        &rules.join("slo"),
        &[],
    );
    let out = promtool_ok(
        &promtool,
        scratch.path(),
        &["check", "config", "prometheus.yml"],
    );
    for checked in [
        "Checking rules/lakewatch.rules.yml",
        "Checking rules/slo/checkout.rules.yml",
    ] {
        assert!(out.contains(checked), "{checked} not checked:\n{out}");
    }
}

// ---- Alertmanager -----------------------------------------------------------------------

fn amtool_ok(amtool: &Path, args: &[&str]) -> String {
    let out = Command::new(amtool)
        .args(args)
        .output()
        .expect("amtool runs");
    assert!(
        out.status.success(),
        "amtool {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn generated_alertmanager_configs_pass_amtool_and_route_as_designed() {
    let Some(amtool) = amtool() else { return };
    amtool_ok(
        &amtool,
        &[
            "check-config",
            repo_root()
                .join("deploy/alertmanager.yml")
                .to_str()
                .unwrap(),
        ],
    );
    let scratch = Scratch::new("alertmanager");
    let mut args: Vec<String> = vec!["--alertmanager".into()];
    args.push("--page-via=pagerduty,slack".into());
    args.push("--ticket-via=slack,email,webhook,pagerduty".into());
    args.push("--webhook-url=http://127.0.0.1:9/hooks/".into());
    args.push("--group-wait=1s".into());
    args.push("--group-interval=2s".into());
    args.push("--repeat-interval=1m".into());
    let spec = crate::support::fixture("native/checkout.yml");
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    generate(&spec, scratch.path(), &args_ref);
    let config = scratch.path().join("alertmanager.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    for kind in [
        "pagerduty_configs",
        "slack_configs",
        "email_configs",
        "webhook_configs",
    ] {
        assert!(text.contains(kind), "{kind} missing");
    }
    for secret in [
        "routing_key_file",
        "api_url_file",
        "auth_password_file",
        "credentials_file",
    ] {
        assert!(text.contains(secret), "{secret} missing");
    }
    assert!(
        text.contains("url: \"http://127.0.0.1:9/hooks/payments-ticket\"")
            && text.contains("group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1m\n"),
        "{text}"
    );
    let config_s = config.to_str().unwrap();
    amtool_ok(&amtool, &["check-config", config_s]);
    // (labels, receiver amtool must choose)
    let cases: [(&[&str], &str); 6] = [
        (
            &["team=payments", "severity=critical", "urgency=page"],
            "payments-page",
        ),
        (
            &["team=payments", "severity=warning", "urgency=ticket"],
            "payments-ticket",
        ),
        // A ticket never pages, whatever its severity is called.
        (
            &["team=payments", "severity=critical", "urgency=ticket"],
            "payments-ticket",
        ),
        (&["team=payments", "severity=critical"], "payments-page"),
        (
            &["severity=critical", "alertname=LakewatchExporterDown"],
            "page",
        ),
        (
            &["severity=warning", "alertname=LakewatchFilesystemSpaceLow"],
            "ticket",
        ),
    ];
    for (labels, want) in cases {
        let mut a = vec!["config", "routes", "test", "--config.file", config_s];
        a.extend(labels);
        let got = amtool_ok(&amtool, &a);
        assert_eq!(got.trim(), want, "{labels:?}");
    }
}

#[test]
fn alertmanager_routes_follow_the_specs_severities() {
    let text = r#"version: lakewatch/v1
service: api
labels: { team: core }
slos:
  - name: avail
    objective: 99.9
    sli:
      ratio:
        errors: sum(rate(e_total[{{.window}}]))
        total: sum(rate(t_total[{{.window}}]))
    alerting:
      page: { severity: p1 }
"#;
    let services = lakewatch_rulegen::spec::load("a.yml", text).unwrap();
    assert_eq!(
        alertmanager::page_severities(&services),
        ["critical".to_string(), "p1".to_string()].into()
    );
    let cfg = alertmanager::render(&services, &alertmanager::Options::default());
    assert!(
        cfg.contains(r#"matchers: ["severity=~\"critical|p1\""]"#),
        "{cfg}"
    );
    assert!(cfg.contains(r#"- receiver: "core-ticket""#), "{cfg}");
}

// ---- test fixtures match reality --------------------------------------------------------

/// What is wrong with one promtool `input_series` (`name{label="value",...}`) against the
/// labels the exporter really emits: the catalog's label names, plus `le` for histogram
/// buckets, plus `job` and `instance` that Prometheus adds. Empty when it matches.
fn series_problems(series: &str) -> Vec<String> {
    let head = regex::Regex::new(r"^([A-Za-z_:][A-Za-z0-9_:]*)\{(.*)\}$").unwrap();
    let pair =
        regex::Regex::new(r#"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"(?:[^"\\]|\\.)*"\s*,?"#).unwrap();
    let Some(c) = head.captures(series.trim()) else {
        return vec![format!("{series}: not name{{labels}}")];
    };
    let name = &c[1];
    let mut rest = &c[2];
    let mut got = BTreeSet::new();
    while !rest.trim().is_empty() {
        let Some(m) = pair.captures(rest) else {
            return vec![format!("{series}: cannot read the labels at {rest:?}")];
        };
        got.insert(m[1].to_string());
        rest = &rest[m.get(0).unwrap().end()..];
    }
    let mut want: BTreeSet<String> = ["job", "instance"].map(String::from).into();
    if let Some(m) = lakewatch_catalog::lookup(name) {
        want.extend(m.labels.iter().map(|l| l.to_string()));
        if name.ends_with("_bucket") && m.kind == lakewatch_catalog::Kind::Histogram {
            want.insert("le".into());
        }
    } else if let Some((_, labels)) = stock::PASSTHROUGH_SERIES.iter().find(|(n, _)| *n == name) {
        want.extend(labels.iter().map(|l| l.to_string()));
    } else if !stock::PROMETHEUS_SERIES.contains(&name) {
        return vec![format!("{series}: `{name}` is not in lakewatch-catalog")];
    }
    let mut out = Vec::new();
    for l in want.difference(&got) {
        out.push(format!("{series}: no `{l}` label (the exporter emits one)"));
    }
    for l in got.difference(&want) {
        out.push(format!("{series}: `{l}` is not a label of `{name}`"));
    }
    out
}

#[derive(serde::Deserialize)]
struct PromtoolFile {
    tests: Vec<PromtoolTest>,
}

#[derive(serde::Deserialize)]
struct PromtoolTest {
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertRuleTest>,
}

#[derive(serde::Deserialize)]
struct AlertRuleTest {
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(serde::Deserialize)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

/// The labels that name what is in trouble, most specific first; `instance` (the
/// exporter) only for alerts about the exporter itself or a host's filesystem.
const TARGET_LABELS: &[&str] = &["target", "server", "name", "mountpoint", "instance"];

#[derive(serde::Deserialize)]
struct InputSeries {
    series: String,
}

#[test]
fn stock_promtool_inputs_have_the_labels_the_exporter_emits() {
    // The checker itself: the old throttling fixture (usage without `cpu`) and an S3
    // series without `target` are what this test exists to catch.
    assert_eq!(
        series_problems(
            r#"container_cpu_usage_seconds_total{id="a",name="n",image="i",instance="h",job="j"}"#
        ),
        [
            r#"container_cpu_usage_seconds_total{id="a",name="n",image="i",instance="h",job="j"}: no `cpu` label (the exporter emits one)"#
        ]
    );
    assert_eq!(series_problems(r#"s3_up{instance="h",job="j"}"#).len(), 1);
    assert_eq!(
        series_problems(r#"trino_up{target="t",tenant="x",instance="h",job="j"}"#).len(),
        1
    );
    assert_eq!(
        series_problems(r#"pg_upp{server="s",instance="h",job="j"}"#).len(),
        1
    );
    assert!(series_problems(r#"lakewatch_s3_probe_duration_seconds_bucket{target="t",op="put",le="+Inf",instance="h",job="j"}"#).is_empty());

    let mut bad = Vec::new();
    let mut count = 0;
    for f in files_under(&repo_root().join("alerts/tests")) {
        let text = std::fs::read_to_string(&f).unwrap();
        let parsed: PromtoolFile =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for t in parsed.tests {
            for s in t.input_series {
                count += 1;
                for p in series_problems(&s.series) {
                    bad.push(format!("{}: {p}", f.display()));
                }
            }
            // Each firing case asserts the rendered summary, and it names the target.
            for case in t.alert_rule_test {
                for a in case.exp_alerts {
                    let summary = a.exp_annotations.get("summary");
                    let target = TARGET_LABELS
                        .iter()
                        .find_map(|l| a.exp_labels.get(*l).map(|v| (*l, v)));
                    match (summary, target) {
                        (Some(s), Some((_, v))) if s.contains(v.as_str()) => {}
                        (s, t) => bad.push(format!(
                            "{}: {}: summary {s:?} does not name the target {t:?}",
                            f.display(),
                            case.alertname
                        )),
                    }
                }
            }
        }
    }
    assert!(count > 50, "only {count} input series");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// ---- Grafana provisioning ---------------------------------------------------------------

/// Grafana's dashboard provider file, as documented at
/// https://grafana.com/docs/grafana/latest/administration/provisioning/#dashboards
/// (`apiVersion: 1`, then `providers:` with these keys). `deny_unknown_fields` makes a
/// key at the wrong level (the lost-indentation bug put `folder` and `options` at the top)
/// or a misspelt one an error, as Grafana would otherwise ignore it silently.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ProvisioningFile {
    #[serde(rename = "apiVersion")]
    api_version: u32,
    providers: Vec<DashboardProvider>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct DashboardProvider {
    name: String,
    org_id: Option<u32>,
    folder: String,
    folder_uid: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    disable_deletion: bool,
    allow_ui_updates: bool,
    update_interval_seconds: u32,
    options: ProviderOptions,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct ProviderOptions {
    path: String,
    folders_from_files_structure: bool,
}

fn read_provisioning(text: &str) -> Result<ProvisioningFile, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}

#[test]
fn grafana_provisioning_parses_as_a_dashboard_provider() {
    let text =
        std::fs::read_to_string(repo_root().join("dashboards/provisioning/lakewatch.yml")).unwrap();
    let file = read_provisioning(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(file.api_version, 1);
    assert_eq!(file.providers.len(), 1);
    let p = &file.providers[0];
    assert_eq!(p.name, "lakewatch");
    assert_eq!(p.kind, "file");
    assert_eq!(p.folder, "Lakewatch");
    assert!(p.update_interval_seconds > 0);
    assert!(p.options.path.starts_with('/'), "{}", p.options.path);
    // The flattened file of the bug (every key at column 0) must not pass.
    let flat: String = text
        .lines()
        .map(|l| format!("{}\n", l.trim_start()))
        .collect();
    assert!(
        read_provisioning(&flat).is_err(),
        "the flattened file parsed:\n{flat}"
    );
}

// ---- dashboards filter by their variables -------------------------------------------------

/// Every stock dashboard variable lists its values without a custom All (Grafana's All is
/// then the regex of the listed values, never `.*`, which would read other exporters'
/// series), and every selector of a metric that carries a variable's label filters by it;
/// table value columns have names.
#[test]
fn stock_dashboards_filter_every_query_by_their_variables() {
    let selector = regex::Regex::new(r"([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}").unwrap();
    let mut bad = Vec::new();
    for d in stock::dashboards().unwrap() {
        let json = dashboard::to_json(&d);
        let vars: Vec<String> = json["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["type"] == "query")
            .map(|v| {
                if v.get("allValue").is_some() {
                    bad.push(format!("{}: variable {} sets allValue", d.title, v["name"]));
                }
                v["name"].as_str().unwrap().to_string()
            })
            .collect();
        assert!(vars.len() >= 3, "{}: only {vars:?}", d.title);
        for p in panels(&json) {
            let title = p["title"].as_str().unwrap_or("");
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().unwrap();
                for c in selector.captures_iter(expr) {
                    let (metric, matchers) = (&c[1], &c[2]);
                    let labels: Vec<&str> = lakewatch_catalog::lookup(metric)
                        .map(|m| m.labels.to_vec())
                        .unwrap_or_default();
                    for v in &vars {
                        // Connections count against the whole server's max_connections,
                        // and backends without a database would vanish under a filter.
                        let server_wide = metric == "pg_stat_activity_count" && v == "datname";
                        let applies = !server_wide
                            && (v == "job" || v == "instance" || labels.contains(&v.as_str()));
                        if applies && !matchers.contains(&format!("{v}=~\"${v}\"")) {
                            bad.push(format!(
                                "{} / {title}: `{metric}` not filtered by ${v}\n  {expr}",
                                d.title
                            ));
                        }
                    }
                }
            }
            if p["type"] == "table" {
                let n = p["targets"].as_array().unwrap().len();
                let renamed = p["transformations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|t| t["id"] == "organize")
                    .and_then(|t| t["options"]["renameByName"].as_object())
                    .map_or(0, |m| m.len());
                if renamed != n {
                    bad.push(format!(
                        "{} / {title}: {renamed} of {n} value columns named",
                        d.title
                    ));
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// ---- Alertmanager inhibitions -----------------------------------------------------------

/// `amtool config routes test` cannot test inhibition (the live lab does); this checks the
/// rules are there as Alertmanager will read them: a target-down alert inhibits SLO alerts
/// with the same `target`, and with the same `server` (PostgresDown has no `target`), each
/// side requiring the label so that "missing on both sides" never counts as equal.
#[test]
fn deploy_alertmanager_inhibits_slo_alerts_by_target_and_by_server() {
    let text = std::fs::read_to_string(repo_root().join("deploy/alertmanager.yml")).unwrap();
    let cfg: Value = serde_saphyr::from_str(&text).unwrap();
    let rules = cfg["inhibit_rules"].as_array().expect("inhibit_rules");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    for label in ["target", "server"] {
        let rule = rules
            .iter()
            .find(|r| strings(&r["equal"]) == [label])
            .unwrap_or_else(|| panic!("no inhibit rule equal on {label}:\n{text}"));
        let present = format!("{label}=~\".+\"");
        assert_eq!(
            strings(&rule["source_matchers"]),
            ["target_down=\"true\"", present.as_str()]
        );
        assert_eq!(
            strings(&rule["target_matchers"]),
            ["slo=~\".+\"", present.as_str()]
        );
    }
    // Every stock alert that says its target is down carries one of those labels.
    let service = stock::load_spec(&spec_text()).unwrap();
    for a in &service.alerts {
        if a.labels.get("target_down").map(String::as_str) == Some("true") {
            let summary = &a.annotations["summary"];
            assert!(
                summary.contains("$labels.target") || summary.contains("$labels.server"),
                "{}: {summary}",
                a.name
            );
        }
    }
    // PagerDuty lists every alert's summary: CommonAnnotations.summary is empty as soon as
    // the group spans targets.
    assert!(!text.contains("CommonAnnotations.summary"), "{text}");
    let description = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("description: '"))
        .and_then(|d| d.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no PagerDuty description:\n{text}"));
    assert!(
        description.contains("range $i, $a := .Alerts"),
        "{description}"
    );
    // amtool renders it with its example notification (two alerts, no summaries): the
    // template parses, and the separator between the two shows it visits every alert.
    let Some(amtool) = amtool() else { return };
    let scratch = Scratch::new("pagerduty-template");
    std::fs::write(
        scratch.path().join("none.tmpl"),
        "{{ define \"none\" }}{{ end }}",
    )
    .unwrap();
    let glob = format!("--template.glob={}/*.tmpl", scratch.path().display());
    let out = amtool_ok(
        &amtool,
        &[
            "template",
            "render",
            &glob,
            &format!("--template.text={description}"),
        ],
    );
    assert_eq!(out.trim_end(), " (): ;", "{description}");
}

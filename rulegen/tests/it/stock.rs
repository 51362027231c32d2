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
};

fn bless() -> bool {
    std::env::var("LAKEWATCH_BLESS").is_ok_and(|v| v == "1")
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
            Origin::Catalog | Origin::Prometheus | Origin::Recorded => {}
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
    let (kept, _) = stock::available(&service).unwrap();
    for g in rules::generate(&kept, SliSource::Spec).unwrap().groups {
        for r in g.rules {
            check_known("stock rule", &r.expr, &recorded, &mut bad);
            count += 1;
        }
    }
    assert!(count > 50, "only {count} queries");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Pending metrics are allowed only in the definitions, never in output, and every metric
/// a definition names is known somewhere: the catalog, Prometheus, or stock::PENDING.
#[test]
fn definitions_read_only_catalog_or_pending_metrics() {
    let none = BTreeSet::new();
    let service = stock::load_spec(&spec_text()).unwrap();
    for a in &service.alerts {
        stock::pending_needs(&a.name, &a.expr, &none).unwrap();
    }
    for d in stock::definitions() {
        for row in &d.rows {
            for p in &row.panels {
                for t in &p.targets {
                    stock::pending_needs(&p.title, &t.expr, &none).unwrap();
                }
            }
        }
    }
    for (collector, names) in stock::PENDING {
        for n in *names {
            if lakewatch_catalog::lookup(n).is_some() {
                eprintln!(
                    "NOTE: `{n}` is in the catalog now; remove it from stock::PENDING ({collector})"
                );
            }
        }
    }
}

fn schema_path() -> Option<PathBuf> {
    let p = repo_root().join("../shared/schemas/grafana/dashboard.jsonschema.json");
    if p.is_file() {
        return Some(p);
    }
    assert!(!ci(), "{} is missing but CI=true", p.display());
    eprintln!("SKIP: {} not found; not validating dashboards", p.display());
    None
}

fn validate_schema(dashboards: &[(String, Value)]) {
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
    // The unit tests run against every stock alert, pending collectors included: promtool
    // does not need the catalog, and this way their tests are proven before they land.
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

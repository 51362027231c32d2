//! Model → Prometheus rule groups (recording and alerting).
//!
//! The recorded series are named in [`crate::series`].
//!
//! Every window of a native or OpenSLO spec is computed from the two 5m *count rates*: `sum_over_time(errors[W]) /
//! sum_over_time(total[W])` is a ratio of (smoothed) event counts, so a busy minute weighs
//! as much as its traffic, unlike the mean of 5m ratios other tools use. The period's
//! window reads the 5m rates through a subquery with a 5m step (each step one
//! non-overlapping 5m tile), which keeps a 30d window at 8,640 points: cheap for
//! Prometheus and under promtool's 10,000-sample limit.
//!
//! Sloth specs are the exception: their windows shorter than the period are recorded as
//! Sloth records them, the SLI's queries over the window, so that their alerts fire at
//! the same evaluations as Sloth's own rules (the sums lag by up to 5m).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};

use crate::duration;
use crate::model::{self, Format, Service, Slo};
use crate::num;
use crate::promql;
use crate::series::{self, SLI_ERRORS_RATE5M as ERRORS, SLI_TOTAL_RATE5M as TOTAL};
use crate::window::{BASE_WINDOW_SECS, BurnWindow, Urgency, ratio_windows};

/// A set of rule groups: the content of one Prometheus rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// The groups, in file order.
    pub groups: Vec<Group>,
}

/// One rule group; rules in a group are evaluated in order, so alerts placed after the
/// recording rules they read always see fresh values.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The group's name, unique in its file.
    pub name: String,
    /// Its rules, in evaluation order.
    pub rules: Vec<Rule>,
    /// The most series (or alerts) any one rule may produce; past it Prometheus fails
    /// that rule's evaluation. Set for grouped SLOs ([`crate::model::Grouping`]).
    pub limit: Option<u64>,
}

/// A recording or alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Recording or alerting, with the name.
    pub kind: RuleKind,
    /// The PromQL expression.
    pub expr: String,
    /// `for:` in seconds (alerts; 0 for none).
    pub for_secs: u64,
    /// Labels added to the result.
    pub labels: BTreeMap<String, String>,
    /// Annotations (alerts only).
    pub annotations: BTreeMap<String, String>,
}

/// What a rule produces.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleKind {
    /// A recording rule and the series it records.
    Record(String),
    /// An alerting rule and its alert name.
    Alert(String),
}

/// Where the SLI's event rates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliSource {
    /// The user's queries (normal output).
    Spec,
    /// Synthetic counters `lakewatch_test_sli_{errors,events}_total{service,slo}`, used by
    /// emitted promtool tests so they can drive any SLI kind with known inputs.
    Synthetic,
}

/// Name of the synthetic error counter used by emitted tests.
pub const TEST_ERRORS_METRIC: &str = "lakewatch_test_sli_errors_total";
/// Name of the synthetic event counter used by emitted tests.
pub const TEST_EVENTS_METRIC: &str = "lakewatch_test_sli_events_total";

/// The period window reads at most this many points (promtool's limit is 10,000).
const MAX_PERIOD_POINTS: u64 = 8640;

/// Generates the rule groups for one service. Every expression is parsed (or is an SLO
/// selector away from one that was, see [`check_templated`]) before it is returned; a
/// failure there is a rulegen bug and is reported as such. The SLIs' rates from the spec
/// were parsed when it was read ([`crate::model::check_sli_rates`]).
pub fn generate(service: &Service, source: SliSource) -> Result<RuleSet, String> {
    let mut groups = Vec::new();
    for slo in &service.slos {
        groups.push(slo_group(service, slo, source)?);
    }
    if !service.alerts.is_empty() {
        let group = threshold_group(service);
        for r in &group.rules {
            promql::check_generated(&r.expr)?;
        }
        groups.push(group);
    }
    Ok(RuleSet { groups })
}

/// The selector every SLO rule reads its own series with.
fn slo_selector(service: &str, slo: &str) -> String {
    format!("{{service=\"{service}\",slo=\"{slo}\"}}")
}

/// Parses a generated expression that holds no user text, unless its template was parsed
/// before: the same expression with the SLO's selector (see [`slo_selector`]) replaced by
/// a fixed one. SLOs with the same period, objective and alerting get the same rules but
/// for the selector's two label values, and swapping a label value for another cannot
/// change whether an expression parses as long as the value is not empty and holds no
/// quote, backslash or line break (validated names never do; others are parsed as they
/// are). So each template is parsed once per thread, not once per SLO: parsing every
/// expression was a third of rulegen's time on large spec sets (issue 9).
fn check_templated(expr: &str, service: &str, slo: &str) -> Result<(), String> {
    thread_local! {
        static PARSED: RefCell<HashSet<String>> = RefCell::default();
    }
    let plain = |v: &str| !v.is_empty() && !v.contains(['"', '\\', '\n', '\r']);
    if !(plain(service) && plain(slo)) {
        return promql::check_generated(expr);
    }
    let template = expr.replace(&slo_selector(service, slo), &slo_selector("_", "_"));
    if PARSED.with_borrow(|p| p.contains(&template)) {
        return Ok(());
    }
    promql::check_generated(expr)?;
    PARSED.with_borrow_mut(|p| p.insert(template));
    Ok(())
}

/// The group name for an SLO.
pub fn slo_group_name(service: &str, slo: &str) -> String {
    format!("slo-{service}-{slo}")
}

fn synthetic_rates(service: &str, slo: &str) -> (String, String) {
    let sel = slo_selector(service, slo);
    (
        format!("(sum(rate({TEST_ERRORS_METRIC}{sel}[5m])) or vector(0))"),
        format!("sum(rate({TEST_EVENTS_METRIC}{sel}[5m]))"),
    )
}

/// Labels on every recording rule of an SLO.
fn record_labels(service: &Service, slo: &Slo) -> BTreeMap<String, String> {
    let mut l = slo.labels.clone();
    l.insert("service".into(), service.name.clone());
    l.insert("slo".into(), slo.name.clone());
    l
}

fn slo_group(service: &Service, slo: &Slo, source: SliSource) -> Result<Group, String> {
    let labels = record_labels(service, slo);
    let sel = slo_selector(&service.name, &slo.name);
    let (errors, total) = match source {
        SliSource::Spec => slo.rates(),
        SliSource::Synthetic => synthetic_rates(&service.name, &slo.name),
    };
    let record = |name: &str, expr: String| Rule {
        kind: RuleKind::Record(name.to_string()),
        expr,
        for_secs: 0,
        labels: labels.clone(),
        annotations: BTreeMap::new(),
    };
    let mut rules = vec![
        record(series::SLI_ERRORS_RATE5M, errors),
        record(series::SLI_TOTAL_RATE5M, total),
    ];
    let pairs = slo.burn_windows();
    // Sloth records each window's ratio from the SLI's own queries over that window;
    // so do we for Sloth specs, so that their alerts fire at the very evaluations
    // Sloth's do (a window summed from 5m rates lags by up to 5m). The spec's queries
    // carry the window placeholder for this. Other formats keep the cheaper sums.
    let per_window = service.format == Format::Sloth
        && source == SliSource::Spec
        && matches!(
            slo.sli,
            model::Sli::Ratio { .. } | model::Sli::ErrorRatio { .. }
        );
    // The rules that hold the spec's queries over another window: parsed when the spec
    // was read with the 5m window, and another valid range cannot change that.
    let mut user_windows = Vec::new();
    for w in ratio_windows(&pairs) {
        let expr = if w == BASE_WINDOW_SECS {
            format!("{ERRORS}{sel}\n/\n{TOTAL}{sel}")
        } else if per_window {
            let (errors, total) = slo.sli.rates_by(w, slo.group_labels());
            user_windows.push(rules.len());
            format!("({errors})\n/\n({total})")
        } else {
            let r = duration::format(w);
            format!("sum_over_time({ERRORS}{sel}[{r}])\n/\nsum_over_time({TOTAL}{sel}[{r}])")
        };
        rules.push(record(&series::error_ratio(w), expr));
    }
    let period = duration::format(slo.period_secs);
    let step = period_step(slo.period_secs);
    rules.push(record(
        &series::error_ratio(slo.period_secs),
        format!(
            "sum_over_time({ERRORS}{sel}[{period}:{step}])\n/\nsum_over_time({TOTAL}{sel}[{period}:{step}])"
        ),
    ));
    let budget = slo.error_budget_str();
    rules.push(record(
        series::OBJECTIVE,
        format!("vector({})", slo.objective_ratio_str()),
    ));
    rules.push(record(series::ERROR_BUDGET, format!("vector({budget})")));
    rules.push(record(
        series::TIME_PERIOD_DAYS,
        format!(
            "vector({})",
            num::format(slo.period_secs as f64 / 86400.0, 6)
        ),
    ));
    rules.push(record(
        series::CURRENT_BURN_RATE,
        format!("{}{sel} / {budget}", series::error_ratio(BASE_WINDOW_SECS)),
    ));
    rules.push(record(
        series::PERIOD_BURN_RATE,
        format!("{}{sel} / {budget}", series::error_ratio(slo.period_secs)),
    ));
    rules.push(record(
        series::PERIOD_ERROR_BUDGET_REMAINING,
        format!("1 - {}{sel}", series::PERIOD_BURN_RATE),
    ));
    let mut info = record(series::INFO, "vector(1)".into());
    info.labels
        .insert("objective".into(), num::format(slo.objective, 6));
    info.labels.insert("period".into(), period);
    info.labels.insert("sli".into(), slo.sli.kind().into());
    rules.push(info);

    for (urgency, alert) in [
        (Urgency::Page, &slo.alerting.page),
        (Urgency::Ticket, &slo.alerting.ticket),
    ] {
        if let Some(alert) = alert {
            let mine: Vec<BurnWindow> = pairs
                .iter()
                .copied()
                .filter(|p| p.urgency == urgency)
                .collect();
            rules.push(burn_alert(service, slo, urgency, alert, &mine, &sel));
        }
    }
    // The spec's rates (and a Sloth spec's windows) hold the user's queries and were
    // parsed when the spec was read (model::check_sli_rates); everything else is built
    // from the selector, windows and numbers.
    let first = match source {
        SliSource::Spec => 2,
        SliSource::Synthetic => 0,
    };
    for (i, r) in rules.iter().enumerate().skip(first) {
        if !user_windows.contains(&i) {
            check_templated(&r.expr, &service.name, &slo.name)?;
        }
    }
    Ok(Group {
        name: slo_group_name(&service.name, &slo.name),
        rules,
        limit: slo.grouping.as_ref().map(|g| g.max_groups),
    })
}

/// Subquery step for the period window: 5m (one tile per 5m rate) unless that would
/// exceed [`MAX_PERIOD_POINTS`], then the next whole minute that fits.
pub fn period_step(period_secs: u64) -> String {
    let min_step = period_secs.div_ceil(MAX_PERIOD_POINTS).div_ceil(60) * 60;
    duration::format(min_step.max(BASE_WINDOW_SECS))
}

fn burn_alert(
    service: &Service,
    slo: &Slo,
    urgency: Urgency,
    alert: &model::BurnAlert,
    pairs: &[BurnWindow],
    sel: &str,
) -> Rule {
    let budget = slo.error_budget_str();
    let terms: Vec<String> = pairs
        .iter()
        .map(|p| {
            let f = p.factor_str();
            let mut t = format!(
                "(\n  {long}{sel} > ({f} * {budget})\n  and\n  {short}{sel} > ({f} * {budget})",
                long = series::error_ratio(p.long_secs),
                short = series::error_ratio(p.short_secs),
            );
            if let Some(min) = slo.alerting.min_events {
                let l = duration::format(p.long_secs);
                t.push_str(&format!(
                    "\n  and\n  avg_over_time({TOTAL}{sel}[{l}]) * {} >= {min}",
                    p.long_secs
                ));
            }
            t.push_str("\n)");
            t
        })
        .collect();
    let mut labels = service.labels.clone();
    labels.extend(slo.labels.clone());
    labels.extend(alert.labels.clone());
    labels.insert("severity".into(), alert.severity.clone());
    labels.insert("urgency".into(), urgency.as_str().into());
    labels.insert("service".into(), service.name.clone());
    labels.insert("slo".into(), slo.name.clone());
    if service.format == Format::Sloth {
        labels.insert("sloth_severity".into(), urgency.as_str().into());
    }
    let mut annotations = BTreeMap::new();
    annotations.insert(
        "summary".into(),
        format!(
            "{}/{} is burning its error budget too fast ({})",
            service.name,
            slo.name,
            urgency.as_str()
        ),
    );
    let pair_text: Vec<String> = pairs
        .iter()
        .map(|p| {
            format!(
                "{}x over {} and {}",
                p.factor_str(),
                duration::format(p.long_secs),
                duration::format(p.short_secs)
            )
        })
        .collect();
    annotations.insert(
        "description".into(),
        format!(
            "The error ratio of {}/{} is above its burn-rate threshold ({}) for an objective of {}% over {}.",
            service.name,
            slo.name,
            pair_text.join(", or "),
            num::format(slo.objective, 6),
            duration::format(slo.period_secs)
        ),
    );
    annotations.extend(alert.annotations.clone());
    Rule {
        kind: RuleKind::Alert(slo.alerting.name.clone()),
        expr: terms.join("\nor\n"),
        for_secs: 0,
        labels,
        annotations,
    }
}

fn threshold_group(service: &Service) -> Group {
    let rules = service
        .alerts
        .iter()
        .map(|a| {
            let mut labels = service.labels.clone();
            labels.extend(a.labels.clone());
            labels.insert("severity".into(), a.severity.clone());
            labels.insert("service".into(), service.name.clone());
            Rule {
                kind: RuleKind::Alert(a.name.clone()),
                expr: a.expr.clone(),
                for_secs: a.for_secs,
                labels,
                annotations: a.annotations.clone(),
            }
        })
        .collect();
    Group {
        name: format!("alerts-{}", service.name),
        rules,
        limit: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Service {
        crate::spec::native::load(
            "s.yml",
            r#"version: lakewatch/v1
service: api
slos:
  - name: avail
    objective: 99.9
    sli:
      ratio:
        errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      min_events: 100
"#,
            &Default::default(),
        )
        .unwrap()
    }

    fn names(g: &Group) -> Vec<String> {
        g.rules
            .iter()
            .map(|r| match &r.kind {
                RuleKind::Record(n) | RuleKind::Alert(n) => n.clone(),
            })
            .collect()
    }

    #[test]
    fn records_every_window_then_meta_then_alerts() {
        let rs = generate(&service(), SliSource::Spec).unwrap();
        assert_eq!(rs.groups.len(), 1);
        let n = names(&rs.groups[0]);
        assert_eq!(
            n[..10],
            [
                "slo:sli_errors:rate5m",
                "slo:sli_total:rate5m",
                "slo:sli_error:ratio_rate5m",
                "slo:sli_error:ratio_rate30m",
                "slo:sli_error:ratio_rate1h",
                "slo:sli_error:ratio_rate2h",
                "slo:sli_error:ratio_rate6h",
                "slo:sli_error:ratio_rate1d",
                "slo:sli_error:ratio_rate3d",
                "slo:sli_error:ratio_rate30d",
            ]
        );
        assert_eq!(
            n.iter()
                .filter(|n| n.as_str() == "ApiAvailErrorBudgetBurn")
                .count(),
            2
        );
    }

    #[test]
    fn long_windows_come_from_counts_not_ratios() {
        let rs = generate(&service(), SliSource::Spec).unwrap();
        let r3d = &rs.groups[0].rules[8];
        assert!(
            r3d.expr.contains("sum_over_time(slo:sli_errors:rate5m"),
            "{}",
            r3d.expr
        );
        assert!(!r3d.expr.contains("ratio_rate5m"), "{}", r3d.expr);
        let period = &rs.groups[0].rules[9];
        assert!(period.expr.contains("[30d:5m]"), "{}", period.expr);
    }

    #[test]
    fn page_alert_uses_the_workbook_pairs_and_the_guard() {
        let rs = generate(&service(), SliSource::Spec).unwrap();
        let page = rs.groups[0]
            .rules
            .iter()
            .find(|r| r.labels.get("urgency").map(String::as_str) == Some("page"))
            .unwrap();
        assert!(
            page.expr.contains(
                "slo:sli_error:ratio_rate1h{service=\"api\",slo=\"avail\"} > (14.4 * 0.001)"
            ),
            "{}",
            page.expr
        );
        assert!(
            page.expr
                .contains("ratio_rate30m{service=\"api\",slo=\"avail\"} > (6 * 0.001)")
        );
        assert!(page.expr.contains("[1h]) * 3600 >= 100"));
        assert_eq!(page.labels["severity"], "critical");
    }

    #[test]
    fn templates_are_parsed_once_and_still_catch_bad_expressions() {
        let expr = |service: &str, slo: &str| {
            format!("templated_check_test{}", slo_selector(service, slo))
        };
        assert_eq!(check_templated(&expr("a", "x"), "a", "x"), Ok(()));
        assert_eq!(check_templated(&expr("b", "y"), "b", "y"), Ok(()));
        // Same template, but a value that ends the string early: parsed, and rejected.
        let e = check_templated(&expr("a\"", "x"), "a\"", "x").unwrap_err();
        assert!(e.contains("a bug"), "{e}");
        let e = check_templated(&format!("{} +", expr("a", "x")), "a", "x").unwrap_err();
        assert!(e.contains("a bug"), "{e}");
    }

    #[test]
    fn period_step_keeps_points_under_promtools_limit() {
        assert_eq!(period_step(30 * 86400), "5m");
        assert_eq!(period_step(7 * 86400), "5m");
        assert_eq!(period_step(90 * 86400), "15m");
    }

    #[test]
    fn latency_matches_both_le_spellings() {
        let (errors, total) = crate::model::Sli::Latency {
            metric: "h".into(),
            matchers: "job=\"a\"".into(),
            le: "1".into(),
        }
        .rates();
        assert!(
            errors.contains("h_bucket{job=\"a\",le=~\"1(\\\\.0)?\"}"),
            "{errors}"
        );
        assert_eq!(total, "sum(rate(h_count{job=\"a\"}[5m]))");
        crate::promql::check_generated(&errors).unwrap();
    }
}

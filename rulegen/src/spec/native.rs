//! The native `lakewatch/v1` format: a service, its SLOs (ratio, latency or availability
//! SLIs) with burn-rate alerting, and plain threshold alerts.
//!
//! ```yaml
//! version: lakewatch/v1
//! service: checkout
//! labels: { team: payments }
//! slos:
//!   - name: requests-availability
//!     objective: 99.9
//!     period: 30d
//!     sli:
//!       ratio:
//!         errors: sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
//!         total: sum(rate(http_requests_total{job="checkout"}[{{.window}}]))
//!     alerting:
//!       runbook_url: https://runbooks.example/checkout
//!       min_events: 100
//! params:                       # optional; substituted into alerts as {{.params.NAME}}
//!   disk_free_bytes: 1e9
//! alerts:
//!   - name: CheckoutDiskFull
//!     expr: node_filesystem_avail_bytes{mountpoint="/data"} < {{.params.disk_free_bytes}}
//!     for: 10m
//!     severity: warning
//! ```
//!
//! `params` keep thresholds in one place (the stock alert pack is tuned by editing them, not
//! by hunting literals through PromQL). A placeholder may appear in an alert's `expr`, `for`,
//! `runbook_url` and annotations; naming an undeclared parameter, or declaring one that no
//! alert uses, is an error (both are almost always typos). `generate --param NAME=VALUE`
//! replaces a declared value for one run (test-sized `for:` durations, a staging
//! threshold) without editing the spec.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{Labels, labels, merged};
use crate::error::{Pos, Problem, Problems, both, each};
use crate::model::{
    self, Alerting, BurnAlert, EventQuery, Format, Service, Sli, Slo, ThresholdAlert,
};

/// The `version` value of this format.
pub const VERSION: &str = "lakewatch/v1";

const DEFAULT_PERIOD: &str = "30d";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    version: Spanned<String>,
    service: Spanned<String>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    params: Option<Spanned<BTreeMap<String, Spanned<Scalar>>>>,
    #[serde(default)]
    slos: Vec<Spanned<RawSlo>>,
    #[serde(default)]
    alerts: Vec<Spanned<RawAlert>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    objective: Spanned<f64>,
    period: Option<Spanned<String>>,
    sli: Spanned<RawSli>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    alerting: Option<RawAlerting>,
    #[serde(default)]
    group_by: Option<Spanned<Vec<Spanned<String>>>>,
    max_groups: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RawSli {
    Ratio {
        errors: Option<Spanned<String>>,
        good: Option<Spanned<String>>,
        total: Spanned<String>,
    },
    Latency {
        metric: Spanned<String>,
        selector: Option<Spanned<String>>,
        threshold: Spanned<Scalar>,
    },
    Availability {
        metric: Spanned<String>,
        selector: Option<Spanned<String>>,
    },
}

/// A YAML scalar that may be written as a number or a string (`0.3` or `300ms`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Scalar {
    Num(f64),
    Text(String),
}

impl Scalar {
    pub(crate) fn text(&self) -> String {
        match self {
            Scalar::Num(n) => format!("{n}"),
            Scalar::Text(t) => t.clone(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerting {
    name: Option<Spanned<String>>,
    page: Option<RawBurnAlert>,
    ticket: Option<RawBurnAlert>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    runbook_url: Option<String>,
    dashboard_url: Option<String>,
    min_events: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBurnAlert {
    #[serde(default = "yes")]
    enabled: bool,
    severity: Option<String>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    name: Spanned<String>,
    expr: Spanned<String>,
    #[serde(rename = "for")]
    for_: Option<Spanned<String>>,
    severity: Option<String>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    runbook_url: Option<String>,
}

/// Parses and validates a native spec; `overrides` replace the values of declared
/// `params` of the same name (names the spec does not declare are ignored here: the
/// caller checks that each override is declared by some spec).
pub fn load(
    file: &str,
    text: &str,
    overrides: &BTreeMap<String, String>,
) -> Result<Service, Problems> {
    load_warning(
        file,
        text,
        overrides,
        model::DEFAULT_SCRAPE_INTERVAL_SECS,
        &mut Vec::new(),
    )
}

/// Threshold alert severities Alertmanager routing knows without a page alert using them.
const KNOWN_SEVERITIES: [&str; 4] = ["critical", "warning", "info", "none"];

/// [`load`], adding warnings about legal but suspicious input to `warnings`: an SLI
/// window of fewer than two scrapes at `scrape_secs`, an objective below 1%, a threshold alert severity that neither is a usual one nor is used by one of
/// the spec's SLO alerts (a typo such as `critcal` would route it as a ticket).
pub fn load_warning(
    file: &str,
    text: &str,
    overrides: &BTreeMap<String, String>,
    scrape_secs: u64,
    warnings: &mut Vec<Problem>,
) -> Result<Service, Problems> {
    let spec: Spec = super::single_document(text)?;
    warnings.extend(spec.slos.iter().filter_map(|s| {
        model::objective_warning(s.value.objective.value, Pos::at(&s.value.objective))
    }));
    warnings.extend(spec.slos.iter().filter_map(|s| {
        model::window_warning(
            "the SLI's 5m window",
            crate::window::BASE_WINDOW_SECS,
            scrape_secs,
            Pos::at(&s.value.sli),
        )
    }));
    let slo_severities: Vec<&str> = spec
        .slos
        .iter()
        .filter_map(|s| s.value.alerting.as_ref())
        .flat_map(|a| [a.page.as_ref(), a.ticket.as_ref()])
        .flatten()
        .filter_map(|b| b.severity.as_deref())
        .collect();
    for a in &spec.alerts {
        if let Some(sev) = a.value.severity.as_deref()
            && !KNOWN_SEVERITIES.contains(&sev)
            && !slo_severities.contains(&sev)
        {
            warnings.push(Problem::new(
                Pos::at(&a.value.name),
                format!(
                    "alert `{}` has severity `{sev}`, which is neither one of {} nor an SLO alert's: Alertmanager routing sends it as a ticket",
                    a.value.name.value,
                    KNOWN_SEVERITIES.join(", ")
                ),
            ));
        }
    }
    let service = model::check_name("service", &spec.service.value, Pos::at(&spec.service))?;
    let service_labels = labels(&spec.labels)?;
    model::check_unique(
        "SLO",
        spec.slos
            .iter()
            .map(|s| (s.value.name.value.as_str(), Pos::at(&s.value.name))),
    )?;
    model::check_unique(
        "alert",
        spec.alerts
            .iter()
            .map(|a| (a.value.name.value.as_str(), Pos::at(&a.value.name))),
    )?;
    if spec.slos.is_empty() && spec.alerts.is_empty() {
        return Err(Problem::new(
            Pos::at(&spec.service),
            "the service has neither `slos` nor `alerts`; nothing to generate",
        )
        .into());
    }
    let slos = each(&spec.slos, |s| slo(&service, &s.value));
    let params = Params::new(spec.params.as_ref(), overrides)?;
    let alerts = each(&spec.alerts, |a| alert(&a.value, &params));
    let (slos, alerts) = both(slos, alerts)?;
    params.check_all_used()?;
    Ok(Service {
        name: service,
        labels: service_labels,
        slos,
        alerts,
        params: params
            .values
            .into_iter()
            .map(|(k, (v, _))| (k, v))
            .collect(),
        format: Format::Native,
        file: file.to_string(),
    })
}

fn slo(service: &str, raw: &RawSlo) -> Result<Slo, Problem> {
    let name = model::check_name("SLO", &raw.name.value, Pos::at(&raw.name))?;
    let objective = model::check_objective(raw.objective.value, Pos::at(&raw.objective))?;
    let period_secs = match &raw.period {
        Some(p) => model::check_period(&p.value, Pos::at(p))?,
        None => model::check_period(DEFAULT_PERIOD, Pos::at(&raw.name))?,
    };
    let grouping = match (&raw.group_by, &raw.max_groups) {
        (Some(g), _) if g.value.is_empty() => {
            return Err(Problem::new(
                Pos::at(g),
                "group_by needs at least one label; leave it out for one objective over all events",
            ));
        }
        (Some(g), max) => Some(model::check_grouping(
            &g.value
                .iter()
                .map(|l| (l.value.clone(), Pos::at(l)))
                .collect::<Vec<_>>(),
            max.as_ref().map(|m| (m.value, Pos::at(m))),
        )?),
        (None, Some(m)) => {
            return Err(Problem::new(Pos::at(m), "max_groups needs group_by"));
        }
        (None, None) => None,
    };
    let group = grouping.as_ref().map_or(&[][..], |g| &g.labels[..]);
    let sli = sli(&raw.sli, group)?;
    let alerting = alerting(service, &name, raw.alerting.as_ref())?;
    Ok(Slo {
        name,
        description: raw.description.trim().to_string(),
        objective,
        period_secs,
        sli,
        labels: labels(&raw.labels)?,
        alerting,
        grouping,
    })
}

fn sli(raw: &Spanned<RawSli>, group: &[String]) -> Result<Sli, Problem> {
    match &raw.value {
        RawSli::Ratio {
            errors,
            good,
            total,
        } => {
            for (what, q) in [
                ("errors query", errors.as_ref()),
                ("good query", good.as_ref()),
                ("total query", Some(total)),
            ] {
                if let Some(q) = q {
                    model::check_keeps_labels(what, &q.value, group, Pos::at(q))?;
                }
            }
            let errors = match (errors, good) {
                (Some(e), None) => EventQuery::Errors(model::check_window_query(
                    "errors query",
                    &e.value,
                    Pos::at(e),
                )?),
                (None, Some(g)) => EventQuery::Good(model::check_window_query(
                    "good query",
                    &g.value,
                    Pos::at(g),
                )?),
                (Some(_), Some(g)) => {
                    return Err(Problem::new(
                        Pos::at(g),
                        "a ratio SLI takes `errors` or `good`, not both",
                    ));
                }
                (None, None) => {
                    return Err(Problem::new(
                        Pos::at(raw),
                        "a ratio SLI needs an `errors` or a `good` query next to `total`",
                    ));
                }
            };
            let total_query =
                model::check_window_query("total query", &total.value, Pos::at(total))?;
            let sli = Sli::Ratio {
                errors,
                total: total_query,
            };
            model::check_sli_rates(&sli, group, Pos::at(raw))?;
            Ok(sli)
        }
        RawSli::Latency {
            metric,
            selector,
            threshold,
        } => {
            let base = metric
                .value
                .strip_suffix("_bucket")
                .unwrap_or(&metric.value);
            check_catalog_kind(base, lakewatch_catalog::Kind::Histogram, Pos::at(metric))?;
            let matchers = model::check_selector(
                &format!("{base}_bucket"),
                selector.as_ref().map(|s| s.value.as_str()),
                selector.as_ref().map(Pos::at).unwrap_or(Pos::at(metric)),
            )?;
            let le = model::check_latency_threshold(&threshold.value.text(), Pos::at(threshold))?;
            let sli = Sli::Latency {
                metric: base.to_string(),
                matchers,
                le,
            };
            model::check_sli_rates(
                &sli,
                group,
                selector.as_ref().map(Pos::at).unwrap_or(Pos::at(metric)),
            )?;
            Ok(sli)
        }
        RawSli::Availability { metric, selector } => {
            check_catalog_kind(
                &metric.value,
                lakewatch_catalog::Kind::Gauge,
                Pos::at(metric),
            )?;
            let matchers = model::check_selector(
                &metric.value,
                selector.as_ref().map(|s| s.value.as_str()),
                selector.as_ref().map(Pos::at).unwrap_or(Pos::at(metric)),
            )?;
            let sli = Sli::Availability {
                metric: metric.value.clone(),
                matchers,
            };
            model::check_sli_rates(
                &sli,
                group,
                selector.as_ref().map(Pos::at).unwrap_or(Pos::at(metric)),
            )?;
            Ok(sli)
        }
    }
}

/// A catalog metric named by a latency or availability SLI must be of the kind the SLI
/// reads; unknown metrics are the user's own and pass.
pub(crate) fn check_catalog_kind(
    metric: &str,
    want: lakewatch_catalog::Kind,
    pos: Pos,
) -> Result<(), Problem> {
    match lakewatch_catalog::lookup(metric) {
        Some(m) if m.kind != want || m.name != metric => Err(Problem::new(
            pos,
            format!(
                "`{metric}` is a {} in the Lakewatch catalog, but this SLI needs a {}",
                m.kind.as_str(),
                want.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

fn alerting(service: &str, slo: &str, raw: Option<&RawAlerting>) -> Result<Alerting, Problem> {
    let default = RawAlerting::default();
    let raw = raw.unwrap_or(&default);
    let name = match &raw.name {
        Some(n) => model::check_alert_name(&n.value, Pos::at(n))?,
        None => model::camel_case(&[service, slo, "error-budget-burn"]),
    };
    let common_labels = labels(&raw.labels)?;
    let mut common_annotations = raw.annotations.clone().unwrap_or_default();
    if let Some(u) = &raw.runbook_url {
        common_annotations.insert("runbook_url".into(), u.clone());
    }
    if let Some(u) = &raw.dashboard_url {
        common_annotations.insert("dashboard_url".into(), u.clone());
    }
    let burn =
        |b: Option<&RawBurnAlert>, default_severity: &str| -> Result<Option<BurnAlert>, Problem> {
            match b {
                Some(b) if !b.enabled => Ok(None),
                _ => Ok(Some(BurnAlert {
                    severity: b
                        .and_then(|b| b.severity.clone())
                        .unwrap_or_else(|| default_severity.to_string()),
                    labels: merged(
                        &common_labels,
                        &b.map(|b| labels(&b.labels))
                            .transpose()?
                            .unwrap_or_default(),
                    ),
                    annotations: merged(
                        &common_annotations,
                        &b.and_then(|b| b.annotations.clone()).unwrap_or_default(),
                    ),
                })),
            }
        };
    let min_events = match &raw.min_events {
        Some(m) if m.value == 0 => {
            return Err(Problem::new(
                Pos::at(m),
                "min_events must be at least 1 (leave it out to disable the low-traffic guard)",
            ));
        }
        Some(m) => Some(m.value),
        None => None,
    };
    Ok(Alerting {
        name,
        page: burn(raw.page.as_ref(), "critical")?,
        ticket: burn(raw.ticket.as_ref(), "warning")?,
        min_events,
    })
}

/// The spec's `params`, rendered as text, with a record of which ones were substituted.
struct Params {
    values: BTreeMap<String, (String, Pos)>,
    used: std::cell::RefCell<std::collections::BTreeSet<String>>,
    pos: Pos,
}

static PARAM: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"\{\{\s*\.params\.([A-Za-z0-9_]*)\s*\}\}").expect("static regex is valid")
});

impl Params {
    fn new(
        raw: Option<&Spanned<BTreeMap<String, Spanned<Scalar>>>>,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Params, Problem> {
        static NAME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"^[a-z_][a-z0-9_]*$").expect("static regex is valid")
        });
        let mut values = BTreeMap::new();
        let pos = raw.map(Pos::at).unwrap_or_default();
        for (k, v) in raw.map(|r| &r.value).into_iter().flatten() {
            if !NAME.is_match(k) {
                return Err(Problem::new(
                    Pos::at(v),
                    format!("parameter name `{k}` must match [a-z_][a-z0-9_]*"),
                ));
            }
            let text = match (&v.value, overrides.get(k)) {
                (_, Some(over)) => over.clone(),
                // Fixed formatting keeps regenerated rules byte-identical.
                (Scalar::Num(n), None) if n.is_finite() => crate::num::format(*n, 12),
                (Scalar::Num(_), None) => {
                    return Err(Problem::new(
                        Pos::at(v),
                        format!("parameter `{k}` must be a finite number or a string"),
                    ));
                }
                (Scalar::Text(t), None) => t.clone(),
            };
            if PARAM.is_match(&text) {
                let how = if overrides.contains_key(k) {
                    " (its value from --param)"
                } else {
                    ""
                };
                return Err(Problem::new(
                    Pos::at(v),
                    format!("parameter `{k}`{how} must not refer to other parameters"),
                ));
            }
            values.insert(k.clone(), (text, Pos::at(v)));
        }
        Ok(Params {
            values,
            used: Default::default(),
            pos,
        })
    }

    /// Replaces every `{{.params.NAME}}` in `text`; an unknown name is an error at `pos`.
    fn fill(&self, text: &str, pos: Pos) -> Result<String, Problem> {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for c in PARAM.captures_iter(text) {
            let whole = c.get(0).expect("capture 0 is the match");
            let name = &c[1];
            let Some((value, _)) = self.values.get(name) else {
                let known: Vec<&str> = self.values.keys().map(String::as_str).collect();
                return Err(Problem::new(
                    pos,
                    format!(
                        "unknown parameter `{name}` (declared under `params`: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            self.used.borrow_mut().insert(name.to_string());
            out.push_str(&text[last..whole.start()]);
            out.push_str(value);
            last = whole.end();
        }
        out.push_str(&text[last..]);
        Ok(out)
    }

    fn check_all_used(&self) -> Result<(), Problem> {
        let used = self.used.borrow();
        match self.values.iter().find(|(k, _)| !used.contains(*k)) {
            Some((k, (_, pos))) => Err(Problem::new(
                if pos.line == 0 { self.pos } else { *pos },
                format!("parameter `{k}` is declared but no alert uses it"),
            )),
            None => Ok(()),
        }
    }
}

fn alert(raw: &RawAlert, params: &Params) -> Result<ThresholdAlert, Problem> {
    let name = model::check_alert_name(&raw.name.value, Pos::at(&raw.name))?;
    let expr_pos = Pos::at(&raw.expr);
    let expr = model::check_query(
        "alert expr",
        &params.fill(&raw.expr.value, expr_pos)?,
        expr_pos,
    )?;
    let for_secs = match &raw.for_ {
        Some(f) => crate::duration::parse(&params.fill(&f.value, Pos::at(f))?)
            .map_err(|e| Problem::new(Pos::at(f), format!("for: {e}")))?,
        None => 0,
    };
    let mut annotations = BTreeMap::new();
    for (k, v) in raw.annotations.clone().unwrap_or_default() {
        annotations.insert(k, params.fill(&v, Pos::at(&raw.name))?);
    }
    if let Some(u) = &raw.runbook_url {
        annotations.insert("runbook_url".into(), params.fill(u, Pos::at(&raw.name))?);
    }
    Ok(ThresholdAlert {
        name,
        expr,
        for_secs,
        severity: raw.severity.clone().unwrap_or_else(|| "warning".into()),
        labels: labels(&raw.labels)?,
        annotations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"version: lakewatch/v1
service: checkout
labels: { team: payments }
slos:
  - name: requests-availability
    objective: 99.9
    sli:
      ratio:
        errors: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total: sum(rate(http_requests_total[{{.window}}]))
  - name: latency
    objective: 99
    period: 7d
    sli:
      latency:
        metric: http_request_duration_seconds
        selector: '{job="checkout"}'
        threshold: 300ms
    alerting:
      ticket: { enabled: false }
      min_events: 50
alerts:
  - name: DiskFull
    expr: node_filesystem_avail_bytes{mountpoint="/"} < 1e9
    for: 10m
"#;

    #[test]
    fn rates_that_do_not_parse_are_an_error_in_the_spec() {
        // Valid alone, but `sum()` of a scalar is not: the recorded rate would not parse.
        let spec = GOOD.replace(
            "errors: sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))",
            "errors: scalar(sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}])))",
        );
        assert_ne!(spec, GOOD);
        let e = load("s.yml", &spec, &BTreeMap::new())
            .unwrap_err()
            .0
            .remove(0);
        assert!(
            e.message.starts_with("SLI is not valid PromQL"),
            "{}",
            e.message
        );
        assert_eq!(e.pos.line, 8);
    }

    #[test]
    fn parses_a_full_spec() {
        let s = load("s.yml", GOOD, &BTreeMap::new()).unwrap();
        assert_eq!(s.name, "checkout");
        assert_eq!(s.labels.get("team").map(String::as_str), Some("payments"));
        assert_eq!(s.slos.len(), 2);
        assert_eq!(s.slos[0].period_secs, 30 * 86400);
        assert_eq!(
            s.slos[0].alerting.name,
            "CheckoutRequestsAvailabilityErrorBudgetBurn"
        );
        assert_eq!(
            s.slos[0].alerting.page.as_ref().unwrap().severity,
            "critical"
        );
        assert_eq!(s.slos[1].period_secs, 7 * 86400);
        assert!(s.slos[1].alerting.ticket.is_none());
        assert_eq!(s.slos[1].alerting.min_events, Some(50));
        match &s.slos[1].sli {
            Sli::Latency { le, matchers, .. } => {
                assert_eq!(le, "0.3");
                assert_eq!(matchers, "job=\"checkout\"");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.alerts[0].for_secs, 600);
    }

    fn err(text: &str) -> Problem {
        load("s.yml", text, &BTreeMap::new())
            .unwrap_err()
            .0
            .remove(0)
    }

    #[test]
    fn errors_point_at_the_value() {
        let e = err(&GOOD.replace("objective: 99.9", "objective: 100"));
        assert_eq!(e.message, "objective must be in (0, 100), got 100");
        assert_eq!((e.pos.line, e.pos.column), (6, 16));
        let e = err(&GOOD.replace("period: 7d", "period: 30m"));
        assert_eq!((e.pos.line, e.pos.column), (13, 13));
        let e = err(&GOOD.replace("[{{.window}}]))\n        total", "[5m]))\n        total"));
        assert!(e.message.contains("placeholder"), "{}", e.message);
        assert_eq!(e.pos.line, 9);
    }

    const PARAMS: &str = r#"version: lakewatch/v1
service: disks
params:
  free_ratio: 0.2
  wait: 10m
alerts:
  - name: DiskLow
    expr: node_filesystem_avail_bytes / node_filesystem_size_bytes < {{ .params.free_ratio }}
    for: "{{.params.wait}}"
    annotations:
      description: below {{.params.free_ratio}} for {{ $labels.mountpoint }}
"#;

    #[test]
    fn params_are_substituted_and_checked() {
        let s = load("s.yml", PARAMS, &BTreeMap::new()).unwrap();
        let a = &s.alerts[0];
        assert_eq!(
            a.expr,
            "node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.2"
        );
        assert_eq!(a.for_secs, 600);
        assert_eq!(
            a.annotations["description"],
            "below 0.2 for {{ $labels.mountpoint }}"
        );
        let e = err(&PARAMS.replace("< {{ .params.free_ratio }}", "< {{.params.free}}"));
        assert!(
            e.message.contains("unknown parameter `free`"),
            "{}",
            e.message
        );
        assert_eq!(e.pos.line, 8);
        let e = err(&PARAMS.replace("for: \"{{.params.wait}}\"", "for: 5m"));
        assert!(
            e.message
                .contains("`wait` is declared but no alert uses it"),
            "{}",
            e.message
        );
        assert_eq!(e.pos.line, 5);
        let e = err(&PARAMS.replace("free_ratio: 0.2", "Free: 0.2"));
        assert!(e.message.contains("parameter name `Free`"), "{}", e.message);
    }

    #[test]
    fn overrides_replace_declared_params_only() {
        let over: BTreeMap<String, String> = [
            ("wait".to_string(), "2s".to_string()),
            ("elsewhere".to_string(), "1".to_string()),
        ]
        .into();
        let s = load("s.yml", PARAMS, &over).unwrap();
        assert_eq!(s.alerts[0].for_secs, 2);
        assert_eq!(s.params["wait"], "2s");
        assert_eq!(s.params["free_ratio"], "0.2", "not overridden");
        assert!(
            !s.params.contains_key("elsewhere"),
            "undeclared: ignored here"
        );
        let bad: BTreeMap<String, String> = [("wait".to_string(), "soon".to_string())].into();
        let e = load("s.yml", PARAMS, &bad).unwrap_err().0.remove(0);
        assert!(
            e.message.contains("`soon` is not a duration"),
            "{}",
            e.message
        );
        assert_eq!(e.pos.line, 9, "reported where the parameter is used");
        let nested: BTreeMap<String, String> =
            [("wait".to_string(), "{{.params.free_ratio}}".to_string())].into();
        let e = load("s.yml", PARAMS, &nested).unwrap_err().0.remove(0);
        assert!(
            e.message.contains("(its value from --param)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn catalog_mismatches_are_rejected() {
        let e = err(&GOOD.replace(
            "node_filesystem_avail_bytes{mountpoint=\"/\"}",
            "node_filesystem_avail_bytes{mount=\"/\"}",
        ));
        assert!(e.message.contains("no label `mount`"), "{}", e.message);
        let e = err(&GOOD.replace(
            "http_request_duration_seconds",
            "node_filesystem_avail_bytes",
        ));
        assert!(e.message.contains("is a gauge"), "{}", e.message);
    }
}

//! OpenSLO `openslo/v1`: `SLO` documents with an inline indicator (`ratioMetric` or
//! `thresholdMetric` with Prometheus queries), one rolling `timeWindow`, `Occurrences`,
//! `Timeslices` or `RatioTimeslices` budgeting and one objective. `Service` documents are accepted and only checked.
//! Everything else OpenSLO can express (calendar windows, `indicatorRef`, alert policies, data-source references, composite SLOs) is rejected
//! with a message naming the feature: silently ignoring it would generate rules that do
//! not mean what the spec says. Alerting uses Lakewatch's defaults (page and ticket).

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use crate::error::{Pos, Problem, Problems};
use crate::model::{self, Alerting, BurnAlert, EventQuery, Format, Service, Sli, SliceBudget, Slo};
use crate::window;

/// The `apiVersion` value of this format.
pub const API_VERSION: &str = "openslo/v1";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Doc {
    api_version: Spanned<String>,
    kind: Spanned<String>,
    metadata: Metadata,
    spec: Spanned<DocSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    name: Spanned<String>,
    #[allow(dead_code)]
    display_name: Option<IgnoredAny>,
    #[allow(dead_code)]
    labels: Option<IgnoredAny>,
    #[allow(dead_code)]
    annotations: Option<IgnoredAny>,
}

/// The union of the `spec` fields of the kinds we read (serde's tagged enums would lose
/// the spans we need, see serde-saphyr's `Spanned` docs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DocSpec {
    description: Option<String>,
    service: Option<Spanned<String>>,
    indicator: Option<Indicator>,
    indicator_ref: Option<Spanned<IgnoredAny>>,
    time_window: Option<Spanned<Vec<Spanned<TimeWindow>>>>,
    budgeting_method: Option<Spanned<String>>,
    objectives: Option<Spanned<Vec<Spanned<Objective>>>>,
    alert_policies: Option<Spanned<IgnoredAny>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Indicator {
    #[allow(dead_code)]
    metadata: Option<IgnoredAny>,
    spec: Spanned<IndicatorSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IndicatorSpec {
    #[allow(dead_code)]
    description: Option<IgnoredAny>,
    ratio_metric: Option<Spanned<RatioMetric>>,
    threshold_metric: Option<MetricHolder>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RatioMetric {
    #[serde(default)]
    counter: bool,
    good: Option<MetricHolder>,
    bad: Option<MetricHolder>,
    total: MetricHolder,
    raw_type: Option<Spanned<IgnoredAny>>,
    raw: Option<Spanned<IgnoredAny>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricHolder {
    metric_source: Spanned<MetricSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct MetricSource {
    metric_source_ref: Option<Spanned<IgnoredAny>>,
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    spec: SourceSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSpec {
    query: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TimeWindow {
    duration: Spanned<String>,
    is_rolling: Option<bool>,
    calendar: Option<Spanned<IgnoredAny>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Objective {
    #[allow(dead_code)]
    display_name: Option<IgnoredAny>,
    op: Option<Spanned<String>>,
    value: Option<Spanned<f64>>,
    target: Option<Spanned<f64>>,
    target_percent: Option<Spanned<f64>>,
    time_slice_target: Option<Spanned<f64>>,
    time_slice_window: Option<Spanned<String>>,
    indicator: Option<Spanned<IgnoredAny>>,
    indicator_ref: Option<Spanned<IgnoredAny>>,
}

fn unsupported<T>(what: &Spanned<T>, feature: &str) -> Problem {
    Problem::new(
        Pos::at(what),
        format!("OpenSLO {feature} is not supported by lakewatch-rulegen"),
    )
}

/// Parses OpenSLO documents into services (grouping SLOs by `spec.service`).
pub fn load(file: &str, text: &str) -> Result<Vec<Service>, Problems> {
    load_warning(
        file,
        text,
        model::DEFAULT_SCRAPE_INTERVAL_SECS,
        &mut Vec::new(),
    )
}

/// [`load`], adding to `warnings` every SLI window (the 5m base window, a
/// `timeSliceWindow`) that holds fewer than two scrapes at `scrape_secs`.
pub fn load_warning(
    file: &str,
    text: &str,
    scrape_secs: u64,
    warnings: &mut Vec<Problem>,
) -> Result<Vec<Service>, Problems> {
    let docs: Vec<Doc> = serde_saphyr::from_multiple(text).map_err(|e| Problem::from_yaml(&e))?;
    let mut services: Vec<Service> = Vec::new();
    let mut names = Vec::new();
    let mut problems = Vec::new();
    for doc in &docs {
        if doc.api_version.value != API_VERSION {
            problems.push(Problem::new(
                Pos::at(&doc.api_version),
                format!("every document must be `apiVersion: {API_VERSION}`"),
            ));
            continue;
        }
        match doc.kind.value.as_str() {
            "Service" => {
                if let Err(p) = model::check_name(
                    "service",
                    &doc.metadata.name.value,
                    Pos::at(&doc.metadata.name),
                ) {
                    problems.push(p);
                }
            }
            "SLO" => {
                names.push((
                    doc.metadata.name.value.as_str(),
                    Pos::at(&doc.metadata.name),
                ));
                if let Some(i) = &doc.spec.value.indicator {
                    warnings.extend(model::window_warning(
                        "the SLI's 5m window",
                        window::BASE_WINDOW_SECS,
                        scrape_secs,
                        Pos::at(&i.spec),
                    ));
                }
                let slices = doc.spec.value.objectives.iter().flat_map(|o| &o.value);
                for w in slices.filter_map(|o| o.value.time_slice_window.as_ref()) {
                    if let Ok(secs) = crate::duration::parse(&w.value) {
                        warnings.extend(model::window_warning(
                            "timeSliceWindow",
                            secs,
                            scrape_secs,
                            Pos::at(w),
                        ));
                    }
                }
                let (service, slo) = match slo(doc) {
                    Ok(s) => s,
                    Err(p) => {
                        problems.push(p);
                        continue;
                    }
                };
                match services.iter_mut().find(|s| s.name == service) {
                    Some(s) => s.slos.push(slo),
                    None => services.push(Service {
                        name: service,
                        labels: Default::default(),
                        slos: vec![slo],
                        alerts: Vec::new(),
                        params: Default::default(),
                        format: Format::OpenSlo,
                        file: file.to_string(),
                    }),
                }
            }
            other => {
                problems.push(Problem::new(
                    Pos::at(&doc.kind),
                    format!(
                        "OpenSLO kind `{other}` is not supported: put the SLI inline in an SLO (kinds read: SLO, Service)"
                    ),
                ));
            }
        }
    }
    if let Err(p) = model::check_unique("SLO", names) {
        problems.push(p);
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.pos);
        return Err(Problems(problems));
    }
    if services.is_empty() {
        return Err(Problem::new(
            Pos { line: 1, column: 1 },
            "no `kind: SLO` document; nothing to generate",
        )
        .into());
    }
    Ok(services)
}

fn slo(doc: &Doc) -> Result<(String, Slo), Problem> {
    let spec = &doc.spec.value;
    let name = model::check_name("SLO", &doc.metadata.name.value, Pos::at(&doc.metadata.name))?;
    let service = match &spec.service {
        Some(s) => model::check_name("service", &s.value, Pos::at(s))?,
        None => {
            return Err(Problem::new(
                Pos::at(&doc.spec),
                "an SLO needs `spec.service`",
            ));
        }
    };
    if let Some(r) = &spec.indicator_ref {
        return Err(unsupported(r, "`indicatorRef`; put the indicator inline"));
    }
    if let Some(a) = &spec.alert_policies {
        return Err(unsupported(
            a,
            "`alertPolicies` (rulegen generates multi-window burn-rate alerts itself)",
        ));
    }
    let Some(method) = &spec.budgeting_method else {
        return Err(Problem::new(
            Pos::at(&doc.spec),
            "an SLO needs `budgetingMethod` (Occurrences, Timeslices or RatioTimeslices)",
        ));
    };
    let period_secs = time_window(spec, &doc.spec)?;
    let (objective, threshold) = objective(spec, &doc.spec)?;
    let Some(indicator) = &spec.indicator else {
        return Err(Problem::new(
            Pos::at(&doc.spec),
            "an SLO needs an inline `indicator`",
        ));
    };
    let sli = time_slices(method, spec, sli(&indicator.spec, threshold)?)?;
    model::check_sli_rates(&sli, &[], Pos::at(&indicator.spec))?;
    Ok((
        service.clone(),
        Slo {
            alerting: Alerting {
                name: model::camel_case(&[&service, &name, "error-budget-burn"]),
                page: Some(default_alert("critical")),
                ticket: Some(default_alert("warning")),
                min_events: None,
            },
            name,
            description: spec
                .description
                .clone()
                .unwrap_or_default()
                .trim()
                .to_string(),
            objective,
            period_secs,
            sli,
            labels: Default::default(),
            grouping: None,
        },
    ))
}

fn default_alert(severity: &str) -> BurnAlert {
    BurnAlert {
        severity: severity.into(),
        labels: Default::default(),
        annotations: Default::default(),
    }
}

fn time_window(spec: &DocSpec, at: &Spanned<DocSpec>) -> Result<u64, Problem> {
    let Some(tw) = &spec.time_window else {
        return Err(Problem::new(
            Pos::at(at),
            "an SLO needs a rolling `timeWindow`",
        ));
    };
    let [w] = tw.value.as_slice() else {
        return Err(Problem::new(
            Pos::at(tw),
            "exactly one `timeWindow` is supported",
        ));
    };
    if let Some(c) = &w.value.calendar {
        return Err(unsupported(
            c,
            "calendar-aligned `timeWindow` (only rolling windows)",
        ));
    }
    if w.value.is_rolling == Some(false) {
        return Err(Problem::new(
            Pos::at(w),
            "only rolling time windows (`isRolling: true`) are supported",
        ));
    }
    model::check_period(&w.value.duration.value, Pos::at(&w.value.duration))
}

/// The objective in percent, and for threshold SLIs the comparison that makes a sample bad.
fn objective(spec: &DocSpec, at: &Spanned<DocSpec>) -> Result<(f64, Option<String>), Problem> {
    let Some(objs) = &spec.objectives else {
        return Err(Problem::new(Pos::at(at), "an SLO needs `objectives`"));
    };
    let [o] = objs.value.as_slice() else {
        return Err(Problem::new(
            Pos::at(objs),
            "exactly one objective per SLO is supported; split the others into their own SLOs",
        ));
    };
    let ov = &o.value;
    for (f, name) in [
        (&ov.indicator, "a per-objective `indicator`"),
        (&ov.indicator_ref, "a per-objective `indicatorRef`"),
    ] {
        if let Some(f) = f {
            return Err(unsupported(f, name));
        }
    }
    let percent = match (&ov.target, &ov.target_percent) {
        (Some(t), None) => model::check_objective(t.value * 100.0, Pos::at(t)).map_err(|_| {
            Problem::new(
                Pos::at(t),
                format!("target must be in (0, 1), got {}", t.value),
            )
        })?,
        (None, Some(p)) => model::check_objective(p.value, Pos::at(p))?,
        _ => {
            return Err(Problem::new(
                Pos::at(o),
                "an objective needs exactly one of `target` or `targetPercent`",
            ));
        }
    };
    let threshold = match (&ov.op, &ov.value) {
        (Some(op), Some(v)) => {
            // The objective states when a sample is good; we select the bad ones.
            let bad = match op.value.as_str() {
                "lt" => ">=",
                "lte" => ">",
                "gt" => "<=",
                "gte" => "<",
                other => {
                    return Err(Problem::new(
                        Pos::at(op),
                        format!("op `{other}` must be one of lt, lte, gt, gte"),
                    ));
                }
            };
            Some(format!("{bad} {}", v.value))
        }
        (None, None) => None,
        (Some(op), None) => return Err(Problem::new(Pos::at(op), "`op` needs a `value`")),
        (None, Some(v)) => return Err(Problem::new(Pos::at(v), "`value` needs an `op`")),
    };
    Ok((percent, threshold))
}

/// The SLI as the budgeting method counts it: events (`Occurrences`) or time slices of
/// `timeSliceWindow` (`Timeslices`: good when the slice's good ratio reaches
/// `timeSliceTarget`; `RatioTimeslices`: the slices' good ratios averaged).
fn time_slices(method: &Spanned<String>, spec: &DocSpec, per_slice: Sli) -> Result<Sli, Problem> {
    // `objective` checked there is exactly one.
    let Some(o) = spec.objectives.as_ref().and_then(|o| o.value.first()) else {
        return Ok(per_slice);
    };
    let (target, window) = (&o.value.time_slice_target, &o.value.time_slice_window);
    let budget = match method.value.as_str() {
        "Occurrences" => {
            if let Some(x) = target {
                return Err(Problem::new(
                    Pos::at(x),
                    "`timeSliceTarget` is for `budgetingMethod: Timeslices`",
                ));
            }
            if let Some(x) = window {
                return Err(Problem::new(
                    Pos::at(x),
                    "`timeSliceWindow` is for `budgetingMethod: Timeslices` or `RatioTimeslices`",
                ));
            }
            return Ok(per_slice);
        }
        "Timeslices" => match target {
            Some(t) if t.value > 0.0 && t.value <= 1.0 => SliceBudget::Good(t.value),
            Some(t) => {
                return Err(Problem::new(
                    Pos::at(t),
                    format!("timeSliceTarget must be in (0, 1], got {}", t.value),
                ));
            }
            None => {
                return Err(Problem::new(
                    Pos::at(o),
                    "`budgetingMethod: Timeslices` needs `timeSliceTarget`: the good ratio that makes a slice good",
                ));
            }
        },
        "RatioTimeslices" => {
            if let Some(t) = target {
                return Err(Problem::new(
                    Pos::at(t),
                    "`timeSliceTarget` is for `budgetingMethod: Timeslices`; RatioTimeslices averages the slices' ratios",
                ));
            }
            SliceBudget::Ratio
        }
        other => {
            return Err(Problem::new(
                Pos::at(method),
                format!(
                    "budgetingMethod `{other}` must be one of Occurrences, Timeslices, RatioTimeslices"
                ),
            ));
        }
    };
    let Some(w) = window else {
        return Err(Problem::new(
            Pos::at(o),
            format!(
                "`budgetingMethod: {}` needs `timeSliceWindow`",
                method.value
            ),
        ));
    };
    let slice_secs = crate::duration::parse(&w.value)
        .map_err(|e| Problem::new(Pos::at(w), format!("timeSliceWindow: {e}")))?;
    // Every 5m window (the shortest alert window, and the tiles the period is counted
    // in) must hold whole slices.
    if slice_secs == 0
        || !slice_secs.is_multiple_of(60)
        || !window::BASE_WINDOW_SECS.is_multiple_of(slice_secs)
    {
        return Err(Problem::new(
            Pos::at(w),
            format!(
                "timeSliceWindow `{}` must be 1m, 5m or another whole number of minutes that divides 5m",
                w.value
            ),
        ));
    }
    Ok(Sli::TimeSlices {
        per_slice: Box::new(per_slice),
        slice_secs,
        budget,
    })
}

fn sli(spec: &Spanned<IndicatorSpec>, threshold: Option<String>) -> Result<Sli, Problem> {
    match (
        &spec.value.ratio_metric,
        &spec.value.threshold_metric,
        threshold,
    ) {
        (Some(r), None, None) => ratio(r),
        (None, Some(t), Some(bad_when)) => {
            let q = prometheus_query(t)?;
            let query = model::check_query("thresholdMetric query", &q.value, Pos::at(q))?;
            Ok(Sli::Threshold { query, bad_when })
        }
        (None, Some(t), None) => Err(Problem::new(
            Pos::at(&t.metric_source),
            "a thresholdMetric needs `op` and `value` on its objective",
        )),
        (Some(r), None, Some(_)) => Err(Problem::new(
            Pos::at(r),
            "a ratioMetric objective takes no `op`/`value`",
        )),
        _ => Err(Problem::new(
            Pos::at(spec),
            "the indicator needs exactly one of `ratioMetric` or `thresholdMetric`",
        )),
    }
}

fn ratio(r: &Spanned<RatioMetric>) -> Result<Sli, Problem> {
    let rv = &r.value;
    if let Some(x) = rv.raw.as_ref().or(rv.raw_type.as_ref()) {
        return Err(unsupported(x, "`raw` ratio metrics"));
    }
    let query = |h: &MetricHolder, what: &str| -> Result<String, Problem> {
        let q = prometheus_query(h)?;
        if rv.counter {
            // A counter selector: we apply rate() ourselves.
            let sel = model::check_selector_expr(&q.value, Pos::at(q))?;
            let templ = format!("sum(rate({sel}[{}]))", model::WINDOW_PLACEHOLDER);
            model::check_window_query(what, &templ, Pos::at(q))
        } else {
            model::check_window_query(what, &q.value, Pos::at(q))
        }
    };
    let errors = match (&rv.good, &rv.bad) {
        (Some(g), None) => EventQuery::Good(query(g, "good query")?),
        (None, Some(b)) => EventQuery::Errors(query(b, "bad query")?),
        _ => {
            return Err(Problem::new(
                Pos::at(r),
                "a ratioMetric needs exactly one of `good` or `bad`, and `total`",
            ));
        }
    };
    Ok(Sli::Ratio {
        errors,
        total: query(&rv.total, "total query")?,
    })
}

fn prometheus_query(h: &MetricHolder) -> Result<&Spanned<String>, Problem> {
    let src = &h.metric_source;
    if let Some(r) = &src.value.metric_source_ref {
        return Err(unsupported(
            r,
            "`metricSourceRef`; give `type: Prometheus` inline",
        ));
    }
    match &src.value.kind {
        Some(k) if k.value.eq_ignore_ascii_case("prometheus") => Ok(&src.value.spec.query),
        Some(k) => Err(Problem::new(
            Pos::at(k),
            format!(
                "metric source type `{}` is not supported: only Prometheus",
                k.value
            ),
        )),
        None => Err(Problem::new(
            Pos::at(src),
            "the metric source needs `type: Prometheus`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"apiVersion: openslo/v1
kind: SLO
metadata:
  name: web-availability
spec:
  service: web
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 28d
      isRolling: true
  objectives:
    - target: 0.995
  indicator:
    metadata: { name: web-good }
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource: { type: Prometheus, spec: { query: 'http_requests_total{job="web",code!~"5.."}' } }
        total:
          metricSource: { type: Prometheus, spec: { query: 'http_requests_total{job="web"}' } }
"#;

    #[test]
    fn reads_a_counter_ratio_slo() {
        let s = load("s.yml", SPEC).unwrap();
        assert_eq!(s[0].name, "web");
        let slo = &s[0].slos[0];
        assert_eq!(slo.period_secs, 28 * 86400);
        assert!((slo.objective - 99.5).abs() < 1e-9);
        match &slo.sli {
            Sli::Ratio {
                errors: EventQuery::Good(g),
                total,
            } => {
                assert_eq!(
                    g,
                    "sum(rate(http_requests_total{job=\"web\",code!~\"5..\"}[{{.window}}]))"
                );
                assert!(total.starts_with("sum(rate(http_requests_total{job=\"web\"}"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejects_unsupported_features_by_name() {
        let e = load("s.yml", &SPEC.replace("Occurrences", "Timeslices"))
            .unwrap_err()
            .0
            .remove(0);
        assert!(
            e.message.contains("needs `timeSliceTarget`"),
            "{}",
            e.message
        );
        assert_eq!(e.pos.line, 12);
        let e = load(
            "s.yml",
            &SPEC.replace("isRolling: true", "isRolling: false"),
        )
        .unwrap_err()
        .0
        .remove(0);
        assert!(e.message.contains("rolling"), "{}", e.message);
    }
}

//! Sloth's `prometheus/v1` spec, so Sloth users can switch without rewriting their SLOs.
//!
//! Kept from Sloth: `events` queries with `{{.window}}`, `raw` error-ratio queries, the
//! alert name shared by page and ticket alerts, their labels and annotations, and the
//! `sloth_id`/`sloth_service`/`sloth_slo`/`sloth_severity` labels existing Alertmanager
//! routes and dashboards select on. Sloth has no period in the spec (it is a CLI flag,
//! 30d by default): so here (`--default-slo-period`). SLI and SLO plugins run Go code
//! inside Sloth and are rejected.
//!
//! Sloth's Kubernetes resource (`apiVersion: sloth.slok.dev/v1`, `kind:
//! PrometheusServiceLevel`) holds the same spec under `spec:`, its keys in camelCase
//! (`errorQuery`, `pageAlert`); the types below take both spellings rather than being
//! written twice, so a snake_case key in the resource is accepted too.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::{Labels, labels, merged};
use crate::error::{Pos, Problem, Problems, each};
use crate::model::{self, Alerting, BurnAlert, EventQuery, Format, Service, Sli, Slo};

/// The `version` value of this format.
pub const VERSION: &str = "prometheus/v1";

/// The `apiVersion` of Sloth's Kubernetes resource.
pub const KUBERNETES_API_VERSION: &str = "sloth.slok.dev/v1";

/// The `kind` of Sloth's Kubernetes resource.
pub const KUBERNETES_KIND: &str = "PrometheusServiceLevel";

/// Sloth's default period (its `--default-slo-period`), 30 days.
pub const DEFAULT_PERIOD_SECS: u64 = 30 * 86400;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    #[allow(dead_code)]
    version: Spanned<String>,
    service: Spanned<String>,
    #[serde(default)]
    labels: Labels,
    slo_plugins: Option<Spanned<IgnoredAny>>,
    slos: Vec<Spanned<RawSlo>>,
}

/// Sloth's Kubernetes resource, `PrometheusServiceLevel`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Resource {
    #[allow(dead_code)]
    api_version: Spanned<String>,
    kind: Spanned<String>,
    #[allow(dead_code)]
    metadata: Option<IgnoredAny>,
    spec: Spanned<ResourceSpec>,
    #[allow(dead_code)]
    status: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ResourceSpec {
    service: Spanned<String>,
    #[serde(default)]
    labels: Labels,
    slo_plugins: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    slos: Vec<Spanned<RawSlo>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlo {
    name: Spanned<String>,
    objective: Spanned<f64>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    labels: Labels,
    plugins: Option<Spanned<IgnoredAny>>,
    sli: Spanned<RawSli>,
    alerting: Spanned<RawAlerting>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSli {
    events: Option<Events>,
    raw: Option<Raw>,
    plugin: Option<Spanned<IgnoredAny>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Events {
    #[serde(alias = "errorQuery")]
    error_query: Spanned<String>,
    #[serde(alias = "totalQuery")]
    total_query: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(alias = "errorRatioQuery")]
    error_ratio_query: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlerting {
    name: Option<Spanned<String>>,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(alias = "pageAlert")]
    page_alert: Option<RawAlert>,
    #[serde(alias = "ticketAlert")]
    ticket_alert: Option<RawAlert>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlert {
    #[serde(default)]
    disable: bool,
    #[serde(default)]
    labels: Labels,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// Parses and validates a Sloth spec (one YAML document); its SLOs get `period_secs`.
pub fn load(file: &str, text: &str, period_secs: u64) -> Result<Service, Problems> {
    load_warning(
        file,
        text,
        period_secs,
        model::DEFAULT_SCRAPE_INTERVAL_SECS,
        &mut Vec::new(),
    )
}

/// [`load`], adding warnings about legal but suspicious input to `warnings`.
pub fn load_warning(
    file: &str,
    text: &str,
    period_secs: u64,
    scrape_secs: u64,
    warnings: &mut Vec<Problem>,
) -> Result<Service, Problems> {
    let spec: Spec = super::single_document(text)?;
    service(
        file,
        &spec.service,
        &spec.labels,
        &spec.slo_plugins,
        &spec.slos,
        Run {
            period_secs,
            scrape_secs,
        },
        warnings,
    )
}

/// Parses and validates Sloth's Kubernetes resource (one YAML document), as
/// [`load_warning`].
pub fn load_kubernetes(
    file: &str,
    text: &str,
    period_secs: u64,
    scrape_secs: u64,
    warnings: &mut Vec<Problem>,
) -> Result<Service, Problems> {
    let r: Resource = super::single_document(text)?;
    if r.kind.value != KUBERNETES_KIND {
        return Err(Problems::from(Problem::new(
            Pos::at(&r.kind),
            format!(
                "unsupported kind `{}`: `apiVersion: {KUBERNETES_API_VERSION}` takes `kind: {KUBERNETES_KIND}`",
                r.kind.value
            ),
        )));
    }
    let spec = &r.spec.value;
    service(
        file,
        &spec.service,
        &spec.labels,
        &spec.slo_plugins,
        &spec.slos,
        Run {
            period_secs,
            scrape_secs,
        },
        warnings,
    )
}

/// What the command line gives a Sloth spec: its period (Sloth specs have none) and the
/// scrape interval its windows are checked against.
#[derive(Clone, Copy)]
struct Run {
    period_secs: u64,
    scrape_secs: u64,
}

fn service(
    file: &str,
    name: &Spanned<String>,
    service_labels: &Labels,
    slo_plugins: &Option<Spanned<IgnoredAny>>,
    raw_slos: &[Spanned<RawSlo>],
    run: Run,
    warnings: &mut Vec<Problem>,
) -> Result<Service, Problems> {
    let Run {
        period_secs,
        scrape_secs,
    } = run;
    if let Some(p) = slo_plugins {
        return Err(plugins_refused(p).into());
    }
    let service = model::check_name("service", &name.value, Pos::at(name))?;
    model::check_unique(
        "SLO",
        raw_slos
            .iter()
            .map(|s| (s.value.name.value.as_str(), Pos::at(&s.value.name))),
    )?;
    if raw_slos.is_empty() {
        return Err(Problem::new(Pos::at(name), "`slos` is empty; nothing to generate").into());
    }
    let service_labels = labels(service_labels)?;
    warnings.extend(raw_slos.iter().filter_map(|s| {
        model::objective_warning(s.value.objective.value, Pos::at(&s.value.objective))
    }));
    warnings.extend(raw_slos.iter().filter_map(|s| {
        model::window_warning(
            "the SLI's 5m window",
            crate::window::BASE_WINDOW_SECS,
            scrape_secs,
            Pos::at(&s.value.sli),
        )
    }));
    let slos = each(raw_slos, |s| slo(&service, &s.value, period_secs))?;
    Ok(Service {
        name: service,
        labels: service_labels,
        slos,
        alerts: Vec::new(),
        params: BTreeMap::new(),
        format: Format::Sloth,
        file: file.to_string(),
    })
}

fn plugins_refused(p: &Spanned<IgnoredAny>) -> Problem {
    Problem::new(
        Pos::at(p),
        "Sloth SLO plugins are not supported: they run Go code inside Sloth; remove them (Lakewatch's rules need none of the default ones)",
    )
}

fn slo(service: &str, raw: &RawSlo, period_secs: u64) -> Result<Slo, Problem> {
    if let Some(p) = &raw.plugins {
        return Err(plugins_refused(p));
    }
    let name = model::check_name("SLO", &raw.name.value, Pos::at(&raw.name))?;
    let objective = model::check_objective(raw.objective.value, Pos::at(&raw.objective))?;
    let sli = sli(&raw.sli)?;
    model::check_sli_rates(&sli, &[], Pos::at(&raw.sli))?;
    let mut slo_labels = labels(&raw.labels)?;
    slo_labels.insert("sloth_id".into(), format!("{service}-{name}"));
    slo_labels.insert("sloth_service".into(), service.to_string());
    slo_labels.insert("sloth_slo".into(), name.clone());
    let alerting = alerting(&raw.alerting)?;
    Ok(Slo {
        name,
        description: raw.description.trim().to_string(),
        objective,
        period_secs,
        sli,
        labels: slo_labels,
        alerting,
        grouping: None,
    })
}

fn sli(raw: &Spanned<RawSli>) -> Result<Sli, Problem> {
    let s = &raw.value;
    if let Some(p) = &s.plugin {
        return Err(Problem::new(
            Pos::at(p),
            "Sloth SLI plugins are not supported: rewrite the SLI as `events` (error_query and total_query) or `raw`",
        ));
    }
    match (&s.events, &s.raw) {
        (Some(e), None) => Ok(Sli::Ratio {
            errors: EventQuery::Errors(model::check_window_query(
                "error_query",
                &e.error_query.value,
                Pos::at(&e.error_query),
            )?),
            total: model::check_window_query(
                "total_query",
                &e.total_query.value,
                Pos::at(&e.total_query),
            )?,
        }),
        (None, Some(r)) => Ok(Sli::ErrorRatio {
            query: model::check_window_query(
                "error_ratio_query",
                &r.error_ratio_query.value,
                Pos::at(&r.error_ratio_query),
            )?,
        }),
        _ => Err(Problem::new(
            Pos::at(raw),
            "a Sloth SLI needs exactly one of `events` or `raw`",
        )),
    }
}

fn alerting(raw: &Spanned<RawAlerting>) -> Result<Alerting, Problem> {
    let a = &raw.value;
    let default = RawAlert::default();
    let page = a.page_alert.as_ref().unwrap_or(&default);
    let ticket = a.ticket_alert.as_ref().unwrap_or(&default);
    let name = match &a.name {
        Some(n) => model::check_alert_name(&n.value, Pos::at(n))?,
        None if page.disable && ticket.disable => "SloBurnRate".to_string(),
        None => {
            return Err(Problem::new(
                Pos::at(raw),
                "alerting.name is required unless both page_alert and ticket_alert are disabled",
            ));
        }
    };
    let common_labels = labels(&a.labels)?;
    let common_annotations = a.annotations.clone().unwrap_or_default();
    let burn = |b: &RawAlert, default_severity: &str| -> Result<Option<BurnAlert>, Problem> {
        if b.disable {
            return Ok(None);
        }
        let l = merged(&common_labels, &labels(&b.labels)?);
        Ok(Some(BurnAlert {
            // Sloth users route on their own `severity` label when they set one.
            severity: l
                .get("severity")
                .cloned()
                .unwrap_or_else(|| default_severity.into()),
            labels: l,
            annotations: merged(
                &common_annotations,
                &b.annotations.clone().unwrap_or_default(),
            ),
        }))
    };
    Ok(Alerting {
        name,
        page: burn(page, "critical")?,
        ticket: burn(ticket, "warning")?,
        min_events: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r##"version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Common SLO based on availability for HTTP request responses."
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels:
        category: "availability"
      annotations:
        summary: "High error rate on 'myservice' requests responses"
      page_alert:
        labels:
          severity: pageteam
          routing_key: myteam
      ticket_alert:
        labels:
          severity: "slack"
          slack_channel: "#alerts-myteam"
"##;

    #[test]
    fn keeps_sloth_names_and_labels() {
        let s = load("s.yml", SPEC, DEFAULT_PERIOD_SECS).unwrap();
        let slo = &s.slos[0];
        assert_eq!(slo.period_secs, 30 * 86400);
        assert_eq!(slo.labels["sloth_id"], "myservice-requests-availability");
        assert_eq!(slo.alerting.name, "MyServiceHighErrorRate");
        let page = slo.alerting.page.as_ref().unwrap();
        assert_eq!(page.severity, "pageteam");
        assert_eq!(page.labels["category"], "availability");
        assert_eq!(
            page.annotations["summary"],
            "High error rate on 'myservice' requests responses"
        );
        assert_eq!(
            slo.alerting.ticket.as_ref().unwrap().labels["slack_channel"],
            "#alerts-myteam"
        );
    }

    #[test]
    fn plugins_are_rejected_with_their_position() {
        let text = SPEC.replace(
            "      events:\n        error_query",
            "      plugin:\n        id: x\n      events:\n        error_query",
        );
        let e = load("s.yml", &text, DEFAULT_PERIOD_SECS)
            .unwrap_err()
            .0
            .remove(0);
        assert!(
            e.message.contains("plugins are not supported"),
            "{}",
            e.message
        );
        assert_eq!(e.pos.line, 11);
    }
}

//! The validated SLO and alert model: what every generator (rules, Alertmanager routes,
//! dashboards, promtool tests) trusts. Each input format converts its raw, span-carrying
//! types into this model through the checks below, so nothing here is optional that
//! validation already resolved, and no generator needs to re-check user input.

use std::collections::BTreeMap;

use crate::{duration, window};

mod check;
pub use check::{
    DEFAULT_SCRAPE_INTERVAL_SECS, camel_case, check_alert_name, check_grouping, check_keeps_labels,
    check_labels, check_latency_threshold, check_name, check_objective, check_period, check_query,
    check_selector, check_selector_expr, check_sli_rates, check_unique, check_window_query,
    fill_window, objective_warning, window_warning,
};

/// The placeholder a ratio query uses for its range (Sloth's spelling, so Sloth queries
/// work unchanged).
pub const WINDOW_PLACEHOLDER: &str = "{{.window}}";

/// Which input format a service was read from; Sloth inputs keep Sloth's labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The native Lakewatch spec.
    Native,
    /// A Sloth `prometheus/v1` spec.
    Sloth,
    /// An OpenSLO `v1` document set.
    OpenSlo,
}

/// A service: its SLOs and plain threshold alerts. One rule file (or CRD, or Mimir
/// namespace) is generated per service.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// The service name (label `service` on every rule).
    pub name: String,
    /// Team/ownership labels; they go on every alert so Alertmanager can route on them.
    pub labels: BTreeMap<String, String>,
    /// Its objectives, in spec order.
    pub slos: Vec<Slo>,
    /// Its threshold alerts, in spec order.
    pub alerts: Vec<ThresholdAlert>,
    /// The native spec's `params` as substituted (after `--param` overrides); empty for
    /// the formats that have none.
    pub params: BTreeMap<String, String>,
    /// The format it was read from.
    pub format: Format,
    /// The spec file it came from (for messages).
    pub file: String,
}

/// One service level objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// The SLO name, unique in its service (label `slo`).
    pub name: String,
    /// What the SLO promises, in words (shown on dashboards).
    pub description: String,
    /// Target in percent, in (0, 100).
    pub objective: f64,
    /// The compliance period in seconds (e.g. 30 days).
    pub period_secs: u64,
    /// How good and bad events are counted.
    pub sli: Sli,
    /// Extra labels on every rule of this SLO (recording and alerting).
    pub labels: BTreeMap<String, String>,
    /// Its burn-rate alerts.
    pub alerting: Alerting,
    /// With `group_by`: one objective per value of these labels, each with its own error
    /// budget and alerts; `None` for one objective over all events.
    pub grouping: Option<Grouping>,
}

/// The labels a grouped SLO (native `group_by`) keeps through its SLI rates, recording
/// rules and alerts, and the bound on how many groups it may have.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouping {
    /// The label names, in spec order.
    pub labels: Vec<String>,
    /// The most series any of the SLO's rules may produce (the rule group's `limit`):
    /// past it Prometheus fails the rule rather than record an unbounded number of series.
    pub max_groups: u64,
}

/// `max_groups` when the spec gives none: Pyrra's routes or tenants, not user IDs.
pub const DEFAULT_MAX_GROUPS: u64 = 100;

impl Slo {
    /// The error budget as a ratio (`0.001` for 99.9%).
    pub fn error_budget(&self) -> f64 {
        1.0 - self.objective / 100.0
    }

    /// The budget as written into PromQL, free of float noise.
    pub fn error_budget_str(&self) -> String {
        crate::num::format(self.error_budget(), 12)
    }

    /// The objective as a ratio string (`0.999`).
    pub fn objective_ratio_str(&self) -> String {
        crate::num::format(self.objective / 100.0, 12)
    }

    /// The multi-window burn-rate pairs for this SLO's period.
    pub fn burn_windows(&self) -> Vec<window::BurnWindow> {
        window::burn_windows(self.period_secs)
    }

    /// The labels the SLO is grouped by (none when it is not grouped).
    pub fn group_labels(&self) -> &[String] {
        self.grouping.as_ref().map_or(&[], |g| &g.labels)
    }

    /// [`Sli::rates`], kept per group when the SLO is grouped.
    pub fn rates(&self) -> (String, String) {
        self.sli
            .rates_by(window::BASE_WINDOW_SECS, self.group_labels())
    }
}

/// How good and bad events are counted. Every kind is reduced by the rule generator to two
/// per-second rates over 5m (errors and total); all longer windows derive from those.
#[derive(Debug, Clone, PartialEq)]
pub enum Sli {
    /// Event counts from two queries, each containing [`WINDOW_PLACEHOLDER`].
    Ratio {
        /// Bad events, or good ones to subtract from the total.
        errors: EventQuery,
        /// All events.
        total: String,
    },
    /// Share of histogram observations at or under a bucket boundary.
    Latency {
        /// Histogram base name (without `_bucket`).
        metric: String,
        /// Label matchers without braces (`job="api"`), possibly empty.
        matchers: String,
        /// The bucket boundary as Prometheus formats `le`.
        le: String,
    },
    /// A 0/1 gauge (`up`, `probe_success`): each sample is one event, 0 is bad.
    Availability {
        /// The gauge's name.
        metric: String,
        /// Label matchers without braces (`job="api"`), possibly empty.
        matchers: String,
    },
    /// Samples of a query, bad when they meet a comparison (OpenSLO `thresholdMetric`).
    Threshold {
        /// The query whose samples are judged.
        query: String,
        /// PromQL comparison that selects bad samples, e.g. `> 0.3`.
        bad_when: String,
    },
    /// A query that already yields an error ratio (Sloth `raw`); averaged over time, the
    /// best that can be done without counts.
    ErrorRatio {
        /// The query yielding the ratio, containing [`WINDOW_PLACEHOLDER`].
        query: String,
    },
    /// OpenSLO's time-slice budgeting: time is cut into slices of `slice_secs` (aligned
    /// to multiples of it), each judged by `per_slice` over that slice; the events are
    /// the slices. See [`SliceBudget`].
    TimeSlices {
        /// The SLI computed over each slice (a ratio or threshold SLI).
        per_slice: Box<Sli>,
        /// The slice length in seconds (`timeSliceWindow`).
        slice_secs: u64,
        /// What a slice counts for.
        budget: SliceBudget,
    },
}

/// What one time slice contributes to the SLI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SliceBudget {
    /// OpenSLO `Timeslices`: a slice is good when its good ratio is at least
    /// `timeSliceTarget` (this value, in (0, 1]); the SLI is good slices over all slices.
    Good(f64),
    /// OpenSLO `RatioTimeslices`: the SLI is the mean of the slices' good ratios.
    Ratio,
}

impl Sli {
    /// Errors and total, each as events per second over the last 5m: what the rules
    /// record as `slo:sli_errors:rate5m` and `slo:sli_total:rate5m`.
    pub fn rates(&self) -> (String, String) {
        self.rates_by(window::BASE_WINDOW_SECS, &[])
    }

    /// Errors and total per second over a window of `secs`, summed by `group` (summed
    /// over everything when it is empty).
    pub fn rates_by(&self, secs: u64, group: &[String]) -> (String, String) {
        let w = duration::format(secs);
        let sum = if group.is_empty() {
            "sum".to_string()
        } else {
            format!("sum by ({}) ", group.join(", "))
        };
        // An error counter that has never been incremented often does not exist yet:
        // without a fallback the ratio would be empty, not 0. Ungrouped, that is
        // `vector(0)`; grouped, 0 for each group the total has (`vector(0)` has no
        // group labels and would match none).
        let zero = |total: &str| {
            if group.is_empty() {
                "vector(0)".to_string()
            } else {
                format!("0 * {total}")
            }
        };
        match self {
            Sli::Ratio { errors, total } => {
                let total = format!("{sum}({})", fill_window(total, &w));
                let errors = match errors {
                    EventQuery::Errors(q) => {
                        format!("({sum}({}) or {})", fill_window(q, &w), zero(&total))
                    }
                    EventQuery::Good(q) => {
                        format!(
                            "{total} - ({sum}({}) or {})",
                            fill_window(q, &w),
                            zero(&total)
                        )
                    }
                };
                (errors, total)
            }
            Sli::Latency {
                metric,
                matchers,
                le,
            } => {
                let sep = if matchers.is_empty() { "" } else { "," };
                // Prometheus 2 keeps `le` as exposed ("1"), OpenMetrics and Prometheus 3 write
                // "1.0": match both for whole numbers.
                let le_matcher = if le.contains('.') {
                    format!("le=\"{le}\"")
                } else {
                    format!("le=~\"{le}(\\\\.0)?\"")
                };
                let total = format!("{sum}(rate({metric}_count{{{matchers}}}[{w}]))");
                let good =
                    format!("{sum}(rate({metric}_bucket{{{matchers}{sep}{le_matcher}}}[{w}]))");
                (format!("{total} - ({good} or {})", zero(&total)), total)
            }
            Sli::Availability { metric, matchers } => {
                let sel = format!("{metric}{{{matchers}}}");
                let total = format!("{sum}(count_over_time({sel}[{w}])) / {secs}");
                let errors = format!(
                    "({sum}(count_over_time({sel}[{w}])) - {sum}(sum_over_time({sel}[{w}]))) / {secs}"
                );
                (errors, total)
            }
            Sli::Threshold { query, bad_when } => {
                let total = format!("{sum}(count_over_time(({query})[{w}:1m])) / {secs}");
                let errors = format!(
                    "({sum}(count_over_time(({query} {bad_when})[{w}:1m])) or {}) / {secs}",
                    zero(&format!("{sum}(count_over_time(({query})[{w}:1m]))"))
                );
                (errors, total)
            }
            Sli::ErrorRatio { query } => (
                format!("{sum}({})", fill_window(query, &w)),
                "vector(1)".to_string(),
            ),
            Sli::TimeSlices {
                per_slice,
                slice_secs,
                budget,
            } => {
                // Each slice's error ratio, evaluated at the slice's end; a slice without
                // events (0/0) is dropped by `>= 0` rather than counted either way.
                let (e, t) = per_slice.rates_by(*slice_secs, group);
                let ratio = format!("({e}) / ({t}) >= 0");
                let slice = match budget {
                    SliceBudget::Good(target) => {
                        format!("{ratio} > bool {}", crate::num::format(1.0 - target, 12))
                    }
                    SliceBudget::Ratio => ratio,
                };
                // The slices ending in the last `secs`: a subquery stepping one slice,
                // over 1s less than the window so that exactly `secs / slice` of them are
                // read whether the range is closed at its start (Prometheus 2) or open
                // (Prometheus 3); the 5m tiles of the period window then count every
                // slice once.
                let range = format!(
                    "{}:{}",
                    duration::format(secs - 1),
                    duration::format(*slice_secs)
                );
                (
                    format!("sum_over_time(({slice})[{range}]) / {secs}"),
                    format!("count_over_time(({slice})[{range}]) / {secs}"),
                )
            }
        }
    }
}

impl Sli {
    /// The kind's name as used in `slo:info` and `explain`.
    pub fn kind(&self) -> &'static str {
        match self {
            Sli::Ratio { .. } => "ratio",
            Sli::Latency { .. } => "latency",
            Sli::Availability { .. } => "availability",
            Sli::Threshold { .. } => "threshold",
            Sli::ErrorRatio { .. } => "error_ratio",
            Sli::TimeSlices {
                budget: SliceBudget::Good(_),
                ..
            } => "timeslices",
            Sli::TimeSlices {
                budget: SliceBudget::Ratio,
                ..
            } => "ratio_timeslices",
        }
    }
}

/// The "bad" side of a ratio SLI: counted directly, or as total minus good.
#[derive(Debug, Clone, PartialEq)]
pub enum EventQuery {
    /// The query counts bad events.
    Errors(String),
    /// The query counts good events; bad ones are total minus good.
    Good(String),
}

/// Burn-rate alerting for one SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerting {
    /// Alert name shared by the page and ticket alerts (as Sloth does); `urgency` and
    /// `severity` labels tell them apart.
    pub name: String,
    /// The fast-burn alert that pages, if any.
    pub page: Option<BurnAlert>,
    /// The slow-burn alert that opens a ticket, if any.
    pub ticket: Option<BurnAlert>,
    /// Low-traffic guard: alerts need at least this many events in their long window.
    pub min_events: Option<u64>,
}

/// One of the page/ticket alerts, with labels and annotations already merged from the
/// common and specific parts of the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnAlert {
    /// Label `severity` of the alert.
    pub severity: String,
    /// Labels of the alert.
    pub labels: BTreeMap<String, String>,
    /// Annotations of the alert.
    pub annotations: BTreeMap<String, String>,
}

/// A plain threshold alert (disk full, connections near the limit, …).
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdAlert {
    /// Alert name.
    pub name: String,
    /// PromQL condition.
    pub expr: String,
    /// How long the condition must hold before the alert fires (`for:`), in seconds.
    pub for_secs: u64,
    /// Label `severity` of the alert.
    pub severity: String,
    /// Labels of the alert.
    pub labels: BTreeMap<String, String>,
    /// Annotations of the alert (summary, description, runbook_url, …).
    pub annotations: BTreeMap<String, String>,
}

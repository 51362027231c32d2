//! Collectors: one file per source. Each collector reads one target and returns a
//! [`Fragment`] of catalog samples; the scheduler runs it on its own interval and timeout.

pub mod container;
pub mod disk;
pub mod postgres;
pub mod s3;
pub mod trino;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lakewatch_catalog::{Kind, Metric};

use crate::config::schedule::Schedule;
use crate::error_kind::ErrorKind;

/// A boxed future, so collectors can be stored as `Box<dyn Collector>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One source of metrics for one target, run repeatedly by the scheduler.
pub trait Collector: Send {
    /// Collector name, the `collector` label of self-metrics (`disk`, `postgres`, ...).
    fn name(&self) -> &'static str;
    /// Target name, the `target` label of self-metrics (`localhost` for host sources).
    fn target(&self) -> &str;
    /// Runs one collection cycle. The scheduler drops the future when the timeout
    /// expires, so implementations must leave themselves usable after cancellation.
    fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>>;
    /// Closes what the collector keeps open and waits until it is closed; a reload
    /// calls it on a job it stops, before a replacement opens its own. The default
    /// has nothing to wait for: dropping the collector is enough.
    fn close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// A collector and when to run it.
pub struct Job {
    /// Its interval and timeout.
    pub schedule: Schedule,
    /// The collector, owning its target's state between cycles.
    pub collector: Box<dyn Collector>,
    /// What the collector was built from, apart from the schedule when only the
    /// scheduler uses it. A reload keeps a running job whose new settings are equal.
    pub settings: Settings,
}

/// Stands in for the schedule in the settings of collectors that never read it, so an
/// interval or timeout change keeps them running: the scheduler applies it.
pub(crate) const SCHEDULER_ONLY: Schedule = Schedule {
    interval: std::time::Duration::ZERO,
    timeout: std::time::Duration::ZERO,
};

/// A job's validated settings, compared on a reload: equal settings mean the running
/// collector keeps its connection, counters and timing; different ones mean it is
/// replaced. Type-erased so each collector compares its own settings type.
#[derive(Clone)]
pub struct Settings(Option<Arc<dyn AnyEq>>);

impl Settings {
    /// Settings compared with `==` on a reload.
    pub fn of<T: PartialEq + Send + Sync + 'static>(value: T) -> Settings {
        Settings(Some(Arc::new(value)))
    }

    /// Settings equal to nothing: a reload always replaces the job (tests' collectors).
    pub fn opaque() -> Settings {
        Settings(None)
    }
}

impl PartialEq for Settings {
    fn eq(&self, other: &Settings) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => a.eq_any(b.as_ref()),
            _ => false,
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The values may hold secrets (Secret's own Debug redacts, but stay safe).
        f.write_str(if self.0.is_some() {
            "Settings(..)"
        } else {
            "Settings(opaque)"
        })
    }
}

/// `PartialEq` across types: values of different types are never equal.
trait AnyEq: std::any::Any + Send + Sync {
    fn as_any(&self) -> &dyn std::any::Any;
    fn eq_any(&self, other: &dyn AnyEq) -> bool;
}

impl<T: PartialEq + Send + Sync + 'static> AnyEq for T {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn eq_any(&self, other: &dyn AnyEq) -> bool {
        other
            .as_any()
            .downcast_ref::<T>()
            .is_some_and(|o| self == o)
    }
}

/// Why a cycle failed. `kind` becomes the `kind` label of
/// `lakewatch_collector_errors_total`.
#[derive(Debug, Clone)]
pub struct CollectError {
    /// The error's kind.
    pub kind: ErrorKind,
    /// What went wrong, for the log (never a secret).
    pub message: String,
    /// Series to publish despite the failure, e.g. `pg_up 0`: what a user's existing
    /// "target down" alert expects. Everything else of the target is dropped.
    pub fragment: Fragment,
}

impl CollectError {
    /// An error of `kind` without series.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CollectError {
            kind,
            message: message.into(),
            fragment: Fragment::default(),
        }
    }

    /// Attaches series to publish for the failed cycle.
    pub fn with_fragment(mut self, fragment: Fragment) -> Self {
        self.fragment = fragment;
        self
    }
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for CollectError {}

/// A cumulative histogram in the shape OpenMetrics writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Upper bounds (ascending, ending with +Inf) and the count in each bucket (not
    /// cumulative: the encoder accumulates).
    pub buckets: Vec<(f64, u64)>,
    /// Sum of the observations.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

/// A sample's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A plain number.
    Number(f64),
    /// A histogram, shared rather than copied between snapshots.
    Histogram(Arc<Histogram>),
}

/// One family ready to be encoded: a name that is not in the catalog, a type our encoder
/// writes, and samples with their label pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The OpenMetrics family name: for counters without the `_total` the encoder
    /// appends, otherwise the sample name.
    pub name: String,
    /// Counter, Gauge, Histogram or Unknown (never Info).
    pub kind: Kind,
    /// Help text, already safe to write on a `# HELP` line.
    pub help: String,
    /// Its series.
    pub samples: Vec<FamilySample>,
}

impl Family {
    /// The name users query: the counter's `_total` series, otherwise the family name.
    pub fn query_name(&self) -> String {
        match self.kind {
            Kind::Counter => format!("{}_total", self.name),
            _ => self.name.clone(),
        }
    }
}

/// One series of a pass-through family.
#[derive(Debug, Clone, PartialEq)]
pub struct FamilySample {
    /// Label pairs, sorted by name (never `le` for histograms: that is in the value).
    pub labels: Vec<(String, String)>,
    /// Its value.
    pub value: Value,
}

/// One series: a catalog metric, its label values (in the catalog's label order) and
/// a value. Info metrics carry value 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The catalog entry.
    pub metric: &'static Metric,
    /// Label values in the order of `metric.labels`.
    pub labels: Vec<String>,
    /// Its value.
    pub value: Value,
    /// Labels beyond the catalog's, as `(name, value)`, written after them: the
    /// user-allow-listed Docker labels of `lakewatch_container_info`, and a Postgres
    /// target's `labels:` (validated not to clash with the catalog's).
    pub extra_labels: Vec<(String, String)>,
}

/// A cycle's result with a target's `labels:` added ([`Fragment::add_labels`]), whether
/// it succeeded or not.
pub(crate) fn with_labels(
    result: Result<Fragment, CollectError>,
    extra: &[(String, String)],
) -> Result<Fragment, CollectError> {
    match result {
        Ok(mut f) => {
            f.add_labels(extra);
            Ok(f)
        }
        Err(mut e) => {
            e.fragment.add_labels(extra);
            Err(e)
        }
    }
}

/// Everything one collector cycle produced for one target.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fragment {
    /// The catalog series.
    pub samples: Vec<Sample>,
    /// Families re-exported from an upstream exposition under their own names (never
    /// catalog names: [`crate::passthrough`] drops those). The only way to emit a
    /// metric the catalog does not declare, and only for allow-listed upstream families.
    pub passthrough: Vec<Family>,
}

impl Fragment {
    /// Adds a gauge, counter, unknown or info sample. The label values must be given in
    /// the catalog's order; a mismatch is a programming error caught in debug builds and
    /// by the exporter's tests.
    pub fn push<L: Into<String>>(
        &mut self,
        metric: &'static Metric,
        labels: impl IntoIterator<Item = L>,
        value: f64,
    ) {
        debug_assert_ne!(metric.kind, Kind::Histogram, "{}", metric.name);
        self.push_value(metric, labels, Value::Number(value));
    }

    /// Adds a histogram sample.
    pub fn push_histogram<L: Into<String>>(
        &mut self,
        metric: &'static Metric,
        labels: impl IntoIterator<Item = L>,
        histogram: Arc<Histogram>,
    ) {
        debug_assert_eq!(metric.kind, Kind::Histogram, "{}", metric.name);
        self.push_value(metric, labels, Value::Histogram(histogram));
    }

    fn push_value<L: Into<String>>(
        &mut self,
        metric: &'static Metric,
        labels: impl IntoIterator<Item = L>,
        value: Value,
    ) {
        let labels: Vec<String> = labels.into_iter().map(Into::into).collect();
        debug_assert_eq!(
            labels.len(),
            metric.labels.len(),
            "{} takes labels {:?}",
            metric.name,
            metric.labels
        );
        self.samples.push(Sample {
            metric,
            labels,
            value,
            extra_labels: Vec::new(),
        });
    }

    /// Adds a target's `labels:` to every series: after the catalog's labels of each
    /// sample, and to each pass-through sample that does not have that label already
    /// (the upstream's own value wins, as with Prometheus' `honor_labels: true`).
    pub fn add_labels(&mut self, extra: &[(String, String)]) {
        if extra.is_empty() {
            return;
        }
        for s in &mut self.samples {
            s.extra_labels.extend(extra.iter().cloned());
        }
        for family in &mut self.passthrough {
            for s in &mut family.samples {
                for (k, v) in extra {
                    if !s.labels.iter().any(|(n, _)| n == k) {
                        s.labels.push((k.clone(), v.clone()));
                    }
                }
                s.labels.sort();
            }
        }
    }

    /// Adds an info sample with extra labels after the catalog's (names must already be
    /// valid Prometheus label names, distinct from the catalog's).
    pub fn push_info_with<L: Into<String>>(
        &mut self,
        metric: &'static Metric,
        labels: impl IntoIterator<Item = L>,
        extra_labels: Vec<(String, String)>,
    ) {
        debug_assert_eq!(metric.kind, Kind::Info, "{}", metric.name);
        self.push_value(metric, labels, Value::Number(1.0));
        if let Some(last) = self.samples.last_mut() {
            last.extra_labels = extra_labels;
        }
    }
}

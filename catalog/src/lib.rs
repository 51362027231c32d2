//! Every metric Lakewatch can emit: its name (exactly as Prometheus stores it), type, unit,
//! help text and label names.
//!
//! This crate is the single source of truth shared by the exporter (which may only emit
//! metrics declared here, with exactly these labels), by rulegen (which type-checks SLOs
//! and builds dashboards against it) and by the README's metrics reference (generated from
//! [`markdown_reference`]). It does no I/O and has no dependencies.
//!
//! It is not a registry: it holds descriptions, never values. It also holds the Prometheus
//! rules everyone checks against: [`name`] for metric and label names, [`duration`] for
//! durations.

#![warn(missing_docs)]

/// Declares a catalog entry: a `pub static` [`Metric`] whose documentation is its name and
/// help text, so both are written once. `m` is the declaring module's constructor (it sets
/// the [`Source`]); unit and other settings chain as on [`Metric`]:
/// `metric!(PG_UP = m(Kind::Gauge, "pg_up", "Whether …", SERVER));`
macro_rules! metric {
    ($(#[$attr:meta])* $id:ident = m($kind:expr, $name:literal, $help:literal, $labels:expr $(,)?) $(.$method:ident($($arg:expr),* $(,)?))*) => {
        #[doc = concat!("`", $name, "`: ", $help)]
        $(#[$attr])*
        pub static $id: $crate::Metric = m($kind, $name, $help, $labels) $(.$method($($arg),*))*;
    };
}

mod container;
mod disk;
pub mod duration;
mod exporter;
pub mod name;
mod postgres;
mod postgres_optin;
mod postgres_server;
mod postgres_tables;
mod s3;
mod trino;

pub use container::*;
pub use disk::*;
pub use exporter::*;
pub use postgres::*;
pub use postgres_optin::*;
pub use postgres_server::*;
pub use postgres_tables::*;
pub use s3::*;
pub use trino::*;

/// The OpenMetrics type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic counter; its sample name ends in `_total`.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Cumulative histogram: `_bucket{le}`, `_sum`, `_count` samples.
    Histogram,
    /// Constant 1 carrying labels; its sample name ends in `_info`.
    Info,
    /// A counter-like value whose de-facto name has no `_total` (postgres_exporter's
    /// `pg_stat_database_xact_commit` and friends). OpenMetrics `unknown` allows any name,
    /// so the series keeps the name every existing dashboard queries.
    Unknown,
}

impl Kind {
    /// The word used on a `# TYPE` line in OpenMetrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Info => "info",
            Kind::Unknown => "unknown",
        }
    }
}

/// Which part of Lakewatch emits a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The exporter's own health and build metrics.
    Exporter,
    /// Host filesystems and block devices (node_exporter-compatible).
    Disk,
    /// Docker containers (cAdvisor-compatible, plus Docker facts).
    Container,
    /// Postgres servers (postgres_exporter-compatible).
    Postgres,
    /// Object storage: bucket usage (MinIO-compatible) and canary probes.
    S3,
    /// Trino coordinators, from the REST API.
    Trino,
}

impl Source {
    /// Human-readable section title used in the metrics reference.
    pub fn title(self) -> &'static str {
        match self {
            Source::Exporter => "Exporter self-metrics",
            Source::Disk => "Disks (node_exporter-compatible)",
            Source::Container => "Containers (cAdvisor-compatible)",
            Source::Postgres => "Postgres (postgres_exporter-compatible)",
            Source::S3 => "S3 / MinIO (bucket usage MinIO v2-compatible)",
            Source::Trino => "Trino",
        }
    }
}

/// A metric family declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// The name users query: for counters including `_total`, for info metrics including
    /// `_info`, for histograms the base name without `_bucket`/`_sum`/`_count`.
    pub name: &'static str,
    /// The family's type.
    pub kind: Kind,
    /// OpenMetrics unit (`bytes`, `seconds`, …); when set, the name ends with it.
    pub unit: Option<&'static str>,
    /// The `# HELP` text.
    pub help: &'static str,
    /// Label names, in the order collectors supply values.
    pub labels: &'static [&'static str],
    /// Which collector emits it.
    pub source: Source,
}

impl Metric {
    const fn new(
        source: Source,
        kind: Kind,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Metric {
        Metric {
            name,
            kind,
            unit: None,
            help,
            labels,
            source,
        }
    }

    /// Declares the unit (the name must end in `_<unit>` before any type suffix).
    pub const fn unit(mut self, unit: &'static str) -> Metric {
        self.unit = Some(unit);
        self
    }

    /// The OpenMetrics family name: the sample name without the type suffix that
    /// encoders append (`_total` for counters, `_info` for info metrics).
    ///
    /// ```
    /// use lakewatch_catalog::{COLLECTOR_ERRORS, BUILD_INFO, FILESYSTEM_SIZE};
    /// assert_eq!(COLLECTOR_ERRORS.family_name(), "lakewatch_collector_errors");
    /// assert_eq!(BUILD_INFO.family_name(), "lakewatch_build");
    /// assert_eq!(FILESYSTEM_SIZE.family_name(), "node_filesystem_size_bytes");
    /// ```
    pub fn family_name(&self) -> &'static str {
        let suffix = match self.kind {
            Kind::Counter => "_total",
            Kind::Info => "_info",
            _ => "",
        };
        self.name.strip_suffix(suffix).unwrap_or(self.name)
    }

    /// The family name without the unit suffix (what an OpenMetrics encoder that appends
    /// the unit itself needs).
    ///
    /// ```
    /// assert_eq!(lakewatch_catalog::FILESYSTEM_SIZE.base_name(), "node_filesystem_size");
    /// ```
    pub fn base_name(&self) -> &'static str {
        let family = self.family_name();
        match self.unit {
            Some(unit) => family
                .strip_suffix(unit)
                .and_then(|s| s.strip_suffix('_'))
                .unwrap_or(family),
            None => family,
        }
    }

    /// Names of the series this family produces, as Prometheus stores them.
    ///
    /// ```
    /// let m = lakewatch_catalog::lookup("trino_query_execution_time_seconds").unwrap();
    /// assert_eq!(
    ///     m.series_names(),
    ///     [
    ///         "trino_query_execution_time_seconds_bucket",
    ///         "trino_query_execution_time_seconds_sum",
    ///         "trino_query_execution_time_seconds_count",
    ///     ]
    /// );
    /// ```
    pub fn series_names(&self) -> Vec<String> {
        match self.kind {
            Kind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect(),
            _ => vec![self.name.to_string()],
        }
    }
}

/// Every metric the exporter can emit, grouped by source, in reference order.
///
/// ```
/// use lakewatch_catalog::{Source, all};
/// let postgres = all().filter(|m| m.source == Source::Postgres).count();
/// assert!(postgres > 10);
/// assert!(all().all(|m| !m.help.is_empty()));
/// ```
pub fn all() -> impl Iterator<Item = &'static Metric> {
    EXPORTER
        .iter()
        .chain(DISK.iter())
        .chain(CONTAINER.iter())
        .chain(POSTGRES.iter())
        .chain(S3.iter())
        .chain(TRINO.iter())
        .copied()
}

/// Finds a metric by a series name as written in PromQL: the family name, or for a
/// histogram also its `_bucket`, `_sum` and `_count` series.
///
/// ```
/// use lakewatch_catalog::{Kind, lookup};
/// let up = lookup("pg_up").expect("postgres_exporter's name");
/// assert_eq!((up.kind, up.labels), (Kind::Gauge, &["server"][..]));
/// assert!(lookup("lakewatch_s3_probe_duration_seconds_bucket").is_some());
/// assert!(lookup("my_app_requests_total").is_none(), "not ours: a user's metric");
/// ```
pub fn lookup(series: &str) -> Option<&'static Metric> {
    all().find(|m| {
        m.name == series
            || (m.kind == Kind::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| series.strip_suffix(s) == Some(m.name)))
    })
}

/// The README's metrics reference, generated from this catalog.
pub fn markdown_reference() -> String {
    let mut out = String::new();
    let mut current = None;
    for m in all() {
        if current != Some(m.source) {
            current = Some(m.source);
            out.push_str(&format!(
                "\n#### {}\n\n| metric | type | labels | help |\n|---|---|---|---|\n",
                m.source.title()
            ));
        }
        let labels = if m.labels.is_empty() {
            "—".to_string()
        } else {
            m.labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };

        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            m.name,
            m.kind.as_str(),
            labels,
            m.help
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_valid() {
        let mut seen = HashSet::new();
        for m in all() {
            assert!(
                name::is_metric_name(m.name),
                "{} is not a valid metric name",
                m.name
            );
            // Colons are for recording rules, never for what an exporter emits.
            assert!(!m.name.contains(':'), "{} has a colon", m.name);
            assert!(seen.insert(m.name), "{} declared twice", m.name);
            for l in m.labels {
                assert!(name::is_label_name(l), "{}: bad label {l}", m.name);
                assert!(
                    !name::is_reserved_label_name(l),
                    "{}: reserved label {l}",
                    m.name
                );
            }
            assert!(!m.help.is_empty(), "{} has no help", m.name);
            assert!(!m.help.contains('\n'), "{} help spans lines", m.name);
        }
    }

    #[test]
    fn suffixes_match_types_and_units() {
        for m in all() {
            match m.kind {
                Kind::Counter => assert!(m.name.ends_with("_total"), "{}", m.name),
                Kind::Info => assert!(m.name.ends_with("_info"), "{}", m.name),
                Kind::Gauge | Kind::Histogram => {
                    assert!(!m.name.ends_with("_total"), "{} is not a counter", m.name);
                    assert!(!m.name.ends_with("_info"), "{} is not an info", m.name);
                }
                // `unknown` exists to keep de-facto names as they are, `_total` included
                // (MinIO's gauge `minio_bucket_usage_object_total`).
                Kind::Unknown => {
                    assert!(!m.name.ends_with("_info"), "{} is not an info", m.name);
                }
            }
            if let Some(unit) = m.unit {
                assert!(
                    m.family_name().ends_with(&format!("_{unit}")),
                    "{} declares unit {unit} but its name does not end in it",
                    m.name
                );
                assert_ne!(m.base_name(), m.family_name());
            }
            if m.kind == Kind::Histogram {
                assert!(!m.labels.contains(&"le"), "{}", m.name);
            }
        }
    }

    #[test]
    fn lookup_finds_histogram_series_and_nothing_else() {
        assert_eq!(
            lookup("node_filesystem_size_bytes").map(|m| m.kind),
            Some(Kind::Gauge)
        );
        assert_eq!(
            lookup("lakewatch_collector_duration_seconds").map(|m| m.name),
            Some("lakewatch_collector_duration_seconds")
        );
        assert!(lookup("node_filesystem_size_bytes_bucket").is_none());
        assert!(lookup("my_app_requests_total").is_none());
    }

    /// The README's metrics reference is this catalog, rendered. Run with
    /// `LAKEWATCH_BLESS=1` to rewrite the README section after changing the catalog.
    #[test]
    fn readme_metrics_reference_is_generated() {
        const START: &str = "<!-- metrics-reference:start -->\n";
        const END: &str = "<!-- metrics-reference:end -->";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
        let readme = std::fs::read_to_string(path).expect("README.md next to the workspace root");
        let start = readme.find(START).expect("start marker in README") + START.len();
        let end = readme.find(END).expect("end marker in README");
        let expected = markdown_reference();
        if std::env::var("LAKEWATCH_BLESS").is_ok() {
            let updated = format!("{}{}{}", &readme[..start], expected, &readme[end..]);
            std::fs::write(path, updated).expect("rewriting README.md");
            return;
        }
        assert!(
            readme[start..end] == expected,
            "README metrics reference is out of date: run LAKEWATCH_BLESS=1 cargo test -p lakewatch-catalog"
        );
    }

    #[test]
    fn family_and_base_names() {
        assert_eq!(DISK_READ_BYTES.family_name(), "node_disk_read_bytes");
        assert_eq!(DISK_READ_BYTES.base_name(), "node_disk_read");
        assert_eq!(BUILD_INFO.family_name(), "lakewatch_build");
        assert_eq!(FILESYSTEM_FILES.base_name(), "node_filesystem_files");
    }
}

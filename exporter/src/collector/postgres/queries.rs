//! Custom queries in postgres_exporter's `queries.yaml` format, so users can bring
//! their own queries (and the dashboards built on them) along:
//!
//! ```yaml
//! pg_replication:                   # metric prefix
//!   query: "SELECT ... AS lag"
//!   master: true                    # accepted; we always query the target's database
//!   cache_seconds: 30               # re-run at most every 30 s, serve the last rows between
//!   runonserver: ">=13.0.0"         # server versions the query applies to
//!   metrics:
//!     - lag:
//!         usage: "GAUGE"            # LABEL | GAUGE | COUNTER | DISCARD
//!         description: "Replication lag behind the primary in seconds"
//! ```
//!
//! Series are named like postgres_exporter names them: `<prefix>_<column>`, labelled
//! with `server` and the LABEL columns. COUNTER columns keep that exact name (no
//! `_total`) and are written as OpenMetrics `unknown`, like the built-in
//! `pg_stat_database_*` counters, so Prometheus stores the name dashboards query.
//! Columns the file does not list become `unknown` series too, as postgres_exporter
//! exports them. A NULL value is written as NaN (postgres_exporter does the same).
//!
//! Parsing keeps locations, so every mistake is reported at `file:line:column`; what
//! postgres_exporter would silently mis-handle (a misspelt usage, MAPPEDMETRIC and
//! DURATION, whose options it ignores for user queries) is refused.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use lakewatch_catalog::{self as cat, Kind};
use serde::Deserialize;
use serde_saphyr::Spanned;
use tokio_postgres::SimpleQueryMessage;

use crate::collector::{Family, FamilySample, Value};
use crate::config::error::{ConfigError, Entries};

/// One validated query of a queries file.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomQuery {
    /// The metric prefix (postgres_exporter's "namespace"), e.g. `pg_replication`.
    pub prefix: String,
    /// The query.
    pub sql: String,
    /// Rows are re-used for this long before the query runs again (`cache_seconds`).
    pub cache: Duration,
    /// Server versions the query runs on (`runonserver`); `None` means all.
    pub run_on: Option<VersionRange>,
    /// The listed columns, in file order.
    pub columns: Vec<Column>,
}

/// How a listed column is used.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column name as the query returns it.
    pub name: String,
    /// How it is used.
    pub usage: Usage,
    /// Its `description`: the family's help text.
    pub help: String,
}

/// postgres_exporter's column usages that Lakewatch supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// `LABEL`: a label of every metric of the row.
    Label,
    /// `GAUGE`: a gauge named `<prefix>_<column>`.
    Gauge,
    /// `COUNTER`: a counter named `<prefix>_<column>`.
    Counter,
    /// `DISCARD`: ignored.
    Discard,
}

impl CustomQuery {
    /// Names of the LABEL columns, in file order.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .filter(|c| c.usage == Usage::Label)
            .map(|c| c.name.as_str())
    }

    /// Whether the query applies to a server (`server_version_num`, e.g. 150018).
    pub fn runs_on(&self, version_num: u32) -> bool {
        self.run_on
            .as_ref()
            .is_none_or(|r| r.matches(version_of(version_num)))
    }

    /// Turns the messages of one run into families. `Err` when a listed column is
    /// missing from the result (the query was probably edited without the file);
    /// values that are not numbers are skipped and reported in `warnings`.
    pub fn families(
        &self,
        server: &str,
        msgs: &[SimpleQueryMessage],
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Family>, String> {
        let names: Vec<&str> = msgs
            .iter()
            .find_map(|m| match m {
                SimpleQueryMessage::RowDescription(cols) => {
                    Some(cols.iter().map(|c| c.name()).collect())
                }
                SimpleQueryMessage::Row(r) => Some(r.columns().iter().map(|c| c.name()).collect()),
                _ => None,
            })
            .unwrap_or_default();
        for c in &self.columns {
            if c.usage != Usage::Discard && !names.contains(&c.name.as_str()) {
                return Err(format!(
                    "column {:?} listed under {} is not in the query's result (columns: {})",
                    c.name,
                    self.prefix,
                    names.join(", ")
                ));
            }
        }
        // Metric columns: the listed ones, then the unlisted ones as postgres_exporter
        // exports them (as untyped metrics with a generic help text).
        let mut metrics: Vec<(&str, Family)> = Vec::new();
        for name in &names {
            let listed = self.columns.iter().find(|c| c.name == *name);
            let (kind, help) = match listed {
                Some(c) if c.usage == Usage::Gauge => (Kind::Gauge, c.help.clone()),
                Some(c) if c.usage == Usage::Counter => (Kind::Unknown, c.help.clone()),
                Some(_) => continue,
                None => (
                    Kind::Unknown,
                    format!("Unknown metric from {}", self.prefix),
                ),
            };
            let full = format!("{}_{name}", self.prefix);
            if listed.is_none() {
                if let Err(why) = check_metric_name(&full) {
                    warnings.push(format!("{}: column {name:?} skipped: {why}", self.prefix));
                    continue;
                }
                if metrics.iter().any(|(_, f)| f.name == full) {
                    continue;
                }
            }
            metrics.push((
                name,
                Family {
                    name: full,
                    kind,
                    help,
                    samples: Vec::new(),
                },
            ));
        }
        // Columns are looked up by name in each row: a query of several statements
        // can return rows of different shapes, and a column missing from one is simply
        // absent (a label reads "", a value is skipped).
        let mut unparsable: Vec<&str> = Vec::new();
        for row in msgs.iter().filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        }) {
            let mut labels: Vec<(String, String)> = self
                .labels()
                .map(|l| {
                    let v = row.try_get(l).ok().flatten().unwrap_or("");
                    (l.to_string(), v.to_string())
                })
                .collect();
            labels.push(("server".to_string(), server.to_string()));
            labels.sort();
            for (name, family) in &mut metrics {
                let Ok(text) = row.try_get(*name) else {
                    continue;
                };
                match number(text) {
                    Some(v) => family.samples.push(FamilySample {
                        labels: labels.clone(),
                        value: Value::Number(v),
                    }),
                    None if !unparsable.contains(name) => unparsable.push(name),
                    None => {}
                }
            }
        }
        // One line per column, without the values (they may change every cycle).
        warnings.extend(unparsable.iter().map(|name| {
            format!(
                "{}: values of column {name:?} that are not a number, boolean or timestamp are skipped",
                self.prefix
            )
        }));
        Ok(metrics.into_iter().map(|(_, f)| f).collect())
    }
}

/// A column value as postgres_exporter converts it: numbers as they are, booleans as
/// 1/0, timestamps and dates as unix seconds, NULL as NaN. `None` for anything else.
pub fn number(text: Option<&str>) -> Option<f64> {
    let Some(t) = text else {
        return Some(f64::NAN);
    };
    match t {
        "t" => return Some(1.0),
        "f" => return Some(0.0),
        _ => {}
    }
    t.parse::<f64>()
        .ok()
        .or_else(|| crate::timestamp::postgres_iso(t))
}

/// `server_version_num` (150018) as a version (15.18.0), as postgres_exporter sees it.
fn version_of(num: u32) -> (u64, u64, u64) {
    (u64::from(num / 10000), u64::from(num % 10000), 0)
}

/// A semver range as postgres_exporter's `runonserver` takes it (blang/semver):
/// comparisons joined by spaces (all must hold), alternatives joined by `||`.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRange(Vec<Conjunction>);

/// Comparisons that must all hold.
type Conjunction = Vec<(Op, (u64, u64, u64))>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl VersionRange {
    /// Parses `>=10.0.0 <13.0.0 || >=15.0.0`. Versions may leave out minor and patch.
    pub fn parse(s: &str) -> Result<VersionRange, String> {
        let mut alternatives = Vec::new();
        for alt in s.split("||") {
            let mut all = Vec::new();
            let mut words = alt.split_whitespace().peekable();
            while let Some(w) = words.next() {
                let split = w.find(|c: char| !"<>=!".contains(c)).unwrap_or(w.len());
                let (op, mut version) = w.split_at(split);
                if version.is_empty() {
                    version = words.next().unwrap_or("");
                }
                let op = match op {
                    "" | "=" | "==" => Op::Eq,
                    "!" | "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    other => {
                        return Err(format!(
                            "invalid comparison {other:?} in runonserver {s:?}: expected one of = != < <= > >="
                        ));
                    }
                };
                let mut parts = version.split('.');
                let mut num = || -> Result<u64, String> {
                    parts.next().map_or(Ok(0), |p| {
                        p.parse().map_err(|_| {
                            format!(
                                "invalid version {version:?} in runonserver {s:?}: expected MAJOR.MINOR.PATCH such as 13.0.0"
                            )
                        })
                    })
                };
                let v = (num()?, num()?, num()?);
                if parts.next().is_some() {
                    return Err(format!(
                        "invalid version {version:?} in runonserver {s:?}: expected MAJOR.MINOR.PATCH"
                    ));
                }
                all.push((op, v));
            }
            if all.is_empty() {
                return Err(format!(
                    "empty alternative in runonserver {s:?}: expected e.g. \">=13.0.0 <17.0.0\""
                ));
            }
            alternatives.push(all);
        }
        Ok(VersionRange(alternatives))
    }

    fn matches(&self, v: (u64, u64, u64)) -> bool {
        self.0.iter().any(|all| {
            all.iter().all(|(op, want)| match op {
                Op::Eq => v == *want,
                Op::Ne => v != *want,
                Op::Lt => v < *want,
                Op::Le => v <= *want,
                Op::Gt => v > *want,
                Op::Ge => v >= *want,
            })
        })
    }
}

// ---------------------------------------------------------------------------------
// The file format, one-to-one, with locations.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    query: Spanned<String>,
    #[serde(default)]
    metrics: Vec<Spanned<Entries<RawColumn>>>,
    /// postgres_exporter: run only on the database of the DSN (with
    /// `--auto-discover-databases`). We only ever query that one.
    #[serde(default, rename = "master")]
    _master: bool,
    cache_seconds: Option<Spanned<u64>>,
    runonserver: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    usage: Spanned<String>,
    #[serde(default)]
    description: String,
}

/// Parses and validates a queries file; `name` (its path) is used in error messages.
pub fn parse(text: &str, name: &str) -> Result<Vec<CustomQuery>, ConfigError> {
    let raw: Entries<Spanned<RawQuery>> = if text.trim().is_empty() {
        Entries(Vec::new())
    } else {
        serde_saphyr::from_str(text).map_err(|e| ConfigError::syntax(&e, name))?
    };
    let error = |span: &Location, message: String| ConfigError::Invalid {
        path: name.to_string(),
        line: span.line(),
        column: span.column(),
        message,
    };
    let mut out: Vec<CustomQuery> = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (prefix, q) in raw.0 {
        let at = |s: &Spanned<String>| s.referenced;
        let prefix_loc = at(&prefix);
        let prefix = prefix.value;
        check_metric_name(&prefix)
            .map_err(|why| error(&prefix_loc, format!("metric prefix {prefix:?}: {why}")))?;
        let q = q.value;
        if q.query.value.trim().is_empty() {
            return Err(error(
                &q.query.referenced,
                format!("{prefix}: query is empty"),
            ));
        }
        let mut columns: Vec<Column> = Vec::new();
        for entry in q.metrics {
            let loc = entry.referenced;
            let mut pairs = entry.value.0;
            if pairs.len() != 1 {
                return Err(error(
                    &loc,
                    "each metrics entry maps one column name to its usage, e.g. `- lag: {usage: GAUGE, description: ...}`".into(),
                ));
            }
            let (col, raw) = pairs.remove(0);
            let col_loc = col.referenced;
            let col = col.value;
            if columns.iter().any(|c| c.name == col) {
                return Err(error(
                    &col_loc,
                    format!("{prefix}: column {col:?} is listed twice"),
                ));
            }
            let usage = match raw.usage.value.as_str() {
                "LABEL" => Usage::Label,
                "GAUGE" => Usage::Gauge,
                "COUNTER" => Usage::Counter,
                "DISCARD" => Usage::Discard,
                u @ ("MAPPEDMETRIC" | "DURATION" | "HISTOGRAM") => {
                    return Err(error(
                        &raw.usage.referenced,
                        format!(
                            "usage {u} is not supported (postgres_exporter ignores its options in user queries): convert the value in SQL and use GAUGE"
                        ),
                    ));
                }
                other => {
                    return Err(error(
                        &raw.usage.referenced,
                        format!(
                            "invalid usage {other:?}: expected LABEL, GAUGE, COUNTER or DISCARD"
                        ),
                    ));
                }
            };
            match usage {
                Usage::Label => {
                    check_label_name(&col).map_err(|why| {
                        error(&col_loc, format!("{prefix}: LABEL column {col:?}: {why}"))
                    })?;
                    if col == "server" {
                        return Err(error(
                            &col_loc,
                            format!(
                                "{prefix}: a LABEL column cannot be called server: every series already has that label (rename it with AS)"
                            ),
                        ));
                    }
                }
                Usage::Gauge | Usage::Counter => {
                    let full = format!("{prefix}_{col}");
                    check_metric_name(&full)
                        .map_err(|why| error(&col_loc, format!("metric {full:?}: {why}")))?;
                    if let Some(first) = names.get(&full) {
                        return Err(error(
                            &col_loc,
                            format!("metric {full:?} is already defined by {first}"),
                        ));
                    }
                    names.insert(full, format!("{prefix}/{col}"));
                }
                Usage::Discard => {}
            }
            columns.push(Column {
                name: col,
                usage,
                help: raw.description.replace('\n', " "),
            });
        }
        let run_on = match &q.runonserver {
            Some(r) => {
                Some(VersionRange::parse(&r.value).map_err(|why| error(&r.referenced, why))?)
            }
            None => None,
        };
        out.push(CustomQuery {
            prefix,
            sql: q.query.value,
            cache: Duration::from_secs(q.cache_seconds.map_or(0, |c| c.value)),
            run_on,
            columns,
        });
    }
    Ok(out)
}

type Location = serde_saphyr::Location;

/// A metric name we may emit: valid, and not one of the catalog's (which has one
/// author: the built-in collectors).
fn check_metric_name(name: &str) -> Result<(), String> {
    if !cat::name::is_metric_name(name) {
        return Err("not a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)".into());
    }
    if cat::lookup(name).is_some() || cat::all().any(|m| m.family_name() == name) {
        return Err(
            "is a built-in Lakewatch metric; leave it to the built-in collector or rename the column"
                .into(),
        );
    }
    Ok(())
}

/// A label name a user may add: valid and not reserved by Prometheus (`__*`).
pub fn check_label_name(name: &str) -> Result<(), String> {
    if !cat::name::is_label_name(name) {
        return Err("not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)".into());
    }
    if cat::name::is_reserved_label_name(name) {
        return Err("names starting with __ are reserved for Prometheus".into());
    }
    Ok(())
}

/// What one target remembers between cycles about its custom queries.
#[derive(Debug, Default)]
pub struct State {
    /// Last families of each query, and when they were read (for `cache_seconds`).
    pub cached: Vec<Option<(std::time::Instant, Vec<Family>)>>,
    /// Warnings already logged, so a bad column is reported once, not every cycle.
    pub warned: HashSet<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(text: &str) -> String {
        match parse(text, "q.yml") {
            Err(e) => e.to_string(),
            Ok(q) => panic!("expected an error, got {q:?}"),
        }
    }

    #[test]
    fn postgres_exporter_format() {
        let q = parse(
            "pg_replication:\n  query: \"SELECT 1 AS lag\"\n  master: true\n  cache_seconds: 30\n  runonserver: '>=10.0.0'\n  metrics:\n    - lag:\n        usage: \"GAUGE\"\n        description: \"Replication lag\"\nlake_rows:\n  query: SELECT t, n FROM x\n  metrics:\n    - t: {usage: LABEL, description: Table}\n    - n: {usage: COUNTER}\n    - junk: {usage: DISCARD}\n",
            "q.yml",
        )
        .unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].prefix, "pg_replication");
        assert_eq!(q[0].cache, Duration::from_secs(30));
        assert!(q[0].runs_on(150018) && !q[0].runs_on(90624));
        assert_eq!(q[0].columns[0].help, "Replication lag");
        assert_eq!(q[1].prefix, "lake_rows");
        assert_eq!(q[1].labels().collect::<Vec<_>>(), ["t"]);
        assert_eq!(q[1].columns[1].usage, Usage::Counter);
        assert!(q[1].run_on.is_none() && q[1].cache.is_zero());
    }

    #[test]
    fn mistakes_are_located() {
        let e = invalid("a:\n  query: SELECT 1\n  metrics:\n    - x: {usage: gauge}\n");
        assert!(e.starts_with("q.yml:4:18: invalid usage \"gauge\""), "{e}");
        let e = invalid("a:\n  query: SELECT 1\n  metrics:\n    - x: {usage: MAPPEDMETRIC}\n");
        assert!(
            e.starts_with("q.yml:4:18:") && e.contains("not supported"),
            "{e}"
        );
        let e = invalid(
            "a:\n  query: SELECT 1\n  metrics:\n    - x: {usage: GAUGE, pg_version: '>=10'}\n",
        );
        assert!(e.contains("q.yml:4") && e.contains("pg_version"), "{e}");
        let e = invalid("a:\n  query: SELECT 1\n  metrics:\n    - server: {usage: LABEL}\n");
        assert!(e.starts_with("q.yml:4:7:") && e.contains("server"), "{e}");
        let e = invalid(
            "pg_stat_database:\n  query: SELECT 1\n  metrics:\n    - xact_commit: {usage: COUNTER}\n",
        );
        assert!(e.starts_with("q.yml:4:7:") && e.contains("built-in"), "{e}");
        let e = invalid("bad-prefix:\n  query: SELECT 1\n");
        assert!(e.starts_with("q.yml:1:1:"), "{e}");
        let e = invalid("a:\n  query: SELECT 1\n  runonserver: '>=x'\n");
        assert!(
            e.starts_with("q.yml:3:16:") && e.contains("MAJOR.MINOR.PATCH"),
            "{e}"
        );
        let e = invalid(
            "a:\n  query: SELECT 1\n  metrics:\n    - x: {usage: GAUGE}\n      y: {usage: GAUGE}\n",
        );
        assert!(
            e.starts_with("q.yml:4:7:") && e.contains("one column"),
            "{e}"
        );
        let e = invalid(
            "a:\n  query: SELECT 1\n  metrics:\n    - b_c: {usage: GAUGE}\na_b:\n  query: SELECT 1\n  metrics:\n    - c: {usage: GAUGE}\n",
        );
        assert!(e.starts_with("q.yml:8:7:") && e.contains("a/b_c"), "{e}");
        let e = invalid("a:\n  query: SELECT 1\n  nonsense: 1\n");
        assert!(e.contains("q.yml:3") && e.contains("nonsense"), "{e}");
    }

    #[test]
    fn values_convert_like_postgres_exporter() {
        assert_eq!(number(Some("42")), Some(42.0));
        assert_eq!(number(Some("-1.5e3")), Some(-1500.0));
        assert_eq!(number(Some("t")), Some(1.0));
        assert_eq!(number(Some("f")), Some(0.0));
        assert!(number(None).unwrap().is_nan());
        assert!(number(Some("NaN")).unwrap().is_nan());
        assert_eq!(number(Some("Infinity")), Some(f64::INFINITY));
        assert_eq!(number(Some("1970-01-02")), Some(86_400.0));
        assert_eq!(
            number(Some("2024-05-01 12:34:56.789+00")),
            Some(1_714_566_896.0)
        );
        assert_eq!(
            number(Some("2024-05-01 14:34:56+02")),
            Some(1_714_566_896.0)
        );
        assert_eq!(
            number(Some("2024-05-01 07:04:56.5-05:30")),
            Some(1_714_566_896.0)
        );
        assert_eq!(number(Some("2024-05-01 12:34:56")), Some(1_714_566_896.0));
        assert_eq!(number(Some("1969-12-31 23:59:59")), Some(-1.0));
        assert_eq!(number(Some("idle")), None);
        assert_eq!(number(Some("")), None);
        assert_eq!(number(Some("2024-13-01")), None);
        assert_eq!(number(Some("12:00:00")), None);
    }

    #[test]
    fn version_ranges() {
        let r = |s: &str| VersionRange::parse(s).unwrap();
        let v15 = version_of(150018);
        assert!(r(">=13.0.0").matches(v15));
        assert!(r(">=13.0.0 <16.0.0").matches(v15));
        assert!(!r(">=16").matches(v15));
        assert!(r("<10.0.0 || >= 15").matches(v15));
        assert!(r("15.18.0").matches(v15));
        assert!(r("!=14.0.0").matches(v15));
        assert!(VersionRange::parse("~15").is_err());
        assert!(VersionRange::parse("").is_err());
        assert!(VersionRange::parse("1.2.3.4").is_err());
    }
}

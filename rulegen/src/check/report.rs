//! What a check found: each query's problems and series count, and the report printed
//! for people (every query with its state, then a summary line).

use std::fmt::Write as _;

use super::{Query, QueryKind};

/// Something wrong with a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A selector matches no series in the lookback window; `reason` names the culprit.
    DeadSelector {
        /// The selector as written.
        selector: String,
        /// The culprit: the metric has no series, or which matcher removes them all.
        reason: String,
    },
    /// Both sides of a join have series but the join has none.
    EmptyJoin {
        /// The join.
        expr: String,
        /// Why no series of one side finds a partner on the other.
        reason: String,
    },
    /// The whole query (comparisons in `bool` form: `expr`) returns nothing.
    NoData {
        /// The query as sent.
        expr: String,
    },
    /// The query could not be checked (Prometheus rejected it, a variable failed).
    Failed {
        /// Why.
        message: String,
    },
}

impl Problem {
    /// The problem in words, for a query of `kind`.
    pub fn describe(&self, kind: QueryKind) -> String {
        match self {
            Problem::DeadSelector { selector, reason } => {
                format!("dead selector `{selector}`: {reason}")
            }
            Problem::EmptyJoin { expr, reason } => {
                format!("empty join `{expr}`: {reason}")
            }
            Problem::NoData { .. } if kind == QueryKind::Alert => {
                "the condition has no data (the alert can never fire on the current series)"
                    .to_string()
            }
            Problem::NoData { .. } => "returns no data".to_string(),
            Problem::Failed { message } => message.clone(),
        }
    }
}

/// The outcome for one query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The query checked.
    pub query: Query,
    /// The query after variable substitution: what was sent.
    pub evaluated: String,
    /// How many series the `bool` form of the whole query returned (a scalar counts one);
    /// for a `label_values` variable, how many values it offers.
    pub series: usize,
    /// What is wrong with it (empty: fine).
    pub problems: Vec<Problem>,
}

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// One per query, in the order checked.
    pub results: Vec<QueryResult>,
}

impl Report {
    /// The number of problems found.
    pub fn problem_count(&self) -> usize {
        self.results.iter().map(|r| r.problems.len()).sum()
    }

    /// Counts of (dead selectors, empty joins, queries without data, failed checks).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, 0);
        for p in self.results.iter().flat_map(|r| &r.problems) {
            match p {
                Problem::DeadSelector { .. } => c.0 += 1,
                Problem::EmptyJoin { .. } => c.1 += 1,
                Problem::NoData { .. } => c.2 += 1,
                Problem::Failed { .. } => c.3 += 1,
            }
        }
        c
    }

    /// The first failure that says Prometheus itself went away during the run (refused
    /// connections, timeouts), as opposed to rejecting a query: then the report says
    /// nothing about the queries.
    pub fn unreachable(&self) -> Option<&str> {
        self.results
            .iter()
            .flat_map(|r| &r.problems)
            .find_map(|p| match p {
                Problem::Failed { message } if is_unreachable_message(message) => {
                    Some(message.as_str())
                }
                _ => None,
            })
    }

    /// Every query with its state (`ok` with its series count, or each problem with the
    /// query that was sent), then the one-line summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            let q = &r.query;
            let at = if q.line > 0 {
                format!("{}:{}", q.file, q.line)
            } else {
                q.file.clone()
            };
            if r.problems.is_empty() {
                let _ = writeln!(
                    out,
                    "ok: {at}: {} {:?}: {} {}",
                    q.kind.word(),
                    q.name,
                    r.series,
                    match q.kind {
                        QueryKind::Variable => plural(r.series, "value", "values"),
                        _ => "series",
                    }
                );
            }
            for p in &r.problems {
                let _ = writeln!(
                    out,
                    "{at}: {} {:?}: {}\n  query: {}",
                    q.kind.word(),
                    q.name,
                    p.describe(q.kind),
                    // Continuation lines of a multi-line rule line up under the first.
                    r.evaluated.trim_end().replace('\n', "\n         ")
                );
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// `checked 57 queries in 3 files: 0 dead selectors, 0 empty joins, 1 without data`.
    pub fn summary(&self) -> String {
        let mut files: Vec<&str> = self.results.iter().map(|r| r.query.file.as_str()).collect();
        files.sort_unstable();
        files.dedup();
        let (dead, joins, nodata, failed) = self.counts();
        let mut s = format!(
            "checked {} {} in {} {}: {dead} dead {}, {joins} empty {}, {nodata} without data",
            self.results.len(),
            plural(self.results.len(), "query", "queries"),
            files.len(),
            plural(files.len(), "file", "files"),
            plural(dead, "selector", "selectors"),
            plural(joins, "join", "joins"),
        );
        if failed > 0 {
            let _ = write!(s, ", {failed} failed");
        }
        s
    }
}

/// Whether a [`Problem::Failed`] message is a [`super::CheckError::Connect`] or
/// [`super::CheckError::Timeout`] (their texts, which this module writes).
fn is_unreachable_message(message: &str) -> bool {
    message.starts_with("cannot reach Prometheus at ")
        || (message.starts_with("Prometheus at ") && message.contains(" did not answer within "))
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckError;

    fn result(kind: QueryKind, problems: Vec<Problem>) -> QueryResult {
        QueryResult {
            query: Query {
                kind,
                file: "r.yml".into(),
                name: "X".into(),
                expr: "up".into(),
                line: 3,
                ..Query::default()
            },
            evaluated: "up".into(),
            series: if problems.is_empty() { 2 } else { 0 },
            problems,
        }
    }

    #[test]
    fn reports_list_every_query_and_count_problems() {
        let r = Report {
            results: vec![
                result(QueryKind::Record, vec![]),
                result(
                    QueryKind::Alert,
                    vec![
                        Problem::DeadSelector {
                            selector: "upp".into(),
                            reason: "metric `upp` has no series in the last 1h".into(),
                        },
                        Problem::NoData {
                            expr: "upp == bool 0".into(),
                        },
                    ],
                ),
            ],
        };
        assert_eq!(r.problem_count(), 2);
        assert_eq!(
            r.render(),
            "ok: r.yml:3: rule \"X\": 2 series\n\
             r.yml:3: alert \"X\": dead selector `upp`: metric `upp` has no series in the last 1h\n  query: up\n\
             r.yml:3: alert \"X\": the condition has no data (the alert can never fire on the current series)\n  query: up\n\
             checked 2 queries in 1 file: 1 dead selector, 0 empty joins, 1 without data\n"
        );
    }

    #[test]
    fn a_lost_prometheus_is_told_apart_from_a_rejected_query() {
        let failed = |e: CheckError| Problem::Failed {
            message: e.to_string(),
        };
        let rejected = failed(CheckError::Api {
            url: "u".into(),
            status: 400,
            error_type: "bad_data".into(),
            message: "parse error".into(),
        });
        let mut report = Report {
            results: vec![result(QueryKind::Alert, vec![rejected])],
        };
        assert_eq!(report.unreachable(), None);
        for lost in [
            CheckError::Connect {
                url: "http://p:9090".into(),
                message: "refused".into(),
            },
            CheckError::Timeout {
                url: "http://p:9090".into(),
                secs: 30.0,
            },
        ] {
            let text = lost.to_string();
            report.results[0].problems.push(failed(lost));
            assert_eq!(report.unreachable(), Some(text.as_str()));
            report.results[0].problems.pop();
        }
    }

    #[test]
    fn multi_line_queries_stay_under_their_label() {
        let mut r = result(QueryKind::Panel, vec![Problem::NoData { expr: "x".into() }]);
        r.evaluated = "sum(\n  x\n)\n".into();
        let text = Report { results: vec![r] }.render();
        assert!(
            text.starts_with(
                "r.yml:3: panel \"X\": returns no data\n  query: sum(\n           x\n         )\n"
            ),
            "{text}"
        );
    }
}

//! `lakewatch-rulegen check`: proves rule files and Grafana dashboards against a live
//! Prometheus, like Cloudflare pint's `promql/series` check but for dashboards too. For
//! every query it reports selectors that match no series (and which matcher is to
//! blame), vector joins whose two sides have data but never match, and queries that
//! return no data even with every threshold ignored (comparisons in their `bool` form).
//!
//! Dashboard variables are substituted the way Grafana does, with values asked from the
//! same Prometheus; "All" stands for every value.

mod analysis;
mod prometheus;
mod report;
mod sources;

use std::collections::BTreeMap;
use std::sync::Arc;

use promql_parser::parser::{Expr, VectorSelector};

pub use analysis::{VarValue, bool_form, selectors, substitute};
pub use prometheus::{Answer, Labels, Prometheus};
pub use report::{Problem, QueryResult, Report};
pub use sources::{Variable, dashboard_queries, rule_file_queries};

use analysis::VariableQuery;

/// Why a check could not be made (as opposed to a [`Problem`] it found).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A file could not be read; check the path and permissions.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The path as given.
        path: String,
        #[source]
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A rule file or dashboard is malformed; the message points into the file.
    #[error(transparent)]
    Spec(#[from] crate::error::SpecError),
    /// The Prometheus URL is not usable.
    #[error("--prometheus {url}: {message}")]
    Url {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Prometheus could not be reached (connection refused, DNS, TLS): is it running, is
    /// the URL right?
    #[error("cannot reach Prometheus at {url}: {message}")]
    Connect {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// Prometheus did not answer in time.
    #[error("Prometheus at {url} did not answer within {secs} s")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The timeout, in seconds.
        secs: f64,
    },
    /// Prometheus answered with something that is not its API's JSON (a proxy's page,
    /// a wrong path prefix).
    #[error("{url}: {message}")]
    Response {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The API refused the request (`bad_data` for a query it cannot parse).
    #[error("Prometheus refused the request ({error_type}, HTTP {status}): {message}")]
    Api {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// Prometheus' `errorType`.
        error_type: String,
        /// Prometheus' `error`.
        message: String,
    },
}

impl CheckError {
    /// Whether Prometheus itself is unusable (every further request would fail the same
    /// way), as opposed to rejecting one query.
    pub fn is_unreachable(&self) -> bool {
        match self {
            CheckError::Connect { .. } | CheckError::Timeout { .. } => true,
            CheckError::Response { .. } => true,
            CheckError::Api { status, .. } => matches!(status, 401 | 403 | 404 | 502..=504),
            _ => false,
        }
    }
}

/// How to evaluate queries.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// A selector is dead when it matched no series in this many seconds before now.
    pub lookback_secs: u64,
    /// The value of `$__rate_interval` in dashboards.
    pub rate_interval: String,
    /// The value of `$__interval`.
    pub interval: String,
    /// The value of `$__range` (the dashboard's time range).
    pub range: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            lookback_secs: 3600,
            rate_interval: "1m".into(),
            interval: "1m".into(),
            range: "1h".into(),
        }
    }
}

/// What a query belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryKind {
    /// A recording rule's `expr`.
    #[default]
    Record,
    /// An alerting rule's condition.
    Alert,
    /// A dashboard panel's target.
    Panel,
    /// A dashboard variable's query.
    Variable,
}

impl QueryKind {
    /// The word used in reports.
    pub fn word(self) -> &'static str {
        match self {
            QueryKind::Record => "rule",
            QueryKind::Alert => "alert",
            QueryKind::Panel => "panel",
            QueryKind::Variable => "variable",
        }
    }
}

/// One query to check, with where it came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// Rule, panel or variable.
    pub kind: QueryKind,
    /// The file, as given.
    pub file: String,
    /// The rule name, `dashboard title / panel title [refId]`, or `dashboard title /
    /// variable name`.
    pub name: String,
    /// The query as written (variables not substituted).
    pub expr: String,
    /// The line of `expr` in a rule file; 0 when unknown (dashboards).
    pub line: u64,
    /// The variables of the query's dashboard (empty for rules).
    pub variables: Arc<Vec<Variable>>,
    /// For a variable's query: its index in `variables`.
    pub variable: Option<usize>,
}

/// A dashboard's variables, resolved: the substitution values, and for each variable
/// its query after substitution and why resolving it failed.
struct Resolved {
    values: BTreeMap<String, VarValue>,
    queries: Vec<String>,
    errors: Vec<Option<String>>,
    /// How many values each variable offers.
    counts: Vec<usize>,
}

/// The check's clock: one "now" for every query of a run.
struct Clock {
    now: f64,
    start: f64,
}

/// Checks every query against `prom`. Never fails: what cannot be checked is a
/// [`Problem::Failed`] of that query.
pub fn run(prom: &Prometheus, queries: &[Query], opts: &Options) -> Report {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let clock = Clock {
        now,
        start: now - opts.lookback_secs as f64,
    };
    // Variables are resolved once per dashboard (the queries of one file share them).
    let mut resolved: Vec<(Arc<Vec<Variable>>, Resolved)> = Vec::new();
    let mut results = Vec::with_capacity(queries.len());
    for q in queries {
        let i = match resolved
            .iter()
            .position(|(v, _)| Arc::ptr_eq(v, &q.variables))
        {
            Some(i) => i,
            None => {
                resolved.push((
                    q.variables.clone(),
                    resolve(prom, &q.variables, opts, &clock),
                ));
                resolved.len() - 1
            }
        };
        results.push(check_query(prom, q, &resolved[i].1, &clock));
    }
    Report { results }
}

fn builtins(opts: &Options) -> BTreeMap<String, VarValue> {
    let secs = |d: &str| crate::duration::parse(d).unwrap_or(0);
    let mut m = BTreeMap::new();
    let mut raw = |k: &str, v: String| {
        m.insert(k.to_string(), VarValue::Raw(v));
    };
    raw("__rate_interval", opts.rate_interval.clone());
    raw("__interval", opts.interval.clone());
    raw("__interval_ms", (secs(&opts.interval) * 1000).to_string());
    raw("__range", opts.range.clone());
    raw("__range_s", secs(&opts.range).to_string());
    raw("__range_ms", (secs(&opts.range) * 1000).to_string());
    m
}

fn resolve(prom: &Prometheus, vars: &[Variable], opts: &Options, clock: &Clock) -> Resolved {
    let mut r = Resolved {
        values: builtins(opts),
        queries: Vec::new(),
        errors: Vec::new(),
        counts: Vec::new(),
    };
    for v in vars {
        let query = substitute(&v.query, &r.values);
        let (value, error, count) = match variable_values(prom, v, &query, clock) {
            Ok(Some(values)) => {
                let n = values.len();
                (Some(choose(v, values)), None, n)
            }
            Ok(None) => (None, None, 0),
            Err(e) => (Some(VarValue::Single(String::new())), Some(e), 0),
        };
        if let Some(value) = value {
            r.values.insert(v.name.clone(), value);
        }
        r.queries.push(query);
        r.errors.push(error);
        r.counts.push(count);
    }
    r
}

/// The values a variable offers (`None`: it does not take part in query text, e.g. a
/// data source variable).
fn variable_values(
    prom: &Prometheus,
    v: &Variable,
    query: &str,
    clock: &Clock,
) -> Result<Option<Vec<String>>, String> {
    let values = match v.kind.as_str() {
        "query" if v.foreign => return Ok(None),
        "query" => match VariableQuery::parse(query) {
            VariableQuery::LabelValues { selector, label } => prom
                .label_values(&label, selector.as_deref(), clock.start, clock.now)
                .map_err(|e| e.to_string())?,
            VariableQuery::QueryResult(expr) => {
                match prom.query(&expr, clock.now).map_err(|e| e.to_string())? {
                    Answer::Vector(series) => series
                        .iter()
                        .map(|(l, v)| analysis::result_line(l, v, (clock.now * 1000.0) as i64))
                        .collect(),
                    Answer::Scalar(s) => vec![s],
                }
            }
            VariableQuery::Other => v.current.clone(),
        },
        "custom" if !v.options.is_empty() => v.options.clone(),
        "custom" => v.query.split(',').map(|s| s.trim().to_string()).collect(),
        "constant" => vec![v.query.clone()],
        "textbox" => v
            .current
            .first()
            .cloned()
            .map_or_else(|| vec![v.query.clone()], |c| vec![c]),
        "interval" => {
            let first = v.current.first().or(v.options.first());
            return Ok(Some(vec![first.cloned().unwrap_or_else(|| "1m".into())]));
        }
        _ => return Ok(None),
    };
    let values = analysis::filter_values(values, v.regex.as_deref())
        .map_err(|e| format!("variable `{}`: {e}", v.name))?;
    Ok(Some(values.into_iter().filter(|s| s != "$__all").collect()))
}

/// The value Grafana substitutes: "All" for variables that have it (or take several
/// values), else the saved current value if still offered, else the first.
fn choose(v: &Variable, values: Vec<String>) -> VarValue {
    if v.kind == "interval" {
        let value = values.into_iter().next().unwrap_or_default();
        return VarValue::Raw(if value.starts_with("$__auto") {
            "1m".into()
        } else {
            value
        });
    }
    if v.include_all || v.multi {
        return match &v.all_value {
            Some(all) if v.include_all => VarValue::Raw(all.clone()),
            _ => VarValue::Multi(values),
        };
    }
    let current = v.current.iter().find(|c| values.contains(c));
    VarValue::Single(current.or(values.first()).cloned().unwrap_or_default())
}

fn check_query(prom: &Prometheus, q: &Query, vars: &Resolved, clock: &Clock) -> QueryResult {
    let mut result = QueryResult {
        query: q.clone(),
        evaluated: String::new(),
        series: 0,
        problems: Vec::new(),
    };
    let Some(index) = q.variable else {
        result.evaluated = substitute(&q.expr, &vars.values);
        if q.kind == QueryKind::Panel {
            let undefined = analysis::undefined_variables(&result.evaluated, &vars.values);
            if !undefined.is_empty() {
                // Prometheus would only say "unexpected character: '$'".
                let names: Vec<String> = undefined.iter().map(|n| format!("`${n}`")).collect();
                result.problems.push(Problem::Failed {
                    message: format!(
                        "uses {}, which the dashboard does not define",
                        names.join(", ")
                    ),
                });
                return result;
            }
        }
        let (series, problems) = check_expr(prom, &result.evaluated, clock);
        result.series = series;
        result.problems = problems;
        return result;
    };
    let var = &q.variables[index];
    result.evaluated = vars.queries[index].clone();
    if let Some(e) = &vars.errors[index] {
        result.problems.push(Problem::Failed { message: e.clone() });
        return result;
    }
    match VariableQuery::parse(&result.evaluated) {
        VariableQuery::LabelValues { selector, label } => {
            // The variable offers the values of `label` on the selector's series: it
            // must match series that have that label.
            let selector = selector.unwrap_or_default();
            let check = match promql_parser::parser::parse(if selector.is_empty() {
                "{__name__=~\".+\"}"
            } else {
                &selector
            }) {
                Ok(Expr::VectorSelector(mut vs)) => {
                    if let Ok(m) = promql_parser::label::Matcher::new_matcher(
                        promql_parser::parser::token::T_NEQ,
                        label.clone(),
                        String::new(),
                    ) {
                        vs.matchers.matchers.push(m);
                    }
                    if selector.is_empty() {
                        vs.matchers.matchers.retain(|m| m.name != "__name__");
                    }
                    vs
                }
                Ok(_) => {
                    result.problems.push(Problem::Failed {
                        message: format!(
                            "variable `{}`: label_values() needs a series selector, got `{selector}`",
                            var.name
                        ),
                    });
                    return result;
                }
                Err(e) => {
                    result.problems.push(Problem::Failed {
                        message: format!("variable `{}`: {}", var.name, e.trim()),
                    });
                    return result;
                }
            };
            match dead_selector(prom, &check, clock) {
                Ok(None) if vars.counts[index] == 0 => {
                    // The series are there: the variable's regex removed every value.
                    result.problems.push(Problem::Failed {
                        message: format!(
                            "variable `{}` offers no values: its regex `{}` matches none of the values of `{label}`",
                            var.name,
                            var.regex.as_deref().unwrap_or_default()
                        ),
                    });
                }
                Ok(None) => result.series = vars.counts[index],
                Ok(Some(p)) => result.problems.push(p),
                Err(e) => result.problems.push(Problem::Failed {
                    message: e.to_string(),
                }),
            }
        }
        VariableQuery::QueryResult(expr) => {
            let (series, problems) = check_expr(prom, &expr, clock);
            result.series = series;
            result.problems = problems;
        }
        VariableQuery::Other => {}
    }
    result
}

/// Checks one query (variables already substituted): dead selectors, empty joins, data.
/// Returns the number of series of its `bool` form and the problems.
fn check_expr(prom: &Prometheus, text: &str, clock: &Clock) -> (usize, Vec<Problem>) {
    let mut problems = Vec::new();
    let failed = |e: CheckError| Problem::Failed {
        message: e.to_string(),
    };
    let expr = match crate::promql::parse(text) {
        Ok(e) => e,
        Err(parse_error) => {
            // promql-parser may lag behind this Prometheus: let Prometheus judge, and
            // check what can be checked without the syntax tree.
            return match prom.query(text, clock.now) {
                Ok(a) => {
                    let n = count(&a);
                    if n == 0 {
                        problems.push(Problem::NoData {
                            expr: text.to_string(),
                        });
                    }
                    (n, problems)
                }
                Err(e @ CheckError::Api { .. }) => (
                    0,
                    vec![Problem::Failed {
                        message: format!("Prometheus rejects the query: {}", api_message(&e)),
                    }],
                ),
                Err(e) => {
                    let _ = parse_error;
                    (0, vec![failed(e)])
                }
            };
        }
    };
    for vs in selectors(&expr) {
        match dead_selector(prom, &vs, clock) {
            Ok(None) => {}
            Ok(Some(p)) => problems.push(p),
            Err(e) => {
                problems.push(failed(e));
                return (0, problems);
            }
        }
    }
    let rewritten = bool_form(&expr);
    let printed = rewritten.to_string();
    let series = match prom.query(&printed, clock.now) {
        Ok(a) => count(&a),
        Err(e @ CheckError::Api { .. }) => {
            let message = match prom.query(text, clock.now) {
                Err(orig @ CheckError::Api { .. }) => {
                    format!("Prometheus rejects the query: {}", api_message(&orig))
                }
                // The original is fine: our rewrite is to blame, and says so.
                _ => format!(
                    "the bool form of the query (`{printed}`) is rejected, please report this: {}",
                    api_message(&e)
                ),
            };
            problems.push(Problem::Failed { message });
            return (0, problems);
        }
        Err(e) => {
            problems.push(failed(e));
            return (0, problems);
        }
    };
    for join in analysis::joins(&rewritten) {
        match empty_join(prom, &join, clock) {
            Ok(None) => {}
            Ok(Some(p)) => problems.push(p),
            Err(e) => problems.push(failed(e)),
        }
    }
    if series == 0 && !analysis::uses_absence(&expr) {
        problems.push(Problem::NoData { expr: printed });
    }
    (series, problems)
}

fn api_message(e: &CheckError) -> String {
    match e {
        CheckError::Api { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn count(a: &Answer) -> usize {
    match a {
        Answer::Vector(v) => v.len(),
        Answer::Scalar(_) => 1,
    }
}

fn series_of(a: Answer) -> Vec<Labels> {
    match a {
        Answer::Vector(v) => v.into_iter().map(|(l, _)| l).collect(),
        Answer::Scalar(_) => vec![Labels::new()],
    }
}

/// `None` when the join has series or one of its sides is empty (then the side is the
/// problem, and is reported as such).
fn empty_join(
    prom: &Prometheus,
    join: &promql_parser::parser::BinaryExpr,
    clock: &Clock,
) -> Result<Option<Problem>, CheckError> {
    let whole = prom.query(&join.to_string(), clock.now)?;
    if count(&whole) > 0 {
        return Ok(None);
    }
    let lhs = series_of(prom.query(&join.lhs.to_string(), clock.now)?);
    let rhs = series_of(prom.query(&join.rhs.to_string(), clock.now)?);
    if lhs.is_empty() || rhs.is_empty() {
        return Ok(None);
    }
    Ok(Some(Problem::EmptyJoin {
        expr: join.to_string(),
        reason: analysis::explain_empty_join(join, &lhs, &rhs),
    }))
}

/// `None` when the selector matches series in the lookback window; else the problem,
/// with the culprit: the metric, one matcher, or the matchers together.
fn dead_selector(
    prom: &Prometheus,
    vs: &VectorSelector,
    clock: &Clock,
) -> Result<Option<Problem>, CheckError> {
    let selector = vs.to_string();
    let query = if vs.name.is_none() && vs.matchers.or_matchers.is_empty() {
        analysis::selector_with(None, &vs.matchers.matchers)
    } else {
        selector.clone()
    };
    if !prom.series(&query, clock.start, clock.now)?.is_empty() {
        return Ok(None);
    }
    let window = crate::duration::format((clock.now - clock.start).round() as u64);
    let reason = culprit(prom, vs, clock)?
        .unwrap_or_else(|| format!("matches no series in the last {window}"));
    Ok(Some(Problem::DeadSelector { selector, reason }))
}

fn culprit(
    prom: &Prometheus,
    vs: &VectorSelector,
    clock: &Clock,
) -> Result<Option<String>, CheckError> {
    if !vs.matchers.or_matchers.is_empty() {
        return Ok(None);
    }
    let window = crate::duration::format((clock.now - clock.start).round() as u64);
    let matchers = analysis::label_matchers(vs);
    let Some(name) = analysis::metric_name(vs) else {
        for m in &matchers {
            // A matcher that matches the empty string cannot stand alone in a selector.
            if m.is_match("") {
                continue;
            }
            let alone = analysis::selector_with(None, std::slice::from_ref(m));
            if prom.series(&alone, clock.start, clock.now)?.is_empty() {
                return Ok(Some(format!(
                    "`{m}` matches no series in the last {window}"
                )));
            }
        }
        return Ok(None);
    };
    let all = prom.series(
        &analysis::selector_with(Some(&name), &[]),
        clock.start,
        clock.now,
    )?;
    if all.is_empty() {
        return Ok(Some(format!(
            "metric `{name}` has no series in the last {window}"
        )));
    }
    for m in &matchers {
        let one = analysis::selector_with(Some(&name), std::slice::from_ref(m));
        if !prom.series(&one, clock.start, clock.now)?.is_empty() {
            continue;
        }
        let mut seen: Vec<&str> = all
            .iter()
            .filter_map(|s| s.get(&m.name).map(String::as_str))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        let n = all.len();
        if seen.is_empty() {
            return Ok(Some(format!(
                "`{m}` matches none of the {n} series of `{name}`: none of them has a `{}` label",
                m.name
            )));
        }
        let shown: Vec<String> = seen.iter().take(10).map(|v| format!("{v:?}")).collect();
        let more = if seen.len() > 10 {
            format!(" (and {} more)", seen.len() - 10)
        } else {
            String::new()
        };
        return Ok(Some(format!(
            "`{m}` matches none of the {n} series of `{name}`; `{}` values seen: {}{more}",
            m.name,
            shown.join(", ")
        )));
    }
    Ok(Some(format!(
        "each matcher matches some of the {} series of `{name}`, but no series matches them all",
        all.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_and_current_values_are_chosen_like_grafana() {
        let v = Variable {
            name: "job".into(),
            kind: "query".into(),
            include_all: true,
            ..Variable::default()
        };
        let vals = vec!["a".to_string(), "b".into()];
        assert_eq!(choose(&v, vals.clone()), VarValue::Multi(vals.clone()));
        let v = Variable {
            all_value: Some(".*".into()),
            ..v
        };
        assert_eq!(choose(&v, vals.clone()), VarValue::Raw(".*".into()));
        let single = Variable {
            name: "x".into(),
            kind: "query".into(),
            current: vec!["b".into()],
            ..Variable::default()
        };
        assert_eq!(choose(&single, vals.clone()), VarValue::Single("b".into()));
        let stale = Variable {
            current: vec!["gone".into()],
            ..single
        };
        assert_eq!(choose(&stale, vals), VarValue::Single("a".into()));
    }
}

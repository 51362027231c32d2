//! The pure parts of `check`: Grafana's variable substitution, the `bool` rewrite of
//! comparisons, the selectors and vector joins of a query, and the explanation of why a
//! join matched nothing. Nothing here talks to Prometheus.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::token::{T_LOR, T_LUNLESS};
use promql_parser::parser::value::ValueType;
use promql_parser::parser::{BinModifier, BinaryExpr, Expr, LabelModifier, VectorSelector};

use super::prometheus::Labels;

/// Functions whose result means "the selector has no series": their selectors are meant
/// to be dead sometimes, and their query returns data only while something is missing.
const ABSENCE_FUNCTIONS: [&str; 2] = ["absent", "absent_over_time"];

/// Grafana's variable syntax, as its template service matches it: `$name`, `[[name]]`,
/// `[[name:format]]`, `${name}`, `${name:format}` (`${name.field}` too).
static VARIABLE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}",
    )
    .expect("the variable pattern is a valid regex")
});

/// A variable's value as Grafana substitutes it into a Prometheus query.
#[derive(Debug, Clone, PartialEq)]
pub enum VarValue {
    /// One value of a single-value variable (escaped for a PromQL string).
    Single(String),
    /// Several values (a multi-value variable or "All" without an `allValue`): a regex
    /// alternation of the escaped values.
    Multi(Vec<String>),
    /// Text used as is: an `allValue`, built-in intervals.
    Raw(String),
}

impl VarValue {
    /// The text Grafana puts in place of the variable with the given format (`raw`,
    /// `regex`, or none).
    pub fn render(&self, format: Option<&str>) -> String {
        match (self, format) {
            (VarValue::Raw(s), _) => s.clone(),
            (VarValue::Single(s), Some("raw")) => s.clone(),
            (VarValue::Single(s), Some("regex")) => regex_escape(s),
            (VarValue::Single(s), _) => string_escape(s),
            (VarValue::Multi(v), Some("raw")) => v.join(","),
            (VarValue::Multi(v), _) if v.len() == 1 => regex_escape(&v[0]),
            (VarValue::Multi(v), _) => format!(
                "({})",
                v.iter()
                    .map(|s| regex_escape(s))
                    .collect::<Vec<_>>()
                    .join("|")
            ),
        }
    }
}

/// The variables `text` uses that `vars` does not define, in order, once each. Names of
/// digits only are regex group references (`label_replace(..., "$1", ...)`), not
/// variables.
pub(super) fn undefined_variables(text: &str, vars: &BTreeMap<String, VarValue>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in VARIABLE.captures_iter(text) {
        let name = c
            .get(1)
            .or(c.get(2))
            .or(c.get(4))
            .map_or("", |m| m.as_str());
        if !name.bytes().all(|b| b.is_ascii_digit())
            && !vars.contains_key(name)
            && !out.iter().any(|n| n == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

/// Grafana's `prometheusRegularEscape`: a value inside a PromQL string.
fn string_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\\\'")
}

/// Grafana's `prometheusSpecialRegexEscape`: a value inside a regex inside a PromQL string
/// (hence the doubled backslashes).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\\\\\"),
            '$' | '^' | '*' | '{' | '}' | '[' | ']' | '\'' | '+' | '?' | '.' | '(' | ')' | '|' => {
                out.push_str("\\\\");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Replaces every known variable in `text` as Grafana does; unknown ones stay as written
/// (Grafana leaves them too, and Prometheus then rejects the query, which is reported).
pub fn substitute(text: &str, vars: &BTreeMap<String, VarValue>) -> String {
    VARIABLE
        .replace_all(text, |c: &regex::Captures<'_>| {
            let name = c
                .get(1)
                .or(c.get(2))
                .or(c.get(4))
                .map_or("", |m| m.as_str());
            let format = c.get(3).or(c.get(6)).map(|m| m.as_str());
            match vars.get(name) {
                Some(v) => v.render(format),
                None => c[0].to_string(),
            }
        })
        .into_owned()
}

/// Turns every comparison with a vector side into its `bool` form, so a query returns its
/// series whether or not a threshold is crossed. Comparisons between scalars already need
/// `bool` and stay as they are; comparisons inside the argument of a filtering function
/// change too (the rewrite is about "is there data", not about values).
pub fn bool_form(expr: &Expr) -> Expr {
    let mut e = expr.clone();
    rewrite_bool(&mut e);
    e
}

fn rewrite_bool(e: &mut Expr) {
    match e {
        Expr::Binary(b) => {
            rewrite_bool(&mut b.lhs);
            rewrite_bool(&mut b.rhs);
            let vector_side =
                b.lhs.value_type() == ValueType::Vector || b.rhs.value_type() == ValueType::Vector;
            if b.op.is_comparison_operator() && vector_side {
                b.modifier
                    .get_or_insert_with(BinModifier::default)
                    .return_bool = true;
            }
        }
        Expr::Aggregate(a) => {
            rewrite_bool(&mut a.expr);
            if let Some(p) = &mut a.param {
                rewrite_bool(p);
            }
        }
        Expr::Unary(u) => rewrite_bool(&mut u.expr),
        Expr::Paren(p) => rewrite_bool(&mut p.expr),
        Expr::Subquery(s) => rewrite_bool(&mut s.expr),
        Expr::Call(c) => c.args.args.iter_mut().for_each(|a| rewrite_bool(a)),
        Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::Extension(_) => {}
    }
}

/// Whether the query asks for something to be missing (`absent(...)`): "no data" is then
/// its normal state.
pub(super) fn uses_absence(expr: &Expr) -> bool {
    let mut found = false;
    walk(expr, &mut |e| {
        if let Expr::Call(c) = e
            && ABSENCE_FUNCTIONS.contains(&c.func.name)
        {
            found = true;
        }
    });
    found
}

/// The distinct vector selectors of a query (offset, `@` and range removed), in order of
/// appearance, leaving out those under `absent()` & co.
pub fn selectors(expr: &Expr) -> Vec<VectorSelector> {
    let mut out: Vec<VectorSelector> = Vec::new();
    collect_selectors(expr, &mut out);
    out
}

fn collect_selectors(e: &Expr, out: &mut Vec<VectorSelector>) {
    let mut push = |vs: &VectorSelector| {
        let plain = VectorSelector::new(vs.name.clone(), vs.matchers.clone());
        if !out.contains(&plain) {
            out.push(plain);
        }
    };
    match e {
        Expr::VectorSelector(vs) => push(vs),
        Expr::MatrixSelector(ms) => push(&ms.vs),
        Expr::Call(c) if ABSENCE_FUNCTIONS.contains(&c.func.name) => {}
        Expr::Call(c) => c.args.args.iter().for_each(|a| collect_selectors(a, out)),
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        Expr::Aggregate(a) => {
            collect_selectors(&a.expr, out);
            if let Some(p) = &a.param {
                collect_selectors(p, out);
            }
        }
        Expr::Unary(u) => collect_selectors(&u.expr, out),
        Expr::Paren(p) => collect_selectors(&p.expr, out),
        Expr::Subquery(s) => collect_selectors(&s.expr, out),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

fn walk(e: &Expr, f: &mut impl FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, f)),
        Expr::Binary(b) => {
            walk(&b.lhs, f);
            walk(&b.rhs, f);
        }
        Expr::Aggregate(a) => {
            walk(&a.expr, f);
            if let Some(p) = &a.param {
                walk(p, f);
            }
        }
        Expr::Unary(u) => walk(&u.expr, f),
        Expr::Paren(p) => walk(&p.expr, f),
        Expr::Subquery(s) => walk(&s.expr, f),
        Expr::MatrixSelector(ms) => f(&Expr::VectorSelector(ms.vs.clone())),
        Expr::VectorSelector(_)
        | Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::Extension(_) => {}
    }
}

/// The binary operations of a query (already in `bool` form) that match series of two
/// vectors: arithmetic, comparisons and `and`. `or` and `unless` are left out: an empty
/// side is their normal case. Inner joins come first.
pub(super) fn joins(expr: &Expr) -> Vec<BinaryExpr> {
    let mut out = Vec::new();
    collect_joins(expr, &mut out);
    out
}

fn collect_joins(e: &Expr, out: &mut Vec<BinaryExpr>) {
    match e {
        Expr::Binary(b) => {
            collect_joins(&b.lhs, out);
            collect_joins(&b.rhs, out);
            let id = b.op.id();
            if b.lhs.value_type() == ValueType::Vector
                && b.rhs.value_type() == ValueType::Vector
                && id != T_LOR
                && id != T_LUNLESS
            {
                out.push(b.clone());
            }
        }
        Expr::Call(c) if ABSENCE_FUNCTIONS.contains(&c.func.name) => {}
        Expr::Call(c) => c.args.args.iter().for_each(|a| collect_joins(a, out)),
        Expr::Aggregate(a) => {
            collect_joins(&a.expr, out);
            if let Some(p) = &a.param {
                collect_joins(p, out);
            }
        }
        Expr::Unary(u) => collect_joins(&u.expr, out),
        Expr::Paren(p) => collect_joins(&p.expr, out),
        Expr::Subquery(s) => collect_joins(&s.expr, out),
        Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::Extension(_) => {}
    }
}

/// The labels a join compares, as its `on`/`ignoring` clause says.
enum Matching {
    On(Vec<String>),
    Ignoring(Vec<String>),
}

fn matching(b: &BinaryExpr) -> Matching {
    match b.modifier.as_ref().and_then(|m| m.matching.as_ref()) {
        Some(LabelModifier::Include(ls)) => Matching::On(ls.labels.clone()),
        Some(LabelModifier::Exclude(ls)) => Matching::Ignoring(ls.labels.clone()),
        None => Matching::Ignoring(Vec::new()),
    }
}

/// The key a series is matched on.
fn signature(series: &Labels, m: &Matching) -> BTreeMap<String, String> {
    match m {
        Matching::On(ls) => ls
            .iter()
            .map(|l| (l.clone(), series.get(l).cloned().unwrap_or_default()))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        Matching::Ignoring(ls) => series
            .iter()
            .filter(|(k, _)| *k != "__name__" && !ls.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Says why two non-empty sides of a join produced nothing: the labels one side has and
/// the other lacks, or the values that differ, with one example key from each side.
pub(super) fn explain_empty_join(b: &BinaryExpr, lhs: &[Labels], rhs: &[Labels]) -> String {
    let m = matching(b);
    let names = |side: &[Labels]| -> BTreeSet<String> {
        side.iter()
            .flat_map(|s| signature(s, &m).into_keys())
            .collect()
    };
    let (left, right) = (names(lhs), names(rhs));
    let mut reasons = Vec::new();
    if let Matching::On(ls) = &m {
        for (side, present) in [("left", &left), ("right", &right)] {
            let missing: Vec<&str> = ls
                .iter()
                .filter(|l| !present.contains(*l))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                reasons.push(format!(
                    "the {side} side has no {} label",
                    quote_list(&missing)
                ));
            }
        }
    } else {
        let only = |a: &BTreeSet<String>, b: &BTreeSet<String>| -> Vec<String> {
            a.difference(b).cloned().collect()
        };
        let (only_left, only_right) = (only(&left, &right), only(&right, &left));
        if !only_left.is_empty() {
            reasons.push(format!(
                "labels only on the left: {}",
                quote_list(&only_left)
            ));
        }
        if !only_right.is_empty() {
            reasons.push(format!(
                "labels only on the right: {}",
                quote_list(&only_right)
            ));
        }
    }
    if reasons.is_empty() {
        reasons.push("no series has the same matching labels on both sides".to_string());
    }
    let example = |side: &[Labels]| {
        side.first()
            .map(|s| format_labels(&signature(s, &m)))
            .unwrap_or_default()
    };
    format!(
        "{} ({} series on the left, e.g. {}; {} on the right, e.g. {})",
        reasons.join("; "),
        lhs.len(),
        example(lhs),
        rhs.len(),
        example(rhs)
    )
}

fn quote_list<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `{a="1", b="2"}`.
pub(super) fn format_labels(labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// The metric name of a selector, from its name or a `__name__="..."` matcher.
pub(super) fn metric_name(vs: &VectorSelector) -> Option<String> {
    vs.name.clone().or_else(|| {
        vs.matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && m.op == MatchOp::Equal)
            .map(|m| m.value.clone())
    })
}

/// The label matchers of a selector other than its metric name.
pub(super) fn label_matchers(vs: &VectorSelector) -> Vec<Matcher> {
    vs.matchers
        .matchers
        .iter()
        .filter(|m| !(m.name == "__name__" && m.op == MatchOp::Equal))
        .cloned()
        .collect()
}

/// `name{matcher}` as a selector Prometheus accepts (`{__name__="x", ...}` when there is
/// no name: a bare `{}` is not one).
pub(super) fn selector_with(name: Option<&str>, matchers: &[Matcher]) -> String {
    let mut all: Vec<String> = Vec::new();
    if let Some(n) = name {
        all.push(format!("__name__={n:?}"));
    }
    all.extend(matchers.iter().map(|m| m.to_string()));
    format!("{{{}}}", all.join(", "))
}

/// A dashboard variable's query, as Grafana's Prometheus data source reads it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum VariableQuery {
    /// `label_values(label)` or `label_values(selector, label)`.
    LabelValues {
        selector: Option<String>,
        label: String,
    },
    /// `query_result(expr)`: values are taken from the formatted result lines.
    QueryResult(String),
    /// `label_names()`, `metrics(...)`: no selector to check.
    Other,
}

impl VariableQuery {
    /// Reads a variable query (after substitution of earlier variables).
    pub(super) fn parse(query: &str) -> VariableQuery {
        let q = query.trim();
        let args = |prefix: &str| {
            q.strip_prefix(prefix)
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix('('))
                .and_then(|r| r.trim_end().strip_suffix(')'))
        };
        if let Some(inner) = args("label_values") {
            // The label is the last argument; the selector before it may contain commas.
            return match inner.rsplit_once(',') {
                Some((sel, label)) => VariableQuery::LabelValues {
                    selector: Some(sel.trim().to_string()),
                    label: label.trim().to_string(),
                },
                None => VariableQuery::LabelValues {
                    selector: None,
                    label: inner.trim().to_string(),
                },
            };
        }
        if let Some(inner) = args("query_result") {
            return VariableQuery::QueryResult(inner.trim().to_string());
        }
        if q.starts_with("label_names") || q.starts_with("metrics") || q.is_empty() {
            return VariableQuery::Other;
        }
        // Grafana treats anything else as a query_result.
        VariableQuery::QueryResult(q.to_string())
    }
}

/// Applies a variable's `regex` (Grafana: `/pattern/flags`, the first capture group when
/// there is one) to its values, keeping order and dropping duplicates.
pub(super) fn filter_values(
    values: Vec<String>,
    pattern: Option<&str>,
) -> Result<Vec<String>, String> {
    let Some(p) = pattern.filter(|p| !p.is_empty()) else {
        return Ok(dedup(values));
    };
    let (body, flags) = match p.strip_prefix('/').and_then(|r| r.rsplit_once('/')) {
        Some((body, flags)) => (body, flags),
        None => (p, ""),
    };
    let re = regex::RegexBuilder::new(body)
        .case_insensitive(flags.contains('i'))
        .build()
        .map_err(|e| format!("its regex `{p}` is invalid: {e}"))?;
    let kept = values
        .into_iter()
        .filter_map(|v| {
            let c = re.captures(&v)?;
            Some(
                c.get(1)
                    .unwrap_or_else(|| c.get(0).expect("group 0 is the match"))
                    .as_str()
                    .to_string(),
            )
        })
        .collect();
    Ok(dedup(kept))
}

fn dedup(values: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

/// Grafana's text for one `query_result` line: `name{labels} value timestamp`.
pub(super) fn result_line(labels: &Labels, value: &str, time_ms: i64) -> String {
    let name = labels.get("__name__").cloned().unwrap_or_default();
    let inner: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{name}{{{}}} {value} {time_ms}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use promql_parser::parser::parse;

    fn vars(list: &[(&str, VarValue)]) -> BTreeMap<String, VarValue> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn variables_are_substituted_as_grafana_does() {
        let v = vars(&[
            ("__rate_interval", VarValue::Raw("1m".into())),
            ("job", VarValue::Single("node".into())),
            ("jobs", VarValue::Multi(vec!["a.b".into(), "c".into()])),
            ("all", VarValue::Raw(".+".into())),
        ]);
        assert_eq!(
            substitute(
                r#"rate(x{job="$job", j=~"${jobs}", k=~"[[all]]"}[$__rate_interval]) + $unknown"#,
                &v
            ),
            r#"rate(x{job="node", j=~"(a\\.b|c)", k=~".+"}[1m]) + $unknown"#
        );
        // `$jobs` is one variable, not `$job` followed by "s".
        assert_eq!(substitute("$jobs", &v), r"(a\\.b|c)");
        assert_eq!(substitute("${jobs:raw} ${job:regex}", &v), "a.b,c node");
        assert_eq!(substitute("[[job]]x", &v), "nodex");
        assert_eq!(VarValue::Single(r"a\b'c".into()).render(None), r"a\\b\\'c");
    }

    #[test]
    fn undefined_variables_are_named_but_group_references_are_not() {
        let v = vars(&[("job", VarValue::Single("x".into()))]);
        assert_eq!(
            undefined_variables(
                r#"label_replace(up{job="$job", a="$nope"}, "b", "$1${2}", "c", "(.*)") + [[nope]] + ${other:raw}"#,
                &v
            ),
            ["nope", "other"]
        );
    }

    #[test]
    fn substituted_regexes_are_valid_promql() {
        let v = vars(&[("x", VarValue::Multi(vec!["a.b(c)".into(), "d|e".into()]))]);
        let q = substitute(r#"up{job=~"$x"}"#, &v);
        let Expr::VectorSelector(vs) = parse(&q).unwrap() else {
            panic!("a selector")
        };
        let m = &vs.matchers.matchers[0];
        assert!(m.is_match("a.b(c)") && m.is_match("d|e"), "{q}");
        assert!(!m.is_match("axb(c)") && !m.is_match("d"), "{q}");
    }

    #[test]
    fn comparisons_get_bool_and_print_back() {
        for (input, want) in [
            ("up == 0", "up == bool 0"),
            (
                "a > on (x) group_left () b",
                "a > bool on (x) group_left () b",
            ),
            (
                "count(up{job=\"x\"} < 1) > 0",
                "count(up{job=\"x\"} < bool 1) > bool 0",
            ),
            ("1 < bool 2", "1 < bool 2"),
            ("a / b", "a / b"),
            ("a and b > 1", "a and b > bool 1"),
        ] {
            let e = bool_form(&parse(input).unwrap());
            let printed = e.to_string();
            assert_eq!(printed, want, "{input}");
            // What we send must mean what we built.
            assert_eq!(parse(&printed).unwrap(), e, "{printed}");
        }
    }

    #[test]
    fn selectors_drop_offset_and_range_and_skip_absent() {
        let e = parse(
            r#"rate(x{a="1"}[5m] offset 1h) / rate(x{a="1"}[1m]) + on() absent(gone) * y @ 100"#,
        )
        .unwrap();
        let got: Vec<String> = selectors(&e).iter().map(|s| s.to_string()).collect();
        assert_eq!(got, [r#"x{a="1"}"#, "y"]);
        assert!(uses_absence(&e));
        assert!(!uses_absence(&parse("x").unwrap()));
    }

    #[test]
    fn joins_are_vector_pairs_but_not_or_unless() {
        let e = parse("(a + b) or c unless d and e / 2 > f").unwrap();
        let got: Vec<String> = joins(&bool_form(&e))
            .iter()
            .map(|b| b.to_string())
            .collect();
        // `and` and `unless` bind alike, left first: `(c unless d) and ...`.
        assert_eq!(
            got,
            ["a + b", "e / 2 > bool f", "c unless d and e / 2 > bool f"]
        );
    }

    #[test]
    fn empty_joins_name_the_labels_that_differ() {
        let l = |pairs: &[(&str, &str)]| -> Labels {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let Expr::Binary(b) = parse("a + b").unwrap() else {
            panic!()
        };
        let why = explain_empty_join(
            &b,
            &[l(&[("__name__", "a"), ("job", "j"), ("cpu", "total")])],
            &[l(&[("__name__", "b"), ("job", "j")])],
        );
        assert!(why.starts_with("labels only on the left: `cpu`"), "{why}");
        assert!(why.contains(r#"e.g. {cpu="total", job="j"}"#), "{why}");
        let Expr::Binary(b) = parse("a / on(handler) b").unwrap() else {
            panic!()
        };
        let why = explain_empty_join(&b, &[l(&[("job", "j")])], &[l(&[("handler", "/")])]);
        assert!(
            why.starts_with("the left side has no `handler` label"),
            "{why}"
        );
        let Expr::Binary(b) = parse("a / b").unwrap() else {
            panic!()
        };
        let why = explain_empty_join(&b, &[l(&[("job", "x")])], &[l(&[("job", "y")])]);
        assert!(
            why.starts_with("no series has the same matching labels"),
            "{why}"
        );
    }

    #[test]
    fn variable_queries_are_read_like_grafana() {
        assert_eq!(
            VariableQuery::parse(r#"label_values(up{job=~"a,b"}, instance)"#),
            VariableQuery::LabelValues {
                selector: Some(r#"up{job=~"a,b"}"#.into()),
                label: "instance".into()
            }
        );
        assert_eq!(
            VariableQuery::parse("label_values(job)"),
            VariableQuery::LabelValues {
                selector: None,
                label: "job".into()
            }
        );
        assert_eq!(
            VariableQuery::parse("query_result(topk(3, up))"),
            VariableQuery::QueryResult("topk(3, up)".into())
        );
        assert_eq!(VariableQuery::parse("label_names()"), VariableQuery::Other);
    }

    #[test]
    fn variable_regexes_filter_and_capture() {
        let vals = vec!["a-1".to_string(), "b-2".into(), "a-1".into(), "c".into()];
        assert_eq!(
            filter_values(vals.clone(), Some("/([ab])-\\d/")).unwrap(),
            ["a", "b"]
        );
        assert_eq!(
            filter_values(vals.clone(), None).unwrap(),
            ["a-1", "b-2", "c"]
        );
        assert!(filter_values(vals, Some("/(/")).is_err());
    }

    #[test]
    fn selector_parts() {
        let Expr::VectorSelector(vs) = parse(r#"{__name__="up", job="x"}"#).unwrap() else {
            panic!()
        };
        assert_eq!(metric_name(&vs).as_deref(), Some("up"));
        let ms = label_matchers(&vs);
        assert_eq!(
            selector_with(Some("up"), &ms),
            r#"{__name__="up", job="x"}"#
        );
        assert_eq!(selector_with(None, &ms), r#"{job="x"}"#);
    }
}

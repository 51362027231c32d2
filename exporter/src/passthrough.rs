//! Pass-through of another exporter's metrics: reads Prometheus text (0.0.4) or
//! OpenMetrics, keeps the allow-listed families and hands them to the snapshot under
//! their own names.
//!
//! This is how MinIO's `/minio/v2/metrics/cluster` and Trino's `/metrics` reach
//! our `/metrics` without re-declaring every upstream metric in the catalog. It is kept
//! deliberately strict, because whatever it lets through lands in our exposition: a
//! family whose name is a catalog metric is dropped (the catalog stays the only author of
//! its names), names and labels are validated, and types the encoder cannot write
//! faithfully (summaries, gauge histograms, state sets, info) are dropped rather than
//! mangled. Only the families a user allow-listed pass, so a chatty upstream cannot blow
//! up our series count by accident.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hyper::Method;
use hyper::header::HeaderValue;
use lakewatch_catalog::{Kind, name};
use regex::Regex;

use crate::collector::{Family, FamilySample, Histogram, Value};
use crate::config::secret::Secret;
use crate::error_kind::ErrorKind;
use crate::http_client::{self, Endpoint, HttpError};

/// Why a body could not be read at all. Single bad lines are skipped instead, since a
/// whole upstream should not vanish over one sample.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// A line the reader cannot skip.
    #[error("line {line}: {why}")]
    Line {
        /// Line number, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
}

/// Families to let through: glob patterns (`*` matches any run of characters) matched
/// against the whole name users query (`minio_cluster_capacity_*`).
#[derive(Debug, Clone)]
pub struct AllowList(Vec<Regex>);

impl AllowList {
    /// Builds an allow-list; fails on a pattern that is not a valid metric name glob.
    pub fn new<S: AsRef<str>>(globs: &[S]) -> Result<AllowList, String> {
        globs
            .iter()
            .map(|g| {
                let g = g.as_ref();
                if g.is_empty() || !g.chars().all(|c| c == '*' || name::is_metric_name_char(c)) {
                    return Err(format!(
                        "invalid pattern {g:?}: expected a metric name, optionally with * wildcards"
                    ));
                }
                let re = format!("^{}$", regex::escape(g).replace(r"\*", ".*"));
                Regex::new(&re).map_err(|e| format!("invalid pattern {g:?}: {e}"))
            })
            .collect::<Result<_, _>>()
            .map(AllowList)
    }

    /// True when some pattern matches `name`.
    pub fn allows(&self, name: &str) -> bool {
        self.0.iter().any(|r| r.is_match(name))
    }
}

/// Equal when the patterns are (a reload compares settings; `Regex` has no `==`).
impl PartialEq for AllowList {
    fn eq(&self, other: &AllowList) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|(a, b)| a.as_str() == b.as_str())
    }
}

/// A sample line as written: its name (with any `_total`, `_bucket`… suffix), its label
/// pairs sorted by name, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSample {
    /// The sample name, suffix included.
    pub name: String,
    /// Label pairs, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The value (`+Inf`, `-Inf` and `NaN` read as such).
    pub value: f64,
}

/// What the text said about one family name.
#[derive(Debug, Default)]
struct RawFamily {
    kind: Option<String>,
    help: Option<String>,
    samples: Vec<RawSample>,
}

/// Every sample line of an exposition as written, grouped by family (in a family, in the
/// order written), and the `# TYPE` of each declared family: the reader [`select`] starts
/// from, before any family is chosen, converted or dropped. The integration tests read
/// `/metrics` with it, so they check our output with the parser we trust upstream's to.
pub fn read(text: &str) -> Result<(Vec<RawSample>, BTreeMap<String, String>), ParseError> {
    let mut samples = Vec::new();
    let mut types = BTreeMap::new();
    for (name, family) in parse(text)? {
        if let Some(kind) = family.kind {
            types.insert(name, kind);
        }
        samples.extend(family.samples);
    }
    Ok((samples, types))
}

/// Parses an exposition and selects the allow-listed families. `is_reserved` says which
/// names are not ours to emit (the catalog's); `extra` labels are added to every sample
/// (an existing label of the same name is kept as `exported_<name>`, as Prometheus does).
pub fn select(
    text: &str,
    allow: &AllowList,
    is_reserved: impl Fn(&str) -> bool,
    extra: &[(&str, &str)],
) -> Result<Vec<Family>, ParseError> {
    let raw = parse(text)?;
    let mut out = Vec::new();
    for (name, fam) in raw {
        let Some(family) = convert(&name, fam) else {
            continue;
        };
        // `_total` of a counter or `_bucket` of a histogram declared with an empty name
        // (`# TYPE  counter`) leaves no name at all (found by fuzzing).
        if !name::is_metric_name(&family.name) {
            continue;
        }
        let query = family.query_name();
        if !allow.allows(&query) || is_reserved(&query) || is_reserved(&family.name) {
            continue;
        }
        let mut family = family;
        for s in &mut family.samples {
            add_labels(&mut s.labels, extra);
        }
        out.push(family);
    }
    Ok(out)
}

fn add_labels(labels: &mut Vec<(String, String)>, extra: &[(&str, &str)]) {
    for (k, v) in extra {
        if let Some(existing) = labels.iter_mut().find(|(n, _)| n == k) {
            existing.0 = format!("exported_{k}");
        }
        labels.push((k.to_string(), v.to_string()));
    }
    labels.sort();
    labels.dedup_by(|a, b| a.0 == b.0);
}

/// Reads the text into families keyed by their declared (or, when undeclared, sample)
/// name. Accepts both formats: OpenMetrics-only lines (`# UNIT`, `# EOF`, exemplars,
/// `_created` series) are understood and then ignored.
fn parse(text: &str) -> Result<BTreeMap<String, RawFamily>, ParseError> {
    let mut families: BTreeMap<String, RawFamily> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let err = |why: String| ParseError::Line { line: i + 1, why };
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start();
            let mut parts = rest.splitn(3, ' ');
            let keyword = parts.next().unwrap_or("");
            let (Some(name), tail) = (parts.next(), parts.next().unwrap_or("")) else {
                continue;
            };
            match keyword {
                "HELP" => families.entry(name.to_string()).or_default().help = Some(tail.into()),
                "TYPE" => {
                    families.entry(name.to_string()).or_default().kind =
                        Some(tail.trim().to_string())
                }
                _ => {} // UNIT, EOF and free comments carry nothing we re-emit
            }
            continue;
        }
        let sample = parse_sample(line).map_err(err)?;
        let family = family_of(&families, &sample.name);
        families.entry(family).or_default().samples.push(sample);
    }
    Ok(families)
}

/// The family a sample belongs to: a declared family of the same name, or the declared
/// family whose type explains the suffix (`x_bucket` of histogram `x`, `x_total` of
/// counter `x` in OpenMetrics), else its own untyped family.
fn family_of(families: &BTreeMap<String, RawFamily>, sample: &str) -> String {
    if families.get(sample).is_some_and(|f| f.kind.is_some()) {
        return sample.to_string();
    }
    for (suffix, kinds) in [
        ("_bucket", &["histogram", "gaugehistogram"][..]),
        ("_sum", &["histogram", "summary"][..]),
        ("_count", &["histogram", "summary"][..]),
        ("_gsum", &["gaugehistogram"][..]),
        ("_gcount", &["gaugehistogram"][..]),
        ("_total", &["counter"][..]),
        ("_created", &["counter", "histogram", "summary"][..]),
        ("_info", &["info"][..]),
    ] {
        if let Some(base) = sample.strip_suffix(suffix)
            && let Some(kind) = families.get(base).and_then(|f| f.kind.as_deref())
            && kinds.contains(&kind)
        {
            return base.to_string();
        }
    }
    sample.to_string()
}

/// Parses `name{l="v",...} value [timestamp] [# exemplar]`.
fn parse_sample(line: &str) -> Result<RawSample, String> {
    let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
    let name = &line[..name_end];
    if !name::is_metric_name(name) {
        return Err(format!("invalid metric name {name:?}"));
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut s = after;
        loop {
            s = s.trim_start_matches([' ', ',']);
            if let Some(after) = s.strip_prefix('}') {
                s = after;
                break;
            }
            let eq = s.find('=').ok_or("label without '='")?;
            let key = s[..eq].trim();
            if !name::is_label_name(key) {
                return Err(format!("invalid label name {key:?}"));
            }
            s = s[eq + 1..]
                .trim_start()
                .strip_prefix('"')
                .ok_or("label value must be quoted")?;
            let mut value = String::new();
            let mut chars = s.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c)) => value.push(c),
                        None => return Err("unterminated label value".into()),
                    },
                    Some((i, '"')) => break i,
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                }
            };
            labels.push((key.to_string(), value));
            s = &s[end + 1..];
        }
        rest = s;
    }
    // Drop an OpenMetrics exemplar; the timestamp (if any) is ignored: our samples carry
    // none, and the upstream value is "now" from our snapshot's point of view.
    let rest = rest.split(" # ").next().unwrap_or("");
    let value = rest
        .split_whitespace()
        .next()
        .ok_or("sample without a value")?;
    let value = match value {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|_| format!("invalid value {v:?}"))?,
    };
    labels.sort();
    Ok(RawSample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Escapes help text for a `# HELP` line (upstream escapes were undone by nothing, so
/// this only guards against a bare backslash or a line break sneaking through).
fn help_text(raw: Option<String>, name: &str) -> String {
    let help = raw.unwrap_or_default();
    let help = help.replace('\n', " ");
    if help.trim().is_empty() {
        format!("Passed through from upstream metric {name}.")
    } else {
        help
    }
}

/// Turns a parsed family into one our encoder writes under the same sample names, or
/// `None` when that is not possible faithfully.
fn convert(name: &str, raw: RawFamily) -> Option<Family> {
    if raw.samples.is_empty() {
        return None;
    }
    let declared = raw.kind.as_deref().unwrap_or("untyped");
    let help = help_text(raw.help, name);
    // Non-finite gauges have no portable spelling in both formats (`+Inf` vs the
    // encoder's `inf`); they are rare enough upstream to drop rather than special-case.
    let numbers = |samples: Vec<RawSample>| -> Vec<FamilySample> {
        samples
            .into_iter()
            .filter(|s| !s.value.is_infinite())
            .map(|s| FamilySample {
                labels: s.labels,
                value: Value::Number(s.value),
            })
            .collect()
    };
    match declared {
        "counter" => {
            // OpenMetrics declares `x` and writes `x_total`; 0.0.4 declares and writes
            // `x_total`. Either way a counter whose series ends in `_total` stays a
            // counter; an old-style counter without it would be renamed by an
            // OpenMetrics encoder, so it passes as `unknown` to keep its name.
            let samples: Vec<RawSample> = raw
                .samples
                .into_iter()
                .filter(|s| !s.name.ends_with("_created"))
                .collect();
            let first = samples.first()?.name.clone();
            let same = samples.iter().all(|s| s.name == first);
            if !same {
                return None;
            }
            match first.strip_suffix("_total") {
                Some(base) => Some(Family {
                    name: base.to_string(),
                    kind: Kind::Counter,
                    help,
                    samples: numbers(samples),
                }),
                None => Some(Family {
                    name: first,
                    kind: Kind::Unknown,
                    help,
                    samples: numbers(samples),
                }),
            }
        }
        "gauge" | "untyped" | "unknown" => {
            if raw.samples.iter().any(|s| s.name != name) {
                return None;
            }
            // A gauge named `*_total` (MinIO has several) fails `promtool check metrics`;
            // `unknown` keeps the name and the value.
            let kind = if declared == "gauge" && !name.ends_with("_total") {
                Kind::Gauge
            } else {
                Kind::Unknown
            };
            Some(Family {
                name: name.to_string(),
                kind,
                help,
                samples: numbers(raw.samples),
            })
        }
        "histogram" => histogram(name, help, raw.samples),
        _ => None, // summary, gaugehistogram, stateset, info: not written faithfully
    }
}

/// Reassembles `_bucket{le}`, `_sum` and `_count` series into histograms per label set.
fn histogram(name: &str, help: String, samples: Vec<RawSample>) -> Option<Family> {
    #[derive(Default)]
    struct Acc {
        buckets: Vec<(f64, f64)>,
        sum: Option<f64>,
        count: Option<f64>,
    }
    let mut by_labels: BTreeMap<Vec<(String, String)>, Acc> = BTreeMap::new();
    for s in samples {
        let suffix = &s.name[name.len().min(s.name.len())..];
        let mut labels = s.labels;
        match suffix {
            "_bucket" => {
                let pos = labels.iter().position(|(k, _)| k == "le")?;
                let (_, le) = labels.remove(pos);
                let le = match le.as_str() {
                    "+Inf" | "Inf" => f64::INFINITY,
                    v => v.parse().ok()?,
                };
                by_labels
                    .entry(labels)
                    .or_default()
                    .buckets
                    .push((le, s.value));
            }
            "_sum" => by_labels.entry(labels).or_default().sum = Some(s.value),
            "_count" => by_labels.entry(labels).or_default().count = Some(s.value),
            _ => {} // `_created`
        }
    }
    let mut out = Vec::new();
    for (labels, mut acc) in by_labels {
        acc.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        if acc.buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
            return None;
        }
        let as_count = |v: f64| (v >= 0.0 && v.fract() == 0.0).then_some(v as u64);
        let mut prev = 0u64;
        let mut buckets = Vec::with_capacity(acc.buckets.len());
        for (le, cumulative) in acc.buckets {
            let c = as_count(cumulative)?;
            // Our Histogram stores per-bucket counts; the encoder accumulates again.
            buckets.push((le, c.checked_sub(prev)?));
            prev = c;
        }
        let count = acc.count.and_then(as_count).unwrap_or(prev);
        out.push(FamilySample {
            labels,
            value: Value::Histogram(Arc::new(Histogram {
                buckets,
                sum: acc.sum.unwrap_or(0.0),
                count,
            })),
        });
    }
    Some(Family {
        name: name.to_string(),
        kind: Kind::Histogram,
        help,
        samples: out,
    })
}

/// Why a pass-through endpoint could not be read; `kind` is the error kind vocabulary
/// of `lakewatch_collector_errors_total`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    /// The error kind.
    pub kind: ErrorKind,
    /// What went wrong, naming the endpoint.
    pub message: String,
}

/// Upper bound of a pass-through body; MinIO's cluster endpoint is a few hundred KiB on
/// large clusters, so anything far beyond is a misconfigured URL, not metrics.
const MAX_BODY: usize = 32 << 20;

/// GETs an exposition from `endpoint` (http or https), with an optional bearer token,
/// within `timeout`. Errors never contain the token.
pub async fn fetch(
    endpoint: &Endpoint,
    bearer: Option<&Secret>,
    timeout: Duration,
) -> Result<String, FetchError> {
    let url = endpoint.url("");
    let fail = |kind: ErrorKind, message: String| FetchError { kind, message };
    let mut headers = vec![(
        hyper::header::ACCEPT,
        HeaderValue::from_static(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        ),
    )];
    if let Some(token) = bearer {
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                fail(
                    ErrorKind::Config,
                    format!("GET {url}: the token is not a valid header"),
                )
            })?;
        value.set_sensitive(true);
        headers.push((hyper::header::AUTHORIZATION, value));
    }
    let work = http_client::request(endpoint, Method::GET, "", &headers, None, MAX_BODY);
    let resp = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| {
            fail(
                ErrorKind::Timeout,
                format!("GET {url}: no answer within {timeout:?}"),
            )
        })?
        .map_err(|e| {
            let text = http_client::error_chain(&e);
            let kind = match e {
                HttpError::Connect { .. } => classify_transport(&text),
                e => e.kind(),
            };
            fail(kind, format!("GET {url}: {text}"))
        })?;
    if !resp.status.is_success() {
        let kind = match resp.status.as_u16() {
            401 | 403 => ErrorKind::Auth,
            500..=599 => ErrorKind::Http5xx,
            _ => ErrorKind::Http,
        };
        return Err(fail(kind, format!("GET {url}: HTTP {}", resp.status)));
    }
    String::from_utf8(resp.body.to_vec())
        .map_err(|_| fail(ErrorKind::Parse, format!("GET {url}: body is not UTF-8")))
}

/// Classifies a transport failure from its message chain: the underlying errors (io,
/// DNS resolver, rustls) are boxed several layers deep and only their text is stable.
pub fn classify_transport(text: &str) -> ErrorKind {
    let t = text.to_ascii_lowercase();
    if t.contains("dns")
        || t.contains("failed to lookup address")
        || t.contains("name or service not known")
        || t.contains("no address")
    {
        ErrorKind::Dns
    } else if t.contains("certificate")
        || t.contains("tls")
        || t.contains("handshake")
        || t.contains("invalid peer")
    {
        ErrorKind::Tls
    } else if t.contains("timed out") || t.contains("timeout") {
        ErrorKind::Timeout
    } else if t.contains("connection refused")
        || t.contains("connect")
        || t.contains("connection reset")
        || t.contains("broken pipe")
    {
        ErrorKind::Connect
    } else {
        ErrorKind::Io
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_without_a_name_are_dropped() {
        let allow = AllowList::new(&["*"]).unwrap();
        for text in [
            "# TYPE  counter\n_total 1\n",
            "# TYPE  histogram\n_bucket{le=\"+Inf\"} 1\n",
        ] {
            assert_eq!(
                select(text, &allow, |_| false, &[]).unwrap(),
                vec![],
                "{text}"
            );
        }
    }

    fn allow(globs: &[&str]) -> AllowList {
        AllowList::new(globs).unwrap()
    }

    const NODE: &str = r#"# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 0.21
# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 1234.5
node_cpu_seconds_total{cpu="0",mode="user"} 12
# HELP go_gc_duration_seconds A summary of the pause duration.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 1e-05
go_gc_duration_seconds_sum 0.1
go_gc_duration_seconds_count 3
# HELP req_seconds Request latency.
# TYPE req_seconds histogram
req_seconds_bucket{path="/a",le="0.1"} 2
req_seconds_bucket{path="/a",le="1"} 5
req_seconds_bucket{path="/a",le="+Inf"} 6
req_seconds_sum{path="/a"} 3.5
req_seconds_count{path="/a"} 6
odd_untyped{x="a \"q\" \\ b"} 7 1700000000000
"#;

    #[test]
    fn types_names_and_labels_survive() {
        let fams = select(NODE, &allow(&["*"]), |_| false, &[]).unwrap();
        let by: BTreeMap<String, &Family> = fams.iter().map(|f| (f.query_name(), f)).collect();
        assert_eq!(
            by.keys().collect::<Vec<_>>(),
            [
                "node_cpu_seconds_total",
                "node_load1",
                "odd_untyped",
                "req_seconds"
            ],
            "the summary is dropped"
        );
        assert_eq!(by["node_load1"].kind, Kind::Gauge);
        assert_eq!(by["node_load1"].help, "1m load average.");
        let cpu = by["node_cpu_seconds_total"];
        assert_eq!(
            (cpu.kind, cpu.name.as_str()),
            (Kind::Counter, "node_cpu_seconds")
        );
        assert_eq!(cpu.samples.len(), 2);
        assert_eq!(
            cpu.samples[0].labels,
            [("cpu".into(), "0".into()), ("mode".into(), "idle".into())]
        );
        assert_eq!(by["odd_untyped"].kind, Kind::Unknown);
        assert_eq!(by["odd_untyped"].samples[0].labels[0].1, "a \"q\" \\ b");
        let Value::Histogram(h) = &by["req_seconds"].samples[0].value else {
            panic!("histogram expected")
        };
        assert_eq!(h.buckets, [(0.1, 2), (1.0, 3), (f64::INFINITY, 1)]);
        assert_eq!((h.sum, h.count), (3.5, 6));
    }

    #[test]
    fn openmetrics_input() {
        let om = "# TYPE a counter\n# UNIT a bytes\n# HELP a Bytes.\na_total 5 # {trace_id=\"x\"} 1\na_created 1.7e9\n# TYPE b gauge\nb{l=\"v\"} 1.5\n# EOF\n";
        let fams = select(om, &allow(&["*"]), |_| false, &[]).unwrap();
        assert_eq!(fams.len(), 2);
        assert_eq!((fams[0].name.as_str(), fams[0].kind), ("a", Kind::Counter));
        assert_eq!(fams[0].samples.len(), 1, "_created is dropped");
        assert_eq!(fams[0].samples[0].value, Value::Number(5.0));
    }

    #[test]
    fn allow_list_reserved_names_and_extra_labels() {
        let text = "# TYPE node_load1 gauge\nnode_load1{target=\"theirs\"} 1\n# TYPE node_filesystem_size_bytes gauge\nnode_filesystem_size_bytes 5\n# TYPE other gauge\nother 1\n";
        let fams = select(
            text,
            &allow(&["node_*"]),
            |n| lakewatch_catalog::lookup(n).is_some(),
            &[("target", "lake")],
        )
        .unwrap();
        assert_eq!(fams.len(), 1, "{fams:?}");
        assert_eq!(fams[0].name, "node_load1");
        assert_eq!(
            fams[0].samples[0].labels,
            [
                ("exported_target".into(), "theirs".into()),
                ("target".into(), "lake".into())
            ]
        );
    }

    #[test]
    fn gauge_named_total_and_old_counter_keep_their_names() {
        let text = "# TYPE minio_cluster_drive_offline_total gauge\nminio_cluster_drive_offline_total 0\n# TYPE old_requests counter\nold_requests 3\n";
        let fams = select(text, &allow(&["*"]), |_| false, &[]).unwrap();
        assert_eq!(fams[0].query_name(), "minio_cluster_drive_offline_total");
        assert_eq!(fams[0].kind, Kind::Unknown);
        assert_eq!(fams[1].query_name(), "old_requests");
        assert_eq!(fams[1].kind, Kind::Unknown);
    }

    #[test]
    fn bad_lines_are_errors_with_line_numbers() {
        let e = select("ok 1\nbad{x=1} 2\n", &allow(&["*"]), |_| false, &[]).unwrap_err();
        assert_eq!(e.to_string(), "line 2: label value must be quoted");
        assert!(select("1bad 2\n", &allow(&["*"]), |_| false, &[]).is_err());
        assert!(select("x{a=\"b} 2\n", &allow(&["*"]), |_| false, &[]).is_err());
        assert!(select("x abc\n", &allow(&["*"]), |_| false, &[]).is_err());
    }

    #[test]
    fn allow_list_patterns() {
        let a = allow(&["minio_cluster_capacity_*", "exact"]);
        assert!(a.allows("minio_cluster_capacity_raw_total_bytes"));
        assert!(a.allows("exact"));
        assert!(!a.allows("exactly"));
        assert!(!a.allows("minio_node_drive_total_bytes"));
        assert!(AllowList::new(&["a.b"]).is_err());
        assert!(AllowList::new(&[""]).is_err());
    }

    #[test]
    fn transport_errors_are_classified() {
        assert_eq!(
            classify_transport(
                "client error (Connect): tcp connect error: Connection refused (os error 111)"
            ),
            ErrorKind::Connect
        );
        assert_eq!(
            classify_transport("dns error: failed to lookup address information"),
            ErrorKind::Dns
        );
        assert_eq!(
            classify_transport("invalid peer certificate: UnknownIssuer"),
            ErrorKind::Tls
        );
    }
}

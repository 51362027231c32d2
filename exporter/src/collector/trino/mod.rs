//! Trino coordinators through the REST API: `/v1/info` (public) for health and version,
//! `/v1/query` (with `X-Trino-User`) for query load, outcomes and latency, and optionally
//! `/ui/api/stats` (behind the web UI's login) for workers and drivers.
//!
//! `/v1/query` lists every query the coordinator still remembers, finished ones included
//! for minutes after they ended, so outcomes are derived by watching the list: a query is
//! counted and observed the first time it is seen FINISHED or FAILED and never again.
//! The ids remembered for that are exactly the final queries of the latest list (a query
//! that left the list never comes back), so memory follows what the coordinator itself
//! holds (`query.max-history`) and never grows with the exporter's age. Queries already
//! final at the first successful poll ended before we watched and are not counted.
//!
//! JSON is read with tolerant types: unknown fields are ignored and optional fields may be
//! missing, because field sets differ between Trino 351 and 48x. One bad entry in the
//! query list is skipped and counted in `lakewatch_trino_malformed_queries_total`; it never
//! fails the cycle.

pub mod airlift;
pub mod settings;

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderName, HeaderValue, SET_COOKIE};
use hyper::{Method, StatusCode};
use lakewatch_catalog as cat;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{BoxFuture, CollectError, Collector, Family, Fragment, Histogram, Job};
use crate::collector::trino::settings::{TrinoAuth, TrinoConfig, TrinoTarget};
use crate::config::schedule::Schedule;
use crate::http_client::{self, HttpError, Response};

/// Largest response body read. A `/v1/query` entry is 2–5 kB (it carries the query
/// text), so this fits tens of thousands of queries while bounding a runaway response.
const BODY_LIMIT: usize = 64 << 20;

/// The cookie Trino's web UI sets after a form login (`FormWebUiAuthenticationFilter`).
const UI_TOKEN_COOKIE: &str = "Trino-UI-Token";

/// Node states Trino reports (`NodeState`); each gets a 0/1 series so alerts can match
/// on `state` without the series appearing and disappearing.
const NODE_STATES: [&str; 5] = ["ACTIVE", "INACTIVE", "DRAINING", "DRAINED", "SHUTTING_DOWN"];

/// Trino's `ErrorType` values, pre-created at 0 so `rate()` works from the first failure.
const ERROR_TYPES: [&str; 4] = [
    "USER_ERROR",
    "INTERNAL_ERROR",
    "INSUFFICIENT_RESOURCES",
    "EXTERNAL",
];

// ---------------------------------------------------------------------------------
// Response shapes (Trino's `ServerInfo`, `BasicQueryInfo`, `BasicQueryStats`,
// `ClusterStatsResource.ClusterStats`), reduced to the fields used here.

/// `/v1/info`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub node_version: Option<NodeVersion>,
    pub environment: Option<String>,
    #[serde(default)]
    pub coordinator: bool,
    #[serde(default)]
    pub starting: bool,
    /// airlift Duration; optional in older versions.
    pub uptime: Option<String>,
    /// Only in recent versions; older ones need `/v1/info/state`.
    pub state: Option<String>,
}

/// `ServerInfo.nodeVersion`.
#[derive(Debug, Deserialize)]
pub struct NodeVersion {
    pub version: Option<String>,
}

/// One entry of `/v1/query` (`BasicQueryInfo`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryInfo {
    pub query_id: String,
    pub state: String,
    /// Omitted unless the query failed.
    pub error_type: Option<String>,
    #[serde(default)]
    pub query_stats: QueryStats,
}

/// `BasicQueryInfo.queryStats` (`BasicQueryStats`); sizes and durations are airlift
/// strings, parsed only when needed.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryStats {
    pub queued_time: Option<String>,
    pub execution_time: Option<String>,
    pub total_cpu_time: Option<String>,
    pub raw_input_data_size: Option<String>,
    pub user_memory_reservation: Option<String>,
    #[serde(default)]
    pub fully_blocked: bool,
}

/// `/ui/api/stats`. Numbers as `f64`: Jackson may write a `long` or `double` in either
/// plain or Java double notation (`1.0E10`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStats {
    pub active_workers: Option<f64>,
    pub running_drivers: Option<f64>,
    pub total_available_processors: Option<f64>,
}

/// One entry of the query list, or why it could not be used.
#[derive(Debug)]
pub enum Entry {
    Query(QueryInfo),
    /// Not a valid `BasicQueryInfo`; the id when one could be read.
    Malformed(Option<String>),
}

/// Parses a whole `/v1/query` body (see [`QueryListReader`]).
pub fn parse_query_list(body: &[u8]) -> Result<Vec<Entry>, String> {
    let mut reader = QueryListReader::default();
    reader.push(body);
    reader.finish()
}

/// Largest single entry kept for parsing; a longer one (a huge query text) is skipped
/// as malformed. Trino's own `query.max-length` is 1,000,000 characters.
const ENTRY_LIMIT: usize = 4 << 20;

/// Reads a `/v1/query` body as it arrives: the top-level array is split into its
/// elements on the fly and each element is parsed into [`QueryInfo`] on its own, so
/// memory holds one element and the fields kept per query, never the body (a
/// coordinator with thousands of remembered queries sends megabytes). Only a body that
/// is not a complete JSON array is an error; an element that is not a valid
/// `BasicQueryInfo` becomes [`Entry::Malformed`].
#[derive(Debug, Default)]
pub struct QueryListReader {
    state: ListState,
    /// Nesting depth inside the current element.
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The current element's bytes; cleared (and `oversized` set) past [`ENTRY_LIMIT`].
    element: Vec<u8>,
    oversized: bool,
    entries: Vec<Entry>,
    error: Option<String>,
}

#[derive(Debug, Default, PartialEq)]
enum ListState {
    /// Before the opening `[`.
    #[default]
    Start,
    /// After `[` (`first`) or a `,`: an element, or `]` right after `[`.
    Between { first: bool },
    /// Inside an element.
    Element,
    /// After the closing `]`: only whitespace may follow.
    Done,
}

impl QueryListReader {
    /// Takes the next piece of the body.
    pub fn push(&mut self, mut chunk: &[u8]) {
        while let Some(&b) = chunk.first() {
            if self.error.is_some() {
                return;
            }
            if self.state == ListState::Element {
                let n = self.element_bytes(chunk);
                chunk = &chunk[n..];
            } else if self.between_elements(b) {
                chunk = &chunk[1..];
            }
        }
    }

    /// The entries, once the whole body was pushed.
    pub fn finish(mut self) -> Result<Vec<Entry>, String> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match self.state {
            ListState::Done => Ok(self.entries),
            ListState::Start => Err("empty body, expected a JSON array".into()),
            _ => Err("the JSON array ends early (body cut short?)".into()),
        }
    }

    fn fail(&mut self, message: String) {
        self.error = Some(message);
    }

    /// Takes a byte outside any element; false when it starts one (left for
    /// [`Self::element_bytes`]).
    fn between_elements(&mut self, b: u8) -> bool {
        let space = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        match self.state {
            ListState::Start if space => {}
            ListState::Start if b == b'[' => self.state = ListState::Between { first: true },
            ListState::Start => self.fail(format!(
                "expected a JSON array, found {:?} first",
                char::from(b)
            )),
            ListState::Between { .. } if space => {}
            ListState::Between { first: true } if b == b']' => self.state = ListState::Done,
            ListState::Between { .. } if b == b']' || b == b',' => self.fail(format!(
                "{:?} where a list element was expected",
                char::from(b)
            )),
            ListState::Between { .. } | ListState::Element => {
                self.state = ListState::Element;
                return false;
            }
            ListState::Done if space => {}
            ListState::Done => self.fail(format!(
                "{:?} after the end of the JSON array",
                char::from(b)
            )),
        }
        true
    }

    /// Consumes bytes of the current element from `chunk`, up to and including the `,`
    /// or `]` that ends it; returns how many. Runs of string content are skipped in one
    /// search and copied in one go.
    fn element_bytes(&mut self, chunk: &[u8]) -> usize {
        let mut i = 0;
        while i < chunk.len() {
            if self.in_string && !self.escaped {
                // Jump to the next quote or backslash: the bulk of an entry is its text.
                match chunk[i..].iter().position(|&c| c == b'"' || c == b'\\') {
                    Some(p) => i += p,
                    None => {
                        i = chunk.len();
                        break;
                    }
                }
            }
            let b = chunk[i];
            i += 1;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => self.depth -= 1,
                b',' | b']' if self.depth == 0 => {
                    self.keep(&chunk[..i - 1]);
                    self.end_element();
                    self.state = if b == b']' {
                        ListState::Done
                    } else {
                        ListState::Between { first: false }
                    };
                    return i;
                }
                b'}' => {
                    self.fail("unbalanced '}' in the JSON array".into());
                    return i;
                }
                _ => {}
            }
        }
        self.keep(&chunk[..i]);
        i
    }

    /// Appends to the current element, or drops it for good past [`ENTRY_LIMIT`].
    fn keep(&mut self, bytes: &[u8]) {
        if self.oversized {
            return;
        }
        if self.element.len() + bytes.len() > ENTRY_LIMIT {
            self.element = Vec::new();
            self.oversized = true;
        } else {
            self.element.extend_from_slice(bytes);
        }
    }

    fn end_element(&mut self) {
        /// What is left of an element that is not a valid `BasicQueryInfo`.
        #[derive(Deserialize)]
        struct Id {
            #[serde(rename = "queryId")]
            query_id: Option<String>,
        }
        let entry = if std::mem::take(&mut self.oversized) {
            Entry::Malformed(None)
        } else {
            match serde_json::from_slice::<QueryInfo>(&self.element) {
                Ok(q) => Entry::Query(q),
                Err(_) => Entry::Malformed(
                    serde_json::from_slice::<Id>(&self.element)
                        .ok()
                        .and_then(|i| i.query_id),
                ),
            }
        };
        self.entries.push(entry);
        self.element.clear();
    }
}

// ---------------------------------------------------------------------------------
// Pure state: which queries were counted, running totals.

/// A cumulative histogram being filled.
#[derive(Debug, Clone)]
pub struct HistogramAcc {
    bounds: Arc<[f64]>,
    /// One count per bound plus the +Inf bucket (not cumulative).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl HistogramAcc {
    pub fn new(bounds: Arc<[f64]>) -> HistogramAcc {
        let counts = vec![0; bounds.len() + 1];
        HistogramAcc {
            bounds,
            counts,
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, v: f64) {
        // First bound >= v: Prometheus buckets are "less than or equal".
        let i = self.bounds.partition_point(|b| *b < v);
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }

    pub fn snapshot(&self) -> Histogram {
        Histogram {
            buckets: self
                .bounds
                .iter()
                .copied()
                .chain(std::iter::once(f64::INFINITY))
                .zip(self.counts.iter().copied())
                .collect(),
            sum: self.sum,
            count: self.count,
        }
    }
}

/// Counts and sums over every query that reached a final state while watched.
#[derive(Debug, Clone)]
pub struct Totals {
    pub finished: u64,
    pub failed: u64,
    pub failed_by_type: BTreeMap<&'static str, u64>,
    pub input_bytes: u64,
    pub malformed: u64,
    pub execution: HistogramAcc,
    pub queued: HistogramAcc,
    pub cpu: HistogramAcc,
}

/// What the current list says about queries that are not done.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    pub running: u64,
    pub queued: u64,
    pub blocked: u64,
    pub reserved_bytes: u64,
}

/// The durations and size of a query that reached a final state.
struct Outcome {
    execution: f64,
    queued: f64,
    cpu: f64,
    input_bytes: u64,
}

impl Outcome {
    fn of(stats: &QueryStats) -> Option<Outcome> {
        let duration = |s: &Option<String>| airlift::parse_duration(s.as_deref()?).ok();
        Some(Outcome {
            execution: duration(&stats.execution_time)?,
            queued: duration(&stats.queued_time)?,
            cpu: duration(&stats.total_cpu_time)?,
            input_bytes: airlift::parse_data_size(stats.raw_input_data_size.as_deref()?).ok()?,
        })
    }
}

/// Follows the query list across polls and counts each final query exactly once.
#[derive(Debug, Clone)]
pub struct QueryTracker {
    /// False until the first successful poll, whose final queries are not counted.
    primed: bool,
    last_uptime: Option<f64>,
    /// Ids of final queries in the latest list (counted, skipped as pre-existing, or
    /// malformed): never counted again.
    seen: HashSet<Box<str>>,
    /// Ids in the latest list already counted as malformed.
    malformed: HashSet<Box<str>>,
    pub totals: Totals,
    /// Coordinator restarts noticed (uptime went down).
    pub restarts: u64,
}

impl QueryTracker {
    pub fn new(buckets: Arc<[f64]>) -> QueryTracker {
        QueryTracker {
            primed: false,
            last_uptime: None,
            seen: HashSet::new(),
            malformed: HashSet::new(),
            totals: Totals {
                finished: 0,
                failed: 0,
                failed_by_type: ERROR_TYPES.iter().map(|t| (*t, 0)).collect(),
                input_bytes: 0,
                malformed: 0,
                execution: HistogramAcc::new(buckets.clone()),
                queued: HistogramAcc::new(buckets.clone()),
                cpu: HistogramAcc::new(buckets),
            },
            restarts: 0,
        }
    }

    /// True once a poll succeeded, i.e. once the counters mean something.
    pub fn primed(&self) -> bool {
        self.primed
    }

    /// Number of query ids remembered (bounded by the latest list's length).
    pub fn remembered(&self) -> usize {
        self.seen.len() + self.malformed.len()
    }

    /// Takes one successful poll: the coordinator's uptime (when known) and its list.
    pub fn observe(&mut self, uptime: Option<f64>, entries: &[Entry]) -> Load {
        if let (Some(before), Some(now)) = (self.last_uptime, uptime)
            && now < before
        {
            // A restarted coordinator starts with an empty list: whatever it lists now
            // ran after the restart, so it is all new to us, even if an id repeated.
            self.seen.clear();
            self.malformed.clear();
            self.restarts += 1;
        }
        if uptime.is_some() {
            self.last_uptime = uptime;
        }
        let counting = self.primed;
        let mut seen = HashSet::with_capacity(self.seen.len().max(16));
        let mut malformed = HashSet::new();
        let mut load = Load::default();
        for entry in entries {
            let q = match entry {
                Entry::Query(q) => q,
                Entry::Malformed(id) => {
                    self.count_malformed(id.as_deref(), &mut malformed);
                    continue;
                }
            };
            match q.state.as_str() {
                "FINISHED" | "FAILED" => {
                    let id = q.query_id.as_str();
                    if self.seen.contains(id) || seen.contains(id) {
                        seen.insert(id.into());
                        continue;
                    }
                    seen.insert(id.into());
                    if !counting {
                        continue; // ended before we watched
                    }
                    match Outcome::of(&q.query_stats) {
                        Some(o) => self.count_final(q, &o),
                        None => self.count_malformed(Some(id), &mut malformed),
                    }
                }
                state => {
                    match state {
                        "QUEUED" => load.queued += 1,
                        "RUNNING" if q.query_stats.fully_blocked => load.blocked += 1,
                        "RUNNING" => load.running += 1,
                        _ => {} // planning, starting, finishing: neither queued nor running
                    }
                    if let Some(size) = &q.query_stats.user_memory_reservation {
                        match airlift::parse_data_size(size) {
                            Ok(b) => load.reserved_bytes = load.reserved_bytes.saturating_add(b),
                            Err(_) => self.count_malformed(Some(&q.query_id), &mut malformed),
                        }
                    }
                }
            }
        }
        self.seen = seen;
        self.malformed = malformed;
        self.primed = true;
        load
    }

    fn count_final(&mut self, q: &QueryInfo, o: &Outcome) {
        let t = &mut self.totals;
        if q.state == "FAILED" {
            t.failed += 1;
            let kind = q
                .error_type
                .as_deref()
                .and_then(|e| ERROR_TYPES.iter().find(|k| **k == e))
                .copied()
                .unwrap_or("UNKNOWN");
            *t.failed_by_type.entry(kind).or_default() += 1;
        } else {
            t.finished += 1;
        }
        t.input_bytes = t.input_bytes.saturating_add(o.input_bytes);
        t.execution.observe(o.execution);
        t.queued.observe(o.queued);
        t.cpu.observe(o.cpu);
    }

    /// Counts a malformed entry once per id (per poll when it has none).
    fn count_malformed(&mut self, id: Option<&str>, now: &mut HashSet<Box<str>>) {
        match id {
            Some(id) => {
                if !self.malformed.contains(id) && !now.contains(id) {
                    self.totals.malformed += 1;
                }
                now.insert(id.into());
            }
            None => self.totals.malformed += 1,
        }
    }
}

// ---------------------------------------------------------------------------------
// The collector.

/// Why a step of a cycle failed.
#[derive(Debug)]
struct Failure {
    kind: &'static str,
    message: String,
}

impl From<HttpError> for Failure {
    fn from(e: HttpError) -> Failure {
        Failure {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

impl Failure {
    fn into_error(self, fragment: Fragment) -> CollectError {
        CollectError::new(self.kind, self.message).with_fragment(fragment)
    }
}

/// Collects one Trino coordinator.
pub struct TrinoCollector {
    target: TrinoTarget,
    /// How long a cycle may take: a little less than the scheduler's timeout, so a hung
    /// coordinator is reported by this collector (with `trino_up 0`) rather than cut off
    /// by the scheduler with nothing published.
    budget: Duration,
    tracker: QueryTracker,
    /// The web UI session, reused until Trino asks for a new login.
    ui_cookie: Option<HeaderValue>,
}

impl TrinoCollector {
    pub fn new(target: TrinoTarget, schedule: Schedule) -> TrinoCollector {
        let margin =
            (schedule.timeout / 10).clamp(Duration::from_millis(20), Duration::from_secs(1));
        TrinoCollector {
            tracker: QueryTracker::new(target.buckets.clone()),
            budget: schedule.timeout.saturating_sub(margin),
            target,
            ui_cookie: None,
        }
    }

    async fn cycle(&mut self) -> Result<Fragment, CollectError> {
        let deadline = Instant::now() + self.budget;
        let name = self.target.name.clone();
        let t = [name.as_str()];
        let mut out = Fragment::default();

        let info: ServerInfo =
            match within(deadline, "/v1/info", self.get_json("/v1/info", false)).await {
                Ok(info) => info,
                Err(f) => {
                    out.push(&cat::TRINO_UP, t, 0.0);
                    return Err(f.into_error(out));
                }
            };
        out.push(&cat::TRINO_UP, t, 1.0);
        let version = info
            .node_version
            .as_ref()
            .and_then(|v| v.version.clone())
            .unwrap_or_default();
        out.push(
            &cat::TRINO_INFO,
            [
                name.as_str(),
                &version,
                info.environment.as_deref().unwrap_or(""),
                if info.coordinator { "true" } else { "false" },
            ],
            1.0,
        );
        out.push(&cat::TRINO_STARTING, t, f64::from(u8::from(info.starting)));
        // A malformed uptime only costs the uptime series and restart detection.
        let uptime = info
            .uptime
            .as_deref()
            .and_then(|u| airlift::parse_duration(u).ok());
        if let Some(u) = uptime {
            out.push(&cat::TRINO_UPTIME, t, u);
        }

        let state = match info.state {
            Some(s) => s,
            None => match within(
                deadline,
                "/v1/info/state",
                self.get_json::<String>("/v1/info/state", false),
            )
            .await
            {
                Ok(s) => s,
                Err(f) => return Err(f.into_error(out)),
            },
        };
        for s in NODE_STATES {
            out.push(
                &cat::TRINO_NODE_STATE,
                [name.as_str(), s],
                f64::from(u8::from(s == state)),
            );
        }
        if !NODE_STATES.contains(&state.as_str()) {
            out.push(&cat::TRINO_NODE_STATE, [name.as_str(), state.as_str()], 1.0);
        }

        let entries = match within(deadline, "/v1/query", self.queries()).await {
            Ok(e) => e,
            Err(f) => return Err(f.into_error(out)),
        };
        // Synchronous from here on: a cancellation can no longer split an update.
        let restarts = self.tracker.restarts;
        let load = self.tracker.observe(uptime, &entries);
        if self.tracker.restarts > restarts {
            tracing::info!(target = %name, "Trino coordinator restarted (uptime went down); its query list is taken as new");
        }
        self.push_queries(&mut out, load);

        if self.target.ui_stats {
            match within(deadline, "/ui/api/stats", self.ui_stats()).await {
                Ok(stats) => {
                    for (metric, value) in [
                        (&cat::TRINO_ACTIVE_WORKERS, stats.active_workers),
                        (&cat::TRINO_RUNNING_DRIVERS, stats.running_drivers),
                        (
                            &cat::TRINO_AVAILABLE_PROCESSORS,
                            stats.total_available_processors,
                        ),
                    ] {
                        if let Some(v) = value {
                            out.push(metric, t, v);
                        }
                    }
                }
                Err(f) => return Err(f.into_error(out)),
            }
        }
        if let Some(allow) = &self.target.metrics_allow {
            match within(deadline, "/metrics", self.own_metrics(allow)).await {
                Ok(families) => out.passthrough = families,
                Err(f) => return Err(f.into_error(out)),
            }
        }
        Ok(out)
    }

    /// Trino's own OpenMetrics endpoint (same authentication as the REST API), filtered
    /// by the target's allow-list and labelled with the target.
    async fn own_metrics(
        &self,
        allow: &crate::passthrough::AllowList,
    ) -> Result<Vec<Family>, Failure> {
        let resp = self
            .send(Method::GET, "/metrics", &self.api_headers(), None)
            .await?;
        check_status("/metrics", resp.status)?;
        let text = std::str::from_utf8(&resp.body).map_err(|_| Failure {
            kind: "parse",
            message: "/metrics: body is not UTF-8".into(),
        })?;
        crate::passthrough::select(
            text,
            allow,
            |n| cat::lookup(n).is_some(),
            &[("target", self.target.name.as_str())],
        )
        .map_err(|e| Failure {
            kind: "parse",
            message: format!("/metrics: {e}"),
        })
    }

    fn push_queries(&self, out: &mut Fragment, load: Load) {
        let name = self.target.name.as_str();
        let t = [name];
        out.push(&cat::TRINO_RUNNING_QUERIES, t, load.running as f64);
        out.push(&cat::TRINO_QUEUED_QUERIES, t, load.queued as f64);
        out.push(&cat::TRINO_BLOCKED_QUERIES, t, load.blocked as f64);
        out.push(&cat::TRINO_RESERVED_MEMORY, t, load.reserved_bytes as f64);
        let totals = &self.tracker.totals;
        out.push(
            &cat::TRINO_QUERIES,
            [name, "FINISHED"],
            totals.finished as f64,
        );
        out.push(&cat::TRINO_QUERIES, [name, "FAILED"], totals.failed as f64);
        for (kind, n) in &totals.failed_by_type {
            out.push(&cat::TRINO_FAILED_QUERIES, [name, kind], *n as f64);
        }
        out.push(&cat::TRINO_QUERY_INPUT_BYTES, t, totals.input_bytes as f64);
        for (metric, h) in [
            (&cat::TRINO_QUERY_EXECUTION_TIME, &totals.execution),
            (&cat::TRINO_QUERY_QUEUED_TIME, &totals.queued),
            (&cat::TRINO_QUERY_CPU_TIME, &totals.cpu),
        ] {
            out.push_histogram(metric, t, Arc::new(h.snapshot()));
        }
        out.push(&cat::TRINO_MALFORMED_QUERIES, t, totals.malformed as f64);
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<Bytes>,
    ) -> Result<Response, Failure> {
        Ok(http_client::request(
            &self.target.endpoint,
            method,
            path,
            headers,
            body,
            BODY_LIMIT,
        )
        .await?)
    }

    /// Headers that identify and authenticate the exporter to Trino's API.
    fn api_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut h = Vec::with_capacity(2);
        // Validated as header-safe when the config was loaded.
        if let Ok(user) = HeaderValue::from_str(&self.target.user) {
            h.push((HeaderName::from_static("x-trino-user"), user));
        }
        let auth = match &self.target.auth {
            TrinoAuth::None => None,
            TrinoAuth::Password(p) => Some(http_client::basic_auth(&self.target.user, p.expose())),
            TrinoAuth::Token(tok) => Some(format!("Bearer {}", tok.expose())),
        };
        if let Some(mut v) = auth.and_then(|a| HeaderValue::from_str(&a).ok()) {
            v.set_sensitive(true);
            h.push((AUTHORIZATION, v));
        }
        h
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        authenticated: bool,
    ) -> Result<T, Failure> {
        // /v1/info is public: credentials go only where they are needed.
        let headers = if authenticated {
            self.api_headers()
        } else {
            Vec::new()
        };
        let resp = self.send(Method::GET, path, &headers, None).await?;
        check_status(path, resp.status)?;
        decode(path, &resp.body)
    }

    async fn queries(&self) -> Result<Vec<Entry>, Failure> {
        let path = "/v1/query";
        let mut reader = QueryListReader::default();
        let (status, _) = http_client::request_streamed(
            &self.target.endpoint,
            Method::GET,
            path,
            &self.api_headers(),
            None,
            BODY_LIMIT,
            |status, data| {
                if status.is_success() {
                    reader.push(data);
                }
            },
        )
        .await?;
        check_status(path, status)?;
        reader.finish().map_err(|e| Failure {
            kind: "parse",
            message: format!("{path}: not a JSON list of queries: {e}"),
        })
    }

    /// `/ui/api/stats`, logging in to the web UI first when it asks (401 or a redirect
    /// to the login page), then once more with the new session cookie.
    async fn ui_stats(&mut self) -> Result<ClusterStats, Failure> {
        let path = "/ui/api/stats";
        for attempt in 0..2 {
            let headers: Vec<_> = self.ui_cookie.iter().map(|c| (COOKIE, c.clone())).collect();
            let resp = self.send(Method::GET, path, &headers, None).await?;
            let wants_login =
                resp.status == StatusCode::UNAUTHORIZED || resp.status.is_redirection();
            if attempt == 0 && wants_login {
                self.ui_cookie = Some(self.ui_login().await?);
                continue;
            }
            check_status(path, resp.status)?;
            return decode(path, &resp.body);
        }
        Err(Failure {
            kind: "auth",
            message: format!(
                "{path}: still asks for a login after logging in to the web UI as {}",
                self.target.user
            ),
        })
    }

    /// Form login of Trino's web UI (`POST /ui/login`); returns the session cookie.
    async fn ui_login(&self) -> Result<HeaderValue, Failure> {
        let mut form = vec![
            ("username", self.target.user.as_str()),
            ("redirectPath", ""),
        ];
        if let TrinoAuth::Password(p) = &self.target.auth {
            form.push(("password", p.expose()));
        }
        let body = Bytes::from(http_client::form_encode(&form));
        let headers = [(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )];
        let resp = self
            .send(Method::POST, "/ui/login", &headers, Some(body))
            .await?;
        let cookie = resp
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|pair| pair.starts_with(&format!("{UI_TOKEN_COOKIE}=")))
            .and_then(|pair| HeaderValue::from_str(pair).ok());
        cookie
            .map(|mut c| {
                c.set_sensitive(true);
                c
            })
            .ok_or_else(|| Failure {
                kind: "auth",
                message: format!(
                    "web UI login as {} returned HTTP {} without a {UI_TOKEN_COOKIE} cookie (wrong password, or the UI does not use form login)",
                    self.target.user, resp.status
                ),
            })
    }
}

/// The Trino collector's jobs: one per coordinator.
pub fn jobs(settings: &TrinoConfig) -> Vec<Job> {
    settings
        .targets
        .iter()
        .map(|target| Job {
            schedule: settings.schedule,
            collector: Box::new(TrinoCollector::new(target.clone(), settings.schedule)),
        })
        .collect()
}

impl Collector for TrinoCollector {
    fn name(&self) -> &'static str {
        "trino"
    }

    fn target(&self) -> &str {
        &self.target.name
    }

    fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
        Box::pin(self.cycle())
    }
}

async fn within<T>(
    deadline: Instant,
    path: &str,
    step: impl Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    tokio::time::timeout_at(deadline, step)
        .await
        .unwrap_or_else(|_| {
            Err(Failure {
                kind: "timeout",
                message: format!("{path}: no complete answer within the collector's timeout"),
            })
        })
}

fn check_status(path: &str, status: StatusCode) -> Result<(), Failure> {
    if status.is_success() {
        return Ok(());
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(Failure {
            kind: "auth",
            message: format!("{path}: HTTP {status}: check the target's user, password or token"),
        });
    }
    Err(Failure {
        kind: "http",
        message: format!("{path}: HTTP {status}"),
    })
}

fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body).map_err(|e| Failure {
        kind: "parse",
        message: format!("{path}: unexpected response ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: &str, state: &str, exec: &str) -> Entry {
        Entry::Query(QueryInfo {
            query_id: id.into(),
            state: state.into(),
            error_type: (state == "FAILED").then(|| "USER_ERROR".to_string()),
            query_stats: QueryStats {
                queued_time: Some("100.00ms".into()),
                execution_time: Some(exec.into()),
                total_cpu_time: Some("2.00s".into()),
                raw_input_data_size: Some("1.00kB".into()),
                user_memory_reservation: Some("1024B".into()),
                fully_blocked: false,
            },
        })
    }

    fn tracker() -> QueryTracker {
        QueryTracker::new(crate::collector::trino::settings::TRINO_BUCKETS.into())
    }

    #[test]
    fn final_queries_of_the_first_poll_are_not_counted() {
        let mut t = tracker();
        let load = t.observe(
            Some(10.0),
            &[q("old", "FINISHED", "1.00s"), q("a", "QUEUED", "0.00s")],
        );
        assert_eq!(load.queued, 1);
        assert_eq!(t.totals.finished, 0);
        assert!(t.primed());
        t.observe(
            Some(20.0),
            &[q("old", "FINISHED", "1.00s"), q("a", "FINISHED", "3.00s")],
        );
        assert_eq!(t.totals.finished, 1);
        assert_eq!(t.totals.execution.count, 1);
        assert_eq!(t.totals.execution.sum, 3.0);
    }

    #[test]
    fn each_final_query_is_counted_once_across_overlapping_polls() {
        let mut t = tracker();
        t.observe(None, &[]);
        let list = [q("a", "FINISHED", "1.00s"), q("b", "FAILED", "0.00ms")];
        for _ in 0..5 {
            t.observe(None, &list);
        }
        assert_eq!((t.totals.finished, t.totals.failed), (1, 1));
        assert_eq!(t.totals.failed_by_type["USER_ERROR"], 1);
        assert_eq!(t.totals.execution.count, 2);
        assert_eq!(t.totals.input_bytes, 2048);
        // Duplicates inside one list count once too.
        t.observe(
            None,
            &[q("c", "FINISHED", "1.00s"), q("c", "FINISHED", "1.00s")],
        );
        assert_eq!(t.totals.finished, 2);
    }

    #[test]
    fn running_blocked_and_queued_follow_the_web_ui() {
        let mut t = tracker();
        let mut blocked = q("b", "RUNNING", "1.00s");
        if let Entry::Query(info) = &mut blocked {
            info.query_stats.fully_blocked = true;
        }
        let load = t.observe(
            None,
            &[
                q("r", "RUNNING", "1.00s"),
                blocked,
                q("w", "QUEUED", "0.00s"),
                q("p", "PLANNING", "0.00s"),
            ],
        );
        assert_eq!(
            load,
            Load {
                running: 1,
                queued: 1,
                blocked: 1,
                reserved_bytes: 4096
            }
        );
    }

    #[test]
    fn restart_takes_the_new_list_as_it_comes() {
        let mut t = tracker();
        t.observe(Some(600.0), &[q("a", "RUNNING", "1.00s")]);
        t.observe(Some(615.0), &[q("a", "FINISHED", "1.00s")]);
        assert_eq!(t.totals.finished, 1);
        // Restarted: uptime went down. Even a repeated id is a new query now.
        t.observe(
            Some(5.0),
            &[q("a", "FINISHED", "1.00s"), q("n", "FAILED", "0.00s")],
        );
        assert_eq!(t.restarts, 1);
        assert_eq!((t.totals.finished, t.totals.failed), (2, 1));
        t.observe(
            Some(20.0),
            &[q("a", "FINISHED", "1.00s"), q("n", "FAILED", "0.00s")],
        );
        assert_eq!((t.totals.finished, t.totals.failed), (2, 1));
    }

    #[test]
    fn malformed_entries_are_skipped_and_counted_once() {
        let mut t = tracker();
        t.observe(None, &[]);
        let bad = || q("bad", "FINISHED", "1.5 seconds");
        t.observe(
            None,
            &[
                bad(),
                Entry::Malformed(Some("x".into())),
                Entry::Malformed(None),
            ],
        );
        t.observe(
            None,
            &[
                bad(),
                Entry::Malformed(Some("x".into())),
                Entry::Malformed(None),
            ],
        );
        assert_eq!(t.totals.finished, 0);
        assert_eq!(t.totals.execution.count, 0);
        // "bad" and "x" once each; the id-less entry once per poll.
        assert_eq!(t.totals.malformed, 4);
    }

    #[test]
    fn memory_stays_bounded_over_100k_queries() {
        let mut t = tracker();
        t.observe(None, &[]);
        // Trino keeps roughly the last 100 finished queries (query.max-history); feed
        // 100k distinct ones in overlapping windows of 1000.
        let mut max_remembered = 0;
        for window in 0..200 {
            let list: Vec<Entry> = (window * 500..window * 500 + 1000)
                .map(|i| {
                    q(
                        &format!("20250101_000000_{i:05}_abcde"),
                        "FINISHED",
                        "1.00s",
                    )
                })
                .collect();
            t.observe(None, &list);
            max_remembered = max_remembered.max(t.remembered());
        }
        assert_eq!(t.totals.finished, 199 * 500 + 1000);
        assert_eq!(max_remembered, 1000, "never more than one list");
    }

    #[test]
    fn histogram_buckets_are_less_or_equal() {
        let mut h = HistogramAcc::new(Arc::from(vec![0.1, 1.0]));
        for v in [0.0, 0.1, 0.5, 1.0, 5.0] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.buckets, vec![(0.1, 2), (1.0, 2), (f64::INFINITY, 1)]);
        assert_eq!((s.count, s.sum), (5, 6.6));
    }

    #[test]
    fn query_list_tolerates_unknown_missing_and_bad_fields() {
        let body = br#"[
            {"queryId":"a","state":"RUNNING","unknownField":{"x":1},"queryStats":{"fullyBlocked":true,"progressPercentage":1.0E1}},
            {"queryId":"b","state":7},
            {"state":"FINISHED"},
            {"queryId":"c","state":"FAILED","errorType":"EXTERNAL","queryStats":{"executionTime":"0.00ns","queuedTime":"0.00ns","totalCpuTime":"0.00ns","rawInputDataSize":"0B"}},
            5,
            {"queryId":9,"state":"RUNNING"}
        ]"#;
        let entries = parse_query_list(body).unwrap();
        assert!(matches!(&entries[0], Entry::Query(q) if q.query_stats.fully_blocked));
        assert!(matches!(&entries[1], Entry::Malformed(Some(id)) if id == "b"));
        assert!(matches!(&entries[2], Entry::Malformed(None)));
        assert!(
            matches!(&entries[3], Entry::Query(q) if q.error_type.as_deref() == Some("EXTERNAL"))
        );
        assert!(matches!(&entries[4], Entry::Malformed(None)));
        assert!(matches!(&entries[5], Entry::Malformed(None)));
        assert_eq!(entries.len(), 6);
        assert!(parse_query_list(b"{\"not\":\"a list\"}").is_err());
        assert!(parse_query_list(b"<html>").is_err());
    }

    /// The body in any pieces gives what the whole body gives: every split point, and
    /// one byte at a time.
    #[test]
    fn query_list_reader_does_not_depend_on_chunking() {
        let body =
            br#" [ {"queryId":"a]\"},{[","state":"RUNNING","queryStats":{"fullyBlocked":true}},
            [1,[2]], "x,]", {"queryId":"b","state":7} ,
            {"queryId":"c","state":"FINISHED","errorType":null}]
        "#;
        let whole = format!("{:?}", parse_query_list(body).unwrap());
        assert!(whole.contains(r#"query_id: "a]\"},{[""#), "{whole}");
        assert!(whole.contains(r#"Malformed(Some("b"))"#), "{whole}");
        assert_eq!(parse_query_list(body).unwrap().len(), 5);
        for at in 0..=body.len() {
            let mut r = QueryListReader::default();
            r.push(&body[..at]);
            r.push(&body[at..]);
            assert_eq!(format!("{:?}", r.finish().unwrap()), whole, "split at {at}");
        }
        let mut r = QueryListReader::default();
        for b in body {
            r.push(std::slice::from_ref(b));
        }
        assert_eq!(format!("{:?}", r.finish().unwrap()), whole, "byte by byte");
    }

    #[test]
    fn query_list_reader_refuses_what_is_not_one_complete_array() {
        for ok in [&b"[]"[..], b" \n[ \t]\r\n", b"[{}]"] {
            assert!(
                parse_query_list(ok).is_ok(),
                "{:?}",
                String::from_utf8_lossy(ok)
            );
        }
        for bad in [
            &b""[..],
            b"   ",
            b"[",
            b"[{\"queryId\":\"a\"",
            b"[1,",
            b"[1,]",
            b"[,1]",
            b"[1] x",
            b"[1]]",
            b"]",
            b"{}",
            b"[}]",
            b"<html>",
        ] {
            assert!(
                parse_query_list(bad).is_err(),
                "{:?} accepted",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// A huge element is skipped, not kept: memory stays bounded by ENTRY_LIMIT and the
    /// entries after it are still read.
    #[test]
    fn oversized_entry_is_skipped_as_malformed() {
        let mut r = QueryListReader::default();
        r.push(br#"[{"queryId":"huge","state":"RUNNING","query":""#);
        let text = vec![b'x'; 1 << 20];
        for _ in 0..5 {
            r.push(&text);
            assert!(r.element.capacity() <= ENTRY_LIMIT + (1 << 20));
        }
        r.push(br#""},{"queryId":"next","state":"RUNNING"}]"#);
        let entries = r.finish().unwrap();
        assert!(matches!(&entries[0], Entry::Malformed(None)), "{entries:?}");
        assert!(matches!(&entries[1], Entry::Query(q) if q.query_id == "next"));
    }

    #[test]
    fn server_info_of_old_and_new_versions() {
        let old: ServerInfo = serde_json::from_str(
            r#"{"nodeVersion":{"version":"351"},"environment":"prod","coordinator":true,"starting":false}"#,
        )
        .unwrap();
        assert!(old.uptime.is_none() && old.state.is_none());
        let new: ServerInfo = serde_json::from_str(
            r#"{"nodeId":"n1","state":"ACTIVE","nodeVersion":{"version":"476"},"environment":"prod","coordinator":true,"coordinatorId":"n1","starting":false,"uptime":"3.20m","nodeGroups":[]}"#,
        )
        .unwrap();
        assert_eq!(new.state.as_deref(), Some("ACTIVE"));
        let stats: ClusterStats = serde_json::from_str(
            r#"{"runningQueries":1,"activeWorkers":4,"runningDrivers":1.0E3,"totalAvailableProcessors":64,"reservedMemory":1.5E10}"#,
        )
        .unwrap();
        assert_eq!(stats.running_drivers, Some(1000.0));
    }
}

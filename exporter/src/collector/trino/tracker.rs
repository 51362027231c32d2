//! Pure state of the Trino collector: which final queries were already counted, the
//! running totals and the execution-time histograms.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use crate::collector::Histogram;
use crate::collector::trino::airlift;
use crate::collector::trino::api::{Entry, QueryInfo, QueryStats};

/// Trino's `ErrorType` values, pre-created at 0 so `rate()` works from the first failure.
const ERROR_TYPES: [&str; 4] = [
    "USER_ERROR",
    "INTERNAL_ERROR",
    "INSUFFICIENT_RESOURCES",
    "EXTERNAL",
];

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
    /// An empty histogram with these upper bounds (`+Inf` is implied).
    pub fn new(bounds: Arc<[f64]>) -> HistogramAcc {
        let counts = vec![0; bounds.len() + 1];
        HistogramAcc {
            bounds,
            counts,
            sum: 0.0,
            count: 0,
        }
    }

    /// Counts one observation.
    pub fn observe(&mut self, v: f64) {
        // First bound >= v: Prometheus buckets are "less than or equal".
        let i = self.bounds.partition_point(|b| *b < v);
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }

    /// The cumulative buckets, sum and count so far.
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
    /// Queries that finished.
    pub finished: u64,
    /// Queries that failed.
    pub failed: u64,
    /// Failed queries by Trino's error type (`USER_ERROR`, …).
    pub failed_by_type: BTreeMap<&'static str, u64>,
    /// Bytes read from the sources by finished and failed queries.
    pub input_bytes: u64,
    /// Final entries that could not be read.
    pub malformed: u64,
    /// Execution time of final queries, in seconds.
    pub execution: HistogramAcc,
    /// Time final queries spent queued, in seconds.
    pub queued: HistogramAcc,
    /// CPU time of final queries, in seconds.
    pub cpu: HistogramAcc,
}

/// What the current list says about queries that are not done.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Queries running now, not fully blocked.
    pub running: u64,
    /// Queries queued now.
    pub queued: u64,
    /// Running queries whose drivers are all blocked (not counted in `running`).
    pub blocked: u64,
    /// User memory the running queries hold, in bytes.
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
    /// Everything counted so far.
    pub totals: Totals,
    /// Coordinator restarts noticed (uptime went down).
    pub restarts: u64,
}

impl QueryTracker {
    /// A tracker whose histograms use these bucket bounds.
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
}

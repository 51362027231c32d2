//! The hub: what collector tasks, the snapshot builder and the HTTP server share. Each
//! collector target's [`Status`] and last fragment, the served [`Snapshot`] (rebuilt
//! from them with the self-metrics), readiness and the last reload's outcome.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use std::time::{Duration, SystemTime};

use lakewatch_catalog as cat;
use tokio::sync::Notify;

use crate::collector::{CollectError, Fragment};
use crate::config::schedule::Schedule;
use crate::discovery::Report;
use crate::error_kind::ErrorKind;
use crate::snapshot::{Encoder, Snapshot};

/// What the landing page and self-metrics know about one collector target.
#[derive(Debug, Clone)]
pub struct Status {
    /// The collector's name (`postgres`).
    pub collector: &'static str,
    /// The target's name.
    pub target: String,
    /// Its interval and timeout.
    pub schedule: Schedule,
    /// Completed cycles, successful or not.
    pub cycles: u64,
    /// Whether the last cycle succeeded.
    pub up: bool,
    /// How long the last cycle took.
    pub last_duration: Duration,
    /// When a cycle last succeeded.
    pub last_success: Option<SystemTime>,
    /// Why the last cycle failed, if it did.
    pub last_error: Option<String>,
    /// Failed cycles by error kind, since start.
    pub errors: BTreeMap<&'static str, u64>,
    /// Catalog series of the last fragment (pass-through families not counted).
    pub series: usize,
    /// Series dropped over the cap, since start.
    pub dropped: u64,
}

pub(super) struct Entry {
    /// Unique for the process' life: a job replaced by a reload gets a new one, so a
    /// cycle of the old job that ends late is not recorded for the new one.
    pub(super) id: u64,
    pub(super) status: Status,
    fragment: Arc<Fragment>,
}

/// Outcome of the last configuration reload, for the self-metrics and the status page.
#[derive(Debug, Clone)]
pub struct ReloadStatus {
    /// Why the last reload failed (secrets masked); `None` after a success.
    pub error: Option<String>,
    /// The last successful load; start-up counts as one.
    pub at: SystemTime,
}

/// Shared state between collector tasks, the snapshot builder and the HTTP server.
pub struct Hub {
    entries: Mutex<Vec<Entry>>,
    pub(super) series_per_target: AtomicUsize,
    /// Read on every scrape without a lock or a reference count taken on the shared
    /// snapshot (`ArcSwap::load`): nothing on the `/metrics` path is written by every
    /// request, so the cores serving scrapes do not pass cache lines to each other.
    snapshot: ArcSwap<Snapshot>,
    /// Re-encodes only the fragments that changed since the last publish.
    encoder: Mutex<Encoder>,
    /// Set once a published snapshot includes every collector's first cycle. It stays
    /// set across reloads: a new target does not take a serving exporter out of a
    /// load balancer.
    ready: AtomicBool,
    pub(super) dirty: Notify,
    started: SystemTime,
    reload: Mutex<ReloadStatus>,
    /// What target discovery supplies now.
    discovery: Mutex<Report>,
    next_id: AtomicU64,
}

impl Hub {
    pub(super) fn new(series_per_target: usize) -> Hub {
        let started = SystemTime::now();
        Hub {
            entries: Mutex::new(Vec::new()),
            series_per_target: AtomicUsize::new(series_per_target),
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            encoder: Mutex::new(Encoder::default()),
            ready: AtomicBool::new(false),
            dirty: Notify::new(),
            started,
            reload: Mutex::new(ReloadStatus {
                error: None,
                at: started,
            }),
            discovery: Mutex::new(Report::default()),
            next_id: AtomicU64::new(0),
        }
    }

    /// Records a reload's outcome (`lakewatch_config_last_reload_successful` and its
    /// timestamp) and publishes it.
    pub fn reloaded(&self, outcome: Result<(), String>) {
        {
            let mut r = self.reload.lock().unwrap_or_else(|p| p.into_inner());
            if outcome.is_ok() {
                r.at = SystemTime::now();
            }
            r.error = outcome.err();
        }
        self.dirty.notify_one();
    }

    /// The last reload's outcome.
    pub fn last_reload(&self) -> ReloadStatus {
        self.reload
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records what target discovery supplies now (origins, per-source status) and
    /// publishes its metrics.
    pub fn discovered(&self, report: Report) {
        *self.discovery.lock().unwrap_or_else(|p| p.into_inner()) = report;
        self.dirty.notify_one();
    }

    /// What target discovery supplies now.
    pub fn discovery(&self) -> Report {
        self.discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // Nothing panics while holding this lock (only field updates), but if something
        // ever did, serving slightly inconsistent status beats refusing every scrape.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current snapshot (a reference taken on it: the status page, tests).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Runs `f` on the current snapshot without taking a reference to it (the
    /// `/metrics` path: `f` clones only the body it sends).
    pub fn with_snapshot<R>(&self, f: impl FnOnce(&Snapshot) -> R) -> R {
        f(&self.snapshot.load())
    }

    /// True once the served snapshot includes every collector target's first cycle.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Status of every collector target, in start order.
    pub fn statuses(&self) -> Vec<Status> {
        self.lock().iter().map(|e| e.status.clone()).collect()
    }

    /// A new entry, not yet in the list.
    pub(super) fn entry(
        &self,
        collector: &'static str,
        target: String,
        schedule: Schedule,
    ) -> Entry {
        Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            status: Status {
                collector,
                target,
                schedule,
                cycles: 0,
                up: false,
                last_duration: Duration::ZERO,
                last_success: None,
                last_error: None,
                errors: BTreeMap::new(),
                series: 0,
                dropped: 0,
            },
            fragment: Arc::default(),
        }
    }

    /// Records a cycle of job `id`; ignored when a reload has stopped that job since.
    pub(super) fn record(
        &self,
        id: u64,
        elapsed: Duration,
        mut result: Result<Fragment, CollectError>,
    ) {
        let fragment = match &mut result {
            Ok(f) => f,
            Err(e) => &mut e.fragment,
        };
        let limit = self.series_per_target.load(Ordering::Relaxed);
        let dropped = cap(fragment, limit);
        let mut entries = self.lock();
        let Some(idx) = entries.iter().position(|e| e.id == id) else {
            return;
        };
        if dropped > 0 {
            let s = &entries[idx].status;
            tracing::warn!(
                collector = s.collector,
                target = %s.target,
                dropped,
                limit,
                "too many series; dropped the rest (raise limits.series_per_target or filter the source)"
            );
            entries[idx].status.dropped += dropped as u64;
        }
        let e = &mut entries[idx];
        let s = &mut e.status;
        s.cycles += 1;
        s.last_duration = elapsed;
        match result {
            Ok(fragment) => {
                if !s.up && s.cycles > 1 {
                    tracing::info!(collector = s.collector, target = %s.target, "collector recovered");
                }
                s.up = true;
                s.last_success = Some(SystemTime::now());
                s.last_error = None;
                s.series = fragment.samples.len();
                e.fragment = Arc::new(fragment);
            }
            Err(err) => {
                let message = err.to_string();
                if s.up || s.last_error.as_deref() != Some(message.as_str()) {
                    if err.kind == ErrorKind::Panic {
                        tracing::error!(collector = s.collector, target = %s.target, error = %message, "collector panicked (a bug; please report it)");
                    } else {
                        tracing::warn!(collector = s.collector, target = %s.target, error = %message, "collection failed");
                    }
                } else {
                    tracing::debug!(collector = s.collector, target = %s.target, error = %message, "collection still failing");
                }
                s.up = false;
                *s.errors.entry(err.kind.label()).or_default() += 1;
                s.last_error = Some(message);
                s.series = err.fragment.samples.len();
                e.fragment = Arc::new(err.fragment);
            }
        }
        drop(entries);
        self.dirty.notify_one();
    }

    /// Builds and publishes a snapshot from the current fragments and self-metrics.
    pub(super) fn rebuild(&self) {
        let mut fragments: Vec<Arc<Fragment>> = Vec::new();
        let mut own = Fragment::default();
        let all_ran = {
            let entries = self.lock();
            for e in entries.iter() {
                fragments.push(e.fragment.clone());
                self_metrics(&e.status, &mut own);
            }
            entries.iter().all(|e| e.status.cycles > 0)
        };
        own.push(
            &cat::BUILD_INFO,
            [
                crate::build_info::VERSION,
                crate::build_info::REVISION,
                crate::build_info::RUST_VERSION,
            ],
            1.0,
        );
        let reload = self.last_reload();
        own.push(
            &cat::CONFIG_LAST_RELOAD_SUCCESSFUL,
            [""; 0],
            f64::from(u8::from(reload.error.is_none())),
        );
        own.push(
            &cat::CONFIG_LAST_RELOAD_SUCCESS,
            [""; 0],
            crate::timestamp::unix_seconds(reload.at),
        );
        for ((collector, source), s) in &self
            .discovery
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sources
        {
            let l = [*collector, *source];
            own.push(&cat::DISCOVERY_TARGETS, l, s.targets as f64);
            own.push(&cat::DISCOVERY_ERRORS, l, s.errors as f64);
            own.push(
                &cat::DISCOVERY_LAST_REFRESH_SUCCESSFUL,
                l,
                f64::from(u8::from(s.problems.is_empty())),
            );
        }
        process_metrics(self.started, &mut own);
        fragments.push(Arc::new(own));
        let snapshot = Arc::new(
            self.encoder
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .build(&fragments),
        );
        self.snapshot.store(snapshot);
        if all_ran {
            self.ready.store(true, Ordering::Release);
        }
    }
}

/// Keeps at most `limit` series of a fragment (catalog samples first, then whole
/// pass-through families while they fit); returns how many were dropped.
fn cap(fragment: &mut Fragment, limit: usize) -> usize {
    let passthrough: usize = fragment.passthrough.iter().map(|f| f.samples.len()).sum();
    let total = fragment.samples.len() + passthrough;
    if total <= limit {
        return 0;
    }
    fragment.samples.truncate(limit);
    let mut room = limit - fragment.samples.len();
    fragment.passthrough.retain(|f| {
        let fits = f.samples.len() <= room;
        if fits {
            room -= f.samples.len();
        }
        fits
    });
    let kept = fragment.samples.len()
        + fragment
            .passthrough
            .iter()
            .map(|f| f.samples.len())
            .sum::<usize>();
    total - kept
}

fn self_metrics(s: &Status, out: &mut Fragment) {
    if s.cycles == 0 {
        return; // nothing known yet; /readyz reports the wait
    }
    let l = [s.collector, s.target.as_str()];
    out.push(&cat::COLLECTOR_UP, l, f64::from(u8::from(s.up)));
    out.push(&cat::COLLECTOR_DURATION, l, s.last_duration.as_secs_f64());
    out.push(
        &cat::COLLECTOR_LAST_SUCCESS,
        l,
        s.last_success.map_or(0.0, crate::timestamp::unix_seconds),
    );
    // Always present (from 0), so increase() sees the first drop.
    out.push(&cat::SERIES_DROPPED, l, s.dropped as f64);
    for (kind, n) in &s.errors {
        out.push(
            &cat::COLLECTOR_ERRORS,
            [s.collector, s.target.as_str(), kind],
            *n as f64,
        );
    }
}

/// Process metrics from `/proc/self`; absent on systems without procfs.
fn process_metrics(started: SystemTime, out: &mut Fragment) {
    out.push(
        &cat::PROCESS_START_TIME,
        [""; 0],
        crate::timestamp::unix_seconds(started),
    );
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<f64>().ok());
        if let (Some(u), Some(s)) = (ticks(14), ticks(15)) {
            // USER_HZ is 100 on every Linux architecture userspace can observe.
            out.push(&cat::PROCESS_CPU, [""; 0], (u + s) / 100.0);
        }
        if let Some(rss_pages) = ticks(24) {
            out.push(
                &cat::PROCESS_RSS,
                [""; 0],
                rss_pages * rustix::param::page_size() as f64,
            );
        }
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        out.push(&cat::PROCESS_OPEN_FDS, [""; 0], dir.count() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stopped_jobs_late_cycle_is_not_recorded() {
        let hub = Hub::new(10);
        let schedule = Schedule {
            interval: Duration::from_secs(3600),
            timeout: Duration::from_millis(50),
        };
        let entry = hub.entry("test", "a".into(), schedule);
        let id = entry.id;
        hub.lock().push(entry);
        hub.record(id + 1, Duration::ZERO, Ok(Fragment::default()));
        assert_eq!(hub.statuses()[0].cycles, 0, "an unknown id changes nothing");
        hub.record(id, Duration::ZERO, Ok(Fragment::default()));
        assert_eq!(hub.statuses()[0].cycles, 1);
    }

    #[test]
    fn cap_keeps_whole_passthrough_families() {
        let fam = |n: usize| crate::collector::Family {
            name: format!("up_{n}"),
            kind: lakewatch_catalog::Kind::Gauge,
            help: String::new(),
            samples: (0..n)
                .map(|i| crate::collector::FamilySample {
                    labels: vec![("i".into(), i.to_string())],
                    value: crate::collector::Value::Number(1.0),
                })
                .collect(),
        };
        let mut f = Fragment::default();
        f.push(&cat::FILESYSTEM_FILES, ["d", "ext4", "/"], 1.0);
        f.passthrough = vec![fam(3), fam(2)];
        assert_eq!(cap(&mut f, 10), 0);
        assert_eq!(
            cap(&mut f, 4),
            2,
            "the 2-sample family does not fit after 1 + 3"
        );
        assert_eq!(f.passthrough.len(), 1);
        assert_eq!(f.passthrough[0].name, "up_3");
    }
}

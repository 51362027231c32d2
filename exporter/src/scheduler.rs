//! Runs every collector in its own task, on its own interval, under a hard timeout, and
//! keeps the served [`Snapshot`] current.
//!
//! A cycle's result replaces that collector's fragment; a failed, timed-out or panicking
//! cycle clears it (no stale series) and flips `lakewatch_collector_up` to 0; a task that
//! dies anyway (a panic while a collector's future is dropped) is restarted by a
//! supervisor and reported the same way, as a `panic` error. Results are
//! handed to one builder task that re-encodes the snapshot, coalescing bursts of updates,
//! so encoding never happens on a collector's clock or on a scrape.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use lakewatch_catalog as cat;
use tokio::sync::{Mutex as AsyncMutex, Notify};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::collector::{CollectError, Fragment, Job};
use crate::config::schedule::Schedule;
use crate::error_kind::ErrorKind;
use crate::snapshot::Snapshot;

// Surviving a collector's panic relies on unwinding; with `panic = "abort"` one buggy
// collector would take every other one and /metrics down with it.
#[cfg(not(panic = "unwind"))]
compile_error!(
    "lakewatch-exporter must be built with panic = \"unwind\" (collector panics are caught)"
);

/// What the landing page and self-metrics know about one collector target.
#[derive(Debug, Clone)]
pub struct Status {
    pub collector: &'static str,
    pub target: String,
    pub schedule: Schedule,
    /// Completed cycles, successful or not.
    pub cycles: u64,
    pub up: bool,
    pub last_duration: Duration,
    pub last_success: Option<SystemTime>,
    pub last_error: Option<String>,
    pub errors: BTreeMap<&'static str, u64>,
    pub series: usize,
    /// Series dropped over the cap, since start.
    pub dropped: u64,
}

struct Entry {
    status: Status,
    fragment: Arc<Fragment>,
}

/// Shared state between collector tasks, the snapshot builder and the HTTP server.
pub struct Hub {
    entries: Mutex<Vec<Entry>>,
    series_per_target: usize,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Set once a published snapshot includes every collector's first cycle.
    ready: AtomicBool,
    dirty: Notify,
    started: SystemTime,
}

impl Hub {
    fn new(series_per_target: usize) -> Hub {
        Hub {
            entries: Mutex::new(Vec::new()),
            series_per_target,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            ready: AtomicBool::new(false),
            dirty: Notify::new(),
            started: SystemTime::now(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        // Nothing panics while holding this lock (only field updates), but if something
        // ever did, serving slightly inconsistent status beats refusing every scrape.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current snapshot: a pointer clone, the whole cost of a scrape's lookup.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// True once the served snapshot includes every collector target's first cycle.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Status of every collector target, in start order.
    pub fn statuses(&self) -> Vec<Status> {
        self.lock().iter().map(|e| e.status.clone()).collect()
    }

    fn register(&self, collector: &'static str, target: String, schedule: Schedule) -> usize {
        let mut entries = self.lock();
        entries.push(Entry {
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
        });
        entries.len() - 1
    }

    fn record(&self, idx: usize, elapsed: Duration, mut result: Result<Fragment, CollectError>) {
        let fragment = match &mut result {
            Ok(f) => f,
            Err(e) => &mut e.fragment,
        };
        let dropped = cap(fragment, self.series_per_target);
        let mut entries = self.lock();
        if dropped > 0 {
            let s = &entries[idx].status;
            tracing::warn!(
                collector = s.collector,
                target = %s.target,
                dropped,
                limit = self.series_per_target,
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
    fn rebuild(&self) {
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
        process_metrics(self.started, &mut own);
        fragments.push(Arc::new(own));
        let snapshot = Arc::new(Snapshot::build(&fragments));
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = snapshot;
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

/// Turns a panic inside a collector's future into an error for that cycle, so one
/// buggy collector never takes the process (or its own task) down.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut self.0).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

/// The message a panic was raised with.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn panicked(message: String) -> CollectError {
    CollectError::new(ErrorKind::Panic, format!("collector panicked: {message}"))
}

/// Runs one cycle under the job's timeout. A panic while the collector starts or polls
/// its future fails the cycle; one while the future is dropped ends the task, and
/// [`supervise`] restarts it.
async fn run_cycle(job: &mut Job) -> Result<Fragment, CollectError> {
    let timeout = job.schedule.timeout;
    let collector = &mut job.collector;
    let start = move || {
        let collector = collector; // moved in, so the future may borrow it
        collector.collect()
    };
    let future = match std::panic::catch_unwind(AssertUnwindSafe(start)) {
        Ok(future) => future,
        Err(payload) => return Err(panicked(panic_message(payload.as_ref()))),
    };
    match tokio::time::timeout(timeout, CatchUnwind(future)).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(panicked(panic)),
        Err(_) => Err(CollectError::new(
            ErrorKind::Timeout,
            format!("cycle did not finish within the {timeout:?} timeout"),
        )),
    }
}

/// Runs one job's cycles on its interval, forever. A restarted task waits one interval
/// first, as if the cycle that killed its predecessor had completed: a collector that
/// kills its task every cycle is retried at its normal pace, not in a tight loop.
async fn run_job(
    hub: Arc<Hub>,
    idx: usize,
    job: Arc<AsyncMutex<Job>>,
    restarted: bool,
) -> Infallible {
    // Held for the task's life; unwinding or aborting the task releases it, so the
    // next task gets the same collector (which, like after a timeout, must cope with
    // a cycle that ended half-way).
    let mut job = job.lock_owned().await;
    let interval = job.schedule.interval;
    let first = if restarted {
        tokio::time::Instant::now() + interval
    } else {
        tokio::time::Instant::now()
    };
    let mut ticker = tokio::time::interval_at(first, interval);
    // A slow cycle delays the next one instead of causing a burst to catch up.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let start = Instant::now();
        let result = run_cycle(&mut job).await;
        hub.record(idx, start.elapsed(), result);
    }
}

/// Runs every job in its own task and restarts a task that dies, reporting the death
/// as a panicked cycle. Job tasks never return (their type says so), so only a panic
/// can end one early, or an abort: dropping this future aborts them all.
async fn supervise(hub: Arc<Hub>, jobs: Vec<(usize, Job)>) {
    let mut running: JoinSet<Infallible> = JoinSet::new();
    let mut by_task = HashMap::new();
    for (idx, job) in jobs {
        let job = Arc::new(AsyncMutex::new(job));
        let task = running.spawn(run_job(hub.clone(), idx, job.clone(), false));
        by_task.insert(task.id(), (idx, job));
    }
    while let Some(ended) = running.join_next_with_id().await {
        let (id, message) = match ended {
            Ok((_, never)) => match never {},
            Err(e) if e.is_panic() => (e.id(), panic_message(e.into_panic().as_ref())),
            Err(_) => continue, // aborted: shutting down
        };
        let Some((idx, job)) = by_task.remove(&id) else {
            continue;
        };
        hub.record(
            idx,
            Duration::ZERO,
            Err(CollectError::new(
                ErrorKind::Panic,
                format!("collector task died: {message}; restarted"),
            )),
        );
        let task = running.spawn(run_job(hub.clone(), idx, job.clone(), true));
        by_task.insert(task.id(), (idx, job));
    }
}

/// Starts every job and the snapshot builder; returns the hub and the running tasks.
/// Dropping or aborting the `JoinSet` stops them.
pub fn start(jobs: Vec<Job>, series_per_target: usize) -> (Arc<Hub>, JoinSet<()>) {
    let hub = Arc::new(Hub::new(series_per_target));
    let jobs: Vec<(usize, Job)> = jobs
        .into_iter()
        .map(|job| {
            let idx = hub.register(
                job.collector.name(),
                job.collector.target().to_string(),
                job.schedule,
            );
            (idx, job)
        })
        .collect();
    hub.rebuild();
    let mut tasks = JoinSet::new();
    tasks.spawn(supervise(hub.clone(), jobs));
    let builder = hub.clone();
    tasks.spawn(async move {
        loop {
            builder.dirty.notified().await;
            let b = builder.clone();
            // Encoding and gzip are CPU work; keep them off the async workers that
            // answer scrapes.
            if let Err(e) = tokio::task::spawn_blocking(move || b.rebuild()).await {
                tracing::error!("snapshot rebuild failed: {e}");
            }
        }
    });
    (hub, tasks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::{BoxFuture, Collector};

    struct Scripted {
        mode: &'static str,
    }

    impl Collector for Scripted {
        fn name(&self) -> &'static str {
            "test"
        }
        fn target(&self) -> &str {
            self.mode
        }
        fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
            Box::pin(async move {
                match self.mode {
                    "ok" => {
                        let mut f = Fragment::default();
                        f.push(&cat::FILESYSTEM_FILES, ["d", "ext4", "/"], 7.0);
                        Ok(f)
                    }
                    "hang" => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        unreachable!("the scheduler's timeout cuts this cycle")
                    }
                    "panic" => panic!("scripted panic"),
                    "many" => {
                        let mut f = Fragment::default();
                        for i in 0..5 {
                            f.push(
                                &cat::FILESYSTEM_FILES,
                                ["d", "ext4", &format!("/m{i}")],
                                1.0,
                            );
                        }
                        Ok(f)
                    }
                    _ => {
                        let mut up = Fragment::default();
                        up.push(&cat::FILESYSTEM_DEVICE_ERROR, ["d", "ext4", "/fail"], 1.0);
                        Err(CollectError::new(ErrorKind::Io, "scripted failure").with_fragment(up))
                    }
                }
            })
        }
    }

    /// Waits until every job finished its first cycle and was published. The bound is a
    /// test timeout far above the 50 ms a cycle may take, not a speed requirement.
    async fn until_ready(hub: &Hub) {
        let wait = async {
            while !hub.ready() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .expect("every job finished its first cycle and was published");
    }

    fn job(mode: &'static str) -> Job {
        Job {
            schedule: Schedule {
                interval: Duration::from_secs(3600),
                timeout: Duration::from_millis(50),
            },
            collector: Box::new(Scripted { mode }),
        }
    }

    #[tokio::test]
    async fn every_outcome_is_recorded_and_encoded() {
        let (hub, _tasks) = start(vec![job("ok"), job("fail"), job("hang"), job("panic")], 100);
        until_ready(&hub).await;
        let by_target: BTreeMap<String, Status> = hub
            .statuses()
            .into_iter()
            .map(|s| (s.target.clone(), s))
            .collect();
        assert!(by_target["ok"].up);
        assert_eq!(by_target["fail"].errors.get("io"), Some(&1));
        assert_eq!(by_target["hang"].errors.get("timeout"), Some(&1));
        assert_eq!(by_target["panic"].errors.get("panic"), Some(&1));
        assert!(
            by_target["panic"]
                .last_error
                .as_deref()
                .unwrap()
                .contains("scripted panic")
        );

        hub.rebuild();
        let body = String::from_utf8(hub.snapshot().text.plain.to_vec()).unwrap();
        assert!(
            body.contains(
                "node_filesystem_files{device=\"d\",fstype=\"ext4\",mountpoint=\"/\"} 7.0"
            ),
            "{body}"
        );
        assert!(
            body.contains("lakewatch_collector_up{collector=\"test\",target=\"ok\"} 1"),
            "{body}"
        );
        assert!(
            body.contains("lakewatch_collector_up{collector=\"test\",target=\"hang\"} 0"),
            "{body}"
        );
        assert!(
            body.contains("lakewatch_collector_errors_total{collector=\"test\",target=\"panic\",kind=\"panic\"} 1"),
            "{body}"
        );
        assert!(body.contains("process_open_fds "), "{body}");
        assert!(
            body.contains(
                "node_filesystem_device_error{device=\"d\",fstype=\"ext4\",mountpoint=\"/fail\"} 1"
            ),
            "a failed cycle publishes the series it attached: {body}"
        );
    }

    #[tokio::test]
    async fn series_over_the_cap_are_dropped_and_counted() {
        let (hub, _tasks) = start(vec![job("many")], 3);
        until_ready(&hub).await;
        let body = String::from_utf8(hub.snapshot().text.plain.to_vec()).unwrap();
        assert_eq!(body.matches("node_filesystem_files{").count(), 3, "{body}");
        assert!(
            body.contains("lakewatch_series_dropped_total{collector=\"test\",target=\"many\"} 2"),
            "{body}"
        );
        assert!(body.contains("lakewatch_collector_up{collector=\"test\",target=\"many\"} 1"));
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

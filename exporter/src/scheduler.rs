//! Runs every collector in its own task, on its own interval, under a hard timeout, and
//! keeps the served [`Snapshot`] current.
//!
//! A cycle's result replaces that collector's fragment; a failed, timed-out or panicking
//! cycle clears it (no stale series) and flips `lakewatch_collector_up` to 0; a task that
//! dies anyway (a panic while a collector's future is dropped) is restarted by a
//! supervisor and reported the same way, as a `panic` error. Results are
//! handed to one builder task that re-encodes the snapshot, coalescing bursts of updates,
//! so encoding never happens on a collector's clock or on a scrape.
//!
//! A reload hands the supervisor a new list of jobs ([`Scheduler::apply`]): a job whose
//! collector and target are running with equal [`Settings`](crate::collector::Settings)
//! keeps its task, collector (connection, counters) and timing, taking a new schedule
//! from its next cycle; the others are stopped, replaced or started.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use lakewatch_catalog as cat;
use tokio::sync::{Mutex as AsyncMutex, Notify, mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinSet};

use crate::collector::{CollectError, Fragment, Job, Settings};
use crate::config::schedule::Schedule;
use crate::error_kind::ErrorKind;
use crate::snapshot::{Encoder, Snapshot};

// Surviving a collector's panic relies on unwinding; with `panic = "abort"` one buggy
// collector would take every other one and /metrics down with it.
#[cfg(not(panic = "unwind"))]
compile_error!(
    "lakewatch-exporter must be built with panic = \"unwind\" (collector panics are caught)"
);

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

struct Entry {
    /// Unique for the process' life: a job replaced by a reload gets a new one, so a
    /// cycle of the old job that ends late is not recorded for the new one.
    id: u64,
    status: Status,
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
    series_per_target: AtomicUsize,
    snapshot: RwLock<Arc<Snapshot>>,
    /// Re-encodes only the fragments that changed since the last publish.
    encoder: Mutex<Encoder>,
    /// Set once a published snapshot includes every collector's first cycle. It stays
    /// set across reloads: a new target does not take a serving exporter out of a
    /// load balancer.
    ready: AtomicBool,
    dirty: Notify,
    started: SystemTime,
    reload: Mutex<ReloadStatus>,
    next_id: AtomicU64,
}

impl Hub {
    fn new(series_per_target: usize) -> Hub {
        let started = SystemTime::now();
        Hub {
            entries: Mutex::new(Vec::new()),
            series_per_target: AtomicUsize::new(series_per_target),
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            encoder: Mutex::new(Encoder::default()),
            ready: AtomicBool::new(false),
            dirty: Notify::new(),
            started,
            reload: Mutex::new(ReloadStatus {
                error: None,
                at: started,
            }),
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

    /// A new entry, not yet in the list.
    fn entry(&self, collector: &'static str, target: String, schedule: Schedule) -> Entry {
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
    fn record(&self, id: u64, elapsed: Duration, mut result: Result<Fragment, CollectError>) {
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
        process_metrics(self.started, &mut own);
        fragments.push(Arc::new(own));
        let snapshot = Arc::new(
            self.encoder
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .build(&fragments),
        );
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
///
/// A new schedule from a reload takes effect from the next cycle: the next one starts
/// one new interval after the last one started (at once if that has passed), and runs
/// under the new timeout. No extra cycle runs because of the change.
async fn run_job(
    hub: Arc<Hub>,
    id: u64,
    job: Arc<AsyncMutex<Job>>,
    mut schedule: watch::Receiver<Schedule>,
    restarted: bool,
) -> Infallible {
    // Held for the task's life; unwinding or aborting the task releases it, so the
    // next task gets the same collector (which, like after a timeout, must cope with
    // a cycle that ended half-way).
    let mut job = job.lock_owned().await;
    job.schedule = *schedule.borrow_and_update();
    // When the last cycle started; a restarted task counts its start as one.
    let mut last_start = restarted.then(tokio::time::Instant::now);
    let mut next = last_start.map_or_else(tokio::time::Instant::now, |l| l + job.schedule.interval);
    let mut watching = true;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            changed = schedule.changed(), if watching => {
                match changed {
                    Ok(()) => {
                        let new = *schedule.borrow_and_update();
                        if let Some(l) = last_start {
                            next = (l + new.interval).max(tokio::time::Instant::now());
                        }
                        job.schedule = new;
                    }
                    // The job is being stopped; its task is aborted next.
                    Err(_) => watching = false,
                }
                continue;
            }
        }
        let started = tokio::time::Instant::now();
        last_start = Some(started);
        let result = run_cycle(&mut job).await;
        hub.record(id, started.elapsed(), result);
        // A slow cycle delays the next one instead of causing a burst to catch up.
        next = (started + job.schedule.interval).max(tokio::time::Instant::now());
    }
}

/// What a reload did, by collector target (`collector/target`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Running with equal settings: untouched.
    pub kept: Vec<String>,
    /// Kept, with a new interval or timeout from their next cycle.
    pub rescheduled: Vec<String>,
    /// Settings changed: stopped and started again.
    pub restarted: Vec<String>,
    /// New in the configuration: started.
    pub started: Vec<String>,
    /// Gone from the configuration: stopped, their series gone from the next snapshot.
    pub stopped: Vec<String>,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        write!(
            f,
            "started: {}; restarted: {}; stopped: {}; rescheduled: {}; unchanged: {}",
            list(&self.started),
            list(&self.restarted),
            list(&self.stopped),
            list(&self.rescheduled),
            self.kept.len() + self.rescheduled.len()
        )
    }
}

/// A request to the supervisor.
struct Apply {
    jobs: Vec<Job>,
    series_per_target: usize,
    done: oneshot::Sender<Applied>,
}

/// Hands new job lists to the running scheduler; cloned freely.
#[derive(Clone)]
pub struct Scheduler {
    commands: mpsc::Sender<Apply>,
}

impl Scheduler {
    /// Replaces the running jobs with `jobs` as a diff (see the module docs) and
    /// returns once the stopped ones have let go of their collectors (connections
    /// closed) and the new ones run. Calls are applied one at a time, in order.
    pub async fn apply(&self, jobs: Vec<Job>, series_per_target: usize) -> Applied {
        let (done, result) = oneshot::channel();
        let request = Apply {
            jobs,
            series_per_target,
            done,
        };
        if self.commands.send(request).await.is_err() {
            return Applied::default(); // shutting down
        }
        result.await.unwrap_or_default()
    }
}

/// A job's running task, as the supervisor tracks it.
struct Running {
    id: u64,
    key: (&'static str, String),
    settings: Settings,
    schedule: watch::Sender<Schedule>,
    job: Arc<AsyncMutex<Job>>,
    task: AbortHandle,
}

/// Runs every job in its own task, restarts a task that dies (reporting the death as a
/// panicked cycle) and applies reloads. Job tasks never return (their type says so),
/// so only a panic can end one early, or an abort: dropping this future aborts them all.
async fn supervise(hub: Arc<Hub>, jobs: Vec<(u64, Job)>, mut commands: mpsc::Receiver<Apply>) {
    let mut supervisor = Supervisor {
        hub,
        tasks: JoinSet::new(),
        running: Vec::new(),
    };
    for (id, job) in jobs {
        supervisor.spawn(id, job);
    }
    let mut listening = true;
    loop {
        tokio::select! {
            ended = supervisor.tasks.join_next_with_id(), if !supervisor.tasks.is_empty() => {
                let Some(ended) = ended else { continue };
                let (id, message) = match ended {
                    Ok((_, never)) => match never {},
                    Err(e) if e.is_panic() => (e.id(), panic_message(e.into_panic().as_ref())),
                    Err(_) => continue, // aborted: stopped by a reload, or shutting down
                };
                supervisor.restart(id, message);
            }
            command = commands.recv(), if listening => match command {
                Some(apply) => {
                    let applied = supervisor.apply(apply.jobs, apply.series_per_target).await;
                    let _ = apply.done.send(applied);
                }
                None => listening = false,
            },
            else => std::future::pending::<()>().await,
        }
    }
}

struct Supervisor {
    hub: Arc<Hub>,
    tasks: JoinSet<Infallible>,
    /// In the configuration's order.
    running: Vec<Running>,
}

impl Supervisor {
    fn spawn(&mut self, id: u64, job: Job) {
        let key = (job.collector.name(), job.collector.target().to_string());
        let settings = job.settings.clone();
        let (schedule, rx) = watch::channel(job.schedule);
        let job = Arc::new(AsyncMutex::new(job));
        let task = self
            .tasks
            .spawn(run_job(self.hub.clone(), id, job.clone(), rx, false));
        self.running.push(Running {
            id,
            key,
            settings,
            schedule,
            job,
            task,
        });
    }

    /// Restarts the task that died, with the same collector.
    fn restart(&mut self, task: tokio::task::Id, message: String) {
        let Some(r) = self.running.iter_mut().find(|r| r.task.id() == task) else {
            return;
        };
        self.hub.record(
            r.id,
            Duration::ZERO,
            Err(CollectError::new(
                ErrorKind::Panic,
                format!("collector task died: {message}; restarted"),
            )),
        );
        let rx = r.schedule.subscribe();
        r.task = self
            .tasks
            .spawn(run_job(self.hub.clone(), r.id, r.job.clone(), rx, true));
    }

    async fn apply(&mut self, jobs: Vec<Job>, series_per_target: usize) -> Applied {
        self.hub
            .series_per_target
            .store(series_per_target, Ordering::Relaxed);
        let mut old: Vec<Option<Running>> = std::mem::take(&mut self.running)
            .into_iter()
            .map(Some)
            .collect();
        let mut applied = Applied::default();
        // The new list, in order: a kept job's `Running`, or a job to start with the
        // id of its entry in `fresh`.
        let mut next: Vec<Result<Running, (u64, Job)>> = Vec::with_capacity(jobs.len());
        let mut fresh: HashMap<u64, Entry> = HashMap::new();
        for job in jobs {
            let key = (job.collector.name(), job.collector.target().to_string());
            let name = format!("{}/{}", key.0, key.1);
            let same = old
                .iter()
                .position(|r| r.as_ref().is_some_and(|r| r.key == key));
            match same.map(|i| {
                (
                    i,
                    old[i].as_ref().expect("found above").settings == job.settings,
                )
            }) {
                Some((i, true)) => {
                    let r = old[i].take().expect("found above");
                    if *r.schedule.borrow() != job.schedule {
                        r.schedule.send_replace(job.schedule);
                        applied.rescheduled.push(name);
                    } else {
                        applied.kept.push(name);
                    }
                    // The job built from the new config is dropped unused: building
                    // one opens nothing (connections open on the first cycle).
                    next.push(Ok(r));
                }
                other => {
                    if other.is_some() {
                        applied.restarted.push(name);
                    } else {
                        applied.started.push(name);
                    }
                    let entry = self.hub.entry(key.0, key.1, job.schedule);
                    next.push(Err((entry.id, job)));
                    fresh.insert(entry.id, entry);
                }
            }
        }
        let stopping: Vec<Running> = old.into_iter().flatten().collect();
        for r in &stopping {
            r.task.abort();
            let name = format!("{}/{}", r.key.0, r.key.1);
            if !applied.restarted.contains(&name) {
                applied.stopped.push(name);
            }
        }
        // One swap of the entry list: the next snapshot has no series of a stopped or
        // replaced job, and a replaced target shows nothing until its first new cycle,
        // so no snapshot mixes two configurations of one target.
        {
            let mut entries = self.hub.lock();
            let mut previous: HashMap<u64, Entry> = entries.drain(..).map(|e| (e.id, e)).collect();
            for n in &next {
                let entry = match n {
                    Ok(r) => previous.remove(&r.id).map(|mut e| {
                        e.status.schedule = *r.schedule.borrow();
                        e
                    }),
                    Err((id, _)) => fresh.remove(id),
                };
                entries.extend(entry);
            }
        }
        self.hub.dirty.notify_one();
        // Wait until each stopped job's task has let go of its collector, then close
        // it: its connections are gone before a replacement opens its own.
        for r in stopping {
            let closed = tokio::time::timeout(STOP_GRACE, async {
                r.job.clone().lock_owned().await.collector.close().await;
            });
            if closed.await.is_err() {
                tracing::warn!(
                    collector = r.key.0,
                    target = %r.key.1,
                    "a stopped collector did not close within {STOP_GRACE:?}; starting its replacement anyway"
                );
            }
        }
        for n in next {
            match n {
                Ok(r) => self.running.push(r),
                Err((id, job)) => self.spawn(id, job),
            }
        }
        applied
    }
}

/// How long a reload waits for a stopped job's task to end and its collector to close
/// (an aborted task ends at its next await point, which a collector reaches at once
/// unless a blocking call holds it).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Starts every job and the snapshot builder; returns the hub, the handle that applies
/// reloads, and the running tasks. Dropping or aborting the `JoinSet` stops them.
pub fn start(jobs: Vec<Job>, series_per_target: usize) -> (Arc<Hub>, Scheduler, JoinSet<()>) {
    let hub = Arc::new(Hub::new(series_per_target));
    let jobs: Vec<(u64, Job)> = {
        let mut entries = hub.lock();
        jobs.into_iter()
            .map(|job| {
                let entry = hub.entry(
                    job.collector.name(),
                    job.collector.target().to_string(),
                    job.schedule,
                );
                let id = entry.id;
                entries.push(entry);
                (id, job)
            })
            .collect()
    };
    hub.rebuild();
    let (commands, receiver) = mpsc::channel(1);
    let mut tasks = JoinSet::new();
    tasks.spawn(supervise(hub.clone(), jobs, receiver));
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
    (hub, Scheduler { commands }, tasks)
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

    fn job(mode: &'static str) -> Job {
        Job {
            schedule: Schedule {
                interval: Duration::from_secs(3600),
                timeout: Duration::from_millis(50),
            },
            collector: Box::new(Scripted { mode }),
            settings: crate::collector::Settings::of(mode),
        }
    }

    #[tokio::test]
    async fn every_outcome_is_recorded_and_encoded() {
        let (hub, _scheduler, _tasks) =
            start(vec![job("ok"), job("fail"), job("hang"), job("panic")], 100);
        until("every job's first cycle to be published", || hub.ready()).await;
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

    /// A collector that counts its cycles and whether it is still alive.
    struct Counted {
        target: &'static str,
        cycles: Arc<std::sync::atomic::AtomicU32>,
        alive: Arc<AtomicBool>,
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.alive.store(false, Ordering::SeqCst);
        }
    }

    impl Collector for Counted {
        fn name(&self) -> &'static str {
            "test"
        }
        fn target(&self) -> &str {
            self.target
        }
        fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
            self.cycles.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let mut f = Fragment::default();
                f.push(&cat::FILESYSTEM_FILES, ["d", "ext4", self.target], 1.0);
                Ok(f)
            })
        }
    }

    struct Probe {
        cycles: Arc<std::sync::atomic::AtomicU32>,
        alive: Arc<AtomicBool>,
    }

    impl Probe {
        fn cycles(&self) -> u32 {
            self.cycles.load(Ordering::SeqCst)
        }
    }

    /// A job for `target` built from settings `version`, every `interval`.
    fn counted(target: &'static str, version: u32, interval: Duration) -> (Job, Probe) {
        let probe = Probe {
            cycles: Arc::default(),
            alive: Arc::new(AtomicBool::new(true)),
        };
        let job = Job {
            schedule: Schedule {
                interval,
                timeout: Duration::from_secs(1),
            },
            collector: Box::new(Counted {
                target,
                cycles: probe.cycles.clone(),
                alive: probe.alive.clone(),
            }),
            settings: crate::collector::Settings::of((target, version)),
        };
        (job, probe)
    }

    /// Waits until `f` holds. The bound is a test timeout far above what any step here
    /// takes (a cycle may take 50 ms), not a speed requirement.
    async fn until(what: &str, mut f: impl FnMut() -> bool) {
        let wait = async {
            while !f() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    #[tokio::test]
    async fn a_reload_keeps_equal_jobs_and_replaces_the_rest() {
        let hour = Duration::from_secs(3600);
        let (a, a1) = counted("a", 1, hour);
        let (b, b1) = counted("b", 1, hour);
        let (hub, scheduler, _tasks) = start(vec![a, b], 100);
        until("both ran", || a1.cycles() == 1 && b1.cycles() == 1).await;

        let (a, a2) = counted("a", 1, hour);
        let (b, b2) = counted("b", 2, hour);
        let (c, c1) = counted("c", 1, hour);
        let applied = scheduler.apply(vec![a, b, c], 100).await;
        assert_eq!(applied.kept, ["test/a"]);
        assert_eq!(applied.restarted, ["test/b"]);
        assert_eq!(applied.started, ["test/c"]);
        assert!(applied.stopped.is_empty() && applied.rescheduled.is_empty());
        assert!(
            !b1.alive.load(Ordering::SeqCst),
            "the old b is dropped by then"
        );
        assert!(
            !a2.alive.load(Ordering::SeqCst),
            "the unused new a is dropped"
        );
        assert!(a1.alive.load(Ordering::SeqCst), "the running a is kept");
        until("the new b and c ran", || {
            b2.cycles() == 1 && c1.cycles() == 1
        })
        .await;
        assert_eq!(a1.cycles(), 1, "no extra cycle for the kept job");
        let targets: Vec<String> = hub.statuses().into_iter().map(|s| s.target).collect();
        assert_eq!(targets, ["a", "b", "c"]);

        let (a, _) = counted("a", 1, Duration::from_millis(20));
        let applied = scheduler.apply(vec![a], 100).await;
        assert_eq!(applied.rescheduled, ["test/a"]);
        assert_eq!(applied.stopped, ["test/b", "test/c"]);
        until("a cycling on its new interval", || a1.cycles() >= 3).await;
        assert!(!b2.alive.load(Ordering::SeqCst) && !c1.alive.load(Ordering::SeqCst));
        let statuses = hub.statuses();
        assert_eq!(statuses.len(), 1);
        assert_eq!(statuses[0].schedule.interval, Duration::from_millis(20));
        hub.rebuild();
        let body = String::from_utf8(hub.snapshot().text.plain.to_vec()).unwrap();
        assert!(body.contains("mountpoint=\"a\""), "{body}");
        assert!(!body.contains("mountpoint=\"b\""), "{body}");
        assert!(!body.contains("target=\"c\""), "{body}");
    }

    #[test]
    fn a_stopped_jobs_late_cycle_is_not_recorded() {
        let hub = Hub::new(10);
        let entry = hub.entry("test", "a".into(), job("ok").schedule);
        let id = entry.id;
        hub.lock().push(entry);
        hub.record(id + 1, Duration::ZERO, Ok(Fragment::default()));
        assert_eq!(hub.statuses()[0].cycles, 0, "an unknown id changes nothing");
        hub.record(id, Duration::ZERO, Ok(Fragment::default()));
        assert_eq!(hub.statuses()[0].cycles, 1);
    }

    #[tokio::test]
    async fn series_over_the_cap_are_dropped_and_counted() {
        let (hub, _scheduler, _tasks) = start(vec![job("many")], 3);
        until("the first cycle to be published", || hub.ready()).await;
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

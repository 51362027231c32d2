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

mod apply;
mod hub;

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{Mutex as AsyncMutex, mpsc, watch};
use tokio::task::JoinSet;

use apply::supervise;
pub use apply::{Applied, Scheduler};
pub use hub::{Hub, ReloadStatus, Status};

use crate::collector::{CollectError, Fragment, Job};
use crate::config::schedule::Schedule;
use crate::error_kind::ErrorKind;

// Surviving a collector's panic relies on unwinding; with `panic = "abort"` one buggy
// collector would take every other one and /metrics down with it.
#[cfg(not(panic = "unwind"))]
compile_error!(
    "lakewatch-exporter must be built with panic = \"unwind\" (collector panics are caught)"
);

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

/// What the scheduler's tests share.
#[cfg(test)]
mod testing {
    use std::time::Duration;

    /// Waits until `f` holds. The bound is a test timeout far above what any step here
    /// takes (a cycle may take 50 ms), not a speed requirement.
    pub(super) async fn until(what: &str, mut f: impl FnMut() -> bool) {
        let wait = async {
            while !f() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }
}

#[cfg(test)]
mod tests {
    use super::testing::until;
    use super::*;
    use crate::collector::{BoxFuture, Collector};
    use lakewatch_catalog as cat;
    use std::collections::BTreeMap;
    use std::time::Duration;

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
}

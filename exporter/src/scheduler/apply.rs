//! Applying a new list of jobs as a diff: the supervisor that owns every job's task,
//! restarts a task that dies, and on [`Scheduler::apply`] keeps, reschedules, replaces,
//! stops or starts jobs (see the parent module's docs).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinSet};

use super::hub::{Entry, Hub};
use super::{panic_message, run_job};
use crate::collector::{CollectError, Job, Settings};
use crate::config::schedule::Schedule;
use crate::error_kind::ErrorKind;

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
pub(super) struct Apply {
    jobs: Vec<Job>,
    series_per_target: usize,
    done: oneshot::Sender<Applied>,
}

/// Hands new job lists to the running scheduler; cloned freely.
#[derive(Clone)]
pub struct Scheduler {
    pub(super) commands: mpsc::Sender<Apply>,
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
pub(super) async fn supervise(
    hub: Arc<Hub>,
    jobs: Vec<(u64, Job)>,
    mut commands: mpsc::Receiver<Apply>,
) {
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

#[cfg(test)]
mod tests {
    use super::super::start;
    use super::super::testing::until;
    use super::*;
    use crate::collector::{BoxFuture, Collector, Fragment};
    use lakewatch_catalog as cat;
    use std::sync::atomic::AtomicBool;

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
}

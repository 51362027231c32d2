//! The stats API read ahead of the cycle, so that a cycle on the API path costs what the
//! cgroup path costs (milliseconds) instead of a wait on dockerd.
//!
//! dockerd answers a stats call at its next one-second sampling tick (its stats collector
//! samples every subscribed container, then sleeps a second), so a cycle that asks waits
//! up to a tick per `stats_concurrency` containers: 7.5 s for 200 containers at 32. Here a
//! background task makes the same one-shot calls once per interval, timed to finish just
//! before the next cycle starts (the scheduler starts it one interval after this one
//! started), and the cycle takes each container's latest sample. The cycle itself asks
//! only for containers never read yet (just started, or the first cycle). dockerd and
//! containerd do the same work per cycle as before: one sample per container.
//!
//! Long-lived `stream=true` streams were measured and not taken: dockerd samples every
//! streamed container every second whether or not the client reads, so at the default
//! 15 s interval they cost dockerd and containerd fifteen samples per container per cycle,
//! several times `docker stats --no-stream` (BENCHMARKS.md, issue 21).
//!
//! At most `stats_concurrency` calls are open at once (one connection each), across the
//! background reads and the cycle's; a read of more containers than that takes one tick
//! per `stats_concurrency` containers and starts that much earlier.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bollard::Docker;
use futures_util::StreamExt as _;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::api;
use super::cgroup::Stats;

/// Started this much earlier than the last read took: a read's length varies by up to a
/// tick with where in dockerd's tick it starts.
const MARGIN: Duration = Duration::from_secs(1);

/// The next background read: these containers, starting at `at`.
#[derive(Debug, Clone)]
struct Plan {
    at: Instant,
    ids: Arc<[String]>,
}

/// What the background reads and the cycle share.
#[derive(Debug, Default)]
struct Shared {
    /// The latest sample of each container.
    samples: HashMap<String, Stats>,
    /// How long the last complete read of the planned containers took.
    last_read: Option<Duration>,
    /// The first failure of a background read since the last cycle, other than a
    /// container that stopped meanwhile.
    error: Option<bollard::errors::Error>,
}

/// Keeps the latest stats-API sample of every container the cycle asks about.
#[derive(Debug)]
pub(crate) struct Sampler {
    docker: Docker,
    shared: Arc<Mutex<Shared>>,
    permits: Arc<Semaphore>,
    concurrency: usize,
    plan: watch::Sender<Option<Plan>>,
    task: JoinHandle<()>,
}

impl Sampler {
    /// A sampler on `docker` with at most `concurrency` stats calls open at once. Its task
    /// ends when the sampler is dropped.
    pub(crate) fn new(docker: Docker, concurrency: usize) -> Sampler {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let permits = Arc::new(Semaphore::new(concurrency));
        let (plan, plans) = watch::channel(None);
        let task = tokio::spawn(run(
            docker.clone(),
            shared.clone(),
            permits.clone(),
            concurrency,
            plans,
        ));
        Sampler {
            docker,
            shared,
            permits,
            concurrency,
            plan,
            task,
        }
    }

    /// The latest sample of each of `ids` that is running, reading now only those never
    /// read; forgets every other container. An error is the first failure since the last
    /// call (of a background read or of this one).
    pub(crate) async fn read(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Stats>, bollard::errors::Error> {
        let missing: Vec<String> = {
            let mut shared = lock(&self.shared);
            if let Some(e) = shared.error.take() {
                return Err(e);
            }
            let wanted: std::collections::HashSet<&String> = ids.iter().collect();
            shared.samples.retain(|id, _| wanted.contains(id));
            ids.iter()
                .filter(|id| !shared.samples.contains_key(*id))
                .cloned()
                .collect()
        };
        if !missing.is_empty() {
            let started = Instant::now();
            let all = missing.len() == ids.len();
            read_into(
                &self.docker,
                &self.shared,
                &self.permits,
                self.concurrency,
                missing,
            )
            .await;
            let mut shared = lock(&self.shared);
            if let Some(e) = shared.error.take() {
                return Err(e);
            }
            // The first read of everything is as long as a background read will be.
            if all && shared.last_read.is_none() {
                shared.last_read = Some(started.elapsed());
            }
        }
        let shared = lock(&self.shared);
        Ok(ids
            .iter()
            .filter_map(|id| Some((id.clone(), shared.samples.get(id)?.clone())))
            .collect())
    }

    /// Plans the background read of `ids` to finish before `next_cycle` (at once when
    /// the last read took longer than the time left).
    pub(crate) fn plan(&self, ids: Vec<String>, next_cycle: Instant) {
        if ids.is_empty() {
            self.plan.send_replace(None);
            return;
        }
        let last = lock(&self.shared).last_read.unwrap_or_default();
        let at = start_at(next_cycle, last, Instant::now());
        self.plan.send_replace(Some(Plan {
            at,
            ids: ids.into(),
        }));
    }

    /// Whether the background task still runs (for tests: it ends with the sampler).
    #[cfg(test)]
    fn running(&self) -> bool {
        !self.task.is_finished()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        // Dropping the sender would end the task at its next wait; abort closes its open
        // calls at once.
        self.task.abort();
    }
}

/// When a read that last took `last` should start to finish before `next_cycle`.
fn start_at(next_cycle: Instant, last: Duration, now: Instant) -> Instant {
    next_cycle
        .checked_sub(last + MARGIN)
        .unwrap_or(now)
        .max(now)
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // Only plain map and field updates happen under this lock.
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// The background task: waits for a plan, sleeps until its start (taking a newer plan
/// that arrives meanwhile), reads, and waits for the next plan.
async fn run(
    docker: Docker,
    shared: Arc<Mutex<Shared>>,
    permits: Arc<Semaphore>,
    concurrency: usize,
    mut plans: watch::Receiver<Option<Plan>>,
) {
    let mut next: Option<Plan> = None;
    loop {
        let plan = match next.take() {
            Some(p) => p,
            None => {
                if plans.changed().await.is_err() {
                    return;
                }
                match plans.borrow_and_update().clone() {
                    Some(p) => p,
                    None => continue,
                }
            }
        };
        tokio::select! {
            () = tokio::time::sleep_until(plan.at) => {}
            changed = plans.changed() => {
                if changed.is_err() {
                    return;
                }
                next = plans.borrow_and_update().clone();
                continue;
            }
        }
        let started = Instant::now();
        read_into(&docker, &shared, &permits, concurrency, plan.ids.to_vec()).await;
        lock(&shared).last_read = Some(started.elapsed());
    }
}

/// Reads `ids` (each call holding one of `permits`) and stores each answer as it comes: a
/// sample, nothing for a container that stopped (404, 409), else the first error.
async fn read_into(
    docker: &Docker,
    shared: &Mutex<Shared>,
    permits: &Semaphore,
    concurrency: usize,
    ids: Vec<String>,
) {
    futures_util::stream::iter(ids)
        .map(|id| async move {
            // The semaphore is never closed.
            let _permit = permits.acquire().await;
            let r = api::fetch(docker, &id).await;
            (id, r)
        })
        .buffer_unordered(concurrency)
        .for_each(|(id, r)| {
            let mut shared = lock(shared);
            match r {
                Ok(s) => {
                    shared.samples.insert(id, s);
                }
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404 | 409,
                    ..
                }) => {
                    shared.samples.remove(&id);
                }
                Err(e) => {
                    shared.error.get_or_insert(e);
                }
            }
            std::future::ready(())
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_starts_its_length_and_a_margin_before_the_cycle() {
        let now = Instant::now();
        let next = now + Duration::from_secs(15);
        assert_eq!(
            start_at(next, Duration::from_millis(1500), now),
            next - Duration::from_millis(2500)
        );
        // Longer than the time left: at once, never in the past.
        assert_eq!(start_at(next, Duration::from_secs(20), now), now);
        assert_eq!(start_at(now, Duration::ZERO, now), now);
    }

    /// A client of a daemon that is not there (a port nothing listens on any more).
    fn absent_daemon() -> Docker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Docker::connect_with_http(
            &format!("http://127.0.0.1:{port}"),
            1,
            bollard::API_DEFAULT_VERSION,
        )
        .expect("a client (nothing is sent yet)")
    }

    #[tokio::test]
    async fn the_task_ends_with_the_sampler() {
        let docker = absent_daemon();
        let sampler = Sampler::new(docker, 4);
        assert!(sampler.running());
        let task = sampler.task.abort_handle();
        drop(sampler);
        for _ in 0..100 {
            if task.is_finished() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the sampler's task outlived it");
    }

    #[tokio::test]
    async fn a_failed_read_is_reported_once() {
        let docker = absent_daemon();
        let sampler = Sampler::new(docker, 4);
        let ids = vec!["a".to_string(), "b".to_string()];
        assert!(sampler.read(&ids).await.is_err());
        // A background read fails the same way, and the next cycle hears of it.
        sampler.plan(ids.clone(), Instant::now());
        for _ in 0..200 {
            if lock(&sampler.shared).error.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(lock(&sampler.shared).error.is_some(), "no background read");
        assert!(sampler.read(&[]).await.is_err());
        assert_eq!(sampler.read(&[]).await.ok(), Some(HashMap::new()));
    }
}

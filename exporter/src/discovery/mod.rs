//! Target discovery: collector targets that come and go without a config edit, as
//! Prometheus' service discovery does for scrape targets: targets files ([`file`]) and
//! labelled Docker containers ([`docker`]).
//!
//! The targets in force are the config's `targets:` followed by the discovered ones.
//! A change (a file that appears, changes or goes, or a reload) is applied as the diff
//! a reload applies ([`Scheduler::apply`]): an unchanged target keeps its task and
//! connection. A broken definition never stops the others: a file that cannot be read
//! or validated keeps the targets it had, and a discovered name that is already taken
//! is rejected (the newer claim loses; the config's own `targets:` always win). Both are
//! logged, counted in `lakewatch_discovery_errors_total` and shown on the landing page.

pub mod docker;
pub mod file;
mod state;

pub use state::State;
use state::{Targets, read};

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use crate::config::Config;
use crate::scheduler::{Applied, Hub, Scheduler};

/// How often targets files are looked at. A change is applied once the files read the
/// same on two polls in a row, so a file written in several steps is not read half-way.
pub const REFRESH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Where a collector target came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// The config file (`targets:`, or a collector without targets such as disk).
    Static,
    /// A targets file, by path.
    File(String),
    /// A labelled Docker container, by name.
    Docker(String),
}

impl Origin {
    /// The `source` label of the `lakewatch_discovery_*` metrics.
    pub fn source(&self) -> &'static str {
        match self {
            Origin::Static => "static",
            Origin::File(_) => "file",
            Origin::Docker(_) => "docker",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Static => f.write_str("static"),
            Origin::File(path) => write!(f, "file {path}"),
            Origin::Docker(name) => write!(f, "docker container {name}"),
        }
    }
}

/// One discovery source of one collector, for the metrics and the landing page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStatus {
    /// Targets it supplies now.
    pub targets: usize,
    /// Failures since start: definitions that could not be read or validated, and
    /// names already taken.
    pub errors: u64,
    /// What is wrong now, one line each, secrets masked; empty when all is well.
    pub problems: Vec<String>,
}

/// What discovery supplies now.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Where each discovered target came from, by collector and target name; a target
    /// not listed is static.
    pub origins: HashMap<(&'static str, String), Origin>,
    /// By collector and source (`file`, `docker`), for every source a collector uses.
    pub sources: BTreeMap<(&'static str, &'static str), SourceStatus>,
}

impl Report {
    /// Where the target came from.
    pub fn origin(&self, collector: &'static str, target: &str) -> Origin {
        self.origins
            .get(&(collector, target.to_string()))
            .cloned()
            .unwrap_or(Origin::Static)
    }
}

/// A collector whose targets can be discovered: the explicit list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Postgres,
    S3,
    Trino,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Postgres, Kind::S3, Kind::Trino];

    fn name(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::S3 => "s3",
            Kind::Trino => "trino",
        }
    }

    /// The collector's `targets_files:`; empty when it is off.
    fn patterns(self, config: &Config) -> &[String] {
        match self {
            Kind::Postgres => config.postgres.as_ref().map_or(&[], |c| &c.targets_files),
            Kind::S3 => config.s3.as_ref().map_or(&[], |c| &c.targets_files),
            Kind::Trino => config.trino.as_ref().map_or(&[], |c| &c.targets_files),
        }
    }

    /// The collector's `docker_discovery:`; `None` when off.
    fn docker(self, config: &Config) -> Option<&docker::DockerDiscovery> {
        match self {
            Kind::Postgres => config.postgres.as_ref()?.docker.as_ref(),
            Kind::S3 => config.s3.as_ref()?.docker.as_ref(),
            Kind::Trino => config.trino.as_ref()?.docker.as_ref(),
        }
    }

    /// The prefix of the collector's container labels.
    fn label_prefix(self) -> String {
        format!("lakewatch.{}.", self.name())
    }

    /// Whether any discovery source of the collector is on.
    fn discovers(self, config: &Config) -> bool {
        !self.patterns(config).is_empty() || self.docker(config).is_some()
    }

    /// Validates a targets file with the collector's settings; the error is one line,
    /// with the file's secrets masked.
    fn parse(self, config: &Config, text: &str, path: &str) -> Result<Targets, String> {
        let fail =
            |e: crate::config::error::ConfigError| crate::reload::redact(&e.headline(), text);
        match self {
            Kind::Postgres => match &config.postgres {
                Some(c) => c
                    .file_targets(text, path)
                    .map(Targets::Postgres)
                    .map_err(fail),
                None => Ok(Targets::empty(self)),
            },
            Kind::S3 => match &config.s3 {
                Some(c) => c.file_targets(text, path).map(Targets::S3).map_err(fail),
                None => Ok(Targets::empty(self)),
            },
            Kind::Trino => match &config.trino {
                Some(c) => c.file_targets(text, path).map(Targets::Trino).map_err(fail),
                None => Ok(Targets::empty(self)),
            },
        }
    }
}

/// Keeps the discovered targets current and applies every change, and every reload,
/// to the scheduler; one change at a time.
pub struct Discovery {
    scheduler: Scheduler,
    hub: Arc<Hub>,
    state: tokio::sync::Mutex<State>,
    /// Asks the Docker watcher for a new list.
    relist: tokio::sync::Notify,
}

impl Discovery {
    /// Discovery for the running scheduler, from the state its jobs were built from
    /// ([`State::load`], [`State::merged`]); publishes `report`.
    pub fn new(state: State, report: Report, scheduler: Scheduler, hub: Arc<Hub>) -> Discovery {
        hub.discovered(report);
        Discovery {
            scheduler,
            hub,
            state: tokio::sync::Mutex::new(state),
            relist: tokio::sync::Notify::new(),
        }
    }

    /// Applies a reloaded configuration: its static targets and every targets file it
    /// names, read and validated again with its settings.
    pub async fn apply_config(&self, config: Config) -> Applied {
        let mut state = self.state.lock().await;
        state.config = config;
        state.pending = None;
        for kind in Kind::ALL {
            state.derive(kind);
        }
        // A collector whose docker discovery was just turned on lists now.
        self.relist.notify_one();
        let patterns = state.patterns();
        match tokio::task::spawn_blocking(move || read(patterns)).await {
            Ok(reads) => state.update(reads, true),
            // The files keep their targets as validated before.
            Err(e) => tracing::error!("reading the targets files failed: {e}"),
        }
        self.apply(&mut state).await
    }

    /// Looks at the targets files once and applies what changed, if anything did and
    /// has settled; `None` when nothing was applied.
    pub async fn refresh(&self) -> Option<Applied> {
        let mut state = self.state.lock().await;
        let patterns = state.patterns();
        if patterns.is_empty() {
            return None;
        }
        let reads = tokio::task::spawn_blocking(move || read(patterns))
            .await
            .ok()?;
        if !state.settled(&reads) {
            return None;
        }
        state.update(reads, false);
        let applied = self.apply(&mut state).await;
        tracing::info!(changes = %applied, "discovered targets changed");
        Some(applied)
    }

    /// Refreshes every [`REFRESH_INTERVAL`], forever.
    pub async fn watch(self: Arc<Self>) {
        loop {
            tokio::time::sleep(REFRESH_INTERVAL).await;
            self.refresh().await;
        }
    }

    /// Keeps the labelled containers current, forever: connects to the daemon, lists
    /// on every container start, die or destroy event and every [`docker::RESYNC`], and
    /// connects again after a failure. Idle while no collector discovers containers.
    pub async fn watch_docker(self: Arc<Self>) {
        use futures_util::StreamExt as _;
        loop {
            let daemon = {
                let state = self.state.lock().await;
                if state.docker_kinds().is_empty() {
                    None
                } else {
                    Some(docker::daemon(&state.config))
                }
            };
            let Some(daemon) = daemon else {
                let _ = tokio::time::timeout(docker::RESYNC, self.relist.notified()).await;
                continue;
            };
            let connected = match daemon {
                Ok(d) => docker::connect(&d).await,
                Err(e) => Err(e),
            };
            let client = match connected {
                Ok(c) => c,
                Err(why) => {
                    self.docker_failed(why).await;
                    tokio::time::sleep(docker::RETRY).await;
                    continue;
                }
            };
            // Watch first, then list: a change during the listing is seen twice
            // rather than never.
            let mut events = docker::events(&client);
            let mut wait = docker::RESYNC;
            loop {
                if let Err(why) = self.relist_docker(&client).await {
                    self.docker_failed(why).await;
                    tokio::time::sleep(docker::RETRY).await;
                    break;
                }
                let ended = tokio::select! {
                    ev = events.next() => {
                        // A container that just died may still be listed as running:
                        // list once more shortly after.
                        wait = docker::SETTLE;
                        !matches!(ev, Some(Ok(_)))
                    }
                    () = tokio::time::sleep(wait) => {
                        wait = docker::RESYNC;
                        false
                    }
                    () = self.relist.notified() => false,
                };
                if ended {
                    tracing::debug!("Docker events stream ended; connecting again");
                    tokio::time::sleep(docker::RETRY).await;
                    break;
                }
            }
        }
    }

    /// Lists every discovering collector's containers and applies what changed.
    async fn relist_docker(&self, client: &bollard::Docker) -> Result<(), String> {
        let kinds = self.state.lock().await.docker_kinds();
        let mut lists = Vec::new();
        for (kind, prefix) in kinds {
            lists.push((kind, docker::list(client, &prefix).await?));
        }
        let mut state = self.state.lock().await;
        let mut changed = false;
        for (kind, list) in lists {
            changed |= state.set_containers(kind, list);
        }
        if changed {
            let applied = self.apply(&mut state).await;
            tracing::info!(changes = %applied, "discovered containers changed");
        }
        Ok(())
    }

    /// Reports a failed list (the containers listed before are kept).
    async fn docker_failed(&self, why: String) {
        let mut state = self.state.lock().await;
        let mut changed = false;
        for (kind, _) in state.docker_kinds() {
            changed |= state.docker_failed(kind, why.clone());
        }
        if changed {
            let (_, report) = state.merged();
            self.hub.discovered(report);
        }
    }

    async fn apply(&self, state: &mut State) -> Applied {
        let (config, report) = state.merged();
        let series = config.series_per_target;
        // Building jobs may probe the Docker daemon (`enabled: auto`): blocking.
        let jobs = match tokio::task::spawn_blocking(move || crate::jobs(&config)).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::error!("building the jobs failed: {e}");
                return Applied::default();
            }
        };
        self.hub.discovered(report);
        self.scheduler.apply(jobs, series).await
    }
}

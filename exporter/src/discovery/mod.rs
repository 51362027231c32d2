//! Target discovery: collector targets that come and go without a config edit, as
//! Prometheus' service discovery does for scrape targets: targets files ([`file`]) and
//! labelled Docker containers ([`docker`], Postgres only).
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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::collector::postgres::target::PostgresTarget;
use crate::collector::s3::settings::S3Target;
use crate::collector::trino::settings::TrinoTarget;
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

    /// The collector's `docker_discovery:`; `None` when off (always for s3 and trino).
    fn docker(self, config: &Config) -> Option<&docker::DockerDiscovery> {
        match self {
            Kind::Postgres => config.postgres.as_ref()?.docker.as_ref(),
            Kind::S3 | Kind::Trino => None,
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

/// The targets one file defines, in its collector's validated type.
#[derive(Debug, Clone)]
enum Targets {
    Postgres(Vec<PostgresTarget>),
    S3(Vec<S3Target>),
    Trino(Vec<TrinoTarget>),
}

impl Targets {
    fn empty(kind: Kind) -> Targets {
        match kind {
            Kind::Postgres => Targets::Postgres(Vec::new()),
            Kind::S3 => Targets::S3(Vec::new()),
            Kind::Trino => Targets::Trino(Vec::new()),
        }
    }
}

/// A targets file as last read.
#[derive(Debug)]
struct FileState {
    /// Of what was read (text or read error), to tell a change.
    digest: u64,
    /// The targets of the last valid version (none if it never was).
    targets: Targets,
    /// Why the current version is not used.
    error: Option<String>,
}

/// What the files held at one poll, by collector and path.
type Reads = BTreeMap<(Kind, String), Result<String, String>>;

fn digest(read: &Result<String, String>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    read.hash(&mut h);
    h.finish()
}

/// What one labelled container defines.
#[derive(Debug)]
struct DockerEntry {
    /// Its target, or none when broken.
    targets: Targets,
    /// Why it is skipped.
    error: Option<String>,
}

/// The discovered targets and what is known of each source; owned by [`Discovery`].
pub struct State {
    /// The configuration as loaded, without discovered targets.
    config: Config,
    files: BTreeMap<(Kind, String), FileState>,
    /// Who held each discovered name at the last merge: a newer claim is the one
    /// rejected, however the files sort.
    owners: HashMap<(Kind, String), Origin>,
    /// Claims rejected at the last merge, so a collision is counted once.
    rejected: HashSet<(Kind, String, Origin)>,
    /// By collector and source.
    errors: BTreeMap<(Kind, &'static str), u64>,
    /// The labelled containers as last listed, by collector.
    containers: BTreeMap<Kind, Vec<docker::Container>>,
    /// What each of them defines, by collector and container name.
    docker: BTreeMap<(Kind, String), DockerEntry>,
    /// Why the last list failed, by collector (its containers are kept meanwhile).
    docker_failure: BTreeMap<Kind, String>,
    /// What the files read at the last poll that differed from what is applied.
    pending: Option<BTreeMap<(Kind, String), u64>>,
    /// Problems already logged.
    logged: HashSet<String>,
}

impl State {
    /// Reads `config`'s targets files (blocking); for start-up.
    pub fn load(config: Config) -> State {
        let mut state = State {
            config,
            files: BTreeMap::new(),
            owners: HashMap::new(),
            rejected: HashSet::new(),
            errors: BTreeMap::new(),
            containers: BTreeMap::new(),
            docker: BTreeMap::new(),
            docker_failure: BTreeMap::new(),
            pending: None,
            logged: HashSet::new(),
        };
        let reads = state.read();
        state.update(reads, true);
        state
    }

    /// What to read: each collector's patterns and the files read before.
    fn patterns(&self) -> Vec<(Kind, Vec<String>, Vec<String>)> {
        Kind::ALL
            .iter()
            .map(|&k| {
                let known = self
                    .files
                    .keys()
                    .filter(|(fk, _)| *fk == k)
                    .map(|(_, p)| p.clone())
                    .collect();
                (k, k.patterns(&self.config).to_vec(), known)
            })
            .filter(|(_, p, _)| !p.is_empty())
            .collect()
    }

    /// Reads every targets file now (blocking).
    fn read(&self) -> Reads {
        read(self.patterns())
    }

    /// True when `reads` differs from what is applied and read the same at the last
    /// poll too.
    fn settled(&mut self, reads: &Reads) -> bool {
        let now: BTreeMap<(Kind, String), u64> =
            reads.iter().map(|(k, r)| (k.clone(), digest(r))).collect();
        let applied: BTreeMap<(Kind, String), u64> = self
            .files
            .iter()
            .map(|(k, f)| (k.clone(), f.digest))
            .collect();
        if now == applied {
            self.pending = None;
            return false;
        }
        if self.pending.as_ref() == Some(&now) {
            self.pending = None;
            return true;
        }
        self.pending = Some(now);
        false
    }

    /// Takes in what the files hold: a changed file is validated again (every file
    /// with `all`, after a reload changed the collector's settings); a file that no
    /// longer matches is forgotten with its targets.
    fn update(&mut self, reads: Reads, all: bool) {
        self.files.retain(|k, _| reads.contains_key(k));
        for ((kind, path), read) in reads {
            let d = digest(&read);
            let old = self.files.remove(&(kind, path.clone()));
            if !all && old.as_ref().is_some_and(|o| o.digest == d) {
                self.files
                    .insert((kind, path), old.expect("checked just above"));
                continue;
            }
            let parsed = read.and_then(|text| kind.parse(&self.config, &text, &path));
            let previous_error = old.as_ref().and_then(|o| o.error.clone());
            let kept = old.map_or_else(|| Targets::empty(kind), |o| o.targets);
            let state = match parsed {
                Ok(targets) => FileState {
                    digest: d,
                    targets,
                    error: None,
                },
                Err(why) => {
                    if previous_error.as_deref() != Some(why.as_str()) {
                        *self.errors.entry((kind, "file")).or_default() += 1;
                    }
                    FileState {
                        digest: d,
                        targets: kept,
                        error: Some(why),
                    }
                }
            };
            self.files.insert((kind, path), state);
        }
    }

    /// Takes in the labelled containers of `kind` as listed now; false when nothing
    /// changed.
    fn set_containers(&mut self, kind: Kind, list: Vec<docker::Container>) -> bool {
        let failed = self.docker_failure.remove(&kind).is_some();
        if !failed && self.containers.get(&kind) == Some(&list) {
            return false;
        }
        self.containers.insert(kind, list);
        self.derive(kind);
        true
    }

    /// Records a failed list of `kind`'s containers (counted once per failure in a
    /// row); false when it was failing already.
    fn docker_failed(&mut self, kind: Kind, why: String) -> bool {
        let again = self.docker_failure.contains_key(&kind);
        if !again {
            *self.errors.entry((kind, "docker")).or_default() += 1;
        }
        self.docker_failure.insert(kind, why);
        !again
    }

    /// Validates every listed container of `kind` again with the collector's settings.
    fn derive(&mut self, kind: Kind) {
        let old: BTreeMap<String, DockerEntry> = self
            .docker
            .extract_if(.., |(k, _), _| *k == kind)
            .map(|((_, n), e)| (n, e))
            .collect();
        let Some(settings) = kind.docker(&self.config).cloned() else {
            return;
        };
        let prefix = kind.label_prefix();
        for c in self.containers.get(&kind).into_iter().flatten() {
            let parsed = docker::entry(c, &prefix, &settings).and_then(|(text, path, from)| {
                kind.parse(&self.config, &text, &path)
                    .map_err(|e| docker::explain(&e, &path, &from))
            });
            let entry = match parsed {
                Ok(targets) => DockerEntry {
                    targets,
                    error: None,
                },
                Err(why) => {
                    let before = old.get(&c.name).and_then(|o| o.error.as_deref());
                    if before != Some(why.as_str()) {
                        *self.errors.entry((kind, "docker")).or_default() += 1;
                    }
                    DockerEntry {
                        targets: Targets::empty(kind),
                        error: Some(why),
                    }
                }
            };
            self.docker.insert((kind, c.name.clone()), entry);
        }
    }

    /// The collectors whose containers are discovered, with their label prefix.
    fn docker_kinds(&self) -> Vec<(Kind, String)> {
        Kind::ALL
            .into_iter()
            .filter(|k| k.docker(&self.config).is_some())
            .map(|k| (k, k.label_prefix()))
            .collect()
    }

    /// The configuration with the discovered targets after the static ones, and what
    /// discovery supplies now.
    pub fn merged(&mut self) -> (Config, Report) {
        let mut config = self.config.clone();
        let mut report = Report::default();
        let mut owners = HashMap::new();
        let mut rejected = HashSet::new();
        for kind in Kind::ALL {
            if !kind.discovers(&config) {
                continue;
            }
            let previous: HashMap<String, Origin> = self
                .owners
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, n), o)| (n.clone(), o.clone()))
                .collect();
            let files: Vec<(Origin, &Targets)> = self
                .files
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, path), f)| (Origin::File(path.clone()), &f.targets))
                .chain(
                    self.docker
                        .iter()
                        .filter(|((k, _), _)| *k == kind)
                        .map(|((_, name), e)| (Origin::Docker(name.clone()), &e.targets)),
                )
                .collect();
            let on = "a collector with patterns is on";
            let merge = match kind {
                Kind::Postgres => {
                    let list = files.into_iter().filter_map(|(o, t)| match t {
                        Targets::Postgres(t) => Some((o, t.as_slice())),
                        _ => None,
                    });
                    let c = config.postgres.as_mut().expect(on);
                    merge(&mut c.targets, |t| &t.name, list.collect(), &previous)
                }
                Kind::S3 => {
                    let list = files.into_iter().filter_map(|(o, t)| match t {
                        Targets::S3(t) => Some((o, t.as_slice())),
                        _ => None,
                    });
                    let c = config.s3.as_mut().expect(on);
                    merge(&mut c.targets, |t| &t.name, list.collect(), &previous)
                }
                Kind::Trino => {
                    let list = files.into_iter().filter_map(|(o, t)| match t {
                        Targets::Trino(t) => Some((o, t.as_slice())),
                        _ => None,
                    });
                    let c = config.trino.as_mut().expect(on);
                    merge(&mut c.targets, |t| &t.name, list.collect(), &previous)
                }
            };
            let mut sources: BTreeMap<&'static str, SourceStatus> = BTreeMap::new();
            if !kind.patterns(&config).is_empty() {
                sources.insert("file", SourceStatus::default());
            }
            if kind.docker(&config).is_some() {
                sources.insert("docker", SourceStatus::default());
            }
            for ((k, _), f) in &self.files {
                if let (true, Some(e), Some(status)) =
                    (*k == kind, &f.error, sources.get_mut("file"))
                {
                    // The error names the file.
                    status
                        .problems
                        .push(format!("{e} (its previous targets are kept)"));
                }
            }
            if let Some(status) = sources.get_mut("docker") {
                if let Some(why) = self.docker_failure.get(&kind) {
                    status
                        .problems
                        .push(format!("{why} (the containers listed before are kept)"));
                }
                for ((k, _), e) in &self.docker {
                    if let (true, Some(e)) = (*k == kind, &e.error) {
                        status.problems.push(e.clone());
                    }
                }
            }
            for (origin, name, holder) in merge.collisions {
                let key = (kind, origin.source());
                if let Some(status) = sources.get_mut(origin.source()) {
                    status.problems.push(format!(
                        "{origin}: target {name:?} is already defined ({holder}); ignored"
                    ));
                }
                let rejection = (kind, name, origin);
                if !self.rejected.contains(&rejection) {
                    *self.errors.entry(key).or_default() += 1;
                }
                rejected.insert(rejection);
            }
            for (name, origin) in merge.owners {
                if let Some(status) = sources.get_mut(origin.source()) {
                    status.targets += 1;
                }
                report
                    .origins
                    .insert((kind.name(), name.clone()), origin.clone());
                owners.insert((kind, name), origin);
            }
            for (source, mut status) in sources {
                status.errors = self.errors.get(&(kind, source)).copied().unwrap_or(0);
                report.sources.insert((kind.name(), source), status);
            }
        }
        self.owners = owners;
        self.rejected = rejected;
        let now: HashSet<String> = report
            .sources
            .iter()
            .flat_map(|((c, _), s)| s.problems.iter().map(move |p| format!("{c}: {p}")))
            .collect();
        for p in now.difference(&self.logged) {
            tracing::warn!(problem = %p, "target discovery");
        }
        self.logged = now;
        (config, report)
    }
}

/// Reads the files of every collector's patterns (blocking).
fn read(patterns: Vec<(Kind, Vec<String>, Vec<String>)>) -> Reads {
    let mut reads = Reads::new();
    for (kind, patterns, known) in patterns {
        for (path, r) in file::read(&patterns, &known) {
            reads.insert((kind, path), r);
        }
    }
    reads
}

/// The outcome of merging one collector's discovered targets.
struct Merge {
    /// The discovered names taken, and by whom.
    owners: HashMap<String, Origin>,
    /// Rejected claims: who, which name, who holds it.
    collisions: Vec<(Origin, String, Origin)>,
}

/// Appends the discovered targets of `sources` to `targets` (the static ones) unless
/// their name is taken: by a static target, by the source that held it at the last
/// merge, or else by a source earlier in the list.
fn merge<T: Clone>(
    targets: &mut Vec<T>,
    name: impl Fn(&T) -> &String,
    sources: Vec<(Origin, &[T])>,
    previous: &HashMap<String, Origin>,
) -> Merge {
    let mut taken: HashMap<String, Origin> = targets
        .iter()
        .map(|t| (name(t).clone(), Origin::Static))
        .collect();
    let mut claims: Vec<(&Origin, &T)> = sources
        .iter()
        .flat_map(|(o, ts)| ts.iter().map(move |t| (o, t)))
        .collect();
    // Stable: among the newcomers, the sources' order decides.
    claims.sort_by_key(|(o, t)| previous.get(name(t)) != Some(*o));
    let mut out = Merge {
        owners: HashMap::new(),
        collisions: Vec::new(),
    };
    for (origin, t) in claims {
        let n = name(t);
        if let Some(holder) = taken.get(n) {
            out.collisions
                .push((origin.clone(), n.clone(), holder.clone()));
            continue;
        }
        taken.insert(n.clone(), origin.clone());
        out.owners.insert(n.clone(), origin.clone());
        targets.push(t.clone());
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collector_with_targets_files_takes_discovered_targets() {
        let dir = std::env::temp_dir().join(format!("lakewatch-disc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        std::fs::write(
            dir.join("s3.json"),
            r#"[{"name": "lake", "endpoint": "http://minio:9000", "access_key": "a", "secret_key": "b"}]"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("trino.yml"),
            "- name: t1\n  url: http://trino:8080\n",
        )
        .unwrap();
        std::fs::write(dir.join("pg.yml"), "- name: p1\n  host: db\n").unwrap();
        let config = Config::parse(
            &format!(
                "collectors:\n  s3:\n    targets_files: ['{d}/*.json']\n  trino:\n    histogram_buckets: [1]\n    targets_files: ['{d}/trino.yml']\n  postgres:\n    targets_files: ['{d}/pg.yml']\n"
            ),
            "c.yml",
        )
        .unwrap();
        let (merged, report) = State::load(config).merged();
        std::fs::remove_dir_all(&dir).unwrap();
        let s3 = merged.s3.expect("on with targets_files alone");
        assert_eq!(s3.targets.len(), 1);
        assert_eq!(s3.targets[0].name, "lake");
        let trino = merged.trino.expect("on with targets_files alone");
        assert_eq!(trino.targets[0].name, "t1");
        assert_eq!(
            &*trino.targets[0].buckets,
            &[1.0],
            "the collector's buckets"
        );
        assert!(
            merged.postgres.expect("on").targets.is_empty(),
            "p1 has no user"
        );
        assert_eq!(
            report.origin("trino", "t1"),
            Origin::File(format!("{d}/trino.yml"))
        );
        assert_eq!(report.origin("s3", "other"), Origin::Static);
        let pg = &report.sources[&("postgres", "file")];
        assert_eq!((pg.targets, pg.errors), (0, 1));
        assert!(
            pg.problems[0].starts_with(&format!("{d}/pg.yml:2:9: target \"p1\" needs a user")),
            "{pg:?}"
        );
        assert_eq!(report.sources[&("s3", "file")].targets, 1);
    }

    #[test]
    fn the_older_claim_keeps_a_name() {
        let a = Origin::File("/a.yml".into());
        let b = Origin::File("/b.yml".into());
        let mut targets = vec!["s".to_string()];
        let ab = ["x".to_string(), "s".to_string()];
        let bx = ["x".to_string(), "y".to_string()];
        let m = merge(
            &mut targets,
            |t| t,
            vec![(a.clone(), &ab[..]), (b.clone(), &bx[..])],
            &HashMap::new(),
        );
        assert_eq!(
            targets,
            ["s", "x", "y"],
            "static first, then the files' order"
        );
        assert_eq!(
            m.collisions,
            [
                (a.clone(), "s".to_string(), Origin::Static),
                (b.clone(), "x".to_string(), a.clone())
            ]
        );
        // b held x before: a's claim is the newer one, whatever the order.
        let previous = HashMap::from([("x".to_string(), b.clone())]);
        let mut targets = Vec::new();
        let m = merge(
            &mut targets,
            |t| t,
            vec![(a.clone(), &ab[..]), (b.clone(), &bx[..])],
            &previous,
        );
        assert_eq!(m.owners["x"], b);
        assert_eq!(m.collisions, [(a, "x".to_string(), b)]);
    }
}

//! Docker containers: cAdvisor-compatible resource metrics plus the Docker facts cAdvisor
//! lacks (state, health, restarts, exit code, allow-listed labels).
//!
//! Discovery is list + inspect at (re)connect and every few minutes as a safety net;
//! in between, the Docker events stream marks containers whose state changed, and only
//! those are inspected again, so a steady host costs no inspect calls at all. Usage
//! comes from the container's cgroup when this process can see the host's cgroupfs
//! ([`cgroup`]), else from the stats API with `one-shot=true` ([`api`]), read ahead of
//! the cycle by a background task (`sampler.rs`) so that the cycle does not wait on
//! dockerd's one-second sampling tick.
//!
//! [`daemon`] decides where the daemon is and how to reach it (unix socket, tcp, TLS).
//! When the daemon is unreachable the cycle fails (`lakewatch_collector_up 0`, every
//! container series dropped) and the next cycle connects again from scratch.

pub mod api;
pub mod cgroup;
pub mod daemon;
pub mod labels;
mod sampler;
pub mod settings;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::StreamExt as _;
use lakewatch_catalog as cat;
use tokio::task::JoinHandle;

use self::cgroup::{Paths, Stats, Version};
use self::daemon::{Daemon, resolve_host};
use self::sampler::Sampler;
use super::{BoxFuture, CollectError, Collector, Fragment, Job};
use crate::collector::container::labels::info_labels;
use crate::collector::container::settings::{ContainerConfig, StatsSource};
use crate::config::enabled::Enabled;
use crate::error_kind::ErrorKind;

/// How often the full list + inspect runs even while the events stream is healthy: a
/// cheap guard against an event the daemon dropped.
const RESYNC: Duration = Duration::from_secs(300);

/// Docker's container states, in `docker ps` order.
const STATES: [&str; 7] = [
    "created",
    "running",
    "paused",
    "restarting",
    "removing",
    "exited",
    "dead",
];
/// Docker's health states; `none` for containers without a healthcheck.
const HEALTH: [&str; 4] = ["none", "starting", "healthy", "unhealthy"];

/// What inspect told us about one container.
#[derive(Debug, Clone, PartialEq)]
struct Tracked {
    id: String,
    name: String,
    image: String,
    labels: HashMap<String, String>,
    state: String,
    health: String,
    restarts: f64,
    exit_code: f64,
    oom_killed: bool,
    pid: i64,
    created: Option<f64>,
    memory_limit: f64,
    cpu_quota: f64,
    cpu_period: f64,
    cgroup_parent: String,
    /// `host`, `none` or `container:<id>`: the container has no network namespace of
    /// its own to report (Docker's stats API reports none either).
    shared_network: bool,
}

impl Tracked {
    fn from_inspect(r: ContainerInspectResponse) -> Option<Tracked> {
        let id = r.id?;
        let state = r.state.unwrap_or_default();
        let host = r.host_config.unwrap_or_default();
        let config = r.config.unwrap_or_default();
        let period = host.cpu_period.filter(|p| *p > 0).unwrap_or(100_000) as f64;
        // `--cpus` sets NanoCpus and leaves CpuQuota at 0; the kernel sees the quota
        // Docker derives from it over the default period.
        let quota = match (host.cpu_quota.filter(|q| *q > 0), host.nano_cpus) {
            (Some(q), _) => q as f64,
            (None, Some(n)) if n > 0 => n as f64 * period / 1e9,
            _ => 0.0,
        };
        let network_mode = host.network_mode.unwrap_or_default();
        Some(Tracked {
            name: r
                .name
                .as_deref()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            image: config.image.unwrap_or_default(),
            labels: config.labels.unwrap_or_default(),
            state: state
                .status
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "created".into()),
            health: state
                .health
                .and_then(|h| h.status)
                .map(|s| s.to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "none".into()),
            restarts: r.restart_count.unwrap_or(0) as f64,
            exit_code: state.exit_code.unwrap_or(0) as f64,
            oom_killed: state.oom_killed.unwrap_or(false),
            pid: state.pid.unwrap_or(0),
            created: r.created.as_deref().and_then(crate::timestamp::rfc3339),
            memory_limit: host.memory.filter(|m| *m > 0).unwrap_or(0) as f64,
            cpu_quota: quota,
            cpu_period: period,
            cgroup_parent: host.cgroup_parent.unwrap_or_default(),
            shared_network: network_mode == "host"
                || network_mode == "none"
                || network_mode.starts_with("container:"),
            id,
        })
    }
}

/// What the events stream has told us since the last cycle.
#[derive(Debug, Default)]
struct Events {
    /// The stream is connected; when it ends, the next cycle lists everything again.
    alive: bool,
    dirty: HashSet<String>,
    /// `oom` events per container since the stream started.
    ooms: HashMap<String, f64>,
}

struct Conn {
    docker: Docker,
    systemd_driver: bool,
    /// Reads the stats API ahead of the cycle; dropped (its task and calls with it) on
    /// disconnect.
    sampler: Sampler,
}

/// The container collector.
pub struct ContainerCollector {
    cfg: Arc<ContainerConfig>,
    /// The daemon address, for messages.
    host: String,
    /// How to reach it; an error when its TLS settings are unusable (reported by
    /// every cycle, so the rest of the exporter keeps serving).
    daemon: Result<Daemon, String>,
    conn: Option<Conn>,
    tracked: HashMap<String, Tracked>,
    events: Arc<Mutex<Events>>,
    watcher: Option<JoinHandle<()>>,
    last_full_sync: Option<Instant>,
    /// False while a cycle is between draining events and applying them; a cycle cut
    /// by the timeout leaves it false, so the next one resynchronises fully.
    clean: bool,
    /// Highest OOM count seen per container: cgroup counters reset when Docker
    /// restarts a container, the exported counter must not.
    ooms: HashMap<String, f64>,
    devices: HashMap<(u64, u64), String>,
}

impl ContainerCollector {
    /// A collector for the daemon and filters of `cfg`.
    pub fn new(cfg: ContainerConfig) -> ContainerCollector {
        let host = resolve_host(cfg.docker_host.as_deref());
        let daemon = Daemon::resolve(&cfg);
        ContainerCollector {
            cfg: Arc::new(cfg),
            host,
            daemon,
            conn: None,
            tracked: HashMap::new(),
            events: Arc::default(),
            watcher: None,
            last_full_sync: None,
            clean: false,
            ooms: HashMap::new(),
            devices: HashMap::new(),
        }
    }

    fn events(&self) -> std::sync::MutexGuard<'_, Events> {
        // Only plain field updates happen under this lock.
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn disconnect(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        self.events().alive = false;
        self.conn = None;
    }

    /// Whether the daemon answers at start-up (for `enabled: auto`), and if not, why.
    pub fn probe(&self, timeout: Duration) -> Result<(), String> {
        self.daemon.as_ref().map_err(Clone::clone)?.probe(timeout)
    }

    fn docker_error(&self, what: &str, e: bollard::errors::Error) -> CollectError {
        // bollard's own messages stop at "connection error"; the chain says why.
        let text = crate::http_client::error_chain(&e);
        CollectError::new(
            daemon::error_kind(&e),
            format!("{what} at {}: {text}", self.host),
        )
    }

    async fn connect(&self) -> Result<Conn, CollectError> {
        let daemon = self
            .daemon
            .as_ref()
            .map_err(|why| CollectError::new(ErrorKind::Config, why.clone()))?;
        let unreachable = |e: bollard::errors::Error| {
            let kind = daemon::error_kind(&e);
            let text = crate::http_client::error_chain(&e);
            let hint = match (kind, daemon.tls_source()) {
                (ErrorKind::Tls, Some(source)) => format!(" (TLS settings: {source})"),
                _ => String::new(),
            };
            CollectError::new(
                kind,
                format!(
                    "cannot reach the Docker daemon at {} (retrying every cycle): {text}{hint}",
                    self.host
                ),
            )
        };
        let timeout = self.cfg.schedule.timeout.as_secs().max(1);
        let docker = daemon.client(timeout).map_err(unreachable)?;
        // bollard speaks a newer API than many daemons in the field (Docker 20.10 stops
        // at 1.41 and rejects newer version prefixes); agree on the lower one.
        let docker = docker.negotiate_version().await.map_err(unreachable)?;
        let info = docker.info().await.map_err(unreachable)?;
        let systemd_driver = info
            .cgroup_driver
            .is_some_and(|d| d.to_string() == "systemd");
        tracing::info!(
            host = %self.host,
            tls = daemon.tls_source().unwrap_or("off"),
            "connected to the Docker daemon"
        );
        Ok(Conn {
            sampler: Sampler::new(docker.clone(), self.cfg.stats_concurrency),
            docker,
            systemd_driver,
        })
    }

    fn start_watcher(&mut self, docker: Docker) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
        let events = self.events.clone();
        {
            let mut e = self.events();
            e.alive = true;
            e.dirty.clear();
        }
        let filters = HashMap::from([("type", vec!["container"])]);
        let opts = EventsOptionsBuilder::new().filters(&filters).build();
        let host = self.host.clone();
        self.watcher = Some(tokio::spawn(async move {
            let mut stream = docker.events(Some(opts));
            let lock = || events.lock().unwrap_or_else(|p| p.into_inner());
            while let Some(item) = stream.next().await {
                match item {
                    Ok(ev) => {
                        let action = ev.action.unwrap_or_default();
                        // Healthchecks run as execs every interval; their result
                        // arrives as a separate health_status event.
                        if action.starts_with("exec_") {
                            continue;
                        }
                        let Some(id) = ev.actor.and_then(|a| a.id) else {
                            continue;
                        };
                        let mut e = lock();
                        if action == "oom" {
                            *e.ooms.entry(id.clone()).or_default() += 1.0;
                        }
                        e.dirty.insert(id);
                    }
                    Err(err) => {
                        tracing::debug!(host = %host, error = %err, "Docker events stream ended");
                        break;
                    }
                }
            }
            lock().alive = false;
        }));
    }

    /// Inspects containers, a few at a time. `None` for a container that is gone.
    async fn inspect(
        &self,
        docker: &Docker,
        ids: Vec<String>,
    ) -> Result<Vec<(String, Option<Tracked>)>, CollectError> {
        let results: Vec<_> = futures_util::stream::iter(ids)
            .map(|id| async move {
                let r = docker.inspect_container(&id, None).await;
                (id, r)
            })
            .buffer_unordered(self.cfg.stats_concurrency)
            .collect()
            .await;
        let mut out = Vec::with_capacity(results.len());
        for (id, r) in results {
            match r {
                Ok(resp) => out.push((id, Tracked::from_inspect(resp))),
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404, ..
                }) => out.push((id, None)),
                Err(e) => return Err(self.docker_error("inspecting containers", e)),
            }
        }
        Ok(out)
    }

    /// Brings `tracked` up to date: everything after (re)connect, else what changed.
    async fn refresh(&mut self, docker: &Docker) -> Result<(), CollectError> {
        let alive = self.watcher.is_some() && self.events().alive;
        let full =
            !self.clean || !alive || self.last_full_sync.is_none_or(|t| t.elapsed() > RESYNC);
        self.clean = false;
        if full {
            // Watch first, then list: a change during the listing is then seen twice
            // rather than never.
            if !alive {
                self.start_watcher(docker.clone());
            } else {
                self.events().dirty.clear();
            }
            let opts = ListContainersOptionsBuilder::new().all(true).build();
            let list = docker
                .list_containers(Some(opts))
                .await
                .map_err(|e| self.docker_error("listing containers", e))?;
            let ids = list.into_iter().filter_map(|c| c.id).collect();
            let found = self.inspect(docker, ids).await?;
            self.tracked = found
                .into_iter()
                .filter_map(|(id, t)| t.map(|t| (id, t)))
                .collect();
            self.last_full_sync = Some(Instant::now());
        } else {
            let dirty: Vec<String> = std::mem::take(&mut self.events().dirty)
                .into_iter()
                .collect();
            for (id, t) in self.inspect(docker, dirty).await? {
                match t {
                    Some(t) => self.tracked.insert(id, t),
                    None => self.tracked.remove(&id),
                };
            }
        }
        self.clean = true;
        let tracked = &self.tracked;
        self.ooms.retain(|id, _| tracked.contains_key(id));
        self.events().ooms.retain(|id, _| tracked.contains_key(id));
        Ok(())
    }

    fn wanted(&self, t: &Tracked) -> bool {
        self.cfg.names.allows(&t.name)
            && (self.cfg.labels_include.is_empty()
                || self.cfg.labels_include.iter().any(|m| m.matches(&t.labels)))
            && !self.cfg.labels_exclude.iter().any(|m| m.matches(&t.labels))
    }

    /// cAdvisor's `id` when the cgroup could not be read: the path Docker creates.
    fn default_cgroup_id(&self, t: &Tracked) -> String {
        if self.conn.as_ref().is_some_and(|c| c.systemd_driver) {
            let slice = if t.cgroup_parent.is_empty() {
                "system.slice"
            } else {
                t.cgroup_parent.trim_matches('/')
            };
            format!("/{slice}/docker-{}.scope", t.id)
        } else {
            let parent = if t.cgroup_parent.is_empty() {
                "/docker"
            } else {
                t.cgroup_parent.trim_end_matches('/')
            };
            format!("{}/{}", parent, t.id)
        }
    }

    async fn cycle(&mut self) -> Result<Fragment, CollectError> {
        // The scheduler starts the next cycle one interval after this one started.
        let next_cycle = tokio::time::Instant::now() + self.cfg.schedule.interval;
        if self.conn.is_none() {
            let conn = self.connect().await?;
            self.conn = Some(conn);
            self.clean = false;
        }
        let docker = self
            .conn
            .as_ref()
            .map(|c| c.docker.clone())
            .expect("connected just above");
        if let Err(e) = self.refresh(&docker).await {
            if e.kind != ErrorKind::Http {
                self.disconnect();
            }
            return Err(e);
        }

        let mut chosen: Vec<Tracked> = self
            .tracked
            .values()
            .filter(|t| self.wanted(t))
            .cloned()
            .collect();
        // Over the cap, running containers win, then by name: stable across cycles.
        chosen.sort_by(|a, b| (a.pid <= 0, &a.name).cmp(&(b.pid <= 0, &b.name)));
        let dropped = chosen.len().saturating_sub(self.cfg.max_containers);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                max_containers = self.cfg.max_containers,
                "more containers than max_containers; the rest are not exported"
            );
            chosen.truncate(self.cfg.max_containers);
        }

        let stats = self.read_stats(&chosen, next_cycle).await?;
        let mut out = Fragment::default();
        out.push(&cat::CONTAINERS_DROPPED, [""; 0], dropped as f64);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64().floor());
        let event_ooms = self.events().ooms.clone();
        for t in &chosen {
            let (cg_id, s) = match stats.get(&t.id) {
                Some((id, s)) => (id.clone(), s.as_ref()),
                None => (None, None),
            };
            let id = cg_id.unwrap_or_else(|| self.default_cgroup_id(t));
            let oom = [
                self.ooms.get(&t.id).copied().unwrap_or(0.0),
                s.and_then(|s| s.oom_kills).unwrap_or(0.0),
                event_ooms.get(&t.id).copied().unwrap_or(0.0),
                f64::from(u8::from(t.oom_killed)),
            ]
            .into_iter()
            .fold(0.0, f64::max);
            self.ooms.insert(t.id.clone(), oom);
            self.emit(t, &id, s, oom, now, &mut out);
        }
        Ok(out)
    }

    /// Stats of the running containers among `chosen`, by Docker id, with the cgroup
    /// path when it was readable. The API's are the sampler's latest; it then plans
    /// to read the same containers again before `next_cycle`.
    async fn read_stats(
        &mut self,
        chosen: &[Tracked],
        next_cycle: tokio::time::Instant,
    ) -> Result<HashMap<String, (Option<String>, Option<Stats>)>, CollectError> {
        let running: Vec<(String, i64, bool)> = chosen
            .iter()
            .filter(|t| t.pid > 0)
            .map(|t| (t.id.clone(), t.pid, t.shared_network))
            .collect();
        let cfg = self.cfg.clone();
        let use_cgroup = cfg.stats_source != StatsSource::Api;
        // Plain file reads, but on the blocking pool: a cgroupfs or procfs that stalls
        // must cost the timeout, not an async worker.
        let from_files = tokio::task::spawn_blocking(move || {
            let version = cgroup::detect(&cfg.cgroupfs);
            running
                .into_iter()
                .map(|(id, pid, shared_net)| {
                    let r = read_cgroup(
                        &cfg.cgroupfs,
                        &cfg.procfs,
                        version,
                        pid,
                        shared_net,
                        use_cgroup,
                    );
                    (id, r)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| CollectError::new(ErrorKind::Io, format!("cgroup read task failed: {e}")))?;

        let mut out = HashMap::new();
        let mut need_api = Vec::new();
        for (id, (cg_id, stats)) in from_files {
            if stats.is_none() && self.cfg.stats_source != StatsSource::Cgroup {
                need_api.push(id.clone());
            }
            out.insert(id, (cg_id, stats));
        }
        let sampler = &self.conn.as_ref().expect("connected by the cycle").sampler;
        // A container that stopped between inspect and stats has no sample: it is
        // reported without usage this cycle.
        match sampler.read(&need_api).await {
            Ok(fetched) => {
                for (id, s) in fetched {
                    if let Some(entry) = out.get_mut(&id) {
                        entry.1 = Some(s);
                    }
                }
                sampler.plan(need_api, next_cycle);
            }
            Err(e) => {
                let e = self.docker_error("reading container stats", e);
                if e.kind != ErrorKind::Http {
                    self.disconnect();
                }
                return Err(e);
            }
        }
        // Resolve new block devices once; they rarely change.
        for (_, s) in out.values() {
            for io in s.iter().flat_map(|s| s.io.iter()) {
                self.devices.entry((io.major, io.minor)).or_insert_with(|| {
                    cgroup::device_name(&PathBuf::from("/sys/dev/block"), io.major, io.minor)
                });
            }
        }
        Ok(out)
    }

    fn emit(
        &self,
        t: &Tracked,
        id: &str,
        s: Option<&Stats>,
        oom: f64,
        now: f64,
        out: &mut Fragment,
    ) {
        let l = [id, t.name.as_str(), t.image.as_str()];
        fn with<'a>(l: [&'a str; 3], extra: &'a str) -> [&'a str; 4] {
            [l[0], l[1], l[2], extra]
        }
        out.push_info_with(
            &cat::CONTAINER_INFO,
            l,
            info_labels(&self.cfg.label_allowlist, |k| t.labels.get(k)),
        );
        for state in STATES {
            out.push(
                &cat::CONTAINER_STATE,
                with(l, state),
                f64::from(u8::from(t.state == state)),
            );
        }
        for status in HEALTH {
            out.push(
                &cat::CONTAINER_HEALTH_STATUS,
                with(l, status),
                f64::from(u8::from(t.health == status)),
            );
        }
        out.push(&cat::CONTAINER_RESTARTS, l, t.restarts);
        out.push(&cat::CONTAINER_EXIT_CODE, l, t.exit_code);
        out.push(&cat::CONTAINER_OOM_EVENTS, l, oom);
        if t.pid <= 0 {
            // Like cAdvisor, usage and spec series exist only while a cgroup does.
            return;
        }
        if let Some(created) = t.created {
            out.push(&cat::CONTAINER_START_TIME, l, created);
        }
        out.push(&cat::CONTAINER_LAST_SEEN, l, now);
        out.push(&cat::CONTAINER_SPEC_MEMORY_LIMIT, l, t.memory_limit);
        out.push(&cat::CONTAINER_SPEC_CPU_PERIOD, l, t.cpu_period);
        if t.cpu_quota > 0.0 {
            out.push(&cat::CONTAINER_SPEC_CPU_QUOTA, l, t.cpu_quota);
        }
        let Some(s) = s else { return };
        let mut opt = |m: &'static cat::Metric, v: Option<f64>| {
            if let Some(v) = v {
                out.push(m, l, v);
            }
        };
        if t.cpu_quota > 0.0 {
            // cAdvisor reports CFS enforcement only for containers with a quota: without
            // one the kernel counts no periods, and a zero would read as "never throttled".
            opt(&cat::CONTAINER_CPU_CFS_PERIODS, s.cpu_periods);
            opt(
                &cat::CONTAINER_CPU_CFS_THROTTLED_PERIODS,
                s.cpu_throttled_periods,
            );
            opt(&cat::CONTAINER_CPU_THROTTLED, s.cpu_throttled);
        }
        opt(&cat::CONTAINER_CPU_USER, s.cpu_user);
        opt(&cat::CONTAINER_CPU_SYSTEM, s.cpu_system);
        opt(&cat::CONTAINER_MEMORY_USAGE, s.mem_usage);
        opt(&cat::CONTAINER_MEMORY_WORKING_SET, s.working_set());
        opt(&cat::CONTAINER_MEMORY_RSS, s.mem_rss);
        opt(&cat::CONTAINER_MEMORY_CACHE, s.mem_cache);
        opt(&cat::CONTAINER_PROCESSES, s.pids);
        if let Some(cpu) = s.cpu_total {
            // cAdvisor without per-CPU metrics (its default) labels the sum cpu="total".
            out.push(&cat::CONTAINER_CPU_USAGE, with(l, "total"), cpu);
        }
        for n in &s.net {
            let il = with(l, &n.name);
            out.push(&cat::CONTAINER_NETWORK_RECEIVE_BYTES, il, n.rx_bytes);
            out.push(&cat::CONTAINER_NETWORK_RECEIVE_PACKETS, il, n.rx_packets);
            out.push(&cat::CONTAINER_NETWORK_RECEIVE_ERRORS, il, n.rx_errors);
            out.push(&cat::CONTAINER_NETWORK_RECEIVE_DROPPED, il, n.rx_dropped);
            out.push(&cat::CONTAINER_NETWORK_TRANSMIT_BYTES, il, n.tx_bytes);
            out.push(&cat::CONTAINER_NETWORK_TRANSMIT_PACKETS, il, n.tx_packets);
            out.push(&cat::CONTAINER_NETWORK_TRANSMIT_ERRORS, il, n.tx_errors);
            out.push(&cat::CONTAINER_NETWORK_TRANSMIT_DROPPED, il, n.tx_dropped);
        }
        for io in &s.io {
            let dev = self
                .devices
                .get(&(io.major, io.minor))
                .cloned()
                .unwrap_or_else(|| format!("{}:{}", io.major, io.minor));
            out.push(&cat::CONTAINER_FS_READS_BYTES, with(l, &dev), io.read);
            out.push(&cat::CONTAINER_FS_WRITES_BYTES, with(l, &dev), io.write);
        }
    }
}

/// Reads one container's cgroup path (always, for the `id` label) and, when asked, its
/// counters and network. Any failure yields `None` stats: the caller decides whether
/// the API fills in.
fn read_cgroup(
    cgroupfs: &std::path::Path,
    procfs: &std::path::Path,
    version: Option<Version>,
    pid: i64,
    shared_net: bool,
    want_stats: bool,
) -> (Option<String>, Option<Stats>) {
    let proc_dir = procfs.join(pid.to_string());
    let Some(paths) = version.and_then(|v| {
        let text = std::fs::read_to_string(proc_dir.join("cgroup")).ok()?;
        Paths::locate(cgroupfs, v, &cgroup::parse_proc_cgroup(&text))
    }) else {
        return (None, None);
    };
    if !want_stats {
        return (Some(paths.id), None);
    }
    let Ok(mut stats) = paths.read() else {
        return (Some(paths.id), None);
    };
    if !shared_net {
        match std::fs::read_to_string(proc_dir.join("net/dev")) {
            Ok(text) => stats.net = cgroup::parse_net_dev(&text),
            // Without the network namespace's view the numbers would be incomplete;
            // let the API path answer instead of exporting a partial picture.
            Err(_) => return (Some(paths.id), None),
        }
    }
    (Some(paths.id), Some(stats))
}

/// The container collector's job, for one Docker daemon. With `enabled: auto` there is
/// none when no daemon answers at start-up.
pub fn jobs(settings: &ContainerConfig) -> Vec<Job> {
    let collector = ContainerCollector::new(settings.clone());
    let probe = match settings.enabled {
        Enabled::Auto => collector.probe(Duration::from_secs(2)),
        _ => Ok(()),
    };
    match probe {
        Ok(()) => vec![Job {
            schedule: settings.schedule,
            collector: Box::new(collector),
            // With the schedule: the collector derives the Docker API timeout from it.
            settings: super::Settings::of(settings.clone()),
        }],
        Err(why) => {
            tracing::info!(
                reason = %why,
                "container collector not started: no Docker daemon answered (enabled: auto)"
            );
            Vec::new()
        }
    }
}

impl Drop for ContainerCollector {
    fn drop(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.abort();
        }
    }
}

impl Collector for ContainerCollector {
    fn name(&self) -> &'static str {
        "container"
    }

    fn target(&self) -> &str {
        "localhost"
    }

    fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
        Box::pin(self.cycle())
    }
}

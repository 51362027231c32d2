//! The lab: every shipped query and stock alert proven against live data (issue 15).
//!
//! All real, all on loopback: Debian's `prometheus` (2 s scrape and evaluation) scrapes the
//! real exporter with every collector on — disk (two small tmpfs mounts), container (the
//! local Docker engine), postgres (a scratch server with load; targets also from a
//! targets file), s3 (moto with buckets and the canary probe), trino (the replay
//! coordinator) — plus a second exporter with a tiny series limit. Prometheus loads the
//! stock pack (generated from `alerts/lakewatch.yml` with only the `for:` durations
//! shortened, and checked equal to the shipped file otherwise) and the rules of the lab's
//! SLO spec; Alertmanager runs the generated routing with webhook receivers this test
//! records.
//!
//! What it proves: (1+2) `lakewatch_rulegen::check` finds no dead selector, no empty join
//! and no query without data in any shipped artifact (the stock rules, every stock
//! dashboard, the SLO rules and SLO dashboard), checked while every fault is on so the
//! series that only exist under fault are there; (3) each stock alert is driven to fire
//! by a scripted fault, reaches the right receiver with its labels and a summary naming
//! what is in trouble, and resolves when the fault ends (where its window allows within
//! the test); (4) with Postgres down, that server's SLO alert is inhibited.
//!
//! `LAKEWATCH_LAB_HOLD=1` (scripts/lab.sh) stops after setting up, prints the URLs and
//! keeps the lab running until Ctrl-C.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lakewatch_rulegen::check::{self, Problem, QueryKind};
use lakewatch_rulegen::model::Service;
use lakewatch_rulegen::output::{self, Flavor};
use lakewatch_rulegen::rules::{self, SliSource};
use lakewatch_rulegen::{dashboard, stock};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::support::alerting::{Post, Server, Webhook, alerts_named, strings};
use crate::support::docker::{self, Scene};
use crate::support::postgres::{PASSWORD, PgServer};
use crate::support::replay::{Q, Replay, Reply, entry, fixture, ok, q};
use crate::support::s3::Admin;
use crate::support::{Exporter, Moto, Proc, TempDir, eventually_with, skip_or_fail, tool};

mod container;
mod discovery;
mod disk;
mod postgres;
mod reload;
mod s3;
mod trino;

use container::container_faults;
use discovery::{TARGETS_FILE, discovery_faults};
use disk::disk_faults;
use postgres::postgres_faults;
use reload::reload_faults;
use s3::s3_faults;
use trino::trino_faults;

/// The repository root.
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// The `for:` every stock alert that has one gets in the lab: two evaluations, so the
/// pending state is still exercised.
const LAB_FOR_SECS: u64 = 4;
/// Threshold overrides (param, value, the alert it changes, why), only where no fault
/// can reach the shipped value here.
const OVERRIDES: &[(&str, &str, &str, &str)] = &[
    (
        "pg_slot_retained_wal_bytes",
        "1000000",
        "PostgresReplicationSlotInactive",
        "the shipped gigabyte of WAL takes too long to write in a test",
    ),
    (
        "pg_xid_age_max",
        "100000",
        "PostgresTxidWraparound",
        "the shipped billion transactions take hours to burn; 150,000 take a second",
    ),
    (
        "pg_long_transaction_seconds",
        "5",
        "PostgresLongRunningTransaction",
        "the shipped hour cannot pass in a test",
    ),
    // rate() over the shipped 5m divides by the whole window: a device busy since the
    // fault began reaches 90% only after 4.5 minutes, longer than the faults stand.
    (
        "disk_io_window",
        "30s",
        "LakewatchDiskIoSaturated",
        "a 5m rate needs 4.5 minutes of load to pass 90%",
    ),
    // A loop device's io_time tops out at 95-96% busy here however many writers queue
    // on it (measured with 1 to 8), and a machine loaded by parallel builds leaves gaps:
    // CI once saw the 30s rate stay under 90% for 4 minutes.
    (
        "disk_io_saturation_ratio",
        "0.75",
        "LakewatchDiskIoSaturated",
        "a loop device tops out at 95% busy, too close to 90% on a loaded machine",
    ),
    (
        "disk_io_window",
        "30s",
        "LakewatchDiskReadLatencyHigh",
        "the same window (one param for the three disk I/O alerts)",
    ),
    (
        "disk_io_window",
        "30s",
        "LakewatchDiskWriteLatencyHigh",
        "the same window (one param for the three disk I/O alerts)",
    ),
];
/// Stock alerts no fault here can provoke, with the reason.
const NOT_PROVOKED: &[(&str, &str)] = &[
    (
        "PostgresReplicationLag",
        "needs a streaming replica; the lab runs one primary",
    ),
    (
        "LakewatchFilesystemDeviceError",
        "needs a mount whose statfs fails or hangs (a dead NFS server or failing device)",
    ),
    (
        "S3BucketSizeAnomaly",
        "compares with `offset 1d`: needs a day of history",
    ),
    (
        "LakewatchDiskReadLatencyHigh",
        "needs a device whose reads average over 100 ms at more than 1 read/s: the machine's one disk (vda) is fast and shared by the other tests, a loop device answers from the page cache, and the device-mapper delay target is unavailable (no /dev/mapper/control in this kernel)",
    ),
    (
        "LakewatchDiskWriteLatencyHigh",
        "needs a device whose writes average over 100 ms at more than 1 write/s: as for reads, no slow device can be made here without device-mapper",
    ),
    (
        "ContainerNetworkReceiveErrors",
        "a veth counts no receive errors: induced loss (netem, iptables DROP) counts as drops in the qdisc or netfilter, an interface error needs a faulty link or driver",
    ),
    (
        "ContainerNetworkTransmitErrors",
        "a veth counts no transmit errors short of a driver fault (see receive)",
    ),
    (
        "MinioDrivesOffline",
        "moto serves no MinIO metrics endpoint; promtool tests it on MinIO's v2 names and labels",
    ),
    (
        "MinioClusterSpaceLow",
        "moto serves no MinIO metrics endpoint; promtool tests it on MinIO's v2 names and labels",
    ),
];
/// Why the queries of MinIO's pass-through series ([`is_minio_passthrough`]) have no data.
const NO_MINIO: &str = "moto serves no MinIO metrics endpoint (`minio_metrics:`), so MinIO's own series do not exist here";
/// Alerts whose condition has no data in the lab even with every fault on (check's
/// NoData for an alert), with the reason.
const ALERTS_WITHOUT_DATA: &[(&str, &str)] = &[(
    "S3BucketSizeAnomaly",
    "`offset 1d` has no sample until the lab has run a day",
)];
/// The SLO dashboard's panel of an SLO's firing alerts: empty by design while that SLO is
/// healthy, so the main check skips it and each fault thread checks it while its fault
/// makes the SLO fire ([`prove_firing_panel`]).
const FIRING_PANEL: &str = "Firing alerts of this SLO";
/// Alerts whose window outlasts the test, so their resolution is not awaited; every other
/// alert that fired must resolve.
const NO_RESOLVE: &[(&str, &str)] = &[
    ("LakewatchSeriesDropped", "increase over 15m"),
    (
        "LakewatchFilesystemFillingUp",
        "the 6h regression remembers the fill",
    ),
    ("PostgresDeadlocks", "increase over 1h"),
    (
        "PostgresWalArchivingFailing",
        "increase over pg_archive_failure_window (5m)",
    ),
    (
        "PostgresRollbackRatioHigh",
        "rates over pg_rollback_window (10m)",
    ),
    ("PostgresRestarted", "changes over pg_restart_window (15m)"),
    (
        "PostgresCacheHitRatioLow",
        "rates over pg_cache_hit_window (10m)",
    ),
    ("S3ProbeLatencyHigh", "p95 over 30m"),
    ("TrinoSlowQueries", "p95 over 15m"),
    ("TrinoQueryFailureRate", "ratio over 15m"),
    ("ContainerRestarting", "increase over 1h"),
    (
        "ContainerCpuThrottled",
        "rates over 5m keep the throttled periods for 5 minutes, even of a removed container",
    ),
    ("ContainerOomKilled", "increase over 10m"),
];
/// What the webhook's bearer token file holds.
const TOKEN: &str = "lab-webhook-token";
/// Deadline of every wait for a condition (a test timeout, not a speed requirement).
const LONG: Duration = Duration::from_secs(240);

/// Prints why the lab cannot run and returns `None`; under `CI=true` it fails instead.
fn missing<T>(what: &str) -> Option<T> {
    skip_or_fail(&format!("the lab cannot run: {what}"));
    None
}

/// A barrier for the fault threads that a failing thread breaks: the others then fail
/// too instead of waiting forever for it.
struct Rendezvous {
    parties: usize,
    /// Arrived so far, generation, broken.
    state: Mutex<(usize, usize, bool)>,
    cv: std::sync::Condvar,
}

impl Rendezvous {
    fn new(parties: usize) -> Rendezvous {
        Rendezvous {
            parties,
            state: Mutex::new((0, 0, false)),
            cv: std::sync::Condvar::new(),
        }
    }

    fn wait(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        assert!(!s.2, "another part of the lab failed (see its panic)");
        let generation = s.1;
        s.0 += 1;
        if s.0 == self.parties {
            s.0 = 0;
            s.1 += 1;
            self.cv.notify_all();
            return;
        }
        while s.1 == generation && !s.2 {
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        assert!(!s.2, "another part of the lab failed (see its panic)");
    }

    /// Breaks the rendezvous if the calling thread panics before the guard drops.
    fn guard(&self) -> impl Drop + '_ {
        struct Guard<'a>(&'a Rendezvous);
        impl Drop for Guard<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut s = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
                    s.2 = true;
                    self.0.cv.notify_all();
                }
            }
        }
        Guard(self)
    }
}

/// A tmpfs mounted for the disk collector to see; unmounted on drop.
struct Tmpfs {
    path: PathBuf,
}

/// A loop device over a file in the lab's directory, kept busy by four shells looping
/// `dd` with direct I/O (never the machine's disk, which the other tests share); one
/// writer leaves gaps between its requests (about 45% busy measured here), four keep a
/// request in flight all the time. Detached on drop.
struct BusyLoop {
    device: String,
    writers: Vec<std::process::Child>,
}

impl BusyLoop {
    fn start(dir: &Path) -> BusyLoop {
        let image = dir.join("busy.img");
        std::fs::write(&image, vec![0u8; 64 << 20]).expect("writing the loop device's file");
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&image)
            .output()
            .expect("running losetup");
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let device = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let script = format!(
            "while :; do dd if=/dev/zero of={device} bs=1M count=64 oflag=direct 2>/dev/null; done"
        );
        let writers = (0..4)
            .map(|_| {
                Command::new("sh")
                    .args(["-c", &script])
                    .spawn()
                    .expect("starting a writer")
            })
            .collect();
        BusyLoop { device, writers }
    }

    /// The kernel's name of the device (`loop3`), the `device` label.
    fn name(&self) -> String {
        self.device.trim_start_matches("/dev/").to_string()
    }
}

impl Drop for BusyLoop {
    fn drop(&mut self) {
        for w in &mut self.writers {
            let _ = w.kill();
            let _ = w.wait();
        }
        // A writer's last dd may still hold the device for a moment: losetup then only
        // marks it to detach when closed (autoclear).
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}

impl Tmpfs {
    fn mount(path: &Path, opts: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(path).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "lakewatch-lab"])
            .arg(path)
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    fn remount(&self, opts: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.path)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "remount {opts}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// `kill -SIG pid`.
fn signal(sig: &str, pid: u32) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill -{sig} {pid}");
}

/// The scrape job of `deploy/prometheus.yml` that scrapes lakewatch-exporter: the lab uses
/// it so that the lab breaks when the example and the stock pack's `exporter_job` diverge.
fn deployed_job() -> String {
    #[derive(serde::Deserialize)]
    struct Config {
        scrape_configs: Vec<Scrape>,
    }
    #[derive(serde::Deserialize)]
    struct Scrape {
        job_name: String,
        static_configs: Vec<Targets>,
    }
    #[derive(serde::Deserialize)]
    struct Targets {
        targets: Vec<String>,
    }
    let text = std::fs::read_to_string(format!("{REPO}/deploy/prometheus.yml"))
        .expect("reading deploy/prometheus.yml");
    let config: Config = serde_saphyr::from_str(&text).expect("deploy/prometheus.yml parses");
    config
        .scrape_configs
        .into_iter()
        .find(|s| {
            s.static_configs
                .iter()
                .any(|t| t.targets.iter().any(|t| t.contains("lakewatch-exporter")))
        })
        .map(|s| s.job_name)
        .expect("deploy/prometheus.yml scrapes lakewatch-exporter")
}

/// The stock pack as Prometheus loads it in the lab: generated from `alerts/lakewatch.yml`
/// by the rulegen library, exactly as `lakewatch-rulegen stock` does, then every `for:`
/// cut to [`LAB_FOR_SECS`]. Returns the service and its rule file.
fn stock_pack(params: &BTreeMap<String, String>) -> (Service, String) {
    let text = std::fs::read_to_string(format!("{REPO}/{}", stock::SPEC_PATH))
        .expect("reading the stock spec");
    let mut services = lakewatch_rulegen::spec::load_with_params(stock::SPEC_PATH, &text, params)
        .unwrap_or_else(|e| panic!("the stock spec: {e}"));
    let mut kept = services.remove(0);
    stock::check_alerts(&kept).expect("the stock alerts read known metrics");
    for a in &mut kept.alerts {
        a.for_secs = a.for_secs.min(LAB_FOR_SECS);
    }
    let set = rules::generate(&kept, SliSource::Spec).expect("stock rules generate");
    let rendered = output::render(Flavor::Plain, &kept.name, "lakewatch.yml", &set);
    (kept, rendered)
}

/// The rule lines of a rule file (comments and blank lines dropped), with `for:` lines
/// replaced by a marker: what must be equal between the shipped and the lab's pack.
fn without_for(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            if l.trim_start().starts_with("for: ") {
                "for: <lab>".to_string()
            } else {
                l.to_string()
            }
        })
        .collect()
}

/// The lab's SLO spec with its Postgres server filled in.
fn lab_spec(dir: &TempDir, pg_server: &str) -> Service {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/lab/slo.yml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("reading the lab SLO spec");
    let path = dir.write("lab-slo.yml", &text.replace("LAB_PG_SERVER", pg_server));
    let mut services = lakewatch_rulegen::load_files(&[path], &BTreeMap::new())
        .unwrap_or_else(|e| panic!("the lab SLO spec: {e}"));
    services.remove(0)
}

/// Trino's `/v1/query` while all is well: a finished, a running and a queued query and
/// one the user got wrong.
fn trino_calm() -> Reply {
    let list = [
        q("calm-done", "FINISHED"),
        q("calm-running", "RUNNING"),
        q("calm-queued", "QUEUED"),
        Q {
            error_type: Some("USER_ERROR"),
            ..q("calm-typo", "FAILED")
        },
    ];
    ok(Value::Array(list.iter().map(|q| entry(q, q.id)).collect()).to_string())
}

/// Trino in trouble: 25 queries queued, slow queries (45 s) finishing and queries failing
/// for lack of resources.
fn trino_overloaded() -> Reply {
    let mut list: Vec<Value> = Vec::new();
    for i in 0..25 {
        list.push(entry(&q("x", "QUEUED"), &format!("queued-{i}")));
    }
    for i in 0..6 {
        let slow = Q {
            execution: "45.00s",
            cpu: "40.00s",
            ..q("x", "FINISHED")
        };
        list.push(entry(&slow, &format!("slow-{i}")));
        let failed = Q {
            execution: "3.00s",
            error_type: Some("INSUFFICIENT_RESOURCES"),
            ..q("x", "FAILED")
        };
        list.push(entry(&failed, &format!("failed-{i}")));
    }
    ok(Value::Array(list).to_string())
}

/// A loopback TCP proxy in front of moto that can make the store slow: while `slow` is
/// set, every request that PUTs under the canary's prefix waits 3 s before it is
/// forwarded. moto itself has no latency knob, and stopping the whole process would
/// time out the collector's cycle instead of slowing one operation.
struct SlowProxy {
    addr: std::net::SocketAddr,
    slow: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl SlowProxy {
    fn start(upstream_port: u16) -> SlowProxy {
        use std::io::{Read, Write};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        let addr = listener.local_addr().expect("a bound address");
        let slow = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (slow2, stop2) = (slow.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut client) = client else { continue };
                // moto down: the client sees its connection closed, as with a dead store.
                let Ok(mut server) = std::net::TcpStream::connect(("127.0.0.1", upstream_port))
                else {
                    continue;
                };
                let (mut c2, mut s2) = (
                    client.try_clone().expect("cloning a socket"),
                    server.try_clone().expect("cloning a socket"),
                );
                let slow = slow2.clone();
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = client.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        let chunk = &buf[..n];
                        if slow.load(Ordering::Relaxed)
                            && chunk.starts_with(b"PUT ")
                            && chunk.windows(11).any(|w| w == b".lakewatch/")
                        {
                            std::thread::sleep(Duration::from_secs(3));
                        }
                        if server.write_all(chunk).is_err() {
                            break;
                        }
                    }
                    let _ = server.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut s2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        SlowProxy { addr, slow, stop }
    }

    fn slow_puts(&self, on: bool) {
        self.slow.store(on, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

/// A firing notification the webhook received: the alert's fingerprint and the post's
/// index (its resolution must come later: the same alert may have fired and resolved
/// before, in an earlier fault).
struct Fired {
    fingerprint: String,
    at: usize,
}

/// Everything the lab runs. Fields drop in order: processes first, mounts before the
/// directory they are in.
struct Lab {
    prom: Server,
    am: Server,
    webhook: Webhook,
    exporter: Exporter,
    limited: Exporter,
    scene: Scene,
    replay: Replay,
    s3_proxy: SlowProxy,
    moto: Mutex<Moto>,
    pg: Mutex<PgServer>,
    fill: Tmpfs,
    ro: Tmpfs,
    job: String,
    pg_server: String,
    /// The lab server's `server_version_num`.
    pg_version: u32,
    /// While this file exists, the lab server's archive_command fails.
    archive_fail: PathBuf,
    stock: Service,
    /// What `fires` found wrong with notifications; asserted empty at the end.
    findings: Mutex<Vec<String>>,
    /// The alerts whose resolution reached the webhook.
    resolved: Mutex<BTreeSet<String>>,
    /// The SLOs whose firing-alerts panel was checked while they fired.
    firing_panels: Mutex<BTreeSet<String>>,
    /// The lab SLO spec's SLO names.
    slos: Vec<String>,
    slo_rules: PathBuf,
    slo_dashboard: PathBuf,
    dir: TempDir,
}

impl Lab {
    /// Starts everything, or returns `None` after saying what is missing.
    fn start() -> Option<Lab> {
        let prometheus = tool("prometheus", &["/usr/bin/prometheus"])?;
        let am_bin = tool(
            "prometheus-alertmanager",
            &["/usr/bin/prometheus-alertmanager"],
        )?;
        if !docker::ready() {
            return None;
        }
        let moto = Moto::start(&[])?;
        // A buffer cache a third of lab_big's size (below): sequential scans leave the
        // pages of their ring behind in free buffers, so with the default 128MB the whole
        // table is cached after some scans and the cold reads turn into hits.
        let dir = TempDir::new("lab");
        // WAL archiving that fails while `archive-fail` exists (PostgresWalArchivingFailing);
        // autovacuum looking every second, so tables are autovacuumed within the lab's
        // minutes (the dashboard's "Since last vacuum").
        let archive_fail = dir.0.join("archive-fail");
        let archive_command = format!("archive_command=test ! -e {}", archive_fail.display());
        let pg = PgServer::start_with_settings(&[
            "shared_buffers=16MB",
            "archive_mode=on",
            &archive_command,
            "autovacuum_naptime=1s",
        ])?;
        let pg_version = pg.version_num();
        let fill = match Tmpfs::mount(&dir.0.join("fs/fill"), "size=8m,nr_inodes=64") {
            Ok(m) => m,
            Err(e) => return missing(&format!("cannot mount a tmpfs (needs root): {e}")),
        };
        let ro = match Tmpfs::mount(&dir.0.join("fs/ro"), "size=1m") {
            Ok(m) => m,
            Err(e) => return missing(&format!("cannot mount a tmpfs (needs root): {e}")),
        };
        let job = deployed_job();
        let pg_server = format!("127.0.0.1:{}", pg.port);

        // Postgres with some data and load: a table, transactions, reads, and a table
        // (45MB) three times the size of shared_buffers, which sequential scans read
        // through a small ring, mostly from disk in Postgres' terms.
        pg.psql(
            "postgres",
            "CREATE TABLE lab_orders (id int PRIMARY KEY, note text);\
             INSERT INTO lab_orders SELECT g, md5(g::text) FROM generate_series(1, 2000) g;\
             CREATE TABLE lab_locks (id int PRIMARY KEY); INSERT INTO lab_locks VALUES (1), (2);\
             CREATE TABLE lab_big AS SELECT g AS id, repeat('x', 400) AS pad FROM generate_series(1, 100000) g",
        );
        for _ in 0..3 {
            pg.psql(
                "postgres",
                "UPDATE lab_orders SET note = note || '.' WHERE id % 7 = 0; SELECT count(*) FROM lab_orders",
            );
        }
        // A manual VACUUM for the dashboard's "Since last vacuum" (autovacuum does the rest).
        pg.psql("postgres", "VACUUM lab_orders");

        let admin = Admin::new(&moto.endpoint());
        admin.bucket("lake", &[1000, 20_000, 300]);
        admin.bucket("canary", &[]);

        let s3_proxy = SlowProxy::start(moto.port);

        let replay = Replay::start();
        replay.route("/v1/info", vec![ok(fixture("info.json"))]);
        replay.route("/v1/query", vec![trino_calm()]);
        replay.route("/ui/login", vec![Reply::Login("lab-token")]);
        replay.route(
            "/ui/api/stats",
            vec![Reply::NeedsCookie("lab-token", fixture("ui-stats.json"))],
        );

        let scene = Scene::new("lab");
        // Healthy until a fault makes /tmp/sick; near its memory limit when a fault fills
        // /dev/shm (shared memory is charged to the container and cannot be reclaimed).
        scene.run(
            "sick",
            &[
                "--health-cmd",
                "test ! -e /tmp/sick",
                "--health-interval",
                "1s",
                "--health-retries",
                "1",
            ],
            "sleep 86400",
        );
        scene.run(
            "hungry",
            &["--memory", "32m", "--memory-swap", "32m"],
            "sleep 86400",
        );

        // Direct I/O on a bind mount of the real disk: block reads and writes the blkio
        // cgroup accounts (the overlay of the container's own root has no block device).
        let io_dir = dir.0.join("io");
        std::fs::create_dir_all(&io_dir).expect("creating the I/O dir");
        scene.run(
            "io",
            &["-v", &format!("{}:/io", io_dir.display())],
            "while :; do dd if=/dev/zero of=/io/f bs=1M count=4 oflag=direct 2>/dev/null; dd if=/io/f of=/dev/null bs=1M iflag=direct 2>/dev/null; sleep 2; done",
        );

        let pw = dir.write("pgpass", &format!("{PASSWORD}\n"));
        // Postgres targets are discovered from files too: the lab's file lists none
        // until a fault breaks it (LakewatchDiscoveryFailing).
        std::fs::create_dir_all(dir.0.join("targets")).expect("creating the targets dir");
        dir.write(TARGETS_FILE, "[]\n");
        let mounts = regex::escape(&format!("{}/fs/", dir.0.display()));
        let config = dir.write(
            "lakewatch.yml",
            &format!(
                "collectors:
  disk:
    interval: 1s
    timeout: 1s
    mountpoints_include: '^{mounts}'
    # tmpfs is excluded by default; the lab's filesystems are tmpfs.
    fstypes_exclude: '^(proc|sysfs)$'
    # Loop devices are excluded by default; the lab keeps one busy.
    devices_exclude: '^(z?ram|fd)\\d+$'
    paths: [{fill}]
    paths_interval: 2s
    paths_budget: 1s
  container:
    enabled: true
    interval: 2s
    timeout: 2s
    labels_include: ['{label}={scene}']
  postgres:
    interval: 1s
    # The opt-in collectors the stock pack's PostgresRestarted and PostgresTxidWraparound read.
    postmaster: true
    database_wraparound: true
    timeout: 1s
    statement_timeout: 800ms
    lock_timeout: 200ms
    targets_files: [{targets}/*.yml]
    targets:
      - name: main
        dsn: {dsn}
        password_file: {pw}
  # 12s: each S3 call may take a third of the timeout, and the PUT the lab slows down
  # takes 3s.
  s3:
    interval: 12s
    timeout: 12s
    targets:
      - name: lake
        endpoint: http://{s3}
        access_key: lakewatch
        secret_key: lakewatch
        probe: {{ bucket: canary, prefix: .lakewatch/ }}
  trino:
    interval: 1s
    timeout: 1s
    targets:
      - name: trino
        url: {trino}
        user: lakewatch
        password: lab
        ui_stats: true
",
                fill = fill.name(),
                label = docker::LABEL,
                scene = scene.id,
                dsn = pg.dsn(),
                pw = pw.display(),
                targets = dir.0.join("targets").display(),
                s3 = s3_proxy.addr,
                trino = replay.url(""),
            ),
        );
        let exporter = Exporter::start(&["--config", &config.display().to_string()]);
        exporter.wait_ready(Duration::from_secs(60));
        // A second exporter whose series limit its disk collector exceeds every cycle.
        let limited_config = dir.write(
            "limited.yml",
            &format!(
                "limits:\n  series_per_target: 3\ncollectors:\n  disk:\n    interval: 1s\n    mountpoints_include: '^{mounts}'\n    fstypes_exclude: '^(proc|sysfs)$'\n  container:\n    enabled: false\n"
            ),
        );
        // It also takes reloads: a broken file makes LakewatchConfigReloadFailed fire.
        let limited = Exporter::start(&[
            "--config",
            &limited_config.display().to_string(),
            "--web.enable-lifecycle",
        ]);
        limited.wait_ready(Duration::from_secs(60));

        // Rules: the stock pack with short `for:`s (plus the listed overrides) and the
        // lab SLO spec's rules and dashboard.
        let params: BTreeMap<String, String> = OVERRIDES
            .iter()
            .map(|(k, v, _, _)| (k.to_string(), v.to_string()))
            .collect();
        let (stock, stock_text) = stock_pack(&params);
        dir.write("stock.rules.yml", &stock_text);
        let slo = lab_spec(&dir, &pg_server);
        let set = rules::generate(&slo, SliSource::Spec).expect("lab SLO rules generate");
        let slo_rules = dir.write(
            "lab.rules.yml",
            &output::render(
                Flavor::Plain,
                &slo.name,
                &lakewatch_rulegen::source_name(&slo),
                &set,
            ),
        );
        let slo_dashboard = dir.write(
            &dashboard::slo_file_name(&slo.name),
            &dashboard::render(&dashboard::slo_dashboard(&slo).expect("the lab has SLOs")),
        );

        let webhook = Webhook::start();
        let am = Server::alertmanager(
            &am_bin,
            &dir.0,
            &[stock.clone(), slo.clone()],
            &format!("http://{}/hooks", webhook.addr),
            TOKEN,
        );
        let prom = Server::prometheus(
            &prometheus,
            &dir.0,
            &format!(
                "global:\n  scrape_interval: 2s\n  scrape_timeout: 1s\n  evaluation_interval: 2s\nrule_files: [stock.rules.yml, lab.rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['{}', '{}']\n",
                am.addr, exporter.addr, limited.addr
            ),
        );
        let lab = Lab {
            prom,
            am,
            webhook,
            exporter,
            limited,
            scene,
            replay,
            s3_proxy,
            moto: Mutex::new(moto),
            pg: Mutex::new(pg),
            fill,
            ro,
            job,
            pg_server,
            pg_version,
            archive_fail,
            stock,
            findings: Mutex::new(Vec::new()),
            resolved: Mutex::new(BTreeSet::new()),
            firing_panels: Mutex::new(BTreeSet::new()),
            slos: slo.slos.iter().map(|s| s.name.clone()).collect(),
            slo_rules,
            slo_dashboard,
            dir,
        };
        eventually_with(
            LONG,
            "Alertmanager to be ready",
            || lab.context(),
            || lab.am.get("/-/ready").filter(|r| r.0 == 200),
        );
        // Every source has reached Prometheus.
        for expr in [
            "pg_up == 1",
            "s3_up == 1",
            "trino_up == 1",
            "lakewatch_s3_probe_success",
            "minio_bucket_usage_total_bytes",
            "node_filesystem_size_bytes",
            "lakewatch_container_health_status",
            "container_spec_memory_limit_bytes > 0",
            "lakewatch_path_size_bytes",
            "trino_active_workers",
            "slo:sli_error:ratio_rate5m",
            "lakewatch_discovery_last_refresh_successful{collector=\"postgres\",source=\"file\"} == 1",
        ] {
            eventually_with(
                LONG,
                &format!("`{expr}` in Prometheus"),
                || lab.context(),
                || lab.query(expr).filter(|r| !r.is_empty()),
            );
        }
        Some(lab)
    }

    /// An instant query's result vector, `None` while Prometheus does not answer.
    fn query(&self, expr: &str) -> Option<Vec<Value>> {
        let path = format!(
            "/api/v1/query?query={}",
            utf8_percent_encode(expr, NON_ALPHANUMERIC)
        );
        let (status, body) = self.prom.get(&path)?;
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_str(&body).ok()?;
        v["data"]["result"].as_array().cloned()
    }

    /// What a failed wait prints: the webhook's posts in brief, the alerts Prometheus
    /// has, the tails of the logs.
    fn context(&self) -> String {
        let tail = |s: String| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        let posts: Vec<String> = self
            .webhook
            .posts()
            .iter()
            .map(|p| {
                let v: Value = serde_json::from_str(&p.body).unwrap_or_default();
                let alerts: Vec<String> = v["alerts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| format!("{}:{}", a["labels"]["alertname"], a["status"]))
                    .collect();
                format!("{} {}", p.path, alerts.join(" "))
            })
            .collect();
        format!(
            "--- findings so far ---\n{}\n--- webhook posts ---\n{}\n--- Prometheus alerts ---\n{}\n--- prometheus.log ---\n{}\n--- alertmanager.log ---\n{}\n--- exporter log ---\n{}",
            self.findings.lock().unwrap().join("\n"),
            posts.join("\n"),
            self.prom
                .get("/api/v1/alerts")
                .map(|r| r.1)
                .unwrap_or_default(),
            tail(self.prom.log_text()),
            tail(self.am.log_text()),
            tail(self.exporter.log_text()),
        )
    }

    /// The receiver an alert of the stock pack is routed to.
    fn receiver(&self, alert: &str) -> &'static str {
        let a = self
            .stock
            .alerts
            .iter()
            .find(|a| a.name == alert)
            .unwrap_or_else(|| panic!("{alert} is not a stock alert"));
        if a.severity == "critical" {
            "page"
        } else {
            "ticket"
        }
    }

    /// The first alert named `alert` with `status` and all of `labels` in a webhook post
    /// after the first `since` posts.
    fn notified(
        &self,
        since: usize,
        alert: &str,
        labels: &[(&str, &str)],
        status: &str,
    ) -> Option<(usize, Post, Value)> {
        self.webhook
            .posts()
            .into_iter()
            .enumerate()
            .skip(since)
            .find_map(|(i, p)| {
                let v: Value = serde_json::from_str(&p.body).ok()?;
                let a = alerts_named(&v, alert).into_iter().find(|a| {
                    a["status"] == status
                        && labels
                            .iter()
                            .all(|(k, want)| a["labels"][*k].as_str() == Some(*want))
                })?;
                Some((i, p.clone(), a.clone()))
            })
    }

    /// Asserts that stock alert `alert` is not firing for `labels` in Prometheus: the
    /// fault about to be injected is what will make it fire.
    fn quiet(&self, alert: &str, labels: &[(&str, &str)]) {
        let mut sel = format!("ALERTS{{alertname=\"{alert}\",alertstate=\"firing\"");
        for (k, v) in labels {
            sel.push_str(&format!(",{k}=\"{v}\""));
        }
        sel.push('}');
        let firing = self.query(&sel).expect("Prometheus answers");
        assert!(
            firing.is_empty(),
            "{alert} fires before its fault: {firing:?}"
        );
    }

    /// Waits for stock alert `alert` (for `labels`) to reach the webhook after the first
    /// `since` posts, and checks its route, labels and rendered annotations; the summary
    /// must name `names`. Returns the alert's fingerprint.
    fn fires(&self, since: usize, alert: &str, labels: &[(&str, &str)], names: &str) -> Fired {
        let (at, post, a) = eventually_with(
            LONG,
            &format!("{alert} {labels:?} firing at the webhook"),
            || self.context(),
            || self.notified(since, alert, labels, "firing"),
        );
        let receiver = self.receiver(alert);
        let model = self.stock.alerts.iter().find(|a| a.name == alert).unwrap();
        let got = strings(&a["labels"]);
        let annotations = strings(&a["annotations"]);
        let summary = annotations.get("summary").cloned().unwrap_or_default();
        // Collected rather than asserted at once, so one run shows every finding.
        let mut findings = Vec::new();
        if post.path != format!("/hooks/{receiver}") {
            findings.push(format!("routed to {} instead of {receiver}", post.path));
        }
        if post.authorization.as_deref() != Some(format!("Bearer {TOKEN}").as_str()) {
            findings.push(format!("webhook credentials {:?}", post.authorization));
        }
        let mut want: Vec<(&str, &str)> = vec![
            ("severity", &model.severity),
            ("service", "lakewatch"),
            ("job", &self.job),
        ];
        want.extend(model.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for (k, v) in want {
            if got.get(k).map(String::as_str) != Some(v) {
                findings.push(format!("label {k} is {:?}, not {v:?}", got.get(k)));
            }
        }
        for (k, v) in &annotations {
            if v.contains("{{") || v.contains("<no value>") || v.is_empty() {
                findings.push(format!("annotation {k} is not rendered: {v:?}"));
            }
        }
        if !summary.contains(names) {
            findings.push(format!("the summary does not name {names:?}: {summary:?}"));
        }
        let runbook = format!("#{}", alert.to_lowercase());
        if !annotations
            .get("runbook_url")
            .is_some_and(|u| u.ends_with(&runbook))
        {
            findings.push(format!("runbook_url does not end in {runbook}"));
        }
        self.findings
            .lock()
            .unwrap()
            .extend(findings.into_iter().map(|f| format!("{alert}: {f}")));
        println!("lab: {alert} fired → {receiver}: {summary}");
        Fired {
            fingerprint: a["fingerprint"].as_str().unwrap_or_default().to_string(),
            at,
        }
    }

    /// Waits for the resolved notification of the alert with `fingerprint`.
    fn resolves(&self, alert: &str, fired: &Fired) {
        eventually_with(
            LONG,
            &format!("{alert} resolved at the webhook"),
            || self.context(),
            || {
                let posts = self.webhook.posts();
                posts.into_iter().skip(fired.at + 1).find_map(|p| {
                    let v: Value = serde_json::from_str(&p.body).ok()?;
                    alerts_named(&v, alert)
                        .into_iter()
                        .any(|a| a["status"] == "resolved" && a["fingerprint"] == fired.fingerprint)
                        .then_some(())
                })
            },
        );
        self.resolved.lock().unwrap().insert(alert.to_string());
        println!("lab: {alert} resolved");
    }

    fn posts(&self) -> usize {
        self.webhook.posts().len()
    }

    /// Notes that `alert` fired.
    fn record(fired: &Mutex<BTreeSet<String>>, alert: &str) {
        fired.lock().unwrap().insert(alert.to_string());
    }
}

/// Sets a stop flag when dropped, also when the thread panics (a reader loop then ends).
struct StopOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether the kernel accounts block I/O to cgroups. Some (this project's CI VM among
/// them) do not: the root cgroup's v1 counter stays `Total 0` under direct I/O, and no
/// container can have `container_fs_*_bytes_total` series.
fn blkio_accounted() -> bool {
    std::fs::read_to_string("/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes_recursive")
        .map_or(true, |t| t.trim() != "Total 0")
}

/// The container dashboard's block I/O panels, excused where [`blkio_accounted`] is false.
fn is_block_io_panel(q: &check::Query) -> bool {
    q.kind == QueryKind::Panel && q.expr.contains("container_fs_")
}

/// A stock alert or panel on MinIO's pass-through series (`stock::PASSTHROUGH_SERIES`).
fn is_minio_passthrough(q: &check::Query) -> bool {
    stock::PASSTHROUGH_SERIES
        .iter()
        .any(|(name, _)| q.expr.contains(name))
}

/// Why a selector of the other Postgres versions' checkpoint counters is dead.
const CHECKPOINTS: &str = "Postgres 17 moved the checkpoint counters from pg_stat_bgwriter to pg_stat_checkpointer; the dashboard reads both with `or`, and the lab's server has one";

/// Whether `selector` reads checkpoint counters a server of `version` does not have.
fn other_versions_checkpoints(selector: &str, version: u32) -> bool {
    if version >= 170000 {
        selector.contains("pg_stat_bgwriter_checkpoints_")
            || selector.contains("pg_stat_bgwriter_buffers_checkpoint_")
    } else {
        selector.contains("pg_stat_checkpointer_")
    }
}

/// A query of [`FIRING_PANEL`].
fn is_firing_panel(q: &check::Query) -> bool {
    q.kind == QueryKind::Panel && q.name.contains(FIRING_PANEL)
}

/// Waits until an alert of `slo` fires in Prometheus, then checks that SLO's
/// [`FIRING_PANEL`] query: it must show the alert.
fn prove_firing_panel(lab: &Lab, slo: &str) {
    let selector = format!("ALERTS{{service=\"lab\",slo=\"{slo}\",alertstate=\"firing\"}}");
    eventually_with(
        LONG,
        &format!("an alert of SLO {slo} firing in Prometheus"),
        || lab.context(),
        || lab.query(&selector).filter(|r| !r.is_empty()),
    );
    let panel: Vec<check::Query> = check::dashboard_queries(&lab.slo_dashboard)
        .expect("the SLO dashboard's queries")
        .into_iter()
        .filter(|q| is_firing_panel(q) && q.expr.contains(&format!("slo=\"{slo}\"")))
        .collect();
    assert_eq!(panel.len(), 1, "one firing-alerts panel for SLO {slo}");
    let report = check::run(&check_prometheus(lab), &panel, &check_options());
    println!("lab: while SLO {slo} fires:\n{}", report.render());
    assert_eq!(report.problem_count(), 0, "{}", report.render());
    lab.firing_panels.lock().unwrap().insert(slo.to_string());
}

/// The check's settings in the lab: a lookback covering the whole lab, and Grafana's
/// intervals as a dashboard showing the last 10 minutes would set them.
fn check_options() -> check::Options {
    check::Options {
        lookback_secs: 600,
        rate_interval: "30s".into(),
        interval: "10s".into(),
        range: "10m".into(),
    }
}

fn check_prometheus(lab: &Lab) -> check::Prometheus {
    check::Prometheus::new(&format!("http://{}", lab.prom.addr)).expect("a Prometheus URL")
}

/// Runs `check` over every shipped artifact and asserts what the lab proves of them.
fn check_everything(lab: &Lab) -> check::Report {
    let prom =
        check::Prometheus::new(&format!("http://{}", lab.prom.addr)).expect("a Prometheus URL");
    let mut queries = Vec::new();
    // Canonical, so the report names the files as a reader finds them.
    let repo = Path::new(REPO).canonicalize().expect("the repository root");
    let shipped_rules = repo.join("alerts/lakewatch.rules.yml");
    for path in [&shipped_rules, &lab.slo_rules] {
        queries.extend(
            check::rule_file_queries(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
    }
    let mut dashboards: Vec<PathBuf> = std::fs::read_dir(repo.join("dashboards"))
        .expect("listing dashboards/")
        .map(|e| e.expect("a dashboards/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    dashboards.sort();
    dashboards.push(lab.slo_dashboard.clone());
    for path in &dashboards {
        queries.extend(
            check::dashboard_queries(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        );
    }
    let report = check::run(&prom, &queries, &check_options());
    println!(
        "lab: the check of every shipped query, with every fault on:\n{}",
        report.render()
    );
    assert!(report.unreachable().is_none(), "Prometheus answered");
    let allowed: BTreeMap<&str, &str> = ALERTS_WITHOUT_DATA.iter().copied().collect();
    let mut wrong = Vec::new();
    for r in &report.results {
        for p in &r.problems {
            let why = if r.query.kind == QueryKind::Alert
                && matches!(p, Problem::NoData { .. })
                && let Some(why) = allowed.get(r.query.name.as_str())
            {
                Some(*why)
            } else if let Problem::DeadSelector { selector, .. } = p
                && other_versions_checkpoints(selector, lab.pg_version)
            {
                Some(CHECKPOINTS)
            } else if is_minio_passthrough(&r.query) {
                Some(NO_MINIO)
            } else if is_firing_panel(&r.query) {
                Some("empty while the SLO is healthy; checked while its fault makes it fire")
            } else if !blkio_accounted() && is_block_io_panel(&r.query) {
                Some("this kernel accounts no block I/O to cgroups")
            } else {
                None
            };
            let line = format!(
                "{} {} ({}): {}",
                r.query.kind.word(),
                r.query.name,
                r.query.file,
                p.describe(r.query.kind)
            );
            match why {
                Some(why) => println!("lab: excused: {line}: {why}"),
                None => wrong.push(line),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "shipped queries the lab proves broken:\n{}",
        wrong.join("\n")
    );
    // The MinIO queries are excused for the stated reason only: they really find nothing.
    for r in report
        .results
        .iter()
        .filter(|r| is_minio_passthrough(&r.query))
    {
        assert!(
            !r.problems.is_empty(),
            "{} reads MinIO's series and has data: drop the NO_MINIO excusal",
            r.query.name
        );
    }
    // The excused alerts are excused for the stated reason only: they really lack data.
    for name in allowed.keys() {
        assert!(
            report.results.iter().any(|r| r.query.name == *name
                && r.problems
                    .iter()
                    .any(|p| matches!(p, Problem::NoData { .. }))),
            "{name} is listed as without data but has data: drop it from ALERTS_WITHOUT_DATA"
        );
    }
    report
}

#[test]
fn lab_every_shipped_query_and_alert_proven_live() {
    let started = Instant::now();
    // The pack under test is the shipped one: only `for:` lines differ.
    let (_, unchanged) = stock_pack(&BTreeMap::new());
    let shipped = std::fs::read_to_string(format!("{REPO}/alerts/lakewatch.rules.yml"))
        .expect("reading the shipped stock rules");
    assert_eq!(
        without_for(&unchanged),
        without_for(&shipped),
        "the lab's stock pack is alerts/lakewatch.rules.yml with shorter `for:`s"
    );
    let Some(lab) = Lab::start() else {
        return;
    };
    // With the overrides, exactly the listed alerts differ.
    let (plain, _) = stock_pack(&BTreeMap::new());
    let differing: BTreeSet<&str> = lab
        .stock
        .alerts
        .iter()
        .zip(&plain.alerts)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a.name.as_str())
        .collect();
    let overridden: BTreeSet<&str> = OVERRIDES.iter().map(|o| o.2).collect();
    assert_eq!(
        differing, overridden,
        "the overrides change only their alerts"
    );
    println!(
        "lab: up in {:.0?}: Prometheus http://{}  Alertmanager http://{}  exporter http://{}  limited exporter http://{}  webhook http://{}",
        started.elapsed(),
        lab.prom.addr,
        lab.am.addr,
        lab.exporter.addr,
        lab.limited.addr,
        lab.webhook.addr
    );
    if std::env::var("LAKEWATCH_LAB_HOLD").is_ok_and(|v| !v.is_empty() && v != "0") {
        hold(&lab);
        return;
    }

    let fired = Mutex::new(BTreeSet::new());
    // Five fault threads and this one meet twice: when every fault is on (the check runs
    // in between) and before the faults end.
    let barrier = Rendezvous::new(6);
    // The limited exporter drops series from its first cycle on.
    lab.fires(
        0,
        "LakewatchSeriesDropped",
        &[
            ("instance", &lab.limited.addr.to_string()),
            ("collector", "disk"),
        ],
        "disk",
    );
    Lab::record(&fired, "LakewatchSeriesDropped");
    let report = std::thread::scope(|s| {
        s.spawn(|| disk_faults(&lab, &barrier, &fired));
        s.spawn(|| container_faults(&lab, &barrier, &fired));
        s.spawn(|| postgres_faults(&lab, &barrier, &fired));
        s.spawn(|| s3_faults(&lab, &barrier, &fired));
        s.spawn(|| trino_faults(&lab, &barrier, &fired));
        let _guard = barrier.guard();
        reload_faults(&lab, &fired);
        discovery_faults(&lab, &fired);
        barrier.wait();
        // Each SLO's period ratio sums a subquery with a 5m step, and subquery steps are
        // aligned to multiples of 5m: it has data once the lab has run past one of them.
        eventually_with(
            Duration::from_secs(420),
            "the SLOs' period ratios (a 5m boundary after the lab started)",
            || lab.context(),
            || {
                lab.query("slo:period_error_budget_remaining:ratio{service=\"lab\"}")
                    .filter(|r| r.len() == 4)
            },
        );
        let report = check_everything(&lab);
        barrier.wait();
        report
    });

    // Last, as it blinds every other alert: the exporter stops answering scrapes.
    let instance = lab.exporter.addr.to_string();
    lab.quiet("LakewatchExporterDown", &[("instance", &instance)]);
    let since = lab.posts();
    signal("STOP", lab.exporter.pid());
    let down = lab.fires(
        since,
        "LakewatchExporterDown",
        &[("instance", &instance)],
        &instance,
    );
    Lab::record(&fired, "LakewatchExporterDown");
    signal("CONT", lab.exporter.pid());
    lab.resolves("LakewatchExporterDown", &down);

    let proven = lab.firing_panels.lock().unwrap().clone();
    assert_eq!(
        proven,
        lab.slos.iter().cloned().collect::<BTreeSet<_>>(),
        "every SLO's firing-alerts panel was checked while it fired"
    );
    let findings = lab.findings.lock().unwrap().clone();
    assert!(
        findings.is_empty(),
        "notifications the lab proves wrong:\n{}",
        findings.join("\n")
    );
    // Every stock alert fired, except those listed with their reason.
    let fired = fired.into_inner().unwrap();
    let not_provoked: BTreeSet<&str> = NOT_PROVOKED.iter().map(|(a, _)| *a).collect();
    let unaccounted: Vec<&str> = lab
        .stock
        .alerts
        .iter()
        .map(|a| a.name.as_str())
        .filter(|a| !fired.contains(*a) && !not_provoked.contains(a))
        .collect();
    assert!(
        unaccounted.is_empty(),
        "stock alerts neither fired nor listed: {unaccounted:?}"
    );
    for a in &not_provoked {
        assert!(
            !fired.contains(*a),
            "{a} is listed as not provoked but fired"
        );
    }
    let resolved = lab.resolved.lock().unwrap().clone();
    let slow: BTreeSet<&str> = NO_RESOLVE.iter().map(|(a, _)| *a).collect();
    let unresolved: Vec<&String> = fired
        .iter()
        .filter(|a| !resolved.contains(*a) && !slow.contains(a.as_str()))
        .collect();
    assert!(
        unresolved.is_empty(),
        "fired, not resolved and not listed in NO_RESOLVE: {unresolved:?}"
    );
    println!(
        "lab: {} queries checked, {} stock alerts fired and reached the webhook; not provoked: {}; resolution not awaited: {}; threshold overrides: {}; wall time {:.0?}",
        report.results.len(),
        fired.len(),
        NOT_PROVOKED
            .iter()
            .map(|(a, why)| format!("{a} ({why})"))
            .collect::<Vec<_>>()
            .join(", "),
        NO_RESOLVE
            .iter()
            .map(|(a, why)| format!("{a} ({why})"))
            .collect::<Vec<_>>()
            .join(", "),
        OVERRIDES
            .iter()
            .map(|(p, v, alert, why)| format!("{p}={v} for {alert} ({why})"))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed()
    );
}

/// Keeps the lab running until Ctrl-C (`LAKEWATCH_LAB_HOLD`), then returns so that
/// everything is cleaned up.
fn hold(lab: &Lab) {
    println!(
        "lab: holding. Prometheus http://{}  Alertmanager http://{}  exporter http://{}/metrics  webhook log: {}/webhook.log  (Ctrl-C stops and cleans up)",
        lab.prom.addr,
        lab.am.addr,
        lab.exporter.addr,
        lab.dir.0.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the signal handler");
    rt.block_on(async {
        let mut seen = 0;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                () = tokio::time::sleep(Duration::from_secs(1)) => {
                    let posts = lab.webhook.posts();
                    let mut log = String::new();
                    for p in &posts[seen..] {
                        log.push_str(&format!("{} {}\n", p.path, p.body));
                    }
                    seen = posts.len();
                    if !log.is_empty() {
                        use std::io::Write as _;
                        let mut f = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(lab.dir.0.join("webhook.log"))
                            .expect("opening the webhook log");
                        let _ = f.write_all(log.as_bytes());
                    }
                }
            }
        }
    });
}

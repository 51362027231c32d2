//! The exporter at scale, for `benches/load/scale.sh` (issue 21): synthetic collector
//! targets feed the real scheduler, snapshot builder and HTTP server, one target
//! changing per publish, so RSS, CPU per publish and `/metrics` throughput can be read
//! from outside at any size, with the incremental encoder or the full re-encode.
//!
//! Usage: scale-serve ADDR SERIES full|incremental [PERIOD_MS] [TARGETS]
//!
//! `TARGETS` (default 10) targets share `SERIES` filesystem-shaped series
//! (`lakewatch_benches::scale_target`). Each target's interval is `TARGETS × PERIOD_MS`
//! and target `t` finishes its cycles `t × PERIOD_MS` into it, so after the first
//! cycles (all at once) one target changes every `PERIOD_MS` (default 1000). The
//! synthetic series are made on a thread of their own, whose CPU is not counted.
//!
//! Prints `ready` once every target's first cycle is served, then one line per publish
//! seen (the snapshot is polled every 10 ms): `publish N changes C cpu_ns X series S
//! om B om_gz B text B text_gz B rss_kb K`, where `X` is the process' CPU time minus
//! the synthetic series thread's, and `C` the target cycles that ended so far.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use lakewatch_benches::scale_target;
use lakewatch_exporter::collector::{BoxFuture, CollectError, Collector, Fragment, Job, Settings};
use lakewatch_exporter::config::schedule::Schedule;
use lakewatch_exporter::server::{self, Frontend, Limits};
use lakewatch_exporter::{scheduler, snapshot};
use rustix::time::{ClockId, clock_gettime};
use tokio::sync::oneshot;

/// Asks the series thread for one target's fragment: (target, series, generation).
type Request = (usize, usize, u64, oneshot::Sender<Fragment>);

struct Synthetic {
    target: usize,
    name: String,
    series: usize,
    generation: u64,
    /// How far into its interval this target's cycles end.
    offset: Duration,
    make: mpsc::Sender<Request>,
    changes: Arc<AtomicU64>,
}

impl Collector for Synthetic {
    fn name(&self) -> &'static str {
        "synthetic"
    }
    fn target(&self) -> &str {
        &self.name
    }
    fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
        Box::pin(async move {
            if self.generation > 0 {
                tokio::time::sleep(self.offset).await;
            }
            let (tx, rx) = oneshot::channel();
            self.make
                .send((self.target, self.series, self.generation, tx))
                .expect("the series thread lives as long as the process");
            self.generation += 1;
            let fragment = rx.await.expect("the series thread answers every request");
            self.changes.fetch_add(1, Ordering::Relaxed);
            Ok(fragment)
        })
    }
}

fn nanos(clock: ClockId) -> u64 {
    let t = clock_gettime(clock);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * rustix::param::page_size() as u64 / 1024)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: scale-serve ADDR SERIES full|incremental [PERIOD_MS] [TARGETS]";
    let (Some(addr), Some(series), Some(mode)) = (args.first(), args.get(1), args.get(2)) else {
        anyhow::bail!(usage);
    };
    let series: usize = series.parse().context(usage)?;
    match mode.as_str() {
        "full" => snapshot::set_full_rebuild(true),
        "incremental" => {}
        _ => anyhow::bail!(usage),
    }
    let period = Duration::from_millis(args.get(3).map_or(Ok(1000), |p| p.parse()).context(usage)?);
    let targets: usize = args.get(4).map_or(Ok(10), |t| t.parse()).context(usage)?;
    let per = series / targets;

    // The synthetic series are made here, off the runtime, with their CPU time kept
    // apart: a real collector's cost is not the snapshot's.
    let synth_ns = Arc::new(AtomicU64::new(0));
    let (make, requests) = mpsc::channel::<Request>();
    let spent = synth_ns.clone();
    std::thread::Builder::new()
        .name("synthetic".into())
        .spawn(move || {
            for (target, series, generation, reply) in requests {
                let fragment = Arc::try_unwrap(scale_target(series, target, generation % 2))
                    .expect("a new fragment has one owner");
                spent.store(nanos(ClockId::ThreadCPUTime), Ordering::Relaxed);
                let _ = reply.send(fragment);
            }
        })?;

    let changes = Arc::new(AtomicU64::new(0));
    let jobs: Vec<Job> = (0..targets)
        .map(|t| Job {
            schedule: Schedule {
                interval: period * targets as u32,
                timeout: period * targets as u32,
            },
            collector: Box::new(Synthetic {
                target: t,
                name: format!("t{t}"),
                series: per,
                generation: 0,
                offset: period * t as u32,
                make: make.clone(),
                changes: changes.clone(),
            }),
            settings: Settings::opaque(),
        })
        .collect();

    // As main.rs builds it: the serving half must be the exporter's.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let (hub, _scheduler, _tasks) = scheduler::start(jobs, per + 1);
        let watched = hub.clone();
        tokio::spawn(async move {
            let mut last = watched.snapshot();
            let (mut published, mut ready) = (0u64, false);
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                let now = watched.snapshot();
                if Arc::ptr_eq(&now, &last) {
                    continue;
                }
                last = now;
                if !ready {
                    ready = watched.ready();
                    if ready {
                        println!("ready");
                    }
                }
                published += 1;
                let cpu = nanos(ClockId::ProcessCPUTime)
                    .saturating_sub(synth_ns.load(Ordering::Relaxed));
                println!(
                    "publish {published} changes {} cpu_ns {cpu} series {} om {} om_gz {} text {} text_gz {} rss_kb {}",
                    changes.load(Ordering::Relaxed),
                    last.series,
                    last.openmetrics.plain.len(),
                    last.openmetrics.gzip.len(),
                    last.text.plain.len(),
                    last.text.gzip.len(),
                    rss_kb(),
                );
            }
        });
        server::serve(
            listener,
            hub,
            Frontend::default(),
            Limits::DEFAULT,
            std::future::pending(),
        )
        .await;
        Ok(())
    })
}

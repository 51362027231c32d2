//! The Docker stats API path: one `one-shot=true` call per container, converted into the
//! same [`Stats`] the cgroup path produces.
//!
//! `one-shot=true` answers from a single sample at once; the plain `stream=false` call
//! waits for a second sample (about 2 s per container) to fill `precpu_stats`, which we
//! never need because every CPU figure we export is a cumulative counter.

use bollard::Docker;
use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use futures_util::StreamExt as _;

use super::cgroup::{DiskIo, NetIface, Stats};

/// Fetches one container's stats.
pub async fn fetch(docker: &Docker, id: &str) -> Result<Stats, bollard::errors::Error> {
    let opts = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(true)
        .build();
    let mut stream = docker.stats(id, Some(opts));
    match stream.next().await {
        Some(Ok(r)) => Ok(convert(&r)),
        Some(Err(e)) => Err(e),
        None => Err(bollard::errors::Error::DockerStreamError {
            error: "empty stats response".into(),
        }),
    }
}

/// Converts a stats response. Memory keys differ by cgroup version (`total_rss` on v1,
/// `anon` on v2) because Docker copies `memory.stat` through as-is.
pub fn convert(r: &ContainerStatsResponse) -> Stats {
    let ns = |v: Option<u64>| v.map(|n| n as f64 / 1e9);
    let cpu = r.cpu_stats.as_ref();
    let usage = cpu.and_then(|c| c.cpu_usage.as_ref());
    let throttling = cpu.and_then(|c| c.throttling_data.as_ref());
    let mem = r.memory_stats.as_ref();
    let mstat = |keys: &[&str]| {
        let stats = mem.and_then(|m| m.stats.as_ref())?;
        keys.iter().find_map(|k| stats.get(*k)).map(|v| *v as f64)
    };
    let mut io: Vec<DiskIo> = Vec::new();
    let entries = r
        .blkio_stats
        .as_ref()
        .and_then(|b| b.io_service_bytes_recursive.as_ref());
    for e in entries.into_iter().flatten() {
        let (Some(major), Some(minor), Some(value)) = (e.major, e.minor, e.value) else {
            continue;
        };
        let i = match io.iter().position(|d| d.major == major && d.minor == minor) {
            Some(i) => i,
            None => {
                io.push(DiskIo {
                    major,
                    minor,
                    ..DiskIo::default()
                });
                io.len() - 1
            }
        };
        // v1 writes "Read"/"Write", v2 (via Docker's conversion) "read"/"write".
        match e.op.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("read") => io[i].read += value as f64,
            Some("write") => io[i].write += value as f64,
            _ => {}
        }
    }
    let mut net: Vec<NetIface> = r
        .networks
        .iter()
        .flatten()
        .filter(|(name, _)| name.as_str() != "lo")
        .map(|(name, n)| {
            let f = |v: Option<u64>| v.unwrap_or(0) as f64;
            NetIface {
                name: name.clone(),
                rx_bytes: f(n.rx_bytes),
                rx_packets: f(n.rx_packets),
                rx_errors: f(n.rx_errors),
                rx_dropped: f(n.rx_dropped),
                tx_bytes: f(n.tx_bytes),
                tx_packets: f(n.tx_packets),
                tx_errors: f(n.tx_errors),
                tx_dropped: f(n.tx_dropped),
            }
        })
        .collect();
    net.sort_by(|a, b| a.name.cmp(&b.name));
    Stats {
        cpu_total: ns(usage.and_then(|u| u.total_usage)),
        cpu_user: ns(usage.and_then(|u| u.usage_in_usermode)),
        cpu_system: ns(usage.and_then(|u| u.usage_in_kernelmode)),
        cpu_throttled: ns(throttling.and_then(|t| t.throttled_time)),
        cpu_periods: throttling.and_then(|t| t.periods).map(|v| v as f64),
        cpu_throttled_periods: throttling
            .and_then(|t| t.throttled_periods)
            .map(|v| v as f64),
        mem_usage: mem.and_then(|m| m.usage).map(|v| v as f64),
        mem_rss: mstat(&["total_rss", "anon"]),
        mem_cache: mstat(&["total_cache", "file"]),
        mem_inactive_file: mstat(&["total_inactive_file", "inactive_file"]),
        // Not in the stats API; the collector falls back to OOM events and inspect.
        oom_kills: None,
        pids: r
            .pids_stats
            .as_ref()
            .and_then(|p| p.current)
            .map(|v| v as f64),
        net,
        io,
    }
}

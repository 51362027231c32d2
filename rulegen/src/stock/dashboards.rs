//! The stock Grafana dashboards (Overview, Disks, Containers, Postgres, Object storage,
//! Trino): their panels and variables, written against the catalog's metric names.

use std::collections::BTreeSet;

use super::{StockError, check_metrics};
use crate::dashboard::{self, Dashboard, Kind, Panel, Row, query_variable};

/// Selector filtering by the stock dashboards' `job` and `instance` variables.
const SEL: &str = r#"job=~"$job",instance=~"$instance""#;

fn s(extra: &str) -> String {
    if extra.is_empty() {
        format!("{{{SEL}}}")
    } else {
        format!("{{{SEL},{extra}}}")
    }
}

/// The Grafana unit for a catalog metric's values (and `fallback` for metrics the catalog
/// has no unit for, such as cAdvisor's `container_memory_rss`, whose name cannot carry it).
fn unit_of(metric: &str, fallback: &str) -> String {
    match lakewatch_catalog::lookup(metric).and_then(|m| m.unit) {
        Some("bytes") => "bytes".into(),
        Some("seconds") => "s".into(),
        Some(other) => other.into(),
        None => fallback.into(),
    }
}

/// The Grafana unit for the per-second rate of a catalog counter.
fn rate_unit_of(metric: &str, fallback: &str) -> String {
    match lakewatch_catalog::lookup(metric).and_then(|m| m.unit) {
        Some("bytes") => "Bps".into(),
        Some("seconds") => "percentunit".into(),
        _ => fallback.into(),
    }
}

fn ts(title: &str, unit: &str) -> Panel {
    Panel::new(Kind::TimeSeries, title, unit)
}

fn stat(title: &str, unit: &str) -> Panel {
    Panel::new(Kind::Stat, title, unit)
}

/// `job` (the jobs that scrape lakewatch-exporter: only it emits `lakewatch_build_info`)
/// and `instance`, then the dashboard's own variables over `{job, instance}`.
fn variables(extra: &[(&str, &str, String)]) -> Vec<serde_json::Value> {
    let mut out = vec![
        query_variable("job", "Job", "label_values(lakewatch_build_info, job)"),
        query_variable(
            "instance",
            "Instance",
            "label_values(lakewatch_build_info{job=~\"$job\"}, instance)",
        ),
    ];
    out.extend(extra.iter().map(|(n, l, q)| query_variable(n, l, q)));
    out
}

/// `label_values(<metric>{job, instance[, more]}, <label>)` for a dashboard variable.
fn values_of(metric: &str, more: &str, label: &str) -> String {
    format!("label_values({metric}{}, {label})", s(more))
}

fn stock(
    slug: &str,
    title: &str,
    description: &str,
    extra_vars: &[(&str, &str, String)],
    rows: Vec<Row>,
) -> Dashboard {
    Dashboard {
        uid: dashboard::uid_for("lakewatch", slug),
        title: format!("Lakewatch / {title}"),
        description: description.to_string(),
        tags: vec!["lakewatch".into()],
        variables: variables(extra_vars),
        rows,
        range: "6h".into(),
    }
}

/// The stock dashboards; fails when a panel reads a metric nobody emits.
pub fn dashboards() -> Result<Vec<Dashboard>, StockError> {
    let all = vec![
        overview(),
        disks(),
        containers(),
        postgres(),
        object_storage(),
        trino(),
    ];
    for d in &all {
        for row in &d.rows {
            for p in &row.panels {
                for t in &p.targets {
                    let what = format!("dashboard {} panel {:?}", d.title, p.title);
                    check_metrics(&what, &t.expr, &BTreeSet::new())?;
                }
            }
        }
    }
    Ok(all)
}

/// Filters by the `target` variable (exporter self-metrics, S3, Trino).
const TARGET: &str = r#"target=~"$target""#;

fn overview() -> Dashboard {
    let up = "lakewatch_collector_up";
    let t = s(TARGET);
    stock(
        "overview",
        "Overview",
        "Is every collector and target up, is Prometheus scraping the exporter, and how much does the exporter cost.",
        &[("target", "Target", values_of(up, "", "target"))],
        vec![
            Row {
                title: "Health".into(),
                panels: vec![
                    stat("Collectors down", "short")
                        .query(&format!("count({up}{t} == 0) or vector(0)"), "down")
                        .thresholds(&[(1.0, "red")]),
                    stat("Exporter scrape up", "short")
                        .query(&format!("min(up{})", s("")), "up")
                        .thresholds(&[(0.0, "red"), (1.0, "green")]),
                    // Postgres series name their target `server` (postgres_exporter's label).
                    stat("Postgres targets up", "short")
                        .query(&format!("sum(pg_up{})", s("")), "up"),
                    stat("Trino coordinators up", "short")
                        .query(&format!("sum(trino_up{t})"), "up"),
                    stat("Object stores up", "short")
                        .query(&format!("sum(s3_up{t})"), "up"),
                    Panel::new(Kind::Table, "Collectors and targets", "short")
                        .size(24, 8)
                        .describe("Each collector and target: up (1/0), last cycle's duration, seconds since its last success.")
                        .column(&format!("{up}{t}"), "up")
                        .column(&format!("lakewatch_collector_duration_seconds{t}"), "cycle duration (s)")
                        .column(&format!("time() - lakewatch_collector_last_success_timestamp_seconds{t}"), "since success (s)"),
                ],
            },
            Row {
                title: "Collectors".into(),
                panels: vec![
                    ts("Collector up", "short")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("{up}{t}"), "{{collector}}/{{target}}"),
                    ts("Collector cycle duration", &unit_of("lakewatch_collector_duration_seconds", "s"))
                        .query(&format!("lakewatch_collector_duration_seconds{t}"), "{{collector}}/{{target}}"),
                    ts("Collector errors by kind", "ops")
                        .query(&format!("sum by (collector, target, kind) (rate(lakewatch_collector_errors_total{t}[$__rate_interval]))"), "{{collector}}/{{target}} {{kind}}"),
                    ts("Seconds since last success", &unit_of("lakewatch_collector_last_success_timestamp_seconds", "s"))
                        .query(&format!("time() - lakewatch_collector_last_success_timestamp_seconds{t} > 0"), "{{collector}}/{{target}}"),
                ],
            },
            Row {
                title: "Scrape and process".into(),
                panels: vec![
                    ts("Scrape duration", "s")
                        .query(&format!("scrape_duration_seconds{}", s("")), "{{instance}}"),
                    ts("Samples per scrape", "short")
                        .query(&format!("scrape_samples_scraped{}", s("")), "{{instance}}"),
                    ts("Exporter CPU", "short")
                        .describe("CPU cores used by lakewatch-exporter.")
                        .query(&format!("rate(process_cpu_seconds_total{}[$__rate_interval])", s("")), "{{instance}}"),
                    ts("Exporter memory", &unit_of("process_resident_memory_bytes", "bytes"))
                        .query(&format!("process_resident_memory_bytes{}", s("")), "{{instance}}"),
                    ts("Open file descriptors", "short")
                        .query(&format!("process_open_fds{}", s("")), "{{instance}}"),
                    Panel::new(Kind::Table, "Versions", "short")
                        .column(&format!("count by (version) (lakewatch_build_info{})", s("")), "exporters"),
                ],
            },
        ],
    )
}

fn disks() -> Dashboard {
    // Filesystem series carry `mountpoint` (and `device`: /dev/sda1), I/O series only
    // `device` (sda): two variables, and the I/O one is not called `device`, because it
    // filters only the I/O panels.
    let fs = s(r#"mountpoint=~"$mountpoint""#);
    let dev = s(r#"device=~"$disk""#);
    let avail = format!("node_filesystem_avail_bytes{fs}");
    let size = format!("node_filesystem_size_bytes{fs}");
    let bytes = unit_of("node_filesystem_avail_bytes", "bytes");
    stock(
        "disks",
        "Disks",
        "Free space, inodes, days until full, and I/O, latency and queue of every filesystem and block device.",
        &[
            ("mountpoint", "Mountpoint", values_of("node_filesystem_size_bytes", "", "mountpoint")),
            ("disk", "Block device", values_of("node_disk_io_time_seconds_total", "", "device")),
        ],
        vec![
            Row {
                title: "Space".into(),
                panels: vec![
                    ts("Free space", "percentunit")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("{avail} / {size}"), "{{instance}} {{mountpoint}}")
                        .thresholds(&[(0.1, "red"), (0.2, "orange")]),
                    ts("Days until full", "d")
                        .describe("At the rate of the last 6h (predict_linear): free space ÷ the space it loses per day. Only filesystems that are filling up are shown.")
                        .query(&format!("{avail} / ({avail} - predict_linear({avail}[6h], 86400)) > 0"), "{{instance}} {{mountpoint}}")
                        .thresholds(&[(1.0, "red"), (7.0, "orange")]),
                    ts("Available", &bytes)
                        .query(&avail, "{{instance}} {{mountpoint}}"),
                    Panel::new(Kind::Table, "Filesystems", &bytes)
                        .column(&size, "size")
                        .column(&avail, "available"),
                ],
            },
            Row {
                title: "Inodes and state".into(),
                panels: vec![
                    ts("Free inodes", "percentunit")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("node_filesystem_files_free{fs} / node_filesystem_files{fs}"), "{{instance}} {{mountpoint}}")
                        .thresholds(&[(0.1, "red")]),
                    stat("Read-only filesystems", "short")
                        .query(&format!("count(node_filesystem_readonly{fs} == 1) or vector(0)"), "read-only"),
                    stat("Filesystems with device errors", "short")
                        .query(&format!("count(node_filesystem_device_error{fs} == 1) or vector(0)"), "errors")
                        .thresholds(&[(1.0, "red")]),
                ],
            },
            Row {
                title: "I/O".into(),
                panels: vec![
                    ts("Read throughput", &rate_unit_of("node_disk_read_bytes_total", "Bps"))
                        .query(&format!("rate(node_disk_read_bytes_total{dev}[$__rate_interval])"), "{{instance}} {{device}}"),
                    ts("Write throughput", &rate_unit_of("node_disk_written_bytes_total", "Bps"))
                        .query(&format!("rate(node_disk_written_bytes_total{dev}[$__rate_interval])"), "{{instance}} {{device}}"),
                    ts("I/O utilisation", &rate_unit_of("node_disk_io_time_seconds_total", "percentunit"))
                        .describe("Share of time the device had I/O in flight.")
                        .query(&format!("rate(node_disk_io_time_seconds_total{dev}[$__rate_interval])"), "{{instance}} {{device}}"),
                    ts("IOPS", "iops")
                        .query(&format!("rate(node_disk_reads_completed_total{dev}[$__rate_interval])"), "{{instance}} {{device}} reads")
                        .query(&format!("rate(node_disk_writes_completed_total{dev}[$__rate_interval])"), "{{instance}} {{device}} writes"),
                ],
            },
            Row {
                title: "Latency and queue".into(),
                panels: vec![
                    // node-mixin's latency: time spent ÷ requests completed, over the interval.
                    ts("Read latency", "s")
                        .describe("Average time a read took (queue included).")
                        .query(&format!("rate(node_disk_read_time_seconds_total{dev}[$__rate_interval]) / rate(node_disk_reads_completed_total{dev}[$__rate_interval])"), "{{instance}} {{device}}")
                        .thresholds(&[(0.1, "red")]),
                    ts("Write latency", "s")
                        .describe("Average time a write took (queue included).")
                        .query(&format!("rate(node_disk_write_time_seconds_total{dev}[$__rate_interval]) / rate(node_disk_writes_completed_total{dev}[$__rate_interval])"), "{{instance}} {{device}}")
                        .thresholds(&[(0.1, "red")]),
                    ts("Average queue length", "short")
                        .describe("Requests in flight on average (the weighted I/O time's rate, iostat's aqu-sz).")
                        .query(&format!("rate(node_disk_io_time_weighted_seconds_total{dev}[$__rate_interval])"), "{{instance}} {{device}}"),
                    ts("I/O in progress", "short")
                        .describe("Requests in flight when the exporter read the device.")
                        .query(&format!("node_disk_io_now{dev}"), "{{instance}} {{device}}"),
                ],
            },
            Row {
                title: "Watched paths".into(),
                panels: vec![
                    ts("Path size", &unit_of("lakewatch_path_size_bytes", "bytes"))
                        .query(&format!("lakewatch_path_size_bytes{}", s("")), "{{instance}} {{path}}"),
                    ts("Files under path", "short")
                        .query(&format!("lakewatch_path_files{}", s("")), "{{instance}} {{path}}"),
                ],
            },
        ],
    )
}

fn containers() -> Dashboard {
    const NAME: &str = r#"name=~"$name""#;
    let c = s(NAME);
    stock(
        "containers",
        "Containers",
        "Docker containers: CPU and throttling, memory against limits, restarts, health, network (errors and drops) and block I/O (cAdvisor-compatible names).",
        &[("name", "Container", values_of("container_last_seen", "", "name"))],
        vec![
            Row {
                title: "State".into(),
                panels: vec![
                    stat("Running containers", "short")
                        .query(&format!("count(lakewatch_container_state{} == 1) or vector(0)", s(&format!(r#"{NAME},state="running""#))), "running"),
                    stat("Unhealthy containers", "short")
                        .query(&format!("count(lakewatch_container_health_status{} == 1) or vector(0)", s(&format!(r#"{NAME},status="unhealthy""#))), "unhealthy")
                        .thresholds(&[(1.0, "red")]),
                    stat("Restarts (1h)", "short")
                        .query(&format!("sum(increase(lakewatch_container_restarts_total{c}[1h]))"), "restarts")
                        .thresholds(&[(1.0, "orange")]),
                    stat("OOM kills (1h)", "short")
                        .query(&format!("sum(increase(container_oom_events_total{c}[1h]))"), "OOM kills")
                        .thresholds(&[(1.0, "red")]),
                ],
            },
            Row {
                title: "CPU and memory".into(),
                panels: vec![
                    ts("CPU (cores)", "short")
                        .query(&format!("sum by (instance, name) (rate(container_cpu_usage_seconds_total{c}[$__rate_interval]))"), "{{name}}"),
                    // The usage counter carries `cpu` (cAdvisor's `cpu="total"`), the
                    // throttled one does not: sum it away or the division matches nothing.
                    ts("CPU throttled", "percentunit")
                        .describe("Share of the time the container wanted CPU that its quota denied it.")
                        .query(&format!("rate(container_cpu_cfs_throttled_seconds_total{c}[$__rate_interval]) / (rate(container_cpu_cfs_throttled_seconds_total{c}[$__rate_interval]) + sum without (cpu) (rate(container_cpu_usage_seconds_total{c}[$__rate_interval])))"), "{{name}}"),
                    // kubernetes-mixin's throttling panel: periods the quota stopped the
                    // container in, over the periods it ran in.
                    ts("Throttled periods", "percentunit")
                        .describe("Share of CFS periods in which the CPU quota stopped the container (what ContainerCpuThrottled alerts on).")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("rate(container_cpu_cfs_throttled_periods_total{c}[$__rate_interval]) / rate(container_cpu_cfs_periods_total{c}[$__rate_interval])"), "{{name}}")
                        .thresholds(&[(0.25, "red")]),
                    ts("CPU quota (cores)", "short")
                        .describe("The CFS quota over its period: the cores the container may use (containers with a quota only).")
                        .query(&format!("container_spec_cpu_quota{c} / container_spec_cpu_period{c}"), "{{name}}"),
                    ts("Memory working set", &unit_of("container_memory_working_set_bytes", "bytes"))
                        .query(&format!("container_memory_working_set_bytes{c}"), "{{name}}"),
                    ts("Memory against limit", "percentunit")
                        .query(&format!("container_memory_working_set_bytes{c} / (container_spec_memory_limit_bytes{c} > 0)"), "{{name}}")
                        .thresholds(&[(0.9, "red")]),
                    ts("Memory RSS", &unit_of("container_memory_rss", "bytes"))
                        .query(&format!("container_memory_rss{c}"), "{{name}}"),
                    ts("Restarts", "short")
                        .query(&format!("increase(lakewatch_container_restarts_total{c}[1h])"), "{{name}}"),
                ],
            },
            Row {
                title: "Network and block I/O".into(),
                panels: vec![
                    ts("Network received", &rate_unit_of("container_network_receive_bytes_total", "Bps"))
                        .query(&format!("sum by (instance, name) (rate(container_network_receive_bytes_total{c}[$__rate_interval]))"), "{{name}}"),
                    ts("Network sent", &rate_unit_of("container_network_transmit_bytes_total", "Bps"))
                        .query(&format!("sum by (instance, name) (rate(container_network_transmit_bytes_total{c}[$__rate_interval]))"), "{{name}}"),
                    ts("Network errors", "pps")
                        .query(&format!("sum by (instance, name) (rate(container_network_receive_errors_total{c}[$__rate_interval]))"), "{{name}} receive")
                        .query(&format!("sum by (instance, name) (rate(container_network_transmit_errors_total{c}[$__rate_interval]))"), "{{name}} transmit"),
                    ts("Network drops", "pps")
                        .query(&format!("sum by (instance, name) (rate(container_network_receive_packets_dropped_total{c}[$__rate_interval]))"), "{{name}} receive")
                        .query(&format!("sum by (instance, name) (rate(container_network_transmit_packets_dropped_total{c}[$__rate_interval]))"), "{{name}} transmit"),
                    ts("Block reads", &rate_unit_of("container_fs_reads_bytes_total", "Bps"))
                        .query(&format!("sum by (instance, name) (rate(container_fs_reads_bytes_total{c}[$__rate_interval]))"), "{{name}}"),
                    ts("Block writes", &rate_unit_of("container_fs_writes_bytes_total", "Bps"))
                        .query(&format!("sum by (instance, name) (rate(container_fs_writes_bytes_total{c}[$__rate_interval]))"), "{{name}}"),
                ],
            },
        ],
    )
}

fn postgres() -> Dashboard {
    // Postgres series name their target `server` (postgres_exporter's label), not `target`.
    const SERVER: &str = r#"server=~"$server""#;
    let srv = s(SERVER);
    let db = s(&format!(r#"{SERVER},datname=~"$datname""#));
    // Over a window, not lakewatch_pg_cache_hit_ratio: that gauge divides the counters
    // since the statistics were reset, so it hardly moves after a long uptime.
    let blocks = |m: &str| format!("sum by (server, datname) (rate({m}{db}[$__rate_interval]))");
    stock(
        "postgres",
        "Postgres",
        "Postgres servers: availability, connections against max_connections, cache hit ratio, transactions and rows, buffers and checkpoints, conflicts, deadlocks and lock waits, table bloat and vacuum, replication slots, WAL and archiving, and sizes (postgres_exporter-compatible names).",
        &[
            ("server", "Server", values_of("pg_up", "", "server")),
            ("datname", "Database", values_of("pg_database_size_bytes", SERVER, "datname")),
        ],
        vec![
            Row {
                title: "Availability and connections".into(),
                panels: vec![
                    stat("Servers up", "short").query(&format!("sum(pg_up{srv})"), "up"),
                    stat("Connections used", "percentunit")
                        .query(&format!("max(lakewatch_pg_connections_used_ratio{srv})"), "used")
                        .thresholds(&[(0.8, "orange"), (0.9, "red")]),
                    stat("Longest transaction", &unit_of("lakewatch_pg_longest_transaction_seconds", "s"))
                        .query(&format!("max(lakewatch_pg_longest_transaction_seconds{srv})"), "longest"),
                    stat("Deadlocks (1h)", "short")
                        .query(&format!("sum(increase(pg_stat_database_deadlocks{db}[1h]))"), "deadlocks")
                        .thresholds(&[(1.0, "red")]),
                    stat("Uptime", &unit_of("pg_postmaster_start_time_seconds", "s"))
                        .describe("Since the server (postmaster) started; needs the exporter's opt-in `postmaster: true`.")
                        .query(&format!("min(time() - pg_postmaster_start_time_seconds{srv})"), "uptime"),
                    // Server-wide on purpose: max_connections counts every database.
                    ts("Connections vs max_connections", "short")
                        .query(&format!("sum by (instance, server) (pg_stat_activity_count{srv})"), "{{server}} connections")
                        .query(&format!("max by (instance, server) (pg_settings_max_connections{srv})"), "{{server}} max"),
                    ts("Connections by state", "short")
                        .query(&format!("sum by (server, state) (pg_stat_activity_count{srv})"), "{{server}} {{state}}"),
                ],
            },
            Row {
                title: "Throughput and cache".into(),
                panels: vec![
                    ts("Transactions per second", "ops")
                        .query(&format!("sum by (server, datname) (rate(pg_stat_database_xact_commit{db}[$__rate_interval]) + rate(pg_stat_database_xact_rollback{db}[$__rate_interval]))"), "{{server}} {{datname}}"),
                    ts("Cache hit ratio", "percentunit")
                        .describe("Blocks found in the buffer cache over all blocks read, over the rate interval.")
                        .range(None, Some(1.0))
                        .query(
                            &format!(
                                "{hit} / ({hit} + {read})",
                                hit = blocks("pg_stat_database_blks_hit"),
                                read = blocks("pg_stat_database_blks_read")
                            ),
                            "{{server}} {{datname}}",
                        )
                        .thresholds(&[(0.0, "red"), (0.9, "green")]),
                    ts("Locks by mode", "short")
                        .query(&format!("sum by (server, mode) (pg_locks_count{db})"), "{{server}} {{mode}}"),
                    ts("Replication lag", &unit_of("pg_replication_lag_seconds", "s"))
                        .query(&format!("pg_replication_lag_seconds{srv} and pg_replication_is_replica{srv} == 1"), "{{server}}"),
                ],
            },
            Row {
                title: "Rows".into(),
                panels: vec![
                    ts("Rows read", "ops")
                        .describe("Rows returned by scans (sequential scans return every live row they read) and rows fetched by index scans.")
                        .query(&format!("sum by (server, datname) (rate(pg_stat_database_tup_returned{db}[$__rate_interval]))"), "{{server}} {{datname}} returned")
                        .query(&format!("sum by (server, datname) (rate(pg_stat_database_tup_fetched{db}[$__rate_interval]))"), "{{server}} {{datname}} fetched"),
                    ts("Rows written", "ops")
                        .query(&format!("sum by (server, datname) (rate(pg_stat_database_tup_inserted{db}[$__rate_interval]))"), "{{server}} {{datname}} inserted")
                        .query(&format!("sum by (server, datname) (rate(pg_stat_database_tup_updated{db}[$__rate_interval]))"), "{{server}} {{datname}} updated")
                        .query(&format!("sum by (server, datname) (rate(pg_stat_database_tup_deleted{db}[$__rate_interval]))"), "{{server}} {{datname}} deleted"),
                    ts("Rollback ratio", "percentunit")
                        .describe("Rolled-back transactions over all ended transactions (what PostgresRollbackRatioHigh alerts on).")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("sum by (server, datname) (rate(pg_stat_database_xact_rollback{db}[$__rate_interval])) / (sum by (server, datname) (rate(pg_stat_database_xact_commit{db}[$__rate_interval])) + sum by (server, datname) (rate(pg_stat_database_xact_rollback{db}[$__rate_interval])))"), "{{server}} {{datname}}")
                        .thresholds(&[(0.1, "red")]),
                ],
            },
            Row {
                title: "Buffers and checkpoints".into(),
                panels: vec![
                    ts("Blocks hit and read", "short")
                        .describe("Blocks per second found in shared buffers (hit) and read from the OS (read).")
                        .query(&blocks("pg_stat_database_blks_hit"), "{{server}} {{datname}} hit")
                        .query(&blocks("pg_stat_database_blks_read"), "{{server}} {{datname}} read"),
                    // Postgres 17 moved the checkpointer's columns to pg_stat_checkpointer,
                    // and the exporter follows (postgres_exporter's names for each): one
                    // side of each `or` exists, depending on the server's version.
                    ts("Buffers written", "short")
                        .describe("Buffers per second written by checkpoints and by the background writer, and allocated.")
                        .query(&format!("rate(pg_stat_checkpointer_buffers_written_total{srv}[$__rate_interval]) or rate(pg_stat_bgwriter_buffers_checkpoint_total{srv}[$__rate_interval])"), "{{server}} checkpoints")
                        .query(&format!("rate(pg_stat_bgwriter_buffers_clean_total{srv}[$__rate_interval])"), "{{server}} background writer")
                        .query(&format!("rate(pg_stat_bgwriter_buffers_alloc_total{srv}[$__rate_interval])"), "{{server}} allocated"),
                    ts("Checkpoints", "short")
                        .describe("Checkpoints per minute: timed (checkpoint_timeout) and requested (WAL reached max_wal_size, or CHECKPOINT). Many requested ones mean max_wal_size is too small.")
                        .query(&format!("60 * (rate(pg_stat_checkpointer_num_timed_total{srv}[$__rate_interval]) or rate(pg_stat_bgwriter_checkpoints_timed_total{srv}[$__rate_interval]))"), "{{server}} timed")
                        .query(&format!("60 * (rate(pg_stat_checkpointer_num_requested_total{srv}[$__rate_interval]) or rate(pg_stat_bgwriter_checkpoints_req_total{srv}[$__rate_interval]))"), "{{server}} requested"),
                ],
            },
            Row {
                title: "Conflicts, deadlocks and lock waits".into(),
                panels: vec![
                    ts("Deadlocks", "short")
                        .describe("Deadlocks per minute.")
                        .query(&format!("60 * sum by (server, datname) (rate(pg_stat_database_deadlocks{db}[$__rate_interval]))"), "{{server}} {{datname}}"),
                    ts("Recovery conflicts", "short")
                        .describe("Queries per minute a standby canceled because they conflicted with replay, by cause (zero on a primary).")
                        .query(&format!("60 * sum by (server, datname) (rate(pg_stat_database_conflicts_confl_snapshot{db}[$__rate_interval]))"), "{{server}} {{datname}} snapshot")
                        .query(&format!("60 * sum by (server, datname) (rate(pg_stat_database_conflicts_confl_lock{db}[$__rate_interval]))"), "{{server}} {{datname}} lock")
                        .query(&format!("60 * sum by (server, datname) (rate(pg_stat_database_conflicts_confl_bufferpin{db}[$__rate_interval]))"), "{{server}} {{datname}} buffer pin")
                        .query(&format!("60 * sum by (server, datname) (rate(pg_stat_database_conflicts_confl_deadlock{db}[$__rate_interval]))"), "{{server}} {{datname}} deadlock")
                        .query(&format!("60 * sum by (server, datname) (rate(pg_stat_database_conflicts_confl_tablespace{db}[$__rate_interval]))"), "{{server}} {{datname}} tablespace"),
                    ts("Waiting lock requests", "short")
                        .describe("Lock requests not granted, server-wide (what PostgresWaitingLocksHigh alerts on).")
                        .query(&format!("lakewatch_pg_waiting_locks{srv}"), "{{server}}")
                        .thresholds(&[(10.0, "red")]),
                ],
            },
            Row {
                title: "Table bloat and vacuum".into(),
                panels: vec![
                    ts("Dead tuples (top 10 tables)", "short")
                        .query(&format!("topk(10, pg_stat_user_tables_n_dead_tup{db})"), "{{server}} {{datname}} {{schemaname}}.{{relname}}"),
                    ts("Dead tuple ratio (top 10 tables)", "percentunit")
                        .describe("Dead tuples over all tuples of the table (what PostgresDeadTuplesHigh alerts on, for tables with over 10000 dead tuples).")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("topk(10, pg_stat_user_tables_n_dead_tup{db} / ((pg_stat_user_tables_n_live_tup{db} + pg_stat_user_tables_n_dead_tup{db}) > 0))"), "{{server}} {{datname}} {{schemaname}}.{{relname}}")
                        .thresholds(&[(0.1, "red")]),
                    ts("Since last vacuum (top 10 tables)", "s")
                        .describe("Time since autovacuum, and since a manual VACUUM, last processed the table (tables never vacuumed are left out).")
                        .query(&format!("topk(10, time() - (pg_stat_user_tables_last_autovacuum{db} > 0))"), "{{server}} {{datname}} {{schemaname}}.{{relname}} autovacuum")
                        .query(&format!("topk(10, time() - (pg_stat_user_tables_last_vacuum{db} > 0))"), "{{server}} {{datname}} {{schemaname}}.{{relname}} manual"),
                    ts("Vacuum progress", "percentunit")
                        .describe("Heap blocks scanned of each running VACUUM (autovacuum included); empty while none runs.")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("pg_stat_progress_vacuum_heap_blks_scanned{db} / (pg_stat_progress_vacuum_heap_blks{db} > 0)"), "{{server}} {{datname}} {{relname}}"),
                    ts("Transaction ID age", "short")
                        .describe("Age in transactions of each database's oldest unfrozen transaction ID; Postgres stops at about 2.1 billion. Needs the exporter's opt-in `database_wraparound: true`.")
                        .query(&format!("pg_database_wraparound_age_datfrozenxid_seconds{db}"), "{{server}} {{datname}}")
                        .thresholds(&[(1e9, "red")]),
                ],
            },
            Row {
                title: "Replication slots, WAL and archiving".into(),
                panels: vec![
                    ts("WAL retained by slots", &unit_of("pg_replication_slots_pg_wal_lsn_diff", "bytes"))
                        .describe("WAL Postgres keeps for each replication slot until its consumer has it.")
                        .query(&format!("pg_replication_slots_pg_wal_lsn_diff{srv}"), "{{server}} {{slot_name}}"),
                    ts("Slots active", "short")
                        .describe("1 while a consumer is connected to the slot.")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("pg_replication_slots_active{srv}"), "{{server}} {{slot_name}}"),
                    ts("WAL size", &unit_of("pg_wal_size_bytes", "bytes"))
                        .query(&format!("pg_wal_size_bytes{srv}"), "{{server}}"),
                    ts("WAL archiving", "short")
                        .describe("WAL segments archived and archive_command failures, per minute.")
                        .query(&format!("60 * rate(pg_stat_archiver_archived_count{srv}[$__rate_interval])"), "{{server}} archived")
                        .query(&format!("60 * rate(pg_stat_archiver_failed_count{srv}[$__rate_interval])"), "{{server}} failed"),
                    ts("Since last archived segment", "s")
                        .query(&format!("pg_stat_archiver_last_archive_age{srv}"), "{{server}}"),
                ],
            },
            Row {
                title: "Sizes".into(),
                panels: vec![
                    ts("Database sizes", &unit_of("pg_database_size_bytes", "bytes"))
                        .query(&format!("pg_database_size_bytes{db}"), "{{server}} {{datname}}"),
                    ts("Database growth per day", "bytes")
                        .query(&format!("delta(pg_database_size_bytes{db}[1d])"), "{{server}} {{datname}}"),
                ],
            },
        ],
    )
}

fn object_storage() -> Dashboard {
    let t = s(TARGET);
    let b = s(&format!(r#"{TARGET},bucket=~"$bucket""#));
    let used = format!("minio_bucket_usage_total_bytes{b}");
    stock(
        "object-storage",
        "Object storage",
        "S3-compatible object stores: endpoint up, canary probe success and latency, bucket sizes and growth (MinIO-compatible names), and MinIO's own drive and capacity series where `minio_metrics:` passes them through.",
        &[
            ("target", "Target", values_of("s3_up", "", "target")),
            ("bucket", "Bucket", values_of("minio_bucket_usage_total_bytes", TARGET, "bucket")),
        ],
        vec![
            Row {
                title: "Canary probe".into(),
                panels: vec![
                    stat("Endpoints up", "short").query(&format!("sum(s3_up{t})"), "up"),
                    stat("Probe operations failing", "short")
                        .query(&format!("count(lakewatch_s3_probe_success{t} == 0) or vector(0)"), "failing")
                        .thresholds(&[(1.0, "red")]),
                    ts("Probe success by operation", "short")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("lakewatch_s3_probe_success{t}"), "{{target}} {{op}}"),
                    ts("Probe latency p50 / p95", &unit_of("lakewatch_s3_probe_duration_seconds", "s"))
                        .query(&format!("histogram_quantile(0.5, sum by (le, target, op) (rate(lakewatch_s3_probe_duration_seconds_bucket{t}[$__rate_interval])))"), "{{target}} {{op}} p50")
                        .query(&format!("histogram_quantile(0.95, sum by (le, target, op) (rate(lakewatch_s3_probe_duration_seconds_bucket{t}[$__rate_interval])))"), "{{target}} {{op}} p95"),
                ],
            },
            Row {
                title: "Buckets".into(),
                panels: vec![
                    ts("Bucket size", &unit_of("minio_bucket_usage_total_bytes", "bytes"))
                        .query(&used, "{{target}} {{bucket}}"),
                    ts("Bucket growth per day", "bytes")
                        .query(&format!("delta({used}[1d])"), "{{target}} {{bucket}}"),
                    ts("Objects per bucket", "short")
                        .query(&format!("minio_bucket_usage_object_total{b}"), "{{target}} {{bucket}}"),
                    Panel::new(Kind::Table, "Buckets", &unit_of("minio_bucket_usage_total_bytes", "bytes"))
                        .column(&used, "size"),
                ],
            },
            // MinIO's own series, passed through by `minio_metrics:` (MinIO targets only).
            // Aggregated over `server`: the node answering the cluster endpoint may change.
            Row {
                title: "MinIO cluster".into(),
                panels: vec![
                    stat("MinIO drives offline", "short")
                        .query(&format!("sum(max without (server) (minio_cluster_drive_offline_total{t})) or vector(0)"), "offline")
                        .thresholds(&[(1.0, "red")]),
                    ts("MinIO drives", "short")
                        .query(&format!("max without (server) (minio_cluster_drive_online_total{t})"), "{{target}} online")
                        .query(&format!("max without (server) (minio_cluster_drive_offline_total{t})"), "{{target}} offline"),
                    ts("MinIO usable free space", "percentunit")
                        .range(Some(0.0), Some(1.0))
                        .query(&format!("max without (server) (minio_cluster_capacity_usable_free_bytes{t}) / max without (server) (minio_cluster_capacity_usable_total_bytes{t})"), "{{target}}")
                        .thresholds(&[(0.1, "red"), (0.2, "orange")]),
                    ts("MinIO usable capacity", "bytes")
                        .query(&format!("max without (server) (minio_cluster_capacity_usable_total_bytes{t})"), "{{target}} total")
                        .query(&format!("max without (server) (minio_cluster_capacity_usable_free_bytes{t})"), "{{target}} free"),
                ],
            },
        ],
    )
}

fn trino() -> Dashboard {
    let t = s(TARGET);
    let exec = "trino_query_execution_time_seconds_bucket";
    let q = |p: &str| {
        format!("histogram_quantile({p}, sum by (le, target) (rate({exec}{t}[$__rate_interval])))")
    };
    stock(
        "trino",
        "Trino",
        "Trino coordinators: up, running and queued queries, query execution time percentiles and failures by type.",
        &[("target", "Coordinator", values_of("trino_up", "", "target"))],
        vec![
            Row {
                title: "Cluster".into(),
                panels: vec![
                    stat("Coordinators up", "short").query(&format!("sum(trino_up{t})"), "up"),
                    stat("Active workers", "short").query(&format!("sum(trino_active_workers{t})"), "workers"),
                    stat("Queued queries", "short")
                        .query(&format!("sum(trino_queued_queries{t})"), "queued")
                        .thresholds(&[(20.0, "orange")]),
                    stat("Running queries", "short").query(&format!("sum(trino_running_queries{t})"), "running"),
                ],
            },
            Row {
                title: "Queries".into(),
                panels: vec![
                    ts("Running, queued and blocked", "short")
                        .query(&format!("trino_running_queries{t}"), "{{target}} running")
                        .query(&format!("trino_queued_queries{t}"), "{{target}} queued")
                        .query(&format!("trino_blocked_queries{t}"), "{{target}} blocked"),
                    ts("Execution time p50 / p95 / p99", &unit_of("trino_query_execution_time_seconds", "s"))
                        .query(&q("0.5"), "{{target}} p50")
                        .query(&q("0.95"), "{{target}} p95")
                        .query(&q("0.99"), "{{target}} p99")
                        .thresholds(&[(30.0, "red")]),
                    ts("Finished queries by state", "ops")
                        .query(&format!("sum by (target, state) (rate(trino_queries_total{t}[$__rate_interval]))"), "{{target}} {{state}}"),
                    ts("Failures by type", "ops")
                        .query(&format!("sum by (target, error_type) (rate(trino_failed_queries_total{t}[$__rate_interval]))"), "{{target}} {{error_type}}"),
                ],
            },
        ],
    )
}

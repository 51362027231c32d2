//! Trino coordinators, read from the REST API (`/v1/info`, `/v1/query`, `/ui/api/stats`).
//! Trino has no de-facto exporter, so these names are ours; the gauges use the same
//! definitions as Trino's own web UI. Every series carries the configured `target`, so one
//! exporter can watch several coordinators without their series colliding.

use crate::{Kind, Metric, Source};

const fn m(
    kind: Kind,
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
) -> Metric {
    Metric::new(Source::Trino, kind, name, help, labels)
}

const T: &[&str] = &["target"];

metric!(
    TRINO_UP = m(
        Kind::Gauge,
        "trino_up",
        "1 if the coordinator answered /v1/info with a valid server info in the last cycle, 0 if not.",
        T,
    )
);
metric!(
    TRINO_INFO = m(
        Kind::Info,
        "trino_info",
        "Version and environment the coordinator reports in /v1/info.",
        &["target", "version", "environment", "coordinator"],
    )
);
metric!(
    TRINO_UPTIME = m(
        Kind::Gauge,
        "trino_uptime_seconds",
        "Time since the Trino server started (goes down on a restart).",
        T,
    )
    .unit("seconds")
);
metric!(
    TRINO_STARTING = m(
        Kind::Gauge,
        "trino_starting",
        "1 while the Trino server reports that it is still starting.",
        T,
    )
);
metric!(
    TRINO_NODE_STATE = m(
        Kind::Gauge,
        "trino_node_state",
        "1 for the coordinator's current node state (ACTIVE, INACTIVE, DRAINING, DRAINED, SHUTTING_DOWN, ...), 0 for the others.",
        &["target", "state"],
    )
);
metric!(
    TRINO_RUNNING_QUERIES = m(
        Kind::Gauge,
        "trino_running_queries",
        "Queries in state RUNNING that are not fully blocked (as Trino's web UI counts them).",
        T,
    )
);
metric!(
    TRINO_QUEUED_QUERIES = m(
        Kind::Gauge,
        "trino_queued_queries",
        "Queries in state QUEUED.",
        T,
    )
);
metric!(
    TRINO_BLOCKED_QUERIES = m(
        Kind::Gauge,
        "trino_blocked_queries",
        "Queries in state RUNNING that are fully blocked.",
        T,
    )
);
metric!(
    TRINO_RESERVED_MEMORY = m(
        Kind::Gauge,
        "trino_reserved_memory_bytes",
        "User memory reserved by queries that are not done yet.",
        T,
    )
    .unit("bytes")
);
metric!(
    TRINO_QUERIES = m(
        Kind::Counter,
        "trino_queries_total",
        "Queries that reached FINISHED or FAILED while the exporter watched, each counted once.",
        &["target", "state"],
    )
);
metric!(
    TRINO_FAILED_QUERIES = m(
        Kind::Counter,
        "trino_failed_queries_total",
        "Queries that reached FAILED while the exporter watched, by Trino error type.",
        &["target", "error_type"],
    )
);
metric!(
    TRINO_QUERY_INPUT_BYTES = m(
        Kind::Counter,
        "trino_query_input_bytes_total",
        "Raw input bytes of queries that reached FINISHED or FAILED while the exporter watched.",
        T,
    )
    .unit("bytes")
);
metric!(
    TRINO_QUERY_EXECUTION_TIME = m(
        Kind::Histogram,
        "trino_query_execution_time_seconds",
        "Execution time of each query that reached FINISHED or FAILED, observed once.",
        T,
    )
    .unit("seconds")
);
metric!(
    TRINO_QUERY_QUEUED_TIME = m(
        Kind::Histogram,
        "trino_query_queued_time_seconds",
        "Time in the queue of each query that reached FINISHED or FAILED, observed once.",
        T,
    )
    .unit("seconds")
);
metric!(
    TRINO_QUERY_CPU_TIME = m(
        Kind::Histogram,
        "trino_query_cpu_time_seconds",
        "Total CPU time of each query that reached FINISHED or FAILED, observed once.",
        T,
    )
    .unit("seconds")
);
metric!(
    TRINO_ACTIVE_WORKERS = m(
        Kind::Gauge,
        "trino_active_workers",
        "Active worker nodes (from /ui/api/stats; only with ui_stats enabled).",
        T,
    )
);
metric!(
    TRINO_RUNNING_DRIVERS = m(
        Kind::Gauge,
        "trino_running_drivers",
        "Running drivers of queries that are not done (from /ui/api/stats; only with ui_stats enabled).",
        T,
    )
);
metric!(
    TRINO_AVAILABLE_PROCESSORS = m(
        Kind::Gauge,
        "trino_total_available_processors",
        "Processors available to the cluster (from /ui/api/stats; only with ui_stats enabled).",
        T,
    )
);
metric!(
    TRINO_MALFORMED_QUERIES = m(
        Kind::Counter,
        "lakewatch_trino_malformed_queries_total",
        "Entries of /v1/query skipped because a field could not be parsed (once per query id; entries without an id once per poll).",
        T,
    )
);

/// Trino metrics in reference order.
pub static TRINO: &[&Metric] = &[
    &TRINO_UP,
    &TRINO_INFO,
    &TRINO_UPTIME,
    &TRINO_STARTING,
    &TRINO_NODE_STATE,
    &TRINO_RUNNING_QUERIES,
    &TRINO_QUEUED_QUERIES,
    &TRINO_BLOCKED_QUERIES,
    &TRINO_RESERVED_MEMORY,
    &TRINO_QUERIES,
    &TRINO_FAILED_QUERIES,
    &TRINO_QUERY_INPUT_BYTES,
    &TRINO_QUERY_EXECUTION_TIME,
    &TRINO_QUERY_QUEUED_TIME,
    &TRINO_QUERY_CPU_TIME,
    &TRINO_ACTIVE_WORKERS,
    &TRINO_RUNNING_DRIVERS,
    &TRINO_AVAILABLE_PROCESSORS,
    &TRINO_MALFORMED_QUERIES,
];

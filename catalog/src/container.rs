//! Docker containers. Resource metrics carry cAdvisor's names, labels (`id`, `name`,
//! `image`) and help texts so existing cAdvisor dashboards and alerts keep working;
//! Docker facts cAdvisor lacks are `lakewatch_container_*` with the same three labels,
//! so they join on `name` (or `id`) with the cAdvisor-compatible series.

use crate::{Kind, Metric, Source};

const fn m(
    kind: Kind,
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
) -> Metric {
    Metric::new(Source::Container, kind, name, help, labels)
}

/// cAdvisor's base labels: `id` is the cgroup path (`/docker/<full id>` with the cgroupfs
/// driver), `name` the container name without Docker's leading slash, `image` the image
/// as the container was created with it.
const C: &[&str] = &["id", "name", "image"];
const CPU: &[&str] = &["id", "name", "image", "cpu"];
const IFACE: &[&str] = &["id", "name", "image", "interface"];
const DEVICE: &[&str] = &["id", "name", "image", "device"];

metric!(
    CONTAINER_CPU_USAGE = m(
        Kind::Counter,
        "container_cpu_usage_seconds_total",
        "Cumulative cpu time consumed in seconds.",
        CPU,
    )
    .unit("seconds")
);
metric!(
    CONTAINER_CPU_USER = m(
        Kind::Counter,
        "container_cpu_user_seconds_total",
        "Cumulative user cpu time consumed in seconds.",
        C,
    )
    .unit("seconds")
);
metric!(
    CONTAINER_CPU_SYSTEM = m(
        Kind::Counter,
        "container_cpu_system_seconds_total",
        "Cumulative system cpu time consumed in seconds.",
        C,
    )
    .unit("seconds")
);
metric!(
    CONTAINER_CPU_THROTTLED = m(
        Kind::Counter,
        "container_cpu_cfs_throttled_seconds_total",
        "Total time duration the container has been throttled.",
        C,
    )
    .unit("seconds")
);
metric!(
    CONTAINER_CPU_CFS_PERIODS = m(
        Kind::Counter,
        "container_cpu_cfs_periods_total",
        "Number of elapsed enforcement period intervals.",
        C,
    )
);
metric!(
    CONTAINER_CPU_CFS_THROTTLED_PERIODS = m(
        Kind::Counter,
        "container_cpu_cfs_throttled_periods_total",
        "Number of throttled period intervals.",
        C,
    )
);
metric!(
    CONTAINER_MEMORY_USAGE = m(
        Kind::Gauge,
        "container_memory_usage_bytes",
        "Current memory usage in bytes, including all memory regardless of when it was accessed",
        C,
    )
    .unit("bytes")
);
metric!(
    CONTAINER_MEMORY_WORKING_SET = m(
        Kind::Gauge,
        "container_memory_working_set_bytes",
        "Current working set in bytes.",
        C,
    )
    .unit("bytes")
);
metric!(
    CONTAINER_MEMORY_RSS = m(
        Kind::Gauge,
        "container_memory_rss",
        "Size of RSS in bytes.",
        C,
    )
);
metric!(
    CONTAINER_MEMORY_CACHE = m(
        Kind::Gauge,
        "container_memory_cache",
        "Number of bytes of page cache memory.",
        C,
    )
);
metric!(
    CONTAINER_SPEC_MEMORY_LIMIT = m(
        Kind::Gauge,
        "container_spec_memory_limit_bytes",
        "Memory limit for the container (0 when unlimited).",
        C,
    )
    .unit("bytes")
);
metric!(
    CONTAINER_SPEC_CPU_QUOTA = m(
        Kind::Gauge,
        "container_spec_cpu_quota",
        "CPU quota of the container (only when one is set).",
        C,
    )
);
metric!(
    CONTAINER_SPEC_CPU_PERIOD = m(
        Kind::Gauge,
        "container_spec_cpu_period",
        "CPU period of the container.",
        C,
    )
);
metric!(
    CONTAINER_NETWORK_RECEIVE_BYTES = m(
        Kind::Counter,
        "container_network_receive_bytes_total",
        "Cumulative count of bytes received",
        IFACE,
    )
    .unit("bytes")
);
metric!(
    CONTAINER_NETWORK_RECEIVE_PACKETS = m(
        Kind::Counter,
        "container_network_receive_packets_total",
        "Cumulative count of packets received",
        IFACE,
    )
);
metric!(
    CONTAINER_NETWORK_RECEIVE_ERRORS = m(
        Kind::Counter,
        "container_network_receive_errors_total",
        "Cumulative count of errors encountered while receiving",
        IFACE,
    )
);
metric!(
    CONTAINER_NETWORK_RECEIVE_DROPPED = m(
        Kind::Counter,
        "container_network_receive_packets_dropped_total",
        "Cumulative count of packets dropped while receiving",
        IFACE,
    )
);
metric!(
    CONTAINER_NETWORK_TRANSMIT_BYTES = m(
        Kind::Counter,
        "container_network_transmit_bytes_total",
        "Cumulative count of bytes transmitted",
        IFACE,
    )
    .unit("bytes")
);
metric!(
    CONTAINER_NETWORK_TRANSMIT_PACKETS = m(
        Kind::Counter,
        "container_network_transmit_packets_total",
        "Cumulative count of packets transmitted",
        IFACE,
    )
);
metric!(
    CONTAINER_NETWORK_TRANSMIT_ERRORS = m(
        Kind::Counter,
        "container_network_transmit_errors_total",
        "Cumulative count of errors encountered while transmitting",
        IFACE,
    )
);
metric!(
    CONTAINER_NETWORK_TRANSMIT_DROPPED = m(
        Kind::Counter,
        "container_network_transmit_packets_dropped_total",
        "Cumulative count of packets dropped while transmitting",
        IFACE,
    )
);
metric!(
    CONTAINER_FS_READS_BYTES = m(
        Kind::Counter,
        "container_fs_reads_bytes_total",
        "Cumulative count of bytes read",
        DEVICE,
    )
    .unit("bytes")
);
metric!(
    CONTAINER_FS_WRITES_BYTES = m(
        Kind::Counter,
        "container_fs_writes_bytes_total",
        "Cumulative count of bytes written",
        DEVICE,
    )
    .unit("bytes")
);
metric!(
    CONTAINER_OOM_EVENTS = m(
        Kind::Counter,
        "container_oom_events_total",
        "Count of out of memory events observed for the container",
        C,
    )
);
metric!(
    CONTAINER_PROCESSES = m(
        Kind::Gauge,
        "container_processes",
        "Number of processes running inside the container (tasks in its pids cgroup).",
        C,
    )
);
metric!(
    CONTAINER_START_TIME = m(
        Kind::Gauge,
        "container_start_time_seconds",
        "Start time of the container since unix epoch in seconds.",
        C,
    )
    .unit("seconds")
);
metric!(
    CONTAINER_LAST_SEEN = m(
        Kind::Gauge,
        "container_last_seen",
        "Last time a container was seen by the exporter",
        C,
    )
);
metric!(
    CONTAINER_STATE = m(
        Kind::Gauge,
        "lakewatch_container_state",
        "1 for the container's current Docker state (created, running, paused, restarting, removing, exited, dead), 0 for the others.",
        &["id", "name", "image", "state"],
    )
);
metric!(
    CONTAINER_HEALTH_STATUS = m(
        Kind::Gauge,
        "lakewatch_container_health_status",
        "1 for the container's current health (none, starting, healthy, unhealthy), 0 for the others.",
        &["id", "name", "image", "status"],
    )
);
metric!(
    CONTAINER_RESTARTS = m(
        Kind::Counter,
        "lakewatch_container_restarts_total",
        "Times Docker restarted the container under its restart policy (docker inspect's RestartCount).",
        C,
    )
);
metric!(
    CONTAINER_EXIT_CODE = m(
        Kind::Gauge,
        "lakewatch_container_exit_code",
        "Exit code of the container's last run (0 while it has never exited).",
        C,
    )
);
metric!(
    CONTAINER_INFO = m(
        Kind::Info,
        "lakewatch_container_info",
        "One series per container; each allow-listed Docker label adds a label named container_label_ plus the key with every character outside [a-zA-Z0-9_] replaced by _.",
        C,
    )
);
/// Prefix of the extra labels [`CONTAINER_INFO`] carries, one per allow-listed Docker
/// label (cAdvisor's prefix for the same labels).
pub const CONTAINER_LABEL_PREFIX: &str = "container_label_";
metric!(
    CONTAINERS_DROPPED = m(
        Kind::Gauge,
        "lakewatch_containers_dropped",
        "Containers that passed the filters but were not exported because max_containers was reached.",
        &[],
    )
);

/// Container metrics in reference order.
pub static CONTAINER: &[&Metric] = &[
    &CONTAINER_CPU_USAGE,
    &CONTAINER_CPU_USER,
    &CONTAINER_CPU_SYSTEM,
    &CONTAINER_CPU_CFS_PERIODS,
    &CONTAINER_CPU_CFS_THROTTLED_PERIODS,
    &CONTAINER_CPU_THROTTLED,
    &CONTAINER_MEMORY_USAGE,
    &CONTAINER_MEMORY_WORKING_SET,
    &CONTAINER_MEMORY_RSS,
    &CONTAINER_MEMORY_CACHE,
    &CONTAINER_SPEC_MEMORY_LIMIT,
    &CONTAINER_SPEC_CPU_QUOTA,
    &CONTAINER_SPEC_CPU_PERIOD,
    &CONTAINER_NETWORK_RECEIVE_BYTES,
    &CONTAINER_NETWORK_RECEIVE_PACKETS,
    &CONTAINER_NETWORK_RECEIVE_ERRORS,
    &CONTAINER_NETWORK_RECEIVE_DROPPED,
    &CONTAINER_NETWORK_TRANSMIT_BYTES,
    &CONTAINER_NETWORK_TRANSMIT_PACKETS,
    &CONTAINER_NETWORK_TRANSMIT_ERRORS,
    &CONTAINER_NETWORK_TRANSMIT_DROPPED,
    &CONTAINER_FS_READS_BYTES,
    &CONTAINER_FS_WRITES_BYTES,
    &CONTAINER_OOM_EVENTS,
    &CONTAINER_PROCESSES,
    &CONTAINER_START_TIME,
    &CONTAINER_LAST_SEEN,
    &CONTAINER_STATE,
    &CONTAINER_HEALTH_STATUS,
    &CONTAINER_RESTARTS,
    &CONTAINER_EXIT_CODE,
    &CONTAINER_INFO,
    &CONTAINERS_DROPPED,
];

//! The exporter's own health: per-collector status, build and process facts.

use crate::{Kind, Metric, Source};

const fn m(
    kind: Kind,
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
) -> Metric {
    Metric::new(Source::Exporter, kind, name, help, labels)
}

const COLLECTOR_TARGET: &[&str] = &["collector", "target"];

const DISCOVERY: &[&str] = &["collector", "source"];

metric!(
    COLLECTOR_UP = m(
        Kind::Gauge,
        "lakewatch_collector_up",
        "1 if the collector's last cycle for this target succeeded, 0 if it failed or timed out.",
        COLLECTOR_TARGET,
    )
);
metric!(
    COLLECTOR_DURATION = m(
        Kind::Gauge,
        "lakewatch_collector_duration_seconds",
        "Wall time of the collector's last cycle for this target.",
        COLLECTOR_TARGET,
    )
    .unit("seconds")
);
metric!(
    COLLECTOR_LAST_SUCCESS = m(
        Kind::Gauge,
        "lakewatch_collector_last_success_timestamp_seconds",
        "Unix time of the collector's last successful cycle for this target (0 if none yet).",
        COLLECTOR_TARGET,
    )
    .unit("seconds")
);
metric!(
    COLLECTOR_ERRORS = m(
        Kind::Counter,
        "lakewatch_collector_errors_total",
        "Failed collector cycles by error kind (timeout, io, connect, auth, http, parse, panic, ...).",
        &["collector", "target", "kind"],
    )
);
metric!(
    SERIES_DROPPED = m(
        Kind::Counter,
        "lakewatch_series_dropped_total",
        "Series dropped because a collector target produced more than limits.series_per_target in a cycle.",
        COLLECTOR_TARGET,
    )
);
metric!(
    BUILD_INFO = m(
        Kind::Info,
        "lakewatch_build_info",
        "Version, git revision and Rust compiler of the running lakewatch-exporter.",
        &["version", "revision", "rustversion"],
    )
);
metric!(
    CONFIG_LAST_RELOAD_SUCCESSFUL = m(
        Kind::Gauge,
        "lakewatch_config_last_reload_successful",
        "1 if the last configuration reload succeeded (or none was tried since start), 0 if it failed and the previous configuration still runs.",
        &[],
    )
);
metric!(
    CONFIG_LAST_RELOAD_SUCCESS = m(
        Kind::Gauge,
        "lakewatch_config_last_reload_success_timestamp_seconds",
        "Unix time of the last successful configuration load: start-up or reload.",
        &[],
    )
    .unit("seconds")
);
metric!(
    DISCOVERY_TARGETS = m(
        Kind::Gauge,
        "lakewatch_discovery_targets",
        "Targets of the collector that discovery (source file or docker) currently supplies, collisions and broken definitions left out.",
        DISCOVERY,
    )
);
metric!(
    DISCOVERY_ERRORS = m(
        Kind::Counter,
        "lakewatch_discovery_errors_total",
        "Discovery failures: a targets file or container that could not be read or validated (its previous targets are kept), or a discovered target whose name was already taken.",
        DISCOVERY,
    )
);
metric!(
    DISCOVERY_LAST_REFRESH_SUCCESSFUL = m(
        Kind::Gauge,
        "lakewatch_discovery_last_refresh_successful",
        "1 if every definition the discovery source last read was valid and applied, 0 if one is broken or collides (see the landing page for which).",
        DISCOVERY,
    )
);
metric!(
    PROCESS_CPU = m(
        Kind::Counter,
        "process_cpu_seconds_total",
        "Total user and system CPU time spent by the exporter.",
        &[],
    )
    .unit("seconds")
);
metric!(
    PROCESS_RSS = m(
        Kind::Gauge,
        "process_resident_memory_bytes",
        "Resident memory size of the exporter.",
        &[],
    )
    .unit("bytes")
);
metric!(
    PROCESS_OPEN_FDS = m(
        Kind::Gauge,
        "process_open_fds",
        "Number of open file descriptors of the exporter.",
        &[],
    )
);
metric!(
    PROCESS_START_TIME = m(
        Kind::Gauge,
        "process_start_time_seconds",
        "Start time of the exporter since the unix epoch.",
        &[],
    )
    .unit("seconds")
);

/// Exporter self-metrics in reference order.
pub static EXPORTER: &[&Metric] = &[
    &COLLECTOR_UP,
    &COLLECTOR_DURATION,
    &COLLECTOR_LAST_SUCCESS,
    &COLLECTOR_ERRORS,
    &SERIES_DROPPED,
    &BUILD_INFO,
    &CONFIG_LAST_RELOAD_SUCCESSFUL,
    &CONFIG_LAST_RELOAD_SUCCESS,
    &DISCOVERY_TARGETS,
    &DISCOVERY_ERRORS,
    &DISCOVERY_LAST_REFRESH_SUCCESSFUL,
    &PROCESS_CPU,
    &PROCESS_RSS,
    &PROCESS_OPEN_FDS,
    &PROCESS_START_TIME,
];

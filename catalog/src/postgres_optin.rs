//! The rest of postgres_exporter 0.20's opt-in collectors: `buffercache_summary`,
//! `process_idle`, `stat_activity_autovacuum`, `stat_wal_receiver`,
//! `statio_user_indexes` and `xlog_location`. Names, types and labels as 0.20 writes
//! them, plus `server`; its counters without `_total` are [`Kind::Unknown`], as in
//! [`crate::postgres`].

use crate::{Kind, Metric, Source};

const fn m(
    kind: Kind,
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
) -> Metric {
    Metric::new(Source::Postgres, kind, name, help, labels)
}

const SERVER: &[&str] = &["server"];
const RECEIVER: &[&str] = &["server", "upstream_host", "slot_name", "status"];
const INDEX: &[&str] = &["server", "schemaname", "relname", "indexrelname"];

metric!(
    PG_BUFFERCACHE_SUMMARY_BUFFERS_USED = m(
        Kind::Gauge,
        "pg_buffercache_summary_buffers_used",
        "Number of used shared buffers (Postgres 16+ with the pg_buffercache extension; opt-in: buffercache_summary).",
        SERVER,
    )
);
metric!(
    PG_BUFFERCACHE_SUMMARY_BUFFERS_UNUSED = m(
        Kind::Gauge,
        "pg_buffercache_summary_buffers_unused",
        "Number of unused shared buffers (Postgres 16+ with the pg_buffercache extension; opt-in: buffercache_summary).",
        SERVER,
    )
);
metric!(
    PG_BUFFERCACHE_SUMMARY_BUFFERS_DIRTY = m(
        Kind::Gauge,
        "pg_buffercache_summary_buffers_dirty",
        "Number of dirty shared buffers (Postgres 16+ with the pg_buffercache extension; opt-in: buffercache_summary).",
        SERVER,
    )
);
metric!(
    PG_BUFFERCACHE_SUMMARY_BUFFERS_PINNED = m(
        Kind::Gauge,
        "pg_buffercache_summary_buffers_pinned",
        "Number of pinned shared buffers (Postgres 16+ with the pg_buffercache extension; opt-in: buffercache_summary).",
        SERVER,
    )
);
metric!(
    PG_BUFFERCACHE_SUMMARY_USAGECOUNT_AVG = m(
        Kind::Gauge,
        "pg_buffercache_summary_usagecount_avg",
        "Average usage count of used shared buffers (absent when none is used; opt-in: buffercache_summary).",
        SERVER,
    )
);
metric!(
    PG_PROCESS_IDLE_SECONDS = m(
        Kind::Histogram,
        "pg_process_idle_seconds",
        "How long each idle server process has been in its state, by state (idle, idle in transaction, ...) and application (opt-in: process_idle).",
        &["server", "state", "application_name"],
    )
    .unit("seconds")
);
metric!(
    PG_STAT_ACTIVITY_AUTOVACUUM_TIMESTAMP = m(
        Kind::Gauge,
        "pg_stat_activity_autovacuum_timestamp_seconds",
        "Start time of the running autovacuum worker's transaction on the table (unix seconds; opt-in: stat_activity_autovacuum).",
        &["server", "relname"],
    )
    .unit("seconds")
);
metric!(
    PG_STAT_WAL_RECEIVER_RECEIVE_START_LSN = m(
        Kind::Unknown,
        "pg_stat_wal_receiver_receive_start_lsn",
        "First WAL position used when the WAL receiver started, in bytes (low 52 bits; standbys only; opt-in: stat_wal_receiver).",
        RECEIVER,
    )
);
metric!(
    PG_STAT_WAL_RECEIVER_RECEIVE_START_TLI = m(
        Kind::Gauge,
        "pg_stat_wal_receiver_receive_start_tli",
        "First timeline used when the WAL receiver started (standbys only; opt-in: stat_wal_receiver).",
        RECEIVER,
    )
);
metric!(
    PG_STAT_WAL_RECEIVER_FLUSHED_LSN = m(
        Kind::Unknown,
        "pg_stat_wal_receiver_flushed_lsn",
        "Last WAL position received and flushed to disk, in bytes (low 52 bits; standbys only; opt-in: stat_wal_receiver).",
        RECEIVER,
    )
);
metric!(
    PG_STAT_WAL_RECEIVER_RECEIVED_TLI = m(
        Kind::Gauge,
        "pg_stat_wal_receiver_received_tli",
        "Timeline of the last WAL position received and flushed to disk (standbys only; opt-in: stat_wal_receiver).",
        RECEIVER,
    )
);
metric!(
    PG_STAT_WAL_RECEIVER_LAST_MSG_SEND_TIME = m(
        Kind::Unknown,
        "pg_stat_wal_receiver_last_msg_send_time",
        "Send time of the last message received from the upstream WAL sender (unix seconds; standbys only; opt-in: stat_wal_receiver).",
        RECEIVER,
    )
);
metric!(
    PG_STAT_WAL_RECEIVER_LAST_MSG_RECEIPT_TIME = m(
        Kind::Unknown,
        "pg_stat_wal_receiver_last_msg_receipt_time",
        "Receipt time of the last message received from the upstream WAL sender (unix seconds; standbys only; opt-in: stat_wal_receiver).",
        RECEIVER,
    )
);
metric!(
    PG_STAT_WAL_RECEIVER_LATEST_END_LSN = m(
        Kind::Unknown,
        "pg_stat_wal_receiver_latest_end_lsn",
        "Last WAL position reported to the upstream WAL sender, in bytes (low 52 bits; standbys only; opt-in: stat_wal_receiver).",
        RECEIVER,
    )
);
metric!(
    PG_STAT_WAL_RECEIVER_LATEST_END_TIME = m(
        Kind::Unknown,
        "pg_stat_wal_receiver_latest_end_time",
        "Time of the last WAL position reported to the upstream WAL sender (unix seconds; standbys only; opt-in: stat_wal_receiver).",
        RECEIVER,
    )
);
metric!(
    PG_STAT_WAL_RECEIVER_UPSTREAM_NODE = m(
        Kind::Gauge,
        "pg_stat_wal_receiver_upstream_node",
        "repmgr node ID of the upstream, from a slot named repmgr_slot_<id> (absent otherwise; opt-in: stat_wal_receiver).",
        RECEIVER,
    )
);
metric!(
    PG_STATIO_USER_INDEXES_IDX_BLKS_READ = m(
        Kind::Counter,
        "pg_statio_user_indexes_idx_blks_read_total",
        "Number of disk blocks read from this index (indexes of the tables with per-table series; opt-in: statio_user_indexes).",
        INDEX,
    )
);
metric!(
    PG_STATIO_USER_INDEXES_IDX_BLKS_HIT = m(
        Kind::Counter,
        "pg_statio_user_indexes_idx_blks_hit_total",
        "Number of buffer hits in this index (indexes of the tables with per-table series; opt-in: statio_user_indexes).",
        INDEX,
    )
);
metric!(
    PG_XLOG_LOCATION_BYTES = m(
        Kind::Gauge,
        "pg_xlog_location_bytes",
        "WAL position written on a primary or replayed on a standby, in bytes (low 52 bits; opt-in: xlog_location).",
        SERVER,
    )
    .unit("bytes")
);

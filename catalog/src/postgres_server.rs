//! Postgres server-wide series: the background writer and checkpointer, and what
//! postgres_exporter 0.20 added after 0.11: WAL, archiving, replication slots, roles,
//! conflicts, and its opt-in collectors (postmaster, database_wraparound,
//! long_running_transactions). Names, types and labels as 0.20 writes them, plus `server`.

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
const DB: &[&str] = &["server", "datid", "datname"];
const SLOT: &[&str] = &["server", "slot_name", "slot_type"];

metric!(
    PG_DATABASE_CONNECTION_LIMIT = m(
        Kind::Gauge,
        "pg_database_connection_limit",
        "Connection limit set for the database (-1 for none).",
        &["server", "datname"],
    )
);
metric!(
    PG_ROLES_CONNECTION_LIMIT = m(
        Kind::Gauge,
        "pg_roles_connection_limit",
        "Connection limit set for the role (-1 for none).",
        &["server", "rolname"],
    )
);
metric!(
    PG_STAT_DATABASE_STATS_RESET = m(
        Kind::Unknown,
        "pg_stat_database_stats_reset",
        "Time at which the database's statistics were last reset (unix seconds, 0 for never).",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_ACTIVE_TIME = m(
        Kind::Counter,
        "pg_stat_database_active_time_seconds_total",
        "Time spent executing SQL statements in this database (Postgres 14+).",
        DB,
    )
    .unit("seconds")
);
metric!(
    PG_STAT_DATABASE_CONFLICTS_CONFL_TABLESPACE = m(
        Kind::Unknown,
        "pg_stat_database_conflicts_confl_tablespace",
        "Number of queries in this database canceled due to dropped tablespaces (standbys only).",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_CONFLICTS_CONFL_LOCK = m(
        Kind::Unknown,
        "pg_stat_database_conflicts_confl_lock",
        "Number of queries in this database canceled due to lock timeouts (standbys only).",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_CONFLICTS_CONFL_SNAPSHOT = m(
        Kind::Unknown,
        "pg_stat_database_conflicts_confl_snapshot",
        "Number of queries in this database canceled due to old snapshots (standbys only).",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_CONFLICTS_CONFL_BUFFERPIN = m(
        Kind::Unknown,
        "pg_stat_database_conflicts_confl_bufferpin",
        "Number of queries in this database canceled due to pinned buffers (standbys only).",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_CONFLICTS_CONFL_DEADLOCK = m(
        Kind::Unknown,
        "pg_stat_database_conflicts_confl_deadlock",
        "Number of queries in this database canceled due to deadlocks (standbys only).",
        DB,
    )
);
metric!(
    PG_REPLICATION_LAST_REPLAY = m(
        Kind::Gauge,
        "pg_replication_last_replay_seconds",
        "Age of the last transaction replayed in seconds (0 on a primary).",
        SERVER,
    )
    .unit("seconds")
);
metric!(
    PG_STAT_REPLICATION_CURRENT_WAL_LSN = m(
        Kind::Gauge,
        "pg_stat_replication_pg_current_wal_lsn_bytes",
        "WAL position of the server in bytes, per connected standby.",
        &[
            "server",
            "application_name",
            "client_addr",
            "state",
            "slot_name",
        ],
    )
    .unit("bytes")
);
metric!(
    PG_REPLICATION_SLOTS_CURRENT_WAL_LSN = m(
        Kind::Gauge,
        "pg_replication_slots_slot_current_wal_lsn",
        "Current WAL position of the server in bytes, per slot.",
        SLOT,
    )
);
metric!(
    PG_REPLICATION_SLOTS_CONFIRMED_FLUSH_LSN = m(
        Kind::Gauge,
        "pg_replication_slots_slot_confirmed_flush_lsn",
        "Last WAL position in bytes the slot's consumer confirmed (active logical slots only).",
        SLOT,
    )
);
metric!(
    PG_REPLICATION_SLOTS_IS_ACTIVE = m(
        Kind::Gauge,
        "pg_replication_slots_slot_is_active",
        "1 if the replication slot is in use.",
        SLOT,
    )
);
metric!(
    PG_REPLICATION_SLOTS_SAFE_WAL_SIZE = m(
    Kind::Gauge,
    "pg_replication_slots_safe_wal_size_bytes",
    "Bytes of WAL that can still be written before the slot is lost (absent without max_slot_wal_keep_size).",
    SLOT,
)
    .unit("bytes")
);
metric!(
    PG_REPLICATION_SLOTS_WAL_STATUS = m(
        Kind::Gauge,
        "pg_replication_slots_wal_status",
        "Availability of the WAL the slot claims, in the wal_status label (reserved, extended, unreserved, lost); value 1.",
        &["server", "slot_name", "slot_type", "wal_status"],
    )
);
metric!(
    PG_STAT_ARCHIVER_ARCHIVED_COUNT = m(
        Kind::Unknown,
        "pg_stat_archiver_archived_count",
        "Number of WAL files that have been successfully archived.",
        SERVER,
    )
);
metric!(
    PG_STAT_ARCHIVER_FAILED_COUNT = m(
        Kind::Unknown,
        "pg_stat_archiver_failed_count",
        "Number of failed attempts for archiving WAL files.",
        SERVER,
    )
);
metric!(
    PG_STAT_ARCHIVER_LAST_ARCHIVE_AGE = m(
        Kind::Gauge,
        "pg_stat_archiver_last_archive_age",
        "Seconds since the last WAL file was successfully archived (absent before the first).",
        SERVER,
    )
);
metric!(
    PG_WAL_SEGMENTS = m(
        Kind::Gauge,
        "pg_wal_segments",
        "Number of WAL segment files in pg_wal.",
        SERVER,
    )
);
metric!(
    PG_WAL_SIZE = m(
        Kind::Gauge,
        "pg_wal_size_bytes",
        "Total size of the WAL segment files in pg_wal.",
        SERVER,
    )
    .unit("bytes")
);
metric!(
    PG_POSTMASTER_START_TIME = m(
        Kind::Gauge,
        "pg_postmaster_start_time_seconds",
        "Time at which the server started (unix seconds; opt-in: postmaster).",
        SERVER,
    )
    .unit("seconds")
);
metric!(
    PG_DATABASE_WRAPAROUND_AGE_DATFROZENXID = m(
        Kind::Gauge,
        "pg_database_wraparound_age_datfrozenxid_seconds",
        "Age in transactions of the database's oldest unfrozen transaction ID (opt-in: database_wraparound).",
        &["server", "datname"],
    )
);
metric!(
    PG_DATABASE_WRAPAROUND_AGE_DATMINMXID = m(
        Kind::Gauge,
        "pg_database_wraparound_age_datminmxid_seconds",
        "Age in multixacts of the database's oldest multixact ID (opt-in: database_wraparound).",
        &["server", "datname"],
    )
);
metric!(
    PG_LONG_RUNNING_TRANSACTIONS = m(
        Kind::Gauge,
        "pg_long_running_transactions",
        "Number of open transactions not idle (opt-in: long_running_transactions).",
        SERVER,
    )
);
metric!(
    PG_LONG_RUNNING_TRANSACTIONS_OLDEST = m(
        Kind::Gauge,
        "pg_long_running_transactions_oldest_timestamp_seconds",
        "Age in seconds of the oldest open transaction not idle (0 without one; opt-in: long_running_transactions).",
        SERVER,
    )
);
metric!(
    PG_STAT_STATEMENTS_BLOCK_READ_SECONDS = m(
    Kind::Counter,
    "pg_stat_statements_block_read_seconds_total",
    "Time the statement spent reading blocks, with track_io_timing on (top-N statements by total time only).",
    &["server", "user", "datname", "queryid"],
)
    .unit("seconds")
);
metric!(
    PG_STAT_STATEMENTS_BLOCK_WRITE_SECONDS = m(
    Kind::Counter,
    "pg_stat_statements_block_write_seconds_total",
    "Time the statement spent writing blocks, with track_io_timing on (top-N statements by total time only).",
    &["server", "user", "datname", "queryid"],
)
    .unit("seconds")
);
metric!(
    PG_STAT_BGWRITER_CHECKPOINTS_TIMED = m(
        Kind::Counter,
        "pg_stat_bgwriter_checkpoints_timed_total",
        "Number of scheduled checkpoints that have been performed.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_CHECKPOINTS_REQ = m(
        Kind::Counter,
        "pg_stat_bgwriter_checkpoints_req_total",
        "Number of requested checkpoints that have been performed.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_CHECKPOINT_WRITE_TIME = m(
        Kind::Counter,
        "pg_stat_bgwriter_checkpoint_write_time_total",
        "Time spent writing checkpoint files to disk, in milliseconds.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_CHECKPOINT_SYNC_TIME = m(
        Kind::Counter,
        "pg_stat_bgwriter_checkpoint_sync_time_total",
        "Time spent synchronizing checkpoint files to disk, in milliseconds.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_BUFFERS_CHECKPOINT = m(
        Kind::Counter,
        "pg_stat_bgwriter_buffers_checkpoint_total",
        "Number of buffers written during checkpoints.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_BUFFERS_CLEAN = m(
        Kind::Counter,
        "pg_stat_bgwriter_buffers_clean_total",
        "Number of buffers written by the background writer.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_MAXWRITTEN_CLEAN = m(
        Kind::Counter,
        "pg_stat_bgwriter_maxwritten_clean_total",
        "Number of times the background writer stopped a cleaning scan because it had written too many buffers.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_BUFFERS_BACKEND = m(
        Kind::Counter,
        "pg_stat_bgwriter_buffers_backend_total",
        "Number of buffers written directly by a backend.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_BUFFERS_BACKEND_FSYNC = m(
        Kind::Counter,
        "pg_stat_bgwriter_buffers_backend_fsync_total",
        "Number of times a backend had to execute its own fsync call.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_BUFFERS_ALLOC = m(
        Kind::Counter,
        "pg_stat_bgwriter_buffers_alloc_total",
        "Number of buffers allocated.",
        SERVER,
    )
);
metric!(
    PG_STAT_BGWRITER_STATS_RESET = m(
        Kind::Counter,
        "pg_stat_bgwriter_stats_reset_total",
        "Time at which these statistics were last reset (unix seconds).",
        SERVER,
    )
);
metric!(
    PG_STAT_CHECKPOINTER_NUM_TIMED = m(
        Kind::Counter,
        "pg_stat_checkpointer_num_timed_total",
        "Number of scheduled checkpoints that have been performed (Postgres 17+).",
        SERVER,
    )
);
metric!(
    PG_STAT_CHECKPOINTER_NUM_REQUESTED = m(
        Kind::Counter,
        "pg_stat_checkpointer_num_requested_total",
        "Number of requested checkpoints that have been performed (Postgres 17+).",
        SERVER,
    )
);
metric!(
    PG_STAT_CHECKPOINTER_RESTARTPOINTS_TIMED = m(
        Kind::Counter,
        "pg_stat_checkpointer_restartpoints_timed_total",
        "Number of scheduled restartpoints (Postgres 17+).",
        SERVER,
    )
);
metric!(
    PG_STAT_CHECKPOINTER_RESTARTPOINTS_REQ = m(
        Kind::Counter,
        "pg_stat_checkpointer_restartpoints_req_total",
        "Number of requested restartpoints (Postgres 17+).",
        SERVER,
    )
);
metric!(
    PG_STAT_CHECKPOINTER_RESTARTPOINTS_DONE = m(
        Kind::Counter,
        "pg_stat_checkpointer_restartpoints_done_total",
        "Number of restartpoints that have been performed (Postgres 17+).",
        SERVER,
    )
);
metric!(
    PG_STAT_CHECKPOINTER_WRITE_TIME = m(
        Kind::Counter,
        "pg_stat_checkpointer_write_time_total",
        "Time spent writing checkpoint files to disk, in milliseconds (Postgres 17+).",
        SERVER,
    )
);
metric!(
    PG_STAT_CHECKPOINTER_SYNC_TIME = m(
        Kind::Counter,
        "pg_stat_checkpointer_sync_time_total",
        "Time spent synchronizing checkpoint files to disk, in milliseconds (Postgres 17+).",
        SERVER,
    )
);
metric!(
    PG_STAT_CHECKPOINTER_BUFFERS_WRITTEN = m(
        Kind::Counter,
        "pg_stat_checkpointer_buffers_written_total",
        "Number of buffers written during checkpoints and restartpoints (Postgres 17+).",
        SERVER,
    )
);
metric!(
    PG_STAT_CHECKPOINTER_STATS_RESET = m(
        Kind::Counter,
        "pg_stat_checkpointer_stats_reset_total",
        "Time at which these statistics were last reset (unix seconds, Postgres 17+).",
        SERVER,
    )
);

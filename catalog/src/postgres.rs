//! Postgres, with postgres_exporter's names, types and labels (`server` = host:port of
//! the target, as postgres_exporter sets it), so existing dashboards and alerts keep
//! working. postgres_exporter's counters without `_total` (`pg_stat_database_*`) are
//! [`Kind::Unknown`]: OpenMetrics would otherwise force a `_total` suffix and every
//! community dashboard would miss them. Lakewatch's additions use `lakewatch_pg_`.

use crate::postgres_optin::*;
use crate::postgres_server::*;
use crate::postgres_tables::*;
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
/// postgres_exporter 0.20's `stat_replication` labels (0.11 had no slot_name).
const STANDBY: &[&str] = &[
    "server",
    "application_name",
    "client_addr",
    "state",
    "slot_name",
];
/// postgres_exporter 0.20's `stat_activity` labels (0.11 had only datname and state).
const ACTIVITY: &[&str] = &[
    "server",
    "datname",
    "state",
    "usename",
    "application_name",
    "backend_type",
    "wait_event_type",
    "wait_event",
];

metric!(
    PG_UP = m(
        Kind::Gauge,
        "pg_up",
        "Whether the last cycle could connect to the server (1 for yes, 0 for no).",
        SERVER,
    )
);
metric!(
    PG_STATIC = m(
        Kind::Unknown,
        "pg_static",
        "Version string as reported by postgres (value 1).",
        &["server", "short_version", "version"],
    )
);
metric!(
    PG_STAT_ACTIVITY_COUNT = m(
        Kind::Gauge,
        "pg_stat_activity_count",
        "Number of connections in this state, by user, application, backend type and wait event (0 for known states with none).",
        ACTIVITY,
    )
);
metric!(
    PG_STAT_ACTIVITY_MAX_TX_DURATION = m(
        Kind::Gauge,
        "pg_stat_activity_max_tx_duration",
        "Max duration in seconds any transaction in this state has been running.",
        ACTIVITY,
    )
);
metric!(
    PG_STAT_DATABASE_NUMBACKENDS = m(
        Kind::Gauge,
        "pg_stat_database_numbackends",
        "Number of backends currently connected to this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_XACT_COMMIT = m(
        Kind::Unknown,
        "pg_stat_database_xact_commit",
        "Number of transactions in this database that have been committed.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_XACT_ROLLBACK = m(
        Kind::Unknown,
        "pg_stat_database_xact_rollback",
        "Number of transactions in this database that have been rolled back.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_BLKS_READ = m(
        Kind::Unknown,
        "pg_stat_database_blks_read",
        "Number of disk blocks read in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_BLKS_HIT = m(
        Kind::Unknown,
        "pg_stat_database_blks_hit",
        "Number of times disk blocks were found already in the buffer cache.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_TUP_RETURNED = m(
        Kind::Unknown,
        "pg_stat_database_tup_returned",
        "Number of rows returned by queries in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_TUP_FETCHED = m(
        Kind::Unknown,
        "pg_stat_database_tup_fetched",
        "Number of rows fetched by queries in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_TUP_INSERTED = m(
        Kind::Unknown,
        "pg_stat_database_tup_inserted",
        "Number of rows inserted by queries in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_TUP_UPDATED = m(
        Kind::Unknown,
        "pg_stat_database_tup_updated",
        "Number of rows updated by queries in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_TUP_DELETED = m(
        Kind::Unknown,
        "pg_stat_database_tup_deleted",
        "Number of rows deleted by queries in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_CONFLICTS = m(
        Kind::Unknown,
        "pg_stat_database_conflicts",
        "Number of queries canceled due to conflicts with recovery in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_TEMP_FILES = m(
        Kind::Unknown,
        "pg_stat_database_temp_files",
        "Number of temporary files created by queries in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_TEMP_BYTES = m(
        Kind::Unknown,
        "pg_stat_database_temp_bytes",
        "Total amount of data written to temporary files by queries in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_DEADLOCKS = m(
        Kind::Unknown,
        "pg_stat_database_deadlocks",
        "Number of deadlocks detected in this database.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_BLK_READ_TIME = m(
        Kind::Unknown,
        "pg_stat_database_blk_read_time",
        "Time spent reading data file blocks by backends in this database, in milliseconds.",
        DB,
    )
);
metric!(
    PG_STAT_DATABASE_BLK_WRITE_TIME = m(
        Kind::Unknown,
        "pg_stat_database_blk_write_time",
        "Time spent writing data file blocks by backends in this database, in milliseconds.",
        DB,
    )
);
metric!(
    PG_DATABASE_SIZE = m(
        Kind::Gauge,
        "pg_database_size_bytes",
        "Disk space used by the database.",
        &["server", "datname"],
    )
    .unit("bytes")
);
metric!(
    PG_LOCKS_COUNT = m(
        Kind::Gauge,
        "pg_locks_count",
        "Number of locks held, by database and lock mode.",
        &["server", "datname", "mode"],
    )
);
metric!(
    PG_REPLICATION_LAG = m(
        Kind::Gauge,
        "pg_replication_lag_seconds",
        "Replication lag behind the primary in seconds (0 on a primary).",
        SERVER,
    )
    .unit("seconds")
);
metric!(
    PG_REPLICATION_IS_REPLICA = m(
        Kind::Gauge,
        "pg_replication_is_replica",
        "1 if the server is in recovery (a replica), 0 otherwise.",
        SERVER,
    )
);
metric!(
    PG_STAT_REPLICATION_WAL_LSN_DIFF = m(
        Kind::Gauge,
        "pg_stat_replication_pg_wal_lsn_diff",
        "Bytes of WAL the standby has yet to replay (primary only).",
        STANDBY,
    )
);
metric!(
    PG_REPLICATION_SLOTS_ACTIVE = m(
        Kind::Gauge,
        "pg_replication_slots_active",
        "1 if the replication slot is in use.",
        &["server", "slot_name", "database"],
    )
);
metric!(
    PG_REPLICATION_SLOTS_WAL_LSN_DIFF = m(
        Kind::Gauge,
        "pg_replication_slots_pg_wal_lsn_diff",
        "Bytes of WAL retained by the replication slot.",
        &["server", "slot_name", "database"],
    )
);
metric!(
    PG_SETTINGS_MAX_CONNECTIONS = m(
        Kind::Gauge,
        "pg_settings_max_connections",
        "Sets the maximum number of concurrent connections.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_SUPERUSER_RESERVED_CONNECTIONS = m(
        Kind::Gauge,
        "pg_settings_superuser_reserved_connections",
        "Sets the number of connection slots reserved for superusers.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_SHARED_BUFFERS_BYTES = m(
        Kind::Gauge,
        "pg_settings_shared_buffers_bytes",
        "Sets the number of shared memory buffers used by the server.",
        SERVER,
    )
    .unit("bytes")
);
metric!(
    PG_SETTINGS_WORK_MEM_BYTES = m(
        Kind::Gauge,
        "pg_settings_work_mem_bytes",
        "Sets the maximum memory to be used for query workspaces.",
        SERVER,
    )
    .unit("bytes")
);
metric!(
    PG_SETTINGS_MAINTENANCE_WORK_MEM_BYTES = m(
        Kind::Gauge,
        "pg_settings_maintenance_work_mem_bytes",
        "Sets the maximum memory to be used for maintenance operations.",
        SERVER,
    )
    .unit("bytes")
);
metric!(
    PG_SETTINGS_EFFECTIVE_CACHE_SIZE_BYTES = m(
        Kind::Gauge,
        "pg_settings_effective_cache_size_bytes",
        "Sets the planner's assumption about the total size of the data caches.",
        SERVER,
    )
    .unit("bytes")
);
metric!(
    PG_SETTINGS_MAX_WAL_SIZE_BYTES = m(
        Kind::Gauge,
        "pg_settings_max_wal_size_bytes",
        "Sets the WAL size that triggers a checkpoint.",
        SERVER,
    )
    .unit("bytes")
);
metric!(
    PG_SETTINGS_MIN_WAL_SIZE_BYTES = m(
        Kind::Gauge,
        "pg_settings_min_wal_size_bytes",
        "Sets the minimum size to shrink the WAL to.",
        SERVER,
    )
    .unit("bytes")
);
metric!(
    PG_SETTINGS_CHECKPOINT_TIMEOUT_SECONDS = m(
        Kind::Gauge,
        "pg_settings_checkpoint_timeout_seconds",
        "Sets the maximum time between automatic WAL checkpoints.",
        SERVER,
    )
    .unit("seconds")
);
metric!(
    PG_SETTINGS_MAX_LOCKS_PER_TRANSACTION = m(
        Kind::Gauge,
        "pg_settings_max_locks_per_transaction",
        "Sets the maximum number of locks per transaction.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_MAX_PREPARED_TRANSACTIONS = m(
        Kind::Gauge,
        "pg_settings_max_prepared_transactions",
        "Sets the maximum number of simultaneously prepared transactions.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_MAX_WORKER_PROCESSES = m(
        Kind::Gauge,
        "pg_settings_max_worker_processes",
        "Maximum number of concurrent worker processes.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_MAX_PARALLEL_WORKERS = m(
        Kind::Gauge,
        "pg_settings_max_parallel_workers",
        "Sets the maximum number of parallel workers that can be active at one time.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_MAX_WAL_SENDERS = m(
        Kind::Gauge,
        "pg_settings_max_wal_senders",
        "Sets the maximum number of simultaneously running WAL sender processes.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_MAX_REPLICATION_SLOTS = m(
        Kind::Gauge,
        "pg_settings_max_replication_slots",
        "Sets the maximum number of simultaneously defined replication slots.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_STATEMENT_TIMEOUT_SECONDS = m(
        Kind::Gauge,
        "pg_settings_statement_timeout_seconds",
        "Sets the maximum allowed duration of any statement (server default).",
        SERVER,
    )
    .unit("seconds")
);
metric!(
    PG_SETTINGS_LOCK_TIMEOUT_SECONDS = m(
        Kind::Gauge,
        "pg_settings_lock_timeout_seconds",
        "Sets the maximum allowed duration of any wait for a lock (server default).",
        SERVER,
    )
    .unit("seconds")
);
metric!(
    PG_SETTINGS_IDLE_IN_TRANSACTION_SESSION_TIMEOUT_SECONDS = m(
        Kind::Gauge,
        "pg_settings_idle_in_transaction_session_timeout_seconds",
        "Sets the maximum allowed idle time between queries, when in a transaction.",
        SERVER,
    )
    .unit("seconds")
);
metric!(
    PG_SETTINGS_AUTOVACUUM = m(
        Kind::Gauge,
        "pg_settings_autovacuum",
        "Starts the autovacuum subprocess (1 on, 0 off).",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_AUTOVACUUM_MAX_WORKERS = m(
        Kind::Gauge,
        "pg_settings_autovacuum_max_workers",
        "Sets the maximum number of simultaneously running autovacuum worker processes.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_FSYNC = m(
        Kind::Gauge,
        "pg_settings_fsync",
        "Forces synchronization of updates to disk (1 on, 0 off).",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_RANDOM_PAGE_COST = m(
        Kind::Gauge,
        "pg_settings_random_page_cost",
        "Sets the planner's estimate of the cost of a nonsequentially fetched disk page.",
        SERVER,
    )
);
metric!(
    PG_SETTINGS_WAL_BUFFERS_BYTES = m(
        Kind::Gauge,
        "pg_settings_wal_buffers_bytes",
        "Sets the number of disk-page buffers in shared memory for WAL.",
        SERVER,
    )
    .unit("bytes")
);
metric!(
    PG_STAT_STATEMENTS_CALLS = m(
        Kind::Counter,
        "pg_stat_statements_calls_total",
        "Number of times the statement was executed (top-N statements by total time only).",
        &["server", "user", "datname", "queryid"],
    )
);
metric!(
    PG_STAT_STATEMENTS_SECONDS = m(
        Kind::Counter,
        "pg_stat_statements_seconds_total",
        "Total time spent executing the statement (top-N statements by total time only).",
        &["server", "user", "datname", "queryid"],
    )
    .unit("seconds")
);
metric!(
    PG_STAT_STATEMENTS_ROWS = m(
        Kind::Counter,
        "pg_stat_statements_rows_total",
        "Total number of rows retrieved or affected by the statement (top-N statements by total time only).",
        &["server", "user", "datname", "queryid"],
    )
);
metric!(
    LAKEWATCH_PG_CONNECTIONS_USED = m(
        Kind::Gauge,
        "lakewatch_pg_connections_used_ratio",
        "Client backends connected divided by max_connections.",
        SERVER,
    )
);
metric!(
    LAKEWATCH_PG_CACHE_HIT = m(
        Kind::Gauge,
        "lakewatch_pg_cache_hit_ratio",
        "blks_hit / (blks_hit + blks_read) since the statistics were reset (absent before any block access).",
        &["server", "datname"],
    )
);
metric!(
    LAKEWATCH_PG_LONGEST_TRANSACTION = m(
        Kind::Gauge,
        "lakewatch_pg_longest_transaction_seconds",
        "Age of the oldest open transaction of any client backend (0 if none).",
        SERVER,
    )
    .unit("seconds")
);
metric!(
    LAKEWATCH_PG_WAITING_LOCKS = m(
        Kind::Gauge,
        "lakewatch_pg_waiting_locks",
        "Number of lock requests currently waiting (not granted).",
        SERVER,
    )
);

/// The `pg_settings_*` families Lakewatch exports: a fixed, documented subset of the
/// numeric settings postgres_exporter turns into metrics (it exports all ~250, whose
/// names vary by server version; a catalog must be finite).
pub static PG_SETTINGS: &[&Metric] = &[
    &PG_SETTINGS_MAX_CONNECTIONS,
    &PG_SETTINGS_SUPERUSER_RESERVED_CONNECTIONS,
    &PG_SETTINGS_SHARED_BUFFERS_BYTES,
    &PG_SETTINGS_WORK_MEM_BYTES,
    &PG_SETTINGS_MAINTENANCE_WORK_MEM_BYTES,
    &PG_SETTINGS_EFFECTIVE_CACHE_SIZE_BYTES,
    &PG_SETTINGS_MAX_WAL_SIZE_BYTES,
    &PG_SETTINGS_MIN_WAL_SIZE_BYTES,
    &PG_SETTINGS_CHECKPOINT_TIMEOUT_SECONDS,
    &PG_SETTINGS_MAX_LOCKS_PER_TRANSACTION,
    &PG_SETTINGS_MAX_PREPARED_TRANSACTIONS,
    &PG_SETTINGS_MAX_WORKER_PROCESSES,
    &PG_SETTINGS_MAX_PARALLEL_WORKERS,
    &PG_SETTINGS_MAX_WAL_SENDERS,
    &PG_SETTINGS_MAX_REPLICATION_SLOTS,
    &PG_SETTINGS_STATEMENT_TIMEOUT_SECONDS,
    &PG_SETTINGS_LOCK_TIMEOUT_SECONDS,
    &PG_SETTINGS_IDLE_IN_TRANSACTION_SESSION_TIMEOUT_SECONDS,
    &PG_SETTINGS_AUTOVACUUM,
    &PG_SETTINGS_AUTOVACUUM_MAX_WORKERS,
    &PG_SETTINGS_FSYNC,
    &PG_SETTINGS_RANDOM_PAGE_COST,
    &PG_SETTINGS_WAL_BUFFERS_BYTES,
];

/// Postgres metrics in reference order.
pub static POSTGRES: &[&Metric] = &[
    &PG_UP,
    &PG_STATIC,
    &PG_STAT_ACTIVITY_COUNT,
    &PG_STAT_ACTIVITY_MAX_TX_DURATION,
    &PG_STAT_DATABASE_NUMBACKENDS,
    &PG_STAT_DATABASE_XACT_COMMIT,
    &PG_STAT_DATABASE_XACT_ROLLBACK,
    &PG_STAT_DATABASE_BLKS_READ,
    &PG_STAT_DATABASE_BLKS_HIT,
    &PG_STAT_DATABASE_TUP_RETURNED,
    &PG_STAT_DATABASE_TUP_FETCHED,
    &PG_STAT_DATABASE_TUP_INSERTED,
    &PG_STAT_DATABASE_TUP_UPDATED,
    &PG_STAT_DATABASE_TUP_DELETED,
    &PG_STAT_DATABASE_CONFLICTS,
    &PG_STAT_DATABASE_TEMP_FILES,
    &PG_STAT_DATABASE_TEMP_BYTES,
    &PG_STAT_DATABASE_DEADLOCKS,
    &PG_STAT_DATABASE_BLK_READ_TIME,
    &PG_STAT_DATABASE_BLK_WRITE_TIME,
    &PG_STAT_DATABASE_STATS_RESET,
    &PG_STAT_DATABASE_ACTIVE_TIME,
    &PG_STAT_DATABASE_CONFLICTS_CONFL_TABLESPACE,
    &PG_STAT_DATABASE_CONFLICTS_CONFL_LOCK,
    &PG_STAT_DATABASE_CONFLICTS_CONFL_SNAPSHOT,
    &PG_STAT_DATABASE_CONFLICTS_CONFL_BUFFERPIN,
    &PG_STAT_DATABASE_CONFLICTS_CONFL_DEADLOCK,
    &PG_DATABASE_SIZE,
    &PG_DATABASE_CONNECTION_LIMIT,
    &PG_DATABASE_WRAPAROUND_AGE_DATFROZENXID,
    &PG_DATABASE_WRAPAROUND_AGE_DATMINMXID,
    &PG_ROLES_CONNECTION_LIMIT,
    &PG_LOCKS_COUNT,
    &PG_REPLICATION_LAG,
    &PG_REPLICATION_IS_REPLICA,
    &PG_REPLICATION_LAST_REPLAY,
    &PG_STAT_REPLICATION_WAL_LSN_DIFF,
    &PG_STAT_REPLICATION_CURRENT_WAL_LSN,
    &PG_REPLICATION_SLOTS_ACTIVE,
    &PG_REPLICATION_SLOTS_WAL_LSN_DIFF,
    &PG_REPLICATION_SLOTS_CURRENT_WAL_LSN,
    &PG_REPLICATION_SLOTS_CONFIRMED_FLUSH_LSN,
    &PG_REPLICATION_SLOTS_IS_ACTIVE,
    &PG_REPLICATION_SLOTS_SAFE_WAL_SIZE,
    &PG_REPLICATION_SLOTS_WAL_STATUS,
    &PG_STAT_ARCHIVER_ARCHIVED_COUNT,
    &PG_STAT_ARCHIVER_FAILED_COUNT,
    &PG_STAT_ARCHIVER_LAST_ARCHIVE_AGE,
    &PG_WAL_SEGMENTS,
    &PG_WAL_SIZE,
    &PG_POSTMASTER_START_TIME,
    &PG_LONG_RUNNING_TRANSACTIONS,
    &PG_LONG_RUNNING_TRANSACTIONS_OLDEST,
    &PG_XLOG_LOCATION_BYTES,
    &PG_STAT_WAL_RECEIVER_RECEIVE_START_LSN,
    &PG_STAT_WAL_RECEIVER_RECEIVE_START_TLI,
    &PG_STAT_WAL_RECEIVER_FLUSHED_LSN,
    &PG_STAT_WAL_RECEIVER_RECEIVED_TLI,
    &PG_STAT_WAL_RECEIVER_LAST_MSG_SEND_TIME,
    &PG_STAT_WAL_RECEIVER_LAST_MSG_RECEIPT_TIME,
    &PG_STAT_WAL_RECEIVER_LATEST_END_LSN,
    &PG_STAT_WAL_RECEIVER_LATEST_END_TIME,
    &PG_STAT_WAL_RECEIVER_UPSTREAM_NODE,
    &PG_PROCESS_IDLE_SECONDS,
    &PG_STAT_ACTIVITY_AUTOVACUUM_TIMESTAMP,
    &PG_BUFFERCACHE_SUMMARY_BUFFERS_USED,
    &PG_BUFFERCACHE_SUMMARY_BUFFERS_UNUSED,
    &PG_BUFFERCACHE_SUMMARY_BUFFERS_DIRTY,
    &PG_BUFFERCACHE_SUMMARY_BUFFERS_PINNED,
    &PG_BUFFERCACHE_SUMMARY_USAGECOUNT_AVG,
    &PG_STAT_BGWRITER_CHECKPOINTS_TIMED,
    &PG_STAT_BGWRITER_CHECKPOINTS_REQ,
    &PG_STAT_BGWRITER_CHECKPOINT_WRITE_TIME,
    &PG_STAT_BGWRITER_CHECKPOINT_SYNC_TIME,
    &PG_STAT_BGWRITER_BUFFERS_CHECKPOINT,
    &PG_STAT_BGWRITER_BUFFERS_CLEAN,
    &PG_STAT_BGWRITER_MAXWRITTEN_CLEAN,
    &PG_STAT_BGWRITER_BUFFERS_BACKEND,
    &PG_STAT_BGWRITER_BUFFERS_BACKEND_FSYNC,
    &PG_STAT_BGWRITER_BUFFERS_ALLOC,
    &PG_STAT_BGWRITER_STATS_RESET,
    &PG_STAT_CHECKPOINTER_NUM_TIMED,
    &PG_STAT_CHECKPOINTER_NUM_REQUESTED,
    &PG_STAT_CHECKPOINTER_RESTARTPOINTS_TIMED,
    &PG_STAT_CHECKPOINTER_RESTARTPOINTS_REQ,
    &PG_STAT_CHECKPOINTER_RESTARTPOINTS_DONE,
    &PG_STAT_CHECKPOINTER_WRITE_TIME,
    &PG_STAT_CHECKPOINTER_SYNC_TIME,
    &PG_STAT_CHECKPOINTER_BUFFERS_WRITTEN,
    &PG_STAT_CHECKPOINTER_STATS_RESET,
    &PG_SETTINGS_MAX_CONNECTIONS,
    &PG_SETTINGS_SUPERUSER_RESERVED_CONNECTIONS,
    &PG_SETTINGS_SHARED_BUFFERS_BYTES,
    &PG_SETTINGS_WORK_MEM_BYTES,
    &PG_SETTINGS_MAINTENANCE_WORK_MEM_BYTES,
    &PG_SETTINGS_EFFECTIVE_CACHE_SIZE_BYTES,
    &PG_SETTINGS_MAX_WAL_SIZE_BYTES,
    &PG_SETTINGS_MIN_WAL_SIZE_BYTES,
    &PG_SETTINGS_CHECKPOINT_TIMEOUT_SECONDS,
    &PG_SETTINGS_MAX_LOCKS_PER_TRANSACTION,
    &PG_SETTINGS_MAX_PREPARED_TRANSACTIONS,
    &PG_SETTINGS_MAX_WORKER_PROCESSES,
    &PG_SETTINGS_MAX_PARALLEL_WORKERS,
    &PG_SETTINGS_MAX_WAL_SENDERS,
    &PG_SETTINGS_MAX_REPLICATION_SLOTS,
    &PG_SETTINGS_STATEMENT_TIMEOUT_SECONDS,
    &PG_SETTINGS_LOCK_TIMEOUT_SECONDS,
    &PG_SETTINGS_IDLE_IN_TRANSACTION_SESSION_TIMEOUT_SECONDS,
    &PG_SETTINGS_AUTOVACUUM,
    &PG_SETTINGS_AUTOVACUUM_MAX_WORKERS,
    &PG_SETTINGS_FSYNC,
    &PG_SETTINGS_RANDOM_PAGE_COST,
    &PG_SETTINGS_WAL_BUFFERS_BYTES,
    &PG_STAT_STATEMENTS_CALLS,
    &PG_STAT_STATEMENTS_SECONDS,
    &PG_STAT_STATEMENTS_ROWS,
    &PG_STAT_STATEMENTS_BLOCK_READ_SECONDS,
    &PG_STAT_STATEMENTS_BLOCK_WRITE_SECONDS,
    &PG_STAT_USER_TABLES_SEQ_SCAN,
    &PG_STAT_USER_TABLES_SEQ_TUP_READ,
    &PG_STAT_USER_TABLES_IDX_SCAN,
    &PG_STAT_USER_TABLES_IDX_TUP_FETCH,
    &PG_STAT_USER_TABLES_N_TUP_INS,
    &PG_STAT_USER_TABLES_N_TUP_UPD,
    &PG_STAT_USER_TABLES_N_TUP_DEL,
    &PG_STAT_USER_TABLES_N_TUP_HOT_UPD,
    &PG_STAT_USER_TABLES_N_LIVE_TUP,
    &PG_STAT_USER_TABLES_N_DEAD_TUP,
    &PG_STAT_USER_TABLES_N_MOD_SINCE_ANALYZE,
    &PG_STAT_USER_TABLES_LAST_VACUUM,
    &PG_STAT_USER_TABLES_LAST_AUTOVACUUM,
    &PG_STAT_USER_TABLES_LAST_ANALYZE,
    &PG_STAT_USER_TABLES_LAST_AUTOANALYZE,
    &PG_STAT_USER_TABLES_VACUUM_COUNT,
    &PG_STAT_USER_TABLES_AUTOVACUUM_COUNT,
    &PG_STAT_USER_TABLES_ANALYZE_COUNT,
    &PG_STAT_USER_TABLES_AUTOANALYZE_COUNT,
    &PG_STAT_USER_TABLES_INDEX_SIZE,
    &PG_STAT_USER_TABLES_TABLE_SIZE,
    &PG_STATIO_USER_TABLES_HEAP_BLOCKS_READ,
    &PG_STATIO_USER_TABLES_HEAP_BLOCKS_HIT,
    &PG_STATIO_USER_TABLES_IDX_BLOCKS_READ,
    &PG_STATIO_USER_TABLES_IDX_BLOCKS_HIT,
    &PG_STATIO_USER_TABLES_TOAST_BLOCKS_READ,
    &PG_STATIO_USER_TABLES_TOAST_BLOCKS_HIT,
    &PG_STATIO_USER_TABLES_TIDX_BLOCKS_READ,
    &PG_STATIO_USER_TABLES_TIDX_BLOCKS_HIT,
    &PG_STATIO_USER_INDEXES_IDX_BLKS_READ,
    &PG_STATIO_USER_INDEXES_IDX_BLKS_HIT,
    &PG_STAT_PROGRESS_VACUUM_PHASE,
    &PG_STAT_PROGRESS_VACUUM_HEAP_BLKS,
    &PG_STAT_PROGRESS_VACUUM_HEAP_BLKS_SCANNED,
    &PG_STAT_PROGRESS_VACUUM_HEAP_BLKS_VACUUMED,
    &PG_STAT_PROGRESS_VACUUM_INDEX_VACUUMS,
    &PG_STAT_PROGRESS_VACUUM_MAX_DEAD_TUPLES,
    &PG_STAT_PROGRESS_VACUUM_NUM_DEAD_TUPLES,
    &LAKEWATCH_PG_CONNECTIONS_USED,
    &LAKEWATCH_PG_CACHE_HIT,
    &LAKEWATCH_PG_LONGEST_TRANSACTION,
    &LAKEWATCH_PG_WAITING_LOCKS,
    &LAKEWATCH_PG_TABLES,
    &LAKEWATCH_PG_TABLES_DROPPED,
];

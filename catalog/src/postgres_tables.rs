//! Postgres per-table series (postgres_exporter 0.20's `stat_user_tables`,
//! `statio_user_tables` and `stat_progress_vacuum` collectors), bounded by the
//! collector's table filters and top-N limit, and Lakewatch's count of what the limit
//! left out. Counters without `_total` are [`Kind::Unknown`], as in [`crate::postgres`].

use crate::{Kind, Metric, Source};

const fn m(
    kind: Kind,
    name: &'static str,
    help: &'static str,
    labels: &'static [&'static str],
) -> Metric {
    Metric::new(Source::Postgres, kind, name, help, labels)
}

const TABLE: &[&str] = &["server", "datname", "schemaname", "relname"];
const VACUUM: &[&str] = &["server", "datname", "relname"];

metric!(
    PG_STAT_USER_TABLES_SEQ_SCAN = m(
        Kind::Unknown,
        "pg_stat_user_tables_seq_scan",
        "Number of sequential scans initiated on this table.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_SEQ_TUP_READ = m(
        Kind::Unknown,
        "pg_stat_user_tables_seq_tup_read",
        "Number of live rows fetched by sequential scans.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_IDX_SCAN = m(
        Kind::Unknown,
        "pg_stat_user_tables_idx_scan",
        "Number of index scans initiated on this table (0 without indexes).",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_IDX_TUP_FETCH = m(
        Kind::Unknown,
        "pg_stat_user_tables_idx_tup_fetch",
        "Number of live rows fetched by index scans.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_N_TUP_INS = m(
        Kind::Unknown,
        "pg_stat_user_tables_n_tup_ins",
        "Number of rows inserted.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_N_TUP_UPD = m(
        Kind::Unknown,
        "pg_stat_user_tables_n_tup_upd",
        "Number of rows updated.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_N_TUP_DEL = m(
        Kind::Unknown,
        "pg_stat_user_tables_n_tup_del",
        "Number of rows deleted.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_N_TUP_HOT_UPD = m(
        Kind::Unknown,
        "pg_stat_user_tables_n_tup_hot_upd",
        "Number of rows HOT updated (no separate index update required).",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_N_LIVE_TUP = m(
        Kind::Gauge,
        "pg_stat_user_tables_n_live_tup",
        "Estimated number of live rows.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_N_DEAD_TUP = m(
        Kind::Gauge,
        "pg_stat_user_tables_n_dead_tup",
        "Estimated number of dead rows.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_N_MOD_SINCE_ANALYZE = m(
        Kind::Gauge,
        "pg_stat_user_tables_n_mod_since_analyze",
        "Estimated number of rows changed since the last analyze.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_LAST_VACUUM = m(
        Kind::Gauge,
        "pg_stat_user_tables_last_vacuum",
        "Last time the table was manually vacuumed, not counting VACUUM FULL (unix seconds, 0 for never).",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_LAST_AUTOVACUUM = m(
        Kind::Gauge,
        "pg_stat_user_tables_last_autovacuum",
        "Last time the table was vacuumed by autovacuum (unix seconds, 0 for never).",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_LAST_ANALYZE = m(
        Kind::Gauge,
        "pg_stat_user_tables_last_analyze",
        "Last time the table was manually analyzed (unix seconds, 0 for never).",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_LAST_AUTOANALYZE = m(
        Kind::Gauge,
        "pg_stat_user_tables_last_autoanalyze",
        "Last time the table was analyzed by autovacuum (unix seconds, 0 for never).",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_VACUUM_COUNT = m(
        Kind::Unknown,
        "pg_stat_user_tables_vacuum_count",
        "Number of times the table was manually vacuumed (not counting VACUUM FULL).",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_AUTOVACUUM_COUNT = m(
        Kind::Unknown,
        "pg_stat_user_tables_autovacuum_count",
        "Number of times the table was vacuumed by autovacuum.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_ANALYZE_COUNT = m(
        Kind::Unknown,
        "pg_stat_user_tables_analyze_count",
        "Number of times the table was manually analyzed.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_AUTOANALYZE_COUNT = m(
        Kind::Unknown,
        "pg_stat_user_tables_autoanalyze_count",
        "Number of times the table was analyzed by autovacuum.",
        TABLE,
    )
);
metric!(
    PG_STAT_USER_TABLES_INDEX_SIZE = m(
        Kind::Gauge,
        "pg_stat_user_tables_index_size_bytes",
        "Disk space used by the table's indexes.",
        TABLE,
    )
    .unit("bytes")
);
metric!(
    PG_STAT_USER_TABLES_TABLE_SIZE = m(
    Kind::Gauge,
    "pg_stat_user_tables_table_size_bytes",
    "Disk space used by the table without its indexes (TOAST, free space and visibility maps included).",
    TABLE,
)
    .unit("bytes")
);
metric!(
    PG_STATIO_USER_TABLES_HEAP_BLOCKS_READ = m(
        Kind::Unknown,
        "pg_statio_user_tables_heap_blocks_read",
        "Number of disk blocks read from this table.",
        TABLE,
    )
);
metric!(
    PG_STATIO_USER_TABLES_HEAP_BLOCKS_HIT = m(
        Kind::Unknown,
        "pg_statio_user_tables_heap_blocks_hit",
        "Number of buffer hits in this table.",
        TABLE,
    )
);
metric!(
    PG_STATIO_USER_TABLES_IDX_BLOCKS_READ = m(
        Kind::Unknown,
        "pg_statio_user_tables_idx_blocks_read",
        "Number of disk blocks read from all indexes on this table.",
        TABLE,
    )
);
metric!(
    PG_STATIO_USER_TABLES_IDX_BLOCKS_HIT = m(
        Kind::Unknown,
        "pg_statio_user_tables_idx_blocks_hit",
        "Number of buffer hits in all indexes on this table.",
        TABLE,
    )
);
metric!(
    PG_STATIO_USER_TABLES_TOAST_BLOCKS_READ = m(
        Kind::Unknown,
        "pg_statio_user_tables_toast_blocks_read",
        "Number of disk blocks read from this table's TOAST table (0 without one).",
        TABLE,
    )
);
metric!(
    PG_STATIO_USER_TABLES_TOAST_BLOCKS_HIT = m(
        Kind::Unknown,
        "pg_statio_user_tables_toast_blocks_hit",
        "Number of buffer hits in this table's TOAST table (0 without one).",
        TABLE,
    )
);
metric!(
    PG_STATIO_USER_TABLES_TIDX_BLOCKS_READ = m(
        Kind::Unknown,
        "pg_statio_user_tables_tidx_blocks_read",
        "Number of disk blocks read from this table's TOAST table indexes (0 without one).",
        TABLE,
    )
);
metric!(
    PG_STATIO_USER_TABLES_TIDX_BLOCKS_HIT = m(
        Kind::Unknown,
        "pg_statio_user_tables_tidx_blocks_hit",
        "Number of buffer hits in this table's TOAST table indexes (0 without one).",
        TABLE,
    )
);
metric!(
    LAKEWATCH_PG_TABLES = m(
        Kind::Gauge,
        "lakewatch_pg_tables",
        "User tables of the database that pass the schema and table filters.",
        &["server", "datname"],
    )
);
metric!(
    LAKEWATCH_PG_TABLES_DROPPED = m(
        Kind::Gauge,
        "lakewatch_pg_tables_dropped",
        "Tables that pass the filters but are left out of pg_stat_user_tables_* and pg_statio_user_tables_* by the top-N limit.",
        &["server", "datname"],
    )
);
metric!(
    PG_STAT_PROGRESS_VACUUM_PHASE = m(
        Kind::Gauge,
        "pg_stat_progress_vacuum_phase",
        "Current phase of a running VACUUM: 1 for its phase, 0 for the others.",
        &["server", "datname", "relname", "phase"],
    )
);
metric!(
    PG_STAT_PROGRESS_VACUUM_HEAP_BLKS = m(
        Kind::Gauge,
        "pg_stat_progress_vacuum_heap_blks",
        "Total number of heap blocks in the table being vacuumed.",
        VACUUM,
    )
);
metric!(
    PG_STAT_PROGRESS_VACUUM_HEAP_BLKS_SCANNED = m(
        Kind::Gauge,
        "pg_stat_progress_vacuum_heap_blks_scanned",
        "Number of heap blocks scanned so far.",
        VACUUM,
    )
);
metric!(
    PG_STAT_PROGRESS_VACUUM_HEAP_BLKS_VACUUMED = m(
        Kind::Gauge,
        "pg_stat_progress_vacuum_heap_blks_vacuumed",
        "Number of heap blocks vacuumed so far.",
        VACUUM,
    )
);
metric!(
    PG_STAT_PROGRESS_VACUUM_INDEX_VACUUMS = m(
        Kind::Gauge,
        "pg_stat_progress_vacuum_index_vacuums",
        "Number of completed index vacuum cycles.",
        VACUUM,
    )
);
metric!(
    PG_STAT_PROGRESS_VACUUM_MAX_DEAD_TUPLES = m(
        Kind::Gauge,
        "pg_stat_progress_vacuum_max_dead_tuples",
        "Number of dead tuples that fit before an index vacuum cycle is needed (Postgres 13-16).",
        VACUUM,
    )
);
metric!(
    PG_STAT_PROGRESS_VACUUM_NUM_DEAD_TUPLES = m(
        Kind::Gauge,
        "pg_stat_progress_vacuum_num_dead_tuples",
        "Number of dead tuples collected since the last index vacuum cycle (dead item identifiers on 17+).",
        VACUUM,
    )
);

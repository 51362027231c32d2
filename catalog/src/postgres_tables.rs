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

pub static PG_STAT_USER_TABLES_SEQ_SCAN: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_seq_scan",
    "Number of sequential scans initiated on this table.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_SEQ_TUP_READ: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_seq_tup_read",
    "Number of live rows fetched by sequential scans.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_IDX_SCAN: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_idx_scan",
    "Number of index scans initiated on this table (0 without indexes).",
    TABLE,
);
pub static PG_STAT_USER_TABLES_IDX_TUP_FETCH: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_idx_tup_fetch",
    "Number of live rows fetched by index scans.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_N_TUP_INS: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_n_tup_ins",
    "Number of rows inserted.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_N_TUP_UPD: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_n_tup_upd",
    "Number of rows updated.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_N_TUP_DEL: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_n_tup_del",
    "Number of rows deleted.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_N_TUP_HOT_UPD: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_n_tup_hot_upd",
    "Number of rows HOT updated (no separate index update required).",
    TABLE,
);
pub static PG_STAT_USER_TABLES_N_LIVE_TUP: Metric = m(
    Kind::Gauge,
    "pg_stat_user_tables_n_live_tup",
    "Estimated number of live rows.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_N_DEAD_TUP: Metric = m(
    Kind::Gauge,
    "pg_stat_user_tables_n_dead_tup",
    "Estimated number of dead rows.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_N_MOD_SINCE_ANALYZE: Metric = m(
    Kind::Gauge,
    "pg_stat_user_tables_n_mod_since_analyze",
    "Estimated number of rows changed since the last analyze.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_LAST_VACUUM: Metric = m(
    Kind::Gauge,
    "pg_stat_user_tables_last_vacuum",
    "Last time the table was manually vacuumed, not counting VACUUM FULL (unix seconds, 0 for never).",
    TABLE,
);
pub static PG_STAT_USER_TABLES_LAST_AUTOVACUUM: Metric = m(
    Kind::Gauge,
    "pg_stat_user_tables_last_autovacuum",
    "Last time the table was vacuumed by autovacuum (unix seconds, 0 for never).",
    TABLE,
);
pub static PG_STAT_USER_TABLES_LAST_ANALYZE: Metric = m(
    Kind::Gauge,
    "pg_stat_user_tables_last_analyze",
    "Last time the table was manually analyzed (unix seconds, 0 for never).",
    TABLE,
);
pub static PG_STAT_USER_TABLES_LAST_AUTOANALYZE: Metric = m(
    Kind::Gauge,
    "pg_stat_user_tables_last_autoanalyze",
    "Last time the table was analyzed by autovacuum (unix seconds, 0 for never).",
    TABLE,
);
pub static PG_STAT_USER_TABLES_VACUUM_COUNT: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_vacuum_count",
    "Number of times the table was manually vacuumed (not counting VACUUM FULL).",
    TABLE,
);
pub static PG_STAT_USER_TABLES_AUTOVACUUM_COUNT: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_autovacuum_count",
    "Number of times the table was vacuumed by autovacuum.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_ANALYZE_COUNT: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_analyze_count",
    "Number of times the table was manually analyzed.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_AUTOANALYZE_COUNT: Metric = m(
    Kind::Unknown,
    "pg_stat_user_tables_autoanalyze_count",
    "Number of times the table was analyzed by autovacuum.",
    TABLE,
);
pub static PG_STAT_USER_TABLES_INDEX_SIZE: Metric = m(
    Kind::Gauge,
    "pg_stat_user_tables_index_size_bytes",
    "Disk space used by the table's indexes.",
    TABLE,
)
.unit("bytes");
pub static PG_STAT_USER_TABLES_TABLE_SIZE: Metric = m(
    Kind::Gauge,
    "pg_stat_user_tables_table_size_bytes",
    "Disk space used by the table without its indexes (TOAST, free space and visibility maps included).",
    TABLE,
)
.unit("bytes");
pub static PG_STATIO_USER_TABLES_HEAP_BLOCKS_READ: Metric = m(
    Kind::Unknown,
    "pg_statio_user_tables_heap_blocks_read",
    "Number of disk blocks read from this table.",
    TABLE,
);
pub static PG_STATIO_USER_TABLES_HEAP_BLOCKS_HIT: Metric = m(
    Kind::Unknown,
    "pg_statio_user_tables_heap_blocks_hit",
    "Number of buffer hits in this table.",
    TABLE,
);
pub static PG_STATIO_USER_TABLES_IDX_BLOCKS_READ: Metric = m(
    Kind::Unknown,
    "pg_statio_user_tables_idx_blocks_read",
    "Number of disk blocks read from all indexes on this table.",
    TABLE,
);
pub static PG_STATIO_USER_TABLES_IDX_BLOCKS_HIT: Metric = m(
    Kind::Unknown,
    "pg_statio_user_tables_idx_blocks_hit",
    "Number of buffer hits in all indexes on this table.",
    TABLE,
);
pub static PG_STATIO_USER_TABLES_TOAST_BLOCKS_READ: Metric = m(
    Kind::Unknown,
    "pg_statio_user_tables_toast_blocks_read",
    "Number of disk blocks read from this table's TOAST table (0 without one).",
    TABLE,
);
pub static PG_STATIO_USER_TABLES_TOAST_BLOCKS_HIT: Metric = m(
    Kind::Unknown,
    "pg_statio_user_tables_toast_blocks_hit",
    "Number of buffer hits in this table's TOAST table (0 without one).",
    TABLE,
);
pub static PG_STATIO_USER_TABLES_TIDX_BLOCKS_READ: Metric = m(
    Kind::Unknown,
    "pg_statio_user_tables_tidx_blocks_read",
    "Number of disk blocks read from this table's TOAST table indexes (0 without one).",
    TABLE,
);
pub static PG_STATIO_USER_TABLES_TIDX_BLOCKS_HIT: Metric = m(
    Kind::Unknown,
    "pg_statio_user_tables_tidx_blocks_hit",
    "Number of buffer hits in this table's TOAST table indexes (0 without one).",
    TABLE,
);
pub static LAKEWATCH_PG_TABLES: Metric = m(
    Kind::Gauge,
    "lakewatch_pg_tables",
    "User tables of the database that pass the schema and table filters.",
    &["server", "datname"],
);
pub static LAKEWATCH_PG_TABLES_DROPPED: Metric = m(
    Kind::Gauge,
    "lakewatch_pg_tables_dropped",
    "Tables that pass the filters but are left out of pg_stat_user_tables_* and pg_statio_user_tables_* by the top-N limit.",
    &["server", "datname"],
);
pub static PG_STAT_PROGRESS_VACUUM_PHASE: Metric = m(
    Kind::Gauge,
    "pg_stat_progress_vacuum_phase",
    "Current phase of a running VACUUM: 1 for its phase, 0 for the others.",
    &["server", "datname", "relname", "phase"],
);
pub static PG_STAT_PROGRESS_VACUUM_HEAP_BLKS: Metric = m(
    Kind::Gauge,
    "pg_stat_progress_vacuum_heap_blks",
    "Total number of heap blocks in the table being vacuumed.",
    VACUUM,
);
pub static PG_STAT_PROGRESS_VACUUM_HEAP_BLKS_SCANNED: Metric = m(
    Kind::Gauge,
    "pg_stat_progress_vacuum_heap_blks_scanned",
    "Number of heap blocks scanned so far.",
    VACUUM,
);
pub static PG_STAT_PROGRESS_VACUUM_HEAP_BLKS_VACUUMED: Metric = m(
    Kind::Gauge,
    "pg_stat_progress_vacuum_heap_blks_vacuumed",
    "Number of heap blocks vacuumed so far.",
    VACUUM,
);
pub static PG_STAT_PROGRESS_VACUUM_INDEX_VACUUMS: Metric = m(
    Kind::Gauge,
    "pg_stat_progress_vacuum_index_vacuums",
    "Number of completed index vacuum cycles.",
    VACUUM,
);
pub static PG_STAT_PROGRESS_VACUUM_MAX_DEAD_TUPLES: Metric = m(
    Kind::Gauge,
    "pg_stat_progress_vacuum_max_dead_tuples",
    "Number of dead tuples that fit before an index vacuum cycle is needed (Postgres 13-16).",
    VACUUM,
);
pub static PG_STAT_PROGRESS_VACUUM_NUM_DEAD_TUPLES: Metric = m(
    Kind::Gauge,
    "pg_stat_progress_vacuum_num_dead_tuples",
    "Number of dead tuples collected since the last index vacuum cycle (dead item identifiers on 17+).",
    VACUUM,
);

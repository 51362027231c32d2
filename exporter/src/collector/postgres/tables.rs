//! Per-table series (postgres_exporter 0.20's `stat_user_tables` and
//! `statio_user_tables`, and its opt-in `statio_user_indexes`), vacuum progress and
//! transaction ID wraparound.
//!
//! postgres_exporter reads every table of the database every scrape, with
//! `pg_table_size` and `pg_indexes_size` for each: on a database with 10,000 tables
//! that is 10,000 × 30 series and 20,000+ file-size look-ups per scrape. Here the
//! per-table series are bounded and their cost with them, in two queries per database:
//!
//! 1. a cheap candidates query: every user table's name and a rank, without touching
//!    the files or taking a lock (size is `pg_class.relpages`, the estimate VACUUM and
//!    ANALYZE keep; activity is the scan and write counters);
//! 2. the schema and table filters and the top-N limit applied here (so the regexes
//!    are Rust's, as everywhere in the configuration, not Postgres'), then one details
//!    query for the chosen tables only, by OID.
//!
//! What the filters let through and what the limit left out are exported as
//! `lakewatch_pg_tables` and `lakewatch_pg_tables_dropped`, so a truncated view is
//! visible.

use lakewatch_catalog::{self as cat, Metric};
use tokio_postgres::{Client, SimpleQueryRow};

use crate::collector::Fragment;
use crate::collector::postgres::builtin::{num, text};
use crate::collector::postgres::rows;
use crate::collector::postgres::settings::{TableOrder, TableSettings};

/// Every user table of the current database with its rank, and the database's name
/// (also when it has no tables: the LEFT JOIN keeps one row).
fn candidates_sql(order: TableOrder) -> String {
    let rank = match order {
        TableOrder::Size => "c.relpages::float8",
        TableOrder::Activity => {
            "(COALESCE(s.seq_scan, 0) + COALESCE(s.idx_scan, 0) + s.n_tup_ins + s.n_tup_upd \
             + s.n_tup_del)::float8"
        }
    };
    format!(
        "SELECT d.datname, t.relid, t.schemaname, t.relname, t.rank \
         FROM (SELECT current_database() AS datname) d LEFT JOIN \
         (SELECT s.relid::int8 AS relid, s.schemaname, s.relname, {rank} AS rank \
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid) t ON true"
    )
}

/// The chosen tables' statistics, sizes and I/O. NULL counters (no index, no TOAST
/// table) read 0, as postgres_exporter writes them; a never-run (auto)vacuum or
/// analyze reads 0 too.
fn details_sql(relids: &[i64]) -> String {
    let ids: Vec<String> = relids.iter().map(i64::to_string).collect();
    format!(
        "SELECT s.schemaname, s.relname, COALESCE(s.seq_scan, 0), COALESCE(s.seq_tup_read, 0), \
         COALESCE(s.idx_scan, 0), COALESCE(s.idx_tup_fetch, 0), s.n_tup_ins, s.n_tup_upd, \
         s.n_tup_del, s.n_tup_hot_upd, s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, \
         COALESCE(EXTRACT(EPOCH FROM s.last_vacuum), 0), \
         COALESCE(EXTRACT(EPOCH FROM s.last_autovacuum), 0), \
         COALESCE(EXTRACT(EPOCH FROM s.last_analyze), 0), \
         COALESCE(EXTRACT(EPOCH FROM s.last_autoanalyze), 0), \
         s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count, \
         pg_indexes_size(s.relid), pg_table_size(s.relid), \
         COALESCE(io.heap_blks_read, 0), COALESCE(io.heap_blks_hit, 0), \
         COALESCE(io.idx_blks_read, 0), COALESCE(io.idx_blks_hit, 0), \
         COALESCE(io.toast_blks_read, 0), COALESCE(io.toast_blks_hit, 0), \
         COALESCE(io.tidx_blks_read, 0), COALESCE(io.tidx_blks_hit, 0) \
         FROM pg_stat_user_tables s JOIN pg_statio_user_tables io ON io.relid = s.relid \
         WHERE s.relid = ANY('{{{}}}'::oid[])",
        ids.join(",")
    )
}

/// The I/O of the chosen tables' indexes (opt-in `statio_user_indexes`). 0.20 reads
/// every index of the database; here they are bounded with the tables.
fn indexes_sql(relids: &[i64]) -> String {
    let ids: Vec<String> = relids.iter().map(i64::to_string).collect();
    format!(
        "SELECT schemaname, relname, indexrelname, COALESCE(idx_blks_read, 0), \
         COALESCE(idx_blks_hit, 0) FROM pg_statio_user_indexes \
         WHERE relid = ANY('{{{}}}'::oid[])",
        ids.join(",")
    )
}

/// The details query's columns 2.., in order.
const COLS: [&Metric; 29] = [
    &cat::PG_STAT_USER_TABLES_SEQ_SCAN,
    &cat::PG_STAT_USER_TABLES_SEQ_TUP_READ,
    &cat::PG_STAT_USER_TABLES_IDX_SCAN,
    &cat::PG_STAT_USER_TABLES_IDX_TUP_FETCH,
    &cat::PG_STAT_USER_TABLES_N_TUP_INS,
    &cat::PG_STAT_USER_TABLES_N_TUP_UPD,
    &cat::PG_STAT_USER_TABLES_N_TUP_DEL,
    &cat::PG_STAT_USER_TABLES_N_TUP_HOT_UPD,
    &cat::PG_STAT_USER_TABLES_N_LIVE_TUP,
    &cat::PG_STAT_USER_TABLES_N_DEAD_TUP,
    &cat::PG_STAT_USER_TABLES_N_MOD_SINCE_ANALYZE,
    &cat::PG_STAT_USER_TABLES_LAST_VACUUM,
    &cat::PG_STAT_USER_TABLES_LAST_AUTOVACUUM,
    &cat::PG_STAT_USER_TABLES_LAST_ANALYZE,
    &cat::PG_STAT_USER_TABLES_LAST_AUTOANALYZE,
    &cat::PG_STAT_USER_TABLES_VACUUM_COUNT,
    &cat::PG_STAT_USER_TABLES_AUTOVACUUM_COUNT,
    &cat::PG_STAT_USER_TABLES_ANALYZE_COUNT,
    &cat::PG_STAT_USER_TABLES_AUTOANALYZE_COUNT,
    &cat::PG_STAT_USER_TABLES_INDEX_SIZE,
    &cat::PG_STAT_USER_TABLES_TABLE_SIZE,
    &cat::PG_STATIO_USER_TABLES_HEAP_BLOCKS_READ,
    &cat::PG_STATIO_USER_TABLES_HEAP_BLOCKS_HIT,
    &cat::PG_STATIO_USER_TABLES_IDX_BLOCKS_READ,
    &cat::PG_STATIO_USER_TABLES_IDX_BLOCKS_HIT,
    &cat::PG_STATIO_USER_TABLES_TOAST_BLOCKS_READ,
    &cat::PG_STATIO_USER_TABLES_TOAST_BLOCKS_HIT,
    &cat::PG_STATIO_USER_TABLES_TIDX_BLOCKS_READ,
    &cat::PG_STATIO_USER_TABLES_TIDX_BLOCKS_HIT,
];

/// A table the candidates query returned.
#[derive(Debug, Clone, PartialEq)]
struct Candidate<'a> {
    relid: i64,
    schema: &'a str,
    table: &'a str,
    rank: f64,
}

/// The outcome of the filters and the limit in one database.
#[derive(Debug, PartialEq)]
struct Selection {
    datname: String,
    /// OIDs of the tables to read, highest rank first.
    relids: Vec<i64>,
    /// Tables that pass the filters.
    matched: usize,
}

/// Reads the candidates query's rows and chooses among them.
fn select(rows: &[SimpleQueryRow], cfg: &TableSettings) -> Selection {
    let datname = rows.first().map(|r| text(r, 0)).unwrap_or("").to_string();
    let found = rows.iter().filter_map(|r| {
        Some(Candidate {
            relid: r.get(1)?.parse().ok()?,
            schema: text(r, 2),
            table: text(r, 3),
            rank: num(r, 4).unwrap_or(0.0),
        })
    });
    let (relids, matched) = choose(found, cfg);
    Selection {
        datname,
        relids,
        matched,
    }
}

/// Applies the schema and table filters, then keeps the `limit` highest-ranked tables
/// (ties by schema and name, so the set is stable from one cycle to the next). Returns
/// the chosen OIDs and how many tables passed the filters.
fn choose<'a>(
    found: impl Iterator<Item = Candidate<'a>>,
    cfg: &TableSettings,
) -> (Vec<i64>, usize) {
    let mut found: Vec<Candidate> = found
        .filter(|c| cfg.schemas.allows(c.schema) && cfg.tables.allows(c.table))
        .collect();
    let matched = found.len();
    found.sort_by(|a, b| {
        b.rank
            .total_cmp(&a.rank)
            .then_with(|| (a.schema, a.table).cmp(&(b.schema, b.table)))
    });
    found.truncate(cfg.limit as usize);
    (found.iter().map(|c| c.relid).collect(), matched)
}

/// Reads the per-table series of the database `client` is connected to, and with
/// `indexes` the chosen tables' index I/O. 0.20's `pg_statio_user_indexes_*` carry no
/// `datname` (it reads one database), so only the target's own database asks for them:
/// same-named indexes of two databases would otherwise be one series.
pub(super) async fn collect(
    client: &Client,
    server: &str,
    cfg: &TableSettings,
    indexes: bool,
    f: &mut Fragment,
) -> Result<(), tokio_postgres::Error> {
    let candidates = rows(client.simple_query(&candidates_sql(cfg.order_by)).await?);
    let chosen = select(&candidates, cfg);
    drop(candidates);
    let db = chosen.datname.as_str();
    if !chosen.relids.is_empty() {
        let details = rows(client.simple_query(&details_sql(&chosen.relids)).await?);
        emit_tables(server, db, &details, f);
        if indexes {
            let io = rows(client.simple_query(&indexes_sql(&chosen.relids)).await?);
            emit_indexes(server, &io, f);
        }
    }
    f.push(
        &cat::LAKEWATCH_PG_TABLES,
        [server, db],
        chosen.matched as f64,
    );
    f.push(
        &cat::LAKEWATCH_PG_TABLES_DROPPED,
        [server, db],
        chosen.matched.saturating_sub(chosen.relids.len()) as f64,
    );
    Ok(())
}

fn emit_tables(server: &str, datname: &str, rows: &[SimpleQueryRow], f: &mut Fragment) {
    for r in rows {
        let l = [server, datname, text(r, 0), text(r, 1)];
        for (i, m) in COLS.iter().enumerate() {
            if let Some(v) = num(r, i + 2) {
                f.push(m, l, v);
            }
        }
    }
}

fn emit_indexes(server: &str, rows: &[SimpleQueryRow], f: &mut Fragment) {
    for r in rows {
        let l = [server, text(r, 0), text(r, 1), text(r, 2)];
        for (i, m) in [
            &cat::PG_STATIO_USER_INDEXES_IDX_BLKS_READ,
            &cat::PG_STATIO_USER_INDEXES_IDX_BLKS_HIT,
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(v) = num(r, i + 3) {
                f.push(m, l, v);
            }
        }
    }
}

/// The phases of `pg_stat_progress_vacuum.phase`, each a `phase` label value.
const VACUUM_PHASES: [&str; 7] = [
    "initializing",
    "scanning heap",
    "vacuuming indexes",
    "vacuuming heap",
    "cleaning up indexes",
    "truncating heap",
    "performing final cleanup",
];

/// Running VACUUMs in every database. A table's name can only be resolved in its own
/// database; elsewhere its OID stands in, as in postgres_exporter. Postgres 17 counts
/// dead item identifiers instead of dead tuples and their memory in bytes, so
/// `max_dead_tuples` has no equivalent there.
pub(super) fn progress_vacuum_sql(version: u32) -> String {
    let dead = if version >= 170000 {
        "NULL, num_dead_item_ids"
    } else {
        "max_dead_tuples, num_dead_tuples"
    };
    format!(
        "SELECT COALESCE(datname, ''), CASE WHEN datname = current_database() \
         THEN relid::regclass::text ELSE relid::text END, phase, heap_blks_total, \
         heap_blks_scanned, heap_blks_vacuumed, index_vacuum_count, {dead} \
         FROM pg_stat_progress_vacuum"
    )
}

pub(super) fn emit_progress_vacuum(server: &str, rows: &[SimpleQueryRow], f: &mut Fragment) {
    for r in rows {
        let (datname, relname, phase) = (text(r, 0), text(r, 1), text(r, 2));
        for p in VACUUM_PHASES {
            let v = if p == phase { 1.0 } else { 0.0 };
            f.push(
                &cat::PG_STAT_PROGRESS_VACUUM_PHASE,
                [server, datname, relname, p],
                v,
            );
        }
        for (i, m) in [
            &cat::PG_STAT_PROGRESS_VACUUM_HEAP_BLKS,
            &cat::PG_STAT_PROGRESS_VACUUM_HEAP_BLKS_SCANNED,
            &cat::PG_STAT_PROGRESS_VACUUM_HEAP_BLKS_VACUUMED,
            &cat::PG_STAT_PROGRESS_VACUUM_INDEX_VACUUMS,
            &cat::PG_STAT_PROGRESS_VACUUM_MAX_DEAD_TUPLES,
            &cat::PG_STAT_PROGRESS_VACUUM_NUM_DEAD_TUPLES,
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(v) = num(r, i + 3) {
                f.push(m, [server, datname, relname], v);
            }
        }
    }
}

/// postgres_exporter 0.20's `database_wraparound` query (its `_seconds` names count
/// transactions, not seconds; kept for compatibility).
pub(super) const WRAPAROUND_SQL: &str = "SELECT datname, age(datfrozenxid), \
     mxid_age(datminmxid) FROM pg_database WHERE datallowconn";

pub(super) fn emit_wraparound(server: &str, rows: &[SimpleQueryRow], f: &mut Fragment) {
    for r in rows {
        for (i, m) in [
            &cat::PG_DATABASE_WRAPAROUND_AGE_DATFROZENXID,
            &cat::PG_DATABASE_WRAPAROUND_AGE_DATMINMXID,
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(v) = num(r, i + 1) {
                f.push(m, [server, text(r, 0)], v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::filter::Filter;
    use regex::Regex;

    fn cfg(limit: u32, schema_exclude: Option<&str>, include: Option<&str>) -> TableSettings {
        TableSettings {
            schemas: Filter {
                include: None,
                exclude: schema_exclude.map(|r| Regex::new(r).unwrap()),
            },
            tables: Filter {
                include: include.map(|r| Regex::new(r).unwrap()),
                exclude: None,
            },
            limit,
            order_by: TableOrder::Size,
        }
    }

    fn pick(found: Vec<Candidate>, cfg: &TableSettings) -> (Vec<i64>, usize) {
        choose(found.into_iter(), cfg)
    }

    fn c(relid: i64, schema: &'static str, table: &'static str, rank: f64) -> Candidate<'static> {
        Candidate {
            relid,
            schema,
            table,
            rank,
        }
    }

    #[test]
    fn filters_then_top_n_by_rank_with_stable_ties() {
        let all = || {
            vec![
                c(1, "public", "small", 1.0),
                c(2, "public", "big", 100.0),
                c(3, "pg_temp_3", "scratch", 1000.0),
                c(4, "lake", "b", 50.0),
                c(5, "lake", "a", 50.0),
                c(6, "audit", "log_2024", 70.0),
            ]
        };
        let temp = Some(r"^pg_temp_\d+$");
        assert_eq!(pick(all(), &cfg(3, temp, None)), (vec![2, 6, 5], 5));
        assert_eq!(pick(all(), &cfg(0, temp, None)), (vec![], 5));
        assert_eq!(
            pick(all(), &cfg(200, None, Some("^(a|b|big)$"))),
            (vec![2, 5, 4], 3)
        );
    }

    #[test]
    fn details_sql_lists_the_oids() {
        let s = details_sql(&[16384, 16390]);
        assert!(s.ends_with("ANY('{16384,16390}'::oid[])"), "{s}");
        let s = indexes_sql(&[16384]);
        assert!(s.ends_with("relid = ANY('{16384}'::oid[])"), "{s}");
        assert!(candidates_sql(TableOrder::Size).contains("relpages"));
        assert!(candidates_sql(TableOrder::Activity).contains("n_tup_upd"));
    }

    #[test]
    fn progress_vacuum_follows_the_version() {
        for v in [130000, 140000, 150000, 160000] {
            assert!(progress_vacuum_sql(v).contains("max_dead_tuples, num_dead_tuples"));
        }
        assert!(progress_vacuum_sql(170000).contains("NULL, num_dead_item_ids"));
    }
}

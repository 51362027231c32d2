//! The built-in queries: the SQL of each section for the server's version, and how its
//! rows become postgres_exporter's series (names, labels and units as it writes them).

use lakewatch_catalog::{self as cat, Metric};
use tokio_postgres::SimpleQueryRow;

use crate::collector::Fragment;
use crate::collector::postgres::{activity, replication, tables};

/// The queries of one cycle on the target's own database, in the order they run. The
/// per-table ones, which run in every database read, are in [`super::tables`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Section {
    Settings,
    StatDatabase,
    Conflicts,
    DatabaseSize,
    Roles,
    StatActivity,
    Locks,
    Health,
    Replication,
    StatReplication,
    ReplicationSlots,
    Archiver,
    Wal,
    ProgressVacuum,
    Bgwriter,
    Checkpointer,
    Statements,
    Postmaster,
    Wraparound,
    LongRunning,
    XlogLocation,
    WalReceiver,
    ProcessIdle,
    Autovacuum,
    Buffercache,
}

/// Which optional sections run: postgres_exporter 0.20's opt-in collectors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Optional {
    /// Top-N of `pg_stat_statements`; `None` when off.
    pub statements_limit: Option<u32>,
    /// `pg_stat_checkpointer` (Postgres 17+).
    pub checkpointer: bool,
    pub postmaster: bool,
    pub wraparound: bool,
    pub long_running: bool,
    /// `pg_buffercache_summary()` (Postgres 16+, needs the extension).
    pub buffercache: bool,
    pub process_idle: bool,
    pub autovacuum: bool,
    pub wal_receiver: bool,
    /// Indexes of the tables that get per-table series, in the target's database.
    pub statio_user_indexes: bool,
    pub xlog_location: bool,
}

impl Section {
    pub(super) const ALL: [Section; 25] = [
        Section::Settings,
        Section::StatDatabase,
        Section::Conflicts,
        Section::DatabaseSize,
        Section::Roles,
        Section::StatActivity,
        Section::Locks,
        Section::Health,
        Section::Replication,
        Section::StatReplication,
        Section::ReplicationSlots,
        Section::Archiver,
        Section::Wal,
        Section::ProgressVacuum,
        Section::Bgwriter,
        Section::Checkpointer,
        Section::Statements,
        Section::Postmaster,
        Section::Wraparound,
        Section::LongRunning,
        Section::XlogLocation,
        Section::WalReceiver,
        Section::ProcessIdle,
        Section::Autovacuum,
        Section::Buffercache,
    ];

    /// postgres_exporter's name of the collector (or view) the section stands for.
    pub(super) fn name(self) -> &'static str {
        match self {
            Section::Settings => "pg_settings",
            Section::StatDatabase => "pg_stat_database",
            Section::Conflicts => "pg_stat_database_conflicts",
            Section::DatabaseSize => "pg_database",
            Section::Roles => "pg_roles",
            Section::StatActivity => "pg_stat_activity",
            Section::Locks => "pg_locks",
            Section::Health => "lakewatch_pg",
            Section::Replication => "pg_replication",
            Section::StatReplication => "pg_stat_replication",
            Section::ReplicationSlots => "pg_replication_slots",
            Section::Archiver => "pg_stat_archiver",
            Section::Wal => "pg_wal",
            Section::ProgressVacuum => "pg_stat_progress_vacuum",
            Section::Bgwriter => "pg_stat_bgwriter",
            Section::Checkpointer => "pg_stat_checkpointer",
            Section::Statements => "pg_stat_statements",
            Section::Postmaster => "pg_postmaster",
            Section::Wraparound => "pg_database_wraparound",
            Section::LongRunning => "pg_long_running_transactions",
            Section::XlogLocation => "pg_xlog_location",
            Section::WalReceiver => "pg_stat_wal_receiver",
            Section::ProcessIdle => "pg_process_idle",
            Section::Autovacuum => "pg_stat_activity_autovacuum",
            Section::Buffercache => "pg_buffercache_summary",
        }
    }
}

/// The SQL of a section for a server version; `None` when it does not apply or is off.
pub(super) fn sql(section: Section, version: u32, opt: &Optional) -> Option<String> {
    let s = match section {
        Section::Settings => "SELECT name, setting, COALESCE(unit, ''), vartype FROM pg_settings \
             WHERE vartype IN ('bool', 'integer', 'real')"
            .to_string(),
        // active_time exists since Postgres 14.
        Section::StatDatabase => format!(
            "SELECT COALESCE(datid::text, '0'), COALESCE(datname, ''), \
             numbackends, xact_commit, xact_rollback, blks_read, blks_hit, tup_returned, \
             tup_fetched, tup_inserted, tup_updated, tup_deleted, conflicts, temp_files, \
             temp_bytes, deadlocks, blk_read_time, blk_write_time, \
             COALESCE(EXTRACT(EPOCH FROM stats_reset), 0), {} FROM pg_stat_database",
            if version >= 140000 {
                "active_time / 1000"
            } else {
                "NULL"
            }
        ),
        Section::Conflicts => "SELECT datid::text, datname, confl_tablespace, confl_lock, \
             confl_snapshot, confl_bufferpin, confl_deadlock FROM pg_stat_database_conflicts"
            .to_string(),
        // pg_database_size needs CONNECT on the database; without it the whole query
        // would fail, so such databases are left out.
        Section::DatabaseSize => "SELECT datname, CASE WHEN has_database_privilege(oid, 'CONNECT') \
             THEN pg_database_size(oid) END, datconnlimit FROM pg_database"
            .to_string(),
        Section::Roles => "SELECT rolname, rolconnlimit FROM pg_roles".to_string(),
        // postgres_exporter 0.20's query: a zero row for every known state of every
        // database, and the collector's own session left out.
        Section::StatActivity => "SELECT pg_database.datname, tmp.state, \
             COALESCE(usename, ''), COALESCE(application_name, ''), COALESCE(backend_type, ''), \
             COALESCE(wait_event_type, ''), COALESCE(wait_event, ''), COALESCE(count, 0), \
             COALESCE(max_tx_duration, 0) FROM (VALUES ('active'), ('idle'), \
             ('idle in transaction'), ('idle in transaction (aborted)'), \
             ('fastpath function call'), ('disabled')) AS tmp(state) CROSS JOIN pg_database \
             LEFT JOIN (SELECT datname, state, usename, application_name, backend_type, \
             wait_event_type, wait_event, count(*) AS count, \
             MAX(EXTRACT(EPOCH FROM now() - xact_start))::float8 AS max_tx_duration \
             FROM pg_stat_activity WHERE pid <> pg_backend_pid() \
             GROUP BY datname, state, usename, application_name, backend_type, \
             wait_event_type, wait_event) AS tmp2 \
             ON tmp.state = tmp2.state AND pg_database.datname = tmp2.datname"
            .to_string(),
        Section::Locks => "SELECT pg_database.datname, tmp.mode, COALESCE(count, 0) FROM (VALUES \
             ('accesssharelock'), ('rowsharelock'), ('rowexclusivelock'), \
             ('shareupdateexclusivelock'), ('sharelock'), ('sharerowexclusivelock'), \
             ('exclusivelock'), ('accessexclusivelock'), ('sireadlock')) AS tmp(mode) \
             CROSS JOIN pg_database LEFT JOIN (SELECT database, lower(mode) AS mode, \
             count(*) AS count FROM pg_locks WHERE database IS NOT NULL \
             GROUP BY database, lower(mode)) AS tmp2 \
             ON tmp.mode = tmp2.mode AND pg_database.oid = tmp2.database"
            .to_string(),
        Section::Health => "SELECT (SELECT count(*) FROM pg_stat_activity \
             WHERE backend_type = 'client backend')::float8 \
             / current_setting('max_connections')::float8, \
             COALESCE((SELECT max(EXTRACT(EPOCH FROM clock_timestamp() - xact_start)) \
             FROM pg_stat_activity WHERE backend_type = 'client backend' \
             AND xact_start IS NOT NULL AND pid <> pg_backend_pid()), 0)::float8, \
             (SELECT count(*) FROM pg_locks WHERE NOT granted)"
            .to_string(),
        Section::Replication
        | Section::StatReplication
        | Section::ReplicationSlots
        | Section::Archiver
        | Section::Wal => return replication::sql(section),
        Section::XlogLocation if opt.xlog_location => return replication::sql(section),
        Section::WalReceiver if opt.wal_receiver => return replication::sql(section),
        Section::ProcessIdle if opt.process_idle => activity::PROCESS_IDLE_SQL.to_string(),
        Section::Autovacuum if opt.autovacuum => activity::AUTOVACUUM_SQL.to_string(),
        // pg_buffercache_summary() came with Postgres 16 (extension version 1.4), as in
        // postgres_exporter, which skips older servers. Without the extension the query
        // fails with undefined_function: skipped with one log line, see super::missing.
        Section::Buffercache if version >= 160000 && opt.buffercache => {
            "SELECT buffers_used, buffers_unused, buffers_dirty, buffers_pinned, usagecount_avg \
             FROM pg_buffercache_summary()"
                .to_string()
        }
        Section::ProgressVacuum => return Some(tables::progress_vacuum_sql(version)),
        Section::Wraparound if opt.wraparound => tables::WRAPAROUND_SQL.to_string(),
        // Postgres 17 moved the checkpoint columns to pg_stat_checkpointer.
        Section::Bgwriter if version < 170000 => "SELECT checkpoints_timed, checkpoints_req, \
             checkpoint_write_time, checkpoint_sync_time, buffers_checkpoint, buffers_clean, \
             maxwritten_clean, buffers_backend, buffers_backend_fsync, buffers_alloc, \
             COALESCE(EXTRACT(EPOCH FROM stats_reset), 0) FROM pg_stat_bgwriter"
            .to_string(),
        Section::Bgwriter => "SELECT buffers_clean, maxwritten_clean, buffers_alloc, \
             COALESCE(EXTRACT(EPOCH FROM stats_reset), 0) FROM pg_stat_bgwriter"
            .to_string(),
        Section::Checkpointer if version >= 170000 && opt.checkpointer => "SELECT num_timed, num_requested, \
             restartpoints_timed, restartpoints_req, restartpoints_done, write_time, sync_time, \
             buffers_written, COALESCE(EXTRACT(EPOCH FROM stats_reset), 0) FROM pg_stat_checkpointer"
            .to_string(),
        // total_exec_time exists since Postgres 13; 17 renamed blk_*_time to
        // shared_blk_*_time. The limit is validated (≤ 500) and an integer, so
        // formatting it into the SQL is safe.
        Section::Statements => format!(
            "SELECT COALESCE(r.rolname, ''), COALESCE(d.datname, ''), s.queryid::text, s.calls, \
             s.total_exec_time / 1000, s.rows, s.{io}blk_read_time / 1000, \
             s.{io}blk_write_time / 1000 FROM pg_stat_statements s \
             LEFT JOIN pg_roles r ON r.oid = s.userid LEFT JOIN pg_database d ON d.oid = s.dbid \
             WHERE s.queryid IS NOT NULL ORDER BY s.total_exec_time DESC LIMIT {limit}",
            io = if version >= 170000 { "shared_" } else { "" },
            limit = opt.statements_limit?
        ),
        Section::Postmaster if opt.postmaster => {
            "SELECT EXTRACT(EPOCH FROM pg_postmaster_start_time())".to_string()
        }
        // postgres_exporter 0.20's query: transactions that are not idle, autovacuum
        // workers and the collector's own session left out.
        Section::LongRunning if opt.long_running => "SELECT count(*), \
             COALESCE(max(EXTRACT(EPOCH FROM clock_timestamp() - xact_start)), 0) \
             FROM pg_stat_activity WHERE state IS DISTINCT FROM 'idle' \
             AND query NOT LIKE 'autovacuum:%' AND xact_start IS NOT NULL \
             AND pid <> pg_backend_pid()"
            .to_string(),
        Section::Checkpointer
        | Section::Postmaster
        | Section::Wraparound
        | Section::LongRunning
        | Section::XlogLocation
        | Section::WalReceiver
        | Section::ProcessIdle
        | Section::Autovacuum
        | Section::Buffercache => {
            return None;
        }
    };
    Some(s)
}

pub(super) fn num(row: &SimpleQueryRow, i: usize) -> Option<f64> {
    let v = row.get(i)?;
    match v {
        "t" | "on" => Some(1.0),
        "f" | "off" => Some(0.0),
        _ => v.parse().ok(),
    }
}

pub(super) fn text(row: &SimpleQueryRow, i: usize) -> &str {
    row.get(i).unwrap_or("")
}

/// Turns a section's rows into samples. Rows with NULL where a number belongs are
/// skipped (a missing sample is honest; a made-up 0 is not).
pub(super) fn emit(section: Section, server: &str, rows: &[SimpleQueryRow], f: &mut Fragment) {
    match section {
        Section::Settings => {
            for r in rows {
                if let Some((name, value)) = setting(text(r, 0), text(r, 1), text(r, 2), text(r, 3))
                    && let Some(m) = cat::PG_SETTINGS.iter().find(|m| m.name == name)
                {
                    f.push(m, [server], value);
                }
            }
        }
        Section::StatDatabase => {
            const COLS: [&Metric; 16] = [
                &cat::PG_STAT_DATABASE_NUMBACKENDS,
                &cat::PG_STAT_DATABASE_XACT_COMMIT,
                &cat::PG_STAT_DATABASE_XACT_ROLLBACK,
                &cat::PG_STAT_DATABASE_BLKS_READ,
                &cat::PG_STAT_DATABASE_BLKS_HIT,
                &cat::PG_STAT_DATABASE_TUP_RETURNED,
                &cat::PG_STAT_DATABASE_TUP_FETCHED,
                &cat::PG_STAT_DATABASE_TUP_INSERTED,
                &cat::PG_STAT_DATABASE_TUP_UPDATED,
                &cat::PG_STAT_DATABASE_TUP_DELETED,
                &cat::PG_STAT_DATABASE_CONFLICTS,
                &cat::PG_STAT_DATABASE_TEMP_FILES,
                &cat::PG_STAT_DATABASE_TEMP_BYTES,
                &cat::PG_STAT_DATABASE_DEADLOCKS,
                &cat::PG_STAT_DATABASE_BLK_READ_TIME,
                &cat::PG_STAT_DATABASE_BLK_WRITE_TIME,
            ];
            for r in rows {
                let (datid, datname) = (text(r, 0), text(r, 1));
                for (i, m) in COLS.iter().enumerate() {
                    if let Some(v) = num(r, i + 2) {
                        f.push(m, [server, datid, datname], v);
                    }
                }
                // The datname="" row is the shared catalogs (Postgres 15+), not a database.
                if let (Some(read), Some(hit)) = (num(r, 5), num(r, 6))
                    && !datname.is_empty()
                    && read + hit > 0.0
                {
                    f.push(
                        &cat::LAKEWATCH_PG_CACHE_HIT,
                        [server, datname],
                        hit / (read + hit),
                    );
                }
                for (i, m) in [
                    &cat::PG_STAT_DATABASE_STATS_RESET,
                    &cat::PG_STAT_DATABASE_ACTIVE_TIME,
                ]
                .into_iter()
                .enumerate()
                {
                    if let Some(v) = num(r, i + 18) {
                        f.push(m, [server, datid, datname], v);
                    }
                }
            }
        }
        Section::Conflicts => {
            const COLS: [&Metric; 5] = [
                &cat::PG_STAT_DATABASE_CONFLICTS_CONFL_TABLESPACE,
                &cat::PG_STAT_DATABASE_CONFLICTS_CONFL_LOCK,
                &cat::PG_STAT_DATABASE_CONFLICTS_CONFL_SNAPSHOT,
                &cat::PG_STAT_DATABASE_CONFLICTS_CONFL_BUFFERPIN,
                &cat::PG_STAT_DATABASE_CONFLICTS_CONFL_DEADLOCK,
            ];
            for r in rows {
                for (i, m) in COLS.iter().enumerate() {
                    if let Some(v) = num(r, i + 2) {
                        f.push(m, [server, text(r, 0), text(r, 1)], v);
                    }
                }
            }
        }
        Section::DatabaseSize => {
            for r in rows {
                if let Some(v) = num(r, 1) {
                    f.push(&cat::PG_DATABASE_SIZE, [server, text(r, 0)], v);
                }
                if let Some(v) = num(r, 2) {
                    f.push(&cat::PG_DATABASE_CONNECTION_LIMIT, [server, text(r, 0)], v);
                }
            }
        }
        Section::Roles => {
            for r in rows {
                if let Some(v) = num(r, 1) {
                    f.push(&cat::PG_ROLES_CONNECTION_LIMIT, [server, text(r, 0)], v);
                }
            }
        }
        Section::StatActivity => {
            for r in rows {
                let l = [
                    server,
                    text(r, 0),
                    text(r, 1),
                    text(r, 2),
                    text(r, 3),
                    text(r, 4),
                    text(r, 5),
                    text(r, 6),
                ];
                if let (Some(count), Some(max)) = (num(r, 7), num(r, 8)) {
                    f.push(&cat::PG_STAT_ACTIVITY_COUNT, l, count);
                    f.push(&cat::PG_STAT_ACTIVITY_MAX_TX_DURATION, l, max);
                }
            }
        }
        Section::Locks => {
            for r in rows {
                if let Some(v) = num(r, 2) {
                    f.push(&cat::PG_LOCKS_COUNT, [server, text(r, 0), text(r, 1)], v);
                }
            }
        }
        Section::Health => {
            if let Some(r) = rows.first() {
                for (i, m) in [
                    &cat::LAKEWATCH_PG_CONNECTIONS_USED,
                    &cat::LAKEWATCH_PG_LONGEST_TRANSACTION,
                    &cat::LAKEWATCH_PG_WAITING_LOCKS,
                ]
                .into_iter()
                .enumerate()
                {
                    if let Some(v) = num(r, i) {
                        f.push(m, [server], v);
                    }
                }
            }
        }
        Section::Replication
        | Section::StatReplication
        | Section::ReplicationSlots
        | Section::Archiver
        | Section::Wal
        | Section::XlogLocation
        | Section::WalReceiver => replication::emit(section, server, rows, f),
        Section::ProcessIdle => activity::emit_process_idle(server, rows, f),
        Section::Autovacuum => activity::emit_autovacuum(server, rows, f),
        Section::Buffercache => push_row(
            rows,
            &[
                &cat::PG_BUFFERCACHE_SUMMARY_BUFFERS_USED,
                &cat::PG_BUFFERCACHE_SUMMARY_BUFFERS_UNUSED,
                &cat::PG_BUFFERCACHE_SUMMARY_BUFFERS_DIRTY,
                &cat::PG_BUFFERCACHE_SUMMARY_BUFFERS_PINNED,
                &cat::PG_BUFFERCACHE_SUMMARY_USAGECOUNT_AVG,
            ],
            server,
            f,
        ),
        Section::ProgressVacuum => tables::emit_progress_vacuum(server, rows, f),
        Section::Wraparound => tables::emit_wraparound(server, rows, f),
        Section::Bgwriter => {
            let cols: &[&Metric] = if rows.first().is_some_and(|r| r.len() > 4) {
                &[
                    &cat::PG_STAT_BGWRITER_CHECKPOINTS_TIMED,
                    &cat::PG_STAT_BGWRITER_CHECKPOINTS_REQ,
                    &cat::PG_STAT_BGWRITER_CHECKPOINT_WRITE_TIME,
                    &cat::PG_STAT_BGWRITER_CHECKPOINT_SYNC_TIME,
                    &cat::PG_STAT_BGWRITER_BUFFERS_CHECKPOINT,
                    &cat::PG_STAT_BGWRITER_BUFFERS_CLEAN,
                    &cat::PG_STAT_BGWRITER_MAXWRITTEN_CLEAN,
                    &cat::PG_STAT_BGWRITER_BUFFERS_BACKEND,
                    &cat::PG_STAT_BGWRITER_BUFFERS_BACKEND_FSYNC,
                    &cat::PG_STAT_BGWRITER_BUFFERS_ALLOC,
                    &cat::PG_STAT_BGWRITER_STATS_RESET,
                ]
            } else {
                &[
                    &cat::PG_STAT_BGWRITER_BUFFERS_CLEAN,
                    &cat::PG_STAT_BGWRITER_MAXWRITTEN_CLEAN,
                    &cat::PG_STAT_BGWRITER_BUFFERS_ALLOC,
                    &cat::PG_STAT_BGWRITER_STATS_RESET,
                ]
            };
            push_row(rows, cols, server, f);
        }
        Section::Checkpointer => push_row(
            rows,
            &[
                &cat::PG_STAT_CHECKPOINTER_NUM_TIMED,
                &cat::PG_STAT_CHECKPOINTER_NUM_REQUESTED,
                &cat::PG_STAT_CHECKPOINTER_RESTARTPOINTS_TIMED,
                &cat::PG_STAT_CHECKPOINTER_RESTARTPOINTS_REQ,
                &cat::PG_STAT_CHECKPOINTER_RESTARTPOINTS_DONE,
                &cat::PG_STAT_CHECKPOINTER_WRITE_TIME,
                &cat::PG_STAT_CHECKPOINTER_SYNC_TIME,
                &cat::PG_STAT_CHECKPOINTER_BUFFERS_WRITTEN,
                &cat::PG_STAT_CHECKPOINTER_STATS_RESET,
            ],
            server,
            f,
        ),
        Section::Statements => {
            for r in rows {
                let l = [server, text(r, 0), text(r, 1), text(r, 2)];
                for (i, m) in [
                    &cat::PG_STAT_STATEMENTS_CALLS,
                    &cat::PG_STAT_STATEMENTS_SECONDS,
                    &cat::PG_STAT_STATEMENTS_ROWS,
                    &cat::PG_STAT_STATEMENTS_BLOCK_READ_SECONDS,
                    &cat::PG_STAT_STATEMENTS_BLOCK_WRITE_SECONDS,
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
        Section::Postmaster => push_row(rows, &[&cat::PG_POSTMASTER_START_TIME], server, f),
        Section::LongRunning => push_row(
            rows,
            &[
                &cat::PG_LONG_RUNNING_TRANSACTIONS,
                &cat::PG_LONG_RUNNING_TRANSACTIONS_OLDEST,
            ],
            server,
            f,
        ),
    }
}

/// One-row views: column i is metric i, labelled only with `server`.
fn push_row(rows: &[SimpleQueryRow], cols: &[&'static Metric], server: &str, f: &mut Fragment) {
    if let Some(r) = rows.first() {
        for (i, m) in cols.iter().enumerate() {
            if let Some(v) = num(r, i) {
                f.push(m, [server], v);
            }
        }
    }
}

/// postgres_exporter's conversion of a `pg_settings` row into a metric name and value:
/// time units to seconds, memory units to bytes, booleans to 0/1; -1 ("disabled") is
/// kept as is.
pub(super) fn setting(name: &str, value: &str, unit: &str, vartype: &str) -> Option<(String, f64)> {
    let mut v: f64 = match (vartype, value) {
        ("bool", "on") => 1.0,
        ("bool", "off") => 0.0,
        ("integer" | "real", v) => v.parse().ok()?,
        _ => return None,
    };
    let suffix = match unit {
        "" => "",
        "ms" | "s" | "min" | "h" | "d" => "_seconds",
        u if u.ends_with('B') => "_bytes",
        _ => return None,
    };
    if v != -1.0 {
        v *= match unit {
            "ms" => 0.001,
            "min" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            "B" => 1.0,
            u if u.ends_with("kB") => bytes_factor(u, "kB", 1 << 10)?,
            u if u.ends_with("MB") => bytes_factor(u, "MB", 1 << 20)?,
            u if u.ends_with("GB") => bytes_factor(u, "GB", 1 << 30)?,
            u if u.ends_with("TB") => bytes_factor(u, "TB", 1 << 40)?,
            _ => 1.0,
        };
    }
    Some((format!("pg_settings_{}{suffix}", name.replace('.', "_")), v))
}

/// `8kB` → 8192: Postgres' block-sized units.
fn bytes_factor(unit: &str, suffix: &str, size: u64) -> Option<f64> {
    let n = unit.strip_suffix(suffix)?;
    let n: u64 = if n.is_empty() { 1 } else { n.parse().ok()? };
    Some((n * size) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_follow_postgres_exporter_units() {
        let s = |n, v, u, t| setting(n, v, u, t);
        assert_eq!(
            s("max_connections", "100", "", "integer"),
            Some(("pg_settings_max_connections".into(), 100.0))
        );
        assert_eq!(
            s("shared_buffers", "16384", "8kB", "integer"),
            Some(("pg_settings_shared_buffers_bytes".into(), 134_217_728.0))
        );
        assert_eq!(
            s("work_mem", "4096", "kB", "integer"),
            Some(("pg_settings_work_mem_bytes".into(), 4_194_304.0))
        );
        assert_eq!(
            s("max_wal_size", "1024", "MB", "integer"),
            Some(("pg_settings_max_wal_size_bytes".into(), 1_073_741_824.0))
        );
        assert_eq!(
            s("checkpoint_timeout", "300", "s", "integer"),
            Some(("pg_settings_checkpoint_timeout_seconds".into(), 300.0))
        );
        assert_eq!(
            s("wal_writer_delay", "200", "ms", "integer"),
            Some(("pg_settings_wal_writer_delay_seconds".into(), 0.2))
        );
        assert_eq!(
            s("autovacuum_work_mem", "-1", "kB", "integer"),
            Some(("pg_settings_autovacuum_work_mem_bytes".into(), -1.0))
        );
        assert_eq!(
            s("fsync", "on", "", "bool"),
            Some(("pg_settings_fsync".into(), 1.0))
        );
        assert_eq!(s("wal_level", "replica", "", "enum"), None);
    }

    #[test]
    fn version_aware_sql() {
        let off = Optional::default();
        let on = Optional {
            statements_limit: Some(7),
            checkpointer: true,
            postmaster: true,
            wraparound: true,
            long_running: true,
            buffercache: true,
            process_idle: true,
            autovacuum: true,
            wal_receiver: true,
            statio_user_indexes: true,
            xlog_location: true,
        };
        for v in [130000, 140000, 150000, 160000, 170000] {
            let get = |s, opt| sql(s, v, opt);
            let bg = get(Section::Bgwriter, &off).unwrap();
            assert_eq!(bg.contains("checkpoints_timed"), v < 170000, "{v}");
            assert_eq!(
                get(Section::Checkpointer, &on).is_some(),
                v >= 170000,
                "{v}"
            );
            assert!(get(Section::Checkpointer, &off).is_none(), "{v}");
            let db = get(Section::StatDatabase, &off).unwrap();
            assert_eq!(db.contains("active_time"), v >= 140000, "{v}");
            let st = get(Section::Statements, &on).unwrap();
            assert!(st.ends_with("LIMIT 7"), "{v}");
            assert_eq!(st.contains("shared_blk_read_time"), v >= 170000, "{v}");
            let pv = get(Section::ProgressVacuum, &off).unwrap();
            assert_eq!(pv.contains("max_dead_tuples"), v < 170000, "{v}");
            assert_eq!(pv.contains("num_dead_item_ids"), v >= 170000, "{v}");
            for s in Section::ALL {
                // Every default section runs on every supported version; the opt-in
                // ones only when enabled.
                let optional = matches!(
                    s,
                    Section::Statements
                        | Section::Checkpointer
                        | Section::Postmaster
                        | Section::Wraparound
                        | Section::LongRunning
                        | Section::XlogLocation
                        | Section::WalReceiver
                        | Section::ProcessIdle
                        | Section::Autovacuum
                        | Section::Buffercache
                );
                assert_eq!(get(s, &off).is_some(), !optional, "{s:?} on {v}");
                let runs_on = match s {
                    Section::Checkpointer => v >= 170000,
                    Section::Buffercache => v >= 160000,
                    _ => true,
                };
                assert_eq!(get(s, &on).is_some(), runs_on, "{s:?} on {v}");
            }
        }
    }

    #[test]
    fn declared_settings_are_reachable() {
        // Every catalog pg_settings_* name must be one the conversion can produce.
        for m in cat::PG_SETTINGS {
            assert!(m.name.starts_with("pg_settings_"), "{}", m.name);
        }
    }
}

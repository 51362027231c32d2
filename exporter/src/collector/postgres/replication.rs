//! Replication, replication slots, WAL archiving and the WAL directory, as
//! postgres_exporter 0.20's `replication`, `stat_replication`, `replication_slots`,
//! `stat_archiver` and `wal` collectors write them, and its opt-in `xlog_location` and
//! `stat_wal_receiver`.
//!
//! Every query works on a primary and on a standby: functions that fail during recovery
//! (`pg_current_wal_lsn()`) sit behind `CASE WHEN pg_is_in_recovery()`, and a primary
//! without standbys, slots or archiving still gets its gauges (lag 0, counts 0).

use lakewatch_catalog as cat;
use tokio_postgres::SimpleQueryRow;

use crate::collector::Fragment;
use crate::collector::postgres::builtin::{Section, num, text};

/// The server's WAL position in bytes, on a primary and on a standby alike.
const CURRENT_LSN: &str = "CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() \
     ELSE pg_current_wal_lsn() END";

/// The SQL of one of this module's sections (the same on Postgres 13 to 17).
pub(super) fn sql(section: Section) -> Option<String> {
    let s = match section {
        // pg_last_xact_replay_timestamp() is NULL on a primary: GREATEST ignores NULL,
        // so the ages read 0 there, as in postgres_exporter.
        Section::Replication => "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 \
             WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
             ELSE GREATEST(0, EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp()))) END, \
             CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END, \
             GREATEST(0, EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp())))"
            .to_string(),
        // The slot a standby streams through, by the walsender's pid (0.20.1's join).
        Section::StatReplication => format!(
            "SELECT COALESCE(r.application_name, ''), COALESCE(host(r.client_addr), ''), \
             COALESCE(r.state, ''), COALESCE(s.slot_name::text, ''), \
             pg_wal_lsn_diff({CURRENT_LSN}, '0/0'), pg_wal_lsn_diff({CURRENT_LSN}, r.replay_lsn) \
             FROM pg_stat_replication r \
             LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid"
        ),
        // One query for both of postgres_exporter's slot queries: the 0.11 pair
        // (active, retained WAL by slot and database) and the 0.20 set (by slot and type).
        Section::ReplicationSlots => format!(
            "SELECT slot_name, COALESCE(database, ''), active::int, \
             pg_wal_lsn_diff({CURRENT_LSN}, restart_lsn), slot_type, \
             pg_wal_lsn_diff({CURRENT_LSN}, '0/0'), \
             CASE WHEN active THEN pg_wal_lsn_diff(confirmed_flush_lsn, '0/0') END, \
             safe_wal_size, wal_status FROM pg_replication_slots"
        ),
        // last_archived_time is NULL until the first success: no age then.
        Section::Archiver => "SELECT archived_count, failed_count, \
             EXTRACT(EPOCH FROM now() - last_archived_time) FROM pg_stat_archiver"
            .to_string(),
        // Segment files only (24 hex digits), not .history/.partial/archive_status.
        Section::Wal => "SELECT count(*), sum(size) FROM pg_ls_waldir() \
             WHERE name ~ '^[0-9A-F]{24}$'"
            .to_string(),
        // postgres_exporter 0.20 calls the pre-10 functions (pg_current_xlog_location)
        // and so skips every server Lakewatch supports; the same position comes from
        // their Postgres 10 names. Low 52 bits, as there (a float64 holds them exactly).
        Section::XlogLocation => "SELECT CASE WHEN pg_is_in_recovery() \
             THEN (pg_last_wal_replay_lsn() - '0/0') % (2^52)::bigint \
             ELSE (pg_current_wal_lsn() - '0/0') % (2^52)::bigint END"
            .to_string(),
        // A row only on a standby whose WAL receiver runs. 0.20's query (flushed_lsn
        // exists since Postgres 13); the upstream host is the conninfo's host=, and a
        // repmgr slot name (repmgr_slot_<id>) gives the upstream node.
        Section::WalReceiver => "SELECT \
             COALESCE(trim(both '''' from substring(conninfo from 'host=([^ ]*)')), ''), \
             COALESCE(slot_name, ''), status, \
             (receive_start_lsn - '0/0') % (2^52)::bigint, receive_start_tli, \
             (flushed_lsn - '0/0') % (2^52)::bigint, received_tli, \
             EXTRACT(EPOCH FROM last_msg_send_time), EXTRACT(EPOCH FROM last_msg_receipt_time), \
             (latest_end_lsn - '0/0') % (2^52)::bigint, EXTRACT(EPOCH FROM latest_end_time), \
             substring(slot_name from 'repmgr_slot_([0-9]*)') \
             FROM pg_stat_wal_receiver WHERE status IS NOT NULL"
            .to_string(),
        _ => return None,
    };
    Some(s)
}

/// The WAL receiver query's columns 3.., in order.
const RECEIVER: [&cat::Metric; 9] = [
    &cat::PG_STAT_WAL_RECEIVER_RECEIVE_START_LSN,
    &cat::PG_STAT_WAL_RECEIVER_RECEIVE_START_TLI,
    &cat::PG_STAT_WAL_RECEIVER_FLUSHED_LSN,
    &cat::PG_STAT_WAL_RECEIVER_RECEIVED_TLI,
    &cat::PG_STAT_WAL_RECEIVER_LAST_MSG_SEND_TIME,
    &cat::PG_STAT_WAL_RECEIVER_LAST_MSG_RECEIPT_TIME,
    &cat::PG_STAT_WAL_RECEIVER_LATEST_END_LSN,
    &cat::PG_STAT_WAL_RECEIVER_LATEST_END_TIME,
    &cat::PG_STAT_WAL_RECEIVER_UPSTREAM_NODE,
];

/// Turns one of this module's sections' rows into samples (NULL numbers are skipped).
pub(super) fn emit(section: Section, server: &str, rows: &[SimpleQueryRow], f: &mut Fragment) {
    match section {
        Section::Replication => {
            if let Some(r) = rows.first() {
                for (i, m) in [
                    &cat::PG_REPLICATION_LAG,
                    &cat::PG_REPLICATION_IS_REPLICA,
                    &cat::PG_REPLICATION_LAST_REPLAY,
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
        Section::StatReplication => {
            for r in rows {
                let l = [server, text(r, 0), text(r, 1), text(r, 2), text(r, 3)];
                if let Some(v) = num(r, 4) {
                    f.push(&cat::PG_STAT_REPLICATION_CURRENT_WAL_LSN, l, v);
                }
                if let Some(v) = num(r, 5) {
                    f.push(&cat::PG_STAT_REPLICATION_WAL_LSN_DIFF, l, v);
                }
            }
        }
        Section::ReplicationSlots => {
            for r in rows {
                let by_db = [server, text(r, 0), text(r, 1)];
                let by_type = [server, text(r, 0), text(r, 4)];
                if let Some(v) = num(r, 2) {
                    f.push(&cat::PG_REPLICATION_SLOTS_ACTIVE, by_db, v);
                    f.push(&cat::PG_REPLICATION_SLOTS_IS_ACTIVE, by_type, v);
                }
                if let Some(v) = num(r, 3) {
                    f.push(&cat::PG_REPLICATION_SLOTS_WAL_LSN_DIFF, by_db, v);
                }
                if let Some(v) = num(r, 5) {
                    f.push(&cat::PG_REPLICATION_SLOTS_CURRENT_WAL_LSN, by_type, v);
                }
                if let Some(v) = num(r, 6) {
                    f.push(&cat::PG_REPLICATION_SLOTS_CONFIRMED_FLUSH_LSN, by_type, v);
                }
                if let Some(v) = num(r, 7) {
                    f.push(&cat::PG_REPLICATION_SLOTS_SAFE_WAL_SIZE, by_type, v);
                }
                if let Some(status) = r.get(8) {
                    f.push(
                        &cat::PG_REPLICATION_SLOTS_WAL_STATUS,
                        [server, text(r, 0), text(r, 4), status],
                        1.0,
                    );
                }
            }
        }
        Section::Archiver => {
            if let Some(r) = rows.first() {
                for (i, m) in [
                    &cat::PG_STAT_ARCHIVER_ARCHIVED_COUNT,
                    &cat::PG_STAT_ARCHIVER_FAILED_COUNT,
                    &cat::PG_STAT_ARCHIVER_LAST_ARCHIVE_AGE,
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
        Section::Wal => {
            if let Some(r) = rows.first() {
                if let Some(v) = num(r, 0) {
                    f.push(&cat::PG_WAL_SEGMENTS, [server], v);
                }
                if let Some(v) = num(r, 1) {
                    f.push(&cat::PG_WAL_SIZE, [server], v);
                }
            }
        }
        Section::XlogLocation => {
            if let Some(v) = rows.first().and_then(|r| num(r, 0)) {
                f.push(&cat::PG_XLOG_LOCATION_BYTES, [server], v);
            }
        }
        // 0.20 drops the whole row when a slot name or any value is NULL (a standby
        // streaming without a slot, a receiver that has not heard from its upstream
        // yet); here the row is kept (slot_name="") and only the NULL values are left
        // out.
        Section::WalReceiver => {
            for r in rows {
                let l = [server, text(r, 0), text(r, 1), text(r, 2)];
                for (i, m) in RECEIVER.iter().enumerate() {
                    if let Some(v) = num(r, i + 3) {
                        f.push(m, l, v);
                    }
                }
            }
        }
        _ => {}
    }
}

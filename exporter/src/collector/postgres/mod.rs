//! Postgres servers, postgres_exporter-compatible.
//!
//! Each target has exactly one long-lived connection, owned by this collector and used
//! only by it: scrapes read the snapshot and never reach the database, so the number of
//! connections does not depend on the scrape rate (postgres_exporter opens one per
//! concurrent scrape). The session runs with `application_name=lakewatch`, a
//! `statement_timeout`, a `lock_timeout` (a catalog query stuck behind a migration's
//! exclusive lock gives up instead of joining the lock queue) and read-only
//! transactions. A lost connection is re-opened on a later cycle, with exponential
//! backoff while the server keeps refusing.
//!
//! All queries use the simple query protocol: one round trip each, no prepared
//! statements left on the server, and every value arrives as text, which sidesteps type
//! differences between server versions (`oid`, `numeric`, `int8`).
//!
//! Version-aware: each query declares the server versions it applies to; a view,
//! column or function the server lacks (or the role may not read) disables that query
//! for the rest of the connection's life with one log line, instead of failing every
//! cycle.
//!
//! After the built-in queries come the target's custom queries ([`queries`]), on the
//! same session and under the same timeouts. A target's extra `labels` are added to
//! every series it produces, whichever query produced it.

pub mod queries;
pub mod settings;
pub mod target;
mod tls;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use lakewatch_catalog::{self as cat, Metric};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage, SimpleQueryRow, Socket};

use super::{BoxFuture, CollectError, Collector, Fragment, Job};
use crate::collector::postgres::settings::PostgresConfig;
use crate::collector::postgres::target::{PostgresTarget, PostgresTls};

/// Longest wait between reconnect attempts while a server keeps refusing.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The queries of one cycle, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Section {
    Settings,
    StatDatabase,
    DatabaseSize,
    StatActivity,
    Locks,
    Health,
    Replication,
    StatReplication,
    ReplicationSlots,
    Bgwriter,
    Checkpointer,
    Statements,
}

impl Section {
    const ALL: [Section; 12] = [
        Section::Settings,
        Section::StatDatabase,
        Section::DatabaseSize,
        Section::StatActivity,
        Section::Locks,
        Section::Health,
        Section::Replication,
        Section::StatReplication,
        Section::ReplicationSlots,
        Section::Bgwriter,
        Section::Checkpointer,
        Section::Statements,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::Settings => "pg_settings",
            Section::StatDatabase => "pg_stat_database",
            Section::DatabaseSize => "pg_database_size",
            Section::StatActivity => "pg_stat_activity",
            Section::Locks => "pg_locks",
            Section::Health => "lakewatch_pg",
            Section::Replication => "pg_replication",
            Section::StatReplication => "pg_stat_replication",
            Section::ReplicationSlots => "pg_replication_slots",
            Section::Bgwriter => "pg_stat_bgwriter",
            Section::Checkpointer => "pg_stat_checkpointer",
            Section::Statements => "pg_stat_statements",
        }
    }
}

/// An open session and what was learned about its server.
struct Conn {
    client: Client,
    /// Drives the socket; aborted and awaited before any new connection is opened, so
    /// there is never a second one, not even briefly.
    task: JoinHandle<()>,
    /// `server_version_num`, e.g. 150018.
    version_num: u32,
    version: String,
    short_version: String,
    /// Sections this server cannot answer (missing view, column or privilege).
    skipped: HashSet<Section>,
}

/// The Postgres collector for one target.
pub struct PostgresCollector {
    target: PostgresTarget,
    statement_timeout: Duration,
    lock_timeout: Duration,
    stat_statements_limit: Option<u32>,
    conn: Option<Conn>,
    /// Consecutive failed connection attempts, for the backoff.
    failures: u32,
    retry_at: Option<Instant>,
    /// The last connection error, repeated while backing off so the self-metrics and
    /// the log keep saying why (without a new log line each cycle).
    last_error: Option<(&'static str, String)>,
    /// Custom queries' cached results and already-logged warnings.
    custom: queries::State,
}

impl PostgresCollector {
    pub fn new(cfg: &PostgresConfig, target: PostgresTarget) -> PostgresCollector {
        PostgresCollector {
            statement_timeout: cfg.statement_timeout,
            lock_timeout: cfg.lock_timeout,
            stat_statements_limit: cfg.stat_statements_limit,
            conn: None,
            failures: 0,
            retry_at: None,
            last_error: None,
            custom: queries::State {
                cached: vec![None; target.queries.len()],
                ..queries::State::default()
            },
            target,
        }
    }

    /// Adds the target's `labels` to every series of a cycle's result.
    fn label(&self, f: &mut Fragment) {
        let extra = &self.target.labels;
        if extra.is_empty() {
            return;
        }
        for s in &mut f.samples {
            s.extra_labels.extend(extra.iter().cloned());
        }
        for family in &mut f.passthrough {
            for s in &mut family.samples {
                s.labels.extend(extra.iter().cloned());
                s.labels.sort();
            }
        }
    }

    fn down(&self, kind: &'static str, message: String) -> CollectError {
        let mut f = Fragment::default();
        f.push(&cat::PG_UP, [self.target.server.as_str()], 0.0);
        CollectError::new(kind, message).with_fragment(f)
    }

    /// Closes the session and waits until its socket is gone.
    async fn disconnect(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.client);
            conn.task.abort();
            let _ = conn.task.await;
        }
    }

    async fn connect(&mut self) -> Result<(), CollectError> {
        self.disconnect().await;
        if let Some(at) = self.retry_at
            && Instant::now() < at
        {
            let (kind, message) = self
                .last_error
                .clone()
                .unwrap_or(("connect", "waiting to reconnect".into()));
            return Err(self.down(kind, message));
        }
        match self.open().await {
            Ok(conn) => {
                if self.failures > 0 {
                    tracing::info!(target_name = %self.target.name, server = %self.target.server, "connected to Postgres again");
                }
                self.conn = Some(conn);
                self.failures = 0;
                self.retry_at = None;
                self.last_error = None;
                Ok(())
            }
            Err((kind, message)) => {
                self.failures = self.failures.saturating_add(1);
                let backoff = Duration::from_secs(1)
                    .saturating_mul(1 << self.failures.min(7).saturating_sub(1))
                    .min(MAX_BACKOFF);
                self.retry_at = Some(Instant::now() + backoff);
                self.last_error = Some((kind, message.clone()));
                Err(self.down(kind, message))
            }
        }
    }

    async fn open(&self) -> Result<Conn, (&'static str, String)> {
        let mut cfg = self.target.connect.clone();
        if let Some(p) = &self.target.password {
            cfg.password(p.expose());
        }
        let server = self.target.server.as_str();
        // tokio-postgres never puts the password in its errors; the server's messages
        // ("password authentication failed for user ...") do not either.
        let failed = |e: &tokio_postgres::Error| {
            let kind = match e.code() {
                Some(c)
                    if *c == SqlState::INVALID_PASSWORD
                        || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
                {
                    "auth"
                }
                _ => "connect",
            };
            (kind, format!("cannot connect to {server}: {}", describe(e)))
        };
        let (client, task) = match &self.target.tls {
            PostgresTls::Disable => start(&cfg, NoTls, server).await.map_err(|e| failed(&e))?,
            PostgresTls::Require(tls) => start(&cfg, rustls(tls, server)?, server)
                .await
                .map_err(|e| failed(&e))?,
            // libpq's prefer: whatever goes wrong with TLS (refused, handshake, or the
            // server turning down the encrypted session), try once more without it.
            PostgresTls::Prefer(tls) => match start(&cfg, rustls(tls, server)?, server).await {
                Ok(c) => c,
                Err(with_tls) => {
                    cfg.ssl_mode(tokio_postgres::config::SslMode::Disable);
                    start(&cfg, NoTls, server).await.map_err(|plain| {
                        let (kind, message) = failed(&plain);
                        let kind = if failed(&with_tls).0 == "auth" {
                            "auth"
                        } else {
                            kind
                        };
                        (
                            kind,
                            format!("{message} (with TLS: {})", describe(&with_tls)),
                        )
                    })?
                }
            },
        };
        let setup = format!(
            "SET statement_timeout = {}; SET lock_timeout = {}; SET default_transaction_read_only = on; \
             SET DateStyle = ISO",
            self.statement_timeout.as_millis().max(1),
            self.lock_timeout.as_millis().max(1),
        );
        let version = async {
            client.batch_execute(&setup).await?;
            client
                .simple_query("SELECT current_setting('server_version_num'), version()")
                .await
        }
        .await;
        let rows = match version {
            Ok(msgs) => rows(msgs),
            Err(e) => {
                task.abort();
                let _ = task.await;
                return Err((
                    "connect",
                    format!("session setup on {server} failed: {}", describe(&e)),
                ));
            }
        };
        let (version_num, version) = rows
            .first()
            .and_then(|r| Some((r.get(0)?.parse::<u32>().ok()?, r.get(1)?.to_string())))
            .ok_or((
                "parse",
                "unexpected answer to the version query".to_string(),
            ))?;
        Ok(Conn {
            client,
            task,
            version_num,
            short_version: short_version(version_num),
            version,
            skipped: HashSet::new(),
        })
    }

    async fn cycle(&mut self) -> Result<Fragment, CollectError> {
        if self.conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            self.connect().await?;
        }
        let server = self.target.server.clone();
        let limit = self.stat_statements_limit;
        let conn = self.conn.as_mut().expect("connected above");
        let mut f = Fragment::default();
        let mut query_error: Option<String> = None;
        let mut lost: Option<String> = None;
        for section in Section::ALL {
            if conn.skipped.contains(&section) {
                continue;
            }
            let Some(sql) = sql(section, conn.version_num, limit) else {
                continue;
            };
            let mut out = Fragment::default();
            match conn.client.simple_query(&sql).await {
                Ok(msgs) => {
                    emit(section, &server, &rows(msgs), &mut out);
                    f.samples.append(&mut out.samples);
                }
                Err(e) if conn.client.is_closed() || e.as_db_error().is_none() => {
                    lost = Some(format!(
                        "{server}: connection lost during {}: {}",
                        section.name(),
                        describe(&e)
                    ));
                    break;
                }
                Err(e) if e.code().is_some_and(missing) => {
                    tracing::warn!(
                        target_name = %self.target.name,
                        server = %server,
                        query = section.name(),
                        "skipping this query until the next reconnect: {}",
                        describe(&e)
                    );
                    conn.skipped.insert(section);
                }
                Err(e) => {
                    // A timeout or a lock wait cut this query; the others still report.
                    let e = describe(&e);
                    query_error.get_or_insert_with(|| format!("{server}: {}: {e}", section.name()));
                }
            }
        }
        for (i, q) in self.target.queries.iter().enumerate() {
            if lost.is_some() {
                break;
            }
            if !q.runs_on(conn.version_num) {
                continue;
            }
            if let Some((at, families)) = &self.custom.cached[i]
                && at.elapsed() < q.cache
            {
                f.passthrough.extend(families.iter().cloned());
                continue;
            }
            let mut warnings = Vec::new();
            let result = match conn.client.simple_query(&q.sql).await {
                Ok(msgs) => q.families(&server, &msgs, &mut warnings),
                Err(e) if conn.client.is_closed() || e.as_db_error().is_none() => {
                    lost = Some(format!(
                        "{server}: connection lost during custom query {}: {}",
                        q.prefix,
                        describe(&e)
                    ));
                    break;
                }
                Err(e) => Err(describe(&e)),
            };
            for w in warnings {
                if self.custom.warned.insert(w.clone()) {
                    tracing::warn!(target_name = %self.target.name, server = %server, "custom query: {w}");
                }
            }
            match result {
                Ok(families) => {
                    if !q.cache.is_zero() {
                        self.custom.cached[i] = Some((Instant::now(), families.clone()));
                    }
                    f.passthrough.extend(families);
                }
                Err(e) => {
                    // Logged by the scheduler and counted as kind="query"; the other
                    // queries' series are still published.
                    query_error
                        .get_or_insert_with(|| format!("{server}: custom query {}: {e}", q.prefix));
                }
            }
        }
        if let Some(message) = lost {
            self.disconnect().await;
            return Err(self.down("connect", message));
        }
        let conn = self.conn.as_ref().expect("still connected");
        f.push(&cat::PG_UP, [server.as_str()], 1.0);
        f.push(
            &cat::PG_STATIC,
            [
                server.as_str(),
                conn.short_version.as_str(),
                conn.version.as_str(),
            ],
            1.0,
        );
        match query_error {
            None => Ok(f),
            Some(message) => Err(CollectError::new("query", message).with_fragment(f)),
        }
    }
}

/// The Postgres collector's jobs: one per target, and so one connection per target, so
/// a slow or locked server delays only its own series.
pub fn jobs(settings: &PostgresConfig) -> Vec<Job> {
    settings
        .targets
        .iter()
        .map(|target| Job {
            schedule: settings.schedule,
            collector: Box::new(PostgresCollector::new(settings, target.clone())),
        })
        .collect()
}

impl Collector for PostgresCollector {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn target(&self) -> &str {
        &self.target.name
    }

    fn collect(&mut self) -> BoxFuture<'_, Result<Fragment, CollectError>> {
        Box::pin(async move {
            match self.cycle().await {
                Ok(mut f) => {
                    self.label(&mut f);
                    Ok(f)
                }
                Err(mut e) => {
                    self.label(&mut e.fragment);
                    Err(e)
                }
            }
        })
    }
}

/// The rustls connector of a target, built now so rotated certificate files are read
/// on every (re)connect.
fn rustls(
    tls: &crate::tls::ClientTls,
    server: &str,
) -> Result<tls::MakeRustls, (&'static str, String)> {
    let fail = |e: String| ("connect", format!("TLS setup for {server}: {e}"));
    let config = tls.client_config().map_err(fail)?;
    let name = match &tls.server_name {
        Some(_) => Some(tls.server_name("").map_err(fail)?),
        None => None,
    };
    Ok(tls::MakeRustls::new(config, name))
}

/// Connects and spawns the task that drives the socket.
async fn start<T>(
    cfg: &tokio_postgres::Config,
    tls: T,
    server: &str,
) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket> + Send,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = cfg.connect(tls).await?;
    let server = server.to_string();
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(server = %server, "Postgres connection ended: {}", describe(&e));
        }
    });
    Ok((client, task))
}

/// An error with its causes: tokio-postgres' own `Display` stops at "db error".
fn describe(e: &tokio_postgres::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Errors meaning "this server cannot answer this query", not "try again".
fn missing(code: &SqlState) -> bool {
    [
        SqlState::UNDEFINED_TABLE,
        SqlState::UNDEFINED_COLUMN,
        SqlState::UNDEFINED_FUNCTION,
        SqlState::INSUFFICIENT_PRIVILEGE,
        // pg_stat_statements installed but not in shared_preload_libraries.
        SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
    ]
    .contains(code)
}

fn rows(msgs: Vec<SimpleQueryMessage>) -> Vec<SimpleQueryRow> {
    msgs.into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// postgres_exporter's `short_version`: semver of the server (`15.18.0`).
fn short_version(num: u32) -> String {
    format!("{}.{}.0", num / 10000, num % 10000)
}

/// The SQL of a section for a server version; `None` when it does not apply.
fn sql(section: Section, version: u32, statements_limit: Option<u32>) -> Option<String> {
    let s = match section {
        Section::Settings => "SELECT name, setting, COALESCE(unit, ''), vartype FROM pg_settings \
             WHERE vartype IN ('bool', 'integer', 'real')"
            .to_string(),
        Section::StatDatabase => "SELECT COALESCE(datid::text, '0'), COALESCE(datname, ''), \
             numbackends, xact_commit, xact_rollback, blks_read, blks_hit, tup_returned, \
             tup_fetched, tup_inserted, tup_updated, tup_deleted, conflicts, temp_files, \
             temp_bytes, deadlocks, blk_read_time, blk_write_time FROM pg_stat_database"
            .to_string(),
        // pg_database_size needs CONNECT on the database; without it the whole query
        // would fail, so such databases are left out.
        Section::DatabaseSize => "SELECT datname, CASE WHEN has_database_privilege(oid, 'CONNECT') \
             THEN pg_database_size(oid) END FROM pg_database"
            .to_string(),
        // postgres_exporter's query: a zero row for every known state of every database.
        Section::StatActivity => "SELECT pg_database.datname, tmp.state, COALESCE(count, 0), \
             COALESCE(max_tx_duration, 0) FROM (VALUES ('active'), ('idle'), \
             ('idle in transaction'), ('idle in transaction (aborted)'), \
             ('fastpath function call'), ('disabled')) AS tmp(state) CROSS JOIN pg_database \
             LEFT JOIN (SELECT datname, state, count(*) AS count, \
             MAX(EXTRACT(EPOCH FROM now() - xact_start))::float8 AS max_tx_duration \
             FROM pg_stat_activity GROUP BY datname, state) AS tmp2 \
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
        Section::Replication => "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 \
             WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
             ELSE GREATEST(0, COALESCE(EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp())), 0)) END, \
             CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END"
            .to_string(),
        // pg_current_wal_lsn() fails on a standby; the WHERE keeps it from running there.
        Section::StatReplication => "SELECT COALESCE(application_name, ''), \
             COALESCE(host(client_addr), ''), COALESCE(state, ''), \
             pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) \
             FROM pg_stat_replication WHERE NOT pg_is_in_recovery()"
            .to_string(),
        Section::ReplicationSlots => "SELECT slot_name, COALESCE(database, ''), active::int, \
             CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), restart_lsn) \
             ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END FROM pg_replication_slots"
            .to_string(),
        // Postgres 17 moved the checkpoint columns to pg_stat_checkpointer.
        Section::Bgwriter if version < 170000 => "SELECT checkpoints_timed, checkpoints_req, \
             checkpoint_write_time, checkpoint_sync_time, buffers_checkpoint, buffers_clean, \
             maxwritten_clean, buffers_backend, buffers_backend_fsync, buffers_alloc, \
             COALESCE(EXTRACT(EPOCH FROM stats_reset), 0) FROM pg_stat_bgwriter"
            .to_string(),
        Section::Bgwriter => "SELECT buffers_clean, maxwritten_clean, buffers_alloc, \
             COALESCE(EXTRACT(EPOCH FROM stats_reset), 0) FROM pg_stat_bgwriter"
            .to_string(),
        Section::Checkpointer if version >= 170000 => "SELECT num_timed, num_requested, \
             restartpoints_timed, restartpoints_req, restartpoints_done, write_time, sync_time, \
             buffers_written, COALESCE(EXTRACT(EPOCH FROM stats_reset), 0) FROM pg_stat_checkpointer"
            .to_string(),
        Section::Checkpointer => return None,
        // total_exec_time exists since Postgres 13. The limit is validated (≤ 500) and
        // an integer, so formatting it into the SQL is safe.
        Section::Statements => format!(
            "SELECT COALESCE(r.rolname, ''), COALESCE(d.datname, ''), s.queryid::text, s.calls, \
             s.total_exec_time / 1000, s.rows FROM pg_stat_statements s \
             LEFT JOIN pg_roles r ON r.oid = s.userid LEFT JOIN pg_database d ON d.oid = s.dbid \
             WHERE s.queryid IS NOT NULL ORDER BY s.total_exec_time DESC LIMIT {}",
            statements_limit?
        ),
    };
    Some(s)
}

fn num(row: &SimpleQueryRow, i: usize) -> Option<f64> {
    let v = row.get(i)?;
    match v {
        "t" | "on" => Some(1.0),
        "f" | "off" => Some(0.0),
        _ => v.parse().ok(),
    }
}

fn text(row: &SimpleQueryRow, i: usize) -> &str {
    row.get(i).unwrap_or("")
}

/// Turns a section's rows into samples. Rows with NULL where a number belongs are
/// skipped (a missing sample is honest; a made-up 0 is not).
fn emit(section: Section, server: &str, rows: &[SimpleQueryRow], f: &mut Fragment) {
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
            }
        }
        Section::DatabaseSize => {
            for r in rows {
                if let Some(v) = num(r, 1) {
                    f.push(&cat::PG_DATABASE_SIZE, [server, text(r, 0)], v);
                }
            }
        }
        Section::StatActivity => {
            for r in rows {
                let l = [server, text(r, 0), text(r, 1)];
                if let (Some(count), Some(max)) = (num(r, 2), num(r, 3)) {
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
        Section::Replication => {
            if let Some(r) = rows.first() {
                if let Some(v) = num(r, 0) {
                    f.push(&cat::PG_REPLICATION_LAG, [server], v);
                }
                if let Some(v) = num(r, 1) {
                    f.push(&cat::PG_REPLICATION_IS_REPLICA, [server], v);
                }
            }
        }
        Section::StatReplication => {
            for r in rows {
                if let Some(v) = num(r, 3) {
                    f.push(
                        &cat::PG_STAT_REPLICATION_WAL_LSN_DIFF,
                        [server, text(r, 0), text(r, 1), text(r, 2)],
                        v,
                    );
                }
            }
        }
        Section::ReplicationSlots => {
            for r in rows {
                let l = [server, text(r, 0), text(r, 1)];
                if let Some(v) = num(r, 2) {
                    f.push(&cat::PG_REPLICATION_SLOTS_ACTIVE, l, v);
                }
                if let Some(v) = num(r, 3) {
                    f.push(&cat::PG_REPLICATION_SLOTS_WAL_LSN_DIFF, l, v);
                }
            }
        }
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
pub fn setting(name: &str, value: &str, unit: &str, vartype: &str) -> Option<(String, f64)> {
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
    fn short_version_is_semver() {
        assert_eq!(short_version(150018), "15.18.0");
        assert_eq!(short_version(170002), "17.2.0");
    }

    #[test]
    fn version_aware_sql() {
        let bg16 = sql(Section::Bgwriter, 160000, None).unwrap();
        assert!(bg16.contains("checkpoints_timed"));
        let bg17 = sql(Section::Bgwriter, 170000, None).unwrap();
        assert!(!bg17.contains("checkpoints_timed"));
        assert!(sql(Section::Checkpointer, 160000, None).is_none());
        assert!(sql(Section::Checkpointer, 170000, None).is_some());
        assert!(sql(Section::Statements, 150000, None).is_none());
        assert!(
            sql(Section::Statements, 150000, Some(7))
                .unwrap()
                .ends_with("LIMIT 7")
        );
    }

    #[test]
    fn declared_settings_are_reachable() {
        // Every catalog pg_settings_* name must be one the conversion can produce.
        for m in cat::PG_SETTINGS {
            assert!(m.name.starts_with("pg_settings_"), "{}", m.name);
        }
    }
}

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
//! Per-table series ([`tables`]) are read in the target's database and, with
//! `auto_discover_databases`, in every other database the role may connect to: one
//! database at a time, each on a session opened for it and closed right after, so a
//! target holds at most two connections (its own and the one being read).
//!
//! After the built-in queries come the target's custom queries ([`queries`]), on the
//! same session and under the same timeouts. A target's extra `labels` are added to
//! every series it produces, whichever query produced it.

mod activity;
mod builtin;
pub mod queries;
mod replication;
pub mod settings;
mod tables;
pub mod target;
mod tls;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use lakewatch_catalog as cat;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage, SimpleQueryRow, Socket};

use super::{BoxFuture, CollectError, Collector, Fragment, Job};
use crate::collector::postgres::builtin::{Optional, Section, emit, sql};
use crate::collector::postgres::settings::{PostgresConfig, TableSettings};
use crate::collector::postgres::target::{PostgresTarget, PostgresTls};
use crate::config::filter::Filter;
use crate::error_kind::ErrorKind;

/// Longest wait between reconnect attempts while a server keeps refusing.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

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
    /// The same for the per-table queries.
    skipped_tables: bool,
}

/// The Postgres collector for one target.
pub struct PostgresCollector {
    target: PostgresTarget,
    statement_timeout: Duration,
    lock_timeout: Duration,
    optional: Optional,
    tables: TableSettings,
    /// Other databases to read tables from; `None` when not discovering.
    databases: Option<Filter>,
    conn: Option<Conn>,
    /// Consecutive failed connection attempts, for the backoff.
    failures: u32,
    retry_at: Option<Instant>,
    /// The last connection error, repeated while backing off so the self-metrics and
    /// the log keep saying why (without a new log line each cycle).
    last_error: Option<(ErrorKind, String)>,
    /// Custom queries' cached results and already-logged warnings.
    custom: queries::State,
}

impl PostgresCollector {
    /// A collector for `target` with the collector-wide settings of `cfg`.
    pub fn new(cfg: &PostgresConfig, target: PostgresTarget) -> PostgresCollector {
        PostgresCollector {
            statement_timeout: cfg.statement_timeout,
            lock_timeout: cfg.lock_timeout,
            optional: cfg.optional,
            tables: cfg.tables.clone(),
            databases: cfg.databases.clone(),
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

    fn down(&self, kind: ErrorKind, message: String) -> CollectError {
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
                .unwrap_or((ErrorKind::Connect, "waiting to reconnect".into()));
            return Err(self.down(kind, message));
        }
        match self.open(None).await {
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

    /// Opens a session to the target's database, or to `dbname` on the same server.
    async fn open(&self, dbname: Option<&str>) -> Result<Conn, (ErrorKind, String)> {
        let mut cfg = self.target.connect.clone();
        if let Some(db) = dbname {
            cfg.dbname(db);
        }
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
                    ErrorKind::Auth
                }
                _ => ErrorKind::Connect,
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
                        let kind = if failed(&with_tls).0 == ErrorKind::Auth {
                            ErrorKind::Auth
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
                    ErrorKind::Connect,
                    format!("session setup on {server} failed: {}", describe(&e)),
                ));
            }
        };
        let (version_num, version) = rows
            .first()
            .and_then(|r| Some((r.get(0)?.parse::<u32>().ok()?, r.get(1)?.to_string())))
            .ok_or((
                ErrorKind::Parse,
                "unexpected answer to the version query".to_string(),
            ))?;
        Ok(Conn {
            client,
            task,
            version_num,
            short_version: short_version(version_num),
            version,
            skipped: HashSet::new(),
            skipped_tables: false,
        })
    }

    /// Reads one other database's per-table series on a session of its own, closed
    /// before the next database is opened.
    async fn read_database(&self, db: &str, f: &mut Fragment) -> Result<(), String> {
        let server = self.target.server.as_str();
        let conn = self
            .open(Some(db))
            .await
            .map_err(|(_, message)| format!("database {db}: {message}"))?;
        let mut out = Fragment::default();
        let result = tables::collect(&conn.client, server, &self.tables, false, &mut out).await;
        drop(conn.client);
        conn.task.abort();
        let _ = conn.task.await;
        match result {
            Ok(()) => {
                f.samples.append(&mut out.samples);
                Ok(())
            }
            Err(e) => Err(format!(
                "{server}: pg_stat_user_tables in database {db}: {}",
                describe(&e)
            )),
        }
    }

    async fn cycle(&mut self) -> Result<Fragment, CollectError> {
        if self.conn.as_ref().is_none_or(|c| c.client.is_closed()) {
            self.connect().await?;
        }
        let server = self.target.server.clone();
        let optional = self.optional;
        let conn = self.conn.as_mut().expect("connected above");
        let mut f = Fragment::default();
        let mut query_error: Option<String> = None;
        let mut lost: Option<String> = None;
        for section in Section::ALL {
            if conn.skipped.contains(&section) {
                continue;
            }
            let Some(sql) = sql(section, conn.version_num, &optional) else {
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
        if lost.is_none() && self.tables.limit > 0 && !conn.skipped_tables {
            let indexes = optional.statio_user_indexes;
            match tables::collect(&conn.client, &server, &self.tables, indexes, &mut f).await {
                Ok(()) => {}
                Err(e) if conn.client.is_closed() || e.as_db_error().is_none() => {
                    lost = Some(format!(
                        "{server}: connection lost during pg_stat_user_tables: {}",
                        describe(&e)
                    ));
                }
                Err(e) if e.code().is_some_and(missing) => {
                    tracing::warn!(
                        target_name = %self.target.name,
                        server = %server,
                        query = "pg_stat_user_tables",
                        "skipping this query until the next reconnect: {}",
                        describe(&e)
                    );
                    conn.skipped_tables = true;
                }
                Err(e) => {
                    query_error.get_or_insert_with(|| {
                        format!("{server}: pg_stat_user_tables: {}", describe(&e))
                    });
                }
            }
        }
        if lost.is_none()
            && self.tables.limit > 0
            && let Some(filter) = &self.databases
        {
            let others = conn
                .client
                .simple_query(
                    "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate \
                     AND has_database_privilege(datname, 'CONNECT') \
                     AND datname <> current_database() ORDER BY datname",
                )
                .await;
            match others {
                Ok(msgs) => {
                    let names: Vec<String> = rows(msgs)
                        .iter()
                        .filter_map(|r| r.get(0))
                        .filter(|d| filter.allows(d))
                        .map(str::to_string)
                        .collect();
                    for db in names {
                        if let Err(e) = self.read_database(&db, &mut f).await {
                            query_error.get_or_insert(e);
                        }
                    }
                }
                Err(e) if self.conn.as_ref().is_none_or(|c| c.client.is_closed()) => {
                    lost = Some(format!(
                        "{server}: connection lost listing databases: {}",
                        describe(&e)
                    ));
                }
                Err(e) => {
                    query_error.get_or_insert_with(|| {
                        format!("{server}: listing databases: {}", describe(&e))
                    });
                }
            }
        }
        let conn = self.conn.as_mut().expect("still connected");
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
            return Err(self.down(ErrorKind::Connect, message));
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
            Some(message) => Err(CollectError::new(ErrorKind::Query, message).with_fragment(f)),
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
            settings: super::Settings::of(PostgresConfig {
                schedule: super::SCHEDULER_ONLY,
                targets: vec![target.clone()],
                // Where targets are listed is not how one is collected.
                targets_files: Vec::new(),
                docker: None,
                ..settings.clone()
            }),
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
            let result = self.cycle().await;
            super::with_labels(result, &self.target.labels)
        })
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.disconnect())
    }
}

/// The rustls connector of a target, built now so rotated certificate files are read
/// on every (re)connect.
fn rustls(
    tls: &crate::tls::ClientTls,
    server: &str,
) -> Result<tls::MakeRustls, (ErrorKind, String)> {
    let fail = |e: String| (ErrorKind::Connect, format!("TLS setup for {server}: {e}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_version_is_semver() {
        assert_eq!(short_version(150018), "15.18.0");
        assert_eq!(short_version(170002), "17.2.0");
    }
}

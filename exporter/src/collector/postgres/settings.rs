//! The Postgres collector's settings: the `collectors.postgres` section as written, its
//! validation and its defaults (session timeouts, the `pg_stat_statements` cap, the
//! per-table filters and limit, database discovery, the opt-in collectors); each
//! target's connection settings are in [`super::target`].

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::collector::postgres::builtin::Optional;
use crate::collector::postgres::queries::CustomQuery;
use crate::collector::postgres::target::{PostgresTarget, RawPostgresTarget};
use crate::config::duration::PromDuration;
use crate::config::enabled::Enabled;
use crate::config::error::{ConfigError, Validator};
use crate::config::filter::Filter;
use crate::config::schedule::Schedule;
use crate::config::secret::expand_env;
use crate::discovery::docker::{Address, Recipe, Scalar, Setting, TemplateValue};

/// Validated Postgres collector settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresConfig {
    /// Interval and timeout of a cycle.
    pub schedule: Schedule,
    /// Set on the session: any one query the collector runs is cut after this.
    pub statement_timeout: Duration,
    /// Set on the session: a query waiting this long for a lock gives up, so the
    /// collector never joins a lock queue behind a long migration.
    pub lock_timeout: Duration,
    /// The optional sections: `pg_stat_statements`, `pg_stat_checkpointer` and
    /// postgres_exporter's opt-in collectors.
    pub optional: Optional,
    /// Which tables get per-table series.
    pub tables: TableSettings,
    /// Other databases to read per-table series from; `None` when not discovering.
    pub databases: Option<Filter>,
    /// The servers, each its own target: those of `targets:`, and once discovery has
    /// run, the discovered ones after them.
    pub targets: Vec<PostgresTarget>,
    /// `targets_files:` globs whose files list more targets (see [`crate::discovery`]).
    pub targets_files: Vec<String>,
    /// `docker_discovery:`: labelled containers become targets; `None` when off.
    pub docker: Option<crate::discovery::docker::DockerDiscovery>,
    /// The queries of the collector-wide `queries_file`, for discovered targets that
    /// name none.
    pub queries: std::sync::Arc<[CustomQuery]>,
}

/// Which tables get per-table series, in every database read.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSettings {
    /// On `schemaname`.
    pub schemas: Filter,
    /// On `relname`.
    pub tables: Filter,
    /// At most this many tables per database; 0 turns per-table series off.
    pub limit: u32,
    /// How the top `limit` tables are chosen.
    pub order_by: TableOrder,
}

/// How the top-N tables are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableOrder {
    /// Largest first, by `pg_class.relpages` (as of the last VACUUM or ANALYZE).
    Size,
    /// Most scans and written rows since the statistics were reset first.
    Activity,
}

/// `collectors.postgres` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPostgres {
    enabled: Option<Enabled>,
    interval: Option<Spanned<PromDuration>>,
    timeout: Option<Spanned<PromDuration>>,
    statement_timeout: Option<Spanned<PromDuration>>,
    lock_timeout: Option<Spanned<PromDuration>>,
    stat_statements: Option<bool>,
    stat_statements_limit: Option<Spanned<u32>>,
    stat_checkpointer: Option<bool>,
    postmaster: Option<bool>,
    database_wraparound: Option<bool>,
    long_running_transactions: Option<bool>,
    buffercache_summary: Option<bool>,
    process_idle: Option<bool>,
    stat_activity_autovacuum: Option<bool>,
    stat_wal_receiver: Option<bool>,
    statio_user_indexes: Option<bool>,
    xlog_location: Option<bool>,
    tables_limit: Option<Spanned<u32>>,
    tables_order_by: Option<Spanned<String>>,
    schemas_include: Option<Spanned<String>>,
    schemas_exclude: Option<Spanned<String>>,
    tables_include: Option<Spanned<String>>,
    tables_exclude: Option<Spanned<String>>,
    auto_discover_databases: Option<bool>,
    databases_include: Option<Spanned<String>>,
    databases_exclude: Option<Spanned<String>>,
    queries_file: Option<Spanned<String>>,
    #[serde(default)]
    targets: Vec<RawPostgresTarget>,
    targets_files: Option<Vec<Spanned<String>>>,
    docker_discovery: Option<RawPostgresDocker>,
}

/// `docker_discovery:` of `collectors.postgres` as written: the network and the
/// template (no password: credentials come from files).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPostgresDocker {
    enabled: Option<bool>,
    network: Option<Spanned<String>>,
    port: Option<u16>,
    user: Option<String>,
    dbname: Option<String>,
    sslmode: Option<String>,
    password_file: Option<Spanned<String>>,
}

/// What Postgres reads off a container labelled `lakewatch.postgres.enable=true`.
pub const POSTGRES_DOCKER: Recipe = Recipe {
    settings: &[
        Setting {
            label: "name",
            key: "name",
            kind: Scalar::Text,
        },
        Setting {
            label: "port",
            key: "port",
            kind: Scalar::Port,
        },
        Setting {
            label: "user",
            key: "user",
            kind: Scalar::Text,
        },
        Setting {
            label: "dbname",
            key: "dbname",
            kind: Scalar::Text,
        },
        Setting {
            label: "sslmode",
            key: "sslmode",
            kind: Scalar::Text,
        },
        Setting {
            label: "password_file",
            key: "password_file",
            kind: Scalar::Text,
        },
    ],
    address: Address::Host,
};

/// Custom queries files already loaded, by path.
type QueryFiles = Vec<(String, std::sync::Arc<[CustomQuery]>)>;

const POSTGRES_SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(30),
    timeout: Duration::from_secs(10),
};

const POSTGRES_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

const POSTGRES_LOCK_TIMEOUT: Duration = Duration::from_secs(1);

const STAT_STATEMENTS_DEFAULT: u32 = 50;

/// Upper bound on `stat_statements_limit`: each statement is five series per target.
pub const STAT_STATEMENTS_MAX: u32 = 500;

const TABLES_DEFAULT: u32 = 200;

/// Upper bound on `tables_limit`: each table is 29 series per database.
pub const TABLES_MAX: u32 = 5000;

/// Temporary tables come and go with sessions; their series would only churn.
/// (pg_stat_user_tables already leaves out pg_catalog, information_schema and TOAST.)
const SCHEMAS_EXCLUDE: &str = r"^(pg_catalog|information_schema|pg_temp_\d+|pg_toast_temp_\d+)$";

/// Template databases hold no data worth a connection each cycle.
const DATABASES_EXCLUDE: &str = "^template[01]$";

impl Validator<'_> {
    /// Validates `collectors.postgres`; `None` when it is disabled or has no targets.
    pub(crate) fn postgres(&self, raw: RawPostgres) -> Result<Option<PostgresConfig>, ConfigError> {
        if raw.enabled == Some(Enabled::No) {
            return Ok(None);
        }
        let schedule = self.schedule(raw.interval, raw.timeout, POSTGRES_SCHEDULE)?;
        let statement_timeout = match raw.statement_timeout {
            Some(s) if s.value.0.is_zero() || s.value.0 > schedule.timeout => {
                return Err(self.error(
                    &s,
                    "statement_timeout must be greater than 0 and not longer than the collector's timeout",
                ));
            }
            Some(s) => s.value.0,
            None => POSTGRES_STATEMENT_TIMEOUT.min(schedule.timeout),
        };
        let lock_timeout = match raw.lock_timeout {
            Some(s) if s.value.0.is_zero() || s.value.0 > statement_timeout => {
                return Err(self.error(
                    &s,
                    "lock_timeout must be greater than 0 and not longer than statement_timeout",
                ));
            }
            Some(s) => s.value.0,
            None => POSTGRES_LOCK_TIMEOUT.min(statement_timeout),
        };
        let stat_statements_limit = match (raw.stat_statements, raw.stat_statements_limit) {
            (Some(true), Some(l)) if l.value == 0 || l.value > STAT_STATEMENTS_MAX => {
                return Err(self.error(
                    &l,
                    format!(
                        "stat_statements_limit must be between 1 and {STAT_STATEMENTS_MAX} (a hard cap on series)"
                    ),
                ));
            }
            (Some(true), l) => Some(l.map_or(STAT_STATEMENTS_DEFAULT, |l| l.value)),
            _ => None,
        };
        let optional = Optional {
            statements_limit: stat_statements_limit,
            checkpointer: raw.stat_checkpointer.unwrap_or(true),
            postmaster: raw.postmaster.unwrap_or(false),
            wraparound: raw.database_wraparound.unwrap_or(false),
            long_running: raw.long_running_transactions.unwrap_or(false),
            buffercache: raw.buffercache_summary.unwrap_or(false),
            process_idle: raw.process_idle.unwrap_or(false),
            autovacuum: raw.stat_activity_autovacuum.unwrap_or(false),
            wal_receiver: raw.stat_wal_receiver.unwrap_or(false),
            statio_user_indexes: raw.statio_user_indexes.unwrap_or(false),
            xlog_location: raw.xlog_location.unwrap_or(false),
        };
        let limit = match raw.tables_limit {
            Some(l) if l.value > TABLES_MAX => {
                return Err(self.error(
                    &l,
                    format!("tables_limit must be between 0 and {TABLES_MAX} (a cap on per-table series)"),
                ));
            }
            Some(l) => l.value,
            None => TABLES_DEFAULT,
        };
        let order_by = match &raw.tables_order_by {
            None => TableOrder::Size,
            Some(o) if o.value == "size" => TableOrder::Size,
            Some(o) if o.value == "activity" => TableOrder::Activity,
            Some(o) => {
                return Err(self.error(
                    o,
                    format!(
                        "tables_order_by must be size or activity, not {:?}",
                        o.value
                    ),
                ));
            }
        };
        let tables = TableSettings {
            schemas: self.filter(raw.schemas_include, raw.schemas_exclude, SCHEMAS_EXCLUDE)?,
            tables: Filter {
                include: self.regex(raw.tables_include, None)?,
                exclude: self.regex(raw.tables_exclude, None)?,
            },
            limit,
            order_by,
        };
        let databases = self.filter(
            raw.databases_include,
            raw.databases_exclude,
            DATABASES_EXCLUDE,
        )?;
        let databases = raw
            .auto_discover_databases
            .unwrap_or(false)
            .then_some(databases);
        let mut files = QueryFiles::default();
        let default_queries = match &raw.queries_file {
            Some(f) => self.queries_file(f, &mut files)?,
            None => std::sync::Arc::from([]),
        };
        let mut targets: Vec<PostgresTarget> = Vec::new();
        for t in raw.targets {
            let span = t.name.clone();
            let queries = match &t.queries_file {
                Some(f) => self.queries_file(f, &mut files)?,
                None => default_queries.clone(),
            };
            let target = self.postgres_target(t, schedule, queries)?;
            if targets.iter().any(|o| o.name == target.name) {
                return Err(self.error(&span, format!("duplicate target name {:?}", target.name)));
            }
            targets.push(target);
        }
        let targets_files = self.targets_files(raw.targets_files)?;
        let docker = match raw.docker_discovery {
            None => None,
            Some(d) => self.docker_discovery(
                d.enabled,
                d.network,
                vec![
                    ("port", d.port.map(TemplateValue::Port)),
                    ("user", d.user.map(TemplateValue::Text)),
                    ("dbname", d.dbname.map(TemplateValue::Text)),
                    ("sslmode", d.sslmode.map(TemplateValue::Text)),
                    ("password_file", d.password_file.map(TemplateValue::Path)),
                ],
                &POSTGRES_DOCKER,
            )?,
        };
        if targets.is_empty() && targets_files.is_empty() && docker.is_none() {
            return Ok(None);
        }
        Ok(Some(PostgresConfig {
            schedule,
            statement_timeout,
            lock_timeout,
            optional,
            tables,
            databases,
            targets,
            targets_files,
            docker,
            queries: default_queries,
        }))
    }

    /// Loads a custom queries file once, however many targets use it.
    fn queries_file(
        &self,
        raw: &Spanned<String>,
        files: &mut QueryFiles,
    ) -> Result<std::sync::Arc<[CustomQuery]>, ConfigError> {
        let path = expand_env(&raw.value).map_err(|why| self.error(raw, why))?;
        if !path.starts_with('/') {
            return Err(self.error(raw, format!("path {path:?} must be absolute")));
        }
        if let Some((_, q)) = files.iter().find(|(p, _)| *p == path) {
            return Ok(q.clone());
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| self.error(raw, format!("cannot read queries_file {path}: {e}")))?;
        let queries: std::sync::Arc<[CustomQuery]> =
            crate::collector::postgres::queries::parse(&text, &path)?.into();
        files.push((path, queries.clone()));
        Ok(queries)
    }
}

impl PostgresConfig {
    /// The targets of a targets file `name`: a YAML or JSON list in the format of
    /// `targets:`, validated as those are (located errors, unique names), with this
    /// collector's defaults.
    pub(crate) fn file_targets(
        &self,
        text: &str,
        name: &str,
    ) -> Result<Vec<PostgresTarget>, ConfigError> {
        let v = Validator { name };
        let raw: Vec<RawPostgresTarget> = v.targets_list(text)?;
        let mut files = QueryFiles::default();
        let mut targets: Vec<PostgresTarget> = Vec::new();
        for t in raw {
            let span = t.name.clone();
            let queries = match &t.queries_file {
                Some(f) => v.queries_file(f, &mut files)?,
                None => self.queries.clone(),
            };
            let target = v.postgres_target(t, self.schedule, queries)?;
            if targets.iter().any(|o| o.name == target.name) {
                return Err(v.error(&span, format!("duplicate target name {:?}", target.name)));
            }
            targets.push(target);
        }
        Ok(targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::secret::Secret;
    use crate::config::testing::invalid;

    #[test]
    fn postgres_targets_dsn_and_host() {
        let c = Config::parse(
            "collectors:\n  postgres:\n    interval: 10s\n    targets:\n      - name: a\n        dsn: postgresql://mon:inline-pw@db:6543/app?sslmode=disable\n      - name: b\n        host: /run/postgresql\n        user: mon\n",
            "c.yml",
        )
        .unwrap();
        let pg = c.postgres.expect("postgres on");
        assert_eq!(pg.schedule.interval, Duration::from_secs(10));
        assert_eq!(pg.statement_timeout, Duration::from_secs(5));
        assert_eq!(pg.lock_timeout, Duration::from_secs(1));
        assert_eq!(
            pg.optional,
            Optional {
                checkpointer: true,
                ..Optional::default()
            }
        );
        assert_eq!(pg.tables.limit, 200);
        assert_eq!(pg.tables.order_by, TableOrder::Size);
        assert!(pg.tables.schemas.allows("public"));
        assert!(!pg.tables.schemas.allows("pg_temp_12"));
        assert!(pg.databases.is_none());
        let a = &pg.targets[0];
        assert_eq!(a.server, "db:6543");
        assert_eq!(a.password.as_ref().map(Secret::expose), Some("inline-pw"));
        assert_eq!(
            a.connect.get_password(),
            None,
            "kept out of the stored settings"
        );
        assert_eq!(a.connect.get_application_name(), Some("lakewatch"));
        assert!(!format!("{a:?}").contains("inline-pw"));
        assert_eq!(pg.targets[1].server, "/run/postgresql:5432");
    }

    #[test]
    fn postgres_tables_databases_and_opt_in_collectors() {
        let c = Config::parse(
            "collectors:\n  postgres:\n    tables_limit: 0\n    tables_order_by: activity\n    tables_include: '^fact_'\n    schemas_exclude: ''\n    auto_discover_databases: true\n    databases_include: '^lake'\n    postmaster: true\n    stat_checkpointer: false\n    buffercache_summary: true\n    process_idle: true\n    stat_activity_autovacuum: true\n    stat_wal_receiver: true\n    statio_user_indexes: true\n    xlog_location: true\n    targets:\n      - name: a\n        host: h\n        user: u\n",
            "c.yml",
        )
        .unwrap();
        let pg = c.postgres.expect("postgres on");
        assert_eq!(
            (pg.tables.limit, pg.tables.order_by),
            (0, TableOrder::Activity)
        );
        assert!(pg.tables.tables.allows("fact_sales") && !pg.tables.tables.allows("dim_x"));
        assert!(
            pg.tables.schemas.allows("pg_temp_3"),
            "'' removes the default exclusion"
        );
        let dbs = pg.databases.expect("discovering");
        assert!(dbs.allows("lake_2") && !dbs.allows("postgres"));
        assert!(
            dbs.exclude
                .as_ref()
                .is_some_and(|r| r.is_match("template1")),
            "default kept"
        );
        assert_eq!(
            pg.optional,
            Optional {
                postmaster: true,
                buffercache: true,
                process_idle: true,
                autovacuum: true,
                wal_receiver: true,
                statio_user_indexes: true,
                xlog_location: true,
                ..Optional::default()
            }
        );
    }

    #[test]
    fn postgres_errors_are_located() {
        let base = "collectors:\n  postgres:\n    targets:\n      - name: a\n";
        let e = invalid(&format!("{base}        host: h\n"));
        assert!(e.contains("needs a user"), "{e}");
        let e = invalid(
            "collectors:\n  postgres:\n    targets:\n      - name: a\n        dsn: 'postgresql://u:sekrit@h/db?port=x'\n",
        );
        assert!(e.starts_with("c.yml:5:14: invalid dsn"), "{e}");
        assert!(!e.contains("sekrit"), "{e}");
        let e = invalid(&format!("{base}        user: u\n"));
        assert!(
            e.starts_with("c.yml:4:15: target \"a\" needs a dsn or a host"),
            "{e}"
        );
        let e = invalid(
            "collectors:\n  postgres:\n    stat_statements: true\n    stat_statements_limit: 100000\n",
        );
        assert!(
            e.starts_with("c.yml:4:28: stat_statements_limit must be between 1 and 500"),
            "{e}"
        );
        let e = invalid("collectors:\n  postgres:\n    tables_limit: 9000\n");
        assert!(
            e.starts_with("c.yml:3:19: tables_limit must be between 0 and 5000"),
            "{e}"
        );
        let e = invalid("collectors:\n  postgres:\n    tables_order_by: rows\n");
        assert!(
            e.starts_with("c.yml:3:22: tables_order_by must be size or activity"),
            "{e}"
        );
        let e = invalid("collectors:\n  postgres:\n    schemas_exclude: '^(a'\n");
        assert!(
            e.starts_with("c.yml:3:22: invalid regular expression"),
            "{e}"
        );
        let e = invalid("collectors:\n  postgres:\n    databases_include: '[z-a]'\n");
        assert!(
            e.starts_with("c.yml:3:24: invalid regular expression"),
            "{e}"
        );
        let e = invalid("collectors:\n  postgres:\n    timeout: 2s\n    statement_timeout: 5s\n");
        assert!(e.starts_with("c.yml:4:24: statement_timeout"), "{e}");
        let e = invalid(&format!(
            "{base}        host: h\n        user: u\n      - name: a\n        host: h\n        user: u\n"
        ));
        assert!(e.starts_with("c.yml:7:15: duplicate target name"), "{e}");
    }

    #[test]
    fn postgres_labels_and_queries_file() {
        let dir = std::env::temp_dir().join(format!("lakewatch-pgq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let q = dir.join("queries.yaml");
        std::fs::write(
            &q,
            "lake_tables:\n  query: SELECT relname AS tablename, n_live_tup FROM pg_stat_user_tables\n  metrics:\n    - tablename: {usage: LABEL}\n    - n_live_tup: {usage: GAUGE, description: Rows}\n",
        )
        .unwrap();
        let bad = dir.join("bad.yaml");
        std::fs::write(
            &bad,
            "x:\n  query: SELECT 1\n  metrics:\n    - y: {usage: SUMMARY}\n",
        )
        .unwrap();
        let yaml = |target: &str| {
            format!(
                "collectors:\n  postgres:\n    queries_file: {}\n    targets:\n      - name: a\n        host: h\n        user: u\n{target}      - name: b\n        host: h2\n        user: u\n",
                q.display()
            )
        };
        let c = Config::parse(&yaml("        labels: {team: data, env: prod}\n"), "c.yml").unwrap();
        let pg = c.postgres.unwrap();
        assert_eq!(
            pg.targets[0].labels,
            [
                ("env".to_string(), "prod".to_string()),
                ("team".into(), "data".into())
            ]
        );
        assert!(pg.targets[1].labels.is_empty());
        assert_eq!(pg.targets[0].queries[0].prefix, "lake_tables");
        assert!(
            std::sync::Arc::ptr_eq(&pg.targets[0].queries, &pg.targets[1].queries),
            "one file, loaded once"
        );
        let e = invalid(&yaml("        labels: {env: prod, server: x}\n"));
        assert!(
            e.starts_with("c.yml:8:29: label \"server\" is reserved"),
            "{e}"
        );
        let e = invalid(&yaml("        labels:\n          __meta: x\n"));
        assert!(e.starts_with("c.yml:9:11: label \"__meta\""), "{e}");
        let e = invalid(&yaml("        labels:\n          bad-name: x\n"));
        assert!(e.starts_with("c.yml:9:11:"), "{e}");
        let e = invalid(&yaml("        labels:\n          tablename: x\n"));
        assert!(
            e.starts_with("c.yml:9:11:") && e.contains("lake_tables"),
            "{e}"
        );
        let e = invalid(&yaml(&format!("        queries_file: {}\n", bad.display())));
        let at = format!("{}:4:", bad.display());
        assert!(e.starts_with(&at) && e.contains("SUMMARY"), "{e}");
        let e = invalid(&yaml("        queries_file: queries.yaml\n"));
        assert!(
            e.starts_with("c.yml:8:23: path \"queries.yaml\" must be absolute"),
            "{e}"
        );
        let e = invalid(&yaml("        queries_file: /nonexistent/q.yaml\n"));
        assert!(e.starts_with("c.yml:8:23: cannot read queries_file"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

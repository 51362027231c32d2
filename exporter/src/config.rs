//! Configuration: the YAML file (or the embedded default), parsed into raw types that
//! mirror the file one-to-one and carry source locations, then validated into [`Config`],
//! which the rest of the exporter trusts.
//!
//! Every error names `file:line:column` and what was expected. What every collector's
//! settings share (errors with spans, durations, schedule, filters, `enabled`, secrets,
//! TLS keys, URLs) is the kit in the submodules; it knows nothing of any collector.

pub mod duration;
pub mod enabled;
pub mod endpoint;
pub mod error;
pub mod filter;
pub mod schedule;
pub mod secret;
pub mod tls;

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::collector::container::settings::{ContainerConfig, RawContainer};
use crate::collector::disk::settings::{DiskConfig, RawDisk};
use crate::collector::postgres::queries::CustomQuery;
use crate::collector::s3::settings::{RawS3, S3Config};
use crate::collector::trino::settings::{RawTrino, TrinoConfig};
use crate::config::duration::PromDuration;
use crate::config::enabled::Enabled;
use crate::config::error::{ConfigError, Entries, Validator};
use crate::config::schedule::Schedule;
use crate::config::secret::{Secret, expand_env};
use crate::config::tls::RawTls;

/// The configuration used when no `--config` is given. It is also what
/// `--print-default-config` prints, so it doubles as the annotated reference.
pub const DEFAULT_CONFIG: &str = include_str!("default.yml");

/// Name shown in error messages for the embedded default.
pub const DEFAULT_CONFIG_NAME: &str = "<embedded default config>";

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// At most this many series per collector target and cycle; the rest are dropped
    /// and counted, so one runaway target cannot take Prometheus down.
    pub series_per_target: usize,
    /// Disk collector settings; `None` when disabled.
    pub disk: Option<DiskConfig>,
    /// Container collector settings; `None` when disabled. With `enabled: auto` it is
    /// `Some` and [`ContainerConfig::enabled`] says to probe the daemon at start-up.
    pub container: Option<ContainerConfig>,
    /// Trino collector settings; `None` when disabled or without targets.
    pub trino: Option<TrinoConfig>,
    /// Postgres collector settings; `None` when disabled or not configured.
    pub postgres: Option<PostgresConfig>,
    /// S3 collector settings; `None` when disabled or without targets.
    pub s3: Option<S3Config>,
}

/// Validated Postgres collector settings.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    pub schedule: Schedule,
    /// Set on the session: any one query the collector runs is cut after this.
    pub statement_timeout: Duration,
    /// Set on the session: a query waiting this long for a lock gives up, so the
    /// collector never joins a lock queue behind a long migration.
    pub lock_timeout: Duration,
    /// Top-N statements of `pg_stat_statements` by total time; `None` when off.
    pub stat_statements_limit: Option<u32>,
    pub targets: Vec<PostgresTarget>,
}

/// One Postgres server to watch.
#[derive(Debug, Clone)]
pub struct PostgresTarget {
    /// The `target` label of self-metrics.
    pub name: String,
    /// `host:port`, the `server` label of pg_* metrics (as postgres_exporter sets it).
    pub server: String,
    /// Connection settings without the password (application_name, TCP or socket,
    /// connect timeout and tokio-postgres' own sslmode already set).
    pub connect: tokio_postgres::Config,
    pub password: Option<Secret>,
    /// Whether and how the session is encrypted.
    pub tls: PostgresTls,
    /// Extra labels on every series of this target (`labels:`), sorted by name.
    pub labels: Vec<(String, String)>,
    /// Custom queries (postgres_exporter's queries.yaml format); shared between the
    /// targets that use the same file.
    pub queries: std::sync::Arc<[crate::collector::postgres::queries::CustomQuery]>,
}

/// libpq's `sslmode`, resolved: what to try, and how the certificate is checked (the
/// [`ClientTls`](crate::tls::ClientTls) says which of require / verify-ca /
/// verify-full it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostgresTls {
    /// Plain connections (`sslmode=disable`, and always over a unix socket).
    Disable,
    /// TLS when the server agrees and the handshake succeeds, else plain (`prefer`,
    /// libpq's default).
    Prefer(crate::tls::ClientTls),
    /// TLS or nothing (`require`, `verify-ca`, `verify-full`).
    Require(crate::tls::ClientTls),
}

// ---------------------------------------------------------------------------------
// Raw file types: one-to-one with the YAML, locations kept where validation needs them.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    collectors: RawCollectors,
    limits: Option<RawLimits>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    series_per_target: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCollectors {
    disk: Option<RawDisk>,
    container: Option<RawContainer>,
    trino: Option<RawTrino>,
    postgres: Option<RawPostgres>,
    s3: Option<RawS3>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPostgres {
    enabled: Option<Enabled>,
    interval: Option<Spanned<PromDuration>>,
    timeout: Option<Spanned<PromDuration>>,
    statement_timeout: Option<Spanned<PromDuration>>,
    lock_timeout: Option<Spanned<PromDuration>>,
    stat_statements: Option<bool>,
    stat_statements_limit: Option<Spanned<u32>>,
    queries_file: Option<Spanned<String>>,
    #[serde(default)]
    targets: Vec<RawPostgresTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPostgresTarget {
    name: Spanned<String>,
    dsn: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    port: Option<u16>,
    user: Option<Spanned<String>>,
    dbname: Option<String>,
    sslmode: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    tls: Option<Spanned<RawTls>>,
    labels: Option<Entries<Spanned<String>>>,
    queries_file: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------
// Loading and validation.

impl Config {
    /// Loads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// The embedded default configuration.
    pub fn embedded_default() -> Config {
        Config::parse(DEFAULT_CONFIG, DEFAULT_CONFIG_NAME)
            .expect("the embedded default config is valid (checked by a unit test)")
    }

    /// Parses and validates config text; `name` is used in error messages.
    pub fn parse(text: &str, name: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| ConfigError::syntax(&e, name))?
        };
        Validator { name }.config(raw)
    }
}

impl Validator<'_> {
    fn config(&self, raw: RawConfig) -> Result<Config, ConfigError> {
        let disk = raw.collectors.disk.unwrap_or_default();
        let container = raw.collectors.container.unwrap_or_default();
        let trino = raw.collectors.trino.unwrap_or_default();
        let series_per_target = match raw.limits.and_then(|l| l.series_per_target) {
            Some(n) if n.value == 0 => {
                return Err(self.error(&n, "series_per_target must be at least 1"));
            }
            Some(n) => usize::try_from(n.value).unwrap_or(usize::MAX),
            None => SERIES_PER_TARGET,
        };
        Ok(Config {
            series_per_target,
            disk: self.disk(disk)?,
            container: self.container(container)?,
            postgres: match raw.collectors.postgres {
                Some(pg) => self.postgres(pg)?,
                None => None,
            },
            trino: self.trino(trino)?,
            s3: match raw.collectors.s3 {
                Some(s3) => self.s3(s3)?,
                None => None,
            },
        })
    }

    fn postgres(&self, raw: RawPostgres) -> Result<Option<PostgresConfig>, ConfigError> {
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
        if targets.is_empty() {
            return Ok(None);
        }
        Ok(Some(PostgresConfig {
            schedule,
            statement_timeout,
            lock_timeout,
            stat_statements_limit,
            targets,
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

    fn postgres_target(
        &self,
        raw: RawPostgresTarget,
        schedule: Schedule,
        queries: std::sync::Arc<[CustomQuery]>,
    ) -> Result<PostgresTarget, ConfigError> {
        let name = raw.name.value.trim().to_string();
        if name.is_empty() {
            return Err(self.error(&raw.name, "target name must not be empty"));
        }
        let tls_span = raw
            .tls
            .as_ref()
            .map(|t| Spanned::new((), t.referenced, t.defined));
        let mut tls = raw.tls.map(|t| t.value).unwrap_or_default();
        if tls.insecure_skip_verify
            && let Some(span) = &tls_span
        {
            return Err(self.error(
                span,
                "insecure_skip_verify does not apply to Postgres: use sslmode: require (encrypted, certificate not checked)",
            ));
        }
        let mut sslmode = raw.sslmode.clone();
        let mut connect = match (&raw.dsn, &raw.host) {
            (Some(_), Some(h)) => {
                return Err(self.error(
                    h,
                    "give either dsn or host (with port, user, dbname), not both",
                ));
            }
            (None, None) => {
                return Err(self.error(&raw.name, format!("target {name:?} needs a dsn or a host")));
            }
            (Some(dsn), None) => {
                let text = expand_env(&dsn.value).map_err(|why| self.error(dsn, why))?;
                // tokio-postgres knows neither verify-ca/verify-full nor the certificate
                // options: take them out and handle them here.
                let (text, options) =
                    libpq_tls_options(&text).map_err(|why| self.error(dsn, why))?;
                let at = |value: String| Spanned::new(value, dsn.referenced, dsn.defined);
                for (key, value) in options {
                    let slot = match key {
                        "sslmode" => &mut sslmode,
                        "sslrootcert" => &mut tls.ca_file,
                        "sslcert" => &mut tls.cert_file,
                        _ => &mut tls.key_file,
                    };
                    if slot.is_some() {
                        return Err(self.error(
                            dsn,
                            format!(
                                "{key} is given twice (in the dsn and in the tls block, or twice in the dsn): keep one"
                            ),
                        ));
                    }
                    *slot = Some(at(value));
                }
                // The parser's message names the bad option, never echoes the DSN (which
                // may carry a password).
                let cfg: tokio_postgres::Config = text
                    .parse()
                    .map_err(|e| self.error(dsn, format!("invalid dsn: {e}")))?;
                if cfg.get_hosts().len() != 1 {
                    return Err(self.error(dsn, "the dsn must name exactly one host"));
                }
                for (key, given) in [
                    ("port", raw.port.is_some()),
                    ("user", raw.user.is_some()),
                    ("dbname", raw.dbname.is_some()),
                    ("sslmode", raw.sslmode.is_some()),
                ] {
                    if given {
                        return Err(self.error(
                            dsn,
                            format!("{key} is given both in the dsn and as a key: keep one"),
                        ));
                    }
                }
                cfg
            }
            (None, Some(host)) => {
                let mut cfg = tokio_postgres::Config::new();
                let h = expand_env(&host.value).map_err(|why| self.error(host, why))?;
                cfg.host(&h).port(raw.port.unwrap_or(5432));
                if let Some(user) = &raw.user {
                    cfg.user(&expand_env(&user.value).map_err(|why| self.error(user, why))?);
                }
                if let Some(db) = &raw.dbname {
                    cfg.dbname(db);
                }
                cfg
            }
        };
        if connect.get_user().is_none() {
            let user = raw
                .dsn
                .as_ref()
                .or(raw.host.as_ref())
                .expect("one of them is set");
            return Err(self.error(user, format!("target {name:?} needs a user")));
        }
        let password = self.secret("password", raw.password, raw.password_file)?;
        if password.is_some() && connect.get_password().is_some() {
            let dsn = raw.dsn.as_ref().expect("only a dsn can carry a password");
            return Err(self.error(
                dsn,
                "the dsn has a password and password/password_file is given too: keep one",
            ));
        }
        let password = password.or_else(|| {
            connect
                .get_password()
                .map(|p| Secret::new(String::from_utf8_lossy(p).into_owned()))
        });
        let port = connect.get_ports().first().copied().unwrap_or(5432);
        let server = match connect.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => format!("{h}:{port}"),
            Some(tokio_postgres::config::Host::Unix(p)) => format!("{}:{port}", p.display()),
            None => format!("localhost:{port}"),
        };
        // The password is applied at connect time from `password`, so the stored
        // connection settings never hold it.
        let mut clean = tokio_postgres::Config::new();
        for h in connect.get_hosts() {
            match h {
                tokio_postgres::config::Host::Tcp(h) => clean.host(h),
                tokio_postgres::config::Host::Unix(p) => clean.host_path(p),
            };
        }
        clean.port(port);
        if let Some(u) = connect.get_user() {
            clean.user(u);
        }
        if let Some(d) = connect.get_dbname() {
            clean.dbname(d);
        }
        clean.channel_binding(connect.get_channel_binding());
        let unix_socket = matches!(
            connect.get_hosts().first(),
            Some(tokio_postgres::config::Host::Unix(_))
        );
        connect = clean;
        let tls = self.postgres_tls(sslmode, tls, tls_span.as_ref(), unix_socket)?;
        connect
            .application_name("lakewatch")
            .ssl_mode(match tls {
                PostgresTls::Disable => tokio_postgres::config::SslMode::Disable,
                PostgresTls::Prefer(_) => tokio_postgres::config::SslMode::Prefer,
                PostgresTls::Require(_) => tokio_postgres::config::SslMode::Require,
            })
            .connect_timeout(schedule.timeout.min(Duration::from_secs(10)));
        let labels = self.target_labels(raw.labels, &queries)?;
        Ok(PostgresTarget {
            name,
            server,
            connect,
            password,
            tls,
            labels,
            queries,
        })
    }

    /// libpq's sslmode semantics on top of the `tls` block (or the dsn's sslrootcert,
    /// sslcert, sslkey, already moved into it).
    fn postgres_tls(
        &self,
        sslmode: Option<Spanned<String>>,
        mut raw: RawTls,
        tls_span: Option<&Spanned<()>>,
        unix_socket: bool,
    ) -> Result<PostgresTls, ConfigError> {
        #[derive(PartialEq)]
        enum Mode {
            Disable,
            Prefer,
            Require,
            VerifyCa,
            VerifyFull,
        }
        let mode = match sslmode.as_ref().map(|m| m.value.as_str()) {
            None | Some("prefer") => Mode::Prefer,
            Some("disable") => Mode::Disable,
            Some("require") => Mode::Require,
            Some("verify-ca") => Mode::VerifyCa,
            Some("verify-full") => Mode::VerifyFull,
            Some(other) => {
                let span = sslmode.as_ref().expect("matched Some");
                return Err(self.error(
                    span,
                    format!(
                        "invalid sslmode {other:?}: expected disable, prefer, require, verify-ca or verify-full{}",
                        if other == "allow" { " (allow, plain first, is not supported)" } else { "" }
                    ),
                ));
            }
        };
        // Where to point an error about the TLS settings: the tls block, else the
        // first certificate option (its span is the dsn's when it came from there).
        let given = [
            &raw.ca_file,
            &raw.cert_file,
            &raw.key_file,
            &raw.server_name,
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|s| Spanned::new((), s.referenced, s.defined));
        let settings_span = tls_span.cloned().or(given);
        if mode == Mode::Disable || unix_socket {
            // libpq ignores sslmode on a unix socket; so do we, but a certificate
            // setting that would silently do nothing is refused.
            if let Some(span) = &settings_span {
                return Err(self.error(
                    span,
                    if unix_socket {
                        "TLS settings do not apply to a unix socket (libpq never encrypts those): remove them"
                    } else {
                        "sslmode is disable: remove the TLS settings or choose another sslmode"
                    },
                ));
            }
            return Ok(PostgresTls::Disable);
        }
        if mode == Mode::VerifyCa && raw.ca_file.is_none() {
            let span = sslmode.as_ref().expect("verify-ca was given");
            return Err(self.error(
                span,
                "sslmode verify-ca needs the CA to check the chain against: sslrootcert in the dsn or tls.ca_file",
            ));
        }
        // As libpq: with a root certificate, prefer and require check the chain too.
        let chain_only = match mode {
            Mode::VerifyCa => true,
            Mode::Prefer | Mode::Require => raw.ca_file.is_some(),
            _ => false,
        };
        if let Some(name) = &raw.server_name
            && mode != Mode::VerifyFull
        {
            return Err(self.error(
                name,
                "server_name is only checked with sslmode verify-full: remove it or use verify-full",
            ));
        }
        raw.insecure_skip_verify = !chain_only && mode != Mode::VerifyFull;
        let span = settings_span
            .or_else(|| {
                sslmode
                    .as_ref()
                    .map(|m| Spanned::new((), m.referenced, m.defined))
            })
            .unwrap_or_else(|| {
                let unknown = serde_saphyr::Location::UNKNOWN;
                Spanned::new((), unknown, unknown)
            });
        let mut tls = self.tls(&Spanned::new(raw, span.referenced, span.defined))?;
        tls.any_server_name = chain_only;
        Ok(match mode {
            Mode::Prefer => PostgresTls::Prefer(tls),
            _ => PostgresTls::Require(tls),
        })
    }

    /// A target's `labels:`: valid names that no series of the target already has.
    fn target_labels(
        &self,
        raw: Option<Entries<Spanned<String>>>,
        queries: &[CustomQuery],
    ) -> Result<Vec<(String, String)>, ConfigError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in raw.map(|e| e.0).unwrap_or_default() {
            crate::collector::postgres::queries::check_label_name(&k.value)
                .map_err(|why| self.error(&k, format!("label {:?}: {why}", k.value)))?;
            let builtin = lakewatch_catalog::POSTGRES
                .iter()
                .flat_map(|m| m.labels.iter())
                .chain(&["target", "collector", "le", "quantile"])
                .any(|l| *l == k.value);
            if builtin {
                return Err(self.error(
                    &k,
                    format!(
                        "label {:?} is reserved: Lakewatch's Postgres series already use it",
                        k.value
                    ),
                ));
            }
            if let Some(q) = queries.iter().find(|q| q.labels().any(|l| l == k.value)) {
                return Err(self.error(
                    &k,
                    format!(
                        "label {:?} is also a LABEL column of custom query {}: rename one",
                        k.value, q.prefix
                    ),
                ));
            }
            out.push((k.value, v.value));
        }
        out.sort();
        Ok(out)
    }
}

/// Custom queries files already loaded, by path.
type QueryFiles = Vec<(String, std::sync::Arc<[CustomQuery]>)>;

/// `(key, value)` pairs taken out of a dsn.
type LibpqOptions = Vec<(&'static str, String)>;

/// The libpq options tokio-postgres does not take, as `(key, value)`: `sslmode` (it
/// knows only disable/prefer/require), `sslrootcert`, `sslcert` and `sslkey`. Returns
/// the dsn without them, in its own syntax (URL or `key=value` words).
fn libpq_tls_options(dsn: &str) -> Result<(String, LibpqOptions), String> {
    const KEYS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];
    let ours = |k: &str| KEYS.iter().find(|o| **o == k).copied();
    let mut taken = Vec::new();
    if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        let Some((base, query)) = dsn.split_once('?') else {
            return Ok((dsn.to_string(), taken));
        };
        let mut kept: Vec<&str> = Vec::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| "invalid percent-encoding in the dsn".to_string())
            };
            match ours(&decode(k)?) {
                Some(key) => taken.push((key, decode(v)?)),
                None => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok((rest, taken));
    }
    // key=value words; values may be 'quoted' and use \ escapes (libpq's rules).
    let mut rest = Vec::new();
    let mut chars = dsn.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && !c.is_whitespace())).collect();
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            // Not echoing the word: it might be part of a password.
            return Err("invalid dsn: expected key=value words".to_string());
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("invalid dsn: unterminated quote in {key}")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        match ours(&key) {
            Some(k) => taken.push((k, value)),
            None => rest.push(format!(
                "{key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            )),
        }
    }
    Ok((rest.join(" "), taken))
}

const POSTGRES_SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(30),
    timeout: Duration::from_secs(10),
};
const POSTGRES_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
const POSTGRES_LOCK_TIMEOUT: Duration = Duration::from_secs(1);
const STAT_STATEMENTS_DEFAULT: u32 = 50;
/// Upper bound on `stat_statements_limit`: each statement is three series per target.
pub const STAT_STATEMENTS_MAX: u32 = 500;

/// Default cap on series per collector target and cycle: far above what a healthy
/// target produces (a busy Docker host is ~10k), far below what hurts Prometheus.
pub const SERIES_PER_TARGET: usize = 100_000;

/// What the settings tests of every collector share.
#[cfg(test)]
pub(crate) mod testing {
    use super::Config;

    /// The error message of a config document that must be rejected (named `c.yml`).
    pub(crate) fn invalid(text: &str) -> String {
        Config::parse(text, "c.yml")
            .expect_err("should be rejected")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::invalid;
    use super::*;

    #[test]
    fn yaml_errors_name_the_file_even_without_a_snippet() {
        // A lone CR ends a line for YAML, but serde-saphyr quotes no snippet after one.
        let text = "collectors:\n  disk:\n    timeout: 5s\r    interval: 5x\n";
        let e = Config::parse(text, "c.yml").unwrap_err().to_string();
        assert!(e.starts_with("c.yml:4:15: invalid duration \"5x\""), "{e}");
        assert!(!e.contains("at line"), "{e}");
    }

    #[test]
    fn readme_shows_the_default_config_verbatim() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(DEFAULT_CONFIG),
            "README.md's configuration section must contain exporter/src/default.yml verbatim"
        );
    }

    #[test]
    fn empty_file_means_defaults() {
        let c = Config::parse("", "c.yml").unwrap();
        assert!(c.disk.is_some());
    }

    #[test]
    fn unknown_key_is_located() {
        let e = invalid("collectors:\n  disk:\n    intervall: 15s\n");
        assert!(e.contains("c.yml:3:5"), "{e}");
        assert!(e.contains("unknown field `intervall`"), "{e}");
        assert!(e.contains("interval"), "lists what is expected: {e}");
    }

    #[test]
    fn unknown_collector_is_located() {
        let e = invalid("collectors:\n  dsik: {}\n");
        assert!(e.contains("c.yml:2:3"), "{e}");
        assert!(e.contains("unknown field `dsik`"), "{e}");
    }

    #[test]
    fn wrong_type_is_located() {
        let e = invalid("collectors:\n  disk:\n    paths: 5\n");
        assert!(e.contains("c.yml:3:12"), "{e}");
        let e = invalid("collectors:\n  disk:\n    enabled: maybe\n");
        assert!(e.contains("c.yml:3:14"), "{e}");
        assert!(e.contains("true, false or auto"), "{e}");
    }

    #[test]
    fn bad_duration_is_located() {
        let e = invalid("collectors:\n  disk:\n    interval: 15x\n");
        assert!(e.contains("c.yml:3:15"), "{e}");
        assert!(e.contains("invalid duration \"15x\""), "{e}");
    }

    #[test]
    fn timeout_longer_than_interval_is_located() {
        let e = invalid("collectors:\n  disk:\n    interval: 10s\n    timeout: 1m\n");
        assert_eq!(
            e,
            "c.yml:4:14: timeout 1m is longer than the interval 10s: a cycle must end before the next one starts"
        );
    }

    #[test]
    fn tls_errors_are_located() {
        let t = |body: &str| {
            invalid(&format!(
                "collectors:\n  trino:\n    targets:\n      - name: a\n        url: https://t\n{body}"
            ))
        };
        let e = t("        tls:\n          ca_file: /nonexistent/ca.pem\n");
        assert!(
            e.starts_with("c.yml:7:20: cannot read /nonexistent/ca.pem:"),
            "{e}"
        );
        let e = t("        tls: { ca_file: certs/ca.pem }\n");
        assert_eq!(e, "c.yml:6:25: path \"certs/ca.pem\" must be absolute");
        let e = t("        tls:\n          cert_file: /etc/client.pem\n");
        assert_eq!(e, "c.yml:7:22: cert_file needs key_file");
        let e = t("        tls:\n          key_file: /etc/client.key\n");
        assert_eq!(e, "c.yml:7:21: key_file needs cert_file");
        let e = t("        tls:\n          server_name: 'not a name'\n");
        assert!(e.starts_with("c.yml:7:24: invalid TLS server name"), "{e}");
        let e = t("        tls:\n          ca: /x\n");
        assert!(
            e.contains("c.yml:7:11") && e.contains("unknown field `ca`"),
            "{e}"
        );
        let e = invalid(
            "collectors:\n  trino:\n    targets:\n      - name: a\n        url: http://t\n        tls: { insecure_skip_verify: true }\n",
        );
        assert!(
            e.starts_with("c.yml:6:14: tls is only used with https:// URLs"),
            "{e}"
        );
        let e = invalid("collectors:\n  container:\n    tls: { insecure_skip_verify: true }\n");
        assert!(
            e.starts_with("c.yml:3:10: tls needs docker_host: tcp://host:port"),
            "{e}"
        );
    }

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
        assert_eq!(pg.stat_statements_limit, None);
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
        let e = invalid("collectors:\n  postgres:\n    timeout: 2s\n    statement_timeout: 5s\n");
        assert!(e.starts_with("c.yml:4:24: statement_timeout"), "{e}");
        let e = invalid(&format!(
            "{base}        host: h\n        user: u\n      - name: a\n        host: h\n        user: u\n"
        ));
        assert!(e.starts_with("c.yml:7:15: duplicate target name"), "{e}");
    }

    fn pg_target(target_yaml: &str) -> PostgresTarget {
        let c = Config::parse(
            &format!("collectors:\n  postgres:\n    targets:\n      - name: a\n{target_yaml}"),
            "c.yml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        c.postgres.expect("postgres on").targets.remove(0)
    }

    #[test]
    fn postgres_sslmode_follows_libpq() {
        use tokio_postgres::config::SslMode;
        let insecure = crate::tls::ClientTls {
            insecure_skip_verify: true,
            ..Default::default()
        };
        // libpq's default is prefer: try TLS, accept any certificate, fall back to plain.
        let t = pg_target("        host: db\n        user: u\n");
        assert_eq!(t.tls, PostgresTls::Prefer(insecure.clone()));
        assert_eq!(t.connect.get_ssl_mode(), SslMode::Prefer);
        let t = pg_target("        dsn: postgresql://u@db/x?sslmode=require&connect_timeout=3\n");
        assert_eq!(t.tls, PostgresTls::Require(insecure));
        assert_eq!(t.connect.get_ssl_mode(), SslMode::Require);
        let t = pg_target("        dsn: host=db user=u sslmode=disable\n");
        assert_eq!(t.tls, PostgresTls::Disable);
        assert_eq!(t.connect.get_ssl_mode(), SslMode::Disable);
        // libpq never encrypts a unix socket, whatever sslmode says.
        let t =
            pg_target("        host: /run/postgresql\n        user: u\n        sslmode: require\n");
        assert_eq!(t.tls, PostgresTls::Disable);
        let t = pg_target("        dsn: postgresql://u@db/x?channel_binding=require\n");
        assert_eq!(
            t.connect.get_channel_binding(),
            tokio_postgres::config::ChannelBinding::Require
        );
    }

    #[test]
    fn postgres_tls_errors_are_located() {
        let base = "collectors:\n  postgres:\n    targets:\n      - name: a\n";
        let e = invalid(&format!(
            "{base}        host: h\n        user: u\n        sslmode: verify-ca\n"
        ));
        assert!(
            e.starts_with("c.yml:7:18: sslmode verify-ca needs the CA"),
            "{e}"
        );
        let e = invalid(&format!(
            "{base}        host: h\n        user: u\n        sslmode: allow\n"
        ));
        assert!(
            e.starts_with("c.yml:7:18: invalid sslmode \"allow\""),
            "{e}"
        );
        let e = invalid(&format!(
            "{base}        dsn: postgresql://u@h/db?sslmode=verify-full&sslrootcert=ca.pem\n"
        ));
        assert!(
            e.starts_with("c.yml:5:14: path \"ca.pem\" must be absolute"),
            "{e}"
        );
        let e = invalid(&format!(
            "{base}        dsn: 'host=h user=u sslmode=verify-full sslrootcert=/nonexistent/ca.pem'\n"
        ));
        assert!(
            e.starts_with("c.yml:5:14:") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );
        let e = invalid(&format!(
            "{base}        dsn: postgresql://u@h/db?sslrootcert=/a.pem\n        tls:\n          ca_file: /b.pem\n"
        ));
        assert!(
            e.starts_with("c.yml:5:14: sslrootcert is given twice"),
            "{e}"
        );
        let e = invalid(&format!(
            "{base}        host: h\n        user: u\n        sslmode: disable\n        tls:\n          ca_file: /a.pem\n"
        ));
        assert!(
            e.starts_with("c.yml:9:11: sslmode is disable: remove the TLS settings"),
            "{e}"
        );
        let e = invalid(&format!(
            "{base}        host: h\n        user: u\n        tls:\n          insecure_skip_verify: true\n"
        ));
        assert!(
            e.starts_with("c.yml:8:11: insecure_skip_verify does not apply"),
            "{e}"
        );
        let e = invalid(&format!(
            "{base}        host: h\n        user: u\n        sslmode: require\n        tls:\n          server_name: db.internal\n"
        ));
        assert!(
            e.starts_with("c.yml:9:24: server_name is only checked"),
            "{e}"
        );
        let e = invalid(&format!(
            "{base}        host: /run/postgresql\n        user: u\n        tls:\n          cert_file: /c.pem\n          key_file: /k.pem\n"
        ));
        assert!(
            e.starts_with("c.yml:8:11: TLS settings do not apply to a unix socket"),
            "{e}"
        );
    }

    #[test]
    fn libpq_tls_options_are_taken_out_of_either_dsn_syntax() {
        let (rest, taken) = libpq_tls_options(
            "postgresql://u:p%40ss@h:5/db?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(rest, "postgresql://u:p%40ss@h:5/db?application_name=x");
        assert_eq!(
            taken,
            [
                ("sslmode", "verify-full".into()),
                ("sslrootcert", "/etc/ca.pem".into())
            ]
        );
        let (rest, taken) =
            libpq_tls_options("host=h sslcert = '/my certs/c.pem' sslkey=/k\\ 1.pem  dbname=x")
                .unwrap();
        assert_eq!(
            taken,
            [
                ("sslcert", "/my certs/c.pem".into()),
                ("sslkey", "/k 1.pem".into())
            ]
        );
        let cfg: tokio_postgres::Config = rest.parse().unwrap();
        assert_eq!(cfg.get_dbname(), Some("x"));
        let (rest, taken) = libpq_tls_options("host=h password='a\\'b\\\\c'").unwrap();
        assert!(taken.is_empty());
        let cfg: tokio_postgres::Config = rest.parse().unwrap();
        assert_eq!(cfg.get_password(), Some(&b"a'b\\c"[..]));
        assert!(libpq_tls_options("host=h secretword").is_err());
        assert!(
            !libpq_tls_options("host=h secretword")
                .unwrap_err()
                .contains("secret")
        );
        assert!(libpq_tls_options("host='h").is_err());
    }

    #[test]
    fn postgres_labels_and_queries_file() {
        let dir = std::env::temp_dir().join(format!("lakewatch-pgq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let q = dir.join("queries.yaml");
        std::fs::write(
            &q,
            "lake_tables:\n  query: SELECT relname, n_live_tup FROM pg_stat_user_tables\n  metrics:\n    - relname: {usage: LABEL}\n    - n_live_tup: {usage: GAUGE, description: Rows}\n",
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
        let e = invalid(&yaml("        labels:\n          relname: x\n"));
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

    #[test]
    fn series_limit() {
        assert_eq!(
            Config::embedded_default().series_per_target,
            SERIES_PER_TARGET
        );
        let c = Config::parse("limits:\n  series_per_target: 10\n", "c.yml").unwrap();
        assert_eq!(c.series_per_target, 10);
        let e = invalid("limits:\n  series_per_target: 0\n");
        assert_eq!(e, "c.yml:2:22: series_per_target must be at least 1");
    }

    #[test]
    fn missing_file() {
        let e = Config::load(Path::new("/nonexistent/lakewatch.yml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/lakewatch.yml: cannot read config file:"),
            "{e}"
        );
    }
}

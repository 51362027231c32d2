//! One Postgres target's settings: a `dsn` or `host`/`port`/`user`/`dbname` keys, the
//! password, libpq's `sslmode` semantics and TLS options (which tokio-postgres does not
//! all know), and the target's extra labels.

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::collector::postgres::queries::CustomQuery;
use crate::config::error::{ConfigError, Entries, Validator};
use crate::config::schedule::Schedule;
use crate::config::secret::{Secret, expand_env};
use crate::config::tls::RawTls;

/// One Postgres server to watch.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresTarget {
    /// The `target` label of self-metrics.
    pub name: String,
    /// `host:port`, the `server` label of pg_* metrics (as postgres_exporter sets it).
    pub server: String,
    /// Connection settings without the password (application_name, TCP or socket,
    /// connect timeout and tokio-postgres' own sslmode already set).
    pub connect: tokio_postgres::Config,
    /// From `password`, `password_file` or the DSN; applied when connecting.
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

/// One entry of `collectors.postgres.targets` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPostgresTarget {
    pub(super) name: Spanned<String>,
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
    pub(super) queries_file: Option<Spanned<String>>,
}

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

impl Validator<'_> {
    /// Validates one entry of `collectors.postgres.targets`.
    pub(super) fn postgres_target(
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
        // A label may not be a LABEL column of a custom query either.
        let labels = self.target_labels(
            raw.labels,
            "Postgres",
            lakewatch_catalog::POSTGRES,
            |name| {
                let q = queries.iter().find(|q| q.labels().any(|l| l == name))?;
                Some(format!(
                    "label {name:?} is also a LABEL column of custom query {}: rename one",
                    q.prefix
                ))
            },
        )?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::testing::invalid;

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
}

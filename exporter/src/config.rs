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
pub mod labels;
pub mod schedule;
pub mod secret;
pub mod tls;

use std::path::Path;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::collector::container::settings::{ContainerConfig, RawContainer};
use crate::collector::disk::settings::{DiskConfig, RawDisk};
use crate::collector::postgres::settings::{PostgresConfig, RawPostgres};
use crate::collector::s3::settings::{RawS3, S3Config};
use crate::collector::trino::settings::{RawTrino, TrinoConfig};
use crate::config::error::{ConfigError, Validator};

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
}

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
    fn headline_is_one_line_without_the_snippet() {
        let e = Config::parse("collectors:\n  disk:\n    intervall: 15s\n", "c.yml").unwrap_err();
        let h = e.headline();
        assert!(h.starts_with("c.yml:3:5: unknown field `intervall`"), "{h}");
        assert!(!h.contains('\n') && !h.contains("15s"), "{h}");
        let e = invalid("limits:\n  series_per_target: 0\n");
        assert_eq!(e, "c.yml:2:22: series_per_target must be at least 1");
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

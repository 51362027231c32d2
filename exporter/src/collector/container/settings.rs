//! The container collector's settings: the `collectors.container` section as written,
//! its validation and its defaults (the Docker label allowlist, stats concurrency).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::duration::PromDuration;
use crate::config::enabled::Enabled;
use crate::config::error::{ConfigError, Validator};
use crate::config::filter::Filter;
use crate::config::schedule::Schedule;
use crate::config::tls::RawTls;

/// Where container stats come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsSource {
    /// The cgroup files when this process can see the container's cgroup, else the API.
    Auto,
    /// The cgroup files only (containers whose cgroup is not visible have no stats).
    Cgroup,
    /// Docker's stats API only.
    Api,
}

/// A Docker label condition: the key is present, or has exactly this value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelMatch {
    /// The label key.
    pub key: String,
    /// `Some`: the value must be exactly this; `None`: any value.
    pub value: Option<String>,
}

impl LabelMatch {
    /// Whether a container with these labels meets the condition.
    pub fn matches(&self, labels: &std::collections::HashMap<String, String>) -> bool {
        match (labels.get(&self.key), &self.value) {
            (Some(v), Some(want)) => v == want,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// Validated container collector settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerConfig {
    /// Interval and timeout of a cycle.
    pub schedule: Schedule,
    /// `Yes` or `Auto` (`No` means the whole section is `None`).
    pub enabled: Enabled,
    /// `unix://...`, `tcp://...` or `http://...`; `None` means `$DOCKER_HOST`, else the
    /// local socket.
    pub docker_host: Option<String>,
    /// TLS to a `tcp://` daemon from the `tls:` block; `None` leaves it to
    /// `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`, as with the docker CLI.
    pub tls: Option<crate::tls::ClientTls>,
    /// Docker labels copied onto `lakewatch_container_info`, by exact key.
    pub label_allowlist: Vec<String>,
    /// Matched against the container name without Docker's leading slash.
    pub names: Filter,
    /// A container must carry at least one of these labels (when any are given).
    pub labels_include: Vec<LabelMatch>,
    /// A container carrying any of these labels is skipped.
    pub labels_exclude: Vec<LabelMatch>,
    /// At most this many containers are exported; the rest are counted as dropped.
    pub max_containers: usize,
    /// Where the resource usage comes from.
    pub stats_source: StatsSource,
    /// How many stats API calls are open at once (one connection each), across the
    /// background reads and the cycle.
    pub stats_concurrency: usize,
    /// Where the host's cgroup hierarchy is visible.
    pub cgroupfs: PathBuf,
    /// Where the host's `/proc` is visible (container main processes' cgroup and netns).
    pub procfs: PathBuf,
}

/// `collectors.container` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContainer {
    enabled: Option<Enabled>,
    interval: Option<Spanned<PromDuration>>,
    timeout: Option<Spanned<PromDuration>>,
    docker_host: Option<Spanned<String>>,
    tls: Option<Spanned<RawTls>>,
    label_allowlist: Option<Vec<Spanned<String>>>,
    names_include: Option<Spanned<String>>,
    names_exclude: Option<Spanned<String>>,
    #[serde(default)]
    labels_include: Vec<Spanned<String>>,
    #[serde(default)]
    labels_exclude: Vec<Spanned<String>>,
    max_containers: Option<Spanned<u64>>,
    stats_source: Option<Spanned<String>>,
    stats_concurrency: Option<Spanned<u64>>,
    cgroupfs: Option<String>,
    procfs: Option<String>,
}

const CONTAINER_SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(15),
    timeout: Duration::from_secs(10),
};

/// Stats API calls open at once unless configured otherwise.
pub const DEFAULT_STATS_CONCURRENCY: usize = 128;

/// Docker labels put on `lakewatch_container_info` unless configured otherwise.
pub const CONTAINER_LABEL_ALLOWLIST: &[&str] =
    &["com.docker.compose.project", "com.docker.compose.service"];

impl Validator<'_> {
    /// Validates `collectors.container`; `None` when it is disabled.
    pub(crate) fn container(
        &self,
        raw: RawContainer,
    ) -> Result<Option<ContainerConfig>, ConfigError> {
        let enabled = raw.enabled.unwrap_or(Enabled::Auto);
        if enabled == Enabled::No {
            return Ok(None);
        }
        let schedule = self.schedule(raw.interval, raw.timeout, CONTAINER_SCHEDULE)?;
        let docker_host = match &raw.docker_host {
            Some(h) if h.value.is_empty() => None,
            Some(h) => {
                let ok = ["unix:///", "tcp://", "http://"]
                    .iter()
                    .any(|p| h.value.starts_with(p));
                if !ok {
                    return Err(self.error(
                        h,
                        format!(
                            "unsupported docker_host {:?}: expected unix:///path/to/docker.sock, tcp://host:port or http://host:port (for TLS: tcp:// and a tls: block)",
                            h.value
                        ),
                    ));
                }
                Some(h.value.clone())
            }
            None => None,
        };
        let tls = match &raw.tls {
            None => None,
            Some(t)
                if docker_host
                    .as_deref()
                    .is_some_and(|h| h.starts_with("tcp://")) =>
            {
                Some(self.tls(t)?)
            }
            Some(t) => {
                return Err(self.error(
                    t,
                    "tls needs docker_host: tcp://host:port in this section (the daemon's TLS port, usually 2376)",
                ));
            }
        };
        let label_allowlist = match raw.label_allowlist {
            Some(list) => list.into_iter().map(|l| l.value).collect(),
            None => CONTAINER_LABEL_ALLOWLIST
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        let max_containers = match raw.max_containers {
            Some(m) if m.value == 0 => {
                return Err(self.error(&m, "max_containers must be at least 1"));
            }
            Some(m) => usize::try_from(m.value).unwrap_or(usize::MAX),
            None => 1000,
        };
        let stats_source = match raw.stats_source {
            None => StatsSource::Auto,
            Some(s) => match s.value.as_str() {
                "auto" => StatsSource::Auto,
                "cgroup" => StatsSource::Cgroup,
                "api" => StatsSource::Api,
                other => {
                    return Err(self.error(
                        &s,
                        format!("invalid stats_source {other:?}: expected auto, cgroup or api"),
                    ));
                }
            },
        };
        let stats_concurrency = match raw.stats_concurrency {
            Some(c) if c.value == 0 || c.value > 256 => {
                return Err(self.error(&c, "stats_concurrency must be between 1 and 256"));
            }
            Some(c) => c.value as usize,
            // dockerd answers every waiting stats call at its next one-second sampling
            // tick, so reading all containers takes about containers / stats_concurrency
            // seconds: the age of the oldest sample when the cycle uses them, and the
            // length of a cycle that meets them all for the first time. `docker stats`
            // opens one call per container at once; 128 covers most hosts in one tick
            // at 128 connections (file descriptors) at most.
            None => DEFAULT_STATS_CONCURRENCY,
        };
        Ok(Some(ContainerConfig {
            schedule,
            enabled,
            docker_host,
            tls,
            label_allowlist,
            names: Filter {
                include: self.regex(raw.names_include, None)?,
                exclude: self.regex(raw.names_exclude, None)?,
            },
            labels_include: self.label_matches(raw.labels_include)?,
            labels_exclude: self.label_matches(raw.labels_exclude)?,
            max_containers,
            stats_source,
            stats_concurrency,
            cgroupfs: PathBuf::from(raw.cgroupfs.unwrap_or_else(|| "/sys/fs/cgroup".into())),
            procfs: PathBuf::from(raw.procfs.unwrap_or_else(|| "/proc".into())),
        }))
    }

    fn label_matches(&self, raw: Vec<Spanned<String>>) -> Result<Vec<LabelMatch>, ConfigError> {
        raw.into_iter()
            .map(|m| {
                let (key, value) = match m.value.split_once('=') {
                    Some((k, v)) => (k, Some(v.to_string())),
                    None => (m.value.as_str(), None),
                };
                if key.is_empty() {
                    return Err(self.error(&m, "expected a Docker label as key or key=value"));
                }
                Ok(LabelMatch {
                    key: key.to_string(),
                    value,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::testing::invalid;

    #[test]
    fn container_section() {
        let c = Config::embedded_default();
        let ct = c.container.expect("container section present (auto)");
        assert_eq!(ct.enabled, Enabled::Auto);
        assert_eq!(ct.stats_source, StatsSource::Auto);
        assert_eq!(ct.docker_host, None);
        assert_eq!(ct.label_allowlist, CONTAINER_LABEL_ALLOWLIST);
        assert_eq!(ct.stats_concurrency, DEFAULT_STATS_CONCURRENCY);
        let c = Config::parse(
            "collectors:\n  container:\n    enabled: true\n    labels_include: [a, 'b=c']\n    names_exclude: '^tmp'\n",
            "c.yml",
        )
        .unwrap();
        let ct = c.container.unwrap();
        assert_eq!(ct.labels_include[1].value.as_deref(), Some("c"));
        assert!(!ct.names.allows("tmp1") && ct.names.allows("db"));
        assert!(
            Config::parse("collectors:\n  container:\n    enabled: false\n", "c.yml")
                .unwrap()
                .container
                .is_none()
        );
        let e = invalid("collectors:\n  container:\n    stats_source: cgroups\n");
        assert!(
            e.starts_with("c.yml:3:19: invalid stats_source \"cgroups\""),
            "{e}"
        );
        let e = invalid("collectors:\n  container:\n    docker_host: https://d:2376\n");
        assert!(e.starts_with("c.yml:3:18: unsupported docker_host"), "{e}");
        let c = Config::parse(
            "collectors:\n  container:\n    docker_host: tcp://d:2376\n    tls: { server_name: docker.internal, insecure_skip_verify: true }\n",
            "c.yml",
        )
        .unwrap();
        let tls = c.container.unwrap().tls.expect("tls block kept");
        assert_eq!(tls.server_name.as_deref(), Some("docker.internal"));
        assert!(tls.insecure_skip_verify);
        let c = Config::parse(
            "collectors:\n  container:\n    stats_concurrency: 256\n",
            "c.yml",
        )
        .unwrap();
        assert_eq!(c.container.unwrap().stats_concurrency, 256);
        for bad in ["0", "257"] {
            let e = invalid(&format!(
                "collectors:\n  container:\n    stats_concurrency: {bad}\n"
            ));
            assert!(
                e.starts_with("c.yml:3:24: stats_concurrency must be between 1 and 256"),
                "{e}"
            );
        }
        let e = invalid("collectors:\n  container:\n    max_containers: 0\n");
        assert!(e.starts_with("c.yml:3:21: max_containers"), "{e}");
        let e = invalid("collectors:\n  container:\n    labels_exclude: ['=x']\n");
        assert!(e.starts_with("c.yml:3:22: expected a Docker label"), "{e}");
    }
}

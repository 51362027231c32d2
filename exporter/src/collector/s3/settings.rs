//! The S3 collector's settings: the `collectors.s3` section as written, its validation
//! and its defaults (the listing budget, the MinIO metrics allow list).

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::duration::PromDuration;
use crate::config::enabled::Enabled;
use crate::config::error::{ConfigError, Entries, Validator};
use crate::config::filter::Filter;
use crate::config::schedule::Schedule;
use crate::config::secret::{Secret, expand_env};
use crate::discovery::docker::{Address, DockerDiscovery, Recipe, Scalar, Setting, TemplateValue};

/// Validated S3 collector settings.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Config {
    /// Interval and timeout of a cycle.
    pub schedule: Schedule,
    /// The endpoints, each its own target: those of `targets:`, and once discovery has
    /// run, the discovered ones after them.
    pub targets: Vec<S3Target>,
    /// `targets_files:` globs whose files list more targets (see [`crate::discovery`]).
    pub targets_files: Vec<String>,
    /// `docker_discovery:`: labelled containers become targets; `None` when off.
    pub docker: Option<DockerDiscovery>,
}

/// One S3 endpoint (a MinIO cluster, a Ceph RGW, an AWS account and region, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct S3Target {
    /// The `target` label.
    pub name: String,
    /// `http(s)://host:port`, without a bucket.
    pub endpoint: String,
    /// Signing region (`us-east-1` unless the store says otherwise).
    pub region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: Secret,
    /// Path-style addressing (`endpoint/bucket/key`): what MinIO, Ceph and SeaweedFS
    /// expect by default; virtual-hosted style needs wildcard DNS.
    pub path_style: bool,
    /// Which buckets are counted.
    pub buckets: Filter,
    /// ListObjectsV2 pages (per target, across buckets) one cycle may request.
    pub page_budget: u32,
    /// Keys per ListObjectsV2 page (S3 caps it at 1000).
    pub page_size: i32,
    /// The canary probe; `None`: off.
    pub probe: Option<S3Probe>,
    /// Pass-through of MinIO's own metrics; `None`: off.
    pub minio_metrics: Option<MinioMetrics>,
    /// Extra labels on every series of this target (`labels:`), sorted by name.
    pub labels: Vec<(String, String)>,
}

/// The canary probe of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Probe {
    /// The bucket the canary writes to (or lists, read-only).
    pub bucket: String,
    /// Key prefix of the canary object (`.lakewatch/` by default).
    pub prefix: String,
    /// Whether it writes or only reads.
    pub mode: ProbeMode,
}

/// What the canary may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeMode {
    /// PUT, GET (bytes verified) and DELETE of a small object.
    Write,
    /// LIST of the prefix and HEAD of the bucket, for credentials without write access.
    Read,
}

/// Pass-through of MinIO's own Prometheus endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct MinioMetrics {
    /// Where MinIO's metrics are read (by default `<endpoint>/minio/v2/metrics/cluster`).
    pub endpoint: crate::http_client::Endpoint,
    /// A fixed bearer token; without one a JWT is signed with the target's keys.
    pub token: Option<Secret>,
    /// The MinIO families let through.
    pub allow: crate::passthrough::AllowList,
}

/// `collectors.s3` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawS3 {
    enabled: Option<Spanned<Enabled>>,
    interval: Option<Spanned<PromDuration>>,
    timeout: Option<Spanned<PromDuration>>,
    #[serde(default)]
    targets: Vec<Spanned<RawS3Target>>,
    targets_files: Option<Vec<Spanned<String>>>,
    docker_discovery: Option<RawS3Docker>,
}

/// `docker_discovery:` of `collectors.s3` as written: the network and the template
/// (no secret key: credentials come from files).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawS3Docker {
    enabled: Option<bool>,
    network: Option<Spanned<String>>,
    port: Option<u16>,
    scheme: Option<String>,
    region: Option<String>,
    access_key: Option<String>,
    secret_key_file: Option<Spanned<String>>,
    path_style: Option<bool>,
}

/// What S3 reads off a container labelled `lakewatch.s3.enable=true`: its endpoint is
/// `<scheme>://<address>:<port>` (MinIO's API port, 9000, unless set).
pub const S3_DOCKER: Recipe = Recipe {
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
            label: "scheme",
            key: "scheme",
            kind: Scalar::Text,
        },
        Setting {
            label: "region",
            key: "region",
            kind: Scalar::Text,
        },
        Setting {
            label: "access_key",
            key: "access_key",
            kind: Scalar::Text,
        },
        Setting {
            label: "secret_key_file",
            key: "secret_key_file",
            kind: Scalar::Text,
        },
        Setting {
            label: "path_style",
            key: "path_style",
            kind: Scalar::Bool,
        },
        Setting {
            label: "buckets_include",
            key: "buckets_include",
            kind: Scalar::Text,
        },
        Setting {
            label: "buckets_exclude",
            key: "buckets_exclude",
            kind: Scalar::Text,
        },
        Setting {
            label: "probe_bucket",
            key: "probe.bucket",
            kind: Scalar::Text,
        },
        Setting {
            label: "probe_mode",
            key: "probe.mode",
            kind: Scalar::Text,
        },
    ],
    address: Address::Url {
        key: "endpoint",
        default_port: 9000,
    },
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawS3Target {
    name: Spanned<String>,
    endpoint: Spanned<String>,
    region: Option<String>,
    access_key: Spanned<String>,
    secret_key: Option<Spanned<String>>,
    secret_key_file: Option<Spanned<String>>,
    path_style: Option<bool>,
    buckets_include: Option<Spanned<String>>,
    buckets_exclude: Option<Spanned<String>>,
    page_budget: Option<Spanned<u32>>,
    page_size: Option<Spanned<i32>>,
    probe: Option<RawS3Probe>,
    minio_metrics: Option<RawMinioMetrics>,
    labels: Option<Entries<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawS3Probe {
    bucket: Spanned<String>,
    prefix: Option<String>,
    mode: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMinioMetrics {
    enabled: Option<bool>,
    url: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    allow: Option<Spanned<Vec<String>>>,
}

/// Five minutes: a full bucket listing costs one LIST request per 1000 objects (billed
/// on AWS, metadata I/O on MinIO and Ceph), bucket sizes move slowly and capacity alerts
/// look hours ahead; the canary's PUT/GET/DELETE also cost requests every cycle.
const S3_SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(300),
    timeout: Duration::from_secs(60),
};

/// 100 pages of 1000 keys: 100k objects per cycle, a few seconds against a local store.
const S3_PAGE_BUDGET: u32 = 100;

/// MinIO's cluster capacity and health families, re-exported by default.
pub const MINIO_ALLOW: &[&str] = &[
    "minio_cluster_capacity_*",
    "minio_cluster_health_*",
    "minio_cluster_drive_*",
    "minio_node_drive_*",
];

impl Validator<'_> {
    /// Validates `collectors.s3`; `None` when it is disabled or has no targets.
    pub(crate) fn s3(&self, raw: RawS3) -> Result<Option<S3Config>, ConfigError> {
        if let Some(e) = &raw.enabled {
            match e.value {
                Enabled::No => return Ok(None),
                Enabled::Auto => {
                    return Err(self.error(e, "the s3 collector takes enabled: true or false"));
                }
                Enabled::Yes => {}
            }
        }
        let schedule = self.schedule(raw.interval, raw.timeout, S3_SCHEDULE)?;
        let targets = self.s3_targets(raw.targets)?;
        let targets_files = self.targets_files(raw.targets_files)?;
        let docker = match raw.docker_discovery {
            None => None,
            Some(d) => self.docker_discovery(
                d.enabled,
                d.network,
                vec![
                    ("port", d.port.map(TemplateValue::Port)),
                    ("scheme", d.scheme.map(TemplateValue::Text)),
                    ("region", d.region.map(TemplateValue::Text)),
                    ("access_key", d.access_key.map(TemplateValue::Text)),
                    (
                        "secret_key_file",
                        d.secret_key_file.map(TemplateValue::Path),
                    ),
                    ("path_style", d.path_style.map(TemplateValue::Bool)),
                ],
                &S3_DOCKER,
            )?,
        };
        if targets.is_empty() && targets_files.is_empty() && docker.is_none() {
            return Ok(None);
        }
        Ok(Some(S3Config {
            schedule,
            targets,
            targets_files,
            docker,
        }))
    }

    /// A list of targets, each validated, names unique.
    fn s3_targets(&self, raw: Vec<Spanned<RawS3Target>>) -> Result<Vec<S3Target>, ConfigError> {
        let mut targets: Vec<S3Target> = Vec::new();
        for t in raw {
            let span = Spanned::new((), t.referenced, t.defined);
            let target = self.s3_target(t.value, &span)?;
            if targets.iter().any(|o| o.name == target.name) {
                return Err(self.error(&span, format!("duplicate target name {:?}", target.name)));
            }
            targets.push(target);
        }
        Ok(targets)
    }

    fn s3_target(&self, raw: RawS3Target, span: &Spanned<()>) -> Result<S3Target, ConfigError> {
        let name = raw.name.value.clone();
        if name.is_empty() {
            return Err(self.error(&raw.name, "name must not be empty"));
        }
        let endpoint = expand_env(&raw.endpoint.value).map_err(|w| self.error(&raw.endpoint, w))?;
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let valid = endpoint.parse::<hyper::Uri>().ok().is_some_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some()
        });
        if !valid {
            return Err(self.error(
                &raw.endpoint,
                format!("invalid endpoint {endpoint:?}: expected http(s)://host[:port]"),
            ));
        }
        let access_key =
            expand_env(&raw.access_key.value).map_err(|w| self.error(&raw.access_key, w))?;
        let secret_key = self
            .secret("secret_key", raw.secret_key, raw.secret_key_file)?
            .ok_or_else(|| self.error(span, "target needs secret_key or secret_key_file"))?;
        let page_budget = match raw.page_budget {
            Some(p) if p.value == 0 => return Err(self.error(&p, "page_budget must be at least 1")),
            Some(p) => p.value,
            None => S3_PAGE_BUDGET,
        };
        let page_size = match raw.page_size {
            Some(p) if !(1..=1000).contains(&p.value) => {
                return Err(self.error(&p, "page_size must be between 1 and 1000"));
            }
            Some(p) => p.value,
            None => 1000,
        };
        let probe = match raw.probe {
            None => None,
            Some(p) => {
                let mode = match p.mode.as_ref().map(|m| m.value.as_str()) {
                    None | Some("write") => ProbeMode::Write,
                    Some("read") => ProbeMode::Read,
                    Some(other) => {
                        let m = p.mode.as_ref().expect("matched Some above");
                        return Err(self.error(
                            m,
                            format!("invalid probe mode {other:?}: expected write or read"),
                        ));
                    }
                };
                if p.bucket.value.is_empty() {
                    return Err(self.error(&p.bucket, "probe bucket must not be empty"));
                }
                Some(S3Probe {
                    bucket: p.bucket.value,
                    prefix: p.prefix.unwrap_or_else(|| ".lakewatch/".into()),
                    mode,
                })
            }
        };
        let minio_metrics = match raw.minio_metrics {
            Some(m) if m.enabled != Some(false) => {
                let metrics_endpoint = match &m.url {
                    Some(u) => self.http_url(u, None)?,
                    None => self.endpoint(
                        &raw.endpoint,
                        &format!("{endpoint}/minio/v2/metrics/cluster"),
                        None,
                    )?,
                };
                let allow = match m.allow {
                    Some(a) => crate::passthrough::AllowList::new(&a.value)
                        .map_err(|why| self.error(&a, why))?,
                    None => crate::passthrough::AllowList::new(MINIO_ALLOW)
                        .expect("the built-in allow-list is valid"),
                };
                Some(MinioMetrics {
                    endpoint: metrics_endpoint,
                    token: self.secret("token", m.token, m.token_file)?,
                    allow,
                })
            }
            _ => None,
        };
        Ok(S3Target {
            name,
            endpoint,
            region: raw.region.unwrap_or_else(|| "us-east-1".into()),
            access_key,
            secret_key,
            path_style: raw.path_style.unwrap_or(true),
            buckets: Filter {
                include: self.regex(raw.buckets_include, None)?,
                exclude: self.regex(raw.buckets_exclude, None)?,
            },
            page_budget,
            page_size,
            probe,
            minio_metrics,
            labels: self.target_labels(raw.labels, "S3", lakewatch_catalog::S3, |_| None)?,
        })
    }
}

impl S3Config {
    /// The targets of a targets file `name`: a YAML or JSON list in the format of
    /// `targets:`, validated as those are.
    pub(crate) fn file_targets(
        &self,
        text: &str,
        name: &str,
    ) -> Result<Vec<S3Target>, ConfigError> {
        let v = Validator { name };
        v.s3_targets(v.targets_list(text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::testing::invalid;

    #[test]
    fn s3_target_defaults_and_secret() {
        let dir = std::env::temp_dir().join(format!("lakewatch-s3cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "sup3r-s3cret\n").unwrap();
        let yaml = format!(
            "collectors:\n  s3:\n    targets:\n      - name: lake\n        endpoint: http://minio:9000/\n        access_key: ak\n        secret_key_file: {}\n        probe: {{ bucket: lake }}\n        minio_metrics: {{}}\n",
            file.display()
        );
        let c = Config::parse(&yaml, "c.yml").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let s3 = c.s3.expect("s3 enabled by its targets");
        assert_eq!(s3.schedule, S3_SCHEDULE);
        let t = &s3.targets[0];
        assert_eq!(t.endpoint, "http://minio:9000");
        assert_eq!(t.region, "us-east-1");
        assert_eq!(t.secret_key.expose(), "sup3r-s3cret");
        assert!(t.path_style);
        assert_eq!((t.page_budget, t.page_size), (S3_PAGE_BUDGET, 1000));
        let probe = t.probe.as_ref().unwrap();
        assert_eq!(
            (probe.prefix.as_str(), probe.mode),
            (".lakewatch/", ProbeMode::Write)
        );
        let mm = t.minio_metrics.as_ref().unwrap();
        assert_eq!(
            mm.endpoint.url(""),
            "http://minio:9000/minio/v2/metrics/cluster"
        );
        assert!(mm.allow.allows("minio_cluster_capacity_usable_free_bytes"));
        assert!(!mm.allow.allows("minio_s3_requests_total"));
        assert!(!format!("{c:?}", c = s3).contains("sup3r-s3cret"));
    }

    #[test]
    fn s3_errors_are_located() {
        let base = "collectors:\n  s3:\n    targets:\n      - name: lake\n        access_key: ak\n        secret_key: x\n";
        let e = invalid(&format!("{base}        endpoint: ftp://x\n"));
        assert!(e.starts_with("c.yml:7:19: invalid endpoint"), "{e}");
        let e = invalid(&format!(
            "{base}        endpoint: http://x\n        page_size: 5000\n"
        ));
        assert!(
            e.starts_with("c.yml:8:20: page_size must be between 1 and 1000"),
            "{e}"
        );
        let e = invalid(&format!(
            "{base}        endpoint: http://x\n        probe: {{ bucket: b, mode: rw }}\n"
        ));
        assert!(e.starts_with("c.yml:8:35: invalid probe mode"), "{e}");
        let e = invalid(&format!(
            "{base}        endpoint: http://x\n        buckets_include: '('\n"
        ));
        assert!(
            e.starts_with("c.yml:8:26: invalid regular expression"),
            "{e}"
        );
        let e = invalid(
            "collectors:\n  s3:\n    targets:\n      - name: lake\n        endpoint: http://x\n        access_key: ak\n",
        );
        assert_eq!(e, "c.yml:4:9: target needs secret_key or secret_key_file");
        let e = invalid(&format!(
            "{base}        endpoint: http://x\n      - name: lake\n        endpoint: http://y\n        access_key: a\n        secret_key: b\n"
        ));
        assert_eq!(e, "c.yml:8:9: duplicate target name \"lake\"");
        let e = invalid(&format!(
            "{base}        endpoint: http://x\n        minio_metrics: {{ allow: [a.b] }}\n"
        ));
        assert!(e.contains("c.yml:8:33: invalid pattern"), "{e}");
        let e = invalid("collectors:\n  s3:\n    targets:\n      - endpoint: http://x\n");
        assert!(e.contains("c.yml:4"), "{e}");
        assert!(e.contains("name"), "{e}");
    }

    #[test]
    fn s3_without_targets_or_disabled_is_off() {
        assert!(Config::embedded_default().s3.is_none());
        let c = Config::parse("collectors:\n  s3:\n    enabled: false\n    targets:\n      - name: x\n        endpoint: http://x\n        access_key: a\n        secret_key: b\n", "c.yml").unwrap();
        assert!(c.s3.is_none());
    }
}

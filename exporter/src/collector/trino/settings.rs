//! The Trino collector's settings: the `collectors.trino` section as written, its
//! validation and its defaults (the query time histogram buckets).

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::duration::PromDuration;
use crate::config::enabled::Enabled;
use crate::config::error::{ConfigError, Entries, Validator};
use crate::config::schedule::Schedule;
use crate::config::secret::{Secret, expand_env};
use crate::config::tls::RawTls;
use crate::discovery::docker::{Address, DockerDiscovery, Recipe, Scalar, Setting, TemplateValue};

/// Validated Trino collector settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrinoConfig {
    /// Interval and timeout of a cycle.
    pub schedule: Schedule,
    /// The coordinators, each its own target: those of `targets:`, and once discovery
    /// has run, the discovered ones after them.
    pub targets: Vec<TrinoTarget>,
    /// `targets_files:` globs whose files list more targets (see [`crate::discovery`]).
    pub targets_files: Vec<String>,
    /// The collector-wide `histogram_buckets`, for discovered targets without their own.
    pub buckets: std::sync::Arc<[f64]>,
    /// `docker_discovery:`: labelled containers become targets; `None` when off.
    pub docker: Option<DockerDiscovery>,
}

/// One Trino coordinator.
#[derive(Debug, Clone, PartialEq)]
pub struct TrinoTarget {
    /// The `target` label.
    pub name: String,
    /// The coordinator's HTTP(S) endpoint.
    pub endpoint: crate::http_client::Endpoint,
    /// Sent as `X-Trino-User` (and as the Basic auth user).
    pub user: String,
    /// How to authenticate.
    pub auth: TrinoAuth,
    /// Also read `/ui/api/stats` (logging in to the web UI when it asks).
    pub ui_stats: bool,
    /// Upper bounds of the query time histograms, ascending, without +Inf.
    pub buckets: std::sync::Arc<[f64]>,
    /// Families of Trino's own `/metrics` (OpenMetrics) to re-export; `None` = off.
    pub metrics_allow: Option<crate::passthrough::AllowList>,
    /// Extra labels on every series of this target (`labels:`), sorted by name.
    pub labels: Vec<(String, String)>,
}

/// How the exporter authenticates to Trino.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrinoAuth {
    /// No authentication (only `X-Trino-User`).
    None,
    /// Basic auth with the target's `user`.
    Password(Secret),
    /// `Authorization: Bearer` (JWT or OAuth2 access token).
    Token(Secret),
}

/// `collectors.trino` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrino {
    enabled: Option<Enabled>,
    interval: Option<Spanned<PromDuration>>,
    timeout: Option<Spanned<PromDuration>>,
    histogram_buckets: Option<Spanned<Vec<f64>>>,
    #[serde(default)]
    targets: Vec<Spanned<RawTrinoTarget>>,
    targets_files: Option<Vec<Spanned<String>>>,
    docker_discovery: Option<RawTrinoDocker>,
}

/// `docker_discovery:` of `collectors.trino` as written: the network and the template
/// (no password or token: credentials come from files).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrinoDocker {
    enabled: Option<bool>,
    network: Option<Spanned<String>>,
    port: Option<u16>,
    scheme: Option<String>,
    user: Option<String>,
    password_file: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    ui_stats: Option<bool>,
}

/// What Trino reads off a container labelled `lakewatch.trino.enable=true`: its URL is
/// `<scheme>://<address>:<port>` (the coordinator's HTTP port, 8080, unless set).
pub const TRINO_DOCKER: Recipe = Recipe {
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
            label: "user",
            key: "user",
            kind: Scalar::Text,
        },
        Setting {
            label: "password_file",
            key: "password_file",
            kind: Scalar::Text,
        },
        Setting {
            label: "token_file",
            key: "token_file",
            kind: Scalar::Text,
        },
        Setting {
            label: "ui_stats",
            key: "ui_stats",
            kind: Scalar::Bool,
        },
    ],
    address: Address::Url {
        key: "url",
        default_port: 8080,
    },
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrinoTarget {
    name: Spanned<String>,
    url: Spanned<String>,
    user: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    password_file: Option<Spanned<String>>,
    token: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    ui_stats: Option<bool>,
    histogram_buckets: Option<Spanned<Vec<f64>>>,
    metrics_allow: Option<Spanned<Vec<String>>>,
    tls: Option<Spanned<RawTls>>,
    labels: Option<Entries<Spanned<String>>>,
}

const TRINO_SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(15),
    timeout: Duration::from_secs(10),
};

/// Default query time buckets: sub-second interactive queries up to hour-long batch jobs.
pub const TRINO_BUCKETS: &[f64] = &[
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// True when `s` can go into an HTTP header value unchanged.
fn header_safe(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
}

impl Validator<'_> {
    /// Validates `collectors.trino`; `None` when it is disabled or has no targets.
    pub(crate) fn trino(&self, raw: RawTrino) -> Result<Option<TrinoConfig>, ConfigError> {
        let docker = match raw.docker_discovery {
            None => None,
            Some(d) => self.docker_discovery(
                d.enabled,
                d.network,
                vec![
                    ("port", d.port.map(TemplateValue::Port)),
                    ("scheme", d.scheme.map(TemplateValue::Text)),
                    ("user", d.user.map(TemplateValue::Text)),
                    ("password_file", d.password_file.map(TemplateValue::Path)),
                    ("token_file", d.token_file.map(TemplateValue::Path)),
                    ("ui_stats", d.ui_stats.map(TemplateValue::Bool)),
                ],
                &TRINO_DOCKER,
            )?,
        };
        if raw.enabled == Some(Enabled::No)
            || (raw.targets.is_empty()
                && raw.targets_files.as_ref().is_none_or(Vec::is_empty)
                && docker.is_none())
        {
            return Ok(None);
        }
        let schedule = self.schedule(raw.interval, raw.timeout, TRINO_SCHEDULE)?;
        let default_buckets: std::sync::Arc<[f64]> = match raw.histogram_buckets {
            Some(b) => self.buckets(b)?,
            None => TRINO_BUCKETS.into(),
        };
        let targets = self.trino_targets(raw.targets, &default_buckets)?;
        Ok(Some(TrinoConfig {
            schedule,
            targets,
            targets_files: self.targets_files(raw.targets_files)?,
            buckets: default_buckets,
            docker,
        }))
    }

    /// A list of targets, each validated, names unique; `default_buckets` for those
    /// without their own `histogram_buckets`.
    fn trino_targets(
        &self,
        raw: Vec<Spanned<RawTrinoTarget>>,
        default_buckets: &std::sync::Arc<[f64]>,
    ) -> Result<Vec<TrinoTarget>, ConfigError> {
        let mut targets: Vec<TrinoTarget> = Vec::new();
        for t in raw {
            let t = t.value;
            let name = t.name.value.trim().to_string();
            if name.is_empty() {
                return Err(self.error(&t.name, "name must not be empty"));
            }
            if targets.iter().any(|o| o.name == name) {
                return Err(self.error(
                    &t.name,
                    format!("two Trino targets are named {name:?}: names must be unique"),
                ));
            }
            let endpoint = self.http_url(&t.url, t.tls.as_ref())?;
            let user = match &t.user {
                Some(u) => {
                    let user = expand_env(&u.value).map_err(|why| self.error(u, why))?;
                    if user.is_empty() || !header_safe(&user) {
                        return Err(self.error(
                            u,
                            "user must be non-empty printable text (it is sent as the X-Trino-User header)",
                        ));
                    }
                    user
                }
                None => "lakewatch".to_string(),
            };
            let password_span = t.password.clone().or_else(|| t.password_file.clone());
            let token_span = t.token.clone().or_else(|| t.token_file.clone());
            let password = self.secret("password", t.password, t.password_file)?;
            let token = self.secret("token", t.token, t.token_file)?;
            let auth = match (password, token) {
                (Some(_), Some(_)) => {
                    let span = token_span.expect("a token was given");
                    return Err(self.error(&span, "give either a password or a token, not both"));
                }
                (Some(p), None) => TrinoAuth::Password(p),
                (None, Some(tok)) => TrinoAuth::Token(tok),
                (None, None) => TrinoAuth::None,
            };
            if let (TrinoAuth::Password(secret) | TrinoAuth::Token(secret), Some(span)) =
                (&auth, password_span.or(token_span))
                && !header_safe(secret.expose())
            {
                return Err(self.error(
                    &span,
                    "the secret contains control characters or non-ASCII text and cannot be sent in an HTTP header",
                ));
            }
            let buckets = match t.histogram_buckets {
                Some(b) => self.buckets(b)?,
                None => default_buckets.clone(),
            };
            let metrics_allow = match t.metrics_allow {
                Some(a) if a.value.is_empty() => None,
                Some(a) => Some(
                    crate::passthrough::AllowList::new(&a.value)
                        .map_err(|why| self.error(&a, why))?,
                ),
                None => None,
            };
            let labels =
                self.target_labels(t.labels, "Trino", lakewatch_catalog::TRINO, |_| None)?;
            targets.push(TrinoTarget {
                name,
                labels,
                endpoint,
                user,
                auth,
                ui_stats: t.ui_stats.unwrap_or(false),
                buckets,
                metrics_allow,
            });
        }
        Ok(targets)
    }

    fn buckets(&self, raw: Spanned<Vec<f64>>) -> Result<std::sync::Arc<[f64]>, ConfigError> {
        if raw.value.is_empty() {
            return Err(self.error(&raw, "histogram_buckets must list at least one bound"));
        }
        for pair in raw.value.windows(2) {
            if pair[0] >= pair[1] {
                return Err(self.error(
                    &raw,
                    format!(
                        "histogram_buckets must be strictly increasing ({} is followed by {})",
                        pair[0], pair[1]
                    ),
                ));
            }
        }
        if raw.value.iter().any(|b| !b.is_finite() || *b <= 0.0) {
            return Err(self.error(
                &raw,
                "histogram_buckets must be positive numbers of seconds (+Inf is added for you)",
            ));
        }
        Ok(raw.value.into())
    }
}

impl TrinoConfig {
    /// The targets of a targets file `name`: a YAML or JSON list in the format of
    /// `targets:`, validated as those are.
    pub(crate) fn file_targets(
        &self,
        text: &str,
        name: &str,
    ) -> Result<Vec<TrinoTarget>, ConfigError> {
        let v = Validator { name };
        v.trino_targets(v.targets_list(text)?, &self.buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::config::testing::invalid;

    #[test]
    fn trino_targets() {
        let c = Config::parse(
            "collectors:\n  trino:\n    interval: 30s\n    histogram_buckets: [1, 10]\n    targets:\n      - name: main\n        url: http://trino:8080/proxy/\n        user: lw\n        token: abc\n        ui_stats: true\n      - name: b\n        url: http://[::1]\n        histogram_buckets: [0.5]\n",
            "c.yml",
        )
        .unwrap();
        let trino = c.trino.expect("enabled by its targets");
        assert_eq!(trino.schedule.interval, Duration::from_secs(30));
        assert_eq!(trino.schedule.timeout, Duration::from_secs(10));
        let main = &trino.targets[0];
        assert_eq!(main.endpoint.host, "trino");
        assert_eq!(main.endpoint.port, 8080);
        assert_eq!(main.endpoint.base_path, "/proxy");
        assert_eq!(main.user, "lw");
        assert_eq!(main.auth, TrinoAuth::Token(Secret::new("abc")));
        assert!(main.ui_stats);
        assert_eq!(&main.buckets[..], &[1.0, 10.0]);
        let b = &trino.targets[1];
        assert_eq!((b.endpoint.host.as_str(), b.endpoint.port), ("::1", 80));
        assert_eq!(b.user, "lakewatch");
        assert_eq!(b.auth, TrinoAuth::None);
        assert_eq!(&b.buckets[..], &[0.5]);
        assert!(
            Config::embedded_default().trino.is_none(),
            "off without targets"
        );
    }

    #[test]
    fn trino_errors_are_located() {
        let t = |body: &str| {
            invalid(&format!(
                "collectors:\n  trino:\n    targets:\n      - name: a\n{body}"
            ))
        };
        let e = t("        url: trino:8080\n");
        assert!(e.starts_with("c.yml:5:14: invalid URL"), "{e}");
        let e = t("        url: http://u:p@trino\n");
        assert!(
            e.starts_with("c.yml:5:14: put credentials in user/password"),
            "{e}"
        );
        let e = t("        url: http://t\n        password: a\n        token: b\n");
        assert_eq!(e, "c.yml:7:16: give either a password or a token, not both");
        let e = t("        url: http://t\n        password: a\n        password_file: /x\n");
        assert_eq!(
            e,
            "c.yml:7:24: give either password or password_file, not both"
        );
        let e = t("        url: http://t\n        histogram_buckets: [1, 1]\n");
        assert!(
            e.starts_with("c.yml:6:28: histogram_buckets must be strictly increasing"),
            "{e}"
        );
        let e = t("        url: http://t\n        histogram_buckets: [-1]\n");
        assert!(
            e.starts_with("c.yml:6:28: histogram_buckets must be positive"),
            "{e}"
        );
        let e = t("        url: http://t\n      - name: a\n        url: http://u\n");
        assert!(
            e.starts_with("c.yml:6:15: two Trino targets are named \"a\""),
            "{e}"
        );
        let e = t("        url: http://t\n        usr: x\n");
        assert!(
            e.contains("c.yml:6:9") && e.contains("unknown field `usr`"),
            "{e}"
        );
        let e = t("        url: http://t\n        metrics_allow: ['jvm memory']\n");
        assert!(
            e.starts_with("c.yml:6:24: invalid pattern \"jvm memory\""),
            "{e}"
        );
        let e = t("        user: x\n");
        assert!(e.contains("missing field `url`"), "{e}");
    }

    #[test]
    fn trino_over_https() {
        let c = Config::parse(
            "collectors:\n  trino:\n    targets:\n      - name: a\n        url: https://trino.example/\n        tls: { insecure_skip_verify: true }\n      - name: b\n        url: https://[::1]:8443\n        tls:\n          server_name: trino.internal\n          insecure_skip_verify: true\n",
            "c.yml",
        )
        .unwrap();
        let t = c.trino.unwrap().targets;
        assert_eq!(
            (t[0].endpoint.host.as_str(), t[0].endpoint.port),
            ("trino.example", 443)
        );
        assert!(t[0].endpoint.tls.is_some());
        assert_eq!(
            t[0].endpoint.url("/v1/info"),
            "https://trino.example:443/v1/info"
        );
        assert_eq!(
            (t[1].endpoint.host.as_str(), t[1].endpoint.port),
            ("::1", 8443)
        );
        assert!(format!("{:?}", t[1].endpoint.tls).contains("trino.internal"));
    }
}

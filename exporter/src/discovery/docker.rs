//! Docker discovery, as Prometheus' `docker_sd_configs`: running containers labelled
//! `lakewatch.postgres.enable=true` become targets of the Postgres collector (when its
//! `docker_discovery:` is on), addressed by their IP on the configured network.
//!
//! Each container's labels and the collector's template are written out as a one-entry
//! targets file and validated by the parser the file source uses, so a broken label is
//! reported (naming the label) exactly as a broken file is. Credentials come from the
//! template or a `password_file` path, never from a label value or the container's
//! environment: no `password` key is read from either.
//!
//! The daemon is reached as the container collector reaches it ([`Daemon`]); its
//! `/events` stream (container start, die, destroy) triggers a new list, and a full list
//! runs every [`RESYNC`] as a safety net against a dropped event.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::collector::container::daemon::Daemon;
use crate::config::error::{ConfigError, Validator};

/// How often containers are listed even while the events stream is healthy.
pub const RESYNC: Duration = Duration::from_secs(30);

/// After an event, containers are listed again this much later, once the daemon's
/// state has caught up with the event.
pub(crate) const SETTLE: Duration = Duration::from_secs(1);

/// How long to wait before connecting again after the daemon failed.
pub(crate) const RETRY: Duration = Duration::from_secs(5);

/// Label keys a collector reads after its prefix (`lakewatch.postgres.`), and the
/// target setting each one fills.
pub(crate) const POSTGRES_LABELS: [(&str, &str); 6] = [
    ("name", "name"),
    ("port", "port"),
    ("user", "user"),
    ("dbname", "dbname"),
    ("sslmode", "sslmode"),
    ("password_file", "password_file"),
];

/// `docker_discovery:` of a collector as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDockerDiscovery {
    enabled: Option<bool>,
    network: Option<Spanned<String>>,
    port: Option<u16>,
    user: Option<String>,
    dbname: Option<String>,
    sslmode: Option<String>,
    password_file: Option<Spanned<String>>,
}

/// Validated `docker_discovery:` settings of a collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerDiscovery {
    /// The Docker network whose address is used; `None`: the container's first
    /// network (by name).
    pub network: Option<String>,
    /// Target settings for every discovered target that its labels do not set, as
    /// `(key, value)` in the targets format; values are YAML scalars.
    pub template: Vec<(&'static str, String)>,
}

impl Validator<'_> {
    /// `docker_discovery:`; `None` when absent or `enabled: false`.
    pub(crate) fn docker_discovery(
        &self,
        raw: Option<RawDockerDiscovery>,
    ) -> Result<Option<DockerDiscovery>, ConfigError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        if !raw.enabled.unwrap_or(true) {
            return Ok(None);
        }
        if let Some(n) = &raw.network
            && n.value.trim().is_empty()
        {
            return Err(self.error(n, "network must not be empty (leave it out for the first)"));
        }
        if let Some(p) = &raw.password_file
            && !p.value.starts_with('/')
        {
            return Err(self.error(p, format!("path {:?} must be absolute", p.value)));
        }
        let quote = |s: &str| serde_json::to_string(s).expect("a string serializes");
        let mut template = Vec::new();
        if let Some(p) = raw.port {
            template.push(("port", p.to_string()));
        }
        for (key, value) in [
            ("user", raw.user),
            ("dbname", raw.dbname),
            ("sslmode", raw.sslmode),
            ("password_file", raw.password_file.map(|p| p.value)),
        ] {
            if let Some(v) = value {
                template.push((key, quote(&v)));
            }
        }
        Ok(Some(DockerDiscovery {
            network: raw.network.map(|n| n.value),
            template,
        }))
    }
}

/// A running container as listed, with what discovery reads of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// Without the leading `/`.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Network name → the container's IP address on it.
    pub networks: BTreeMap<String, String>,
}

impl Container {
    fn from_summary(c: bollard::models::ContainerSummary) -> Option<Container> {
        let name = c
            .names?
            .into_iter()
            .next()?
            .trim_start_matches('/')
            .to_string();
        let networks = c
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(net, e)| Some((net, e.ip_address.filter(|ip| !ip.is_empty())?)))
            .collect();
        Some(Container {
            name,
            labels: c.labels.unwrap_or_default().into_iter().collect(),
            networks,
        })
    }

    /// The address on `network`, else on the first network by name.
    fn address(&self, network: Option<&str>) -> Result<&str, String> {
        match network {
            Some(n) => self.networks.get(n).map(String::as_str).ok_or_else(|| {
                format!(
                    "container {}: no address on network {n:?} (it is on {:?}); skipped",
                    self.name,
                    self.networks.keys().collect::<Vec<_>>()
                )
            }),
            None => self
                .networks
                .values()
                .next()
                .map(String::as_str)
                .ok_or_else(|| format!("container {}: no network address; skipped", self.name)),
        }
    }
}

/// The one-entry targets file of a container for the collector whose labels start with
/// `prefix` (`lakewatch.postgres.`), its name for errors, and where each of its lines
/// came from. Labels win over the template.
pub(crate) fn entry(
    c: &Container,
    prefix: &str,
    settings: &DockerDiscovery,
) -> Result<(String, String, Vec<String>), String> {
    let quote = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let host = c.address(settings.network.as_deref())?;
    let mut lines: Vec<(String, String, String)> = vec![
        ("name".into(), quote(&c.name), "the container's name".into()),
        ("host".into(), quote(host), "the container's address".into()),
        // Joins the target's series with the container collector's (`name`).
        (
            "labels".into(),
            format!("{{\"name\": {}}}", quote(&c.name)),
            "the container's name".into(),
        ),
    ];
    for (key, value) in &settings.template {
        lines.push((
            key.to_string(),
            value.clone(),
            "docker_discovery in the config".into(),
        ));
    }
    for (label, key) in POSTGRES_LABELS {
        let full = format!("{prefix}{label}");
        let Some(v) = c.labels.get(&full) else {
            continue;
        };
        // A port is a number when it is one; anything else stays a string, which the
        // parser rejects as not a port.
        let value = match (key, v.trim().parse::<u16>()) {
            ("port", Ok(p)) => p.to_string(),
            _ => quote(v),
        };
        let from = format!("label {full}={}", quote(v));
        match lines.iter_mut().find(|(k, _, _)| k == key) {
            Some(l) => *l = (key.to_string(), value, from),
            None => lines.push((key.to_string(), value, from)),
        }
    }
    let mut text = String::new();
    for (i, (key, value, _)) in lines.iter().enumerate() {
        text.push_str(if i == 0 { "- " } else { "  " });
        text.push_str(&format!("{key}: {value}\n"));
    }
    let path = format!("container {}", c.name);
    Ok((
        text,
        path,
        lines.into_iter().map(|(_, _, from)| from).collect(),
    ))
}

/// A parser's error on an [`entry`], told by the label or setting at fault rather than
/// by a line of a file no one wrote.
pub(crate) fn explain(error: &str, path: &str, from: &[String]) -> String {
    let located = error
        .strip_prefix(path)
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|r| {
            let (line, rest) = r.split_once(':')?;
            let line: usize = line.parse().ok()?;
            let (_, message) = rest.split_once(':')?;
            Some((from.get(line.checked_sub(1)?)?, message.trim()))
        });
    match located {
        Some((from, message)) => format!("{path}: {from}: {message}; skipped"),
        None => format!("{error}; skipped"),
    }
}

/// How to reach the daemon: the container collector's settings (`docker_host`, `tls`)
/// when it is configured, else its defaults (`$DOCKER_HOST`, the local socket).
pub(crate) fn daemon(config: &crate::config::Config) -> Result<Daemon, String> {
    match &config.container {
        Some(c) => Daemon::resolve(c),
        None => match crate::config::Config::embedded_default().container {
            Some(c) => Daemon::resolve(&c),
            None => Err("no Docker daemon settings".into()),
        },
    }
}

/// Connects to the daemon (agreeing on the API version).
pub(crate) async fn connect(daemon: &Daemon) -> Result<bollard::Docker, String> {
    let fail = |e: bollard::errors::Error| {
        format!(
            "cannot reach the Docker daemon at {}: {}",
            daemon.host,
            crate::http_client::error_chain(&e)
        )
    };
    let docker = daemon.client(10).map_err(fail)?;
    docker.negotiate_version().await.map_err(fail)
}

/// The running containers labelled `<prefix>enable=true`.
pub(crate) async fn list(docker: &bollard::Docker, prefix: &str) -> Result<Vec<Container>, String> {
    let label = format!("{prefix}enable=true");
    let filters = HashMap::from([("label", vec![label.as_str()])]);
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::new()
        .filters(&filters)
        .build();
    let list = docker.list_containers(Some(opts)).await.map_err(|e| {
        format!(
            "listing containers: {}",
            crate::http_client::error_chain(&e)
        )
    })?;
    let mut out: Vec<Container> = list
        .into_iter()
        .filter_map(Container::from_summary)
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The events that change which containers run: start, die and destroy.
pub(crate) fn events(
    docker: &bollard::Docker,
) -> impl futures_util::Stream<Item = Result<bollard::models::EventMessage, bollard::errors::Error>>
+ use<> {
    let filters = HashMap::from([
        ("type", vec!["container"]),
        ("event", vec!["start", "die", "destroy"]),
    ]);
    let opts = bollard::query_parameters::EventsOptionsBuilder::new()
        .filters(&filters)
        .build();
    docker.events(Some(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(labels: &[(&str, &str)]) -> Container {
        Container {
            name: "pg1".into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            networks: BTreeMap::from([
                ("b".to_string(), "10.0.0.2".to_string()),
                ("a".to_string(), "10.0.1.2".to_string()),
            ]),
        }
    }

    #[test]
    fn labels_win_over_the_template_and_are_quoted() {
        let settings = DockerDiscovery {
            network: None,
            template: vec![("user", "\"mon\"".into()), ("port", "6432".into())],
        };
        let c = container(&[
            ("lakewatch.postgres.port", "5433"),
            ("lakewatch.postgres.dbname", "app\n  password: x"),
        ]);
        let (text, path, from) = entry(&c, "lakewatch.postgres.", &settings).unwrap();
        assert_eq!(path, "container pg1");
        assert_eq!(
            text,
            "- name: \"pg1\"\n  host: \"10.0.1.2\"\n  labels: {\"name\": \"pg1\"}\n  user: \"mon\"\n  port: 5433\n  dbname: \"app\\n  password: x\"\n"
        );
        assert_eq!(from[4], "label lakewatch.postgres.port=\"5433\"");
        let on_b = DockerDiscovery {
            network: Some("b".into()),
            ..settings.clone()
        };
        assert!(
            entry(&c, "lakewatch.postgres.", &on_b)
                .unwrap()
                .0
                .contains("10.0.0.2")
        );
        let on_c = DockerDiscovery {
            network: Some("c".into()),
            ..settings
        };
        let e = entry(&c, "lakewatch.postgres.", &on_c).unwrap_err();
        assert!(e.contains("no address on network \"c\""), "{e}");
    }

    #[test]
    fn docker_discovery_alone_turns_postgres_on_and_takes_no_password() {
        use crate::config::Config;
        let c = Config::parse(
            "collectors:\n  postgres:\n    docker_discovery:\n      network: data\n      user: mon\n      password_file: /run/pw\n",
            "c.yml",
        )
        .unwrap();
        let d = c.postgres.expect("on").docker.expect("docker on");
        assert_eq!(d.network.as_deref(), Some("data"));
        assert_eq!(
            d.template,
            [
                ("user", "\"mon\"".into()),
                ("password_file", "\"/run/pw\"".into())
            ]
        );
        let e = Config::parse(
            "collectors:\n  postgres:\n    docker_discovery:\n      password: x\n",
            "c.yml",
        )
        .unwrap_err();
        assert!(
            e.headline().contains("unknown field `password`"),
            "{}",
            e.headline()
        );
        let off = Config::parse(
            "collectors:\n  postgres:\n    docker_discovery: {enabled: false}\n",
            "c.yml",
        )
        .unwrap();
        assert!(off.postgres.is_none(), "no targets and no discovery");
    }

    #[test]
    fn an_error_names_the_label() {
        let from = vec!["the container's name".into(), "label x.port".into()];
        assert_eq!(
            explain("container pg1:2:9: invalid type", "container pg1", &from),
            "container pg1: label x.port: invalid type; skipped"
        );
        assert_eq!(
            explain("other: bad", "container pg1", &from),
            "other: bad; skipped"
        );
    }
}

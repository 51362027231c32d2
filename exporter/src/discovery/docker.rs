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

/// What a collector reads off a labelled container: the label keys after its prefix
/// (`lakewatch.postgres.`), each with the target setting it fills, and how the
/// container's address enters the target. Each collector declares its own, in its
/// settings file.
#[derive(Debug, PartialEq, Eq)]
pub struct Recipe {
    /// Label key → target setting.
    pub settings: &'static [Setting],
    /// How the address is written.
    pub address: Address,
}

/// One label a collector reads.
#[derive(Debug, PartialEq, Eq)]
pub struct Setting {
    /// The key after the prefix (`port`).
    pub label: &'static str,
    /// The target setting it fills; `a.b` is key `b` of the map `a` (`probe.bucket`).
    pub key: &'static str,
    /// How its text is written into the target.
    pub kind: Scalar,
}

/// How a label's text is written into the target: a number or a boolean is written
/// bare when it parses as one, so the target's parser takes it (or rejects anything
/// else, naming the label); all else is a quoted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    /// A string.
    Text,
    /// A TCP port.
    Port,
    /// `true` or `false`.
    Bool,
}

/// How a container's address enters its target.
#[derive(Debug, PartialEq, Eq)]
pub enum Address {
    /// `host:` the IP; the port is a setting of its own (Postgres).
    Host,
    /// `<key>: <scheme>://<ip>:<port>`, `scheme` (`http` unless set) and `port` taken
    /// from the labels or the template (S3's `endpoint`, Trino's `url`).
    Url {
        /// The target setting (`endpoint`, `url`).
        key: &'static str,
        /// The port when neither a label nor the template sets one.
        default_port: u16,
    },
}

/// A value of the template, as the collector's `docker_discovery:` wrote it.
#[derive(Debug)]
pub(crate) enum TemplateValue {
    /// A string.
    Text(String),
    /// A port.
    Port(u16),
    /// A boolean.
    Bool(bool),
    /// An absolute path of a file on the exporter's side (a password, a key).
    Path(Spanned<String>),
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
    /// What the collector reads off its containers.
    pub recipe: &'static Recipe,
}

impl Validator<'_> {
    /// A collector's `docker_discovery:` from its parts: `None` when `enabled: false`.
    /// `template` lists each setting the section may give with its value, if given.
    pub(crate) fn docker_discovery(
        &self,
        enabled: Option<bool>,
        network: Option<Spanned<String>>,
        template: Vec<(&'static str, Option<TemplateValue>)>,
        recipe: &'static Recipe,
    ) -> Result<Option<DockerDiscovery>, ConfigError> {
        if !enabled.unwrap_or(true) {
            return Ok(None);
        }
        if let Some(n) = &network
            && n.value.trim().is_empty()
        {
            return Err(self.error(n, "network must not be empty (leave it out for the first)"));
        }
        let mut out = Vec::new();
        for (key, value) in template {
            let text = match value {
                None => continue,
                Some(TemplateValue::Text(t)) => quote(&t),
                Some(TemplateValue::Port(p)) => p.to_string(),
                Some(TemplateValue::Bool(b)) => b.to_string(),
                Some(TemplateValue::Path(p)) => {
                    if !p.value.starts_with('/') {
                        return Err(self.error(&p, format!("path {:?} must be absolute", p.value)));
                    }
                    quote(&p.value)
                }
            };
            out.push((key, text));
        }
        Ok(Some(DockerDiscovery {
            network: network.map(|n| n.value),
            template: out,
            recipe,
        }))
    }
}

/// `s` as a YAML (JSON) double-quoted scalar.
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
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

    /// The address on `network`; without one, on the first network (by name) the
    /// exporter reaches directly, else on the first network by name.
    fn address(&self, network: Option<&str>, on_link: &OnLink) -> Result<&str, String> {
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
                .find(|ip| on_link.reaches(ip))
                .or_else(|| self.networks.values().next())
                .map(String::as_str)
                .ok_or_else(|| format!("container {}: no network address; skipped", self.name)),
        }
    }
}

/// The IPv4 subnets the exporter reaches without a gateway (its own interfaces'
/// networks, from the kernel's routing table): a container on one of them is reachable
/// from where the exporter runs, on the host (Docker's bridges) or in a container (the
/// networks it is attached to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OnLink(Vec<(u32, u32)>);

impl OnLink {
    /// The routing table as the kernel shows it now; empty where it cannot be read.
    pub fn read() -> OnLink {
        std::fs::read_to_string("/proc/net/route")
            .map(|t| OnLink::parse(&t))
            .unwrap_or_default()
    }

    /// `/proc/net/route`'s text: the routes that are up, have no gateway and are not a
    /// default route. Its addresses are hexadecimal in the kernel's (little-endian)
    /// byte order.
    fn parse(table: &str) -> OnLink {
        let hex = |s: &str| {
            let n = u32::from_str_radix(s, 16).ok()?;
            Some(u32::from(std::net::Ipv4Addr::from(n.to_le_bytes())))
        };
        let routes = table
            .lines()
            .skip(1)
            .filter_map(|line| {
                let f: Vec<&str> = line.split_whitespace().collect();
                let (dest, gateway, flags, mask) =
                    (hex(f.get(1)?)?, hex(f.get(2)?)?, f.get(3)?, hex(f.get(7)?)?);
                let up = u16::from_str_radix(flags, 16).ok()? & 1 == 1;
                (up && gateway == 0 && mask != 0).then_some((dest & mask, mask))
            })
            .collect();
        OnLink(routes)
    }

    /// Whether `ip` is on one of the subnets.
    fn reaches(&self, ip: &str) -> bool {
        let Ok(ip) = ip.parse::<std::net::Ipv4Addr>() else {
            return false;
        };
        let ip = u32::from(ip);
        self.0.iter().any(|(net, mask)| ip & mask == *net)
    }
}

/// What discovery knows of where the exporter runs, for every container's entry.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The Docker labels a target carries ([`label_allowlist`]).
    pub allow: Vec<String>,
    /// The subnets the exporter reaches directly.
    pub on_link: OnLink,
}

impl Context {
    /// Now, for `config`.
    pub(crate) fn of(config: &crate::config::Config) -> Context {
        Context {
            allow: label_allowlist(config),
            on_link: OnLink::read(),
        }
    }
}

/// One setting of an [`entry`]: its key (`a.b` for key `b` of map `a`), its value as
/// a YAML scalar, and where it came from, for errors.
struct Line {
    key: String,
    value: String,
    from: String,
}

/// The one-entry targets file of a container for the collector whose labels start with
/// `prefix` (`lakewatch.postgres.`), its name for errors, and where each of its lines
/// came from. Labels win over the template. The target's `labels:` are the container's
/// `name` (the container collector's label, so the two join) and its Docker labels in
/// the allow-list, as the container collector writes them (`container_label_<key>`).
pub(crate) fn entry(
    c: &Container,
    prefix: &str,
    settings: &DockerDiscovery,
    context: &Context,
) -> Result<(String, String, Vec<String>), String> {
    let ip = c.address(settings.network.as_deref(), &context.on_link)?;
    let line = |key: &str, value: String, from: &str| Line {
        key: key.to_string(),
        value,
        from: from.to_string(),
    };
    let mut labels = vec![("name".to_string(), c.name.clone())];
    labels.extend(crate::collector::container::labels::info_labels(
        &context.allow,
        |k| c.labels.get(k),
    ));
    let labels = labels
        .iter()
        .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut lines = vec![
        line("name", quote(&c.name), "the container's name"),
        line(
            "labels",
            format!("{{{labels}}}"),
            "the container's name and allow-listed labels",
        ),
    ];
    for (key, value) in &settings.template {
        lines.push(line(key, value.clone(), "docker_discovery in the config"));
    }
    for s in settings.recipe.settings {
        let full = format!("{prefix}{}", s.label);
        let Some(v) = c.labels.get(&full) else {
            continue;
        };
        let t = v.trim();
        // Anything that does not parse stays a string, which the parser rejects.
        let value = match s.kind {
            Scalar::Port if t.parse::<u16>().is_ok() => t.to_string(),
            Scalar::Bool if t == "true" || t == "false" => t.to_string(),
            _ => quote(v),
        };
        let from = format!("label {full}={}", quote(v));
        match lines.iter_mut().find(|l| l.key == s.key) {
            Some(l) => *l = line(s.key, value, &from),
            None => lines.push(line(s.key, value, &from)),
        }
    }
    let address = match settings.recipe.address {
        Address::Host => line("host", quote(ip), "the container's address"),
        Address::Url { key, default_port } => {
            let mut take = |k: &str| {
                let i = lines.iter().position(|l| l.key == k)?;
                Some(lines.remove(i))
            };
            let port = match take("port") {
                None => default_port,
                Some(l) => l
                    .value
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| {
                        format!("container {}: {}: not a port; skipped", c.name, l.from)
                    })?,
            };
            let (scheme, from) = match take("scheme") {
                None => ("http".to_string(), "the container's address".to_string()),
                Some(l) => {
                    let scheme: String = serde_json::from_str(&l.value).unwrap_or_default();
                    if scheme != "http" && scheme != "https" {
                        return Err(format!(
                            "container {}: {}: expected http or https; skipped",
                            c.name, l.from
                        ));
                    }
                    (scheme, format!("the container's address and {}", l.from))
                }
            };
            let host = if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.to_string()
            };
            line(key, quote(&format!("{scheme}://{host}:{port}")), &from)
        }
    };
    lines.insert(1, address);
    // Keys of one map (`probe.bucket`, `probe.mode`) become one flow map, in order.
    let mut merged: Vec<Line> = Vec::new();
    for l in lines {
        let Some((head, tail)) = l.key.split_once('.') else {
            merged.push(l);
            continue;
        };
        let pair = format!("{}: {}", quote(tail), l.value);
        match merged.iter_mut().find(|m| m.key == head) {
            Some(m) => {
                m.value = format!("{}, {pair}}}", m.value.trim_end_matches('}'));
                m.from = format!("{} and {}", m.from, l.from);
            }
            None => merged.push(Line {
                key: head.to_string(),
                value: format!("{{{pair}}}"),
                from: l.from,
            }),
        }
    }
    let mut text = String::new();
    for (i, l) in merged.iter().enumerate() {
        text.push_str(if i == 0 { "- " } else { "  " });
        text.push_str(&format!("{}: {}\n", l.key, l.value));
    }
    let path = format!("container {}", c.name);
    Ok((text, path, merged.into_iter().map(|l| l.from).collect()))
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

/// The Docker labels a discovered target carries as `container_label_*`: the container
/// collector's `label_allowlist` (its default when the collector is off), so a target's
/// series and its container's join on the same labels.
fn label_allowlist(config: &crate::config::Config) -> Vec<String> {
    match &config.container {
        Some(c) => c.label_allowlist.clone(),
        None => crate::collector::container::settings::CONTAINER_LABEL_ALLOWLIST
            .iter()
            .map(|s| s.to_string())
            .collect(),
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
    use crate::collector::postgres::settings::POSTGRES_DOCKER;
    use crate::collector::s3::settings::S3_DOCKER;
    use crate::collector::trino::settings::TRINO_DOCKER;

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

    fn settings(recipe: &'static Recipe, template: &[(&'static str, &str)]) -> DockerDiscovery {
        DockerDiscovery {
            network: None,
            template: template.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            recipe,
        }
    }

    #[test]
    fn labels_win_over_the_template_and_are_quoted() {
        let settings = settings(&POSTGRES_DOCKER, &[("user", "\"mon\""), ("port", "6432")]);
        let c = container(&[
            ("lakewatch.postgres.port", "5433"),
            ("lakewatch.postgres.dbname", "app\n  password: x"),
            ("com.docker.compose.project", "lake"),
            ("secret.token", "hunter2"),
        ]);
        let context = Context {
            allow: vec!["com.docker.compose.project".to_string()],
            on_link: OnLink::default(),
        };
        let (text, path, from) = entry(&c, "lakewatch.postgres.", &settings, &context).unwrap();
        assert_eq!(path, "container pg1");
        assert_eq!(
            text,
            "- name: \"pg1\"\n  host: \"10.0.1.2\"\n  labels: {\"name\": \"pg1\", \"container_label_com_docker_compose_project\": \"lake\"}\n  user: \"mon\"\n  port: 5433\n  dbname: \"app\\n  password: x\"\n"
        );
        assert_eq!(from[4], "label lakewatch.postgres.port=\"5433\"");
        let on_b = DockerDiscovery {
            network: Some("b".into()),
            ..settings.clone()
        };
        assert!(
            entry(&c, "lakewatch.postgres.", &on_b, &Context::default())
                .unwrap()
                .0
                .contains("10.0.0.2")
        );
        let on_c = DockerDiscovery {
            network: Some("c".into()),
            ..settings
        };
        let e = entry(&c, "lakewatch.postgres.", &on_c, &Context::default()).unwrap_err();
        assert!(e.contains("no address on network \"c\""), "{e}");
    }

    #[test]
    fn s3_and_trino_write_their_address_as_a_url() {
        let s3 = settings(&S3_DOCKER, &[("access_key", "\"lw\""), ("port", "9100")]);
        let c = container(&[
            ("lakewatch.s3.scheme", "https"),
            ("lakewatch.s3.probe_bucket", "canary"),
            ("lakewatch.s3.path_style", "false"),
            ("lakewatch.s3.probe_mode", "read"),
        ]);
        let (text, _, from) = entry(&c, "lakewatch.s3.", &s3, &Context::default()).unwrap();
        assert_eq!(
            text,
            "- name: \"pg1\"\n  endpoint: \"https://10.0.1.2:9100\"\n  labels: {\"name\": \"pg1\"}\n  access_key: \"lw\"\n  path_style: false\n  probe: {\"bucket\": \"canary\", \"mode\": \"read\"}\n"
        );
        assert_eq!(
            from[5],
            "label lakewatch.s3.probe_bucket=\"canary\" and label lakewatch.s3.probe_mode=\"read\""
        );
        let trino = settings(&TRINO_DOCKER, &[]);
        let (text, _, _) = entry(
            &container(&[]),
            "lakewatch.trino.",
            &trino,
            &Context::default(),
        )
        .unwrap();
        assert!(text.contains("  url: \"http://10.0.1.2:8080\"\n"), "{text}");
        let bad_port = container(&[("lakewatch.trino.port", "80a")]);
        assert_eq!(
            entry(&bad_port, "lakewatch.trino.", &trino, &Context::default()).unwrap_err(),
            "container pg1: label lakewatch.trino.port=\"80a\": not a port; skipped"
        );
        let bad_scheme = container(&[("lakewatch.trino.scheme", "ftp")]);
        assert_eq!(
            entry(&bad_scheme, "lakewatch.trino.", &trino, &Context::default()).unwrap_err(),
            "container pg1: label lakewatch.trino.scheme=\"ftp\": expected http or https; skipped"
        );
    }

    #[test]
    fn docker_discovery_alone_turns_a_collector_on_and_takes_no_secret() {
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
        let c = Config::parse(
            "collectors:\n  s3:\n    docker_discovery: {access_key: lw, secret_key_file: /run/s3}\n  trino:\n    docker_discovery: {user: mon, ui_stats: true}\n",
            "c.yml",
        )
        .unwrap();
        assert_eq!(c.s3.expect("on").docker.expect("on").recipe, &S3_DOCKER);
        assert_eq!(
            c.trino.expect("on").docker.expect("on").template,
            [("user", "\"mon\"".into()), ("ui_stats", "true".into())]
        );
        for (section, secret) in [
            ("postgres", "password"),
            ("s3", "secret_key"),
            ("trino", "password"),
            ("trino", "token"),
        ] {
            let e = Config::parse(
                &format!("collectors:\n  {section}:\n    docker_discovery:\n      {secret}: x\n"),
                "c.yml",
            )
            .unwrap_err();
            assert!(
                e.headline().contains(&format!("unknown field `{secret}`")),
                "{}",
                e.headline()
            );
        }
        let e = Config::parse(
            "collectors:\n  s3:\n    docker_discovery:\n      secret_key_file: run/s3\n",
            "c.yml",
        )
        .unwrap_err();
        assert!(
            e.headline().contains("must be absolute"),
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
    fn without_a_network_the_address_the_exporter_reaches_is_taken() {
        // eth0 with a default route via 192.0.2.1 and its /24; docker0's 172.17.0.0/16;
        // a route that is down; b's 10.0.0.0/24.
        let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
            eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
            br1\t0000010A\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
            br2\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let on_link = OnLink::parse(table);
        assert!(on_link.reaches("172.17.3.4") && on_link.reaches("192.0.2.77"));
        assert!(!on_link.reaches("10.0.1.2"), "br1's route is down");
        assert!(!on_link.reaches("8.8.8.8"), "only through the gateway");
        let c = container(&[]);
        assert_eq!(
            c.address(None, &on_link),
            Ok("10.0.0.2"),
            "b, though a sorts first"
        );
        assert_eq!(
            c.address(None, &OnLink::default()),
            Ok("10.0.1.2"),
            "else the first"
        );
        assert_eq!(
            c.address(Some("a"), &on_link),
            Ok("10.0.1.2"),
            "as configured"
        );
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

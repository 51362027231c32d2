//! The alerting side of the end-to-end tests and the lab: a webhook receiver that records
//! what Alertmanager sends, a starter for Prometheus-ecosystem servers (prometheus,
//! alertmanager) with their logs kept for failure messages, and readers of webhook
//! payloads. Everything here stops on drop.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::{Proc, try_http};

/// One request the webhook received.
#[derive(Debug, Clone)]
pub struct Post {
    pub path: String,
    pub authorization: Option<String>,
    pub body: String,
}

/// Alertmanager's webhook receiver: a loopback HTTP/1.1 server that answers 200 to
/// everything and records each request. Stopped on drop.
pub struct Webhook {
    pub addr: SocketAddr,
    posts: Arc<Mutex<Vec<Post>>>,
    stop: Arc<AtomicBool>,
}

impl Webhook {
    pub fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the webhook port");
        let addr = listener.local_addr().expect("a bound address");
        let posts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, done) = (posts.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                // A request we cannot read is recorded as such: the test shows it.
                let post = read_request(&mut conn).unwrap_or_else(|e| Post {
                    path: String::new(),
                    authorization: None,
                    body: format!("unreadable request: {e}"),
                });
                sink.lock().unwrap().push(post);
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Webhook { addr, posts, stop }
    }

    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one request with a `Content-Length` body (Alertmanager's Go client sends one).
fn read_request(conn: &mut TcpStream) -> std::io::Result<Post> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split(' ').nth(1).unwrap_or_default().to_string();
    let (mut length, mut authorization) = (0, None);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_string());
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Post {
        path,
        authorization,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The alerts named `name` in a webhook payload.
pub fn alerts_named<'a>(payload: &'a Value, name: &str) -> Vec<&'a Value> {
    payload["alerts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|a| a["labels"]["alertname"] == name)
                .collect()
        })
        .unwrap_or_default()
}

/// A string map of a payload object (labels, annotations).
pub fn strings(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A Prometheus-ecosystem server on loopback, killed on drop, its log kept for failures.
pub struct Server {
    _proc: Proc,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl Server {
    pub fn start(bin: &Path, args: &[String], log: PathBuf) -> Server {
        let addr = args
            .iter()
            .find_map(|a| a.strip_prefix("--web.listen-address="))
            .expect("a listen address")
            .parse()
            .expect("a socket address");
        let proc = Proc(
            Command::new(bin)
                .args(args)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("creating a log file"))
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display())),
        );
        Server {
            _proc: proc,
            addr,
            log,
        }
    }

    /// Alertmanager on a free loopback port routing `services` with the config rulegen
    /// generates, every receiver a webhook to `webhook_url` whose bearer token
    /// (`token`) is read from a secrets file, and 1 s group timers so tests see
    /// notifications within seconds. Files go under `dir`.
    pub fn alertmanager(
        bin: &Path,
        dir: &Path,
        services: &[lakewatch_rulegen::Service],
        webhook_url: &str,
        token: &str,
    ) -> Server {
        use lakewatch_rulegen::alertmanager::{self, Integration};
        let secrets = dir.join("secrets");
        std::fs::create_dir_all(&secrets).expect("creating the secrets dir");
        for receiver in ["page", "ticket"] {
            std::fs::write(secrets.join(format!("{receiver}-webhook-token")), token)
                .expect("writing a secret");
        }
        let config = alertmanager::render(
            services,
            &alertmanager::Options {
                page: vec![Integration::Webhook],
                ticket: vec![Integration::Webhook],
                secrets_dir: secrets.display().to_string(),
                webhook_url: webhook_url.to_string(),
                group_wait_secs: 1,
                group_interval_secs: 1,
                repeat_interval_secs: 3600,
            },
        );
        let config_path = dir.join("alertmanager.yml");
        std::fs::write(&config_path, config).expect("writing alertmanager.yml");
        Server::start(
            bin,
            &[
                format!("--config.file={}", config_path.display()),
                format!("--storage.path={}", dir.join("am-data").display()),
                format!("--web.listen-address=127.0.0.1:{}", super::free_port()),
                // No HA cluster: no gossip port, no waiting for peers before notifying.
                "--cluster.listen-address=".to_string(),
            ],
            dir.join("alertmanager.log"),
        )
    }

    /// Prometheus on a free loopback port with `config` (its rule files relative to
    /// `dir`), a TSDB under `dir`, and firing alerts re-sent every second rather than
    /// every minute, so one send lost while Alertmanager starts cannot stall a test.
    pub fn prometheus(bin: &Path, dir: &Path, config: &str) -> Server {
        let config_path = dir.join("prometheus.yml");
        std::fs::write(&config_path, config).expect("writing prometheus.yml");
        Server::start(
            bin,
            &[
                format!("--config.file={}", config_path.display()),
                format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
                format!("--web.listen-address=127.0.0.1:{}", super::free_port()),
                "--rules.alert.resend-delay=1s".to_string(),
            ],
            dir.join("prometheus.log"),
        )
    }

    /// A GET's status and body, `None` while the server does not answer.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        try_http(self.addr, "GET", path, &[])
            .ok()
            .map(|r| (r.status, String::from_utf8_lossy(&r.body).into_owned()))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

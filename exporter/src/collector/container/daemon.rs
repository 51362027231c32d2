//! Where the Docker daemon is and how to reach it, decided the way the docker CLI does:
//! the configured `docker_host`, else `$DOCKER_HOST`, else the local socket; for a
//! `tcp://` daemon TLS from the config's `tls:` block, else from `DOCKER_TLS_VERIFY` and
//! `DOCKER_CERT_PATH` (`ca.pem`, and `cert.pem` + `key.pem` when present; default
//! `~/.docker`).
//!
//! TLS goes through a small bollard transport on our tokio-rustls rather than bollard's
//! `ssl` feature: that one builds its own rustls configuration, so it could not honour
//! `server_name`, `insecure_skip_verify` or a CA without a client certificate, and it
//! refuses to connect when any system certificate fails to load. Like bollard's own
//! transports (which turn pooling off), it opens one connection per request.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, BollardRequest, Docker};
use hyper::body::Incoming;
use hyper::header::{HOST, HeaderValue};
use hyper_util::rt::TokioIo;

use crate::collector::container::settings::ContainerConfig;
use crate::error_kind::ErrorKind;
use crate::tls::{ClientTls, Connector};

/// The socket Docker listens on by default.
pub const DEFAULT_DOCKER_HOST: &str = "unix:///var/run/docker.sock";

/// The port of `tcp://host` without one, when TLS is on (Docker's convention).
const DOCKER_TLS_PORT: u16 = 2376;

/// The daemon address to use: the configured one, else `$DOCKER_HOST`, else the
/// local socket (what the docker CLI does).
pub fn resolve_host(configured: Option<&str>) -> String {
    host_with(configured, env)
}

fn host_with(configured: Option<&str>, env: impl Fn(&str) -> Option<String>) -> String {
    configured
        .map(str::to_string)
        .or_else(|| env("DOCKER_HOST"))
        .unwrap_or_else(|| DEFAULT_DOCKER_HOST.to_string())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A TLS daemon: where to dial, how to verify it, and where those settings came from.
#[derive(Debug, Clone)]
struct TlsDaemon {
    /// `host:port` to dial.
    addr: String,
    connector: Connector,
    /// For messages: the config's `tls:` block, or which files of `DOCKER_CERT_PATH`.
    source: String,
}

/// The Docker daemon this exporter talks to.
#[derive(Debug, Clone)]
pub struct Daemon {
    /// As configured or found (`unix:///var/run/docker.sock`, `tcp://10.0.0.5:2376`).
    pub host: String,
    tls: Option<TlsDaemon>,
}

impl Daemon {
    /// Resolves the address and reads the TLS files (once: a restart picks up rotated
    /// certificates). An error says which setting or file is wrong.
    pub fn resolve(cfg: &ContainerConfig) -> Result<Daemon, String> {
        Daemon::resolve_with(cfg, env)
    }

    fn resolve_with(
        cfg: &ContainerConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Daemon, String> {
        let host = host_with(cfg.docker_host.as_deref(), &env);
        let Some(rest) = host.strip_prefix("tcp://") else {
            // DOCKER_TLS_VERIFY means nothing for a unix socket or an explicit http://.
            return Ok(Daemon { host, tls: None });
        };
        let (tls, source) = match (&cfg.tls, env("DOCKER_TLS_VERIFY")) {
            (Some(tls), _) => (tls.clone(), "the container collector's tls: block".into()),
            (None, Some(_)) => cert_path_tls(&env)?,
            (None, None) => return Ok(Daemon { host, tls: None }),
        };
        let authority: hyper::http::uri::Authority = rest
            .trim_end_matches('/')
            .parse()
            .map_err(|e| format!("invalid Docker host {host:?}: {e}"))?;
        let name = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(DOCKER_TLS_PORT);
        let addr = if name.contains(':') {
            format!("[{name}]:{port}")
        } else {
            format!("{name}:{port}")
        };
        let connector = Connector::new(&tls, name)
            .map_err(|e| format!("TLS to the Docker daemon at {host} (from {source}): {e}"))?;
        Ok(Daemon {
            host,
            tls: Some(TlsDaemon {
                addr,
                connector,
                source,
            }),
        })
    }

    /// Where TLS settings come from, when TLS is on (for the log).
    pub fn tls_source(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.source.as_str())
    }

    /// A bollard client; nothing is sent yet. `timeout` (seconds) bounds each request
    /// until the response headers arrive.
    pub fn client(&self, timeout: u64) -> Result<Docker, bollard::errors::Error> {
        if self.host.starts_with("unix://") {
            return Docker::connect_with_unix(&self.host, timeout, API_DEFAULT_VERSION);
        }
        let Some(tls) = &self.tls else {
            return Docker::connect_with_http(&self.host, timeout, API_DEFAULT_VERSION);
        };
        let (addr, connector) = (tls.addr.clone(), tls.connector.clone());
        Docker::connect_with_custom_transport(
            move |req: BollardRequest| send_tls(addr.clone(), connector.clone(), req),
            Some(format!("https://{}", tls.addr)),
            timeout,
            API_DEFAULT_VERSION,
        )
    }

    /// Whether the daemon answers `GET /_ping` within `timeout`, and if not, why.
    /// Blocking and runtime-free on purpose: it runs once at start-up, before the
    /// runtime exists, to decide `enabled: auto`.
    pub fn probe(&self, timeout: Duration) -> Result<(), String> {
        let fail = |why: String| format!("{}: {why}", self.host);
        if let Some(path) = self.host.strip_prefix("unix://") {
            let s = std::os::unix::net::UnixStream::connect(path)
                .map_err(|e| fail(format!("cannot connect: {e}")))?;
            let _ = s.set_read_timeout(Some(timeout));
            let _ = s.set_write_timeout(Some(timeout));
            return ping(s).map_err(fail);
        }
        let addr = match &self.tls {
            Some(tls) => tls.addr.clone(),
            None => self
                .host
                .strip_prefix("tcp://")
                .or_else(|| self.host.strip_prefix("http://"))
                .ok_or_else(|| fail("unsupported address".into()))?
                .trim_end_matches('/')
                .to_string(),
        };
        use std::net::ToSocketAddrs as _;
        let sock = addr
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| fail(format!("cannot resolve {addr}")))?;
        let s = std::net::TcpStream::connect_timeout(&sock, timeout)
            .map_err(|e| fail(format!("cannot connect: {e}")))?;
        let _ = s.set_read_timeout(Some(timeout));
        let _ = s.set_write_timeout(Some(timeout));
        match &self.tls {
            None => ping(s).map_err(fail),
            Some(tls) => ping(tls.connector.connect_blocking(s).map_err(fail)?).map_err(fail),
        }
    }
}

/// TLS settings from `DOCKER_CERT_PATH` (default `~/.docker`), as the docker CLI reads
/// them when `DOCKER_TLS_VERIFY` is set.
fn cert_path_tls(env: &impl Fn(&str) -> Option<String>) -> Result<(ClientTls, String), String> {
    let dir = match env("DOCKER_CERT_PATH") {
        Some(d) => PathBuf::from(d),
        None => env("HOME")
            .map(|h| PathBuf::from(h).join(".docker"))
            .ok_or("DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME is")?,
    };
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    // Without cert.pem the daemon decides: one that requires client certificates
    // (the usual --tlsverify setup) rejects the handshake, and the error says so.
    let has_cert = cert.exists();
    let source = format!(
        "DOCKER_TLS_VERIFY, DOCKER_CERT_PATH={}: ca.pem, {}",
        dir.display(),
        if has_cert {
            "cert.pem and key.pem"
        } else {
            "no cert.pem so no client certificate"
        }
    );
    let tls = ClientTls {
        ca_file: Some(dir.join("ca.pem")),
        cert: has_cert.then_some((cert, key)),
        ..ClientTls::default()
    };
    Ok((tls, source))
}

/// `GET /_ping` on an open stream: Ok when the daemon answers 200.
fn ping<S: Read + Write>(mut s: S) -> Result<(), String> {
    s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .and_then(|()| s.flush())
        .map_err(|e| format!("sending /_ping: {e}"))?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head)
        .map_err(|e| format!("no answer to /_ping: {e}"))?;
    if head.starts_with(b"HTTP/1.") && &head[9..12] == b"200" {
        Ok(())
    } else {
        Err(format!(
            "/_ping answered {:?}",
            String::from_utf8_lossy(&head)
        ))
    }
}

/// One request to a TLS daemon on a fresh connection. The response body may be read
/// long after this returns (the events stream is endless), so the connection runs in
/// its own task, which ends when the body is finished or dropped.
async fn send_tls(
    addr: String,
    connector: Connector,
    req: BollardRequest,
) -> Result<hyper::Response<Incoming>, bollard::errors::Error> {
    let tcp = tokio::net::TcpStream::connect(&addr).await?;
    let _ = tcp.set_nodelay(true);
    let stream = connector.connect(tcp).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "Docker TLS connection ended with an error");
        }
    });
    // bollard writes absolute URIs (`https://host:port/v1.41/...`); on a bare
    // connection the request line takes the path and the host goes in `Host`.
    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    parts.uri = path.parse()?;
    parts.headers.insert(
        HOST,
        HeaderValue::from_str(&addr).map_err(hyper::http::Error::from)?,
    );
    Ok(sender
        .send_request(BollardRequest::from_parts(parts, body))
        .await?)
}

/// The `kind` label of a bollard error: `tls` for certificate and handshake problems
/// (also when the daemon rejects our client certificate after the handshake), `http`
/// for an error answer of the daemon, `timeout`, else `connect`.
pub fn error_kind(e: &bollard::errors::Error) -> ErrorKind {
    use bollard::errors::Error as E;
    match e {
        E::DockerResponseServerError { .. } => ErrorKind::Http,
        E::RequestTimeoutError => ErrorKind::Timeout,
        E::IOError { err } if crate::tls::is_tls_error(err) => ErrorKind::Tls,
        E::HyperResponseError { err } if crate::tls::is_tls_error(err) => ErrorKind::Tls,
        _ => ErrorKind::Connect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(docker_host: Option<&str>) -> ContainerConfig {
        let mut c = crate::config::Config::embedded_default()
            .container
            .expect("container section in the default");
        c.docker_host = docker_host.map(str::to_string);
        c
    }

    fn with_env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn host_from_config_then_env_then_socket() {
        let d = Daemon::resolve_with(&cfg(None), with_env(&[])).unwrap();
        assert_eq!(d.host, DEFAULT_DOCKER_HOST);
        let env = [("DOCKER_HOST", "tcp://10.0.0.5:2375")];
        let d = Daemon::resolve_with(&cfg(None), with_env(&env)).unwrap();
        assert_eq!(
            (d.host.as_str(), d.tls_source()),
            ("tcp://10.0.0.5:2375", None)
        );
        let d = Daemon::resolve_with(&cfg(Some("unix:///run/d.sock")), with_env(&env)).unwrap();
        assert_eq!(d.host, "unix:///run/d.sock");
    }

    #[test]
    fn probe_says_why() {
        let d =
            Daemon::resolve_with(&cfg(Some("unix:///nonexistent/d.sock")), with_env(&[])).unwrap();
        let e = d.probe(Duration::from_millis(200)).unwrap_err();
        assert!(
            e.starts_with("unix:///nonexistent/d.sock: cannot connect:"),
            "{e}"
        );
        let d = Daemon::resolve_with(&cfg(Some("ftp://x")), with_env(&[])).unwrap();
        assert_eq!(
            d.probe(Duration::from_millis(200)).unwrap_err(),
            "ftp://x: unsupported address"
        );
    }

    #[test]
    fn tls_verify_reads_the_cert_path() {
        // A unix socket ignores DOCKER_TLS_VERIFY, as the docker CLI does.
        let env = [
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", "/nonexistent/certs"),
        ];
        assert!(Daemon::resolve_with(&cfg(None), with_env(&env)).is_ok());
        let e = Daemon::resolve_with(&cfg(Some("tcp://docker:2376")), with_env(&env)).unwrap_err();
        assert!(
            e.contains("tcp://docker:2376")
                && e.contains("DOCKER_CERT_PATH=/nonexistent/certs")
                && e.contains("/nonexistent/certs/ca.pem"),
            "{e}"
        );
        let env = [("DOCKER_TLS_VERIFY", "1")];
        let e = Daemon::resolve_with(&cfg(Some("tcp://docker")), with_env(&env)).unwrap_err();
        assert!(e.contains("neither DOCKER_CERT_PATH nor HOME"), "{e}");
    }
}

//! Real Docker containers for the container collector's tests: a test image built from
//! Debian's busybox-static (the machine has no registry), containers labelled per test
//! and removed by that label on drop, even when the test fails, and Docker's own view
//! (inspect, the stats API) to compare with.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::support::{TempDir, skip_or_fail};

/// The image every container test runs.
pub(crate) const IMAGE: &str = "lakewatch-test-busybox:latest";
/// Label on every container the tests start (value: the scene's id).
pub(crate) const LABEL: &str = "lakewatch.test";
const SOCKET: &str = "/var/run/docker.sock";

/// Runs the docker CLI; panics with its stderr when it fails.
pub(crate) fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("running the docker CLI");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// True when the docker CLI and daemon answer; otherwise prints why (or panics under
/// CI=true) so the calling test can return early.
pub(crate) fn available() -> bool {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip_or_fail("no Docker daemon answers (docker version failed)");
    }
    ok
}

/// A statically linked busybox: the installed busybox-static package, else one
/// downloaded (not installed) with apt when running as root.
fn busybox(dir: &TempDir) -> Option<std::path::PathBuf> {
    let installed = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "busybox-static"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ok installed"));
    if installed {
        return Some("/bin/busybox".into());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root {
        return None;
    }
    let download = || {
        Command::new("apt-get")
            .args(["download", "-q", "busybox-static"])
            .current_dir(&dir.0)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !download() {
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        if !download() {
            return None;
        }
    }
    let deb = std::fs::read_dir(&dir.0)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))?;
    let x = dir.0.join("x");
    let ok = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&x)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| x.join("bin/busybox"))
}

/// Makes sure [`IMAGE`] exists: a rootfs of busybox and its applet symlinks, imported
/// with `docker import`. Reused when present. Returns false (after printing why) when
/// it cannot be built.
pub(crate) fn image() -> bool {
    let present = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return true;
    }
    let dir = TempDir::new("busybox");
    let Some(bb) = busybox(&dir) else {
        skip_or_fail("busybox-static is not installed (apt-get install busybox-static)");
        return false;
    };
    let root = dir.0.join("rootfs");
    for d in ["bin", "tmp", "proc", "sys", "dev", "etc"] {
        std::fs::create_dir_all(root.join(d)).expect("creating the rootfs");
    }
    std::fs::copy(&bb, root.join("bin/busybox")).expect("copying busybox");
    let list = Command::new(&bb)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
        }
    }
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "tar -C '{}' -c . | docker import - {IMAGE} >/dev/null",
            root.display()
        ))
        .status()
        .expect("running tar | docker import");
    assert!(status.success(), "docker import of the test image failed");
    true
}

/// Docker is usable and the test image exists.
pub(crate) fn ready() -> bool {
    available() && image()
}

/// Removes the containers of scenes whose test process is gone: a run killed by a
/// timeout or a cancelled `nextest` drops no scene, and its labelled containers would
/// otherwise be discovered by the next run's discovery tests.
fn remove_orphans() {
    let listed = docker(&[
        "ps",
        "-a",
        "--filter",
        &format!("label={LABEL}"),
        "--format",
        &format!("{{{{.ID}}}} {{{{.Label \"{LABEL}\"}}}}"),
    ]);
    let orphans: Vec<&str> = listed
        .lines()
        .filter_map(|l| {
            let (id, scene) = l.split_once(' ')?;
            // `<tag>-<pid>-<n>`; the tag may hold dashes itself.
            let pid: u32 = scene.rsplit('-').nth(1)?.parse().ok()?;
            (!Path::new(&format!("/proc/{pid}")).exists()).then_some(id)
        })
        .collect();
    if !orphans.is_empty() {
        let mut args = vec!["rm", "-f"];
        args.extend(orphans);
        let _ = Command::new("docker").args(&args).output();
    }
}

/// Containers of one test, all labelled `lakewatch.test=<id>`; dropping the scene
/// removes every container with that label.
pub(crate) struct Scene {
    pub id: String,
}

impl Scene {
    pub(crate) fn new(tag: &str) -> Scene {
        static N: AtomicU32 = AtomicU32::new(0);
        static SWEPT: std::sync::Once = std::sync::Once::new();
        SWEPT.call_once(remove_orphans);
        let n = N.fetch_add(1, Ordering::Relaxed);
        Scene {
            id: format!("{tag}-{}-{n}", std::process::id()),
        }
    }

    /// The container name for `suffix` in this scene.
    pub(crate) fn name(&self, suffix: &str) -> String {
        format!("lw-{}-{suffix}", self.id)
    }

    /// `docker run -d` with the scene's label; returns the full container id.
    pub(crate) fn run(&self, suffix: &str, opts: &[&str], script: &str) -> String {
        let name = self.name(suffix);
        let label = format!("{LABEL}={}", self.id);
        let mut args = vec!["run", "-d", "--name", &name, "--label", &label];
        args.extend_from_slice(opts);
        args.extend_from_slice(&[IMAGE, "sh", "-c", script]);
        docker(&args)
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let ids = docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label={LABEL}={}", self.id),
        ]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            let _ = Command::new("docker").args(&args).output();
        }
    }
}

/// `docker inspect --format` of one container.
pub(crate) fn inspect(id: &str, format: &str) -> String {
    docker(&["inspect", "--format", format, id])
}

/// Docker's own stats for a container, straight from the Engine API (one-shot).
pub(crate) fn api_stats(id: &str) -> serde_json::Value {
    let mut s = UnixStream::connect(SOCKET).expect("connecting to the Docker socket");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // HTTP/1.0: the daemon answers without chunked encoding and closes.
    write!(
        s,
        "GET /v1.41/containers/{id}/stats?stream=false&one-shot=true HTTP/1.0\r\nHost: docker\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw)
        .expect("reading the stats response");
    let (_, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    serde_json::from_str(body).expect("stats JSON")
}

/// A loopback TCP port forwarding every connection to the Docker socket, optionally
/// terminating TLS first (as a daemon started with `--tlsverify` would). [`Forwarder::stop`]
/// (or drop) closes the listener and every connection it carries, like a daemon or a
/// network path going away; [`Forwarder::start`] listens on the same port again.
pub(crate) struct Forwarder {
    pub port: u16,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    running: Option<(
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    )>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    connections: Connections,
}

/// Opens and closes of forwarded connections, each named by its first request line, with
/// when the forwarder saw them.
type Connections = std::sync::Arc<std::sync::Mutex<Vec<(bool, String, std::time::Instant)>>>;

/// How far apart the forwarder may see a close and an open that happened the other way
/// round. A client that closes one connection and then opens the next has its close and
/// the new connection's request reach this single-threaded forwarder in one batch of
/// socket events, in either order (CI saw a third "open" stats call under a bound of
/// two). A real overlap lasts a whole call: a one-shot stats call takes dockerd about a
/// second here.
const REORDER_SLACK: std::time::Duration = std::time::Duration::from_millis(50);

impl Forwarder {
    /// Forwards plain TCP.
    pub(crate) fn plain() -> Forwarder {
        Forwarder::new(None)
    }

    /// Terminates TLS with `server` and forwards the decrypted bytes.
    pub(crate) fn tls(server: std::sync::Arc<rustls::ServerConfig>) -> Forwarder {
        Forwarder::new(Some(server))
    }

    fn new(tls: Option<std::sync::Arc<rustls::ServerConfig>>) -> Forwarder {
        let mut f = Forwarder {
            port: crate::support::free_port(),
            tls,
            running: None,
            requests: Default::default(),
            connections: Default::default(),
        };
        f.start();
        f
    }

    /// `tcp://127.0.0.1:<port>`, for `DOCKER_HOST`.
    pub(crate) fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Request lines (`GET /v1.41/events?... HTTP/1.1`) that went through, oldest first.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// Connections open now whose first request line contains `pattern`.
    pub(crate) fn open(&self, pattern: &str) -> usize {
        self.open_counts(pattern).last().copied().unwrap_or(0)
    }

    /// The most connections whose first request line contains `pattern` that were open
    /// at once; a close seen up to [`REORDER_SLACK`] after an open counts as before it
    /// (closes are dated back by that much when recorded, never before their own open).
    pub(crate) fn peak_open(&self, pattern: &str) -> usize {
        let mut events: Vec<(std::time::Instant, bool)> = self
            .connections
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, line, _)| line.contains(pattern))
            // Closes sort first at equal times.
            .map(|(opened, _, at)| (*at, *opened))
            .collect();
        events.sort();
        let mut open = 0usize;
        let mut peak = 0usize;
        for (_, opened) in events {
            open = if opened {
                open + 1
            } else {
                open.saturating_sub(1)
            };
            peak = peak.max(open);
        }
        peak
    }

    fn open_counts(&self, pattern: &str) -> Vec<usize> {
        let mut open = 0usize;
        self.connections
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, line, _)| line.contains(pattern))
            .map(|(opened, _, _)| {
                open = if *opened { open + 1 } else { open - 1 };
                open
            })
            .collect()
    }

    /// Listens (again) on `port`.
    pub(crate) fn start(&mut self) {
        self.stop();
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port))
            .expect("binding the forwarder's port");
        listener.set_nonblocking(true).unwrap();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let tls = self.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let requests = self.requests.clone();
        let connections = self.connections.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the forwarder");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        accepted = listener.accept() => {
                            let Ok((client, _)) = accepted else { continue };
                            let (tls, requests) = (tls.clone(), requests.clone());
                            let connections = connections.clone();
                            tokio::spawn(async move {
                                match tls {
                                    None => forward(client, requests, connections).await,
                                    // A client the acceptor refuses ends here.
                                    Some(tls) => {
                                        if let Ok(client) = tls.accept(client).await {
                                            forward(client, requests, connections).await;
                                        }
                                    }
                                }
                            });
                        }
                    }
                }
            });
            // Dropping the runtime cancels every connection task: all sockets close.
        });
        self.running = Some((stop, thread));
    }

    /// Closes the listener and every connection.
    pub(crate) fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Copies bytes both ways between `client` and the Docker socket, noting the request
/// lines the client sends and when the connection opened and closed, until either side
/// closes (or the forwarder stops: then the task is dropped and so are both sockets).
async fn forward<S>(
    client: S,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    connections: Connections,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let Ok(daemon) = tokio::net::UnixStream::connect(SOCKET).await else {
        return;
    };
    let (mut from_client, mut to_client) = tokio::io::split(client);
    let (mut from_daemon, mut to_daemon) = daemon.into_split();
    // Notes the close when this task ends, however it ends.
    struct Open(Connections, Option<(String, std::time::Instant)>);
    impl Drop for Open {
        fn drop(&mut self) {
            if let Some((line, opened)) = self.1.take() {
                // Dated back by REORDER_SLACK, never to its own open or before (a
                // close sorts before an open at the same instant).
                let after_open = opened + std::time::Duration::from_nanos(1);
                let at = std::time::Instant::now()
                    .checked_sub(REORDER_SLACK)
                    .map_or(after_open, |at| at.max(after_open));
                self.0.lock().unwrap().push((false, line, at));
            }
        }
    }
    let mut open = Open(connections, None);
    let upstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from_client.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            let is_request = [&b"GET "[..], b"POST ", b"HEAD ", b"DELETE "]
                .iter()
                .any(|m| chunk.starts_with(m));
            if is_request && let Some(end) = chunk.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&chunk[..end]).into_owned();
                if open.1.is_none() {
                    let now = std::time::Instant::now();
                    open.0.lock().unwrap().push((true, line.clone(), now));
                    open.1 = Some((line.clone(), now));
                }
                requests.lock().unwrap().push(line);
            }
            if to_daemon.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut from_daemon, &mut to_client).await;
        let _ = to_client.shutdown().await;
    };
    // HTTP clients do not half-close: whichever side ends first ends the connection.
    tokio::select! {
        () = upstream => {}
        () = downstream => {}
    }
}

//! Helpers shared by the integration tests: external tools, the exporter process, a
//! minimal HTTP client and an exposition-format reader. Everything started here is
//! stopped on drop, also when a test fails. Larger starters live in submodules: the Trino
//! replay coordinator ([`replay`]), the webhook receiver and Prometheus/Alertmanager
//! processes ([`alerting`]), and S3 bucket administration ([`s3`]).

pub(crate) mod alerting;
pub(crate) mod docker;
pub(crate) mod postgres;
pub(crate) mod replay;
pub(crate) mod s3;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The one rule for a test that cannot run here (a tool, a daemon, root missing): it
/// prints why and the caller returns early, but under `CI=true` it fails the test, so a
/// green CI run means everything ran.
pub(crate) fn skip_or_fail(reason: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true and {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// Finds an external tool. When it is missing the calling test should return early
/// ([`skip_or_fail`]).
pub(crate) fn tool(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    let found = candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .or_else(|| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.exists())
            })
        });
    if found.is_none() {
        skip_or_fail(&format!(
            "{name} not found (install the Debian package; scripts/test.sh does it)"
        ));
    }
    found
}

/// A free TCP port on loopback (bound and released; fine for tests on one machine).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral loopback port")
}

/// A scratch directory removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("lakewatch-it-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating a temp dir");
        TempDir(dir)
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("writing a temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The exporter binary under test.
pub(crate) fn exporter_bin() -> &'static str {
    env!("CARGO_BIN_EXE_lakewatch-exporter")
}

/// A running `lakewatch-exporter` on an ephemeral loopback port.
pub(crate) struct Exporter {
    child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<String>>>,
    /// Reads stderr into `log` until the process closes it.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Exporter {
    /// Starts the exporter with extra arguments and waits until it listens.
    pub(crate) fn start(args: &[&str]) -> Exporter {
        Exporter::start_with_env(args, &[])
    }

    /// Starts the exporter with extra arguments and environment variables.
    pub(crate) fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Exporter {
        let mut child = Command::new(exporter_bin())
            .envs(env.iter().copied())
            .args([
                "--web.listen-address",
                "127.0.0.1:0",
                "--log.level",
                "debug",
            ])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting lakewatch-exporter");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(" listening ")
                    && let Some(addr) = line
                        .split_whitespace()
                        .find_map(|w| w.strip_prefix("address="))
                {
                    let _ = tx.send(addr.to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a.parse().expect("listening address parses"),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "exporter did not start; log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Exporter {
            child,
            addr,
            log,
            reader: Some(reader),
        }
    }

    pub(crate) fn get(&self, path: &str) -> Response {
        http(self.addr, "GET", path, &[])
    }

    pub(crate) fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        http(self.addr, method, path, headers)
    }

    /// Polls `/readyz` until it answers 200.
    pub(crate) fn wait_ready(&self, within: Duration) {
        eventually_with(
            within,
            "/readyz to answer 200",
            || format!("log:\n{}", self.log_text()),
            || (self.get("/readyz").status == 200).then_some(()),
        );
    }

    /// The exposition text (format 0.0.4) of `/metrics`.
    pub(crate) fn metrics(&self) -> String {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200);
        r.text()
    }

    pub(crate) fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// The process id (the lab pauses the exporter with SIGSTOP to make it unscrapable).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How many file descriptors the exporter has open (sockets included).
    pub(crate) fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("reading the exporter's /proc/PID/fd")
            .count()
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub(crate) fn terminate(&mut self, within: Duration) -> ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(ok.success());
        let child = &mut self.child;
        let status = eventually(within, "the exporter to exit after SIGTERM", || {
            child.try_wait().expect("waiting for the exporter")
        });
        // The last log lines may still be in the pipe: read to EOF so callers see
        // everything the process wrote before exiting.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        status
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child process killed on drop.
pub(crate) struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An HTTP/1.1 response, fully read.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
}

/// A minimal HTTP/1.1 client (one request per connection): enough for tests, and it
/// keeps a second HTTP stack out of the dependency tree.
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    try_http(addr, method, path, headers)
        .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"))
}

/// [`http`] for a server that may not listen yet (or any more): I/O errors are returned.
pub(crate) fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response has a header block");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// Decodes a chunked body (Go servers such as node_exporter send one).
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_line = String::from_utf8_lossy(&raw[..eol]).to_string();
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16)
            .expect("hex chunk size");
        raw = &raw[eol + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// One sample of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Reads the samples and `# TYPE` lines of an exposition with the exporter's own reader
/// (`passthrough::read`, the one MinIO's and Trino's `/metrics` go through); panics with
/// the line that does not parse.
pub(crate) fn parse_exposition(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    let (samples, types) = lakewatch_exporter::passthrough::read(text)
        .unwrap_or_else(|e| panic!("the exposition does not parse: {e}\n{text}"));
    let samples = samples
        .into_iter()
        .map(|s| Sample {
            name: s.name,
            labels: s.labels.into_iter().collect(),
            value: s.value,
        })
        .collect();
    (samples, types)
}

/// Writes a config file into `dir` and returns its path as a string.
pub(crate) fn config_file(dir: &TempDir, yaml: &str) -> String {
    dir.write("lakewatch.yml", yaml).display().to_string()
}

/// moto's S3 server (`pip install 'moto[server]'`) on a loopback port, stopped on drop.
/// It speaks the real S3 protocol over HTTP and keeps its state in memory, so a restart
/// starts empty.
pub(crate) struct Moto {
    proc: Option<Proc>,
    bin: PathBuf,
    host: &'static str,
    pub port: u16,
    env: Vec<(String, String)>,
}

impl Moto {
    /// Starts moto, or returns `None` (after `tool`'s skip message) when it is missing.
    pub(crate) fn start(env: &[(&str, &str)]) -> Option<Moto> {
        Moto::start_on("127.0.0.1", env)
    }

    /// [`Moto::start`] listening on every interface, so containers reach it through
    /// their bridge's gateway.
    pub(crate) fn start_everywhere(env: &[(&str, &str)]) -> Option<Moto> {
        Moto::start_on("0.0.0.0", env)
    }

    fn start_on(host: &'static str, env: &[(&str, &str)]) -> Option<Moto> {
        let bin = tool("moto_server", &[])?;
        let mut m = Moto {
            proc: None,
            bin,
            host,
            port: free_port(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        m.restart();
        Some(m)
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server; its port stays reserved for [`Moto::restart`].
    pub(crate) fn kill(&mut self) {
        self.proc = None;
    }

    /// (Re)starts the server on the same port and waits until it accepts connections.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let child = Command::new(&self.bin)
            .args(["-H", self.host, "-p", &self.port.to_string()])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        self.proc = Some(Proc(child));
        let addr: SocketAddr = format!("127.0.0.1:{}", self.port).parse().unwrap();
        eventually(Duration::from_secs(30), "moto_server to listen", || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
        });
    }
}

/// Polls `f` until it returns `Some`, or panics after `within` naming `what` and showing
/// `context()` (a log, the last body read): the one polling loop of the tests. A test
/// waits for a condition with it, never for a span of time; `within` is a test timeout,
/// not a speed requirement.
pub(crate) fn eventually_with<T>(
    within: Duration,
    what: &str,
    context: impl Fn() -> String,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < within,
            "timed out after {within:?} waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// [`eventually_with`] when `what` says all there is to say.
pub(crate) fn eventually<T>(within: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
    eventually_with(within, what, String::new, f)
}

/// The value of the first sample named `name` whose labels include all of `labels`,
/// in an exposition's text.
pub(crate) fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    sample_value(&parse_exposition(text).0, name, labels)
}

/// The same, over already parsed samples.
pub(crate) fn sample_value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// Debian's prometheus-node-exporter on a free loopback port, answering, stopped on
/// drop. `None` when it is not installed (the caller skips; under CI=true it fails).
pub(crate) struct NodeExporter {
    _proc: Proc,
    pub addr: SocketAddr,
}

/// Starts node_exporter with only `collectors` enabled (its defaults when empty).
pub(crate) fn node_exporter(collectors: &[&str]) -> Option<NodeExporter> {
    let bin = tool(
        "prometheus-node-exporter",
        &["/usr/bin/prometheus-node-exporter"],
    )?;
    let port = free_port();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
    if !collectors.is_empty() {
        cmd.arg("--collector.disable-defaults");
        cmd.args(collectors.iter().map(|c| format!("--collector.{c}")));
    }
    let proc = Proc(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting node_exporter"),
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}")
        .parse()
        .expect("a socket address");
    eventually(Duration::from_secs(20), "node_exporter to answer", || {
        TcpStream::connect(addr).ok()
    });
    Some(NodeExporter { _proc: proc, addr })
}

/// Debian's prometheus-postgres-exporter (`bin`, found with [`tool`] before the test
/// starts anything) reading `pg` as `postgres` over TCP, with extra `args`, on a free
/// loopback port; stopped on drop.
pub(crate) struct PostgresExporter {
    _proc: Proc,
    pub addr: SocketAddr,
}

impl PostgresExporter {
    pub(crate) fn start(
        bin: &Path,
        pg: &crate::support::postgres::PgServer,
        args: &[&str],
    ) -> PostgresExporter {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port())
            .parse()
            .expect("a socket address");
        let dsn = format!(
            "postgresql://postgres:{}@127.0.0.1:{}/postgres?sslmode=disable",
            crate::support::postgres::PASSWORD,
            pg.port
        );
        let proc = Proc(
            Command::new(bin)
                .arg(format!("--web.listen-address={addr}"))
                .args(args)
                .env("DATA_SOURCE_NAME", dsn)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting postgres_exporter"),
        );
        PostgresExporter { _proc: proc, addr }
    }
}

/// Runs `promtool check metrics` on an exposition: `None` when promtool is missing
/// (the caller skips), else whether it passed, with its complaints.
pub(crate) fn promtool_check_metrics(body: &str) -> Option<Result<(), String>> {
    let promtool = tool("promtool", &["/usr/bin/promtool"])?;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running promtool");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(body.as_bytes())
        .expect("writing to promtool");
    let out = child.wait_with_output().expect("waiting for promtool");
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

// ---- TLS material for tests (openssl) ----

/// Runs `openssl` with whitespace-separated arguments in `dir`.
pub(crate) fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args.split_whitespace())
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const NEW_KEY: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

/// A CA, a server certificate for 127.0.0.1/localhost signed by it (`server1`), and a
/// client certificate (`client`).
pub(crate) fn pki(dir: &Path) {
    openssl(
        dir,
        &format!(
            "req -x509 {NEW_KEY} -keyout ca.key -out ca.crt -days 2 -subj /CN=lakewatch-test-ca"
        ),
    );
    server_cert(dir, "server1");
    // webpki accepts only X.509 v3 certificates: give the client an extension.
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    openssl(
        dir,
        &format!("req {NEW_KEY} -keyout client.key -out client.csr -subj /CN=prometheus"),
    );
    openssl(
        dir,
        "x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.ext",
    );
}

/// `{name}.crt`/`{name}.key` for 127.0.0.1 and localhost, signed by `ca.crt` in `dir`.
pub(crate) fn server_cert(dir: &Path, name: &str) {
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &format!("req {NEW_KEY} -keyout {name}.key -out {name}.csr -subj /CN={name}"),
    );
    openssl(
        dir,
        &format!(
            "x509 -req -in {name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out {name}.crt -days 2 -extfile san.ext"
        ),
    );
}

/// curl with a 10 s cap and errors on stderr.
pub(crate) fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("running curl")
}

/// openssl and curl, for the TLS tests.
pub(crate) fn tls_tools() -> bool {
    tool("openssl", &["/usr/bin/openssl"]).is_some() && tool("curl", &["/usr/bin/curl"]).is_some()
}

/// A rustls server configuration with `{name}.crt`/`{name}.key` of a [`pki`] in `dir`;
/// with `client_auth` it requires a client certificate signed by its `ca.crt`.
pub(crate) fn tls_server_config(
    dir: &Path,
    name: &str,
    client_auth: bool,
) -> Arc<rustls::ServerConfig> {
    use lakewatch_exporter::tls::{load_certs, load_key, provider};
    let certs = load_certs(&dir.join(format!("{name}.crt"))).expect("server certificate");
    let key = load_key(&dir.join(format!("{name}.key"))).expect("server key");
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("TLS versions");
    let builder = if client_auth {
        let mut roots = rustls::RootCertStore::empty();
        for ca in load_certs(&dir.join("ca.crt")).expect("CA certificate") {
            roots.add(ca).expect("a valid CA certificate");
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
                .build()
                .expect("a client verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    Arc::new(
        builder
            .with_single_cert(certs, key)
            .expect("certificate and key match"),
    )
}

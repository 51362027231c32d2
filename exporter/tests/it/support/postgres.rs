//! A throw-away PostgreSQL server for tests: `initdb` in a temp dir, started on a free
//! port with its unix socket in that dir, stopped (fast shutdown) and deleted on drop,
//! also when the test fails. Runs as the `postgres` user when the tests run as root
//! (initdb refuses root).
//!
//! The newest installed major version runs, unless `LAKEWATCH_PG_BIN` names another
//! server's `bin` directory (e.g. `/usr/lib/postgresql/13/bin`), so the same tests can
//! be run against each version that is installed.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Proc, TempDir, eventually_with, free_port, pki, tool};

/// Password of the `postgres` superuser over TCP (scram-sha-256). The unix socket
/// trusts local connections so the harness's psql needs none.
pub(crate) const PASSWORD: &str = "lw-test-Pw-81hQ";

pub(crate) struct PgServer {
    pub dir: TempDir,
    pub port: u16,
    bin: PathBuf,
    ids: Option<(u32, u32)>,
    child: Option<Child>,
    /// Extra `-c name=value` settings of every start.
    settings: Vec<String>,
}

/// The server's `bin` directories to try, newest version first (Debian:
/// /usr/lib/postgresql/N/bin), or only `$LAKEWATCH_PG_BIN` when set.
fn candidates() -> Vec<String> {
    if let Ok(bin) = std::env::var("LAKEWATCH_PG_BIN") {
        let postgres = Path::new(&bin).join("postgres");
        assert!(
            postgres.exists(),
            "LAKEWATCH_PG_BIN={bin} has no postgres binary"
        );
        return vec![postgres.display().to_string()];
    }
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    versions.sort_unstable_by(|a, b| b.cmp(a));
    versions
        .iter()
        .map(|v| format!("/usr/lib/postgresql/{v}/bin/postgres"))
        .collect()
}

fn id(flag: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, "postgres"])
        .output()
        .expect("running id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the postgres user exists (Debian's postgresql package creates it)")
}

impl PgServer {
    /// Starts a new server, or returns `None` (test skipped) without PostgreSQL.
    pub(crate) fn start() -> Option<PgServer> {
        PgServer::start_with(false, &[])
    }

    /// [`PgServer::start`] with extra `name=value` settings on every start.
    pub(crate) fn start_with_settings(settings: &[&str]) -> Option<PgServer> {
        PgServer::start_with(false, settings)
    }

    /// Starts a server that only takes TLS over TCP: `ssl=on` with `server1.crt` from
    /// [`pki`] (CA in [`PgServer::ca_file`], SANs 127.0.0.1 and localhost), listening
    /// on 127.0.0.1 and 127.0.0.2 (an address the certificate does not name), and a
    /// pg_hba.conf with `hostssl` lines only. The role `prometheus` must also present
    /// a client certificate (`client.crt`, CN=prometheus) signed by the CA.
    pub(crate) fn start_tls() -> Option<PgServer> {
        tool("openssl", &["/usr/bin/openssl"])?;
        PgServer::start_with(true, &[])
    }

    fn start_with(tls: bool, extra: &[&str]) -> Option<PgServer> {
        let c = candidates();
        let refs: Vec<&str> = c.iter().map(String::as_str).collect();
        let postgres = tool("postgres", &refs)?;
        let bin = postgres.parent().expect("bin dir").to_path_buf();
        let dir = TempDir::new("pg");
        let mut settings: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if tls {
            pki(&dir.0);
            // The server refuses a key others can read.
            std::fs::set_permissions(
                dir.0.join("server1.key"),
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )
            .expect("chmod server1.key");
            settings.extend([
                "ssl=on".to_string(),
                format!("ssl_cert_file={}", dir.0.join("server1.crt").display()),
                format!("ssl_key_file={}", dir.0.join("server1.key").display()),
                format!("ssl_ca_file={}", dir.0.join("ca.crt").display()),
                format!("hba_file={}", dir.0.join("hba.conf").display()),
                "listen_addresses=127.0.0.1,127.0.0.2".to_string(),
            ]);
            dir.write(
                "hba.conf",
                "local all all trust\n\
                 hostssl all prometheus 127.0.0.0/8 scram-sha-256 clientcert=verify-ca\n\
                 hostssl all all 127.0.0.0/8 scram-sha-256\n",
            );
        }
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let ids = root.then(|| (id("-u"), id("-g")));
        let pwfile = dir.write("pw", PASSWORD);
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir.0)
                .status()
                .expect("chown");
            assert!(ok.success());
        }
        let mut server = PgServer {
            port: free_port(),
            bin,
            ids,
            child: None,
            dir,
            settings,
        };
        let out = server
            .command("initdb")
            .args(["-U", "postgres", "-E", "UTF8", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .arg("-D")
            .arg(server.data())
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server.start_again();
        if tls {
            server.psql(
                "postgres",
                &format!("CREATE ROLE prometheus LOGIN PASSWORD '{PASSWORD}' IN ROLE pg_monitor"),
            );
        }
        Some(server)
    }

    /// A streaming standby of `primary`: a `pg_basebackup` of it (`-R`: standby.signal
    /// and primary_conninfo over `primary`'s unix socket) that creates and streams
    /// through the physical slot `slot`, started in its own temp dir on its own port
    /// with the same settings, once it answers queries (hot standby).
    pub(crate) fn standby_of(primary: &PgServer, slot: &str) -> PgServer {
        let dir = TempDir::new("pg-standby");
        if primary.ids.is_some() {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir.0)
                .status()
                .expect("chown");
            assert!(ok.success());
        }
        let mut standby = PgServer {
            port: free_port(),
            bin: primary.bin.clone(),
            ids: primary.ids,
            child: None,
            dir,
            settings: primary.settings.clone(),
        };
        let out = standby
            .command("pg_basebackup")
            .arg("-h")
            .arg(primary.socket_dir())
            .args(["-p", &primary.port.to_string(), "-U", "postgres"])
            .args(["-R", "-C", "-S", slot, "-X", "stream", "--no-sync", "-D"])
            .arg(standby.data())
            .output()
            .expect("running pg_basebackup");
        assert!(
            out.status.success(),
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        standby.start_again();
        standby
    }

    /// The server's `server_version_num`, e.g. 170012.
    pub(crate) fn version_num(&self) -> u32 {
        self.psql("postgres", "SHOW server_version_num")
            .parse()
            .expect("server_version_num is a number")
    }

    /// The CA of a [`PgServer::start_tls`] server.
    pub(crate) fn ca_file(&self) -> PathBuf {
        self.dir.0.join("ca.crt")
    }

    fn data(&self) -> PathBuf {
        self.dir.0.join("data")
    }

    /// The unix socket directory (also a valid `host` for libpq and tokio-postgres).
    pub(crate) fn socket_dir(&self) -> &Path {
        &self.dir.0
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.ids {
            c.uid(uid).gid(gid);
        }
        c.current_dir(&self.dir.0);
        c
    }

    /// Starts the server (again) on the same port and data, and waits until it answers.
    pub(crate) fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.0.join("server.log")).expect("log file");
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.0.display()))
            .args(["-c", "fsync=off", "-c", "max_connections=40"])
            // Loaded (not created) so tests can opt in with CREATE EXTENSION.
            .args(["-c", "shared_preload_libraries=pg_stat_statements"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting postgres");
        self.child = Some(child);
        eventually_with(
            Duration::from_secs(30),
            "postgres to accept connections",
            || std::fs::read_to_string(self.dir.0.join("server.log")).unwrap_or_default(),
            || self.try_psql("postgres", "SELECT 1").ok(),
        );
    }

    /// Fast shutdown (SIGINT: clients are disconnected), waiting for the exit.
    pub(crate) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// DSN for TCP without the password (given separately, as a secret).
    pub(crate) fn dsn(&self) -> String {
        self.dsn_with("127.0.0.1", "postgres", "sslmode=disable")
    }

    /// DSN for TCP to `host` as `user` with the given URL parameters.
    pub(crate) fn dsn_with(&self, host: &str, user: &str, params: &str) -> String {
        format!("postgresql://{user}@{host}:{}/postgres?{params}", self.port)
    }

    /// One of the server's client programs (`pg_receivewal`, `pg_recvlogical`, ...)
    /// with the connection options of [`PgServer::psql`]: unix socket, `postgres`.
    pub(crate) fn client(&self, program: &str) -> Command {
        let mut c = Command::new(self.bin.join(program));
        c.arg("-h")
            .arg(&self.dir.0)
            .args(["-p", &self.port.to_string(), "-U", "postgres"]);
        c
    }

    fn psql_command(&self, db: &str, sql: &str) -> Command {
        let mut c = Command::new(self.bin.join("psql"));
        c.arg("-h")
            .arg(&self.dir.0)
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-d", db])
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        c
    }

    fn try_psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = self
            .psql_command(db, sql)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Runs SQL through psql on the socket and returns its unaligned output.
    pub(crate) fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql)
            .unwrap_or_else(|e| panic!("psql {sql:?} failed: {e}"))
    }

    /// Runs SQL in a psql that keeps going in the background (killed on drop).
    pub(crate) fn psql_background(&self, db: &str, sql: &str) -> Proc {
        Proc(
            self.psql_command(db, sql)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("starting psql"),
        )
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

//! A throw-away PostgreSQL server for tests: `initdb` in a temp dir, started on a free
//! port with its unix socket in that dir, stopped (fast shutdown) and deleted on drop,
//! also when the test fails. Runs as the `postgres` user when the tests run as root
//! (initdb refuses root).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Proc, TempDir, free_port, tool};

/// Password of the `postgres` superuser over TCP (scram-sha-256). The unix socket
/// trusts local connections so the harness's psql needs none.
pub const PASSWORD: &str = "lw-test-Pw-81hQ";

pub struct PgServer {
    pub dir: TempDir,
    pub port: u16,
    bin: PathBuf,
    ids: Option<(u32, u32)>,
    child: Option<Child>,
}

/// The newest installed server's `bin` directory (Debian: /usr/lib/postgresql/N/bin).
fn candidates() -> Vec<String> {
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
    pub fn start() -> Option<PgServer> {
        let c = candidates();
        let refs: Vec<&str> = c.iter().map(String::as_str).collect();
        let postgres = tool("postgres", &refs)?;
        let bin = postgres.parent().expect("bin dir").to_path_buf();
        let dir = TempDir::new("pg");
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
        Some(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.0.join("data")
    }

    /// The unix socket directory (also a valid `host` for libpq and tokio-postgres).
    pub fn socket_dir(&self) -> &Path {
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
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::File::create(self.dir.0.join("server.log")).expect("log file");
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
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
        let start = Instant::now();
        while self.try_psql("postgres", "SELECT 1").is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "postgres did not start: {}",
                std::fs::read_to_string(self.dir.0.join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Fast shutdown (SIGINT: clients are disconnected), waiting for the exit.
    pub fn stop(&mut self) {
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
    pub fn dsn(&self) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
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
    pub fn psql(&self, db: &str, sql: &str) -> String {
        self.try_psql(db, sql)
            .unwrap_or_else(|e| panic!("psql {sql:?} failed: {e}"))
    }

    /// Runs SQL in a psql that keeps going in the background (killed on drop).
    pub fn psql_background(&self, db: &str, sql: &str) -> Proc {
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

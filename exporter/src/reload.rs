//! Configuration reload without a restart: `SIGHUP`, `POST /-/reload` and
//! `--config.watch` re-read `--config` and `--web.config.file`, validate both fully,
//! and only then apply them: the jobs, with the discovered targets
//! ([`Discovery::apply_config`]), as a diff ([`Scheduler::apply`](crate::scheduler::Scheduler::apply): an unchanged
//! target keeps its connection and counters), the web config by swapping the TLS setup
//! and basic auth users. An invalid file changes nothing; the error, with its
//! `file:line:column` and with the file's secrets masked, is logged, answered to the
//! HTTP caller and counted in `lakewatch_config_last_reload_successful`.
//!
//! Not for start-up (that is `main.rs`, which exits on an invalid file).

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::AbortHandle;

use crate::collector::BoxFuture;
use crate::config::Config;
use crate::discovery::Discovery;
use crate::scheduler::{Applied, Hub};
use crate::server::{Lifecycle, Security, SharedSecurity};
use crate::web::{CertReloader, WebConfig};

/// How often `--config.watch` looks at the files. A change is applied once the files
/// read the same on two polls in a row: an editor's or a ConfigMap's several writes
/// make one reload, and a half-written file is not loaded.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Reloads the configuration on request; one reload at a time.
pub struct Reloader {
    config: Option<PathBuf>,
    web_config: Option<PathBuf>,
    discovery: Arc<Discovery>,
    hub: Arc<Hub>,
    security: Arc<SharedSecurity>,
    /// Held for a whole reload, so reloads run one at a time, in arrival order.
    state: tokio::sync::Mutex<State>,
}

struct State {
    /// What the files held at the last attempt, applied or not: the watcher reloads
    /// when this changes, and retries a broken file only once it changes again.
    attempted: Option<u64>,
    /// The web config text in force: an unchanged file keeps its TLS setup and the
    /// basic auth cache instead of building new ones.
    web_text: Option<String>,
    /// The task that re-reads the served certificate when its files change.
    cert_watch: Option<AbortHandle>,
}

/// What a reload read and validated, ready to apply.
struct Loaded {
    config: Config,
    /// `Some` when the web config file changed: its text and validated form.
    web: Option<(String, Option<WebConfig>)>,
}

impl Reloader {
    /// A reloader for the running exporter. `web` is the web config loaded at start-up
    /// (its certificate watcher is started here and replaced on reloads).
    pub fn new(
        config: Option<PathBuf>,
        web_config: Option<PathBuf>,
        discovery: Arc<Discovery>,
        hub: Arc<Hub>,
        security: Arc<SharedSecurity>,
        cert: Option<Arc<CertReloader>>,
    ) -> Reloader {
        let web_text = web_config
            .as_deref()
            .and_then(|p| std::fs::read_to_string(p).ok());
        let attempted = digest(config.as_deref(), web_config.as_deref());
        Reloader {
            config,
            web_config,
            discovery,
            hub,
            security,
            state: tokio::sync::Mutex::new(State {
                attempted,
                web_text,
                cert_watch: cert.map(|c| tokio::spawn(c.watch()).abort_handle()),
            }),
        }
    }

    /// Re-reads, validates and applies the configuration. `trigger` (`SIGHUP`, `HTTP`,
    /// `file change`) is logged. `Err` says why nothing changed, secrets masked.
    pub async fn reload(&self, trigger: &'static str) -> Result<Applied, String> {
        let mut state = self.state.lock().await;
        let (config, web_config) = (self.config.clone(), self.web_config.clone());
        let web_text = state.web_text.clone();
        let (attempted, loaded) = tokio::task::spawn_blocking(move || {
            let (config, web_config) = (config.as_deref(), web_config.as_deref());
            (
                digest(config, web_config),
                load(config, web_config, web_text),
            )
        })
        .await
        .unwrap_or_else(|e| (None, Err(format!("loading the configuration failed: {e}"))));
        state.attempted = attempted;
        let loaded = match loaded {
            Ok(l) => l,
            Err(why) => {
                tracing::error!(trigger, error = %why, "configuration reload failed; the previous configuration keeps running");
                self.hub.reloaded(Err(why.clone()));
                return Err(why);
            }
        };
        // The jobs are built there, with the discovered targets.
        let applied = self.discovery.apply_config(loaded.config).await;
        if let Some((text, web)) = loaded.web {
            let (security, cert) = security(web);
            self.security.store(security);
            if let Some(old) = state.cert_watch.take() {
                old.abort();
            }
            state.cert_watch = cert.map(|c| tokio::spawn(c.watch()).abort_handle());
            state.web_text = Some(text);
            tracing::info!(trigger, "web config reloaded");
        }
        self.hub.reloaded(Ok(()));
        tracing::info!(trigger, changes = %applied, "configuration reloaded");
        Ok(applied)
    }

    /// Reloads whenever `--config` or `--web.config.file` reads differently (content
    /// or, for a symlink such as a Kubernetes ConfigMap's, the file it resolves to)
    /// and then the same again one [`WATCH_INTERVAL`] later. Runs forever.
    pub async fn watch(self: Arc<Self>) {
        let files = (self.config.clone(), self.web_config.clone());
        let read = move || {
            let files = files.clone();
            async move {
                tokio::task::spawn_blocking(move || digest(files.0.as_deref(), files.1.as_deref()))
                    .await
                    .ok()
                    .flatten()
            }
        };
        let mut previous = read().await;
        loop {
            tokio::time::sleep(WATCH_INTERVAL).await;
            let now = read().await;
            let attempted = self.state.lock().await.attempted;
            if now.is_some() && now == previous && now != attempted {
                // The outcome is logged and counted by `reload` itself.
                let _ = self.reload("file change").await;
            }
            previous = now;
        }
    }
}

impl Lifecycle for Reloader {
    fn reload(&self) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move { Reloader::reload(self, "HTTP").await.map(|a| a.to_string()) })
    }
}

/// The server's view of a web config (none: plain HTTP, no auth) and its certificate
/// watcher. Also what `main` starts with.
pub fn security(web: Option<WebConfig>) -> (Security, Option<Arc<CertReloader>>) {
    let Some(web) = web else {
        return (Security::default(), None);
    };
    if let Some(auth) = web.auth.clone() {
        // The dummy hash for unknown users, made before the first request needs it.
        tokio::task::spawn_blocking(move || auth.warm_up());
    }
    let security = Security {
        tls: web.tls.map(tokio_rustls::TlsAcceptor::from),
        auth: web.auth,
    };
    (security, web.reloader)
}

/// Reads and validates both files (blocking).
fn load(
    config: Option<&Path>,
    web_config: Option<&Path>,
    web_in_force: Option<String>,
) -> Result<Loaded, String> {
    let config = match config {
        None => Config::embedded_default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot read config file: {e}", path.display()))?;
            Config::parse(&text, &path.display().to_string())
                .map_err(|e| redact(&e.headline(), &text))?
        }
    };
    let web = match web_config {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: cannot read web config file: {e}", path.display()))?;
            if web_in_force.as_deref() == Some(text.as_str()) {
                None
            } else {
                let base = path.parent().unwrap_or(Path::new("."));
                let web = WebConfig::parse(&text, &path.display().to_string(), base)
                    .map_err(|e| redact(&e.headline(), &text))?;
                Some((text, Some(web)))
            }
        }
    };
    Ok(Loaded { config, web })
}

/// A digest of what the files say and where they resolve to; `None` while one cannot
/// be read (say, between the steps of a symlink swap).
fn digest(config: Option<&Path>, web_config: Option<&Path>) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for path in [config, web_config].into_iter().flatten() {
        std::fs::canonicalize(path).ok()?.hash(&mut h);
        std::fs::read(path).ok()?.hash(&mut h);
    }
    Some(h.finish())
}

/// Masks in `message` every secret written in `text`: values of keys naming a
/// password, secret or token (not their `_file` paths), and the password of a URL's
/// `user:password@`. An error quotes the offending line of the file, and that line
/// may be the one with the password; the message goes to a log and an HTTP client.
pub(crate) fn redact(message: &str, text: &str) -> String {
    let mut secrets: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.trim_start().trim_start_matches("- ");
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
            let secret_key = ["password", "secret", "token"]
                .iter()
                .any(|s| key.contains(s))
                && !key.ends_with("_file");
            let value = value.split(" #").next().unwrap_or("").trim();
            let value = value.trim_matches(['"', '\'']);
            if secret_key && !value.is_empty() {
                secrets.push(value.to_string());
            }
        }
        let mut rest = line;
        while let Some(i) = rest.find("://") {
            rest = &rest[i + 3..];
            let authority = rest
                .split(['/', ' ', '?', '#', '"', '\''])
                .next()
                .unwrap_or("");
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && let Some((_, password)) = userinfo.split_once(':')
                && !password.is_empty()
            {
                secrets.push(password.to_string());
            }
        }
    }
    // Longest first, so a secret containing another is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = message.to_string();
    for s in secrets {
        out = out.replace(&s, "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_of_the_file_are_masked() {
        let text = "collectors:\n  postgres:\n    targets:\n      - name: a\n        password: 'hunter2x'\n        dsn: postgresql://u:s3cr3t@h:5432/db\n        password_file: /etc/pw\n  s3:\n    targets:\n      - secret_key: abcSECRET # note\n";
        let m = "c.yml:5:19: bad value 'hunter2x' near postgresql://u:s3cr3t@h and abcSECRET in /etc/pw";
        let r = redact(m, text);
        assert_eq!(
            r,
            "c.yml:5:19: bad value '<redacted>' near postgresql://u:<redacted>@h and <redacted> in /etc/pw"
        );
    }

    #[test]
    fn an_invalid_file_names_the_line_without_its_password() {
        let dir = std::env::temp_dir().join(format!("lakewatch-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.yml");
        std::fs::write(
            &path,
            "collectors:\n  postgres:\n    targets:\n      - name: a\n        dsn: postgresql://h/db\n        password: Zq9-very-secret\n        passwrd: Zq9-very-secret\n",
        )
        .unwrap();
        let e = load(Some(&path), None, None).err().expect("invalid");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            e.contains("/c.yml:7:9: unknown field `passwrd`"),
            "names the line: {e}"
        );
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(!e.contains("Zq9-very-secret"), "leaks the password: {e}");
    }

    #[test]
    fn the_digest_follows_content_and_symlink_target() {
        let dir = std::env::temp_dir().join(format!("lakewatch-digest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, link) = (dir.join("a.yml"), dir.join("b.yml"), dir.join("c.yml"));
        std::fs::write(&a, "x: 1\n").unwrap();
        std::fs::write(&b, "x: 2\n").unwrap();
        std::os::unix::fs::symlink(&a, &link).unwrap();
        let first = digest(Some(&link), None);
        assert!(first.is_some());
        assert_eq!(digest(Some(&link), None), first, "stable while unchanged");
        let tmp = dir.join("tmp");
        std::os::unix::fs::symlink(&b, &tmp).unwrap();
        std::fs::rename(&tmp, &link).unwrap();
        let second = digest(Some(&link), None);
        assert_ne!(second, first, "a symlink swap is a change");
        std::fs::remove_file(&b).unwrap();
        assert_eq!(digest(Some(&link), None), None, "dangling: not readable");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

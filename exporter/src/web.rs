//! `--web.config.file`: TLS (with optional client certificates) and basic auth in the
//! Prometheus exporter-toolkit format, so the web config users already have for
//! node_exporter works here unchanged.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.crt
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert   # or NoClientCert, VerifyClientCertIfGiven
//!   client_ca_file: ca.crt
//!   min_version: TLS12                             # or TLS13
//! basic_auth_users:
//!   prometheus: $2y$10$...                         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! One TLS stack (rustls with the ring provider). Certificates are re-read when their
//! files change, so a rotated certificate is served without a restart.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

use hyper::header::HeaderValue;
use ring::hmac;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::config::error::ConfigError;
use crate::tls::{self, load_certs};

/// How often certificate files are checked for changes.
pub const CERT_RELOAD_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Spanned<String>,
    key_file: Spanned<String>,
    client_auth_type: Option<Spanned<String>>,
    client_ca_file: Option<Spanned<String>>,
    min_version: Option<Spanned<String>>,
}

/// The validated web configuration.
pub struct WebConfig {
    /// The TLS setup when `tls_server_config` is set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Reloads the certificate when its files change; run [`CertReloader::watch`].
    pub reloader: Option<Arc<CertReloader>>,
    /// The users of `basic_auth_users`, when set.
    pub auth: Option<Arc<BasicAuth>>,
}

impl WebConfig {
    /// Loads and validates a web config file; errors name `file:line:column`.
    pub fn load(path: &Path) -> Result<WebConfig, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: name.clone(),
            source,
        })?;
        WebConfig::parse(&text, &name, path.parent().unwrap_or(Path::new(".")))
    }

    /// Parses and validates web config text; `name` is used in error messages and
    /// relative certificate paths are taken from `base`.
    pub fn parse(text: &str, name: &str, base: &Path) -> Result<WebConfig, ConfigError> {
        let raw: RawWebConfig =
            serde_saphyr::from_str(text).map_err(|e| ConfigError::syntax(&e, name))?;
        let err = |span_line: u64, span_col: u64, message: String| ConfigError::Invalid {
            path: name.to_string(),
            line: span_line,
            column: span_col,
            message,
        };
        let at =
            |s: &Spanned<String>, m: String| err(s.referenced.line(), s.referenced.column(), m);

        let mut users = BTreeMap::new();
        for (user, hash) in raw.basic_auth_users {
            let Ok(parts) = bcrypt::HashParts::from_str(&hash.value) else {
                return Err(at(
                    &hash,
                    format!("basic_auth_users.{user}: not a bcrypt hash (expected $2y$...)"),
                ));
            };
            // The hash's format admits costs 00..99; bcrypt itself (and Go's, which
            // exporter-toolkit uses) only computes 4..=31.
            if !BCRYPT_COSTS.contains(&parts.get_cost()) {
                return Err(at(
                    &hash,
                    format!(
                        "basic_auth_users.{user}: bcrypt cost {} is out of range (4 to 31)",
                        parts.get_cost()
                    ),
                ));
            }
            users.insert(user, hash.value);
        }
        let auth = (!users.is_empty()).then(|| Arc::new(BasicAuth::new(users)));

        let (tls, reloader) = match raw.tls_server_config {
            None => (None, None),
            Some(t) => {
                let resolve = |s: &Spanned<String>| base.join(&s.value);
                let reloader = Arc::new(
                    CertReloader::new(resolve(&t.cert_file), resolve(&t.key_file))
                        .map_err(|e| at(&t.cert_file, e))?,
                );
                let provider = tls::provider();
                let versions: &[&rustls::SupportedProtocolVersion] =
                    match t.min_version.as_ref().map(|s| s.value.as_str()) {
                        None | Some("TLS12") => rustls::ALL_VERSIONS,
                        Some("TLS13") => &[&rustls::version::TLS13],
                        Some(other) => {
                            return Err(at(
                                t.min_version.as_ref().expect("matched Some"),
                                format!(
                                    "unsupported min_version {other:?}: expected TLS12 or TLS13"
                                ),
                            ));
                        }
                    };
                let auth_type = t
                    .client_auth_type
                    .as_ref()
                    .map_or("NoClientCert", |s| s.value.as_str());
                let verifier = match auth_type {
                    "NoClientCert" => WebPkiClientVerifier::no_client_auth(),
                    "RequireAndVerifyClientCert" | "VerifyClientCertIfGiven" => {
                        let Some(ca) = &t.client_ca_file else {
                            let span = t.client_auth_type.as_ref().expect("not the default");
                            return Err(at(
                                span,
                                format!("client_auth_type {auth_type} needs client_ca_file"),
                            ));
                        };
                        let mut roots = rustls::RootCertStore::empty();
                        let certs = load_certs(&resolve(ca)).map_err(|e| at(ca, e))?;
                        for c in certs {
                            roots
                                .add(c)
                                .map_err(|e| at(ca, format!("invalid CA certificate: {e}")))?;
                        }
                        let b = WebPkiClientVerifier::builder_with_provider(
                            Arc::new(roots),
                            provider.clone(),
                        );
                        let b = if auth_type == "VerifyClientCertIfGiven" {
                            b.allow_unauthenticated()
                        } else {
                            b
                        };
                        b.build().map_err(|e| at(ca, format!("client CA: {e}")))?
                    }
                    other => {
                        let span = t.client_auth_type.as_ref().expect("not the default");
                        return Err(at(
                            span,
                            format!(
                                "unsupported client_auth_type {other:?}: expected NoClientCert, \
                                 VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                            ),
                        ));
                    }
                };
                let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
                    .with_protocol_versions(versions)
                    .map_err(|e| at(&t.cert_file, format!("TLS setup: {e}")))?
                    .with_client_cert_verifier(verifier)
                    .with_cert_resolver(reloader.clone());
                cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
                (Some(Arc::new(cfg)), Some(reloader))
            }
        };
        Ok(WebConfig {
            tls,
            reloader,
            auth,
        })
    }
}

fn load_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, String> {
    let certs = load_certs(cert)?;
    let signing = tls::provider()
        .key_provider
        .load_private_key(tls::load_key(key)?)
        .map_err(|e| format!("unusable private key: {e}"))?;
    Ok(Arc::new(CertifiedKey::new(certs, signing)))
}

/// Modification times of the certificate and key files, to notice a rotation.
type Stamp = Option<(SystemTime, SystemTime)>;

fn mtimes(cert: &Path, key: &Path) -> Stamp {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((m(cert)?, m(key)?))
}

/// Serves the current certificate and swaps in a new one when the files change.
#[derive(Debug)]
pub struct CertReloader {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<(Arc<CertifiedKey>, Stamp)>,
}

impl CertReloader {
    fn new(cert: PathBuf, key: PathBuf) -> Result<CertReloader, String> {
        let loaded = load_key(&cert, &key)?;
        let stamp = mtimes(&cert, &key);
        Ok(CertReloader {
            cert,
            key,
            current: RwLock::new((loaded, stamp)),
        })
    }

    /// Checks the files every [`CERT_RELOAD_INTERVAL`]; a broken new pair is logged and
    /// the old certificate kept (a half-written file during rotation must not take the
    /// endpoint down).
    pub async fn watch(self: Arc<Self>) {
        let mut tick = tokio::time::interval(CERT_RELOAD_INTERVAL);
        loop {
            tick.tick().await;
            let stamp = mtimes(&self.cert, &self.key);
            let known = self.current.read().unwrap_or_else(|p| p.into_inner()).1;
            if stamp.is_none() || stamp == known {
                continue;
            }
            match load_key(&self.cert, &self.key) {
                Ok(k) => {
                    *self.current.write().unwrap_or_else(|p| p.into_inner()) = (k, stamp);
                    tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                }
                Err(e) => tracing::warn!(
                    "TLS certificate changed but cannot be loaded, keeping the old one: {e}"
                ),
            }
        }
    }
}

impl ResolvesServerCert for CertReloader {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .0
                .clone(),
        )
    }
}

/// Basic auth against bcrypt hashes, with verified results cached.
///
/// bcrypt at cost 10 takes ~70 ms of CPU; paying that on every scrape would make the
/// exporter slow and easy to overload. Results (good *and* bad) are cached under an
/// HMAC of user and password with a key drawn at start-up, so the cache holds no
/// passwords, its keys reveal nothing, and a repeated wrong password costs the same as
/// a repeated right one. Unknown users are checked against a dummy hash so they take as
/// long as known ones; it is made on the first unknown user, on the blocking pool, so
/// start-up (and `--check-config`) does not pay bcrypt.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// The users' highest cost, at which the dummy hash is made.
    cost: u32,
    /// A hash of a random password at `cost`, verified for unknown users.
    dummy: OnceLock<String>,
    key: hmac::Key,
    cache: Mutex<HashMap<[u8; 32], bool>>,
    /// bcrypt computations so far, with the cost of each (what a request's time is made of).
    #[cfg(test)]
    bcrypt_runs: Mutex<Vec<u32>>,
}

const CACHE_LIMIT: usize = 4096;

/// The bcrypt costs bcrypt can compute.
const BCRYPT_COSTS: std::ops::RangeInclusive<u32> = 4..=31;

impl BasicAuth {
    /// From user names and bcrypt hashes (validated by the caller).
    pub fn new(users: BTreeMap<String, String>) -> BasicAuth {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("the OS random source works");
        let cost = users
            .values()
            .filter_map(|h| bcrypt::HashParts::from_str(h).ok())
            .map(|p| {
                p.get_cost()
                    .clamp(*BCRYPT_COSTS.start(), *BCRYPT_COSTS.end())
            })
            .max()
            .unwrap_or(bcrypt::DEFAULT_COST);
        BasicAuth {
            users,
            cost,
            dummy: OnceLock::new(),
            key,
            cache: Mutex::new(HashMap::new()),
            #[cfg(test)]
            bcrypt_runs: Mutex::new(Vec::new()),
        }
    }

    /// Makes the dummy hash now (bcrypt at the users' cost: call it on the blocking
    /// pool). The server does this at start-up, so the first unknown user does not pay
    /// for it and stand out by taking twice as long; parsing (`--check-config`,
    /// fuzzing) never does.
    pub fn warm_up(&self) {
        self.dummy();
    }

    /// The dummy hash, made on first use unless [`BasicAuth::warm_up`] made it.
    fn dummy(&self) -> &str {
        self.dummy.get_or_init(|| {
            let mut secret = [0u8; 16];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut secret)
                .expect("the OS random source works");
            #[cfg(test)]
            self.bcrypt_runs.lock().unwrap().push(self.cost);
            bcrypt::hash(secret, self.cost).expect("the cost was clamped to bcrypt's range")
        })
    }

    /// True when the `Authorization` header carries valid credentials. Uncached checks
    /// run bcrypt on the blocking pool, never on an async worker.
    pub async fn check(self: &Arc<Self>, header: Option<&HeaderValue>) -> bool {
        let Some((user, password)) = header.and_then(parse_basic) else {
            return false;
        };
        let mut msg = Vec::with_capacity(user.len() + password.len() + 1);
        msg.extend_from_slice(user.as_bytes());
        msg.push(0);
        msg.extend_from_slice(password.as_bytes());
        let tag = hmac::sign(&self.key, &msg);
        let mut id = [0u8; 32];
        id.copy_from_slice(tag.as_ref());
        if let Some(ok) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return *ok;
        }
        let me = self.clone();
        let ok = tokio::task::spawn_blocking(move || {
            let hash = me
                .users
                .get(&user)
                .map_or_else(|| me.dummy(), String::as_str);
            #[cfg(test)]
            me.bcrypt_runs
                .lock()
                .unwrap()
                .push(bcrypt::HashParts::from_str(hash).map_or(0, |p| p.get_cost()));
            bcrypt::verify(&password, hash).unwrap_or(false) && me.users.contains_key(&user)
        })
        .await
        .unwrap_or(false);
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear(); // crude but bounded; a flood of new passwords pays bcrypt anyway
        }
        cache.insert(id, ok);
        ok
    }
}

fn parse_basic(header: &HeaderValue) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = header.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, pw: &str) -> HeaderValue {
        use base64::Engine as _;
        let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
        HeaderValue::from_str(&format!("Basic {enc}")).unwrap()
    }

    #[tokio::test]
    async fn basic_auth_right_wrong_unknown_and_cached() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let auth = Arc::new(BasicAuth::new(BTreeMap::from([("prom".to_string(), hash)])));
        assert!(auth.check(Some(&header("prom", "s3cret"))).await);
        assert!(!auth.check(Some(&header("prom", "wrong"))).await);
        assert!(!auth.check(Some(&header("nobody", "s3cret"))).await);
        assert!(!auth.check(None).await);
        assert!(
            !auth
                .check(Some(&HeaderValue::from_static("Bearer abc")))
                .await
        );
        assert_eq!(auth.cache.lock().unwrap().len(), 3);
        // Cached answers stay the same.
        assert!(auth.check(Some(&header("prom", "s3cret"))).await);
        assert!(!auth.check(Some(&header("prom", "wrong"))).await);
        assert_eq!(auth.cache.lock().unwrap().len(), 3);
    }

    /// The issue's 1,000 tries, without a stopwatch (a timing assertion on a shared CI
    /// machine measures the machine): what a client can time is the work a request
    /// does, so the test counts it. Right, wrong and unknown-user credentials each cost
    /// exactly one bcrypt at the same cost the first time they are seen and none when
    /// repeated, so response times cannot tell them apart; the cache keys are HMACs.
    #[tokio::test]
    async fn right_wrong_and_unknown_credentials_do_the_same_work() {
        let hash = bcrypt::hash("s3cret", 5).unwrap();
        let auth = Arc::new(BasicAuth::new(BTreeMap::from([("prom".to_string(), hash)])));
        // As the server does at start-up: one bcrypt at the users' cost, then none.
        auth.warm_up();
        auth.warm_up();
        assert_eq!(*auth.bcrypt_runs.lock().unwrap(), [5]);
        let mut seen = std::collections::HashSet::new();
        // (kind, first time seen) -> the bcrypt costs paid by each such request.
        let mut work: BTreeMap<(&str, bool), Vec<Vec<u32>>> = BTreeMap::new();
        for i in 0..1000 {
            let (kind, user, password) = match i % 4 {
                0 => ("right", "prom", "s3cret".to_string()),
                1 => ("wrong, repeated", "prom", "guess".to_string()),
                2 => ("wrong, new each time", "prom", format!("guess-{i}")),
                _ => ("unknown user", "nobody", "s3cret".to_string()),
            };
            let before = auth.bcrypt_runs.lock().unwrap().len();
            let ok = auth.check(Some(&header(user, &password))).await;
            assert_eq!(ok, kind == "right", "{kind}");
            let paid = auth.bcrypt_runs.lock().unwrap()[before..].to_vec();
            let first = seen.insert((user, password));
            work.entry((kind, first)).or_default().push(paid);
        }
        for ((kind, first), requests) in &work {
            let expected: Vec<u32> = if *first { vec![5] } else { vec![] };
            assert!(
                requests.iter().all(|paid| *paid == expected),
                "{kind} (first: {first}): {requests:?}"
            );
        }
        // Every kind was both new and repeated, except the ever-new wrong passwords.
        assert_eq!(work.len(), 7, "{:?}", work.keys());
        assert_eq!(work[&("wrong, new each time", true)].len(), 250);
        // 3 repeated credentials + 250 new ones; keys are 32-byte HMAC tags.
        assert_eq!(auth.cache.lock().unwrap().len(), 253);
    }

    #[test]
    fn bcrypt_costs_bcrypt_cannot_compute_are_refused() {
        for cost in ["03", "32", "99"] {
            let text = format!(
                "basic_auth_users:\n  prom: $2a${cost}$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\n"
            );
            let Err(e) = WebConfig::parse(&text, "web.yml", Path::new(".")) else {
                panic!("cost {cost} accepted");
            };
            assert_eq!(
                e.to_string(),
                format!(
                    "web.yml:2:9: basic_auth_users.prom: bcrypt cost {} is out of range (4 to 31)",
                    cost.trim_start_matches('0')
                )
            );
        }
    }

    #[test]
    fn parse_basic_variants() {
        assert_eq!(
            parse_basic(&header("a", "b:c")),
            Some(("a".to_string(), "b:c".to_string()))
        );
        assert_eq!(parse_basic(&HeaderValue::from_static("Basic !!!")), None);
    }
}

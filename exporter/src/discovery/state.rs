//! The discovered targets and what is known of each source ([`State`]): what the
//! targets files and the labelled containers define, merged with the config's own
//! `targets:` under the name-claim rules. No I/O but reading the files; [`super::Discovery`]
//! drives it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use super::{Kind, Origin, Report, SourceStatus, docker, file};
use crate::collector::postgres::target::PostgresTarget;
use crate::collector::s3::settings::S3Target;
use crate::collector::trino::settings::TrinoTarget;
use crate::config::Config;

/// The targets one file defines, in its collector's validated type.
#[derive(Debug, Clone)]
pub(super) enum Targets {
    Postgres(Vec<PostgresTarget>),
    S3(Vec<S3Target>),
    Trino(Vec<TrinoTarget>),
}

impl Targets {
    pub(super) fn empty(kind: Kind) -> Targets {
        match kind {
            Kind::Postgres => Targets::Postgres(Vec::new()),
            Kind::S3 => Targets::S3(Vec::new()),
            Kind::Trino => Targets::Trino(Vec::new()),
        }
    }
}

/// A targets file as last read.
#[derive(Debug)]
struct FileState {
    /// Of what was read (text or read error), to tell a change.
    digest: u64,
    /// The targets of the last valid version (none if it never was).
    targets: Targets,
    /// Why the current version is not used.
    error: Option<String>,
}

/// What the files held at one poll, by collector and path.
pub(super) type Reads = BTreeMap<(Kind, String), Result<String, String>>;

fn digest(read: &Result<String, String>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    read.hash(&mut h);
    h.finish()
}

/// What one labelled container defines.
#[derive(Debug)]
struct DockerEntry {
    /// Its target, or none when broken.
    targets: Targets,
    /// Why it is skipped.
    error: Option<String>,
}

/// The discovered targets and what is known of each source; owned by [`Discovery`].
pub struct State {
    /// The configuration as loaded, without discovered targets.
    pub(super) config: Config,
    files: BTreeMap<(Kind, String), FileState>,
    /// Who held each discovered name at the last merge: a newer claim is the one
    /// rejected, however the files sort.
    owners: HashMap<(Kind, String), Origin>,
    /// Claims rejected at the last merge, so a collision is counted once.
    rejected: HashSet<(Kind, String, Origin)>,
    /// By collector and source.
    errors: BTreeMap<(Kind, &'static str), u64>,
    /// The labelled containers as last listed, by collector.
    containers: BTreeMap<Kind, Vec<docker::Container>>,
    /// What each of them defines, by collector and container name.
    docker: BTreeMap<(Kind, String), DockerEntry>,
    /// Why the last list failed, by collector (its containers are kept meanwhile).
    docker_failure: BTreeMap<Kind, String>,
    /// What the files read at the last poll that differed from what is applied.
    pub(super) pending: Option<BTreeMap<(Kind, String), u64>>,
    /// Problems already logged.
    logged: HashSet<String>,
}

impl State {
    /// Reads `config`'s targets files (blocking); for start-up.
    pub fn load(config: Config) -> State {
        let mut state = State {
            config,
            files: BTreeMap::new(),
            owners: HashMap::new(),
            rejected: HashSet::new(),
            errors: BTreeMap::new(),
            containers: BTreeMap::new(),
            docker: BTreeMap::new(),
            docker_failure: BTreeMap::new(),
            pending: None,
            logged: HashSet::new(),
        };
        let reads = state.read();
        state.update(reads, true);
        state
    }

    /// What to read: each collector's patterns and the files read before.
    pub(super) fn patterns(&self) -> Vec<(Kind, Vec<String>, Vec<String>)> {
        Kind::ALL
            .iter()
            .map(|&k| {
                let known = self
                    .files
                    .keys()
                    .filter(|(fk, _)| *fk == k)
                    .map(|(_, p)| p.clone())
                    .collect();
                (k, k.patterns(&self.config).to_vec(), known)
            })
            .filter(|(_, p, _)| !p.is_empty())
            .collect()
    }

    /// Reads every targets file now (blocking).
    pub(super) fn read(&self) -> Reads {
        read(self.patterns())
    }

    /// True when `reads` differs from what is applied and read the same at the last
    /// poll too.
    pub(super) fn settled(&mut self, reads: &Reads) -> bool {
        let now: BTreeMap<(Kind, String), u64> =
            reads.iter().map(|(k, r)| (k.clone(), digest(r))).collect();
        let applied: BTreeMap<(Kind, String), u64> = self
            .files
            .iter()
            .map(|(k, f)| (k.clone(), f.digest))
            .collect();
        if now == applied {
            self.pending = None;
            return false;
        }
        if self.pending.as_ref() == Some(&now) {
            self.pending = None;
            return true;
        }
        self.pending = Some(now);
        false
    }

    /// Takes in what the files hold: a changed file is validated again (every file
    /// with `all`, after a reload changed the collector's settings); a file that no
    /// longer matches is forgotten with its targets.
    pub(super) fn update(&mut self, reads: Reads, all: bool) {
        self.files.retain(|k, _| reads.contains_key(k));
        for ((kind, path), read) in reads {
            let d = digest(&read);
            let old = self.files.remove(&(kind, path.clone()));
            if !all && old.as_ref().is_some_and(|o| o.digest == d) {
                self.files
                    .insert((kind, path), old.expect("checked just above"));
                continue;
            }
            let parsed = read.and_then(|text| kind.parse(&self.config, &text, &path));
            let previous_error = old.as_ref().and_then(|o| o.error.clone());
            let kept = old.map_or_else(|| Targets::empty(kind), |o| o.targets);
            let state = match parsed {
                Ok(targets) => FileState {
                    digest: d,
                    targets,
                    error: None,
                },
                Err(why) => {
                    if previous_error.as_deref() != Some(why.as_str()) {
                        *self.errors.entry((kind, "file")).or_default() += 1;
                    }
                    FileState {
                        digest: d,
                        targets: kept,
                        error: Some(why),
                    }
                }
            };
            self.files.insert((kind, path), state);
        }
    }

    /// Takes in the labelled containers of `kind` as listed now; false when nothing
    /// changed.
    pub(super) fn set_containers(&mut self, kind: Kind, list: Vec<docker::Container>) -> bool {
        let failed = self.docker_failure.remove(&kind).is_some();
        if !failed && self.containers.get(&kind) == Some(&list) {
            return false;
        }
        self.containers.insert(kind, list);
        self.derive(kind);
        true
    }

    /// Records a failed list of `kind`'s containers (counted once per failure in a
    /// row); false when it was failing already.
    pub(super) fn docker_failed(&mut self, kind: Kind, why: String) -> bool {
        let again = self.docker_failure.contains_key(&kind);
        if !again {
            *self.errors.entry((kind, "docker")).or_default() += 1;
        }
        self.docker_failure.insert(kind, why);
        !again
    }

    /// Validates every listed container of `kind` again with the collector's settings.
    pub(super) fn derive(&mut self, kind: Kind) {
        let old: BTreeMap<String, DockerEntry> = self
            .docker
            .extract_if(.., |(k, _), _| *k == kind)
            .map(|((_, n), e)| (n, e))
            .collect();
        let Some(settings) = kind.docker(&self.config).cloned() else {
            return;
        };
        let prefix = kind.label_prefix();
        let context = docker::Context::of(&self.config);
        for c in self.containers.get(&kind).into_iter().flatten() {
            let parsed =
                docker::entry(c, &prefix, &settings, &context).and_then(|(text, path, from)| {
                    kind.parse(&self.config, &text, &path)
                        .map_err(|e| docker::explain(&e, &path, &from))
                });
            let entry = match parsed {
                Ok(targets) => DockerEntry {
                    targets,
                    error: None,
                },
                Err(why) => {
                    let before = old.get(&c.name).and_then(|o| o.error.as_deref());
                    if before != Some(why.as_str()) {
                        *self.errors.entry((kind, "docker")).or_default() += 1;
                    }
                    DockerEntry {
                        targets: Targets::empty(kind),
                        error: Some(why),
                    }
                }
            };
            self.docker.insert((kind, c.name.clone()), entry);
        }
    }

    /// The collectors whose containers are discovered, with their label prefix.
    pub(super) fn docker_kinds(&self) -> Vec<(Kind, String)> {
        Kind::ALL
            .into_iter()
            .filter(|k| k.docker(&self.config).is_some())
            .map(|k| (k, k.label_prefix()))
            .collect()
    }

    /// The configuration with the discovered targets after the static ones, and what
    /// discovery supplies now.
    pub fn merged(&mut self) -> (Config, Report) {
        let mut config = self.config.clone();
        let mut report = Report::default();
        let mut owners = HashMap::new();
        let mut rejected = HashSet::new();
        for kind in Kind::ALL {
            if !kind.discovers(&config) {
                continue;
            }
            let previous: HashMap<String, Origin> = self
                .owners
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, n), o)| (n.clone(), o.clone()))
                .collect();
            let files: Vec<(Origin, &Targets)> = self
                .files
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, path), f)| (Origin::File(path.clone()), &f.targets))
                .chain(
                    self.docker
                        .iter()
                        .filter(|((k, _), _)| *k == kind)
                        .map(|((_, name), e)| (Origin::Docker(name.clone()), &e.targets)),
                )
                .collect();
            let on = "a collector with patterns is on";
            let merge = match kind {
                Kind::Postgres => {
                    let list = files.into_iter().filter_map(|(o, t)| match t {
                        Targets::Postgres(t) => Some((o, t.as_slice())),
                        _ => None,
                    });
                    let c = config.postgres.as_mut().expect(on);
                    merge(&mut c.targets, |t| &t.name, list.collect(), &previous)
                }
                Kind::S3 => {
                    let list = files.into_iter().filter_map(|(o, t)| match t {
                        Targets::S3(t) => Some((o, t.as_slice())),
                        _ => None,
                    });
                    let c = config.s3.as_mut().expect(on);
                    merge(&mut c.targets, |t| &t.name, list.collect(), &previous)
                }
                Kind::Trino => {
                    let list = files.into_iter().filter_map(|(o, t)| match t {
                        Targets::Trino(t) => Some((o, t.as_slice())),
                        _ => None,
                    });
                    let c = config.trino.as_mut().expect(on);
                    merge(&mut c.targets, |t| &t.name, list.collect(), &previous)
                }
            };
            let mut sources: BTreeMap<&'static str, SourceStatus> = BTreeMap::new();
            if !kind.patterns(&config).is_empty() {
                sources.insert("file", SourceStatus::default());
            }
            if kind.docker(&config).is_some() {
                sources.insert("docker", SourceStatus::default());
            }
            for ((k, _), f) in &self.files {
                if let (true, Some(e), Some(status)) =
                    (*k == kind, &f.error, sources.get_mut("file"))
                {
                    // The error names the file.
                    status
                        .problems
                        .push(format!("{e} (its previous targets are kept)"));
                }
            }
            if let Some(status) = sources.get_mut("docker") {
                if let Some(why) = self.docker_failure.get(&kind) {
                    status
                        .problems
                        .push(format!("{why} (the containers listed before are kept)"));
                }
                for ((k, _), e) in &self.docker {
                    if let (true, Some(e)) = (*k == kind, &e.error) {
                        status.problems.push(e.clone());
                    }
                }
            }
            for (origin, name, holder) in merge.collisions {
                let key = (kind, origin.source());
                if let Some(status) = sources.get_mut(origin.source()) {
                    status.problems.push(format!(
                        "{origin}: target {name:?} is already defined ({holder}); ignored"
                    ));
                }
                let rejection = (kind, name, origin);
                if !self.rejected.contains(&rejection) {
                    *self.errors.entry(key).or_default() += 1;
                }
                rejected.insert(rejection);
            }
            for (name, origin) in merge.owners {
                if let Some(status) = sources.get_mut(origin.source()) {
                    status.targets += 1;
                }
                report
                    .origins
                    .insert((kind.name(), name.clone()), origin.clone());
                owners.insert((kind, name), origin);
            }
            for (source, mut status) in sources {
                status.errors = self.errors.get(&(kind, source)).copied().unwrap_or(0);
                report.sources.insert((kind.name(), source), status);
            }
        }
        self.owners = owners;
        self.rejected = rejected;
        let now: HashSet<String> = report
            .sources
            .iter()
            .flat_map(|((c, _), s)| s.problems.iter().map(move |p| format!("{c}: {p}")))
            .collect();
        for p in now.difference(&self.logged) {
            tracing::warn!(problem = %p, "target discovery");
        }
        self.logged = now;
        (config, report)
    }
}

/// Reads the files of every collector's patterns (blocking).
pub(super) fn read(patterns: Vec<(Kind, Vec<String>, Vec<String>)>) -> Reads {
    let mut reads = Reads::new();
    for (kind, patterns, known) in patterns {
        for (path, r) in file::read(&patterns, &known) {
            reads.insert((kind, path), r);
        }
    }
    reads
}

/// The outcome of merging one collector's discovered targets.
struct Merge {
    /// The discovered names taken, and by whom.
    owners: HashMap<String, Origin>,
    /// Rejected claims: who, which name, who holds it.
    collisions: Vec<(Origin, String, Origin)>,
}

/// Appends the discovered targets of `sources` to `targets` (the static ones) unless
/// their name is taken: by a static target, by the source that held it at the last
/// merge, or else by a source earlier in the list.
fn merge<T: Clone>(
    targets: &mut Vec<T>,
    name: impl Fn(&T) -> &String,
    sources: Vec<(Origin, &[T])>,
    previous: &HashMap<String, Origin>,
) -> Merge {
    let mut taken: HashMap<String, Origin> = targets
        .iter()
        .map(|t| (name(t).clone(), Origin::Static))
        .collect();
    let mut claims: Vec<(&Origin, &T)> = sources
        .iter()
        .flat_map(|(o, ts)| ts.iter().map(move |t| (o, t)))
        .collect();
    // Stable: among the newcomers, the sources' order decides.
    claims.sort_by_key(|(o, t)| previous.get(name(t)) != Some(*o));
    let mut out = Merge {
        owners: HashMap::new(),
        collisions: Vec::new(),
    };
    for (origin, t) in claims {
        let n = name(t);
        if let Some(holder) = taken.get(n) {
            out.collisions
                .push((origin.clone(), n.clone(), holder.clone()));
            continue;
        }
        taken.insert(n.clone(), origin.clone());
        out.owners.insert(n.clone(), origin.clone());
        targets.push(t.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collector_with_targets_files_takes_discovered_targets() {
        let dir = std::env::temp_dir().join(format!("lakewatch-disc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        std::fs::write(
            dir.join("s3.json"),
            r#"[{"name": "lake", "endpoint": "http://minio:9000", "access_key": "a", "secret_key": "b"}]"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("trino.yml"),
            "- name: t1\n  url: http://trino:8080\n",
        )
        .unwrap();
        std::fs::write(dir.join("pg.yml"), "- name: p1\n  host: db\n").unwrap();
        let config = Config::parse(
            &format!(
                "collectors:\n  s3:\n    targets_files: ['{d}/*.json']\n  trino:\n    histogram_buckets: [1]\n    targets_files: ['{d}/trino.yml']\n  postgres:\n    targets_files: ['{d}/pg.yml']\n"
            ),
            "c.yml",
        )
        .unwrap();
        let (merged, report) = State::load(config).merged();
        std::fs::remove_dir_all(&dir).unwrap();
        let s3 = merged.s3.expect("on with targets_files alone");
        assert_eq!(s3.targets.len(), 1);
        assert_eq!(s3.targets[0].name, "lake");
        let trino = merged.trino.expect("on with targets_files alone");
        assert_eq!(trino.targets[0].name, "t1");
        assert_eq!(
            &*trino.targets[0].buckets,
            &[1.0],
            "the collector's buckets"
        );
        assert!(
            merged.postgres.expect("on").targets.is_empty(),
            "p1 has no user"
        );
        assert_eq!(
            report.origin("trino", "t1"),
            Origin::File(format!("{d}/trino.yml"))
        );
        assert_eq!(report.origin("s3", "other"), Origin::Static);
        let pg = &report.sources[&("postgres", "file")];
        assert_eq!((pg.targets, pg.errors), (0, 1));
        assert!(
            pg.problems[0].starts_with(&format!("{d}/pg.yml:2:9: target \"p1\" needs a user")),
            "{pg:?}"
        );
        assert_eq!(report.sources[&("s3", "file")].targets, 1);
    }

    #[test]
    fn the_older_claim_keeps_a_name() {
        let a = Origin::File("/a.yml".into());
        let b = Origin::File("/b.yml".into());
        let mut targets = vec!["s".to_string()];
        let ab = ["x".to_string(), "s".to_string()];
        let bx = ["x".to_string(), "y".to_string()];
        let m = merge(
            &mut targets,
            |t| t,
            vec![(a.clone(), &ab[..]), (b.clone(), &bx[..])],
            &HashMap::new(),
        );
        assert_eq!(
            targets,
            ["s", "x", "y"],
            "static first, then the files' order"
        );
        assert_eq!(
            m.collisions,
            [
                (a.clone(), "s".to_string(), Origin::Static),
                (b.clone(), "x".to_string(), a.clone())
            ]
        );
        // b held x before: a's claim is the newer one, whatever the order.
        let previous = HashMap::from([("x".to_string(), b.clone())]);
        let mut targets = Vec::new();
        let m = merge(
            &mut targets,
            |t| t,
            vec![(a.clone(), &ab[..]), (b.clone(), &bx[..])],
            &previous,
        );
        assert_eq!(m.owners["x"], b);
        assert_eq!(m.collisions, [(a, "x".to_string(), b)]);
    }
}

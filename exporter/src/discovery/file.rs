//! File discovery, as Prometheus' `file_sd_configs`: a collector's `targets_files:`
//! globs name YAML or JSON files, each a list of targets in the collector's own
//! `targets:` format, so any inventory (Consul, Ansible, a script) can feed Lakewatch.
//!
//! Only the file name may hold wildcards (`*`, `?`): the directory is watched as it is,
//! and a file that appears, changes or goes is picked up on the next poll.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;

use crate::config::error::{ConfigError, Validator};
use crate::config::secret::expand_env;

impl Validator<'_> {
    /// `targets_files:` as written: absolute paths whose file name may hold `*` and `?`.
    pub(crate) fn targets_files(
        &self,
        raw: Option<Vec<Spanned<String>>>,
    ) -> Result<Vec<String>, ConfigError> {
        let mut out = Vec::new();
        for p in raw.unwrap_or_default() {
            let path = expand_env(&p.value).map_err(|why| self.error(&p, why))?;
            if !path.starts_with('/') {
                return Err(self.error(&p, format!("path {path:?} must be absolute")));
            }
            let (dir, file) = split(&path);
            if dir.contains(['*', '?', '[']) {
                return Err(self.error(
                    &p,
                    format!("only the file name of {path:?} may hold wildcards (* and ?)"),
                ));
            }
            if file.is_empty() {
                return Err(self.error(&p, format!("{path:?} names a directory, not files")));
            }
            out.push(path);
        }
        Ok(out)
    }

    /// A targets file's list of raw targets; an empty file is an empty list.
    pub(crate) fn targets_list<T: DeserializeOwned>(
        &self,
        text: &str,
    ) -> Result<Vec<T>, ConfigError> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        serde_saphyr::from_str(text).map_err(|e| ConfigError::syntax(&e, self.name))
    }
}

/// `(directory, file name)` of an absolute path.
fn split(path: &str) -> (&str, &str) {
    let i = path.rfind('/').expect("an absolute path has a /");
    (&path[..=i], &path[i + 1..])
}

/// True when `name` matches the glob `pattern` (`*`: any run of characters, `?`: one).
fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative wildcard matching with one backtrack point (the last `*`).
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// What a poll read: each matching file's text, or why it could not be read (the
/// error of a directory that cannot be listed stands for every file it held).
pub(crate) type Read = BTreeMap<String, Result<String, String>>;

/// Reads the files `patterns` match now (blocking). `known` are the files read
/// before: those in a directory that cannot be listed are reported unreadable, so
/// their targets are kept rather than dropped over a passing error.
pub(crate) fn read(patterns: &[String], known: &[String]) -> Read {
    let mut out = Read::new();
    for pattern in patterns {
        let (dir, file) = split(pattern);
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                for k in known.iter().filter(|k| {
                    let (d, f) = split(k);
                    d == dir && matches(file, f)
                }) {
                    out.insert(k.clone(), Err(format!("cannot list {dir}: {e}")));
                }
                continue;
            }
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            // Hidden files are editors' and tools' temporaries unless asked for.
            if (name.starts_with('.') && !file.starts_with('.')) || !matches(file, name) {
                continue;
            }
            let path = format!("{dir}{name}");
            if Path::new(&path).is_dir() {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"));
            out.insert(path, text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::invalid;

    #[test]
    fn wildcards_match_the_file_name() {
        assert!(matches("*.yml", "a.yml"));
        assert!(matches("pg-?.json", "pg-1.json"));
        assert!(matches("*", "x"));
        assert!(matches("a*b*c", "a--b--b-c"));
        assert!(!matches("*.yml", "a.yaml"));
        assert!(!matches("pg-?.json", "pg-10.json"));
        assert!(!matches("a*b", "a-b-"));
    }

    #[test]
    fn reads_matching_files_and_keeps_unlistable_ones() {
        let dir = std::env::temp_dir().join(format!("lakewatch-sd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yml"), "- x\n").unwrap();
        std::fs::write(dir.join("b.json"), "[]").unwrap();
        std::fs::write(dir.join(".a.yml.swp"), "junk").unwrap();
        let d = dir.display();
        let r = read(&[format!("{d}/*.yml")], &[]);
        assert_eq!(r.keys().collect::<Vec<_>>(), [&format!("{d}/a.yml")]);
        assert_eq!(r[&format!("{d}/a.yml")].as_deref(), Ok("- x\n"));
        std::fs::remove_dir_all(&dir).unwrap();
        let r = read(&[format!("{d}/*.yml")], &[format!("{d}/a.yml")]);
        assert!(
            r[&format!("{d}/a.yml")]
                .as_ref()
                .is_err_and(|e| e.contains("cannot list")),
            "{r:?}"
        );
    }

    #[test]
    fn patterns_are_validated() {
        let t = |files: &str| {
            invalid(&format!(
                "collectors:\n  postgres:\n    targets_files: {files}\n"
            ))
        };
        assert_eq!(
            t("[pg/*.yml]"),
            "c.yml:3:21: path \"pg/*.yml\" must be absolute"
        );
        assert_eq!(
            t("['/etc/*/pg.yml']"),
            "c.yml:3:21: only the file name of \"/etc/*/pg.yml\" may hold wildcards (* and ?)"
        );
        assert_eq!(
            t("[/etc/pg/]"),
            "c.yml:3:21: \"/etc/pg/\" names a directory, not files"
        );
    }
}

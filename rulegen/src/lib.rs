//! `lakewatch-rulegen` turns typed SLO and alert definitions (native `lakewatch/v1`,
//! Sloth `prometheus/v1`, OpenSLO `openslo/v1`) into Prometheus recording and alerting
//! rules, as plain rule files, Prometheus Operator `PrometheusRule` CRDs or Mimir/Cortex
//! ruler files, plus `promtool test rules` files that prove the alerts fire, Alertmanager
//! routing ([`alertmanager`]) and Grafana SLO dashboards ([`dashboard`]). It also owns the
//! [`stock`] pack: alerts and dashboards for everything lakewatch-exporter collects.
//!
//! The pipeline is spec → parse (errors at `file:line:column`) → validated [`model`] →
//! generators ([`rules`], [`alertmanager`], [`dashboard`]) → [`output`]. It is not a rule evaluator, does not talk to
//! Alertmanager, and does not discover metrics: generation checks metric names only
//! against `lakewatch-catalog`, and accepts names it does not know (the user's own apps).
//! The one part that talks to Prometheus is [`check`], which proves existing rule files
//! and dashboards against a live server's series.

#![warn(missing_docs)]

pub mod alertmanager;
pub mod check;
pub mod dashboard;
pub mod duration;
pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod model;
mod num;
pub mod output;
pub mod promql;
pub mod rules;
pub mod series;
pub mod spec;
pub mod stock;
pub mod unittest;
pub mod window;

pub use error::{Error, SpecError};
pub use model::Service;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Reads and validates spec files (on all cores), failing on the first invalid one. Service
/// names must be unique across all files, since outputs are written per service. `params` replace the
/// values of native specs' parameters of the same name; each must be declared by at least
/// one of the specs (an override nobody reads is a typo).
pub fn load_files(
    paths: &[std::path::PathBuf],
    params: &BTreeMap<String, String>,
) -> Result<Vec<Service>, Error> {
    let opts = spec::LoadOptions {
        params: params.clone(),
        ..spec::LoadOptions::default()
    };
    load_files_with(paths, &opts)
        .map(|l| l.services)
        .map_err(|mut e| e.swap_remove(0))
}

/// [`load_files`] with all of the run's options, reporting every problem of every file
/// (in file order) rather than the first, so one run shows all there is to fix.
pub fn load_files_with(
    paths: &[std::path::PathBuf],
    opts: &spec::LoadOptions,
) -> Result<spec::Loaded, Vec<Error>> {
    let params = &opts.params;
    let loaded = parallel_map(paths, |path| {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| {
            vec![Error::Read {
                path: display.clone(),
                source,
            }]
        })?;
        let loaded = spec::load_all_with(&display, &text, opts)
            .map_err(|e| e.into_iter().map(Error::Spec).collect::<Vec<_>>())?;
        Ok::<_, Vec<Error>>((display, loaded))
    });
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut services: Vec<Service> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for result in loaded {
        let (display, file_services) = match result {
            Ok((display, loaded)) => {
                warnings.extend(loaded.warnings);
                (display, loaded.services)
            }
            Err(e) => {
                errors.extend(e);
                continue;
            }
        };
        for s in file_services {
            if let Some(first) = seen.insert(s.name.clone(), display.clone()) {
                errors.push(Error::DuplicateService {
                    service: s.name,
                    first,
                    second: display.clone(),
                });
                continue;
            }
            services.push(s);
        }
    }
    // Only when every file was read: a parameter of a file that failed is not unknown.
    if errors.is_empty() {
        for name in params.keys() {
            if !services.iter().any(|s| s.params.contains_key(name)) {
                let declared: BTreeSet<&str> = services
                    .iter()
                    .flat_map(|s| s.params.keys().map(String::as_str))
                    .collect();
                errors.push(Error::UnknownParam {
                    name: name.clone(),
                    declared: if declared.is_empty() {
                        "none".into()
                    } else {
                        declared.into_iter().collect::<Vec<_>>().join(", ")
                    },
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(spec::Loaded { services, warnings })
    } else {
        Err(errors)
    }
}

/// Which files a directory given as input contributes (Sloth's `--fs-exclude` and
/// `--fs-include`): regular expressions matched against each discovered path as
/// displayed (the directory as given, joined with the path under it).
#[derive(Debug, Clone, Default)]
pub struct FileFilter {
    /// Paths matching this are skipped; it wins over `include`.
    pub exclude: Option<regex::Regex>,
    /// When set, only paths matching it are read.
    pub include: Option<regex::Regex>,
}

/// The spec files behind `inputs`: a file as given (whatever its name), a directory
/// walked recursively for `*.yml` and `*.yaml` files that pass `filter`, sorted, so a
/// run's output does not depend on the order the file system lists them in. Symbolic
/// links to directories are not followed (a link cycle would never end).
pub fn spec_files(
    inputs: &[std::path::PathBuf],
    filter: &FileFilter,
) -> Result<Vec<std::path::PathBuf>, Error> {
    fn walk(
        dir: &std::path::Path,
        filter: &FileFilter,
        out: &mut Vec<std::path::PathBuf>,
    ) -> Result<(), Error> {
        let read_err = |source| Error::Read {
            path: dir.display().to_string(),
            source,
        };
        let mut entries = std::fs::read_dir(dir)
            .map_err(read_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_err)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            let kind = entry.file_type().map_err(read_err)?;
            if kind.is_dir() {
                walk(&path, filter, out)?;
                continue;
            }
            let yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
            let shown = path.display().to_string();
            let excluded = filter.exclude.as_ref().is_some_and(|r| r.is_match(&shown));
            let included = filter.include.as_ref().is_none_or(|r| r.is_match(&shown));
            if yaml && !excluded && included && std::fs::metadata(&path).is_ok_and(|m| m.is_file())
            {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let before = files.len();
            walk(input, filter, &mut files)?;
            if files.len() == before {
                return Err(Error::NoSpecs {
                    dir: input.display().to_string(),
                });
            }
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// The spec's file name without directories, as recorded in generated headers (so output
/// does not depend on where rulegen was run from).
pub fn source_name(service: &Service) -> String {
    std::path::Path::new(&service.file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| service.file.clone())
}

/// `f` applied to every item, on as many scoped threads as there are cores (each taking
/// the next item when it is done with one, so a large item does not hold up a share of
/// the others); results in the order of `items`. Specs and services are independent, and
/// a large spec set is CPU-bound work the machine's other cores would otherwise not do.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_the_order() {
        let items: Vec<u64> = (0..1000).collect();
        let squares = parallel_map(&items, |i| {
            // Uneven work, so threads finish items out of order.
            if i % 7 == 0 {
                std::thread::yield_now();
            }
            i * i
        });
        assert_eq!(squares, items.iter().map(|i| i * i).collect::<Vec<_>>());
        assert!(parallel_map(&[] as &[u8], |_| 0).is_empty());
    }
}

//! Replays every checked-in fuzz input through its fuzz body: the seed corpus
//! (`fuzz/corpus/<target>/`) and the crashes found so far (`fuzz/regressions/<target>/`),
//! so a fixed crash stays fixed without running cargo-fuzz. The bodies are the ones the
//! fuzz targets call; rulegen's is here too (it is a dev-dependency), keeping one replay
//! for the whole repository.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use lakewatch_exporter::fuzz;

/// Feeds each file of the target's corpus and regressions to `body`; fails naming every
/// file whose body panicked.
fn replay(target: &str, body: fn(&[u8])) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for (dir, required) in [("corpus", true), ("regressions", false)] {
        let dir = root.join(dir).join(target);
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for e in entries {
                    files.push(e.expect("readable directory entry").path());
                }
            }
            // No crash found yet for this target.
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("{}: {e}", dir.display()),
        }
        assert!(!required || !files.is_empty(), "{} is empty", dir.display());
    }
    files.sort();
    let failed: Vec<String> = files
        .iter()
        .filter(|f| {
            let data = std::fs::read(f).expect("readable corpus file");
            catch_unwind(AssertUnwindSafe(|| body(&data))).is_err()
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: the fuzz body panicked on {failed:#?}"
    );
}

#[test]
fn config() {
    replay("config", fuzz::config);
}

#[test]
fn web_config() {
    replay("web_config", fuzz::web_config);
}

#[test]
fn passthrough() {
    replay("passthrough", fuzz::passthrough);
}

#[test]
fn trino_airlift() {
    replay("trino_airlift", fuzz::trino_airlift);
}

#[test]
fn trino_query_list() {
    replay("trino_query_list", fuzz::trino_query_list);
}

#[test]
fn rulegen_spec() {
    replay("rulegen_spec", lakewatch_rulegen::fuzz::spec);
}

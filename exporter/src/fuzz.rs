//! Fuzz bodies for the parsers that read untrusted or hand-written input: the config
//! file, the web config file, pass-through Prometheus text, Trino's query list and
//! airlift's duration and size strings.
//!
//! They live here, not in `fuzz/`, so the cargo-fuzz targets and the corpus replay test
//! (`tests/it/fuzz_corpus.rs`, run with the normal suite) share one body each. A body
//! takes any bytes, must not panic, and asserts only properties that hold for every
//! input; a failed assertion is a bug just like a panic.

use std::path::Path;
use std::sync::Arc;

use lakewatch_catalog::name;

use crate::collector::trino::airlift;
use crate::collector::trino::api::{self, QueryListReader};
use crate::collector::trino::tracker::QueryTracker;
use crate::collector::{Fragment, Value};
use crate::config::Config;
use crate::config::duration::{format_duration, parse_duration};
use crate::config::error::ConfigError;
use crate::passthrough::{self, AllowList};
use crate::snapshot::Snapshot;
use crate::web::WebConfig;

/// The file name errors must carry.
const NAME: &str = "fuzz.yml";

/// `--config`: YAML text to a validated [`Config`], as `--check-config` reads it.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, NAME) {
        Ok(config) => {
            let schedules = [
                config.disk.as_ref().map(|c| c.schedule),
                config.container.as_ref().map(|c| c.schedule),
                config.postgres.as_ref().map(|c| c.schedule),
                config.trino.as_ref().map(|c| c.schedule),
                config.s3.as_ref().map(|c| c.schedule),
            ];
            for s in schedules.into_iter().flatten() {
                assert!(
                    !s.timeout.is_zero() && s.timeout <= s.interval,
                    "validated schedule {s:?}: 0 < timeout <= interval"
                );
                for d in [s.interval, s.timeout] {
                    assert_eq!(parse_duration(&format_duration(d)), Ok(d), "{d:?}");
                }
            }
        }
        Err(e) => check_config_error(&e),
    }
}

/// `--web.config.file`: TLS and basic auth settings. Certificate paths resolve against
/// a directory that does not exist, so only absolute paths reach a file.
pub fn web_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = WebConfig::parse(text, NAME, Path::new("/nonexistent/lakewatch-fuzz")) {
        check_config_error(&e);
    }
}

/// Every config error names the file; validation errors point at a line and column.
fn check_config_error(e: &ConfigError) {
    match e {
        ConfigError::Read { .. } => panic!("nothing was read from a file: {e}"),
        ConfigError::Syntax(text) => assert!(text.contains(NAME), "{text}"),
        ConfigError::Invalid {
            path, line, column, ..
        } => {
            assert_eq!(path, NAME);
            assert!(*line >= 1 && *column >= 1, "{e}");
        }
    }
}

/// Pass-through text (MinIO's and Trino's `/metrics`): what [`passthrough::select`]
/// lets through must encode into an exposition that reads back without an error, with
/// valid names throughout.
pub fn passthrough(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let allow = AllowList::new(&["*"]).expect("`*` is a valid pattern");
    let reserved = |n: &str| lakewatch_catalog::lookup(n).is_some();
    let Ok(families) = passthrough::select(text, &allow, reserved, &[("target", "t")]) else {
        return;
    };
    for f in &families {
        assert!(name::is_metric_name(&f.name), "family name {:?}", f.name);
        for s in &f.samples {
            assert!(
                s.labels.iter().all(|(k, _)| name::is_label_name(k)),
                "labels {:?}",
                s.labels
            );
            assert!(
                s.labels.windows(2).all(|w| w[0].0 < w[1].0),
                "labels sorted and unique: {:?}",
                s.labels
            );
            if let Value::Histogram(h) = &s.value {
                assert_eq!(h.buckets.last().map(|b| b.0), Some(f64::INFINITY));
            }
        }
    }
    let fragment = Fragment {
        passthrough: families,
        ..Fragment::default()
    };
    let snapshot = Snapshot::build(&[Arc::new(fragment)]);
    for body in [&snapshot.openmetrics.plain, &snapshot.text.plain] {
        let body = std::str::from_utf8(body).expect("the encoder writes UTF-8");
        if let Err(e) = passthrough::select(body, &allow, |_| false, &[]) {
            panic!("our own exposition does not read back: {e}\n{body}");
        }
    }
}

/// airlift `Duration` and `DataSize` strings, checked against `f64` arithmetic on the
/// same decimal number.
pub fn trino_airlift(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let t = text.trim();
    let number_len = t
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (number, unit) = t.split_at(number_len);
    let as_f64 = number.parse::<f64>().ok();
    if let Ok(seconds) = airlift::parse_duration(text) {
        assert!(seconds.is_finite() && seconds >= 0.0, "{text:?}: {seconds}");
        let per_unit = match unit.trim_start() {
            "ns" => 1e-9,
            "us" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            other => panic!("{text:?} parsed with unit {other:?}"),
        };
        let expected = as_f64.expect("an accepted number parses as f64") * per_unit;
        assert!(
            (seconds - expected).abs() <= expected * 1e-12,
            "{text:?}: {seconds} vs {expected}"
        );
    }
    if let Ok(bytes) = airlift::parse_data_size(text) {
        let per_unit = match unit.trim_start() {
            "B" => 1u64,
            "kB" => 1 << 10,
            "MB" => 1 << 20,
            "GB" => 1 << 30,
            "TB" => 1 << 40,
            "PB" => 1 << 50,
            other => panic!("{text:?} parsed with unit {other:?}"),
        };
        let expected = as_f64.expect("an accepted number parses as f64") * per_unit as f64;
        // airlift truncates to whole bytes; f64 may round either way near an integer.
        assert!(
            (bytes as f64 - expected).abs() <= 1.0 + expected * 1e-12,
            "{text:?}: {bytes} vs {expected}"
        );
    }
}

/// `/v1/query` bodies through the query tracker: a first, empty poll primes it, the
/// second counts the list, and a third of the same list must count nothing again. The
/// body read in three pieces (as it streams in) must give what the whole body gives.
pub fn trino_query_list(data: &[u8]) {
    let whole = api::parse_query_list(data);
    let cut = |at: usize| at.min(data.len());
    let (a, b) = (
        cut(data.len() / 3),
        cut(data.len() / 3 + 1 + data.len() % 7),
    );
    let mut reader = QueryListReader::default();
    for piece in [&data[..a], &data[a..b], &data[b..]] {
        reader.push(piece);
    }
    assert_eq!(
        format!("{:?}", reader.finish()),
        format!("{whole:?}"),
        "split at {a} and {b}"
    );
    let Ok(entries) = whole else {
        return;
    };
    let buckets: Arc<[f64]> = Arc::from(&[0.1, 1.0, 10.0][..]);
    let mut tracker = QueryTracker::new(buckets);
    tracker.observe(Some(1.0), &[]);
    let load = tracker.observe(Some(2.0), &entries);
    // Each entry is remembered at most once as final and once as malformed.
    assert!(tracker.remembered() <= 2 * entries.len());
    let counted = (tracker.totals.finished, tracker.totals.failed);
    assert_eq!(tracker.observe(Some(3.0), &entries), load);
    assert_eq!((tracker.totals.finished, tracker.totals.failed), counted);
    let t = &tracker.totals;
    assert_eq!(t.failed, t.failed_by_type.values().sum::<u64>());
    for h in [&t.execution, &t.queued, &t.cpu] {
        let h = h.snapshot();
        assert_eq!(h.count, t.finished + t.failed);
        assert_eq!(h.buckets.iter().map(|b| b.1).sum::<u64>(), h.count);
    }
}

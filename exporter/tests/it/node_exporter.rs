//! Side by side with Debian's prometheus-node-exporter on the same machine: every
//! `node_disk_*` and `node_filesystem_*` series it emits here, we emit with the same
//! labels, type and value, and nothing more.
//!
//! node_exporter runs with our default filters (passed as its own flags), so both look at
//! the same devices and mounts; the defaults themselves are unit-tested in
//! `disk/settings.rs`. Counters are compared without tolerance: node_exporter is read
//! before and after a collection cycle of ours that started after the first read, and
//! ours must lie between the two.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use lakewatch_exporter::collector::disk::settings::{
    DISK_DEVICES_EXCLUDE, DISK_FSTYPES_EXCLUDE, DISK_MOUNTPOINTS_EXCLUDE,
};

use crate::support::{
    Exporter, Sample, TempDir, config_file, eventually, http, node_exporter, parse_exposition,
    sample_value,
};

type Series = (String, BTreeMap<String, String>);

fn compared(samples: Vec<Sample>) -> BTreeMap<Series, f64> {
    samples
        .into_iter()
        .filter(|s| s.name.starts_with("node_disk_") || s.name.starts_with("node_filesystem_"))
        .map(|s| ((s.name, s.labels), s.value))
        .collect()
}

fn last_success(samples: &[Sample]) -> f64 {
    sample_value(
        samples,
        "lakewatch_collector_last_success_timestamp_seconds",
        &[("collector", "disk")],
    )
    .expect("the disk collector's last success")
}

/// `/sys/block/<dev>/queue/rotational` as node_exporter (since 1.9) labels it.
fn rotational(device: &str) -> String {
    match std::fs::read_to_string(format!("/sys/block/{device}/queue/rotational")) {
        Ok(t) if t.trim() == "1" => "1".into(),
        _ => "0".into(),
    }
}

#[test]
fn disk_and_filesystem_series_match_node_exporter() {
    // The helper prefixes each entry with `--collector.`, which all of these flags carry.
    let devices = format!("diskstats.device-exclude={DISK_DEVICES_EXCLUDE}");
    let mounts = format!("filesystem.mount-points-exclude={DISK_MOUNTPOINTS_EXCLUDE}");
    let fstypes = format!("filesystem.fs-types-exclude={DISK_FSTYPES_EXCLUDE}");
    let Some(node) = node_exporter(&["diskstats", "filesystem", &devices, &mounts, &fstypes])
    else {
        return;
    };
    let dir = TempDir::new("node-exporter");
    let cfg = config_file(
        &dir,
        "collectors:\n  disk:\n    interval: 1s\n    timeout: 1s\n  container:\n    enabled: false\n",
    );
    let ours = Exporter::start(&["--config", &cfg]);
    ours.wait_ready(Duration::from_secs(20));

    let scrape_theirs = || {
        let body = http(node.addr, "GET", "/metrics", &[]).text();
        let (samples, types) = parse_exposition(&body);
        (compared(samples), types)
    };
    let (before, their_types) = scrape_theirs();
    // The cycle that ended last when we look may have read before `before`; the one
    // after the next cannot have: a collector's cycles do not overlap.
    let seen = last_success(&parse_exposition(&ours.metrics()).0);
    let mut newer = Vec::new();
    let (ours_now, our_types) = eventually(Duration::from_secs(30), "two more disk cycles", || {
        let (samples, types) = parse_exposition(&ours.metrics());
        let t = last_success(&samples);
        if t != seen && newer.last() != Some(&t) {
            newer.push(t);
        }
        (newer.len() >= 2).then(|| (compared(samples), types))
    });
    let (after, _) = scrape_theirs();

    // node_exporter 1.9 added `rotational` to node_disk_info; Debian bookworm ships 1.5.
    // Where theirs lacks it, ours must match sysfs and is compared without it.
    let mut ours_cmp: BTreeMap<Series, f64> = BTreeMap::new();
    for ((name, mut labels), v) in ours_now {
        if name == "node_disk_info"
            && !before
                .keys()
                .any(|(n, l)| n == "node_disk_info" && l.contains_key("rotational"))
        {
            let r = labels.remove("rotational").expect("ours has rotational");
            assert_eq!(r, rotational(&labels["device"]), "{labels:?}");
        }
        ours_cmp.insert((name, labels), v);
    }

    let theirs_keys: BTreeSet<&Series> = before.keys().collect();
    let ours_keys: BTreeSet<&Series> = ours_cmp.keys().collect();
    assert_eq!(
        ours_keys.difference(&theirs_keys).collect::<Vec<_>>(),
        Vec::<&&Series>::new(),
        "series only we emit"
    );
    assert_eq!(
        theirs_keys.difference(&ours_keys).collect::<Vec<_>>(),
        Vec::<&&Series>::new(),
        "series only node_exporter emits"
    );
    let names: BTreeSet<&str> = before.keys().map(|(n, _)| n.as_str()).collect();
    for must in [
        "node_disk_info",
        "node_disk_io_time_weighted_seconds_total",
        "node_disk_read_time_seconds_total",
        "node_filesystem_size_bytes",
    ] {
        assert!(names.contains(must), "node_exporter emits no {must} here");
    }
    for name in &names {
        assert_eq!(
            our_types.get(*name),
            their_types.get(*name),
            "TYPE of {name}"
        );
    }

    for (key @ (name, labels), ours) in &ours_cmp {
        let (b, a) = (before[key], after[key]);
        let kind = their_types[name].as_str();
        let what = format!("{name}{labels:?}: ours {ours}, node_exporter {b} then {a}");
        match name.as_str() {
            // A queue depth at one instant: no two reads share one.
            "node_disk_io_now" => assert!(*ours >= 0.0, "{what}"),
            // Space moves while four engineers build on this disk: within 1 %.
            "node_filesystem_free_bytes"
            | "node_filesystem_avail_bytes"
            | "node_filesystem_files_free" => {
                let (lo, hi) = (b.min(a), b.max(a));
                assert!(*ours >= lo - hi * 0.01 && *ours <= hi * 1.01, "{what}");
            }
            _ if kind == "counter" => assert!(b <= *ours && *ours <= a, "{what}"),
            _ => assert!(b == *ours && *ours == a, "{what}"),
        }
    }
}

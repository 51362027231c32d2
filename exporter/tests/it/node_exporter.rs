//! Side by side with Debian's prometheus-node-exporter on the same machine: the
//! filesystem series users already query must carry the same labels and values.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::{Exporter, Sample, http, node_exporter, parse_exposition};

fn by_mountpoint(samples: &[Sample], name: &str) -> BTreeMap<String, Sample> {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| (s.labels["mountpoint"].clone(), s.clone()))
        .collect()
}

#[test]
fn filesystem_values_match_node_exporter() {
    let Some(node) = node_exporter(&["filesystem"]) else {
        return;
    };
    let ours = Exporter::start(&[]);
    ours.wait_ready(Duration::from_secs(20));
    let theirs = http(node.addr, "GET", "/metrics", &[]).text();
    let (their_samples, _) = parse_exposition(&theirs);
    let (our_samples, _) = parse_exposition(&ours.metrics());

    let their_size = by_mountpoint(&their_samples, "node_filesystem_size_bytes");
    let our_size = by_mountpoint(&our_samples, "node_filesystem_size_bytes");
    let their_avail = by_mountpoint(&their_samples, "node_filesystem_avail_bytes");
    let our_avail = by_mountpoint(&our_samples, "node_filesystem_avail_bytes");
    let common: Vec<&String> = our_size
        .keys()
        .filter(|m| their_size.contains_key(*m))
        .collect();
    assert!(
        !common.is_empty(),
        "no mount reported by both; ours: {:?}, theirs: {:?}",
        our_size.keys(),
        their_size.keys()
    );
    for m in common {
        let (o, t) = (&our_size[m], &their_size[m]);
        assert_eq!(o.labels, t.labels, "labels for {m}");
        assert_eq!(o.value, t.value, "node_filesystem_size_bytes for {m}");
        let (oa, ta) = (our_avail[m].value, their_avail[m].value);
        assert!(
            (oa - ta).abs() <= ta.max(1.0) * 0.01,
            "node_filesystem_avail_bytes for {m}: ours {oa}, node_exporter {ta}"
        );
    }
}

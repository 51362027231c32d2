//! Benchmarks for Lakewatch: criterion benches (`cargo bench -p lakewatch-benches`), the
//! `static-baseline` server (the physical limit for serving a `/metrics` body), and the
//! load scripts under `benches/load/` that compare the exporter with its peers.
//!
//! This crate holds the synthetic inputs the benches share; it is not part of the
//! shipped programs.

use std::sync::Arc;

use lakewatch_catalog as cat;
use lakewatch_exporter::collector::Fragment;

/// Synthetic fragments with `series` series in total, shaped like a busy host: many
/// filesystems (7 gauges each, 3 labels with realistic lengths) spread over 4 targets.
pub fn synthetic_fragments(series: usize) -> Vec<Arc<Fragment>> {
    let metrics = [
        &cat::FILESYSTEM_SIZE,
        &cat::FILESYSTEM_FREE,
        &cat::FILESYSTEM_AVAIL,
        &cat::FILESYSTEM_FILES,
        &cat::FILESYSTEM_FILES_FREE,
        &cat::FILESYSTEM_READONLY,
        &cat::FILESYSTEM_DEVICE_ERROR,
    ];
    let mut fragments: Vec<Fragment> = (0..4).map(|_| Fragment::default()).collect();
    for i in 0..series {
        let mount = i / metrics.len();
        let device = format!("/dev/mapper/vg{}-data{}", mount % 17, mount);
        let point = format!("/data/volumes/tenant-{}/lake-{}", mount % 101, mount);
        let value = (i as f64 * 7919.0) % 1e12;
        fragments[mount % 4].push(
            metrics[i % metrics.len()],
            [device.as_str(), "xfs", &point],
            value,
        );
    }
    fragments.into_iter().map(Arc::new).collect()
}

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

/// A `/v1/query` body with `queries` entries, built from the replay fixture the Trino
/// tests use (one `BasicQueryInfo` in Trino 4xx shape), with distinct ids and a mix of
/// states like a busy coordinator's list.
pub fn trino_query_list(queries: usize) -> Vec<u8> {
    let template: serde_json::Value = serde_json::from_str(include_str!(
        "../../exporter/tests/fixtures/trino/query.json"
    ))
    .expect("the Trino fixture is valid JSON");
    let states = [
        "FINISHED", "FINISHED", "FINISHED", "RUNNING", "QUEUED", "FAILED",
    ];
    let list: Vec<serde_json::Value> = (0..queries)
        .map(|i| {
            let mut q = template.clone();
            q["queryId"] = format!("20250301_101500_{i:05}_bench").into();
            q["state"] = states[i % states.len()].into();
            q
        })
        .collect();
    serde_json::to_vec(&list).expect("serializing JSON values cannot fail")
}

/// Native spec files holding `slos` SLOs in total, 10 per service (ratio, latency and
/// availability SLIs in turn, each with page and ticket alerts), as (file name, text).
pub fn slo_specs(slos: usize) -> Vec<(String, String)> {
    let per_service = 10;
    (0..slos.div_ceil(per_service))
        .map(|s| {
            let mut text = format!(
                "version: lakewatch/v1\nservice: svc-{s}\nlabels:\n  team: team-{}\nslos:\n",
                s % 7
            );
            for i in 0..per_service.min(slos - s * per_service) {
                let sli = match i % 3 {
                    0 => format!(
                        "      ratio:\n        errors: sum(rate(http_requests_total{{job=\"svc-{s}\",route=\"/r{i}\",code=~\"5..\"}}[{{{{.window}}}}]))\n        total: sum(rate(http_requests_total{{job=\"svc-{s}\",route=\"/r{i}\"}}[{{{{.window}}}}]))\n"
                    ),
                    1 => format!(
                        "      latency:\n        metric: http_request_duration_seconds\n        selector: '{{job=\"svc-{s}\",route=\"/r{i}\"}}'\n        threshold: 300ms\n"
                    ),
                    _ => format!(
                        "      availability:\n        metric: probe_success\n        selector: '{{job=\"blackbox\",instance=\"https://svc-{s}.example/r{i}\"}}'\n"
                    ),
                };
                text.push_str(&format!(
                    "  - name: slo-{i}\n    objective: 99.9\n    period: 30d\n    sli:\n{sli}    alerting:\n      runbook_url: https://runbooks.example/svc-{s}/slo-{i}\n"
                ));
            }
            (format!("svc-{s}.yml"), text)
        })
        .collect()
}

/// One collector target of the scale bench: `series` filesystem-shaped series (7 gauges
/// per mount, three realistic labels) in families every target shares, as disk targets
/// do; `generation` changes every value, as a new cycle does.
pub fn scale_target(series: usize, target: usize, generation: u64) -> Arc<Fragment> {
    let metrics = [
        &cat::FILESYSTEM_SIZE,
        &cat::FILESYSTEM_FREE,
        &cat::FILESYSTEM_AVAIL,
        &cat::FILESYSTEM_FILES,
        &cat::FILESYSTEM_FILES_FREE,
        &cat::FILESYSTEM_READONLY,
        &cat::FILESYSTEM_DEVICE_ERROR,
    ];
    let mut f = Fragment::default();
    for i in 0..series {
        let mount = i / metrics.len();
        let device = format!("/dev/mapper/t{target}-vg{}-data{}", mount % 17, mount);
        let point = format!("/data/t{target}/tenant-{}/lake-{}", mount % 101, mount);
        let value = ((i as u64 * 7919 + generation * 104_729) % 1_000_000_000_000) as f64;
        f.push(
            metrics[i % metrics.len()],
            [device.as_str(), "xfs", &point],
            value,
        );
    }
    Arc::new(f)
}

/// The self-metrics fragment the scheduler rebuilds on every publish: one
/// `lakewatch_collector_up` per target.
pub fn scale_own(targets: usize, generation: u64) -> Arc<Fragment> {
    let mut f = Fragment::default();
    for t in 0..targets {
        f.push(
            &cat::COLLECTOR_UP,
            ["disk".to_string(), format!("t{t}")],
            (generation % 2) as f64,
        );
    }
    Arc::new(f)
}

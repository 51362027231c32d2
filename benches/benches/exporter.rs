//! Exporter hot paths off the request path: encoding a snapshot (once per collection)
//! and parsing the config. Serving is measured by the load scripts, not here.

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use lakewatch_benches::{scale_own, scale_target, synthetic_fragments, trino_query_list};
use lakewatch_exporter::collector::Fragment;
use lakewatch_exporter::collector::trino::api::parse_query_list;
use lakewatch_exporter::config::{Config, DEFAULT_CONFIG};
use lakewatch_exporter::snapshot::{
    Encoder, Snapshot, encode_openmetrics, gzip, openmetrics_to_text,
};
use std::hint::black_box;
use std::sync::Arc;

fn snapshot(c: &mut Criterion) {
    let mut g = c.benchmark_group("snapshot");
    g.sample_size(10);
    for series in [1_000, 10_000, 100_000] {
        let fragments = synthetic_fragments(series);
        let om = encode_openmetrics(&fragments);
        g.throughput(Throughput::Elements(series as u64));
        g.bench_with_input(
            BenchmarkId::new("encode_openmetrics", series),
            &fragments,
            |b, f| b.iter(|| encode_openmetrics(black_box(f))),
        );
        g.bench_with_input(
            BenchmarkId::new("openmetrics_to_text", series),
            &om,
            |b, om| b.iter(|| openmetrics_to_text(black_box(om))),
        );
        g.bench_with_input(BenchmarkId::new("gzip", series), &om, |b, om| {
            b.iter(|| gzip(black_box(om.as_bytes())))
        });
        g.bench_with_input(BenchmarkId::new("build_all", series), &fragments, |b, f| {
            b.iter(|| Snapshot::build(black_box(f)))
        });
    }
    g.finish();
}

/// Issue 21: one publish when one of 10 targets has a new cycle (plus the self-metrics
/// fragment, new on every publish), full re-encode (the build before issue 21) against
/// the incremental `Encoder`, at 10k, 100k and 1M series. Each iteration replaces the
/// next target in turn with its other generation, so every publish has exactly one
/// changed target. Body sizes go to stderr.
fn scale(c: &mut Criterion) {
    const TARGETS: usize = 10;
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    for series in [10_000, 100_000, 1_000_000] {
        let per = series / TARGETS;
        let generations: [Vec<Arc<Fragment>>; 2] =
            [0, 1].map(|g| (0..TARGETS).map(|t| scale_target(per, t, g)).collect());
        let mut fragments: Vec<Arc<Fragment>> = generations[0].clone();
        fragments.push(scale_own(TARGETS, 0));
        let mut encoder = Encoder::default();
        let full = Snapshot::build(&fragments);
        let incremental = encoder.build(&fragments);
        eprintln!(
            "scale/{series}: OpenMetrics {} bytes plain, gzip {} full / {} incremental; \
             0.0.4 {} bytes plain, gzip {} full / {} incremental",
            full.openmetrics.plain.len(),
            full.openmetrics.gzip.len(),
            incremental.openmetrics.gzip.len(),
            full.text.plain.len(),
            full.text.gzip.len(),
            incremental.text.gzip.len(),
        );
        g.throughput(Throughput::Elements(series as u64));
        let mut cycle = 0u64;
        let mut next = |fragments: &mut Vec<Arc<Fragment>>| {
            cycle += 1;
            let t = (cycle as usize) % TARGETS;
            fragments[t] = generations[((cycle / TARGETS as u64) % 2) as usize ^ 1][t].clone();
            fragments[TARGETS] = scale_own(TARGETS, cycle);
        };
        g.bench_function(BenchmarkId::new("full", series), |b| {
            b.iter(|| {
                next(&mut fragments);
                Snapshot::build(black_box(&fragments))
            })
        });
        g.bench_function(BenchmarkId::new("incremental", series), |b| {
            b.iter(|| {
                next(&mut fragments);
                encoder.build(black_box(&fragments))
            })
        });
    }
    g.finish();
}

fn config(c: &mut Criterion) {
    c.bench_function("config/parse_default", |b| {
        b.iter(|| Config::parse(black_box(DEFAULT_CONFIG), "bench.yml").unwrap())
    });
}

/// One Trino poll's parse: a coordinator keeps finished queries listed for minutes, so
/// a busy cluster's `/v1/query` holds thousands of entries every cycle.
fn trino(c: &mut Criterion) {
    let mut g = c.benchmark_group("trino");
    g.sample_size(10);
    let body = trino_query_list(10_000);
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("parse_query_list/10000", |b| {
        b.iter(|| parse_query_list(black_box(&body)).unwrap().len())
    });
    g.finish();
}

criterion_group!(benches, snapshot, scale, config, trino);
criterion_main!(benches);

//! Exporter hot paths off the request path: encoding a snapshot (once per collection)
//! and parsing the config. Serving is measured by the load scripts, not here.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lakewatch_benches::{synthetic_fragments, trino_query_list};
use lakewatch_exporter::collector::trino::api::parse_query_list;
use lakewatch_exporter::config::{Config, DEFAULT_CONFIG};
use lakewatch_exporter::snapshot::{Snapshot, encode_openmetrics, gzip, openmetrics_to_text};
use std::hint::black_box;

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

criterion_group!(benches, snapshot, config, trino);
criterion_main!(benches);

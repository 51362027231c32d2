//! rulegen end to end, without file I/O: parse and validate spec files, generate the
//! multi-window multi-burn-rate rules, render them, render one SLO dashboard per service
//! and the Alertmanager routing tree. Issue 9's target: 10,000 SLOs in under 2 s.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use lakewatch_benches::slo_specs;
use lakewatch_rulegen::output::{self, Flavor};
use lakewatch_rulegen::rules::{self, SliSource};
use lakewatch_rulegen::{alertmanager, dashboard, parallel_map, spec};
use std::hint::black_box;

/// Everything `lakewatch-rulegen generate --dashboards --alertmanager` computes, on all
/// cores as it does; returns the number of bytes it would write.
fn pipeline(files: &[(String, String)]) -> usize {
    let services: Vec<_> = parallel_map(files, |(name, text)| {
        spec::load(name, text).expect("synthetic specs are valid")
    })
    .into_iter()
    .flatten()
    .collect();
    let bytes: usize = parallel_map(&services, |s| {
        let set = rules::generate(s, SliSource::Spec).expect("rules generate");
        let rules = output::render(Flavor::Plain, &s.name, &s.file, &set).len();
        rules + dashboard::slo_dashboard(s).map_or(0, |d| dashboard::render(&d).len())
    })
    .into_iter()
    .sum();
    bytes + alertmanager::render(&services, &alertmanager::Options::default()).len()
}

fn rulegen(c: &mut Criterion) {
    let mut g = c.benchmark_group("rulegen");
    g.sample_size(10);
    for slos in [10, 1_000, 10_000] {
        let files = slo_specs(slos);
        g.throughput(Throughput::Elements(slos as u64));
        g.bench_with_input(
            BenchmarkId::new("specs_to_rules_and_dashboards", slos),
            &files,
            |b, f| b.iter(|| pipeline(black_box(f))),
        );
    }
    g.finish();
}

criterion_group!(benches, rulegen);
criterion_main!(benches);

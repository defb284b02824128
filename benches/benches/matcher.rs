//! Matcher speed: preparing a template, and comparing prepared templates (the 1:N hot loop).
//!
//! `cargo bench -p ridgeline-benches --bench matcher`. Uses the FVC2002 DB1_B ISO templates
//! from `../shared` (skipped with a message where absent).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ridgeline::matcher::{MatchTemplate, Matcher};
use ridgeline::Template;

fn templates() -> Vec<Template> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/datasets/fvc2002/DB1_B");
    let mut out = Vec::new();
    for finger in 101..=110 {
        for impression in 1..=8 {
            let Ok(bytes) = std::fs::read(dir.join(format!("{finger}_{impression}.iso"))) else {
                continue;
            };
            if let Ok(t) = ridgeline::formats::decode_template(&bytes) {
                out.push(t);
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let templates = templates();
    if templates.is_empty() {
        eprintln!("SKIPPED: ../shared/datasets/fvc2002/DB1_B is absent");
        return;
    }
    let prepared: Vec<MatchTemplate> = templates.iter().map(MatchTemplate::prepare).collect();
    let matcher = Matcher::new();

    let mut group = c.benchmark_group("matcher");
    group.throughput(Throughput::Elements(templates.len() as u64));
    group.bench_function("prepare (80 DB1_B ISO templates)", |b| {
        b.iter(|| {
            templates
                .iter()
                .map(|t| MatchTemplate::prepare(black_box(t)).view().len())
                .sum::<usize>()
        })
    });
    // One probe against the whole prepared gallery, as in 1:N search.
    group.throughput(Throughput::Elements(prepared.len() as u64));
    group.bench_function("compare prepared probe vs 80 prepared entries", |b| {
        let probe = prepared[0].view();
        b.iter(|| prepared.iter().map(|g| matcher.compare(black_box(probe), g.view())).sum::<f64>())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

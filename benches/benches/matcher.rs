//! Matcher speed: preparing a template, and comparing prepared templates (the 1:N hot loop).
//!
//! `cargo bench -p ridgeline-benches --bench matcher`. Uses the FVC2002 ISO templates of the
//! four dev sets (DB1_B–DB4_B) from `../shared` (skipped with a message where absent).

use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ridgeline::matcher::{MatchTemplate, Matcher};
use ridgeline::Template;

/// The dev sets and their resolutions (DB2 is 569 dpi).
const DEV_SETS: [(&str, u32); 4] = [("DB1_B", 500), ("DB2_B", 569), ("DB3_B", 500), ("DB4_B", 500)];

/// The ISO templates of one dev set at its resolution (empty where the set is absent).
fn dev_set(set: &str, dpi: u32) -> Vec<Template> {
    let mut out = templates_in(set);
    for t in &mut out {
        t.dpi = dpi;
    }
    out
}

fn templates() -> Vec<Template> {
    templates_in("DB1_B")
}

fn templates_in(set: &str) -> Vec<Template> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/datasets/fvc2002")
        .join(set);
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
    bench_dev_sets(c, &matcher);
}

/// One comparison per element: each set's prepared probes in turn against all of its prepared
/// entries (every ordered pair over 80 iterations), per set, and the median of the four sets'
/// times, which is the figure the comparison rate is stated by (the sets differ in minutiae
/// counts, and the cost grows with their product).
fn bench_dev_sets(c: &mut Criterion, matcher: &Matcher) {
    let sets: Vec<(&str, Vec<MatchTemplate>)> = DEV_SETS
        .iter()
        .map(|&(set, dpi)| (set, dev_set(set, dpi).iter().map(MatchTemplate::prepare).collect()))
        .collect();
    if sets.iter().any(|(_, prepared)| prepared.is_empty()) {
        eprintln!("SKIPPED: a dev set under ../shared/datasets/fvc2002 is absent");
        return;
    }
    // Every set holds 80 templates, so each round is 80 comparisons in every set.
    let entries = sets[0].1.len();
    if sets.iter().any(|(_, prepared)| prepared.len() != entries) {
        eprintln!("SKIPPED: the dev sets under ../shared/datasets/fvc2002 differ in size");
        return;
    }
    // Probe `round % entries` against every entry of the set.
    let round = |prepared: &[MatchTemplate], round: u64| {
        let probe = prepared[round as usize % prepared.len()].view();
        prepared.iter().map(|g| matcher.compare(black_box(probe), g.view())).sum::<f64>()
    };
    let mut group = c.benchmark_group("matcher dev sets");
    group.throughput(Throughput::Elements(entries as u64));
    for (set, prepared) in &sets {
        group.bench_function(format!("compare, {set} probes vs its 80 entries"), |b| {
            let mut next = 0u64;
            b.iter(|| {
                next += 1;
                round(prepared, next)
            })
        });
    }
    // Each iteration runs a round in every set; the time reported is the median set's (the
    // mean of the middle two of four), so the run takes about four times the measured time.
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("compare, median of the four sets", |b| {
        b.iter_custom(|iters| {
            let mut times: Vec<Duration> = sets
                .iter()
                .map(|(_, prepared)| {
                    let start = Instant::now();
                    for r in 0..iters {
                        black_box(round(prepared, r));
                    }
                    start.elapsed()
                })
                .collect();
            times.sort();
            (times[1] + times[2]) / 2
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

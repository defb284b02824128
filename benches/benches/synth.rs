//! Synthesis speed: one 400 × 400 impression from its master (target: under 100 ms on one
//! core), one master, and one template-level impression (target: a million fingers in an hour).

use criterion::{criterion_group, criterion_main, Criterion};
use ridgeline_synth::{
    impression, ImpressionConfig, Master, MasterConfig, TemplateConfig, TemplateMaster,
};

fn bench(c: &mut Criterion) {
    let config = MasterConfig { width: 400, height: 400, ..MasterConfig::default() };
    // Masters are made once per finger and shared by all its impressions.
    let master = Master::generate(1, 1, &config).expect("master");
    let impressions = ImpressionConfig::default();
    let mut group = c.benchmark_group("synth");
    group.sample_size(20);
    let mut k = 0;
    group.bench_function("impression_400x400", |b| {
        b.iter(|| {
            k = k % 1000 + 1;
            impression::render(&master, 1, 1, k, 400, 400, &impressions).expect("render")
        })
    });
    let mut finger = 0;
    group.bench_function("master_400x400", |b| {
        b.iter(|| {
            finger += 1;
            Master::generate(1, finger, &config).expect("master")
        })
    });
    group.finish();
    let templates = TemplateConfig::default();
    let mut finger = 0;
    c.bench_function("synth/template_finger_8_impressions", |b| {
        b.iter(|| {
            finger += 1;
            let master = TemplateMaster::generate(1, finger, &templates);
            (1..=8)
                .map(|k| master.impression(1, finger, k, &templates).minutiae.len())
                .sum::<usize>()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

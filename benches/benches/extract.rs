//! Extraction speed on FVC2002 DB1_B (388 × 374 px, 500 dpi): one image per iteration, cycling
//! through the set, single-threaded. Target: median at most 10 ms on one core.
//!
//! `cargo bench -p ridgeline-benches --bench extract`
//!
//! Needs `../shared/datasets/fvc2002/DB1_B`; without it the benchmark says so and measures
//! nothing.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use ridgeline::extract::{Extractor, ExtractorConfig};
use ridgeline::FingerImage;

fn load_set(set: &str, dpi: u32) -> Vec<FingerImage> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/fvc2002").join(set);
    let mut paths: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "tif"))
            .collect(),
        Err(_) => {
            eprintln!("SKIPPED: {} is absent", dir.display());
            return Vec::new();
        }
    };
    paths.sort();
    paths.iter().filter_map(|p| FingerImage::open(p, Some(dpi)).ok()).collect()
}

fn extraction(c: &mut Criterion) {
    let extractor = Extractor::new(ExtractorConfig::default());
    for (set, dpi) in [("DB1_B", 500), ("DB3_B", 500)] {
        let images = load_set(set, dpi);
        if images.is_empty() {
            continue;
        }
        let mut next = 0;
        c.bench_function(&format!("extract/{set}"), |b| {
            b.iter(|| {
                let image = &images[next % images.len()];
                next += 1;
                extractor.extract(std::hint::black_box(image))
            })
        });
    }
}

criterion_group!(benches, extraction);
criterion_main!(benches);

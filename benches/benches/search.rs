//! 1:N identification speed: the coarse first stage per record, and whole searches (indexed and
//! exhaustive) over a synthetic gallery on disk.
//!
//! `cargo bench -p ridgeline-benches --bench search`. The gallery (synth crate templates,
//! seed 1) is built once in a temporary folder; its size is `RIDGELINE_BENCH_GALLERY`
//! (default 10,000). Larger galleries and rank-1 rates: `ridgeline bench search`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ridgeline::gallery::coarse_file::CoarseFile;
use ridgeline::gallery::{Enrolment, Gallery, SearchMode, SearchOptions};
use ridgeline::matcher::coarse::{coarse_score, Coarse};
use ridgeline::matcher::MatchTemplate;
use ridgeline::Template;
use ridgeline_synth::templates::{TemplateConfig, TemplateMaster};

const SEED: u64 = 1;

fn impression(finger: u64, impression: u32) -> Template {
    let config = TemplateConfig::default();
    TemplateMaster::generate(SEED, finger, &config).impression(SEED, finger, impression, &config)
}

fn bench(c: &mut Criterion) {
    let size: u64 = std::env::var("RIDGELINE_BENCH_GALLERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
        .max(100);

    // Coarse stage alone: one probe against 1,000 records in memory.
    let prepared: Vec<MatchTemplate> =
        (1..=1000).map(|f| MatchTemplate::prepare(&impression(f, 1))).collect();
    let coarse = CoarseFile::build(1000, |r| prepared.get(r as usize).map(|m| m.view()));
    let probe = Coarse::of(MatchTemplate::prepare(&impression(17, 2)).view());
    let mut group = c.benchmark_group("search");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("coarse score, 1,000 records, one thread", |b| {
        b.iter(|| {
            (0..1000u32)
                .filter_map(|r| coarse.record(r))
                .map(|w| coarse_score(black_box(&probe), w))
                .fold(0f32, f32::max)
        })
    });

    // Whole searches on a gallery on disk.
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("SKIPPED: no temporary folder ({e})");
            return;
        }
    };
    let Ok(gallery) = Gallery::create(dir.path()) else {
        eprintln!("SKIPPED: cannot create a gallery in {}", dir.path().display());
        return;
    };
    for first in (1..=size).step_by(4096) {
        let records: Vec<(String, Template)> = (first..(first + 4096).min(size + 1))
            .map(|f| (format!("f{f}"), impression(f, 1)))
            .collect();
        let batch: Vec<Enrolment<'_>> = records
            .iter()
            .map(|(id, t)| Enrolment { subject_id: id, finger: 1, template: t })
            .collect();
        if let Err(e) = gallery.enroll_batch(&batch) {
            eprintln!("SKIPPED: enrolment failed ({e})");
            return;
        }
    }
    gallery.build_coarse();
    let probes: Vec<Template> = (0..16).map(|j| impression(1 + (j * 7919) % size, 2)).collect();
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    for (mode, name) in [(SearchMode::Indexed, "indexed"), (SearchMode::Exhaustive, "exhaustive")] {
        let options = SearchOptions::new(10, None, mode);
        let mut next = 0;
        group.bench_function(format!("identify, {size} records, {name}"), |b| {
            b.iter(|| {
                next = (next + 1) % probes.len();
                gallery.identify(&probes[next], &options).map(|r| r.candidates.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! One point of the template trade-off curve: dev-set EER, bytes per prepared template and
//! comparison time for the cylinder geometry this build was compiled with
//! (`matcher/parameters.rs`). `scripts/template-tradeoff` builds it once per geometry and draws
//! the curve.
//!
//! ```text
//! cargo run --release -p ridgeline --example template_tradeoff -- ../shared/datasets/fvc2002 [KEEP]
//! ```
//!
//! `KEEP` caps the minutiae kept per template, best quality first (default: all the prepared
//! form holds). The last line of the output is one JSON object.

use rayon::prelude::*;
use ridgeline::matcher::parameters::{
    ANGULAR_CELLS as ANGULAR_CELLS_USED, MAX_PREPARED_MINUTIAE,
    SPATIAL_CELLS as SPATIAL_CELLS_USED, SPATIAL_SIGMA_PX,
};
use ridgeline::matcher::CYLINDER_WORDS;
use ridgeline::matcher::{MatchTemplate, Matcher};

#[path = "support/thread_time.rs"]
mod thread_time;
use thread_time::thread_cpu_seconds;

#[path = "support/fvc.rs"]
mod fvc;
use fvc::{extract, SETS};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args().nth(1).ok_or("usage: template_tradeoff DATASETS_DIR/fvc2002")?;
    let keep: Option<usize> = std::env::args().nth(2).map(|s| s.parse()).transpose()?;
    let matcher = Matcher::new();
    let mut eers = Vec::new();
    let mut counts = Vec::new();
    let mut times = Vec::new();
    let mut fnmrs = Vec::new();
    for (set, dpi) in SETS {
        let loaded: Vec<(u32, Option<ridgeline::Template>)> = (101..=110u32)
            .flat_map(|f| (1..=8u32).map(move |i| (f, i)))
            .collect::<Vec<_>>()
            .par_iter()
            .map(|&(f, i)| (f, extract(&format!("{root}/{set}/{f}_{i}.tif"), dpi)))
            .collect();
        let prepared: Vec<(u32, Option<MatchTemplate>)> = loaded
            .iter()
            .map(|(f, t)| {
                (
                    *f,
                    t.as_ref().map(|t| {
                        let mut t = t.clone();
                        if let Some(k) = keep {
                            t.minutiae.sort_by_key(|m| std::cmp::Reverse(m.quality));
                            t.minutiae.truncate(k);
                        }
                        MatchTemplate::prepare(&t)
                    }),
                )
            })
            .collect();
        counts.extend(prepared.iter().filter_map(|p| p.1.as_ref().map(|p| p.view().len())));
        let pairs: Vec<(usize, usize)> = (0..prepared.len())
            .flat_map(|a| (a + 1..prepared.len()).map(move |b| (a, b)))
            .collect();
        let scored: Vec<(bool, f64)> = pairs
            .par_iter()
            .map(|&(a, b)| {
                let genuine = prepared[a].0 == prepared[b].0;
                let score = match (&prepared[a].1, &prepared[b].1) {
                    (Some(x), Some(y)) => matcher.compare(x.view(), y.view()),
                    _ => 0.0,
                };
                (genuine, score)
            })
            .collect();
        let genuine: Vec<f64> = scored.iter().filter(|s| s.0).map(|s| s.1).collect();
        let impostor: Vec<f64> = scored.iter().filter(|s| !s.0).map(|s| s.1).collect();
        let eer = ridgeline::eval::eer(&genuine, &impostor).unwrap_or(f64::NAN) * 100.0;
        let fnmr = ridgeline::eval::fnmr_at_fmr(&genuine, &impostor, 1e-3)
            .map_or(f64::NAN, |p| p.fnmr * 100.0);
        // One thread, every ordered pair: CPU time per comparison on one core, which other
        // processes on the machine barely disturb.
        let ready: Vec<&MatchTemplate> = prepared.iter().filter_map(|p| p.1.as_ref()).collect();
        let start = thread_cpu_seconds();
        let mut n = 0u32;
        let mut sink = 0.0;
        for a in &ready {
            for b in &ready {
                sink += matcher.compare(a.view(), b.view());
                n += 1;
            }
        }
        let us = (thread_cpu_seconds() - start) * 1e6 / n as f64;
        std::hint::black_box(sink);
        println!("{set}: EER {eer:.2} %  FNMR@0.1% {fnmr:.2} %  compare {us:.1} us");
        eers.push(eer);
        fnmrs.push(fnmr);
        times.push(us);
    }
    let mean_count = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
    let max_count = counts.iter().copied().max().unwrap_or(0);
    let cylinder_bytes = CYLINDER_WORDS * 8;
    // Prepared bytes if only the cylinders in use were stored (header, then a minutia
    // record and a cylinder per kept minutia); the fixed-stride form stores the maximum.
    let slot = ridgeline::matcher::MINUTIA_RECORD_LEN + cylinder_bytes;
    let report = serde_json::json!({
        "spatial_cells": SPATIAL_CELLS_USED,
        "angular_cells": ANGULAR_CELLS_USED,
        "spatial_sigma_px": SPATIAL_SIGMA_PX,
        "keep": keep,
        "cylinder_bytes": cylinder_bytes,
        "mean_cylinders": mean_count,
        "max_cylinders": max_count,
        "mean_prepared_bytes": 16.0 + mean_count * slot as f64,
        "fixed_prepared_bytes": 16 + keep.unwrap_or(MAX_PREPARED_MINUTIAE).min(MAX_PREPARED_MINUTIAE) * slot,
        "eer_percent": eers,
        "fnmr_at_fmr_0_1_percent": fnmrs,
        "compare_us": times,
        "kernel": matcher.kernel().name(),
    });
    println!("{report}");
    Ok(())
}

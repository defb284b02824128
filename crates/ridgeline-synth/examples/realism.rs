//! Realism check: genuine and impostor score distributions and EER of the extractor and matcher
//! on a data set in FVC layout, e.g. generated `ridgeline synth` output beside FVC2002 DB4_B.
//!
//! `cargo run --release -p ridgeline-synth --example realism DIR [EXT] [DPI]`
//!
//! Protocol: genuine = every pair of impressions of a finger; impostor = every pair of first
//! impressions of two fingers (FVC), plus, with `all` as fourth argument, every cross-finger pair.
use rayon::prelude::*;
use ridgeline::extract::{Extractor, ExtractorConfig};
use ridgeline::matcher::{MatchTemplate, Matcher};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).ok_or("usage: realism DIR [EXT] [DPI] [all]")?);
    let ext = args.get(2).map(String::as_str).unwrap_or("png");
    let dpi: Option<u32> = args.get(3).and_then(|d| d.parse().ok());
    let all = args.get(4).is_some_and(|a| a == "all");
    let mut samples = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == ext) {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
            if let Some((f, i)) = stem.split_once('_') {
                if let (Ok(f), Ok(i)) = (f.parse::<u64>(), i.parse::<u32>()) {
                    samples.push((f, i, path));
                }
            }
        }
    }
    samples.sort();
    let extractor = Extractor::new(ExtractorConfig::default());
    let prepared: Vec<(u64, u32, Option<MatchTemplate>, usize)> = samples
        .par_iter()
        .map(|(f, i, path)| {
            let template = ridgeline::FingerImage::open(path, dpi)
                .and_then(|img| extractor.extract(&img))
                .ok();
            let count = template.as_ref().map_or(0, |t| t.minutiae.len());
            (*f, *i, template.as_ref().map(MatchTemplate::prepare), count)
        })
        .collect();
    let matcher = Matcher::new();
    let score = |a: &Option<MatchTemplate>, b: &Option<MatchTemplate>| match (a, b) {
        (Some(a), Some(b)) => matcher.compare(a.view(), b.view()),
        _ => 0.0,
    };
    let mut genuine_pairs = Vec::new();
    let mut impostor_pairs = Vec::new();
    for a in 0..prepared.len() {
        for b in a + 1..prepared.len() {
            let (fa, ia) = (prepared[a].0, prepared[a].1);
            let (fb, ib) = (prepared[b].0, prepared[b].1);
            if fa == fb {
                genuine_pairs.push((a, b));
            } else if all || (ia == 1 && ib == 1) {
                impostor_pairs.push((a, b));
            }
        }
    }
    let genuine: Vec<f64> =
        genuine_pairs.par_iter().map(|&(a, b)| score(&prepared[a].2, &prepared[b].2)).collect();
    let impostor: Vec<f64> =
        impostor_pairs.par_iter().map(|&(a, b)| score(&prepared[a].2, &prepared[b].2)).collect();
    let q = |v: &[f64], p: f64| ridgeline_synth::stats::quantile(v, p);
    let counts: Vec<f64> = prepared.iter().map(|p| p.3 as f64).collect();
    let report = serde_json::json!({
        "images": prepared.len(),
        "failed_to_extract": prepared.iter().filter(|p| p.2.is_none()).count(),
        "minutiae_mean": ridgeline_synth::stats::mean(&counts),
        "genuine": genuine.len(),
        "impostor": impostor.len(),
        "eer": ridgeline::eval::eer(&genuine, &impostor),
        "fnmr_at_fmr_1e-2": ridgeline::eval::fnmr_at_fmr(&genuine, &impostor, 1e-2).map(|p| p.fnmr),
        "genuine_quantiles_10_50_90": [q(&genuine, 0.1), q(&genuine, 0.5), q(&genuine, 0.9)],
        "impostor_quantiles_50_90_99": [q(&impostor, 0.5), q(&impostor, 0.9), q(&impostor, 0.99)],
    });
    println!("{report}");
    Ok(())
}

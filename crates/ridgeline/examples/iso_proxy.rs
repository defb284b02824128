//! Proxy for extraction accuracy until matching accuracy can be measured: agreement of our
//! minutiae with the commercial (SecuGen) ISO 19794-2 templates stored beside the FVC2002 images.
//!
//! `cargo run --release -p ridgeline --example iso_proxy [MAX_PX] [MAX_DEG] [stretch|centre]`
//!
//! The SecuGen templates state 300 × 400 px for every image: their coordinates are those of the
//! image stretched to that size (a centred crop fits far worse), so they are mapped back.
//!
//! Per set: recall (share of the commercial minutiae we also find, within MAX_PX pixels and
//! MAX_DEG degrees), precision (share of ours the commercial extractor also has), the share of
//! position-matched pairs whose directions agree (by kind), and extraction time.

use std::path::PathBuf;
use std::time::Instant;

use ridgeline::extract::{Extractor, ExtractorConfig};
use ridgeline::{FingerImage, MinutiaKind, Template};

#[path = "support/fvc.rs"]
mod fvc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let max_px: f32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let max_deg: f32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(30.0);
    let mode = args.get(3).cloned().unwrap_or_else(|| "stretch".into());
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/fvc2002");
    if !root.is_dir() {
        eprintln!("SKIPPED: {} is absent", root.display());
        return;
    }
    let extractor = Extractor::new(ExtractorConfig::default());
    println!("set    recall  precision  ours/img  theirs/img  dir_ok(end) dir_ok(bif) kind_ok  median_ms");
    for (set, dpi) in fvc::SETS {
        let mut totals = Totals::default();
        let mut times = Vec::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(root.join(set))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "tif"));
        names.sort();
        for path in &names {
            let Ok(image) = FingerImage::open(path, Some(dpi)) else { continue };
            let started = Instant::now();
            let Ok(ours) = extractor.extract(&image) else { continue };
            times.push(started.elapsed().as_secs_f64() * 1e3);
            let Ok(bytes) = std::fs::read(path.with_extension("iso")) else { continue };
            let Ok(mut theirs) = ridgeline::formats::decode_template(&bytes) else { continue };
            to_image_frame(&mut theirs, &image, &mode);
            totals.add(&ours, &theirs, max_px, max_deg.to_radians());
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
        let n = names.len().max(1) as f32;
        println!(
            "{set}  {:.3}   {:.3}      {:6.1}    {:6.1}      {:.2}        {:.2}        {:.2}    {:.2}",
            totals.matched_theirs as f32 / totals.theirs.max(1) as f32,
            totals.matched_ours as f32 / totals.ours.max(1) as f32,
            totals.ours as f32 / n,
            totals.theirs as f32 / n,
            totals.dir_ok[0] as f32 / totals.dir_pairs[0].max(1) as f32,
            totals.dir_ok[1] as f32 / totals.dir_pairs[1].max(1) as f32,
            totals.kind_ok as f32 / totals.dir_pairs.iter().sum::<usize>().max(1) as f32,
            median
        );
    }
}

#[derive(Default)]
struct Totals {
    ours: usize,
    theirs: usize,
    matched_ours: usize,
    matched_theirs: usize,
    dir_pairs: [usize; 2],
    dir_ok: [usize; 2],
    kind_ok: usize,
}

fn angle_diff(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(std::f32::consts::TAU);
    d.min(std::f32::consts::TAU - d)
}

impl Totals {
    fn add(&mut self, ours: &Template, theirs: &Template, max_px: f32, max_rad: f32) {
        self.ours += ours.minutiae.len();
        self.theirs += theirs.minutiae.len();
        let close = |a: &ridgeline::Minutia, b: &ridgeline::Minutia| {
            ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt() <= max_px
        };
        for o in &ours.minutiae {
            if theirs
                .minutiae
                .iter()
                .any(|t| close(o, t) && angle_diff(o.angle, t.angle) <= max_rad)
            {
                self.matched_ours += 1;
            }
        }
        for t in &theirs.minutiae {
            if ours.minutiae.iter().any(|o| close(o, t) && angle_diff(o.angle, t.angle) <= max_rad)
            {
                self.matched_theirs += 1;
            }
            // Direction and kind agreement on position-only matches (nearest of ours).
            let nearest = ours.minutiae.iter().filter(|o| close(o, t)).min_by(|a, b| {
                let da = (a.x - t.x).powi(2) + (a.y - t.y).powi(2);
                let db = (b.x - t.x).powi(2) + (b.y - t.y).powi(2);
                da.total_cmp(&db)
            });
            if let Some(o) = nearest {
                let k = usize::from(t.kind == MinutiaKind::Bifurcation);
                self.dir_pairs[k] += 1;
                self.dir_ok[k] += usize::from(angle_diff(o.angle, t.angle) <= max_rad);
                self.kind_ok += usize::from(o.kind == t.kind);
            }
        }
    }
}

/// The SecuGen templates state 300 x 400 px whatever the image size: map their coordinates into
/// the image, either as a centred crop/pad ("centre") or a stretch ("stretch").
fn to_image_frame(t: &mut Template, image: &FingerImage, mode: &str) {
    let (w, h) = (image.width() as f32, image.height() as f32);
    for m in &mut t.minutiae {
        if mode == "stretch" {
            m.x *= w / 300.0;
            m.y *= h / 400.0;
        } else if mode == "centre" {
            m.x += (w - 300.0) / 2.0;
            m.y += (h - 400.0) / 2.0;
        }
    }
}

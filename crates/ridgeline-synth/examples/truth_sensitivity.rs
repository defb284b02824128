//! Where a synthetic set's errors come from: the matcher on the ground-truth minutiae, on the
//! extractor's minutiae split into the true and the false ones, and on the truth degraded in one
//! way at a time (minutiae missed, spurious ones added, positions and directions jittered).
//!
//! `cargo run --release -p ridgeline-synth --example truth_sensitivity -- DIR...`
//!
//! Each `DIR` is a synthetic set in FVC layout with its `truth/` folder (`ridgeline synth` or
//! `ridgeline eval-stress --out`). Every variant is compared with protocol `all`; EER and FNMR at
//! FMR 10⁻³ in %. The degradations draw from a fixed seed, so the output is deterministic.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use ridgeline::matcher::{MatchTemplate, Matcher};
use ridgeline::{Extractor, FingerImage, Minutia, MinutiaKind, Template};
use ridgeline_synth::rng::{Purpose, Rng};
use ridgeline_synth::truth::{self, Tolerance};

/// Seed of the degradations (any fixed value; one stream per print and variant).
const SEED: u64 = 20_261_207;

/// One print: its finger, the ground truth and the extractor's template.
struct Print {
    finger: String,
    truth: Template,
    extracted: Template,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        return Err("usage: truth_sensitivity DIR... (synthetic sets with truth/)".into());
    }
    for dir in dirs {
        let prints = load(&dir)?;
        println!("{} ({} prints)", dir.display(), prints.len());
        println!("| minutiae | mean per print | EER | FNMR @ FMR 0.1 % |");
        println!("|---|---|---|---|");
        let extracted: Vec<Template> = prints.iter().map(|p| p.extracted.clone()).collect();
        let truth: Vec<Template> = prints.iter().map(|p| p.truth.clone()).collect();
        let (found, false_ones): (Vec<Template>, Vec<Template>) =
            prints.iter().map(split_extracted).unzip();
        let with_false: Vec<Template> = prints
            .iter()
            .zip(&false_ones)
            .map(|(p, f)| with_minutiae(&p.truth, [&p.truth.minutiae[..], &f.minutiae].concat()))
            .collect();
        report(&prints, "the extractor's", &extracted);
        report(&prints, "true", &truth);
        report(&prints, "the extractor's true ones only (false ones removed)", &found);
        report(&prints, "true, with the extractor's false ones added", &with_false);
        for share in [0.2, 0.4] {
            let v = degrade(&truth, share, |t, rng| dropped(t, share, rng));
            report(&prints, &format!("true, {:.0} % missed at random", share * 100.0), &v);
        }
        for share in [0.3, 0.6] {
            let v = degrade(&truth, share, |t, rng| spurious(t, share, rng));
            report(&prints, &format!("true, {:.0} % more at random", share * 100.0), &v);
        }
        for px in [3.0, 6.0] {
            let v = degrade(&truth, px, |t, rng| jittered(t, px, rng));
            report(&prints, &format!("true, jittered up to {px} px and 11°"), &v);
        }
        println!();
    }
    Ok(())
}

/// Every `<finger>_<impression>.png` of `dir` with its truth, extracted.
fn load(dir: &Path) -> Result<Vec<Print>, Box<dyn std::error::Error>> {
    let mut images: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    images.sort();
    let prints: Result<Vec<Print>, String> = images
        .par_iter()
        .map(|path| {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let finger = stem.split('_').next().unwrap_or_default().to_string();
            let image = FingerImage::open(path, None).map_err(|e| format!("{stem}: {e}"))?;
            let extracted =
                Extractor::default().extract(&image).map_err(|e| format!("{stem}: {e}"))?;
            let truth_path = dir.join("truth").join(format!("{stem}.json"));
            let minutiae = truth::load(&truth_path).map_err(|e| format!("{stem}: {e}"))?;
            let truth = with_minutiae(&extracted, minutiae);
            Ok(Print { finger, truth, extracted })
        })
        .collect();
    let prints = prints?;
    if prints.len() < 4 {
        return Err(format!("{}: fewer than 4 prints", dir.display()).into());
    }
    Ok(prints)
}

/// `template` with other minutiae and no singular points.
fn with_minutiae(template: &Template, minutiae: Vec<Minutia>) -> Template {
    Template { minutiae, singular_points: Vec::new(), ..template.clone() }
}

/// The extractor's minutiae that match a true one (within 10 px and 30°, one to one), and the
/// others.
fn split_extracted(p: &Print) -> (Template, Template) {
    let detected = &p.extracted.minutiae;
    let mut matched = vec![false; detected.len()];
    for a in truth::assign(&p.truth.minutiae, detected, Tolerance::default()) {
        matched[a.detected] = true;
    }
    let pick = |keep: bool| {
        let kept =
            detected.iter().zip(&matched).filter(|(_, &m)| m == keep).map(|(d, _)| *d).collect();
        Template { minutiae: kept, ..p.extracted.clone() }
    };
    (pick(true), pick(false))
}

/// Each template degraded by `f` with its own random stream (`tag` tells variants apart).
fn degrade(
    templates: &[Template],
    tag: f64,
    f: impl Fn(&Template, &mut Rng) -> Vec<Minutia>,
) -> Vec<Template> {
    templates
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut rng = Rng::stream(SEED ^ tag.to_bits(), i as u64, 0, Purpose::Condition);
            with_minutiae(t, f(t, &mut rng))
        })
        .collect()
}

fn dropped(t: &Template, share: f64, rng: &mut Rng) -> Vec<Minutia> {
    t.minutiae.iter().filter(|_| !rng.chance(share)).copied().collect()
}

/// The minutiae and `share` as many more, uniform over their bounding box in any direction.
fn spurious(t: &Template, share: f64, rng: &mut Rng) -> Vec<Minutia> {
    let mut out = t.minutiae.clone();
    let (mut x0, mut x1, mut y0, mut y1) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
    for m in &t.minutiae {
        (x0, x1, y0, y1) = (x0.min(m.x), x1.max(m.x), y0.min(m.y), y1.max(m.y));
    }
    let extra = (t.minutiae.len() as f64 * share).round() as usize;
    for _ in 0..extra {
        out.push(Minutia {
            x: rng.uniform(x0 as f64, x1 as f64) as f32,
            y: rng.uniform(y0 as f64, y1 as f64) as f32,
            angle: rng.uniform(0.0, std::f64::consts::TAU) as f32,
            kind: if rng.chance(0.5) { MinutiaKind::Ending } else { MinutiaKind::Bifurcation },
            quality: 100,
        });
    }
    out
}

/// Each minutia moved by up to `px` along each axis and turned by up to 11°.
fn jittered(t: &Template, px: f64, rng: &mut Rng) -> Vec<Minutia> {
    let turn = 11f64.to_radians();
    t.minutiae
        .iter()
        .map(|m| Minutia {
            x: m.x + rng.uniform(-px, px) as f32,
            y: m.y + rng.uniform(-px, px) as f32,
            angle: (m.angle as f64 + rng.uniform(-turn, turn)).rem_euclid(std::f64::consts::TAU)
                as f32,
            ..*m
        })
        .collect()
}

/// One table row: protocol `all` over `templates` (in the order of `prints`).
fn report(prints: &[Print], label: &str, templates: &[Template]) {
    let matcher = Matcher::new();
    let prepared: Vec<MatchTemplate> = templates.iter().map(MatchTemplate::prepare).collect();
    let n = prints.len();
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|a| (a + 1..n).map(move |b| (a, b))).collect();
    let scored: Vec<(bool, f64)> = pairs
        .par_iter()
        .map(|&(a, b)| {
            let genuine = prints[a].finger == prints[b].finger;
            (genuine, matcher.compare(prepared[a].view(), prepared[b].view()))
        })
        .collect();
    let genuine: Vec<f64> = scored.iter().filter(|s| s.0).map(|s| s.1).collect();
    let impostor: Vec<f64> = scored.iter().filter(|s| !s.0).map(|s| s.1).collect();
    let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.2}", v * 100.0));
    let mean = templates.iter().map(|t| t.minutiae.len()).sum::<usize>() as f64 / n as f64;
    println!(
        "| {label} | {mean:.1} | {} | {} |",
        pct(ridgeline::eval::eer(&genuine, &impostor)),
        pct(ridgeline::eval::fnmr_at_fmr(&genuine, &impostor, 1e-3).map(|p| p.fnmr)),
    );
}

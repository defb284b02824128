//! Realism check: genuine and impostor score distributions, EER and FNMR at fixed FMRs of the
//! extractor and matcher on data sets in FVC layout, e.g. generated `ridgeline synth` output
//! beside FVC2002 DB4_B, with an optional plot of both.
//!
//! `cargo run --release -p ridgeline-synth --example realism -- [--all] [--plot OUT.svg]
//!  LABEL=DIR[:EXT[:DPI]]...`
//!
//! Protocol, as `ridgeline eval`: genuine = every pair of impressions of a finger; impostor =
//! every pair of first impressions of two fingers (`fvc`), or with `--all` every cross-finger
//! pair. One JSON line per data set; the plot shows, per data set, the score histograms (share
//! of comparisons per 0.01-wide score bin, log scale) and, in a last panel, the DET curves.
use rayon::prelude::*;
use ridgeline::extract::{Extractor, ExtractorConfig};
use ridgeline::matcher::{MatchTemplate, Matcher};

/// Width of a histogram bin, in score units.
const BIN_WIDTH: f64 = 0.01;
/// Scores above this are counted in the last bin.
const SCORE_AXIS_MAX: f64 = 0.6;

struct DataSet {
    label: String,
    genuine: Vec<f64>,
    impostor: Vec<f64>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut all = false;
    let mut plot = None;
    let mut specs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--all" => all = true,
            "--plot" => plot = Some(std::path::PathBuf::from(args.next().ok_or("--plot OUT.svg")?)),
            _ => specs.push(arg),
        }
    }
    if specs.is_empty() {
        return Err("usage: realism [--all] [--plot OUT.svg] LABEL=DIR[:EXT[:DPI]]...".into());
    }
    let mut sets = Vec::new();
    for spec in &specs {
        let (label, rest) = spec.split_once('=').unwrap_or((spec.as_str(), spec.as_str()));
        let mut parts = rest.split(':');
        let dir = std::path::PathBuf::from(parts.next().unwrap_or_default());
        let ext = parts.next().unwrap_or("png");
        let dpi: Option<u32> = parts.next().and_then(|d| d.parse().ok());
        let set = measure(label, &dir, ext, dpi, all)?;
        sets.push(set);
    }
    if let Some(path) = plot {
        draw(&path, &sets, all)?;
    }
    Ok(())
}

/// Extracts, compares and prints one JSON line for a data set.
fn measure(
    label: &str,
    dir: &std::path::Path,
    ext: &str,
    dpi: Option<u32>,
    all: bool,
) -> Result<DataSet, Box<dyn std::error::Error>> {
    let mut samples = Vec::new();
    for entry in std::fs::read_dir(dir)? {
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
    let first_impression = |f: u64| prepared.iter().filter(|p| p.0 == f).map(|p| p.1).min();
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
            } else if all || (Some(ia) == first_impression(fa) && Some(ib) == first_impression(fb))
            {
                impostor_pairs.push((a, b));
            }
        }
    }
    let genuine: Vec<f64> =
        genuine_pairs.par_iter().map(|&(a, b)| score(&prepared[a].2, &prepared[b].2)).collect();
    let impostor: Vec<f64> =
        impostor_pairs.par_iter().map(|&(a, b)| score(&prepared[a].2, &prepared[b].2)).collect();
    let q = |v: &[f64], p: f64| ridgeline_synth::stats::quantile(v, p);
    let at = |x: f64| ridgeline::eval::fnmr_at_fmr(&genuine, &impostor, x).map(|p| p.fnmr);
    let counts: Vec<f64> = prepared.iter().map(|p| p.3 as f64).collect();
    let report = serde_json::json!({
        "label": label,
        "images": prepared.len(),
        "failed_to_extract": prepared.iter().filter(|p| p.2.is_none()).count(),
        "minutiae_mean": ridgeline_synth::stats::mean(&counts),
        "genuine": genuine.len(),
        "impostor": impostor.len(),
        "eer": ridgeline::eval::eer(&genuine, &impostor),
        "fnmr_at_fmr_1e-2": at(1e-2),
        "fnmr_at_fmr_1e-3": at(1e-3),
        "genuine_mean": ridgeline_synth::stats::mean(&genuine),
        "genuine_quantiles_10_50_90": [q(&genuine, 0.1), q(&genuine, 0.5), q(&genuine, 0.9)],
        "impostor_quantiles_50_90_99": [q(&impostor, 0.5), q(&impostor, 0.9), q(&impostor, 0.99)],
    });
    println!("{report}");
    Ok(DataSet { label: label.to_string(), genuine, impostor })
}

/// Share of `scores` per bin of [`BIN_WIDTH`] on `0..SCORE_AXIS_MAX` (the last bin also holds
/// higher scores).
fn histogram(scores: &[f64]) -> Vec<f64> {
    let bins = (SCORE_AXIS_MAX / BIN_WIDTH).round() as usize;
    let mut counts = vec![0usize; bins];
    for &s in scores {
        let bin = ((s.max(0.0) / BIN_WIDTH) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let n = scores.len().max(1) as f64;
    counts.into_iter().map(|c| c as f64 / n).collect()
}

/// Smallest step, in decades on either axis, between two drawn DET points: hundreds of
/// thousands of operating points would make a multi-megabyte SVG without changing the picture.
const DET_STEP_DECADES: f64 = 0.005;

/// The DET points that move at least [`DET_STEP_DECADES`] from the last kept one, and the last.
fn thinned(points: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut kept: Vec<(f64, f64)> = Vec::new();
    let mut last = None;
    for p in points {
        let far = kept.last().map_or(true, |&(x, y)| {
            (p.0.log10() - x.log10()).abs() >= DET_STEP_DECADES
                || (p.1.log10() - y.log10()).abs() >= DET_STEP_DECADES
        });
        if far {
            kept.push(p);
            last = None;
        } else {
            last = Some(p);
        }
    }
    kept.extend(last);
    kept
}

/// One histogram panel per data set, then a DET panel with every data set's curve.
fn draw(
    path: &std::path::Path,
    sets: &[DataSet],
    all: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;

    const PANEL_PX: (u32, u32) = (480, 420);
    let palette = [RGBColor(31, 119, 180), RGBColor(214, 39, 40), RGBColor(44, 160, 44)];
    let root = SVGBackend::new(path, (PANEL_PX.0 * (sets.len() as u32 + 1), PANEL_PX.1))
        .into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, sets.len() + 1));
    let share_floor = 1e-5;
    for (set, panel) in sets.iter().zip(&panels) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("{}: score distributions", set.label), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..SCORE_AXIS_MAX, (share_floor..1.0).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("score")
            .y_desc("share of comparisons per 0.01")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()?;
        let kinds = [
            (&set.genuine, palette[0], format!("genuine ({})", set.genuine.len())),
            (&set.impostor, palette[1], format!("impostor ({})", set.impostor.len())),
        ];
        for (scores, colour, label) in kinds {
            let shares = histogram(scores);
            chart.draw_series(shares.iter().enumerate().filter(|(_, &s)| s > 0.0).map(
                |(k, &s)| {
                    let x0 = k as f64 * BIN_WIDTH;
                    Rectangle::new(
                        [(x0, share_floor), (x0 + BIN_WIDTH, s)],
                        colour.mix(0.35).filled(),
                    )
                },
            ))?;
            let outline = shares.iter().enumerate().flat_map(|(k, &s)| {
                let x0 = k as f64 * BIN_WIDTH;
                let s = s.max(share_floor);
                [(x0, s), (x0 + BIN_WIDTH, s)]
            });
            chart
                .draw_series(LineSeries::new(outline, ShapeStyle::from(&colour).stroke_width(1)))?
                .label(label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 16, y + 5)], colour.filled())
                });
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
    }

    let impostors = sets.iter().map(|s| s.impostor.len()).min().unwrap_or(1).max(1);
    let genuines = sets.iter().map(|s| s.genuine.len()).min().unwrap_or(1).max(1);
    let floor_fmr = (1.0 / impostors as f64).min(1e-3) / 2.0;
    let floor_fnmr = (1.0 / genuines as f64).min(1e-2) / 2.0;
    let det_panel = &panels[sets.len()];
    let protocol = if all { "all cross-finger impostors" } else { "FVC impostors" };
    let mut chart = ChartBuilder::on(det_panel)
        .caption(format!("DET ({protocol})"), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d((floor_fmr..1.0).log_scale(), (floor_fnmr..1.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("FMR")
        .y_desc("FNMR")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    for (k, set) in sets.iter().enumerate() {
        let colour = palette[(k + 2) % palette.len()];
        let colour = if k == 0 { RGBColor(0, 0, 0) } else { colour };
        let points = thinned(
            ridgeline::eval::det_curve(&set.genuine, &set.impostor)
                .iter()
                .map(|p| (p.fmr.max(floor_fmr), p.fnmr.max(floor_fnmr))),
        );
        let eer = ridgeline::eval::eer(&set.genuine, &set.impostor).unwrap_or(f64::NAN);
        chart
            .draw_series(LineSeries::new(points, ShapeStyle::from(&colour).stroke_width(2)))?
            .label(format!("{} (EER {:.2} %)", set.label, eer * 100.0))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}

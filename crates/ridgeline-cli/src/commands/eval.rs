//! `ridgeline eval DATASET [--protocol fvc|all] [--dpi N] [--ext EXT] [--json] [--det OUT.svg]
//! [--erc OUT.svg] [--erc-fmr F]`: accuracy of extraction plus matching on a dataset in FVC
//! layout (`<finger>_<impression>.<ext>`).
//!
//! The error-versus-reject curve (`erc` in the JSON, `--erc` draws it) fixes the threshold where
//! all impostor comparisons give FMR `--erc-fmr` (default 10⁻³), rejects the prints of lowest
//! image quality and reports the FNMR of the genuine comparisons left; a print that failed to
//! extract has quality 0.
//!
//! Protocol `fvc`: genuine = every pair of impressions of one finger (i < j); impostor = the
//! first impression of each finger against the first of every other finger. Protocol `all`:
//! every cross-finger pair is an impostor. A file that fails to load or extract counts in
//! `failed_to_extract`, and its comparisons score 0 (a rejection), as in the FVC protocol.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use ridgeline::eval;
use ridgeline::matcher::{MatchTemplate, Matcher};
use ridgeline_link::record::csv_field;

use super::compare::load_template;
use super::eval_diff::SCORE_FILE_HEADER;

/// Arguments of `ridgeline eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder in FVC layout: `<finger>_<impression>.<ext>`.
    pub dataset: PathBuf,
    /// `fvc` (FVC impostors: first impressions only) or `all` (every cross-finger pair).
    #[arg(long, default_value = "fvc", value_parser = ["fvc", "all"])]
    pub protocol: String,
    /// Resolution of images (and templates) whose files state none or a wrong one.
    #[arg(long)]
    pub dpi: Option<u32>,
    /// Which files to use where the folder holds several kinds, e.g. `iso` (default: images,
    /// the first of tif, bmp, png, wsq, pgm, jpg found).
    #[arg(long)]
    pub ext: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Draw the DET curve into this SVG file.
    #[arg(long)]
    pub det: Option<PathBuf>,
    /// Draw the error-versus-reject curve (FNMR against the share of prints rejected by image
    /// quality) into this SVG file.
    #[arg(long)]
    pub erc: Option<PathBuf>,
    /// False match rate at which the error-versus-reject curve fixes its threshold.
    #[arg(long, default_value_t = 1e-3)]
    pub erc_fmr: f64,
    /// Write every comparison's score into this CSV file (`docs/FORMATS.md`, "Score file"), for
    /// `ridgeline eval-diff`.
    #[arg(long)]
    pub scores: Option<PathBuf>,
}

/// Image extensions tried, in order, when `--ext` is not given.
const IMAGE_EXTENSIONS: [&str; 7] = ["tif", "tiff", "bmp", "png", "wsq", "pgm", "jpg"];

/// One sample of the dataset.
#[derive(Debug)]
pub(crate) struct Sample {
    pub(crate) finger: String,
    pub(crate) impression: u32,
    pub(crate) path: PathBuf,
}

/// Everything one evaluation measured.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The samples, sorted by finger then impression.
    pub(crate) samples: Vec<Sample>,
    /// Each sample's template (`None` when it failed to load or extract).
    pub(crate) templates: Vec<Option<ridgeline::Template>>,
    /// Milliseconds of extraction, for samples that were images.
    pub(crate) extract_ms: Vec<f64>,
    /// Genuine comparisons: score and the two samples' indices.
    pub(crate) genuine: Vec<(f64, usize, usize)>,
    /// Impostor scores.
    pub(crate) impostor: Vec<f64>,
    /// The two samples' indices of each impostor score, in the same order.
    pub(crate) impostor_pairs: Vec<(usize, usize)>,
    /// Microseconds per comparison.
    pub(crate) compare_us: Vec<f64>,
}

impl Outcome {
    pub(crate) fn genuine_scores(&self) -> Vec<f64> {
        self.genuine.iter().map(|g| g.0).collect()
    }

    pub(crate) fn failed(&self) -> usize {
        self.templates.iter().filter(|t| t.is_none()).count()
    }

    /// Image quality of each sample; 0 for one that failed to extract.
    pub(crate) fn qualities(&self) -> Vec<u8> {
        self.templates.iter().map(|t| t.as_ref().map_or(0, |t| t.quality)).collect()
    }

    /// The error-versus-reject curve at `fmr` (see [`eval::erc`]).
    pub(crate) fn erc(&self, fmr: f64) -> Option<(f64, Vec<eval::ErcPoint>)> {
        let q = self.qualities();
        let genuine: Vec<(f64, u8, u8)> =
            self.genuine.iter().map(|&(s, a, b)| (s, q[a], q[b])).collect();
        eval::erc(&genuine, &self.impostor, &q, fmr)
    }
}

/// Extracts (or loads) every sample of `dataset` and scores the protocol's comparisons.
pub(crate) fn evaluate(
    dataset: &Path,
    protocol: &str,
    dpi: Option<u32>,
    ext: Option<&str>,
    show_progress: bool,
) -> anyhow::Result<Outcome> {
    let samples = list_samples(dataset, ext)?;

    let bar = progress(samples.len() as u64, "extract", show_progress);
    let loaded: Vec<(Option<ridgeline::Template>, Option<f64>)> = samples
        .par_iter()
        .map(|s| {
            let result = match load_template(&s.path, dpi) {
                Ok(l) => (Some(l.template), l.extract_ms),
                Err(_) => (None, None),
            };
            bar.inc(1);
            result
        })
        .collect();
    bar.finish_and_clear();
    let extract_ms: Vec<f64> = loaded.iter().filter_map(|l| l.1).collect();
    let templates: Vec<Option<ridgeline::Template>> = loaded.into_iter().map(|l| l.0).collect();
    let pairs = comparison_pairs(&samples, protocol);
    let scored = score_pairs(&templates, &pairs, show_progress);
    Ok(Outcome {
        samples,
        templates,
        extract_ms,
        genuine: scored.genuine,
        impostor: scored.impostor,
        impostor_pairs: scored.impostor_pairs,
        compare_us: scored.compare_us,
    })
}

/// The scores of a protocol's comparisons.
pub(crate) struct Scored {
    /// Genuine comparisons: score and the two samples' indices.
    pub(crate) genuine: Vec<(f64, usize, usize)>,
    /// Impostor scores.
    pub(crate) impostor: Vec<f64>,
    /// The two samples' indices of each impostor score, in the same order.
    pub(crate) impostor_pairs: Vec<(usize, usize)>,
    /// Microseconds per comparison (comparisons of two templates only).
    pub(crate) compare_us: Vec<f64>,
}

/// Scores the comparisons `pairs` of `templates`; a comparison with a missing template scores 0
/// (a rejection, as in the FVC protocol).
pub(crate) fn score_pairs(
    templates: &[Option<ridgeline::Template>],
    pairs: &[(usize, usize, bool)],
    show_progress: bool,
) -> Scored {
    let matcher = Matcher::new();
    let prepared: Vec<Option<MatchTemplate>> =
        templates.iter().map(|t| t.as_ref().map(MatchTemplate::prepare)).collect();
    let bar = progress(pairs.len() as u64, "compare", show_progress);
    let scored: Vec<(bool, f64, Option<f64>)> = pairs
        .par_iter()
        .map(|&(a, b, genuine)| {
            let result = match (&prepared[a], &prepared[b]) {
                (Some(ta), Some(tb)) => {
                    let start = Instant::now();
                    let score = matcher.compare(ta.view(), tb.view());
                    (genuine, score, Some(start.elapsed().as_secs_f64() * 1e6))
                }
                _ => (genuine, 0.0, None),
            };
            bar.inc(1);
            result
        })
        .collect();
    bar.finish_and_clear();
    let genuine =
        scored.iter().zip(pairs).filter(|(s, _)| s.0).map(|(s, &(a, b, _))| (s.1, a, b)).collect();
    let impostor = scored.iter().filter(|s| !s.0).map(|s| s.1).collect();
    let impostor_pairs =
        scored.iter().zip(pairs).filter(|(s, _)| !s.0).map(|(_, &(a, b, _))| (a, b)).collect();
    let compare_us = scored.iter().filter_map(|s| s.2).collect();
    Scored { genuine, impostor, impostor_pairs, compare_us }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !(args.erc_fmr > 0.0 && args.erc_fmr < 1.0) {
        anyhow::bail!("--erc-fmr must lie strictly between 0 and 1, got {}", args.erc_fmr);
    }
    let outcome = evaluate(&args.dataset, &args.protocol, args.dpi, args.ext.as_deref(), true)?;
    let samples = &outcome.samples;
    let failed = outcome.failed();
    let extract_ms = &outcome.extract_ms;
    let compare_us = &outcome.compare_us;
    let genuine = outcome.genuine_scores();
    let impostor = &outcome.impostor;
    let eer = eval::eer(&genuine, impostor);
    let at = |x: f64| eval::fnmr_at_fmr(&genuine, impostor, x).map(|p| p.fnmr);
    let erc = outcome.erc(args.erc_fmr);

    if let Some(path) = &args.scores {
        write_scores(path, &outcome)
            .with_context(|| format!("cannot write the score file {}", path.display()))?;
    }
    if let Some(det) = &args.det {
        draw_det(det, &genuine, impostor, eer, &args.dataset)
            .with_context(|| format!("cannot write the DET plot {}", det.display()))?;
    }
    if let Some(path) = &args.erc {
        let Some((_, points)) = &erc else {
            anyhow::bail!(
                "cannot draw the error-versus-reject curve: {} impostor comparisons do not resolve FMR {:e}",
                impostor.len(),
                args.erc_fmr
            );
        };
        draw_erc(path, &[(dataset_label(&args.dataset), points.clone())], args.erc_fmr)
            .with_context(|| format!("cannot write the ERC plot {}", path.display()))?;
    }

    if args.json {
        let out = serde_json::json!({
            "images": samples.len(),
            "cpu": crate::cpu_report::cpu_report(),
            "genuine": genuine.len(),
            "impostor": impostor.len(),
            "failed_to_extract": failed,
            "eer": eer,
            "fnmr_at_fmr_1e-2": at(1e-2),
            "fnmr_at_fmr_1e-3": at(1e-3),
            "fnmr_at_fmr_1e-4": at(1e-4),
            "extract_ms_median": eval::median(extract_ms),
            "compare_us_median": eval::median(compare_us),
            "erc": erc_json(erc.as_ref(), args.erc_fmr),
        });
        println!("{out}");
    } else {
        let pct = |v: Option<f64>| match v {
            Some(v) => format!("{:.2} %", v * 100.0),
            None => "n/a (too few impostors)".into(),
        };
        println!(
            "{}: {} files, {} failed to extract; protocol {}: {} genuine, {} impostor comparisons",
            args.dataset.display(),
            samples.len(),
            failed,
            args.protocol,
            genuine.len(),
            impostor.len()
        );
        println!("EER                {}", pct(eer));
        println!("FNMR at FMR 1e-2   {}", pct(at(1e-2)));
        println!("FNMR at FMR 1e-3   {}", pct(at(1e-3)));
        println!("FNMR at FMR 1e-4   {}", pct(at(1e-4)));
        if let Some((_, points)) = &erc {
            let at_share = |share: f64| points.iter().rev().find(|p| p.rejected <= share);
            let parts: Vec<String> = [0.0, 0.05, 0.1, 0.2]
                .iter()
                .filter_map(|&x| at_share(x).map(|p| (x, p)))
                .map(|(x, p)| format!("{:.0} %: {:.2} %", x * 100.0, p.fnmr * 100.0))
                .collect();
            println!(
                "FNMR at FMR {:.0e} after rejecting the lowest-quality prints: {}",
                args.erc_fmr,
                parts.join(", ")
            );
        }
        match eval::median(extract_ms) {
            Some(ms) => println!("extraction         {ms:.1} ms median"),
            None => println!("extraction         n/a (template files)"),
        }
        if let Some(us) = eval::median(compare_us) {
            println!("comparison         {us:.1} µs median");
        }
    }
    Ok(())
}

/// Writes the score file: a header, then one line per comparison, genuine ones first.
fn write_scores(path: &Path, outcome: &Outcome) -> anyhow::Result<()> {
    use std::io::Write;

    let name = |i: usize| {
        let s = &outcome.samples[i];
        let file = s.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        (csv_field(&file), csv_field(&s.finger))
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{}", SCORE_FILE_HEADER)?;
    let genuine = outcome.genuine.iter().map(|&(s, a, b)| (s, a, b));
    let impostor =
        outcome.impostor.iter().zip(&outcome.impostor_pairs).map(|(&s, &(a, b))| (s, a, b));
    for (score, a, b) in genuine.chain(impostor) {
        let ((file_a, finger_a), (file_b, finger_b)) = (name(a), name(b));
        writeln!(out, "{file_a},{finger_a},{file_b},{finger_b},{score}")?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

/// The `erc` object of the JSON report: `null` when the FMR is not resolved.
pub(crate) fn erc_json(erc: Option<&(f64, Vec<eval::ErcPoint>)>, fmr: f64) -> serde_json::Value {
    match erc {
        None => serde_json::Value::Null,
        Some((threshold, points)) => serde_json::json!({
            "fmr": fmr,
            "threshold": threshold,
            "points": points.iter().map(|p| serde_json::json!({
                "rejected": p.rejected,
                "quality": p.quality,
                "fnmr": p.fnmr,
                "genuine": p.genuine,
            })).collect::<Vec<_>>(),
        }),
    }
}

fn dataset_label(dataset: &Path) -> String {
    dataset.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Draws error-versus-reject curves (FNMR against the share of prints rejected, up to half of
/// them), one line per labelled set.
pub(crate) fn draw_erc(
    path: &Path,
    curves: &[(String, Vec<eval::ErcPoint>)],
    fmr: f64,
) -> anyhow::Result<()> {
    use plotters::prelude::*;

    const MAX_REJECTED: f64 = 0.5;
    let top =
        curves.iter().flat_map(|(_, p)| p.iter().map(|p| p.fnmr)).fold(0.0f64, f64::max).max(0.01)
            * 1.1;
    let root = SVGBackend::new(path, (720, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("Error versus reject (FNMR at FMR {fmr:.0e})"), ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..MAX_REJECTED * 100.0, 0.0..top * 100.0)?;
    chart
        .configure_mesh()
        .x_desc("prints rejected by image quality (%)")
        .y_desc("FNMR of the comparisons left (%)")
        .draw()?;
    for (i, (label, points)) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        // A step curve: the FNMR holds until the next quality level is rejected.
        let mut line = Vec::with_capacity(points.len() * 2);
        for (k, p) in points.iter().enumerate() {
            if p.rejected > MAX_REJECTED {
                break;
            }
            if k > 0 {
                line.push((p.rejected * 100.0, points[k - 1].fnmr * 100.0));
            }
            line.push((p.rejected * 100.0, p.fnmr * 100.0));
        }
        chart
            .draw_series(LineSeries::new(line, ShapeStyle::from(&color).stroke_width(2)))?
            .label(label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
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

/// The dataset's samples, sorted by finger then impression.
pub(crate) fn list_samples(dir: &Path, ext: Option<&str>) -> anyhow::Result<Vec<Sample>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list the dataset folder {}", dir.display()))?;
    let mut by_ext: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for entry in entries {
        let path = entry.with_context(|| format!("cannot list {}", dir.display()))?.path();
        let (Some(stem), Some(e)) =
            (path.file_stem().and_then(|s| s.to_str()), path.extension().and_then(|s| s.to_str()))
        else {
            continue;
        };
        let Some((finger, impression)) = stem.rsplit_once('_') else { continue };
        let Ok(impression) = impression.parse::<u32>() else { continue };
        by_ext.entry(e.to_ascii_lowercase()).or_default().push(Sample {
            finger: finger.to_string(),
            impression,
            path: path.clone(),
        });
    }
    let chosen = match ext {
        Some(e) => e.trim_start_matches('.').to_ascii_lowercase(),
        None => IMAGE_EXTENSIONS
            .iter()
            .find(|e| by_ext.contains_key(**e))
            .map(|e| e.to_string())
            .with_context(|| {
            format!(
                "no images named <finger>_<impression>.<{}> in {}; use --ext for other kinds",
                IMAGE_EXTENSIONS.join("|"),
                dir.display()
            )
        })?,
    };
    let mut samples = by_ext.remove(&chosen).with_context(|| {
        format!("no files named <finger>_<impression>.{chosen} in {}", dir.display())
    })?;
    samples.sort_by(|a, b| a.finger.cmp(&b.finger).then(a.impression.cmp(&b.impression)));
    Ok(samples)
}

/// Index pairs `(a, b, genuine)` of the protocol.
pub(crate) fn comparison_pairs(samples: &[Sample], protocol: &str) -> Vec<(usize, usize, bool)> {
    let first_impression: BTreeMap<&str, u32> = samples.iter().fold(BTreeMap::new(), |mut m, s| {
        let e = m.entry(s.finger.as_str()).or_insert(s.impression);
        *e = (*e).min(s.impression);
        m
    });
    let is_first = |s: &Sample| first_impression.get(s.finger.as_str()) == Some(&s.impression);
    let mut pairs = Vec::new();
    for a in 0..samples.len() {
        for b in a + 1..samples.len() {
            let (sa, sb) = (&samples[a], &samples[b]);
            if sa.finger == sb.finger {
                pairs.push((a, b, true));
            } else if protocol == "all" || (is_first(sa) && is_first(sb)) {
                pairs.push((a, b, false));
            }
        }
    }
    pairs
}

pub(crate) fn progress(len: u64, what: &str, shown: bool) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    // The template is a literal, so it always parses.
    #[allow(clippy::unwrap_used)]
    let style = ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} ({eta})").unwrap();
    bar.set_style(style.progress_chars("=> "));
    bar.set_prefix(what.to_string());
    bar
}

/// Draws the DET curve (FNMR against FMR, both on log scales) with the EER point labelled.
fn draw_det(
    path: &Path,
    genuine: &[f64],
    impostor: &[f64],
    eer: Option<f64>,
    dataset: &Path,
) -> anyhow::Result<()> {
    use plotters::prelude::*;

    let floor_fmr = (1.0 / impostor.len().max(1) as f64).min(1e-3) / 2.0;
    let floor_fnmr = (1.0 / genuine.len().max(1) as f64).min(1e-2) / 2.0;
    let points: Vec<(f64, f64)> = eval::det_curve(genuine, impostor)
        .iter()
        .map(|p| (p.fmr.max(floor_fmr), p.fnmr.max(floor_fnmr)))
        .collect();

    let root = SVGBackend::new(path, (720, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "DET: {}",
        dataset.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((floor_fmr..1.0).log_scale(), (floor_fnmr..1.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("FMR (false match rate)")
        .y_desc("FNMR (false non-match rate)")
        .x_label_formatter(&|v| format!("{v:.0e}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    let low = floor_fmr.max(floor_fnmr);
    chart.draw_series(LineSeries::new(
        [(low, low), (1.0, 1.0)],
        ShapeStyle::from(&RGBColor(170, 170, 170)).stroke_width(1),
    ))?;
    chart
        .draw_series(LineSeries::new(points, ShapeStyle::from(&BLUE).stroke_width(2)))?
        .label("DET curve")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    if let Some(e) = eer {
        let at = (e.max(floor_fmr), e.max(floor_fnmr));
        chart.draw_series(std::iter::once(Circle::new(at, 5, RED.filled())))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("EER {:.2} %", e * 100.0),
            at,
            ("sans-serif", 16).into_font().color(&RED),
        )))?;
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

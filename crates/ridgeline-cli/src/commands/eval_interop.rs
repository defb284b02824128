//! `ridgeline eval-interop DATASET [--protocol all|fvc] [--dpi N] [--ext EXT]
//! [--fit-iso-to-image] [--json] [--svg OUT.svg]`: interoperability with another vendor's templates, as MINEX measures it.
//!
//! The dataset folder holds, beside each image `<finger>_<impression>.<ext>`, the template
//! another vendor's extractor made of it, `<finger>_<impression>.iso` (ISO/IEC 19794-2). Every
//! comparison `(a, b)` of the protocol is scored four times with our matcher:
//!
//! * ISO probe against ISO gallery and own probe against own gallery (the two pure cases, equal
//!   to `ridgeline eval --ext iso` and `ridgeline eval` on the folder);
//! * ISO probe against own gallery and own probe against ISO gallery (the two mixed cases:
//!   sample `a` as one kind of template, sample `b` as the other).
//!
//! A mixed case passes when its EER is at most [`MIXED_EER_FACTOR`] times the worse of the two
//! pure EERs; the set passes when both mixed cases do. A file that fails to load or extract
//! scores 0 in every comparison it takes part in, as in `ridgeline eval`.
//!
//! `--fit-iso-to-image` maps each ISO template from the image size its header states onto the
//! size of the image beside it (the SecuGen templates of FVC2002 state 300 × 400 px whatever the
//! image: they are of the image stretched to that size). Without it the templates are compared
//! as stated, as an office holding only the templates would.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;
use ridgeline::eval;
use ridgeline::matcher::{MatchTemplate, Matcher};
use ridgeline::template::normalize_angle;

use super::eval::{comparison_pairs, evaluate, progress, Outcome};

/// Largest mixed EER, as a multiple of the worse pure EER, that still counts as interoperable.
pub const MIXED_EER_FACTOR: f64 = 1.25;

/// Arguments of `ridgeline eval-interop`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder in FVC layout holding images and, beside each, its ISO 19794-2 template
    /// (`<finger>_<impression>.iso`).
    pub dataset: PathBuf,
    /// `all` (every cross-finger pair is an impostor) or `fvc` (first impressions only).
    #[arg(long, default_value = "all", value_parser = ["fvc", "all"])]
    pub protocol: String,
    /// Resolution of the images and of the ISO templates, where their files state none or a
    /// wrong one (it overrides the ISO headers, as in `ridgeline eval`).
    #[arg(long)]
    pub dpi: Option<u32>,
    /// Extension of the images (default: the first of tif, bmp, png, wsq, pgm, jpg found).
    #[arg(long)]
    pub ext: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stretch each ISO template from the image size its header states to the size of the image
    /// beside it (minutiae, directions and singular points follow); a sample whose image fails to
    /// extract keeps its template as stated.
    #[arg(long)]
    pub fit_iso_to_image: bool,
    /// Draw the 2 × 2 table of EERs (probe kind × gallery kind) into this SVG file.
    #[arg(long)]
    pub svg: Option<PathBuf>,
}

/// Which extractor made a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The vendor's ISO template beside the image.
    Iso,
    /// Ridgeline's extractor run on the image.
    Own,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Iso => "iso",
            Kind::Own => "own",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Iso => "ISO (vendor)",
            Kind::Own => "own (Ridgeline)",
        }
    }
}

/// The four cases, pure ones first: (probe kind, gallery kind).
const CASES: [(Kind, Kind); 4] = [
    (Kind::Iso, Kind::Iso),
    (Kind::Own, Kind::Own),
    (Kind::Iso, Kind::Own),
    (Kind::Own, Kind::Iso),
];

/// The rates of one case.
#[derive(Debug, Clone)]
struct CaseResult {
    probe: Kind,
    gallery: Kind,
    genuine: usize,
    impostor: usize,
    eer: Option<f64>,
    fnmr_1e2: Option<f64>,
    fnmr_1e3: Option<f64>,
}

impl CaseResult {
    fn new(probe: Kind, gallery: Kind, genuine: &[f64], impostor: &[f64]) -> Self {
        let at = |x: f64| eval::fnmr_at_fmr(genuine, impostor, x).map(|p| p.fnmr);
        CaseResult {
            probe,
            gallery,
            genuine: genuine.len(),
            impostor: impostor.len(),
            eer: eval::eer(genuine, impostor),
            fnmr_1e2: at(1e-2),
            fnmr_1e3: at(1e-3),
        }
    }

    fn key(&self) -> String {
        format!("{}_{}", self.probe.name(), self.gallery.name())
    }

    fn is_mixed(&self) -> bool {
        self.probe != self.gallery
    }
}

/// A mixed case's EER against the worse pure EER.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    /// Mixed EER / worse pure EER (`None` when the worse pure EER is 0 or unknown).
    ratio: Option<f64>,
    /// Whether the mixed EER is at most [`MIXED_EER_FACTOR`] × the worse pure EER (`None`
    /// when an EER is unknown).
    pass: Option<bool>,
}

fn verdict(mixed: Option<f64>, worse_pure: Option<f64>) -> Verdict {
    match (mixed, worse_pure) {
        (Some(m), Some(w)) => Verdict {
            ratio: (w > 0.0).then(|| m / w),
            // A tolerance of one part in a million keeps a ratio of exactly 1.25 from failing
            // by rounding.
            pass: Some(m <= MIXED_EER_FACTOR * w * (1.0 + 1e-6)),
        },
        _ => Verdict { ratio: None, pass: None },
    }
}

/// Everything the report holds.
struct Report {
    images: usize,
    failed_iso: usize,
    failed_own: usize,
    cases: Vec<CaseResult>,
    worse_pure: Option<f64>,
    verdicts: Vec<(usize, Verdict)>,
    pass: Option<bool>,
    extract_ms_median: Option<f64>,
    /// ISO templates whose stated image size differed from the image's and were stretched.
    fitted: usize,
}

/// Stretches `iso` from the image size it states to `width` × `height`; returns whether it
/// changed. Directions are those of the stretched direction vectors.
fn fit_to_image(iso: &mut ridgeline::Template, width: u32, height: u32) -> bool {
    if iso.width == 0 || iso.height == 0 || (iso.width == width && iso.height == height) {
        return false;
    }
    let sx = width as f32 / iso.width as f32;
    let sy = height as f32 / iso.height as f32;
    let turn = |a: f32| normalize_angle((sy * a.sin()).atan2(sx * a.cos()));
    for m in &mut iso.minutiae {
        m.x *= sx;
        m.y *= sy;
        m.angle = turn(m.angle);
    }
    for p in &mut iso.singular_points {
        p.x *= sx;
        p.y *= sy;
        p.angle = p.angle.map(turn);
    }
    iso.width = width;
    iso.height = height;
    true
}

/// Checks that the ISO templates and the images are the same samples, in the same order.
fn check_same_samples(iso: &Outcome, own: &Outcome, dataset: &Path) -> anyhow::Result<()> {
    let key = |s: &super::eval::Sample| (s.finger.clone(), s.impression);
    let iso_keys: Vec<_> = iso.samples.iter().map(key).collect();
    let own_keys: Vec<_> = own.samples.iter().map(key).collect();
    if iso_keys == own_keys {
        return Ok(());
    }
    let only_iso = iso_keys.iter().find(|k| !own_keys.contains(k));
    let only_own = own_keys.iter().find(|k| !iso_keys.contains(k));
    let describe = |k: Option<&(String, u32)>, what: &str| {
        k.map(|(f, i)| format!("{f}_{i} has {what}")).unwrap_or_default()
    };
    anyhow::bail!(
        "{}: the ISO templates ({}) and the images ({}) are not the same samples; every image \
         needs its <finger>_<impression>.iso beside it (first difference: {}{})",
        dataset.display(),
        iso_keys.len(),
        own_keys.len(),
        describe(only_iso, "an ISO template but no image "),
        describe(only_own, "an image but no ISO template"),
    )
}

fn measure(args: &Args, show_progress: bool) -> anyhow::Result<Report> {
    if args.ext.as_deref().is_some_and(|e| e.trim_start_matches('.').eq_ignore_ascii_case("iso")) {
        anyhow::bail!(
            "--ext names the images; the vendor's templates are always <finger>_<impression>.iso"
        );
    }
    let mut iso = evaluate(&args.dataset, &args.protocol, args.dpi, Some("iso"), show_progress)
        .context("cannot evaluate the ISO templates")?;
    let own = evaluate(&args.dataset, &args.protocol, args.dpi, args.ext.as_deref(), show_progress)
        .context("cannot evaluate the images")?;
    check_same_samples(&iso, &own, &args.dataset)?;
    let mut fitted = 0;
    if args.fit_iso_to_image {
        for (i, o) in iso.templates.iter_mut().zip(&own.templates) {
            if let (Some(i), Some(o)) = (i, o) {
                fitted += usize::from(fit_to_image(i, o.width, o.height));
            }
        }
    }

    let prepare = |o: &Outcome| -> Vec<Option<MatchTemplate>> {
        o.templates.iter().map(|t| t.as_ref().map(MatchTemplate::prepare)).collect()
    };
    let (iso_prepared, own_prepared) = (prepare(&iso), prepare(&own));
    let matcher = Matcher::new();
    let score = |a: &Option<MatchTemplate>, b: &Option<MatchTemplate>| match (a, b) {
        (Some(a), Some(b)) => matcher.compare(a.view(), b.view()),
        _ => 0.0,
    };
    // The pairs `evaluate` scored: the same samples give the same pairs in the same order.
    let pairs = comparison_pairs(&own.samples, &args.protocol);
    let bar = progress(pairs.len() as u64, "mixed", show_progress);
    // Stretched ISO templates are rescored among themselves; as stated, `evaluate` scored them.
    let rescore_iso = fitted > 0;
    let mixed: Vec<(bool, f64, f64, f64)> = pairs
        .par_iter()
        .map(|&(a, b, genuine)| {
            let iso_own = score(&iso_prepared[a], &own_prepared[b]);
            let own_iso = score(&own_prepared[a], &iso_prepared[b]);
            let iso_iso =
                if rescore_iso { score(&iso_prepared[a], &iso_prepared[b]) } else { f64::NAN };
            bar.inc(1);
            (genuine, iso_own, own_iso, iso_iso)
        })
        .collect();
    bar.finish_and_clear();
    let split = |pick: fn(&(bool, f64, f64, f64)) -> f64| -> (Vec<f64>, Vec<f64>) {
        let genuine = mixed.iter().filter(|m| m.0).map(pick).collect();
        let impostor = mixed.iter().filter(|m| !m.0).map(pick).collect();
        (genuine, impostor)
    };
    let (iso_own_gen, iso_own_imp) = split(|m| m.1);
    let (own_iso_gen, own_iso_imp) = split(|m| m.2);
    let (iso_iso_gen, iso_iso_imp) =
        if rescore_iso { split(|m| m.3) } else { (iso.genuine_scores(), iso.impostor.clone()) };

    let cases: Vec<CaseResult> = CASES
        .iter()
        .map(|&(probe, gallery)| match (probe, gallery) {
            (Kind::Iso, Kind::Iso) => CaseResult::new(probe, gallery, &iso_iso_gen, &iso_iso_imp),
            (Kind::Own, Kind::Own) => {
                CaseResult::new(probe, gallery, &own.genuine_scores(), &own.impostor)
            }
            (Kind::Iso, Kind::Own) => CaseResult::new(probe, gallery, &iso_own_gen, &iso_own_imp),
            (Kind::Own, Kind::Iso) => CaseResult::new(probe, gallery, &own_iso_gen, &own_iso_imp),
        })
        .collect();
    let worse_pure = cases
        .iter()
        .filter(|c| !c.is_mixed())
        .map(|c| c.eer)
        .try_fold(0.0f64, |worst, e| e.map(|e| worst.max(e)));
    let verdicts: Vec<(usize, Verdict)> = cases
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_mixed())
        .map(|(i, c)| (i, verdict(c.eer, worse_pure)))
        .collect();
    let pass = verdicts.iter().map(|(_, v)| v.pass).try_fold(true, |all, p| p.map(|p| all && p));
    Ok(Report {
        images: own.samples.len(),
        failed_iso: iso.failed(),
        failed_own: own.failed(),
        cases,
        worse_pure,
        verdicts,
        pass,
        extract_ms_median: eval::median(&own.extract_ms),
        fitted,
    })
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let report = measure(&args, true)?;
    let label = args
        .dataset
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.dataset.display().to_string());
    if let Some(path) = &args.svg {
        draw_table(path, &label, &report).with_context(|| {
            format!("cannot write the interoperability table {}", path.display())
        })?;
    }
    if args.json {
        println!("{}", report_json(&args, &report));
    } else {
        print_text(&args, &label, &report);
    }
    Ok(())
}

fn report_json(args: &Args, r: &Report) -> serde_json::Value {
    let mut cases = serde_json::Map::new();
    for (i, c) in r.cases.iter().enumerate() {
        let v = r.verdicts.iter().find(|(k, _)| *k == i).map(|(_, v)| *v);
        cases.insert(
            c.key(),
            serde_json::json!({
                "probe": c.probe.name(),
                "gallery": c.gallery.name(),
                "mixed": c.is_mixed(),
                "genuine": c.genuine,
                "impostor": c.impostor,
                "eer": c.eer,
                "fnmr_at_fmr_1e-2": c.fnmr_1e2,
                "fnmr_at_fmr_1e-3": c.fnmr_1e3,
                "ratio_to_worse_pure": v.and_then(|v| v.ratio),
                "pass": v.and_then(|v| v.pass),
            }),
        );
    }
    serde_json::json!({
        "dataset": args.dataset.display().to_string(),
        "protocol": args.protocol,
        "images": r.images,
        "failed_to_extract": { "iso": r.failed_iso, "own": r.failed_own },
        "iso_fitted_to_image": r.fitted,
        "cases": cases,
        "worse_pure_eer": r.worse_pure,
        "mixed_eer_factor": MIXED_EER_FACTOR,
        "pass": r.pass,
        "extract_ms_median": r.extract_ms_median,
        "cpu": crate::cpu_report::cpu_report(),
    })
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.2}", v * 100.0))
}

fn pass_word(p: Option<bool>) -> &'static str {
    match p {
        Some(true) => "pass",
        Some(false) => "FAIL",
        None => "n/a",
    }
}

fn print_text(args: &Args, label: &str, r: &Report) {
    let first = &r.cases[0];
    println!(
        "{label}: {} samples ({} ISO templates failed to load, {} images failed to extract); \
         protocol {}: {} genuine, {} impostor comparisons per case",
        r.images, r.failed_iso, r.failed_own, args.protocol, first.genuine, first.impostor
    );
    if args.fit_iso_to_image {
        println!("{} ISO templates stretched to the size of their image", r.fitted);
    }
    println!("EER % (FNMR % at FMR 1 % / 0.1 %), our matcher throughout:");
    let cell = |probe: Kind, gallery: Kind| {
        r.cases
            .iter()
            .find(|c| c.probe == probe && c.gallery == gallery)
            .map(|c| format!("{} ({} / {})", pct(c.eer), pct(c.fnmr_1e2), pct(c.fnmr_1e3)))
            .unwrap_or_default()
    };
    println!("{:<22}{:<26}{:<26}", "probe \\ gallery", Kind::Iso.label(), Kind::Own.label());
    for probe in [Kind::Iso, Kind::Own] {
        println!(
            "{:<22}{:<26}{:<26}",
            probe.label(),
            cell(probe, Kind::Iso),
            cell(probe, Kind::Own)
        );
    }
    let parts: Vec<String> = r
        .verdicts
        .iter()
        .map(|(i, v)| {
            let c = &r.cases[*i];
            format!(
                "{} probe / {} gallery {} ({})",
                c.probe.name(),
                c.gallery.name(),
                v.ratio.map_or_else(|| "n/a".into(), |x| format!("{x:.2}")),
                pass_word(v.pass)
            )
        })
        .collect();
    println!(
        "mixed EER / worse pure EER ({} %): {}; criterion ≤ {MIXED_EER_FACTOR}",
        pct(r.worse_pure),
        parts.join(", ")
    );
    println!("interoperability: {}", pass_word(r.pass).to_uppercase());
}

/// Draws the 2 × 2 table of the four cases: rows the probe's kind, columns the gallery's, each
/// cell shaded by its EER (white at 0, deepest red at the largest of the four) and labelled with
/// EER and FNMR at FMR 0.1 %; mixed cells carry their verdict.
fn draw_table(path: &Path, label: &str, r: &Report) -> anyhow::Result<()> {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};

    const W: i32 = 560;
    const H: i32 = 400;
    const LEFT: i32 = 150;
    const TOP: i32 = 110;
    const CELL_W: i32 = 200;
    const CELL_H: i32 = 120;

    let root = SVGBackend::new(path, (W as u32, H as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let centred = |size: u32| {
        ("sans-serif", size).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Center))
    };
    root.draw(&Text::new(
        format!(
            "Interoperability: {label}{} — {}",
            if r.fitted > 0 { ", ISO stretched to the image" } else { "" },
            match r.pass {
                Some(true) => "pass",
                Some(false) => "fail",
                None => "n/a",
            }
        ),
        (W / 2, 24),
        centred(20),
    ))?;
    root.draw(&Text::new(
        format!("EER (FNMR at FMR 0.1 %); mixed must be ≤ {MIXED_EER_FACTOR} × worse pure"),
        (W / 2, 50),
        centred(14),
    ))?;
    root.draw(&Text::new("gallery →", (LEFT + CELL_W, TOP - 40), centred(14)))?;
    root.draw(&Text::new("probe ↓", (LEFT / 2, TOP - 20), centred(14)))?;
    let worst = r.cases.iter().filter_map(|c| c.eer).fold(0.0f64, f64::max);
    for (col, gallery) in [Kind::Iso, Kind::Own].into_iter().enumerate() {
        let x = LEFT + col as i32 * CELL_W + CELL_W / 2;
        root.draw(&Text::new(gallery.label(), (x, TOP - 16), centred(15)))?;
    }
    for (row, probe) in [Kind::Iso, Kind::Own].into_iter().enumerate() {
        let y = TOP + row as i32 * CELL_H;
        root.draw(&Text::new(probe.label(), (LEFT / 2, y + CELL_H / 2), centred(15)))?;
        for (col, gallery) in [Kind::Iso, Kind::Own].into_iter().enumerate() {
            let Some((i, c)) =
                r.cases.iter().enumerate().find(|(_, c)| c.probe == probe && c.gallery == gallery)
            else {
                continue;
            };
            let x = LEFT + col as i32 * CELL_W;
            let shade = match (c.eer, worst > 0.0) {
                (Some(e), true) => e / worst,
                _ => 0.0,
            };
            let fade = |full: f64| (255.0 - shade * (255.0 - full)).round() as u8;
            let fill = RGBColor(fade(214.0), fade(96.0), fade(77.0));
            root.draw(&Rectangle::new([(x, y), (x + CELL_W, y + CELL_H)], fill.filled()))?;
            root.draw(&Rectangle::new([(x, y), (x + CELL_W, y + CELL_H)], BLACK.stroke_width(1)))?;
            let (cx, cy) = (x + CELL_W / 2, y + CELL_H / 2);
            root.draw(&Text::new(format!("{} %", pct(c.eer)), (cx, cy - 22), centred(22)))?;
            root.draw(&Text::new(format!("({} %)", pct(c.fnmr_1e3)), (cx, cy + 4), centred(14)))?;
            let note = match r.verdicts.iter().find(|(k, _)| *k == i) {
                Some((_, v)) => format!(
                    "× {} of worse pure: {}",
                    v.ratio.map_or_else(|| "n/a".into(), |x| format!("{x:.2}")),
                    pass_word(v.pass)
                ),
                None => "pure".into(),
            };
            root.draw(&Text::new(note, (cx, cy + 30), centred(13)))?;
        }
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_holds_the_criterion_at_its_edge() {
        let v = verdict(Some(0.025), Some(0.02));
        assert_eq!(v.pass, Some(true));
        assert!((v.ratio.expect("ratio") - 1.25).abs() < 1e-12);
        assert_eq!(verdict(Some(0.0251), Some(0.02)).pass, Some(false));
        assert_eq!(verdict(Some(0.0), Some(0.0)).pass, Some(true));
        assert_eq!(verdict(Some(0.0), Some(0.0)).ratio, None);
        assert_eq!(verdict(Some(0.01), Some(0.0)).pass, Some(false));
        assert_eq!(verdict(None, Some(0.02)).pass, None);
    }

    #[test]
    fn fitting_stretches_positions_and_turns_oblique_directions() {
        use ridgeline::{Minutia, MinutiaKind, Template};
        let minutia = |x, y, angle| Minutia { x, y, angle, kind: MinutiaKind::Ending, quality: 50 };
        let mut t = Template {
            width: 300,
            height: 400,
            dpi: 500,
            quality: 60,
            minutiae: vec![
                minutia(150.0, 200.0, 0.0),
                minutia(30.0, 40.0, std::f32::consts::FRAC_PI_2),
                minutia(60.0, 80.0, std::f32::consts::FRAC_PI_4),
                minutia(60.0, 80.0, 7.0 * std::f32::consts::FRAC_PI_4),
            ],
            singular_points: Vec::new(),
        };
        let same = t.clone();
        assert!(!fit_to_image(&mut t, 300, 400));
        assert_eq!(t, same);
        assert!(fit_to_image(&mut t, 300, 300));
        assert_eq!((t.width, t.height), (300, 300));
        let m = &t.minutiae;
        assert_eq!((m[0].x, m[0].y, m[0].angle), (150.0, 150.0, 0.0));
        assert_eq!((m[1].x, m[1].y), (30.0, 30.0));
        assert!((m[1].angle - std::f32::consts::FRAC_PI_2).abs() < 1e-6);
        // Squashing y by 3/4 flattens a 45° direction to atan(3/4), and keeps it in [0, 2π).
        assert!((m[2].angle - 0.75f32.atan()).abs() < 1e-6);
        assert!((m[3].angle - (std::f32::consts::TAU - 0.75f32.atan())).abs() < 1e-5);
    }
}

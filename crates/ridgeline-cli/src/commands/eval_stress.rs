//! `ridgeline eval-stress --out DIR [--fingers N] [--impressions K] [--seed S] [--set SPEC]...
//! [--dev NAME=DIR[:DPI]]... [--erc OUT.svg] [--json]`: the stress report.
//!
//! For every set of acquisition conditions (by default a clean set, each condition of
//! `ridgeline synth --condition` at its default severity, and `dry` at severities 1 and 3), it
//! synthesizes the same fingers under those conditions into `DIR/<set>/` (FVC layout with
//! ground truth, so `ridgeline eval` and `eval-extract` run on it afterwards), then measures,
//! with protocol `all`: EER, FNMR at FMR 10⁻² and 10⁻³, minutiae recall and precision against
//! the ground truth, the median image quality, and the share of prints below the recapture
//! threshold with the FNMR at FMR 10⁻³ once they are rejected, and the EER and FNMR at FMR 10⁻³
//! of the same comparisons on the ground-truth minutiae (what the matcher reaches with a perfect
//! extractor: the difference is the extractor's share of the error). Each `--dev` set (real
//! prints, no ground truth) is measured the same way, without the extraction columns.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;
use ridgeline::eval;
use ridgeline::extract::RECAPTURE_QUALITY;
use ridgeline_synth::condition::{self, Condition};
use ridgeline_synth::dataset::{self, DatasetSpec};
use ridgeline_synth::truth::{self, MatchCounts, Tolerance};
use ridgeline_synth::{ImpressionConfig, MasterConfig};

use super::eval::{comparison_pairs, draw_erc, erc_json, evaluate, score_pairs, Outcome};

/// The default suite: a clean set, every condition at its default severity, dry at the ends of
/// its range, and [`HALL_READER`].
pub const DEFAULT_SETS: [&str; 15] = [
    "clean",
    "placement",
    "pressure-high",
    "pressure-low",
    "distortion",
    "rotation",
    "dry:1",
    "dry:1..3",
    "dry:3",
    "wet",
    "creases",
    "worn",
    "partial",
    "optical",
    HALL_READER,
];

/// The conditions together that the registration halls' optical reader shows on hard prints:
/// low contrast and blotches, dry skin of every severity, a light touch, strong distortion and
/// far rotation. The suite's stand-in for that reader, whose prints are not in the dev sets.
pub const HALL_READER: &str = "optical:3,dry:1..3,pressure-low:1,distortion,rotation:1";

/// The FMR of the report's main column and of the recapture column.
const REPORT_FMR: f64 = 1e-3;

/// Largest share of prints the recapture threshold may send back, pooled over the sets it is
/// chosen on: a clerk can ask one person in twenty to place the finger again, not one in four.
pub const RECAPTURE_BUDGET: f64 = 0.05;

/// Arguments of `ridgeline eval-stress`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder for the synthetic sets (one sub-folder per set, rewritten on every run).
    #[arg(long)]
    pub out: PathBuf,
    /// Fingers per synthetic set.
    #[arg(long, default_value_t = 24)]
    pub fingers: u64,
    /// Impressions per finger.
    #[arg(long, default_value_t = 4)]
    pub impressions: u32,
    /// Seed: every set has the same fingers, touched the same way, only the conditions differ.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A synthetic set: `clean` or conditions as for `ridgeline synth --condition` (e.g.
    /// `dry:3` or `dry,creases`); repeat for several. Default: the built-in suite.
    #[arg(long = "set")]
    pub sets: Vec<String>,
    /// A real set in FVC layout, `NAME=DIR` or `NAME=DIR:DPI` (its resolution when the files
    /// state none or a wrong one); repeat for several. Missing folders are skipped with a note.
    #[arg(long = "dev")]
    pub dev: Vec<String>,
    /// Draw the error-versus-reject curves of the real sets (of the synthetic ones when there
    /// are none) into this SVG file.
    #[arg(long)]
    pub erc: Option<PathBuf>,
    /// Print one JSON object instead of a Markdown table.
    #[arg(long)]
    pub json: bool,
}

/// One measured set.
#[derive(Debug)]
struct Row {
    name: String,
    synthetic: bool,
    images: usize,
    genuine: usize,
    impostor: usize,
    failed: usize,
    eer: Option<f64>,
    fnmr_1e2: Option<f64>,
    fnmr_1e3: Option<f64>,
    extraction: Option<MatchCounts>,
    /// EER and FNMR at FMR 10⁻³ of the same comparisons on the ground-truth minutiae (synthetic
    /// sets): what the matcher reaches with a perfect extractor.
    truth_rates: Option<(Option<f64>, Option<f64>)>,
    quality_median: Option<f64>,
    minutiae_mean: f64,
    recapture_share: f64,
    fnmr_1e3_after_recapture: Option<f64>,
    erc: Option<(f64, Vec<eval::ErcPoint>)>,
    /// Genuine scores with their prints' qualities, and every print's quality, for points of
    /// the curve at any threshold.
    genuine_q: Vec<(f64, u8, u8)>,
    prints_q: Vec<u8>,
}

struct Dev {
    name: String,
    dir: PathBuf,
    dpi: Option<u32>,
}

fn parse_dev(text: &str) -> anyhow::Result<Dev> {
    let (name, rest) =
        text.split_once('=').with_context(|| format!("--dev {text:?}: expected NAME=DIR[:DPI]"))?;
    let (dir, dpi) = match rest.rsplit_once(':') {
        Some((d, p)) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => {
            (d, Some(p.parse::<u32>().with_context(|| format!("--dev {text:?}: bad DPI"))?))
        }
        _ => (rest, None),
    };
    Ok(Dev { name: name.to_string(), dir: PathBuf::from(dir), dpi })
}

/// A folder name for a set: `dry:1..3,creases:2` → `dry-1..3+creases-2`.
fn folder_name(name: &str) -> String {
    name.replace(':', "-").replace(',', "+")
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.fingers < 2 || args.impressions < 2 {
        anyhow::bail!(
            "--fingers and --impressions must be at least 2 (genuine and impostor pairs)"
        );
    }
    let specs: Vec<String> = if args.sets.is_empty() {
        DEFAULT_SETS.iter().map(|s| s.to_string()).collect()
    } else {
        args.sets.clone()
    };
    let sets: Vec<(String, Vec<Condition>)> = specs
        .iter()
        .map(|s| {
            if s == "clean" {
                Ok(("clean".to_string(), Vec::new()))
            } else {
                let list = condition::parse_list(s)?;
                Ok((condition::list_name(&list), list))
            }
        })
        .collect::<anyhow::Result<_>>()?;
    let devs: Vec<Dev> = args.dev.iter().map(|d| parse_dev(d)).collect::<anyhow::Result<_>>()?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let started = Instant::now();
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let dirs: Vec<PathBuf> =
        sets.iter().map(|(name, _)| args.out.join(folder_name(name))).collect();
    for dir in &dirs {
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .with_context(|| format!("cannot clear {}", dir.display()))?;
        }
    }
    let spec = DatasetSpec {
        fingers: args.fingers,
        impressions: args.impressions,
        seed: args.seed,
        width: 288,
        height: 384,
        dpi: 500,
    };
    let targets: Vec<(&Path, &[Condition])> =
        dirs.iter().zip(&sets).map(|(d, (_, c))| (d.as_path(), c.as_slice())).collect();
    eprintln!("synthesizing {} sets of {} fingers ...", sets.len(), args.fingers);
    dataset::write_image_sets(
        &targets,
        &spec,
        &MasterConfig::default(),
        &ImpressionConfig::default(),
        &|_| {},
    )
    .with_context(|| format!("cannot synthesize the stress sets into {}", args.out.display()))?;
    for ((name, _), dir) in sets.iter().zip(&dirs) {
        eprintln!("stress set {name} ...");
        let outcome = evaluate(dir, "all", None, Some("png"), false)?;
        let truth = truth_templates(dir, &outcome, &spec)?;
        let mut r = row(name.clone(), true, &outcome, Some(truth_counts(&truth, &outcome)));
        r.truth_rates = Some(truth_rates(&truth, &outcome));
        rows.push(r);
    }
    for dev in &devs {
        if !dev.dir.is_dir() {
            notes.push(format!("{}: {} not found, skipped", dev.name, dev.dir.display()));
            continue;
        }
        eprintln!("dev set {} ...", dev.name);
        let outcome = evaluate(&dev.dir, "all", dev.dpi, None, false)?;
        rows.push(row(dev.name.clone(), false, &outcome, None));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let real: Vec<&Row> = rows.iter().filter(|r| !r.synthetic).collect();
    let selection = select_recapture(&real);

    if let Some(path) = &args.erc {
        let any_dev = rows.iter().any(|r| !r.synthetic);
        let curves: Vec<(String, Vec<eval::ErcPoint>)> = rows
            .iter()
            .filter(|r| r.synthetic != any_dev)
            .filter_map(|r| r.erc.as_ref().map(|(_, p)| (r.name.clone(), p.clone())))
            .collect();
        draw_erc(path, &curves, REPORT_FMR)
            .with_context(|| format!("cannot write the ERC plot {}", path.display()))?;
    }
    if args.json {
        let sets: Vec<serde_json::Value> = rows.iter().map(row_json).collect();
        let out = serde_json::json!({
            "out": args.out.display().to_string(),
            "fingers": args.fingers,
            "impressions": args.impressions,
            "seed": args.seed,
            "protocol": "all",
            "recapture_quality": RECAPTURE_QUALITY,
            "sets": sets,
            "recapture_selection": selection_json(&selection),
            "notes": notes,
            "elapsed_s": elapsed,
        });
        println!("{out}");
    } else {
        print_table(&rows, &args, elapsed);
        print_selection(&selection);
        for note in notes {
            println!("note: {note}");
        }
    }
    Ok(())
}

fn row(name: String, synthetic: bool, o: &Outcome, extraction: Option<MatchCounts>) -> Row {
    let genuine = o.genuine_scores();
    let at = |x: f64| eval::fnmr_at_fmr(&genuine, &o.impostor, x).map(|p| p.fnmr);
    let q = o.qualities();
    let quality: Vec<f64> = o.templates.iter().flatten().map(|t| f64::from(t.quality)).collect();
    let minutiae: Vec<f64> =
        o.templates.iter().flatten().map(|t| t.minutiae.len() as f64).collect();
    let erc = o.erc(REPORT_FMR);
    let genuine_q: Vec<(f64, u8, u8)> =
        o.genuine.iter().map(|&(s, a, b)| (s, q[a], q[b])).collect();
    // The curve's point at the recapture threshold: prints below it rejected.
    let after = erc.as_ref().and_then(|(threshold, _)| {
        eval::erc_point(&genuine_q, &q, *threshold, RECAPTURE_QUALITY).map(|p| p.fnmr)
    });
    Row {
        name,
        synthetic,
        images: o.samples.len(),
        genuine: genuine.len(),
        impostor: o.impostor.len(),
        failed: o.failed(),
        eer: eval::eer(&genuine, &o.impostor),
        fnmr_1e2: at(1e-2),
        fnmr_1e3: at(REPORT_FMR),
        extraction,
        truth_rates: None,
        quality_median: eval::median(&quality),
        minutiae_mean: minutiae.iter().sum::<f64>() / minutiae.len().max(1) as f64,
        recapture_share: q.iter().filter(|&&v| v < RECAPTURE_QUALITY).count() as f64
            / q.len().max(1) as f64,
        fnmr_1e3_after_recapture: after,
        erc,
        genuine_q,
        prints_q: q,
    }
}

/// The recapture threshold a rule picks on some sets, and what it does on another.
#[derive(Debug)]
struct Choice {
    /// The set left out (`None`: chosen on all of them).
    held_out: Option<String>,
    /// The threshold: prints of quality below it are rejected.
    quality: u8,
    /// Pooled FNMR at FMR 10⁻³ and share of prints rejected on the sets it was chosen on.
    tuned_fnmr: f64,
    tuned_rejected: f64,
    /// On the held-out set: FNMR before and after, and the share rejected.
    held_fnmr: Option<(f64, f64, f64)>,
}

/// The ERC point at quality threshold `q` (prints below `q` rejected).
fn erc_at(r: &Row, q: u8) -> Option<eval::ErcPoint> {
    let (threshold, _) = r.erc.as_ref()?;
    eval::erc_point(&r.genuine_q, &r.prints_q, *threshold, q)
}

/// The rule: the threshold with the lowest FNMR at FMR 10⁻³ pooled over `sets` (genuine
/// comparisons left, summed), among those rejecting at most [`RECAPTURE_BUDGET`] of the pooled
/// prints; the lowest such threshold on ties.
fn choose(sets: &[&Row]) -> Option<(u8, f64, f64)> {
    let mut best: Option<(u8, f64, f64)> = None;
    'levels: for q in 0..=100u8 {
        let (mut failed, mut genuine, mut rejected, mut prints) = (0.0, 0.0, 0.0, 0.0);
        for r in sets {
            // A threshold that leaves a set no genuine comparison is no candidate.
            let Some(p) = erc_at(r, q) else { continue 'levels };
            failed += p.fnmr * p.genuine as f64;
            genuine += p.genuine as f64;
            rejected += p.rejected * r.images as f64;
            prints += r.images as f64;
        }
        if genuine == 0.0 || rejected > RECAPTURE_BUDGET * prints {
            continue;
        }
        let fnmr = failed / genuine;
        if best.map_or(true, |b| fnmr < b.1 - 1e-12) {
            best = Some((q, fnmr, rejected / prints));
        }
    }
    best
}

/// The rule on all real sets, and leave-one-set-out: chosen on the others, applied to each.
fn select_recapture(real: &[&Row]) -> Vec<Choice> {
    let mut out = Vec::new();
    if real.is_empty() {
        return out;
    }
    if let Some((quality, tuned_fnmr, tuned_rejected)) = choose(real) {
        out.push(Choice { held_out: None, quality, tuned_fnmr, tuned_rejected, held_fnmr: None });
    }
    if real.len() < 2 {
        return out;
    }
    for (i, held) in real.iter().enumerate() {
        let others: Vec<&Row> =
            real.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, r)| *r).collect();
        let Some((quality, tuned_fnmr, tuned_rejected)) = choose(&others) else { continue };
        let held_fnmr = erc_at(held, 0)
            .zip(erc_at(held, quality))
            .map(|(before, after)| (before.fnmr, after.fnmr, after.rejected));
        out.push(Choice {
            held_out: Some(held.name.clone()),
            quality,
            tuned_fnmr,
            tuned_rejected,
            held_fnmr,
        });
    }
    out
}

fn selection_json(choices: &[Choice]) -> serde_json::Value {
    serde_json::json!({
        "fmr": REPORT_FMR,
        "budget": RECAPTURE_BUDGET,
        "choices": choices.iter().map(|c| serde_json::json!({
            "held_out": c.held_out,
            "quality": c.quality,
            "tuned_fnmr": c.tuned_fnmr,
            "tuned_rejected": c.tuned_rejected,
            "held_out_fnmr_before": c.held_fnmr.map(|h| h.0),
            "held_out_fnmr_after": c.held_fnmr.map(|h| h.1),
            "held_out_rejected": c.held_fnmr.map(|h| h.2),
        })).collect::<Vec<_>>(),
    })
}

fn print_selection(choices: &[Choice]) {
    if choices.is_empty() {
        return;
    }
    println!();
    println!(
        "Recapture threshold by the rule (lowest pooled FNMR @ FMR 0.1 % rejecting at most {:.0} % of prints), in use: {RECAPTURE_QUALITY}.",
        RECAPTURE_BUDGET * 100.0
    );
    println!();
    println!("| chosen on | threshold | FNMR there | rejected there | held-out set: FNMR before → after | rejected |");
    println!("|---|---|---|---|---|---|");
    for c in choices {
        let (on, held) = match (&c.held_out, c.held_fnmr) {
            (None, _) => ("all real sets".to_string(), ("—".to_string(), "—".to_string())),
            (Some(name), Some((b, a, r))) => (
                format!("all but {name}"),
                (
                    format!("{name}: {:.2} → {:.2}", b * 100.0, a * 100.0),
                    format!("{:.1} %", r * 100.0),
                ),
            ),
            (Some(name), None) => (format!("all but {name}"), ("n/a".into(), "n/a".into())),
        };
        println!(
            "| {on} | {} | {:.2} | {:.1} % | {} | {} |",
            c.quality,
            c.tuned_fnmr * 100.0,
            c.tuned_rejected * 100.0,
            held.0,
            held.1
        );
    }
}

/// Each sample's ground-truth minutiae (`DIR/truth/<stem>.json`) as a template: what a
/// perfect extractor would give for it (always `Some`, in the form [`score_pairs`] takes).
fn truth_templates(
    dir: &Path,
    o: &Outcome,
    spec: &DatasetSpec,
) -> anyhow::Result<Vec<Option<ridgeline::Template>>> {
    o.samples
        .par_iter()
        .map(|s| {
            let stem = s.path.file_stem().map(|x| x.to_os_string()).unwrap_or_default();
            let path = dir.join("truth").join(stem).with_extension("json");
            Ok(Some(ridgeline::Template {
                width: spec.width,
                height: spec.height,
                dpi: spec.dpi,
                quality: 100,
                minutiae: truth::load(&path)?,
                singular_points: Vec::new(),
            }))
        })
        .collect()
}

/// Extracted minutiae against the ground truth, summed over the set.
fn truth_counts(truth: &[Option<ridgeline::Template>], o: &Outcome) -> MatchCounts {
    let mut total = MatchCounts::default();
    for (t, extracted) in truth.iter().zip(&o.templates) {
        let Some(t) = t else { continue };
        let detected = extracted.as_ref().map(|t| t.minutiae.as_slice()).unwrap_or(&[]);
        total.add(&truth::compare(&t.minutiae, detected, Tolerance::default()));
    }
    total
}

/// EER and FNMR at FMR 10⁻³ of the set's comparisons (protocol `all`) on the ground-truth
/// templates.
fn truth_rates(truth: &[Option<ridgeline::Template>], o: &Outcome) -> (Option<f64>, Option<f64>) {
    let scored = score_pairs(truth, &comparison_pairs(&o.samples, "all"), false);
    let genuine: Vec<f64> = scored.genuine.iter().map(|g| g.0).collect();
    (
        eval::eer(&genuine, &scored.impostor),
        eval::fnmr_at_fmr(&genuine, &scored.impostor, REPORT_FMR).map(|p| p.fnmr),
    )
}

fn row_json(r: &Row) -> serde_json::Value {
    serde_json::json!({
        "name": r.name,
        "synthetic": r.synthetic,
        "images": r.images,
        "genuine": r.genuine,
        "impostor": r.impostor,
        "failed_to_extract": r.failed,
        "eer": r.eer,
        "fnmr_at_fmr_1e-2": r.fnmr_1e2,
        "fnmr_at_fmr_1e-3": r.fnmr_1e3,
        "recall": r.extraction.map(|e| e.recall()),
        "precision": r.extraction.map(|e| e.precision()),
        "truth_minutiae": r.extraction.map(|e| e.truth),
        "truth_eer": r.truth_rates.and_then(|t| t.0),
        "truth_fnmr_at_fmr_1e-3": r.truth_rates.and_then(|t| t.1),
        "minutiae_mean": r.minutiae_mean,
        "quality_median": r.quality_median,
        "recapture_share": r.recapture_share,
        "fnmr_at_fmr_1e-3_after_recapture": r.fnmr_1e3_after_recapture,
        "erc": erc_json(r.erc.as_ref(), REPORT_FMR),
    })
}

fn print_table(rows: &[Row], args: &Args, elapsed: f64) {
    let pct = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{:.2}", v * 100.0));
    let frac = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.3}"));
    println!(
        "Protocol all; synthetic sets: {} fingers × {} impressions, seed {}; rates in %; recapture = image quality below {RECAPTURE_QUALITY}.",
        args.fingers, args.impressions, args.seed
    );
    println!();
    println!(
        "| set | images | EER | FNMR @ FMR 1 % | FNMR @ FMR 0.1 % | recall | precision | minutiae / print | quality (median) | recapture | FNMR @ 0.1 % after recapture | EER / FNMR @ 0.1 % on the true minutiae |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {}{} | {}{} | {} | {} | {} | {} | {} | {:.1} | {} | {:.1} % | {} | {} |",
            r.name,
            if r.synthetic { "" } else { " (real)" },
            r.images,
            if r.failed > 0 { format!(" ({} failed)", r.failed) } else { String::new() },
            pct(r.eer),
            pct(r.fnmr_1e2),
            pct(r.fnmr_1e3),
            frac(r.extraction.map(|e| e.recall())),
            frac(r.extraction.map(|e| e.precision())),
            r.minutiae_mean,
            r.quality_median.map_or("—".into(), |q| format!("{q:.0}")),
            r.recapture_share * 100.0,
            pct(r.fnmr_1e3_after_recapture),
            r.truth_rates.map_or("—".into(), |(eer, fnmr)| format!(
                "{} / {}",
                pct(eer),
                pct(fnmr)
            )),
        );
    }
    println!();
    println!("{} sets in {:.0} s", rows.len(), elapsed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_specs_and_folder_names() {
        let d = parse_dev("DB2=../x/DB2_B:569").expect("dev");
        assert_eq!(
            (d.name.as_str(), d.dir, d.dpi),
            ("DB2", PathBuf::from("../x/DB2_B"), Some(569))
        );
        let d = parse_dev("DB1=/data/DB1_B").expect("dev");
        assert_eq!(d.dpi, None);
        assert!(parse_dev("nodir").is_err());
        assert_eq!(folder_name("dry:1..3,creases:2"), "dry-1..3+creases-2");
        for s in DEFAULT_SETS.iter().filter(|s| **s != "clean") {
            assert!(condition::parse_list(s).is_ok(), "{s}");
        }
    }
}

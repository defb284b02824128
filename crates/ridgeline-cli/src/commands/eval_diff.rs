//! `ridgeline eval-diff BASE.csv VARIANT.csv [BASE2.csv VARIANT2.csv ...] [--rounds N]
//! [--seed S] [--json] [--plot OUT.svg]`: whether a variant's accuracy differs from a
//! baseline's by more than the choice of fingers explains.
//!
//! Each pair of score files (`ridgeline eval --scores`) holds the same comparisons of one set,
//! scored once by the baseline and once by the variant. A paired bootstrap over fingers
//! resamples each set's fingers with replacement: a drawn finger brings all its genuine
//! comparisons, and two draws of different fingers bring all the impostor comparisons between
//! them. Fingers, not comparisons, are the unit because the comparisons of one finger fail
//! together (a faint finger loses most of its genuine comparisons at once), so resampling single
//! comparisons would understate the noise. Both systems are scored on the same resample, so the
//! spread of the difference comes from which fingers were drawn.
//!
//! Reported per set and for the mean over the sets (each set resampled on its own in every
//! round): the difference of EER and of FNMR at FMR 10⁻³, variant minus baseline, on all the
//! data; its central 95 % interval over the rounds; and the shares of rounds in which the
//! variant is worse and better (the rest are ties: the resample held none of the fingers the
//! two systems score differently).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use ridgeline::eval;
use ridgeline_link::record::split_csv_line;

use crate::progress::Progress;

/// First line of a score file; every other line is one comparison in these columns.
pub(crate) const SCORE_FILE_HEADER: &str = "probe,probe_finger,reference,reference_finger,score";

/// The false match rate of the FNMR figure, as in `eval` and `eval-stress`.
const REPORT_FMR: f64 = 1e-3;

/// Arguments of `ridgeline eval-diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Score files in pairs, baseline first: `BASE.csv VARIANT.csv` for each set.
    #[arg(required = true, num_args = 2..)]
    pub scores: Vec<PathBuf>,
    /// Bootstrap rounds.
    #[arg(long, default_value_t = 2000)]
    pub rounds: u32,
    /// Seed of the resampling (the same seed gives the same figures).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Draw each set's difference and interval (EER and FNMR) into this SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// One line of a score file.
#[derive(Debug)]
struct Comparison {
    probe: String,
    probe_finger: String,
    reference: String,
    reference_finger: String,
    score: f64,
}

/// Reads a score file, refusing anything but the documented columns and finite scores.
fn read_scores(path: &Path) -> anyhow::Result<Vec<Comparison>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the score file {}", path.display()))?;
    let mut lines = text.lines();
    if lines.next() != Some(SCORE_FILE_HEADER) {
        anyhow::bail!(
            "{} is not a score file: its first line must be `{SCORE_FILE_HEADER}` (write one with `ridgeline eval --scores`)",
            path.display()
        );
    }
    let mut comparisons = Vec::new();
    for (i, line) in lines.enumerate() {
        let at = || format!("{}, line {}", path.display(), i + 2);
        let fields = split_csv_line(line).map_err(|m| anyhow::anyhow!("{}: {m}", at()))?;
        let [probe, probe_finger, reference, reference_finger, score]: [String; 5] =
            fields.try_into().map_err(|f: Vec<String>| {
                anyhow::anyhow!("{}: {} fields, expected 5", at(), f.len())
            })?;
        let score: f64 = score
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite())
            .with_context(|| format!("{}: the score {score:?} is not a finite number", at()))?;
        comparisons.push(Comparison { probe, probe_finger, reference, reference_finger, score });
    }
    if comparisons.is_empty() {
        anyhow::bail!("{} holds no comparison", path.display());
    }
    Ok(comparisons)
}

/// One set's comparisons, each scored by both systems, grouped by finger.
struct PairedSet {
    label: String,
    fingers: usize,
    /// Per finger: its genuine comparisons' (baseline, variant) scores.
    genuine: Vec<Vec<(f64, f64)>>,
    /// Per unordered pair of fingers (lower index first): the impostor comparisons' scores.
    impostor: HashMap<(usize, usize), Vec<(f64, f64)>>,
}

impl PairedSet {
    /// Pairs the two files line by line; they must list the same comparisons in the same order.
    fn new(base_path: &Path, variant_path: &Path) -> anyhow::Result<PairedSet> {
        let base = read_scores(base_path)?;
        let variant = read_scores(variant_path)?;
        if base.len() != variant.len() {
            anyhow::bail!(
                "{} holds {} comparisons and {} holds {}: score both systems on the same set and protocol",
                base_path.display(),
                base.len(),
                variant_path.display(),
                variant.len()
            );
        }
        let mut finger_index: HashMap<String, usize> = HashMap::new();
        let mut genuine: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut impostor: HashMap<(usize, usize), Vec<(f64, f64)>> = HashMap::new();
        for (line, (b, v)) in base.iter().zip(&variant).enumerate() {
            let same = (&b.probe, &b.probe_finger, &b.reference, &b.reference_finger)
                == (&v.probe, &v.probe_finger, &v.reference, &v.reference_finger);
            if !same {
                anyhow::bail!(
                    "line {}: {} compares {} with {}, but {} compares {} with {}: the files must list the same comparisons in the same order",
                    line + 2,
                    base_path.display(),
                    b.probe,
                    b.reference,
                    variant_path.display(),
                    v.probe,
                    v.reference
                );
            }
            let mut index = |finger: &str| {
                let next = finger_index.len();
                *finger_index.entry(finger.to_string()).or_insert(next)
            };
            let (f, g) = (index(&b.probe_finger), index(&b.reference_finger));
            genuine.resize(finger_index.len(), Vec::new());
            let scores = (b.score, v.score);
            if f == g {
                genuine[f].push(scores);
            } else {
                impostor.entry((f.min(g), f.max(g))).or_default().push(scores);
            }
        }
        if genuine.iter().all(Vec::is_empty) || impostor.is_empty() {
            anyhow::bail!(
                "{} needs both genuine and impostor comparisons for error rates",
                base_path.display()
            );
        }
        let label = base_path.file_stem().map(|n| n.to_string_lossy().into_owned());
        Ok(PairedSet {
            label: label.unwrap_or_else(|| base_path.display().to_string()),
            fingers: finger_index.len(),
            genuine,
            impostor,
        })
    }

    fn genuine_count(&self) -> usize {
        self.genuine.iter().map(Vec::len).sum()
    }

    fn impostor_count(&self) -> usize {
        self.impostor.values().map(Vec::len).sum()
    }

    /// The differences (variant minus baseline) of EER and FNMR on the fingers `draws`.
    fn differences(&self, draws: &[usize]) -> Differences {
        let mut genuine = Vec::new();
        for &f in draws {
            genuine.extend_from_slice(&self.genuine[f]);
        }
        let mut impostor = Vec::new();
        for (i, &f) in draws.iter().enumerate() {
            for &g in &draws[i + 1..] {
                // A finger drawn twice finds nothing under (f, f): `impostor` holds only pairs of
                // different fingers.
                if let Some(scores) = self.impostor.get(&(f.min(g), f.max(g))) {
                    impostor.extend_from_slice(scores);
                }
            }
        }
        differences(&genuine, &impostor)
    }

    fn all_fingers(&self) -> Vec<usize> {
        (0..self.fingers).collect()
    }
}

/// EER and FNMR at [`REPORT_FMR`] of both systems on one sample.
#[derive(Debug, Clone, Copy)]
struct Differences {
    eer: Option<(f64, f64)>,
    fnmr: Option<(f64, f64)>,
}

fn differences(genuine: &[(f64, f64)], impostor: &[(f64, f64)]) -> Differences {
    let split = |v: &[(f64, f64)]| -> (Vec<f64>, Vec<f64>) { v.iter().copied().unzip() };
    let ((gb, gv), (ib, iv)) = (split(genuine), split(impostor));
    let both = |a: Option<f64>, b: Option<f64>| a.zip(b);
    let fnmr = |g: &[f64], i: &[f64]| eval::fnmr_at_fmr(g, i, REPORT_FMR).map(|p| p.fnmr);
    Differences {
        eer: both(eval::eer(&gb, &ib), eval::eer(&gv, &iv)),
        fnmr: both(fnmr(&gb, &ib), fnmr(&gv, &iv)),
    }
}

/// A uniform index below `n` (multiply-high: no modulo bias worth the name for these `n`).
fn uniform_index(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((rng.next_u64() as u128 * n as u128) >> 64) as usize
}

/// What the bootstrap says of one difference.
#[derive(Debug, Clone, serde::Serialize)]
struct Summary {
    /// Baseline and variant on all the data (`None` where the rate is not resolved).
    baseline: Option<f64>,
    variant: Option<f64>,
    delta: Option<f64>,
    /// Central 95 % interval of the difference over the rounds that resolve it.
    interval: Option<[f64; 2]>,
    worse_share: Option<f64>,
    better_share: Option<f64>,
    /// Rounds that resolved the rate for both systems.
    rounds: usize,
}

fn summarise(full: Option<(f64, f64)>, deltas: &[f64]) -> Summary {
    let mut sorted = deltas.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    // Nearest-rank percentiles.
    let at = |q: f64| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    let share =
        |keep: fn(f64) -> bool| sorted.iter().filter(|&&d| keep(d)).count() as f64 / n as f64;
    Summary {
        baseline: full.map(|f| f.0),
        variant: full.map(|f| f.1),
        delta: full.map(|f| f.1 - f.0),
        interval: (n > 0).then(|| [at(0.025), at(0.975)]),
        worse_share: (n > 0).then(|| share(|d| d > 0.0)),
        better_share: (n > 0).then(|| share(|d| d < 0.0)),
        rounds: n,
    }
}

/// One row of the report: a set, or the mean over the sets.
#[derive(Debug, Clone, serde::Serialize)]
struct Row {
    label: String,
    eer: Summary,
    #[serde(rename = "fnmr_at_fmr_1e-3")]
    fnmr: Summary,
}

/// Runs the bootstrap and summarises every set, then the mean over the sets.
fn bootstrap(sets: &[PairedSet], rounds: u32, seed: u64) -> Vec<Row> {
    let progress = Progress::started("bootstrap", "rounds", rounds as u64);
    // Round r resamples set k from ChaCha stream r · sets + k: the figures do not depend on
    // how rayon splits the rounds.
    let per_round: Vec<Vec<Differences>> = (0..rounds as u64)
        .into_par_iter()
        .map(|r| {
            let row = sets
                .iter()
                .enumerate()
                .map(|(k, set)| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream(r * sets.len() as u64 + k as u64);
                    let draws: Vec<usize> =
                        (0..set.fingers).map(|_| uniform_index(&mut rng, set.fingers)).collect();
                    set.differences(&draws)
                })
                .collect();
            progress.inc(1);
            row
        })
        .collect();
    progress.finish();

    let delta = |d: Option<(f64, f64)>| d.map(|(b, v)| v - b);
    let full: Vec<Differences> = sets.iter().map(|s| s.differences(&s.all_fingers())).collect();
    let mut rows: Vec<Row> = sets
        .iter()
        .enumerate()
        .map(|(k, set)| {
            let eer: Vec<f64> = per_round.iter().filter_map(|r| delta(r[k].eer)).collect();
            let fnmr: Vec<f64> = per_round.iter().filter_map(|r| delta(r[k].fnmr)).collect();
            Row {
                label: set.label.clone(),
                eer: summarise(full[k].eer, &eer),
                fnmr: summarise(full[k].fnmr, &fnmr),
            }
        })
        .collect();
    if sets.len() > 1 {
        // The mean over the sets, where every set resolves the rate.
        let mean = |v: Vec<Option<(f64, f64)>>| -> Option<(f64, f64)> {
            let all: Option<Vec<(f64, f64)>> = v.into_iter().collect();
            all.map(|a| {
                let n = a.len() as f64;
                (a.iter().map(|x| x.0).sum::<f64>() / n, a.iter().map(|x| x.1).sum::<f64>() / n)
            })
        };
        let eer_of = |r: &[Differences]| mean(r.iter().map(|d| d.eer).collect());
        let fnmr_of = |r: &[Differences]| mean(r.iter().map(|d| d.fnmr).collect());
        let eer: Vec<f64> = per_round.iter().filter_map(|r| delta(eer_of(r))).collect();
        let fnmr: Vec<f64> = per_round.iter().filter_map(|r| delta(fnmr_of(r))).collect();
        rows.push(Row {
            label: format!("mean of {} sets", sets.len()),
            eer: summarise(eer_of(&full), &eer),
            fnmr: summarise(fnmr_of(&full), &fnmr),
        });
    }
    rows
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.scores.len() % 2 != 0 {
        anyhow::bail!(
            "score files come in pairs (baseline, variant); got {} files",
            args.scores.len()
        );
    }
    if args.rounds == 0 {
        anyhow::bail!("--rounds must be at least 1");
    }
    let sets: Vec<PairedSet> = args
        .scores
        .chunks(2)
        .map(|pair| PairedSet::new(&pair[0], &pair[1]))
        .collect::<anyhow::Result<_>>()?;
    let rows = bootstrap(&sets, args.rounds, args.seed);
    if let Some(path) = &args.plot {
        draw(path, &rows).with_context(|| format!("cannot write the plot {}", path.display()))?;
    }

    if args.json {
        let out = serde_json::json!({
            "rounds": args.rounds,
            "seed": args.seed,
            "fmr": REPORT_FMR,
            "sets": sets.iter().zip(&rows).map(|(s, r)| serde_json::json!({
                "set": s.label,
                "fingers": s.fingers,
                "genuine": s.genuine_count(),
                "impostor": s.impostor_count(),
                "eer": r.eer,
                "fnmr_at_fmr_1e-3": r.fnmr,
            })).collect::<Vec<_>>(),
            "mean": rows.get(sets.len()),
        });
        println!("{out}");
        return Ok(());
    }
    println!(
        "Paired bootstrap over fingers: {} rounds, seed {}; variant minus baseline, percentage points, 95 % interval",
        args.rounds, args.seed
    );
    let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.2}", v * 100.0));
    let cell = |s: &Summary| {
        let interval = s.interval.map_or("—".to_string(), |[lo, hi]| {
            format!("[{:+.2}, {:+.2}]", lo * 100.0, hi * 100.0)
        });
        let share = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.0} %", v * 100.0));
        format!(
            "{} → {} ({}) {interval}, worse in {}, better in {}",
            pct(s.baseline),
            pct(s.variant),
            s.delta.map_or("—".to_string(), |d| format!("{:+.2}", d * 100.0)),
            share(s.worse_share),
            share(s.better_share)
        )
    };
    for (i, row) in rows.iter().enumerate() {
        match sets.get(i) {
            Some(s) => println!(
                "{} ({} fingers, {} genuine, {} impostor comparisons)",
                row.label,
                s.fingers,
                s.genuine_count(),
                s.impostor_count()
            ),
            None => println!("{}", row.label),
        }
        println!("  EER               {}", cell(&row.eer));
        println!("  FNMR at FMR 1e-3  {}", cell(&row.fnmr));
    }
    Ok(())
}

/// Draws every row's difference with its interval, EER above and FNMR below.
fn draw(path: &Path, rows: &[Row]) -> anyhow::Result<()> {
    use plotters::prelude::*;

    let root = SVGBackend::new(path, (760, 160 + 60 * rows.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let halves = root.split_evenly((2, 1));
    for (half, (title, pick)) in halves.iter().zip([
        ("EER", (|r: &Row| &r.eer) as fn(&Row) -> &Summary),
        ("FNMR at FMR 1e-3", |r: &Row| &r.fnmr),
    ]) {
        let reach = rows
            .iter()
            .filter_map(|r| pick(r).interval)
            .flat_map(|[lo, hi]| [lo.abs(), hi.abs()])
            .fold(0.005f64, f64::max)
            * 100.0
            * 1.1;
        let n = rows.len() as f64;
        let mut chart = ChartBuilder::on(half)
            .caption(
                format!("{title}: variant minus baseline, 95 % interval over fingers"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(150)
            .build_cartesian_2d(-reach..reach, -0.5..n - 0.5)?;
        chart
            .configure_mesh()
            .x_desc("percentage points (left: variant better)")
            .y_labels(rows.len())
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < rows.len() {
                    rows[rows.len() - 1 - i as usize].label.clone()
                } else {
                    String::new()
                }
            })
            .draw()?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, -0.5), (0.0, n - 0.5)],
            BLACK.mix(0.4),
        )))?;
        for (i, row) in rows.iter().enumerate() {
            let y = n - 1.0 - i as f64;
            let s = pick(row);
            if let Some([lo, hi]) = s.interval {
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(lo * 100.0, y), (hi * 100.0, y)],
                    BLUE.stroke_width(2),
                )))?;
            }
            if let Some(d) = s.delta {
                chart.draw_series(std::iter::once(Circle::new(
                    (d * 100.0, y),
                    5,
                    BLUE.filled(),
                )))?;
            }
        }
    }
    root.present()?;
    Ok(())
}

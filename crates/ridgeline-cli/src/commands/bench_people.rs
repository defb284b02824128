//! `ridgeline bench people --subjects N [--fingers F] [--probes P] [--walk-ins W] [--fmr R]
//! [--seed S] [--dir DIR] [--real DIR | --no-real] [--exhaustive] [--json]`
//!
//! Person-level decisions with one finger against several, on synthetic people. Builds (or
//! reuses, if DIR already holds it) a gallery of N subjects with F fingers each (impression 1
//! of the synth crate's template-level generator, positions right index 2, left index 7, then
//! the other fingers), then searches with [`Gallery::identify_person`] at the false match rate
//! per search R:
//! - P genuine probes (impression 2 of enrolled subjects, spread evenly over the gallery), once
//!   with each finger alone and once with all F;
//! - W walk-ins (subjects of the same generator that are not enrolled), the same way.
//!
//! It reports the false negative identification rate (a genuine probe whose decision is not its
//! own subject: no match, or another subject) and the false positive identification rate (a
//! walk-in matched to anyone) per mode, with 95 % Wilson intervals since the counts are small,
//! and latency per mode.
//!
//! Unless `--no-real`, it also enrols real people among the synthetic ones: in each FVC2002 set
//! found under `--real` (`DB1_B` … `DB4_B`), fingers 101+102, 103+104, … are taken as the two
//! fingers of one person, impression 1 enrolled, impressions 2–8 searched as genuine probes. The
//! check is skipped, with a message, where the folder is absent.
//!
//! The gallery is filled with [`Gallery::enroll_batch`], which stores records as given: the
//! people of a synthetic population are distinct by construction, so the duplicate-person check
//! of [`Gallery::enroll_people`] (a search per person) is left out of the build. A synthetic
//! person with a print below the enrolment floor is not enrolled (`not_enrolled` counts them),
//! and a genuine probe that would have been theirs goes to the next enrolled subject.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;
use ridgeline::gallery::person::calibrated_score;
use ridgeline::gallery::{
    check_enrollable, Gallery, OpenMode, PersonSearchOptions, Print, SearchMode,
};
use ridgeline::Template;
use ridgeline_synth::templates::TemplateConfig;

use super::bench_search::{build_gallery, percentile, templates_digest, Population};
use crate::progress::Progress;

/// Finger positions enrolled per subject, in order: the index fingers first (right 2, left 7),
/// as registration offices take them, then middle fingers, thumbs, ring and little fingers.
pub const POSITIONS: [u8; 10] = [2, 7, 3, 8, 1, 6, 4, 9, 5, 10];

/// The FVC2002 sets of the real-print check and their resolutions (DB2 is 569 dpi).
const REAL_SETS: [(&str, u32); 4] =
    [("DB1_B", 500), ("DB2_B", 569), ("DB3_B", 500), ("DB4_B", 500)];

/// Genuine probes unless `--probes` says otherwise.
const DEFAULT_PROBES: usize = 100;

/// z of a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// Arguments of `ridgeline bench people`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Subjects (people) in the gallery.
    #[arg(long)]
    pub subjects: usize,
    /// Fingers enrolled per subject (2-10); the multi-finger searches use all of them.
    #[arg(long, default_value_t = 2)]
    pub fingers: usize,
    /// Genuine probes: enrolled subjects searched with a second impression (default: 100, or
    /// every subject if there are fewer).
    #[arg(long)]
    pub probes: Option<usize>,
    /// Walk-ins: subjects of the same generator that are not enrolled.
    #[arg(long, default_value_t = 100)]
    pub walk_ins: usize,
    /// False match rate per search of the decisions.
    #[arg(long, default_value_t = 1e-4)]
    pub fmr: f64,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the gallery lives (default: a folder per population under the temp folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Folder holding the FVC2002 sets `DB1_B` … `DB4_B` for the real-print check.
    #[arg(long, default_value = "../shared/datasets/fvc2002")]
    pub real: PathBuf,
    /// Leave out the real-print check.
    #[arg(long)]
    pub no_real: bool,
    /// Search exhaustively instead of through the index (slow on big galleries).
    #[arg(long)]
    pub exhaustive: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn subject_id(subject: usize) -> String {
    format!("person-{subject:08}")
}

/// Outcomes and latencies of one search mode.
#[derive(Debug, Default)]
struct Tally {
    searches: usize,
    /// Genuine: the decision is not the probe's subject. Walk-ins: matched anyone.
    errors: usize,
    /// Genuine probes matched to another subject.
    wrong_subject: usize,
    latencies_ms: Vec<f64>,
    /// The fused false match rate a candidate needed to match, in the last search (the same
    /// in every search of a mode: the gallery does not change).
    threshold_fmr: Option<f64>,
}

impl Tally {
    fn add(&mut self, decision: &Decision, mate: Option<&str>) {
        let (matched, ms) = (decision.matched.as_deref(), decision.ms);
        self.threshold_fmr = Some(decision.threshold_fmr);
        self.searches += 1;
        self.latencies_ms.push(ms);
        match mate {
            Some(mate) => {
                self.errors += usize::from(matched != Some(mate));
                self.wrong_subject += usize::from(matched.is_some_and(|m| m != mate));
            }
            None => self.errors += usize::from(matched.is_some()),
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.searches += other.searches;
        self.errors += other.errors;
        self.wrong_subject += other.wrong_subject;
        self.latencies_ms.extend_from_slice(&other.latencies_ms);
        self.threshold_fmr = other.threshold_fmr.or(self.threshold_fmr);
    }

    /// The mode's figures: `rate` names the error rate (`fnir` or `fpir`).
    fn report(&self, rate: &str) -> serde_json::Value {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len().max(1) as f64;
        let mut report = serde_json::json!({
            "searches": self.searches,
            "errors": self.errors,
            rate: if self.searches > 0 {
                serde_json::json!(self.errors as f64 / self.searches as f64)
            } else {
                serde_json::Value::Null
            },
            format!("{rate}_95"): wilson_interval(self.errors, self.searches),
            "ms_mean": mean,
            "ms_p50": percentile(&sorted, 50.0),
            "ms_p90": percentile(&sorted, 90.0),
            "ms_p99": percentile(&sorted, 99.0),
            "threshold_fmr": self.threshold_fmr,
            "threshold_score": self.threshold_fmr.map(calibrated_score),
        });
        if rate == "fnir" {
            report["wrong_subject"] = serde_json::json!(self.wrong_subject);
        }
        report
    }
}

/// The 95 % Wilson score interval of `errors` out of `n` (null when `n` is 0): unlike the
/// normal approximation it stays inside [0, 1] and is not empty at 0 errors.
pub fn wilson_interval(errors: usize, n: usize) -> serde_json::Value {
    if n == 0 {
        return serde_json::Value::Null;
    }
    let (k, n) = (errors as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    // The bounds are exactly 0 and 1 at the ends, where rounding would leave a trace.
    let low = if errors == 0 { 0.0 } else { (centre - half).max(0.0) };
    let high = if errors as f64 == n { 1.0 } else { (centre + half).min(1.0) };
    serde_json::json!([low, high])
}

/// One search mode per finger position alone, and one with all fingers.
#[derive(Debug, Default)]
struct Modes {
    one: Vec<Tally>,
    all: Tally,
}

impl Modes {
    fn new(fingers: usize) -> Modes {
        Modes { one: (0..fingers).map(|_| Tally::default()).collect(), all: Tally::default() }
    }

    /// Searches a person's prints with each finger alone and with all of them; `mate` is the
    /// subject a genuine probe belongs to (`None` for a walk-in).
    fn search(
        &mut self,
        gallery: &Gallery,
        prints: &[Print<'_>],
        mate: Option<&str>,
        options: &PersonSearchOptions,
    ) -> anyhow::Result<()> {
        for (k, print) in prints.iter().enumerate() {
            self.one[k].add(&decide(gallery, std::slice::from_ref(print), options)?, mate);
        }
        self.all.add(&decide(gallery, prints, options)?, mate);
        Ok(())
    }

    fn report(&self, rate: &str, positions: &[u8]) -> serde_json::Value {
        let mut pooled = Tally::default();
        for t in &self.one {
            pooled.merge(t);
        }
        let mut one = pooled.report(rate);
        one["by_finger"] = self
            .one
            .iter()
            .zip(positions)
            .map(|(t, &finger)| {
                let mut r = t.report(rate);
                r["finger"] = serde_json::json!(finger);
                r
            })
            .collect();
        let mut all = self.all.report(rate);
        all["fingers"] = serde_json::json!(positions.len());
        serde_json::json!({ "one_finger": one, "all_fingers": all })
    }
}

/// A person's templates as prints at `positions`, in order.
fn prints_of<'a>(templates: &'a [Template], positions: &[u8]) -> Vec<Print<'a>> {
    templates.iter().zip(positions).map(|(t, &finger)| Print { finger, template: t }).collect()
}

/// What a bench keeps of one person-level search.
struct Decision {
    /// The subject matched, if any.
    matched: Option<String>,
    /// The fused false match rate a candidate needed.
    threshold_fmr: f64,
    /// Latency.
    ms: f64,
}

fn decide(
    gallery: &Gallery,
    prints: &[Print<'_>],
    options: &PersonSearchOptions,
) -> anyhow::Result<Decision> {
    let start = Instant::now();
    let found = gallery.identify_person(prints, options)?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    Ok(Decision {
        matched: found.matched().map(|c| c.subject_id.clone()),
        threshold_fmr: found.threshold_fmr,
        ms,
    })
}

/// A real person of the check: two fingers of one FVC2002 set.
struct RealPerson {
    id: String,
    /// The enrolled templates (impression 1), in position order.
    enrolled: [Template; 2],
    /// Probe impressions with both fingers extracted.
    probes: Vec<[Template; 2]>,
}

/// What the real-print check found on disk.
struct RealPeople {
    sets: Vec<String>,
    people: Vec<RealPerson>,
    /// Finger pairs left out: impression 1 of a finger did not extract or is too sparse.
    not_enrolled: usize,
    /// Probe impressions left out: one of the two fingers did not extract.
    probes_skipped: usize,
}

/// The files of one FVC set: finger -> impression -> path.
type Fingers = BTreeMap<String, BTreeMap<u32, PathBuf>>;

/// Extracts the real people under `dir` (`None` where no set is present).
fn load_real(dir: &Path) -> anyhow::Result<Option<RealPeople>> {
    let present: Vec<(&str, u32)> =
        REAL_SETS.iter().copied().filter(|(set, _)| dir.join(set).is_dir()).collect();
    if present.is_empty() {
        return Ok(None);
    }
    let mut layout: Vec<(&str, u32, Fingers)> = Vec::new();
    for &(set, dpi) in &present {
        let mut fingers = Fingers::new();
        for s in super::eval::list_samples(&dir.join(set), Some("tif"))? {
            fingers.entry(s.finger).or_default().insert(s.impression, s.path);
        }
        layout.push((set, dpi, fingers));
    }
    let files: Vec<(&Path, u32)> = layout
        .iter()
        .flat_map(|(_, dpi, fingers)| {
            fingers.values().flat_map(|imps| imps.values().map(|p| (p.as_path(), *dpi)))
        })
        .collect();
    let progress = Progress::started("extract", "images", files.len() as u64);
    let templates: BTreeMap<&Path, Template> = files
        .par_iter()
        .filter_map(|&(path, dpi)| {
            let loaded = super::compare::load_template(path, Some(dpi)).ok();
            progress.inc(1);
            loaded.map(|l| (path, l.template))
        })
        .collect();
    progress.finish();
    let mut real = RealPeople {
        sets: present.iter().map(|(s, _)| s.to_string()).collect(),
        people: Vec::new(),
        not_enrolled: 0,
        probes_skipped: 0,
    };
    for (set, _, fingers) in &layout {
        let names: Vec<&String> = fingers.keys().collect();
        for pair in names.chunks_exact(2) {
            let (a, b) = (&fingers[pair[0]], &fingers[pair[1]]);
            let template = |imps: &BTreeMap<u32, PathBuf>, i: u32| {
                imps.get(&i).and_then(|p| templates.get(p.as_path())).cloned()
            };
            let enrolled = match (template(a, 1), template(b, 1)) {
                (Some(ta), Some(tb))
                    if check_enrollable(&ta).is_ok() && check_enrollable(&tb).is_ok() =>
                {
                    [ta, tb]
                }
                _ => {
                    real.not_enrolled += 1;
                    continue;
                }
            };
            let mut probes = Vec::new();
            let impressions: std::collections::BTreeSet<u32> =
                a.keys().chain(b.keys()).copied().filter(|&i| i != 1).collect();
            for i in impressions {
                match (template(a, i), template(b, i)) {
                    (Some(ta), Some(tb)) => probes.push([ta, tb]),
                    _ => real.probes_skipped += 1,
                }
            }
            real.people.push(RealPerson {
                id: format!("fvc2002-{set}-{}-{}", pair[0], pair[1]),
                enrolled,
                probes,
            });
        }
    }
    Ok(Some(real))
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let n = args.subjects;
    let fingers = args.fingers;
    if n == 0 {
        anyhow::bail!("--subjects must be at least 1");
    }
    if !(2..=POSITIONS.len()).contains(&fingers) {
        anyhow::bail!("--fingers must be 2-{}, got {fingers}", POSITIONS.len());
    }
    let probes = args.probes.unwrap_or(DEFAULT_PROBES.min(n));
    if probes > n {
        anyhow::bail!("--probes ({probes}) cannot exceed --subjects ({n})");
    }
    if !(args.fmr > 0.0 && args.fmr < 1.0) {
        anyhow::bail!("--fmr must lie strictly between 0 and 1, got {}", args.fmr);
    }
    let positions = &POSITIONS[..fingers];
    let population = Population { seed: args.seed, config: TemplateConfig::default() };
    // Synth finger of subject `s`'s `k`-th position (from 0).
    let finger_of = |s: usize, k: usize| (s * fingers + k) as u64;

    let real = if args.no_real {
        None
    } else {
        let loaded = load_real(&args.real)?;
        if loaded.is_none() {
            eprintln!(
                "SKIPPED: real-print check: no FVC2002 set ({}) under {}",
                REAL_SETS.map(|(s, _)| s).join(", "),
                args.real.display()
            );
        }
        loaded
    };

    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "ridgeline-bench/people-{n}x{fingers}-seed{}{}",
            args.seed,
            if real.is_some() { "-real" } else { "" }
        ))
    });
    let real_people: Vec<&RealPerson> = real.iter().flat_map(|r| &r.people).collect();
    // The real people's templates come from the extractor of this build: a gallery enrolled by
    // another extractor is built afresh.
    let population_id = format!(
        "synth-people seed {} subjects {n} fingers {fingers}; real {}\n",
        args.seed,
        real.as_ref().map_or("none".to_string(), |r| format!(
            "{} people of {}, templates {:016x}",
            r.people.len(),
            r.sets.join(" "),
            templates_digest(r.people.iter().flat_map(|p| &p.enrolled))
        ))
    );
    let build_s =
        build_gallery(&dir, &population_id, n + real_people.len(), "people", true, |k| {
            if k < n {
                let templates: Vec<Template> =
                    (0..fingers).map(|f| population.impression(finger_of(k, f), 1)).collect();
                // A person with a print below the enrolment floor is sent back to be captured
                // again: not enrolled, and counted.
                if templates.iter().any(|t| check_enrollable(t).is_err()) {
                    return Ok(Vec::new());
                }
                Ok(templates
                    .into_iter()
                    .zip(positions)
                    .map(|(t, &f)| (subject_id(k), f, t))
                    .collect())
            } else {
                let p = real_people[k - n];
                Ok(p.enrolled
                    .iter()
                    .zip(positions)
                    .map(|(t, &f)| (p.id.clone(), f, t.clone()))
                    .collect())
            }
        })?;

    let start = Instant::now();
    let gallery = Gallery::open_with(&dir, OpenMode::ReadOnly, &super::bench_search::unaudited())
        .with_context(|| format!("cannot open the bench gallery {}", dir.display()))?;
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    gallery.build_coarse();
    let options = PersonSearchOptions {
        fmr_per_search: args.fmr,
        mode: if args.exhaustive { SearchMode::Exhaustive } else { SearchMode::Indexed },
        ..PersonSearchOptions::default()
    };
    let subjects = gallery.subject_count()?;

    // Probe templates first (in parallel), then the searches one at a time for their latency.
    let impressions = |subject: usize| -> Vec<Template> {
        (0..fingers).map(|k| population.impression(finger_of(subject, k), 2)).collect()
    };
    let enrolled = |s: usize| gallery.get(&subject_id(s)).is_ok();
    // Synthetic people sent back at enrolment (the real ones are checked before the build).
    let not_enrolled = (n + real_people.len()).saturating_sub(subjects);
    // Spread evenly; a subject that was not enrolled gives way to the next one that was.
    let genuine_subjects: Vec<usize> =
        (0..probes).filter_map(|j| (j * n / probes..n).find(|&s| enrolled(s))).collect();
    let genuine_probes: Vec<Vec<Template>> =
        genuine_subjects.par_iter().map(|&s| impressions(s)).collect();
    let walk_in_probes: Vec<Vec<Template>> =
        (n..n + args.walk_ins).into_par_iter().map(impressions).collect();
    let real_probes = real.as_ref().map_or(0, |r| r.people.iter().map(|p| p.probes.len()).sum());
    let progress = Progress::started(
        "search",
        "people",
        (genuine_probes.len() + walk_in_probes.len() + real_probes) as u64,
    );
    let mut genuine = Modes::new(fingers);
    for (&s, templates) in genuine_subjects.iter().zip(&genuine_probes) {
        genuine.search(
            &gallery,
            &prints_of(templates, positions),
            Some(&subject_id(s)),
            &options,
        )?;
        progress.inc(1);
    }
    let mut walk_ins = Modes::new(fingers);
    for templates in &walk_in_probes {
        walk_ins.search(&gallery, &prints_of(templates, positions), None, &options)?;
        progress.inc(1);
    }
    let mut real_modes = Modes::new(2);
    for person in real.iter().flat_map(|r| &r.people) {
        for templates in &person.probes {
            real_modes.search(
                &gallery,
                &prints_of(templates, positions),
                Some(&person.id),
                &options,
            )?;
            progress.inc(1);
        }
    }
    progress.finish();

    let real_report = match &real {
        None if args.no_real => serde_json::json!({ "skipped": "--no-real" }),
        None => serde_json::json!({
            "skipped": format!("no FVC2002 set under {}", args.real.display())
        }),
        Some(r) => {
            let mut report = real_modes.report("fnir", &positions[..2]);
            report["sets"] = serde_json::json!(r.sets);
            report["people"] = serde_json::json!(r.people.len());
            report["probes"] = serde_json::json!(real_probes);
            report["not_enrolled"] = serde_json::json!(r.not_enrolled);
            report["probes_skipped"] = serde_json::json!(r.probes_skipped);
            report
        }
    };
    let mut genuine_report = genuine.report("fnir", positions);
    genuine_report["probes"] = serde_json::json!(genuine_probes.len());
    let mut walk_in_report = walk_ins.report("fpir", positions);
    walk_in_report["probes"] = serde_json::json!(walk_in_probes.len());
    let report = serde_json::json!({
        "subjects": n,
        "fingers": positions,
        "records": gallery.len(),
        "gallery_subjects": subjects,
        "not_enrolled": not_enrolled,
        "seed": args.seed,
        "fmr_per_search": args.fmr,
        "mode": if args.exhaustive { "exhaustive" } else { "indexed" },
        "cpu": crate::cpu_report::cpu_report(),
        "threads": rayon::current_num_threads(),
        "gallery_dir": dir,
        "build_s": build_s,
        "open_ms": open_ms,
        "genuine": genuine_report,
        "walk_ins": walk_in_report,
        "real": real_report,
    });
    if args.json {
        println!("{report}");
    } else {
        print_text(&report);
    }
    Ok(())
}

/// The report as a few lines of text.
fn print_text(report: &serde_json::Value) {
    let line = |label: &str, m: &serde_json::Value, rate: &str| {
        let interval = &m[format!("{rate}_95")];
        println!(
            "  {label:<14} {rate} {:>7.4} ({} of {}; 95 % {:.4}-{:.4})  latency mean {:.1} ms, p90 \
             {:.1} ms",
            m[rate].as_f64().unwrap_or(f64::NAN),
            m["errors"],
            m["searches"],
            interval[0].as_f64().unwrap_or(f64::NAN),
            interval[1].as_f64().unwrap_or(f64::NAN),
            m["ms_mean"].as_f64().unwrap_or(f64::NAN),
            m["ms_p90"].as_f64().unwrap_or(f64::NAN),
        );
    };
    println!(
        "{} subjects x fingers {}, {} records, FMR per search {} ({}); CPU {}",
        report["subjects"],
        report["fingers"],
        report["records"],
        report["fmr_per_search"],
        report["mode"].as_str().unwrap_or(""),
        report["cpu"]["model"].as_str().unwrap_or("unknown"),
    );
    for (title, key, rate) in [
        ("genuine probes", "genuine", "fnir"),
        ("walk-ins", "walk_ins", "fpir"),
        ("real prints (FVC2002)", "real", "fnir"),
    ] {
        let section = &report[key];
        if let Some(why) = section["skipped"].as_str() {
            println!("{title}: skipped ({why})");
            continue;
        }
        println!("{title}:");
        line("one finger", &section["one_finger"], rate);
        line("all fingers", &section["all_fingers"], rate);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(errors: usize, n: usize) -> (f64, f64) {
        let v = wilson_interval(errors, n);
        (v[0].as_f64().expect("low"), v[1].as_f64().expect("high"))
    }

    #[test]
    fn wilson_interval_on_literal_counts() {
        // 5 of 100: 2.15 %-11.18 % (the textbook figures).
        let (lo, hi) = interval(5, 100);
        assert!((lo - 0.021_543_7).abs() < 1e-6 && (hi - 0.111_750_5).abs() < 1e-6, "{lo} {hi}");
        // No error in 100 still leaves up to z² / (n + z²).
        let (lo, hi) = interval(0, 100);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.036_993_5).abs() < 1e-6, "{hi}");
        // All errors: the interval reaches 1 and stays inside [0, 1].
        let (lo, hi) = interval(10, 10);
        assert!((lo - 0.722_467_2).abs() < 1e-6 && hi == 1.0, "{lo} {hi}");
        assert!(wilson_interval(0, 0).is_null());
    }
}

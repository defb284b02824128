//! `ridgeline demo [--people N] [--seed S] [--out DIR] [--json]` — the main job on built-in
//! defaults, with no external data.
//!
//! 1. Synthesise a population (two fingers per person, templates from the synth crate's
//!    template-level generator) with planted duplicates: people registered again under a new
//!    identity number with re-captured prints, re-captured under the same number, and records
//!    copied between systems; plus identity noise that is *not* a duplicate (a number typed
//!    under someone else's fingers, numbers with typos).
//! 2. Enrol it into a gallery in a temporary folder.
//! 3. At the window, identify a few walk-ins with both fingers (fresh impressions of enrolled
//!    people, and new applicants), and show a returning person refused when they try to
//!    register under a new id.
//! 4. De-duplicate, and score what was found against what was planted.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ridgeline::dedup::GalleryPopulation;
use ridgeline::dedup::RecordInfo;
use ridgeline::gallery::{
    EnrolOptions, Enrolment, Gallery, NewPerson, PersonIdentification, PersonSearchOptions, Print,
    SearchMode,
};
use ridgeline::Template;

use ridgeline_synth::population::{
    accuracy, finger_template, missed_pairs, synth_population, SynthPopulation, DUPLICATE_SHARE,
    FINGER_POSITIONS,
};

use crate::progress::Progress;

use super::dedup::{
    finish_report, pair_views, print_summary, run_search, write_report, ReportFormat,
};

/// Arguments of `ridgeline demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// People in the population (each registered once, plus the planted duplicates).
    #[arg(long, default_value_t = 3000)]
    pub people: usize,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Folder for the gallery and the reports (default: a folder in the system temp dir).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Candidate records the index proposes per record (more: higher recall, slower).
    #[arg(long, default_value_t = ridgeline::dedup::DEFAULT_CANDIDATES_PER_RECORD)]
    pub candidates: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Walk-in probes identified in step 3: returning people (enrolled) …
const WALK_IN_PROBES: usize = 5;
/// … and new applicants (people of the generator who are not in the population).
const NEW_APPLICANTS: usize = 2;
/// The false match rate per search at which the window decides "already registered".
const WINDOW_FMR_PER_SEARCH: f64 = 1e-4;

/// What the window decides for one search: the match, or "not registered", with the score
/// the decision needed.
fn window_decision(found: &PersonIdentification) -> String {
    let needed = found.threshold_fmr;
    let fingers = |c: &ridgeline::gallery::PersonCandidate| {
        c.fingers
            .iter()
            .map(|f| format!("finger {} {:.4}", f.finger, f.score))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (found.matched(), found.candidates.first()) {
        (Some(c), _) => format!(
            "already registered as {} (fused FMR {:.1e}, needs {needed:.1e}; {})",
            c.subject_id,
            c.fmr,
            fingers(c)
        ),
        (None, Some(c)) => format!(
            "not registered (best candidate {} at fused FMR {:.1e}, needs {needed:.1e}; {})",
            c.subject_id,
            c.fmr,
            fingers(c)
        ),
        (None, None) => "not registered (no candidate)".to_string(),
    }
}

/// Both fingers of a person, impression `impression`, as the window captures them.
fn window_prints(seed: u64, person: u32, impression: u32) -> anyhow::Result<Vec<(u8, Template)>> {
    FINGER_POSITIONS
        .iter()
        .enumerate()
        .map(|(i, &finger)| Ok((finger, finger_template(seed, person, i, impression)?)))
        .collect()
}

fn as_prints(loaded: &[(u8, Template)]) -> Vec<Print<'_>> {
    loaded.iter().map(|(finger, template)| Print { finger: *finger, template }).collect()
}

/// Enrols a synthetic population into a new gallery at `dir`.
pub fn enroll_population(
    population: &SynthPopulation,
    dir: &std::path::Path,
) -> anyhow::Result<Gallery> {
    let gallery = Gallery::create_with(dir, &super::open_options())
        .with_context(|| format!("cannot create gallery {}", dir.display()))?;
    let batch: Vec<Enrolment<'_>> = population
        .infos
        .iter()
        .zip(&population.templates)
        .flat_map(|(info, fingers)| {
            fingers.iter().map(|(finger, template)| Enrolment {
                subject_id: &info.record_id,
                finger: *finger,
                template,
            })
        })
        .collect();
    let progress = Progress::started("enrol", "templates", batch.len() as u64);
    for chunk in batch.chunks(16_384) {
        gallery.enroll_batch(chunk)?;
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    Ok(gallery)
}

/// Missed planted pairs listed by the demo.
const MISSED_SHOWN: usize = 5;

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    super::dedup::install_interrupt_handler();
    let out = args.out.clone().unwrap_or_else(|| std::env::temp_dir().join("ridgeline-demo"));
    if out.join("gallery").exists() {
        std::fs::remove_dir_all(out.join("gallery"))
            .with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut timings: Vec<(&str, f64)> = Vec::new();
    let say = |text: String| {
        if !args.json {
            eprintln!("{text}");
        }
    };

    let t = Instant::now();
    let population =
        synth_population(args.seed, args.people, FINGER_POSITIONS.len(), DUPLICATE_SHARE)?;
    timings.push(("synthesise", t.elapsed().as_secs_f64()));
    say(format!(
        "1. synthesised {} people as {} records ({} fingers each), {} planted duplicates, in {:.1} s",
        args.people,
        population.infos.len(),
        FINGER_POSITIONS.len(),
        population.planted.len(),
        timings[0].1
    ));

    let t = Instant::now();
    let gallery = enroll_population(&population, &out.join("gallery"))?;
    gallery.build_coarse();
    timings.push(("enrol", t.elapsed().as_secs_f64()));
    say(format!(
        "2. enrolled {} templates into {} in {:.1} s",
        gallery.len(),
        out.join("gallery").display(),
        timings[1].1
    ));

    let t = Instant::now();
    let options = PersonSearchOptions {
        top_k: 3,
        fmr_per_search: WINDOW_FMR_PER_SEARCH,
        mode: SearchMode::Indexed,
        allow_partial: false,
    };
    let (mut probes_hit, mut returning_matched) = (0, 0);
    for k in 0..WALK_IN_PROBES.min(args.people) {
        let person = (k * args.people / WALK_IN_PROBES.max(1)) as u32;
        let prints = window_prints(args.seed, person, 2)?;
        let found = gallery.identify_person(&as_prints(&prints), &options)?;
        let expected = &population.infos[person as usize].record_id;
        let top = found.candidates.first();
        probes_hit += usize::from(top.is_some_and(|c| &c.subject_id == expected));
        let matched = found.matched();
        let right = matched.is_some_and(|c| &c.subject_id == expected);
        returning_matched += usize::from(right);
        say(format!(
            "   returning {expected}: {}{}",
            window_decision(&found),
            if right { "" } else { "  ← missed" }
        ));
    }
    let mut new_unmatched = 0;
    for k in 0..NEW_APPLICANTS {
        // People numbered after the population were never registered.
        let person = (args.people + k) as u32;
        let prints = window_prints(args.seed, person, 2)?;
        let found = gallery.identify_person(&as_prints(&prints), &options)?;
        let right = found.matched().is_none();
        new_unmatched += usize::from(right);
        say(format!(
            "   new applicant: {}{}",
            window_decision(&found),
            if right { "" } else { "  ← false match" }
        ));
    }
    // A returning person asks to register under a new id: one record per person refuses it.
    let returning = 0u32;
    let prints = window_prints(args.seed, returning, 3)?;
    let prints = as_prints(&prints);
    let newcomer =
        NewPerson { subject_id: "NEW-APPLICATION-1", prints: &prints, demographics: None };
    let window = EnrolOptions { fmr_per_search: WINDOW_FMR_PER_SEARCH, ..EnrolOptions::default() };
    let refused_as = match gallery.enroll_person(&newcomer, &window) {
        Err(ridgeline::Error::DuplicatePerson { existing, fmr, threshold, .. }) => {
            say(format!(
                "   returning {} registering as NEW-APPLICATION-1: refused, already registered \
                 as {existing} (fused FMR {fmr:.1e}, needs {threshold:.1e})",
                population.infos[returning as usize].record_id
            ));
            Some(existing)
        }
        Ok(_) => {
            say("   returning person registering under a new id: accepted  ← missed".into());
            None
        }
        Err(e) => return Err(e.into()),
    };
    timings.push(("identify", t.elapsed().as_secs_f64()));
    say(format!(
        "3. at the window, deciding with {} fingers at FMR {WINDOW_FMR_PER_SEARCH:.0e} per \
         search: {returning_matched} of {WALK_IN_PROBES} returning people found registered, \
         {new_unmatched} of {NEW_APPLICANTS} new applicants not, a re-registration under a new \
         id {}, in {:.2} s",
        FINGER_POSITIONS.len(),
        if refused_as.is_some() { "refused" } else { "NOT refused" },
        timings[2].1
    ));

    let t = Instant::now();
    let metadata: HashMap<String, RecordInfo> =
        population.infos.iter().map(|r| (r.record_id.clone(), r.clone())).collect();
    let dedup_population = GalleryPopulation::new(&gallery, SearchMode::Indexed, &metadata)?
        .with_candidates_per_record(args.candidates);
    let fmr = 1e-4;
    let outcome =
        run_search(&dedup_population, dedup_population.infos(), fmr, SearchMode::Indexed, None)?;
    if !outcome.complete {
        anyhow::bail!("interrupted");
    }
    let report = finish_report(
        &dedup_population,
        dedup_population.infos(),
        &outcome,
        fmr,
        SearchMode::Indexed,
        t,
        &Default::default(),
    )?;
    timings.push(("dedup", t.elapsed().as_secs_f64()));
    let json_path = out.join("dedup-report.json");
    let html_path = out.join("dedup-report.html");
    write_report(&report, &json_path, ReportFormat::Json)?;
    let views = pair_views(&dedup_population, &report, &gallery, &HashMap::new());
    crate::commands::dedup::write_page(
        &report,
        &views,
        dedup_population.infos(),
        &Default::default(),
        &Default::default(),
        &html_path,
    )?;
    let acc = accuracy(&population, &report);
    let thresholds = ridgeline::dedup::LinkThresholds::new(dedup_population.infos(), fmr);
    for (a, b, kind) in missed_pairs(&population, &report).into_iter().take(MISSED_SHOWN) {
        use ridgeline::dedup::Population;
        let fused = ridgeline::dedup::fused_fmr(&dedup_population.finger_fmrs(a, b)?);
        let proposed = dedup_population.candidates(a)?.contains(&b)
            || dedup_population.candidates(b)?.contains(&a);
        say(format!(
            "   missed planted pair {} / {} ({kind:?}): fused FMR {fused:.1e} (threshold {:.1e}), {}",
            population.infos[a as usize].record_id,
            population.infos[b as usize].record_id,
            thresholds.of(a, b),
            if proposed { "proposed by the index" } else { "not proposed by the index" }
        ));
    }
    say(format!("4. de-duplicated {} records in {:.1} s", population.infos.len(), timings[3].1));
    let total: f64 = timings.iter().map(|t| t.1).sum();
    if args.json {
        let summary = serde_json::json!({
            "people": args.people,
            "records": population.infos.len(),
            "planted_pairs": acc.planted,
            "found_pairs": acc.found,
            "true_pairs": acc.true_pairs,
            "false_pairs": acc.false_pairs,
            "precision": acc.precision,
            "recall": acc.recall,
            "walk_in_probes": WALK_IN_PROBES,
            "walk_in_rank1": probes_hit,
            "walk_in_matched": returning_matched,
            "new_applicants": NEW_APPLICANTS,
            "new_applicants_unmatched": new_unmatched,
            "window_fingers": FINGER_POSITIONS.len(),
            "reregistration_refused_as": refused_as,
            "seconds": timings.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
            "total_seconds": total,
            "report": json_path.display().to_string(),
            "html": html_path.display().to_string(),
            "flags": report.flags.len(),
        });
        println!("{summary}");
    } else {
        println!(
            "planted {} duplicate pairs; found {} ({} true, {} false): precision {:.2} %, recall {:.2} %",
            acc.planted,
            acc.found,
            acc.true_pairs,
            acc.false_pairs,
            100.0 * acc.precision,
            100.0 * acc.recall
        );
        println!(
            "timing: {}; total {total:.1} s",
            timings.iter().map(|(k, v)| format!("{k} {v:.1} s")).collect::<Vec<_>>().join(", ")
        );
        print_summary(&report, &json_path, Some(&html_path), false);
    }
    Ok(())
}

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

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ridgeline::dedup::identity::make_id_number;
use ridgeline::dedup::matching::GalleryPopulation;
use ridgeline::dedup::RecordInfo;
use ridgeline::gallery::{
    EnrolOptions, Enrolment, Gallery, NewPerson, PersonIdentification, PersonSearchOptions, Print,
    SearchMode,
};
use ridgeline::Template;

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
    #[arg(long, default_value_t = ridgeline::dedup::matching::DEFAULT_CANDIDATES_PER_RECORD)]
    pub candidates: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Share of people registered a second time.
pub const DUPLICATE_SHARE: f64 = 0.03;
/// Share of people whose record carries a number typed from someone else (not a duplicate).
const WRONG_ID_SHARE: f64 = 0.005;
/// Share of people whose identity number has a typo (invalid checksum).
const TYPO_SHARE: f64 = 0.005;
/// Finger positions every person gives (ISO: 2 right index, 7 left index).
pub const DEMO_FINGERS: [u8; 2] = [2, 7];
/// Walk-in probes identified in step 3: returning people (enrolled) …
const WALK_IN_PROBES: usize = 5;
/// … and new applicants (people of the generator who are not in the population).
const NEW_APPLICANTS: usize = 2;
/// The false match rate per search at which the window decides "already registered".
const WINDOW_FMR_PER_SEARCH: f64 = 1e-4;

/// How a duplicate was planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planted {
    /// Registered again under a new identity number, prints re-captured.
    NewIdRecaptured,
    /// Registered again under the same number, prints re-captured.
    SameIdRecaptured,
    /// The same record copied from another system (identical templates).
    Copied,
}

/// A synthetic population with its ground truth.
#[derive(Debug)]
pub struct SynthPopulation {
    /// Identity of every record.
    pub infos: Vec<RecordInfo>,
    /// Templates of every record, by finger position.
    pub templates: Vec<Vec<(u8, Template)>>,
    /// Person behind every record.
    pub person_of: Vec<u32>,
    /// Planted duplicate pairs (record indices, a < b) and how.
    pub planted: Vec<(u32, u32, Planted)>,
}

/// A small deterministic generator for the population's choices (SplitMix64).
#[derive(Debug, Clone)]
pub struct Choices(u64);

impl Choices {
    /// A stream for one seed.
    pub fn new(seed: u64) -> Self {
        Choices(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

const SURNAMES: [&str; 16] = [
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma",
    "Zhu", "Hu", "Guo",
];
const GIVEN: [&str; 16] = [
    "Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Jun", "Yan", "Jie", "Tao", "Ming", "Chao",
    "Xiu", "Hui", "Bo",
];

fn person_identity(choices: &mut Choices) -> (String, String) {
    loop {
        let address = 110_000 + choices.below(540_000) as u32;
        let year = 1940 + choices.below(66) as u32;
        let month = 1 + choices.below(12) as u32;
        let day = 1 + choices.below(31) as u32;
        let sequence = choices.below(1000) as u32;
        if let Some(id) = make_id_number(address, year, month, day, sequence) {
            let name = format!(
                "{} {}",
                SURNAMES[choices.below(16) as usize],
                GIVEN[choices.below(16) as usize]
            );
            return (id, name);
        }
    }
}

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
    DEMO_FINGERS
        .iter()
        .enumerate()
        .map(|(i, &finger)| Ok((finger, finger_template(seed, person, i, impression)?)))
        .collect()
}

fn as_prints(loaded: &[(u8, Template)]) -> Vec<Print<'_>> {
    loaded.iter().map(|(finger, template)| Print { finger: *finger, template }).collect()
}

/// The template of one impression (from 0) of one finger of one person (from 0), from the synth
/// crate's template-level generator.
pub fn finger_template(
    seed: u64,
    person: u32,
    position_index: usize,
    impression: u32,
) -> anyhow::Result<Template> {
    // The generator numbers fingers and impressions from 1.
    let finger = u64::from(person) * DEMO_FINGERS.len() as u64 + position_index as u64 + 1;
    // A capture too sparse to enrol is taken again, as a clerk would ask for it: later
    // attempts are impressions numbered far above the ones the population plans.
    for attempt in 0..RECAPTURE_ATTEMPTS {
        let number = u32::from(attempt) * RECAPTURE_STRIDE + impression + 1;
        let template = ridgeline_synth::templates::generate(seed, finger, number, &TEMPLATE_CONFIG)
            .with_context(|| format!("cannot synthesise finger {finger} impression {number}"))?;
        if template.minutiae.len() >= ridgeline::gallery::MIN_ENROL_MINUTIAE {
            return Ok(template);
        }
    }
    anyhow::bail!(
        "finger {finger} impression {} stayed too sparse to enrol after {RECAPTURE_ATTEMPTS} captures",
        impression + 1
    )
}

/// Captures of one impression before the population gives up on it.
const RECAPTURE_ATTEMPTS: u8 = 8;
/// Impression numbers between one capture attempt and the next.
const RECAPTURE_STRIDE: u32 = 1000;

/// Template-level synthesis settings of the population.
static TEMPLATE_CONFIG: std::sync::LazyLock<ridgeline_synth::templates::TemplateConfig> =
    std::sync::LazyLock::new(ridgeline_synth::templates::TemplateConfig::default);

/// Synthesises `people` people with `fingers` fingers each (1 or 2) and planted duplicates.
pub fn synth_population(
    seed: u64,
    people: usize,
    fingers: usize,
    duplicate_share: f64,
) -> anyhow::Result<SynthPopulation> {
    use rayon::prelude::*;
    let fingers = fingers.clamp(1, DEMO_FINGERS.len());
    let mut choices = Choices::new(seed);
    // Plan every record first (cheap), then synthesise the templates in parallel.
    struct Plan {
        info: RecordInfo,
        person: u32,
        impression: u32,
    }
    let mut plans: Vec<Plan> = Vec::with_capacity(people + people / 20);
    let mut identities = Vec::with_capacity(people);
    for person in 0..people as u32 {
        let (mut id, name) = person_identity(&mut choices);
        if choices.chance(TYPO_SHARE) {
            // Swap two adjacent digits of the sequence number: the checksum catches it.
            let mut bytes = id.into_bytes();
            bytes.swap(14, 15);
            if bytes[14] == bytes[15] {
                bytes[15] = b'0' + (bytes[15] - b'0' + 1) % 10;
            }
            id = String::from_utf8(bytes).unwrap_or_default();
        }
        identities.push((id.clone(), name.clone()));
        plans.push(Plan {
            info: RecordInfo {
                record_id: format!("R{:07}", plans.len()),
                person_id: id,
                name,
                fingers: DEMO_FINGERS[..fingers].to_vec(),
            },
            person,
            impression: 0,
        });
    }
    let mut planted = Vec::new();
    for person in 0..people as u32 {
        if choices.chance(WRONG_ID_SHARE) && people > 1 {
            // A clerk typed another person's number into this person's record.
            let other = (person as u64 + 1 + choices.below(people as u64 - 1)) % people as u64;
            plans[person as usize].info.person_id = identities[other as usize].0.clone();
        }
        if !choices.chance(duplicate_share) {
            continue;
        }
        let kind = match choices.below(3) {
            0 => Planted::NewIdRecaptured,
            1 => Planted::SameIdRecaptured,
            _ => Planted::Copied,
        };
        let original = &plans[person as usize].info;
        let (person_id, name, impression) = match kind {
            Planted::NewIdRecaptured => {
                let (new_id, _) = person_identity(&mut choices);
                (new_id, original.name.clone(), 1)
            }
            Planted::SameIdRecaptured => (original.person_id.clone(), original.name.clone(), 1),
            Planted::Copied => (original.person_id.clone(), original.name.clone(), 0),
        };
        let index = plans.len() as u32;
        plans.push(Plan {
            info: RecordInfo {
                record_id: format!("R{:07}", index),
                person_id,
                name,
                fingers: DEMO_FINGERS[..fingers].to_vec(),
            },
            person,
            impression,
        });
        planted.push((person, index, kind));
    }
    let templates: Vec<Vec<(u8, Template)>> = plans
        .par_iter()
        .map(|plan| {
            (0..fingers)
                .map(|k| {
                    Ok((DEMO_FINGERS[k], finger_template(seed, plan.person, k, plan.impression)?))
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(SynthPopulation {
        person_of: plans.iter().map(|p| p.person).collect(),
        infos: plans.into_iter().map(|p| p.info).collect(),
        templates,
        planted,
    })
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

/// Found pairs scored against the planted ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Accuracy {
    /// Duplicate pairs planted.
    pub planted: usize,
    /// Pairs found.
    pub found: usize,
    /// Found pairs of two records of the same person.
    pub true_pairs: usize,
    /// Found pairs of different people.
    pub false_pairs: usize,
    /// `true_pairs / found`.
    pub precision: f64,
    /// Planted pairs found / planted.
    pub recall: f64,
}

/// Missed planted pairs listed by the demo.
const MISSED_SHOWN: usize = 5;

/// Planted pairs the report does not link.
pub fn missed_pairs(
    population: &SynthPopulation,
    report: &ridgeline::dedup::Report,
) -> Vec<(u32, u32, Planted)> {
    let linked: HashSet<(&str, &str)> = report
        .clusters
        .iter()
        .flat_map(|c| c.pairs.iter())
        .map(|p| (p.a.as_str().min(p.b.as_str()), p.a.as_str().max(p.b.as_str())))
        .collect();
    population
        .planted
        .iter()
        .filter(|(a, b, _)| {
            let (x, y) = (
                population.infos[*a as usize].record_id.as_str(),
                population.infos[*b as usize].record_id.as_str(),
            );
            !linked.contains(&(x.min(y), x.max(y)))
        })
        .copied()
        .collect()
}

/// Scores the report's linked pairs against the ground truth.
pub fn accuracy(population: &SynthPopulation, report: &ridgeline::dedup::Report) -> Accuracy {
    let found = found_pairs(population, report);
    let same_person = |&(a, b): &(u32, u32)| {
        population.person_of.get(a as usize) == population.person_of.get(b as usize)
    };
    let true_pairs = found.iter().filter(|p| same_person(p)).count();
    let planted_found = population
        .planted
        .iter()
        .filter(|(a, b, _)| found.contains(&(*a.min(b), *a.max(b))))
        .count();
    let planted = population.planted.len();
    Accuracy {
        planted,
        found: found.len(),
        true_pairs,
        false_pairs: found.len() - true_pairs,
        precision: if found.is_empty() { 1.0 } else { true_pairs as f64 / found.len() as f64 },
        recall: if planted == 0 { 1.0 } else { planted_found as f64 / planted as f64 },
    }
}

/// The pairs a report links, as population record indices `(a, b)`, `a < b`.
pub fn found_pairs(
    population: &SynthPopulation,
    report: &ridgeline::dedup::Report,
) -> HashSet<(u32, u32)> {
    let index: HashMap<&str, u32> = population
        .infos
        .iter()
        .enumerate()
        .map(|(i, r)| (r.record_id.as_str(), i as u32))
        .collect();
    report
        .clusters
        .iter()
        .flat_map(|c| c.pairs.iter())
        .filter_map(|p| Some((*index.get(p.a.as_str())?, *index.get(p.b.as_str())?)))
        .map(|(a, b)| (a.min(b), a.max(b)))
        .collect()
}

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
    let population = synth_population(args.seed, args.people, DEMO_FINGERS.len(), DUPLICATE_SHARE)?;
    timings.push(("synthesise", t.elapsed().as_secs_f64()));
    say(format!(
        "1. synthesised {} people as {} records ({} fingers each), {} planted duplicates, in {:.1} s",
        args.people,
        population.infos.len(),
        DEMO_FINGERS.len(),
        population.planted.len(),
        timings[0].1
    ));

    let t = Instant::now();
    let gallery = enroll_population(&population, &out.join("gallery"))?;
    gallery.build_index();
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
        DEMO_FINGERS.len(),
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
            "window_fingers": DEMO_FINGERS.len(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_planned_capture_is_dense_enough_to_enrol() {
        // Seed 7 (the `bench dedup` default) has fingers whose first capture holds fewer than
        // the minutiae enrolment needs; they are captured again.
        let mut recaptured = 0;
        for person in 0..10_000 {
            for impression in 0..2 {
                let t = finger_template(7, person, 0, impression).expect("synthesised");
                assert!(t.minutiae.len() >= ridgeline::gallery::MIN_ENROL_MINUTIAE);
                let finger = u64::from(person) * DEMO_FINGERS.len() as u64 + 1;
                let first = ridgeline_synth::templates::generate(
                    7,
                    finger,
                    impression + 1,
                    &TEMPLATE_CONFIG,
                )
                .expect("synthesised");
                recaptured += usize::from(first != t);
            }
        }
        assert!(recaptured > 0, "no sparse first capture: the test no longer covers recapture");
    }
}

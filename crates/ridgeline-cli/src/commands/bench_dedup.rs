//! `ridgeline bench dedup --records N [--fingers 1|2] [--duplicates 0.01] [--json]`: N:N
//! de-duplication of a synthetic population with planted duplicates; time per record, record
//! pairs compared per second, precision and recall.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Context;
use ridgeline::dedup::GalleryPopulation;
use ridgeline::dedup::{fused_fmr, LinkThresholds, Population, RecordInfo};
use ridgeline::gallery::SearchMode;

use super::dedup::{finish_report, run_search};
use ridgeline_synth::population::{accuracy, found_pairs, synth_population, SynthPopulation};

use super::demo::enroll_population;

/// Arguments of `ridgeline bench dedup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// People in the population (records = people + planted duplicates).
    #[arg(long, default_value_t = 10_000)]
    pub records: usize,
    /// Fingers per record (1 or 2).
    #[arg(long, default_value_t = 1)]
    pub fingers: usize,
    /// Share of people registered twice.
    #[arg(long, default_value_t = 0.01)]
    pub duplicates: f64,
    /// Seed of the population.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// `--fmr` of the de-duplication.
    #[arg(long, default_value_t = 1e-4)]
    pub fmr: f64,
    /// Compare exhaustively instead of through the index.
    #[arg(long)]
    pub exhaustive: bool,
    /// Candidate records the index proposes per record (more: higher recall, slower).
    #[arg(long, default_value_t = ridgeline::dedup::DEFAULT_CANDIDATES_PER_RECORD)]
    pub candidates: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Planted pairs that a direct comparison links at the run's thresholds (the blind one, or the
/// verification one where the two records share an identity number), as synthetic population
/// record indices: what any search, indexed or exhaustive, can find at most. Planted pairs it
/// misses are the matcher's (prints too poor to link), the others the index's.
fn reachable_pairs(
    pop: &GalleryPopulation<'_>,
    population: &SynthPopulation,
    index: &GalleryIndex<'_>,
    fmr: f64,
) -> anyhow::Result<Vec<(u32, u32)>> {
    use rayon::prelude::*;
    let thresholds = LinkThresholds::new(pop.infos(), fmr);
    let linked = population
        .planted
        .par_iter()
        .map(|&(a, b, _)| {
            let (ia, ib) = (index.of(a)?, index.of(b)?);
            let fmrs = pop.finger_fmrs(ia, ib)?;
            Ok((!fmrs.is_empty() && fused_fmr(&fmrs) <= thresholds.of(ia, ib)).then_some((a, b)))
        })
        .collect::<anyhow::Result<Vec<Option<(u32, u32)>>>>()?;
    Ok(linked.into_iter().flatten().collect())
}

/// Maps a synthetic population's record index to the gallery population's.
struct GalleryIndex<'a> {
    population: &'a SynthPopulation,
    position: HashMap<&'a str, u32>,
}

impl<'a> GalleryIndex<'a> {
    fn new(pop: &'a GalleryPopulation<'_>, population: &'a SynthPopulation) -> Self {
        let position =
            pop.infos().iter().enumerate().map(|(k, r)| (r.record_id.as_str(), k as u32)).collect();
        GalleryIndex { population, position }
    }

    fn of(&self, record: u32) -> anyhow::Result<u32> {
        self.population
            .infos
            .get(record as usize)
            .and_then(|info| self.position.get(info.record_id.as_str()).copied())
            .context("a planted record is not in the gallery")
    }
}

/// Why the search missed reachable planted pairs: for each, the best rank either record gave
/// the other by index votes and, where proposed, by coarse score.
fn missed_reachable(
    pop: &GalleryPopulation<'_>,
    index: &GalleryIndex<'_>,
    missed: &[(u32, u32)],
) -> anyhow::Result<serde_json::Value> {
    use rayon::prelude::*;
    let ranks = missed
        .par_iter()
        .map(|&(a, b)| {
            let (a, b) = (index.of(a)?, index.of(b)?);
            let (ab, ba) = (pop.candidate_ranks(a, b)?, pop.candidate_ranks(b, a)?);
            let best = |x: Option<usize>, y: Option<usize>| x.into_iter().chain(y).min();
            Ok((best(ab.vote, ba.vote), best(ab.coarse, ba.coarse)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let not_proposed = ranks.iter().filter(|(_, coarse)| coarse.is_none()).count();
    Ok(serde_json::json!({
        "count": missed.len(),
        "not_proposed": not_proposed,
        "proposed_not_kept": missed.len() - not_proposed,
        "ranks": ranks.iter().map(|(vote, coarse)| serde_json::json!({"vote": vote, "coarse": coarse})).collect::<Vec<_>>(),
    }))
}

/// The false pairs of a report by how they were linked: records sharing a valid identity number
/// are verified at a looser threshold than a blind search uses, so the two kinds have different
/// expected rates. With each kind, the false pairs' estimated false match rates, lowest first.
fn false_links(
    population: &SynthPopulation,
    report: &ridgeline::dedup::Report,
) -> serde_json::Value {
    let index: HashMap<&str, usize> =
        population.infos.iter().enumerate().map(|(i, r)| (r.record_id.as_str(), i)).collect();
    let (mut same_number, mut blind): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for pair in report.clusters.iter().flat_map(|c| c.pairs.iter()) {
        let (Some(&a), Some(&b)) = (index.get(pair.a.as_str()), index.get(pair.b.as_str())) else {
            continue;
        };
        if population.person_of.get(a) == population.person_of.get(b) {
            continue;
        }
        let (ra, rb) = (&population.infos[a], &population.infos[b]);
        let shared = !ra.person_id.is_empty()
            && ra.person_id == rb.person_id
            && ridgeline::dedup::validate_id_number(&ra.person_id).is_ok();
        if shared { &mut same_number } else { &mut blind }.push(pair.fmr);
    }
    for rates in [&mut same_number, &mut blind] {
        rates.sort_by(f64::total_cmp);
    }
    serde_json::json!({
        "same_number": { "count": same_number.len(), "fmr": same_number },
        "blind": { "count": blind.len(), "fmr": blind },
    })
}

/// Runs the benchmark.
pub fn run(args: Args) -> anyhow::Result<()> {
    super::dedup::install_interrupt_handler();
    let t = Instant::now();
    let mut population = synth_population(args.seed, args.records, args.fingers, args.duplicates)?;
    let synth_s = t.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let t = Instant::now();
    let gallery = enroll_population(&population, &dir.path().join("gallery"))?;
    gallery.build_coarse();
    // The gallery holds the templates now; at a million records they are a gigabyte.
    population.templates = Vec::new();
    let enrol_s = t.elapsed().as_secs_f64();
    let mode = if args.exhaustive { SearchMode::Exhaustive } else { SearchMode::Indexed };
    let metadata: HashMap<String, RecordInfo> =
        population.infos.iter().map(|r| (r.record_id.clone(), r.clone())).collect();
    let t = Instant::now();
    let pop = GalleryPopulation::new(&gallery, mode, &metadata)?
        .with_candidates_per_record(args.candidates);
    let outcome = run_search(&pop, pop.infos(), args.fmr, mode, None)?;
    if !outcome.complete {
        anyhow::bail!("interrupted");
    }
    let report =
        finish_report(&pop, pop.infos(), &outcome, args.fmr, mode, t, &Default::default())?;
    let dedup_s = t.elapsed().as_secs_f64();
    let acc = accuracy(&population, &report);
    let records = population.infos.len();
    let index = GalleryIndex::new(&pop, &population);
    let reachable = reachable_pairs(&pop, &population, &index, args.fmr)?;
    let found = found_pairs(&population, &report);
    let missed: Vec<(u32, u32)> = reachable
        .iter()
        .copied()
        .filter(|&(a, b)| !found.contains(&(a.min(b), a.max(b))))
        .collect();
    let missed = match mode {
        SearchMode::Indexed => missed_reachable(&pop, &index, &missed)?,
        SearchMode::Exhaustive => serde_json::json!({ "count": missed.len() }),
    };
    let false_links = false_links(&population, &report);
    let summary = serde_json::json!({
        "records": records,
        "cpu": crate::cpu_report::cpu_report(),
        "fingers_per_record": args.fingers,
        "mode": if args.exhaustive { "exhaustive" } else { "indexed" },
        "threads": rayon::current_num_threads(),
        "planted_pairs": acc.planted,
        "planted_reachable": reachable.len(),
        "missed_reachable": missed,
        "found_pairs": acc.found,
        "false_pairs": acc.false_pairs,
        "false_links": false_links,
        "precision": acc.precision,
        "recall": acc.recall,
        "synthesise_seconds": synth_s,
        "enrol_seconds": enrol_s,
        "dedup_seconds": dedup_s,
        "ms_per_record": 1000.0 * dedup_s / records.max(1) as f64,
        "pairs_compared": outcome.stats.pairs_compared,
        "pairs_compared_per_second": outcome.stats.pairs_compared as f64 / outcome.stats.search_seconds.max(1e-9),
    });
    if args.json {
        println!("{summary}");
    } else {
        println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
    }
    Ok(())
}

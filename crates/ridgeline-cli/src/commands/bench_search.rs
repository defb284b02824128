//! `ridgeline bench search --gallery-size N [--probes P] [--exhaustive-probes E] [--walk-ins W]
//! [--dir DIR] [--seed S] [--shortlist L] [--escalate-to R] [--no-compact] [--json]`
//!
//! Builds (or reuses, if DIR already holds it) a synthetic gallery of N templates from the synth
//! crate's template-level generator, one per finger (impression 1), then searches P genuine
//! probes (impression 2 of enrolled fingers),
//! indexed, and the first E of them exhaustively too; then W walk-ins (fingers not enrolled),
//! indexed. Reports open time, index build time, latency percentiles (genuine probes and
//! walk-ins apart: a walk-in's search escalates, see `ridgeline::gallery::identify`), probes
//! per second, rank-1 identification rates, how often the indexed top candidate equals the
//! exhaustive one (and each probe where it is not), and sizes per template.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ridgeline::gallery::{
    Enrolment, Gallery, OpenMode, SearchMode, SearchOptions, MIN_ENROL_MINUTIAE,
};
use ridgeline::Template;
use ridgeline_synth::templates::{TemplateConfig, TemplateMaster};

use crate::progress::Progress;

/// File in the bench gallery's folder naming the population it holds.
const POPULATION_MARKER: &str = "bench-population.txt";

/// Records per commit while building the gallery.
const BUILD_BATCH_RECORDS: usize = 4096;

/// Arguments of `ridgeline bench search`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Templates in the gallery.
    #[arg(long)]
    pub gallery_size: usize,
    /// Genuine probes searched with the index.
    #[arg(long, default_value_t = 100)]
    pub probes: usize,
    /// Of those, how many are also searched exhaustively (slow on big galleries).
    #[arg(long, default_value_t = 20)]
    pub exhaustive_probes: usize,
    /// Walk-ins searched with the index: fingers of the population that are not enrolled.
    #[arg(long, default_value_t = 20)]
    pub walk_ins: usize,
    /// Where the gallery lives (default: a folder per size and seed under the temp folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Leave the enrolment batches as they are instead of compacting them into large segments
    /// (compaction rewrites every byte once: 16 GB at a million templates).
    #[arg(long)]
    pub no_compact: bool,
    /// Short-list length re-ranked by the matcher (default: the library's rule).
    #[arg(long)]
    pub shortlist: Option<usize>,
    /// Records an escalated search re-ranks in all (default: the library's budget).
    #[arg(long)]
    pub escalate_to: Option<usize>,
}

fn subject_id(finger: u64) -> String {
    format!("synth-{finger:08}")
}

fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The synthetic population: finger `f` (from 0) is the synth crate's finger `f + 1`.
pub(super) struct Population {
    pub(super) seed: u64,
    pub(super) config: TemplateConfig,
}

impl Population {
    /// Impression `impression` of finger `finger`, captured again while too sparse to enrol,
    /// as a clerk would ask for it (a million fingers hold a few such first captures).
    pub(super) fn capture(&self, finger: u64, impression: u32) -> anyhow::Result<Template> {
        TemplateMaster::generate(self.seed, finger + 1, &self.config)
            .capture(self.seed, finger + 1, impression, &self.config, MIN_ENROL_MINUTIAE)
            .with_context(|| {
                format!("synthetic finger {} impression {impression} stays too sparse", finger + 1)
            })
    }

    pub(super) fn impression(&self, finger: u64, impression: u32) -> Template {
        TemplateMaster::generate(self.seed, finger + 1, &self.config).impression(
            self.seed,
            finger + 1,
            impression,
            &self.config,
        )
    }
}

fn build(
    dir: &std::path::Path,
    n: usize,
    population: &Population,
    compact: bool,
) -> anyhow::Result<f64> {
    let population_id = format!("synth-templates seed {} size {n}\n", population.seed);
    build_gallery(dir, &population_id, n, "templates", compact, |f| {
        Ok(vec![(subject_id(f as u64), 1 + (f % 10) as u8, population.capture(f as u64, 1)?)])
    })
}

/// A digest (FNV-1a, 64 bits) of templates' native encodings, to tell whether a stored bench
/// gallery was built from the same templates.
pub(super) fn templates_digest<'a>(templates: impl IntoIterator<Item = &'a Template>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for t in templates {
        // A template that does not encode cannot have been enrolled: it marks the digest alike.
        let bytes = t.to_native_bytes().unwrap_or_default();
        for b in (bytes.len() as u64).to_le_bytes().into_iter().chain(bytes) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// Builds a bench gallery in `dir` from `items` items, item `k` giving the records
/// `record(k)` (subject id, finger position, template; none leaves the item out), or reuses the
/// one already there if it holds this very population: the one `population_id` names
/// (generator, seed, size), whose first and last items' templates are those `record` gives
/// now (so a changed generator or extractor builds afresh), complete. Returns the seconds spent
/// building (0 when reused). `unit` names what the progress counts.
pub(super) fn build_gallery(
    dir: &std::path::Path,
    population_id: &str,
    items: usize,
    unit: &'static str,
    compact: bool,
    record: impl Fn(usize) -> anyhow::Result<Vec<(String, u8, Template)>> + Sync,
) -> anyhow::Result<f64> {
    use rayon::prelude::*;
    // The marker is written last, naming the population and the records it came to.
    let marker = dir.join(POPULATION_MARKER);
    let mut sample = Vec::new();
    for k in [0, items.saturating_sub(1)].into_iter().filter(|&k| k < items) {
        sample.extend(record(k)?.into_iter().map(|(_, _, t)| t));
    }
    let sample_digest = templates_digest(&sample);
    let marker_text = |records: usize| {
        format!("{population_id}templates {sample_digest:016x}\nrecords {records}\n")
    };
    if dir.join("MANIFEST").exists() {
        match Gallery::open_with(dir, OpenMode::ReadOnly, &unaudited()) {
            Ok(g) => {
                if std::fs::read_to_string(&marker).is_ok_and(|m| m == marker_text(g.len())) {
                    return Ok(0.0);
                }
            }
            // A missing or wrong key is refused, not answered by building over the gallery.
            Err(e @ ridgeline::Error::GalleryKey { .. }) => {
                return Err(e).with_context(|| {
                    format!("the bench gallery {} (give its key, or another --dir)", dir.display())
                })
            }
            Err(_) => {}
        }
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot clear old bench gallery {}", dir.display()))?;
    }
    let start = Instant::now();
    let gallery = Gallery::create_with(dir, &unaudited())?;
    let progress = Progress::started("build", unit, items as u64);
    for first in (0..items).step_by(BUILD_BATCH_RECORDS) {
        let last = (first + BUILD_BATCH_RECORDS).min(items);
        let records: Vec<Vec<(String, u8, Template)>> =
            (first..last).into_par_iter().map(&record).collect::<anyhow::Result<_>>()?;
        let batch: Vec<Enrolment<'_>> = records
            .iter()
            .flatten()
            .map(|(id, finger, t)| Enrolment { subject_id: id, finger: *finger, template: t })
            .collect();
        gallery.enroll_batch(&batch)?;
        progress.inc((last - first) as u64);
    }
    if compact {
        gallery.compact()?;
    }
    std::fs::write(&marker, marker_text(gallery.len()))
        .with_context(|| format!("cannot write {}", marker.display()))?;
    progress.finish();
    Ok(start.elapsed().as_secs_f64())
}

struct Run {
    latencies_ms: Vec<f64>,
    top1: Vec<Option<String>>,
    top1_score: Vec<f64>,
    compared: usize,
    escalated: usize,
}

/// The library's search options with the bench's overrides.
fn search_options(args: &Args, mode: SearchMode) -> SearchOptions {
    let mut options = SearchOptions::new(10, None, mode);
    if let Some(records) = args.escalate_to {
        options.escalate_to = records;
    }
    options
}

fn search(
    gallery: &Gallery,
    probes: &[(u64, Template)],
    options: SearchOptions,
) -> anyhow::Result<Run> {
    let mut run = Run {
        latencies_ms: Vec::new(),
        top1: Vec::new(),
        top1_score: Vec::new(),
        compared: 0,
        escalated: 0,
    };
    for (_, probe) in probes {
        let start = Instant::now();
        let result = gallery.identify(probe, &options)?;
        run.latencies_ms.push(start.elapsed().as_secs_f64() * 1e3);
        run.top1.push(result.candidates.first().map(|c| c.subject_id.clone()));
        run.top1_score.push(result.candidates.first().map_or(f64::NEG_INFINITY, |c| c.score));
        run.compared += result.compared;
        run.escalated += usize::from(result.escalated);
    }
    Ok(run)
}

/// Latency figures of a run.
fn latency_summary(run: &Run) -> serde_json::Value {
    let mut sorted = run.latencies_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len().max(1) as f64;
    let mean = sorted.iter().sum::<f64>() / n;
    serde_json::json!({
        "probes": run.latencies_ms.len(),
        // The first search after opening, included in the percentiles too: it pays for
        // whatever of the gallery is not in memory yet.
        "ms_first": run.latencies_ms.first().copied().unwrap_or(f64::NAN),
        "ms_mean": mean,
        "ms_p50": percentile(&sorted, 50.0),
        "ms_p90": percentile(&sorted, 90.0),
        "ms_p99": percentile(&sorted, 99.0),
        "probes_per_s": if mean > 0.0 { 1e3 / mean } else { 0.0 },
        "compared_mean": run.compared as f64 / n,
        "escalated": run.escalated,
    })
}

fn summary(run: &Run, probes: &[(u64, Template)]) -> serde_json::Value {
    let n = run.latencies_ms.len().max(1) as f64;
    let hits = run
        .top1
        .iter()
        .zip(probes)
        .filter(|(top, (f, _))| top.as_deref() == Some(subject_id(*f).as_str()))
        .count();
    let mut report = latency_summary(run);
    report["rank1"] = serde_json::json!(hits as f64 / n);
    report
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.gallery_size == 0 {
        anyhow::bail!("--gallery-size must be at least 1");
    }
    let n = args.gallery_size;
    let dir = args.dir.clone().unwrap_or_else(|| {
        // An encrypted bench gallery lives apart from the clear one of the same population.
        let sealed = if super::key().is_some() { "-sealed" } else { "" };
        std::env::temp_dir()
            .join(format!("ridgeline-bench/synth-gallery-{n}-seed{}{sealed}", args.seed))
    });
    let population = Population { seed: args.seed, config: TemplateConfig::default() };
    let build_s = build(&dir, n, &population, !args.no_compact)?;

    let rss_before = resident_bytes();
    let start = Instant::now();
    let gallery = Gallery::open_with(&dir, OpenMode::ReadOnly, &unaudited())?;
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let gallery = gallery.with_shortlist(args.shortlist);
    let start = Instant::now();
    gallery.build_coarse();
    let index_ms = start.elapsed().as_secs_f64() * 1e3;

    // Probes spread over the whole gallery (a stride coprime with most sizes).
    let probes: Vec<(u64, Template)> = (0..args.probes.max(1))
        .map(|j| {
            let f = (j as u64 * 7_919 + 13) % n as u64;
            Ok((f, population.capture(f, 2)?))
        })
        .collect::<anyhow::Result<_>>()?;
    let indexed = search(&gallery, &probes, search_options(&args, SearchMode::Indexed))?;
    // Walk-ins: fingers after the enrolled ones, so none has a mate in the gallery.
    let walk_in_probes: Vec<(u64, Template)> = (0..args.walk_ins as u64)
        .map(|j| Ok((n as u64 + j, population.capture(n as u64 + j, 2)?)))
        .collect::<anyhow::Result<_>>()?;
    let walk_ins = search(&gallery, &walk_in_probes, search_options(&args, SearchMode::Indexed))?;
    let rss_after = resident_bytes();
    let e = args.exhaustive_probes.min(probes.len());
    let exhaustive = search(&gallery, &probes[..e], search_options(&args, SearchMode::Exhaustive))?;
    let agree = indexed.top1[..e].iter().zip(&exhaustive.top1).filter(|(a, b)| a == b).count();
    // The probes an office would identify: the exhaustive top candidate is a match at the
    // default operating point. Below it both searches answer "not enrolled" whatever they rank.
    let threshold = ridgeline::matcher::calibration::threshold_for_fmr(1e-4);
    let identified: Vec<usize> =
        (0..e).filter(|&k| exhaustive.top1_score[k] >= threshold).collect();
    let mut walk_in_report = latency_summary(&walk_ins);
    // Falsely identified: a walk-in whose top candidate scores at the threshold.
    walk_in_report["false_matches"] =
        serde_json::json!(walk_ins.top1_score.iter().filter(|&&s| s >= threshold).count());
    let agree_identified =
        identified.iter().filter(|&&k| indexed.top1[k] == exhaustive.top1[k]).count();
    // Each probe on which the two searches disagree, to see what was lost.
    let disagreements: Vec<serde_json::Value> = (0..e)
        .filter(|&k| indexed.top1[k] != exhaustive.top1[k])
        .map(|k| {
            serde_json::json!({
                "mate": subject_id(probes[k].0),
                "exhaustive": exhaustive.top1[k],
                "exhaustive_score": exhaustive.top1_score[k],
                "indexed": indexed.top1[k],
                "indexed_score": indexed.top1_score[k],
            })
        })
        .collect();

    let stats = gallery.stats();
    let per = |bytes: f64| bytes / n as f64;
    let report = serde_json::json!({
        "gallery_size": n,
        "cpu": crate::cpu_report::cpu_report(),
        "gallery_dir": dir,
        "threads": rayon::current_num_threads(),
        "shortlist": args.shortlist,
        "escalate_to": args.escalate_to,
        "build_s": build_s,
        "encrypted": gallery.is_encrypted(),
        "open_ms": open_ms,
        "coarse_load_ms": index_ms,
        "indexed": summary(&indexed, &probes),
        "exhaustive": summary(&exhaustive, &probes[..e]),
        "walk_ins": walk_in_report,
        "top1_agreement": if e > 0 { agree as f64 / e as f64 } else { f64::NAN },
        "agreement_probes": e,
        "identified_probes": identified.len(),
        "top1_agreement_identified": if identified.is_empty() {
            f64::NAN
        } else {
            agree_identified as f64 / identified.len() as f64
        },
        "disagreements": disagreements,
        "disk_bytes": stats.store.segment_bytes,
        "disk_bytes_per_template": per(stats.store.segment_bytes as f64),
        "descriptor_bytes_per_template": stats.store.descriptor_len,
        "coarse_bytes_per_template": per(stats.coarse_bytes as f64),
        "resident_bytes_per_template": match (rss_before, rss_after) {
            (Some(a), Some(b)) => serde_json::json!(per(b.saturating_sub(a) as f64)),
            _ => serde_json::Value::Null,
        },
    });
    if args.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

/// Benchmark galleries are synthetic and their searches timed: no audit trail, whose
/// synchronous appends would be timed too.
pub(super) fn unaudited() -> ridgeline::gallery::OpenOptions {
    ridgeline::gallery::OpenOptions::new().audit(false).key_opt(super::key())
}

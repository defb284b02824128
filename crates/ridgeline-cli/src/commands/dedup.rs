//! `ridgeline dedup (--gallery DIR | --input MANIFEST.csv) [--fmr 1e-4] --out REPORT.{json,csv}
//! [--html REPORT.html] [--resume]`
//!
//! Every record against every other, through the gallery's candidate index; duplicate clusters
//! and identity flags written as JSON or CSV, and optionally an HTML adjudication report. The
//! run checkpoints to `REPORT.checkpoint` beside the report; Ctrl-C writes a checkpoint and
//! stops, and `--resume` carries on from it (also after a kill).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ridgeline::dedup::html::{self, PairView, PrintView};
use ridgeline::dedup::matching::GalleryPopulation;
use ridgeline::dedup::{
    build_report, job_key, read_manifest, search, verify_same_id_pairs, LinkedPair, Population,
    RecordInfo, Report, Resumable, SearchConfig, SearchOutcome,
};
use ridgeline::gallery::{Enrolment, Gallery, OpenMode, SearchMode};
use ridgeline::matcher::MatchTemplate;
use ridgeline::{FingerImage, Template};

use crate::progress::Progress;

/// Arguments of `ridgeline dedup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// De-duplicate the records of this gallery.
    #[arg(long, required_unless_present = "input", conflicts_with = "input")]
    pub gallery: Option<PathBuf>,
    /// De-duplicate the records of this people manifest (CSV, a row per print: `record_id` or
    /// `id`, `finger`, `path`, optionally `person_id`/`id_number`, `name`, ...).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Acceptable chance that a record without duplicates is falsely linked to any other.
    #[arg(long, default_value_t = 1e-4)]
    pub fmr: f64,
    /// Report file: `.json` or `.csv`.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write a self-contained HTML adjudication report.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Carry on from the checkpoint of an interrupted run.
    #[arg(long)]
    pub resume: bool,
    /// Compare every record with every other instead of using the index (slow; the reference).
    #[arg(long)]
    pub exhaustive: bool,
    /// Candidate records the index proposes per record (more: higher recall, slower).
    #[arg(long, default_value_t = ridgeline::dedup::matching::DEFAULT_CANDIDATES_PER_RECORD)]
    pub candidates: usize,
    /// Print a one-object JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    /// Least seconds between two checkpoint writes while the search runs (a checkpoint is also
    /// written on Ctrl-C and at the end); small values let tests interrupt short runs.
    #[arg(long, hide = true, default_value_t = ridgeline::dedup::search::DEFAULT_CHECKPOINT_INTERVAL_S as f64)]
    pub checkpoint_seconds: f64,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let format = ReportFormat::from_path(&args.out)?;
    let checkpoint_interval = Duration::try_from_secs_f64(args.checkpoint_seconds)
        .with_context(|| format!("--checkpoint-seconds {}", args.checkpoint_seconds))?;
    install_interrupt_handler();
    let started = Instant::now();
    let mut metadata = HashMap::new();
    let mut image_paths = HashMap::new();
    let workdir;
    let gallery_dir = match (&args.gallery, &args.input) {
        (Some(dir), _) => dir.clone(),
        (None, Some(manifest)) => {
            let records = read_manifest(manifest)
                .with_context(|| format!("cannot read {}", manifest.display()))?;
            workdir = work_dir(&args.out);
            let gallery_dir = workdir.join("gallery");
            enroll_manifest(&records, &gallery_dir, args.resume)?;
            for r in records {
                for (finger, path) in r.info.fingers.iter().zip(&r.paths) {
                    image_paths.insert((r.info.record_id.clone(), *finger), path.clone());
                }
                metadata.insert(r.info.record_id.clone(), r.info);
            }
            gallery_dir
        }
        (None, None) => bail!("give --gallery DIR or --input MANIFEST.csv"),
    };
    let gallery = Gallery::open(&gallery_dir, OpenMode::ReadOnly)
        .with_context(|| format!("cannot open gallery {}", gallery_dir.display()))?;
    let mode = if args.exhaustive { SearchMode::Exhaustive } else { SearchMode::Indexed };
    let population = GalleryPopulation::new(&gallery, mode, &metadata)?
        .with_candidates_per_record(args.candidates);
    let checkpoint = checkpoint_path(&args.out);
    let outcome = run_search(
        &population,
        population.infos(),
        args.fmr,
        mode,
        Some((&checkpoint, args.resume, checkpoint_interval)),
    )?;
    if !outcome.complete {
        bail!(
            "interrupted after {} of {} records; checkpoint written to {}; run again with --resume to carry on",
            outcome.stats.records_searched,
            outcome.stats.records,
            checkpoint.display()
        );
    }
    let report = finish_report(&population, population.infos(), &outcome, args.fmr, mode, started)?;
    write_report(&report, &args.out, format)?;
    if let Some(path) = &args.html {
        let views = pair_views(&population, &report, &gallery, &image_paths);
        let page = html::render(&report, &views, "Ridgeline de-duplication report");
        std::fs::write(path, page).with_context(|| format!("cannot write {}", path.display()))?;
    }
    // The report holds everything the checkpoint did.
    let _ = std::fs::remove_file(&checkpoint);
    print_summary(&report, &args.out, args.html.as_deref(), args.json);
    Ok(())
}

/// The report's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One JSON object.
    Json,
    /// One row per pair and per flag.
    Csv,
}

impl ReportFormat {
    /// `.json` or `.csv`.
    pub fn from_path(path: &Path) -> anyhow::Result<Self> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("json") => Ok(ReportFormat::Json),
            Some("csv") => Ok(ReportFormat::Csv),
            _ => bail!("--out {} must end in .json or .csv", path.display()),
        }
    }
}

/// Set by Ctrl-C: the search stops after the current block and writes a checkpoint.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_signal: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // A second Ctrl-C: the user does not want to wait for the checkpoint.
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// Routes SIGINT to [`INTERRUPTED`].
pub fn install_interrupt_handler() {
    let handler: extern "C" fn(libc::c_int) = on_interrupt;
    // SAFETY: the handler only touches an atomic and calls the async-signal-safe _exit.
    unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) };
}

/// The folder beside the report that holds a manifest's gallery between runs.
fn work_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".work");
    out.with_file_name(name)
}

/// The checkpoint beside the report.
pub fn checkpoint_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".checkpoint");
    out.with_file_name(name)
}

/// Reads a template file, or extracts one from an image.
pub fn load_template(path: &Path) -> anyhow::Result<Template> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if ridgeline::formats::detect_format(&bytes).is_ok() {
        return ridgeline::formats::decode_template(&bytes)
            .with_context(|| format!("cannot decode {}", path.display()));
    }
    let image = FingerImage::decode(&bytes, None)
        .with_context(|| format!("{} is neither a template nor an image", path.display()))?;
    ridgeline::extract::Extractor::new(ridgeline::extract::ExtractorConfig::default())
        .extract(&image)
        .with_context(|| format!("cannot extract minutiae from {}", path.display()))
}

/// Enrols a manifest into a fresh gallery (or keeps the one a resumed run built).
fn enroll_manifest(
    records: &[ridgeline::dedup::ManifestRecord],
    dir: &Path,
    resume: bool,
) -> anyhow::Result<()> {
    use rayon::prelude::*;
    let fingers: usize = records.iter().map(|r| r.paths.len()).sum();
    if resume {
        // Keep the gallery a previous run finished enrolling (an interrupted enrolment is redone).
        if let Ok(gallery) = Gallery::open(dir, OpenMode::ReadOnly) {
            if gallery.len() == fingers {
                return Ok(());
            }
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let gallery =
        Gallery::create(dir).with_context(|| format!("cannot create gallery {}", dir.display()))?;
    let progress = Progress::started("enrol", "records", records.len() as u64);
    for chunk in records.chunks(ENROL_BATCH_RECORDS) {
        let templates: Vec<Vec<Template>> = chunk
            .par_iter()
            .map(|r| r.paths.iter().map(|p| load_template(p)).collect::<anyhow::Result<Vec<_>>>())
            .collect::<anyhow::Result<_>>()?;
        let batch: Vec<Enrolment<'_>> = chunk
            .iter()
            .zip(&templates)
            .flat_map(|(r, ts)| {
                r.info.fingers.iter().zip(ts).map(|(&finger, template)| Enrolment {
                    subject_id: &r.info.record_id,
                    finger,
                    template,
                })
            })
            .collect();
        gallery.enroll_batch(&batch)?;
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    Ok(())
}

/// Records per enrolment commit.
const ENROL_BATCH_RECORDS: usize = 4096;

/// Runs the search with a progress bar, stopping on Ctrl-C. `checkpoint`: file, whether to
/// resume from it, least time between writes.
pub fn run_search<P: Population>(
    population: &P,
    infos: &[RecordInfo],
    fmr: f64,
    mode: SearchMode,
    checkpoint: Option<(&Path, bool, Duration)>,
) -> anyhow::Result<SearchOutcome> {
    let key = population_key(infos, fmr, mode);
    let bar = Progress::new("dedup", "records", population.len() as u64);
    let mut progress = |done: u64, _total: u64| bar.set(done);
    let mut config = SearchConfig { fmr_per_search: fmr, ..SearchConfig::default() };
    if let Some((_, _, interval)) = checkpoint {
        config.checkpoint_interval = interval;
    }
    let outcome = search(
        population,
        &config,
        key,
        checkpoint.map(|(path, resume, _)| Resumable { path, resume }),
        &INTERRUPTED,
        &mut progress,
    )?;
    bar.finish();
    Ok(outcome)
}

/// The job key of a population and settings.
pub fn population_key(infos: &[RecordInfo], fmr: f64, mode: SearchMode) -> u64 {
    let fmr_bytes = fmr.to_le_bytes();
    let mode_bytes = [u8::from(mode == SearchMode::Exhaustive)];
    job_key(
        infos
            .iter()
            .flat_map(|r| [r.record_id.as_bytes(), r.fingers.as_slice()])
            .chain([fmr_bytes.as_slice(), mode_bytes.as_slice()]),
    )
}

/// Checks same-identity-number pairs the search did not link, and builds the report.
pub fn finish_report<P: Population>(
    population: &P,
    infos: &[RecordInfo],
    outcome: &SearchOutcome,
    fmr: f64,
    mode: SearchMode,
    started: Instant,
) -> anyhow::Result<Report> {
    let mut pairs: Vec<LinkedPair> = outcome.pairs.clone();
    let same_id = verify_same_id_pairs(population, infos, &pairs, fmr)?;
    let recovered = same_id.linked.len() as u64;
    pairs.extend(same_id.linked);
    let unlinked = same_id.unlinked;
    let s = &outcome.stats;
    let fingers: usize = infos.iter().map(|r| r.fingers.len()).sum();
    let mut stats: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut put = |k: &str, v: serde_json::Value| {
        stats.insert(k.to_string(), v);
    };
    put("records", s.records.into());
    put("fingers", fingers.into());
    put("fmr_per_search", fmr.into());
    put("pair_fmr_threshold", s.pair_fmr_threshold.into());
    put("mode", if mode == SearchMode::Exhaustive { "exhaustive" } else { "indexed" }.into());
    put("pairs_compared", s.pairs_compared.into());
    put("search_seconds", s.search_seconds.into());
    put(
        "pairs_compared_per_second",
        (s.pairs_compared as f64 / s.search_seconds.max(1e-9)).round().into(),
    );
    put("ms_per_record", (1000.0 * s.search_seconds / s.records.max(1) as f64).into());
    put("resumed_from_record", s.resumed_from.map_or(serde_json::Value::Null, Into::into));
    put("same_id_pairs_recovered", recovered.into());
    put("total_seconds", started.elapsed().as_secs_f64().into());
    let (mut report, clusters) = build_report(infos, &pairs, &unlinked, stats);
    let in_clusters: usize = clusters.iter().map(|c| c.records.len()).sum();
    report.stats.insert("duplicate_pairs".into(), pairs.len().into());
    report.stats.insert("clusters".into(), clusters.len().into());
    report.stats.insert("records_in_clusters".into(), in_clusters.into());
    report.stats.insert("flags".into(), report.flags.len().into());
    Ok(report)
}

/// Writes the report as JSON or CSV, atomically.
pub fn write_report(report: &Report, out: &Path, format: ReportFormat) -> anyhow::Result<()> {
    let text = match format {
        ReportFormat::Json => report.to_json(),
        ReportFormat::Csv => report.to_csv(),
    };
    ridgeline::dedup::checkpoint::write_file_atomic(out, text.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))
}

/// Clusters drawn with prints in the HTML report (the rest are listed with scores only), so
/// that the file stays a size a browser opens quickly.
pub const HTML_MAX_DRAWN_PAIRS: usize = 200;

/// Drawings of the strongest pairs: per pair the finger whose comparison scored best, with its
/// matched minutiae; images where the manifest named image files.
pub fn pair_views(
    population: &GalleryPopulation<'_>,
    report: &Report,
    gallery: &Gallery,
    image_paths: &HashMap<(String, u8), PathBuf>,
) -> HashMap<(String, String), PairView> {
    let index: HashMap<&str, u32> = population
        .infos()
        .iter()
        .enumerate()
        .map(|(i, r)| (r.record_id.as_str(), i as u32))
        .collect();
    let mut views = HashMap::new();
    let pairs = report.clusters.iter().flat_map(|c| c.pairs.iter()).take(HTML_MAX_DRAWN_PAIRS);
    for p in pairs {
        let (Some(&a), Some(&b)) = (index.get(p.a.as_str()), index.get(p.b.as_str())) else {
            continue;
        };
        if let Some(view) = best_finger_view(population, gallery, a, b, image_paths) {
            views.insert((p.a.clone(), p.b.clone()), view);
        }
    }
    views
}

/// The best-scoring finger pair of two records, with its matched template minutiae.
struct BestFinger {
    score: f64,
    fa: u8,
    ta: Template,
    fb: u8,
    tb: Template,
    matched: Vec<(usize, usize)>,
}

fn best_finger_view(
    population: &GalleryPopulation<'_>,
    gallery: &Gallery,
    a: u32,
    b: u32,
    image_paths: &HashMap<(String, u8), PathBuf>,
) -> Option<PairView> {
    let matcher = gallery.matcher();
    let infos = population.infos();
    let mut best: Option<BestFinger> = None;
    for &(fa, ida) in population.fingers(a) {
        for &(fb, idb) in population.fingers(b) {
            if !ridgeline::dedup::population::positions_compatible(fa, fb) {
                continue;
            }
            let (Ok(ta), Ok(tb)) = (population.template(ida), population.template(idb)) else {
                continue;
            };
            let (pa, pb) = (MatchTemplate::prepare(&ta), MatchTemplate::prepare(&tb));
            let detail = matcher.compare_detailed(pa.view(), pb.view());
            if best.as_ref().map_or(true, |bst| detail.score > bst.score) {
                let matched = detail
                    .matches
                    .iter()
                    .filter_map(|&(i, j)| {
                        Some((
                            nearest_minutia(&ta, pa.view().minutia(i))?,
                            nearest_minutia(&tb, pb.view().minutia(j))?,
                        ))
                    })
                    .collect();
                best = Some(BestFinger { score: detail.score, fa, ta, fb, tb, matched });
            }
        }
    }
    let BestFinger { score, fa, ta, fb, tb, matched } = best?;
    let print = |record: u32, finger: u8, t: Template| {
        let id = infos.get(record as usize).map(|r| r.record_id.clone()).unwrap_or_default();
        let png = image_paths
            .get(&(id.clone(), finger))
            .and_then(|p| FingerImage::open(p, None).ok())
            .and_then(|img| img.to_png().ok());
        PrintView { label: id, finger, png, width: t.width, height: t.height, minutiae: t.minutiae }
    };
    Some(PairView { left: print(a, fa, ta), right: print(b, fb, tb), matched, finger_score: score })
}

/// The template minutia a prepared minutia came from (prepared coordinates are at 500 dpi).
fn nearest_minutia(template: &Template, m: ridgeline::matcher::PreparedMinutia) -> Option<usize> {
    let scale = template.dpi as f32 / ridgeline::image::STANDARD_DPI as f32;
    let (x, y) = (m.x * scale, m.y * scale);
    template
        .minutiae
        .iter()
        .enumerate()
        .map(|(k, t)| (k, (t.x - x).powi(2) + (t.y - y).powi(2)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

/// Prints the summary: human text on stderr-free stdout, or one JSON object.
pub fn print_summary(report: &Report, out: &Path, html: Option<&Path>, json: bool) {
    if json {
        let summary = serde_json::json!({
            "report": out.display().to_string(),
            "html": html.map(|p| p.display().to_string()),
            "stats": report.stats,
        });
        println!("{summary}");
        return;
    }
    let stat = |k: &str| report.stats.get(k).map(|v| v.to_string()).unwrap_or_default();
    println!(
        "{} records, {} duplicate pairs in {} clusters, {} identity flags; {} record pairs compared in {} s",
        stat("records"),
        stat("duplicate_pairs"),
        stat("clusters"),
        stat("flags"),
        stat("pairs_compared"),
        stat("search_seconds"),
    );
    println!("report: {}", out.display());
    if let Some(html) = html {
        println!("HTML report: {}", html.display());
    }
}

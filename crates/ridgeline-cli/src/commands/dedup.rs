//! `ridgeline dedup (--gallery DIR | --input MANIFEST.csv) [--fmr 1e-4] --out REPORT.{json,csv}
//! [--html REPORT.html] [--resume]`
//!
//! Every record against every other, through the gallery's candidate index; duplicate clusters
//! and identity flags written as JSON or CSV, and optionally an HTML adjudication report. The
//! run checkpoints to `REPORT.checkpoint` beside the report; Ctrl-C writes a checkpoint and
//! stops, and `--resume` carries on from it (also after a kill).
//!
//! Under a key (`--key-file`, which an encrypted `--gallery` needs anyway) the checkpoint and
//! the work folder of a manifest run (`REPORT.work/`, its enrolled gallery) are sealed with
//! it, and `--resume` needs the same key again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use ridgeline::dedup::GalleryPopulation;
pub use ridgeline::dedup::{finish_report, population_key, Distinct};
use ridgeline::dedup::{
    job_key, read_manifest, search, Population, RecordInfo, Report, Resumable, SearchConfig,
    SearchOutcome,
};
use ridgeline::gallery::{Enrolment, Gallery, OpenMode, SearchMode};
use ridgeline::Template;
pub use ridgeline_report::dedup::{pair_views, write_page};

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
    #[arg(long, default_value_t = ridgeline::dedup::DEFAULT_CANDIDATES_PER_RECORD)]
    pub candidates: usize,
    /// Records a clerk decided are different people (the `distinct` list of `ridgeline decide
    /// --out APPLIED.json`; repeatable): their pairs are not linked again.
    #[arg(long, value_name = "APPLIED.json")]
    pub distinct: Vec<PathBuf>,
    /// De-duplicate by the manifest's demographic columns (name, id_number, sex, birth_date,
    /// address) with the linkage model, fused with its prints; needs --input and a .json report.
    #[arg(long)]
    pub demographics: bool,
    /// Print a one-object JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    /// De-duplicate what is readable when committed records cannot be read (a damaged
    /// gallery), and say so in every output (`partial`, `skipped_records`); without it such a
    /// run fails.
    #[arg(long)]
    pub allow_partial: bool,
    /// Least seconds between two checkpoint writes while the search runs (a checkpoint is also
    /// written on Ctrl-C and at the end); small values let tests interrupt short runs.
    #[arg(long, hide = true, default_value_t = ridgeline::dedup::DEFAULT_CHECKPOINT_INTERVAL_S as f64)]
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
    let checkpoint = checkpoint_path(&args.out);
    // The gallery key seals the checkpoint and the work gallery: an encrypted population
    // gallery opens only with it, and a manifest run is sealed under the one given.
    let seal_key = super::key();
    let seal_key = seal_key.as_ref();
    let mut workdir = None;
    let mut job = None;
    let gallery_dir = match (&args.gallery, &args.input) {
        (Some(dir), _) => dir.clone(),
        (None, Some(manifest)) => {
            let records = read_manifest(manifest)
                .with_context(|| format!("cannot read {}", manifest.display()))?;
            let key = input_job_key(manifest, &records, &args)?;
            refuse_other_job(&checkpoint, args.resume, key, seal_key)?;
            let dir = work_dir(&args.out);
            let gallery_dir = dir.join("gallery");
            enroll_manifest(&records, &dir, args.resume, key, seal_key)?;
            workdir = Some(dir);
            job = Some(key);
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
    // A population gallery records the run in its audit trail; the work gallery of a manifest
    // is scratch, removed after the run.
    let options = if workdir.is_some() {
        ridgeline::gallery::OpenOptions::new().audit(false).key_opt(seal_key.cloned())
    } else {
        super::open_options()
    };
    let gallery = Gallery::open_with(&gallery_dir, OpenMode::ReadOnly, &options)
        .with_context(|| format!("cannot open gallery {}", gallery_dir.display()))?;
    let mode = if args.exhaustive { SearchMode::Exhaustive } else { SearchMode::Indexed };
    let population = GalleryPopulation::open(&gallery, mode, &metadata, args.allow_partial)?
        .with_candidates_per_record(args.candidates);
    let key = match job {
        Some(key) => key,
        None => {
            let key = gallery_job_key(&gallery_dir, &gallery, &args);
            refuse_other_job(&checkpoint, args.resume, key, seal_key)?;
            key
        }
    };
    let outcome = run_search_keyed(
        &population,
        key,
        args.fmr,
        Some((&checkpoint, args.resume, checkpoint_interval)),
        seal_key,
    )?;
    if !outcome.complete {
        bail!(
            "interrupted after {} of {} records; checkpoint written to {}; run again with --resume to carry on",
            outcome.stats.records_searched,
            outcome.stats.records,
            checkpoint.display()
        );
    }
    let distinct = read_distinct(&args.distinct, population.infos())?;
    let mut report = finish_report(
        &population,
        population.infos(),
        &outcome,
        args.fmr,
        mode,
        started,
        &distinct,
    )?;
    mark_partial(&mut report, population.skipped_records());
    write_report(&report, &args.out, format)?;
    record_run(&gallery, &population, &report)?;
    if let Some(path) = &args.html {
        let views = pair_views(&population, &report, &gallery, &image_paths);
        write_page(
            &report,
            &views,
            population.infos(),
            &Default::default(),
            &Default::default(),
            path,
        )?;
        if format == ReportFormat::Csv {
            eprintln!(
                "note: `ridgeline decide` applies the page's decisions to a JSON report; this run wrote CSV"
            );
        }
    }
    // The report holds everything the checkpoint did; the work folder holds personal data
    // (the enrolled templates) that nothing needs any more.
    let _ = std::fs::remove_file(&checkpoint);
    drop(population);
    drop(gallery);
    if let Some(dir) = &workdir {
        remove_work_dir(dir)?;
    }
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

/// The file in the work folder naming the job its gallery was enrolled for.
const JOB_FILE: &str = "JOB";

/// Enrols a manifest into a fresh gallery in `workdir/gallery` (or keeps the one a resumed run
/// of the same job finished enrolling).
fn enroll_manifest(
    records: &[ridgeline::dedup::ManifestRecord],
    workdir: &Path,
    resume: bool,
    job: u64,
    key: Option<&ridgeline::gallery::GalleryKey>,
) -> anyhow::Result<()> {
    use rayon::prelude::*;
    let dir = &workdir.join("gallery");
    let fingers: usize = records.iter().map(|r| r.paths.len()).sum();
    let job_file = workdir.join(JOB_FILE);
    let job_text = format!("{job:016x}\n");
    if resume {
        // Keep the gallery a previous run of this same job finished enrolling (the job file is
        // written only after the last enrolment); anything else is enrolled afresh.
        let same_job = std::fs::read_to_string(&job_file).is_ok_and(|t| t == job_text);
        if same_job {
            let scratch = ridgeline::gallery::OpenOptions::new().audit(false).key_opt(key.cloned());
            match Gallery::open_with(dir, OpenMode::ReadOnly, &scratch) {
                Ok(gallery) if gallery.len() == fingers => return Ok(()),
                // A missing or wrong key is the user's to fix; re-enrolling would throw the
                // finished work away.
                Err(e @ ridgeline::Error::GalleryKey { .. }) => {
                    return Err(e).with_context(|| {
                        format!("cannot resume with the work gallery {}", dir.display())
                    })
                }
                _ => {}
            }
        }
    }
    if workdir.exists() {
        remove_work_dir(workdir)?;
    }
    ridgeline::private_files::create_dir(workdir)
        .with_context(|| format!("cannot create {}", workdir.display()))?;
    std::fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let scratch = ridgeline::gallery::OpenOptions::new().audit(false).key_opt(key.cloned());
    let gallery = Gallery::create_with(dir, &scratch)
        .with_context(|| format!("cannot create gallery {}", dir.display()))?;
    let progress = Progress::started("enrol", "records", records.len() as u64);
    for chunk in records.chunks(ENROL_BATCH_RECORDS) {
        let templates: Vec<Vec<Template>> = chunk
            .par_iter()
            .map(|r| {
                r.paths
                    .iter()
                    .map(|p| super::probe_input::load_template(p))
                    .collect::<anyhow::Result<Vec<_>>>()
            })
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
    ridgeline::dedup::checkpoint::write_file_atomic(&job_file, job_text.as_bytes())
        .with_context(|| format!("cannot write {}", job_file.display()))?;
    Ok(())
}

/// Removes a de-dup work folder, after checking that it is one (it holds a `gallery` folder
/// and nothing we did not write), so that a report path next to a user's folder of the same
/// name never deletes that folder.
fn remove_work_dir(dir: &Path) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let name = entry.with_context(|| format!("cannot read {}", dir.display()))?.file_name();
        if name != "gallery" && name != JOB_FILE {
            bail!(
                "{} holds {:?}, which a de-duplication work folder does not; move it away",
                dir.display(),
                name
            );
        }
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))
}

/// Refuses `--resume` when the checkpoint belongs to another job (other inputs, other
/// settings, another engine version), before anything is enrolled or searched.
/// A sealed checkpoint needs `key`: a missing or wrong key is refused the same way.
fn refuse_other_job(
    checkpoint: &Path,
    resume: bool,
    job: u64,
    key: Option<&ridgeline::gallery::GalleryKey>,
) -> anyhow::Result<()> {
    if !resume || !checkpoint.exists() {
        return Ok(());
    }
    let saved = ridgeline::dedup::Checkpoint::read_with(checkpoint, key)?;
    if saved.job_key != job {
        bail!(
            "checkpoint {} belongs to another job (other input files or contents, settings or \
             engine version); run without --resume to start afresh",
            checkpoint.display()
        );
    }
    Ok(())
}

/// What every job key covers besides its inputs: the engine and the settings that change the
/// answer.
fn job_settings(args: &Args) -> Vec<Vec<u8>> {
    vec![
        b"ridgeline-dedup-job".to_vec(),
        env!("CARGO_PKG_VERSION").as_bytes().to_vec(),
        ridgeline::matcher::PREPARED_FORMAT_VERSION.to_le_bytes().to_vec(),
        args.fmr.to_le_bytes().to_vec(),
        vec![u8::from(args.exhaustive)],
        (args.candidates as u64).to_le_bytes().to_vec(),
    ]
}

/// The job key of a manifest run: settings, the manifest's path, and per record its id and
/// per finger its position, file path and the hash of the file's contents (so that the same
/// ids over other files are another job).
fn input_job_key(
    manifest: &Path,
    records: &[ridgeline::dedup::ManifestRecord],
    args: &Args,
) -> anyhow::Result<u64> {
    use rayon::prelude::*;
    let mut parts = job_settings(args);
    let canonical = manifest.canonicalize().unwrap_or_else(|_| manifest.to_path_buf());
    parts.push(canonical.to_string_lossy().as_bytes().to_vec());
    let files: Vec<(&ridgeline::dedup::ManifestRecord, u8, &PathBuf)> = records
        .iter()
        .flat_map(|r| r.info.fingers.iter().zip(&r.paths).map(move |(&f, p)| (r, f, p)))
        .collect();
    let hashes: Vec<u64> = files
        .par_iter()
        .map(|(_, _, path)| {
            let bytes = ridgeline::image::read_input(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok(job_key([bytes.as_slice()]))
        })
        .collect::<anyhow::Result<_>>()?;
    for ((r, finger, path), hash) in files.iter().zip(hashes) {
        parts.push(r.info.record_id.as_bytes().to_vec());
        parts.push(vec![*finger]);
        parts.push(path.to_string_lossy().as_bytes().to_vec());
        parts.push(hash.to_le_bytes().to_vec());
    }
    Ok(job_key(parts.iter().map(Vec::as_slice)))
}

/// The job key of a gallery run: settings, the gallery's path, and per live record its id,
/// finger and stored checksums (so that another gallery, or this one after a change, is
/// another job).
fn gallery_job_key(dir: &Path, gallery: &Gallery, args: &Args) -> u64 {
    let mut parts = job_settings(args);
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    parts.push(canonical.to_string_lossy().as_bytes().to_vec());
    ridgeline::dedup::split::push_record_parts(gallery, &mut parts);
    job_key(parts.iter().map(Vec::as_slice))
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
    run_search_keyed(population, population_key(infos, fmr, mode), fmr, checkpoint, None)
}

/// [`run_search`] under a job key the caller computed (see [`input_job_key`]), its checkpoint
/// sealed under `seal_key` if given.
fn run_search_keyed<P: Population>(
    population: &P,
    key: u64,
    fmr: f64,
    checkpoint: Option<(&Path, bool, Duration)>,
    seal_key: Option<&ridgeline::gallery::GalleryKey>,
) -> anyhow::Result<SearchOutcome> {
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
        checkpoint.map(|(path, resume, _)| Resumable { path, resume, key: seal_key }),
        &INTERRUPTED,
        &mut progress,
    )?;
    bar.finish();
    Ok(outcome)
}

/// Reads the `distinct` groups of `ridgeline decide --out` files as pairs of `infos` (record
/// ids not in this population are skipped: the file may cover a larger one).
pub fn read_distinct(paths: &[PathBuf], infos: &[RecordInfo]) -> anyhow::Result<Distinct> {
    let index: HashMap<&str, u32> =
        infos.iter().enumerate().map(|(i, r)| (r.record_id.as_str(), i as u32)).collect();
    let mut out = Distinct::default();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!("{} is not the JSON of `ridgeline decide --out`", path.display())
        })?;
        let groups = value["distinct"].as_array().with_context(|| {
            format!(
                "{} has no `distinct` list (write it with `ridgeline decide --out`)",
                path.display()
            )
        })?;
        for g in groups {
            let members: Vec<u32> = g["records"]
                .as_array()
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter_map(|r| r.as_str().and_then(|id| index.get(id).copied()))
                .collect();
            for (k, &x) in members.iter().enumerate() {
                for &y in &members[k + 1..] {
                    out.insert((x.min(y), x.max(y)));
                }
            }
        }
    }
    Ok(out)
}

/// Writes the report as JSON or CSV, atomically.
pub fn write_report(report: &Report, out: &Path, format: ReportFormat) -> anyhow::Result<()> {
    let text = match format {
        ReportFormat::Json => report.to_json(),
        ReportFormat::Csv => ridgeline_report::dedup::csv(report),
    };
    ridgeline::dedup::checkpoint::write_file_atomic(out, text.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))
}

/// Records in the report's statistics whether the run skipped records it could not read.
pub fn mark_partial(report: &mut Report, skipped_records: usize) {
    report.stats.insert("partial".into(), (skipped_records > 0).into());
    report.stats.insert("skipped_records".into(), skipped_records.into());
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
    if report.stats.get("partial").and_then(|v| v.as_bool()) == Some(true) {
        println!(
            "PARTIAL: {} committed records could not be read and were skipped; their duplicates are not in this report",
            stat("skipped_records")
        );
    }
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

/// Records the run in the gallery's audit trail: the records in duplicate clusters are the
/// subjects it affects.
fn record_run(
    gallery: &Gallery,
    population: &GalleryPopulation<'_>,
    report: &ridgeline::dedup::Report,
) -> anyhow::Result<()> {
    use ridgeline::gallery::audit::Event;
    use ridgeline::gallery::{Operation, Outcome};
    let subjects: Vec<&str> = report
        .clusters
        .iter()
        .flat_map(|c| c.records.iter().map(|r| r.record_id.as_str()))
        .collect();
    let pairs: usize = report.clusters.iter().map(|c| c.pairs.len()).sum();
    let detail = format!(
        "{} clusters, {pairs} pairs, {} flags, {} records skipped",
        report.clusters.len(),
        report.flags.len(),
        population.skipped_records()
    );
    gallery
        .store()
        .record(&Event {
            operation: Operation::Dedup,
            outcome: Outcome::Listed,
            generation: Some(gallery.snapshot().generation()),
            subjects: &subjects,
            detail: &detail,
        })
        .context("cannot record the run in the gallery's audit trail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(out: &Path) -> Args {
        Args {
            gallery: None,
            input: None,
            fmr: 1e-4,
            out: out.to_path_buf(),
            html: None,
            resume: true,
            exhaustive: false,
            candidates: 64,
            distinct: Vec::new(),
            demographics: false,
            json: false,
            allow_partial: false,
            checkpoint_seconds: 1.0,
        }
    }

    /// The same ids, paths and settings over other file contents are another job, and a
    /// checkpoint of another job is refused before anything runs.
    #[test]
    fn the_job_key_covers_file_contents_and_settings_and_resume_refuses_another_job() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("a.rlt");
        std::fs::write(&file, b"first contents").expect("write");
        let manifest = dir.path().join("m.csv");
        std::fs::write(&manifest, "record_id,person_id,name,finger,path\nR1,,x,1,a.rlt\n")
            .expect("write");
        let records = read_manifest(&manifest).expect("manifest");
        let out = dir.path().join("r.json");
        let key = |a: &Args| input_job_key(&manifest, &records, a).expect("key");
        let first = key(&args(&out));
        assert_eq!(first, key(&args(&out)), "deterministic");
        assert_ne!(first, key(&Args { fmr: 1e-5, ..args(&out) }));
        assert_ne!(first, key(&Args { candidates: 16, ..args(&out) }));
        std::fs::write(&file, b"other contents").expect("write");
        let second = key(&args(&out));
        assert_ne!(first, second, "other contents, same ids and paths");

        let checkpoint = checkpoint_path(&out);
        let saved = ridgeline::dedup::Checkpoint {
            job_key: first,
            records: 1,
            next_record: 0,
            pairs_compared: 0,
            elapsed_ms: 0,
            pairs: Vec::new(),
            compared_ahead: Vec::new(),
        };
        ridgeline::dedup::checkpoint::write_file_atomic(&checkpoint, &saved.to_bytes())
            .expect("write checkpoint");
        assert!(refuse_other_job(&checkpoint, true, first, None).is_ok());
        let refused = refuse_other_job(&checkpoint, true, second, None).expect_err("another job");
        assert!(refused.to_string().contains("another job"), "{refused}");
        assert!(refuse_other_job(&checkpoint, false, second, None).is_ok(), "no --resume: fresh");
    }
}

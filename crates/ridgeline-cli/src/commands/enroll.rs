//! `ridgeline enroll --gallery DIR (--id ID [--print N=PATH]... [--finger N] [INPUT...] |
//! --manifest CSV) [--update] [--fmr F] [--json]`
//!
//! Enrols people: all the prints of one id are one person, enrolled in one commit, and
//! refused when they match another enrolled subject at the false match rate per search `--fmr`
//! (one record per person), or when the id is enrolled already and `--update` is not given.
//! With `--update` the prints are added to the enrolled subject, a re-captured finger
//! replacing its old record.
//!
//! The manifest is a people manifest (`ridgeline::people::manifest`): a row per print, columns
//! `id` (or `record_id`), `finger`, `path` and optionally `person_id`/`id_number`, `name`,
//! `sex`, `birth_date`, `address`, `source`; the older `id,finger,path` files read as before.
//! People are enrolled in commits of [`BATCH_PEOPLE`], each person checked against the gallery
//! and the people before it; refused people are listed and the others enrolled (exit code 1
//! if any was refused).

use std::path::{Path, PathBuf};

use anyhow::Context;
use ridgeline::gallery::{EnrolOptions, Gallery, NewPerson, OpenMode, SearchMode};
use ridgeline::people::{read_people, Demographics};
use ridgeline::Template;

use crate::progress::Progress;

use super::probe_input::{as_prints, parse_prints, PrintArg};

/// People per commit when enrolling from a manifest.
pub const BATCH_PEOPLE: usize = 256;

/// Arguments of `ridgeline enroll`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gallery folder.
    #[arg(long)]
    pub gallery: PathBuf,
    /// Subject id of the person.
    #[arg(long, required_unless_present = "manifest", conflicts_with = "manifest")]
    pub id: Option<String>,
    /// A print of the person as finger position (0–10) = image or template file; repeatable.
    #[arg(long = "print", value_name = "N=PATH", requires = "id")]
    pub prints: Vec<String>,
    /// Finger position 0–10 (ISO/IEC 19794-2; 0 = unknown) of the INPUTs.
    #[arg(long, default_value_t = 0)]
    pub finger: u8,
    /// Template files or fingerprint images of finger `--finger`.
    #[arg(requires = "id")]
    pub inputs: Vec<PathBuf>,
    /// People manifest (CSV, a row per print).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// The enrolment updates the enrolled subject of the same id (new fingers, re-captures).
    #[arg(long)]
    pub update: bool,
    /// False match rate per search of the duplicate-person check.
    #[arg(long, default_value_t = 1e-4)]
    pub fmr: f64,
    /// Name of the person.
    #[arg(long, conflicts_with = "manifest")]
    pub name: Option<String>,
    /// Identity number of the person.
    #[arg(long, conflicts_with = "manifest")]
    pub id_number: Option<String>,
    /// Sex of the person.
    #[arg(long, conflicts_with = "manifest")]
    pub sex: Option<String>,
    /// Birth date of the person (YYYY-MM-DD recommended).
    #[arg(long, conflicts_with = "manifest")]
    pub birth_date: Option<String>,
    /// Address of the person.
    #[arg(long, conflicts_with = "manifest")]
    pub address: Option<String>,
    /// Source system of the record.
    #[arg(long, conflicts_with = "manifest")]
    pub source: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Enrol images whose quality is below the recapture threshold
    /// (`ridgeline::extract::RECAPTURE_QUALITY`) instead of refusing them.
    #[arg(long)]
    pub accept_low_quality: bool,
}

/// An image whose print is too poor to enrol: the clerk should capture the finger again.
#[derive(Debug)]
pub struct LowQualityPrint {
    /// The image.
    pub path: PathBuf,
    /// Its image quality.
    pub quality: u8,
}

impl std::fmt::Display for LowQualityPrint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: image quality {} is below the recapture threshold {}; capture the finger again, or pass --accept-low-quality",
            self.path.display(),
            self.quality,
            ridgeline::extract::RECAPTURE_QUALITY
        )
    }
}

impl std::error::Error for LowQualityPrint {}

/// Loads an input; an image (not a template file, whose quality is its maker's scale) below the
/// recapture threshold is refused unless `accept_low_quality`.
fn load_prints_checked(
    prints: &[PrintArg],
    accept_low_quality: bool,
) -> anyhow::Result<Vec<(u8, Template)>> {
    use rayon::prelude::*;
    prints
        .par_iter()
        .map(|p| {
            let t = load_checked(&p.path, accept_low_quality)
                .with_context(|| format!("finger {} ({})", p.finger, p.path.display()))?;
            Ok((p.finger, t))
        })
        .collect()
}

fn load_checked(path: &Path, accept_low_quality: bool) -> anyhow::Result<Template> {
    let loaded = super::compare::load_template(path, None)?;
    let extracted = loaded.extract_ms.is_some();
    let quality = loaded.template.quality;
    if extracted && !accept_low_quality && ridgeline::extract::needs_recapture(quality) {
        return Err(LowQualityPrint { path: path.to_path_buf(), quality }.into());
    }
    Ok(loaded.template)
}

/// A person read from the arguments or the manifest, before loading.
struct PersonInput {
    id: String,
    prints: Vec<PrintArg>,
    demographics: Option<Demographics>,
}

fn people_of(args: &Args) -> anyhow::Result<Vec<PersonInput>> {
    if let Some(csv) = &args.manifest {
        let people =
            read_people(csv).with_context(|| format!("cannot read manifest {}", csv.display()))?;
        return Ok(people
            .into_iter()
            .map(|p| PersonInput {
                id: p.id,
                prints: p
                    .prints
                    .into_iter()
                    .map(|r| PrintArg { finger: r.finger, path: r.path })
                    .collect(),
                demographics: (!p.demographics.is_empty()).then_some(p.demographics),
            })
            .collect());
    }
    let Some(id) = &args.id else { anyhow::bail!("give --id ID with prints, or --manifest CSV") };
    let mut prints = parse_prints(&args.prints)?;
    prints.extend(args.inputs.iter().map(|p| PrintArg { finger: args.finger, path: p.clone() }));
    if prints.is_empty() {
        anyhow::bail!("give at least one --print N=PATH or INPUT to enrol for {id:?}");
    }
    let demographics = Demographics {
        name: args.name.clone(),
        id_number: args.id_number.clone(),
        sex: args.sex.clone(),
        birth_date: args.birth_date.clone(),
        address: args.address.clone(),
        source: args.source.clone(),
    };
    Ok(vec![PersonInput {
        id: id.clone(),
        prints,
        demographics: (!demographics.is_empty()).then_some(demographics),
    }])
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !(args.fmr > 0.0 && args.fmr < 1.0) {
        anyhow::bail!("--fmr must be between 0 and 1 (exclusive), not {}", args.fmr);
    }
    let people = people_of(&args)?;
    let gallery = Gallery::open_with(&args.gallery, OpenMode::Writable, &super::open_options())
        .with_context(|| format!("cannot open gallery {} for writing", args.gallery.display()))?;
    let options =
        EnrolOptions { update: args.update, fmr_per_search: args.fmr, mode: SearchMode::Indexed };
    let single = args.manifest.is_none();
    let total_prints: usize = people.iter().map(|p| p.prints.len()).sum();
    let progress = Progress::started("enrol", "records", total_prints as u64);
    let (mut records, mut enrolled, mut updated, mut replaced) = (0usize, 0usize, 0usize, 0usize);
    let mut refused: Vec<(String, ridgeline::Error)> = Vec::new();
    for chunk in people.chunks(BATCH_PEOPLE) {
        let loaded: Vec<Vec<(u8, Template)>> = chunk
            .iter()
            .map(|p| {
                load_prints_checked(&p.prints, args.accept_low_quality)
                    .with_context(|| format!("person {}", p.id))
            })
            .collect::<anyhow::Result<_>>()?;
        let prints: Vec<_> = loaded.iter().map(|l| as_prints(l)).collect();
        let batch: Vec<NewPerson<'_>> = chunk
            .iter()
            .zip(&prints)
            .map(|(p, prints)| NewPerson {
                subject_id: &p.id,
                prints,
                demographics: p.demographics.as_ref(),
            })
            .collect();
        let outcome = gallery
            .enroll_people(&batch, &options)
            .with_context(|| format!("enrolment failed after {records} committed records"))?;
        if single {
            if let Some((_, error)) = outcome.refused.into_iter().next() {
                return Err(anyhow::Error::new(error).context("enrolment refused"));
            }
        } else {
            refused.extend(outcome.refused.into_iter().map(|(i, e)| (chunk[i].id.clone(), e)));
        }
        for e in &outcome.enrolled {
            records += e.records.len();
            enrolled += 1;
            updated += usize::from(e.updated);
            replaced += e.replaced;
        }
        progress.inc(chunk.iter().map(|p| p.prints.len() as u64).sum());
    }
    progress.finish();
    let subjects = gallery.subject_count()?;
    if args.json {
        let refused: Vec<_> = refused
            .iter()
            .map(|(id, e)| {
                let existing = match e {
                    ridgeline::Error::DuplicatePerson { existing, .. } => Some(existing.as_str()),
                    _ => None,
                };
                serde_json::json!({ "id": id, "existing": existing, "error": e.to_string() })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "enrolled": records,
                "records": gallery.len(),
                "people": enrolled,
                "updated": updated,
                "replaced": replaced,
                "subjects": subjects,
                "refused": refused,
            })
        );
    } else {
        println!(
            "enrolled {records} record(s) of {enrolled} person(s) ({updated} updated, {replaced} \
             re-captured record(s) replaced); the gallery holds {} records of {subjects} subjects",
            gallery.len()
        );
    }
    for (id, e) in &refused {
        eprintln!("refused {id}: {e}");
    }
    if !refused.is_empty() {
        anyhow::bail!(
            "{} of {} people refused (listed above); the others are enrolled",
            refused.len(),
            people.len()
        );
    }
    Ok(())
}

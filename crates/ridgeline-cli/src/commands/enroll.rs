//! `ridgeline enroll --gallery DIR (--id ID [--finger N] INPUT... | --manifest CSV)`
//!
//! The manifest is CSV with columns `id,finger,path` (a header line `id,...` is skipped; paths
//! are relative to the manifest's folder). It is enrolled in batches of [`BATCH_RECORDS`], one
//! commit each, so an interrupted run keeps every batch reported done.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ridgeline::gallery::{Enrolment, Gallery, OpenMode};
use ridgeline::Template;

use crate::progress::Progress;

/// Records per commit when enrolling from a manifest.
pub const BATCH_RECORDS: usize = 1024;

/// Arguments of `ridgeline enroll`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gallery folder.
    #[arg(long)]
    pub gallery: PathBuf,
    /// Subject id of the INPUTs.
    #[arg(long, required_unless_present = "manifest", conflicts_with = "manifest")]
    pub id: Option<String>,
    /// Finger position 0–10 (ISO/IEC 19794-2; 0 = unknown) of the INPUTs.
    #[arg(long, default_value_t = 0)]
    pub finger: u8,
    /// Template files or fingerprint images.
    #[arg(requires = "id")]
    pub inputs: Vec<PathBuf>,
    /// CSV with columns id,finger,path.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Enrol images whose quality is below the recapture threshold
    /// (`ridgeline::extract::quality::RECAPTURE_QUALITY`) instead of refusing them.
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
            ridgeline::extract::quality::RECAPTURE_QUALITY
        )
    }
}

impl std::error::Error for LowQualityPrint {}

/// Loads an input; an image (not a template file, whose quality is its maker's scale) below the
/// recapture threshold is refused unless `accept_low_quality`.
fn load_checked(path: &Path, accept_low_quality: bool) -> anyhow::Result<Template> {
    let loaded = super::compare::load_template(path, None)?;
    let extracted = loaded.extract_ms.is_some();
    let quality = loaded.template.quality;
    if extracted && !accept_low_quality && ridgeline::extract::quality::needs_recapture(quality) {
        return Err(LowQualityPrint { path: path.to_path_buf(), quality }.into());
    }
    Ok(loaded.template)
}

struct Row {
    id: String,
    finger: u8,
    path: PathBuf,
}

fn read_manifest(csv: &Path) -> anyhow::Result<Vec<Row>> {
    let text =
        std::fs::read_to_string(csv).with_context(|| format!("cannot read {}", csv.display()))?;
    let base = csv.parent().unwrap_or(Path::new("."));
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (n == 0 && line.starts_with("id,")) {
            continue;
        }
        let mut fields = line.splitn(3, ',');
        let (Some(id), Some(finger), Some(path)) = (fields.next(), fields.next(), fields.next())
        else {
            anyhow::bail!("{}:{}: expected id,finger,path", csv.display(), n + 1);
        };
        let finger: u8 = finger
            .trim()
            .parse()
            .with_context(|| format!("{}:{}: bad finger {finger:?}", csv.display(), n + 1))?;
        rows.push(Row { id: id.trim().to_string(), finger, path: base.join(path.trim()) });
    }
    Ok(rows)
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let rows = match (&args.manifest, &args.id) {
        (Some(csv), _) => read_manifest(csv)?,
        (None, Some(id)) => {
            if args.inputs.is_empty() {
                anyhow::bail!("give at least one INPUT to enrol for {id:?}");
            }
            args.inputs
                .iter()
                .map(|p| Row { id: id.clone(), finger: args.finger, path: p.clone() })
                .collect()
        }
        (None, None) => anyhow::bail!("give --id ID INPUT... or --manifest CSV"),
    };
    let gallery = Gallery::open(&args.gallery, OpenMode::Writable)
        .with_context(|| format!("cannot open gallery {} for writing", args.gallery.display()))?;
    let progress = Progress::started("enrol", "records", rows.len() as u64);
    let mut enrolled = 0usize;
    for chunk in rows.chunks(BATCH_RECORDS) {
        use rayon::prelude::*;
        let templates: Vec<Template> = chunk
            .par_iter()
            .map(|r| load_checked(&r.path, args.accept_low_quality))
            .collect::<anyhow::Result<_>>()?;
        let batch: Vec<Enrolment<'_>> = chunk
            .iter()
            .zip(&templates)
            .map(|(r, t)| Enrolment { subject_id: &r.id, finger: r.finger, template: t })
            .collect();
        gallery
            .enroll_batch(&batch)
            .with_context(|| format!("enrolment failed after {enrolled} committed records"))?;
        enrolled += chunk.len();
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    if args.json {
        println!("{}", serde_json::json!({ "enrolled": enrolled, "records": gallery.len() }));
    } else {
        println!("enrolled {enrolled} record(s); the gallery holds {}", gallery.len());
    }
    Ok(())
}

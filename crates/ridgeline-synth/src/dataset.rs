//! Whole data sets on disk: FVC layout images with ground truth, or templates only.
//!
//! Images: `DIR/<finger>_<impression>.png` (fingers and impressions from 1), ground truth in
//! `DIR/truth/<finger>_<impression>.json` as a JSON list of `{x, y, angle, kind}` (pixels of the
//! written image, radians counter-clockwise from +x as viewed, the core crate's convention), and
//! `DIR/synth.json` describing the set (seed, sizes, class of each finger).
//!
//! Work is spread over fingers with rayon; every finger's output depends only on the seed and
//! its index, so the files are byte-identical whatever the number of threads.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use ridgeline::{FingerImage, Minutia};
use serde::Serialize;

use crate::condition::Condition;
use crate::error::{Error, Result};
use crate::impression::{self, ImpressionConfig};
use crate::master::{Master, MasterConfig};
use crate::pack::PackWriter;
use crate::templates::{TemplateConfig, TemplateMaster};
use crate::PatternClass;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    /// Number of fingers.
    pub fingers: u64,
    /// Impressions per finger.
    pub impressions: u32,
    /// Seed.
    pub seed: u64,
    /// Image width in pixels at `dpi`.
    pub width: u32,
    /// Image height in pixels at `dpi`.
    pub height: u32,
    /// Resolution of the written images.
    pub dpi: u32,
}

impl DatasetSpec {
    fn validate(&self) -> Result<()> {
        if self.fingers == 0 || self.impressions == 0 {
            return Err(Error::InvalidConfig("fingers and impressions must be at least 1".into()));
        }
        ridgeline::image::check_dpi(self.dpi)?;
        Ok(())
    }

    /// Width and height at the generator's 500 dpi.
    fn size_at_500(&self) -> (u32, u32) {
        let scale = ridgeline::image::STANDARD_DPI as f64 / self.dpi as f64;
        ((self.width as f64 * scale).round() as u32, (self.height as f64 * scale).round() as u32)
    }
}

/// One ground-truth minutia as written to `truth/*.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TruthMinutia {
    /// Column in pixels.
    pub x: f32,
    /// Row in pixels.
    pub y: f32,
    /// Radians, `[0, 2π)`, counter-clockwise from +x as viewed.
    pub angle: f32,
    /// `ending` or `bifurcation`.
    pub kind: &'static str,
}

impl From<&Minutia> for TruthMinutia {
    fn from(m: &Minutia) -> Self {
        TruthMinutia { x: m.x, y: m.y, angle: m.angle, kind: m.kind.as_str() }
    }
}

/// The set's description written to `synth.json`.
#[derive(Debug, Clone, Serialize)]
struct Manifest {
    generator: &'static str,
    seed: u64,
    fingers: u64,
    impressions: u32,
    width: u32,
    height: u32,
    dpi: u32,
    /// Acquisition conditions applied to every impression (canonical names).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    conditions: Vec<String>,
    classes: Vec<PatternClass>,
}

/// What a run produced.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Files of images or templates written.
    pub written: u64,
    /// Fingers per pattern class, in the order of [`PatternClass::ALL`].
    pub class_counts: [u64; 5],
    /// Ground-truth minutiae written (images only).
    pub truth_minutiae: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

/// Fingers handled per parallel batch (bounds memory; progress is reported per batch).
const BATCH_FINGERS: u64 = 256;

/// Writes rendered impressions and their ground truth in FVC layout under `dir`.
/// `progress` is called with the number of fingers just finished.
pub fn write_images(
    dir: &Path,
    spec: &DatasetSpec,
    master: &MasterConfig,
    impression: &ImpressionConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary> {
    write_images_with(dir, spec, master, impression, &[], progress)
}

/// [`write_images`] under acquisition `conditions` (see [`crate::condition`]): the same
/// fingers and touches as without them, degraded, with the ground truth they leave.
pub fn write_images_with(
    dir: &Path,
    spec: &DatasetSpec,
    master: &MasterConfig,
    impression: &ImpressionConfig,
    conditions: &[Condition],
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary> {
    let mut summaries = write_image_sets(&[(dir, conditions)], spec, master, impression, progress)?;
    Ok(summaries.pop().unwrap_or_default())
}

/// Several sets of the same fingers, one folder per list of conditions, each as
/// [`write_images_with`] writes it (byte for byte); every master is grown once for all sets.
pub fn write_image_sets(
    sets: &[(&Path, &[Condition])],
    spec: &DatasetSpec,
    master: &MasterConfig,
    impression: &ImpressionConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Summary>> {
    spec.validate()?;
    let (width, height) = spec.size_at_500();
    let master = MasterConfig { width, height, ..master.clone() };
    master.validate()?;
    impression.validate()?;
    for (dir, _) in sets {
        let truth_dir = dir.join("truth");
        std::fs::create_dir_all(&truth_dir).map_err(io_err(&truth_dir))?;
    }
    let mut summaries = vec![Summary::default(); sets.len()];
    let mut classes = Vec::with_capacity(spec.fingers.min(1 << 20) as usize);
    let mut start = 1;
    while start <= spec.fingers {
        let end = (start + BATCH_FINGERS - 1).min(spec.fingers);
        let batch: Vec<Result<(PatternClass, Vec<u64>)>> = (start..=end)
            .into_par_iter()
            .map(|finger| {
                let m = Master::generate(spec.seed, finger, &master)?;
                let mut truth_counts = vec![0u64; sets.len()];
                for ((dir, conditions), count) in sets.iter().zip(&mut truth_counts) {
                    for k in 1..=spec.impressions {
                        let imp = impression::render_with(
                            &m, spec.seed, finger, k, width, height, impression, conditions,
                        )?;
                        let (image, minutiae) = at_dpi(imp, spec.dpi);
                        let name = format!("{finger}_{k}");
                        write_png(&dir.join(format!("{name}.png")), &image)?;
                        let truth: Vec<TruthMinutia> =
                            minutiae.iter().map(TruthMinutia::from).collect();
                        let path = dir.join("truth").join(format!("{name}.json"));
                        let json = serde_json::to_vec(&truth)
                            .map_err(|e| Error::InvalidConfig(e.to_string()))?;
                        std::fs::write(&path, json).map_err(io_err(&path))?;
                        *count += truth.len() as u64;
                    }
                }
                progress(1);
                Ok((m.class(), truth_counts))
            })
            .collect();
        for result in batch {
            let (class, truth) = result?;
            for (summary, t) in summaries.iter_mut().zip(truth) {
                summary.class_counts[class_slot(class)] += 1;
                summary.truth_minutiae += t;
                summary.written += spec.impressions as u64;
            }
            classes.push(class);
        }
        start = end + 1;
    }
    for (dir, conditions) in sets {
        let manifest = Manifest {
            generator: "ridgeline-synth",
            seed: spec.seed,
            fingers: spec.fingers,
            impressions: spec.impressions,
            width: spec.width,
            height: spec.height,
            dpi: spec.dpi,
            conditions: conditions.iter().map(Condition::name).collect(),
            classes: classes.clone(),
        };
        let path = dir.join("synth.json");
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::InvalidConfig(e.to_string()))?;
        std::fs::write(&path, json).map_err(io_err(&path))?;
    }
    Ok(summaries)
}

fn class_slot(class: PatternClass) -> usize {
    PatternClass::ALL.iter().position(|c| *c == class).unwrap_or(0)
}

/// Resamples a 500 dpi impression (and its truth) to `dpi`.
fn at_dpi(imp: impression::Impression, dpi: u32) -> (FingerImage, Vec<Minutia>) {
    if dpi == ridgeline::image::STANDARD_DPI {
        return (imp.image, imp.minutiae);
    }
    let image = imp.image.resampled_to(dpi);
    let scale = dpi as f32 / ridgeline::image::STANDARD_DPI as f32;
    let minutiae = imp
        .minutiae
        .into_iter()
        .map(|m| Minutia { x: (m.x + 0.5) * scale - 0.5, y: (m.y + 0.5) * scale - 0.5, ..m })
        .collect();
    (image, minutiae)
}

/// Writes a PNG that records its resolution (`pHYs`), so readers need no `--dpi`.
pub fn write_png(path: &Path, image: &FingerImage) -> Result<()> {
    let file = std::fs::File::create(path).map_err(io_err(path))?;
    let mut encoder =
        png::Encoder::new(std::io::BufWriter::new(file), image.width(), image.height());
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let per_metre = (image.dpi() as f64 / 0.0254).round() as u32;
    encoder.set_pixel_dims(Some(png::PixelDimensions {
        xppu: per_metre,
        yppu: per_metre,
        unit: png::Unit::Meter,
    }));
    let mut writer =
        encoder.write_header().map_err(|e| Error::Png(format!("{}: {e}", path.display())))?;
    writer
        .write_image_data(image.pixels())
        .map_err(|e| Error::Png(format!("{}: {e}", path.display())))?;
    writer.finish().map_err(|e| Error::Png(format!("{}: {e}", path.display())))
}

/// Generates the templates of fingers `first..=last`, finger-major, encoded as native bytes.
fn template_batch(
    first: u64,
    last: u64,
    spec: &DatasetSpec,
    config: &TemplateConfig,
) -> Result<Vec<(PatternClass, Vec<Vec<u8>>)>> {
    (first..=last)
        .into_par_iter()
        .map(|finger| {
            let master = TemplateMaster::generate(spec.seed, finger, config);
            let encoded = (1..=spec.impressions)
                .map(|k| Ok(master.impression(spec.seed, finger, k, config).to_native_bytes()?))
                .collect::<Result<Vec<_>>>()?;
            Ok((master.model.class, encoded))
        })
        .collect()
}

/// Fingers per batch in template-only mode.
const TEMPLATE_BATCH_FINGERS: u64 = 4096;

/// Where template-only output goes.
#[derive(Debug, Clone)]
pub enum TemplateOutput {
    /// One template pack file (`.rlp`).
    Pack(PathBuf),
    /// A folder of `<finger>_<impression>.rlt` files.
    Dir(PathBuf),
}

/// Writes template-level fingers without rendering images.
pub fn write_templates(
    output: &TemplateOutput,
    spec: &DatasetSpec,
    config: &TemplateConfig,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Summary> {
    spec.validate()?;
    let (width, height) = spec.size_at_500();
    let config = TemplateConfig {
        master: MasterConfig { width, height, ..config.master.clone() },
        ..config.clone()
    };
    config.validate()?;
    let mut pack = match output {
        TemplateOutput::Pack(path) => {
            Some(PackWriter::create(path, spec.fingers, spec.impressions, spec.seed)?)
        }
        TemplateOutput::Dir(dir) => {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            None
        }
    };
    let mut summary = Summary::default();
    let mut start = 1;
    while start <= spec.fingers {
        let end = (start + TEMPLATE_BATCH_FINGERS - 1).min(spec.fingers);
        let batch = template_batch(start, end, spec, &config)?;
        for (offset, (class, encoded)) in batch.iter().enumerate() {
            summary.class_counts[class_slot(*class)] += 1;
            let finger = start + offset as u64;
            for (k, bytes) in encoded.iter().enumerate() {
                match (&mut pack, output) {
                    (Some(writer), _) => writer.push_encoded(bytes)?,
                    (None, TemplateOutput::Dir(dir)) => {
                        let path = dir.join(format!("{finger}_{}.rlt", k + 1));
                        std::fs::write(&path, bytes).map_err(io_err(&path))?;
                    }
                    (None, TemplateOutput::Pack(_)) => {}
                }
                summary.written += 1;
            }
        }
        progress(end - start + 1);
        start = end + 1;
    }
    if let Some(writer) = pack {
        writer.finish()?;
    }
    Ok(summary)
}

//! Reading a fingerprint input for `enroll` and `identify`: a template file (native, ISO,
//! ANSI; see `ridgeline::formats`), or an image to extract one from.

use std::path::Path;

use anyhow::Context;
use ridgeline::Template;

/// Reads a template from `path`: a template file of any supported format, or an image.
pub fn load_template(path: &Path) -> anyhow::Result<Template> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if ridgeline::formats::detect_format(&bytes).is_ok() {
        return ridgeline::formats::decode_template(&bytes)
            .with_context(|| format!("{} is not a valid template", path.display()));
    }
    let image = ridgeline::FingerImage::decode(&bytes, None).with_context(|| {
        format!("{} is neither a template nor a readable image", path.display())
    })?;
    anyhow::bail!(
        "{}: {}x{} image read, but extraction from images is not available in this build yet",
        path.display(),
        image.width(),
        image.height()
    )
}

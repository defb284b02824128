//! Reading a fingerprint input for `enroll` and `identify`: a template file, or an image to
//! extract one from.

use std::path::Path;

use anyhow::Context;
use ridgeline::Template;

/// Reads a template from `path`: a native `.rlt` template, or an image to extract from.
pub fn load_template(path: &Path) -> anyhow::Result<Template> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(&ridgeline::template::NATIVE_MAGIC) {
        return Template::from_native_bytes(&bytes)
            .with_context(|| format!("{} is not a valid template", path.display()));
    }
    let image = ridgeline::FingerImage::decode(&bytes, None).with_context(|| {
        format!("{} is neither a template nor a readable image", path.display())
    })?;
    ridgeline::extract::Extractor::default()
        .extract(&image)
        .with_context(|| format!("cannot extract minutiae from {}", path.display()))
}

//! Reading a fingerprint input for `enroll` and `identify`: a template file (native, ISO,
//! ANSI; see `ridgeline::formats`), or an image to extract one from. The same rules as
//! `ridgeline compare`, whose loader this reuses.

use std::path::Path;

use ridgeline::Template;

/// Reads a template from `path`: a template file of any supported format, or an image.
pub fn load_template(path: &Path) -> anyhow::Result<Template> {
    super::compare::load_template(path, None).map(|loaded| loaded.template)
}

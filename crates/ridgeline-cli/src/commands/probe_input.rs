//! Reading a fingerprint input for `enroll` and `identify`: a template file (native, ISO,
//! ANSI; see `ridgeline::formats`), or an image to extract one from. The same rules as
//! `ridgeline compare`, whose loader this reuses.

use std::path::Path;

use ridgeline::Template;

/// Reads a template from `path`: a template file of any supported format, or an image.
pub fn load_template(path: &Path) -> anyhow::Result<Template> {
    super::compare::load_template(path, None).map(|loaded| loaded.template)
}

/// Refuses an output path that names the input file itself (also through another path or a
/// link): writing it would destroy the input before the user has a result.
pub fn refuse_overwriting_input(input: &Path, output: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output)) else {
        return Ok(()); // an output that does not exist yet is not the input
    };
    if a.dev() == b.dev() && a.ino() == b.ino() {
        anyhow::bail!(
            "the output {} is the input file itself; write to another file",
            output.display()
        );
    }
    Ok(())
}

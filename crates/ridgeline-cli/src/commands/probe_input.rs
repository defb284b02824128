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

/// One `--print N=PATH` argument: finger position and file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintArg {
    /// ISO/IEC 19794-2 finger position (0 unknown, 1–10).
    pub finger: u8,
    /// Image or template file.
    pub path: std::path::PathBuf,
}

/// Parses one `--print N=PATH`.
pub fn parse_print(arg: &str) -> Result<PrintArg, String> {
    let (finger, path) = arg
        .split_once('=')
        .ok_or_else(|| format!("expected N=PATH (finger position = file), got {arg:?}"))?;
    let finger: u8 = finger
        .trim()
        .parse()
        .ok()
        .filter(|f| *f <= ridgeline::gallery::MAX_FINGER)
        .ok_or_else(|| format!("finger position {finger:?} is not 0-10"))?;
    if path.is_empty() {
        return Err(format!("no file after {finger}="));
    }
    Ok(PrintArg { finger, path: path.into() })
}

/// Parses every `--print` argument; a bad one is a user error.
pub fn parse_prints(args: &[String]) -> anyhow::Result<Vec<PrintArg>> {
    args.iter().map(|a| parse_print(a).map_err(|e| anyhow::anyhow!("--print {a}: {e}"))).collect()
}

/// Reads the templates of several prints in parallel.
pub fn load_prints(prints: &[PrintArg]) -> anyhow::Result<Vec<(u8, Template)>> {
    use anyhow::Context;
    use rayon::prelude::*;
    prints
        .par_iter()
        .map(|p| {
            let t = load_template(&p.path)
                .with_context(|| format!("finger {} ({})", p.finger, p.path.display()))?;
            Ok((p.finger, t))
        })
        .collect()
}

/// The library's view of loaded prints.
pub fn as_prints(loaded: &[(u8, Template)]) -> Vec<ridgeline::gallery::Print<'_>> {
    loaded
        .iter()
        .map(|(finger, template)| ridgeline::gallery::Print { finger: *finger, template })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_arguments_name_a_position_and_a_file() {
        assert_eq!(
            parse_print("6=a/b=c.png"),
            Ok(PrintArg { finger: 6, path: "a/b=c.png".into() })
        );
        assert!(parse_print("11=a.png").is_err());
        assert!(parse_print("a.png").is_err());
        assert!(parse_print("1=").is_err());
        assert!(parse_print("x=a.png").is_err());
    }
}

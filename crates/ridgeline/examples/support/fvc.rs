//! The four FVC2002 "B" sets as the examples read them: their folders and resolutions, our
//! extractor's template of an image and the ISO template beside it. Each example uses what it
//! needs of this module.
#![allow(dead_code)]

use ridgeline::Template;

/// Folder and resolution of each set (DB2's images are 569 dpi, whatever the files say).
pub const SETS: [(&str, u32); 4] = [("DB1_B", 500), ("DB2_B", 569), ("DB3_B", 500), ("DB4_B", 500)];

/// Our extractor's template of an image, `None` where the image does not load or the extractor
/// fails on it.
pub fn extract(path: &str, dpi: u32) -> Option<Template> {
    let image = ridgeline::FingerImage::open(path, Some(dpi)).ok()?;
    ridgeline::extract::Extractor::default().extract(&image).ok()
}

/// The ISO template at `path`, at `dpi` whatever its header states.
pub fn iso(path: &str, dpi: u32) -> Result<Template, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let mut template =
        ridgeline::formats::decode_template(&bytes).map_err(|e| format!("{path}: {e}"))?;
    template.dpi = dpi;
    Ok(template)
}

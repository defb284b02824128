//! The four FVC2002 "B" sets as the examples read them: their folders and resolutions, our
//! extractor's template of an image and the ISO template beside it. Each example uses what it
//! needs of this module.
#![allow(dead_code)]

use ridgeline::Template;

/// Folder and resolution of each set (DB2's images are 569 dpi, whatever the files say).
pub const SETS: [(&str, u32); 4] = [("DB1_B", 500), ("DB2_B", 569), ("DB3_B", 500), ("DB4_B", 500)];

/// The arguments `DATASETS_DIR/fvc2002 [FLAG]` of an example named `example`: the root, and
/// whether `flag` was given.
pub fn root_and_flag(example: &str, flag: &str) -> Result<(String, bool), String> {
    let usage = format!("usage: {example} DATASETS_DIR/fvc2002 [{flag}]");
    let mut args = std::env::args().skip(1);
    let root = args.next().ok_or(usage.clone())?;
    match (args.next(), args.next()) {
        (None, None) => Ok((root, false)),
        (Some(f), None) if f == flag => Ok((root, true)),
        _ => Err(usage),
    }
}

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

/// One print of the sets: `source` is the set's index in [`SETS`] for our extractor's templates
/// and that index plus `SETS.len()` for the ISO templates.
pub struct Print {
    pub source: usize,
    pub finger: u32,
    pub template: Template,
}

impl Print {
    /// The set the print belongs to, whichever extractor made it.
    pub fn set(&self) -> usize {
        self.source % SETS.len()
    }
}

/// Every print of the sets under `root` (the `fvc2002` folder) that loads, from our extractor
/// and from the ISO files. A missing ISO file is skipped; one that is there must decode.
pub fn load_prints(root: &str) -> Result<Vec<Print>, String> {
    let mut prints = Vec::new();
    for (s, (set, dpi)) in SETS.iter().enumerate() {
        for finger in 101..=110 {
            for impression in 1..=8 {
                let base = format!("{root}/{set}/{finger}_{impression}");
                if let Some(template) = extract(&format!("{base}.tif"), *dpi) {
                    prints.push(Print { source: s, finger, template });
                }
                let iso_path = format!("{base}.iso");
                if std::path::Path::new(&iso_path).exists() {
                    let template = iso(&iso_path, *dpi)?;
                    prints.push(Print { source: s + SETS.len(), finger, template });
                }
            }
        }
    }
    if prints.len() < 100 {
        return Err(format!("only {} prints; is {root} the fvc2002 folder?", prints.len()));
    }
    Ok(prints)
}

/// The template cut down to its `k` minutiae nearest their centroid: a small print.
pub fn nearest_centre(t: &Template, k: usize) -> Template {
    let n = t.minutiae.len().max(1) as f32;
    let cx = t.minutiae.iter().map(|m| m.x).sum::<f32>() / n;
    let cy = t.minutiae.iter().map(|m| m.y).sum::<f32>() / n;
    let mut minutiae = t.minutiae.clone();
    minutiae.sort_by(|a, b| {
        let da = (a.x - cx).hypot(a.y - cy);
        let db = (b.x - cx).hypot(b.y - cy);
        da.total_cmp(&db)
    });
    minutiae.truncate(k);
    Template { minutiae, ..t.clone() }
}

/// The template cut down to its `k` best minutiae by quality (ties by position): a whole print
/// on which few minutiae were found, as on a dry finger.
pub fn best_quality(t: &Template, k: usize) -> Template {
    let mut minutiae = t.minutiae.clone();
    minutiae.sort_by(|a, b| {
        b.quality.cmp(&a.quality).then(a.y.total_cmp(&b.y)).then(a.x.total_cmp(&b.x))
    });
    minutiae.truncate(k);
    Template { minutiae, ..t.clone() }
}

//! The prints of a `ridgeline link` pair for its adjudication page
//! ([`ridgeline_report::link::page`]): the files the people's print paths name, read and
//! compared here because the report crate reads no input files.

use std::path::Path;

use ridgeline::matcher::Matcher;
use ridgeline_link::Person;
use ridgeline_report::prints::matched_minutiae;
use ridgeline_report::{PairView, PrintView};

/// Where the prints of both systems are read from.
#[derive(Debug)]
pub struct PrintSource<'a> {
    /// Folder of system A's export (print paths are relative to it).
    pub base_a: &'a Path,
    /// Folder of system B's export.
    pub base_b: &'a Path,
    /// Resolution of images whose files carry none.
    pub dpi: Option<u32>,
}

/// The prints of the best-matching common finger of two records, with the matched minutiae.
pub fn draw(
    matcher: &Matcher,
    pa: &Person,
    pb: &Person,
    src: &PrintSource<'_>,
) -> Option<PairView> {
    let load = |base: &Path, path: &str| {
        let full = base.join(path);
        let t = super::compare::load_template(&full, src.dpi).ok()?.template;
        let png = ridgeline::FingerImage::open(&full, src.dpi).ok().and_then(|i| i.to_png().ok());
        Some((t, png))
    };
    let mut best: Option<(f64, PairView)> = None;
    for x in &pa.prints {
        for y in pb.prints.iter().filter(|y| y.finger == x.finger) {
            let (Some((ta, png_a)), Some((tb, png_b))) =
                (load(src.base_a, &x.path), load(src.base_b, &y.path))
            else {
                continue;
            };
            let (score, matched) = matched_minutiae(matcher, &ta, &tb);
            if best.as_ref().is_some_and(|(s, _)| *s >= score) {
                continue;
            }
            best = Some((
                score,
                PairView {
                    left: PrintView::of(format!("A {}", pa.record_id), x.finger, ta, png_a),
                    right: PrintView::of(format!("B {}", pb.record_id), y.finger, tb, png_b),
                    matched,
                    finger_score: score,
                },
            ));
        }
    }
    best.map(|(_, v)| v)
}

//! The drawing of a compared pair of prints: which minutiae of the two templates the matcher
//! paired, for the page's overlay.

use ridgeline::matcher::{MatchTemplate, Matcher, PreparedMinutia};
use ridgeline::Template;

use crate::html::PrintView;

/// The template minutia a prepared minutia came from (prepared coordinates are at 500 dpi).
pub fn nearest_minutia(template: &Template, m: PreparedMinutia) -> Option<usize> {
    let scale = template.dpi as f32 / ridgeline::image::STANDARD_DPI as f32;
    let (x, y) = (m.x * scale, m.y * scale);
    template
        .minutiae
        .iter()
        .enumerate()
        .map(|(k, t)| (k, (t.x - x).powi(2) + (t.y - y).powi(2)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k)
}

/// Compares `a` with `b` and gives the matcher's score and the minutiae it paired, as
/// (index in `a.minutiae`, index in `b.minutiae`).
pub fn matched_minutiae(
    matcher: &Matcher,
    a: &Template,
    b: &Template,
) -> (f64, Vec<(usize, usize)>) {
    let (pa, pb) = (MatchTemplate::prepare(a), MatchTemplate::prepare(b));
    let detail = matcher.compare_detailed(pa.view(), pb.view());
    let matched = detail
        .matches
        .iter()
        .filter_map(|&(i, j)| {
            Some((
                nearest_minutia(a, pa.view().minutia(i))?,
                nearest_minutia(b, pb.view().minutia(j))?,
            ))
        })
        .collect();
    (detail.score, matched)
}

impl PrintView {
    /// A print drawn from its template (size and minutiae) and, where available, its image.
    pub fn of(label: String, finger: u8, template: Template, png: Option<Vec<u8>>) -> PrintView {
        PrintView {
            label,
            finger,
            png,
            width: template.width,
            height: template.height,
            minutiae: template.minutiae,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ridgeline::{Minutia, MinutiaKind};

    fn template(points: &[(f32, f32)]) -> Template {
        Template {
            width: 300,
            height: 400,
            dpi: 500,
            quality: 80,
            minutiae: points
                .iter()
                .enumerate()
                .map(|(k, &(x, y))| Minutia {
                    x,
                    y,
                    angle: 0.3 * k as f32,
                    kind: if k % 2 == 0 { MinutiaKind::Ending } else { MinutiaKind::Bifurcation },
                    quality: 70,
                })
                .collect(),
            singular_points: Vec::new(),
        }
    }

    /// A template compared with itself pairs every minutia with itself.
    #[test]
    fn a_print_against_itself_pairs_each_minutia_with_itself() {
        let points: Vec<(f32, f32)> = (0..30)
            .map(|k| {
                (20.0 + 37.0 * (k % 7) as f32 + (k * 3 % 5) as f32, 30.0 + 41.0 * (k / 4) as f32)
            })
            .collect();
        let t = template(&points);
        let (score, matched) = matched_minutiae(&Matcher::new(), &t, &t);
        assert!(score > 0.0);
        assert!(matched.len() >= 8, "{} pairs", matched.len());
        assert!(matched.iter().all(|&(i, j)| i == j), "{matched:?}");
        let view = PrintView::of("r1".into(), 2, t.clone(), None);
        assert_eq!((view.width, view.height, view.minutiae.len()), (300, 400, 30));
    }
}

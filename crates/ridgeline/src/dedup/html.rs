//! The adjudication report: one self-contained HTML file a clerk opens from the file system.
//!
//! Everything is inline — styles, and the prints as `data:` URIs — so the file can be mailed or
//! archived alone and opens without a server or network. Per cluster, strongest first, the
//! records and identity flags, then for each shown pair the two prints side by side with an SVG
//! overlay: every minutia as a circle with a tick along its direction, matched minutiae in green
//! joined by lines, unmatched ones in orange.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::report::{Flag, Report};
use crate::template::Minutia;

/// Gap between the two prints of a pair, in image pixels.
const PAIR_GAP_PX: u32 = 24;
/// Length of the direction tick of a minutia, in image pixels.
const TICK_LEN_PX: f32 = 12.0;
/// Radius of a minutia circle, in image pixels.
const MINUTIA_RADIUS_PX: f32 = 5.0;

/// One print of a pair as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct PrintView {
    /// Caption, e.g. the record id.
    pub label: String,
    /// Finger position.
    pub finger: u8,
    /// The image as PNG, where available; without it only the minutiae are drawn.
    pub png: Option<Vec<u8>>,
    /// Width of the image (or template area) in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The minutiae, in image pixels.
    pub minutiae: Vec<Minutia>,
}

/// The drawing of one linked pair: the finger that matched best, and which minutiae paired.
#[derive(Debug, Clone, PartialEq)]
pub struct PairView {
    /// Left print (record `a`).
    pub left: PrintView,
    /// Right print (record `b`).
    pub right: PrintView,
    /// Matched minutiae as (index in left, index in right).
    pub matched: Vec<(usize, usize)>,
    /// The matcher's score of this finger.
    pub finger_score: f64,
}

/// Renders the report as one HTML document. `views` holds the drawings for the pairs to show,
/// keyed by `(a, b)` record ids; pairs without one are listed with their scores only.
pub fn render(report: &Report, views: &HashMap<(String, String), PairView>, title: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    out.push_str("<section class=\"summary\"><table>");
    for (key, value) in &report.stats {
        let _ =
            write!(out, "<tr><th>{}</th><td>{}</td></tr>", escape(key), escape(&value.to_string()));
    }
    out.push_str("</table></section>\n");
    let skipped = report.stats.get("skipped_records").and_then(|v| v.as_u64()).unwrap_or(0);
    if skipped > 0 {
        let _ = writeln!(
            out,
            "<p><strong>Partial run: {skipped} committed records could not be read and were \
             skipped; their duplicates are not in this report.</strong></p>"
        );
    }
    if !report.flags.is_empty() {
        let _ = write!(
            out,
            "<section><h2>Identity flags ({})</h2><table class=\"flags\">",
            report.flags.len()
        );
        out.push_str("<tr><th>kind</th><th>records</th><th>identity numbers</th><th>fused FMR</th><th>finding</th></tr>");
        for f in &report.flags {
            write_flag_row(&mut out, f);
        }
        out.push_str("</table></section>\n");
    }
    let _ =
        writeln!(out, "<h2>Duplicate clusters ({}), strongest first</h2>", report.clusters.len());
    for (k, cluster) in report.clusters.iter().enumerate() {
        let best = cluster.pairs.first().map_or(0.0, |p| p.score);
        let _ = write!(
            out,
            "<section class=\"cluster\" id=\"cluster-{k}\"><h3>Cluster {} — {} records, best score {:.2}, weakest link FMR {:.1e}</h3>",
            k + 1,
            cluster.records.len(),
            best,
            cluster.weakest_link_fmr
        );
        out.push_str(
            "<table><tr><th>record</th><th>identity number</th><th>name</th><th>fingers</th></tr>",
        );
        for r in &cluster.records {
            let fingers: Vec<String> = r.finger.iter().map(u8::to_string).collect();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.record_id),
                escape(&r.person_id),
                escape(&r.name),
                fingers.join(", ")
            );
        }
        out.push_str("</table>");
        let members: Vec<&str> = cluster.records.iter().map(|r| r.record_id.as_str()).collect();
        let cluster_flags: Vec<&Flag> = report
            .flags
            .iter()
            .filter(|f| f.records.iter().any(|r| members.contains(&r.as_str())))
            .collect();
        for f in cluster_flags {
            let _ = write!(out, "<p class=\"flag\">⚑ {}</p>", escape(&f.message));
        }
        for p in &cluster.pairs {
            let _ = write!(
                out,
                "<div class=\"pair\"><p><b>{}</b> ↔ <b>{}</b>: score {:.2}, fused FMR {:.1e}</p>",
                escape(&p.a),
                escape(&p.b),
                p.score,
                p.fmr
            );
            if let Some(view) = views.get(&(p.a.clone(), p.b.clone())) {
                write_pair_view(&mut out, view);
            }
            out.push_str("</div>");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn write_flag_row(out: &mut String, f: &Flag) {
    let kind = serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&kind),
        escape(&f.records.join(", ")),
        escape(&f.person_ids.join(", ")),
        f.fmr.map(|x| format!("{x:.1e}")).unwrap_or_default(),
        escape(&f.message)
    );
}

fn write_pair_view(out: &mut String, view: &PairView) {
    let (lw, lh) = (view.left.width.max(1), view.left.height.max(1));
    let (rw, rh) = (view.right.width.max(1), view.right.height.max(1));
    let total_w = lw + PAIR_GAP_PX + rw;
    let total_h = lh.max(rh);
    let pct = |v: u32, of: u32| 100.0 * v as f64 / of as f64;
    let _ = write!(
        out,
        "<div class=\"prints\" style=\"aspect-ratio:{total_w}/{total_h};max-width:{total_w}px\">"
    );
    for (print, left_px) in [(&view.left, 0), (&view.right, lw + PAIR_GAP_PX)] {
        if let Some(png) = &print.png {
            let _ = write!(
                out,
                "<img class=\"print\" alt=\"{} finger {}\" src=\"data:image/png;base64,{}\" style=\"left:{:.4}%;top:0;width:{:.4}%;height:{:.4}%\">",
                escape(&print.label),
                print.finger,
                base64(png),
                pct(left_px, total_w),
                pct(print.width.max(1), total_w),
                pct(print.height.max(1), total_h)
            );
        }
    }
    let _ = write!(out, "<svg viewBox=\"0 0 {total_w} {total_h}\" preserveAspectRatio=\"none\">");
    for (print, left_px) in [(&view.left, 0), (&view.right, lw + PAIR_GAP_PX)] {
        if print.png.is_none() {
            let _ = write!(
                out,
                "<rect x=\"{left_px}\" y=\"0\" width=\"{}\" height=\"{}\" class=\"blank\"/>",
                print.width, print.height
            );
        }
    }
    let matched_left: std::collections::HashSet<usize> = view.matched.iter().map(|m| m.0).collect();
    let matched_right: std::collections::HashSet<usize> =
        view.matched.iter().map(|m| m.1).collect();
    for &(i, j) in &view.matched {
        if let (Some(a), Some(b)) = (view.left.minutiae.get(i), view.right.minutiae.get(j)) {
            let _ = write!(
                out,
                "<line class=\"link\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
                a.x,
                a.y,
                b.x + (lw + PAIR_GAP_PX) as f32,
                b.y
            );
        }
    }
    for (print, offset, matched) in
        [(&view.left, 0.0, &matched_left), (&view.right, (lw + PAIR_GAP_PX) as f32, &matched_right)]
    {
        for (k, m) in print.minutiae.iter().enumerate() {
            let class = if matched.contains(&k) { "m hit" } else { "m miss" };
            let (x, y) = (m.x + offset, m.y);
            let (tx, ty) = (x + TICK_LEN_PX * m.angle.cos(), y - TICK_LEN_PX * m.angle.sin());
            let _ = write!(
                out,
                "<g class=\"{class}\"><circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{MINUTIA_RADIUS_PX}\"/><line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{tx:.1}\" y2=\"{ty:.1}\"/></g>"
            );
        }
    }
    out.push_str("</svg></div>");
    let _ = write!(
        out,
        "<p class=\"caption\">{} (finger {}) and {} (finger {}): {} matched minutiae of {} and {}; finger score {:.3}</p>",
        escape(&view.left.label),
        view.left.finger,
        escape(&view.right.label),
        view.right.finger,
        view.matched.len(),
        view.left.minutiae.len(),
        view.right.minutiae.len(),
        view.finger_score
    );
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:90%}\
.cluster{border-top:2px solid #888;margin-top:1.5em}.flag{color:#a40;font-weight:600}\
.prints{position:relative;width:100%;background:#fff}.prints img.print{position:absolute}\
.prints svg{position:absolute;left:0;top:0;width:100%;height:100%}\
.m circle{fill:none;stroke-width:2}.m line{stroke-width:2}.hit circle,.hit line{stroke:#0a0}\
.miss circle,.miss line{stroke:#e80}.link{stroke:#0a0;stroke-width:1;opacity:.45}\
.blank{fill:#eee;stroke:#bbb}.caption{font-size:85%;color:#555}";

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648), for `data:` URIs.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::report::{ClusterEntry, PairEntry, RecordEntry};
    use crate::template::MinutiaKind;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn escapes_markup_in_names() {
        assert_eq!(
            escape("<b>\"O'Neil\" & co</b>"),
            "&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;"
        );
    }

    #[test]
    fn renders_clusters_with_embedded_prints_and_overlay() {
        let record = |id: &str| RecordEntry {
            record_id: id.into(),
            person_id: String::new(),
            name: "<script>alert(1)</script>".into(),
            finger: vec![1],
        };
        let report = Report {
            clusters: vec![ClusterEntry {
                records: vec![record("r1"), record("r2")],
                pairs: vec![PairEntry { a: "r1".into(), b: "r2".into(), score: 9.0, fmr: 1e-9 }],
                weakest_link_fmr: 1e-9,
            }],
            flags: vec![],
            stats: Default::default(),
        };
        let m = Minutia { x: 10.0, y: 20.0, angle: 0.0, kind: MinutiaKind::Ending, quality: 90 };
        let print = |label: &str, png: Option<Vec<u8>>| PrintView {
            label: label.into(),
            finger: 1,
            png,
            width: 100,
            height: 120,
            minutiae: vec![m, m],
        };
        let view = PairView {
            left: print("r1", Some(vec![0x89, b'P', b'N', b'G'])),
            right: print("r2", None),
            matched: vec![(0, 1)],
            finger_score: 42.0,
        };
        let views = HashMap::from([(("r1".to_string(), "r2".to_string()), view)]);
        let html = render(&report, &views, "Test report");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script>alert"), "names are escaped");
        assert_eq!(html.matches("src=\"data:image/png;base64,iVBORw==\"").count(), 1);
        assert_eq!(html.matches("class=\"blank\"").count(), 1);
        assert_eq!(html.matches("class=\"link\"").count(), 1);
        assert_eq!(html.matches("<g class=\"m hit\">").count(), 2);
        assert_eq!(html.matches("<g class=\"m miss\">").count(), 2);
        assert!(!html.contains("http"), "no external resources");
    }
}

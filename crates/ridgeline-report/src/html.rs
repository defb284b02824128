//! The adjudication page of `dedup` and `link` runs: one self-contained HTML file a clerk
//! opens from disk. A plain-language summary first; then per cluster (records that may be one
//! person) the records side by side with their names, numbers and addresses in characters and
//! the characters that differ highlighted, the chance of a wrong link as "1 in N", the prints
//! side by side with their matched minutiae where the report has prints, and a decision (same
//! person / different people / unsure). **Export decisions** writes the decisions file that
//! `ridgeline decide` applies (`ridgeline_link::decisions`); its first line names the report.
//!
//! Everything is inline (styles, script, prints as `data:` URIs) so that the file opens without
//! a server or network. Decisions survive a reload (browser storage, keyed by the report hash).
//!
//! For tests and batch use the page also takes decisions from its address:
//! `page.html#decide=<JSON object cluster_id → decision, URI-encoded>` clicks those choices
//! (without storing them in the browser) and then the export button. Export always fills the
//! `#decisions-csv` text box, its content too so that a dump of the DOM shows it; pressed by a
//! clerk, it also downloads the file.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::{ReportError, Result};

/// The page to render.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Title and top heading.
    pub title: String,
    /// [`ridgeline_link::decisions::report_hash`] of the report the page shows.
    pub report_hash: String,
    /// Plain-language summary, one paragraph per entry (plain text).
    pub summary: Vec<String>,
    /// Findings listed without a decision (e.g. invalid identity numbers), plain text.
    pub findings: Vec<String>,
    /// The clusters to decide, most in need of a look first.
    pub clusters: Vec<ClusterView>,
    /// Said after the clusters when some were left out (plain text).
    pub omitted: Option<String>,
}

/// One cluster: records that may be one person.
#[derive(Debug, Clone, Default)]
pub struct ClusterView {
    /// The id the decisions file uses.
    pub id: String,
    /// Heading, e.g. "Group 3: 2 records".
    pub heading: String,
    /// A conflict for the clerk (shown first, in red), plain text.
    pub conflict: Option<String>,
    /// Further sentences (chance of a wrong link, which evidence decided), plain text.
    pub notes: Vec<String>,
    /// Column heading per record.
    pub columns: Vec<String>,
    /// Rows: field label and one value per record; values differing from the first record's
    /// have their differing characters highlighted.
    pub rows: Vec<(String, Vec<String>)>,
    /// Prints to draw side by side.
    pub prints: Vec<PairView>,
}

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
    pub minutiae: Vec<ridgeline::Minutia>,
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

/// Gap between the two prints of a pair, in image pixels.
const PAIR_GAP_PX: u32 = 24;
/// Length of the direction tick of a minutia, in image pixels.
const TICK_LEN_PX: f32 = 12.0;
/// Radius of a minutia circle, in image pixels.
const MINUTIA_RADIUS_PX: f32 = 5.0;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
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

/// `a` and `b` with the characters outside their longest common subsequence marked, one
/// `<mark>` per run of differing characters.
pub fn diff(a: &str, b: &str) -> (String, String) {
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Long free text: the quadratic table is not worth it; shown unmarked.
    if x.len() * y.len() > 40_000 {
        return (esc(a), esc(b));
    }
    let mut lcs = vec![vec![0u16; y.len() + 1]; x.len() + 1];
    for i in (0..x.len()).rev() {
        for j in (0..y.len()).rev() {
            lcs[i][j] =
                if x[i] == y[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut keep_x, mut keep_y) = (vec![false; x.len()], vec![false; y.len()]);
    while i < x.len() && j < y.len() {
        if x[i] == y[j] {
            keep_x[i] = true;
            keep_y[j] = true;
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    (mark(&x, &keep_x), mark(&y, &keep_y))
}

fn mark(chars: &[char], keep: &[bool]) -> String {
    let mut out = String::new();
    let mut open = false;
    for (c, k) in chars.iter().zip(keep) {
        if !*k && !open {
            out.push_str("<mark>");
            open = true;
        } else if *k && open {
            out.push_str("</mark>");
            open = false;
        }
        out.push_str(&esc(&c.to_string()));
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

/// A probability as "1 in N".
pub fn one_in(p: f64) -> String {
    if p.is_nan() || p <= 0.0 {
        return "practically never".into();
    }
    let n = 1.0 / p;
    if n < 10.0 {
        format!("1 in {n:.1}")
    } else if n >= 1e15 {
        "less than 1 in a million billion".into()
    } else {
        format!("1 in {}", group(n.round() as u64))
    }
}

/// Digits grouped by thousands: `12,345`.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The cluster ids of a page must be distinct: the decisions file names clusters by them.
pub fn check_unique_ids(clusters: &[ClusterView]) -> Result<()> {
    let mut seen = HashSet::new();
    for c in clusters {
        if !seen.insert(c.id.as_str()) {
            return Err(ReportError::DuplicateClusterId(c.id.clone()));
        }
    }
    Ok(())
}

/// Renders the page.
pub fn render(page: &Page) -> String {
    let mut html = String::with_capacity(64 * 1024);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
<style>{STYLE}</style></head><body data-report=\"{h}\">\n<h1>{t}</h1>\n<section class=\"summary\">",
        t = esc(&page.title),
        h = esc(&page.report_hash),
    );
    for p in &page.summary {
        let _ = write!(html, "<p>{}</p>", esc(p));
    }
    html.push_str(
        "<p class=\"how\">For each group below, look at the records and prints and choose \
<b>Same person</b>, <b>Different people</b> or <b>Unsure</b>. Highlighted characters differ \
from the first record. When you are done, press <b>Export decisions</b> at the bottom and keep \
the file <code>decisions.csv</code>; your choices are also kept in this browser if you close \
the page.</p></section>\n",
    );
    if !page.findings.is_empty() {
        let _ = write!(html, "<section><h2>Other findings ({})</h2><ul>", page.findings.len());
        for f in &page.findings {
            let _ = write!(html, "<li>{}</li>", esc(f));
        }
        html.push_str("</ul></section>\n");
    }
    let _ = writeln!(html, "<h2>Groups to decide ({})</h2>", page.clusters.len());
    for (k, c) in page.clusters.iter().enumerate() {
        write_cluster(&mut html, k, c);
    }
    if let Some(note) = &page.omitted {
        let _ = write!(html, "<p class=\"omitted\">{}</p>", esc(note));
    }
    let _ = write!(
        html,
        "<section class=\"export\"><p><button id=\"export\" type=\"button\">Export decisions</button> \
<span id=\"status\" role=\"status\"></span></p>\
<textarea id=\"decisions-csv\" readonly rows=\"3\" aria-label=\"decisions file\"></textarea></section>\n\
<script>{SCRIPT}</script></body></html>\n"
    );
    html
}

/// Renders the page and writes it to `path`, owner-only (a page carries prints, names and
/// identity numbers), replacing a file there.
pub fn write(page: &Page, path: &Path) -> Result<()> {
    ridgeline::private_files::write(path, render(page).as_bytes())
        .map_err(|source| ReportError::Write { path: path.to_path_buf(), source })
}

fn write_cluster(html: &mut String, k: usize, c: &ClusterView) {
    let class = if c.conflict.is_some() { "cluster conflict" } else { "cluster" };
    let _ = write!(
        html,
        "<section class=\"{class}\" data-cluster=\"{}\"><h3>{}</h3>",
        esc(&c.id),
        esc(&c.heading)
    );
    if let Some(conflict) = &c.conflict {
        let _ = write!(html, "<p class=\"flag\">Conflict: {}</p>", esc(conflict));
    }
    for n in &c.notes {
        let _ = write!(html, "<p>{}</p>", esc(n));
    }
    html.push_str("<table><tr><th></th>");
    for col in &c.columns {
        let _ = write!(html, "<th>{}</th>", esc(col));
    }
    html.push_str("</tr>");
    for (label, values) in &c.rows {
        let _ = write!(html, "<tr><th>{}</th>", esc(label));
        let first = values.first().map_or("", String::as_str);
        for (i, v) in values.iter().enumerate() {
            let cell = if i == 0 {
                // The first record is marked where it differs from any other.
                let marked: Vec<String> =
                    values[1..].iter().map(|other| diff(first, other).0).collect();
                marked.into_iter().find(|m| m.contains("<mark>")).unwrap_or_else(|| esc(first))
            } else {
                diff(first, v).1
            };
            let _ = write!(html, "<td>{cell}</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    for view in &c.prints {
        write_pair_view(html, view);
    }
    html.push_str("<div class=\"decision\">");
    for (value, text) in
        [("same", "Same person"), ("different", "Different people"), ("unsure", "Unsure")]
    {
        let _ = write!(
            html,
            "<label><input type=\"radio\" name=\"d{k}\" value=\"{value}\"> {text}</label>"
        );
    }
    html.push_str("</div></section>\n");
}

/// The two prints of a pair side by side with an SVG overlay: every minutia as a circle with a
/// tick along its direction, matched minutiae in green joined by lines, unmatched in orange.
fn write_pair_view(out: &mut String, view: &PairView) {
    let (lw, lh) = (view.left.width.max(1), view.left.height.max(1));
    let (rw, rh) = (view.right.width.max(1), view.right.height.max(1));
    let total_w = lw + PAIR_GAP_PX + rw;
    let total_h = lh.max(rh);
    let pct = |v: u32, of: u32| 100.0 * f64::from(v) / f64::from(of);
    let _ = write!(
        out,
        "<figure><div class=\"prints\" style=\"aspect-ratio:{total_w}/{total_h};max-width:{}px\">",
        total_w.min(900)
    );
    for (print, left_px) in [(&view.left, 0), (&view.right, lw + PAIR_GAP_PX)] {
        if let Some(png) = &print.png {
            let _ = write!(
                out,
                "<img class=\"print\" alt=\"{} finger {}\" src=\"data:image/png;base64,{}\" style=\"left:{:.4}%;top:0;width:{:.4}%;height:{:.4}%\">",
                esc(&print.label),
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
    let hits_l: HashSet<usize> = view.matched.iter().map(|m| m.0).collect();
    let hits_r: HashSet<usize> = view.matched.iter().map(|m| m.1).collect();
    let offset = (lw + PAIR_GAP_PX) as f32;
    for &(i, j) in &view.matched {
        if let (Some(a), Some(b)) = (view.left.minutiae.get(i), view.right.minutiae.get(j)) {
            let _ = write!(
                out,
                "<line class=\"link\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
                a.x,
                a.y,
                b.x + offset,
                b.y
            );
        }
    }
    for (print, dx, hits) in [(&view.left, 0.0, &hits_l), (&view.right, offset, &hits_r)] {
        for (k, m) in print.minutiae.iter().enumerate() {
            let class = if hits.contains(&k) { "m hit" } else { "m miss" };
            let (x, y) = (m.x + dx, m.y);
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
        "<figcaption>{} and {}, finger {}{}: {} minutiae agree (green, joined) of {} and {}; \
the others are orange.</figcaption></figure>",
        esc(&view.left.label),
        esc(&view.right.label),
        view.left.finger,
        if view.right.finger == view.left.finger {
            String::new()
        } else {
            format!(" and {}", view.right.finger)
        },
        view.matched.len(),
        view.left.minutiae.len(),
        view.right.minutiae.len(),
    );
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:72em;margin:1.5em auto;padding:0 1em;color:#222}\
h1{font-size:1.6em}.summary p{font-size:1.05em;line-height:1.5}.how{color:#444}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}\
mark{background:#ffd54f}.cluster{border:1px solid #999;border-radius:6px;padding:.6em 1em;margin:1em 0}\
.conflict{border-color:#c62828;background:#fff5f5}.flag{color:#b71c1c;font-weight:600}\
.decision{margin-top:.6em}.decision label{margin-right:1.4em;font-size:1.05em}\
.decided{border-color:#2e7d32;background:#f6fbf6}\
figure{margin:.6em 0}.prints{position:relative;width:100%;background:#fff}.prints img.print{position:absolute}\
.prints svg{position:absolute;left:0;top:0;width:100%;height:100%}\
.m circle{fill:none;stroke-width:2}.m line{stroke-width:2}.hit circle,.hit line{stroke:#0a0}\
.miss circle,.miss line{stroke:#e80}.link{stroke:#0a0;stroke-width:1;opacity:.45}\
.blank{fill:#eee;stroke:#bbb}figcaption{font-size:85%;color:#555}\
.export{position:sticky;bottom:0;background:#fafafa;border-top:1px solid #ccc;padding:.4em 0}\
#decisions-csv{width:100%;font-family:monospace}";

/// The page's script: choices kept per report in browser storage, the export, and the
/// `#decide=` hook. Cluster ids are compared as strings (never put into selectors).
const SCRIPT: &str = r#"(function(){
const report=document.body.dataset.report;
const key='ridgeline-decisions-'+report;
const clusters=Array.from(document.querySelectorAll('.cluster'));
let auto=false;
function choice(c){const i=c.querySelector('input:checked');return i?i.value:null;}
function save(){if(auto){return;}const d={};clusters.forEach(function(c){const v=choice(c);if(v){d[c.dataset.cluster]=v;}});
try{localStorage.setItem(key,JSON.stringify(d));}catch(e){}}
function mark(c){c.classList.toggle('decided',choice(c)!==null);}
const words=['same','different','unsure'];
function apply(d){clusters.forEach(function(c){const v=d[c.dataset.cluster];if(words.indexOf(v)>=0){
const i=c.querySelector('input[value="'+v+'"]');if(i){i.click();}}});}
function quote(s){return /[",\r\n]/.test(s)?'"'+s.replace(/"/g,'""')+'"':s;}
function csv(){const rows=['# ridgeline-decisions report='+report,'cluster_id,decision'];
clusters.forEach(function(c){const v=choice(c);if(v){rows.push(quote(c.dataset.cluster)+','+v);}});
return rows.join('\n')+'\n';}
clusters.forEach(function(c){c.querySelectorAll('input').forEach(function(i){
i.addEventListener('change',function(){mark(c);save();});});});
document.getElementById('export').addEventListener('click',function(){const text=csv();
const box=document.getElementById('decisions-csv');box.textContent=text;box.value=text;
const n=text.split('\n').length-3;
document.getElementById('status').textContent=n+' decision'+(n===1?'':'s')+' exported';
if(!auto){const a=document.createElement('a');
a.href=URL.createObjectURL(new Blob([text],{type:'text/csv'}));a.download='decisions.csv';
document.body.appendChild(a);a.click();a.remove();}});
try{const kept=JSON.parse(localStorage.getItem(key)||'{}');apply(kept);}catch(e){}
if(location.hash.indexOf('#decide=')===0){auto=true;
apply(JSON.parse(decodeURIComponent(location.hash.slice(8))));
document.getElementById('export').click();}
})();"#;

#[cfg(test)]
mod tests {
    use super::*;

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
            esc("<b>\"O'Neil\" & co</b>"),
            "&lt;b&gt;&quot;O&#39;Neil&quot; &amp; co&lt;/b&gt;"
        );
    }

    #[test]
    fn differences_are_marked_and_rates_read_as_one_in_n() {
        let (a, b) = diff("张伟", "章伟");
        assert_eq!(a, "<mark>张</mark>伟");
        assert_eq!(b, "<mark>章</mark>伟");
        let (a, b) = diff("广东省深圳市南山区", "深圳市福田区");
        assert_eq!(a, "<mark>广东省</mark>深圳市<mark>南山</mark>区");
        assert_eq!(b, "深圳市<mark>福田</mark>区");
        assert_eq!(one_in(0.001), "1 in 1,000");
        assert_eq!(one_in(0.25), "1 in 4.0");
        assert_eq!(one_in(0.0), "practically never");
        assert_eq!(one_in(f64::NAN), "practically never");
        assert_eq!(esc("<a&b>"), "&lt;a&amp;b&gt;");
    }

    #[test]
    fn page_escapes_ids_and_marks_each_record_against_the_first() {
        let page = Page {
            title: "T".into(),
            report_hash: "abc".into(),
            summary: vec!["5 records <b>".into()],
            clusters: vec![ClusterView {
                id: "R\"1~R2".into(),
                heading: "Group 1".into(),
                columns: vec!["R1".into(), "R2".into(), "R3".into()],
                rows: vec![("Name".into(), vec!["王立".into(), "王立".into(), "汪丽".into()])],
                ..Default::default()
            }],
            ..Default::default()
        };
        let html = render(&page);
        assert!(html.contains("data-cluster=\"R&quot;1~R2\""));
        assert!(html.contains("5 records &lt;b&gt;"));
        assert!(html.contains("<td><mark>王立</mark></td><td>王立</td><td><mark>汪丽</mark></td>"));
        assert_eq!(html.matches("type=\"radio\"").count(), 3);
        assert!(html.contains("data-report=\"abc\""));
        assert!(!html.contains("http"), "no external resources");
    }

    #[test]
    fn two_groups_with_one_id_are_refused_and_a_page_is_written_owner_only() {
        let view = |id: &str| ClusterView { id: id.into(), ..Default::default() };
        assert!(check_unique_ids(&[view("a~b"), view("a~c")]).is_ok());
        let err = check_unique_ids(&[view("a~b"), view("a~b")]).expect_err("duplicate id");
        assert_eq!(err.to_string(), "two clusters share the id \"a~b\"");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("page.html");
        let page = Page { title: "T".into(), clusters: vec![view("a~b")], ..Default::default() };
        write(&page, &path).expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), render(&page));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let missing = dir.path().join("no/such/folder/page.html");
        assert!(matches!(write(&page, &missing), Err(ReportError::Write { .. })));
    }
}

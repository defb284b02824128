//! The HTML adjudication page of `ridgeline link`: a plain-language summary, then the pairs a
//! clerk should look at (conflicts first, then the least certain links), names and addresses
//! in characters with their differences highlighted, and per pair a decision (same person /
//! different people / unsure) recorded in the page and exported as `decisions.csv`
//! (`cluster_id,decision`). The page is self-contained: no scripts or styles from elsewhere.

use std::fmt::Write;

use ridgeline_link::{Linkage, Person};

/// Most pairs listed; the least certain come first, so the cut drops the clearest.
const MAX_PAIRS: usize = 500;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `a` and `b` with the characters outside their longest common subsequence marked.
fn diff(a: &str, b: &str) -> (String, String) {
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
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
    let mark = |chars: &[char], keep: &[bool]| {
        // One <mark> per run of differing characters.
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
    };
    (mark(&x, &keep_x), mark(&y, &keep_y))
}

fn one_in(p: f64) -> String {
    if p <= 0.0 {
        return "practically never".into();
    }
    let n = 1.0 / p;
    if n < 10.0 {
        format!("1 in {n:.1}")
    } else {
        format!("1 in {}", group(n.round() as u64))
    }
}

fn group(n: u64) -> String {
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

fn fields(p: &Person) -> [String; 5] {
    [
        p.name.as_ref().map_or(String::new(), |n| n.chars.to_string()),
        p.id_number
            .as_ref()
            .map_or(String::new(), |i| i.canonical.as_deref().unwrap_or(&i.body).to_string()),
        p.sex.map_or(String::new(), |s| s.han().to_string()),
        p.birth_date.map_or(String::new(), |d| d.to_string()),
        p.address.as_ref().map_or(String::new(), |a| a.text.to_string()),
    ]
}

/// A pair to show: indices in A and B, the conflict (if any), the posterior (NaN for a
/// conflict, looked up among the links), the fused print FMR.
type Item = (u32, u32, Option<&'static str>, f64, Option<f64>);

/// Renders the page.
pub fn render(
    a: &[Person],
    b: &[Person],
    linkage: &Linkage,
    summary: &serde_json::Value,
) -> String {
    let n = |k: &str| summary[k].as_u64().unwrap_or(0);
    let mut html = String::new();
    html.push_str(
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>Record linkage: pairs to check</title>\
<style>body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}\
mark{background:#ffd54f}.pair{border:1px solid #999;border-radius:6px;padding:.6em 1em;margin:1em 0}\
.conflict{border-color:#c62828;background:#fff5f5}.decision label{margin-right:1.2em}</style></head><body>",
    );
    let _ = write!(
        html,
        "<h1>Record linkage: pairs to check</h1><p>System A has <b>{}</b> records and system B <b>{}</b>. \
We found <b>{}</b> pairs that are very probably the same person. <b>{}</b> records of A have no \
match in B, and <b>{}</b> records of B have none in A. {} pairs show a conflict between fingerprints and \
identity numbers.</p>",
        group(n("records_a")),
        group(n("records_b")),
        group(n("links")),
        group(n("a_only_count")),
        group(n("b_only_count")),
        summary["conflicts"].as_array().map_or(0, Vec::len),
    );
    html.push_str(
        "<p>For each pair below, choose <i>same person</i>, <i>different people</i> or <i>unsure</i>, \
then press <b>Export decisions</b> to save them as <code>decisions.csv</code>. Highlighted characters \
differ between the two records.</p>",
    );
    // Conflicts first, then links from the least to the most certain.
    let mut items: Vec<Item> = linkage
        .conflicts
        .iter()
        .map(|c| {
            (
                c.a,
                c.b,
                Some(crate::commands::link::conflict_text(c.kind)),
                f64::NAN,
                Some(c.print_fmr),
            )
        })
        .collect();
    let mut links: Vec<_> = linkage.links.iter().collect();
    links.sort_by(|x, y| x.posterior.total_cmp(&y.posterior));
    for l in links {
        if !items.iter().any(|i| i.0 == l.a && i.1 == l.b) {
            items.push((l.a, l.b, None, l.posterior, l.print_fmr));
        }
    }
    let total = items.len();
    items.truncate(MAX_PAIRS);
    if total > MAX_PAIRS {
        let _ = write!(
            html,
            "<p>The {MAX_PAIRS} pairs most in need of a look are listed; the other {} links are \
all at least as certain as the last one shown.</p>",
            group((total - MAX_PAIRS) as u64)
        );
    }
    let posterior_of =
        |x: u32, y: u32| linkage.links.iter().find(|l| l.a == x && l.b == y).map(|l| l.posterior);
    for (k, (x, y, conflict, posterior, fmr)) in items.iter().enumerate() {
        let (pa, pb) = (&a[*x as usize], &b[*y as usize]);
        let id = format!("{}~{}", pa.record_id, pb.record_id);
        let class = if conflict.is_some() { "pair conflict" } else { "pair" };
        let _ = write!(
            html,
            "<div class=\"{class}\" data-cluster=\"{}\"><h3>Pair {}</h3>",
            esc(&id),
            k + 1
        );
        if let Some(text) = conflict {
            let _ = write!(html, "<p><b>Conflict:</b> {text}.</p>");
        }
        let post = if posterior.is_nan() { posterior_of(*x, *y) } else { Some(*posterior) };
        match post {
            Some(p) => {
                let _ = write!(
                    html,
                    "<p>Chance that these are different people: <b>{}</b>.</p>",
                    one_in(1.0 - p)
                );
            }
            None => html.push_str("<p>Not linked: the evidence is below the threshold.</p>"),
        }
        if let Some(f) = fmr {
            let _ = write!(
                html,
                "<p>Fingerprints: a pair of different people has prints this similar {}.</p>",
                one_in(*f)
            );
        }
        if let Some(l) = linkage.links.iter().find(|l| l.a == *x && l.b == *y) {
            let levels: Vec<String> = crate::commands::link::describe_pattern(l.pattern)
                .iter()
                .map(|(f, level)| format!("{f}: {}", level.replace('_', " ")))
                .collect();
            let _ =
                write!(html, "<p class=\"levels\">Comparison: {}.</p>", esc(&levels.join("; ")));
        }
        let (fa, fb) = (fields(pa), fields(pb));
        html.push_str("<table><tr><th></th><th>System A</th><th>System B</th></tr>");
        let _ = write!(
            html,
            "<tr><th>Record</th><td>{}</td><td>{}</td></tr>",
            esc(&pa.record_id),
            esc(&pb.record_id)
        );
        for (label, (va, vb)) in ["Name", "Identity number", "Sex", "Birth date", "Address"]
            .iter()
            .zip(fa.iter().zip(&fb))
        {
            let (da, db) = diff(va, vb);
            let _ = write!(html, "<tr><th>{label}</th><td>{da}</td><td>{db}</td></tr>");
        }
        html.push_str("</table><div class=\"decision\">");
        for (value, text) in
            [("same", "Same person"), ("different", "Different people"), ("unsure", "Unsure")]
        {
            let _ = write!(
                html,
                "<label><input type=\"radio\" name=\"d{k}\" value=\"{value}\"> {text}</label>"
            );
        }
        html.push_str("</div></div>");
    }
    html.push_str(
        "<p><button id=\"export\">Export decisions</button> <span id=\"status\"></span></p>\
<script>\
function decisionsCsv(){let rows=['cluster_id,decision'];\
document.querySelectorAll('.pair').forEach(function(p){const c=p.querySelector('input:checked');\
if(c){let id=p.dataset.cluster;if(/[\",]/.test(id)){id='\"'+id.replace(/\"/g,'\"\"')+'\"';}rows.push(id+','+c.value);}});\
return rows.join('\\n')+'\\n';}\
document.getElementById('export').addEventListener('click',function(){const csv=decisionsCsv();\
const a=document.createElement('a');a.href=URL.createObjectURL(new Blob([csv],{type:'text/csv'}));\
a.download='decisions.csv';document.body.appendChild(a);a.click();a.remove();\
document.getElementById('status').textContent=(csv.split('\\n').length-2)+' decisions exported';});\
</script></body></html>",
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(esc("<a&b>"), "&lt;a&amp;b&gt;");
    }
}

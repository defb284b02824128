//! The pairs of a `ridgeline link` run a clerk should look at (conflicts first, then the least
//! certain links) and their adjudication page ([`crate::html`]). A pair's cluster id is
//! `a_record_id~b_record_id`.

use ridgeline_link::compare::{decode, FIELDS, LEVEL_NAMES};
use ridgeline_link::{ConflictKind, Evidence, Linkage, Person};
use serde_json::json;

use crate::html::{group, one_in, ClusterView, Page, PairView};

/// Most pairs listed; the least certain come first, so the cut drops the clearest.
pub const MAX_PAIRS: usize = 500;

/// Pairs drawn with their prints (the rest list the print rate only), so that the page stays a
/// size a browser opens quickly.
pub const MAX_DRAWN: usize = 100;

/// A pair for the clerk.
#[derive(Debug, Clone)]
pub struct ReviewItem {
    /// Index in system A.
    pub a: u32,
    /// Index in system B.
    pub b: u32,
    /// The conflict, if the pair has one.
    pub conflict: Option<ConflictKind>,
    /// Index of the pair among the links, if it is one.
    pub link: Option<usize>,
    /// Fused print FMR, where both records have prints of a common finger.
    pub print_fmr: Option<f64>,
}

/// The cluster id of a pair.
pub fn cluster_id(a: &Person, b: &Person) -> String {
    format!("{}~{}", a.record_id, b.record_id)
}

/// The pairs a clerk reviews.
#[derive(Debug, Clone)]
pub struct Review {
    /// The pairs listed.
    pub items: Vec<ReviewItem>,
    /// Links left out (all at least as certain as the last listed).
    pub omitted: usize,
}

/// The pairs to review, conflicts first, then links from the least to the most certain, at
/// most [`MAX_PAIRS`]; and how many were left out.
pub fn review_items(linkage: &Linkage) -> Review {
    let link_of: std::collections::HashMap<(u32, u32), usize> =
        linkage.links.iter().enumerate().map(|(k, l)| ((l.a, l.b), k)).collect();
    let mut items: Vec<ReviewItem> = linkage
        .conflicts
        .iter()
        .map(|c| ReviewItem {
            a: c.a,
            b: c.b,
            conflict: Some(c.kind),
            link: link_of.get(&(c.a, c.b)).copied(),
            print_fmr: Some(c.print_fmr),
        })
        .collect();
    let in_conflict: std::collections::HashSet<(u32, u32)> =
        items.iter().map(|i| (i.a, i.b)).collect();
    let mut links: Vec<usize> = (0..linkage.links.len())
        .filter(|&k| !in_conflict.contains(&(linkage.links[k].a, linkage.links[k].b)))
        .collect();
    links.sort_by(|&x, &y| linkage.links[x].posterior.total_cmp(&linkage.links[y].posterior));
    for k in links {
        let l = &linkage.links[k];
        items.push(ReviewItem {
            a: l.a,
            b: l.b,
            conflict: None,
            link: Some(k),
            print_fmr: l.print_fmr,
        });
    }
    let total = items.len();
    items.truncate(MAX_PAIRS);
    let omitted = total - items.len();
    Review { items, omitted }
}

/// The review list as the JSON summary carries it (`review`), which `decide` reads.
pub fn review_json(
    a: &[Person],
    b: &[Person],
    linkage: &Linkage,
    items: &[ReviewItem],
) -> serde_json::Value {
    items
        .iter()
        .map(|i| {
            let link = i.link.map(|k| &linkage.links[k]);
            json!({
                "cluster_id": cluster_id(&a[i.a as usize], &b[i.b as usize]),
                "a_record_id": &*a[i.a as usize].record_id,
                "b_record_id": &*b[i.b as usize].record_id,
                "linked": link.is_some(),
                "posterior": link.map(|l| l.posterior),
                "conflict": i.conflict,
            })
        })
        .collect()
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

/// The adjudication page of a link run. `summary` is the run's JSON summary (its counts are
/// quoted), `report_hash` the [`ridgeline_link::decisions::report_hash`] of the report; `draw`
/// gives the drawing of a pair's prints (the caller reads the print files), asked for at most
/// [`MAX_DRAWN`] pairs that have prints.
pub fn page(
    a: &[Person],
    b: &[Person],
    linkage: &Linkage,
    review: &Review,
    summary: &serde_json::Value,
    report_hash: &str,
    draw: &mut dyn FnMut(&Person, &Person) -> Option<PairView>,
) -> Page {
    let (items, omitted) = (&review.items, review.omitted);
    let n = |k: &str| summary[k].as_u64().unwrap_or(0);
    let mut text = vec![format!(
        "System A has {} records and system B has {}. {} pairs of records are very probably the \
same person registered in both systems. {} records of A have no match in B, and {} records of B \
have none in A.",
        group(n("records_a")),
        group(n("records_b")),
        group(n("links")),
        group(n("a_only_count")),
        group(n("b_only_count")),
    )];
    let conflicts = linkage.conflicts.len();
    if conflicts > 0 {
        text.push(format!(
            "{} pairs show a conflict between the fingerprints and the identity numbers; they come \
first below.",
            group(conflicts as u64)
        ));
    }
    let e = &summary["evidence"];
    text.push(format!(
        "{} links rest on the names, numbers, dates and addresses alone, {} on the fingerprints \
alone, and {} on both.",
        group(e["demographic"].as_u64().unwrap_or(0)),
        group(e["fingerprint"].as_u64().unwrap_or(0)),
        group(e["both"].as_u64().unwrap_or(0)),
    ));
    text.push(format!(
        "Listed below: {} pairs, the conflicts and then the least certain links. For each, the \
chance that the two records are different people is written as \"1 in N\": 1 in 4 is doubtful, \
1 in 10,000 is nearly certain.",
        group(items.len() as u64)
    ));
    let mut drawn = 0;
    let clusters = items
        .iter()
        .enumerate()
        .map(|(k, item)| {
            let (pa, pb) = (&a[item.a as usize], &b[item.b as usize]);
            let link = item.link.map(|i| &linkage.links[i]);
            let mut notes = Vec::new();
            match link {
                Some(l) => {
                    notes.push(format!(
                        "Chance that these are different people: {}.",
                        one_in(1.0 - l.posterior)
                    ));
                    notes.push(
                        match l.evidence {
                            Evidence::Demographic => {
                                "Linked on the names, numbers, dates and addresses."
                            }
                            Evidence::Fingerprint => "Linked on the fingerprints.",
                            Evidence::Both => {
                                "Linked on both the personal details and the fingerprints."
                            }
                        }
                        .to_string(),
                    );
                    let levels: Vec<String> = describe_pattern(l.pattern)
                        .iter()
                        .map(|(f, level)| {
                            format!("{}: {}", f.replace('_', " "), level.replace('_', " "))
                        })
                        .collect();
                    notes.push(format!("Field by field: {}.", levels.join("; ")));
                }
                None => notes
                    .push("Not linked: the personal details alone are below the threshold.".into()),
            }
            if let Some(f) = item.print_fmr {
                notes.push(format!(
                    "Fingerprints: two different people have prints this similar {}.",
                    one_in(f)
                ));
            }
            let (fa, fb) = (fields(pa), fields(pb));
            let mut rows: Vec<(String, Vec<String>)> = Vec::new();
            for (label, (va, vb)) in ["Name", "Identity number", "Sex", "Birth date", "Address"]
                .iter()
                .zip(fa.into_iter().zip(fb))
            {
                rows.push(((*label).into(), vec![va, vb]));
            }
            let mut views = Vec::new();
            if !pa.prints.is_empty() || !pb.prints.is_empty() {
                let list = |p: &Person| {
                    p.prints.iter().map(|x| x.finger.to_string()).collect::<Vec<_>>().join(", ")
                };
                rows.push(("Fingers".into(), vec![list(pa), list(pb)]));
                if drawn < MAX_DRAWN {
                    if let Some(view) = draw(pa, pb) {
                        views.push(view);
                        drawn += 1;
                    }
                }
            }
            ClusterView {
                id: cluster_id(pa, pb),
                heading: format!("Pair {}", k + 1),
                conflict: item.conflict.map(|c| conflict_text(c).to_string()),
                notes,
                columns: vec![
                    format!("System A: {}", pa.record_id),
                    format!("System B: {}", pb.record_id),
                ],
                rows,
                prints: views,
            }
        })
        .collect();
    Page {
        title: "Record linkage: pairs to check".into(),
        report_hash: report_hash.into(),
        summary: text,
        findings: Vec::new(),
        clusters,
        omitted: (omitted > 0).then(|| {
            format!(
                "The other {} links are not listed: each is at least as certain as the last one shown.",
                group(omitted as u64)
            )
        }),
    }
}

/// What the levels of a link's comparison vector were, for reports.
pub fn describe_pattern(pattern: u16) -> Vec<(&'static str, &'static str)> {
    decode(pattern)
        .iter()
        .enumerate()
        .map(|(f, l)| (FIELDS[f], l.map_or("missing", |l| LEVEL_NAMES[f][l as usize])))
        .collect()
}

/// Name of a conflict kind for people.
pub fn conflict_text(kind: ConflictKind) -> &'static str {
    match kind {
        ConflictKind::SameFingersDifferentIdNumbers => {
            "the fingerprints match but the identity numbers differ"
        }
        ConflictKind::SameIdNumberDifferentFingers => {
            "the identity numbers are the same but the fingerprints do not match"
        }
    }
}

//! The reports of a de-duplication run for people: the clerk's adjudication page
//! ([`crate::html`]) and the CSV of the report.
//!
//! The page has one group per duplicate cluster (cluster id: its record ids joined by `~`),
//! then one per pair of records that share an identity number but whose prints do not match;
//! the groups are the [`units`] that `ridgeline decide` reads back from the JSON report.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ridgeline::dedup::csv_field;
use ridgeline::dedup::GalleryPopulation;
use ridgeline::dedup::RecordEntry;
use ridgeline::dedup::{FlagKind, RecordInfo, Report};
use ridgeline::{FingerImage, Gallery, Template};
use serde_json::Value;

use crate::error::{ReportError, Result};
use crate::html::{group, one_in, ClusterView, Page, PairView, PrintView};
use crate::prints::matched_minutiae;

/// The page's title.
pub const TITLE: &str = "Duplicate registrations to check";

/// Clusters drawn with prints on the page (the rest are listed with scores only), so that the
/// file stays a size a browser opens quickly.
pub const MAX_DRAWN_PAIRS: usize = 200;

/// Extra fields per record shown in the records table (e.g. the demographics), by label.
pub type ExtraFields = HashMap<String, Vec<(String, String)>>;

/// The adjudication page of a report. `report_json` is the report as written (its hash names the report), `views` the
/// drawn pairs keyed by `(a, b)`, `infos` the population's records (for pairs outside
/// clusters), `extra` further fields per record id, `notes` further sentences per cluster id.
pub fn page(
    report: &Report,
    report_json: &Value,
    views: &HashMap<(String, String), PairView>,
    infos: &[RecordInfo],
    extra: &ExtraFields,
    notes: &HashMap<String, Vec<String>>,
    title: &str,
) -> Result<Page> {
    let stat = |k: &str| report.stats.get(k).and_then(Value::as_u64).unwrap_or(0);
    let info: HashMap<&str, &RecordInfo> =
        infos.iter().map(|r| (r.record_id.as_str(), r)).collect();
    let invalid: Vec<&ridgeline::dedup::Flag> =
        report.flags.iter().filter(|f| f.kind == FlagKind::InvalidIdNumber).collect();
    let mut summary = vec![format!(
        "We compared {} records ({} fingerprints) with each other.",
        group(stat("records")),
        group(stat("fingers"))
    )];
    summary.push(match report.clusters.len() {
        0 => "No record looks like a second registration of another.".to_string(),
        n => format!(
            "{} groups of records look like one person registered more than once ({} records in all).",
            group(n as u64),
            group(stat("records_in_clusters"))
        ),
    });
    let units = units(report_json)?;
    let extra_pairs = units.len().saturating_sub(report.clusters.len());
    if extra_pairs > 0 {
        summary.push(format!(
            "{} of records disagree between fingerprints and identity numbers (the same number \
with prints that do not match, or matching prints under two numbers); they are listed after the \
groups.",
            if extra_pairs == 1 {
                "1 pair".to_string()
            } else {
                format!("{} pairs", group(extra_pairs as u64))
            }
        ));
    }
    if let Some(rate) = report.stats.get("fmr_per_search").and_then(Value::as_f64) {
        summary.push(format!(
            "The search is set so that a record without a duplicate is wrongly grouped with another \
about {} times.",
            one_in(rate)
        ));
    }
    if stat("skipped_records") > 0 {
        summary.push(format!(
            "This is a partial run: {} records could not be read and were skipped; their duplicates \
are not here.",
            group(stat("skipped_records"))
        ));
    }
    let mut clusters = Vec::with_capacity(units.len());
    for (k, unit) in units.iter().enumerate() {
        let cluster = report.clusters.get(k);
        let mut view = ClusterView {
            id: unit.id.clone(),
            columns: unit.records.clone(),
            ..Default::default()
        };
        let members =
            |f: &ridgeline::dedup::Flag| f.records.iter().any(|r| unit.records.contains(r));
        match cluster {
            Some(c) => {
                view.heading = format!("Group {}: {} records", k + 1, c.records.len());
                view.conflict = report
                    .flags
                    .iter()
                    .find(|f| f.kind != FlagKind::InvalidIdNumber && members(f))
                    .map(|f| f.message.clone());
                view.notes.push(format!(
                    "Chance that this group joins different people (its weakest link): {}.",
                    one_in(c.weakest_link_fmr)
                ));
                for p in &c.pairs {
                    if c.pairs.len() > 1 {
                        view.notes.push(format!("{} and {}: {}.", p.a, p.b, one_in(p.fmr)));
                    }
                    if let Some(v) = views.get(&(p.a.clone(), p.b.clone())) {
                        view.prints.push(v.clone());
                    }
                }
            }
            None => {
                let flag = report
                    .flags
                    .iter()
                    .find(|f| f.kind != FlagKind::InvalidIdNumber && f.records == unit.records);
                let what = match flag.map(|f| f.kind) {
                    Some(FlagKind::SameFingerprintsDifferentId) => {
                        "Matching fingerprints, different identity numbers"
                    }
                    _ => "Same identity number, different fingerprints",
                };
                view.heading = format!("{what}: {}", unit.records.join(" and "));
                view.conflict = flag.map(|f| f.message.clone());
                if let Some(fmr) = flag.and_then(|f| f.fmr) {
                    view.notes.push(format!(
                        "Fingerprints: two different people have prints this similar {}.",
                        one_in(fmr)
                    ));
                }
                if let Some(v) = views.get(&(unit.records[0].clone(), unit.records[1].clone())) {
                    view.prints.push(v.clone());
                }
            }
        }
        view.notes.extend(notes.get(&unit.id).cloned().unwrap_or_default());
        let field = |f: fn(&RecordInfo) -> String| -> Vec<String> {
            unit.records
                .iter()
                .map(|r| info.get(r.as_str()).map_or(String::new(), |i| f(i)))
                .collect()
        };
        view.rows.push(("Name".into(), field(|i| i.name.clone())));
        view.rows.push(("Identity number".into(), field(|i| i.person_id.clone())));
        let labels: Vec<String> = unit
            .records
            .iter()
            .flat_map(|r| extra.get(r).into_iter().flatten().map(|(l, _)| l.clone()))
            .fold(Vec::new(), |mut v, l| {
                if !v.contains(&l) {
                    v.push(l);
                }
                v
            });
        for label in labels {
            let values = unit
                .records
                .iter()
                .map(|r| {
                    extra
                        .get(r)
                        .and_then(|fs| fs.iter().find(|(l, _)| *l == label))
                        .map_or(String::new(), |(_, v)| v.clone())
                })
                .collect();
            view.rows.push((label, values));
        }
        view.rows.push((
            "Fingers".into(),
            field(|i| i.fingers.iter().map(u8::to_string).collect::<Vec<_>>().join(", ")),
        ));
        clusters.push(view);
    }
    crate::html::check_unique_ids(&clusters)?;
    Ok(Page {
        title: title.into(),
        report_hash: ridgeline_link::decisions::report_hash(report_json),
        summary,
        findings: invalid
            .iter()
            .map(|f| {
                format!("{}: {} ({})", f.records.join(", "), f.message, f.person_ids.join(", "))
            })
            .collect(),
        clusters,
        omitted: None,
    })
}

/// A group of a report a clerk decides, as `ridgeline decide` reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Cluster id, as on the page.
    pub id: String,
    /// Record ids (de-duplication) or `[a_record_id, b_record_id]` (link).
    pub records: Vec<String>,
    /// Finger count per record where the report says (de-duplication clusters).
    pub fingers: Vec<usize>,
}

/// The groups of a de-duplication report (its JSON form): its clusters (records joined by
/// `~`), then its flagged pairs outside them ("one identity number, different fingerprints";
/// "matching fingerprints, different numbers" where the details kept the pair apart), which a
/// clerk also decides.
pub fn units(report: &Value) -> Result<Vec<Unit>> {
    let malformed = |what: String| ReportError::MalformedReport(what);
    let mut units = Vec::new();
    let clusters = report["clusters"]
        .as_array()
        .ok_or_else(|| malformed("the report has no clusters list".into()))?;
    for (k, c) in clusters.iter().enumerate() {
        let records = c["records"]
            .as_array()
            .ok_or_else(|| malformed(format!("cluster {k} has no records")))?;
        let mut ids = Vec::new();
        let mut fingers = Vec::new();
        for r in records {
            ids.push(
                r["record_id"]
                    .as_str()
                    .ok_or_else(|| malformed(format!("cluster {k}: a record without record_id")))?
                    .to_string(),
            );
            fingers.push(r["finger"].as_array().map_or(0, Vec::len));
        }
        units.push(Unit { id: ids.join("~"), records: ids, fingers });
    }
    for f in report["flags"].as_array().map_or(&[][..], Vec::as_slice) {
        if f["kind"] != "same_id_different_fingerprints"
            && f["kind"] != "same_fingerprints_different_id"
        {
            continue;
        }
        let ids: Vec<String> = f["records"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect();
        // A pair inside one cluster is decided with its cluster.
        let in_one_cluster = units.iter().any(|u| ids.iter().all(|r| u.records.contains(r)));
        if ids.len() >= 2 && !in_one_cluster {
            units.push(Unit { id: ids.join("~"), fingers: vec![0; ids.len()], records: ids });
        }
    }
    Ok(units)
}

/// Drawings of the strongest pairs of a report (at most [`MAX_DRAWN_PAIRS`]), keyed by
/// `(a, b)`: per pair the finger whose comparison scored best, with its matched minutiae;
/// the images where `image_paths` names an image file of (record id, finger).
pub fn pair_views(
    population: &GalleryPopulation<'_>,
    report: &Report,
    gallery: &Gallery,
    image_paths: &HashMap<(String, u8), PathBuf>,
) -> HashMap<(String, String), PairView> {
    let index: HashMap<&str, u32> = population
        .infos()
        .iter()
        .enumerate()
        .map(|(i, r)| (r.record_id.as_str(), i as u32))
        .collect();
    let mut views = HashMap::new();
    let pairs = report.clusters.iter().flat_map(|c| c.pairs.iter()).take(MAX_DRAWN_PAIRS);
    for p in pairs {
        let (Some(&a), Some(&b)) = (index.get(p.a.as_str()), index.get(p.b.as_str())) else {
            continue;
        };
        if let Some(view) = best_finger_view(population, gallery, a, b, image_paths) {
            views.insert((p.a.clone(), p.b.clone()), view);
        }
    }
    views
}

/// The best-scoring finger pair of two records, with its matched template minutiae.
struct BestFinger {
    score: f64,
    fa: u8,
    ta: Template,
    fb: u8,
    tb: Template,
    matched: Vec<(usize, usize)>,
}

fn best_finger_view(
    population: &GalleryPopulation<'_>,
    gallery: &Gallery,
    a: u32,
    b: u32,
    image_paths: &HashMap<(String, u8), PathBuf>,
) -> Option<PairView> {
    let matcher = gallery.matcher();
    let infos = population.infos();
    let mut best: Option<BestFinger> = None;
    for &(fa, ida) in population.fingers(a) {
        for &(fb, idb) in population.fingers(b) {
            if !ridgeline::dedup::positions_compatible(fa, fb) {
                continue;
            }
            let (Ok(ta), Ok(tb)) =
                (population.finger_template(a, ida), population.finger_template(b, idb))
            else {
                continue;
            };
            let (score, matched) = matched_minutiae(matcher, &ta, &tb);
            if best.as_ref().map_or(true, |bst| score > bst.score) {
                best = Some(BestFinger { score, fa, ta, fb, tb, matched });
            }
        }
    }
    let BestFinger { score, fa, ta, fb, tb, matched } = best?;
    let print = |record: u32, finger: u8, t: Template| {
        let id = infos.get(record as usize).map(|r| r.record_id.clone()).unwrap_or_default();
        let png = image_paths
            .get(&(id.clone(), finger))
            .and_then(|p| FingerImage::open(p, None).ok())
            .and_then(|img| img.to_png().ok());
        PrintView::of(id, finger, t, png)
    };
    Some(PairView { left: print(a, fa, ta), right: print(b, fb, tb), matched, finger_score: score })
}

/// Writes the adjudication page of a report ([`page`] with [`TITLE`], rendered), owner-only:
/// it carries prints, names and identity numbers.
pub fn write_page(
    report: &Report,
    views: &HashMap<(String, String), PairView>,
    infos: &[RecordInfo],
    extra: &ExtraFields,
    notes: &HashMap<String, Vec<String>>,
    path: &Path,
) -> Result<()> {
    let json: Value = serde_json::from_str(&report.to_json()).map_err(|e| {
        ReportError::MalformedReport(format!("the report does not read back as JSON: {e}"))
    })?;
    let page = page(report, &json, views, infos, extra, notes, TITLE)?;
    crate::html::write(&page, path)
}

/// The report as CSV: one row per linked pair, then one row per flag.
///
/// Columns: `row,cluster,a,b,score,fmr,weakest_link_fmr,a_person_id,b_person_id,a_name,
/// b_name,flag`; pair rows have `row = pair`, flag rows `row = flag` with the record ids in
/// `a`/`b`, the flag kind in `flag` and its message in `a_name`. A partial run (records
/// skipped) says so in a first `partial` row. Fields go through [`csv_field`], so that a
/// spreadsheet never runs a name as a formula.
pub fn csv(report: &Report) -> String {
    let mut out = String::from(
        "row,cluster,a,b,score,fmr,weakest_link_fmr,a_person_id,b_person_id,a_name,b_name,flag\n",
    );
    // A partial run says so in its first row: its "no duplicate" is not complete.
    let skipped = report.stats.get("skipped_records").and_then(|v| v.as_u64()).unwrap_or(0);
    if skipped > 0 {
        out.push_str(&format!(
            "partial,,,,,,,,,,,{skipped} committed records could not be read and were skipped\n"
        ));
    }
    for (k, c) in report.clusters.iter().enumerate() {
        let info: HashMap<&str, &RecordEntry> =
            c.records.iter().map(|r| (r.record_id.as_str(), r)).collect();
        for p in &c.pairs {
            let (ra, rb) = (info.get(p.a.as_str()), info.get(p.b.as_str()));
            let field = |r: Option<&&RecordEntry>, f: fn(&RecordEntry) -> &str| {
                csv_field(r.map_or("", |r| f(r)))
            };
            out.push_str(&format!(
                "pair,{k},{},{},{:.3},{:e},{:e},{},{},{},{},\n",
                csv_field(&p.a),
                csv_field(&p.b),
                p.score,
                p.fmr,
                c.weakest_link_fmr,
                field(ra, |r| &r.person_id),
                field(rb, |r| &r.person_id),
                field(ra, |r| &r.name),
                field(rb, |r| &r.name),
            ));
        }
    }
    for f in &report.flags {
        let kind = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        out.push_str(&format!(
            "flag,,{},{},,{},,{},{},{},,{}\n",
            csv_field(f.records.first().map_or("", String::as_str)),
            csv_field(f.records.get(1..).map(|r| r.join(" ")).as_deref().unwrap_or("")),
            f.fmr.map(|x| format!("{x:e}")).unwrap_or_default(),
            csv_field(f.person_ids.first().map_or("", String::as_str)),
            csv_field(f.person_ids.get(1..).map(|r| r.join(" ")).as_deref().unwrap_or("")),
            csv_field(&f.message),
            kind,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ridgeline::dedup::{build_report, LinkedPair};
    use std::collections::BTreeMap;

    fn record(id: &str, person: &str, name: &str) -> RecordInfo {
        RecordInfo {
            record_id: id.into(),
            person_id: person.into(),
            name: name.into(),
            fingers: vec![1, 6],
        }
    }

    /// r0 and r1 match under different numbers; r1 and r2 share a number with prints that do
    /// not match; r3's number is invalid.
    fn report() -> Report {
        let records = vec![
            record("r0", "11010519491231002X", "=cmd|' /C calc'!A0"),
            record("r1", "440524188001010014", "王立"),
            record("r2", "440524188001010014", "汪丽"),
            record("r3", "110105199902300021", "N r3"),
            record("r4", "", "N r4"),
        ];
        let pairs = [LinkedPair { a: 0, b: 1, score: 9.0, fmr: 1e-9 }];
        let mut stats = BTreeMap::new();
        stats.insert("records".into(), 5.into());
        stats.insert("fingers".into(), 10.into());
        stats.insert("fmr_per_search".into(), 1e-4.into());
        stats.insert("records_in_clusters".into(), 2.into());
        build_report(&records, &pairs, &vec![(1, 2, Some(0.3))], stats).0
    }

    #[test]
    fn the_csv_has_a_row_per_pair_and_per_flag_and_defuses_formulas() {
        let mut report = report();
        let text = csv(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + 1 + 3, "{text}");
        assert!(lines[0].starts_with("row,cluster,a,b,score,fmr,"));
        assert!(lines[1].starts_with("pair,0,r0,r1,9.000,1e-9,1e-9,11010519491231002X,"));
        assert!(lines[1].contains(",'=cmd|' /C calc'!A0,王立,"), "{}", lines[1]);
        assert!(lines[2].starts_with("flag,,r0,r1,"));
        assert!(lines[2].ends_with(",same_fingerprints_different_id"));
        assert!(lines[3].starts_with("flag,,r1,r2,,3e-1,"));
        assert!(
            lines[4].starts_with("flag,,r3,,,,,110105199902300021,,invalid identity number"),
            "{text}"
        );
        report.stats.insert("skipped_records".into(), 2.into());
        let partial = csv(&report);
        assert_eq!(
            partial.lines().nth(1),
            Some("partial,,,,,,,,,,,2 committed records could not be read and were skipped")
        );
    }

    #[test]
    fn the_page_has_a_group_per_cluster_and_per_disagreeing_pair() {
        let report = report();
        let json: Value = serde_json::from_str(&report.to_json()).expect("json");
        let groups = units(&json).expect("units");
        let ids: Vec<&str> = groups.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["r0~r1", "r1~r2"]);
        assert_eq!(groups[0].fingers, [2, 2]);
        let infos: Vec<RecordInfo> = ["r0", "r1", "r2", "r3", "r4"]
            .iter()
            .map(|id| record(id, "", &format!("Name of {id}")))
            .collect();
        let page = page(
            &report,
            &json,
            &HashMap::new(),
            &infos,
            &ExtraFields::new(),
            &HashMap::new(),
            TITLE,
        )
        .expect("page");
        assert_eq!(page.clusters.len(), 2);
        assert_eq!(page.clusters[0].columns, ["r0", "r1"]);
        assert!(page.clusters[0].heading.starts_with("Group 1: 2 records"));
        assert!(page.clusters[1]
            .heading
            .starts_with("Same identity number, different fingerprints"));
        assert_eq!(page.findings.len(), 1, "the invalid number is listed");
        assert_eq!(page.report_hash, ridgeline_link::decisions::report_hash(&json));
        let html = crate::html::render(&page);
        assert!(html.contains("data-cluster=\"r0~r1\"") && html.contains("<th>r1</th>"), "{html}");
        assert!(matches!(
            units(&serde_json::json!({"flags": []})),
            Err(ReportError::MalformedReport(m)) if m == "the report has no clusters list"
        ));
    }
}

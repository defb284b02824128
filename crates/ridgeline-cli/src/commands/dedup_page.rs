//! The adjudication page of a `ridgeline dedup` report ([`super::adjudication`]): one group per
//! duplicate cluster (cluster id: its record ids joined by `~`), then one per pair of records
//! that share an identity number but whose prints do not match; the clusters are those
//! `ridgeline decide` reads from the JSON report ([`super::decide::dedup_units`]).

use std::collections::HashMap;

use super::adjudication::PairView;
use ridgeline::dedup::{FlagKind, RecordInfo, Report};
use serde_json::Value;

use super::adjudication::{group, one_in, ClusterView, Page};

/// Extra fields per record shown in the records table (e.g. the demographics), by label.
pub type ExtraFields = HashMap<String, Vec<(String, String)>>;

/// The page. `report_json` is the report as written (its hash names the report), `views` the
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
) -> anyhow::Result<Page> {
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
    let units = super::decide::dedup_units(report_json)?;
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
    super::adjudication::check_unique_ids(&clusters)?;
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

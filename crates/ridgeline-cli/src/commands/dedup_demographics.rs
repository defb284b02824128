//! `ridgeline dedup --demographics --input MANIFEST.csv --out REPORT.json [--html PAGE.html]`
//!
//! De-duplication of a people manifest by its demographic columns (`name`, `id_number`, `sex`,
//! `birth_date`, `address`) with the Fellegi–Sunter model of `ridgeline-link`
//! ([`ridgeline_link::dedup`]), fused with the fingerprint evidence of the manifest's prints.
//! The report has the JSON layout of every de-duplication report (so that the page and
//! `ridgeline decide` read it alike); each pair also says which evidence decided it
//! (`evidence`: `demographic`, `fingerprint`, `both`), its match `weight` in bits, `posterior`
//! and `print_fmr`, and a pair's `fmr` is the chance that the link is wrong (`1 − posterior`).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};
use rayon::prelude::*;
use ridgeline::dedup::{build_report, FlagKind, LinkedPair, RecordInfo};
use ridgeline::matcher::{calibration, MatchTemplate, Matcher};
use ridgeline_link::record::Print;
use ridgeline_link::{ConflictKind, Evidence, LinkConfig, Person, PrintEvidence, RawRecord};
use serde_json::{json, Value};

use super::dedup::{Args, ReportFormat};

/// Most record pairs whose prints are compared exhaustively (beyond, prints are compared on
/// the demographic candidates only).
const MAX_PRINT_SEARCH_PAIRS: usize = 4_000_000;

/// The prints of one population, prepared for matching.
struct Prints {
    matcher: Matcher,
    templates: Vec<Vec<(u8, MatchTemplate)>>,
    match_fmr: f64,
    exhaustive: bool,
}

impl PrintEvidence for Prints {
    fn pair_fmr(&self, a: u32, b: u32) -> Option<f64> {
        let (pa, pb) = (&self.templates[a as usize], &self.templates[b as usize]);
        let fmrs: Vec<f64> = pa
            .iter()
            .filter_map(|(fa, ta)| {
                let (_, tb) = pb.iter().find(|(fb, _)| fb == fa)?;
                Some(calibration::fmr_for_score(self.matcher.compare(ta.view(), tb.view())))
            })
            .collect();
        (!fmrs.is_empty()).then(|| ridgeline::dedup::fused_fmr(&fmrs))
    }

    fn matching_pairs(&self) -> Vec<(u32, u32)> {
        if !self.exhaustive {
            return Vec::new();
        }
        let n = self.templates.len() as u32;
        (0..n)
            .into_par_iter()
            .flat_map_iter(|i| {
                (i + 1..n)
                    .filter(move |&j| self.pair_fmr(i, j).is_some_and(|f| f <= self.match_fmr))
                    .map(move |j| (i, j))
            })
            .collect()
    }
}

/// The chance that a link of match weight `weight` (bits) is wrong, `1 − posterior`, without
/// the cancellation of computing the posterior first.
fn wrong_link_chance(weight: f64) -> f64 {
    (1.0 / (1.0 + weight.exp2())).max(f64::MIN_POSITIVE)
}

/// Runs the mode.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let Some(manifest) = &args.input else {
        bail!("--demographics de-duplicates a people manifest: give --input MANIFEST.csv");
    };
    if ReportFormat::from_path(&args.out)? != ReportFormat::Json {
        bail!("--demographics writes a JSON report: give --out REPORT.json");
    }
    if args.resume || args.exhaustive {
        bail!(
            "--resume and --exhaustive are for the fingerprint search; --demographics has neither"
        );
    }
    let rows = ridgeline::people::read_people(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let people: Vec<Person> = rows
        .par_iter()
        .map(|r| {
            let d = &r.demographics;
            let text = |f: &Option<String>| f.clone().unwrap_or_default();
            Person::prepare(RawRecord {
                record_id: r.id.clone(),
                name: text(&d.name),
                id_number: text(&d.id_number),
                sex: text(&d.sex),
                birth_date: text(&d.birth_date),
                address: text(&d.address),
                prints: r
                    .prints
                    .iter()
                    .map(|p| Print {
                        finger: p.finger,
                        path: p.path.to_string_lossy().into_owned(),
                    })
                    .collect(),
            })
        })
        .collect();
    let templates: Vec<Vec<(u8, MatchTemplate)>> = rows
        .par_iter()
        .map(|r| {
            r.prints
                .iter()
                .map(|p| {
                    let t = super::probe_input::load_template(&p.path)
                        .with_context(|| format!("record {}, finger {}", r.id, p.finger))?;
                    Ok((p.finger, MatchTemplate::prepare(&t)))
                })
                .collect()
        })
        .collect::<anyhow::Result<_>>()?;
    let n = people.len();
    let mut config = LinkConfig::default();
    config.fingerprint.match_fmr = args.fmr;
    let prints = Prints {
        matcher: Matcher::new(),
        templates,
        match_fmr: args.fmr,
        exhaustive: n.saturating_mul(n.saturating_sub(1)) / 2 <= MAX_PRINT_SEARCH_PAIRS,
    };
    let mut linkage = ridgeline_link::dedup(&people, &config, Some(&prints))
        .context("demographic de-duplication failed")?;

    let infos: Vec<RecordInfo> = rows
        .iter()
        .zip(&people)
        .map(|(r, p)| RecordInfo {
            record_id: r.id.clone(),
            person_id: r.demographics.id_number.clone().unwrap_or_default(),
            name: p.name.as_ref().map_or(String::new(), |x| x.chars.to_string()),
            fingers: r.prints.iter().map(|p| p.finger).collect(),
        })
        .collect();
    let distinct = super::dedup::read_distinct(&args.distinct, &infos)?;
    let held_apart = linkage.links.len();
    linkage.links.retain(|l| !distinct.contains(&(l.a, l.b)));
    let held_apart = held_apart - linkage.links.len();
    let pairs: Vec<LinkedPair> = linkage
        .links
        .iter()
        .map(|l| {
            let fmr = wrong_link_chance(l.weight);
            LinkedPair { a: l.a, b: l.b, score: -fmr.log10(), fmr }
        })
        .collect();
    // Flagged whether or not the demographics linked the pair: the prints say otherwise.
    let unlinked: Vec<(u32, u32, Option<f64>)> = linkage
        .conflicts
        .iter()
        .filter(|c| c.kind == ConflictKind::SameIdNumberDifferentFingers)
        .map(|c| (c.a, c.b, Some(c.print_fmr)))
        .collect();
    let mut evidence = [0usize; 3];
    for l in &linkage.links {
        evidence[l.evidence as usize] += 1;
    }
    let mut stats = std::collections::BTreeMap::new();
    stats.insert("mode".to_string(), json!("demographics"));
    stats.insert("records".into(), json!(n));
    stats.insert("fingers".into(), json!(rows.iter().map(|r| r.prints.len()).sum::<usize>()));
    stats.insert("candidates".into(), json!(linkage.candidates));
    stats.insert("print_candidates".into(), json!(linkage.print_candidates));
    stats.insert(
        "print_search".into(),
        json!(if prints.exhaustive { "exhaustive" } else { "demographic_candidates_only" }),
    );
    stats.insert("threshold".into(), json!(config.threshold));
    stats.insert("print_fmr".into(), json!(args.fmr));
    stats.insert("prior_weight".into(), json!(linkage.model.prior_log2()));
    stats.insert("duplicate_pairs".into(), json!(pairs.len()));
    stats.insert("pairs_adjudicated_distinct".into(), json!(held_apart));
    stats.insert(
        "evidence".into(),
        json!({"demographic": evidence[0], "fingerprint": evidence[1], "both": evidence[2]}),
    );
    let (mut report, clusters) = build_report(&infos, &pairs, &unlinked, stats);
    // Clusters joined by demographics may carry two numbers (a mistyped one); "matching
    // fingerprints under different numbers" is said only where the prints do match.
    let print_conflicts: Vec<(&str, &str)> = linkage
        .conflicts
        .iter()
        .filter(|c| c.kind == ConflictKind::SameFingersDifferentIdNumbers)
        .map(|c| (infos[c.a as usize].record_id.as_str(), infos[c.b as usize].record_id.as_str()))
        .collect();
    report.flags.retain(|f| {
        f.kind != FlagKind::SameFingerprintsDifferentId
            || print_conflicts
                .iter()
                .any(|(a, b)| f.records.iter().any(|r| r == a) && f.records.iter().any(|r| r == b))
    });
    // Matching prints the details kept apart: flagged as a pair of their own.
    let cluster_of: HashMap<u32, usize> = clusters
        .iter()
        .enumerate()
        .flat_map(|(k, c)| c.records.iter().map(move |&r| (r, k)))
        .collect();
    for c in
        linkage.conflicts.iter().filter(|c| c.kind == ConflictKind::SameFingersDifferentIdNumbers)
    {
        let together = cluster_of.get(&c.a).is_some_and(|k| cluster_of.get(&c.b) == Some(k));
        if together {
            continue;
        }
        let (ra, rb) = (&infos[c.a as usize], &infos[c.b as usize]);
        report.flags.push(ridgeline::dedup::Flag {
            kind: FlagKind::SameFingerprintsDifferentId,
            records: vec![ra.record_id.clone(), rb.record_id.clone()],
            person_ids: vec![ra.person_id.clone(), rb.person_id.clone()],
            message: "matching fingerprints under two identity numbers, not linked because the \
                      personal details disagree: duplicate registration or a mix-up of prints"
                .into(),
            fmr: Some(c.print_fmr),
        });
    }
    let in_clusters: usize = clusters.iter().map(|c| c.records.len()).sum();
    report.stats.insert("clusters".into(), clusters.len().into());
    report.stats.insert("records_in_clusters".into(), in_clusters.into());
    report.stats.insert("flags".into(), report.flags.len().into());
    report.stats.insert("partial".into(), false.into());
    report.stats.insert("skipped_records".into(), 0.into());
    report.stats.insert("total_seconds".into(), started.elapsed().as_secs_f64().into());

    // Each pair says what decided it.
    let by_ids: HashMap<(&str, &str), &ridgeline_link::ScoredPair> = linkage
        .links
        .iter()
        .map(|l| {
            ((infos[l.a as usize].record_id.as_str(), infos[l.b as usize].record_id.as_str()), l)
        })
        .collect();
    let mut value: Value = serde_json::to_value(&report).context("report to JSON")?;
    let mut notes: HashMap<String, Vec<String>> = HashMap::new();
    for cluster in value["clusters"].as_array_mut().into_iter().flatten() {
        let id = cluster["records"]
            .as_array()
            .map(|rs| {
                rs.iter().filter_map(|r| r["record_id"].as_str()).collect::<Vec<_>>().join("~")
            })
            .unwrap_or_default();
        for pair in cluster["pairs"].as_array_mut().into_iter().flatten() {
            let key = (pair["a"].as_str().unwrap_or(""), pair["b"].as_str().unwrap_or(""));
            let Some(l) = by_ids.get(&key).copied() else { continue };
            let decided = match l.evidence {
                Evidence::Demographic => "the personal details",
                Evidence::Fingerprint => "the fingerprints",
                Evidence::Both => "both the personal details and the fingerprints",
            };
            let levels: Vec<String> = ridgeline_report::link::describe_pattern(l.pattern)
                .iter()
                .map(|(f, level)| format!("{}: {}", f.replace('_', " "), level.replace('_', " ")))
                .collect();
            notes.entry(id.clone()).or_default().push(format!(
                "{} and {}: linked on {decided}; field by field: {}.",
                key.0,
                key.1,
                levels.join("; ")
            ));
            let extra = json!({
                "evidence": l.evidence.name(),
                "weight": l.weight,
                "posterior": l.posterior,
                "print_fmr": l.print_fmr,
            });
            if let (Some(p), Some(e)) = (pair.as_object_mut(), extra.as_object()) {
                p.extend(e.clone());
            }
        }
    }
    let text = serde_json::to_string_pretty(&value).context("report to JSON")?;
    ridgeline::dedup::checkpoint::write_file_atomic(&args.out, text.as_bytes())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    if let Some(path) = &args.html {
        let mut extra: ridgeline_report::dedup::ExtraFields = HashMap::new();
        for p in &people {
            extra.insert(
                p.record_id.to_string(),
                vec![
                    ("Sex".into(), p.sex.map_or(String::new(), |s| s.han().to_string())),
                    ("Birth date".into(), p.birth_date.map_or(String::new(), |d| d.to_string())),
                    (
                        "Address".into(),
                        p.address.as_ref().map_or(String::new(), |a| a.text.to_string()),
                    ),
                ],
            );
        }
        let index: HashMap<&str, usize> =
            infos.iter().enumerate().map(|(i, r)| (r.record_id.as_str(), i)).collect();
        let source = super::link_report::PrintSource {
            base_a: Path::new(""),
            base_b: Path::new(""),
            dpi: None,
        };
        let matcher = Matcher::new();
        let mut views = HashMap::new();
        let flagged = report
            .flags
            .iter()
            .filter(|f| f.kind != FlagKind::InvalidIdNumber && f.records.len() == 2)
            .map(|f| (&f.records[0], &f.records[1]));
        let shown =
            report.clusters.iter().flat_map(|c| &c.pairs).map(|p| (&p.a, &p.b)).chain(flagged);
        for (a, b) in shown.take(ridgeline_report::dedup::MAX_DRAWN_PAIRS) {
            let (Some(&x), Some(&y)) = (index.get(a.as_str()), index.get(b.as_str())) else {
                continue;
            };
            if let Some(view) = super::link_report::draw(&matcher, &people[x], &people[y], &source)
            {
                views.insert((a.clone(), b.clone()), view);
            }
        }
        let page = ridgeline_report::dedup::page(
            &report,
            &value,
            &views,
            &infos,
            &extra,
            &notes,
            ridgeline_report::dedup::TITLE,
        )?;
        ridgeline_report::html::write(&page, path)?;
    }
    if args.json {
        println!(
            "{}",
            json!({"report": args.out.display().to_string(), "html": args.html.as_ref().map(|p| p.display().to_string()), "stats": report.stats})
        );
    } else {
        let stat = |k: &str| report.stats.get(k).map(|v| v.to_string()).unwrap_or_default();
        println!(
            "{} records, {} duplicate pairs in {} clusters, {} identity flags; decided by demographics {}, fingerprints {}, both {}",
            stat("records"),
            stat("duplicate_pairs"),
            stat("clusters"),
            stat("flags"),
            evidence[0],
            evidence[1],
            evidence[2]
        );
        println!("report: {}", args.out.display());
        if let Some(html) = &args.html {
            println!("HTML report: {}", html.display());
        }
    }
    Ok(())
}

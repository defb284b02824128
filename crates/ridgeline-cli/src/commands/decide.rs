//! `ridgeline decide REPORT.json DECISIONS.csv [--gallery DIR] [--links LINKS.csv] [--out FILE]
//! [--json]`
//!
//! Applies a clerk's decisions (the file the adjudication page exports) to the report they
//! were made on, after checking that the file names this report and only its clusters.
//!
//! * A de-duplication report (`dedup --out REPORT.json`): `same` merges the cluster's records
//!   into one subject: the record with the most fingers (the first on a tie) is kept, the
//!   others are removed; with `--gallery DIR` the merge is committed: fingers the kept record
//!   lacks are enrolled under its id from the removed records, then the removed records are
//!   de-registered. `different` lists the records as adjudicated distinct (`distinct` in the
//!   summary), `unsure` leaves the cluster open. `--out FILE.json` keeps the summary.
//! * A link report (`link --report REPORT.json`, or its `--json` output): the reconciled
//!   mapping is written to `--out MAPPING.csv` (`a_record_id,b_record_id,status,posterior,
//!   evidence`; `status` `linked` for links no one decided on, `confirmed` for `same`, `unsure`;
//!   links decided `different` are left out, and pairs not linked but decided `same` are added
//!   with evidence `clerk`). The links file is the report's `links_file` unless `--links`
//!   names it, and must be the one the report was written with.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ridgeline::gallery::{Enrolment, Gallery, OpenMode};
use ridgeline_link::decisions::{self, Decision, DecisionRow};
use ridgeline_link::record::{csv_field, split_csv_line};
use ridgeline_report::dedup::{units as dedup_units, Unit};
use serde_json::{json, Value};

/// Arguments of `ridgeline decide`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The JSON report of `dedup` or `link` the decisions were made on.
    pub report: PathBuf,
    /// The decisions file exported from the report's adjudication page.
    pub decisions: PathBuf,
    /// De-duplication: commit the merges to this gallery (the one the report was made from).
    #[arg(long)]
    pub gallery: Option<PathBuf>,
    /// Link: the links file (default: the report's `links_file`).
    #[arg(long)]
    pub links: Option<PathBuf>,
    /// Link: the reconciled mapping CSV (required). De-duplication: also write the summary
    /// JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What kind of report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dedup,
    Link,
}

fn link_units(report: &Value) -> anyhow::Result<Vec<Unit>> {
    let review = report["review"].as_array().context("the report has no review list")?;
    review
        .iter()
        .map(|r| {
            let get = |k: &str| {
                r[k].as_str()
                    .map(str::to_string)
                    .with_context(|| format!("a review entry without {k}"))
            };
            Ok(Unit {
                id: get("cluster_id")?,
                records: vec![get("a_record_id")?, get("b_record_id")?],
                fingers: vec![],
            })
        })
        .collect()
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("cannot read {}", args.report.display()))?;
    let report: Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a JSON report (decide reads `dedup --out REPORT.json` or `link --report REPORT.json`)",
            args.report.display()
        )
    })?;
    let kind = if report.get("clusters").is_some() && report.get("stats").is_some() {
        Kind::Dedup
    } else if report.get("records_a").is_some() && report.get("review").is_some() {
        Kind::Link
    } else {
        bail!("{} is neither a de-duplication nor a link report", args.report.display());
    };
    let units = match kind {
        Kind::Dedup => dedup_units(&report)?,
        Kind::Link => link_units(&report)?,
    };
    let hash = decisions::report_hash(&report);
    let known: HashSet<&str> = units.iter().map(|u| u.id.as_str()).collect();
    let decisions_text = std::fs::read_to_string(&args.decisions)
        .with_context(|| format!("cannot read {}", args.decisions.display()))?;
    let rows = decisions::parse(&decisions_text, &hash, &known)
        .with_context(|| format!("decisions file {}", args.decisions.display()))?;
    let decided: HashMap<&str, Decision> =
        rows.iter().map(|r| (r.cluster_id.as_str(), r.decision)).collect();
    let count = |d: Decision| rows.iter().filter(|r| r.decision == d).count();
    let open: Vec<Value> = units
        .iter()
        .filter(|u| !matches!(decided.get(u.id.as_str()), Some(Decision::Same | Decision::Different)))
        .map(|u| json!({"cluster_id": u.id, "decision": decided.get(u.id.as_str()).map(|d| d.word())}))
        .collect();
    let mut summary = json!({
        "report": args.report.display().to_string(),
        "kind": if kind == Kind::Dedup { "dedup" } else { "link" },
        "report_hash": hash,
        "clusters": units.len(),
        "decisions": rows.len(),
        "same": count(Decision::Same),
        "different": count(Decision::Different),
        "unsure": count(Decision::Unsure),
        "undecided": units.len() - rows.len(),
        "open": open,
    });
    match kind {
        Kind::Dedup => {
            if args.links.is_some() {
                bail!(
                    "--links is for link reports; {} is a de-duplication report",
                    args.report.display()
                );
            }
            apply_dedup(&units, &rows, args.gallery.as_deref(), &mut summary)?;
            if let Some(out) = &args.out {
                ridgeline::private_files::write(out, format!("{summary:#}\n").as_bytes())
                    .with_context(|| format!("cannot write {}", out.display()))?;
            }
        }
        Kind::Link => {
            if args.gallery.is_some() {
                bail!(
                    "--gallery is for de-duplication reports; {} is a link report",
                    args.report.display()
                );
            }
            let out = args
                .out
                .as_deref()
                .context("a link report needs --out MAPPING.csv for the reconciled mapping")?;
            apply_link(&report, &args, &units, &decided, out, &mut summary)?;
        }
    }
    if args.json {
        println!("{summary}");
    } else {
        print_text(&summary);
    }
    Ok(())
}

/// Follows merges to the record that now stands for `id`.
fn representative<'a>(merged_into: &'a HashMap<String, String>, mut id: &'a str) -> &'a str {
    while let Some(next) = merged_into.get(id) {
        id = next;
    }
    id
}

fn apply_dedup(
    units: &[Unit],
    rows: &[DecisionRow],
    gallery_dir: Option<&Path>,
    summary: &mut Value,
) -> anyhow::Result<()> {
    let by_id: HashMap<&str, &Unit> = units.iter().map(|u| (u.id.as_str(), u)).collect();
    let fingers_of: HashMap<&str, usize> = units
        .iter()
        .flat_map(|u| u.records.iter().map(String::as_str).zip(u.fingers.iter().copied()))
        .fold(HashMap::new(), |mut m, (r, f)| {
            let e = m.entry(r).or_insert(0);
            *e = (*e).max(f);
            m
        });
    // Plan every merge first; a record merged by two decisions (a cluster and a same-number
    // pair) follows its first merge.
    let mut merged_into: HashMap<String, String> = HashMap::new();
    let mut merges: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut distinct = Vec::new();
    for row in rows {
        let Some(unit) = by_id.get(row.cluster_id.as_str()) else { continue };
        match row.decision {
            Decision::Same => {
                let mut members: Vec<String> = Vec::new();
                for r in &unit.records {
                    let rep = representative(&merged_into, r).to_string();
                    if !members.contains(&rep) {
                        members.push(rep);
                    }
                }
                if members.len() < 2 {
                    continue;
                }
                let kept = members
                    .iter()
                    .enumerate()
                    .max_by_key(|(i, m)| {
                        (fingers_of.get(m.as_str()).copied().unwrap_or(0), std::cmp::Reverse(*i))
                    })
                    .map(|(_, m)| m.clone())
                    .unwrap_or_default();
                let removed: Vec<String> = members.into_iter().filter(|m| *m != kept).collect();
                for r in &removed {
                    merged_into.insert(r.clone(), kept.clone());
                }
                merges.push((row.cluster_id.clone(), kept, removed));
            }
            Decision::Different => {
                distinct.push(json!({"cluster_id": unit.id, "records": unit.records}))
            }
            Decision::Unsure => {}
        }
    }
    let moved = match gallery_dir {
        Some(dir) => Some(commit_merges(dir, &merges)?),
        None => None,
    };
    summary["merges"] = merges
        .iter()
        .enumerate()
        .map(|(k, (id, kept, removed))| {
            json!({"cluster_id": id, "kept": kept, "removed": removed, "fingers_moved": moved.as_ref().map(|m| m[k])})
        })
        .collect();
    summary["distinct"] = distinct.into();
    summary["records_removed"] = merges.iter().map(|m| m.2.len()).sum::<usize>().into();
    summary["gallery"] = gallery_dir.map(|d| d.display().to_string()).into();
    summary["committed"] = moved.is_some().into();
    Ok(())
}

/// Commits the merges to a gallery: per merge, the fingers the kept subject lacks are enrolled
/// under its id (one commit), then each removed subject is de-registered. Every subject is
/// looked up before anything changes, so a report of another gallery changes nothing.
fn commit_merges(
    dir: &Path,
    merges: &[(String, String, Vec<String>)],
) -> anyhow::Result<Vec<usize>> {
    let gallery = Gallery::open_with(dir, OpenMode::Writable, &super::open_options())
        .with_context(|| format!("cannot open gallery {} for writing", dir.display()))?;
    for (cluster, kept, removed) in merges {
        // Merges are planned on representatives, so every id here is still enrolled.
        for id in std::iter::once(kept).chain(removed) {
            gallery.get(id).with_context(|| {
                format!(
                    "cluster {cluster}: record {id:?} is not in gallery {} (nothing was changed)",
                    dir.display()
                )
            })?;
        }
    }
    let mut moved = Vec::with_capacity(merges.len());
    for (cluster, kept, removed) in merges {
        let mut have: HashSet<u8> = gallery.get(kept)?.iter().map(|r| r.finger).collect();
        let mut records = Vec::new();
        for id in removed {
            for r in gallery.get(id).with_context(|| format!("cluster {cluster}: record {id:?}"))? {
                if have.insert(r.finger) {
                    records.push(r);
                }
            }
        }
        let batch: Vec<Enrolment<'_>> = records
            .iter()
            .map(|r| Enrolment { subject_id: kept, finger: r.finger, template: &r.template })
            .collect();
        if !batch.is_empty() {
            gallery.enroll_batch(&batch).with_context(|| {
                format!("cluster {cluster}: cannot enrol the moved fingers under {kept:?}")
            })?;
        }
        for id in removed {
            gallery
                .remove(id)
                .with_context(|| format!("cluster {cluster}: cannot remove {id:?}"))?;
        }
        moved.push(batch.len());
    }
    Ok(moved)
}

fn apply_link(
    report: &Value,
    args: &Args,
    units: &[Unit],
    decided: &HashMap<&str, Decision>,
    out: &Path,
    summary: &mut Value,
) -> anyhow::Result<()> {
    let links_path = match &args.links {
        Some(p) => p.clone(),
        None => {
            let named = PathBuf::from(
                report["links_file"]
                    .as_str()
                    .context("the report names no links file; give --links")?,
            );
            let beside =
                args.report.parent().map(|d| d.join(named.file_name().unwrap_or_default()));
            match beside {
                Some(b) if !named.exists() && b.exists() => b,
                _ => named,
            }
        }
    };
    let bytes = std::fs::read(&links_path)
        .with_context(|| format!("cannot read the links file {}", links_path.display()))?;
    let expected = report["links_hash"].as_str().unwrap_or_default();
    if decisions::bytes_hash(&bytes) != expected {
        bail!(
            "{} is not the links file this report was written with (its contents differ)",
            links_path.display()
        );
    }
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{} is not UTF-8", links_path.display()))?;
    let mut mapping = String::from("a_record_id,b_record_id,status,posterior,evidence\n");
    let (mut rows, mut confirmed, mut unsure, mut rejected) = (0usize, 0usize, 0usize, Vec::new());
    let mut linked: HashSet<String> = HashSet::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.is_empty() {
            continue;
        }
        let f = split_csv_line(line)
            .map_err(|e| anyhow::anyhow!("{}, line {}: {e}", links_path.display(), n + 1))?;
        let [a, b, _weight, posterior, evidence] = <[String; 5]>::try_from(f).map_err(|_| {
            anyhow::anyhow!("{}, line {}: expected 5 fields", links_path.display(), n + 1)
        })?;
        let id = format!("{a}~{b}");
        let status = match decided.get(id.as_str()) {
            Some(Decision::Different) => {
                rejected.push(id);
                continue;
            }
            Some(Decision::Same) => {
                confirmed += 1;
                "confirmed"
            }
            Some(Decision::Unsure) => {
                unsure += 1;
                "unsure"
            }
            None => "linked",
        };
        mapping.push_str(&format!(
            "{},{},{status},{posterior},{evidence}\n",
            csv_field(&a),
            csv_field(&b)
        ));
        rows += 1;
        linked.insert(id);
    }
    let mut added = Vec::new();
    for u in units {
        if decided.get(u.id.as_str()) == Some(&Decision::Same) && !linked.contains(&u.id) {
            mapping.push_str(&format!(
                "{},{},confirmed,,clerk\n",
                csv_field(&u.records[0]),
                csv_field(&u.records[1])
            ));
            rows += 1;
            confirmed += 1;
            added.push(u.id.clone());
        }
    }
    ridgeline::private_files::write(out, mapping.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    summary["links_file"] = links_path.display().to_string().into();
    summary["mapping"] = out.display().to_string().into();
    summary["mapping_rows"] = rows.into();
    summary["confirmed"] = confirmed.into();
    summary["unsure_links"] = unsure.into();
    summary["rejected"] = rejected.into();
    summary["added"] = added.into();
    Ok(())
}

fn print_text(s: &Value) {
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    println!(
        "{} decisions on {} clusters: {} same, {} different, {} unsure; {} undecided",
        n("decisions"),
        n("clusters"),
        n("same"),
        n("different"),
        n("unsure"),
        n("undecided")
    );
    for m in s["merges"].as_array().map_or(&[][..], Vec::as_slice) {
        let removed: Vec<&str> = m["removed"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let moved =
            m["fingers_moved"].as_u64().map_or(String::new(), |k| format!(" ({k} fingers moved)"));
        println!(
            "merge {}: keep {}, remove {}{moved}",
            m["cluster_id"].as_str().unwrap_or(""),
            m["kept"].as_str().unwrap_or(""),
            removed.join(", ")
        );
    }
    if s["kind"] == "dedup" {
        if s["committed"] == true {
            println!("committed to gallery {}", s["gallery"].as_str().unwrap_or(""));
        } else if n("same") > 0 {
            println!("not committed: give --gallery DIR to apply the merges");
        }
    } else {
        println!(
            "mapping: {} ({} pairs; {} confirmed, {} rejected, {} added)",
            s["mapping"].as_str().unwrap_or(""),
            n("mapping_rows"),
            n("confirmed"),
            s["rejected"].as_array().map_or(0, Vec::len),
            s["added"].as_array().map_or(0, Vec::len)
        );
    }
}

//! `ridgeline link A.csv B.csv [--columns-a MAP] [--columns-b MAP] --out LINKS.csv
//! [--threshold 0.5] [--html REPORT.html] [--json]`
//!
//! Links the records of two systems (the same person registered twice) by Fellegi–Sunter
//! linkage over the demographic fields, fused with fingerprint evidence where both exports
//! carry `finger,path` columns. Writes one row per link; the summary (records of one system
//! missing from the other, conflicts, the fitted model) goes to stdout, as JSON with `--json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;
use ridgeline::matcher::{calibration, MatchTemplate, Matcher};
use ridgeline::Template;
use ridgeline_link::compare::{FIELDS, LEVEL_NAMES};
use ridgeline_link::record::{csv_field, flags};
use ridgeline_link::{ColumnMap, Evidence, LinkConfig, Linkage, Person, PrintEvidence};
use serde_json::json;

use crate::progress::Progress;

/// Arguments of `ridgeline link`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Export of the first system (CSV with a header).
    pub a: PathBuf,
    /// Export of the second system.
    pub b: PathBuf,
    /// Column names of the first export: `canonical=column,...` over the fields record_id, name,
    /// id_number, sex, birth_date, address, finger, path (unmapped fields keep their names).
    #[arg(long, default_value = "")]
    pub columns_a: String,
    /// Column names of the second export, as for `--columns-a`.
    #[arg(long, default_value = "")]
    pub columns_b: String,
    /// Links file: `a_record_id,b_record_id,weight,posterior,evidence`.
    #[arg(long)]
    pub out: PathBuf,
    /// Posterior probability at or above which a pair is a link.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Also write an HTML adjudication report.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Fused fingerprint FMR at or below which two records' prints count as matching.
    #[arg(long, default_value_t = 1e-4)]
    pub print_fmr: f64,
    /// Resolution of fingerprint images whose files carry none.
    #[arg(long)]
    pub dpi: Option<u32>,
    /// How the prints of the two systems are searched against each other, independently of
    /// the demographics: `exhaustive` compares every record of A with every record of B,
    /// `indexed` proposes candidates through the de-duplication's cylinder index; `auto` is
    /// exhaustive up to 4 million record pairs, indexed beyond; `candidates` searches nothing
    /// and compares prints only on the pairs the demographic blocking proposes.
    #[arg(long, value_enum, default_value_t = PrintSearch::Auto)]
    pub print_search: PrintSearch,
    /// Also write the JSON summary (the report `ridgeline decide` applies decisions to) here.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// How the two systems' prints are searched against each other (`--print-search`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrintSearch {
    /// Exhaustive up to [`MAX_PRINT_SEARCH_PAIRS`] record pairs, indexed beyond.
    Auto,
    /// Every record of A against every record of B.
    Exhaustive,
    /// Candidates from the cylinder index, then the precise comparison.
    Indexed,
    /// No search of the prints' own: they are compared on the demographic candidates only, so
    /// a mate whose details share no blocking key with its record is not found. The cheapest.
    Candidates,
}

/// Most record pairs `--print-search auto` compares exhaustively.
const MAX_PRINT_SEARCH_PAIRS: usize = 4_000_000;

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let map_a = ColumnMap::parse(&args.columns_a).context("--columns-a")?;
    let map_b = ColumnMap::parse(&args.columns_b).context("--columns-b")?;
    let read = |path: &Path, map: &ColumnMap| -> anyhow::Result<Vec<Person>> {
        let raw = ridgeline_link::read_records(path, map)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Ok(raw.into_par_iter().map(Person::prepare).collect())
    };
    let a = read(&args.a, &map_a)?;
    let b = read(&args.b, &map_b)?;
    let read_s = started.elapsed().as_secs_f64();
    let mut config = LinkConfig { threshold: args.threshold, ..LinkConfig::default() };
    config.fingerprint.match_fmr = args.print_fmr;
    let with_prints =
        a.iter().any(|p| !p.prints.is_empty()) && b.iter().any(|p| !p.prints.is_empty());
    let prints = if with_prints {
        Some(Prints::load(&a, &b, &args, config.fingerprint.match_fmr)?)
    } else {
        None
    };
    let linkage =
        ridgeline_link::link(&a, &b, &config, prints.as_ref().map(|p| p as &dyn PrintEvidence))
            .context("linkage failed")?;
    write_links(&args.out, &a, &b, &linkage)?;
    let mut summary =
        summary(&a, &b, &linkage, prints.as_ref(), read_s, started.elapsed().as_secs_f64());
    // What `decide` needs to check a decisions file against this run and to reconcile: the
    // pairs on the page and the links file they belong to.
    let review = ridgeline_report::link::review_items(&linkage);
    let links_bytes = std::fs::read(&args.out)
        .with_context(|| format!("cannot read back {}", args.out.display()))?;
    summary["links_file"] = json!(args.out.display().to_string());
    summary["links_hash"] = json!(ridgeline_link::decisions::bytes_hash(&links_bytes));
    summary["review"] = ridgeline_report::link::review_json(&a, &b, &linkage, &review.items);
    let hash = ridgeline_link::decisions::report_hash(&summary);
    if let Some(path) = &args.report {
        ridgeline::private_files::write(path, format!("{summary}\n").as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(html) = &args.html {
        let source = crate::commands::link_report::PrintSource {
            base_a: args.a.parent().unwrap_or(Path::new(".")),
            base_b: args.b.parent().unwrap_or(Path::new(".")),
            dpi: args.dpi,
        };
        let matcher = Matcher::new();
        let mut draw = |pa: &Person, pb: &Person| {
            crate::commands::link_report::draw(&matcher, pa, pb, &source)
        };
        let page =
            ridgeline_report::link::page(&a, &b, &linkage, &review, &summary, &hash, &mut draw);
        // Owner-only: the page carries names, identity numbers and addresses.
        ridgeline_report::html::write(&page, html)?;
    }
    if args.json {
        println!("{summary}");
    } else {
        print_text(&summary);
    }
    Ok(())
}

fn write_links(path: &Path, a: &[Person], b: &[Person], linkage: &Linkage) -> anyhow::Result<()> {
    use std::io::Write;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    let write_err = || format!("cannot write {}", path.display());
    writeln!(w, "a_record_id,b_record_id,weight,posterior,evidence").with_context(write_err)?;
    for l in &linkage.links {
        writeln!(
            w,
            "{},{},{:.3},{:.6},{}",
            csv_field(&a[l.a as usize].record_id),
            csv_field(&b[l.b as usize].record_id),
            l.weight,
            l.posterior,
            l.evidence.name()
        )
        .with_context(write_err)?;
    }
    w.flush().with_context(write_err)
}

fn summary(
    a: &[Person],
    b: &[Person],
    linkage: &Linkage,
    prints: Option<&Prints>,
    read_s: f64,
    elapsed_s: f64,
) -> serde_json::Value {
    let mut linked_a = vec![0u32; a.len()];
    let mut linked_b = vec![0u32; b.len()];
    let mut evidence = [0usize; 3];
    for l in &linkage.links {
        linked_a[l.a as usize] += 1;
        linked_b[l.b as usize] += 1;
        evidence[match l.evidence {
            Evidence::Demographic => 0,
            Evidence::Fingerprint => 1,
            Evidence::Both => 2,
        }] += 1;
    }
    let quality = |people: &[Person]| {
        let count = |bit: u8| people.iter().filter(|p| p.flags & bit != 0).count();
        json!({
            "records": people.len(),
            "invalid_id_numbers": count(flags::INVALID_ID),
            "fifteen_digit_id_numbers": count(flags::FIFTEEN_DIGIT_ID),
            "missing_id_numbers": people.iter().filter(|p| p.id_number.is_none()).count(),
            "birth_date_differs_from_id_number": count(flags::BIRTH_DATE_CONFLICT),
            "sex_differs_from_id_number": count(flags::SEX_CONFLICT),
            "unreadable_birth_dates": count(flags::UNREADABLE_DATE),
            "unreadable_sex": count(flags::UNREADABLE_SEX),
            "with_prints": people.iter().filter(|p| !p.prints.is_empty()).count(),
        })
    };
    let model = &linkage.model;
    let fields: Vec<serde_json::Value> = FIELDS
        .iter()
        .enumerate()
        .map(|(f, name)| {
            let levels: Vec<serde_json::Value> = LEVEL_NAMES[f]
                .iter()
                .enumerate()
                .map(|(l, level)| {
                    json!({
                        "level": level,
                        "m": model.m[f][l],
                        "u": model.u[f][l],
                        "weight": model.field_weight(f, Some(l as u8)),
                    })
                })
                .collect();
            json!({"field": name, "levels": levels})
        })
        .collect();
    let conflicts: Vec<serde_json::Value> = linkage
        .conflicts
        .iter()
        .map(|c| {
            json!({
                "a_record_id": &*a[c.a as usize].record_id,
                "b_record_id": &*b[c.b as usize].record_id,
                "kind": c.kind,
                "print_fmr": c.print_fmr,
            })
        })
        .collect();
    let a_only = only(a, &linked_a);
    let b_only = only(b, &linked_b);
    let per_key: serde_json::Map<String, serde_json::Value> =
        linkage.candidates_per_key.iter().map(|(k, n)| (k.to_string(), json!(n))).collect();
    json!({
        "records_a": a.len(),
        "records_b": b.len(),
        "candidates": linkage.candidates,
        "candidates_per_key": per_key,
        "print_candidates": linkage.print_candidates,
        // The flag's own value names (clap's), so the summary names the search as it is asked for.
        "print_search": prints
            .and_then(|p| clap::ValueEnum::to_possible_value(&p.search))
            .map(|v| v.get_name().to_owned()),
        "links": linkage.links.len(),
        "linked_a": linked_a.iter().filter(|&&n| n > 0).count(),
        "linked_b": linked_b.iter().filter(|&&n| n > 0).count(),
        "a_records_with_several_links": linked_a.iter().filter(|&&n| n > 1).count(),
        "b_records_with_several_links": linked_b.iter().filter(|&&n| n > 1).count(),
        "evidence": {"demographic": evidence[0], "fingerprint": evidence[1], "both": evidence[2]},
        "a_only_count": a_only.len(),
        "b_only_count": b_only.len(),
        "a_only": a_only,
        "b_only": b_only,
        "conflicts": conflicts,
        "quality_a": quality(a),
        "quality_b": quality(b),
        "model": {
            "lambda": model.lambda,
            "prior_weight": model.prior_log2(),
            "fields": fields,
            "em": &linkage.em,
        },
        "timings": {
            "read_s": read_s,
            "compare_s": linkage.timings.compare_s,
            "estimate_s": linkage.timings.estimate_s,
            "score_s": linkage.timings.score_s,
        },
        "elapsed_s": elapsed_s,
    })
}

/// Record ids of the records without a link.
fn only<'a>(people: &'a [Person], linked: &[u32]) -> Vec<&'a str> {
    people.iter().zip(linked).filter(|(_, &n)| n == 0).map(|(p, _)| &*p.record_id).collect()
}

fn print_text(s: &serde_json::Value) {
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    println!(
        "{} links between {} records of A and {} of B ({} candidate pairs compared, {:.1} s)",
        n("links"),
        n("records_a"),
        n("records_b"),
        n("candidates"),
        s["elapsed_s"].as_f64().unwrap_or(0.0)
    );
    println!(
        "decided by demographics {}, fingerprints {}, both {}",
        s["evidence"]["demographic"], s["evidence"]["fingerprint"], s["evidence"]["both"]
    );
    println!(
        "A records not in B: {}; B records not in A: {}",
        n("a_only_count"),
        n("b_only_count")
    );
    let conflicts = s["conflicts"].as_array().map_or(0, Vec::len);
    if conflicts > 0 {
        println!("{conflicts} conflicts between prints and identity numbers need a clerk (see --json or --html)");
    }
    println!(
        "model: prior {:.1} bits; EM per blocking key: {}",
        s["model"]["prior_weight"].as_f64().unwrap_or(0.0),
        s["model"]["em"]
    );
}

/// Prints of both systems, prepared for matching.
struct Prints {
    matcher: Matcher,
    /// Per record of A: (finger, prepared template).
    a: Vec<Vec<(u8, MatchTemplate)>>,
    b: Vec<Vec<(u8, MatchTemplate)>>,
    match_fmr: f64,
    /// The search that ran (`auto` resolved).
    search: PrintSearch,
    /// Pairs the indexed search found matching (empty in the other modes).
    indexed_pairs: Vec<(u32, u32)>,
}

type SidePrints = Vec<Vec<(u8, Template)>>;

impl Prints {
    fn load(a: &[Person], b: &[Person], args: &Args, match_fmr: f64) -> anyhow::Result<Prints> {
        let with_prints = a.iter().chain(b).filter(|p| !p.prints.is_empty()).count();
        let reading = Progress::started("read prints", "records", with_prints as u64);
        let load_side = |people: &[Person], csv: &Path| -> anyhow::Result<SidePrints> {
            let base = csv.parent().unwrap_or(Path::new("."));
            people
                .par_iter()
                .map(|p| {
                    let prints = p
                        .prints
                        .iter()
                        .map(|print| {
                            let path = base.join(&print.path);
                            let loaded = crate::commands::compare::load_template(&path, args.dpi)
                                .with_context(|| format!("record {}", p.record_id))?;
                            Ok((print.finger, loaded.template))
                        })
                        .collect();
                    if !p.prints.is_empty() {
                        reading.inc(1);
                    }
                    prints
                })
                .collect()
        };
        let ta = load_side(a, &args.a)?;
        let tb = load_side(b, &args.b)?;
        reading.finish();
        let with_a = ta.iter().filter(|v| !v.is_empty()).count();
        let with_b = tb.iter().filter(|v| !v.is_empty()).count();
        let search = match args.print_search {
            PrintSearch::Auto if with_a.saturating_mul(with_b) <= MAX_PRINT_SEARCH_PAIRS => {
                PrintSearch::Exhaustive
            }
            PrintSearch::Auto => PrintSearch::Indexed,
            chosen => chosen,
        };
        let preparing = Progress::started("prepare prints", "records", with_prints as u64);
        let prepare = |side: &SidePrints| -> Vec<Vec<(u8, MatchTemplate)>> {
            side.par_iter()
                .map(|r| {
                    if !r.is_empty() {
                        preparing.inc(1);
                    }
                    r.iter().map(|(f, t)| (*f, MatchTemplate::prepare(t))).collect()
                })
                .collect()
        };
        let mut prints = Prints {
            matcher: Matcher::new(),
            a: prepare(&ta),
            b: prepare(&tb),
            match_fmr,
            search,
            indexed_pairs: Vec::new(),
        };
        preparing.finish();
        if search == PrintSearch::Indexed {
            let proposed = indexed_cross_pairs(&ta, &tb, match_fmr)
                .context("the indexed fingerprint search between the two systems failed")?;
            prints.indexed_pairs = proposed
                .into_iter()
                .filter(|&(i, j)| prints.pair_fmr(i, j).is_some_and(|f| f <= match_fmr))
                .collect();
        }
        Ok(prints)
    }
}

/// Record pairs (A, B) that the de-duplication's indexed search links across the two systems
/// at a per-pair false match rate of `match_fmr` or below: both systems' prints are enrolled in
/// one scratch gallery, sealed under a key that lives only in this process and removed
/// afterwards, and searched N:N as `dedup` does (candidates from the cylinder index, then the
/// precise comparison of every finger in common). Pairs within one system are dropped.
/// Templates with fewer minutiae than enrolment accepts take no part.
fn indexed_cross_pairs(
    a: &SidePrints,
    b: &SidePrints,
    match_fmr: f64,
) -> anyhow::Result<Vec<(u32, u32)>> {
    use ridgeline::dedup::GalleryPopulation;
    use ridgeline::dedup::{search, SearchConfig};
    use ridgeline::gallery::{Enrolment, GalleryKey, OpenOptions, MIN_ENROL_MINUTIAE};
    use ridgeline::{Gallery, SearchMode};

    let scratch = tempfile::Builder::new()
        .prefix("ridgeline-link-")
        .tempdir()
        .context("cannot create a scratch folder for the print search")?;
    let key = GalleryKey::generate()?;
    let options = OpenOptions::new().audit(false).key(key);
    let dir = scratch.path().join("gallery");
    let gallery = Gallery::create_with(&dir, &options)
        .with_context(|| format!("cannot create the scratch gallery {}", dir.display()))?;
    // Subject ids name the side and the row only: nothing personal enters the scratch gallery.
    let ids: Vec<(String, &Vec<(u8, Template)>)> = a
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("a{i}"), r))
        .chain(b.iter().enumerate().map(|(j, r)| (format!("b{j}"), r)))
        .filter(|(_, r)| !r.is_empty())
        .collect();
    let progress = Progress::started("index prints", "records", ids.len() as u64);
    for chunk in ids.chunks(ENROL_BATCH_RECORDS) {
        let batch: Vec<Enrolment<'_>> = chunk
            .iter()
            .flat_map(|(id, prints)| {
                prints.iter().filter(|(_, t)| t.minutiae.len() >= MIN_ENROL_MINUTIAE).map(
                    move |(finger, template)| Enrolment {
                        subject_id: id,
                        finger: *finger,
                        template,
                    },
                )
            })
            .collect();
        if !batch.is_empty() {
            gallery.enroll_batch(&batch)?;
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    let population =
        GalleryPopulation::new(&gallery, SearchMode::Indexed, &std::collections::HashMap::new())?;
    let records = population.infos().len();
    // The search's per-pair threshold is its per-search rate over the other records; asking
    // for `match_fmr` times their count gives the exhaustive search's per-pair threshold, as
    // long as that is a rate (beyond about 1 / match_fmr records, the threshold is 1 / N).
    let per_search = (match_fmr * records.saturating_sub(1).max(1) as f64).min(1.0);
    let config = SearchConfig { fmr_per_search: per_search, ..SearchConfig::default() };
    let progress = Progress::started("search prints", "records", records as u64);
    let outcome = search(
        &population,
        &config,
        0,
        None,
        &std::sync::atomic::AtomicBool::new(false),
        &mut |done, _| progress.set(done),
    )?;
    progress.finish();
    let side = |k: u32| -> Option<(bool, u32)> {
        let id = &population.infos().get(k as usize)?.record_id;
        let (first, row) = id.split_at(1);
        Some((first == "a", row.parse().ok()?))
    };
    let mut pairs = Vec::new();
    for pair in &outcome.pairs {
        if let (Some(x), Some(y)) = (side(pair.a), side(pair.b)) {
            match (x, y) {
                ((true, i), (false, j)) | ((false, j), (true, i)) => pairs.push((i, j)),
                _ => {}
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    Ok(pairs)
}

/// Records enrolled per commit of the scratch gallery.
const ENROL_BATCH_RECORDS: usize = 4096;

impl PrintEvidence for Prints {
    fn pair_fmr(&self, a: u32, b: u32) -> Option<f64> {
        let (pa, pb) = (&self.a[a as usize], &self.b[b as usize]);
        let mut fmrs = Vec::new();
        for (fa, ta) in pa {
            if let Some((_, tb)) = pb.iter().find(|(fb, _)| fb == fa) {
                let score = self.matcher.compare(ta.view(), tb.view());
                fmrs.push(calibration::fmr_for_score(score));
            }
        }
        (!fmrs.is_empty()).then(|| ridgeline::dedup::fused_fmr(&fmrs))
    }

    fn matching_pairs(&self) -> Vec<(u32, u32)> {
        match self.search {
            PrintSearch::Exhaustive => {}
            PrintSearch::Indexed => return self.indexed_pairs.clone(),
            PrintSearch::Auto | PrintSearch::Candidates => return Vec::new(),
        }
        (0..self.a.len() as u32)
            .into_par_iter()
            .filter(|&i| !self.a[i as usize].is_empty())
            .flat_map_iter(|i| {
                (0..self.b.len() as u32)
                    .filter(move |&j| self.pair_fmr(i, j).is_some_and(|f| f <= self.match_fmr))
                    .map(move |j| (i, j))
            })
            .collect()
    }
}

//! `ridgeline identify --gallery DIR (INPUT [--finger N] | --print N=PATH...) [--top K]
//! [--fmr F] [--exhaustive] [--json]`
//!
//! Identifies a person from one to ten prints (`--print N=PATH`, repeatable, finger position
//! and image or template), or from one INPUT whose position `--finger` gives (unknown, and so
//! compared with every finger, without it). Each finger is searched on its own and the
//! per-finger evidence fused per subject (`ridgeline::gallery::person`); the decision is made
//! at the false match rate per search `--fmr`, divided by the subjects searched.
//!
//! JSON: `candidates[{id, finger, score, fmr, match, fingers[{finger, probe_finger, score,
//! fmr}]}], searched, search_ms`: per candidate its fused false match rate (`fmr`), its fused
//! score on the calibrated scale (`score`; one finger's own score when one comparison is the
//! evidence), the finger position of its strongest evidence (`finger`) and the per-finger
//! evidence; the decision: `matched` (the subject id the probe is already registered as, or
//! null), `fmr_per_search`, the rate a match needed (`threshold_fmr`, = `fmr_per_search /
//! searched`) and its score (`match_threshold`); `searched` counts subjects, `records_searched`
//! the records of the per-finger searches; `compared` (precise comparisons made), `escalated`,
//! `mode`, `open_ms` and `index_ms` (mapping, or rebuilding where a sidecar is missing, the
//! coarse descriptors of the first search stage and reading the subject ids, which a one-shot
//! process pays before its first search; `search_ms` excludes it).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ridgeline::gallery::{Gallery, OpenMode, PersonSearchOptions, SearchMode};

use super::probe_input::{as_prints, load_prints, parse_prints, PrintArg};

/// Arguments of `ridgeline identify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gallery folder.
    #[arg(long)]
    pub gallery: PathBuf,
    /// Probe: a template file or a fingerprint image (of finger `--finger`).
    pub input: Option<PathBuf>,
    /// A probe print of one person as finger position (0–10) = image or template file;
    /// repeatable, up to ten.
    #[arg(long = "print", value_name = "N=PATH")]
    pub prints: Vec<String>,
    /// Number of candidates.
    #[arg(long = "top", default_value_t = 10)]
    pub top: usize,
    /// Finger position (0–10) of INPUT: only records of this position (and of unknown
    /// position 0) are compared with it.
    #[arg(long, requires = "input")]
    pub finger: Option<u8>,
    /// False match rate per search: the chance that a person who is not enrolled matches
    /// someone (the false positive identification rate). Divided by the subjects searched, it
    /// gives the fused rate a match needs.
    #[arg(long, default_value_t = 1e-4)]
    pub fmr: f64,
    /// Compare with every record instead of using the index (the reference).
    #[arg(long)]
    pub exhaustive: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Search what is readable when committed records cannot be read (a damaged gallery), and
    /// say so in the output (`partial`, `skipped_records`); without it such a search fails.
    #[arg(long)]
    pub allow_partial: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !(args.fmr > 0.0 && args.fmr < 1.0) {
        anyhow::bail!("--fmr must be between 0 and 1 (exclusive), not {}", args.fmr);
    }
    if let Some(f) = args.finger.filter(|&f| f > ridgeline::gallery::MAX_FINGER) {
        anyhow::bail!("--finger {f} is not a position 0-10");
    }
    let mut prints = parse_prints(&args.prints)?;
    if let Some(input) = &args.input {
        prints.push(PrintArg { finger: args.finger.unwrap_or(0), path: input.clone() });
    }
    if prints.is_empty() {
        anyhow::bail!("give a probe: INPUT, or --print N=PATH (repeatable)");
    }
    let loaded = load_prints(&prints)?;
    let start = Instant::now();
    let gallery = Gallery::open_with(&args.gallery, OpenMode::ReadOnly, &super::open_options())
        .with_context(|| format!("cannot open gallery {}", args.gallery.display()))?;
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let mode = if args.exhaustive { SearchMode::Exhaustive } else { SearchMode::Indexed };
    let start = Instant::now();
    if mode == SearchMode::Indexed {
        gallery.build_coarse();
    }
    gallery.subject_count()?;
    let index_ms = start.elapsed().as_secs_f64() * 1e3;
    let options = PersonSearchOptions {
        top_k: args.top.max(1),
        fmr_per_search: args.fmr,
        mode,
        allow_partial: args.allow_partial,
    };
    let start = Instant::now();
    let result = gallery.identify_person(&as_prints(&loaded), &options)?;
    let search_ms = start.elapsed().as_secs_f64() * 1e3;
    let threshold = result.match_threshold();
    let matched = result.matched();
    // A candidate's finger: the position of its strongest evidence.
    let finger_of = |c: &ridgeline::gallery::PersonCandidate| {
        c.fingers.iter().min_by(|a, b| a.fmr.total_cmp(&b.fmr)).map_or(0, |f| f.finger)
    };
    if args.json {
        let candidates: Vec<_> = result
            .candidates
            .iter()
            .enumerate()
            .map(|(rank, c)| {
                let fingers: Vec<_> = c
                    .fingers
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "finger": f.finger,
                            "probe_finger": f.probe_finger,
                            "score": f.score,
                            "fmr": f.fmr,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "id": c.subject_id,
                    "finger": finger_of(c),
                    "score": c.score,
                    "fmr": c.fmr,
                    // Only the best candidate can be the match: the decision is "who is it".
                    "match": rank == 0 && matched.is_some(),
                    "fingers": fingers,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "candidates": candidates,
                "searched": result.searched,
                "records_searched": result.records_searched,
                "search_ms": search_ms,
                "matched": matched.map(|c| &c.subject_id),
                "fmr_per_search": args.fmr,
                "threshold_fmr": result.threshold_fmr,
                "match_threshold": threshold,
                "compared": result.compared,
                "escalated": result.escalated,
                "mode": if args.exhaustive { "exhaustive" } else { "indexed" },
                "open_ms": open_ms,
                "index_ms": index_ms,
                "partial": result.partial(),
                "skipped_records": result.skipped_records,
            })
        );
    } else {
        if result.partial() {
            println!(
                "PARTIAL SEARCH: {} committed records could not be read and were skipped; \
                 \"no match\" does not mean not enrolled",
                result.skipped_records
            );
        }
        println!("rank  score     FMR       fingers (finger: score)           subject");
        for (rank, c) in result.candidates.iter().enumerate() {
            let fingers: Vec<String> =
                c.fingers.iter().map(|f| format!("{}: {:.4}", f.finger, f.score)).collect();
            println!(
                "{:>4}  {:<8.4}  {:<8.1e}  {:<32}  {}",
                rank + 1,
                c.score,
                c.fmr,
                fingers.join(", "),
                c.subject_id
            );
        }
        match matched {
            Some(c) => println!(
                "match: {} (fused FMR {:.1e} <= {:.1e}: {:.0e} per search over {} subjects; \
                 score {:.4} >= {threshold:.4})",
                c.subject_id, c.fmr, result.threshold_fmr, args.fmr, result.searched, c.score
            ),
            None => println!(
                "no match: no candidate reaches a fused FMR of {:.1e} ({:.0e} per search over {} \
                 subjects; score {threshold:.4})",
                result.threshold_fmr, args.fmr, result.searched
            ),
        }
        println!(
            "searched {} subjects ({} records over {} finger(s), {} compared precisely{}) in \
             {search_ms:.1} ms{}",
            result.searched,
            result.records_searched,
            loaded.len(),
            result.compared,
            if result.escalated { ", escalated: nothing matched in a short list" } else { "" },
            if mode == SearchMode::Indexed {
                format!(" (index ready in {index_ms:.0} ms)")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

//! `ridgeline identify --gallery DIR INPUT [--top K] [--finger N] [--fmr F] [--exhaustive]
//! [--json]`
//!
//! JSON: `candidates[{id, finger, score}], searched, search_ms`, plus for each candidate its
//! estimated false match rate per comparison (`fmr`) and whether it matches (`match`); the
//! decision: `matched` (the subject id the probe is already registered as, or null),
//! `fmr_per_search` and the score a match needed (`match_threshold`); `compared` (precise
//! comparisons made), `escalated`, `mode`, `open_ms` and `index_ms` (mapping, or rebuilding
//! where a sidecar is missing, the coarse descriptors of the first search stage, which a
//! one-shot process pays before its first search; `search_ms` excludes it).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ridgeline::gallery::{Gallery, OpenMode, SearchMode, SearchOptions};
use ridgeline::matcher::calibration::fmr_for_score;

use super::probe_input::load_template;

/// Arguments of `ridgeline identify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gallery folder.
    #[arg(long)]
    pub gallery: PathBuf,
    /// Probe: a template file or a fingerprint image.
    pub input: PathBuf,
    /// Number of candidates.
    #[arg(long = "top", default_value_t = 10)]
    pub top: usize,
    /// Only search records of this finger position (0–10).
    #[arg(long)]
    pub finger: Option<u8>,
    /// False match rate per search: the chance that a person who is not enrolled matches
    /// someone (the false positive identification rate). Divided by the records searched, it
    /// gives the per-comparison rate a match needs.
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
    let probe = load_template(&args.input)?;
    let start = Instant::now();
    let gallery = Gallery::open(&args.gallery, OpenMode::ReadOnly)
        .with_context(|| format!("cannot open gallery {}", args.gallery.display()))?;
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let mode = if args.exhaustive { SearchMode::Exhaustive } else { SearchMode::Indexed };
    let start = Instant::now();
    if mode == SearchMode::Indexed {
        gallery.build_index();
    }
    let index_ms = start.elapsed().as_secs_f64() * 1e3;
    let options = SearchOptions {
        allow_partial: args.allow_partial,
        ..SearchOptions::new(args.top.max(1), args.finger, mode)
    };
    let start = Instant::now();
    let result = gallery.identify(&probe, &options)?;
    let search_ms = start.elapsed().as_secs_f64() * 1e3;
    let threshold = result.match_threshold(args.fmr);
    let matched = result.matched(args.fmr);
    if args.json {
        let candidates: Vec<_> = result
            .candidates
            .iter()
            .enumerate()
            .map(|(rank, c)| {
                serde_json::json!({
                    "id": c.subject_id,
                    "finger": c.finger,
                    "score": c.score,
                    "fmr": fmr_for_score(c.score),
                    // Only the best candidate can be the match: the decision is "who is it".
                    "match": rank == 0 && matched.is_some(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "candidates": candidates,
                "searched": result.searched,
                "search_ms": search_ms,
                "matched": matched.map(|c| &c.subject_id),
                "fmr_per_search": args.fmr,
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
        println!("rank  score     FMR       finger  subject");
        for (rank, c) in result.candidates.iter().enumerate() {
            println!(
                "{:>4}  {:<8.4}  {:<8.1e}  {:>6}  {}",
                rank + 1,
                c.score,
                fmr_for_score(c.score),
                c.finger,
                c.subject_id
            );
        }
        match matched {
            Some(c) => println!(
                "match: {} (finger {}, score {:.4} >= {threshold:.4}, the score for a false \
                 match rate of {:.0e} per search)",
                c.subject_id, c.finger, c.score, args.fmr
            ),
            None => println!(
                "no match: no candidate reaches {threshold:.4}, the score for a false match rate \
                 of {:.0e} per search",
                args.fmr
            ),
        }
        println!(
            "searched {} records ({} compared precisely{}) in {search_ms:.1} ms{}",
            result.searched,
            result.compared,
            if result.escalated { ", escalated: nothing matched in the short list" } else { "" },
            if mode == SearchMode::Indexed {
                format!(" (index ready in {index_ms:.0} ms)")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}

//! `ridgeline link-eval LINKS.csv TRUTH.csv [--json]`: precision and recall of links against
//! ground truth (both files with `a_record_id,b_record_id` columns).

use std::path::PathBuf;

use anyhow::Context;

/// Arguments of `ridgeline link-eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Links written by `ridgeline link`.
    pub links: PathBuf,
    /// True pairs (e.g. `truth.csv` of `ridgeline synth-people`).
    pub truth: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let links = ridgeline_link::eval::read_pairs(&args.links)
        .with_context(|| format!("cannot read {}", args.links.display()))?;
    let truth = ridgeline_link::eval::read_pairs(&args.truth)
        .with_context(|| format!("cannot read {}", args.truth.display()))?;
    let s = ridgeline_link::eval::score(&links, &truth);
    if args.json {
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!(
            "precision {:.4} % ({} of {} links true), recall {:.4} % ({} of {} true pairs found), F1 {:.4}",
            s.precision * 100.0,
            s.true_positives,
            s.predicted,
            s.recall * 100.0,
            s.true_positives,
            s.truth,
            s.f1
        );
    }
    Ok(())
}

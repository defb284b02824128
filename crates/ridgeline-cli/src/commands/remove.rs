//! `ridgeline remove --gallery DIR --id ID`

use std::path::PathBuf;

use anyhow::Context;
use ridgeline::gallery::{OpenMode, Store};

/// Arguments of `ridgeline remove`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gallery folder.
    #[arg(long)]
    pub gallery: PathBuf,
    /// Subject to de-register (all its fingers).
    #[arg(long)]
    pub id: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open_with(&args.gallery, OpenMode::Writable, None, &super::open_options())
        .with_context(|| {
        format!("cannot open gallery {} for writing", args.gallery.display())
    })?;
    let removed = store.remove(&args.id)?;
    if args.json {
        println!("{}", serde_json::json!({ "id": args.id, "removed": removed }));
    } else {
        println!("removed {removed} record(s) of subject {:?}", args.id);
    }
    Ok(())
}

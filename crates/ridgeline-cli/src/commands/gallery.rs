//! `ridgeline gallery create|stats|verify|compact|audit|rekey DIR`, `gallery keygen FILE`

use std::path::PathBuf;

use anyhow::Context;
use ridgeline::gallery::{CompactOptions, Gallery, OpenMode, Store};

/// Arguments of `ridgeline gallery`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

/// What to do with the gallery.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Create an empty gallery in DIR (encrypted with `--key-file`).
    Create(DirArgs),
    /// Print record counts, sizes and segments.
    Stats(DirArgs),
    /// Read every file and check every checksum; exit code 1 if anything is damaged.
    Verify(DirArgs),
    /// Rewrite segments without deleted records and merge small segments; refuses to copy
    /// records that fail their checksums (see `--drop-damaged`).
    Compact(CompactArgs),
    /// Print the audit trail (who did what, when, to whom) and check its hash chain; exit
    /// code 1 with the first bad entry's index if the chain is broken.
    Audit(AuditArgs),
    /// Rewrite the whole gallery under a new key (encrypting a clear one): every segment,
    /// sidecar and the manifest, crash-safely (the old files stay valid until the new manifest
    /// commits), then erase the old files. The current key is `--key-file`.
    Rekey(RekeyArgs),
    /// Write a new random gallery key (64 hexadecimal characters) to FILE, owner-only.
    Keygen(KeygenArgs),
}

/// Arguments of `gallery rekey`.
#[derive(Debug, clap::Args)]
pub struct RekeyArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// The new key: 32 raw bytes or 64 hexadecimal characters.
    #[arg(long, value_name = "FILE")]
    pub new_key_file: PathBuf,
    /// Drop records that fail their checksums (listed) instead of refusing.
    #[arg(long)]
    pub drop_damaged: bool,
}

/// Arguments of `gallery keygen`.
#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// The key file to create (refused if it exists).
    pub file: PathBuf,
}

/// Arguments of `gallery audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// Only check the chain and print the summary, not the entries.
    #[arg(long)]
    pub verify: bool,
}

/// Arguments of `gallery compact`.
#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    #[command(flatten)]
    pub dir: DirArgs,
    /// Drop live records that fail their checksums, and segments that cannot be opened, and
    /// list each, instead of refusing.
    #[arg(long)]
    pub drop_damaged: bool,
    /// Overwrite the rewritten segments' files with zeros before removing them, so removed
    /// records' bytes are erased now (readers holding an older state then see them damaged).
    #[arg(long)]
    pub purge: bool,
}

/// The gallery folder, and output style.
#[derive(Debug, clap::Args)]
pub struct DirArgs {
    /// Gallery folder.
    pub dir: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Create(a) => {
            let key_id = super::key().map(|k| k.id_hex());
            Gallery::create_with(&a.dir, &super::open_options())
                .with_context(|| format!("cannot create a gallery in {}", a.dir.display()))?;
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "created": a.dir,
                        "encrypted": key_id.is_some(),
                        "key_id": key_id,
                    })
                );
            } else if let Some(id) = key_id {
                println!("created empty encrypted gallery {} (key id {id})", a.dir.display());
            } else {
                println!("created empty gallery {}", a.dir.display());
            }
        }
        Action::Stats(a) => {
            // The store alone: stats work even where the descriptors need another build.
            let store = Store::open_with(&a.dir, OpenMode::ReadOnly, None, &super::open_options())
                .with_context(|| format!("cannot open gallery {}", a.dir.display()))?;
            let s = store.snapshot().stats();
            let per_record = if s.live_records > 0 {
                s.segment_bytes as f64 / s.live_records as f64
            } else {
                0.0
            };
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "records": s.live_records,
                        "deleted": s.deleted_records,
                        "segments": s.segments,
                        "damaged_segments": s.damaged_segments,
                        "bytes": s.segment_bytes,
                        "bytes_per_record": per_record,
                        "generation": s.generation,
                        "descriptor_len": s.descriptor_len,
                        "descriptor_version": s.descriptor_version,
                        "encrypted": store.is_encrypted(),
                        "key_id": store.key().map(|k| k.id_hex()),
                    })
                );
            } else {
                println!("records            {}", s.live_records);
                println!("deleted (pending)  {}", s.deleted_records);
                println!("segments           {} ({} damaged)", s.segments, s.damaged_segments);
                println!("bytes on disk      {} ({per_record:.0} per record)", s.segment_bytes);
                println!("commit generation  {}", s.generation);
                println!(
                    "descriptors        format {}, {} bytes each",
                    s.descriptor_version, s.descriptor_len
                );
                match store.key() {
                    Some(k) => println!("encrypted          yes, key id {}", k.id_hex()),
                    None => println!("encrypted          no"),
                }
            }
        }
        Action::Verify(a) => {
            let store = Store::open_with(&a.dir, OpenMode::ReadOnly, None, &super::open_options())
                .with_context(|| format!("cannot open gallery {}", a.dir.display()))?;
            let report = store.snapshot().verify();
            if a.json {
                let problems: Vec<_> = report
                    .problems
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "file": p.path, "offset": p.offset, "message": p.message
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({
                        "ok": report.is_ok(),
                        "segments": report.segments,
                        "records": report.records,
                        "problems": problems,
                    })
                );
            } else {
                for p in &report.problems {
                    println!("DAMAGED {p}");
                }
                println!(
                    "checked {} segments, {} records: {}",
                    report.segments,
                    report.records,
                    if report.is_ok() {
                        "ok".to_string()
                    } else {
                        format!("{} problems", report.problems.len())
                    }
                );
            }
            if !report.is_ok() {
                anyhow::bail!("gallery {} is damaged", a.dir.display());
            }
        }
        Action::Compact(c) => {
            let a = &c.dir;
            let store = Store::open_with(&a.dir, OpenMode::Writable, None, &super::open_options())
                .with_context(|| format!("cannot open gallery {} for writing", a.dir.display()))?;
            let options = CompactOptions { drop_damaged: c.drop_damaged, purge: c.purge };
            let r = store.compact_with(options).context("compaction failed")?;
            let dropped: Vec<_> = r
                .damaged_dropped
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "segment": d.record.segment,
                        "index": d.record.index,
                        "id": d.subject_id,
                        "finger": d.finger,
                    })
                })
                .collect();
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "segments_before": r.segments_before,
                        "segments_after": r.segments_after,
                        "records_dropped": r.records_dropped,
                        "records_rewritten": r.records_rewritten,
                        "damaged_dropped": dropped,
                        "segments_dropped": r.segments_dropped.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                        "records_lost": r.records_lost,
                        "purged": r.purged,
                    })
                );
            } else {
                for d in &r.damaged_dropped {
                    match &d.subject_id {
                        Some(id) => println!(
                            "DROPPED damaged record of {id} (finger {}), segment {:#x} record {}",
                            d.finger.unwrap_or(0),
                            d.record.segment,
                            d.record.index
                        ),
                        None => println!(
                            "DROPPED damaged record with an unreadable id, segment {:#x} record {}",
                            d.record.segment, d.record.index
                        ),
                    }
                }
                for p in &r.segments_dropped {
                    println!("DROPPED unreadable segment: {p}");
                }
                if r.records_lost > 0 {
                    println!("{} records of unreadable segments lost", r.records_lost);
                }
                println!(
                    "compacted: {} -> {} segments, {} deleted records dropped, {} rewritten{}",
                    r.segments_before,
                    r.segments_after,
                    r.records_dropped,
                    r.records_rewritten,
                    if r.purged { ", old files erased" } else { "" }
                );
            }
        }
        Action::Audit(a) => audit(&a)?,
        Action::Rekey(r) => rekey(&r)?,
        Action::Keygen(k) => {
            use std::io::Write;
            let key = ridgeline::gallery::GalleryKey::generate().context("no random key")?;
            let hex = key.to_hex();
            let mut file = ridgeline::private_files::create_file(&k.file, true)
                .with_context(|| format!("cannot create key file {}", k.file.display()))?;
            file.write_all(format!("{}\n", &*hex).as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write key file {}", k.file.display()))?;
            println!("wrote a new gallery key to {} (key id {})", k.file.display(), key.id_hex());
        }
    }
    Ok(())
}

/// `gallery rekey DIR --key-file OLD --new-key-file NEW`.
fn rekey(args: &RekeyArgs) -> anyhow::Result<()> {
    let a = &args.dir;
    let new_key = ridgeline::gallery::GalleryKey::read_file(&args.new_key_file)
        .with_context(|| format!("cannot read the new key file {}", args.new_key_file.display()))?;
    let new_id = new_key.id_hex();
    let gallery = Gallery::open_with(&a.dir, OpenMode::Writable, &super::open_options())
        .with_context(|| format!("cannot open gallery {} for writing", a.dir.display()))?;
    let old_id = gallery.store().key().map(|k| k.id_hex());
    let r = gallery.rekey(new_key, args.drop_damaged).context("rekeying failed")?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "old_key_id": old_id,
                "key_id": new_id,
                "records_rewritten": r.records_rewritten,
                "records_dropped": r.records_dropped,
                "damaged_dropped": r.damaged_dropped.len(),
                "segments_after": r.segments_after,
            })
        );
    } else {
        for d in &r.damaged_dropped {
            println!(
                "DROPPED damaged record, segment {:#x} record {}",
                d.record.segment, d.record.index
            );
        }
        println!(
            "rekeyed: {} records rewritten under key id {new_id} (was {}), {} deleted records \
             dropped, old files erased",
            r.records_rewritten,
            old_id.as_deref().unwrap_or("clear"),
            r.records_dropped
        );
    }
    Ok(())
}

/// `gallery audit DIR [--verify] [--json]`.
fn audit(args: &AuditArgs) -> anyhow::Result<()> {
    use ridgeline::gallery::audit;
    let dir = &args.dir.dir;
    if !dir.join(ridgeline::gallery::MANIFEST_FILE).exists() {
        anyhow::bail!("{} is not a gallery (it has no MANIFEST)", dir.display());
    }
    let report = audit::verify_with(dir, super::key().as_ref())
        .with_context(|| format!("cannot read the audit trail of {}", dir.display()))?;
    if args.dir.json {
        let entries: Vec<_> = if args.verify {
            Vec::new()
        } else {
            report
                .entries
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "sequence": e.sequence,
                        "time": e.time_utc(),
                        "time_ms": e.time_ms,
                        "generation": e.generation,
                        "operation": e.operation_name(),
                        "outcome": e.outcome_name(),
                        "operator": e.operator,
                        "subjects": e.subjects,
                        "detail": e.detail,
                        "digest": audit::hex(&e.digest),
                    })
                })
                .collect()
        };
        let problem = report.problem.as_ref().map(|p| {
            serde_json::json!({
                "index": p.index, "offset": p.offset, "torn": p.torn, "message": p.message
            })
        });
        let mut out = serde_json::json!({
            "ok": report.is_ok(),
            "entries_checked": report.entries.len(),
            "problem": problem,
        });
        if !args.verify {
            out["entries"] = serde_json::Value::Array(entries);
        }
        println!("{out}");
    } else {
        if !args.verify {
            for e in &report.entries {
                let generation = e.generation.map_or("-".to_string(), |g| g.to_string());
                println!(
                    "{:>6} {} gen {generation} {} {} operator={} subjects=[{}]{}",
                    e.sequence,
                    e.time_utc(),
                    e.operation_name(),
                    e.outcome_name(),
                    e.operator.as_deref().unwrap_or("-"),
                    e.subjects.join(","),
                    if e.detail.is_empty() { String::new() } else { format!(" ({})", e.detail) }
                );
            }
        }
        match &report.problem {
            None => println!("audit trail: {} entries, chain ok", report.entries.len()),
            Some(p) => println!("BROKEN {p}"),
        }
    }
    if let Some(p) = &report.problem {
        let what = if p.torn { "has a torn last entry" } else { "is broken" };
        anyhow::bail!("the audit trail of {} {what} at entry {}", dir.display(), p.index);
    }
    Ok(())
}

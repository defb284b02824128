//! `ridgeline dedup --key-file`: the work folder (its enrolled gallery) and the checkpoint of a
//! run killed part-way hold no record id and no template bytes; `--resume` without the key or
//! with another key is exit 1 and leaves both as they were; with the key it carries on, and a
//! successful run removes them. Synthetic templates (fixed seed).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::PopulationRecord;

const SEED: u64 = 2525;
/// People, two fingers each: with the planted duplicates a little over two blocks of 512, so
/// that a checkpoint exists well before the search ends.
const PEOPLE: u64 = 1100;
const DUPLICATE_EVERY: u64 = 25;
const KILL_POINT_TIMEOUT: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_millis(5);

fn record_id(prefix: char, person: u64) -> String {
    format!("{prefix}SEALED{person:05}ID")
}

/// Writes the population's templates and manifest; returns the manifest and every record id.
fn write_population(dir: &Path) -> (PathBuf, Vec<String>) {
    let mut manifest = String::from("record_id,person_id,name,finger,path\n");
    let mut ids = Vec::new();
    let mut add = |record: String, person: u64, impression: u32| {
        let name = format!("Person {person}");
        let r =
            PopulationRecord { record: &record, person, person_id: "", name: &name, impression };
        common::add_record(dir, &mut manifest, SEED, &r);
        ids.push(record);
    };
    for person in 0..PEOPLE {
        add(record_id('R', person), person, 1);
    }
    for person in (0..PEOPLE).step_by(DUPLICATE_EVERY as usize) {
        add(record_id('D', person), person, 2);
    }
    let path = dir.join("manifest.csv");
    std::fs::write(&path, manifest).expect("write manifest");
    (path, ids)
}

fn dedup(manifest: &Path, out: &Path, key: Option<&Path>, resume: bool) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ridgeline"));
    command
        .env_remove("RIDGELINE_KEY_FILE")
        .env_remove("RIDGELINE_OPERATOR")
        .args(["dedup", "--checkpoint-seconds", "0", "--input"])
        .arg(manifest)
        .arg("--out")
        .arg(out);
    if let Some(k) = key {
        command.arg("--key-file").arg(k);
    }
    if resume {
        command.arg("--resume");
    }
    command
}

/// Runs until the checkpoint exists, then kills the run with SIGKILL.
fn kill_once_checkpointed(mut command: Command, checkpoint: &Path) {
    let mut child: Child =
        command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("starts");
    let started = Instant::now();
    while !checkpoint.exists() {
        if let Some(status) = child.try_wait().expect("polls") {
            panic!("the run ended ({status}) before its first checkpoint");
        }
        assert!(started.elapsed() < KILL_POINT_TIMEOUT, "no checkpoint");
        std::thread::sleep(POLL);
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

/// Every file under `path` (or `path` itself), with its bytes.
fn files(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    if path.is_file() {
        return vec![(path.to_path_buf(), std::fs::read(path).expect("read"))];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).expect("read dir") {
        out.extend(files(&entry.expect("entry").path()));
    }
    out.sort();
    out
}

/// Where a run left on disk what names or describes a person: a record id (they all contain
/// `SEALED`), or any 16-byte slice of a template's native bytes or of its prepared descriptor
/// (every seventh record's, looked up by hash so that the scan is linear in the bytes).
fn personal_bytes_found(on_disk: &[(PathBuf, Vec<u8>)], ids: &[String], dir: &Path) -> Vec<String> {
    let mut needles: HashMap<[u8; 16], String> = HashMap::new();
    for id in ids.iter().step_by(7) {
        for position in [2, 7] {
            let file = dir.join(format!("{id}_{position}.rlt"));
            let native = std::fs::read(&file).expect("template");
            let template = ridgeline::Template::from_native_bytes(&native).expect("decodes");
            let middle = native.len() / 2;
            let slice = |b: &[u8]| <[u8; 16]>::try_from(b).expect("16 bytes");
            needles.insert(slice(&native[middle..middle + 16]), format!("{id} template"));
            let prepared = ridgeline::matcher::MatchTemplate::prepare(&template);
            needles.insert(slice(&prepared.as_bytes()[64..80]), format!("{id} descriptor"));
        }
    }
    let mut found = Vec::new();
    for (path, bytes) in on_disk {
        if bytes.windows(6).any(|w| w == b"SEALED") {
            found.push(format!("{} holds a record id", path.display()));
        }
        for w in bytes.windows(16) {
            if let Some(what) = needles.get(w) {
                found.push(format!("{} holds {what}", path.display()));
            }
        }
    }
    found
}

fn refused(output: &Output, says: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(says), "{stderr}");
    assert!(!stderr.contains("SEALED"), "no record id on stderr: {stderr}");
}

#[test]
fn a_keyed_dedup_leaves_nothing_personal_in_clear_and_resumes_only_with_its_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (manifest, ids) = write_population(dir.path());
    let (k1, k2) = (dir.path().join("k1"), dir.path().join("k2"));
    std::fs::write(&k1, [0x31u8; 32]).expect("write key");
    std::fs::write(&k2, "c4".repeat(32)).expect("write key");

    // A run without a key leaves its ids and templates in clear: the scan can fail.
    let clear_out = dir.path().join("clear.json");
    let clear_checkpoint = dir.path().join("clear.json.checkpoint");
    kill_once_checkpointed(dedup(&manifest, &clear_out, None, false), &clear_checkpoint);
    let clear_files = files(&dir.path().join("clear.json.work"));
    let found = personal_bytes_found(&clear_files, &ids, dir.path());
    assert!(found.iter().any(|f| f.ends_with("template")), "{found:?}");
    assert!(found.iter().any(|f| f.ends_with("descriptor")), "{found:?}");
    assert!(found.iter().any(|f| f.ends_with("a record id")), "{found:?}");

    let out = dir.path().join("sealed.json");
    let checkpoint = dir.path().join("sealed.json.checkpoint");
    let work = dir.path().join("sealed.json.work");
    kill_once_checkpointed(dedup(&manifest, &out, Some(&k1), false), &checkpoint);
    let mut on_disk = files(&work);
    on_disk.extend(files(&checkpoint));
    assert!(on_disk.iter().any(|(p, _)| p.extension().is_some_and(|e| e == "seg")));
    let found = personal_bytes_found(&on_disk, &ids, dir.path());
    assert!(found.is_empty(), "{found:?}");
    let saved = ridgeline::dedup::Checkpoint::read_with(
        &checkpoint,
        Some(&ridgeline::gallery::GalleryKey::read_file(&k1).expect("key")),
    )
    .expect("the checkpoint opens with its key");
    assert!(saved.next_record > 0);

    // Without the key, or with another, the resume is refused and nothing is touched.
    let before = files(dir.path());
    refused(&dedup(&manifest, &out, None, true).output().expect("runs"), "give its key");
    refused(&dedup(&manifest, &out, Some(&k2), true).output().expect("runs"), "wrong key");
    // With no checkpoint yet, the finished work gallery is what the key must open.
    let aside = dir.path().join("checkpoint.aside");
    std::fs::rename(&checkpoint, &aside).expect("move");
    refused(&dedup(&manifest, &out, Some(&k2), true).output().expect("runs"), "wrong key");
    refused(&dedup(&manifest, &out, None, true).output().expect("runs"), "give its key");
    std::fs::rename(&aside, &checkpoint).expect("move back");
    assert!(files(dir.path()) == before, "a refused resume changed a file");

    // With the key it carries on from the checkpoint, and removes the work folder and the
    // checkpoint once the report is written.
    let resumed = dedup(&manifest, &out, Some(&k1), true).output().expect("runs");
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("report")).expect("JSON");
    assert_eq!(report["stats"]["resumed_from_record"], saved.next_record);
    let planted = PEOPLE / DUPLICATE_EVERY;
    let linked = report["stats"]["duplicate_pairs"].as_u64().expect("duplicate_pairs");
    assert!(linked >= planted / 2, "{linked} of {planted} planted pairs");
    assert!(!work.exists(), "work folder removed after a successful run");
    assert!(!checkpoint.exists(), "checkpoint removed after a successful run");
}

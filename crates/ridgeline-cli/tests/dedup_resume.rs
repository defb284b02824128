//! `ridgeline dedup` killed part-way and resumed: the final report equals that of an
//! uninterrupted run, and no record pair is compared twice.
//!
//! The binary is killed with SIGKILL (no chance to write a last checkpoint) at several points
//! of one job: during enrolment, and after the checkpoint shows the search past a given record.
//! Each kill waits for that state by polling the files the run writes, not for a fixed time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ridgeline::dedup::Checkpoint;

mod common;
use common::PopulationRecord;

const SEED: u64 = 4242;
/// People, two fingers each; with the planted duplicates a little over three blocks of 512.
const PEOPLE: u64 = 1500;
/// Every so many people get a second, re-captured record, listed at the end of the manifest so
/// that their pairs span checkpoints.
const DUPLICATE_EVERY: u64 = 25;
/// The search is killed once the checkpoint shows at least this many records searched.
const KILL_AFTER_RECORDS: [u64; 2] = [512, 1024];
/// Report statistics that measure time, or say that the run was resumed.
const RUN_DEPENDENT_STATS: [&str; 5] = [
    "search_seconds",
    "pairs_compared_per_second",
    "ms_per_record",
    "total_seconds",
    "resumed_from_record",
];
/// Longest wait for a run to reach a kill point (a loaded machine is slow, not stuck).
const KILL_POINT_TIMEOUT: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_millis(5);

/// Writes the people's templates as `.rlt` files and the manifest, and returns its path.
fn write_population(dir: &Path) -> PathBuf {
    let mut manifest = String::from("record_id,person_id,name,finger,path\n");
    let mut add = |record: &str, person: u64, impression: u32| {
        let name = format!("Person {person}");
        let r = PopulationRecord { record, person, person_id: "", name: &name, impression };
        common::add_record(dir, &mut manifest, SEED, &r);
    };
    for person in 0..PEOPLE {
        add(&format!("R{person:05}"), person, 1);
    }
    for person in (0..PEOPLE).step_by(DUPLICATE_EVERY as usize) {
        add(&format!("D{person:05}"), person, 2);
    }
    let path = dir.join("manifest.csv");
    std::fs::write(&path, manifest).expect("write manifest");
    path
}

fn dedup(manifest: &Path, out: &Path, resume: bool) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ridgeline"));
    command
        .args(["dedup", "--checkpoint-seconds", "0", "--input"])
        .arg(manifest)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if resume {
        command.arg("--resume");
    }
    command
}

/// Polls until `reached` holds, then kills the child with SIGKILL. Panics if the run ends first.
fn kill_when(child: &mut Child, what: &str, reached: impl Fn() -> bool) {
    let started = Instant::now();
    while !reached() {
        if let Some(status) = child.try_wait().expect("polls the child") {
            panic!("the run ended ({status}) before {what}: make the population larger");
        }
        assert!(started.elapsed() < KILL_POINT_TIMEOUT, "no {what} after {KILL_POINT_TIMEOUT:?}");
        std::thread::sleep(POLL);
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

fn report_without_run_stats(path: &Path) -> serde_json::Value {
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("report written")).expect("JSON");
    let stats = report["stats"].as_object_mut().expect("stats object");
    for key in RUN_DEPENDENT_STATS {
        assert!(stats.remove(key).is_some(), "stats.{key} present");
    }
    report
}

#[test]
fn killed_and_resumed_run_reports_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = write_population(dir.path());

    let reference_path = dir.path().join("reference.json");
    let status = dedup(&manifest, &reference_path, false).status().expect("runs");
    assert!(status.success(), "uninterrupted run: {status}");
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&reference_path).expect("report")).expect("JSON");
    let planted = (PEOPLE / DUPLICATE_EVERY) as usize;
    let linked = reference["stats"]["duplicate_pairs"].as_u64().expect("duplicate_pairs") as usize;
    assert!(linked >= planted / 2, "{linked} pairs linked of {planted} planted: nothing to lose");

    let out = dir.path().join("resumed.json");
    let checkpoint = dir.path().join("resumed.json.checkpoint");
    let gallery = dir.path().join("resumed.json.work").join("gallery");

    // Killed while enrolling: the resumed run enrols again and starts the search afresh.
    let mut child = dedup(&manifest, &out, false).spawn().expect("starts");
    kill_when(&mut child, "enrolment started", || gallery.exists());
    assert!(!checkpoint.exists(), "killed before the search");

    // Killed during the search, each time once this run's own checkpoint is past a record.
    let searched = || Checkpoint::read(&checkpoint).map_or(0, |c| c.next_record);
    for kill_after in KILL_AFTER_RECORDS {
        let before = searched();
        let mut child = dedup(&manifest, &out, true).spawn().expect("starts");
        kill_when(&mut child, &format!("a checkpoint past record {kill_after}"), || {
            let now = searched();
            now > before && now >= kill_after
        });
        assert!(!out.exists(), "no report from a killed run");
    }
    let resumed_from = searched();
    assert!(resumed_from >= KILL_AFTER_RECORDS[1], "checkpoint at {resumed_from}");

    let status = dedup(&manifest, &out, true).status().expect("runs");
    assert!(status.success(), "resumed run: {status}");
    let resumed_raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("report")).expect("JSON");
    assert_eq!(resumed_raw["stats"]["resumed_from_record"], resumed_from, "it did resume");
    assert!(!checkpoint.exists(), "checkpoint removed after the report");
    // Everything else equal, including `pairs_compared`: nothing was compared twice.
    let (resumed, reference) =
        (report_without_run_stats(&out), report_without_run_stats(&reference_path));
    assert_eq!(resumed["stats"], reference["stats"]);
    assert_eq!(resumed, reference);
}

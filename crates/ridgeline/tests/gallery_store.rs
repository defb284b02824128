//! Gallery storage under crashes and concurrency (issue #6), with real files, fsync and real
//! processes.
//!
//! The crash test re-executes this test binary as a child that enrols batches (and compacts
//! now and then) in a loop, printing `committed N` after each commit returns; the parent kills
//! it with SIGKILL after a random delay (fixed seed), reopens the gallery and checks it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ridgeline::gallery::{DescriptorLayout, NewRecord, OpenMode, Store};

const LAYOUT: DescriptorLayout = DescriptorLayout { len: 64, version: 1 };
const CHILD_ENV: &str = "RIDGELINE_GALLERY_CRASH_CHILD";
const KILLS: usize = 60;

/// SplitMix64: a small deterministic generator for test data and kill timings.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn batch_size(batch: u64) -> usize {
    1 + (batch as usize * 7) % 13
}

/// Record `j` of batch `b`, fully determined by (b, j).
fn record(batch: u64, j: usize) -> NewRecord {
    let mut rng = SplitMix(batch << 16 | j as u64);
    let template_len = 40 + (rng.next() % 400) as usize;
    NewRecord {
        subject_id: format!("b{batch}-r{j}"),
        finger: 1 + (j % 10) as u8,
        template: (0..template_len).map(|_| rng.next() as u8).collect(),
        descriptor: (0..LAYOUT.len).map(|_| rng.next() as u8).collect(),
    }
}

fn batch(b: u64) -> Vec<NewRecord> {
    (0..batch_size(b)).map(|j| record(b, j)).collect()
}

/// Runs only as the re-executed child: enrols batches from `start` on until killed.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let start: u64 = std::env::var("START_BATCH").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let store = Store::open(Path::new(&dir), OpenMode::Writable, Some(LAYOUT)).expect("open");
    for b in start.. {
        store.append(batch(b)).expect("append");
        println!("committed {b}");
        if b % 4 == 3 {
            store.compact().expect("compact");
        }
    }
}

/// Batches present in the gallery, each checked to be complete and byte-exact.
fn present_batches(dir: &Path) -> BTreeSet<u64> {
    let store = Store::open(dir, OpenMode::Writable, Some(LAYOUT)).expect("reopen after crash");
    let snap = store.snapshot();
    let report = snap.verify();
    assert!(report.is_ok(), "verify after crash: {:?}", report.problems);
    let mut by_batch: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for seg in snap.segments() {
        for i in 0..seg.segment().len() {
            let (id, _) = seg.segment().subject(i).expect("subject");
            let (b, j) = id
                .strip_prefix('b')
                .and_then(|s| s.split_once("-r"))
                .and_then(|(b, j)| Some((b.parse::<u64>().ok()?, j.parse::<usize>().ok()?)))
                .expect("id format");
            by_batch.entry(b).or_default().push(j);
            let expected = record(b, j);
            let got = snap.get(id).expect("get");
            assert_eq!(got.len(), 1, "{id} stored once");
            assert_eq!(got[0].template, expected.template, "{id} template");
            assert_eq!(got[0].finger, expected.finger);
            assert_eq!(seg.segment().descriptor(i), Some(&expected.descriptor[..]), "{id}");
        }
    }
    for (b, mut js) in by_batch.clone() {
        js.sort_unstable();
        assert_eq!(js, (0..batch_size(b)).collect::<Vec<_>>(), "batch {b} is half there");
    }
    by_batch.into_keys().collect()
}

#[test]
fn sigkill_at_random_moments_leaves_the_last_commit_intact() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Store::create(dir.path(), LAYOUT).expect("create"));
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = SplitMix(0x5eed);
    let mut reported: BTreeSet<u64> = BTreeSet::new();
    let mut killed_mid_run = 0;
    for round in 0..KILLS {
        let present = present_batches(dir.path());
        assert!(reported.is_subset(&present), "round {round}: a reported commit is lost");
        let start = present.last().map_or(0, |b| b + 1);
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .env("START_BATCH", start.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        // Wait for the child's first commit (it may start slowly on a loaded machine), then
        // kill it at a random moment of its work.
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(b) = line.strip_prefix("committed ") {
                    let _ = tx.send(b.parse::<u64>().expect("batch number"));
                }
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(30));
        std::thread::sleep(Duration::from_micros(rng.next() % 30_000));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        if !status.success() {
            killed_mid_run += 1;
        }
        reader.join().expect("reader thread");
        reported.extend(first.ok());
        reported.extend(rx.try_iter());
    }
    let present = present_batches(dir.path());
    assert!(reported.is_subset(&present));
    assert!(killed_mid_run >= KILLS / 2, "the child must really be killed while running");
    assert!(reported.len() >= KILLS, "every round waits for at least one commit");
}

#[test]
fn readers_see_consistent_snapshots_while_a_writer_enrols_removes_and_compacts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::create(dir.path(), LAYOUT).expect("create"));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let store = store.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut checked = 0usize;
                while !done.load(Ordering::Relaxed) || checked == 0 {
                    let snap = store.snapshot();
                    // Every batch in a snapshot is complete (or completely removed).
                    let mut by_batch: BTreeMap<String, usize> = BTreeMap::new();
                    for seg in snap.segments() {
                        for i in 0..seg.segment().len() {
                            if seg.is_deleted(i) {
                                continue;
                            }
                            let (id, _) = seg.segment().subject(i).expect("subject");
                            let b = id.split_once("-r").expect("id").0.to_string();
                            *by_batch.entry(b).or_default() += 1;
                            let d = seg.segment().descriptor(i).expect("descriptor");
                            assert_eq!(d.len(), LAYOUT.len as usize);
                        }
                    }
                    for (b, n) in &by_batch {
                        let b: u64 = b[1..].parse().expect("batch");
                        assert_eq!(*n, batch_size(b), "batch {b} half visible");
                    }
                    assert_eq!(by_batch.values().sum::<usize>(), snap.len());
                    checked += 1;
                }
                checked
            })
        })
        .collect();
    for b in 0..60u64 {
        store.append(batch(b)).expect("append");
        if b % 3 == 2 {
            // Remove a whole earlier batch, subject by subject, in one go per subject; the
            // reader check counts per batch, so remove batches of size 1 only.
            let victim = (0..b)
                .find(|&v| batch_size(v) == 1 && store.snapshot().get(&format!("b{v}-r0")).is_ok());
            if let Some(v) = victim {
                store.remove(&format!("b{v}-r0")).expect("remove");
            }
        }
        if b % 10 == 9 {
            store.compact().expect("compact");
        }
    }
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().expect("reader thread") > 0);
    }
    assert!(store.snapshot().verify().is_ok());
}

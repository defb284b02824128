//! Gallery storage under crashes and concurrency, with real files, fsync and real
//! processes.
//!
//! The crash test re-executes this test binary as a child that enrols batches (and compacts
//! now and then) in a loop, reporting `committed N` on stderr after each commit returns; the
//! parent kills it with SIGKILL after a random delay (fixed seed), reopens the gallery and
//! checks it.
//!
//! The reports go to stderr because stdout is libtest's: before running a test it prints
//! `test crash_child ... ` without ending the line, so the first report of every child would
//! be glued to it and lost (that made 60 kills look like 64 unreported commits).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ridgeline::gallery::{DescriptorLayout, NewRecord, OpenMode, Store};

const LAYOUT: DescriptorLayout = DescriptorLayout { len: 64, version: 1 };
const CHILD_ENV: &str = "RIDGELINE_GALLERY_CRASH_CHILD";
/// Set (to anything) for a child that enrols into the encrypted gallery.
const SEALED_ENV: &str = "RIDGELINE_GALLERY_CRASH_SEALED";

/// Open options of the clear or the encrypted gallery (a fixed test key).
fn options(sealed: bool) -> ridgeline::gallery::OpenOptions {
    let options = ridgeline::gallery::OpenOptions::new();
    if !sealed {
        return options;
    }
    options.key(ridgeline::gallery::GalleryKey::from_bytes(&[0x5e; 32]).expect("key"))
}
const KILLS: usize = 60;
/// How long the parent waits for a child's first report (slow only on a loaded machine).
const FIRST_REPORT_TIMEOUT_SECS: u64 = 30;
/// Upper bound of the random delay between a child's first report and its SIGKILL.
const KILL_DELAY_MAX_MICROS: u64 = 30_000;
const REPORT_PREFIX: &str = "committed ";

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
        demographics: Vec::new(),
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
    let sealed = std::env::var_os(SEALED_ENV).is_some();
    let store = open_writable(Path::new(&dir), sealed).expect("open");
    let mut reports = std::io::stderr();
    for b in start.. {
        store.append(batch(b)).expect("append");
        // The whole line in one write(2): a pipe write this short is atomic, so the parent
        // sees a report complete (newline included) or not at all.
        reports.write_all(format!("{REPORT_PREFIX}{b}\n").as_bytes()).expect("report");
        if b % 4 == 3 {
            store.compact().expect("compact");
        }
    }
}

/// Opens the gallery for writing, waiting up to 10 s for a lock held a moment too long: the
/// tests of this binary run in parallel threads, and a child one thread is spawning holds a
/// copy of every descriptor of the process between its fork and its exec, the writer lock the
/// other thread holds for a moment (reopening after a kill) among them. On a loaded 2-core
/// machine that window is long enough for the other test's child to find the lock taken.
fn open_writable(dir: &Path, sealed: bool) -> ridgeline::Result<Store> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match Store::open_with(dir, OpenMode::Writable, Some(LAYOUT), &options(sealed)) {
            Err(ridgeline::Error::GalleryLocked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            opened => return opened,
        }
    }
}

/// Batches present in the gallery, each checked to be complete and byte-exact.
fn present_batches(dir: &Path, sealed: bool) -> BTreeSet<u64> {
    let store = open_writable(dir, sealed).expect("reopen after crash");
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

/// What one child run left behind: its reports in order, anything else it wrote on stderr,
/// and how it ended.
struct ChildRun {
    reports: Vec<u64>,
    other_output: Vec<String>,
    status: ExitStatus,
}

/// Runs a child from batch `start`, waits for its first report, then SIGKILLs it after
/// `delay`. Only whole lines count as reports: a line cut off by the kill is not one.
fn run_child_and_kill(
    exe: &Path,
    dir: &Path,
    start: u64,
    delay: Duration,
    sealed: bool,
) -> ChildRun {
    let mut command = Command::new(exe);
    if sealed {
        command.env(SEALED_ENV, "1");
    }
    let mut child = command
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .env("START_BATCH", start.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child");
    let stderr = child.stderr.take().expect("piped");
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut reports = Vec::new();
        let mut other_output = Vec::new();
        let mut input = BufReader::new(stderr);
        let mut line = Vec::new();
        while input.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            let text = String::from_utf8_lossy(&line).into_owned();
            line.clear();
            let Some(whole) = text.strip_suffix('\n') else {
                continue; // cut off by the kill: not a report (and not an error message)
            };
            match whole.strip_prefix(REPORT_PREFIX).and_then(|b| b.parse::<u64>().ok()) {
                Some(b) => {
                    reports.push(b);
                    // The parent stops listening after the first report; later sends may fail.
                    let _ = first_tx.send(());
                }
                None => other_output.push(text),
            }
        }
        (reports, other_output)
    });
    let first = first_rx.recv_timeout(Duration::from_secs(FIRST_REPORT_TIMEOUT_SECS));
    if first.is_ok() {
        std::thread::sleep(delay);
    }
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("wait");
    let (reports, other_output) = reader.join().expect("reader thread");
    assert!(
        first.is_ok(),
        "no commit reported within {FIRST_REPORT_TIMEOUT_SECS} s; child said {other_output:?}"
    );
    ChildRun { reports, other_output, status }
}

#[cfg(unix)]
fn killed_by_sigkill(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(9)
}

#[cfg(not(unix))]
fn killed_by_sigkill(status: ExitStatus) -> bool {
    !status.success()
}

/// Per kill, exactly: the batches present are `0..end` (none missing, none half there), the
/// child's reports are `start..start + r` in order, all present, and `end - start - r` is 0
/// or 1 — only the batch in flight can be committed without its report (killed between the
/// manifest rename and the report's write).
#[test]
fn sigkill_at_random_moments_leaves_the_last_commit_intact() {
    sigkill_rounds(false);
}

/// The same on an encrypted gallery: sealed segments, sidecars and manifest.
#[test]
fn sigkill_at_random_moments_leaves_the_last_commit_of_an_encrypted_gallery_intact() {
    sigkill_rounds(true);
}

fn sigkill_rounds(sealed: bool) {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Store::create_with(dir.path(), LAYOUT, &options(sealed)).expect("create"));
    let exe = std::env::current_exe().expect("test binary");
    let mut rng = SplitMix(0x5eed);
    let mut reported = 0usize;
    let mut unreported = 0usize;
    let mut present = present_batches(dir.path(), sealed);
    for round in 0..KILLS {
        let start = present.len() as u64;
        let delay = Duration::from_micros(rng.next() % KILL_DELAY_MAX_MICROS);
        let run = run_child_and_kill(&exe, dir.path(), start, delay, sealed);
        assert!(
            killed_by_sigkill(run.status) && run.other_output.is_empty(),
            "round {round}: the child must be running when killed; it ended {:?} saying {:?}",
            run.status,
            run.other_output
        );
        present = present_batches(dir.path(), sealed);
        let end = present.len() as u64;
        assert!(
            present.iter().copied().eq(0..end),
            "round {round}: batches present are not 0..{end}: {present:?}"
        );
        let r = run.reports.len() as u64;
        assert!(
            run.reports.iter().copied().eq(start..start + r),
            "round {round}: child from {start} reported {:?}",
            run.reports
        );
        assert!(
            start + r <= end,
            "round {round}: reported up to {} but present only up to {end}",
            start + r
        );
        assert!(
            end - start - r <= 1,
            "round {round}: {} batches committed unreported (from {start}, reported {r}, present up to {end})",
            end - start - r
        );
        reported += run.reports.len();
        unreported += (end - start - r) as usize;
    }
    eprintln!(
        "{KILLS} kills: {} batches present, {reported} reported, {unreported} committed in the \
         instant between the manifest rename and the report",
        present.len()
    );
    assert_eq!(present.len(), reported + unreported);
    assert!(unreported <= KILLS, "at most one unreported commit per kill");
    assert!(reported >= KILLS, "every round waits for at least one commit");

    // The audit trail survived the kills: the next append cuts off a torn last entry and
    // records the cut, commits whose entries were lost are recorded as recovered, and the
    // whole chain checks.
    let store = Store::open_with(dir.path(), OpenMode::Writable, Some(LAYOUT), &options(sealed))
        .expect("reopen");
    store.append(batch(present.len() as u64)).expect("append after the kills");
    let trail = ridgeline::gallery::audit::verify(dir.path()).expect("audit");
    assert!(trail.is_ok(), "audit trail after {KILLS} kills: {:?}", trail.problem);
    let count = |name: &str| trail.entries.iter().filter(|e| e.operation_name() == name).count();
    assert!(count("enrol") > present.len() / 2, "{} enrol entries", count("enrol"));
    eprintln!(
        "audit trail after the kills: {} entries, {} torn appends cut off, {} recoveries",
        trail.entries.len(),
        count("repair"),
        count("recovery")
    );
}

#[test]
fn readers_see_consistent_snapshots_while_a_writer_enrols_removes_and_compacts() {
    concurrent_readers(false);
}

/// The same on an encrypted gallery, where each new snapshot decrypts its new segments.
#[test]
fn readers_see_consistent_snapshots_of_an_encrypted_gallery() {
    concurrent_readers(true);
}

fn concurrent_readers(sealed: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::create_with(dir.path(), LAYOUT, &options(sealed)).expect("create"));
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

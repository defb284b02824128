//! Enrolment into a small file system until it is full: every enrolment reported committed is
//! found afterwards, `verify` and the audit trail's check pass, and the enrolments that hit the
//! full disk fail with a typed I/O error (no panic) and lose nothing that was committed.
//!
//! The small file system is a 1 MiB tmpfs: mounted directly where the test may mount (root),
//! otherwise inside a user and mount namespace of its own (`unshare -Urm`, unprivileged where
//! the kernel allows user namespaces), re-running this test there. Where neither works the test
//! prints `SKIPPED:` with the reason. `RIDGELINE_FULL_DISK_DIR` points it at a small file
//! system prepared by the caller instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use ridgeline::gallery::audit;
use ridgeline::gallery::{Gallery, OpenMode, SearchOptions};
use ridgeline::Error;
use ridgeline_synth::fixture::FixturePopulation;

const TEST_NAME: &str = "enrolment_until_the_disk_is_full_loses_nothing";
const DIR_VAR: &str = "RIDGELINE_FULL_DISK_DIR";
const TMPFS_SIZE: &str = "size=1m";
/// Space set aside at the start and freed once the disk is full, so that the checks
/// afterwards (searches append to the audit trail) have room.
const BALLAST_BYTES: usize = 128 * 1024;

#[test]
fn enrolment_until_the_disk_is_full_loses_nothing() {
    if let Some(dir) = std::env::var_os(DIR_VAR) {
        fill_and_check(Path::new(&dir));
        return;
    }
    let mount_point = tempfile::tempdir().expect("tempdir");
    let mp = mount_point.path();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", TMPFS_SIZE, "tmpfs"])
        .arg(mp)
        .output()
        .is_ok_and(|o| o.status.success());
    if mounted {
        let result = std::panic::catch_unwind(|| fill_and_check(mp));
        let _ = Command::new("umount").arg(mp).status();
        if let Err(panic) = result {
            std::panic::resume_unwind(panic);
        }
        return;
    }
    // Unprivileged: a tmpfs in a mount namespace of our own, this test re-run inside it.
    let exe = std::env::current_exe().expect("test binary");
    let script = format!(
        "mount -t tmpfs -o {TMPFS_SIZE} tmpfs \"$1\" && {DIR_VAR}=\"$1\" exec \"$0\" --exact {TEST_NAME} --nocapture --test-threads 1"
    );
    let inside =
        Command::new("unshare").args(["-Urm", "sh", "-c", &script]).arg(&exe).arg(mp).output();
    match inside {
        Ok(out) if out.status.success() => {
            print!("{}", String::from_utf8_lossy(&out.stdout));
        }
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("running 1 test") => panic!(
            "the test failed inside its mount namespace:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(out) => println!(
            "SKIPPED: no small file system to fill: mounting a tmpfs is not permitted here, \
             nor in a user namespace ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => println!(
            "SKIPPED: no small file system to fill: mounting a tmpfs is not permitted here and \
             unshare cannot run ({e})"
        ),
    }
}

fn is_disk_full(error: &Error) -> bool {
    match error {
        Error::Io { source, .. } => source.raw_os_error() == Some(libc::ENOSPC),
        // A change committed whose audit entry found no room: it says so.
        Error::AuditTrail { message, .. } => message.contains("is committed"),
        _ => false,
    }
}

fn fill_and_check(root: &Path) {
    let ballast: PathBuf = root.join("ballast");
    std::fs::write(&ballast, vec![1u8; BALLAST_BYTES]).expect("ballast");
    let dir = root.join("gallery");
    let gallery = Gallery::create(&dir).expect("create on the small file system");
    let pop = FixturePopulation::new(41);
    let mut committed: Vec<(String, u64)> = Vec::new();
    let mut failures = 0;
    // Singles, then pairs: a batch that does not fit must leave none of its records.
    let mut finger = 0u64;
    while failures < 6 {
        assert!(finger < 100_000, "the file system never filled up");
        let batch = if failures % 2 == 0 { 1 } else { 2 };
        let ids: Vec<String> = (0..batch).map(|k| format!("s{:05}", finger + k)).collect();
        let templates: Vec<_> = (0..batch).map(|k| pop.impression(finger + k, 0)).collect();
        let enrolments: Vec<_> = ids
            .iter()
            .zip(&templates)
            .map(|(id, t)| ridgeline::gallery::Enrolment { subject_id: id, finger: 1, template: t })
            .collect();
        match gallery.enroll_batch(&enrolments) {
            Ok(_) => committed.extend(ids.iter().cloned().zip(finger..)),
            Err(e) if is_disk_full(&e) => {
                if let Error::AuditTrail { .. } = e {
                    committed.extend(ids.iter().cloned().zip(finger..));
                }
                failures += 1;
            }
            Err(e) => panic!("enrolment {finger} failed with an unexpected error: {e}"),
        }
        finger += batch;
    }
    assert!(committed.len() > 10, "only {} enrolments fitted", committed.len());
    println!(
        "full disk: {} records committed, then {failures} enrolments refused for lack of space",
        committed.len()
    );
    // With the disk still full: the data reads back and checks.
    assert_eq!(gallery.len(), committed.len());
    assert!(gallery.verify().is_ok(), "{:?}", gallery.verify().problems);
    // A search whose audit entry finds no room hands out nothing, with a typed error (the
    // entry may also still fit in the trail's last block).
    let searched = gallery.identify(&pop.impression(0, 1), &SearchOptions::default());
    let searched_ok = match searched {
        Ok(_) => 1,
        Err(e) => {
            assert!(is_disk_full_or_audit(&e), "{e}");
            0
        }
    };
    drop(gallery);

    std::fs::remove_file(&ballast).expect("free the ballast");
    // The next writer cleans up after the failed enrolments and records any commit whose
    // entry found no room.
    let gallery = Gallery::open(&dir, OpenMode::Writable).expect("reopen");
    assert_eq!(gallery.len(), committed.len());
    let report = gallery.verify();
    assert!(report.is_ok(), "{:?}", report.problems);
    let trail = audit::verify(&dir).expect("audit");
    assert!(trail.is_ok(), "{:?}", trail.problem);
    let options = SearchOptions::new(1, None, ridgeline::gallery::SearchMode::Indexed);
    for (id, f) in &committed {
        let found = gallery.identify(&pop.impression(*f, 1), &options).expect("search");
        assert_eq!(found.candidates.first().map(|c| c.subject_id.as_str()), Some(id.as_str()));
    }
    let unexpected: Vec<String> = std::fs::read_dir(&dir)
        .expect("ls")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(unexpected.is_empty(), "left behind: {unexpected:?}");
    let trail = audit::verify(&dir).expect("audit");
    assert!(trail.is_ok(), "{:?}", trail.problem);
    let searches = trail.entries.iter().filter(|e| e.operation_name() == "identify").count();
    assert_eq!(searches, committed.len() + searched_ok);
}

fn is_disk_full_or_audit(error: &Error) -> bool {
    is_disk_full(error) || matches!(error, Error::AuditTrail { .. })
}

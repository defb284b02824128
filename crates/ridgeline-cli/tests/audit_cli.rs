//! `ridgeline gallery audit`: every command that changes or searches a gallery appends its
//! entry with the operator (`--operator` or `RIDGELINE_OPERATOR`); an edited entry or a torn
//! last entry fails `--verify` with the entry's index and no personal data on stderr; the next
//! command after a torn append goes on with a recorded repair. Synthetic templates (fixed seed).

use std::path::Path;
use std::process::{Command, Output};

fn ridgeline(args: &[&str], operator_env: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ridgeline"));
    command.args(args).env_remove("RIDGELINE_OPERATOR");
    if let Some(op) = operator_env {
        command.env("RIDGELINE_OPERATOR", op);
    }
    command.output().expect("run ridgeline")
}

fn ok(args: &[&str]) -> String {
    let out = ridgeline(args, None);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("one JSON object")
}

fn trail(g: &str) -> Vec<serde_json::Value> {
    let v = json(&ok(&["gallery", "audit", g, "--json"]));
    assert_eq!(v["ok"], true, "{v}");
    v["entries"].as_array().expect("entries").clone()
}

fn kinds(entries: &[serde_json::Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["operation"].as_str().unwrap_or("?"),
                e["outcome"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn every_command_is_recorded_and_damage_is_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t");
    let t_str = t.to_str().expect("utf-8");
    ok(&[
        "synth",
        "--out",
        t_str,
        "--fingers",
        "6",
        "--impressions",
        "2",
        "--templates-only",
        "--seed",
        "3",
    ]);
    let print = |pos: u8, finger: u32, imp: u32| {
        format!("{pos}={}", Path::new(t_str).join(format!("{finger}_{imp}.rlt")).display())
    };
    let gallery = dir.path().join("g");
    let g = gallery.to_str().expect("utf-8");
    ok(&["gallery", "create", g, "--operator", "admin"]);
    ok(&[
        "enroll",
        "--gallery",
        g,
        "--id",
        "P1",
        "--print",
        &print(1, 1, 1),
        "--operator",
        "clerk",
    ]);
    let refused =
        ridgeline(&["enroll", "--gallery", g, "--id", "P1", "--print", &print(1, 1, 1)], None);
    assert_eq!(refused.status.code(), Some(1));
    ok(&["enroll", "--gallery", g, "--id", "P1", "--print", &print(2, 2, 1), "--update"]);
    ok(&["enroll", "--gallery", g, "--id", "P3", "--print", &print(1, 3, 1)]);
    let out = ridgeline(
        &["identify", "--gallery", g, "--print", &print(1, 1, 2), "--json"],
        Some("desk"),
    );
    assert!(out.status.success());
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["matched"], "P1");
    ok(&["identify", "--gallery", g, "--print", &print(1, 5, 2)]);
    let report = dir.path().join("dups.json");
    ok(&["dedup", "--gallery", g, "--out", report.to_str().expect("utf-8")]);
    ok(&["remove", "--gallery", g, "--id", "P3"]);
    ok(&["gallery", "compact", g]);
    ok(&["remove", "--gallery", g, "--id", "P1"]);
    ok(&["gallery", "compact", g, "--purge"]);

    let entries = trail(g);
    assert_eq!(
        kinds(&entries),
        [
            "create:committed",
            "enrol_person:committed",
            "enrol_person:refused",
            "update:committed",
            "enrol_person:committed",
            "identify_person:matched",
            "identify_person:no_match",
            "dedup:listed",
            "remove:committed",
            "compact:committed",
            "remove:committed",
            "purge:committed",
        ]
    );
    let operators: Vec<&str> =
        entries.iter().map(|e| e["operator"].as_str().unwrap_or("-")).collect();
    assert_eq!(&operators[..3], ["admin", "clerk", "-"]);
    assert_eq!(operators[5], "desk", "from RIDGELINE_OPERATOR");
    assert_eq!(entries[5]["subjects"], serde_json::json!(["P1"]));
    assert_eq!(entries[2]["detail"], "1 refused: subject_exists");
    let text = ok(&["gallery", "audit", g]);
    assert!(text.contains("identify_person matched operator=desk subjects=[P1]"), "{text}");
    assert!(text.ends_with("audit trail: 12 entries, chain ok\n"), "{text}");

    // An edited entry: the subject of entry 5 changed without fixing the digests.
    let path = gallery.join("AUDIT");
    let good = std::fs::read(&path).expect("read");
    let offset = |i: usize| {
        let mut at = 16;
        for _ in 0..i {
            at += u32::from_le_bytes(good[at..at + 4].try_into().expect("4 bytes")) as usize;
        }
        at
    };
    let mut edited = good.clone();
    let at = offset(5);
    let id_at = at + 72 + "desk".len() + 1;
    assert_eq!(&edited[id_at..id_at + 2], b"P1");
    edited[id_at + 1] = b'9';
    std::fs::write(&path, &edited).expect("write");
    let out = ridgeline(&["gallery", "audit", g, "--verify"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is broken at entry 5"), "{stderr}");
    assert!(!stderr.contains("P1") && !stderr.contains("P9"), "no personal data: {stderr}");
    let v = json(&String::from_utf8_lossy(
        &ridgeline(&["gallery", "audit", g, "--verify", "--json"], None).stdout,
    ));
    assert_eq!(v["problem"]["index"], 5, "{v}");
    assert_eq!(v["entries_checked"], 5, "{v}");

    // A deleted entry.
    let mut deleted = good[..offset(3)].to_vec();
    deleted.extend_from_slice(&good[offset(4)..]);
    std::fs::write(&path, &deleted).expect("write");
    let v = json(&String::from_utf8_lossy(
        &ridgeline(&["gallery", "audit", g, "--verify", "--json"], None).stdout,
    ));
    assert_eq!(v["problem"]["index"], 3, "{v}");

    // A torn last entry: reported, then cut off and recorded by the next command.
    std::fs::write(&path, &good[..good.len() - 10]).expect("write");
    let out = ridgeline(&["gallery", "audit", g, "--verify"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("torn last entry at entry 11"));
    ok(&["identify", "--gallery", g, "--print", &print(1, 5, 2)]);
    // The torn entry was the purge's: its commit now has no entry, which verify reports until
    // the next writer records it.
    let v = json(&String::from_utf8_lossy(
        &ridgeline(&["gallery", "audit", g, "--verify", "--json"], None).stdout,
    ));
    assert!(v["problem"]["message"].as_str().is_some_and(|m| m.contains("missing")), "{v}");
    ok(&["gallery", "compact", g]);
    let entries = trail(g);
    assert_eq!(
        kinds(&entries[10..]),
        ["remove:committed", "repair:repaired", "identify_person:no_match", "recovery:committed"]
    );
}

#[test]
fn a_bad_operator_is_a_user_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = dir.path().join("g");
    let g = g.to_str().expect("utf-8");
    let out = ridgeline(&["gallery", "create", g, "--operator", &"x".repeat(300)], None);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!Path::new(g).exists(), "nothing created");
}

//! Encrypted galleries through the CLI: `gallery create --key-file`, every command with the
//! key (flag or `RIDGELINE_KEY_FILE`), a missing or wrong key is exit 1 with a clear message
//! and no result, `gallery rekey`, and no file of the gallery holds an id in clear. Synthetic
//! templates (fixed seed).

use std::path::Path;
use std::process::{Command, Output};

fn ridgeline(args: &[&str], key_env: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ridgeline"));
    command.args(args).env_remove("RIDGELINE_OPERATOR").env_remove("RIDGELINE_KEY_FILE");
    if let Some(k) = key_env {
        command.env("RIDGELINE_KEY_FILE", k);
    }
    command.output().expect("run ridgeline")
}

fn ok(args: &[&str]) -> String {
    let out = ridgeline(args, None);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(args: &[&str], key_env: Option<&Path>, says: &str) {
    let out = ridgeline(args, key_env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "no result on a refused key: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains(says), "{args:?}: {stderr}");
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("one JSON object")
}

#[test]
fn an_encrypted_gallery_through_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| p(name).to_str().expect("utf-8").to_string();
    ok(&[
        "synth",
        "--out",
        &s("t"),
        "--fingers",
        "4",
        "--impressions",
        "2",
        "--templates-only",
        "--seed",
        "5",
    ]);
    let print = |pos: u8, finger: u32, imp: u32| {
        format!("{pos}={}", p("t").join(format!("{finger}_{imp}.rlt")).display())
    };
    // Raw 32 bytes and 64 hex characters are both key files.
    std::fs::write(p("k1"), [0x11u8; 32]).expect("write");
    std::fs::write(p("k2"), format!("{}\n", "ab".repeat(32))).expect("write");
    std::fs::write(p("short"), [1u8; 31]).expect("write");
    let (g, k1, k2) = (s("g"), s("k1"), s("k2"));

    let created = json(&ok(&["gallery", "create", &g, "--key-file", &k1, "--json"]));
    assert_eq!(created["encrypted"], true);
    for (id, finger) in [("ENC-PERSON-1", 1), ("ENC-PERSON-2", 2), ("ENC-PERSON-3", 3)] {
        ok(&[
            "enroll",
            "--gallery",
            &g,
            "--key-file",
            &k1,
            "--id",
            id,
            "--print",
            &print(1, finger, 1),
        ]);
    }
    let found = ridgeline(
        &["identify", "--gallery", &g, "--print", &print(1, 2, 2), "--json"],
        Some(&p("k1")),
    );
    assert!(found.status.success(), "{}", String::from_utf8_lossy(&found.stderr));
    assert_eq!(json(&String::from_utf8_lossy(&found.stdout))["matched"], "ENC-PERSON-2");

    refused(&["identify", "--gallery", &g, "--print", &print(1, 2, 2)], None, "give its key");
    refused(
        &["identify", "--gallery", &g, "--print", &print(1, 2, 2), "--key-file", &k2],
        None,
        "wrong key",
    );
    refused(&["gallery", "stats", &g], Some(&p("k2")), "wrong key");
    refused(&["gallery", "verify", &g, "--key-file", &s("short")], None, "32 raw bytes or 64");
    refused(&["gallery", "verify", &g, "--key-file", &s("missing")], None, "key file");
    ok(&["gallery", "verify", &g, "--key-file", &k1]);
    let stats = json(&ok(&["gallery", "stats", &g, "--key-file", &k1, "--json"]));
    assert_eq!(stats["encrypted"], true);
    assert_eq!(stats["records"], 3);
    ok(&["remove", "--gallery", &g, "--id", "ENC-PERSON-3", "--key-file", &k1]);

    // A clear gallery given a key is refused too.
    ok(&["gallery", "create", &s("clear")]);
    refused(&["gallery", "stats", &s("clear"), "--key-file", &k1], None, "not encrypted");

    let r =
        json(&ok(&["gallery", "rekey", &g, "--key-file", &k1, "--new-key-file", &k2, "--json"]));
    assert_eq!(r["records_rewritten"], 2);
    assert_eq!(r["records_dropped"], 1);
    refused(&["gallery", "verify", &g, "--key-file", &k1], None, "wrong key");
    ok(&["gallery", "verify", &g, "--key-file", &k2]);
    let found =
        ok(&["identify", "--gallery", &g, "--print", &print(1, 1, 2), "--key-file", &k2, "--json"]);
    assert_eq!(json(&found)["matched"], "ENC-PERSON-1");

    for entry in std::fs::read_dir(&g).expect("read dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        assert!(!bytes.windows(11).any(|w| w == b"ENC-PERSON-"), "{} holds an id", path.display());
    }
    // The trail checks without the key, and names subjects with it (entries after the rekey
    // under the new key).
    let audit = json(&ok(&["gallery", "audit", &g, "--json"]));
    assert_eq!(audit["ok"], true, "{audit}");
    let text = ok(&["gallery", "audit", &g, "--key-file", &k2]);
    assert!(text.contains("key committed"), "{text}");
    let text = ok(&["gallery", "audit", &g, "--key-file", &k1]);
    assert!(text.contains("subjects=[ENC-PERSON-2]"), "{text}");
}

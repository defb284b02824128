//! Helpers shared by the CLI integration tests.

// Each test file compiles its own copy of this module and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `ridgeline` binary under test, to add arguments to.
pub fn ridgeline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ridgeline"))
}

/// Runs `ridgeline` with `args`.
pub fn run(args: &[&str]) -> Output {
    ridgeline().args(args).output().expect("run ridgeline")
}

/// Runs `ridgeline` with `args`, which must succeed; returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A user error: exit code 1, an `error:` line on stderr and no panic; returns stdout and
/// stderr.
pub fn user_error_output(args: &[&str]) -> (String, String) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(stderr.contains("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// A user error as [`user_error_output`]; returns stderr.
pub fn user_error(args: &[&str]) -> String {
    user_error_output(args).1
}

/// Parses one JSON object.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("one JSON object")
}

/// Runs `ridgeline` with `args`, which must succeed and print one JSON object.
pub fn ok_json(args: &[&str]) -> serde_json::Value {
    json(&ok(args))
}

/// A path as the `&str` argument the commands take.
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Writes synthetic fingers `fingers` (impression `impression`: synth-crate fingers `f + 1` of
/// `seed`) as native templates `f{f}_{impression}.rlt` in `dir`; returns their paths.
pub fn synth_templates(
    dir: &Path,
    seed: u64,
    fingers: std::ops::Range<u64>,
    impression: u32,
) -> Vec<PathBuf> {
    let config = ridgeline_synth::templates::TemplateConfig::default();
    fingers
        .map(|f| {
            let t = ridgeline_synth::templates::generate(seed, f + 1, impression, &config)
                .expect("synthetic template");
            let path = dir.join(format!("f{f}_{impression}.rlt"));
            std::fs::write(&path, t.to_native_bytes().expect("encodes")).expect("write");
            path
        })
        .collect()
}

/// A temporary folder with synthetic fingerprint images `<finger>_<impression>.png` in
/// `prints` and an empty gallery at `gallery`, both made through the CLI.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub prints: PathBuf,
    pub gallery: String,
}

/// [`Setup`] with `fingers` synthetic fingers of `impressions` impressions each (`seed`).
pub fn setup(fingers: u32, impressions: u32, seed: u64) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let prints = dir.path().join("prints");
    let (f, i, s) = (fingers.to_string(), impressions.to_string(), seed.to_string());
    ok(&["synth", "--out", path_str(&prints), "--fingers", &f, "--impressions", &i, "--seed", &s]);
    let gallery = path_str(&dir.path().join("gallery")).to_string();
    ok(&["gallery", "create", &gallery]);
    Setup { dir, prints, gallery }
}

/// One record of a synthetic population for `ridgeline dedup --input`. `person_id` and
/// `name` go into the CSV as given (quoted there if they need it).
pub struct PopulationRecord<'a> {
    pub record: &'a str,
    pub person: u64,
    pub person_id: &'a str,
    pub name: &'a str,
    pub impression: u32,
}

/// Writes fingers 2 and 7 of synthetic person `r.person` (impression `r.impression`:
/// synth-crate fingers `2·person + 1` and `2·person + 2` of `seed`) as `.rlt` files in `dir`
/// and appends their manifest lines.
pub fn add_record(dir: &Path, manifest: &mut String, seed: u64, r: &PopulationRecord<'_>) {
    let config = ridgeline_synth::templates::TemplateConfig::default();
    for (k, position) in [2u8, 7].into_iter().enumerate() {
        let template = ridgeline_synth::templates::generate(
            seed,
            r.person * 2 + k as u64 + 1,
            r.impression,
            &config,
        )
        .expect("synthetic template");
        let file = format!("{}_{position}.rlt", r.record);
        std::fs::write(dir.join(&file), template.to_native_bytes().expect("encodes"))
            .expect("write template");
        manifest.push_str(&format!("{},{},{},{position},{file}\n", r.record, r.person_id, r.name));
    }
}

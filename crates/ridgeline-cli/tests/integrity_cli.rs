//! The gallery and de-duplication commands under damage and hostile input: a
//! damaged gallery fails searches by default and says so when a partial answer is asked for;
//! compaction does not launder damage; de-duplication finds duplicates in a population made
//! only of them and never resumes another job; inputs are checked before they are trusted;
//! what holds personal data is owner-only.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ok, path_str, run as ridgeline, synth_templates as templates, user_error};
use ridgeline::gallery::segment;

/// A gallery of 12 subjects enrolled from a manifest in two commits (two segments).
fn gallery(dir: &Path) -> (String, Vec<PathBuf>) {
    let g = dir.join("gallery");
    ok(&["gallery", "create", path_str(&g)]);
    let enrolled = templates(dir, 5, 0..12, 1);
    for (part, range) in [(0, 0..6), (1, 6..12)] {
        let mut csv = String::from("id,finger,path\n");
        for f in range {
            csv += &format!("person{f},1,{}\n", enrolled[f].display());
        }
        let manifest = dir.join(format!("enrol{part}.csv"));
        std::fs::write(&manifest, csv).expect("write");
        ok(&["enroll", "--gallery", path_str(&g), "--manifest", path_str(&manifest)]);
    }
    (g.to_str().expect("utf-8").to_string(), enrolled)
}

fn segments(gallery: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(gallery)
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    paths.sort();
    paths
}

fn flip_in_templates(segment_path: &Path, at: usize) {
    let mut bytes = std::fs::read(segment_path).expect("read");
    let o = segment::OFFSET_TEMPLATES_OFFSET;
    let templates = u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8")) as usize;
    bytes[templates + at] ^= 0x40;
    std::fs::write(segment_path, bytes).expect("write");
}

#[test]
fn compact_refuses_to_launder_damage_and_drops_it_only_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (g, _) = gallery(dir.path());
    flip_in_templates(&segments(&g)[0], 20);
    user_error(&["gallery", "verify", &g]);
    let stderr = user_error(&["gallery", "compact", &g]);
    assert!(stderr.contains("damaged"), "{stderr}");
    // Still reported as damaged: nothing was copied under fresh checksums.
    let out = ridgeline(&["gallery", "verify", &g]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_str(&ok(&["gallery", "compact", &g, "--drop-damaged", "--json"]))
            .expect("JSON");
    assert_eq!(report["damaged_dropped"][0]["id"], "person0", "{report}");
    assert_eq!(report["damaged_dropped"].as_array().map(Vec::len), Some(1));
    ok(&["gallery", "verify", &g]);
}

#[test]
fn a_damaged_gallery_fails_searches_unless_a_partial_search_is_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (g, enrolled) = gallery(dir.path());
    std::fs::remove_file(&segments(&g)[1]).expect("lose a segment");
    let probe = path_str(&enrolled[9]);
    let stderr = user_error(&["identify", "--gallery", &g, probe]);
    assert!(stderr.contains("6 committed record"), "{stderr}");
    user_error(&["identify", "--gallery", &g, probe, "--exhaustive", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&ok(&[
        "identify",
        "--gallery",
        &g,
        probe,
        "--json",
        "--allow-partial",
    ]))
    .expect("JSON");
    assert_eq!(v["partial"], true, "{v}");
    assert_eq!(v["skipped_records"], 6, "{v}");
    assert_eq!(v["searched"], 6, "{v}");
    let text = ok(&["identify", "--gallery", &g, probe, "--allow-partial"]);
    assert!(text.contains("PARTIAL SEARCH: 6 committed records"), "{text}");

    // De-duplication likewise.
    let out = dir.path().join("d.json");
    let stderr = user_error(&["dedup", "--gallery", &g, "--out", path_str(&out)]);
    assert!(stderr.contains("cannot be read"), "{stderr}");
    assert!(!out.exists());
    let summary: serde_json::Value = serde_json::from_str(&ok(&[
        "dedup",
        "--gallery",
        &g,
        "--out",
        path_str(&out),
        "--allow-partial",
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(summary["stats"]["partial"], true, "{summary}");
    assert_eq!(summary["stats"]["skipped_records"], 6, "{summary}");
    let csv = dir.path().join("d.csv");
    ok(&["dedup", "--gallery", &g, "--out", path_str(&csv), "--allow-partial"]);
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("partial,")), "{text}");
}

/// A manifest of records `R0..` whose finger 1 is the given files.
fn manifest(dir: &Path, name: &str, files: &[PathBuf]) -> PathBuf {
    let mut csv = String::from("record_id,person_id,name,finger,path\n");
    for (k, f) in files.iter().enumerate() {
        csv += &format!("R{k},,Person {k},1,{}\n", f.display());
    }
    let path = dir.join(name);
    std::fs::write(&path, csv).expect("write");
    path
}

fn pairs(report: &Path) -> Vec<(String, String)> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).expect("report")).expect("JSON");
    let mut pairs: Vec<(String, String)> = v["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .flat_map(|c| c["pairs"].as_array().into_iter().flatten())
        .map(|p| (p["a"].as_str().unwrap_or("").into(), p["b"].as_str().unwrap_or("").into()))
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn a_population_made_only_of_duplicates_finds_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two impressions of one finger.
    let mut two = templates(dir.path(), 9, 0..1, 1);
    two.extend(templates(dir.path(), 9, 0..1, 2));
    let m = manifest(dir.path(), "two.csv", &two);
    let out = dir.path().join("two.json");
    ok(&["dedup", "--input", path_str(&m), "--out", path_str(&out)]);
    assert_eq!(pairs(&out), vec![("R0".to_string(), "R1".to_string())]);
    // Seventeen copies of one finger: every record in one cluster.
    let copies = vec![two[0].clone(); 17];
    let m = manifest(dir.path(), "copies.csv", &copies);
    let out = dir.path().join("copies.json");
    ok(&["dedup", "--input", path_str(&m), "--out", path_str(&out)]);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out).expect("report")).expect("JSON");
    assert_eq!(v["clusters"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["clusters"][0]["records"].as_array().map(Vec::len), Some(17), "{v}");
}

#[test]
fn resume_never_reuses_the_work_of_another_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Job A: R0 and R1 are one finger (a duplicate pair). Job B: the same ids, but R1 is
    // another finger (no pair).
    let a = templates(dir.path(), 11, 0..1, 1);
    let a1 = templates(dir.path(), 11, 0..1, 2);
    let other = templates(dir.path(), 11, 5..6, 1);
    let job_a = manifest(dir.path(), "job.csv", &[a[0].clone(), a1[0].clone()]);
    let out = dir.path().join("report.json");
    ok(&["dedup", "--input", path_str(&job_a), "--out", path_str(&out)]);
    assert_eq!(pairs(&out).len(), 1);
    assert!(!dir.path().join("report.json.work").exists(), "work folder removed after success");
    // Job B under the same manifest path, same record ids, other file contents.
    std::fs::copy(&other[0], &a1[0]).expect("replace a file's contents");
    ok(&["dedup", "--input", path_str(&job_a), "--out", path_str(&out), "--resume"]);
    assert!(pairs(&out).is_empty(), "a stale gallery of job A was reused: {:?}", pairs(&out));
}

#[test]
fn inputs_are_checked_before_they_are_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A template with no minutiae is not enrolled.
    let g = dir.path().join("g");
    ok(&["gallery", "create", path_str(&g)]);
    let empty = ridgeline::Template {
        width: 300,
        height: 300,
        dpi: 500,
        quality: 50,
        minutiae: Vec::new(),
        singular_points: Vec::new(),
    };
    let empty_path = dir.path().join("empty.rlt");
    std::fs::write(&empty_path, empty.to_native_bytes().expect("encodes")).expect("write");
    let csv = dir.path().join("e.csv");
    std::fs::write(&csv, format!("id,finger,path\nnobody,1,{}\n", empty_path.display()))
        .expect("write");
    let stderr = user_error(&["enroll", "--gallery", path_str(&g), "--manifest", path_str(&csv)]);
    assert!(stderr.contains("minutiae"), "{stderr}");

    // A gallery is not created in a folder that holds anything.
    let busy = dir.path().join("busy");
    std::fs::create_dir(&busy).expect("mkdir");
    std::fs::write(busy.join("0000000000000001.seg"), b"not ours").expect("write");
    user_error(&["gallery", "create", path_str(&busy)]);
    assert_eq!(std::fs::read(busy.join("0000000000000001.seg")).expect("kept"), b"not ours");

    // An output path that is the input itself is refused, the input untouched.
    let image = dir.path().join("a.png");
    let prints = dir.path().join("prints");
    ok(&["synth", "--out", path_str(&prints), "--fingers", "1", "--impressions", "1"]);
    let first = std::fs::read_dir(&prints)
        .expect("ls")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|x| x == "png"))
        .expect("a png");
    std::fs::copy(&first, &image).expect("copy");
    let before = std::fs::read(&image).expect("read");
    user_error(&["extract", path_str(&image), "-o", path_str(&image)]);
    assert_eq!(std::fs::read(&image).expect("read"), before);

    // Endless and oversized inputs are refused without being read whole.
    if Path::new("/dev/zero").exists() {
        let stderr = user_error(&["extract", "/dev/zero"]);
        assert!(stderr.contains("larger than"), "{stderr}");
    }

    // An ISO template stating a resolution of 0 is read at 500 dpi, with a warning.
    let t = ridgeline::formats::decode_template(
        &std::fs::read(&templates(dir.path(), 3, 0..1, 1)[0]).expect("read"),
    )
    .expect("decodes");
    let mut iso = ridgeline::formats::encode_template(
        &t,
        ridgeline::formats::TemplateFormat::Iso19794_2_2005,
    )
    .expect("ISO");
    use ridgeline::formats::{ISO_OFFSET_RESOLUTION_X, ISO_OFFSET_RESOLUTION_Y};
    for at in [ISO_OFFSET_RESOLUTION_X, ISO_OFFSET_RESOLUTION_Y] {
        iso[at..at + 2].copy_from_slice(&[0, 0]);
    }
    let iso_path = dir.path().join("zero-dpi.iso");
    std::fs::write(&iso_path, iso).expect("write");
    let out = ridgeline(&["compare", path_str(&iso_path), path_str(&iso_path)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning:") && stderr.contains("resolution 0"), "{stderr}");

    // A bad argument value is a user error (1), not an internal one (2).
    user_error(&["identify", "--gallery", path_str(&g), path_str(&image), "--finger", "-1"]);
}

#[test]
fn csv_reports_neutralise_formulas_in_text_cells() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = templates(dir.path(), 13, 0..1, 1);
    let csv = format!(
        "record_id,person_id,name,finger,path\n=HYPERLINK(\"x\"),,@evil,1,{p}\n+A1,,-2+3,1,{p}\n",
        p = t[0].display()
    );
    let m = dir.path().join("m.csv");
    std::fs::write(&m, csv).expect("write");
    let out = dir.path().join("r.csv");
    ok(&["dedup", "--input", path_str(&m), "--out", path_str(&out)]);
    let report = std::fs::read_to_string(&out).expect("report");
    for line in report.lines().skip(1) {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            let formula = cell.starts_with(['=', '+', '@'])
                || (cell.starts_with('-') && cell.parse::<f64>().is_err());
            assert!(!formula, "a cell a spreadsheet would run: {cell:?} in {line}");
        }
    }
    assert!(report.contains("'=HYPERLINK") && report.contains("'@evil"), "{report}");
}

#[cfg(unix)]
#[test]
fn reports_work_folders_and_galleries_are_owner_only_under_a_permissive_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut two = templates(dir.path(), 17, 0..1, 1);
    two.extend(templates(dir.path(), 17, 0..1, 2));
    let m = manifest(dir.path(), "m.csv", &two);
    let (out, html, g) =
        (dir.path().join("r.json"), dir.path().join("r.html"), dir.path().join("g"));
    let script = format!(
        "umask 000 && {exe} dedup --input {m} --out {out} --html {html} && {exe} gallery create {g}",
        exe = env!("CARGO_BIN_EXE_ridgeline"),
        m = m.display(),
        out = out.display(),
        html = html.display(),
        g = g.display(),
    );
    let run = Command::new("sh").args(["-c", &script]).output().expect("sh");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o600);
    assert_eq!(mode(&html), 0o600);
    assert_eq!(mode(&g), 0o700);
    for entry in std::fs::read_dir(&g).expect("ls") {
        let path = entry.expect("entry").path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert!(!dir.path().join("r.json.work").exists());
}

//! `ridgeline decide`: a clerk's decisions applied to a de-duplication report over a gallery
//! (merges committed, fingers moved to the kept record) and to a link report (the reconciled
//! mapping); every kind of bad decisions file refused with exit code 1 and nothing changed;
//! and the adjudication page driven in headless Chromium, its exported file applied.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ridgeline::gallery::{Gallery, OpenMode};

const SEED: u64 = 91;

fn ridgeline(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ridgeline")).args(args).output().expect("runs")
}

fn run(args: &[&str]) -> Output {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    ridgeline(&args)
}

fn ok_json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn template(person: u64, finger: u64, impression: u32) -> ridgeline::Template {
    let config = ridgeline_synth::templates::TemplateConfig::default();
    ridgeline_synth::templates::generate(SEED, person * 10 + finger, impression, &config)
        .expect("synthetic template")
}

/// A gallery of 12 people with fingers 2 and 7, plus `D001` (person 1, finger 2 only, a copy)
/// and `D002` (person 2: fingers 2 and 7 copied, and finger 3 the kept record lacks).
fn gallery(dir: &Path) -> PathBuf {
    let path = dir.join("gallery");
    std::fs::create_dir(&path).expect("mkdir");
    let g = Gallery::create(&path).expect("create gallery");
    for person in 0..12u64 {
        for finger in [2u8, 7] {
            g.enroll(&format!("R{person:03}"), finger, &template(person, u64::from(finger), 1))
                .expect("enrol");
        }
    }
    g.enroll("D001", 2, &template(1, 2, 1)).expect("enrol");
    for finger in [2u8, 7, 3] {
        g.enroll("D002", finger, &template(2, u64::from(finger), 1)).expect("enrol");
    }
    path
}

/// Runs dedup over the gallery; the report, its page and the page's report hash.
fn dedup(dir: &Path, gallery: &Path) -> (PathBuf, String, String) {
    let report = dir.join("report.json");
    let html = dir.join("report.html");
    let out = run(&["dedup", "--gallery", s(gallery), "--out", s(&report), "--html", s(&html)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).expect("page");
    let start = page.find("data-report=\"").expect("page names its report") + 13;
    let hash = page[start..start + 16].to_string();
    (report, page, hash)
}

fn fingers(g: &Gallery, id: &str) -> BTreeSet<u8> {
    g.get(id).map(|rs| rs.iter().map(|r| r.finger).collect()).unwrap_or_default()
}

#[test]
fn dedup_decisions_merge_in_the_gallery_and_bad_files_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let g = gallery(d);
    let (report, page, hash) = dedup(d, &g);
    for id in ["R001~D001", "R002~D002"] {
        assert!(page.contains(&format!("data-cluster=\"{id}\"")), "cluster {id} on the page");
    }
    assert!(page.contains("<svg"), "prints drawn");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("report.html")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "page is owner-only");
    }
    let decisions = d.join("decisions.csv");
    let write = |body: &str| std::fs::write(&decisions, body).expect("write decisions");
    let decide = |extra: &[&str]| {
        let mut args = vec!["decide", s(&report), s(&decisions), "--json"];
        args.extend_from_slice(extra);
        run(&args)
    };
    let header = format!("# ridgeline-decisions report={hash}\ncluster_id,decision\n");

    // Bad files: each refused as a user error, the gallery untouched.
    let before = Gallery::open(&g, OpenMode::ReadOnly).expect("open").len();
    for (body, message) in [
        ("cluster_id,decision\nR001~D001,same\n".to_string(), "does not name its report"),
        (
            "# ridgeline-decisions report=0000000000000000\ncluster_id,decision\n".to_string(),
            "another report",
        ),
        (format!("{header}R001~D002,same\n"), "no cluster \"R001~D002\""),
        (format!("{header}R001~D001,yes\n"), "\"yes\" is not one of"),
        (format!("{header}R001~D001,same\nR001~D001,unsure\n"), "decided twice"),
        (format!("{header}R001~D001\n"), "expected 2 fields"),
        (
            "# ridgeline-decisions report=x\ncluster_id,decision\n".replace('x', &hash)
                + "\"R001,same\n",
            "unterminated",
        ),
    ] {
        write(&body);
        let out = decide(&["--gallery", s(&g)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{body:?}: {err}");
        assert!(err.contains(message), "{body:?}: expected {message:?} in {err}");
    }
    assert_eq!(Gallery::open(&g, OpenMode::ReadOnly).expect("open").len(), before);

    // Without --gallery: the plan only.
    write(&format!("{header}R001~D001,same\nR002~D002,same\n"));
    let plan = ok_json(&decide(&[]));
    assert_eq!(plan["committed"], false);
    assert_eq!(plan["merges"][0]["kept"], "R001");
    assert_eq!(plan["merges"][0]["removed"], serde_json::json!(["D001"]));
    // D002 holds three fingers, R002 two: D002 is kept.
    assert_eq!(plan["merges"][1]["kept"], "D002");
    assert_eq!(Gallery::open(&g, OpenMode::ReadOnly).expect("open").len(), before);

    // Committed: R002 removed into D002, which already holds R002's fingers 2 and 7.
    write(&format!("{header}R002~D002,same\nR001~D001,different\n"));
    let applied_path = d.join("applied.json");
    let applied = ok_json(&decide(&["--gallery", s(&g), "--out", s(&applied_path)]));
    assert_eq!(applied["kind"], "dedup");
    assert_eq!((applied["same"].as_u64(), applied["different"].as_u64()), (Some(1), Some(1)));
    assert_eq!(applied["committed"], true);
    assert_eq!(applied["merges"][0]["kept"], "D002");
    assert_eq!(applied["merges"][0]["fingers_moved"], 0);
    assert_eq!(applied["distinct"][0]["records"], serde_json::json!(["R001", "D001"]));
    let opened = Gallery::open(&g, OpenMode::ReadOnly).expect("open");
    assert!(fingers(&opened, "R002").is_empty(), "R002 removed");
    assert_eq!(fingers(&opened, "D002"), BTreeSet::from([2, 3, 7]));
    assert_eq!(fingers(&opened, "R001"), BTreeSet::from([2, 7]), "decided different: kept");
    assert_eq!(fingers(&opened, "D001"), BTreeSet::from([2]));
    drop(opened);

    // Applying it again finds R002 gone: refused, nothing changed.
    let again = decide(&["--gallery", s(&g)]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not in gallery"));

    // A re-run told what the clerk decided does not raise R001 and D001 again.
    let rerun = d.join("rerun.json");
    let out = run(&["dedup", "--gallery", s(&g), "--out", s(&rerun)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let has_pair = |path: &Path| {
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("report")).expect("JSON");
        let found = r["clusters"].as_array().expect("clusters").iter().any(|c| {
            let ids: Vec<&str> = c["records"]
                .as_array()
                .expect("records")
                .iter()
                .filter_map(|x| x["record_id"].as_str())
                .collect();
            ids.contains(&"R001") && ids.contains(&"D001")
        });
        (found, r["stats"]["pairs_adjudicated_distinct"].clone())
    };
    assert_eq!(has_pair(&rerun), (true, serde_json::json!(0)), "without the decisions");
    let out =
        run(&["dedup", "--gallery", s(&g), "--out", s(&rerun), "--distinct", s(&applied_path)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(has_pair(&rerun), (false, serde_json::json!(1)), "held apart");
}

#[test]
fn a_merge_moves_the_fingers_the_kept_record_lacks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let g = d.join("gallery");
    std::fs::create_dir(&g).expect("mkdir");
    let gallery = Gallery::create(&g).expect("create");
    for person in 0..8u64 {
        for finger in [2u8, 7] {
            gallery
                .enroll(&format!("R{person:03}"), finger, &template(person, u64::from(finger), 1))
                .expect("enrol");
        }
    }
    // R003's finger 2 and 7 again, and finger 9 R003 lacks, under another id.
    for finger in [2u8, 7, 9] {
        gallery.enroll("X003", finger, &template(3, u64::from(finger), 1)).expect("enrol");
    }
    // A third record of the same person with a single finger: kept is X003 (three fingers).
    gallery.enroll("Y003", 4, &template(3, 4, 1)).expect("enrol");
    gallery.enroll("Y003", 2, &template(3, 2, 1)).expect("enrol");
    drop(gallery);
    let (report, page, hash) = dedup(d, &g);
    let id = "R003~X003~Y003";
    assert!(page.contains(&format!("data-cluster=\"{id}\"")), "one cluster of three records");
    let decisions = d.join("decisions.csv");
    std::fs::write(
        &decisions,
        format!("# ridgeline-decisions report={hash}\ncluster_id,decision\n{id},same\n"),
    )
    .expect("write");
    let applied =
        ok_json(&run(&["decide", s(&report), s(&decisions), "--gallery", s(&g), "--json"]));
    assert_eq!(applied["merges"][0]["kept"], "X003");
    assert_eq!(applied["merges"][0]["removed"], serde_json::json!(["R003", "Y003"]));
    assert_eq!(applied["merges"][0]["fingers_moved"], 1, "finger 4 of Y003");
    assert_eq!(applied["records_removed"], 2);
    let opened = Gallery::open(&g, OpenMode::ReadOnly).expect("open");
    assert_eq!(fingers(&opened, "X003"), BTreeSet::from([2, 4, 7, 9]));
    assert!(fingers(&opened, "R003").is_empty() && fingers(&opened, "Y003").is_empty());
}

const MAP_A: &str = "record_id=rid,name=xm,id_number=sfzh,sex=xb,birth_date=csrq,address=zz";

/// A small linked population: the report, the links file and the page.
fn linked(d: &Path) -> (PathBuf, PathBuf, PathBuf, serde_json::Value) {
    let people = d.join("people");
    ok_json(&run(&[
        "synth-people",
        "--out",
        s(&people),
        "--records",
        "2000",
        "--seed",
        "5",
        "--json",
    ]));
    let (links, report, html) =
        (d.join("links.csv"), d.join("link-report.json"), d.join("link.html"));
    let a = people.join("a.csv");
    let b = people.join("b.csv");
    let summary = ok_json(&run(&[
        "link",
        s(&a),
        s(&b),
        "--columns-a",
        MAP_A,
        "--out",
        s(&links),
        "--report",
        s(&report),
        "--html",
        s(&html),
        "--json",
    ]));
    (report, links, html, summary)
}

#[test]
fn link_decisions_give_a_reconciled_mapping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (report, links, html, summary) = linked(d);
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("JSON");
    assert_eq!(on_disk, summary, "--report writes the --json summary");
    let review = summary["review"].as_array().expect("review list");
    assert!(review.len() >= 3, "{}", review.len());
    let hash = {
        let page = std::fs::read_to_string(&html).expect("page");
        let start = page.find("data-report=\"").expect("hash") + 13;
        page[start..start + 16].to_string()
    };
    let id = |k: usize| review[k]["cluster_id"].as_str().expect("id").to_string();
    let decisions = d.join("decisions.csv");
    std::fs::write(
        &decisions,
        format!(
            "# ridgeline-decisions report={hash}\ncluster_id,decision\n{},different\n{},same\n{},unsure\n",
            id(0),
            id(1),
            id(2)
        ),
    )
    .expect("write");
    let mapping = d.join("mapping.csv");
    let applied =
        ok_json(&run(&["decide", s(&report), s(&decisions), "--out", s(&mapping), "--json"]));
    let n_links = summary["links"].as_u64().expect("links");
    assert_eq!(applied["kind"], "link");
    assert_eq!(applied["mapping_rows"].as_u64(), Some(n_links - 1));
    assert_eq!(applied["rejected"], serde_json::json!([id(0)]));
    assert_eq!(applied["undecided"].as_u64(), Some(review.len() as u64 - 3));
    let text = std::fs::read_to_string(&mapping).expect("mapping");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "a_record_id,b_record_id,status,posterior,evidence");
    assert_eq!(rows.len() as u64, n_links);
    let row_of = |k: usize| {
        let (a, b) = (
            review[k]["a_record_id"].as_str().expect("a"),
            review[k]["b_record_id"].as_str().expect("b"),
        );
        rows.iter().find(|r| r.starts_with(&format!("{a},{b},"))).map(|r| r.to_string())
    };
    assert_eq!(row_of(0), None, "decided different: dropped");
    assert!(row_of(1).is_some_and(|r| r.contains(",confirmed,")));
    assert!(row_of(2).is_some_and(|r| r.contains(",unsure,")));

    // Not a report: the links file, a JSON object of another kind, a missing file.
    std::fs::write(d.join("other.json"), r#"{"records": 3}"#).expect("write");
    for (report_arg, message) in [
        (links.clone(), "is not a JSON report"),
        (d.join("other.json"), "neither a de-duplication nor a link report"),
        (d.join("absent.json"), "cannot read"),
    ] {
        let out = run(&["decide", s(&report_arg), s(&decisions), "--out", s(&mapping)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(message), "expected {message:?} in {err}");
    }

    // Without --out, and with a links file that is not the report's.
    let out = run(&["decide", s(&report), s(&decisions)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out MAPPING.csv"));
    let mut changed = std::fs::read_to_string(&links).expect("links");
    changed.push_str("X,Y,1.0,0.9,demographic\n");
    let other = d.join("other-links.csv");
    std::fs::write(&other, changed).expect("write");
    let out =
        run(&["decide", s(&report), s(&decisions), "--links", s(&other), "--out", s(&mapping)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not the links file"));
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()))
}

fn headless(browser: &str, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,1600",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// Percent-encodes everything but unreserved characters, as `encodeURIComponent` would.
fn uri_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Opens `page` with decisions in its address, lets the page click them and its export button,
/// and returns the exported decisions file as the page wrote it into the DOM.
fn export_in_chromium(
    browser: &str,
    page: &Path,
    profile: &Path,
    decisions: &serde_json::Value,
) -> String {
    let url = format!("file://{}#decide={}", page.display(), uri_encode(&decisions.to_string()));
    let out = headless(browser, profile)
        .args(["--virtual-time-budget=5000", "--dump-dom"])
        .arg(url)
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&out.stdout);
    let open = dom.find("id=\"decisions-csv\"").expect("export box in the DOM");
    let start = open + dom[open..].find('>').expect("tag closes") + 1;
    let end = start + dom[start..].find("</textarea>").expect("box closes");
    dom[start..end].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

#[test]
fn decisions_made_in_chromium_round_trip_through_decide() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: chromium is not installed (scripts/test installs it with apt-get)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();

    // De-duplication over a gallery: one merge, one kept apart.
    let g = gallery(d);
    let (report, _, _) = dedup(d, &g);
    let exported = export_in_chromium(
        browser,
        &d.join("report.html"),
        &d.join("profile1"),
        &serde_json::json!({"R001~D001": "different", "R002~D002": "same"}),
    );
    assert!(exported.starts_with("# ridgeline-decisions report="), "{exported}");
    assert!(exported.contains("\ncluster_id,decision\n"), "{exported}");
    let decisions = d.join("decisions.csv");
    std::fs::write(&decisions, &exported).expect("write");
    let applied =
        ok_json(&run(&["decide", s(&report), s(&decisions), "--gallery", s(&g), "--json"]));
    assert_eq!(
        (applied["same"].as_u64(), applied["different"].as_u64()),
        (Some(1), Some(1)),
        "{exported}"
    );
    assert_eq!(applied["merges"][0]["removed"], serde_json::json!(["R002"]));
    let opened = Gallery::open(&g, OpenMode::ReadOnly).expect("open");
    assert!(fingers(&opened, "R002").is_empty());

    // Link: three decisions, one of each word.
    let (report, _, html, summary) = linked(d);
    let review = summary["review"].as_array().expect("review");
    let id = |k: usize| review[k]["cluster_id"].as_str().expect("id").to_string();
    let exported = export_in_chromium(
        browser,
        &html,
        &d.join("profile2"),
        &serde_json::json!({id(0): "same", id(1): "different", id(2): "unsure"}),
    );
    std::fs::write(&decisions, &exported).expect("write");
    let mapping = d.join("mapping.csv");
    let applied =
        ok_json(&run(&["decide", s(&report), s(&decisions), "--out", s(&mapping), "--json"]));
    assert_eq!(applied["decisions"], 3, "{exported}");
    assert_eq!(applied["rejected"], serde_json::json!([id(1)]));
    if let Ok(keep) = std::env::var("RIDGELINE_KEEP_PAGES") {
        std::fs::copy(&html, Path::new(&keep).join("link.html")).expect("copy page");
        std::fs::copy(d.join("report.html"), Path::new(&keep).join("dedup.html"))
            .expect("copy page");
    }
}

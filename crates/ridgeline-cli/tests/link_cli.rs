//! `ridgeline synth-people`, `link` and `link-eval` end to end: a synthetic two-system population
//! is linked through column maps and scored; prints fuse with demographics and their conflicts
//! are flagged.

use std::path::Path;
use std::process::{Command, Output};

fn ridgeline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ridgeline")).args(args).output().expect("runs")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

const MAP_A: &str = "record_id=rid,name=xm,id_number=sfzh,sex=xb,birth_date=csrq,address=zz";

#[test]
fn synthetic_systems_link_with_high_precision_and_recall() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let out_dir = d.join("people");
    let synth = json(&ridgeline(&[
        "synth-people",
        "--out",
        out_dir.to_str().expect("utf-8"),
        "--records",
        "20000",
        "--seed",
        "3",
        "--json",
    ]));
    assert_eq!(synth["duplicates"], 500);
    let (a, b, truth) = (out_dir.join("a.csv"), out_dir.join("b.csv"), out_dir.join("truth.csv"));
    let links = d.join("links.csv");
    let html = d.join("report.html");
    let summary = json(&ridgeline(&[
        "link",
        a.to_str().expect("utf-8"),
        b.to_str().expect("utf-8"),
        "--columns-a",
        MAP_A,
        "--out",
        links.to_str().expect("utf-8"),
        "--html",
        html.to_str().expect("utf-8"),
        "--json",
    ]));
    assert_eq!(summary["records_a"], 10_000);
    assert_eq!(summary["records_b"], 10_000);
    assert_eq!(summary["evidence"]["fingerprint"], 0);
    let n_links = summary["links"].as_u64().expect("count");
    assert_eq!(
        summary["a_only_count"].as_u64().expect("count")
            + summary["linked_a"].as_u64().expect("count"),
        10_000
    );
    assert_eq!(
        summary["a_only"].as_array().expect("list").len() as u64,
        summary["a_only_count"].as_u64().expect("n")
    );
    let text = std::fs::read_to_string(&links).expect("links written");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("a_record_id,b_record_id,weight,posterior,evidence"));
    assert_eq!(lines.count() as u64, n_links);
    let page = std::fs::read_to_string(&html).expect("html written");
    assert!(page.contains("Export decisions") && page.contains("data-cluster="));
    let eval = json(&ridgeline(&[
        "link-eval",
        links.to_str().expect("utf-8"),
        truth.to_str().expect("utf-8"),
        "--json",
    ]));
    let (p, r) = (eval["precision"].as_f64().expect("p"), eval["recall"].as_f64().expect("r"));
    assert!(p >= 0.98 && r >= 0.98, "precision {p}, recall {r}");
    // A stricter threshold never adds links.
    let strict = json(&ridgeline(&[
        "link",
        a.to_str().expect("utf-8"),
        b.to_str().expect("utf-8"),
        "--columns-a",
        MAP_A,
        "--out",
        d.join("strict.csv").to_str().expect("utf-8"),
        "--threshold",
        "0.999",
        "--json",
    ]));
    assert!(strict["links"].as_u64().expect("n") <= n_links);
}

#[test]
fn user_errors_exit_1_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a.csv");
    std::fs::write(&a, "record_id,name,id_number,sex,birth_date,address\n1,张伟,,,,\n")
        .expect("write");
    let out = dir.path().join("l.csv");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "link",
            a.to_str().expect("utf-8"),
            a.to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        ridgeline(&args)
    };
    for extra in
        [&["--columns-a", "nom=xm"][..], &["--columns-b", "name=xingming"], &["--threshold", "1.5"]]
    {
        let o = run(extra);
        assert_eq!(o.status.code(), Some(1), "{extra:?}");
        assert!(String::from_utf8_lossy(&o.stderr).starts_with("error: "), "{extra:?}");
    }
}

/// Writes fingers 2 and 7 of synthetic finger pair `finger_seed` (impression `impression`).
fn prints(dir: &Path, record: &str, finger_seed: u64, impression: u32) -> Vec<(u8, String)> {
    let config = ridgeline_synth::templates::TemplateConfig::default();
    [2u8, 7]
        .into_iter()
        .enumerate()
        .map(|(k, position)| {
            let t = ridgeline_synth::templates::generate(
                5,
                finger_seed * 2 + k as u64 + 1,
                impression,
                &config,
            )
            .expect("template");
            let file = format!("{record}_{position}.rlt");
            std::fs::write(dir.join(&file), t.to_native_bytes().expect("encodes")).expect("write");
            (position, file)
        })
        .collect()
}

fn id_number(n: u32) -> String {
    let body = format!("110105{}{:03}", 19_600_101 + n % 28, (100 + n) % 1000);
    let b: [u8; 17] = body.as_bytes().try_into().expect("17 digits");
    format!("{body}{}", ridgeline_link::id_number::check_character(&b))
}

/// Two exports of twelve people with prints of fingers 2 and 7 in `d` (`a.csv`, `b.csv`):
/// b0 has the prints of a0 and no details, b11 the prints and name of a11 under another valid
/// number, b1 the number and name of a1 with someone else's prints, the rest match in both.
fn two_systems_with_prints(d: &Path) {
    let names = [
        "张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞", "徐刚",
        "孙丽",
    ];
    let header = "record_id,name,id_number,sex,birth_date,address,finger,path\n";
    let (mut a, mut b) = (String::from(header), String::from(header));
    let row = |csv: &mut String, id: &str, name: &str, idn: &str, files: &[(u8, String)]| {
        for (finger, file) in files {
            let address = if name.is_empty() {
                String::new()
            } else {
                format!("北京市朝阳区建国路{}号", name.len())
            };
            csv.push_str(&format!("{id},{name},{idn},,,{address},{finger},{file}\n"));
        }
    };
    for (i, name) in names.iter().enumerate() {
        let i = i as u32;
        let aid = format!("a{i}");
        row(&mut a, &aid, name, &id_number(i), &prints(d, &aid, u64::from(i), 1));
        let bid = format!("b{i}");
        match i {
            // Same prints, no demographics (a person registered by prints alone): only the
            // fingerprints link them.
            0 => row(&mut b, &bid, "", "", &prints(d, &bid, 0, 2)),
            // Same prints and name, another valid identity number: a conflict for the clerk.
            11 => row(&mut b, &bid, name, &id_number(900), &prints(d, &bid, 11, 2)),
            // Same identity number and name, prints of someone else.
            1 => row(&mut b, &bid, name, &id_number(1), &prints(d, &bid, 50, 2)),
            _ => row(&mut b, &bid, name, &id_number(i), &prints(d, &bid, u64::from(i), 2)),
        }
    }
    std::fs::write(d.join("a.csv"), a).expect("write");
    std::fs::write(d.join("b.csv"), b).expect("write");
}

#[test]
fn prints_fuse_with_demographics_and_conflicts_are_flagged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    two_systems_with_prints(d);
    let links = d.join("links.csv");
    let html = d.join("page.html");
    let summary = json(&ridgeline(&[
        "link",
        d.join("a.csv").to_str().expect("utf-8"),
        d.join("b.csv").to_str().expect("utf-8"),
        "--out",
        links.to_str().expect("utf-8"),
        "--html",
        html.to_str().expect("utf-8"),
        "--json",
    ]));
    assert_eq!(summary["print_search"], "exhaustive");
    // The page: the two conflicts first, then the links; prints drawn with matched minutiae.
    let page = std::fs::read_to_string(&html).expect("page");
    let classes: Vec<&str> = page
        .split("<section class=\"cluster")
        .skip(1)
        .take(3)
        .map(|sec| sec.split('"').next().unwrap_or(""))
        .collect();
    assert_eq!(classes, vec![" conflict", " conflict", ""]);
    for id in ["a11~b11", "a1~b1", "a0~b0"] {
        assert!(page.contains(&format!("data-cluster=\"{id}\"")), "{id} on the page");
    }
    assert!(page.matches("<svg").count() >= 3, "prints drawn");
    assert!(page.contains("class=\"m hit\""), "matched minutiae marked");
    let text = std::fs::read_to_string(&links).expect("links");
    let evidence_of = |a: &str, b: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{a},{b},")))
            .and_then(|l| l.rsplit(',').next())
            .map(str::to_string)
    };
    assert_eq!(evidence_of("a0", "b0").as_deref(), Some("fingerprint"), "{text}");
    assert_eq!(evidence_of("a5", "b5").as_deref(), Some("both"), "{text}");
    assert_eq!(evidence_of("a1", "b1").as_deref(), Some("demographic"), "{text}");
    let conflicts = summary["conflicts"].as_array().expect("list");
    let has = |a: &str, b: &str, kind: &str| {
        conflicts
            .iter()
            .any(|c| c["a_record_id"] == a && c["b_record_id"] == b && c["kind"] == kind)
    };
    assert!(has("a11", "b11", "same_fingers_different_id_numbers"), "{conflicts:?}");
    assert!(has("a1", "b1", "same_id_number_different_fingers"), "{conflicts:?}");
}

#[test]
fn the_indexed_print_search_links_what_the_exhaustive_one_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    two_systems_with_prints(d);
    let scratch = d.join("tmp");
    std::fs::create_dir(&scratch).expect("scratch");
    let run = |mode: &str| {
        let links = d.join(format!("links-{mode}.csv"));
        let out = Command::new(env!("CARGO_BIN_EXE_ridgeline"))
            .env("TMPDIR", &scratch)
            .args([
                "link",
                d.join("a.csv").to_str().expect("utf-8"),
                d.join("b.csv").to_str().expect("utf-8"),
                "--out",
                links.to_str().expect("utf-8"),
                "--print-search",
                mode,
                "--json",
            ])
            .output()
            .expect("runs");
        let summary = json(&out);
        (summary, std::fs::read_to_string(&links).expect("links"))
    };
    let (exhaustive, exhaustive_links) = run("exhaustive");
    let (indexed, indexed_links) = run("indexed");
    assert_eq!(exhaustive["print_search"], "exhaustive");
    assert_eq!(indexed["print_search"], "indexed");
    // b0 carries no details: only the print search can propose it, and both searches do.
    assert!(indexed_links.lines().any(|l| l.starts_with("a0,b0,") && l.ends_with(",fingerprint")));
    assert_eq!(indexed_links, exhaustive_links);
    // Without a search of their own, the prints only weigh in on the demographic candidates.
    let (candidates, candidates_links) = run("candidates");
    assert_eq!(candidates["print_search"], "candidates");
    assert_eq!(candidates["print_candidates"], 0);
    assert!(!candidates_links.lines().any(|l| l.starts_with("a0,b0,")));
    assert_eq!(indexed["conflicts"], exhaustive["conflicts"]);
    // The scratch gallery of the indexed search is gone.
    let left: Vec<_> = std::fs::read_dir(&scratch).expect("scratch").collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_synthetic_population_with_prints_links_by_both_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let people = dir.path().join("people");
    let synth = json(&ridgeline(&[
        "synth-people",
        "--out",
        people.to_str().expect("utf-8"),
        "--records",
        "600",
        "--dup-rate",
        "0.1",
        "--fingers",
        "2",
        "--seed",
        "5",
        "--json",
    ]));
    assert_eq!((synth["duplicates"].as_u64(), synth["prints"].as_u64()), (Some(30), Some(1200)));
    let links = dir.path().join("links.csv");
    let summary = json(&ridgeline(&[
        "link",
        people.join("a.csv").to_str().expect("utf-8"),
        people.join("b.csv").to_str().expect("utf-8"),
        "--columns-a",
        MAP_A,
        "--out",
        links.to_str().expect("utf-8"),
        "--json",
    ]));
    assert_eq!(summary["quality_a"]["with_prints"], 300);
    assert_eq!(summary["quality_b"]["with_prints"], 300);
    // Two impressions of the same two fingers back the details of every planted pair.
    assert_eq!(summary["evidence"]["both"], 30, "{}", summary["evidence"]);
    let eval = json(&ridgeline(&[
        "link-eval",
        links.to_str().expect("utf-8"),
        people.join("truth.csv").to_str().expect("utf-8"),
        "--json",
    ]));
    assert_eq!((eval["precision"].as_f64(), eval["recall"].as_f64()), (Some(1.0), Some(1.0)));
}

//! `ridgeline dedup --demographics`: a people manifest pooled from two synthetic systems, the
//! same person's records carrying the same print, de-duplicated by names, numbers, dates and
//! addresses fused with the prints; the report says which evidence decided each pair and flags
//! the conflicts planted between prints and identity numbers.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use ridgeline::dedup::make_id_number;
use ridgeline_link::synth::{write_population, ErrorRates, SynthConfig};
use ridgeline_link::{read_records, ColumnMap, RawRecord};

const SEED: u64 = 23;

fn write_template(dir: &Path, person: u64, file: &str) {
    let config = ridgeline_synth::templates::TemplateConfig::default();
    let t = ridgeline_synth::templates::generate(SEED, person + 1, 1, &config).expect("template");
    std::fs::write(dir.join(file), t.to_native_bytes().expect("encodes")).expect("write");
}

fn quote(v: &str) -> String {
    if v.contains([',', '"']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

#[test]
fn demographic_dedup_fuses_prints_and_says_what_decided() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let config =
        SynthConfig { records: 600, dup_rate: 0.1, seed: 4, errors: ErrorRates::default() };
    write_population(d, &config).expect("population");
    let map_a =
        ColumnMap::parse("record_id=rid,name=xm,id_number=sfzh,sex=xb,birth_date=csrq,address=zz")
            .expect("map");
    let a = read_records(&d.join("a.csv"), &map_a).expect("a");
    let mut b = read_records(&d.join("b.csv"), &ColumnMap::default()).expect("b");
    let truth: Vec<(String, String)> = std::fs::read_to_string(d.join("truth.csv"))
        .expect("truth")
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(',').map(|(x, y)| (x.to_string(), y.to_string())))
        .collect();
    assert_eq!(truth.len(), 30);
    let mate: HashMap<&str, &str> = truth.iter().map(|(x, y)| (y.as_str(), x.as_str())).collect();
    let b_index: HashMap<String, usize> =
        b.iter().enumerate().map(|(i, r)| (r.record_id.clone(), i)).collect();

    let mut a = a;
    let a_index: HashMap<String, usize> =
        a.iter().enumerate().map(|(i, r)| (r.record_id.clone(), i)).collect();
    // Pair 0: B's details all changed, both numbers valid: the prints match, the details
    // disagree: flagged for the clerk, linked or not.
    let (pa, pb) = (truth[0].0.clone(), truth[0].1.clone());
    a[a_index[&pa]].id_number = make_id_number(110_105, 1980, 1, 1, 7).expect("valid");
    {
        let r = &mut b[b_index[&pb]];
        r.name = "欧阳娜娜".into();
        r.id_number = make_id_number(440_305, 1977, 3, 9, 123).expect("valid");
        r.birth_date = "1977-03-09".into();
        r.address = "广东省深圳市南山区科技园路8号".into();
    }
    // Pair 1: name and number changed, birth date, sex and address kept: the prints decide.
    let (pc, pd) = (truth[1].0.clone(), truth[1].1.clone());
    {
        let r = &mut b[b_index[&pd]];
        r.name = "司马光".into();
        r.id_number = make_id_number(440_305, 1966, 6, 6, 66).expect("valid");
        r.birth_date = a[a_index[&pc]].birth_date.clone();
        r.sex = a[a_index[&pc]].sex.clone();
        r.address = a[a_index[&pc]].address.clone();
    }
    // Two people who are not the same: B's record takes A's identity number.
    let unpaired_a = a.iter().find(|r| !truth.iter().any(|(x, _)| *x == r.record_id)).expect("one");
    let unpaired_b_index = b
        .iter()
        .position(|r| !mate.contains_key(r.record_id.as_str()) && !r.id_number.is_empty())
        .expect("one");
    b[unpaired_b_index].id_number = unpaired_a.id_number.clone();
    let (qa, qb) = (unpaired_a.record_id.clone(), b[unpaired_b_index].record_id.clone());

    // The manifest: one print per record; a person's records in both systems carry one print.
    let mut manifest = String::from("id,finger,path,id_number,name,sex,birth_date,address\n");
    let mut person_of_a: HashMap<&str, u64> = HashMap::new();
    let mut add = |r: &RawRecord, person: u64| {
        let file = format!("{}.rlt", r.record_id);
        write_template(d, person, &file);
        manifest.push_str(&format!(
            "{},2,{file},{},{},{},{},{}\n",
            quote(&r.record_id),
            quote(&r.id_number),
            quote(&r.name),
            quote(&r.sex),
            quote(&r.birth_date),
            quote(&r.address)
        ));
    };
    for (i, r) in a.iter().enumerate() {
        person_of_a.insert(&r.record_id, i as u64);
        add(r, i as u64);
    }
    for (j, r) in b.iter().enumerate() {
        let person = mate.get(r.record_id.as_str()).map_or(10_000 + j as u64, |x| person_of_a[x]);
        add(r, person);
    }
    let manifest_path = d.join("people.csv");
    std::fs::write(&manifest_path, manifest).expect("manifest");

    let (report_path, html) = (d.join("report.json"), d.join("report.html"));
    let out = Command::new(env!("CARGO_BIN_EXE_ridgeline"))
        .args(["dedup", "--demographics", "--input"])
        .arg(&manifest_path)
        .arg("--out")
        .arg(&report_path)
        .arg("--html")
        .arg(&html)
        .arg("--json")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).expect("report")).expect("JSON");
    assert_eq!(report["stats"]["mode"], "demographics");
    assert_eq!(report["stats"]["records"], 600);
    let pairs: Vec<&serde_json::Value> = report["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .flat_map(|c| c["pairs"].as_array().expect("pairs"))
        .collect();
    let find = |x: &str, y: &str| {
        pairs.iter().copied().find(|p| (p["a"] == x && p["b"] == y) || (p["a"] == y && p["b"] == x))
    };
    let found = truth.iter().filter(|(x, y)| find(x, y).is_some()).count();
    assert!(found >= 28, "{found} of 30 planted pairs");
    let wrong = pairs
        .iter()
        .filter(|p| {
            let (x, y) = (p["a"].as_str().unwrap_or(""), p["b"].as_str().unwrap_or(""));
            !truth.iter().any(|(s, t)| (s == x && t == y) || (s == y && t == x))
        })
        .count();
    assert!(wrong <= 1, "{wrong} pairs of different people linked");
    let only_prints = find(&pc, &pd).expect("pair 1 is linked by its prints");
    assert_eq!(only_prints["evidence"], "fingerprint");
    let both = pairs.iter().filter(|p| p["evidence"] == "both").count();
    assert!(both >= 25, "{both} pairs decided by both");
    for p in &pairs {
        for key in ["a", "b", "score", "fmr", "evidence", "weight", "posterior", "print_fmr"] {
            assert!(p.get(key).is_some(), "pair key {key}");
        }
    }
    let flags = report["flags"].as_array().expect("flags");
    let flagged = |kind: &str, x: &str, y: &str| {
        flags.iter().any(|f| {
            f["kind"] == kind
                && f["records"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|v| v == x) && r.iter().any(|v| v == y))
        })
    };
    assert!(flagged("same_fingerprints_different_id", &pa, &pb), "{flags:?}");
    assert!(flagged("same_id_different_fingerprints", &qa, &qb), "{flags:?}");

    let page = std::fs::read_to_string(&html).expect("page");
    assert!(page.contains("<th>Birth date</th>") && page.contains("<svg"));
    assert!(page.contains("linked on the fingerprints"), "which evidence decided, per pair");

    // The page's clusters are the ones decide reads.
    let start = page.find("data-report=\"").expect("hash") + 13;
    let hash = &page[start..start + 16];
    // Pair 0 is decided the same person, wherever the report put it.
    let id: Vec<String> = report["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| {
            c["records"]
                .as_array()
                .expect("records")
                .iter()
                .filter_map(|r| r["record_id"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .find(|ids| ids.contains(&pa))
        .unwrap_or_else(|| vec![pa.clone(), pb.clone()]);
    assert!(page.contains(&format!("data-cluster=\"{}\"", id.join("~"))), "pair 0 on the page");
    let decisions = d.join("decisions.csv");
    std::fs::write(
        &decisions,
        format!(
            "# ridgeline-decisions report={hash}\ncluster_id,decision\n{},same\n",
            id.join("~")
        ),
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_ridgeline"))
        .arg("decide")
        .arg(&report_path)
        .arg(&decisions)
        .arg("--json")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let applied: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(applied["merges"][0]["removed"].as_array().map(Vec::len), Some(id.len() - 1));
}

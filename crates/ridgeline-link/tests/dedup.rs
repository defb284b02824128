//! De-duplication of one system: the two synthetic systems pooled into one list, their planted
//! pairs found again by `dedup`, never a record with itself, each pair once.

use std::collections::HashSet;

use ridgeline_link::synth::{write_population, ErrorRates, SynthConfig};
use ridgeline_link::{read_records, ColumnMap, LinkConfig, Person};

#[test]
fn pooled_systems_deduplicate_to_their_planted_pairs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config =
        SynthConfig { records: 10_000, dup_rate: 0.05, seed: 11, errors: ErrorRates::default() };
    write_population(dir.path(), &config).expect("population");
    let map_a =
        ColumnMap::parse("record_id=rid,name=xm,id_number=sfzh,sex=xb,birth_date=csrq,address=zz")
            .expect("map");
    let mut people: Vec<Person> = read_records(&dir.path().join("a.csv"), &map_a)
        .expect("a.csv")
        .into_iter()
        .chain(read_records(&dir.path().join("b.csv"), &ColumnMap::default()).expect("b.csv"))
        .map(Person::prepare)
        .collect();
    // Interleave the systems so that a planted pair's order in the list varies.
    people.sort_by(|x, y| x.record_id.chars().rev().cmp(y.record_id.chars().rev()));
    let index: std::collections::HashMap<&str, u32> =
        people.iter().enumerate().map(|(i, p)| (&*p.record_id, i as u32)).collect();
    let truth_text = std::fs::read_to_string(dir.path().join("truth.csv")).expect("truth");
    let truth: HashSet<(u32, u32)> = truth_text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (a, b) = l.split_once(',')?;
            let (x, y) = (index[a.trim()], index[b.trim()]);
            Some((x.min(y), x.max(y)))
        })
        .collect();
    assert_eq!(truth.len(), 250);

    let linkage = ridgeline_link::dedup(&people, &LinkConfig::default(), None).expect("dedup");
    let found: HashSet<(u32, u32)> = linkage.links.iter().map(|l| (l.a, l.b)).collect();
    assert!(linkage.links.iter().all(|l| l.a < l.b), "each pair once, never a record with itself");
    assert_eq!(found.len(), linkage.links.len());
    let hits = found.intersection(&truth).count() as f64;
    let (precision, recall) = (hits / found.len() as f64, hits / truth.len() as f64);
    assert!(precision >= 0.98 && recall >= 0.97, "precision {precision}, recall {recall}");
    // The prior is that of a pair among N(N−1)/2: about 250 matches in 5·10⁷ pairs.
    let expected = linkage.model.lambda * 10_000.0 * 9_999.0 / 2.0;
    assert!((200.0..320.0).contains(&expected), "expected matches {expected}");
}

//! A synthetic identity population in two systems, with clerk errors and ground truth.
//!
//! People are drawn from real frequency tables ([`tables`]): surnames by their national share,
//! given names of one or two characters by sex, birth dates 1940–2005, home districts by
//! GB/T 2260 code, identity numbers built the way the registry builds them (region, birth
//! date, a sequence number odd for men, the ISO 7064 check character). System A holds
//! `records / 2` people and system B as many; `dup_rate` of all records have a planted
//! duplicate in the other system (so `records · dup_rate / 2` people are in both). Every record,
//! in either system, is a fresh transcription by a clerk who makes the errors of
//! [`ErrorRates`] independently; A writes sex as 男/女 and dates as `YYYYMMDD` under pinyin
//! column names (`rid,xm,sfzh,xb,csrq,zz`), B writes `M/F`, `YYYY-MM-DD` under the canonical
//! names.

pub mod tables;

use std::collections::HashMap;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use pinyin::ToPinyin;
use serde::Serialize;

use crate::date::Date;
use crate::error::{Error, Result};
use crate::id_number::check_character;
use crate::record::csv_field;
use crate::rng::SplitMix;
use tables::{
    COMPOUNDS, GIVEN_FEMALE, GIVEN_MALE, HOMOPHONE_POOL, REGIONS, STREETS, SURNAMES, TRADITIONAL,
};

/// Per-record probabilities of the clerk errors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ErrorRates {
    /// One character of the name replaced by a homophone.
    pub homophone: f64,
    /// The name typed in traditional characters.
    pub traditional: f64,
    /// One given-name character replaced by an unrelated one.
    pub name_typo: f64,
    /// Name left empty.
    pub name_missing: f64,
    /// Identity number written in the old 15-digit form (people born before 1990 only).
    pub id_15_digit: f64,
    /// Two adjacent digits of the identity number swapped.
    pub id_swap: f64,
    /// One digit of the identity number mistyped.
    pub id_typo: f64,
    /// Identity number left empty.
    pub id_missing: f64,
    /// Day and month of the birth date swapped (where the day is at most 12).
    pub date_transposed: f64,
    /// One digit of the birth date mistyped (the result still a date).
    pub date_typo: f64,
    /// Birth date left empty.
    pub date_missing: f64,
    /// Sex left empty.
    pub sex_missing: f64,
    /// Address shortened (province, or province and city, left out).
    pub address_abbreviated: f64,
    /// Address of another home (the person moved between registrations).
    pub address_moved: f64,
    /// Address left empty.
    pub address_missing: f64,
}

impl Default for ErrorRates {
    fn default() -> Self {
        ErrorRates {
            homophone: 0.05,
            traditional: 0.03,
            name_typo: 0.01,
            name_missing: 0.005,
            id_15_digit: 0.05,
            id_swap: 0.02,
            id_typo: 0.01,
            id_missing: 0.02,
            date_transposed: 0.02,
            date_typo: 0.01,
            date_missing: 0.02,
            sex_missing: 0.01,
            address_abbreviated: 0.10,
            address_moved: 0.05,
            address_missing: 0.03,
        }
    }
}

/// Settings of the generator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SynthConfig {
    /// Records in both systems together.
    pub records: usize,
    /// Share of all records that have a planted duplicate in the other system.
    pub dup_rate: f64,
    /// Seed.
    pub seed: u64,
    /// Clerk error rates.
    pub errors: ErrorRates,
}

/// What was written.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SynthSummary {
    /// Records of system A.
    pub records_a: usize,
    /// Records of system B.
    pub records_b: usize,
    /// People in both systems (rows of the truth file).
    pub duplicates: usize,
    /// Settings used.
    pub config: SynthConfig,
}

/// The true attributes of a person.
#[derive(Debug, Clone)]
struct Truth {
    surname: &'static str,
    given: String,
    male: bool,
    birth: Date,
    region: usize,
    body: [u8; 17],
    street: usize,
    number: u32,
    compound: Option<(usize, u32, u32)>,
}

struct Generator {
    rng: SplitMix,
    surname_cdf: Vec<f64>,
    male: Vec<char>,
    female: Vec<char>,
    homophones: HashMap<char, Vec<char>>,
    traditional: HashMap<char, char>,
    used_ids: HashSet<[u8; 17]>,
    errors: ErrorRates,
}

/// Zipf weights by rank, cumulated.
fn zipf_pick(rng: &mut SplitMix, n: usize) -> usize {
    // Inverse of the continuous 1/(r+1) density over 0..n: rank = (n+1)^U − 1.
    let r = ((n as f64 + 1.0).powf(rng.unit()) - 1.0) as usize;
    r.min(n - 1)
}

impl Generator {
    fn new(seed: u64, errors: ErrorRates) -> Generator {
        let total: f64 = SURNAMES.iter().map(|s| s.1).sum();
        let mut acc = 0.0;
        let surname_cdf = SURNAMES
            .iter()
            .map(|s| {
                acc += s.1 / total;
                acc
            })
            .collect();
        // Group every character of the tables by its toneless reading.
        let mut by_sound: HashMap<&'static str, Vec<char>> = HashMap::new();
        let pool = SURNAMES
            .iter()
            .flat_map(|s| s.0.chars())
            .chain(GIVEN_MALE.chars())
            .chain(GIVEN_FEMALE.chars())
            .chain(HOMOPHONE_POOL.chars());
        let mut seen = HashSet::new();
        for c in pool {
            if seen.insert(c) {
                if let Some(p) = c.to_pinyin() {
                    by_sound.entry(p.plain()).or_default().push(c);
                }
            }
        }
        let mut homophones = HashMap::new();
        for group in by_sound.values() {
            for &c in group {
                let others: Vec<char> = group.iter().copied().filter(|&o| o != c).collect();
                if !others.is_empty() {
                    homophones.insert(c, others);
                }
            }
        }
        Generator {
            rng: SplitMix::new(seed),
            surname_cdf,
            male: GIVEN_MALE.chars().collect(),
            female: GIVEN_FEMALE.chars().collect(),
            homophones,
            traditional: TRADITIONAL.iter().copied().collect(),
            used_ids: HashSet::new(),
            errors,
        }
    }

    fn person(&mut self) -> Truth {
        let rng = &mut self.rng;
        let x = rng.unit();
        let s = self.surname_cdf.partition_point(|&c| c < x).min(SURNAMES.len() - 1);
        let male = rng.chance(0.5);
        let chars = if male { &self.male } else { &self.female };
        let len = if rng.chance(0.2) { 1 } else { 2 };
        let given: String = (0..len).map(|_| chars[zipf_pick(rng, chars.len())]).collect();
        let birth = loop {
            let y = 1940 + rng.below(66) as u32;
            let m = 1 + rng.below(12) as u32;
            let d = 1 + rng.below(31) as u32;
            if let Some(date) = Date::from_parts(y, m, d) {
                break date;
            }
        };
        let region = rng.below(REGIONS.len());
        let body = loop {
            let seq = rng.below(500) as u32 * 2 + u32::from(male);
            let text = format!("{}{:08}{:03}", REGIONS[region].0, birth.packed(), seq);
            let mut body = [0u8; 17];
            body.copy_from_slice(text.as_bytes());
            if self.used_ids.insert(body) {
                break body;
            }
        };
        let rng = &mut self.rng;
        let compound = rng.chance(0.6).then(|| {
            (
                rng.below(COMPOUNDS.len()),
                1 + rng.below(30) as u32,
                101 + rng.below(20) as u32 * 100 + rng.below(4) as u32,
            )
        });
        Truth {
            surname: SURNAMES[s].0,
            given,
            male,
            birth,
            region,
            body,
            street: rng.below(STREETS.len()),
            number: 1 + rng.below(300) as u32,
            compound,
        }
    }

    /// One clerk's transcription of a person.
    fn transcribe(&mut self, t: &Truth) -> [String; 5] {
        let e = self.errors;
        // Name.
        let mut name: Vec<char> = t.surname.chars().chain(t.given.chars()).collect();
        if self.rng.chance(e.homophone) {
            let pos = self.rng.below(name.len());
            if let Some(options) = self.homophones.get(&name[pos]) {
                name[pos] = options[self.rng.below(options.len())];
            }
        }
        if self.rng.chance(e.name_typo) {
            let pos = 1 + self.rng.below(name.len() - 1);
            let pool = if t.male { &self.male } else { &self.female };
            name[pos] = pool[self.rng.below(pool.len())];
        }
        if self.rng.chance(e.traditional) {
            for c in &mut name {
                if let Some(&tc) = self.traditional.get(c) {
                    *c = tc;
                }
            }
        }
        let name: String = if self.rng.chance(e.name_missing) {
            String::new()
        } else {
            name.into_iter().collect()
        };
        // Identity number.
        let id = if self.rng.chance(e.id_missing) {
            String::new()
        } else {
            let body = t.body;
            let fifteen = t.birth.year() < 1990 && self.rng.chance(e.id_15_digit);
            let check = check_character(&body);
            let mut digits: Vec<u8> = body.to_vec();
            digits.push(check as u8);
            if fifteen {
                digits = [&body[..6], &body[8..]].concat();
            }
            if self.rng.chance(e.id_swap) {
                let i = self.rng.below(digits.len() - 1);
                digits.swap(i, i + 1);
            }
            if self.rng.chance(e.id_typo) {
                let i = self.rng.below(digits.len() - 1);
                digits[i] = b'0' + ((digits[i] - b'0' + 1 + self.rng.below(9) as u8) % 10);
            }
            String::from_utf8_lossy(&digits).into_owned()
        };
        // Birth date.
        let mut birth = Some(t.birth);
        if self.rng.chance(e.date_transposed)
            && t.birth.day() <= 12
            && t.birth.day() != t.birth.month()
        {
            birth = Date::from_parts(t.birth.year(), t.birth.day(), t.birth.month());
        }
        if self.rng.chance(e.date_typo) {
            for _ in 0..10 {
                let mut digits: Vec<u8> = format!("{:08}", t.birth.packed()).into_bytes();
                let i = 2 + self.rng.below(6);
                digits[i] = b'0' + ((digits[i] - b'0' + 1 + self.rng.below(9) as u8) % 10);
                let p: u32 = String::from_utf8_lossy(&digits).parse().unwrap_or(0);
                if let Some(d) = Date::from_parts(p / 10_000, p / 100 % 100, p % 100) {
                    birth = Some(d);
                    break;
                }
            }
        }
        if self.rng.chance(e.date_missing) {
            birth = None;
        }
        let sex = (!self.rng.chance(e.sex_missing)).then_some(t.male);
        // Address.
        let address = if self.rng.chance(e.address_missing) {
            String::new()
        } else {
            let moved;
            let t = if self.rng.chance(e.address_moved) {
                moved = self.person();
                &moved
            } else {
                t
            };
            let (_, province, city, district) = REGIONS[t.region];
            let mut s = String::new();
            let level =
                if self.rng.chance(e.address_abbreviated) { 1 + self.rng.below(2) } else { 0 };
            if level == 0 {
                s.push_str(province);
            }
            if level <= 1 {
                s.push_str(city);
            }
            s.push_str(district);
            s.push_str(STREETS[t.street]);
            s.push_str(&format!("{}号", t.number));
            if let Some((c, building, room)) = t.compound {
                s.push_str(&format!("{}{building}栋{room}室", COMPOUNDS[c]));
            }
            s
        };
        let birth = birth.map_or(String::new(), |d| d.to_string());
        let sex = sex.map_or(String::new(), |m| if m { "M".into() } else { "F".into() });
        [name, id, sex, birth, address]
    }
}

/// Finger positions (ISO/IEC 19794-2) given to a record's prints, in order: the index fingers,
/// which registration offices take first, then the middle fingers, thumbs, ring and little.
pub const PRINT_POSITIONS: [u8; 10] = [2, 7, 3, 8, 1, 6, 4, 9, 5, 10];

/// One print a record of the population carries: which synthetic finger, which impression of it,
/// and where its template goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPrint {
    /// The finger, numbered from 1 across the population: person `p`'s `k`-th finger is
    /// `p · fingers + k + 1`, so one person's fingers are the same in both systems.
    pub finger: u64,
    /// The impression of that finger, from 1. A planted pair's A record carries impression 1 and
    /// its B record impression 2: two captures of the same fingers, never a copy.
    pub impression: u32,
    /// ISO/IEC 19794-2 finger position, as written in the `finger` column.
    pub position: u8,
    /// Path relative to the population folder, as written in the `path` column.
    pub path: String,
}

/// Writes `a.csv`, `b.csv` and `truth.csv` into `dir`.
pub fn write_population(dir: &Path, config: &SynthConfig) -> Result<SynthSummary> {
    write_population_with_prints(dir, config, 0).map(|(summary, _)| summary)
}

/// Writes `a.csv`, `b.csv` and `truth.csv` into `dir` with `fingers` prints per record (0–10):
/// both exports gain `finger,path` columns, one row per print (a record's rows repeat its
/// details), and the prints the rows name are returned for the caller to write. Every person
/// has fingers of their own; a planted pair's two records carry two impressions of the same
/// fingers.
pub fn write_population_with_prints(
    dir: &Path,
    config: &SynthConfig,
    fingers: u8,
) -> Result<(SynthSummary, Vec<PlannedPrint>)> {
    if !(0.0..=1.0).contains(&config.dup_rate) {
        return Err(Error::InvalidParameter {
            name: "dup_rate",
            message: format!("{} is not in 0..=1", config.dup_rate),
        });
    }
    if config.records < 2 {
        return Err(Error::InvalidParameter { name: "records", message: "at least 2".into() });
    }
    if usize::from(fingers) > PRINT_POSITIONS.len() {
        return Err(Error::InvalidParameter {
            name: "fingers",
            message: format!("{fingers} is more than the 10 fingers of a person"),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let n_a = config.records / 2;
    let n_b = config.records - n_a;
    let duplicates = ((config.records as f64 * config.dup_rate / 2.0).round() as usize).min(n_a);
    let mut generator = Generator::new(config.seed, config.errors);
    let open = |name: &str| -> Result<(std::io::BufWriter<std::fs::File>, std::path::PathBuf)> {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        Ok((std::io::BufWriter::with_capacity(1 << 20, file), path))
    };
    let (mut a, a_path) = open("a.csv")?;
    let (mut b, b_path) = open("b.csv")?;
    let (mut truth, truth_path) = open("truth.csv")?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| Error::io(&path, e)
    };
    let print_columns = if fingers > 0 { ",finger,path" } else { "" };
    writeln!(a, "rid,xm,sfzh,xb,csrq,zz{print_columns}").map_err(io(&a_path))?;
    writeln!(b, "record_id,name,id_number,sex,birth_date,address{print_columns}")
        .map_err(io(&b_path))?;
    writeln!(truth, "a_record_id,b_record_id").map_err(io(&truth_path))?;
    let mut prints = Vec::with_capacity(config.records * usize::from(fingers));
    // One row per print (or one row without prints), each repeating the record's details.
    let mut write_rows = |out: &mut std::io::BufWriter<std::fs::File>,
                          details: &str,
                          id: &str,
                          person: usize,
                          impression: u32|
     -> std::io::Result<()> {
        if fingers == 0 {
            return writeln!(out, "{details}");
        }
        for (k, &position) in PRINT_POSITIONS[..usize::from(fingers)].iter().enumerate() {
            // A few hundred files per folder: ids share their leading digits.
            let path = format!("prints/{}/{id}_{position}.rlt", &id[..id.len() - 3]);
            writeln!(out, "{details},{position},{path}")?;
            prints.push(PlannedPrint {
                finger: (person * usize::from(fingers) + k + 1) as u64,
                impression,
                position,
                path,
            });
        }
        Ok(())
    };
    // B's record numbers are a random permutation so that file order says nothing.
    let mut b_ids: Vec<u32> = (0..n_b as u32).collect();
    for i in (1..b_ids.len()).rev() {
        let j = generator.rng.below(i + 1);
        b_ids.swap(i, j);
    }
    // Which A people are also in B: the first `duplicates` of a random selection.
    let mut in_b = vec![false; n_a];
    let mut chosen = 0;
    while chosen < duplicates {
        let i = generator.rng.below(n_a);
        if !in_b[i] {
            in_b[i] = true;
            chosen += 1;
        }
    }
    let mut next_b = 0usize;
    let mut b_row = |g: &mut Generator, t: &Truth| -> (String, String) {
        let id = format!("B{:08}", b_ids[next_b]);
        next_b += 1;
        let [name, idn, sex, birth, address] = g.transcribe(t);
        let details = format!(
            "{id},{},{},{},{},{}",
            csv_field(&name),
            csv_field(&idn),
            sex,
            birth,
            csv_field(&address)
        );
        (id, details)
    };
    for (i, dup) in in_b.iter().enumerate() {
        let t = generator.person();
        let id = format!("A{:08}", i);
        let [name, idn, sex, birth, address] = generator.transcribe(&t);
        let sex = match sex.as_str() {
            "M" => "男",
            "F" => "女",
            _ => "",
        };
        let birth = birth.replace('-', "");
        let details = format!(
            "{id},{},{},{sex},{birth},{}",
            csv_field(&name),
            csv_field(&idn),
            csv_field(&address)
        );
        write_rows(&mut a, &details, &id, i, 1).map_err(io(&a_path))?;
        if *dup {
            let (b_id, details) = b_row(&mut generator, &t);
            write_rows(&mut b, &details, &b_id, i, 2).map_err(io(&b_path))?;
            writeln!(truth, "{id},{b_id}").map_err(io(&truth_path))?;
        }
    }
    // People only in B come after A's people.
    for person in n_a..n_a + (n_b - duplicates) {
        let t = generator.person();
        let (b_id, details) = b_row(&mut generator, &t);
        write_rows(&mut b, &details, &b_id, person, 1).map_err(io(&b_path))?;
    }
    for (mut w, path) in [(a, a_path), (b, b_path), (truth, truth_path)] {
        w.flush().map_err(io(&path))?;
    }
    Ok((SynthSummary { records_a: n_a, records_b: n_b, duplicates, config: *config }, prints))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{read_records, ColumnMap, Person, RawRecord};

    #[test]
    fn every_traditional_form_folds_back() {
        for &(s, t) in TRADITIONAL {
            assert_eq!(crate::text::fold(&t.to_string()), s.to_string(), "{t}");
        }
    }

    #[test]
    fn prints_give_each_person_own_fingers_and_a_planted_pair_two_impressions_of_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config =
            SynthConfig { records: 600, dup_rate: 0.1, seed: 9, errors: ErrorRates::default() };
        let plain = tempfile::tempdir().expect("tempdir");
        write_population(plain.path(), &config).expect("writes");
        let (summary, prints) =
            write_population_with_prints(dir.path(), &config, 2).expect("writes");
        assert_eq!(prints.len(), 2 * 600);
        // The details are the same draws as without prints: only the print columns are added.
        let strip = |path: &Path| -> Vec<String> {
            let text = std::fs::read_to_string(path).expect("read");
            let mut rows: Vec<String> = Vec::new();
            for line in text.lines() {
                let cut = line.rsplitn(3, ',').nth(2).expect("print columns").to_string();
                if rows.last() != Some(&cut) {
                    rows.push(cut);
                }
            }
            rows
        };
        for file in ["a.csv", "b.csv"] {
            let with = strip(&dir.path().join(file));
            let without = std::fs::read_to_string(plain.path().join(file)).expect("read");
            assert_eq!(
                with[1..],
                without.lines().skip(1).map(String::from).collect::<Vec<_>>()[..]
            );
        }
        let map = ColumnMap::parse(
            "record_id=rid,name=xm,id_number=sfzh,sex=xb,birth_date=csrq,address=zz",
        )
        .expect("map");
        let a = read_records(&dir.path().join("a.csv"), &map).expect("a");
        let b = read_records(&dir.path().join("b.csv"), &ColumnMap::default()).expect("b");
        assert_eq!((a.len(), b.len()), (300, 300));
        let by_path: HashMap<&str, &PlannedPrint> =
            prints.iter().map(|p| (p.path.as_str(), p)).collect();
        let fingers_of = |r: &RawRecord| -> Vec<(u64, u32)> {
            assert_eq!(r.prints.iter().map(|p| p.finger).collect::<Vec<_>>(), vec![2, 7]);
            r.prints
                .iter()
                .map(|p| by_path[p.path.as_str()])
                .map(|p| (p.finger, p.impression))
                .collect()
        };
        let a_fingers: HashMap<&str, Vec<(u64, u32)>> =
            a.iter().map(|r| (r.record_id.as_str(), fingers_of(r))).collect();
        let b_fingers: HashMap<&str, Vec<(u64, u32)>> =
            b.iter().map(|r| (r.record_id.as_str(), fingers_of(r))).collect();
        let truth = crate::eval::read_pairs(&dir.path().join("truth.csv")).expect("truth");
        assert_eq!(truth.len(), summary.duplicates);
        let mut mates = HashSet::new();
        for (x, y) in &truth {
            let (fa, fb) = (&a_fingers[x.as_str()], &b_fingers[y.as_str()]);
            assert_eq!(
                fa.iter().map(|f| f.0).collect::<Vec<_>>(),
                fb.iter().map(|f| f.0).collect::<Vec<_>>()
            );
            assert!(fa.iter().all(|f| f.1 == 1) && fb.iter().all(|f| f.1 == 2));
            mates.insert(y.as_str());
        }
        // Everyone else has fingers no other record has.
        let mut seen = HashSet::new();
        for (id, fingers) in
            a_fingers.iter().chain(b_fingers.iter().filter(|(id, _)| !mates.contains(*id)))
        {
            for f in fingers {
                assert!(seen.insert(f.0), "finger {} of {id} is also another person's", f.0);
            }
        }
        assert!(write_population_with_prints(dir.path(), &config, 11).is_err());
    }

    #[test]
    fn error_free_people_have_valid_numbers_that_agree_with_their_fields() {
        let errors = ErrorRates {
            homophone: 0.0,
            traditional: 0.0,
            name_typo: 0.0,
            name_missing: 0.0,
            id_15_digit: 0.0,
            id_swap: 0.0,
            id_typo: 0.0,
            id_missing: 0.0,
            date_transposed: 0.0,
            date_typo: 0.0,
            date_missing: 0.0,
            sex_missing: 0.0,
            address_abbreviated: 0.0,
            address_moved: 0.0,
            address_missing: 0.0,
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let config = SynthConfig { records: 400, dup_rate: 0.1, seed: 3, errors };
        let summary = write_population(dir.path(), &config).expect("writes");
        assert_eq!((summary.records_a, summary.records_b, summary.duplicates), (200, 200, 20));
        let map = ColumnMap::parse(
            "record_id=rid,name=xm,id_number=sfzh,sex=xb,birth_date=csrq,address=zz",
        )
        .expect("map");
        let a = read_records(&dir.path().join("a.csv"), &map).expect("a");
        let b = read_records(&dir.path().join("b.csv"), &ColumnMap::default()).expect("b");
        assert_eq!((a.len(), b.len()), (200, 200));
        for raw in a.into_iter().chain(b) {
            let p = Person::prepare(raw);
            assert_eq!(p.flags, 0, "{p:?}");
        }
        let truth = crate::eval::read_pairs(&dir.path().join("truth.csv")).expect("truth");
        assert_eq!(truth.len(), 20);
    }

    #[test]
    fn clerk_errors_happen_at_about_their_rates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config =
            SynthConfig { records: 20_000, dup_rate: 0.05, seed: 5, errors: ErrorRates::default() };
        write_population(dir.path(), &config).expect("writes");
        let b = read_records(&dir.path().join("b.csv"), &ColumnMap::default()).expect("b");
        let people: Vec<Person> = b.into_iter().map(Person::prepare).collect();
        let n = people.len() as f64;
        let missing_id = people.iter().filter(|p| p.id_number.is_none()).count() as f64 / n;
        let invalid =
            people.iter().filter(|p| p.flags & crate::record::flags::INVALID_ID != 0).count()
                as f64
                / n;
        let fifteen =
            people.iter().filter(|p| p.flags & crate::record::flags::FIFTEEN_DIGIT_ID != 0).count()
                as f64
                / n;
        assert!((missing_id - 0.02).abs() < 0.006, "missing {missing_id}");
        // Swaps of equal digits and typos that happen to keep the check character are invisible.
        assert!(invalid > 0.02 && invalid < 0.04, "invalid {invalid}");
        assert!(fifteen > 0.03 && fifteen < 0.06, "15-digit {fifteen}");
    }
}

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

/// Writes `a.csv`, `b.csv` and `truth.csv` into `dir`.
pub fn write_population(dir: &Path, config: &SynthConfig) -> Result<SynthSummary> {
    if !(0.0..=1.0).contains(&config.dup_rate) {
        return Err(Error::InvalidParameter {
            name: "dup_rate",
            message: format!("{} is not in 0..=1", config.dup_rate),
        });
    }
    if config.records < 2 {
        return Err(Error::InvalidParameter { name: "records", message: "at least 2".into() });
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
    writeln!(a, "rid,xm,sfzh,xb,csrq,zz").map_err(io(&a_path))?;
    writeln!(b, "record_id,name,id_number,sex,birth_date,address").map_err(io(&b_path))?;
    writeln!(truth, "a_record_id,b_record_id").map_err(io(&truth_path))?;
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
    let mut write_b = |g: &mut Generator,
                       t: &Truth,
                       b: &mut std::io::BufWriter<std::fs::File>|
     -> Result<String> {
        let id = format!("B{:08}", b_ids[next_b]);
        next_b += 1;
        let [name, idn, sex, birth, address] = g.transcribe(t);
        writeln!(
            b,
            "{id},{},{},{},{},{}",
            csv_field(&name),
            csv_field(&idn),
            sex,
            birth,
            csv_field(&address)
        )
        .map_err(io(&b_path))?;
        Ok(id)
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
        writeln!(
            a,
            "{id},{},{},{sex},{birth},{}",
            csv_field(&name),
            csv_field(&idn),
            csv_field(&address)
        )
        .map_err(io(&a_path))?;
        if *dup {
            let b_id = write_b(&mut generator, &t, &mut b)?;
            writeln!(truth, "{id},{b_id}").map_err(io(&truth_path))?;
        }
    }
    for _ in duplicates..n_b {
        let t = generator.person();
        write_b(&mut generator, &t, &mut b)?;
    }
    for (mut w, path) in [(a, a_path), (b, b_path), (truth, truth_path)] {
        w.flush().map_err(io(&path))?;
    }
    Ok(SynthSummary { records_a: n_a, records_b: n_b, duplicates, config: *config })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{read_records, ColumnMap, Person};

    #[test]
    fn every_traditional_form_folds_back() {
        for &(s, t) in TRADITIONAL {
            assert_eq!(crate::text::fold(&t.to_string()), s.to_string(), "{t}");
        }
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

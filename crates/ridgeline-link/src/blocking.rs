//! Blocking: which record pairs are compared at all.
//!
//! Comparing every record of one system with every record of the other is `n²`; instead a
//! pair is a candidate when the two records agree on at least one blocking key. Several keys,
//! each robust to different errors, together keep nearly every true pair while proposing a few
//! candidates per record:
//!
//! | key | survives |
//! |---|---|
//! | identity number (17-digit body, 15-digit numbers upgraded) | name and date errors |
//! | region code of the number + birth date | a mistyped or 15/18-digit number, a changed name |
//! | surname in pinyin + birth date | a wrong number, homophone given names |
//! | full name in pinyin + birth year | a wrong number and a slipped date |
//! | identity number with one window of four characters left out | one mistyped digit or two swapped ones, with the date missing or wrong too |
//! | full name in pinyin + district | a missing or wrong number and date |
//! | birth date + district | a missing or wrong number and name |
//!
//! A record can hold several values of one key: every key with a birth date takes both the
//! date field and the date written in the identity number (valid or not) where they differ, so
//! a missing or mistyped date field still meets the other record's number; the one-edit key
//! has one value per window. The windows (characters 0–3, 3–6, 6–9, 9–12, 12–15, 15–17)
//! overlap by one, so that any one character, and any two adjacent ones, lie inside one of
//! them: two numbers one slip apart share the key of that window.
//!
//! A pair that agrees on several keys (or values) is proposed once, by the first of them: when
//! value `v` of key `k` proposes a pair, it is skipped if the two records also share an earlier
//! key, or an earlier value of key `k`. The join is on 64-bit hashes of the keys, and so is
//! that test, so a hash collision can only add a candidate, never lose one.

use rayon::prelude::*;

use crate::date::Date;
use crate::record::Person;

/// A blocking key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockingKey {
    /// The identity number's 17-digit body.
    IdNumber,
    /// Region code of the identity number and the birth date.
    RegionBirthDate,
    /// Pinyin of the surname and the birth date.
    SurnameBirthDate,
    /// Pinyin of the whole name and the birth year.
    NameBirthYear,
    /// The identity number as written with one window of characters left out, per window.
    IdNumberOneEdit,
    /// Pinyin of the whole name and the district or county of the address.
    NameDistrict,
    /// Birth date and the district or county of the address.
    BirthDateDistrict,
}

/// The keys used by default, in the order that decides which proposes a pair.
pub const DEFAULT_KEYS: [BlockingKey; 7] = [
    BlockingKey::IdNumber,
    BlockingKey::RegionBirthDate,
    BlockingKey::SurnameBirthDate,
    BlockingKey::NameBirthYear,
    BlockingKey::IdNumberOneEdit,
    BlockingKey::NameDistrict,
    BlockingKey::BirthDateDistrict,
];

/// Most keys one blocking uses: [`Candidate::shared`] has a bit per key.
pub const MAX_KEYS: usize = 8;

/// Characters of an 18-character identity number left out by each value of
/// [`BlockingKey::IdNumberOneEdit`]: windows overlapping by one, so that every single character
/// and every pair of adjacent characters lies inside one window.
const ONE_EDIT_WINDOWS: [std::ops::Range<usize>; 6] = [0..4, 3..7, 6..10, 9..13, 12..16, 15..18];

/// Most values one record has for one key.
const MAX_VALUES: usize = ONE_EDIT_WINDOWS.len();

/// The values of one key for one record: distinct non-zero hashes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyValues {
    hashes: [u64; MAX_VALUES],
    len: u8,
}

impl KeyValues {
    fn push(&mut self, h: Fnv) {
        let h = h.finish().max(1);
        if !self.as_slice().contains(&h) && (self.len as usize) < MAX_VALUES {
            self.hashes[self.len as usize] = h;
            self.len += 1;
        }
    }

    /// The hashes, each non-zero (0 marks "none" in the key tables).
    pub fn as_slice(&self) -> &[u64] {
        &self.hashes[..self.len as usize]
    }

    /// Whether the record has no value (a part of the key is missing).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl BlockingKey {
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            BlockingKey::IdNumber => "id_number",
            BlockingKey::RegionBirthDate => "region+birth_date",
            BlockingKey::SurnameBirthDate => "surname_pinyin+birth_date",
            BlockingKey::NameBirthYear => "name_pinyin+birth_year",
            BlockingKey::IdNumberOneEdit => "id_number_one_edit",
            BlockingKey::NameDistrict => "name_pinyin+district",
            BlockingKey::BirthDateDistrict => "birth_date+district",
        }
    }

    /// Indices (in [`crate::compare::FIELDS`]) of the fields the key conditions on: its
    /// candidates agree on them (or nearly) whether they are matches or not.
    pub fn fields(self) -> &'static [usize] {
        match self {
            BlockingKey::IdNumber => &[1],
            // The region code names the district, which the address names too; numbers one
            // slip apart share most of their region and date.
            BlockingKey::RegionBirthDate | BlockingKey::IdNumberOneEdit => &[1, 2, 4],
            BlockingKey::SurnameBirthDate | BlockingKey::NameBirthYear => &[0, 2],
            BlockingKey::NameDistrict => &[0, 4],
            BlockingKey::BirthDateDistrict => &[2, 4],
        }
    }

    /// Whether the pairs sharing this key estimate the fields' `m` (see [`crate::linker`]).
    /// The keys that rescue a pair with a slipped number or through the district do not: few
    /// of their pairs are matches, and what they leave to tell them apart (name and sex, or
    /// number, date and sex, among people of one district) does not separate the two classes;
    /// with them, EM put every other pair of one district and birth date in the match class
    /// and `m` of a different name rose from 0.6 % to 45 %.
    pub fn estimates_m(self) -> bool {
        !matches!(
            self,
            BlockingKey::IdNumberOneEdit
                | BlockingKey::NameDistrict
                | BlockingKey::BirthDateDistrict
        )
    }

    /// Values a record holds for this key at most.
    fn width(self) -> usize {
        match self {
            BlockingKey::IdNumber | BlockingKey::NameDistrict => 1,
            BlockingKey::IdNumberOneEdit => ONE_EDIT_WINDOWS.len(),
            _ => 2,
        }
    }

    /// Hashes of the key's values for a record; empty when a part is missing.
    pub fn values(self, p: &Person) -> KeyValues {
        let mut out = KeyValues::default();
        let tagged = || Fnv::new(self as u8);
        let name = p.name.as_ref();
        let district = p.address.as_ref().and_then(|a| a.locality());
        match self {
            BlockingKey::IdNumber => {
                if let Some(id) = p.id_number.as_ref().filter(|id| id.canonical.is_some()) {
                    let mut h = tagged();
                    h.write(id.body.as_bytes());
                    out.push(h);
                }
            }
            BlockingKey::RegionBirthDate => {
                if let Some(region) = p.id_number.as_ref().and_then(|id| id.region()) {
                    for date in birth_dates(p) {
                        let mut h = tagged();
                        h.write(region.as_bytes());
                        h.write(&date.packed().to_le_bytes());
                        out.push(h);
                    }
                }
            }
            BlockingKey::SurnameBirthDate => {
                if let Some(surname) = name.map(|n| n.surname_pinyin()).filter(|s| !s.is_empty()) {
                    for date in birth_dates(p) {
                        let mut h = tagged();
                        h.write(surname.as_bytes());
                        h.write(&date.packed().to_le_bytes());
                        out.push(h);
                    }
                }
            }
            BlockingKey::NameBirthYear => {
                if let Some(name) = name {
                    for date in birth_dates(p) {
                        let mut h = tagged();
                        h.write(name.pinyin.as_bytes());
                        h.write(&date.year().to_le_bytes());
                        out.push(h);
                    }
                }
            }
            BlockingKey::IdNumberOneEdit => {
                // Any 18 characters, even with a letter typed into the digits.
                let written = p.id_number.as_ref().map(|id| id.written().as_bytes());
                if let Some(written) = written.filter(|w| w.len() == 18) {
                    for (w, window) in ONE_EDIT_WINDOWS.iter().enumerate() {
                        let mut h = tagged();
                        h.write(&[w as u8]);
                        h.write(&written[..window.start]);
                        h.write(&written[window.end..]);
                        out.push(h);
                    }
                }
            }
            BlockingKey::NameDistrict => {
                if let (Some(name), Some(district)) = (name, district) {
                    let mut h = tagged();
                    h.write(name.pinyin.as_bytes());
                    h.write(&district.to_le_bytes());
                    out.push(h);
                }
            }
            BlockingKey::BirthDateDistrict => {
                if let Some(district) = district {
                    for date in birth_dates(p) {
                        let mut h = tagged();
                        h.write(&date.packed().to_le_bytes());
                        h.write(&district.to_le_bytes());
                        out.push(h);
                    }
                }
            }
        }
        out
    }
}

/// The birth dates a record gives: the field (or, where it is empty, a valid number's date)
/// and the date written in the identity number, valid or not, where it differs.
fn birth_dates(p: &Person) -> impl Iterator<Item = Date> {
    let written = p.id_number.as_ref().and_then(|id| id.birth_date);
    p.birth_date.into_iter().chain(written.filter(|&d| Some(d) != p.birth_date))
}

struct Fnv(u64);

impl Fnv {
    fn new(tag: u8) -> Fnv {
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        h.write(&[tag]);
        h
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // A separator so that ("ab","c") and ("a","bc") differ.
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A candidate pair: indices into the two record lists and the key that proposed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Index in the first system.
    pub a: u32,
    /// Index in the second system.
    pub b: u32,
    /// Index of the proposing key in the key list.
    pub key: u8,
    /// Bit `k` set when the two records share key `k` (the proposing key and any later one).
    pub shared: u8,
}

/// Every record's values of every key, in one flat table: per record a row of each key's
/// [`BlockingKey::width`] slots, unused slots 0.
struct KeyTable {
    /// Where each key's slots start within a row, and the row's length last.
    starts: Vec<usize>,
    slots: Vec<u64>,
}

impl KeyTable {
    fn new(records: &[Person], keys: &[BlockingKey]) -> KeyTable {
        let mut starts = vec![0];
        for k in keys {
            starts.push(starts.last().copied().unwrap_or(0) + k.width());
        }
        let row = starts.last().copied().unwrap_or(0);
        let mut slots = vec![0u64; records.len() * row];
        slots.par_chunks_mut(row.max(1)).zip(records.par_iter()).for_each(|(out, p)| {
            for (k, key) in keys.iter().enumerate() {
                let values = key.values(p);
                let values = values.as_slice();
                debug_assert!(
                    values.len() <= key.width(),
                    "{} values of {}",
                    values.len(),
                    key.name()
                );
                let n = values.len().min(key.width());
                out[starts[k]..starts[k] + n].copy_from_slice(&values[..n]);
            }
        });
        KeyTable { starts, slots }
    }

    /// The values of key `k` of record `r` (zero-padded).
    fn values(&self, r: usize, k: usize) -> &[u64] {
        let row = self.starts.last().copied().unwrap_or(0);
        &self.slots[r * row + self.starts[k]..r * row + self.starts[k + 1]]
    }
}

/// Whether two records share a value of a key: `a` holds non-zero values only, `b` may be
/// zero-padded.
fn share(a: &[u64], b: &[u64]) -> bool {
    a.iter().any(|h| b.contains(h))
}

/// Calls `visit(a, b, key)` for every candidate pair, each pair once, in parallel over the
/// records of `a`; `visit` returns the items to collect for its pair (e.g. the comparison).
/// Uses the first [`MAX_KEYS`] of `keys` (the linker refuses more).
pub fn for_each_candidate<T, F>(
    a: &[Person],
    b: &[Person],
    keys: &[BlockingKey],
    visit: F,
) -> Vec<T>
where
    T: Send,
    F: Fn(Candidate) -> Option<T> + Sync,
{
    let nk = keys.len().min(MAX_KEYS);
    let keys = &keys[..nk];
    let b_keys = KeyTable::new(b, keys);
    // Per key, the values of `b`'s records sorted by hash: a join by binary search, in one
    // flat allocation per key rather than a map of vectors.
    let sorted: Vec<Vec<(u64, u32)>> = (0..nk)
        .map(|k| {
            let mut v: Vec<(u64, u32)> = (0..b.len())
                .flat_map(|j| {
                    b_keys.values(j, k).iter().filter(|&&h| h != 0).map(move |&h| (h, j as u32))
                })
                .collect();
            v.par_sort_unstable();
            v
        })
        .collect();
    a.par_iter()
        .enumerate()
        .fold(Vec::new, |mut out, (i, pa)| {
            let a_keys: Vec<KeyValues> = keys.iter().map(|k| k.values(pa)).collect();
            for (k, values) in a_keys.iter().enumerate() {
                let table = &sorted[k];
                for (v, &h) in values.as_slice().iter().enumerate() {
                    let start = table.partition_point(|&(x, _)| x < h);
                    for &(x, j) in &table[start..] {
                        if x != h {
                            break;
                        }
                        let j_at = j as usize;
                        let earlier = (0..k)
                            .any(|e| share(a_keys[e].as_slice(), b_keys.values(j_at, e)))
                            || share(&values.as_slice()[..v], b_keys.values(j_at, k));
                        if earlier {
                            continue;
                        }
                        let shared = (k..nk)
                            .filter(|&e| share(a_keys[e].as_slice(), b_keys.values(j_at, e)))
                            .fold(0u8, |m, e| m | 1 << e);
                        if let Some(item) =
                            visit(Candidate { a: i as u32, b: j, key: k as u8, shared })
                        {
                            out.push(item);
                        }
                    }
                }
            }
            out
        })
        .reduce(Vec::new, |mut x, mut y| {
            if x.len() < y.len() {
                std::mem::swap(&mut x, &mut y);
            }
            x.extend(y);
            x
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RawRecord;
    use crate::rng::SplitMix;

    fn person(name: &str, id: &str, birth: &str) -> Person {
        resident(name, id, birth, "")
    }

    fn resident(name: &str, id: &str, birth: &str, address: &str) -> Person {
        Person::prepare(RawRecord {
            record_id: String::new(),
            name: name.into(),
            id_number: id.into(),
            birth_date: birth.into(),
            address: address.into(),
            ..RawRecord::default()
        })
    }

    fn joined(key: BlockingKey, a: &Person, b: &Person) -> bool {
        share(key.values(a).as_slice(), key.values(b).as_slice())
    }

    #[test]
    fn keys_survive_the_errors_they_are_for() {
        let a = person("张伟", "11010519491231002X", "1949-12-31");
        // Homophone surname, 15-digit number: the number key still joins.
        let b = person("章伟", "110105491231002", "");
        assert!(joined(BlockingKey::IdNumber, &a, &b));
        // Number mistyped: region + birth date and surname + birth date still join.
        let c = person("张伟", "11010519491231007X", "1949-12-31");
        assert!(!joined(BlockingKey::IdNumber, &a, &c));
        assert!(joined(BlockingKey::RegionBirthDate, &a, &c));
        // Date slipped and number missing: name + year joins.
        let d = person("張偉", "", "1949-12-13");
        assert!(joined(BlockingKey::NameBirthYear, &a, &d));
        assert!(BlockingKey::IdNumber.values(&d).is_empty());
    }

    /// One slip in the number (every position, and every adjacent swap) with the date field
    /// missing on one side: the one-edit key joins, and so does nothing else of the number's.
    #[test]
    fn one_slip_in_the_number_still_joins() {
        let number = "11010519491231002X";
        let a = person("张伟", number, "1949-12-31");
        for at in 0..number.len() {
            let mut slipped = number.as_bytes().to_vec();
            slipped[at] = if slipped[at] == b'7' { b'8' } else { b'7' };
            let b = person("李强", std::str::from_utf8(&slipped).expect("ascii"), "");
            assert!(joined(BlockingKey::IdNumberOneEdit, &a, &b), "digit {at}");
            if at + 1 < number.len() && slipped[at] != slipped[at + 1] {
                let mut swapped = number.as_bytes().to_vec();
                swapped.swap(at, at + 1);
                let b = person("李强", std::str::from_utf8(&swapped).expect("ascii"), "");
                assert!(joined(BlockingKey::IdNumberOneEdit, &a, &b), "swap at {at}");
            }
        }
        // Two slips far apart: no window covers both.
        let twice = person("李强", "11010619491231003X", "");
        assert!(!joined(BlockingKey::IdNumberOneEdit, &a, &twice));
    }

    /// A date field that is missing or wrong still meets the date in the other record's
    /// number, even when that number's check digit is wrong.
    #[test]
    fn the_date_in_the_number_stands_in_for_the_field() {
        let a = person("魏明", "", "1963-11-29");
        let b = person("魏明", "310115196311299390", "1968-11-29");
        assert!(joined(BlockingKey::SurnameBirthDate, &a, &b));
        assert!(joined(BlockingKey::NameBirthYear, &a, &b));
    }

    /// With neither number nor date on one side, the district joins a name or a date.
    #[test]
    fn the_district_joins_a_name_or_a_date() {
        let full = resident("张闻强", "410102199802219297", "", "河南省郑州市中原区幸福路49号");
        let bare = resident("张文强", "", "", "中原区幸福路49号");
        assert!(joined(BlockingKey::NameDistrict, &full, &bare));
        let nameless = resident("", "", "1998-02-21", "郑州市中原区建设路1号");
        assert!(joined(BlockingKey::BirthDateDistrict, &full, &nameless));
        let elsewhere = resident("张文强", "", "1998-02-21", "河南省郑州市金水区幸福路49号");
        assert!(!joined(BlockingKey::NameDistrict, &full, &elsewhere));
        assert!(!joined(BlockingKey::BirthDateDistrict, &full, &elsewhere));
    }

    /// Every pair that shares any blocking key is proposed exactly once, with the keys it
    /// shares, compared with a brute-force scan of all pairs.
    #[test]
    fn blocking_never_drops_a_pair_sharing_a_key() {
        let surnames = ["张", "章", "王", "汪", "李"];
        let given = ["伟", "丽", "立", "娜", "强"];
        let districts = ["北京市朝阳区建国路1号", "广西壮族自治区南宁市兴宁区长江路6号"];
        let mut rng = SplitMix::new(11);
        let make = |rng: &mut SplitMix| {
            let name = format!("{}{}", surnames[rng.below(5)], given[rng.below(5)]);
            let day = 1 + rng.below(3);
            let region = ["110105", "440305"][rng.below(2)];
            let body = format!("{region}1990010{day}{:03}", rng.below(4));
            let mut id = format!("{body}{}", rng.below(3));
            if rng.chance(0.2) {
                id.clear();
            } else if rng.chance(0.3) {
                // A clerk's swap of two adjacent digits.
                let at = rng.below(17);
                let mut bytes = id.into_bytes();
                bytes.swap(at, at + 1);
                id = String::from_utf8(bytes).expect("ascii");
            }
            let birth = if rng.chance(0.2) { String::new() } else { format!("1990-01-0{day}") };
            let address = if rng.chance(0.2) { "" } else { districts[rng.below(2)] };
            resident(&name, &id, &birth, address)
        };
        let a: Vec<Person> = (0..150).map(|_| make(&mut rng)).collect();
        let b: Vec<Person> = (0..150).map(|_| make(&mut rng)).collect();
        let mut found =
            for_each_candidate(&a, &b, &DEFAULT_KEYS, |c| Some((c.a, c.b, c.key, c.shared)));
        found.sort_unstable();
        let before = found.len();
        found.dedup_by_key(|&mut (x, y, _, _)| (x, y));
        assert_eq!(before, found.len(), "a pair was proposed twice");
        let mut expected = Vec::new();
        for (i, pa) in a.iter().enumerate() {
            for (j, pb) in b.iter().enumerate() {
                let shared = DEFAULT_KEYS
                    .iter()
                    .enumerate()
                    .filter(|&(_, &k)| joined(k, pa, pb))
                    .fold(0u8, |m, (e, _)| m | 1 << e);
                if shared != 0 {
                    let first = shared.trailing_zeros() as u8;
                    expected.push((i as u32, j as u32, first, shared));
                }
            }
        }
        for (k, key) in DEFAULT_KEYS.iter().enumerate() {
            let first = expected.iter().filter(|e| e.2 == k as u8).count();
            assert!(first > 0, "no pair is proposed first by {}", key.name());
        }
        assert!(expected.len() > 500, "the test population must share keys: {}", expected.len());
        assert_eq!(found, expected);
    }
}

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
//!
//! A pair that agrees on several keys is proposed once, by the first of them: when key `k`
//! proposes a pair, it is skipped if the two records also share an earlier key. The join is
//! on 64-bit hashes of the keys, and so is that test, so a hash collision can only add a
//! candidate, never lose one.

use rayon::prelude::*;

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
}

/// The keys used by default, in the order that decides which proposes a pair.
pub const DEFAULT_KEYS: [BlockingKey; 4] = [
    BlockingKey::IdNumber,
    BlockingKey::RegionBirthDate,
    BlockingKey::SurnameBirthDate,
    BlockingKey::NameBirthYear,
];

impl BlockingKey {
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            BlockingKey::IdNumber => "id_number",
            BlockingKey::RegionBirthDate => "region+birth_date",
            BlockingKey::SurnameBirthDate => "surname_pinyin+birth_date",
            BlockingKey::NameBirthYear => "name_pinyin+birth_year",
        }
    }

    /// Indices (in [`crate::compare::FIELDS`]) of the fields the key conditions on: its
    /// candidates agree on them (or nearly) whether they are matches or not.
    pub fn fields(self) -> &'static [usize] {
        match self {
            BlockingKey::IdNumber => &[1],
            // The region code names the district, which the address names too.
            BlockingKey::RegionBirthDate => &[1, 2, 4],
            BlockingKey::SurnameBirthDate | BlockingKey::NameBirthYear => &[0, 2],
        }
    }

    /// Hash of the key of a record; `None` when a part is missing. Never 0 (0 marks "none" in
    /// the key tables).
    pub fn key(self, p: &Person) -> Option<u64> {
        let mut h = Fnv::new(self as u8);
        match self {
            BlockingKey::IdNumber => {
                let id = p.id_number.as_ref().filter(|id| id.canonical.is_some())?;
                h.write(id.body.as_bytes());
            }
            BlockingKey::RegionBirthDate => {
                let region = p.id_number.as_ref().and_then(|id| id.region())?;
                h.write(region.as_bytes());
                h.write(&p.birth_date?.packed().to_le_bytes());
            }
            BlockingKey::SurnameBirthDate => {
                let surname =
                    p.name.as_ref().map(|n| n.surname_pinyin()).filter(|s| !s.is_empty())?;
                h.write(surname.as_bytes());
                h.write(&p.birth_date?.packed().to_le_bytes());
            }
            BlockingKey::NameBirthYear => {
                let name = p.name.as_ref()?;
                h.write(name.pinyin.as_bytes());
                h.write(&p.birth_date?.year().to_le_bytes());
            }
        }
        Some(h.finish().max(1))
    }
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

/// Keys of every record for every blocking key (0 = missing), row-major.
fn key_table(records: &[Person], keys: &[BlockingKey]) -> Vec<u64> {
    records.par_iter().flat_map_iter(|p| keys.iter().map(move |k| k.key(p).unwrap_or(0))).collect()
}

/// Calls `visit(a, b, key)` for every candidate pair, each pair once, in parallel over the
/// records of `a`; `visit` returns the items to collect for its pair (e.g. the comparison).
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
    let nk = keys.len();
    let b_keys = key_table(b, keys);
    // Per key, the records of `b` sorted by key hash: a join by binary search, in one flat
    // allocation per key rather than a map of vectors.
    let sorted: Vec<Vec<(u64, u32)>> = (0..nk)
        .map(|k| {
            let mut v: Vec<(u64, u32)> = (0..b.len())
                .filter_map(|j| {
                    let h = b_keys[j * nk + k];
                    (h != 0).then_some((h, j as u32))
                })
                .collect();
            v.par_sort_unstable();
            v
        })
        .collect();
    a.par_iter()
        .enumerate()
        .fold(Vec::new, |mut out, (i, pa)| {
            let a_keys: Vec<u64> = keys.iter().map(|k| k.key(pa).unwrap_or(0)).collect();
            for (k, &h) in a_keys.iter().enumerate() {
                if h == 0 {
                    continue;
                }
                let table = &sorted[k];
                let start = table.partition_point(|&(x, _)| x < h);
                for &(x, j) in &table[start..] {
                    if x != h {
                        break;
                    }
                    let bk = &b_keys[j as usize * nk..(j as usize + 1) * nk];
                    let earlier = (0..k).any(|e| a_keys[e] != 0 && a_keys[e] == bk[e]);
                    if earlier {
                        continue;
                    }
                    let shared = (k..nk)
                        .filter(|&e| a_keys[e] != 0 && a_keys[e] == bk[e])
                        .fold(0u8, |m, e| m | 1 << e);
                    if let Some(item) = visit(Candidate { a: i as u32, b: j, key: k as u8, shared })
                    {
                        out.push(item);
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
        Person::prepare(RawRecord {
            record_id: String::new(),
            name: name.into(),
            id_number: id.into(),
            birth_date: birth.into(),
            ..RawRecord::default()
        })
    }

    #[test]
    fn keys_survive_the_errors_they_are_for() {
        let a = person("张伟", "11010519491231002X", "1949-12-31");
        // Homophone surname, 15-digit number: the number key still joins.
        let b = person("章伟", "110105491231002", "");
        assert_eq!(BlockingKey::IdNumber.key(&a), BlockingKey::IdNumber.key(&b));
        // Number mistyped: region + birth date and surname + birth date still join.
        let c = person("张伟", "11010519491231007X", "1949-12-31");
        assert_ne!(BlockingKey::IdNumber.key(&a), BlockingKey::IdNumber.key(&c));
        assert_eq!(BlockingKey::RegionBirthDate.key(&a), BlockingKey::RegionBirthDate.key(&c));
        // Date slipped and number missing: name + year joins.
        let d = person("張偉", "", "1949-12-13");
        assert_eq!(BlockingKey::NameBirthYear.key(&a), BlockingKey::NameBirthYear.key(&d));
        assert_eq!(BlockingKey::IdNumber.key(&d), None);
    }

    /// Every pair that shares any blocking key is proposed exactly once, compared with a
    /// brute-force scan of all pairs.
    #[test]
    fn blocking_never_drops_a_pair_sharing_a_key() {
        let surnames = ["张", "章", "王", "汪", "李"];
        let given = ["伟", "丽", "立", "娜", "强"];
        let mut rng = SplitMix::new(11);
        let make = |rng: &mut SplitMix| {
            let name = format!("{}{}", surnames[rng.below(5)], given[rng.below(5)]);
            let day = 1 + rng.below(3);
            let region = ["110105", "440305"][rng.below(2)];
            let body = format!("{region}1990010{day}{:03}", rng.below(4));
            let id = if rng.chance(0.2) { String::new() } else { format!("{body}0") };
            let birth = if rng.chance(0.2) { String::new() } else { format!("1990-01-0{day}") };
            person(&name, &id, &birth)
        };
        let a: Vec<Person> = (0..150).map(|_| make(&mut rng)).collect();
        let b: Vec<Person> = (0..150).map(|_| make(&mut rng)).collect();
        let mut found = for_each_candidate(&a, &b, &DEFAULT_KEYS, |c| Some((c.a, c.b)));
        found.sort_unstable();
        let before = found.len();
        found.dedup();
        assert_eq!(before, found.len(), "a pair was proposed twice");
        let mut expected = Vec::new();
        for (i, pa) in a.iter().enumerate() {
            for (j, pb) in b.iter().enumerate() {
                let shares =
                    DEFAULT_KEYS.iter().any(|k| k.key(pa).is_some() && k.key(pa) == k.key(pb));
                if shares {
                    expected.push((i as u32, j as u32));
                }
            }
        }
        assert!(expected.len() > 500, "the test population must share keys: {}", expected.len());
        assert_eq!(found, expected);
    }
}

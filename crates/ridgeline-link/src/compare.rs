//! Comparison vectors: one level per field for a pair of records.
//!
//! The levels of every field are ordered best first; a field empty on either side is
//! *missing* and carries no evidence. A vector is packed into a [`Pattern`] (mixed radix, the
//! missing value one past the last level), so that the millions of candidate pairs reduce to
//! at most [`PATTERNS`] distinct vectors for estimation.

use crate::record::Person;

/// Fields compared, in vector order.
pub const FIELDS: [&str; 5] = ["name", "id_number", "birth_date", "sex", "address"];
/// Number of levels of each field.
pub const LEVELS: [usize; 5] = [4, 3, 4, 2, 4];
/// Names of the levels of each field, best first.
pub const LEVEL_NAMES: [&[&str]; 5] = [
    &["exact", "same_sound", "similar", "different"],
    &["exact", "one_edit", "different"],
    &["exact", "slip", "same_year", "different"],
    &["same", "different"],
    &["exact", "most_tokens", "same_locality", "different"],
];
/// Number of distinct patterns.
pub const PATTERNS: usize =
    (LEVELS[0] + 1) * (LEVELS[1] + 1) * (LEVELS[2] + 1) * (LEVELS[3] + 1) * (LEVELS[4] + 1);

/// A packed comparison vector.
pub type Pattern = u16;

/// Level per field, `None` where the field is missing on either side.
pub type Vector = [Option<u8>; 5];

/// Compares two records field by field.
pub fn compare(a: &Person, b: &Person) -> Vector {
    fn both<T, R>(x: &Option<T>, y: &Option<T>, f: impl Fn(&T, &T) -> R) -> Option<R> {
        Some(f(x.as_ref()?, y.as_ref()?))
    }
    [
        both(&a.name, &b.name, |x, y| x.compare(y) as u8),
        both(&a.id_number, &b.id_number, |x, y| x.compare(y) as u8),
        both(&a.birth_date, &b.birth_date, |x, y| x.compare(*y) as u8),
        both(&a.sex, &b.sex, |x, y| u8::from(x != y)),
        both(&a.address, &b.address, |x, y| x.compare(y) as u8),
    ]
}

/// Packs a vector.
pub fn encode(v: &Vector) -> Pattern {
    let mut p = 0usize;
    for (f, level) in v.iter().enumerate() {
        p = p * (LEVELS[f] + 1) + level.map_or(LEVELS[f], usize::from);
    }
    p as Pattern
}

/// Unpacks a pattern.
pub fn decode(pattern: Pattern) -> Vector {
    let mut p = pattern as usize;
    let mut v = [None; 5];
    for f in (0..FIELDS.len()).rev() {
        let radix = LEVELS[f] + 1;
        let level = p % radix;
        p /= radix;
        v[f] = (level < LEVELS[f]).then_some(level as u8);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_round_trip() {
        for p in 0..PATTERNS {
            let v = decode(p as Pattern);
            assert_eq!(encode(&v) as usize, p);
        }
        assert_eq!(
            decode(encode(&[Some(0), None, Some(3), Some(1), None])),
            [Some(0), None, Some(3), Some(1), None]
        );
    }
}

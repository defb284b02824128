//! Citizen identity numbers (GB 11643-1999).
//!
//! An 18-character number is `RRRRRR YYYYMMDD SSS C`: the six-digit administrative region code
//! (GB/T 2260) of the place of first registration, the birth date, a sequence number that is
//! odd for men and even for women, and a check character computed with ISO 7064 MOD 11-2 over
//! the first 17 digits (`X` stands for 10). The older 15-digit numbers (GB 11643-1989) have a
//! two-digit year and no check character; they are upgraded by inserting the century `19` and
//! computing the check character, which is how the registry itself converted them.

use crate::date::Date;
use crate::sex::Sex;
use crate::text::fold;
pub use crate::text::one_edit;

/// Weights of ISO 7064 MOD 11-2 for positions 1..=17 (2^(18-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum mod 11.
const CHECK: [u8; 11] = *b"10X98765432";
/// First two digits (province-level region) that GB/T 2260 assigns.
const PROVINCES: &[u32] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
];

/// Why a number is not a valid GB 11643 identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdProblem {
    /// Neither 15 nor 18 characters.
    Length(usize),
    /// A character other than a digit (or a final `X` in an 18-character number).
    NotDigits,
    /// The check character does not match the first 17 digits.
    CheckDigit {
        /// Check character the digits call for.
        expected: char,
        /// Check character written.
        got: char,
    },
    /// The embedded birth date is not a calendar date.
    BirthDate,
    /// The first two digits are no province-level region code.
    Region,
}

impl std::fmt::Display for IdProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdProblem::Length(n) => write!(f, "{n} characters (15 or 18 expected)"),
            IdProblem::NotDigits => write!(f, "characters other than digits"),
            IdProblem::CheckDigit { expected, got } => {
                write!(f, "check character {got}, the digits call for {expected}")
            }
            IdProblem::BirthDate => write!(f, "embedded birth date is not a date"),
            IdProblem::Region => write!(f, "no such province-level region code"),
        }
    }
}

/// An identity number prepared for comparison: the 17-digit body of the 18-digit form, with
/// what could be read from it. Numbers with problems are kept (a typo in a number is evidence
/// too) but flagged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdNumber {
    /// The 17 body digits (ASCII); for malformed input, the folded text as written.
    pub body: Box<str>,
    /// The 18-character number with its computed check character, when the body is 17 digits.
    pub canonical: Option<Box<str>>,
    /// Whether it was written in the old 15-digit form.
    pub upgraded_from_15: bool,
    /// The 18 characters as written, when they were (their check character may be wrong).
    written_check: Option<Box<str>>,
    /// The first problem found, `None` for a valid number.
    pub problem: Option<IdProblem>,
    /// Birth date embedded in the number, when it is a date.
    pub birth_date: Option<Date>,
    /// Sex encoded in the sequence number.
    pub sex: Option<Sex>,
}

/// Comparison levels of two identity numbers, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdLevel {
    /// Same 17-digit body (15-digit numbers upgraded).
    Exact = 0,
    /// One digit mistyped or two adjacent digits swapped.
    OneEdit = 1,
    /// Different numbers.
    Different = 2,
}

/// The check character of a 17-digit body.
pub fn check_character(body: &[u8; 17]) -> char {
    let sum: u32 = body.iter().zip(WEIGHTS).map(|(&d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize] as char
}

/// The 18-digit form of a 15-digit number (century `19`, check character computed).
pub fn upgrade_15(number: &str) -> Option<String> {
    let b = number.as_bytes();
    if b.len() != 15 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut body = [0u8; 17];
    body[..6].copy_from_slice(&b[..6]);
    body[6..8].copy_from_slice(b"19");
    body[8..].copy_from_slice(&b[6..]);
    let mut out = String::from_utf8_lossy(&body).into_owned();
    out.push(check_character(&body));
    Some(out)
}

impl IdNumber {
    /// Reads a number; `None` for an empty field.
    pub fn parse(text: &str) -> Option<IdNumber> {
        let folded = fold(text).to_ascii_uppercase();
        if folded.is_empty() {
            return None;
        }
        Some(Self::read(&folded))
    }

    fn read(s: &str) -> IdNumber {
        let bytes = s.as_bytes();
        let malformed = |problem| IdNumber {
            body: s.into(),
            canonical: None,
            upgraded_from_15: false,
            written_check: None,
            problem: Some(problem),
            birth_date: None,
            sex: None,
        };
        let mut body = [0u8; 17];
        let (upgraded, written_check) = match bytes.len() {
            18 => {
                if !bytes[..17].iter().all(u8::is_ascii_digit)
                    || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
                {
                    return malformed(IdProblem::NotDigits);
                }
                body.copy_from_slice(&bytes[..17]);
                (false, Some(bytes[17] as char))
            }
            15 => {
                if !bytes.iter().all(u8::is_ascii_digit) {
                    return malformed(IdProblem::NotDigits);
                }
                body[..6].copy_from_slice(&bytes[..6]);
                body[6..8].copy_from_slice(b"19");
                body[8..].copy_from_slice(&bytes[6..]);
                (true, None)
            }
            n => return malformed(IdProblem::Length(n)),
        };
        let expected = check_character(&body);
        let digits = |r: std::ops::Range<usize>| {
            body[r].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
        };
        let birth_date = Date::from_parts(digits(6..10), digits(10..12), digits(12..14));
        let sex = Some(if digits(16..17) % 2 == 1 { Sex::Male } else { Sex::Female });
        let mut problem = None;
        if let Some(got) = written_check {
            if got != expected {
                problem = Some(IdProblem::CheckDigit { expected, got });
            }
        }
        if problem.is_none() && birth_date.is_none() {
            problem = Some(IdProblem::BirthDate);
        }
        if problem.is_none() && !PROVINCES.contains(&digits(0..2)) {
            problem = Some(IdProblem::Region);
        }
        let body_text = String::from_utf8_lossy(&body).into_owned();
        let mut canonical = body_text.clone();
        canonical.push(expected);
        IdNumber {
            body: body_text.into(),
            canonical: Some(canonical.into()),
            upgraded_from_15: upgraded,
            written_check: (!upgraded).then(|| s.into()),
            problem,
            birth_date,
            sex,
        }
    }

    /// The 18 characters as written, or with the computed check character for a number written
    /// in 15 digits; the body for malformed numbers.
    pub fn written(&self) -> &str {
        match (&self.written_check, &self.canonical) {
            (Some(w), _) => w,
            (None, Some(c)) => c,
            (None, None) => &self.body,
        }
    }

    /// Whether the number is valid (possibly after the 15 → 18 upgrade).
    pub fn is_valid(&self) -> bool {
        self.problem.is_none()
    }

    /// Six-digit region code, when the body is digits.
    pub fn region(&self) -> Option<&str> {
        self.canonical.as_ref().map(|_| &self.body[..6])
    }

    /// Compares two numbers by their bodies.
    pub fn compare(&self, other: &IdNumber) -> IdLevel {
        if self.body == other.body {
            return IdLevel::Exact;
        }
        // On the 18 characters as written (a 15-digit number with its computed check): the
        // check character is part of the evidence. Two people registered in one district on
        // one day have bodies that differ in the sequence number alone, often in one digit,
        // but then their check characters differ too; a clerk's slip leaves the written check
        // character as it was.
        let (a, b) = (self.written(), other.written());
        if one_edit(a.as_bytes(), b.as_bytes()) {
            return IdLevel::OneEdit;
        }
        IdLevel::Different
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 11010519491231002X is the example number of GB 11643-1999 itself.
    #[test]
    fn valid_18_digit_numbers() {
        let id = IdNumber::parse("11010519491231002X").expect("non-empty");
        assert!(id.is_valid(), "{:?}", id.problem);
        assert_eq!(id.birth_date, Date::from_parts(1949, 12, 31));
        assert_eq!(id.sex, Some(Sex::Female));
        assert_eq!(id.region(), Some("110105"));
        // Lower-case x, spaces and full-width digits are read the same.
        let same = IdNumber::parse("110105 19491231 002x").expect("non-empty");
        assert_eq!(same.compare(&id), IdLevel::Exact);
        assert!(IdNumber::parse("４４０５２４１８８００１０１００１４").expect("x").is_valid());
        assert_eq!(IdNumber::parse("440524188001010014").expect("x").sex, Some(Sex::Male));
    }

    #[test]
    fn check_character_is_iso_7064_mod_11_2() {
        assert_eq!(check_character(b"11010519491231002"), 'X');
        assert_eq!(check_character(b"44052418800101001"), '4');
        let bad = IdNumber::parse("110105194912310021").expect("x");
        assert_eq!(bad.problem, Some(IdProblem::CheckDigit { expected: 'X', got: '1' }));
    }

    #[test]
    fn fifteen_digit_numbers_upgrade_with_the_19_century() {
        assert_eq!(upgrade_15("110105491231002").as_deref(), Some("11010519491231002X"));
        let old = IdNumber::parse("110105491231002").expect("x");
        assert!(old.is_valid() && old.upgraded_from_15);
        assert_eq!(old.birth_date, Date::from_parts(1949, 12, 31));
        let new = IdNumber::parse("11010519491231002X").expect("x");
        assert_eq!(old.compare(&new), IdLevel::Exact);
        assert_eq!(old.canonical, new.canonical);
        assert_eq!(upgrade_15("11010549123100"), None);
    }

    #[test]
    fn invalid_numbers_are_flagged_not_dropped() {
        assert_eq!(IdNumber::parse("1101051949").expect("x").problem, Some(IdProblem::Length(10)));
        assert_eq!(
            IdNumber::parse("1101051949123100AX").expect("x").problem,
            Some(IdProblem::NotDigits)
        );
        // Month 13 in the birth date; check character computed so only the date is wrong.
        let mut body = *b"11010519491331002";
        let c = check_character(&body);
        let text = format!("{}{c}", std::str::from_utf8(&body).expect("ascii"));
        assert_eq!(IdNumber::parse(&text).expect("x").problem, Some(IdProblem::BirthDate));
        body[10..12].copy_from_slice(b"12");
        body[..2].copy_from_slice(b"99");
        let c = check_character(&body);
        let text = format!("{}{c}", std::str::from_utf8(&body).expect("ascii"));
        assert_eq!(IdNumber::parse(&text).expect("x").problem, Some(IdProblem::Region));
        assert!(IdNumber::parse("").is_none());
    }

    #[test]
    fn swapped_and_mistyped_digits_are_one_edit() {
        let id = IdNumber::parse("11010519491231002X").expect("x");
        let swapped = IdNumber::parse("11010519492131002X").expect("x");
        assert_eq!(id.compare(&swapped), IdLevel::OneEdit);
        assert!(!swapped.is_valid(), "a swap breaks the check character");
        let typo = IdNumber::parse("11010519491231007X").expect("x");
        assert_eq!(id.compare(&typo), IdLevel::OneEdit);
        // Neighbours in the register: bodies one digit apart, check characters different.
        let neighbour = IdNumber::parse("110105194912310046").expect("x");
        assert!(neighbour.is_valid());
        assert_eq!(id.compare(&neighbour), IdLevel::Different);
        let other = IdNumber::parse("440524188001010014").expect("x");
        assert_eq!(id.compare(&other), IdLevel::Different);
    }
}

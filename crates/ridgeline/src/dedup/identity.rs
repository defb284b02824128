//! Resident identity numbers (GB 11643-1999): validation and the facts a clerk needs.
//!
//! An 18-character number is six digits of address code, eight of birth date `YYYYMMDD`, three
//! of sequence (odd for men, even for women) and one check character. The check character is
//! `"10X98765432"[Σ digitᵢ·weightᵢ mod 11]` with the weights below (ISO 7064 MOD 11-2).

/// Weights of the first 17 digits in the checksum.
const CHECK_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by the weighted sum modulo 11.
const CHECK_CHARS: &[u8; 11] = b"10X98765432";
/// Length of a resident identity number.
pub(crate) const ID_NUMBER_LEN: usize = 18;
/// Earliest birth year we accept (the oldest living residents were born after it).
const MIN_BIRTH_YEAR: u32 = 1850;
/// Latest birth year we accept; later dates are data-entry errors.
const MAX_BIRTH_YEAR: u32 = 2100;

/// Why an identity number is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdProblem {
    /// Not 18 characters.
    Length,
    /// A character other than a digit in the first 17, or other than a digit or `X` last.
    Characters,
    /// The birth date at positions 7–14 is not a real calendar date.
    BirthDate,
    /// The check character does not match the other 17.
    Checksum,
}

impl IdProblem {
    /// Short description, as used in flags.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IdProblem::Length => "length is not 18 characters",
            IdProblem::Characters => "characters other than digits (and a final X)",
            IdProblem::BirthDate => "impossible birth date",
            IdProblem::Checksum => "check character does not match",
        }
    }
}

/// Validates a resident identity number: length, characters, birth date and checksum, in that
/// order (the first problem found is returned). A lower-case final `x` is accepted.
pub fn validate_id_number(id: &str) -> Result<(), IdProblem> {
    let bytes = id.as_bytes();
    if bytes.len() != ID_NUMBER_LEN {
        return Err(IdProblem::Length);
    }
    let (body, last) = bytes.split_at(ID_NUMBER_LEN - 1);
    if !body.iter().all(u8::is_ascii_digit) {
        return Err(IdProblem::Characters);
    }
    let last = last[0].to_ascii_uppercase();
    if !(last.is_ascii_digit() || last == b'X') {
        return Err(IdProblem::Characters);
    }
    let number = |range: std::ops::Range<usize>| {
        body[range].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    if !is_calendar_date(number(6..10), number(10..12), number(12..14)) {
        return Err(IdProblem::BirthDate);
    }
    if check_character(body) != last {
        return Err(IdProblem::Checksum);
    }
    Ok(())
}

/// The check character for the first 17 digits (ASCII digits; callers checked them).
pub(crate) fn check_character(first17: &[u8]) -> u8 {
    let sum: u32 =
        first17.iter().zip(CHECK_WEIGHTS).map(|(&d, w)| u32::from(d.wrapping_sub(b'0')) * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

/// Builds a valid identity number from an address code, birth date and sequence number; used by
/// the demo population. Returns `None` if the parts are out of range or the date is impossible.
pub fn make_id_number(
    address: u32,
    year: u32,
    month: u32,
    day: u32,
    sequence: u32,
) -> Option<String> {
    if address > 999_999 || sequence > 999 || !is_calendar_date(year, month, day) {
        return None;
    }
    let mut id = format!("{address:06}{year:04}{month:02}{day:02}{sequence:03}");
    let check = check_character(id.as_bytes());
    id.push(char::from(check));
    Some(id)
}

fn is_calendar_date(year: u32, month: u32, day: u32) -> bool {
    if !(MIN_BIRTH_YEAR..=MAX_BIRTH_YEAR).contains(&year) {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_numbers() {
        // The standard's worked example, and a leap-day birth date.
        for id in ["11010519491231002X", "440524188001010014", "110101200002290018"] {
            let fixed = make_id_number(
                id[..6].parse().expect("digits"),
                id[6..10].parse().expect("digits"),
                id[10..12].parse().expect("digits"),
                id[12..14].parse().expect("digits"),
                id[14..17].parse().expect("digits"),
            )
            .expect("valid parts");
            assert_eq!(validate_id_number(&fixed), Ok(()), "{fixed}");
        }
        assert_eq!(validate_id_number("11010519491231002X"), Ok(()));
        assert_eq!(validate_id_number("11010519491231002x"), Ok(()));
        assert_eq!(validate_id_number("440524188001010014"), Ok(()));
    }

    #[test]
    fn check_character_follows_the_standard_weights() {
        // Σ d·w for 11010519491231002 is 167; 167 mod 11 = 2 → 'X'.
        assert_eq!(check_character(b"11010519491231002"), b'X');
        // 44052418800101001: sum 195, 195 mod 11 = 8 → '4'.
        let id = "440524188001010014";
        assert_eq!(char::from(check_character(&id.as_bytes()[..17])), '4');
    }

    #[test]
    fn refuses_bad_checksums() {
        assert_eq!(validate_id_number("110105194912310021"), Err(IdProblem::Checksum));
        assert_eq!(validate_id_number("440524188001010015"), Err(IdProblem::Checksum));
        // A single transposed digit changes the check character.
        assert_eq!(validate_id_number("10110519491231002X"), Err(IdProblem::Checksum));
    }

    #[test]
    fn refuses_impossible_birth_dates() {
        for (y, m, d) in [
            (1999, 2, 30),
            (1999, 2, 29),
            (1900, 2, 29),
            (2001, 13, 1),
            (2001, 4, 31),
            (2001, 0, 10),
            (2001, 1, 0),
            (1700, 1, 1),
        ] {
            let mut id = format!("110105{y:04}{m:02}{d:02}002");
            id.push(char::from(check_character(id.as_bytes())));
            assert_eq!(validate_id_number(&id), Err(IdProblem::BirthDate), "{id}");
            assert_eq!(make_id_number(110105, y, m, d, 2), None);
        }
        // 2000 is a leap year (divisible by 400), 1996 too.
        assert!(make_id_number(110105, 2000, 2, 29, 2).is_some());
        assert!(make_id_number(110105, 1996, 2, 29, 2).is_some());
    }

    #[test]
    fn refuses_wrong_length_and_characters() {
        assert_eq!(validate_id_number(""), Err(IdProblem::Length));
        assert_eq!(validate_id_number("11010519491231002"), Err(IdProblem::Length));
        assert_eq!(validate_id_number("11010519491231002XX"), Err(IdProblem::Length));
        assert_eq!(validate_id_number("1101051949123100AX"), Err(IdProblem::Characters));
        assert_eq!(validate_id_number("11010519491231002Y"), Err(IdProblem::Characters));
        assert_eq!(validate_id_number("X10105194912310021"), Err(IdProblem::Characters));
        // Multi-byte characters are counted in bytes and refused, never sliced mid-character.
        assert_eq!(
            validate_id_number("１１０１０５１９４９１２３１００２Ｘ"),
            Err(IdProblem::Length)
        );
        assert_eq!(validate_id_number("1101051949123100é"), Err(IdProblem::Characters));
    }
}

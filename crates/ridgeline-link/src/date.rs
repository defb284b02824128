//! Birth dates: read from the forms clerks type, compared with the typical slips.

use crate::text::fold_width;

/// A calendar date, packed as `YYYYMMDD` so that comparison and hashing are on one integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(u32);

/// Comparison levels of two dates, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateLevel {
    /// Same date.
    Exact = 0,
    /// A typical slip: day and month swapped, one digit mistyped, or two adjacent digits
    /// swapped.
    Slip = 1,
    /// Same year only.
    SameYear = 2,
    /// Different dates.
    Different = 3,
}

impl Date {
    /// A date from its parts, `None` when it is not on the calendar (years 1800..=2199).
    pub fn from_parts(year: u32, month: u32, day: u32) -> Option<Date> {
        if !(1800..=2199).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (day <= days).then_some(Date(year * 10_000 + month * 100 + day))
    }

    /// Reads `YYYY-MM-DD`, `YYYYMMDD`, `YYYY/MM/DD`, `YYYY.MM.DD` and `YYYY年M月D日`; `None` for an
    /// empty field, `Err` with the text for anything else.
    pub fn parse(text: &str) -> Result<Option<Date>, String> {
        let folded = fold_width(text.trim());
        if folded.is_empty() {
            return Ok(None);
        }
        let parts: Vec<&str> = folded
            .split(|c: char| matches!(c, '-' | '/' | '.' | '年' | '月' | '日') || c.is_whitespace())
            .filter(|p| !p.is_empty())
            .collect();
        let numbers = |p: &[&str]| -> Option<(u32, u32, u32)> {
            Some((p[0].parse().ok()?, p[1].parse().ok()?, p[2].parse().ok()?))
        };
        let parsed = match parts.as_slice() {
            [one] if one.len() == 8 && one.bytes().all(|b| b.is_ascii_digit()) => {
                numbers(&[&one[..4], &one[4..6], &one[6..]])
            }
            [y, _, _] if y.len() == 4 => numbers(&parts),
            _ => None,
        };
        parsed
            .and_then(|(y, m, d)| Date::from_parts(y, m, d))
            .map(Some)
            .ok_or_else(|| text.to_string())
    }

    /// Year.
    pub fn year(self) -> u32 {
        self.0 / 10_000
    }

    /// Month, 1..=12.
    pub fn month(self) -> u32 {
        self.0 / 100 % 100
    }

    /// Day of the month.
    pub fn day(self) -> u32 {
        self.0 % 100
    }

    /// `YYYYMMDD` as an integer.
    pub fn packed(self) -> u32 {
        self.0
    }

    /// Compares two dates.
    pub fn compare(self, other: Date) -> DateLevel {
        if self == other {
            return DateLevel::Exact;
        }
        if self.year() == other.year() && self.month() == other.day() && self.day() == other.month()
        {
            return DateLevel::Slip;
        }
        let (a, b) = (self.0.to_string(), other.0.to_string());
        if crate::text::one_edit(a.as_bytes(), b.as_bytes()) {
            return DateLevel::Slip;
        }
        if self.year() == other.year() {
            return DateLevel::SameYear;
        }
        DateLevel::Different
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year(), self.month(), self.day())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).expect("parses").expect("non-empty")
    }

    #[test]
    fn reads_the_usual_forms() {
        let expected = Date::from_parts(1990, 5, 17);
        for text in [
            "1990-05-17",
            "19900517",
            "1990/5/17",
            "1990.05.17",
            "1990年5月17日",
            "１９９０-０５-１７",
        ] {
            assert_eq!(Date::parse(text), Ok(expected), "{text}");
        }
        assert_eq!(Date::parse(""), Ok(None));
        assert!(Date::parse("1990-02-30").is_err());
        assert!(Date::parse("17/05/1990").is_err());
        assert!(Date::parse("yesterday").is_err());
        assert_eq!(d("2000-02-29").to_string(), "2000-02-29");
        assert!(Date::parse("1900-02-29").is_err());
    }

    #[test]
    fn typical_slips() {
        // Day and month swapped.
        assert_eq!(d("1990-05-07").compare(d("1990-07-05")), DateLevel::Slip);
        // Two adjacent digits swapped (1985 → 1958 is not adjacent-only: 8 and 5 adjacent).
        assert_eq!(d("1985-03-12").compare(d("1958-03-12")), DateLevel::Slip);
        // One digit mistyped.
        assert_eq!(d("1985-03-12").compare(d("1985-03-17")), DateLevel::Slip);
        assert_eq!(d("1985-03-12").compare(d("1985-11-30")), DateLevel::SameYear);
        assert_eq!(d("1985-03-12").compare(d("1972-08-30")), DateLevel::Different);
        assert_eq!(d("1985-03-12").compare(d("1985-03-12")), DateLevel::Exact);
    }
}

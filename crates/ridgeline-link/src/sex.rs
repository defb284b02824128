//! Sex, as the registries write it.

use crate::text::fold;

/// Sex of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Male (`M`, `男`, `1`).
    Male,
    /// Female (`F`, `女`, `2`).
    Female,
}

impl Sex {
    /// Reads `M/F`, `男/女`, `1/2` (GB/T 2261.1), `male/female`; `None` for an empty field or the
    /// codes for unknown (`0`, `9`, `未知`), `Err` with the text for anything else.
    pub fn parse(text: &str) -> Result<Option<Sex>, String> {
        match fold(text).as_str() {
            "m" | "男" | "1" | "male" | "男性" => Ok(Some(Sex::Male)),
            "f" | "女" | "2" | "female" | "女性" => Ok(Some(Sex::Female)),
            "" | "0" | "9" | "未知" | "u" | "unknown" => Ok(None),
            _ => Err(text.to_string()),
        }
    }

    /// `M` or `F`.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
        }
    }

    /// `男` or `女`.
    pub fn han(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_encoding() {
        for m in ["M", "m", "男", "1", "Male", "Ｍ"] {
            assert_eq!(Sex::parse(m), Ok(Some(Sex::Male)), "{m}");
        }
        for f in ["F", "女", "2", "female"] {
            assert_eq!(Sex::parse(f), Ok(Some(Sex::Female)), "{f}");
        }
        assert_eq!(Sex::parse(""), Ok(None));
        assert_eq!(Sex::parse("9"), Ok(None));
        assert!(Sex::parse("X").is_err());
    }
}

//! Text folding shared by the comparators: traditional → simplified, full-width → ASCII,
//! whitespace and separators dropped.
//!
//! Clerks type the same name as 張偉, 张伟, `张 伟` or `张·伟`, and digits as ０-９ from a
//! Chinese input method; all of these must compare equal before any fuzzy level is asked.

/// Folds one character: full-width ASCII forms (U+FF01..U+FF5E) to ASCII, ASCII letters to
/// lower case, the ideographic space to a space. Traditional forms are folded per string by
/// [`fold`], because the converter looks at neighbours.
fn fold_char(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    };
    c.to_ascii_lowercase()
}

/// Separators a clerk may put inside a name or number: spaces, middle dots (minority names such
/// as 买买提·艾力), hyphens, and their full-width forms.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '·' | '•' | '・' | '.' | '-' | '_' | '\u{2027}')
}

/// Simplified, ASCII-folded text with separators removed: the form every comparator starts from.
pub fn fold(text: &str) -> String {
    let ascii: String =
        text.chars().map(fold_char).filter(|&c| !is_separator(c)).collect::<String>();
    fast2s::convert(&ascii)
}

/// Like [`fold`] but separators become single spaces (for romanised names, where the space
/// separates syllables).
pub fn fold_keep_spaces(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().map(fold_char) {
        if is_separator(c) {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    let trimmed = out.trim_end();
    fast2s::convert(trimmed)
}

/// Full-width forms to ASCII and lower case, nothing dropped (for dates, whose separators
/// matter).
pub fn fold_width(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// Whether `c` is a CJK unified ideograph (basic block or extension A).
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0xF900..=0xFAFF)
}

/// Whether two equally long strings differ by one substituted character or one swap of two
/// adjacent characters.
pub fn one_edit(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diffs: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).take(3).collect();
    match diffs.as_slice() {
        [_] => true,
        [i, j] => *j == i + 1 && a[*i] == b[*j] && a[*j] == b[*i],
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_full_width_and_separators_fold_away() {
        assert_eq!(fold("張偉"), "张伟");
        assert_eq!(fold("张 伟"), "张伟");
        assert_eq!(fold("買買提·艾力"), "买买提艾力");
        assert_eq!(fold("１１０１０５"), "110105");
        assert_eq!(fold("劉德華"), "刘德华");
        assert_eq!(fold("陳麗"), "陈丽");
        assert_eq!(fold_keep_spaces("  Zhang   WEI "), "zhang wei");
    }
}

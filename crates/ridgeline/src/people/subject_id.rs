//! Subject ids as people type them: one canonical form per id.
//!
//! Two ids a person reads as the same must be the same id, or one person gets two records. So an
//! id is normalised at every entry point (enrolment, removal, look-up, manifests, the C API):
//! 1. a leading byte-order mark (U+FEFF, left by editors and spreadsheets at the start of a
//!    file or a field) is stripped, then white space at both ends is trimmed;
//! 2. the rest is put in Unicode Normalization Form C (so `é` typed as one code point or as
//!    `e` + combining acute is one id);
//! 3. what remains must be 1–[`MAX_SUBJECT_ID_LEN`] bytes of visible text. Control characters,
//!    invisible and format characters (zero-width space U+200B, joiners, bidirectional
//!    embeddings and overrides such as U+202E, a byte-order mark inside the id, soft hyphen,
//!    variation selectors, fillers), line and paragraph separators, white space other than
//!    the ordinary space, private-use code points and non-characters are **refused**, not
//!    stripped: an id holding them is a data-entry or encoding error the caller must see, and
//!    stripping would silently merge ids that someone may have meant to differ.
//!
//! Ids already stored in a gallery (possibly by a build that did not normalise) are read through
//! [`canonical_stored`], the lenient form of steps 1–2, so that look-ups and reports use the
//! same canonical form without refusing old data.

use std::borrow::Cow;

use unicode_normalization::{is_nfc, UnicodeNormalization};

use crate::error::{Error, Result, SubjectIdProblem};
pub(crate) use crate::gallery::MAX_SUBJECT_ID_LEN;

/// Byte-order mark, stripped at the start of an id and refused inside it.
pub(crate) const BYTE_ORDER_MARK: char = '\u{FEFF}';

/// Whether `c` is invisible or a format character: Unicode's default-ignorable code points
/// (general category Cf and the other invisibles) that can make two ids look the same.
fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x0600..=0x0605
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

fn is_not_text(c: char) -> bool {
    let cp = u32::from(c);
    (0xE000..=0xF8FF).contains(&cp)
        || cp >= 0xF0000
        || (0xFDD0..=0xFDEF).contains(&cp)
        || (cp & 0xFFFE) == 0xFFFE
}

/// The problem with one character of an id, if any.
fn character_problem(c: char) -> Option<SubjectIdProblem> {
    let code_point = u32::from(c);
    if c.is_control() {
        Some(SubjectIdProblem::Control { code_point })
    } else if is_invisible(c) {
        Some(SubjectIdProblem::Invisible { code_point })
    } else if c != ' ' && c.is_whitespace() {
        Some(SubjectIdProblem::Space { code_point })
    } else if is_not_text(c) {
        Some(SubjectIdProblem::NotText { code_point })
    } else {
        None
    }
}

/// Steps 1–2 of the normalisation (see the module docs), without refusing anything.
fn strip_and_compose(raw: &str) -> Cow<'_, str> {
    let trimmed = raw.trim_start_matches(BYTE_ORDER_MARK).trim();
    if is_nfc(trimmed) {
        Cow::Borrowed(trimmed)
    } else {
        Cow::Owned(trimmed.nfc().collect())
    }
}

/// Normalises a subject id (see the module docs) or refuses it with
/// [`Error::InvalidSubjectId`].
pub(crate) fn normalize_subject_id(raw: &str) -> Result<String> {
    check(raw).map(Cow::into_owned)
}

/// Normalises a subject id, borrowing where it is already canonical.
pub(crate) fn check(raw: &str) -> Result<Cow<'_, str>> {
    let id = strip_and_compose(raw);
    let refuse = |problem| Error::InvalidSubjectId { id: raw.to_string(), problem };
    if id.is_empty() {
        return Err(refuse(SubjectIdProblem::Empty));
    }
    if let Some(problem) = id.chars().find_map(character_problem) {
        return Err(refuse(problem));
    }
    if id.len() > MAX_SUBJECT_ID_LEN {
        return Err(refuse(SubjectIdProblem::TooLong { bytes: id.len(), max: MAX_SUBJECT_ID_LEN }));
    }
    Ok(id)
}

/// The canonical form of an id read from a gallery: trimmed and composed like a new id, but
/// never refused (an id stored before normalisation existed must stay reachable).
pub fn canonical_stored(stored: &str) -> Cow<'_, str> {
    if stored.is_ascii() {
        return Cow::Borrowed(stored.trim());
    }
    strip_and_compose(stored)
}

/// The form to look an id up by: its normalised form, or for an id that normalisation refuses
/// (one stored before it existed), the lenient canonical form, so that it can still be found and
/// removed.
pub fn lookup_form(raw: &str) -> String {
    normalize_subject_id(raw).unwrap_or_else(|_| canonical_stored(raw).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(raw: &str) -> SubjectIdProblem {
        match normalize_subject_id(raw) {
            Err(Error::InvalidSubjectId { problem, id }) => {
                assert_eq!(id, raw);
                problem
            }
            other => panic!("{raw:?} gave {other:?}"),
        }
    }

    #[test]
    fn nfd_and_nfc_spellings_are_one_id() {
        let nfc = "Jos\u{e9}"; // é as one code point
        let nfd = "Jose\u{301}"; // e + combining acute accent
        assert_ne!(nfc, nfd);
        assert_eq!(normalize_subject_id(nfd).expect("valid"), nfc);
        assert_eq!(normalize_subject_id(nfc).expect("valid"), nfc);
        // Hangul syllables compose too: ᄒ + ᅡ + ᆫ is 한.
        assert_eq!(normalize_subject_id("\u{1112}\u{1161}\u{11AB}").expect("valid"), "\u{D55C}");
        // Chinese ids are kept as they are.
        assert_eq!(normalize_subject_id("李伟-0042").expect("valid"), "李伟-0042");
    }

    #[test]
    fn leading_bom_and_outer_space_are_stripped() {
        assert_eq!(normalize_subject_id("\u{FEFF}P001").expect("valid"), "P001");
        assert_eq!(normalize_subject_id("  P001\t").expect("valid"), "P001");
        assert_eq!(normalize_subject_id("\u{FEFF} P001 ").expect("valid"), "P001");
        assert_eq!(normalize_subject_id("Li Wei").expect("valid"), "Li Wei");
        // A BOM anywhere else is an invisible character.
        assert_eq!(problem("P0\u{FEFF}01"), SubjectIdProblem::Invisible { code_point: 0xFEFF });
    }

    #[test]
    fn invisible_and_bidi_characters_are_refused() {
        assert_eq!(problem("P0\u{200B}01"), SubjectIdProblem::Invisible { code_point: 0x200B });
        assert_eq!(problem("P001\u{200B}"), SubjectIdProblem::Invisible { code_point: 0x200B });
        // Right-to-left override: "P\u{202E}100" displays as "P001".
        assert_eq!(problem("P\u{202E}100"), SubjectIdProblem::Invisible { code_point: 0x202E });
        assert_eq!(problem("a\u{200D}b"), SubjectIdProblem::Invisible { code_point: 0x200D });
        assert_eq!(problem("a\u{00AD}b"), SubjectIdProblem::Invisible { code_point: 0xAD });
        assert_eq!(problem("a\u{2066}b"), SubjectIdProblem::Invisible { code_point: 0x2066 });
    }

    #[test]
    fn controls_spaces_and_non_text_are_refused() {
        assert_eq!(problem("a\tb"), SubjectIdProblem::Control { code_point: 9 });
        assert_eq!(problem("a\0b"), SubjectIdProblem::Control { code_point: 0 });
        assert_eq!(problem("a\u{85}b"), SubjectIdProblem::Control { code_point: 0x85 });
        assert_eq!(problem("a\u{A0}b"), SubjectIdProblem::Space { code_point: 0xA0 });
        assert_eq!(problem("a\u{3000}b"), SubjectIdProblem::Space { code_point: 0x3000 });
        assert_eq!(problem("a\u{2028}b"), SubjectIdProblem::Space { code_point: 0x2028 });
        assert_eq!(problem("a\u{E000}b"), SubjectIdProblem::NotText { code_point: 0xE000 });
        assert_eq!(problem("a\u{FFFF}b"), SubjectIdProblem::NotText { code_point: 0xFFFF });
    }

    #[test]
    fn empty_and_long_ids_are_refused() {
        assert_eq!(problem(""), SubjectIdProblem::Empty);
        assert_eq!(problem(" \u{FEFF}"), SubjectIdProblem::Invisible { code_point: 0xFEFF });
        assert_eq!(problem("\u{FEFF}  "), SubjectIdProblem::Empty);
        assert_eq!(problem(&"x".repeat(65)), SubjectIdProblem::TooLong { bytes: 65, max: 64 });
        assert!(normalize_subject_id(&"x".repeat(64)).is_ok());
        // The limit applies to the normalised bytes: 22 three-byte characters are 66 bytes.
        assert_eq!(problem(&"伟".repeat(22)), SubjectIdProblem::TooLong { bytes: 66, max: 64 });
    }

    #[test]
    fn stored_ids_are_canonicalised_without_refusal() {
        assert_eq!(canonical_stored("Jose\u{301}"), "Jos\u{e9}");
        assert_eq!(canonical_stored("P001"), "P001");
        assert_eq!(canonical_stored("a\u{200B}b"), "a\u{200B}b");
        assert!(matches!(canonical_stored("P001"), Cow::Borrowed(_)));
    }
}

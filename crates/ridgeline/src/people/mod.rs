//! People: a subject with up to ten fingers and optional demographic fields, the unit a
//! registration office keeps one record of.
//!
//! * subject ids ([`lookup_form`], [`canonical_stored`]): the canonical form of a subject id,
//!   applied wherever an id enters.
//! * [`Demographics`]: name, identity number, sex, birth date, address and source system,
//!   stored with the person's record in the gallery as the byte block documented below and in
//!   `docs/FORMATS.md`.
//! * [`read_people`]: the one CSV format that lists people (a row per print) for enrolment and
//!   de-duplication.
//!
//! The gallery operations on people (enrol a person in one commit, refuse a second record of
//! the same person, identify with several fingers) are in `crate::gallery::person`.

pub(crate) mod manifest;
pub(crate) mod subject_id;

pub use crate::error::SubjectIdProblem;
pub(crate) use manifest::parse_people;
pub use manifest::{read_people, PersonRow, PersonRows};
pub(crate) use subject_id::normalize_subject_id;
pub use subject_id::{canonical_stored, lookup_form};
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Version of the demographic payload written by this build (its first byte).
pub(crate) const DEMOGRAPHICS_VERSION: u8 = 1;
/// Payload offsets: format version (u8) …
pub(crate) const DEMOGRAPHICS_OFFSET_VERSION: usize = 0;
/// … number of fields that follow (u8) …
pub(crate) const DEMOGRAPHICS_OFFSET_COUNT: usize = 1;
/// … then the fields from here on, each `tag u8, length u16 LE, UTF-8 bytes`.
pub(crate) const DEMOGRAPHICS_OFFSET_FIELDS: usize = 2;
/// Bytes before a field's value: tag (u8) and length (u16).
pub(crate) const FIELD_HEADER_LEN: usize = 3;
/// Most bytes of one field's value (after normalisation).
pub(crate) const MAX_FIELD_LEN: usize = 1024;

/// Field tags in the payload. Readers skip tags they do not know, so fields can be added
/// without a new version.
pub(crate) const TAG_NAME: u8 = 1;
/// Identity number.
pub(crate) const TAG_ID_NUMBER: u8 = 2;
/// Sex.
pub(crate) const TAG_SEX: u8 = 3;
/// Birth date.
pub(crate) const TAG_BIRTH_DATE: u8 = 4;
/// Address.
pub(crate) const TAG_ADDRESS: u8 = 5;
/// Source system.
pub(crate) const TAG_SOURCE: u8 = 6;

/// Optional demographic fields of a person, as registered. Values are free text (normalised
/// to NFC and trimmed, no control characters, at most 1024 bytes each); the
/// identity number is not validated here, because records from other systems carry numbers
/// of many kinds (`crate::dedup::validate_id_number` checks GB 11643 numbers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demographics {
    /// Name.
    pub name: Option<String>,
    /// Identity number (e.g. a resident identity number).
    pub id_number: Option<String>,
    /// Sex, as the source records it.
    pub sex: Option<String>,
    /// Birth date, as the source records it (ISO 8601 `YYYY-MM-DD` recommended).
    pub birth_date: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// The system the record came from.
    pub source: Option<String>,
}

impl Demographics {
    fn fields(&self) -> [(u8, &'static str, &Option<String>); 6] {
        [
            (TAG_NAME, "name", &self.name),
            (TAG_ID_NUMBER, "id_number", &self.id_number),
            (TAG_SEX, "sex", &self.sex),
            (TAG_BIRTH_DATE, "birth_date", &self.birth_date),
            (TAG_ADDRESS, "address", &self.address),
            (TAG_SOURCE, "source", &self.source),
        ]
    }

    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, _, v)| v.is_none())
    }

    /// The same fields normalised (NFC, trimmed; empty values dropped), or a typed error naming
    /// the field that holds a control character or is too long.
    pub(crate) fn normalized(&self) -> Result<Demographics> {
        let norm = |field: &str, value: &Option<String>| -> Result<Option<String>> {
            let Some(value) = value else { return Ok(None) };
            let value: String = value.trim_start_matches('\u{FEFF}').trim().nfc().collect();
            if value.is_empty() {
                return Ok(None);
            }
            if let Some(c) = value.chars().find(|c| c.is_control()) {
                return Err(Error::InvalidArgument(format!(
                    "demographic field {field} holds the control character U+{:04X}",
                    u32::from(c)
                )));
            }
            if value.len() > MAX_FIELD_LEN {
                return Err(Error::InvalidArgument(format!(
                    "demographic field {field} is {} bytes long, at most {MAX_FIELD_LEN}",
                    value.len()
                )));
            }
            Ok(Some(value))
        };
        Ok(Demographics {
            name: norm("name", &self.name)?,
            id_number: norm("id_number", &self.id_number)?,
            sex: norm("sex", &self.sex)?,
            birth_date: norm("birth_date", &self.birth_date)?,
            address: norm("address", &self.address)?,
            source: norm("source", &self.source)?,
        })
    }

    /// The payload stored in the gallery (see the offsets above); empty when no field is set.
    /// Fields are normalised first, so the stored form is the canonical one.
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let d = self.normalized()?;
        let set: Vec<(u8, &str)> =
            d.fields().iter().filter_map(|(tag, _, v)| v.as_deref().map(|v| (*tag, v))).collect();
        if set.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = vec![DEMOGRAPHICS_VERSION, set.len() as u8]; // at most 6 fields
        for (tag, value) in set {
            out.push(tag);
            // `normalized` bounds every value to MAX_FIELD_LEN, well inside a u16.
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        Ok(out)
    }

    /// Reads a payload written by [`Demographics::encode`]; unknown tags are skipped.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Demographics> {
        let bad = |at: usize, message: &str| Error::Format {
            format: "demographic block",
            message: message.to_string(),
            offset: at,
        };
        let version = *bytes.get(DEMOGRAPHICS_OFFSET_VERSION).ok_or_else(|| bad(0, "empty"))?;
        if version != DEMOGRAPHICS_VERSION {
            return Err(bad(0, &format!("version {version}, this build reads 1")));
        }
        let count =
            *bytes.get(DEMOGRAPHICS_OFFSET_COUNT).ok_or_else(|| bad(1, "no field count"))?;
        let mut d = Demographics::default();
        let mut at = DEMOGRAPHICS_OFFSET_FIELDS;
        for _ in 0..count {
            let header = bytes
                .get(at..at + FIELD_HEADER_LEN)
                .ok_or_else(|| bad(at, "field header past the end"))?;
            let (tag, len) = (header[0], u16::from_le_bytes([header[1], header[2]]) as usize);
            let start = at + FIELD_HEADER_LEN;
            let value =
                bytes.get(start..start + len).ok_or_else(|| bad(at, "field past the end"))?;
            let value = std::str::from_utf8(value)
                .map_err(|_| bad(start, "field is not UTF-8"))?
                .to_string();
            let slot = match tag {
                TAG_NAME => Some(&mut d.name),
                TAG_ID_NUMBER => Some(&mut d.id_number),
                TAG_SEX => Some(&mut d.sex),
                TAG_BIRTH_DATE => Some(&mut d.birth_date),
                TAG_ADDRESS => Some(&mut d.address),
                TAG_SOURCE => Some(&mut d.source),
                _ => None,
            };
            if let Some(slot) = slot {
                *slot = Some(value);
            }
            at = start + len;
        }
        if at != bytes.len() {
            return Err(bad(at, "bytes after the last field"));
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_layout_is_as_documented() {
        let d = Demographics {
            name: Some(" 李伟 ".into()),
            sex: Some("M".into()),
            ..Demographics::default()
        };
        let b = d.encode().expect("encodes");
        assert_eq!(b[DEMOGRAPHICS_OFFSET_VERSION], 1);
        assert_eq!(b[DEMOGRAPHICS_OFFSET_COUNT], 2);
        let f = DEMOGRAPHICS_OFFSET_FIELDS;
        assert_eq!(b[f], TAG_NAME);
        assert_eq!(&b[f + 1..f + 3], &6u16.to_le_bytes());
        assert_eq!(&b[f + FIELD_HEADER_LEN..f + FIELD_HEADER_LEN + 6], "李伟".as_bytes());
        let g = f + FIELD_HEADER_LEN + 6;
        assert_eq!(&b[g..], &[TAG_SEX, 1, 0, b'M']);
        let back = Demographics::decode(&b).expect("decodes");
        assert_eq!(back.name.as_deref(), Some("李伟"));
        assert_eq!(back.sex.as_deref(), Some("M"));
        assert_eq!(back.address, None);
        assert!(Demographics::default().encode().expect("encodes").is_empty());
    }

    #[test]
    fn unknown_tags_are_skipped_and_damage_is_refused() {
        let b = [1, 2, 99, 2, 0, b'x', b'y', TAG_SOURCE, 3, 0, b'a', b'b', b'c'];
        let d = Demographics::decode(&b).expect("decodes");
        assert_eq!(d.source.as_deref(), Some("abc"));
        assert!(Demographics::decode(&b[..b.len() - 1]).is_err());
        assert!(Demographics::decode(&[2, 0]).is_err());
        assert!(Demographics::decode(&[1, 0, 0]).is_err());
        assert!(Demographics::decode(&[1, 1, TAG_NAME, 1, 0, 0xff]).is_err());
        let bad = Demographics { name: Some("a\nb".into()), ..Demographics::default() };
        assert!(matches!(bad.encode(), Err(Error::InvalidArgument(_))));
        let long = Demographics { address: Some("x".repeat(1025)), ..Demographics::default() };
        assert!(long.encode().is_err());
    }
}

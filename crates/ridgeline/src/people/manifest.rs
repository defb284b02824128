//! The people manifest: one CSV format listing people for `enroll --manifest` and
//! `dedup --input`.
//!
//! One row per print. Columns, named by a header row: `id` (or `record_id`), `finger`, `path`,
//! and optionally `person_id` or `id_number` (the identity number; both names mean the same
//! field), `name`, `sex`, `birth_date`, `address`, `source`; other columns are refused, so a
//! misspelt column is not silently ignored. The rows of one id are one person, enrolled in one
//! commit; their demographic fields must agree. Without a header, three fields are read as
//! `id,finger,path` and five as `record_id,person_id,name,finger,path` (the two older layouts).
//! `finger` is the ISO/IEC 19794-2 position (0 unknown, 1–10); a person lists each known
//! position once. `path` names an image or template, relative to the manifest's folder unless
//! absolute. Ids are normalised like every subject id (`super::subject_id`); a byte-order mark
//! at the start of the file is ignored. Fields may be quoted with `"` (doubled inside).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{normalize_subject_id, Demographics};
use crate::error::{Error, Result};

/// Largest finger position.
pub(crate) const MAX_FINGER_POSITION: u8 = crate::gallery::MAX_FINGER;

/// One row: a print of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    /// 1-based line number.
    pub line: usize,
    /// Finger position 0–10.
    pub finger: u8,
    /// The print's file.
    pub path: PathBuf,
}

/// One person of a manifest: the rows of one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRows {
    /// The normalised subject id.
    pub id: String,
    /// Demographic fields (normalised), all `None` where the manifest has none.
    pub demographics: Demographics,
    /// The person's prints in manifest order.
    pub prints: Vec<PersonRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Id,
    Finger,
    Path,
    IdNumber,
    Name,
    Sex,
    BirthDate,
    Address,
    Source,
}

fn column(name: &str) -> Option<Column> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "id" | "record_id" => Column::Id,
        "finger" => Column::Finger,
        "path" => Column::Path,
        "person_id" | "id_number" => Column::IdNumber,
        "name" => Column::Name,
        "sex" => Column::Sex,
        "birth_date" => Column::BirthDate,
        "address" => Column::Address,
        "source" => Column::Source,
        _ => return None,
    })
}

/// Reads a people manifest; relative paths are resolved against its folder.
pub fn read_people(path: &Path) -> Result<Vec<PersonRows>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_people(&text, base)
}

/// Parses manifest text; relative paths are resolved against `base`.
pub(crate) fn parse_people(text: &str, base: &Path) -> Result<Vec<PersonRows>> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut people: Vec<PersonRows> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    let mut columns: Option<Vec<Column>> = None;
    let mut first = true;
    for (number, line) in text.lines().enumerate() {
        let line_no = number + 1;
        let fail = |message: String| Error::Manifest { line: line_no, message };
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv_line(line).map_err(fail)?;
        if std::mem::take(&mut first) {
            let is_header = fields.first().is_some_and(|f| column(f) == Some(Column::Id));
            if is_header {
                let named = fields
                    .iter()
                    .map(|f| column(f).ok_or_else(|| fail(format!("unknown column {f:?}"))))
                    .collect::<Result<Vec<_>>>()?;
                for required in [Column::Id, Column::Finger, Column::Path] {
                    if !named.contains(&required) {
                        return Err(fail(format!("the header lacks the {required:?} column")));
                    }
                }
                if (1..named.len()).any(|i| named[..i].contains(&named[i])) {
                    return Err(fail("a column is named twice".into()));
                }
                columns = Some(named);
                continue;
            }
        }
        let layout: &[Column] = match (&columns, fields.len()) {
            (Some(c), _) => c,
            (None, 3) => &[Column::Id, Column::Finger, Column::Path],
            (None, 5) => {
                &[Column::Id, Column::IdNumber, Column::Name, Column::Finger, Column::Path]
            }
            (None, n) => {
                return Err(fail(format!(
                    "expected 3 fields (id,finger,path) or 5 (record_id,person_id,name,finger,\
                     path) without a header row, found {n}"
                )))
            }
        };
        if fields.len() != layout.len() {
            return Err(fail(format!(
                "expected {} fields as the header names, found {}",
                layout.len(),
                fields.len()
            )));
        }
        let mut id = None;
        let mut finger = None;
        let mut file = None;
        let mut d = Demographics::default();
        for (col, value) in layout.iter().zip(fields) {
            let value = Some(value).filter(|v| !v.trim().is_empty());
            match col {
                Column::Id => id = value,
                Column::Finger => finger = value,
                Column::Path => file = value,
                Column::IdNumber => d.id_number = value,
                Column::Name => d.name = value,
                Column::Sex => d.sex = value,
                Column::BirthDate => d.birth_date = value,
                Column::Address => d.address = value,
                Column::Source => d.source = value,
            }
        }
        let id = id.ok_or_else(|| fail("empty id".into()))?;
        let id = normalize_subject_id(&id).map_err(|e| fail(e.to_string()))?;
        let finger = finger.unwrap_or_default();
        let finger: u8 =
            finger.trim().parse().ok().filter(|f| *f <= MAX_FINGER_POSITION).ok_or_else(|| {
                fail(format!("finger {finger:?} is not a position 0-{MAX_FINGER_POSITION}"))
            })?;
        let file = PathBuf::from(file.ok_or_else(|| fail("empty path".into()))?.trim());
        let path = if file.is_absolute() { file } else { base.join(file) };
        let demographics = d.normalized().map_err(|e| fail(e.to_string()))?;
        let row = PersonRow { line: line_no, finger, path };
        match index_of.get(&id) {
            Some(&k) => {
                let person = &mut people[k];
                if person.demographics != demographics {
                    return Err(fail(format!(
                        "id {id} appears with other demographic fields (e.g. another name)"
                    )));
                }
                if finger != 0 && person.prints.iter().any(|p| p.finger == finger) {
                    return Err(fail(format!("id {id} lists finger {finger} twice")));
                }
                person.prints.push(row);
            }
            None => {
                index_of.insert(id.clone(), people.len());
                people.push(PersonRows { id, demographics, prints: vec![row] });
            }
        }
    }
    if people.is_empty() {
        return Err(Error::Manifest { line: 0, message: "the manifest lists no people".into() });
    }
    Ok(people)
}

/// Splits one CSV line (RFC 4180 quoting, no embedded line breaks).
pub(crate) fn split_csv_line(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_field_start => quoted = true,
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err("text after a closing quote".into());
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
                continue;
            }
            (_, c) => field.push(c),
        }
        at_field_start = false;
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_columns_group_prints_of_a_person() {
        let text = "\u{FEFF}id,finger,path,name,id_number,sex,birth_date,address,source\n\
                    P1,1,a/1.png,\"Li, Wei\",11010519491231002X,M,1949-12-31,Beijing,office-7\n\
                    P2,2,b.rlt,,,,,,\n\
                    P1,6,a/6.png,\"Li, Wei\",11010519491231002X,M,1949-12-31,Beijing,office-7\n";
        let people = parse_people(text, Path::new("/base")).expect("parses");
        assert_eq!(people.len(), 2);
        assert_eq!(people[0].id, "P1");
        assert_eq!(people[0].demographics.name.as_deref(), Some("Li, Wei"));
        assert_eq!(people[0].demographics.source.as_deref(), Some("office-7"));
        let fingers: Vec<u8> = people[0].prints.iter().map(|p| p.finger).collect();
        assert_eq!(fingers, vec![1, 6]);
        assert_eq!(people[0].prints[1].path, PathBuf::from("/base/a/6.png"));
        assert_eq!(people[0].prints[1].line, 4);
        assert!(people[1].demographics.is_empty());
    }

    #[test]
    fn older_layouts_still_read() {
        let old = parse_people("id,finger,path\nP1,2,x.png\n", Path::new("/b")).expect("parses");
        assert_eq!(old[0].id, "P1");
        assert_eq!(old[0].prints[0].finger, 2);
        let bare = parse_people("P1,2,x.png\nP1,3,y.png\n", Path::new("/b")).expect("parses");
        assert_eq!(bare[0].prints.len(), 2);
        let dedup = "record_id,person_id,name,finger,path\nr1,110105194912310021,Wang,1,p.png\n";
        let dedup = parse_people(dedup, Path::new("/b")).expect("parses");
        assert_eq!(dedup[0].demographics.id_number.as_deref(), Some("110105194912310021"));
        assert_eq!(dedup[0].demographics.name.as_deref(), Some("Wang"));
        let bare5 = parse_people("r1,,Wang,1,p.png\n", Path::new("/b")).expect("parses");
        assert_eq!(bare5[0].demographics.id_number, None);
    }

    #[test]
    fn ids_are_normalised_so_spellings_of_one_id_are_one_person() {
        let text = "id,finger,path\nJose\u{301},1,a.png\nJos\u{e9},2,b.png\n";
        let people = parse_people(text, Path::new("/b")).expect("parses");
        assert_eq!(people.len(), 1);
        assert_eq!(people[0].id, "Jos\u{e9}");
        let bad = "id,finger,path\nP\u{200B}1,1,a.png\n";
        assert!(matches!(parse_people(bad, Path::new("/b")), Err(Error::Manifest { line: 2, .. })));
    }

    #[test]
    fn refuses_malformed_rows_with_their_line() {
        let bad = [
            ("id,finger,path,nickname\nP1,1,a\n", 1),
            ("id,path\nP1,a\n", 1),
            ("id,finger,path\nP1,1\n", 2),
            ("P1,1,a,b\n", 1),
            ("id,finger,path\nP1,11,a\n", 2),
            ("id,finger,path\n,1,a\n", 2),
            ("id,finger,path\nP1,1,\n", 2),
            ("id,finger,path\nP1,1,a\nP1,1,b\n", 3),
            ("id,finger,path,name\nP1,1,a,Ann\nP1,2,b,Bob\n", 3),
        ];
        for (text, line) in bad {
            match parse_people(text, Path::new(".")) {
                Err(Error::Manifest { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        assert!(matches!(parse_people("", Path::new(".")), Err(Error::Manifest { line: 0, .. })));
    }
}

//! Identity records: the canonical fields, column maps, reading exports, and preparation.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use crate::address::Address;
use crate::date::Date;
use crate::error::{Error, Result};
use crate::id_number::IdNumber;
use crate::name::Name;
use crate::sex::Sex;

/// The canonical fields of an identity record, in the order of [`RawRecord`]; `finger` and
/// `path` are the optional fingerprint columns (one row per print).
pub const CANONICAL_FIELDS: [&str; 8] =
    ["record_id", "name", "id_number", "sex", "birth_date", "address", "finger", "path"];

/// Which column of an export holds each canonical field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ColumnMap {
    columns: HashMap<&'static str, String>,
}

impl ColumnMap {
    /// Reads `canonical=column,...` (e.g. `record_id=rid,name=xm,id_number=sfzh`). Fields the map
    /// leaves out are looked for under their canonical names.
    pub fn parse(text: &str) -> Result<ColumnMap> {
        let err = |message: String| Error::ColumnMap { map: text.to_string(), message };
        let mut columns = HashMap::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (field, column) = item
                .split_once('=')
                .ok_or_else(|| err(format!("{item:?} is not canonical=column")))?;
            let field = field.trim();
            let canonical = CANONICAL_FIELDS.iter().find(|&&f| f == field).ok_or_else(|| {
                err(format!("unknown field {field:?} (fields: {})", CANONICAL_FIELDS.join(", ")))
            })?;
            let column = column.trim();
            if column.is_empty() {
                return Err(err(format!("no column named for {field}")));
            }
            if columns.insert(*canonical, column.to_string()).is_some() {
                return Err(err(format!("{field} is mapped twice")));
            }
        }
        Ok(ColumnMap { columns })
    }

    /// The column name for a canonical field.
    pub fn column<'a>(&'a self, field: &'a str) -> &'a str {
        self.columns.get(field).map_or(field, String::as_str)
    }
}

/// One print of a record: ISO finger position and the file holding the image or template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Print {
    /// Finger position (ISO/IEC 19794-2: 1 right thumb … 10 left little finger; 0 unknown).
    pub finger: u8,
    /// Path of the image or template, as written in the export.
    pub path: String,
}

/// A record as read, its fields still text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawRecord {
    /// Record identifier, unique within its system.
    pub record_id: String,
    /// Name in characters (or romanised).
    pub name: String,
    /// Identity number.
    pub id_number: String,
    /// Sex in any of the accepted encodings.
    pub sex: String,
    /// Birth date.
    pub birth_date: String,
    /// Home address.
    pub address: String,
    /// Prints, when the export has `finger,path` columns.
    pub prints: Vec<Print>,
}

/// What preparation found wrong or inconsistent in a record (bits of [`Person::flags`]).
pub mod flags {
    /// The identity number is not valid (length, digits, check character, date or region).
    pub const INVALID_ID: u8 = 1;
    /// The birth date field and the date in the identity number differ.
    pub const BIRTH_DATE_CONFLICT: u8 = 2;
    /// The sex field and the sex encoded in the identity number differ.
    pub const SEX_CONFLICT: u8 = 4;
    /// The birth date field could not be read.
    pub const UNREADABLE_DATE: u8 = 8;
    /// The sex field could not be read.
    pub const UNREADABLE_SEX: u8 = 16;
    /// The identity number was written in the old 15-digit form.
    pub const FIFTEEN_DIGIT_ID: u8 = 32;
}

/// A record prepared for comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Record identifier.
    pub record_id: Box<str>,
    /// Name.
    pub name: Option<Name>,
    /// Identity number.
    pub id_number: Option<IdNumber>,
    /// Sex: the field, or where it is empty the sex the identity number encodes.
    pub sex: Option<Sex>,
    /// Birth date: the field, or where it is empty or unreadable the date in a valid identity
    /// number.
    pub birth_date: Option<Date>,
    /// Address.
    pub address: Option<Address>,
    /// Problems found (see [`flags`]).
    pub flags: u8,
    /// Prints.
    pub prints: Vec<Print>,
}

impl Person {
    /// Prepares a record: folds and reads every field and cross-checks the birth date and sex
    /// against the identity number. Unreadable fields are treated as missing and flagged.
    pub fn prepare(raw: RawRecord) -> Person {
        let mut flags = 0;
        let id_number = IdNumber::parse(&raw.id_number);
        if let Some(id) = &id_number {
            if !id.is_valid() {
                flags |= flags::INVALID_ID;
            }
            if id.upgraded_from_15 {
                flags |= flags::FIFTEEN_DIGIT_ID;
            }
        }
        let valid_id = id_number.as_ref().filter(|id| id.is_valid());
        let field_date = Date::parse(&raw.birth_date).unwrap_or_else(|_| {
            flags |= flags::UNREADABLE_DATE;
            None
        });
        let field_sex = Sex::parse(&raw.sex).unwrap_or_else(|_| {
            flags |= flags::UNREADABLE_SEX;
            None
        });
        if let (Some(f), Some(i)) = (field_date, valid_id.and_then(|id| id.birth_date)) {
            if f != i {
                flags |= flags::BIRTH_DATE_CONFLICT;
            }
        }
        if let (Some(f), Some(i)) = (field_sex, valid_id.and_then(|id| id.sex)) {
            if f != i {
                flags |= flags::SEX_CONFLICT;
            }
        }
        Person {
            record_id: raw.record_id.into(),
            name: Name::parse(&raw.name),
            sex: field_sex.or_else(|| valid_id.and_then(|id| id.sex)),
            birth_date: field_date.or_else(|| valid_id.and_then(|id| id.birth_date)),
            address: Address::parse(&raw.address),
            id_number,
            flags,
            prints: raw.prints,
        }
    }
}

/// Splits one CSV line (RFC 4180 quoting, no line breaks inside fields).
pub fn split_csv_line(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && at_start {
            quoted = true;
            at_start = false;
        } else if c == ',' {
            fields.push(std::mem::take(&mut field));
            at_start = true;
        } else {
            field.push(c);
            at_start = false;
        }
    }
    if quoted {
        return Err("unterminated quoted field".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Quotes a value for CSV where needed.
pub fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// Reads an export: a header line, then one row per record, or one row per print when the map
/// finds `finger` and `path` columns (rows of one record repeat its demographic fields, which
/// must agree). `record_id` is required; other missing demographic columns are an error too,
/// since a silently empty field would look like missing data rather than a wrong map.
pub fn read_records(path: &Path, map: &ColumnMap) -> Result<Vec<RawRecord>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut lines = std::io::BufReader::with_capacity(1 << 20, file).lines();
    let csv_err = |line: usize, message: String| Error::Csv { path: path.into(), line, message };
    let header_line = match lines.next() {
        Some(line) => line.map_err(|e| Error::io(path, e))?,
        None => return Err(csv_err(1, "empty file: no header".into())),
    };
    let header_line = header_line.trim_start_matches('\u{feff}').trim_end_matches('\r');
    let header = split_csv_line(header_line).map_err(|m| csv_err(1, m))?;
    let find = |field: &'static str| header.iter().position(|h| h.trim() == map.column(field));
    let mut index = [None; 8];
    for (slot, field) in index.iter_mut().zip(CANONICAL_FIELDS) {
        *slot = find(field);
        let optional = matches!(field, "finger" | "path");
        if slot.is_none() && !optional {
            return Err(Error::MissingColumn {
                path: path.into(),
                field,
                column: map.column(field).to_string(),
                header: header_line.to_string(),
            });
        }
    }
    let with_prints = index[6].is_some() && index[7].is_some();
    let mut records: Vec<RawRecord> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (i, line) in lines.enumerate() {
        let line_no = i + 2;
        let line = line.map_err(|e| Error::io(path, e))?;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv_line(line).map_err(|m| csv_err(line_no, m))?;
        let get =
            |k: usize| -> &str { index[k].and_then(|c| fields.get(c)).map_or("", |s| s.trim()) };
        let record_id = get(0);
        if record_id.is_empty() {
            return Err(csv_err(line_no, "empty record_id".into()));
        }
        let raw = RawRecord {
            record_id: record_id.to_string(),
            name: get(1).to_string(),
            id_number: get(2).to_string(),
            sex: get(3).to_string(),
            birth_date: get(4).to_string(),
            address: get(5).to_string(),
            prints: Vec::new(),
        };
        let print = if with_prints && !get(7).is_empty() {
            let finger = get(6).parse::<u8>().ok().filter(|&f| f <= 10).ok_or_else(|| {
                csv_err(line_no, format!("finger {:?} is not a position 0..=10", get(6)))
            })?;
            Some(Print { finger, path: get(7).to_string() })
        } else {
            None
        };
        match by_id.get(record_id) {
            Some(&at) => {
                if !with_prints {
                    return Err(csv_err(line_no, format!("record_id {record_id:?} repeats")));
                }
                let existing = &mut records[at];
                let pairs = [
                    ("name", &existing.name, &raw.name),
                    ("id_number", &existing.id_number, &raw.id_number),
                    ("sex", &existing.sex, &raw.sex),
                    ("birth_date", &existing.birth_date, &raw.birth_date),
                    ("address", &existing.address, &raw.address),
                ];
                if let Some((field, _, _)) = pairs.iter().find(|(_, a, b)| a != b) {
                    return Err(Error::InconsistentRecord {
                        path: path.into(),
                        line: line_no,
                        record_id: record_id.to_string(),
                        field,
                    });
                }
                existing.prints.extend(print);
            }
            None => {
                by_id.insert(raw.record_id.clone(), records.len());
                let mut raw = raw;
                raw.prints.extend(print);
                records.push(raw);
            }
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_maps() {
        let map = ColumnMap::parse("record_id=rid, name=xm,id_number=sfzh").expect("parses");
        assert_eq!(map.column("name"), "xm");
        assert_eq!(map.column("sex"), "sex");
        assert!(ColumnMap::parse("nom=xm").is_err());
        assert!(ColumnMap::parse("name").is_err());
        assert!(ColumnMap::parse("name=a,name=b").is_err());
        assert_eq!(ColumnMap::parse("").expect("empty map"), ColumnMap::default());
    }

    #[test]
    fn preparation_cross_checks_the_id_number() {
        let raw = RawRecord {
            record_id: "a1".into(),
            name: "張偉".into(),
            id_number: "11010519491231002X".into(),
            sex: "男".into(),
            birth_date: "19491230".into(),
            address: "北京市朝阳区建国路1号".into(),
            prints: vec![],
        };
        let p = Person::prepare(raw.clone());
        assert_eq!(p.flags, flags::BIRTH_DATE_CONFLICT | flags::SEX_CONFLICT);
        // Empty fields are taken from a valid number.
        let p = Person::prepare(RawRecord { sex: String::new(), birth_date: String::new(), ..raw });
        assert_eq!(p.flags, 0);
        assert_eq!(p.sex, Some(Sex::Female));
        assert_eq!(p.birth_date, Date::from_parts(1949, 12, 31));
    }

    #[test]
    fn reads_mapped_exports_with_prints() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.csv");
        std::fs::write(
            &path,
            "\u{feff}rid,xm,sfzh,xb,csrq,zz,finger,path\r\n\
             1,张伟,11010519491231002X,女,1949-12-31,\"北京市,朝阳区\",1,a.png\r\n\
             1,张伟,11010519491231002X,女,1949-12-31,\"北京市,朝阳区\",6,b.png\r\n\
             2,李娜,,F,,,,\r\n",
        )
        .expect("write");
        let map = ColumnMap::parse(
            "record_id=rid,name=xm,id_number=sfzh,sex=xb,birth_date=csrq,address=zz",
        )
        .expect("map");
        let records = read_records(&path, &map).expect("reads");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].address, "北京市,朝阳区");
        assert_eq!(records[0].prints.len(), 2);
        assert_eq!(records[1].prints.len(), 0);
        // A map naming a column the file lacks is an error, not empty fields.
        let bad = ColumnMap::parse("name=xingming").expect("map");
        assert!(matches!(read_records(&path, &bad), Err(Error::MissingColumn { .. })));
        std::fs::write(
            &path,
            "record_id,name,id_number,sex,birth_date,address\n1,a,,,,\n1,b,,,,\n",
        )
        .expect("write");
        assert!(matches!(
            read_records(&path, &ColumnMap::default()),
            Err(Error::Csv { line: 3, .. })
        ));
    }
}

//! The population manifest: a CSV file `record_id,person_id,name,finger,path`, or any people
//! manifest (`crate::people::manifest`, whose parser this uses).
//!
//! One row per finger; several rows with the same `record_id` are several fingers of one record
//! (one registration of one person). `person_id` is the resident identity number where known and
//! may be empty; `finger` is the ISO/IEC 19794-2 finger position (0 unknown, 1–10); `path` names
//! an image or a template file, relative to the manifest's folder unless absolute. A first row
//! that starts with `record_id` is a header. Fields may be quoted with `"` (doubled inside).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One record of the population: a registration with one or more fingers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    /// The record's identifier, unique in the population.
    pub record_id: String,
    /// Resident identity number, empty where unknown.
    pub person_id: String,
    /// Name as registered.
    pub name: String,
    /// Finger positions held, in manifest order.
    pub fingers: Vec<u8>,
}

/// A record with the files of its fingers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRecord {
    /// Identity of the record.
    pub info: RecordInfo,
    /// File of each finger, parallel to `info.fingers`.
    pub paths: Vec<PathBuf>,
}

/// Reads a manifest file; relative paths are resolved against its folder.
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    parse_manifest(&text, base)
}

/// Parses manifest text; relative paths are resolved against `base`. The format is the people
/// manifest (`crate::people::manifest`): the older `record_id,person_id,name,finger,path`
/// layout, or any header-named set of its columns.
pub(crate) fn parse_manifest(text: &str, base: &Path) -> Result<Vec<ManifestRecord>> {
    let people = crate::people::parse_people(text, base)?;
    Ok(people
        .into_iter()
        .map(|p| ManifestRecord {
            info: RecordInfo {
                record_id: p.id,
                person_id: p.demographics.id_number.unwrap_or_default(),
                name: p.demographics.name.unwrap_or_default(),
                fingers: p.prints.iter().map(|r| r.finger).collect(),
            },
            paths: p.prints.into_iter().map(|r| r.path).collect(),
        })
        .collect())
}

/// Quotes a text field for CSV output where it needs it, and neutralises text a spreadsheet
/// would run as a formula (a cell starting with `=`, `+`, `-`, `@`, tab or CR, from an id or a
/// name in the input) by prefixing `'`. A cell that is a number (`-3.5`) stays a number.
pub fn csv_field(value: &str) -> String {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r'])
        && value.parse::<f64>().map_or(true, |x| !x.is_finite());
    let value: std::borrow::Cow<'_, str> =
        if formula { format!("'{value}").into() } else { value.into() };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_fingers_of_a_record() {
        let text = "record_id,person_id,name,finger,path\r\n\
                    r1,11010519491231002X,\"Li, Wei\",1,a/1.png\n\
                    r2,,Wang Fang,1,/abs/2.rlt\n\
                    r1,11010519491231002X,\"Li, Wei\",6,a/6.png\n";
        let records = parse_manifest(text, Path::new("/base")).expect("parses");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].info.record_id, "r1");
        assert_eq!(records[0].info.name, "Li, Wei");
        assert_eq!(records[0].info.fingers, vec![1, 6]);
        assert_eq!(
            records[0].paths,
            vec![PathBuf::from("/base/a/1.png"), PathBuf::from("/base/a/6.png")]
        );
        assert_eq!(records[1].info.person_id, "");
        assert_eq!(records[1].paths, vec![PathBuf::from("/abs/2.rlt")]);
    }

    #[test]
    fn quoted_quotes_round_trip() {
        let fields =
            crate::people::manifest::split_csv_line(r#"a,"say ""hi""",,"x,y""#).expect("splits");
        assert_eq!(fields, vec!["a", "say \"hi\"", "", "x,y"]);
        assert_eq!(csv_field("say \"hi\", ok"), r#""say ""hi"", ok""#);
        assert_eq!(csv_field("plain"), "plain");
        // Formula injection through an id or a name is neutralised; numbers stay numbers.
        assert_eq!(csv_field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(csv_field("+1+1"), "'+1+1");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-3.5"), "-3.5");
        assert_eq!(csv_field("+7"), "+7");
        assert_eq!(csv_field("-inf"), "'-inf");
        assert_eq!(csv_field("a-b"), "a-b");
    }

    #[test]
    fn refuses_malformed_rows_with_their_line() {
        let bad = [
            ("r1,,n,1\n", 1),
            ("record_id,person_id,name,finger,path\nr1,,n,11,p\n", 2),
            ("r1,,n,x,p\n", 1),
            ("r1,,\"n,1,p\n", 1),
            ("r1,,n,1,\n", 1),
            (",,n,1,p\n", 1),
            ("r1,,n,1,p\nr1,,other,2,q\n", 2),
            ("r1,,n,1,p\nr1,,n,1,q\n", 2),
        ];
        for (text, line) in bad {
            match parse_manifest(text, Path::new(".")) {
                Err(Error::Manifest { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        assert!(matches!(parse_manifest("", Path::new(".")), Err(Error::Manifest { .. })));
    }
}

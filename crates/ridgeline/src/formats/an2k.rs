//! ANSI/NIST-ITL 1-2011 transaction files (`.an2`, `.eft`): the fingerprint images of Type-4
//! and Type-14 records, located through the Type-1 content field.
//!
//! Tagged records (Types 1, 2, 9, 10, 13–99) are ASCII fields `T.NNN:value` separated by GS
//! (0x1D), with subfields split by RS (0x1E) and items by US (0x1F), ending with FS (0x1C);
//! field `T.001` is the record length in bytes, and the image field `.999` is binary and comes
//! last. Binary records (Types 3–8) start with a 4-byte big-endian length. Layouts in
//! `docs/FORMATS.md` (section ANSI/NIST-ITL).

use crate::bytes::Reader;
use crate::error::{Error, Result};
use crate::image::FingerImage;

const FORMAT: &str = "ansi/nist-itl";
/// Group separator: ends a field.
pub(crate) const GS: u8 = 0x1D;
/// File separator: ends a tagged record.
pub(crate) const FS: u8 = 0x1C;
/// Record separator: separates subfields.
pub(crate) const RS: u8 = 0x1E;
/// Unit separator: separates items of a subfield.
pub(crate) const US: u8 = 0x1F;
/// Type-4 fixed header length (LEN 4, IDC 1, IMP 1, FGP 6, ISR 1, HLL 2, VLL 2, GCA 1).
pub(crate) const TYPE4_HEADER_LEN: usize = 18;
/// Millimetres per inch, for resolutions stated in pixels per millimetre.
const MM_PER_INCH: f64 = 25.4;

/// How an image is compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compression {
    /// Uncompressed 8-bit grayscale.
    None,
    /// WSQ (FBI IAFIS-IC-0110).
    Wsq,
    /// Another algorithm, by its code (Type-4 GCA number or Type-14 CGA name); listed, not decoded.
    Other(String),
}

/// One fingerprint image record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerprintRecord {
    /// Record type (4 or 14).
    pub record_type: u8,
    /// Information designation character (IDC).
    pub idc: u32,
    /// Impression type (0 live-scan plain, 1 live-scan rolled, …).
    pub impression_type: u32,
    /// Finger positions (1–10 fingers, 13–15 plain slaps, …); 255 fillers removed.
    pub finger_positions: Vec<u32>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Resolution in pixels per inch, where the record states it.
    pub ppi: Option<u32>,
    /// Compression of the image data.
    pub compression: Compression,
    /// The image data as stored.
    pub data: Vec<u8>,
}

/// A parsed transaction: the records it lists and its fingerprint images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Type-1 fields, tag number and value (e.g. (4, "CAR") for the transaction type).
    pub header: Vec<(u32, String)>,
    /// (record type, IDC) of every record after Type-1, as the content field lists them.
    pub contents: Vec<(u32, u32)>,
    /// The fingerprint images (Types 4 and 14) in file order.
    pub fingerprints: Vec<FingerprintRecord>,
}

/// A tagged record's fields: (field number, raw value bytes).
type Fields<'a> = Vec<(u32, &'a [u8])>;

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).trim().to_string()
}

fn number(v: &[u8]) -> Option<u32> {
    text(v).parse().ok()
}

/// Parses the tagged record of type `expected_type` at `bytes[start..]`, returning its fields
/// and its length in bytes.
fn tagged(bytes: &[u8], start: usize, expected_type: u32) -> Result<(Fields<'_>, usize)> {
    let rest = bytes.get(start..).unwrap_or(&[]);
    let colon = rest.iter().take(16).position(|&b| b == b':');
    let gs = rest.iter().take(32).position(|&b| b == GS || b == FS);
    let (Some(colon), Some(gs)) = (colon, gs) else {
        return Err(fmt_err("tagged record without a length field", start));
    };
    if gs < colon {
        return Err(fmt_err("tagged record without a length field", start));
    }
    let tag = std::str::from_utf8(&rest[..colon]).unwrap_or("");
    let record_type = tag.split('.').next().and_then(|t| t.parse::<u32>().ok());
    let field_number = tag.split('.').nth(1).and_then(|f| f.parse::<u32>().ok());
    if record_type != Some(expected_type) || field_number != Some(1) {
        return Err(fmt_err(
            format!("expected a Type-{expected_type} record, found tag '{tag}'"),
            start,
        ));
    }
    let len = number(&rest[colon + 1..gs])
        .map(|l| l as usize)
        .filter(|&l| l > gs && l <= rest.len())
        .ok_or_else(|| fmt_err("record length field out of range", start))?;
    let body = &rest[..len];
    let mut fields = Vec::new();
    let mut pos = 0;
    while pos < body.len() {
        let Some(colon) = body[pos..].iter().position(|&b| b == b':').map(|c| pos + c) else {
            break;
        };
        let tag = std::str::from_utf8(&body[pos..colon]).unwrap_or("");
        let field: u32 = tag
            .split('.')
            .nth(1)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| fmt_err(format!("bad tag '{tag}'"), start + pos))?;
        let value_start = colon + 1;
        let value_end = if field == 999 {
            // The binary image runs to the record's final separator.
            body.len().saturating_sub(1).max(value_start)
        } else {
            body[value_start..]
                .iter()
                .position(|&b| b == GS || b == FS)
                .map_or(body.len(), |e| value_start + e)
        };
        fields.push((field, &body[value_start..value_end]));
        pos = value_end + 1;
    }
    Ok((fields, len))
}

fn field<'a>(fields: &Fields<'a>, n: u32) -> Option<&'a [u8]> {
    fields.iter().find(|(f, _)| *f == n).map(|(_, v)| *v)
}

/// Parses an ANSI/NIST-ITL file.
pub fn parse(bytes: &[u8]) -> Result<Transaction> {
    if bytes.is_empty() {
        return Err(Error::EmptyInput);
    }
    let mut pos = 0usize;
    let read_tagged = |pos: &mut usize, ty: u32| -> Result<Fields<'_>> {
        let (fields, len) = tagged(bytes, *pos, ty)?;
        *pos += len;
        Ok(fields)
    };
    let type1 = read_tagged(&mut pos, 1)?;
    let header: Vec<(u32, String)> = type1.iter().map(|(f, v)| (*f, text(v))).collect();
    let cnt =
        field(&type1, 3).ok_or_else(|| fmt_err("Type-1 record has no content field 1.003", 0))?;
    let contents: Vec<(u32, u32)> = cnt
        .split(|&b| b == RS)
        .skip(1)
        .map(|sub| {
            let mut items = sub.split(|&b| b == US);
            let ty = items.next().and_then(number);
            let idc = items.next().and_then(number);
            ty.zip(idc).ok_or_else(|| fmt_err("malformed content subfield in 1.003", 0))
        })
        .collect::<Result<_>>()?;
    let native_ppmm =
        field(&type1, 11).and_then(|v| text(v).parse::<f64>().ok()).filter(|v| *v > 0.0);
    let mut fingerprints = Vec::new();
    for &(ty, _) in &contents {
        match ty {
            3..=8 => {
                let mut r = Reader::new(&bytes[pos..], FORMAT);
                let len = r.u32().map_err(|e| shift(e, pos))? as usize;
                if len < 4 || len > bytes.len() - pos {
                    return Err(fmt_err(
                        format!("Type-{ty} record length {len} out of range"),
                        pos,
                    ));
                }
                if ty == 4 {
                    fingerprints.push(
                        type4(&bytes[pos..pos + len], native_ppmm).map_err(|e| shift(e, pos))?,
                    );
                }
                pos += len;
            }
            _ => {
                let fields = read_tagged(&mut pos, ty)?;
                if ty == 14 {
                    fingerprints.push(type14(&fields)?);
                }
            }
        }
    }
    Ok(Transaction { header, contents, fingerprints })
}

fn fmt_err(message: impl Into<String>, offset: usize) -> Error {
    Error::Format { format: FORMAT, message: message.into(), offset }
}

/// Moves an error's offset from record-relative to file-relative.
fn shift(e: Error, by: usize) -> Error {
    match e {
        Error::Format { format, message, offset } => {
            Error::Format { format, message, offset: offset + by }
        }
        other => other,
    }
}

fn type4(rec: &[u8], native_ppmm: Option<f64>) -> Result<FingerprintRecord> {
    if rec.len() < TYPE4_HEADER_LEN {
        return Err(fmt_err("Type-4 record shorter than its header", 0));
    }
    let mut r = Reader::new(rec, FORMAT);
    r.u32()?;
    let idc = r.u8()? as u32;
    let impression_type = r.u8()? as u32;
    let finger_positions = r.take(6)?.iter().filter(|&&p| p != 255).map(|&p| p as u32).collect();
    let isr = r.u8()?;
    let width = r.u16()? as u32;
    let height = r.u16()? as u32;
    let gca = r.u8()?;
    let data = r.take(r.remaining())?.to_vec();
    let compression = match gca {
        0 => Compression::None,
        1 => Compression::Wsq,
        other => Compression::Other(other.to_string()),
    };
    // ISR 0: the minimum scanning resolution, 19.69 pixels/mm (500 ppi); 1: the native
    // resolution stated in the Type-1 record.
    let ppi =
        if isr == 0 { Some(500) } else { native_ppmm.map(|p| (p * MM_PER_INCH).round() as u32) };
    Ok(FingerprintRecord {
        record_type: 4,
        idc,
        impression_type,
        finger_positions,
        width,
        height,
        ppi,
        compression,
        data,
    })
}

fn type14(fields: &Fields<'_>) -> Result<FingerprintRecord> {
    let num = |n: u32| field(fields, n).and_then(number);
    let missing = |what: &str| fmt_err(format!("Type-14 record without {what}"), 0);
    let width = num(6).ok_or_else(|| missing("width (14.006)"))?;
    let height = num(7).ok_or_else(|| missing("height (14.007)"))?;
    let scale_units = num(8).unwrap_or(0);
    let hps = num(9);
    let ppi = match scale_units {
        1 => hps,
        2 => hps.map(|p| (p as f64 * 2.54).round() as u32),
        _ => None,
    };
    let compression = match field(fields, 11).map(text).as_deref() {
        Some("NONE") | None => Compression::None,
        Some("WSQ20") | Some("WSQ") => Compression::Wsq,
        Some(other) => Compression::Other(other.to_string()),
    };
    let finger_positions = field(fields, 13)
        .map(|v| {
            v.split(|&b| b == RS)
                .filter_map(|s| s.split(|&b| b == US).next().and_then(number))
                .collect()
        })
        .unwrap_or_default();
    Ok(FingerprintRecord {
        record_type: 14,
        idc: num(2).unwrap_or(0),
        impression_type: num(3).unwrap_or(0),
        finger_positions,
        width,
        height,
        ppi,
        compression,
        data: field(fields, 999).ok_or_else(|| missing("image data (14.999)"))?.to_vec(),
    })
}

impl FingerprintRecord {
    /// Decodes the image (WSQ or uncompressed); other compressions are an error that names them.
    pub fn decode(&self) -> Result<FingerImage> {
        let dpi = self.ppi.filter(|p| (crate::image::MIN_DPI..=crate::image::MAX_DPI).contains(p));
        match &self.compression {
            Compression::Wsq => {
                // The WSQ frame header defines the pixel layout; real files (NIST's own test
                // data) state other sizes in the record, so the record's size is not enforced.
                let img = crate::image::wsq::decode(&self.data)?;
                let dpi = dpi.or(img.ppi).unwrap_or(crate::image::STANDARD_DPI);
                FingerImage::from_raw(img.width, img.height, dpi, img.pixels)
            }
            Compression::None => {
                let n = self.width as usize * self.height as usize;
                let pixels = self
                    .data
                    .get(..n)
                    .ok_or_else(|| fmt_err("uncompressed image shorter than its size", 0))?;
                FingerImage::from_raw(
                    self.width,
                    self.height,
                    dpi.unwrap_or(crate::image::STANDARD_DPI),
                    pixels.to_vec(),
                )
            }
            Compression::Other(name) => Err(Error::UnsupportedImageFormat(format!(
                "ANSI/NIST-ITL image compressed with '{name}'"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn shared(relative: &str) -> Option<Vec<u8>> {
        let path = crate::test_support::shared_path(relative)?;
        Some(std::fs::read(&path).expect("shared file exists but cannot be read"))
    }

    #[test]
    fn type4_file_parses_and_its_wsq_decodes() {
        let Some(bytes) = shared("format-vectors/ansi-nist/valid1.1.an2") else { return };
        let t = parse(&bytes).expect("parse");
        assert_eq!(t.contents, vec![(2, 0), (4, 1)]);
        assert_eq!(t.fingerprints.len(), 1);
        let fp = &t.fingerprints[0];
        assert_eq!((fp.record_type, fp.width, fp.height), (4, 512, 512));
        assert_eq!(fp.finger_positions, vec![10]);
        assert_eq!(fp.compression, Compression::Wsq);
        let img = fp.decode().expect("WSQ decodes");
        assert_eq!((img.width(), img.height(), img.dpi()), (512, 512, 500));
        let mean = img.pixels().iter().map(|&p| p as f64).sum::<f64>() / (512.0 * 512.0);
        assert!((20.0..240.0).contains(&mean), "mean {mean}");
    }

    #[test]
    fn type14_file_parses_and_each_wsq_decodes() {
        let Some(bytes) = shared("format-vectors/ansi-nist/valid1.8.an2") else { return };
        let t = parse(&bytes).expect("parse");
        assert_eq!(t.fingerprints.len(), 3);
        let mut seen = Vec::new();
        for fp in &t.fingerprints {
            assert_eq!(fp.compression, Compression::Wsq);
            assert_eq!((fp.ppi, fp.impression_type), (Some(500), 0));
            let img = fp.decode().expect("WSQ decodes");
            assert_eq!(img.dpi(), 500);
            seen.push((
                fp.finger_positions.clone(),
                (fp.width, fp.height),
                (img.width(), img.height()),
            ));
        }
        eprintln!("{seen:?}");
        // Plain right four fingers, left four fingers, both thumbs. NIST's file states sizes in the
        // records that differ from its WSQ streams'; the WSQ frame header wins.
        let positions: Vec<_> = seen.iter().map(|s| s.0.clone()).collect();
        assert_eq!(positions, vec![vec![13], vec![14], vec![15]]);
        assert!(seen.iter().all(|s| s.2 .0 >= 500 && s.2 .1 >= 500), "{seen:?}");
    }

    #[test]
    fn truncated_files_are_errors() {
        let Some(bytes) = shared("format-vectors/ansi-nist/valid1.1.an2") else { return };
        for cut in (0..bytes.len()).step_by(37) {
            let _ = parse(&bytes[..cut])
                .map(|t| t.fingerprints.iter().filter(|f| f.decode().is_ok()).count());
        }
        assert!(parse(&bytes[..100]).is_err());
    }
}

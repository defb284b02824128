//! ISO/IEC 19794-2:2011 finger minutiae records.
//!
//! The 2011 edition moves image size and resolution into each finger view ("representation"),
//! adds capture date and device, quality records and optional certification records, and lets
//! minutiae take 5 bytes (no quality) or 6. Layout in `docs/FORMATS.md`; offsets below.

use super::iso2005_ansi2004::{decode_extensions, decode_minutia, encode_extensions, MAGIC};
use super::record::{
    CaptureDetails, Certificate, FingerView, MinutiaeRecord, QualityRecord, RecordHeader,
    RecordMinutia,
};
use super::TemplateFormat;
use crate::bytes::{Reader, Writer};
use crate::error::{Error, Result};

/// Version of 2011 records.
pub(crate) const VERSION: [u8; 4] = *b"030\0";
/// Offset of the record length (u32).
pub(crate) const OFFSET_LENGTH: usize = 8;
/// Offset of the number of finger representations (u16).
pub(crate) const OFFSET_VIEW_COUNT: usize = 12;
/// Offset of the certification flag (u8).
#[cfg(test)]
pub(crate) const OFFSET_CERTIFICATION: usize = 14;
/// Header length; the first representation starts here.
#[cfg(test)]
pub(crate) const HEADER_LEN: usize = 15;
/// Smallest possible representation: length, date, device, quality count, finger fields,
/// minutia count and extended data length.
pub(crate) const MIN_VIEW_LEN: usize = 4 + 9 + 5 + 1 + 13 + 2;
/// Quality value of a minutia stored without one (5-byte minutiae).
pub(crate) const QUALITY_NOT_REPORTED: u8 = 254;

/// Decodes an ISO/IEC 19794-2:2011 record.
pub(crate) fn decode(bytes: &[u8]) -> Result<MinutiaeRecord> {
    let format = TemplateFormat::Iso19794_2_2011;
    let mut r = Reader::new(bytes, format.name());
    let mut warnings = Vec::new();
    if r.take(4)? != MAGIC {
        return Err(r.error_at(0, "bad magic, expected \"FMR\\0\""));
    }
    let version: [u8; 4] = r.take(4)?.try_into().map_err(|_| r.error("version"))?;
    if version != VERSION {
        return Err(r.error_at(4, format!("version {version:02x?} is not \"030\"")));
    }
    let length = r.u32()? as usize;
    if length > bytes.len() {
        return Err(r.error_at(
            OFFSET_LENGTH,
            format!("truncated: length {length}, {} present", bytes.len()),
        ));
    }
    if length < bytes.len() {
        warnings
            .push(format!("{} bytes after the record's stated end ignored", bytes.len() - length));
    }
    let mut r = Reader::new(&bytes[..length], format.name());
    r.skip(OFFSET_VIEW_COUNT)?;
    let count = r.u16()? as usize;
    let certification = r.u8()?;
    if count.saturating_mul(MIN_VIEW_LEN) > r.remaining() {
        return Err(r.error(format!("{count} representations announced, too few bytes left")));
    }
    let mut views = Vec::with_capacity(count);
    for _ in 0..count {
        views.push(decode_view(&mut r, certification != 0, &mut warnings)?);
    }
    if r.remaining() > 0 {
        return Err(r.error(format!("{} bytes after the last representation", r.remaining())));
    }
    let header = RecordHeader { version, certification, ..RecordHeader::default() };
    Ok(MinutiaeRecord { format, header, views, warnings })
}

fn decode_view(
    r: &mut Reader<'_>,
    certified: bool,
    warnings: &mut Vec<String>,
) -> Result<FingerView> {
    let start = r.pos();
    let length = r.u32()? as usize;
    if length < MIN_VIEW_LEN {
        return Err(r.error_at(start, format!("representation length {length} is too short")));
    }
    // Everything of this representation must lie within its stated length.
    let mut v = r.sub(length - 4)?;
    let end = start + length;
    let capture = CaptureDetails {
        year: v.u16()?,
        month: v.u8()?,
        day: v.u8()?,
        hour: v.u8()?,
        minute: v.u8()?,
        second: v.u8()?,
        millisecond: v.u16()?,
        technology: v.u8()?,
        vendor: v.u16()?,
        device_type: v.u16()?,
    };
    let quality_count = v.u8()? as usize;
    let mut quality_records = Vec::with_capacity(quality_count.min(v.remaining() / 5));
    for _ in 0..quality_count {
        quality_records.push(QualityRecord {
            score: v.u8()?,
            vendor: v.u16()?,
            algorithm: v.u16()?,
        });
    }
    let mut certificates = Vec::new();
    if certified {
        let n = v.u8()? as usize;
        for _ in 0..n {
            certificates.push(Certificate { authority: v.u16()?, scheme: v.u8()? });
        }
    }
    let finger_position = v.u8()?;
    let view_number = v.u8()?;
    let resolution_x = v.u16()?;
    let resolution_y = v.u16()?;
    let impression_type = v.u8()?;
    let width = v.u16()?;
    let height = v.u16()?;
    let flags = v.u8()?;
    let minutia_len = flags >> 4;
    if minutia_len != 5 && minutia_len != 6 {
        return Err(v.error(format!("minutia field length {minutia_len}, expected 5 or 6")));
    }
    let ending_type = flags & 0x0f;
    let count = v.u8()? as usize;
    let mut minutiae = Vec::with_capacity(count.min(v.remaining() / 5));
    for _ in 0..count {
        minutiae.push(if minutia_len == 6 {
            decode_minutia(&mut v)?
        } else {
            let type_x = v.u16()?;
            let y = v.u16()?;
            let angle = v.u8()?;
            RecordMinutia {
                kind: (type_x >> 14) as u8,
                x: type_x & 0x3fff,
                y: y & 0x3fff,
                angle,
                quality: QUALITY_NOT_REPORTED,
            }
        });
    }
    let extensions = decode_extensions(&mut v, TemplateFormat::Iso19794_2_2011, warnings)?;
    if v.pos() != end {
        return Err(
            v.error(format!("representation ends at byte {}, its length says {end}", v.pos()))
        );
    }
    Ok(FingerView {
        finger_position,
        view_number,
        impression_type,
        quality: quality_records.first().map_or(0, |q| q.score),
        width,
        height,
        resolution_x,
        resolution_y,
        quality_records,
        capture: Some(capture),
        certificates,
        ending_type,
        minutiae,
        extensions,
    })
}

/// Encodes an ISO/IEC 19794-2:2011 record. Minutiae take 5 bytes when none reports a quality.
pub(crate) fn encode(record: &MinutiaeRecord) -> Result<Vec<u8>> {
    let mut w = Writer::default();
    w.bytes(&MAGIC);
    w.bytes(&VERSION);
    w.u32(0); // patched below
    let count = u16::try_from(record.views.len())
        .map_err(|_| Error::InvalidArgument("too many finger views".into()))?;
    w.u16(count);
    let certified =
        record.header.certification != 0 || record.views.iter().any(|v| !v.certificates.is_empty());
    w.u8(certified as u8);
    for view in &record.views {
        encode_view(&mut w, view, certified)?;
    }
    let len =
        u32::try_from(w.len()).map_err(|_| Error::InvalidArgument("record too long".into()))?;
    w.patch_u32(OFFSET_LENGTH, len);
    Ok(w.out)
}

fn encode_view(w: &mut Writer, view: &FingerView, certified: bool) -> Result<()> {
    let start = w.len();
    w.u32(0); // patched below
    let unknown = CaptureDetails {
        year: 0xffff,
        month: 0xff,
        day: 0xff,
        hour: 0xff,
        minute: 0xff,
        second: 0xff,
        millisecond: 0xffff,
        technology: 0,
        vendor: 0,
        device_type: 0,
    };
    let c = view.capture.unwrap_or(unknown);
    w.u16(c.year);
    for b in [c.month, c.day, c.hour, c.minute, c.second] {
        w.u8(b);
    }
    w.u16(c.millisecond);
    w.u8(c.technology);
    w.u16(c.vendor);
    w.u16(c.device_type);
    let qcount = u8::try_from(view.quality_records.len())
        .map_err(|_| Error::InvalidArgument("more than 255 quality records".into()))?;
    w.u8(qcount);
    for q in &view.quality_records {
        w.u8(q.score);
        w.u16(q.vendor);
        w.u16(q.algorithm);
    }
    if certified {
        let n = u8::try_from(view.certificates.len())
            .map_err(|_| Error::InvalidArgument("more than 255 certificates".into()))?;
        w.u8(n);
        for cert in &view.certificates {
            w.u16(cert.authority);
            w.u8(cert.scheme);
        }
    }
    w.u8(view.finger_position);
    w.u8(view.view_number);
    w.u16(view.resolution_x);
    w.u16(view.resolution_y);
    w.u8(view.impression_type);
    w.u16(view.width);
    w.u16(view.height);
    let with_quality = view.minutiae.iter().any(|m| m.quality != QUALITY_NOT_REPORTED);
    if view.ending_type > 0x0f {
        return Err(Error::InvalidArgument(format!("ending type {}", view.ending_type)));
    }
    w.u8((if with_quality { 6 } else { 5 }) << 4 | view.ending_type);
    let count = u8::try_from(view.minutiae.len())
        .map_err(|_| Error::InvalidArgument("more than 255 minutiae".into()))?;
    w.u8(count);
    for m in &view.minutiae {
        if m.kind > 3 || m.x > 0x3fff || m.y > 0x3fff {
            return Err(Error::InvalidArgument(format!("minutia ({}, {}) does not fit", m.x, m.y)));
        }
        w.u16((m.kind as u16) << 14 | m.x);
        w.u16(m.y);
        w.u8(m.angle);
        if with_quality {
            w.u8(m.quality);
        }
    }
    encode_extensions(w, &view.extensions, TemplateFormat::Iso19794_2_2011)?;
    let len = u32::try_from(w.len() - start)
        .map_err(|_| Error::InvalidArgument("representation too long".into()))?;
    w.patch_u32(start, len);
    Ok(())
}

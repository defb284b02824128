//! ANSI INCITS 378-2009 finger minutiae records (and 2009/Amd 1, version `"035"`, which has
//! the same layout).
//!
//! Against 2004: a 4-byte length, a 1-byte certification flag and a 16-bit device id in the
//! header, and image size, resolution and a quality record in each finger view.

use super::iso2005_ansi2004::{
    decode_extensions, decode_minutia, encode_extensions, encode_minutiae, MAGIC,
};
use super::record::{FingerView, MinutiaeRecord, QualityRecord, RecordHeader};
use super::TemplateFormat;
use crate::bytes::{Reader, Writer};
use crate::error::{Error, Result};

/// Version of 2009 records.
pub(crate) const VERSION: [u8; 4] = *b"030\0";
/// Version of 2009/Amd 1 records.
pub(crate) const VERSION_AMD1: [u8; 4] = *b"035\0";
/// Offset of the record length (u32).
pub(crate) const OFFSET_LENGTH: usize = 8;
/// Offset of the number of finger views.
#[cfg(test)]
pub(crate) const OFFSET_VIEW_COUNT: usize = 19;
/// Header length; the first finger view starts here.
pub(crate) const HEADER_LEN: usize = 21;
/// Finger view fields up to and including the minutia count.
pub(crate) const VIEW_FIELDS_LEN: usize = 17;

/// Decodes an ANSI INCITS 378-2009 or 2009/Amd 1 record.
pub(crate) fn decode(bytes: &[u8]) -> Result<MinutiaeRecord> {
    let format = TemplateFormat::Ansi378_2009;
    let mut r = Reader::new(bytes, format.name());
    let mut warnings = Vec::new();
    if r.take(4)? != MAGIC {
        return Err(r.error_at(0, "bad magic, expected \"FMR\\0\""));
    }
    let version: [u8; 4] = r.take(4)?.try_into().map_err(|_| r.error("version"))?;
    if version != VERSION && version != VERSION_AMD1 {
        return Err(r.error_at(4, format!("version {version:02x?} is not \"030\" or \"035\"")));
    }
    let length = r.u32()? as usize;
    if length < HEADER_LEN {
        return Err(r.error_at(OFFSET_LENGTH, format!("record length {length} is too short")));
    }
    // Real files get this field wrong by a byte or two (FingerprintIO's 2009 sample states 363
    // of its 364 bytes), so the views are parsed to their natural end and a mismatch is only
    // a warning.
    let product_owner = r.u16()?;
    let product_type = r.u16()?;
    let certification = r.u8()?;
    let capture_device_id = r.u16()?;
    let count = r.u8()? as usize;
    r.skip(1)?; // reserved
    if count * (VIEW_FIELDS_LEN + 2) > r.remaining() {
        return Err(r.error(format!("{count} finger views announced, too few bytes left")));
    }
    let mut views = Vec::with_capacity(count);
    for _ in 0..count {
        let finger_position = r.u8()?;
        let view_number = r.u8()?;
        let impression_type = r.u8()?;
        let quality = r.u8()?;
        let quality_record =
            QualityRecord { score: quality, vendor: r.u16()?, algorithm: r.u16()? };
        let width = r.u16()?;
        let height = r.u16()?;
        let resolution_x = r.u16()?;
        let resolution_y = r.u16()?;
        let n = r.u8()? as usize;
        let mut minutiae = Vec::with_capacity(n.min(r.remaining() / 6));
        for _ in 0..n {
            minutiae.push(decode_minutia(&mut r)?);
        }
        let extensions = decode_extensions(&mut r, format, &mut warnings)?;
        views.push(FingerView {
            finger_position,
            view_number,
            impression_type,
            quality,
            width,
            height,
            resolution_x,
            resolution_y,
            quality_records: vec![quality_record],
            minutiae,
            extensions,
            ..FingerView::default()
        });
    }
    if r.remaining() > 0 {
        warnings.push(format!("{} bytes after the last finger view ignored", r.remaining()));
    }
    if r.pos() != length {
        warnings.push(format!("length field says {length} bytes, the record ends at {}", r.pos()));
    }
    let header = RecordHeader {
        version,
        product_owner,
        product_type,
        certification,
        capture_device_id,
        ..RecordHeader::default()
    };
    Ok(MinutiaeRecord { format, header, views, warnings })
}

/// Encodes an ANSI INCITS 378-2009 record (version `"035"` when the record was read as
/// 2009/Amd 1, else `"030"`).
pub(crate) fn encode(record: &MinutiaeRecord) -> Result<Vec<u8>> {
    let h = &record.header;
    let mut w = Writer::default();
    w.bytes(&MAGIC);
    w.bytes(if h.version == VERSION_AMD1 { &VERSION_AMD1 } else { &VERSION });
    w.u32(0); // patched below
    w.u16(h.product_owner);
    w.u16(h.product_type);
    w.u8(h.certification);
    w.u16(h.capture_device_id);
    let count = u8::try_from(record.views.len())
        .map_err(|_| Error::InvalidArgument("more than 255 finger views".into()))?;
    w.u8(count);
    w.u8(0);
    for view in &record.views {
        let q = view.quality_records.first().copied().unwrap_or_default();
        w.u8(view.finger_position);
        w.u8(view.view_number);
        w.u8(view.impression_type);
        w.u8(view.quality);
        w.u16(q.vendor);
        w.u16(q.algorithm);
        w.u16(view.width);
        w.u16(view.height);
        w.u16(view.resolution_x);
        w.u16(view.resolution_y);
        encode_minutiae(&mut w, view)?;
        encode_extensions(&mut w, &view.extensions, TemplateFormat::Ansi378_2009)?;
    }
    let len =
        u32::try_from(w.len()).map_err(|_| Error::InvalidArgument("record too long".into()))?;
    w.patch_u32(OFFSET_LENGTH, len);
    Ok(w.out)
}

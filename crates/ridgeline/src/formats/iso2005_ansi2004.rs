//! ISO/IEC 19794-2:2005 and ANSI INCITS 378-2004 minutiae records.
//!
//! The two standards share the magic `FMR\0`, the version `" 20\0"` and the finger view layout;
//! they differ in the header. ISO has a 4-byte length; ANSI a 2-byte length (or 0 followed by a
//! 4-byte length) and a 4-byte CBEFF product id. [`super::detect_format`] tells them apart by
//! which length field matches the input. Layouts are in `docs/FORMATS.md`; the offsets are the
//! constants below.

use super::record::{ExtensionBlock, FingerView, MinutiaeRecord, RecordHeader, RecordMinutia};
use super::TemplateFormat;
use crate::bytes::{Reader, Writer};
use crate::error::{Error, Result};

/// Magic number shared by every FMR record.
pub(crate) const MAGIC: [u8; 4] = *b"FMR\0";
/// Version written into 2005/2004 records.
pub(crate) const VERSION_2005: [u8; 4] = *b" 20\0";
/// Another spelling of the same version found in real files (FingerprintIO's ANSI 2004 sample).
pub(crate) const VERSION_2005_ALT: [u8; 4] = *b"020\0";

/// ISO 2005 header: offset of the 4-byte record length.
pub(crate) const ISO_OFFSET_LENGTH: usize = 8;
/// ISO 2005 header: image width.
#[cfg(test)]
pub(crate) const ISO_OFFSET_WIDTH: usize = 14;
/// ISO 2005 header: image height.
#[cfg(test)]
pub(crate) const ISO_OFFSET_HEIGHT: usize = 16;
/// ISO 2005 header: horizontal resolution, pixels per cm.
pub const ISO_OFFSET_RESOLUTION_X: usize = 18;
/// ISO 2005 header: vertical resolution, pixels per cm.
pub const ISO_OFFSET_RESOLUTION_Y: usize = 20;
/// ISO 2005 header: number of finger views.
#[cfg(test)]
pub(crate) const ISO_OFFSET_VIEW_COUNT: usize = 22;
/// ISO 2005 header length; the first finger view starts here.
pub(crate) const ISO_HEADER_LEN: usize = 24;

/// ANSI 2004 header: offset of the 2-byte record length (0: a 4-byte length follows).
pub(crate) const ANSI_OFFSET_LENGTH: usize = 8;
/// ANSI 2004 header length with the 2-byte length field.
pub(crate) const ANSI_HEADER_LEN: usize = 26;
/// ANSI 2004 header length with the 6-byte length field.
pub(crate) const ANSI_HEADER_LEN_LONG: usize = 30;

/// Finger view header length (position, view/impression, quality, minutia count).
pub(crate) const VIEW_HEADER_LEN: usize = 4;
/// Bytes per minutia.
pub(crate) const MINUTIA_LEN: usize = 6;
/// Extended data block header (type id, length).
pub(crate) const BLOCK_HEADER_LEN: usize = 4;

/// Decodes an ISO/IEC 19794-2:2005 record.
pub(crate) fn decode_iso(bytes: &[u8]) -> Result<MinutiaeRecord> {
    let format = TemplateFormat::Iso19794_2_2005;
    let mut r = Reader::new(bytes, format.name());
    let mut warnings = Vec::new();
    check_magic(&mut r)?;
    let version = version_of(&mut r)?;
    let length = r.u32()? as usize;
    check_length(&r, length, bytes.len(), ISO_HEADER_LEN, &mut warnings)?;
    let equipment = r.u16()?;
    let mut header = RecordHeader {
        version,
        certification: (equipment >> 12) as u8,
        capture_device_id: equipment & 0x0fff,
        ..RecordHeader::default()
    };
    let views = decode_common(&mut r, &mut header, format, &mut warnings)?;
    Ok(MinutiaeRecord { format, header, views, warnings })
}

/// Decodes an ANSI INCITS 378-2004 record.
pub(crate) fn decode_ansi(bytes: &[u8]) -> Result<MinutiaeRecord> {
    let format = TemplateFormat::Ansi378_2004;
    let mut r = Reader::new(bytes, format.name());
    let mut warnings = Vec::new();
    check_magic(&mut r)?;
    let version = version_of(&mut r)?;
    let short = r.u16()?;
    let (length, header_len) = if short == 0 {
        (r.u32()? as usize, ANSI_HEADER_LEN_LONG)
    } else {
        (short as usize, ANSI_HEADER_LEN)
    };
    check_length(&r, length, bytes.len(), header_len, &mut warnings)?;
    let product_owner = r.u16()?;
    let product_type = r.u16()?;
    let equipment = r.u16()?;
    let mut header = RecordHeader {
        version,
        product_owner,
        product_type,
        certification: (equipment >> 12) as u8,
        capture_device_id: equipment & 0x0fff,
        ..RecordHeader::default()
    };
    let views = decode_common(&mut r, &mut header, format, &mut warnings)?;
    Ok(MinutiaeRecord { format, header, views, warnings })
}

fn check_magic(r: &mut Reader<'_>) -> Result<()> {
    let magic = r.take(4)?;
    if magic != MAGIC {
        return Err(r.error_at(0, format!("bad magic {magic:02x?}, expected \"FMR\\0\"")));
    }
    Ok(())
}

fn version_of(r: &mut Reader<'_>) -> Result<[u8; 4]> {
    let version: [u8; 4] = r.take(4)?.try_into().map_err(|_| r.error("version"))?;
    if version != VERSION_2005 && version != VERSION_2005_ALT {
        return Err(r.error_at(4, format!("version {version:02x?} is not \" 20\"")));
    }
    Ok(version)
}

/// Checks the length field against the input: shorter input is refused, longer is tolerated.
fn check_length(
    r: &Reader<'_>,
    length: usize,
    actual: usize,
    header_len: usize,
    warnings: &mut Vec<String>,
) -> Result<()> {
    if length < header_len {
        return Err(r.error_at(8, format!("record length {length} is shorter than the header")));
    }
    if length > actual {
        return Err(r.error_at(
            8,
            format!("truncated: record length {length}, only {actual} bytes present"),
        ));
    }
    if length < actual {
        warnings.push(format!("{} bytes after the record's stated end ignored", actual - length));
    }
    Ok(())
}

/// Reads the image fields of the header and the finger views.
fn decode_common(
    r: &mut Reader<'_>,
    header: &mut RecordHeader,
    format: TemplateFormat,
    warnings: &mut Vec<String>,
) -> Result<Vec<FingerView>> {
    header.width = r.u16()?;
    header.height = r.u16()?;
    header.resolution_x = r.u16()?;
    header.resolution_y = r.u16()?;
    let view_count = r.u8()?;
    r.skip(1)?; // reserved
                // Each view takes at least its header and the extended data length: the count cannot
                // promise more views than the bytes hold, which bounds the allocation.
    if view_count as usize * (VIEW_HEADER_LEN + 2) > r.remaining() {
        return Err(r.error(format!("{view_count} finger views announced, too few bytes left")));
    }
    let mut views = Vec::with_capacity(view_count as usize);
    for _ in 0..view_count {
        views.push(decode_view(r, header, format, warnings)?);
    }
    Ok(views)
}

fn decode_view(
    r: &mut Reader<'_>,
    header: &RecordHeader,
    format: TemplateFormat,
    warnings: &mut Vec<String>,
) -> Result<FingerView> {
    let finger_position = r.u8()?;
    let view_impression = r.u8()?;
    let quality = r.u8()?;
    let count = r.u8()? as usize;
    let mut minutiae = Vec::with_capacity(count.min(r.remaining() / MINUTIA_LEN));
    for _ in 0..count {
        minutiae.push(decode_minutia(r)?);
    }
    let extensions = decode_extensions(r, format, warnings)?;
    Ok(FingerView {
        finger_position,
        view_number: view_impression >> 4,
        impression_type: view_impression & 0x0f,
        quality,
        width: header.width,
        height: header.height,
        resolution_x: header.resolution_x,
        resolution_y: header.resolution_y,
        minutiae,
        extensions,
        ..FingerView::default()
    })
}

/// Reads one 6-byte minutia: type (2 bits) and x (14 bits), reserved (2 bits) and y (14 bits),
/// angle, quality.
pub(crate) fn decode_minutia(r: &mut Reader<'_>) -> Result<RecordMinutia> {
    let type_x = r.u16()?;
    let y = r.u16()?;
    let angle = r.u8()?;
    let quality = r.u8()?;
    Ok(RecordMinutia {
        kind: (type_x >> 14) as u8,
        x: type_x & 0x3fff,
        y: y & 0x3fff,
        angle,
        quality,
    })
}

/// Reads the extended data area: a 2-byte total length, then blocks of (type, length, data).
///
/// Whether a block's length counts its own 4-byte header differs between writers (the ISO 2005
/// text is read both ways in the field); we take the reading under which the blocks tile the
/// area exactly, preferring the format's own convention when both do.
pub(crate) fn decode_extensions(
    r: &mut Reader<'_>,
    format: TemplateFormat,
    warnings: &mut Vec<String>,
) -> Result<Vec<ExtensionBlock>> {
    let total = r.u16()? as usize;
    if total == 0 {
        return Ok(Vec::new());
    }
    let start = r.pos();
    let area = r.take(total)?;
    let prefer_including = format != TemplateFormat::Iso19794_2_2005;
    let first = split_blocks(area, prefer_including);
    let second = split_blocks(area, !prefer_including);
    match first.or(second) {
        Some(blocks) => Ok(blocks),
        None => {
            warnings.push(format!(
                "extended data area at byte {start} ({total} bytes) is not a sequence of blocks; kept as one opaque block"
            ));
            Ok(vec![ExtensionBlock { type_id: 0xffff, data: area.to_vec() }])
        }
    }
}

fn split_blocks(mut area: &[u8], length_includes_header: bool) -> Option<Vec<ExtensionBlock>> {
    let mut blocks = Vec::new();
    while !area.is_empty() {
        if area.len() < BLOCK_HEADER_LEN {
            return None;
        }
        let type_id = u16::from_be_bytes([area[0], area[1]]);
        let length = u16::from_be_bytes([area[2], area[3]]) as usize;
        let data_len =
            if length_includes_header { length.checked_sub(BLOCK_HEADER_LEN)? } else { length };
        let data = area.get(BLOCK_HEADER_LEN..BLOCK_HEADER_LEN + data_len)?;
        blocks.push(ExtensionBlock { type_id, data: data.to_vec() });
        area = &area[BLOCK_HEADER_LEN + data_len..];
    }
    Some(blocks)
}

/// Encodes an ISO/IEC 19794-2:2005 record.
pub(crate) fn encode_iso(record: &MinutiaeRecord) -> Result<Vec<u8>> {
    let format = TemplateFormat::Iso19794_2_2005;
    let mut w = Writer::default();
    w.bytes(&MAGIC);
    w.bytes(&version_to_write(&record.header));
    w.u32(0); // length, patched below
    write_equipment(&mut w, &record.header, format)?;
    encode_common(&mut w, record, format)?;
    let len = u32::try_from(w.len()).map_err(|_| too_long(format))?;
    w.patch_u32(ISO_OFFSET_LENGTH, len);
    Ok(w.out)
}

/// Encodes an ANSI INCITS 378-2004 record (2-byte length when it fits, else 0 and 4 bytes).
pub(crate) fn encode_ansi(record: &MinutiaeRecord) -> Result<Vec<u8>> {
    let format = TemplateFormat::Ansi378_2004;
    let mut body = Writer::default();
    body.u16(record.header.product_owner);
    body.u16(record.header.product_type);
    write_equipment(&mut body, &record.header, format)?;
    encode_common(&mut body, record, format)?;
    let mut w = Writer::default();
    w.bytes(&MAGIC);
    w.bytes(&version_to_write(&record.header));
    let short_total = ANSI_OFFSET_LENGTH + 2 + body.len();
    if let Ok(len) = u16::try_from(short_total) {
        w.u16(len);
    } else {
        let len = u32::try_from(short_total + 4).map_err(|_| too_long(format))?;
        w.u16(0);
        w.u32(len);
    }
    w.bytes(&body.out);
    Ok(w.out)
}

fn version_to_write(header: &RecordHeader) -> [u8; 4] {
    if header.version == VERSION_2005_ALT {
        VERSION_2005_ALT
    } else {
        VERSION_2005
    }
}

fn too_long(format: TemplateFormat) -> Error {
    Error::InvalidArgument(format!("record too long for {}", format.name()))
}

fn write_equipment(w: &mut Writer, header: &RecordHeader, format: TemplateFormat) -> Result<()> {
    if header.certification > 0x0f || header.capture_device_id > 0x0fff {
        return Err(Error::InvalidArgument(format!(
            "capture equipment fields do not fit {}",
            format.name()
        )));
    }
    w.u16(((header.certification as u16) << 12) | header.capture_device_id);
    Ok(())
}

fn encode_common(w: &mut Writer, record: &MinutiaeRecord, format: TemplateFormat) -> Result<()> {
    let h = &record.header;
    w.u16(h.width);
    w.u16(h.height);
    w.u16(h.resolution_x);
    w.u16(h.resolution_y);
    let count = u8::try_from(record.views.len()).map_err(|_| {
        Error::InvalidArgument(format!("{} finger views, at most 255", record.views.len()))
    })?;
    w.u8(count);
    w.u8(0);
    for view in &record.views {
        if view.view_number > 0x0f || view.impression_type > 0x0f {
            return Err(Error::InvalidArgument(format!(
                "view number {} or impression type {} does not fit 4 bits",
                view.view_number, view.impression_type
            )));
        }
        w.u8(view.finger_position);
        w.u8((view.view_number << 4) | view.impression_type);
        w.u8(view.quality);
        encode_minutiae(w, view)?;
        encode_extensions(w, &view.extensions, format)?;
    }
    Ok(())
}

/// Writes the minutia count and the 6-byte minutiae.
pub(crate) fn encode_minutiae(w: &mut Writer, view: &FingerView) -> Result<()> {
    let count = u8::try_from(view.minutiae.len()).map_err(|_| {
        Error::InvalidArgument(format!("{} minutiae, at most 255", view.minutiae.len()))
    })?;
    w.u8(count);
    for m in &view.minutiae {
        if m.kind > 3 || m.x > 0x3fff || m.y > 0x3fff {
            return Err(Error::InvalidArgument(format!(
                "minutia ({}, {}) of type {} does not fit its fields",
                m.x, m.y, m.kind
            )));
        }
        w.u16(((m.kind as u16) << 14) | m.x);
        w.u16(m.y);
        w.u8(m.angle);
        w.u8(m.quality);
    }
    Ok(())
}

/// Writes the extended data area. ISO 2005 block lengths exclude the block header (as the
/// FingerprintIO sample does); the other formats include it.
pub(crate) fn encode_extensions(
    w: &mut Writer,
    blocks: &[ExtensionBlock],
    format: TemplateFormat,
) -> Result<()> {
    let including = format != TemplateFormat::Iso19794_2_2005;
    let total: usize = blocks.iter().map(|b| BLOCK_HEADER_LEN + b.data.len()).sum();
    let total = u16::try_from(total)
        .map_err(|_| Error::InvalidArgument(format!("extended data of {total} bytes too long")))?;
    w.u16(total);
    for b in blocks {
        let len = b.data.len() + if including { BLOCK_HEADER_LEN } else { 0 };
        w.u16(b.type_id);
        // Fits: the total above fits in u16.
        w.u16(len as u16);
        w.bytes(&b.data);
    }
    Ok(())
}

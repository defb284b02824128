//! Interchange formats: ISO/IEC 19794-2, ANSI INCITS 378 and ANSI/NIST-ITL (WSQ, an image
//! codec, is [`crate::image::wsq`]).
//!
//! A key design decision: one codec per standard behind one registry, [`TemplateFormat`].
//! Every minutiae codec decodes into the same raw model ([`MinutiaeRecord`]: the integers of the
//! file, all finger views, extension blocks as bytes) so that a record re-encodes to its own
//! bytes; conversion to Ridgeline's [`Template`] units happens in one place
//! (`formats/record.rs`, with the angle table). [`decode_template`] detects the format from the bytes and
//! returns the first finger view; [`decode_record`] returns them all.
//!
//! Every parser here reads untrusted bytes: reads are bounds-checked, counts are checked against
//! the bytes left before anything is allocated, and bad input is a typed [`Error::Format`].

pub mod an2k;
mod ansi2009;
mod iso2005_ansi2004;
mod iso2011;
mod record;
mod template_format;

pub use record::{
    CaptureDetails, Certificate, ExtensionBlock, FingerView, MinutiaeRecord, QualityRecord,
    RecordHeader, RecordMinutia, RidgeCount, RidgeCounts, StoredSingularPoint,
};

pub use template_format::TemplateFormat;

// The two header offsets tools need to patch a record's stated resolution.
pub use iso2005_ansi2004::{ISO_OFFSET_RESOLUTION_X, ISO_OFFSET_RESOLUTION_Y};

use crate::error::{Error, Result};
use crate::template::{Template, NATIVE_MAGIC};

/// Recognises a template format from the first bytes.
///
/// ISO 2005 and ANSI 2004 share magic and version: the one whose length field equals the
/// input length wins; when neither does (trailing bytes, truncation) the field values decide
/// (an ANSI 2-byte length is ≥ 26, else 0 followed by a 4-byte length whose upper half is
/// small; an ISO 4-byte length below 64 KiB starts with two zero bytes followed by ≥ 24).
/// ISO 2011 and ANSI 2009 share `"030\0"`: ISO 2011 representation lengths chain exactly to the
/// record length.
pub fn detect_format(bytes: &[u8]) -> Result<TemplateFormat> {
    use iso2005_ansi2004::{MAGIC, VERSION_2005, VERSION_2005_ALT};
    if bytes.is_empty() {
        return Err(Error::EmptyInput);
    }
    if bytes.starts_with(&NATIVE_MAGIC) {
        return Ok(TemplateFormat::Native);
    }
    let unknown = || Error::Format {
        format: "template",
        message: format!(
            "not a template format Ridgeline reads (first bytes {:02x?})",
            &bytes[..bytes.len().min(8)]
        ),
        offset: 0,
    };
    if !bytes.starts_with(&MAGIC) || bytes.len() < 16 {
        return Err(unknown());
    }
    let u16_at = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]) as usize;
    let u32_at = |at: usize| {
        u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
    };
    let version = &bytes[4..8];
    if version == VERSION_2005 || version == VERSION_2005_ALT {
        let iso_len = u32_at(8);
        let ansi_len = if u16_at(8) == 0 { u32_at(10) } else { u16_at(8) };
        return Ok(if iso_len == bytes.len() {
            TemplateFormat::Iso19794_2_2005
        } else if ansi_len == bytes.len() || u16_at(8) >= 26 || u16_at(10) < 24 {
            TemplateFormat::Ansi378_2004
        } else {
            TemplateFormat::Iso19794_2_2005
        });
    }
    if version == b"030\0" {
        return Ok(if iso2011_lengths_chain(bytes) {
            TemplateFormat::Iso19794_2_2011
        } else {
            TemplateFormat::Ansi378_2009
        });
    }
    if version == b"035\0" {
        return Ok(TemplateFormat::Ansi378_2009);
    }
    Err(unknown())
}

/// Whether the ISO 2011 representation lengths, starting at byte 15, add up to the record
/// length stated at byte 8.
fn iso2011_lengths_chain(bytes: &[u8]) -> bool {
    let u32_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let (Some(total), Some(count)) =
        (u32_at(8), bytes.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]])))
    else {
        return false;
    };
    let mut pos = 15usize;
    for _ in 0..count {
        match u32_at(pos) {
            Some(len) if len > 0 => pos = pos.saturating_add(len),
            _ => return false,
        }
        if pos > total {
            return false;
        }
    }
    pos == total
}

/// Decodes a minutiae record of any supported interchange format, with every finger view.
/// A native template comes back as one view.
pub fn decode_record(bytes: &[u8]) -> Result<MinutiaeRecord> {
    let format = detect_format(bytes)?;
    match format {
        TemplateFormat::Native => {
            let template = Template::from_native_bytes(bytes)?;
            let view = FingerView::from_template(&template, TemplateFormat::Iso19794_2_2005)?;
            Ok(MinutiaeRecord {
                format,
                header: RecordHeader::default(),
                views: vec![view],
                warnings: Vec::new(),
            })
        }
        TemplateFormat::Iso19794_2_2005 => iso2005_ansi2004::decode_iso(bytes),
        TemplateFormat::Ansi378_2004 => iso2005_ansi2004::decode_ansi(bytes),
        TemplateFormat::Iso19794_2_2011 => iso2011::decode(bytes),
        TemplateFormat::Ansi378_2009 => ansi2009::decode(bytes),
    }
}

/// Decodes a template file of any supported format (detected from the bytes), returning the
/// first finger view in Ridgeline's units. Quirks tolerated on the way are dropped; use
/// [`decode_template_with_warnings`] to see them.
pub fn decode_template(bytes: &[u8]) -> Result<Template> {
    decode_template_with_warnings(bytes).map(|(template, _)| template)
}

/// Like [`decode_template`], also returning the quirks tolerated while reading (for example
/// minutiae outside the stated image size, which SecuGen records have).
pub fn decode_template_with_warnings(bytes: &[u8]) -> Result<(Template, Vec<String>)> {
    if detect_format(bytes)? == TemplateFormat::Native {
        return Ok((Template::from_native_bytes(bytes)?, Vec::new()));
    }
    let record = decode_record(bytes)?;
    let mut warnings = record.warnings.clone();
    let templates = record.templates(&mut warnings)?;
    let first = templates.into_iter().next().ok_or_else(|| Error::Format {
        format: record.format.name(),
        message: "the record holds no finger view".into(),
        offset: 0,
    })?;
    Ok((first, warnings))
}

impl MinutiaeRecord {
    /// Every finger view as a [`Template`], appending tolerated quirks to `warnings`.
    pub fn templates(&self, warnings: &mut Vec<String>) -> Result<Vec<Template>> {
        self.views
            .iter()
            .map(|view| {
                let template = view.to_template(self.format, warnings);
                template.validate()?;
                Ok(template)
            })
            .collect()
    }

    /// A one-view record of `format` holding `template`.
    pub(crate) fn from_template(template: &Template, format: TemplateFormat) -> Result<Self> {
        let view = FingerView::from_template(template, format)?;
        let header = RecordHeader {
            width: view.width,
            height: view.height,
            resolution_x: view.resolution_x,
            resolution_y: view.resolution_y,
            ..RecordHeader::default()
        };
        Ok(MinutiaeRecord { format, header, views: vec![view], warnings: Vec::new() })
    }

    /// Encodes the record in its format.
    pub fn encode(&self) -> Result<Vec<u8>> {
        match self.format {
            TemplateFormat::Iso19794_2_2005 => iso2005_ansi2004::encode_iso(self),
            TemplateFormat::Ansi378_2004 => iso2005_ansi2004::encode_ansi(self),
            TemplateFormat::Native => {
                let mut warnings = Vec::new();
                let view = self.views.first().ok_or_else(|| {
                    Error::InvalidArgument("a record without finger views".into())
                })?;
                view.to_template(TemplateFormat::Iso19794_2_2005, &mut warnings).to_native_bytes()
            }
            TemplateFormat::Iso19794_2_2011 => iso2011::encode(self),
            TemplateFormat::Ansi378_2009 => ansi2009::encode(self),
        }
    }
}

/// Converts a decoded record to another format, keeping every finger view (position, view
/// number, impression type, quality), the minutiae, cores and deltas (angles re-expressed in the
/// target's unit) and the other extension blocks. A native target keeps the first view only.
pub fn convert_record(record: &MinutiaeRecord, target: TemplateFormat) -> Result<Vec<u8>> {
    let mut warnings = Vec::new();
    let templates = record.templates(&mut warnings)?;
    if target == TemplateFormat::Native {
        let first = templates
            .first()
            .ok_or_else(|| Error::InvalidArgument("the record holds no finger view".into()))?;
        return first.to_native_bytes();
    }
    let mut out = MinutiaeRecord {
        format: target,
        header: RecordHeader {
            product_owner: record.header.product_owner,
            product_type: record.header.product_type,
            capture_device_id: record.header.capture_device_id & 0x0fff,
            ..RecordHeader::default()
        },
        views: Vec::with_capacity(record.views.len()),
        warnings: Vec::new(),
    };
    for (source, template) in record.views.iter().zip(&templates) {
        let mut view = FingerView::from_template(template, target)?;
        view.finger_position = source.finger_position;
        view.view_number = source.view_number;
        view.impression_type = source.impression_type;
        view.quality = source.quality;
        // Resolution and size are kept as stated (not round-tripped through dpi).
        view.width = source.width;
        view.height = source.height;
        view.resolution_x = source.resolution_x;
        view.resolution_y = source.resolution_y;
        if let Some(q) = view.quality_records.first_mut() {
            q.score = source.quality;
        }
        view.extensions.extend(
            source.extensions.iter().filter(|b| b.type_id != record::BLOCK_CORE_DELTA).cloned(),
        );
        out.views.push(view);
    }
    if let Some(first) = out.views.first() {
        out.header.width = first.width;
        out.header.height = first.height;
        out.header.resolution_x = first.resolution_x;
        out.header.resolution_y = first.resolution_y;
    }
    out.encode()
}

/// Encodes a template in `format`.
pub fn encode_template(template: &Template, format: TemplateFormat) -> Result<Vec<u8>> {
    match format {
        TemplateFormat::Native => template.to_native_bytes(),
        _ => MinutiaeRecord::from_template(template, format)?.encode(),
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod smoke;

//! The minutiae record as the interchange standards store it, and its conversion to and from
//! [`Template`].
//!
//! A key design decision: every codec decodes into this one raw model, keeping the integers of
//! the file (angle codes, pixels per centimetre, type bits, extension blocks as bytes), so that
//! re-encoding a record gives back its bytes and tests compare against other implementations
//! field by field. Conversion to Ridgeline's units happens once, here, in
//! [`FingerView::to_template`] and [`FingerView::from_template`].
//!
//! # Angle units
//! | format | unit | range | to radians (Ridgeline convention) |
//! |---|---|---|---|
//! | ISO/IEC 19794-2:2005, :2011 | 1/256 turn | 0–255 | `code · 2π/256` |
//! | ANSI INCITS 378-2004, -2009 | 2 degrees | 0–179 | `code · 2π/180` |
//!
//! Both standards count counter-clockwise from the +x axis as the image is viewed, which is
//! Ridgeline's convention, so there is no sign flip; `tests::angle_convention_matches_images`
//! checks this against real images and the templates a commercial extractor made of them.

use super::TemplateFormat;
use crate::error::{Error, Result};
use crate::template::{
    normalize_angle, Minutia, MinutiaKind, SingularPoint, SingularPointKind, Template,
};

/// Centimetres per inch, for resolution conversion.
const CM_PER_INCH: f64 = 2.54;
/// Largest coordinate the 14-bit minutia position fields hold.
pub(crate) const MAX_COORDINATE: u16 = 0x3fff;
/// Type bits of a ridge ending (`01`), in the two top bits of the x field.
pub(crate) const TYPE_ENDING: u8 = 1;
/// Type bits of a bifurcation (`10`).
pub(crate) const TYPE_BIFURCATION: u8 = 2;
/// Type bits of "other" (`00`).
pub(crate) const TYPE_OTHER: u8 = 0;
/// Extended data block type: ridge counts.
pub(crate) const BLOCK_RIDGE_COUNTS: u16 = 0x0001;
/// Extended data block type: cores and deltas.
pub(crate) const BLOCK_CORE_DELTA: u16 = 0x0002;

/// A decoded minutiae record: every finger view it holds, with the record header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinutiaeRecord {
    /// The standard and version the record follows.
    pub format: TemplateFormat,
    /// Header fields common to the formats (absent ones are zero).
    pub header: RecordHeader,
    /// The finger views, in file order.
    pub views: Vec<FingerView>,
    /// Quirks tolerated while reading (e.g. minutiae outside the stated image size).
    pub warnings: Vec<String>,
}

/// Record-level header fields. A field a format lacks is zero.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordHeader {
    /// The version bytes as stored (kept so that a record re-encodes to its own bytes; zero
    /// when built from a template, meaning "the format's canonical version").
    pub version: [u8; 4],
    /// ANSI only: CBEFF product identifier, owner (vendor) half.
    pub product_owner: u16,
    /// ANSI only: CBEFF product identifier, type (subformat) half.
    pub product_type: u16,
    /// Capture equipment compliance / certification bits (4 bits in 2004/2005; the ISO 2011
    /// certification flag).
    pub certification: u8,
    /// Capture device id (12 bits in 2004/2005 and ANSI 2009).
    pub capture_device_id: u16,
    /// Image width in pixels (2004/2005; per view in 2009/2011).
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// Horizontal resolution in pixels per centimetre.
    pub resolution_x: u16,
    /// Vertical resolution in pixels per centimetre.
    pub resolution_y: u16,
}

/// One finger view: the minutiae of one impression of one finger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FingerView {
    /// Finger position code (0 unknown, 1 right thumb … 10 left little).
    pub finger_position: u8,
    /// View (representation) number of this finger.
    pub view_number: u8,
    /// Impression type (0 live-scan plain, 1 live-scan rolled, …).
    pub impression_type: u8,
    /// Finger quality 0–100 (2011: first quality record's score).
    pub quality: u8,
    /// Image width in pixels (copied from the record header in 2004/2005).
    pub width: u16,
    /// Image height in pixels.
    pub height: u16,
    /// Horizontal resolution in pixels per centimetre.
    pub resolution_x: u16,
    /// Vertical resolution in pixels per centimetre.
    pub resolution_y: u16,
    /// Quality records (2009: one, vendor and algorithm; 2011: any number).
    pub quality_records: Vec<QualityRecord>,
    /// ISO 2011 capture details.
    pub capture: Option<CaptureDetails>,
    /// ISO 2011 certification records (present when the header's certification flag is set).
    pub certificates: Vec<Certificate>,
    /// ISO 2011: how ridge endings were located (0 valley skeleton bifurcation, 1 ridge
    /// skeleton end point).
    pub ending_type: u8,
    /// The minutiae as stored.
    pub minutiae: Vec<RecordMinutia>,
    /// Extended data blocks (ridge counts, cores and deltas, vendor data), bytes as stored.
    pub extensions: Vec<ExtensionBlock>,
}

/// A quality record (ANSI 2009, ISO 2011).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QualityRecord {
    /// Score 0–100 (255: failed to compute, 254 in some records: not reported).
    pub score: u8,
    /// Vendor of the quality algorithm.
    pub vendor: u16,
    /// Algorithm id.
    pub algorithm: u16,
}

/// A certification record (ISO 2011): certification authority and scheme.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Certificate {
    /// Certification authority id.
    pub authority: u16,
    /// Certification scheme id.
    pub scheme: u8,
}

/// Capture date, time and device (ISO 2011 representation header).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureDetails {
    /// Year, 0xFFFF when unknown.
    pub year: u16,
    /// Month 1–12, 0xFF unknown.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute.
    pub minute: u8,
    /// Second.
    pub second: u8,
    /// Millisecond, 0xFFFF when unknown.
    pub millisecond: u16,
    /// Capture device technology id (0 unknown).
    pub technology: u8,
    /// Capture device vendor id.
    pub vendor: u16,
    /// Capture device type id.
    pub device_type: u16,
}

/// One minutia exactly as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordMinutia {
    /// Type bits: 1 ending, 2 bifurcation, 0 other.
    pub kind: u8,
    /// Column in pixels (14 bits).
    pub x: u16,
    /// Row in pixels (14 bits).
    pub y: u16,
    /// Angle code in the format's unit (see the module's angle table).
    pub angle: u8,
    /// Quality 0–100 (0 often means "not reported").
    pub quality: u8,
}

/// An extended data block, its bytes kept as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionBlock {
    /// Block type id (1 ridge counts, 2 cores and deltas, ≥ 0x0100 vendor-defined).
    pub type_id: u16,
    /// The block's data, after its type and length fields.
    pub data: Vec<u8>,
}

/// One ridge count between two minutiae (indices into the view's minutiae).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RidgeCount {
    /// Index of the first minutia.
    pub from: u8,
    /// Index of the second minutia.
    pub to: u8,
    /// Number of ridges crossed.
    pub count: u8,
}

/// Decoded ridge count block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RidgeCounts {
    /// Extraction method: 0 non-specific, 1 four-neighbour (quadrants), 2 eight-neighbour.
    pub method: u8,
    /// The counts.
    pub edges: Vec<RidgeCount>,
}

/// A core or delta as stored in a core/delta block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSingularPoint {
    /// Core or delta.
    pub kind: SingularPointKind,
    /// Column in pixels.
    pub x: u16,
    /// Row in pixels.
    pub y: u16,
    /// Angle codes (one for a core, three for a delta) when the block carries angles.
    pub angles: Vec<u8>,
}

impl ExtensionBlock {
    /// The ridge counts, when this is a well-formed ridge count block.
    pub fn ridge_counts(&self) -> Option<RidgeCounts> {
        if self.type_id != BLOCK_RIDGE_COUNTS {
            return None;
        }
        let (&method, rest) = self.data.split_first()?;
        // A trailing partial triplet is ignored, as FingerprintIO does.
        let edges = rest
            .chunks_exact(3)
            .map(|c| RidgeCount { from: c[0], to: c[1], count: c[2] })
            .collect();
        Some(RidgeCounts { method, edges })
    }

    /// Cores and deltas, when this is a well-formed core/delta block.
    ///
    /// Layout (all versions): a byte with the 2-bit information type (01: angles present) and a
    /// 6-bit count of cores; per core a 14-bit x, a 14-bit y and, with angles, one angle byte;
    /// then the same byte for deltas and per delta x, y and three angle bytes.
    pub fn singular_points(&self) -> Option<Vec<StoredSingularPoint>> {
        if self.type_id != BLOCK_CORE_DELTA {
            return None;
        }
        let mut r = crate::bytes::Reader::new(&self.data, "core/delta block");
        let mut points = Vec::new();
        for (kind, angle_count) in [(SingularPointKind::Core, 1), (SingularPointKind::Delta, 3)] {
            let head = r.u8().ok()?;
            let with_angles = head >> 6 == 1;
            for _ in 0..(head & 0x3f) {
                let x = r.u16().ok()? & MAX_COORDINATE;
                let y = r.u16().ok()? & MAX_COORDINATE;
                let angles = if with_angles { r.take(angle_count).ok()?.to_vec() } else { vec![] };
                points.push(StoredSingularPoint { kind, x, y, angles });
            }
        }
        (r.remaining() == 0).then_some(points)
    }

    /// Builds a core/delta block.
    pub(crate) fn from_singular_points(points: &[StoredSingularPoint]) -> Result<Self> {
        let mut w = crate::bytes::Writer::default();
        for kind in [SingularPointKind::Core, SingularPointKind::Delta] {
            let of_kind: Vec<_> = points.iter().filter(|p| p.kind == kind).collect();
            if of_kind.len() > 0x3f {
                return Err(Error::InvalidArgument(format!(
                    "{} singular points of one kind; a core/delta block holds at most 63",
                    of_kind.len()
                )));
            }
            let with_angles = !of_kind.is_empty() && of_kind.iter().all(|p| !p.angles.is_empty());
            w.u8(((with_angles as u8) << 6) | of_kind.len() as u8);
            let angle_count = if kind == SingularPointKind::Core { 1 } else { 3 };
            for p in of_kind {
                w.u16(p.x & MAX_COORDINATE);
                w.u16(p.y & MAX_COORDINATE);
                if with_angles {
                    for i in 0..angle_count {
                        w.u8(p.angles.get(i).copied().unwrap_or(0));
                    }
                }
            }
        }
        Ok(ExtensionBlock { type_id: BLOCK_CORE_DELTA, data: w.out })
    }
}

/// The angle unit of a format: codes per full turn.
pub(crate) fn angle_codes_per_turn(format: TemplateFormat) -> u32 {
    match format {
        TemplateFormat::Ansi378_2004 | TemplateFormat::Ansi378_2009 => 180,
        _ => 256,
    }
}

/// Converts an angle code to radians in Ridgeline's convention.
pub(crate) fn angle_from_code(code: u8, format: TemplateFormat) -> f32 {
    let per_turn = angle_codes_per_turn(format) as f32;
    normalize_angle(code as f32 * std::f32::consts::TAU / per_turn)
}

/// Converts radians in Ridgeline's convention to the nearest angle code.
pub(crate) fn angle_to_code(angle: f32, format: TemplateFormat) -> u8 {
    let per_turn = angle_codes_per_turn(format);
    let code = (normalize_angle(angle) * per_turn as f32 / std::f32::consts::TAU).round() as u32;
    // Rounding can reach a full turn, which is code 0.
    (code % per_turn) as u8
}

/// Pixels per centimetre to dots per inch (197 → 500).
pub(crate) fn dpi_from_pixels_per_cm(ppcm: u16) -> u32 {
    (ppcm as f64 * CM_PER_INCH).round() as u32
}

/// Dots per inch to pixels per centimetre (500 → 197).
pub(crate) fn pixels_per_cm_from_dpi(dpi: u32) -> u16 {
    (dpi as f64 / CM_PER_INCH).round().min(u16::MAX as f64) as u16
}

impl FingerView {
    /// Converts the view to a [`Template`] in Ridgeline's units, appending any tolerated quirk
    /// to `warnings`.
    pub(crate) fn to_template(
        &self,
        format: TemplateFormat,
        warnings: &mut Vec<String>,
    ) -> Template {
        let dpi = if self.resolution_x == 0 {
            warnings.push("resolution 0 pixels/cm stated; assuming 500 dpi".into());
            500
        } else {
            dpi_from_pixels_per_cm(self.resolution_x)
        };
        let outside = self
            .minutiae
            .iter()
            .filter(|m| m.x >= self.width.max(1) || m.y >= self.height.max(1))
            .count();
        if outside > 0 {
            warnings.push(format!(
                "{outside} minutiae lie outside the stated {}x{} image; kept as they are",
                self.width, self.height
            ));
        }
        let others = self.minutiae.iter().filter(|m| m.kind == TYPE_OTHER || m.kind == 3).count();
        if others > 0 {
            warnings.push(format!("{others} minutiae of type 'other' read as ridge endings"));
        }
        let minutiae = self
            .minutiae
            .iter()
            .map(|m| Minutia {
                x: m.x as f32,
                y: m.y as f32,
                angle: angle_from_code(m.angle, format),
                kind: if m.kind == TYPE_BIFURCATION {
                    MinutiaKind::Bifurcation
                } else {
                    MinutiaKind::Ending
                },
                // Above 100 are the "not reported" / "failed" codes of the 2009/2011 formats.
                quality: if m.quality > 100 { 0 } else { m.quality },
            })
            .collect();
        let singular_points = self
            .extensions
            .iter()
            .filter_map(ExtensionBlock::singular_points)
            .flatten()
            .map(|p| SingularPoint {
                x: p.x as f32,
                y: p.y as f32,
                angle: p.angles.first().map(|&a| angle_from_code(a, format)),
                kind: p.kind,
            })
            .collect();
        Template {
            width: self.width as u32,
            height: self.height as u32,
            dpi,
            quality: if self.quality > 100 { 0 } else { self.quality },
            minutiae,
            singular_points,
        }
    }

    /// Builds a view from a [`Template`]: finger position unknown, live-scan plain impression,
    /// cores and deltas in a core/delta block.
    pub(crate) fn from_template(template: &Template, format: TemplateFormat) -> Result<Self> {
        template.validate()?;
        let coordinate = |v: f32, what: &str| -> Result<u16> {
            let r = v.round();
            if !(0.0..=MAX_COORDINATE as f32).contains(&r) {
                return Err(Error::InvalidArgument(format!(
                    "{what} {v} does not fit the 14-bit coordinate field of {}",
                    format.name()
                )));
            }
            Ok(r as u16)
        };
        let side = |v: u32, what: &str| -> Result<u16> {
            u16::try_from(v).map_err(|_| {
                Error::InvalidArgument(format!("image {what} {v} does not fit {}", format.name()))
            })
        };
        let minutiae = template
            .minutiae
            .iter()
            .map(|m| {
                Ok(RecordMinutia {
                    kind: match m.kind {
                        MinutiaKind::Ending => TYPE_ENDING,
                        MinutiaKind::Bifurcation => TYPE_BIFURCATION,
                    },
                    x: coordinate(m.x, "minutia x")?,
                    y: coordinate(m.y, "minutia y")?,
                    angle: angle_to_code(m.angle, format),
                    quality: m.quality,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut extensions = Vec::new();
        if !template.singular_points.is_empty() {
            let points = template
                .singular_points
                .iter()
                .map(|p| {
                    let angles = match (p.angle, p.kind) {
                        (Some(a), SingularPointKind::Core) => vec![angle_to_code(a, format)],
                        (Some(a), SingularPointKind::Delta) => {
                            vec![angle_to_code(a, format), 0, 0]
                        }
                        (None, _) => vec![],
                    };
                    Ok(StoredSingularPoint {
                        kind: p.kind,
                        x: coordinate(p.x, "singular point x")?,
                        y: coordinate(p.y, "singular point y")?,
                        angles,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            extensions.push(ExtensionBlock::from_singular_points(&points)?);
        }
        let resolution = pixels_per_cm_from_dpi(template.dpi);
        Ok(FingerView {
            finger_position: 0,
            view_number: 0,
            impression_type: 0,
            quality: template.quality,
            width: side(template.width, "width")?,
            height: side(template.height, "height")?,
            resolution_x: resolution,
            resolution_y: resolution,
            // The 2009/2011 formats carry finger quality in quality records (vendor 0: unknown).
            quality_records: vec![QualityRecord {
                score: template.quality,
                vendor: 0,
                algorithm: 0,
            }],
            capture: None,
            certificates: vec![],
            ending_type: 0,
            minutiae,
            extensions,
        })
    }
}

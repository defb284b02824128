//! Minutiae templates and the native template file format (`.rlt`).
//!
//! # Angle convention
//! A minutia's `angle` is in radians in `[0, 2π)`, the direction of the ridge *leaving* the
//! minutia, measured **counter-clockwise from the +x axis as the image is viewed**, with y pointing down. A unit step in direction `angle`
//! is therefore `(dx, dy) = (cos angle, -sin angle)` in pixel coordinates. For an ending the
//! ridge leaves the minutia along the ridge, away from its free end; a bifurcation points away
//! from its single ridge (the stem), into the valley between its two arms, i.e. the direction of
//! the valley ending it is dual to (the ISO/IEC 19794-2 convention; the SecuGen ISO templates of
//! FVC2002 agree with it for 96–99 % of position-matched bifurcations, and with the opposite for
//! under 25 %: `crates/ridgeline/examples/iso_proxy.rs`). How this maps to
//! each interchange format's angle units is tabulated in `docs/FORMATS.md`.
//!
//! Coordinates are in pixels of the original image (before any resampling), at the template's
//! `dpi`.
//!
//! # Native file format
//! Documented byte by byte in `docs/FORMATS.md`; the offsets are the constants below.
//! All multi-byte integers are little-endian.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `RLT\x1a` |
//! | 4 | 2 | format version (u16) |
//! | 6 | 2 | reserved, zero |
//! | 8 | 4 | payload length in bytes (u32) |
//! | 12 | 4 | CRC-32 (IEEE) of the payload |
//! | 16 | n | payload: the [`Template`] encoded with bincode 2 (standard configuration) |

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Magic number at the start of every native template file.
pub const NATIVE_MAGIC: [u8; 4] = *b"RLT\x1a";
/// Native template format version written by this build.
pub(crate) const NATIVE_VERSION: u16 = 1;
/// Offset of the magic number.
pub(crate) const OFFSET_MAGIC: usize = 0;
/// Offset of the format version.
pub(crate) const OFFSET_VERSION: usize = 4;
/// Offset of the reserved field.
#[cfg(test)]
pub(crate) const OFFSET_RESERVED: usize = 6;
/// Offset of the payload length.
pub(crate) const OFFSET_PAYLOAD_LEN: usize = 8;
/// Offset of the payload checksum.
pub(crate) const OFFSET_CHECKSUM: usize = 12;
/// Size of the header; the payload starts here.
pub const HEADER_LEN: usize = 16;
/// Largest payload we accept: far above any real template (a few hundred minutiae take a few
/// kilobytes), small enough that a hostile length cannot exhaust memory.
pub const MAX_PAYLOAD_LEN: usize = 1 << 20;
/// Most minutiae a template may hold (ISO/IEC 19794-2 stores the count in one byte).
pub const MAX_MINUTIAE: usize = 255;
/// Minutiae from which a print counts as whole: the matcher scores comparisons of sparser prints
/// on the whole-print scale (`matcher::calibration::WHOLE_PRINT_MINUTIAE`), and the image
/// quality counts the minutiae up to it.
pub(crate) const WHOLE_PRINT_MINUTIAE: usize = 20;

/// Whether a minutia is a ridge ending or a bifurcation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MinutiaKind {
    /// A ridge ends.
    Ending,
    /// A ridge forks into two.
    Bifurcation,
}

impl MinutiaKind {
    /// Lower-case name, as used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            MinutiaKind::Ending => "ending",
            MinutiaKind::Bifurcation => "bifurcation",
        }
    }
}

/// One minutia: position, direction, kind and quality.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Minutia {
    /// Column in pixels of the original image.
    pub x: f32,
    /// Row in pixels of the original image (y points down).
    pub y: f32,
    /// Direction in radians, `[0, 2π)`, counter-clockwise from +x as viewed (see module docs).
    pub angle: f32,
    /// Ending or bifurcation.
    pub kind: MinutiaKind,
    /// Reliability 0–100.
    pub quality: u8,
}

/// Core or delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SingularPointKind {
    /// Innermost point of a loop or whorl.
    Core,
    /// Point where three ridge flows meet.
    Delta,
}

/// A singular point of the orientation field.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SingularPoint {
    /// Column in pixels of the original image.
    pub x: f32,
    /// Row in pixels of the original image.
    pub y: f32,
    /// Direction in radians where defined (same convention as minutiae), else `None`.
    pub angle: Option<f32>,
    /// Core or delta.
    pub kind: SingularPointKind,
}

/// A minutiae template of one finger impression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Width of the source image in pixels.
    pub width: u32,
    /// Height of the source image in pixels.
    pub height: u32,
    /// Resolution of the source image in dots per inch.
    pub dpi: u32,
    /// Overall image quality 0–100.
    pub quality: u8,
    /// The minutiae, at most [`MAX_MINUTIAE`].
    pub minutiae: Vec<Minutia>,
    /// Cores and deltas, where found.
    pub singular_points: Vec<SingularPoint>,
}

impl Template {
    /// Encodes the template in the native `.rlt` format.
    pub fn to_native_bytes(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let payload = bincode::serde::encode_to_vec(self, bincode::config::standard())
            .map_err(|e| Error::CorruptTemplate(format!("cannot encode: {e}")))?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&NATIVE_MAGIC);
        out.extend_from_slice(&NATIVE_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Decodes a native `.rlt` template, checking magic, version, length and checksum.
    pub fn from_native_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Err(Error::EmptyInput);
        }
        if bytes.len() < HEADER_LEN {
            if !NATIVE_MAGIC.starts_with(&bytes[..bytes.len().min(4)]) {
                return Err(Error::TemplateMagic { found: bytes[..bytes.len().min(4)].to_vec() });
            }
            return Err(Error::CorruptTemplate(format!(
                "{} bytes is shorter than the {HEADER_LEN}-byte header",
                bytes.len()
            )));
        }
        let field = |offset: usize, len: usize| &bytes[offset..offset + len];
        if field(OFFSET_MAGIC, 4) != NATIVE_MAGIC {
            return Err(Error::TemplateMagic { found: field(OFFSET_MAGIC, 4).to_vec() });
        }
        let version = u16::from_le_bytes([bytes[OFFSET_VERSION], bytes[OFFSET_VERSION + 1]]);
        if version != NATIVE_VERSION {
            return Err(Error::TemplateVersion { expected: NATIVE_VERSION, got: version });
        }
        let read_u32 = |offset: usize| {
            u32::from_le_bytes([
                bytes[offset],
                bytes[offset + 1],
                bytes[offset + 2],
                bytes[offset + 3],
            ])
        };
        let payload_len = read_u32(OFFSET_PAYLOAD_LEN) as usize;
        if payload_len > MAX_PAYLOAD_LEN {
            return Err(Error::CorruptTemplate(format!(
                "payload length {payload_len} is too large"
            )));
        }
        let payload = bytes.get(HEADER_LEN..HEADER_LEN + payload_len).ok_or_else(|| {
            Error::CorruptTemplate(format!(
                "truncated: header announces {payload_len} payload bytes, file holds {}",
                bytes.len() - HEADER_LEN
            ))
        })?;
        let expected = read_u32(OFFSET_CHECKSUM);
        let got = crc32fast::hash(payload);
        if expected != got {
            return Err(Error::TemplateChecksum { expected, got });
        }
        let config = bincode::config::standard().with_limit::<MAX_PAYLOAD_LEN>();
        let (template, used): (Template, usize) =
            bincode::serde::decode_from_slice(payload, config)
                .map_err(|e| Error::CorruptTemplate(format!("payload: {e}")))?;
        if used != payload_len {
            return Err(Error::CorruptTemplate(format!(
                "{} trailing payload bytes",
                payload_len - used
            )));
        }
        template.validate()?;
        Ok(template)
    }

    /// Checks the invariants every template holds: finite coordinates and angles, quality in
    /// range, at most [`MAX_MINUTIAE`] minutiae.
    pub fn validate(&self) -> Result<()> {
        if self.minutiae.len() > MAX_MINUTIAE {
            return Err(Error::CorruptTemplate(format!(
                "{} minutiae, at most {MAX_MINUTIAE} allowed",
                self.minutiae.len()
            )));
        }
        if self.quality > 100 {
            return Err(Error::CorruptTemplate(format!("quality {} > 100", self.quality)));
        }
        if self.dpi == 0 {
            return Err(Error::CorruptTemplate("resolution 0 dpi".into()));
        }
        for (i, m) in self.minutiae.iter().enumerate() {
            if !(m.x.is_finite() && m.y.is_finite() && m.angle.is_finite()) || m.quality > 100 {
                return Err(Error::CorruptTemplate(format!("minutia {i} has out-of-range fields")));
            }
        }
        Ok(())
    }
}

/// Normalises an angle in radians to `[0, 2π)`.
#[inline]
pub fn normalize_angle(angle: f32) -> f32 {
    let tau = std::f32::consts::TAU;
    let a = angle.rem_euclid(tau);
    // rem_euclid can return exactly TAU for tiny negative inputs because of rounding.
    if a >= tau {
        0.0
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Template {
        Template {
            width: 388,
            height: 374,
            dpi: 500,
            quality: 71,
            minutiae: vec![
                Minutia { x: 10.5, y: 20.25, angle: 1.0, kind: MinutiaKind::Ending, quality: 80 },
                Minutia {
                    x: 200.0,
                    y: 100.0,
                    angle: 6.0,
                    kind: MinutiaKind::Bifurcation,
                    quality: 40,
                },
            ],
            singular_points: vec![SingularPoint {
                x: 150.0,
                y: 160.0,
                angle: Some(0.5),
                kind: SingularPointKind::Core,
            }],
        }
    }

    #[test]
    fn native_round_trip() {
        let t = sample();
        let bytes = t.to_native_bytes().expect("encode");
        assert_eq!(Template::from_native_bytes(&bytes).expect("decode"), t);
    }

    #[test]
    fn header_offsets_hold_documented_fields() {
        let bytes = sample().to_native_bytes().expect("encode");
        assert_eq!(&bytes[OFFSET_MAGIC..OFFSET_MAGIC + 4], b"RLT\x1a");
        assert_eq!(
            u16::from_le_bytes([bytes[OFFSET_VERSION], bytes[OFFSET_VERSION + 1]]),
            NATIVE_VERSION
        );
        assert_eq!(&bytes[OFFSET_RESERVED..OFFSET_RESERVED + 2], &[0, 0]);
        let len = u32::from_le_bytes(
            bytes[OFFSET_PAYLOAD_LEN..OFFSET_PAYLOAD_LEN + 4].try_into().expect("4"),
        );
        assert_eq!(len as usize, bytes.len() - HEADER_LEN);
        let crc =
            u32::from_le_bytes(bytes[OFFSET_CHECKSUM..OFFSET_CHECKSUM + 4].try_into().expect("4"));
        assert_eq!(crc, crc32fast::hash(&bytes[HEADER_LEN..]));
    }

    #[test]
    fn refuses_bad_magic_version_truncation_and_corruption() {
        let bytes = sample().to_native_bytes().expect("encode");
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(matches!(Template::from_native_bytes(&bad), Err(Error::TemplateMagic { .. })));
        let mut bad = bytes.clone();
        bad[OFFSET_VERSION] = 9;
        assert!(matches!(
            Template::from_native_bytes(&bad),
            Err(Error::TemplateVersion { expected: 1, got: 9 })
        ));
        for cut in [1, 10, HEADER_LEN, bytes.len() - 1] {
            assert!(Template::from_native_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x40;
        assert!(matches!(Template::from_native_bytes(&bad), Err(Error::TemplateChecksum { .. })));
        assert!(matches!(Template::from_native_bytes(&[]), Err(Error::EmptyInput)));
    }

    #[test]
    fn normalize_angle_range() {
        for a in [-10.0f32, -1e-9, 0.0, 3.0, 6.3, 100.0] {
            let n = normalize_angle(a);
            assert!((0.0..std::f32::consts::TAU).contains(&n), "{a} -> {n}");
        }
    }
}

//! The prepared form of a template: one fixed-size, 8-byte aligned byte layout holding the
//! minutiae geometry and their cylinders, read in place (zero copy) from a gallery's mmap.
//!
//! Layout, version [`PREPARED_FORMAT_VERSION`] (all integers little-endian; also in
//! `docs/FORMATS.md`):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `RLMC` |
//! | 4 | 2 | format version (u16) |
//! | 6 | 2 | `n`: minutiae with a valid cylinder stored (u16, ≤ [`MAX_PREPARED_MINUTIAE`]) |
//! | 8 | 2 | minutiae in the source template (u16) |
//! | 10 | 1 | template quality 0–100 |
//! | 11 | 5 | reserved, zero |
//! | 16 | 8 × MAX | minutia records; the first `n` used, the rest zero |
//! | 16 + 8 × MAX | 8 × CYLINDER_WORDS × MAX | cylinders, same order; the first `n` used |
//!
//! Minutia record (8 bytes): x u16 and y u16 in 1/8 pixel at 500 dpi (`POSITION_STEPS_PER_PX`),
//! direction u16 in 1/65,536 of a turn (the template convention), quality u8, kind u8 (0 ending,
//! 1 bifurcation). An eighth of a pixel and 0.006° are far below what extraction resolves, and
//! halve the record against 32-bit floats.
//! Cylinder record (`CYLINDER_WORDS` u64): `LAYER_WORDS` validity words (bit `c` of the layer
//! = spatial cell `c = i·NS + j`, i along the minutia direction), then `ANGULAR_CELLS` layers
//! of `LAYER_WORDS` bit words, angular section `k` covering relative directions
//! `[-π + k·2π/ND, -π + (k+1)·2π/ND)`. Bits are already masked by validity.

use super::cylinder::{self, Cylinder, Point, CYLINDER_WORDS, LAYER_WORDS};
use super::parameters::{MAX_PREPARED_MINUTIAE, WORKING_DPI};
use crate::error::{Error, Result};
use crate::template::{MinutiaKind, Template};

#[cfg(target_endian = "big")]
compile_error!("the prepared template layout is read in place as little-endian words");

/// Magic number at the start of every prepared template.
pub(crate) const PREPARED_MAGIC: [u8; 4] = *b"RLMC";
/// Version of the prepared layout; bumped whenever the layout or the cylinder parameters change.
pub const PREPARED_FORMAT_VERSION: u16 = 2;
/// Offset of the magic number.
pub(crate) const OFFSET_MAGIC: usize = 0;
/// Offset of the format version.
pub(crate) const OFFSET_VERSION: usize = 4;
/// Offset of the stored minutiae count.
pub(crate) const OFFSET_COUNT: usize = 6;
/// Offset of the source template's minutiae count.
pub(crate) const OFFSET_SOURCE_COUNT: usize = 8;
/// Offset of the template quality.
pub(crate) const OFFSET_QUALITY: usize = 10;
/// Size of the header.
pub(crate) const HEADER_LEN: usize = 16;
/// Size of one minutia record.
pub const MINUTIA_RECORD_LEN: usize = 8;
/// Fixed-point steps per 500-dpi pixel of the stored positions.
pub(crate) const POSITION_STEPS_PER_PX: f32 = 8.0;
/// Positions at or beyond this many 500-dpi pixels (about 16 inches) cannot be stored; such
/// minutiae are left out when preparing, like non-finite ones.
pub(crate) const MAX_POSITION_PX: f32 = 65_535.0 / POSITION_STEPS_PER_PX;
/// Direction steps per turn of the stored directions.
const DIRECTION_STEPS: f32 = 65_536.0;
/// Offset of the minutia records.
pub(crate) const OFFSET_MINUTIAE: usize = HEADER_LEN;
/// Size of one cylinder record.
pub(crate) const CYLINDER_RECORD_LEN: usize = CYLINDER_WORDS * 8;
/// Offset of the cylinder records.
pub(crate) const OFFSET_CYLINDERS: usize =
    OFFSET_MINUTIAE + MINUTIA_RECORD_LEN * MAX_PREPARED_MINUTIAE;
/// Size in bytes of every prepared template.
pub const PREPARED_LEN: usize = OFFSET_CYLINDERS + CYLINDER_RECORD_LEN * MAX_PREPARED_MINUTIAE;

const _: () = assert!(PREPARED_LEN % 8 == 0 && OFFSET_CYLINDERS % 8 == 0);

/// A template prepared for matching, owning its bytes (see the module docs for the layout).
#[derive(Clone)]
pub struct MatchTemplate {
    // u64 storage guarantees the 8-byte alignment the borrowed view requires.
    words: Box<[u64]>,
}

impl std::fmt::Debug for MatchTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchTemplate").field("minutiae", &self.view().len()).finish()
    }
}

/// A geometric minutia as stored in the prepared form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PreparedMinutia {
    /// Column in 500-dpi pixels.
    pub x: f32,
    /// Row in 500-dpi pixels (down).
    pub y: f32,
    /// Direction in radians (template convention).
    pub angle: f32,
    /// Quality 0–100.
    pub quality: u8,
    /// Ending or bifurcation.
    pub kind: MinutiaKind,
}

impl MatchTemplate {
    /// Prepares a template: scales it to 500 dpi, keeps at most [`MAX_PREPARED_MINUTIAE`]
    /// minutiae (the best by quality), computes their cylinders and drops minutiae whose
    /// cylinder is invalid. Non-finite minutiae are ignored.
    pub fn prepare(template: &Template) -> MatchTemplate {
        let scale = if template.dpi == 0 { 1.0 } else { WORKING_DPI / template.dpi as f32 };
        let mut minutiae: Vec<_> = template
            .minutiae
            .iter()
            .filter(|m| {
                let inside = |v: f32| (0.0..MAX_POSITION_PX).contains(&(v * scale));
                inside(m.x) && inside(m.y) && m.angle.is_finite()
            })
            .collect();
        // Stable sort: equal qualities keep the template's order, so preparing is deterministic.
        minutiae.sort_by_key(|m| std::cmp::Reverse(m.quality));
        minutiae.truncate(MAX_PREPARED_MINUTIAE);
        // Records in order of direction: the comparison's direction pre-filter then passes and
        // fails in long runs, which the branch predictor follows.
        minutiae.sort_by(|a, b| {
            let (a, b) = (
                crate::template::normalize_angle(a.angle),
                crate::template::normalize_angle(b.angle),
            );
            a.total_cmp(&b)
        });
        // The stored (rounded) geometry; the cylinders are computed from it, so that a prepared
        // record describes its own minutiae exactly.
        let stored: Vec<(u16, u16, u16)> =
            minutiae.iter().map(|m| quantise(m.x * scale, m.y * scale, m.angle)).collect();
        let points: Vec<Point> = stored
            .iter()
            .map(|&(x, y, angle)| Point { x: position(x), y: position(y), angle: direction(angle) })
            .collect();
        let cylinders = cylinder::compute_all(&points);

        let mut bytes = vec![0u8; PREPARED_LEN];
        bytes[OFFSET_MAGIC..OFFSET_MAGIC + 4].copy_from_slice(&PREPARED_MAGIC);
        bytes[OFFSET_VERSION..OFFSET_VERSION + 2]
            .copy_from_slice(&PREPARED_FORMAT_VERSION.to_le_bytes());
        bytes[OFFSET_SOURCE_COUNT..OFFSET_SOURCE_COUNT + 2].copy_from_slice(
            &(template.minutiae.len().min(u16::MAX as usize) as u16).to_le_bytes(),
        );
        bytes[OFFSET_QUALITY] = template.quality.min(100);
        let mut count = 0usize;
        for ((m, &(x, y, angle)), c) in minutiae.iter().zip(&stored).zip(&cylinders) {
            let Some(c) = c else { continue };
            let rec = OFFSET_MINUTIAE + count * MINUTIA_RECORD_LEN;
            bytes[rec..rec + 2].copy_from_slice(&x.to_le_bytes());
            bytes[rec + 2..rec + 4].copy_from_slice(&y.to_le_bytes());
            bytes[rec + 4..rec + 6].copy_from_slice(&angle.to_le_bytes());
            bytes[rec + 6] = m.quality.min(100);
            bytes[rec + 7] = match m.kind {
                MinutiaKind::Ending => 0,
                MinutiaKind::Bifurcation => 1,
            };
            let cyl = OFFSET_CYLINDERS + count * CYLINDER_RECORD_LEN;
            for (w, word) in c.iter().enumerate() {
                bytes[cyl + 8 * w..cyl + 8 * w + 8].copy_from_slice(&word.to_le_bytes());
            }
            count += 1;
        }
        bytes[OFFSET_COUNT..OFFSET_COUNT + 2].copy_from_slice(&(count as u16).to_le_bytes());
        let words: Box<[u64]> = bytes
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        MatchTemplate { words }
    }

    /// Exactly the bytes a gallery stores: [`PREPARED_LEN`] of them.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: u8 has no alignment or validity requirements; the slice covers exactly the
        // memory of `self.words`, which lives as long as the borrow.
        unsafe {
            std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.words.len() * 8)
        }
    }

    /// Borrowed view for comparing.
    pub fn view(&self) -> PreparedRef<'_> {
        PreparedRef { words: &self.words }
    }

    /// Copies a prepared form out of bytes (e.g. read from a file), checking them like
    /// [`PreparedRef::from_bytes`] but without the alignment requirement.
    pub fn from_bytes(bytes: &[u8]) -> Result<MatchTemplate> {
        if bytes.len() != PREPARED_LEN {
            return Err(length_error(bytes.len()));
        }
        let words: Box<[u64]> = bytes
            .chunks_exact(8)
            .map(|c| {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        check_header(&words)?;
        Ok(MatchTemplate { words })
    }
}

/// A zero-copy view of a prepared template (from a [`MatchTemplate`] or a gallery's mmap).
#[derive(Debug, Clone, Copy)]
pub struct PreparedRef<'a> {
    words: &'a [u64],
}

impl<'a> PreparedRef<'a> {
    /// Views `bytes` as a prepared template without copying: checks the length
    /// ([`PREPARED_LEN`]), 8-byte alignment, magic, version and the stored count.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<PreparedRef<'a>> {
        if bytes.len() != PREPARED_LEN {
            return Err(length_error(bytes.len()));
        }
        if bytes.as_ptr() as usize % 8 != 0 {
            return Err(Error::InvalidArgument(
                "prepared template bytes must start at an 8-byte aligned address".into(),
            ));
        }
        // SAFETY: the pointer is 8-byte aligned (checked above), the length is a multiple of 8
        // (PREPARED_LEN is), every bit pattern is a valid u64, and the words borrow `bytes`.
        let words =
            unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u64>(), PREPARED_LEN / 8) };
        check_header(words)?;
        Ok(PreparedRef { words })
    }

    /// Number of minutiae stored (each has a valid cylinder).
    #[inline]
    pub fn len(&self) -> usize {
        ((self.words[0] >> 48) as usize).min(MAX_PREPARED_MINUTIAE)
    }

    /// Whether no minutia is stored.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Quality 0–100 of the source template.
    pub fn quality(&self) -> u8 {
        ((self.words[1] >> 16) & 0xff) as u8
    }

    /// Geometry of minutia `i` (`i < len()`; panics otherwise, like slice indexing).
    #[inline]
    pub fn minutia(&self, i: usize) -> PreparedMinutia {
        assert!(i < self.len(), "minutia index {i} out of range");
        let w = self.words[(OFFSET_MINUTIAE + i * MINUTIA_RECORD_LEN) / 8];
        PreparedMinutia {
            x: position(w as u16),
            y: position((w >> 16) as u16),
            angle: direction((w >> 32) as u16),
            quality: (w >> 48) as u8,
            kind: if (w >> 56) as u8 & 1 == 1 {
                MinutiaKind::Bifurcation
            } else {
                MinutiaKind::Ending
            },
        }
    }

    /// Direction of minutia `i` in radians.
    #[inline]
    pub fn angle(&self, i: usize) -> f32 {
        direction((self.words[(OFFSET_MINUTIAE + i * MINUTIA_RECORD_LEN) / 8] >> 32) as u16)
    }

    /// The whole cylinder record of minutia `i`: `LAYER_WORDS` validity words, then the bits.
    #[inline]
    pub fn cylinder(&self, i: usize) -> &'a Cylinder {
        let start = (OFFSET_CYLINDERS + i * CYLINDER_RECORD_LEN) / 8;
        // The slice has exactly CYLINDER_WORDS elements, so the conversion cannot fail.
        #[allow(clippy::unwrap_used)]
        self.words[start..start + CYLINDER_WORDS].try_into().unwrap()
    }

    /// Validity mask of minutia `i`'s cylinder: one bit per spatial cell (`i·NS + j`), set
    /// where the cell lies inside the disk and the fingerprint's region of interest.
    #[inline]
    pub(crate) fn cylinder_validity(&self, i: usize) -> &'a [u64] {
        &self.cylinder(i)[..LAYER_WORDS]
    }

    /// Bit words of minutia `i`'s cylinder: `ANGULAR_CELLS` layers of `LAYER_WORDS` words;
    /// bit `c` of layer `k` is set when neighbours are present near spatial cell `c` with a
    /// relative direction in angular section `k`. Used by the gallery's LSH index.
    #[inline]
    pub(crate) fn cylinder_bits(&self, i: usize) -> &'a [u64] {
        &self.cylinder(i)[LAYER_WORDS..]
    }

    /// The raw bytes of the view ([`PREPARED_LEN`] of them).
    pub fn as_bytes(&self) -> &'a [u8] {
        // SAFETY: as in `MatchTemplate::as_bytes`.
        unsafe {
            std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.words.len() * 8)
        }
    }
}

/// The stored fixed-point form of a position (500-dpi pixels, inside `[0, MAX_POSITION_PX)`)
/// and a direction (radians, any value).
fn quantise(x: f32, y: f32, angle: f32) -> (u16, u16, u16) {
    let step = |v: f32| (v * POSITION_STEPS_PER_PX).round().clamp(0.0, 65_535.0) as u16;
    let turn = crate::template::normalize_angle(angle) / std::f32::consts::TAU;
    // A direction that rounds up to a full turn is direction 0 (the cast wraps it).
    let angle = ((turn * DIRECTION_STEPS).round() as u32 & 0xffff) as u16;
    (step(x), step(y), angle)
}

#[inline]
fn position(steps: u16) -> f32 {
    steps as f32 / POSITION_STEPS_PER_PX
}

#[inline]
fn direction(steps: u16) -> f32 {
    steps as f32 * (std::f32::consts::TAU / DIRECTION_STEPS)
}

fn length_error(len: usize) -> Error {
    Error::CorruptTemplate(format!(
        "prepared template holds {len} bytes, this build expects {PREPARED_LEN}"
    ))
}

fn check_header(words: &[u64]) -> Result<()> {
    let w0 = words[0].to_le_bytes();
    if w0[..4] != PREPARED_MAGIC {
        return Err(Error::TemplateMagic { found: w0[..4].to_vec() });
    }
    let version = u16::from_le_bytes([w0[4], w0[5]]);
    if version != PREPARED_FORMAT_VERSION {
        return Err(Error::TemplateVersion { expected: PREPARED_FORMAT_VERSION, got: version });
    }
    let count = u16::from_le_bytes([w0[6], w0[7]]) as usize;
    if count > MAX_PREPARED_MINUTIAE {
        return Err(Error::CorruptTemplate(format!(
            "prepared template claims {count} minutiae, at most {MAX_PREPARED_MINUTIAE}"
        )));
    }
    let quality = (words[1] >> 16) as u8;
    if quality > 100 {
        return Err(Error::CorruptTemplate(format!("prepared template quality {quality} > 100")));
    }
    Ok(())
}

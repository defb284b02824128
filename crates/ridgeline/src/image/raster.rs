//! The image type itself: pixels, size and resolution, and the limits every image obeys. The
//! codecs (files through the `image` crate in the parent module, WSQ in [`super::wsq`]) build
//! it through [`FingerImage::from_raw`].

use crate::error::{Error, Result};

/// Smallest accepted image side, in pixels.
pub const MIN_SIDE_PX: u32 = 64;
/// Largest accepted image side, in pixels.
pub const MAX_SIDE_PX: u32 = 4096;
/// Lowest supported resolution.
pub(crate) const MIN_DPI: u32 = 250;
/// Highest supported resolution.
pub(crate) const MAX_DPI: u32 = 1000;
/// The resolution the extractor works at internally, and the default for files that carry none.
pub const STANDARD_DPI: u32 = 500;

/// An 8-bit grayscale fingerprint image with its resolution.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerImage {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) dpi: u32,
    pub(super) pixels: Vec<u8>,
}

impl std::fmt::Debug for FingerImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("dpi", &self.dpi)
            .finish_non_exhaustive()
    }
}

impl FingerImage {
    /// Wraps a raw row-major 8-bit buffer, checking size, resolution and buffer length.
    pub fn from_raw(width: u32, height: u32, dpi: u32, pixels: Vec<u8>) -> Result<Self> {
        check_dimensions(width, height)?;
        check_dpi(dpi)?;
        let expected = width as usize * height as usize;
        if pixels.len() != expected {
            return Err(Error::BufferLength { width, height, expected, actual: pixels.len() });
        }
        Ok(FingerImage { width, height, dpi, pixels })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Resolution in dots per inch.
    pub fn dpi(&self) -> u32 {
        self.dpi
    }

    /// Row-major pixels, `width * height` bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Consumes the image, returning its pixels.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// The pixel at (`x`, `y`); callers keep the coordinates in bounds.
    #[inline]
    pub fn get(&self, x: u32, y: u32) -> u8 {
        self.pixels[(y * self.width + x) as usize]
    }

    /// The same image with another stated resolution and the pixels untouched.
    pub fn with_dpi(mut self, dpi: u32) -> Result<Self> {
        check_dpi(dpi)?;
        self.dpi = dpi;
        Ok(self)
    }
}

pub(super) fn check_dimensions(width: u32, height: u32) -> Result<()> {
    let ok = |side: u32| (MIN_SIDE_PX..=MAX_SIDE_PX).contains(&side);
    if ok(width) && ok(height) {
        Ok(())
    } else {
        Err(Error::ImageSize { width, height, min: MIN_SIDE_PX, max: MAX_SIDE_PX })
    }
}

/// Checks that a resolution is one the extractor supports.
pub fn check_dpi(dpi: u32) -> Result<()> {
    if (MIN_DPI..=MAX_DPI).contains(&dpi) {
        Ok(())
    } else {
        Err(Error::Resolution { dpi, min: MIN_DPI, max: MAX_DPI })
    }
}

//! Grayscale fingerprint images with their resolution.
//!
//! A [`FingerImage`] is 8-bit grayscale, row-major, dark ridges on a light background, together
//! with its resolution in dots per inch. Images come from files (PNG, BMP, TIFF, JPEG, PGM through
//! the `image` crate; WSQ through [`wsq`]) or from raw buffers handed over by readers and the C API.
//!
//! A key design decision: the image size is checked from the file header *before* any pixel is
//! decoded, so a hostile header cannot make us allocate gigabytes. Colour and 16-bit images are
//! converted to 8-bit luma rather than refused.

use std::io::Cursor;
use std::path::Path;

use crate::error::{Error, Result};

mod raster;
pub mod wsq;

use raster::check_dimensions;
pub use raster::{check_dpi, FingerImage, MAX_SIDE_PX, MIN_SIDE_PX, STANDARD_DPI};
pub(crate) use raster::{MAX_DPI, MIN_DPI};

impl FingerImage {
    /// Decodes an image file's bytes.
    ///
    /// `dpi` overrides the resolution; without it the resolution stored in the file is used
    /// where the format carries a trustworthy one (PNG `pHYs`, BMP header), else 500 dpi.
    pub fn decode(bytes: &[u8], dpi: Option<u32>) -> Result<Self> {
        if bytes.is_empty() {
            return Err(Error::EmptyInput);
        }
        if let Some(dpi) = dpi {
            check_dpi(dpi)?;
        }
        // WSQ (starts with the SOI marker FF A0): resolution from the stream's NIST_COM PPI.
        if wsq::is_wsq(bytes) {
            return wsq::decode_image(bytes, dpi);
        }
        let reader = image::ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| Error::CorruptImage(e.to_string()))?;
        let Some(format) = reader.format() else {
            return Err(Error::UnsupportedImageFormat(describe_magic(bytes)));
        };
        let decoder = reader.into_decoder().map_err(map_image_error)?;
        let (width, height) = image::ImageDecoder::dimensions(&decoder);
        check_dimensions(width, height)?;
        let decoded = image::DynamicImage::from_decoder(decoder).map_err(map_image_error)?;
        let gray = decoded.into_luma8();
        let dpi = match dpi {
            Some(dpi) => dpi,
            None => stored_dpi(format, bytes)
                .filter(|d| (MIN_DPI..=MAX_DPI).contains(d))
                .unwrap_or(STANDARD_DPI),
        };
        Ok(FingerImage { width, height, dpi, pixels: gray.into_raw() })
    }

    /// Reads and decodes an image file (at most 256 MiB). See
    /// [`FingerImage::decode`] for `dpi`.
    pub fn open(path: impl AsRef<Path>, dpi: Option<u32>) -> Result<Self> {
        let bytes = read_input(path.as_ref())?;
        Self::decode(&bytes, dpi)
    }

    /// Resamples the image so that it has `target_dpi`; returns a clone when it already has.
    /// Used to bring every input to the extractor's working resolution.
    ///
    /// The kernel is the bilinear tent, widened by the reduction factor when shrinking (the
    /// usual anti-aliased bilinear). A plain bilinear lookup at a ratio like 500/569 smooths
    /// each output pixel by anything from nothing (a sample on a source pixel) to a two-pixel
    /// mean (a sample halfway), with a beat period of about seven output pixels, close to the
    /// ridge period; the widened tent averages every output pixel over about 2.3 source pixels,
    /// so noise is smoothed evenly. Enlarging is plain bilinear.
    pub fn resampled_to(&self, target_dpi: u32) -> FingerImage {
        if self.dpi == target_dpi {
            return self.clone();
        }
        let scale = target_dpi as f64 / self.dpi as f64;
        let new_width = ((self.width as f64 * scale).round() as u32).max(1);
        let new_height = ((self.height as f64 * scale).round() as u32).max(1);
        let columns = ResamplingTaps::new(self.width, new_width, scale);
        let rows = ResamplingTaps::new(self.height, new_height, scale);
        // Rows first into floats, then columns, so that each pass is a short 1-D sum.
        let mut horizontal = vec![0.0f64; new_width as usize * self.height as usize];
        for (y, out) in horizontal.chunks_exact_mut(new_width as usize).enumerate() {
            let row = &self.pixels[y * self.width as usize..(y + 1) * self.width as usize];
            for (x, value) in out.iter_mut().enumerate() {
                *value = columns.apply(x, |i| row[i] as f64);
            }
        }
        let mut pixels = Vec::with_capacity(new_width as usize * new_height as usize);
        for y in 0..new_height as usize {
            for x in 0..new_width as usize {
                let v = rows.apply(y, |i| horizontal[i * new_width as usize + x]);
                pixels.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
        FingerImage { width: new_width, height: new_height, dpi: target_dpi, pixels }
    }

    /// Encodes the image as PNG.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        image::ImageEncoder::write_image(
            image::codecs::png::PngEncoder::new(&mut out),
            &self.pixels,
            self.width,
            self.height,
            image::ExtendedColorType::L8,
        )
        .map_err(|e| Error::CorruptImage(e.to_string()))?;
        Ok(out)
    }

    /// Writes the image as a PNG file.
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_png()?;
        std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
    }
}

/// The source pixels and normalised weights of each output pixel along one axis.
struct ResamplingTaps {
    /// Per output pixel: the first source index and its weights.
    taps: Vec<(usize, Vec<f64>)>,
}

impl ResamplingTaps {
    fn new(source_len: u32, target_len: u32, scale: f64) -> Self {
        // The tent's half-width in source pixels: one when enlarging, 1/scale when shrinking.
        let radius = (1.0 / scale).max(1.0);
        let last = source_len as i64 - 1;
        let taps = (0..target_len)
            .map(|t| {
                // Pixel centres map to pixel centres, so the image does not drift.
                let centre = (t as f64 + 0.5) / scale - 0.5;
                let first = ((centre - radius).floor() as i64 + 1).clamp(0, last);
                let end = ((centre + radius).ceil() as i64 - 1).clamp(0, last);
                let mut weights: Vec<f64> = (first..=end)
                    .map(|i| (1.0 - (i as f64 - centre).abs() / radius).max(0.0))
                    .collect();
                let sum: f64 = weights.iter().sum();
                if sum > 0.0 {
                    weights.iter_mut().for_each(|w| *w /= sum);
                } else {
                    // Only outside the image (a centre clamped onto its edge pixel).
                    weights = vec![1.0];
                }
                (first as usize, weights)
            })
            .collect();
        ResamplingTaps { taps }
    }

    /// The weighted sum of `source` over the taps of output pixel `t`.
    fn apply(&self, t: usize, source: impl Fn(usize) -> f64) -> f64 {
        let (first, weights) = &self.taps[t];
        weights.iter().enumerate().map(|(k, w)| w * source(first + k)).sum()
    }
}

fn map_image_error(e: image::ImageError) -> Error {
    match e {
        image::ImageError::Unsupported(u) => Error::UnsupportedImageFormat(u.to_string()),
        other => Error::CorruptImage(other.to_string()),
    }
}

fn describe_magic(bytes: &[u8]) -> String {
    let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("unrecognised file signature {}", head.join(" "))
}

/// The resolution stored in the file, where the format has a field for it.
fn stored_dpi(format: image::ImageFormat, bytes: &[u8]) -> Option<u32> {
    const METRES_PER_INCH: f64 = 0.0254;
    let from_ppm = |ppm: u32| (ppm as f64 * METRES_PER_INCH).round() as u32;
    match format {
        image::ImageFormat::Png => png_phys_ppm(bytes).map(from_ppm),
        image::ImageFormat::Bmp => {
            // BITMAPINFOHEADER: horizontal pixels per metre at offset 38.
            let field = bytes.get(38..42)?;
            let ppm = i32::from_le_bytes(field.try_into().ok()?);
            (ppm > 0).then(|| from_ppm(ppm as u32))
        }
        // TIFF resolution tags are routinely wrong in fingerprint data sets (FVC): don't trust them.
        _ => None,
    }
}

/// Horizontal pixels per metre from a PNG `pHYs` chunk (unit 1 = metre).
fn png_phys_ppm(bytes: &[u8]) -> Option<u32> {
    let mut pos = 8; // after the PNG signature
    while pos + 8 <= bytes.len() {
        let length = u32::from_be_bytes(bytes[pos..pos + 4].try_into().ok()?) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        if kind == b"pHYs" && length == 9 {
            let data = bytes.get(pos + 8..pos + 17)?;
            let ppm_x = u32::from_be_bytes(data[0..4].try_into().ok()?);
            return (data[8] == 1).then_some(ppm_x);
        }
        pos = pos.checked_add(12)?.checked_add(length)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray_png(width: u32, height: u32) -> Vec<u8> {
        let img = FingerImage {
            width,
            height,
            dpi: 500,
            pixels: (0..width * height).map(|i| (i % 251) as u8).collect(),
        };
        img.to_png().expect("encode")
    }

    #[test]
    fn png_round_trip_keeps_pixels() {
        let bytes = gray_png(80, 70);
        let img = FingerImage::decode(&bytes, None).expect("decode");
        assert_eq!((img.width(), img.height(), img.dpi()), (80, 70, 500));
        assert_eq!(img.pixels()[100], 100);
    }

    #[test]
    fn refuses_empty_input() {
        assert!(matches!(FingerImage::decode(&[], None), Err(Error::EmptyInput)));
    }

    #[test]
    fn refuses_unknown_format() {
        let err =
            FingerImage::decode(b"this is not an image at all", None).expect_err("must be refused");
        assert!(matches!(err, Error::UnsupportedImageFormat(_)), "{err}");
    }

    #[test]
    fn refuses_truncated_png() {
        let bytes = gray_png(80, 70);
        let err =
            FingerImage::decode(&bytes[..bytes.len() / 2], None).expect_err("must be refused");
        assert!(matches!(err, Error::CorruptImage(_)), "{err}");
    }

    #[test]
    fn refuses_too_small_and_too_large_before_decoding() {
        let err = FingerImage::decode(&gray_png(63, 100), None).expect_err("must be refused");
        assert!(matches!(err, Error::ImageSize { width: 63, .. }), "{err}");
        // A hand-made PNG header claiming 100000 x 100000 pixels with no pixel data: refused
        // from the header alone.
        let mut png = gray_png(64, 64);
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let err = FingerImage::decode(&png, None).expect_err("must be refused");
        assert!(matches!(err, Error::ImageSize { .. } | Error::CorruptImage(_)), "{err}");
    }

    #[test]
    fn colour_and_sixteen_bit_are_converted() {
        let rgb = image::RgbImage::from_pixel(70, 70, image::Rgb([200, 100, 50]));
        let mut bytes = Vec::new();
        image::DynamicImage::ImageRgb8(rgb)
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .expect("encode");
        let img = FingerImage::decode(&bytes, None).expect("colour decodes");
        assert_eq!(img.pixels().len(), 70 * 70);
        let deep =
            image::ImageBuffer::<image::Luma<u16>, _>::from_pixel(70, 70, image::Luma([65535u16]));
        let mut bytes = Vec::new();
        image::DynamicImage::ImageLuma16(deep)
            .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .expect("encode");
        let img = FingerImage::decode(&bytes, None).expect("16-bit decodes");
        assert_eq!(img.pixels()[0], 255);
    }

    #[test]
    fn raw_buffer_checks() {
        assert!(FingerImage::from_raw(64, 64, 500, vec![0; 64 * 64]).is_ok());
        assert!(matches!(
            FingerImage::from_raw(64, 64, 500, vec![0; 10]),
            Err(Error::BufferLength { expected: 4096, actual: 10, .. })
        ));
        assert!(matches!(
            FingerImage::from_raw(64, 64, 100, vec![0; 64 * 64]),
            Err(Error::Resolution { dpi: 100, .. })
        ));
    }

    #[test]
    fn shrinking_smooths_every_output_pixel_alike() {
        // 569 to 500 dpi, as FVC2002 DB2: the share of a source pixel's noise variance left in
        // an output pixel (sum of squared weights) is between a two-pixel mean (0.5) and about
        // two thirds everywhere; a plain bilinear lookup ranges from 0.5 to 1.
        let scale = 500.0 / 569.0;
        let taps = ResamplingTaps::new(560, 492, scale);
        for (t, (_, weights)) in taps.taps.iter().enumerate().skip(1).take(490) {
            let sum: f64 = weights.iter().sum();
            let noise: f64 = weights.iter().map(|w| w * w).sum();
            assert!((sum - 1.0).abs() < 1e-9, "{t}: {sum}");
            assert!((0.49..0.68).contains(&noise), "{t}: {noise}");
        }
    }

    #[test]
    fn enlarging_is_bilinear() {
        // 400 to 500 dpi: each output pixel interpolates its two nearest source pixels.
        let scale = 500.0 / 400.0;
        let taps = ResamplingTaps::new(80, 100, scale);
        for (t, (first, weights)) in taps.taps.iter().enumerate() {
            let centre = ((t as f64 + 0.5) / scale - 0.5).clamp(0.0, 79.0);
            let below = centre.floor();
            let expected: Vec<(usize, f64)> = if centre == below {
                vec![(below as usize, 1.0)]
            } else {
                vec![(below as usize, 1.0 - (centre - below)), (below as usize + 1, centre - below)]
            };
            let actual: Vec<(usize, f64)> = weights
                .iter()
                .enumerate()
                .map(|(k, &w)| (first + k, w))
                .filter(|&(_, w)| w > 0.0)
                .collect();
            assert_eq!(actual.len(), expected.len(), "{t}");
            for (a, e) in actual.iter().zip(&expected) {
                assert!(a.0 == e.0 && (a.1 - e.1).abs() < 1e-9, "{t}: {actual:?} {expected:?}");
            }
        }
    }

    #[test]
    fn resampling_scales_dimensions() {
        let img = FingerImage::from_raw(100, 80, 1000, vec![128; 8000]).expect("raw");
        let half = img.resampled_to(500);
        assert_eq!((half.width(), half.height(), half.dpi()), (50, 40, 500));
        assert!(half.pixels().iter().all(|&p| p == 128));
    }
}

/// The most bytes an input file (image, template, interchange record) may have: far above a
/// 1000 dpi ten-print card as uncompressed 8-bit pixels (about 60 MB), far below what would
/// strain memory.
pub(crate) const MAX_INPUT_BYTES: u64 = 256 << 20;

/// Reads an input file, refusing (`InputTooLarge`) one longer than 256 MiB before
/// it is in memory: the length is checked first where the file has one, and the read stops one
/// byte past the limit for files that do not (pipes, devices such as `/dev/zero`).
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    read_bounded(path, MAX_INPUT_BYTES)
}

/// [`read_input`] with another limit.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    let too_large = || Error::InputTooLarge { path: path.to_path_buf(), limit };
    if meta.is_file() && meta.len() > limit {
        return Err(too_large());
    }
    let capacity = if meta.is_file() { meta.len() as usize } else { 0 };
    let mut bytes = Vec::with_capacity(capacity);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

#[cfg(test)]
mod read_input_tests {
    use super::*;

    #[test]
    fn inputs_over_the_limit_are_refused_before_they_are_read_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.bin");
        std::fs::write(&path, vec![7u8; 1000]).expect("write");
        assert_eq!(read_bounded(&path, 1000).expect("at the limit").len(), 1000);
        assert!(matches!(read_bounded(&path, 999), Err(Error::InputTooLarge { limit: 999, .. })));
        // A device that never ends stops one byte past the limit.
        let zero = Path::new("/dev/zero");
        if zero.exists() {
            assert!(matches!(read_bounded(zero, 4096), Err(Error::InputTooLarge { .. })));
        }
    }
}

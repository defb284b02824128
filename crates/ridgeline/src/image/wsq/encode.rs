//! WSQ encoding at a target bit rate, producing streams NIST NBIS's decoder reads.
//!
//! The transform and stream (`stream.rs`) follow the FBI specification and NBIS's encoder. The
//! quantizers (bin width `Q`, zero bin `Z` per subband, bin centre `C`) are free for an encoder
//! to choose; ours come from a rate–distortion search (`allocation.rs`) instead of the
//! specification's variance formula. Quantization uses the step sizes exactly as the decoder
//! will read them back (after their decimal scaling), so the encoder and decoder agree.

use super::allocation;
use super::stream::Analysis;
use super::MAX_PIXELS_PER_INPUT_BYTE;
use crate::error::{Error, Result};
use crate::image::FingerImage;

/// The bit rate registration systems use, bits per pixel.
pub const TARGET_BITRATE_BPP: f32 = 0.75;
/// The lowest bit rate decoders accept ([`MAX_PIXELS_PER_INPUT_BYTE`] pixels per byte).
pub(crate) const MIN_BITRATE_BPP: f32 = 8.0 / MAX_PIXELS_PER_INPUT_BYTE as f32;

/// Encodes an image as WSQ in at most `bitrate_bpp` bits per pixel (compressed bytes × 8 over
/// all pixels of the image), as close to it as the rate–distortion search gets (0.75 is what
/// registration systems use). Images so small that the fixed tables alone exceed the budget get
/// the smallest stream the search finds.
pub fn encode(image: &FingerImage, bitrate_bpp: f32) -> Result<Vec<u8>> {
    if !(MIN_BITRATE_BPP..=8.0).contains(&bitrate_bpp) {
        return Err(Error::InvalidArgument(format!(
            "WSQ bit rate {bitrate_bpp} bpp is outside [{MIN_BITRATE_BPP}, 8]"
        )));
    }
    let analysis = Analysis::of(image)?;
    let pixels = image.width() as f64 * image.height() as f64;
    let budget_bytes = (bitrate_bpp as f64 * pixels / 8.0).floor() as usize;
    allocation::best_stream(&analysis, budget_bytes)
}

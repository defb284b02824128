//! WSQ (FBI IAFIS-IC-0110 v3.1) grayscale fingerprint image compression.
//!
//! A key design decision: the decoder reproduces NIST NBIS's reference decoder bit for bit
//! (same `f32` arithmetic in the same order, same subband geometry, same table quirks), so that
//! our pixels equal `dwsq`'s, not merely fall within the standard's ±1 tolerance. NBIS's memory
//! errors on hostile input are not reproduced: every table index and length is checked, every
//! buffer access is bounds-checked, and the image size is bounded by the input size before
//! anything is allocated (at most 256 pixels per input byte).
//!
//! Stream layout and quirks are in `docs/FORMATS.md` (section WSQ).

mod allocation;
mod decode;
mod encode;
mod huffman;
mod stream;
mod transform;
mod tree;

pub(crate) use decode::decode_image;
pub use decode::{decode, WsqImage};
pub use encode::{encode, TARGET_BITRATE_BPP};

/// Start of image.
pub(crate) const SOI: u16 = 0xFFA0;
/// End of image.
pub(crate) const EOI: u16 = 0xFFA1;
/// Start of frame.
pub(crate) const SOF: u16 = 0xFFA2;
/// Start of block.
pub(crate) const SOB: u16 = 0xFFA3;
/// Define transform table.
pub(crate) const DTT: u16 = 0xFFA4;
/// Define quantization table.
pub(crate) const DQT: u16 = 0xFFA5;
/// Define Huffman table(s).
pub(crate) const DHT: u16 = 0xFFA6;
/// Define restart interval.
pub(crate) const DRI: u16 = 0xFFA7;
/// Comment.
pub(crate) const COM: u16 = 0xFFA8;
/// First restart marker (RST0); RST0–RST7 are `FFB0`–`FFB7`.
pub(crate) const RST0: u16 = 0xFFB0;

/// Largest image (in pixels) accepted per byte of input, i.e. a stream must carry at least
/// 1/32 bit per pixel. WSQ at 0.75 bpp stores about 11 pixels per byte, and fingerprint images
/// at any rate WSQ is used at stay far below this ratio. Beyond it is a forged header, refused
/// before allocation: decoding costs about 10 bytes of memory and one wavelet synthesis per
/// pixel, so a few hundred bytes must not claim a 65535 × 65535 image. (An encoder can reach
/// the ratio only on a blank image; ours pads such streams with a comment.)
pub(crate) const MAX_PIXELS_PER_INPUT_BYTE: usize = 256;
/// Number of subbands that carry data.
pub(crate) const NUM_SUBBANDS: usize = 60;
/// Subband index where the second block starts.
pub(crate) const START_SUBBAND_2: usize = 19;
/// Subband index where the third block starts.
pub(crate) const START_SUBBAND_3: usize = 52;
/// Huffman tables a stream may define.
pub(crate) const MAX_HUFFMAN_TABLES: usize = 8;
/// Values a WSQ Huffman table may hold.
pub(crate) const MAX_HUFFMAN_VALUES: usize = 256;
/// Longest Huffman code in bits.
pub(crate) const MAX_HUFFMAN_BITS: usize = 16;

/// Whether the bytes start like a WSQ stream (SOI marker).
pub fn is_wsq(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xA0])
}

#[cfg(test)]
mod tests;

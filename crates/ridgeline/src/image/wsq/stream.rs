//! The encoder's machinery below the bit allocation: the image's shift, scale and subband
//! decomposition ([`Analysis`]), quantization with the step sizes as the decoder reads them back,
//! run-length symbols, one Huffman table per block, and the stream writer.
//!
//! The transform and stream follow the FBI specification and NBIS's encoder: the CDF 9/7
//! analysis filters, the 64-subband decomposition, and one Huffman table per block built from
//! that block's symbol counts (lengths limited to 16 bits, all-ones code reserved).

use super::huffman::{canonical_codes, HuffmanTable};
use super::transform::{split, Pass};
use super::tree::{self, QNode};
use super::*;
use crate::error::{Error, Result};
use crate::image::FingerImage;

/// Analysis lowpass filter, centre tap first (the other taps mirror it).
const LOWPASS_HALF: [f64; 5] = [
    0.852698679009403,
    0.377402855612654,
    -0.110624404418423,
    -0.023849465019380,
    0.037828455506995,
];
/// Analysis highpass filter, centre tap first.
const HIGHPASS_HALF: [f64; 4] =
    [0.788485616405664, -0.418092273222212, -0.040689417609558, 0.064538882628938];
/// Largest coefficient sent as a single symbol (symbol = value + 180).
const MAX_COEFF: i32 = 74;
/// Smallest coefficient sent as a single symbol.
const MIN_COEFF: i32 = -73;
/// Longest zero run sent as a single symbol.
const MAX_ZERO_RUN_SYMBOL: usize = 100;

fn mirrored(half: &[f64]) -> Vec<f32> {
    let mut f: Vec<f32> = half.iter().rev().map(|&c| c as f32).collect();
    f.extend(half[1..].iter().map(|&c| c as f32));
    f
}

/// A value as WSQ writes it: `value / 10^scale` with `value < limit`.
pub(super) fn to_scaled(v: f64, limit: f64) -> Result<(u8, u32)> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(Error::InvalidArgument(format!("WSQ cannot store the value {v}")));
    }
    if v == 0.0 {
        return Ok((0, 0));
    }
    let (mut v, mut e) = (v, 0u8);
    if v >= limit {
        return Err(Error::InvalidArgument(format!("WSQ value {v} too large")));
    }
    while v < limit && e < 40 {
        e += 1;
        v *= 10.0;
    }
    Ok((e - 1, (v / 10.0).round().min(limit) as u32))
}

/// The value the decoder reads back from a scaled pair.
pub(super) fn from_scaled((e, v): (u8, u32)) -> f32 {
    let mut x = v as f32;
    for _ in 0..e {
        x = (x as f64 / 10.0) as f32;
    }
    x
}

/// An image shifted, scaled and decomposed into its subbands: everything the bit allocation
/// and the stream writer need.
pub(super) struct Analysis {
    pub width: usize,
    pub height: usize,
    pub dpi: u32,
    /// Mean shift M and scale R as written (scaled pairs).
    pub m_shift_s: (u8, u32),
    pub r_scale_s: (u8, u32),
    /// R as the decoder reads it: pixel error = R × coefficient error (before synthesis gain).
    pub r_scale: f32,
    /// The coefficients of each transmitted subband (0..60), row by row, in stream order.
    pub subbands: Vec<Vec<f32>>,
}

impl Analysis {
    pub(super) fn of(image: &FingerImage) -> Result<Self> {
        let (width, height) = (image.width() as usize, image.height() as usize);
        if width > u16::MAX as usize || height > u16::MAX as usize {
            return Err(Error::InvalidArgument("image too large for WSQ".into()));
        }
        // Shift and scale the pixels to about ±128 (with the values the decoder reads back).
        let px = image.pixels();
        let mean = px.iter().map(|&p| p as f64).sum::<f64>() / px.len().max(1) as f64;
        let (lo_px, hi_px) = px.iter().fold((255u8, 0u8), |(l, h), &p| (l.min(p), h.max(p)));
        let spread = (mean - lo_px as f64).max(hi_px as f64 - mean).max(1.0) / 128.0;
        let m_shift_s = to_scaled(mean, 65535.0)?;
        let r_scale_s = to_scaled(spread, 65535.0)?;
        let (m_shift, r_scale) = (from_scaled(m_shift_s), from_scaled(r_scale_s));
        let mut fdata: Vec<f32> = px.iter().map(|&p| (p as f32 - m_shift) / r_scale).collect();

        let (w_tree, q_tree) = tree::build(width as i32, height as i32);
        let lo = mirrored(&LOWPASS_HALF);
        let hi = mirrored(&HIGHPASS_HALF);
        let mut scratch = vec![0.0f32; fdata.len()];
        let w = width as isize;
        for node in &w_tree {
            let base = node.y as isize * w + node.x as isize;
            let rows =
                Pass { len1: node.leny, len2: node.lenx, pitch: w, stride: 1, inv: node.inv_rw };
            split(&mut scratch, 0, &fdata, base, rows, &hi, &lo)?;
            let cols =
                Pass { len1: node.lenx, len2: node.leny, pitch: 1, stride: w, inv: node.inv_cl };
            split(&mut fdata, base, &scratch, 0, cols, &hi, &lo)?;
        }
        let subbands =
            q_tree.iter().take(NUM_SUBBANDS).map(|node| subband(&fdata, width, node)).collect();
        Ok(Analysis { width, height, dpi: image.dpi(), m_shift_s, r_scale_s, r_scale, subbands })
    }
}

/// The coefficients of one subband rectangle, row by row (the tree tiles the image, so the
/// rectangle lies inside it).
fn subband(fdata: &[f32], width: usize, node: &QNode) -> Vec<f32> {
    let (x, y) = (node.x.max(0) as usize, node.y.max(0) as usize);
    let (lenx, leny) = (node.lenx.max(0) as usize, node.leny.max(0) as usize);
    let mut out = Vec::with_capacity(lenx * leny);
    for row in y..y + leny {
        out.extend_from_slice(&fdata[row * width + x..row * width + x + lenx]);
    }
    out
}

/// The quantizer of every subband, as the scaled pairs written in the DQT segment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Steps {
    /// Bin width Q per subband; (0, 0) = subband not transmitted.
    pub q: [(u8, u32); 64],
    /// Zero bin width Z per subband.
    pub z: [(u8, u32); 64],
    /// Bin centre C: the decoder rebuilds index p > 0 as `Q·(p − C) + Z/2`.
    pub bin_center: (u8, u32),
}

/// The quantization index of coefficient `f` (NBIS `quantize`): 0 inside the zero bin
/// `±half_zero_bin`, else the bin of width `step` counted outwards from it.
#[inline]
pub(super) fn quantize(f: f32, step: f32, half_zero_bin: f32) -> i32 {
    if -half_zero_bin <= f && f <= half_zero_bin {
        0
    } else if f > 0.0 {
        (((f - half_zero_bin) / step) + 1.0) as i32
    } else {
        (((f + half_zero_bin) / step) - 1.0) as i32
    }
}

/// The block (0, 1, 2) a subband's coefficients are sent in.
pub(super) fn block_of(subband: usize) -> usize {
    if subband < START_SUBBAND_2 {
        0
    } else if subband < START_SUBBAND_3 {
        1
    } else {
        2
    }
}

/// The DTT segment (marker included): analysis lowpass and highpass lengths and right halves.
pub(super) fn transform_segment() -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(60);
    out.extend_from_slice(&DTT.to_be_bytes());
    out.extend_from_slice(&58u16.to_be_bytes());
    out.push((2 * LOWPASS_HALF.len() - 1) as u8);
    out.push((2 * HIGHPASS_HALF.len() - 1) as u8);
    for &c in LOWPASS_HALF.iter().chain(HIGHPASS_HALF.iter()) {
        let (e, v) = to_scaled(c.abs(), 4294967295.0)?;
        out.push((c < 0.0) as u8);
        out.push(e);
        out.extend_from_slice(&v.to_be_bytes());
    }
    Ok(out)
}

/// The WSQ stream of the analysed image quantized with `steps`.
pub(super) fn write_stream(a: &Analysis, steps: &Steps) -> Result<Vec<u8>> {
    let mut blocks: [Vec<i32>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (n, coefficients) in a.subbands.iter().enumerate() {
        let q = from_scaled(steps.q[n]);
        if q == 0.0 {
            continue;
        }
        let half_zero_bin = from_scaled(steps.z[n]) / 2.0;
        blocks[block_of(n)].extend(
            coefficients.iter().map(|&f| {
                quantize(f, q, half_zero_bin).clamp(i16::MIN as i32 + 1, i16::MAX as i32)
            }),
        );
    }

    let mut out = Vec::new();
    let put16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_be_bytes());
    put16(&mut out, SOI);
    let comment = format!(
        "NIST_COM 6\nPIX_WIDTH {}\nPIX_HEIGHT {}\nPIX_DEPTH 8\nPPI {}\nLOSSY 1\nCOLORSPACE GRAY\n",
        a.width, a.height, a.dpi
    );
    put16(&mut out, COM);
    put16(&mut out, (comment.len() + 2) as u16);
    out.extend_from_slice(comment.as_bytes());
    out.extend_from_slice(&transform_segment()?);
    put16(&mut out, DQT);
    put16(&mut out, 389);
    out.push(steps.bin_center.0);
    put16(&mut out, steps.bin_center.1 as u16);
    for n in 0..64 {
        for (e, v) in [steps.q[n], steps.z[n]] {
            out.push(e);
            put16(&mut out, v as u16);
        }
    }
    put16(&mut out, SOF);
    put16(&mut out, 17);
    out.push(0); // black
    out.push(255); // white
    put16(&mut out, a.height as u16);
    put16(&mut out, a.width as u16);
    out.push(a.m_shift_s.0);
    put16(&mut out, a.m_shift_s.1 as u16);
    out.push(a.r_scale_s.0);
    put16(&mut out, a.r_scale_s.1 as u16);
    out.push(2); // encoder number
    put16(&mut out, 0); // software
    for (id, coefficients) in blocks.iter().enumerate() {
        let symbols = symbols(coefficients);
        let table = huffman_table(&symbols);
        put16(&mut out, DHT);
        put16(&mut out, (3 + MAX_HUFFMAN_BITS + table.values.len()) as u16);
        out.push(id as u8);
        out.extend_from_slice(&table.bits);
        out.extend_from_slice(&table.values);
        put16(&mut out, SOB);
        put16(&mut out, 3);
        out.push(id as u8);
        write_symbols(&mut out, &symbols, &table);
    }
    put16(&mut out, EOI);
    pad_for_decoders(out, a.width * a.height)
}

/// Text of the comment segments that pad a stream of a (nearly) blank image up to the
/// decoder's minimum size.
const PADDING_COMMENT: &[u8] = b"padding: blank image (MAX_PIXELS_PER_INPUT_BYTE)";

/// The stream, with comment segments inserted after SOI if it is shorter than decoders accept
/// for its size ([`MAX_PIXELS_PER_INPUT_BYTE`]); only streams of blank images are that short.
fn pad_for_decoders(stream: Vec<u8>, pixels: usize) -> Result<Vec<u8>> {
    let needed = pixels.div_ceil(MAX_PIXELS_PER_INPUT_BYTE);
    if stream.len() >= needed {
        return Ok(stream);
    }
    let mut out = Vec::with_capacity(needed + 8);
    out.extend_from_slice(&stream[..2]); // SOI
    let mut missing = needed - stream.len();
    while missing > 0 {
        // A segment is 4 bytes of marker and length plus its text, at most 65533 bytes.
        let text = (missing.saturating_sub(4)).clamp(PADDING_COMMENT.len(), 65533);
        out.extend_from_slice(&COM.to_be_bytes());
        out.extend_from_slice(&((text + 2) as u16).to_be_bytes());
        out.extend_from_slice(PADDING_COMMENT);
        out.resize(out.len() + text - PADDING_COMMENT.len(), b' ');
        missing = missing.saturating_sub(text + 4);
    }
    out.extend_from_slice(&stream[2..]);
    Ok(out)
}

/// A coded symbol and the extra bits that follow it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Symbol {
    pub value: u8,
    pub extra: u16,
    pub extra_bits: u8,
}

fn symbols(coefficients: &[i32]) -> Vec<Symbol> {
    let mut out = Vec::new();
    run_length(coefficients.iter().copied(), |s| out.push(s));
    out
}

/// The symbols coding `coefficients`: zero runs and values, with escapes for long runs and
/// large values.
pub(super) fn run_length(
    coefficients: impl IntoIterator<Item = i32>,
    mut emit: impl FnMut(Symbol),
) {
    let mut run = 0usize;
    let flush = |run: &mut usize, emit: &mut dyn FnMut(Symbol)| {
        while *run > 0 {
            let (sym, take) = if *run <= MAX_ZERO_RUN_SYMBOL {
                (Symbol { value: *run as u8, extra: 0, extra_bits: 0 }, *run)
            } else if *run <= 255 {
                (Symbol { value: 105, extra: *run as u16, extra_bits: 8 }, *run)
            } else {
                let take = (*run).min(65535);
                (Symbol { value: 106, extra: take as u16, extra_bits: 16 }, take)
            };
            emit(sym);
            *run -= take;
        }
    };
    for c in coefficients {
        if c == 0 {
            run += 1;
            continue;
        }
        flush(&mut run, &mut emit);
        emit(if (MIN_COEFF..=MAX_COEFF).contains(&c) {
            Symbol { value: (c + 180) as u8, extra: 0, extra_bits: 0 }
        } else if c.abs() <= 255 {
            Symbol {
                value: if c > 0 { 101 } else { 102 },
                extra: c.unsigned_abs() as u16,
                extra_bits: 8,
            }
        } else {
            Symbol {
                value: if c > 0 { 103 } else { 104 },
                extra: c.unsigned_abs() as u16,
                extra_bits: 16,
            }
        });
    }
    flush(&mut run, &mut emit);
}

/// A Huffman table for the symbols' frequencies: code lengths at most 16, the all-ones code
/// left unused (JPEG Annex K.2 with a reserved dummy symbol).
fn huffman_table(symbols: &[Symbol]) -> HuffmanTable {
    let mut freq = [0u64; 257];
    for s in symbols {
        freq[s.value as usize] += 1;
    }
    if freq[..256].iter().all(|&f| f == 0) {
        freq[1] = 1; // an empty block still gets a valid table
    }
    freq[256] = 1; // reserved: takes the all-ones code
                   // Huffman code lengths (Annex K.2, figure K.1).
    let mut codesize = [0usize; 257];
    let mut others = [usize::MAX; 257];
    let mut f: Vec<u64> = freq.to_vec();
    loop {
        // v1: least frequent (ties: largest index); v2: next least.
        let pick = |f: &[u64], not: usize| -> Option<usize> {
            let mut best: Option<usize> = None;
            for (i, &x) in f.iter().enumerate() {
                if x > 0 && i != not && best.map_or(true, |b| x <= f[b]) {
                    best = Some(i);
                }
            }
            best
        };
        let Some(v1) = pick(&f, usize::MAX) else { break };
        let Some(v2) = pick(&f, v1) else { break };
        f[v1] += f[v2];
        f[v2] = 0;
        let mut a = v1;
        codesize[a] += 1;
        while others[a] != usize::MAX {
            a = others[a];
            codesize[a] += 1;
        }
        others[a] = v2;
        let mut b = v2;
        codesize[b] += 1;
        while others[b] != usize::MAX {
            b = others[b];
            codesize[b] += 1;
        }
    }
    let mut bits = [0usize; 64];
    for &c in &codesize {
        if c > 0 {
            bits[c] += 1;
        }
    }
    // Limit lengths to 16 (figure K.3).
    let mut i = 63;
    while i > MAX_HUFFMAN_BITS {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
        i -= 1;
    }
    // Drop the reserved symbol from the longest length.
    let mut i = MAX_HUFFMAN_BITS;
    while bits[i] == 0 {
        i -= 1;
    }
    bits[i] -= 1;
    // Values ordered by code length, then by value (figure K.4).
    let mut values = Vec::new();
    for len in 1..64 {
        for (v, &c) in codesize.iter().enumerate().take(256) {
            if c == len {
                values.push(v as u8);
            }
        }
    }
    let mut table_bits = [0u8; MAX_HUFFMAN_BITS];
    for len in 1..=MAX_HUFFMAN_BITS {
        table_bits[len - 1] = bits[len] as u8;
    }
    HuffmanTable { bits: table_bits, values }
}

/// Writes the entropy-coded symbols: MSB first, `00` stuffed after every `FF`, the last byte
/// padded with 1-bits.
fn write_symbols(out: &mut Vec<u8>, symbols: &[Symbol], table: &HuffmanTable) {
    let codes = canonical_codes(&table.bits);
    let mut code_of = [(0u8, 0u16); 256];
    for (&v, &c) in table.values.iter().zip(&codes) {
        code_of[v as usize] = c;
    }
    let mut acc: u32 = 0;
    let mut nbits: u32 = 0;
    let emit = |out: &mut Vec<u8>, value: u32, len: u32, acc: &mut u32, nbits: &mut u32| {
        for k in (0..len).rev() {
            *acc = (*acc << 1) | ((value >> k) & 1);
            *nbits += 1;
            if *nbits == 8 {
                out.push(*acc as u8);
                if *acc as u8 == 0xFF {
                    out.push(0);
                }
                *acc = 0;
                *nbits = 0;
            }
        }
    };
    for s in symbols {
        let (len, code) = code_of[s.value as usize];
        emit(out, code as u32, len as u32, &mut acc, &mut nbits);
        if s.extra_bits > 0 {
            emit(out, s.extra as u32, s.extra_bits as u32, &mut acc, &mut nbits);
        }
    }
    if nbits > 0 {
        let pad = 8 - nbits;
        emit(out, (1 << pad) - 1, pad, &mut acc, &mut nbits);
    }
}

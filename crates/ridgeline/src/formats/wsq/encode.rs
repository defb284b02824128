//! WSQ encoding at a target bit rate, producing streams NIST NBIS's decoder reads.
//!
//! The method follows the FBI specification and NBIS's encoder: the CDF 9/7 analysis filters,
//! the 64-subband decomposition, subband variances over a central window, the bit-allocation
//! iteration for the quantizer step sizes (`Q`, zero bin `Z = 1.2 Q`), and one Huffman table per
//! block built from that block's symbol counts (lengths limited to 16 bits, all-ones code
//! reserved). Quantization uses the step sizes exactly as the decoder will read them back
//! (after their decimal scaling), so the encoder and decoder agree.

use super::huffman::{canonical_codes, HuffmanTable};
use super::transform::{split, Pass};
use super::tree::{self, QNode};
use super::*;
use crate::error::{Error, Result};
use crate::image::FingerImage;

/// The bit rate registration systems use, bits per pixel.
pub const TARGET_BITRATE_BPP: f32 = 0.75;
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
/// Subbands whose variance is below this are not transmitted.
const VARIANCE_THRESHOLD: f64 = 1.01;
/// Largest coefficient sent as a single symbol (symbol = value + 180).
const MAX_COEFF: i32 = 74;
/// Smallest coefficient sent as a single symbol.
const MIN_COEFF: i32 = -73;
/// Longest zero run sent as a single symbol.
const MAX_ZERO_RUN_SYMBOL: usize = 100;
/// Bin centre parameter C written in the quantization table (0.44).
const BIN_CENTER: (u8, u16) = (2, 44);

fn mirrored(half: &[f64]) -> Vec<f32> {
    let mut f: Vec<f32> = half.iter().rev().map(|&c| c as f32).collect();
    f.extend(half[1..].iter().map(|&c| c as f32));
    f
}

/// A value as WSQ writes it: `value / 10^scale` with `value < limit`.
fn to_scaled(v: f64, limit: f64) -> Result<(u8, u32)> {
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
fn from_scaled((e, v): (u8, u32)) -> f32 {
    let mut x = v as f32;
    for _ in 0..e {
        x = (x as f64 / 10.0) as f32;
    }
    x
}

/// Rate-control passes: the specification's bit-allocation formula undershoots on real
/// images (0.45–0.6 bpp for a 0.75 target), so its rate parameter is corrected from the
/// measured size.
const RATE_PASSES: usize = 6;
/// Accepted overshoot of the measured bit rate over the target.
const RATE_TOLERANCE: f64 = 1.02;

/// Encodes an image as WSQ at about `bitrate_bpp` bits per pixel, never more than 2 % above
/// it (0.75 is what registration systems use).
pub fn encode(image: &FingerImage, bitrate_bpp: f32) -> Result<Vec<u8>> {
    if !(bitrate_bpp > 0.0 && bitrate_bpp <= 8.0) {
        return Err(Error::InvalidArgument(format!(
            "WSQ bit rate {bitrate_bpp} bpp is outside (0, 8]"
        )));
    }
    let target = bitrate_bpp as f64;
    let pixels = (image.width() as f64 * image.height() as f64).max(1.0);
    let mut rate = target;
    let mut best: Option<Vec<u8>> = None;
    for _ in 0..RATE_PASSES {
        let bytes = encode_at_rate(image, rate)?;
        let actual = bytes.len() as f64 * 8.0 / pixels;
        let fits = actual <= target * RATE_TOLERANCE;
        if fits && best.as_ref().map_or(true, |b| bytes.len() > b.len()) {
            best = Some(bytes);
        }
        if (actual / target - 1.0).abs() < 0.02 {
            break;
        }
        rate = (rate * target / actual.max(1e-6)).clamp(0.05, 8.0);
    }
    match best {
        Some(b) => Ok(b),
        None => encode_at_rate(image, target * 0.5),
    }
}

/// One encoding with `bitrate_bpp` as the bit-allocation parameter.
fn encode_at_rate(image: &FingerImage, bitrate_bpp: f64) -> Result<Vec<u8>> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    if width > u16::MAX as usize || height > u16::MAX as usize {
        return Err(Error::InvalidArgument("image too large for WSQ".into()));
    }
    // Shift and scale the pixels to about ±128 (the scale is stored as the decoder reads it).
    let px = image.pixels();
    let mean = px.iter().map(|&p| p as f64).sum::<f64>() / px.len() as f64;
    let (lo_px, hi_px) = px.iter().fold((255u8, 0u8), |(l, h), &p| (l.min(p), h.max(p)));
    let spread = (mean - lo_px as f64).max(hi_px as f64 - mean).max(1.0) / 128.0;
    let m_shift_s = to_scaled(mean, 65535.0)?;
    let r_scale_s = to_scaled(spread, 65535.0)?;
    let (m_shift, r_scale) = (from_scaled(m_shift_s), from_scaled(r_scale_s));
    let mut fdata: Vec<f32> = px.iter().map(|&p| (p as f32 - m_shift) / r_scale).collect();

    // Wavelet decomposition.
    let (w_tree, q_tree) = tree::build(width as i32, height as i32);
    let lo = mirrored(&LOWPASS_HALF);
    let hi = mirrored(&HIGHPASS_HALF);
    let mut scratch = vec![0.0f32; fdata.len()];
    let w = width as isize;
    for node in &w_tree {
        let base = node.y as isize * w + node.x as isize;
        let rows = Pass { len1: node.leny, len2: node.lenx, pitch: w, stride: 1, inv: node.inv_rw };
        split(&mut scratch, 0, &fdata, base, rows, &hi, &lo)?;
        let cols = Pass { len1: node.lenx, len2: node.leny, pitch: 1, stride: w, inv: node.inv_cl };
        split(&mut fdata, base, &scratch, 0, cols, &hi, &lo)?;
    }
    drop(scratch);

    // Bit allocation and quantization.
    let variances = variances(&fdata, width, &q_tree);
    let (q_scaled, z_scaled) = step_sizes(&variances, bitrate_bpp)?;
    let mut blocks: [Vec<i32>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for (n, node) in q_tree.iter().enumerate().take(NUM_SUBBANDS) {
        let q = from_scaled(q_scaled[n]);
        if q == 0.0 {
            continue;
        }
        let zbin = from_scaled(z_scaled[n]) / 2.0;
        let block = if n < START_SUBBAND_2 {
            0
        } else if n < START_SUBBAND_3 {
            1
        } else {
            2
        };
        for row in 0..node.leny as usize {
            for col in 0..node.lenx as usize {
                let f = fdata[(node.y as usize + row) * width + node.x as usize + col];
                let v = if -zbin <= f && f <= zbin {
                    0
                } else if f > 0.0 {
                    (((f - zbin) / q) + 1.0) as i32
                } else {
                    (((f + zbin) / q) - 1.0) as i32
                };
                blocks[block].push(v.clamp(i16::MIN as i32 + 1, i16::MAX as i32));
            }
        }
    }

    // The stream.
    let mut out = Vec::new();
    let put16 = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_be_bytes());
    put16(&mut out, SOI);
    let comment = format!(
        "NIST_COM 6\nPIX_WIDTH {width}\nPIX_HEIGHT {height}\nPIX_DEPTH 8\nPPI {}\nLOSSY 1\nCOLORSPACE GRAY\n",
        image.dpi()
    );
    put16(&mut out, COM);
    put16(&mut out, (comment.len() + 2) as u16);
    out.extend_from_slice(comment.as_bytes());
    // Transform table: analysis lowpass length and right half, then highpass.
    put16(&mut out, DTT);
    put16(&mut out, 58);
    out.push(lo.len() as u8);
    out.push(hi.len() as u8);
    for &c in LOWPASS_HALF.iter().chain(HIGHPASS_HALF.iter()) {
        let (e, v) = to_scaled(c.abs(), 4294967295.0)?;
        out.push((c < 0.0) as u8);
        out.push(e);
        out.extend_from_slice(&v.to_be_bytes());
    }
    put16(&mut out, DQT);
    put16(&mut out, 389);
    out.push(BIN_CENTER.0);
    put16(&mut out, BIN_CENTER.1);
    for n in 0..64 {
        for (e, v) in [q_scaled[n], z_scaled[n]] {
            out.push(e);
            put16(&mut out, v as u16);
        }
    }
    put16(&mut out, SOF);
    put16(&mut out, 17);
    out.push(0); // black
    out.push(255); // white
    put16(&mut out, height as u16);
    put16(&mut out, width as u16);
    out.push(m_shift_s.0);
    put16(&mut out, m_shift_s.1 as u16);
    out.push(r_scale_s.0);
    put16(&mut out, r_scale_s.1 as u16);
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
    Ok(out)
}

/// Subband variances: over a central window for the first four, and for all when their sum
/// is small (NBIS `variance`).
fn variances(f: &[f32], width: usize, q_tree: &[QNode; 64]) -> [f64; 64] {
    let mut var = [0.0f64; 64];
    let window = |n: &QNode, central: bool| -> f64 {
        let (sx, sy, lx, ly) = if central {
            (n.lenx / 8, (9 * n.leny) / 32, (3 * n.lenx) / 4, (7 * n.leny) / 16)
        } else {
            (0, 0, n.lenx, n.leny)
        };
        let (mut sum, mut ssq) = (0.0f64, 0.0f64);
        for row in 0..ly.max(0) as usize {
            for col in 0..lx.max(0) as usize {
                let v =
                    f[(n.y + sy) as usize * width + row * width + (n.x + sx) as usize + col] as f64;
                sum += v;
                ssq += v * v;
            }
        }
        let count = (lx.max(0) * ly.max(0)) as f64;
        if count < 2.0 {
            return 0.0;
        }
        (ssq - sum * sum / count) / (count - 1.0)
    };
    let mut vsum = 0.0;
    for n in 0..4 {
        var[n] = window(&q_tree[n], true);
        vsum += var[n];
    }
    if vsum < 20000.0 {
        for n in 0..NUM_SUBBANDS {
            var[n] = window(&q_tree[n], false);
        }
    } else {
        for n in 4..NUM_SUBBANDS {
            var[n] = window(&q_tree[n], true);
        }
    }
    var
}

/// Quantizer step sizes Q and zero bins Z per subband for the bit rate, as scaled pairs.
#[allow(clippy::type_complexity)]
fn step_sizes(var: &[f64; 64], bitrate: f64) -> Result<([(u8, u32); 64], [(u8, u32); 64])> {
    let mut weight = [1.0f64; NUM_SUBBANDS];
    for (n, a) in [
        (52, 1.32),
        (53, 1.08),
        (54, 1.42),
        (55, 1.08),
        (56, 1.32),
        (57, 1.42),
        (58, 1.08),
        (59, 1.08),
    ] {
        weight[n] = a;
    }
    let m = |n: usize| {
        if n < 4 {
            1.0 / 1024.0
        } else if n < 51 {
            1.0 / 256.0
        } else {
            1.0 / 16.0
        }
    };
    let mut q1 = [0.0f64; NUM_SUBBANDS];
    let mut sigma = [0.0f64; NUM_SUBBANDS];
    let k0: Vec<usize> = (0..NUM_SUBBANDS).filter(|&n| var[n] >= VARIANCE_THRESHOLD).collect();
    for &n in &k0 {
        q1[n] = if n < 4 { 1.0 } else { 10.0 / (weight[n] * var[n].ln()) };
        sigma[n] = var[n].sqrt();
    }
    let mut k = k0.clone();
    let mut q = 1.0;
    for _ in 0..NUM_SUBBANDS + 1 {
        if k.is_empty() {
            break;
        }
        let s: f64 = k.iter().map(|&n| m(n)).sum();
        let p: f64 = k.iter().map(|&n| (sigma[n] / q1[n]).powf(m(n))).product();
        q = (2f64.powf(bitrate / s - 1.0) / 2.5) / p.powf(1.0 / s);
        let before = k.len();
        k.retain(|&n| q1[n] / q < 5.0 * sigma[n]);
        if k.len() == before {
            break;
        }
    }
    let mut qs = [(0u8, 0u32); 64];
    let mut zs = [(0u8, 0u32); 64];
    for &n in &k0 {
        let step = q1[n] / q;
        qs[n] = to_scaled(step, 65535.0)?;
        zs[n] = to_scaled(1.2 * step, 65535.0)?;
    }
    Ok((qs, zs))
}

/// A coded symbol and the extra bits that follow it.
#[derive(Debug, Clone, Copy)]
struct Symbol {
    value: u8,
    extra: u16,
    extra_bits: u8,
}

fn symbols(coefficients: &[i32]) -> Vec<Symbol> {
    let mut out = Vec::new();
    let mut run = 0usize;
    let flush = |run: &mut usize, out: &mut Vec<Symbol>| {
        while *run > 0 {
            let (sym, take) = if *run <= MAX_ZERO_RUN_SYMBOL {
                (Symbol { value: *run as u8, extra: 0, extra_bits: 0 }, *run)
            } else if *run <= 255 {
                (Symbol { value: 105, extra: *run as u16, extra_bits: 8 }, *run)
            } else {
                let take = (*run).min(65535);
                (Symbol { value: 106, extra: take as u16, extra_bits: 16 }, take)
            };
            out.push(sym);
            *run -= take;
        }
    };
    for &c in coefficients {
        if c == 0 {
            run += 1;
            continue;
        }
        flush(&mut run, &mut out);
        out.push(if (MIN_COEFF..=MAX_COEFF).contains(&c) {
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
    flush(&mut run, &mut out);
    out
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

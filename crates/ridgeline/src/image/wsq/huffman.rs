//! Huffman tables of WSQ streams (JPEG-style canonical codes, up to 16 bits, at most 256
//! values) and the decoding tables built from them.

use super::{MAX_HUFFMAN_BITS, MAX_HUFFMAN_VALUES};

/// A Huffman table as transmitted: the number of codes of each length 1–16 and the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HuffmanTable {
    pub bits: [u8; MAX_HUFFMAN_BITS],
    pub values: Vec<u8>,
}

/// Decoding tables: for each code length, the largest code (−1 if none), the smallest code and
/// the index of its value.
#[derive(Debug, Clone)]
pub(crate) struct DecodeTable {
    pub maxcode: [i32; MAX_HUFFMAN_BITS + 2],
    pub mincode: [i32; MAX_HUFFMAN_BITS + 1],
    pub valptr: [i32; MAX_HUFFMAN_BITS + 1],
    /// Values padded with zeros to 257 entries, as NBIS's table is.
    pub values: [u8; MAX_HUFFMAN_VALUES + 1],
}

/// Canonical codes in order of the values (code lengths from `bits`), 16-bit wrapping as NBIS.
pub(crate) fn canonical_codes(bits: &[u8; MAX_HUFFMAN_BITS]) -> Vec<(u8, u16)> {
    let sizes: Vec<u8> = (1..=MAX_HUFFMAN_BITS as u8)
        .flat_map(|len| std::iter::repeat(len).take(bits[len as usize - 1] as usize))
        .collect();
    let mut out = Vec::with_capacity(sizes.len());
    let mut code: u16 = 0;
    let mut size = sizes.first().copied().unwrap_or(0);
    for &s in &sizes {
        while size < s {
            code = code.wrapping_shl(1);
            size += 1;
        }
        out.push((s, code));
        code = code.wrapping_add(1);
    }
    out
}

impl HuffmanTable {
    /// Builds the decoding tables (NBIS `gen_decode_table`).
    pub(crate) fn decode_table(&self) -> DecodeTable {
        let codes = canonical_codes(&self.bits);
        let mut t = DecodeTable {
            maxcode: [0; MAX_HUFFMAN_BITS + 2],
            mincode: [0; MAX_HUFFMAN_BITS + 1],
            valptr: [0; MAX_HUFFMAN_BITS + 1],
            values: [0; MAX_HUFFMAN_VALUES + 1],
        };
        for (slot, &v) in t.values.iter_mut().zip(&self.values) {
            *slot = v;
        }
        let mut i2 = 0usize;
        for len in 1..=MAX_HUFFMAN_BITS {
            let count = self.bits[len - 1] as usize;
            if count == 0 {
                t.maxcode[len] = -1;
                continue;
            }
            t.valptr[len] = i2 as i32;
            t.mincode[len] = codes.get(i2).map_or(0, |c| c.1 as i32);
            i2 += count - 1;
            t.maxcode[len] = codes.get(i2).map_or(0, |c| c.1 as i32);
            i2 += 1;
        }
        // A sentinel above every code: reading a 17th bit is an error, not an overrun.
        t.maxcode[MAX_HUFFMAN_BITS + 1] = i32::MAX;
        t
    }
}

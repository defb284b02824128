//! WSQ decoding, bit-exact with NIST NBIS `wsq_decode_mem`.

use super::huffman::{DecodeTable, HuffmanTable};
use super::transform::{join, Pass};
use super::tree::{self, QNode};
use super::*;
use crate::bytes::Reader;
use crate::error::{Error, Result};
use crate::image::FingerImage;

const FORMAT: &str = "wsq";

/// A decoded WSQ image.
#[derive(Clone, PartialEq, Eq)]
pub struct WsqImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Resolution from the `NIST_COM` comment's `PPI` entry, where present.
    pub ppi: Option<u32>,
    /// Row-major 8-bit pixels.
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for WsqImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsqImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("ppi", &self.ppi)
            .finish_non_exhaustive()
    }
}

/// Decodes WSQ bytes into a [`FingerImage`]; `dpi` overrides the resolution, else the
/// stream's `PPI` comment, else 500.
pub(crate) fn decode_image(bytes: &[u8], dpi: Option<u32>) -> Result<FingerImage> {
    let img = decode(bytes)?;
    let dpi =
        dpi.or(img.ppi.filter(|p| (crate::image::MIN_DPI..=crate::image::MAX_DPI).contains(p)));
    FingerImage::from_raw(
        img.width,
        img.height,
        dpi.unwrap_or(crate::image::STANDARD_DPI),
        img.pixels,
    )
}

/// Transform table: synthesis filters.
#[derive(Debug, Clone, Default)]
pub(super) struct TransformTable {
    lo: Vec<f32>,
    hi: Vec<f32>,
}

/// Quantization table.
#[derive(Debug, Clone)]
struct QuantTable {
    bin_center: f32,
    q: [f32; 64],
    z: [f32; 64],
}

#[derive(Debug, Clone, Copy)]
struct FrameHeader {
    width: u16,
    height: u16,
    m_shift: f32,
    r_scale: f32,
}

/// Everything the table segments define; tables may be (re)defined between blocks.
#[derive(Debug, Default)]
struct Tables {
    transform: Option<TransformTable>,
    quant: Option<QuantTable>,
    huffman: [Option<HuffmanTable>; MAX_HUFFMAN_TABLES],
    ppi: Option<u32>,
}

/// A scaled value: `value / 10^scale`, dividing in `f64` and rounding to `f32` at each step as
/// NBIS's `float /= 10.0` does.
fn scaled(value: u32, scale: u8) -> f32 {
    let mut v = value as f32;
    for _ in 0..scale {
        v = (v as f64 / 10.0) as f32;
    }
    v
}

fn read_marker(r: &mut Reader<'_>) -> Result<u16> {
    let mut marker = r.u16()?;
    // Fill bytes: FF FF … FF xx is the marker FFxx (spec-compliant, more lenient than NBIS).
    while marker == 0xFFFF {
        marker = 0xFF00 | r.u8()? as u16;
    }
    if marker >> 8 != 0xFF {
        return Err(r.error(format!("expected a marker, found {marker:04X}")));
    }
    Ok(marker)
}

impl Tables {
    /// Reads the table or comment segment introduced by `marker`.
    fn read(&mut self, marker: u16, r: &mut Reader<'_>) -> Result<()> {
        match marker {
            DTT => self.transform = Some(read_transform(r)?),
            DQT => self.quant = Some(read_quant(r)?),
            DHT => read_huffman(r, &mut self.huffman)?,
            COM => {
                let len = r.u16()? as usize;
                let text =
                    r.take(len.checked_sub(2).ok_or_else(|| r.error("comment length < 2"))?)?;
                if self.ppi.is_none() {
                    self.ppi = nistcom_ppi(text);
                }
            }
            DRI => {
                // Restart interval: restart markers are handled wherever they appear.
                r.u16()?;
                r.u16()?;
            }
            other => return Err(r.error(format!("unexpected marker {other:04X}"))),
        }
        Ok(())
    }
}

pub(super) fn read_transform(r: &mut Reader<'_>) -> Result<TransformTable> {
    r.u16()?; // length: NBIS reads the fields one by one and ignores it
    let hisz = r.u8()? as usize;
    let losz = r.u8()? as usize;
    if hisz == 0 || losz == 0 {
        return Err(r.error("filter length 0"));
    }
    let read_coefficient = |r: &mut Reader<'_>| -> Result<f32> {
        let sign = r.u8()?;
        let scale = r.u8()?;
        let value = r.u32()?;
        let v = scaled(value, scale);
        Ok(if sign != 0 { -v } else { v })
    };
    let alternate = |k: usize| if k % 2 == 0 { 1.0f32 } else { -1.0 };
    let mut hi = vec![0.0f32; hisz];
    let a = hisz.div_ceil(2) - 1;
    for k in 0..=a {
        let c = read_coefficient(r)?;
        if hisz % 2 == 1 {
            hi[k + a] = alternate(k) * c;
            if k > 0 {
                hi[a - k] = hi[k + a];
            }
        } else {
            let v = alternate(k) * c;
            *hi.get_mut(k + a + 1).ok_or_else(|| r.error("filter length"))? = v;
            hi[a - k] = -v;
        }
    }
    let mut lo = vec![0.0f32; losz];
    let a = losz.div_ceil(2) - 1;
    for k in 0..=a {
        let c = read_coefficient(r)?;
        if losz % 2 == 1 {
            lo[k + a] = alternate(k) * c;
            if k > 0 {
                lo[a - k] = lo[k + a];
            }
        } else {
            let v = alternate(k + 1) * c;
            *lo.get_mut(k + a + 1).ok_or_else(|| r.error("filter length"))? = v;
            lo[a - k] = v;
        }
    }
    Ok(TransformTable { lo, hi })
}

fn read_quant(r: &mut Reader<'_>) -> Result<QuantTable> {
    r.u16()?; // length, ignored as NBIS does
    let scale = r.u8()?;
    let bin_center = scaled(r.u16()? as u32, scale);
    let mut t = QuantTable { bin_center, q: [0.0; 64], z: [0.0; 64] };
    for i in 0..64 {
        let s = r.u8()?;
        t.q[i] = scaled(r.u16()? as u32, s);
        let s = r.u8()?;
        t.z[i] = scaled(r.u16()? as u32, s);
    }
    Ok(t)
}

fn read_huffman(
    r: &mut Reader<'_>,
    tables: &mut [Option<HuffmanTable>; MAX_HUFFMAN_TABLES],
) -> Result<()> {
    let len = r.u16()? as i64;
    let mut left = len - 2;
    if left <= 0 {
        return Err(r.error("Huffman table segment without tables"));
    }
    while left > 0 {
        let id = r.u8()? as usize;
        if id >= MAX_HUFFMAN_TABLES {
            return Err(r.error(format!("Huffman table id {id} (at most 7)")));
        }
        let mut bits = [0u8; MAX_HUFFMAN_BITS];
        bits.copy_from_slice(r.take(MAX_HUFFMAN_BITS)?);
        let n: usize = bits.iter().map(|&b| b as usize).sum();
        if n > MAX_HUFFMAN_VALUES {
            return Err(r.error(format!("Huffman table with {n} values (at most 256)")));
        }
        let values = r.take(n)?.to_vec();
        left -= 17 + n as i64;
        tables[id] = Some(HuffmanTable { bits, values });
    }
    if left < 0 {
        return Err(r.error("Huffman table segment length does not match its tables"));
    }
    Ok(())
}

/// The `PPI` entry of a `NIST_COM` comment ("NAME VALUE" lines).
fn nistcom_ppi(text: &[u8]) -> Option<u32> {
    let text = text.split(|&b| b == 0).next()?;
    let text = std::str::from_utf8(text).ok()?;
    if !text.starts_with("NIST_COM") {
        return None;
    }
    text.lines()
        .rev()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            (parts.next()? == "PPI").then(|| parts.next()?.parse::<i64>().ok())?
        })
        .next()
        .filter(|&p| p > 0)
        .and_then(|p| u32::try_from(p).ok())
}

/// What the entropy decoder found next.
enum Next {
    Bits(u16),
    Marker(u16),
}

/// Bit reader over entropy-coded data with byte stuffing (`FF 00`), as NBIS
/// `getc_nextbits_wsq`: a marker is recognised only when a single bit is requested at a byte
/// boundary.
struct BitReader<'r, 'a> {
    r: &'r mut Reader<'a>,
    byte: u8,
    bit_count: u8,
}

impl BitReader<'_, '_> {
    fn load(&mut self, allow_marker: bool) -> Result<Option<u16>> {
        let b = self.r.u8()?;
        self.bit_count = 8;
        if b == 0xFF {
            let b2 = self.r.u8()?;
            if b2 != 0 {
                if allow_marker {
                    return Ok(Some(0xFF00 | b2 as u16));
                }
                return Err(self.r.error(format!("marker FF{b2:02X} inside coded data")));
            }
        }
        self.byte = b;
        Ok(None)
    }

    fn bit_or_marker(&mut self) -> Result<Next> {
        if self.bit_count == 0 {
            if let Some(marker) = self.load(true)? {
                return Ok(Next::Marker(marker));
            }
        }
        self.bit_count -= 1;
        let bit = (self.byte >> self.bit_count) & 1;
        Ok(Next::Bits(bit as u16))
    }

    fn bits(&mut self, mut n: u8) -> Result<u16> {
        let mut out: u32 = 0;
        while n > 0 {
            if self.bit_count == 0 {
                self.load(false)?;
            }
            let take = n.min(self.bit_count);
            let shift = self.bit_count - take;
            let chunk = (self.byte >> shift) & ((1u16 << take) - 1) as u8;
            out = (out << take) | chunk as u32;
            self.bit_count -= take;
            n -= take;
        }
        Ok(out as u16)
    }

    fn symbol(&mut self, t: &DecodeTable) -> Result<Next> {
        let mut code = match self.bit_or_marker()? {
            Next::Bits(b) => b as i32,
            marker => return Ok(marker),
        };
        let mut len = 1usize;
        while code > t.maxcode[len] {
            code = match self.bit_or_marker()? {
                Next::Bits(b) => (code << 1) + b as i32,
                marker => return Ok(marker),
            };
            len += 1;
        }
        if len > MAX_HUFFMAN_BITS {
            return Err(self.r.error("Huffman code longer than 16 bits"));
        }
        let index = t.valptr[len] + code - t.mincode[len];
        let value = usize::try_from(index)
            .ok()
            .and_then(|i| t.values.get(i))
            .ok_or_else(|| self.r.error("Huffman code outside its table"))?;
        Ok(Next::Bits(*value as u16))
    }
}

/// Decodes a WSQ stream.
pub fn decode(bytes: &[u8]) -> Result<WsqImage> {
    if bytes.is_empty() {
        return Err(Error::EmptyInput);
    }
    let mut r = Reader::new(bytes, FORMAT);
    if read_marker(&mut r)? != SOI {
        return Err(r.error_at(0, "no SOI marker (FF A0)"));
    }
    let mut tables = Tables::default();
    let mut marker = read_marker(&mut r)?;
    while marker != SOF {
        if !matches!(marker, DTT | DQT | DHT | COM | DRI) {
            return Err(r.error(format!("marker {marker:04X} before the frame header")));
        }
        tables.read(marker, &mut r)?;
        marker = read_marker(&mut r)?;
    }
    let frame = read_frame_header(&mut r)?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    let num_pix = width * height;
    if width < 32 || height < 32 {
        return Err(r.error(format!("image {width}x{height} is smaller than 32x32")));
    }
    if num_pix > bytes.len().saturating_mul(MAX_PIXELS_PER_INPUT_BYTE) {
        return Err(r.error(format!(
            "image {width}x{height} cannot come from {} bytes (hostile header?)",
            bytes.len()
        )));
    }
    let (w_tree, q_tree) = tree::build(width as i32, height as i32);
    let mut qdata = vec![0i16; num_pix];
    decode_blocks(&mut r, &mut tables, &q_tree, &mut qdata)?;
    let quant = tables.quant.as_ref().ok_or_else(|| r.error("no quantization table"))?;
    let transform = tables.transform.as_ref().ok_or_else(|| r.error("no transform table"))?;
    let mut fdata = unquantize(quant, &q_tree, &qdata, width);
    drop(qdata);
    reconstruct(&mut fdata, width, &w_tree, transform)?;
    let pixels = fdata
        .iter()
        .map(|&v| {
            let t = v * frame.r_scale + frame.m_shift;
            let t = ((t as f64) + 0.5) as f32;
            if t < 0.0 {
                0
            } else if t > 255.0 {
                255
            } else {
                t as u8
            }
        })
        .collect();
    Ok(WsqImage { width: width as u32, height: height as u32, ppi: tables.ppi, pixels })
}

fn read_frame_header(r: &mut Reader<'_>) -> Result<FrameHeader> {
    r.u16()?; // length
    r.u8()?; // black
    r.u8()?; // white
    let height = r.u16()?;
    let width = r.u16()?;
    let s = r.u8()?;
    let m_shift = scaled(r.u16()? as u32, s);
    let s = r.u8()?;
    let r_scale = scaled(r.u16()? as u32, s);
    r.u8()?; // encoder
    r.u16()?; // software
    Ok(FrameHeader { width, height, m_shift, r_scale })
}

/// Entropy-decodes every block into `qdata` (the quantized coefficients of the transmitted
/// subbands, in order).
fn decode_blocks(
    r: &mut Reader<'_>,
    tables: &mut Tables,
    q_tree: &[QNode; 64],
    qdata: &mut [i16],
) -> Result<()> {
    let mut marker = read_marker(r)?;
    let mut ip = 0usize;
    let mut blocks = 0usize;
    let mut limit = qdata.len();
    let mut limit_set = false;
    let mut put = |ip: &mut usize, v: i16, r: &Reader<'_>| -> Result<()> {
        let slot = qdata.get_mut(*ip).ok_or_else(|| r.error("more coefficients than pixels"))?;
        *slot = v;
        *ip += 1;
        Ok(())
    };
    loop {
        // Between blocks: tables and comments until SOB, or the end.
        loop {
            match marker {
                EOI if blocks > 0 => return Ok(()),
                SOB => break,
                DTT | DQT | DHT | COM | DRI => {
                    tables.read(marker, r)?;
                    marker = read_marker(r)?;
                }
                other => {
                    return Err(r.error(format!("unexpected marker {other:04X} between blocks")))
                }
            }
        }
        blocks += 1;
        if !limit_set {
            if let Some(q) = &tables.quant {
                for (n, node) in q_tree.iter().enumerate() {
                    if q.q[n] == 0.0 {
                        limit = limit.saturating_sub(node.area());
                    }
                }
                limit_set = true;
            }
        }
        r.u16()?; // block header length
        let id = r.u8()? as usize;
        let table = tables
            .huffman
            .get(id)
            .and_then(|t| t.as_ref())
            .ok_or_else(|| r.error(format!("block uses undefined Huffman table {id}")))?
            .decode_table();
        let mut bits = BitReader { r, byte: 0, bit_count: 0 };
        marker = loop {
            let symbol = match bits.symbol(&table)? {
                Next::Marker(m) if (RST0..RST0 + 8).contains(&m) => {
                    bits.bit_count = 0;
                    continue;
                }
                Next::Marker(m) => break m,
                Next::Bits(s) => s,
            };
            if ip > limit {
                return Err(bits.r.error("more coefficients than the subbands hold"));
            }
            match symbol {
                1..=100 => {
                    let n = symbol as usize;
                    if ip + n > limit {
                        return Err(bits.r.error("zero run past the last subband"));
                    }
                    for _ in 0..n {
                        put(&mut ip, 0, bits.r)?;
                    }
                }
                107..=254 => put(&mut ip, (symbol as i32 - 180) as i16, bits.r)?,
                101 => {
                    let v = bits.bits(8)?;
                    put(&mut ip, v as i16, bits.r)?
                }
                102 => {
                    let v = bits.bits(8)?;
                    put(&mut ip, (-(v as i32)) as i16, bits.r)?
                }
                103 => {
                    let v = bits.bits(16)?;
                    put(&mut ip, v as i16, bits.r)?
                }
                104 => {
                    let v = bits.bits(16)?;
                    put(&mut ip, (-(v as i32)) as i16, bits.r)?
                }
                105 | 106 => {
                    let n = bits.bits(if symbol == 105 { 8 } else { 16 })? as usize;
                    if ip + n > limit {
                        return Err(bits.r.error("zero run past the last subband"));
                    }
                    for _ in 0..n {
                        put(&mut ip, 0, bits.r)?;
                    }
                }
                other => return Err(bits.r.error(format!("invalid Huffman symbol {other}"))),
            }
        };
    }
}

/// Dequantizes the coefficients into a float image (NBIS `unquantize`, same rounding).
fn unquantize(t: &QuantTable, q_tree: &[QNode; 64], qdata: &[i16], width: usize) -> Vec<f32> {
    let mut fdata = vec![0.0f32; qdata.len()];
    let c = t.bin_center;
    let mut k = 0usize;
    for (n, node) in q_tree.iter().enumerate().take(NUM_SUBBANDS) {
        if t.q[n] == 0.0 {
            continue;
        }
        let (q, z2) = (t.q[n], t.z[n] as f64 / 2.0);
        for row in 0..node.leny.max(0) as usize {
            for col in 0..node.lenx.max(0) as usize {
                let s = qdata.get(k).copied().unwrap_or(0);
                k += 1;
                let v = if s == 0 {
                    0.0
                } else if s > 0 {
                    ((q * (s as f32 - c)) as f64 + z2) as f32
                } else {
                    ((q * (s as f32 + c)) as f64 - z2) as f32
                };
                let at = (node.y as usize + row) * width + node.x as usize + col;
                if let Some(cell) = fdata.get_mut(at) {
                    *cell = v;
                }
            }
        }
    }
    fdata
}

/// Inverse wavelet transform in place (NBIS `wsq_reconstruct`).
pub(super) fn reconstruct(
    fdata: &mut [f32],
    width: usize,
    w_tree: &[tree::WNode; 20],
    t: &TransformTable,
) -> Result<()> {
    let mut scratch = vec![0.0f32; fdata.len()];
    let w = width as isize;
    for node in w_tree.iter().rev() {
        let base = node.y as isize * w + node.x as isize;
        let cols = Pass { len1: node.lenx, len2: node.leny, pitch: 1, stride: w, inv: node.inv_cl };
        join(&mut scratch, 0, fdata, base, cols, &t.hi, &t.lo)?;
        let rows = Pass { len1: node.leny, len2: node.lenx, pitch: w, stride: 1, inv: node.inv_rw };
        join(fdata, base, &scratch, 0, rows, &t.hi, &t.lo)?;
    }
    Ok(())
}

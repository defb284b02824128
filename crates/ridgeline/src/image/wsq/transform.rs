//! The wavelet synthesis (reconstruction) and analysis (decomposition) passes over one
//! dimension of a subband, ported from NBIS `join_lets` / `get_lets` with their exact
//! operation order and symmetric-extension rules.
//!
//! Pixels are addressed by signed offsets into whole buffers, as NBIS's pointer arithmetic does
//! (it legitimately reads outside the current subband on small images); every access is
//! bounds-checked and an access outside the buffer is an error.

use crate::error::{Error, Result};

/// Geometry of one pass: `len1` lines of `len2` samples; `pitch` steps between lines, `stride`
/// between samples; `inv` puts the highpass half first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pass {
    pub len1: i32,
    pub len2: i32,
    pub pitch: isize,
    pub stride: isize,
    pub inv: bool,
}

fn out_of_bounds() -> Error {
    Error::Format {
        format: "wsq",
        message: "wavelet filter reaches outside the image (inconsistent sizes)".into(),
        offset: 0,
    }
}

#[inline]
fn rd(buf: &[f32], at: isize) -> Result<f32> {
    usize::try_from(at).ok().and_then(|i| buf.get(i).copied()).ok_or_else(out_of_bounds)
}

#[inline]
fn wr(buf: &mut [f32], at: isize) -> Result<&mut f32> {
    usize::try_from(at).ok().and_then(|i| buf.get_mut(i)).ok_or_else(out_of_bounds)
}

/// Lengths of the filters, refusing empty ones.
fn filter_lengths(lo: &[f32], hi: &[f32]) -> Result<(i32, i32)> {
    if lo.is_empty() || hi.is_empty() {
        return Err(out_of_bounds());
    }
    Ok((lo.len() as i32, hi.len() as i32))
}

/// Lengths of the low and high halves of a line of `len` samples (the low half takes the odd
/// one).
fn half_lengths(len: i32) -> (i32, i32) {
    if len % 2 == 1 {
        ((len + 1) / 2, (len + 1) / 2 - 1)
    } else {
        (len / 2, len / 2)
    }
}

/// A walk along one line with symmetric extension at its ends, as NBIS steps its pointers: at
/// an end the walk turns back, after first repeating the end sample once where flagged.
#[derive(Debug, Clone, Copy)]
struct Walk {
    px: isize,
    step: isize,
    repeat_left: bool,
    repeat_right: bool,
}

impl Walk {
    /// At the left end `p0`: repeat it once if flagged, else walk forward (`forward` = +stride).
    #[inline]
    fn turn_left(&mut self, p0: isize, forward: isize) {
        if self.px == p0 {
            if self.repeat_left {
                self.step = 0;
                self.repeat_left = false;
            } else {
                self.step = forward;
            }
        }
    }

    /// At the right end `p1`: repeat it once if flagged, else walk backward.
    #[inline]
    fn turn_right(&mut self, p1: isize, forward: isize) {
        if self.px == p1 {
            if self.repeat_right {
                self.step = 0;
                self.repeat_right = false;
            } else {
                self.step = -forward;
            }
        }
    }

    /// `Σ f[i]·old[walk]` over the taps `first, first + tap_step, …` (NBIS order: the first
    /// product, then turn, step, accumulate).
    #[inline]
    fn filter(
        mut self,
        old: &[f32],
        f: &[f32],
        first: usize,
        tap_step: usize,
        (p0, p1, forward): (isize, isize, isize),
    ) -> Result<f32> {
        let mut acc = rd(old, self.px)? * f[first];
        let mut i = first + tap_step;
        while i < f.len() {
            self.turn_left(p0, forward);
            self.turn_right(p1, forward);
            self.px += self.step;
            acc += rd(old, self.px)? * f[i];
            i += tap_step;
        }
        Ok(acc)
    }
}

/// Reconstructs one dimension: `new[new_base..]` from the low and high halves at
/// `old[old_base..]` (NBIS `join_lets`). `hi` and `lo` are the synthesis filters.
#[allow(clippy::too_many_arguments)]
pub(crate) fn join(
    new: &mut [f32],
    new_base: isize,
    old: &[f32],
    old_base: isize,
    p: Pass,
    hi_in: &[f32],
    lo: &[f32],
) -> Result<()> {
    let (lsz, hsz) = filter_lengths(lo, hi_in)?;
    let da_ev = p.len2 % 2 == 1;
    let fi_ev = lsz % 2 == 1;
    let pstr = p.stride;
    let nstr = -pstr;
    let (llen, hlen) = half_lengths(p.len2);
    let (asym, ssfac, ofhre, mut loc, mut hoc, lotap, hotap);
    let (mut olle, olre, mut ohle, ohre);
    let hi: Vec<f32>;
    if fi_ev {
        asym = false;
        ssfac = 1.0f32;
        ofhre = 0i32;
        loc = (lsz - 1) / 4;
        hoc = (hsz + 1) / 4 - 1;
        lotap = ((lsz - 1) / 2) % 2;
        hotap = ((hsz + 1) / 2) % 2;
        if da_ev {
            (olle, olre, ohle, ohre) = (false, false, true, true);
        } else {
            (olle, olre, ohle, ohre) = (false, true, true, false);
        }
        hi = hi_in.to_vec();
    } else {
        asym = true;
        ssfac = -1.0;
        ofhre = 2;
        loc = lsz / 4 - 1;
        hoc = hsz / 4 - 1;
        lotap = (lsz / 2) % 2;
        hotap = (hsz / 2) % 2;
        if da_ev {
            (olle, olre, ohle, ohre) = (true, false, true, true);
        } else {
            (olle, olre, ohle, ohre) = (true, true, true, true);
        }
        if loc == -1 {
            loc = 0;
            olle = false;
        }
        if hoc == -1 {
            hoc = 0;
            ohle = false;
        }
        // NBIS negates the highpass filter in place for even lengths (and restores it after).
        hi = hi_in.iter().map(|&h| -h).collect();
    }
    let hsz = hsz as usize;

    for cl_rw in 0..p.len1 as isize {
        let mut limg = new_base + cl_rw * p.pitch;
        let mut himg = limg;
        *wr(new, himg)? = 0.0;
        *wr(new, himg + p.stride)? = 0.0;
        let (lopass, hipass) = if p.inv {
            let hipass = old_base + cl_rw * p.pitch;
            (hipass + p.stride * hlen as isize, hipass)
        } else {
            let lopass = old_base + cl_rw * p.pitch;
            (lopass, lopass + p.stride * llen as isize)
        };
        let lp0 = lopass;
        let lp1 = lp0 + (llen as isize - 1) * p.stride;
        // The lowpass walk: each output sums taps tap, tap + 2, … from its start.
        let mut lw = Walk {
            px: lp0 + loc as isize * p.stride,
            step: nstr,
            repeat_left: olle,
            repeat_right: olre,
        };
        let low_ends = (lp0, lp1, pstr);
        let mut lstap = lotap;
        let hp0 = hipass;
        let hp1 = hp0 + (hlen as isize - 1) * p.stride;
        let mut hspx = hp0 + hoc as isize * p.stride;
        let mut hspxstr = nstr;
        let mut hstap = hotap;
        let (mut hle2, hre2) = (ohle, ohre);
        let mut osfac = ssfac;
        let mut fhre = 0i32;

        // One highpass contribution, added to `himg`.
        let high = |new: &mut [f32],
                    himg: isize,
                    tap: usize,
                    hspx: isize,
                    hspxstr: isize,
                    hle2: bool,
                    hre2: bool,
                    mut fhre: i32,
                    osfac: f32|
         -> Result<i32> {
            let (mut hle, mut hre, mut hpx, mut hpxstr, mut sfac) =
                (hle2, hre2, hspx, hspxstr, osfac);
            let mut i = tap;
            while i < hsz {
                if hpx == hp0 {
                    if hle {
                        hpxstr = 0;
                        hle = false;
                    } else {
                        hpxstr = pstr;
                        sfac = 1.0;
                    }
                }
                if hpx == hp1 {
                    if hre {
                        hpxstr = 0;
                        hre = false;
                        if asym && da_ev {
                            hre = true;
                            fhre -= 1;
                            sfac = fhre as f32;
                            if sfac == 0.0 {
                                hre = false;
                            }
                        }
                    } else {
                        hpxstr = nstr;
                        if asym {
                            sfac = -1.0;
                        }
                    }
                }
                let add = rd(old, hpx)? * hi[i] * sfac;
                let cell = wr(new, himg)?;
                *cell += add;
                hpx += hpxstr;
                i += 2;
            }
            Ok(fhre)
        };

        for _pix in 0..hlen {
            let mut tap = lstap;
            loop {
                *wr(new, limg)? = lw.filter(old, lo, tap as usize, 2, low_ends)?;
                limg += p.stride;
                if tap == 0 {
                    break;
                }
                tap -= 1;
            }
            lw.turn_left(lp0, pstr);
            lw.px += lw.step;
            lstap = 1;

            let mut tap = hstap;
            loop {
                fhre = high(new, himg, tap as usize, hspx, hspxstr, hle2, hre2, ofhre, osfac)?;
                himg += p.stride;
                if tap == 0 {
                    break;
                }
                tap -= 1;
            }
            if hspx == hp0 {
                if hle2 {
                    hspxstr = 0;
                    hle2 = false;
                } else {
                    hspxstr = pstr;
                    osfac = 1.0;
                }
            }
            hspx += hspxstr;
            hstap = 1;
        }

        let lstap = match (da_ev, lotap != 0) {
            (true, true) => 1,
            (true, false) => 0,
            (false, true) => 2,
            (false, false) => 1,
        };
        let mut tap = 1i32;
        while tap >= lstap {
            *wr(new, limg)? = lw.filter(old, lo, tap as usize, 2, low_ends)?;
            limg += p.stride;
            tap -= 1;
        }

        let hstap;
        if da_ev {
            hstap = if hotap != 0 { 1 } else { 0 };
            if hsz == 2 {
                hspx -= hspxstr;
                fhre = 1;
            }
        } else {
            hstap = if hotap != 0 { 2 } else { 1 };
        }
        let mut tap = 1i32;
        while tap >= hstap {
            let start_fhre = if hsz != 2 { ofhre } else { fhre };
            fhre = high(new, himg, tap as usize, hspx, hspxstr, hle2, hre2, start_fhre, osfac)?;
            himg += p.stride;
            tap -= 1;
        }
    }
    Ok(())
}

/// Decomposes one dimension: low and high halves of `old[old_base..]` into `new[new_base..]`
/// (NBIS `get_lets`). `hi` and `lo` are the analysis filters.
#[allow(clippy::too_many_arguments)]
pub(crate) fn split(
    new: &mut [f32],
    new_base: isize,
    old: &[f32],
    old_base: isize,
    p: Pass,
    hi_in: &[f32],
    lo: &[f32],
) -> Result<()> {
    let (lsz, hsz) = filter_lengths(lo, hi_in)?;
    let da_ev = p.len2 % 2 == 1;
    let fi_ev = lsz % 2 == 1;
    let (mut loc, mut hoc);
    let (mut olle, mut ohle, olre, ohre);
    let hi: Vec<f32>;
    if fi_ev {
        loc = (lsz - 1) / 2;
        hoc = (hsz - 1) / 2 - 1;
        (olle, ohle, olre, ohre) = (false, false, false, false);
        hi = hi_in.to_vec();
    } else {
        loc = lsz / 2 - 2;
        hoc = hsz / 2 - 2;
        (olle, ohle, olre, ohre) = (true, true, true, true);
        if loc == -1 {
            loc = 0;
            olle = false;
        }
        if hoc == -1 {
            hoc = 0;
            ohle = false;
        }
        hi = hi_in.iter().map(|&h| -h).collect();
    }
    let pstr = p.stride;
    let (llen, hlen) = half_lengths(p.len2);
    for rw_cl in 0..p.len1 as isize {
        let (mut lopass, mut hipass) = if p.inv {
            let hipass = new_base + rw_cl * p.pitch;
            (hipass + hlen as isize * p.stride, hipass)
        } else {
            let lopass = new_base + rw_cl * p.pitch;
            (lopass, lopass + llen as isize * p.stride)
        };
        let p0 = old_base + rw_cl * p.pitch;
        let p1 = p0 + (p.len2 as isize - 1) * p.stride;
        let ends = (p0, p1, pstr);
        // Each output sums all taps of its filter, walking from its start.
        let start = |offset: i32, repeat_left: bool, repeat_right: bool| Walk {
            px: p0 + offset as isize * p.stride,
            step: -pstr,
            repeat_left,
            repeat_right,
        };
        let mut lw = start(loc, olle, olre);
        let mut hw = start(hoc, ohle, ohre);
        for _pix in 0..hlen {
            *wr(new, lopass)? = lw.filter(old, lo, 0, 1, ends)?;
            lopass += p.stride;
            *wr(new, hipass)? = hw.filter(old, &hi, 0, 1, ends)?;
            hipass += p.stride;
            for _ in 0..2 {
                lw.turn_left(p0, pstr);
                lw.px += lw.step;
                hw.turn_left(p0, pstr);
                hw.px += hw.step;
            }
        }
        if da_ev {
            *wr(new, lopass)? = lw.filter(old, lo, 0, 1, ends)?;
        }
    }
    Ok(())
}

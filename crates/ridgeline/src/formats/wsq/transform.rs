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
    let (lsz, hsz) = (lo.len() as i32, hi_in.len() as i32);
    if lsz == 0 || hsz == 0 {
        return Err(out_of_bounds());
    }
    let da_ev = p.len2 % 2 == 1;
    let fi_ev = lsz % 2 == 1;
    let pstr = p.stride;
    let nstr = -pstr;
    let (llen, hlen) =
        if da_ev { ((p.len2 + 1) / 2, (p.len2 + 1) / 2 - 1) } else { (p.len2 / 2, p.len2 / 2) };
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
    let lsz = lsz as usize;
    let hsz = hsz as usize;

    // One lowpass output: taps tap, tap+2, … walking from `start` with symmetric reflection.
    let low = |new: &mut [f32],
               limg: isize,
               tap: usize,
               lspx: isize,
               lspxstr: isize,
               lle2: bool,
               lre2: bool,
               lp0: isize,
               lp1: isize|
     -> Result<()> {
        let (mut lle, mut lre, mut lpx, mut lpxstr) = (lle2, lre2, lspx, lspxstr);
        let mut acc = rd(old, lpx)? * lo[tap];
        let mut i = tap + 2;
        while i < lsz {
            if lpx == lp0 {
                if lle {
                    lpxstr = 0;
                    lle = false;
                } else {
                    lpxstr = pstr;
                }
            }
            if lpx == lp1 {
                if lre {
                    lpxstr = 0;
                    lre = false;
                } else {
                    lpxstr = nstr;
                }
            }
            lpx += lpxstr;
            acc += rd(old, lpx)? * lo[i];
            i += 2;
        }
        *wr(new, limg)? = acc;
        Ok(())
    };

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
        let mut lspx = lp0 + loc as isize * p.stride;
        let mut lspxstr = nstr;
        let mut lstap = lotap;
        let (mut lle2, lre2) = (olle, olre);
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
                low(new, limg, tap as usize, lspx, lspxstr, lle2, lre2, lp0, lp1)?;
                limg += p.stride;
                if tap == 0 {
                    break;
                }
                tap -= 1;
            }
            if lspx == lp0 {
                if lle2 {
                    lspxstr = 0;
                    lle2 = false;
                } else {
                    lspxstr = pstr;
                }
            }
            lspx += lspxstr;
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
            low(new, limg, tap as usize, lspx, lspxstr, lle2, lre2, lp0, lp1)?;
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
    let (lsz, hsz) = (lo.len() as i32, hi_in.len() as i32);
    if lsz == 0 || hsz == 0 {
        return Err(out_of_bounds());
    }
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
    let nstr = -pstr;
    let (llen, hlen) =
        if da_ev { ((p.len2 + 1) / 2, (p.len2 + 1) / 2 - 1) } else { (p.len2 / 2, p.len2 / 2) };
    // One filter output: taps 0.. walking from `start` with symmetric reflection at p0/p1.
    let tap = |start: isize,
               step: isize,
               le: bool,
               re: bool,
               f: &[f32],
               p0: isize,
               p1: isize|
     -> Result<f32> {
        let (mut px, mut pxstr, mut le, mut re) = (start, step, le, re);
        let mut acc = rd(old, px)? * f[0];
        for &c in &f[1..] {
            if px == p0 {
                if le {
                    pxstr = 0;
                    le = false;
                } else {
                    pxstr = pstr;
                }
            }
            if px == p1 {
                if re {
                    pxstr = 0;
                    re = false;
                } else {
                    pxstr = nstr;
                }
            }
            px += pxstr;
            acc += rd(old, px)? * c;
        }
        Ok(acc)
    };
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
        let mut lspx = p0 + loc as isize * p.stride;
        let mut lspxstr = nstr;
        let (mut lle2, lre2) = (olle, olre);
        let mut hspx = p0 + hoc as isize * p.stride;
        let mut hspxstr = nstr;
        let (mut hle2, hre2) = (ohle, ohre);
        for _pix in 0..hlen {
            *wr(new, lopass)? = tap(lspx, lspxstr, lle2, lre2, lo, p0, p1)?;
            lopass += p.stride;
            *wr(new, hipass)? = tap(hspx, hspxstr, hle2, hre2, &hi, p0, p1)?;
            hipass += p.stride;
            for _ in 0..2 {
                if lspx == p0 {
                    if lle2 {
                        lspxstr = 0;
                        lle2 = false;
                    } else {
                        lspxstr = pstr;
                    }
                }
                lspx += lspxstr;
                if hspx == p0 {
                    if hle2 {
                        hspxstr = 0;
                        hle2 = false;
                    } else {
                        hspxstr = pstr;
                    }
                }
                hspx += hspxstr;
            }
        }
        if da_ev {
            *wr(new, lopass)? = tap(lspx, lspxstr, lle2, lre2, lo, p0, p1)?;
        }
    }
    Ok(())
}

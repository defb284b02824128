//! The binary ridge map: ridge pixels where the enhanced image is positive, inside the mask.
//!
//! The Gabor filter has already done the hard work (its output is zero-mean around ridges and
//! valleys), so the threshold is simply zero. One pass of neighbourhood clean-up then removes
//! isolated ridge pixels and fills single-pixel holes, which would otherwise thin into spurs
//! and tiny loops.

use super::grid::Plane;
use super::segmentation::Mask;

/// Binarizes the enhanced image.
pub(crate) fn compute(enhanced: &Plane<f32>, mask: &Mask) -> Plane<bool> {
    let (w, h) = (enhanced.width, enhanced.height);
    // Ridge flags with a one-pixel frame of background, then 3×3 box sums, row and column
    // separately, to count each pixel's ridge neighbours.
    let stride = w + 2;
    let mut framed = vec![0u8; stride * (h + 2)];
    for y in 0..h {
        let src = &enhanced.data[y * w..(y + 1) * w];
        let inside = &mask.pixels.data[y * w..(y + 1) * w];
        let dst = &mut framed[(y + 1) * stride + 1..(y + 1) * stride + 1 + w];
        for ((d, &v), &m) in dst.iter_mut().zip(src).zip(inside) {
            *d = (m && v > 0.0) as u8;
        }
    }
    let mut rows = vec![0u8; framed.len()];
    for (r, f) in rows.chunks_exact_mut(stride).zip(framed.chunks_exact(stride)) {
        for x in 1..stride - 1 {
            r[x] = f[x - 1] + f[x] + f[x + 1];
        }
    }
    let mut out = Plane::filled(w, h, false);
    for y in 0..h {
        let (above, here, below) =
            (&rows[y * stride..], &rows[(y + 1) * stride..], &rows[(y + 2) * stride..]);
        let centre = &framed[(y + 1) * stride..];
        let inside = &mask.pixels.data[y * w..(y + 1) * w];
        for x in 0..w {
            let c = centre[x + 1];
            let neighbours = above[x + 1] + here[x + 1] + below[x + 1] - c;
            out.data[y * w + x] =
                if c == 1 { neighbours > 1 } else { neighbours >= 7 && inside[x] };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_at_zero_inside_mask_with_cleanup() {
        let (w, h) = (8, 8);
        let mut enhanced = Plane::filled(w, h, -1.0f32);
        enhanced.set(4, 4, 1.0); // isolated ridge pixel: removed
        for x in 0..w {
            enhanced.set(x, 1, 1.0); // a ridge line: kept
        }
        let mask = Mask { blocks: Plane::filled(1, 1, true), pixels: Plane::filled(w, h, true) };
        let b = compute(&enhanced, &mask);
        assert!(!b.at(4, 4));
        // The line is kept except its two end pixels, which have one neighbour each.
        assert!((1..w - 1).all(|x| b.at(x, 1)));
        assert_eq!(b.data.iter().filter(|&&v| v).count(), w - 2);
    }
}

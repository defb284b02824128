//! The binary ridge map: ridge pixels where the enhanced image is positive, inside the mask.
//!
//! The Gabor filter has already done the hard work (its output is zero-mean around ridges and
//! valleys), so the threshold is simply zero. One pass of neighbourhood clean-up then removes
//! isolated ridge pixels and fills single-pixel holes, which would otherwise thin into spurs
//! and tiny loops.

use super::grid::Plane;
use super::segmentation::Mask;

/// Binarizes the enhanced image.
pub fn compute(enhanced: &Plane<f32>, mask: &Mask) -> Plane<bool> {
    let (w, h) = (enhanced.width, enhanced.height);
    let raw = Plane {
        width: w,
        height: h,
        data: enhanced.data.iter().zip(&mask.pixels.data).map(|(&v, &m)| m && v > 0.0).collect(),
    };
    let mut out = raw.clone();
    for y in 0..h as isize {
        for x in 0..w as isize {
            let mut neighbours = 0;
            for (dx, dy) in NEIGHBOURS_8 {
                neighbours += raw.get(x + dx, y + dy).unwrap_or(false) as u32;
            }
            let i = y as usize * w + x as usize;
            if raw.data[i] && neighbours <= 1 {
                out.data[i] = false;
            } else if !raw.data[i] && neighbours >= 7 && mask.pixels.data[i] {
                out.data[i] = true;
            }
        }
    }
    out
}

/// The 8 neighbours of a pixel.
pub const NEIGHBOURS_8: [(isize, isize); 8] =
    [(-1, -1), (0, -1), (1, -1), (-1, 0), (1, 0), (-1, 1), (0, 1), (1, 1)];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::grid::BlockGrid;

    #[test]
    fn threshold_at_zero_inside_mask_with_cleanup() {
        let (w, h) = (8, 8);
        let mut enhanced = Plane::filled(w, h, -1.0f32);
        enhanced.set(4, 4, 1.0); // isolated ridge pixel: removed
        for x in 0..w {
            enhanced.set(x, 1, 1.0); // a ridge line: kept
        }
        let grid = BlockGrid::new(w, h, 8);
        let mask =
            Mask { grid, blocks: Plane::filled(1, 1, true), pixels: Plane::filled(w, h, true) };
        let b = compute(&enhanced, &mask);
        assert!(!b.at(4, 4));
        // The line is kept except its two end pixels, which have one neighbour each.
        assert!((1..w - 1).all(|x| b.at(x, 1)));
        assert_eq!(b.data.iter().filter(|&&v| v).count(), w - 2);
    }
}

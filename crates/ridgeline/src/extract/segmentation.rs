//! The segmentation mask: which part of the image holds the print.
//!
//! A block is foreground when it has both contrast (grey-level standard deviation, relative to
//! the print's own typical contrast so that faint dry prints are not lost) and oriented
//! structure (coherence of the gradient structure tensor over the 5×5 blocks around it). The
//! block mask is then cleaned up morphologically: a majority vote removes speckle, small
//! regions are dropped and holes are filled. The mask is not eroded: minutiae near its edge are
//! judged by the filtering stage, which keeps those whose ridges are well inside.

use super::gradients::BlockGradients;
use super::grid::Plane;
use super::parameters::*;

/// The foreground mask, per block and per pixel.
#[derive(Debug, Clone)]
pub(crate) struct Mask {
    /// One flag per block.
    pub(crate) blocks: Plane<bool>,
    /// One flag per pixel (the block mask at pixel resolution).
    pub(crate) pixels: Plane<bool>,
}

impl Mask {
    /// Whether pixel (`x`, `y`) is foreground; false outside the image.
    #[inline]
    pub(crate) fn contains(&self, x: isize, y: isize) -> bool {
        self.pixels.get(x, y).unwrap_or(false)
    }

    /// Number of foreground pixels.
    pub(crate) fn area_px(&self) -> usize {
        self.pixels.data.iter().filter(|&&m| m).count()
    }
}

/// Computes the mask from the block statistics.
pub(crate) fn compute(gradients: &BlockGradients) -> Mask {
    let grid = gradients.grid;
    let (cols, rows) = (grid.cols, grid.rows);
    let threshold = contrast_threshold(&gradients.std_dev.data);
    let reach = SEGMENTATION_COHERENCE_WINDOW_BLOCKS / 2;
    let mut blocks = Plane::filled(cols, rows, false);
    for by in 0..rows {
        for bx in 0..cols {
            let b = by * cols + bx;
            if gradients.std_dev.data[b] < threshold {
                continue;
            }
            let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
            for ny in by.saturating_sub(reach)..(by + reach + 1).min(rows) {
                for nx in bx.saturating_sub(reach)..(bx + reach + 1).min(cols) {
                    let n = ny * cols + nx;
                    xx += gradients.gxx.data[n];
                    yy += gradients.gyy.data[n];
                    xy += gradients.gxy.data[n];
                }
            }
            blocks.data[b] = coherence(xx, yy, xy) >= SEGMENTATION_COHERENCE_MIN;
        }
    }
    majority_filter(&mut blocks);
    majority_filter(&mut blocks);
    drop_small_regions(&mut blocks);
    fill_holes(&mut blocks);
    let mut pixels = Plane::filled(grid.width, grid.height, false);
    for y in 0..grid.height {
        let by = y / grid.block_px;
        for bx in 0..cols {
            let (xs, _) = grid.pixels_of(bx, by);
            let row = y * grid.width;
            pixels.data[row + xs.start..row + xs.end].fill(blocks.data[by * cols + bx]);
        }
    }
    Mask { blocks, pixels }
}

/// Coherence of a structure tensor: 0 for isotropic noise, 1 for perfectly parallel ridges.
#[inline]
pub(crate) fn coherence(gxx: f32, gyy: f32, gxy: f32) -> f32 {
    let energy = gxx + gyy;
    if energy <= f32::EPSILON {
        return 0.0;
    }
    ((gxx - gyy).powi(2) + 4.0 * gxy * gxy).sqrt() / energy
}

fn contrast_threshold(std_devs: &[f32]) -> f32 {
    let mut sorted: Vec<f32> = std_devs.to_vec();
    sorted.sort_by(f32::total_cmp);
    let at = ((sorted.len() as f32 - 1.0) * SEGMENTATION_CONTRAST_PERCENTILE).round() as usize;
    let typical = sorted.get(at).copied().unwrap_or(0.0);
    (typical * SEGMENTATION_CONTRAST_RELATIVE).max(SEGMENTATION_CONTRAST_MIN_GRAY)
}

/// Sets each block to the majority of its 3×3 neighbourhood (blocks outside count as
/// background).
fn majority_filter(blocks: &mut Plane<bool>) {
    let (w, h) = (blocks.width as isize, blocks.height as isize);
    let src = blocks.clone();
    for y in 0..h {
        for x in 0..w {
            let mut count = 0;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    count += src.get(x + dx, y + dy).unwrap_or(false) as u32;
                }
            }
            blocks.data[(y * w + x) as usize] = count >= 5;
        }
    }
}

/// Labels 8-connected regions of `value`; returns labels (0 = other value) and region sizes
/// indexed by label - 1, plus whether each region touches the grid's edge.
fn label_regions(blocks: &Plane<bool>, value: bool) -> (Vec<u32>, Vec<usize>, Vec<bool>) {
    let (w, h) = (blocks.width, blocks.height);
    let mut labels = vec![0u32; w * h];
    let mut sizes = Vec::new();
    let mut touches = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if blocks.data[start] != value || labels[start] != 0 {
            continue;
        }
        let label = sizes.len() as u32 + 1;
        let (mut size, mut edge) = (0usize, false);
        labels[start] = label;
        stack.push(start);
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            edge |= x == 0 || y == 0 || x as usize == w - 1 || y as usize == h - 1;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                        continue;
                    }
                    let n = ny as usize * w + nx as usize;
                    if blocks.data[n] == value && labels[n] == 0 {
                        labels[n] = label;
                        stack.push(n);
                    }
                }
            }
        }
        sizes.push(size);
        touches.push(edge);
    }
    (labels, sizes, touches)
}

fn drop_small_regions(blocks: &mut Plane<bool>) {
    let (labels, sizes, _) = label_regions(blocks, true);
    let largest = sizes.iter().copied().max().unwrap_or(0) as f32;
    for (flag, &label) in blocks.data.iter_mut().zip(&labels) {
        if label > 0
            && (sizes[label as usize - 1] as f32) < largest * SEGMENTATION_MIN_REGION_FRACTION
        {
            *flag = false;
        }
    }
}

fn fill_holes(blocks: &mut Plane<bool>) {
    let (labels, _, touches) = label_regions(blocks, false);
    for (flag, &label) in blocks.data.iter_mut().zip(&labels) {
        if label > 0 && !touches[label as usize - 1] {
            *flag = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(rows: &[&str]) -> Plane<bool> {
        let width = rows[0].len();
        let data = rows.iter().flat_map(|r| r.bytes().map(|b| b == b'#')).collect();
        Plane { width, height: rows.len(), data }
    }

    #[test]
    fn holes_are_filled_and_speckle_dropped() {
        let mut p = plane(&["#......", ".......", "..###..", "..#.#..", "..###..", "......."]);
        drop_small_regions(&mut p);
        fill_holes(&mut p);
        assert_eq!(p, plane(&[".......", ".......", "..###..", "..###..", "..###..", "......."]));
    }

    #[test]
    fn coherence_bounds() {
        assert!((coherence(10.0, 0.0, 0.0) - 1.0).abs() < 1e-6);
        assert!(coherence(5.0, 5.0, 0.0).abs() < 1e-6);
        assert_eq!(coherence(0.0, 0.0, 0.0), 0.0);
    }
}

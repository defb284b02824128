//! Block statistics of the image: the gradient structure tensor and the grey-level contrast of
//! every block. Segmentation and orientation both start from these sums, so the image's
//! gradients are computed once, in one pass, and never stored per pixel.

use super::grid::{BlockGrid, Plane};

/// Per-block sums of the gradient structure tensor and grey-level moments.
#[derive(Debug, Clone)]
pub struct BlockGradients {
    /// The block grid.
    pub grid: BlockGrid,
    /// Sum of gx² over the block.
    pub gxx: Plane<f32>,
    /// Sum of gy² over the block.
    pub gyy: Plane<f32>,
    /// Sum of gx·gy over the block.
    pub gxy: Plane<f32>,
    /// Mean grey level of the block.
    pub mean: Plane<f32>,
    /// Grey-level standard deviation of the block.
    pub std_dev: Plane<f32>,
}

/// Computes the block sums from 3×3 Sobel gradients of `gray` (a `width` × `height` image).
pub fn compute(gray: &Plane<u8>, grid: BlockGrid) -> BlockGradients {
    let (w, h) = (gray.width, gray.height);
    let blank = Plane::filled(grid.cols, grid.rows, 0.0f32);
    let (mut gxx, mut gyy, mut gxy) = (blank.clone(), blank.clone(), blank.clone());
    let (mut sum, mut sum_sq) = (blank.clone(), blank.clone());
    let px = &gray.data;
    for y in 0..h {
        let up = y.saturating_sub(1) * w;
        let mid = y * w;
        let down = (y + 1).min(h - 1) * w;
        let by = y / grid.block_px;
        for x in 0..w {
            let l = x.saturating_sub(1);
            let r = (x + 1).min(w - 1);
            let p = |row: usize, col: usize| px[row + col] as i32;
            let gx =
                (p(up, r) + 2 * p(mid, r) + p(down, r)) - (p(up, l) + 2 * p(mid, l) + p(down, l));
            let gy =
                (p(down, l) + 2 * p(down, x) + p(down, r)) - (p(up, l) + 2 * p(up, x) + p(up, r));
            let b = by * grid.cols + x / grid.block_px;
            let (gx, gy) = (gx as f32, gy as f32);
            gxx.data[b] += gx * gx;
            gyy.data[b] += gy * gy;
            gxy.data[b] += gx * gy;
            let v = px[mid + x] as f32;
            sum.data[b] += v;
            sum_sq.data[b] += v * v;
        }
    }
    let mut mean = blank.clone();
    let mut std_dev = blank;
    for by in 0..grid.rows {
        for bx in 0..grid.cols {
            let (xs, ys) = grid.pixels_of(bx, by);
            let n = (xs.len() * ys.len()).max(1) as f32;
            let b = by * grid.cols + bx;
            let m = sum.data[b] / n;
            mean.data[b] = m;
            std_dev.data[b] = (sum_sq.data[b] / n - m * m).max(0.0).sqrt();
        }
    }
    BlockGradients { grid, gxx, gyy, gxy, mean, std_dev }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vertical_stripes_have_horizontal_gradients() {
        // Stripes varying along x only: all gradient energy is in gx.
        let (w, h) = (32, 16);
        let data = (0..w * h).map(|i| if (i % w) / 4 % 2 == 0 { 40 } else { 200 }).collect();
        let g = compute(&Plane { width: w, height: h, data }, BlockGrid::new(w, h, 8));
        assert!(g.gxx.data.iter().all(|&v| v > 0.0));
        assert!(g.gyy.data.iter().all(|&v| v == 0.0));
        assert!(g.std_dev.data.iter().all(|&s| (s - 80.0).abs() < 1.0), "{:?}", g.std_dev.data);
        assert!(g.mean.data.iter().all(|&m| (m - 120.0).abs() < 1.0));
    }
}

//! Block statistics of the image: the gradient structure tensor and the grey-level contrast of
//! every block. Segmentation and orientation both start from these sums, so the image's
//! gradients are computed once, in one pass, and never stored per pixel.

use super::grid::{BlockGrid, Plane};

/// Per-block sums of the gradient structure tensor and grey-level moments.
#[derive(Debug, Clone)]
pub(crate) struct BlockGradients {
    /// The block grid.
    pub(crate) grid: BlockGrid,
    /// Sum of gx² over the block.
    pub(crate) gxx: Plane<f32>,
    /// Sum of gy² over the block.
    pub(crate) gyy: Plane<f32>,
    /// Sum of gx·gy over the block.
    pub(crate) gxy: Plane<f32>,
    /// Mean grey level of the block.
    // Read by the tests only; computed on the way to the standard deviation anyway.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) mean: Plane<f32>,
    /// Grey-level standard deviation of the block.
    pub(crate) std_dev: Plane<f32>,
}

/// Computes the block sums from 3×3 Sobel gradients of `gray` (a `width` × `height` image).
/// Pixels on the image's edge have no full neighbourhood and contribute no gradient.
pub(crate) fn compute(gray: &Plane<u8>, grid: BlockGrid) -> BlockGradients {
    let (w, h) = (gray.width, gray.height);
    let blank = Plane::filled(grid.cols, grid.rows, 0.0f32);
    let (mut gxx, mut gyy, mut gxy) = (blank.clone(), blank.clone(), blank.clone());
    let (mut sum, mut sum_sq) = (blank.clone(), blank.clone());
    let px = &gray.data;
    let mut gx = vec![0i32; w];
    let mut gy = vec![0i32; w];
    for y in 0..h {
        let mid = &px[y * w..(y + 1) * w];
        gx.fill(0);
        gy.fill(0);
        if y > 0 && y + 1 < h && w > 2 {
            let up = &px[(y - 1) * w..y * w];
            let down = &px[(y + 1) * w..(y + 2) * w];
            // One pass per row over plain slices: the compiler vectorises it.
            for x in 1..w - 1 {
                let (ul, uc, ur) = (up[x - 1] as i32, up[x] as i32, up[x + 1] as i32);
                let (ml, mr) = (mid[x - 1] as i32, mid[x + 1] as i32);
                let (dl, dc, dr) = (down[x - 1] as i32, down[x] as i32, down[x + 1] as i32);
                gx[x] = (ur + 2 * mr + dr) - (ul + 2 * ml + dl);
                gy[x] = (dl + 2 * dc + dr) - (ul + 2 * uc + ur);
            }
        }
        let row = (y / grid.block_px) * grid.cols;
        for bx in 0..grid.cols {
            let (xs, _) = grid.pixels_of(bx, 0);
            let (mut sxx, mut syy, mut sxy, mut sv, mut svv) = (0i64, 0i64, 0i64, 0i64, 0i64);
            for x in xs {
                let (a, b, v) = (gx[x] as i64, gy[x] as i64, mid[x] as i64);
                sxx += a * a;
                syy += b * b;
                sxy += a * b;
                sv += v;
                svv += v * v;
            }
            let i = row + bx;
            gxx.data[i] += sxx as f32;
            gyy.data[i] += syy as f32;
            gxy.data[i] += sxy as f32;
            sum.data[i] += sv as f32;
            sum_sq.data[i] += svv as f32;
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
        assert!(g.gxx.data.iter().all(|&v| v > 0.0), "{:?}", g.gxx.data);
        assert!(g.gyy.data.iter().all(|&v| v == 0.0));
        assert!(g.std_dev.data.iter().all(|&s| (s - 80.0).abs() < 1.0), "{:?}", g.std_dev.data);
        assert!(g.mean.data.iter().all(|&m| (m - 120.0).abs() < 1.0));
    }
}

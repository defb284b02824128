//! Singular points: cores and deltas, where the Poincaré index of a coarsely smoothed
//! orientation field is +½ (a loop's core) or −½ (a delta).
//!
//! Around each block deep enough inside the foreground, the doubled ridge angle is followed
//! around the ring of its 8 neighbours; the sum of the wrapped differences is +2π at a core,
//! −2π at a delta, 0 elsewhere. Neighbouring detections of the same kind are merged.

use std::f32::consts::{PI, TAU};

use super::grid::{wrap_pi, BlockGrid, Plane};
use super::parameters::*;

/// A singular point in working-resolution pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Detection {
    /// Column.
    pub(crate) x: f32,
    /// Row.
    pub(crate) y: f32,
    /// Core (true) or delta (false).
    pub(crate) core: bool,
}

/// The 8 neighbours in order of increasing angle in image coordinates.
const RING_BY_ANGLE: [(isize, isize); 8] =
    [(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)];

/// Finds cores and deltas of an orientation field (angles per block, `[0, π)`), considering only
/// blocks whose whole ring lies in `inside`.
pub(crate) fn detect(grid: BlockGrid, angle: &Plane<f32>, inside: &Plane<bool>) -> Vec<Detection> {
    let mut raw: Vec<(f32, f32, bool, u32)> = Vec::new();
    for by in 1..grid.rows.saturating_sub(1) {
        for bx in 1..grid.cols.saturating_sub(1) {
            let ok = RING_BY_ANGLE.iter().all(|&(dx, dy)| {
                inside.at((bx as isize + dx) as usize, (by as isize + dy) as usize)
            }) && inside.at(bx, by);
            if !ok {
                continue;
            }
            let mut total = 0.0;
            for k in 0..8 {
                let (ax, ay) = RING_BY_ANGLE[k];
                let (bx2, by2) = RING_BY_ANGLE[(k + 1) % 8];
                let a = angle.at((bx as isize + ax) as usize, (by as isize + ay) as usize);
                let b = angle.at((bx as isize + bx2) as usize, (by as isize + by2) as usize);
                total += wrap_pi(2.0 * (b - a));
            }
            let core = (total - TAU).abs() < PI / 2.0;
            let delta = (total + TAU).abs() < PI / 2.0;
            if core || delta {
                let (x, y) = grid.centre_of(bx, by);
                merge(&mut raw, x, y, core);
            }
        }
    }
    raw.into_iter().map(|(x, y, core, _)| Detection { x, y, core }).collect()
}

fn merge(found: &mut Vec<(f32, f32, bool, u32)>, x: f32, y: f32, core: bool) {
    for f in found.iter_mut() {
        let d = ((f.0 - x).powi(2) + (f.1 - y).powi(2)).sqrt();
        if f.2 == core && d < SINGULAR_MERGE_DISTANCE_PX {
            let n = f.3 as f32;
            f.0 = (f.0 * n + x) / (n + 1.0);
            f.1 = (f.1 * n + y) / (n + 1.0);
            f.3 += 1;
            return;
        }
    }
    found.push((x, y, core, 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(size: usize, sign: f32) -> (BlockGrid, Plane<f32>, Plane<bool>) {
        let grid = BlockGrid::new(size * 8, size * 8, 8);
        let c = (size as f32 - 1.0) / 2.0;
        let data = (0..size * size)
            .map(|i| {
                let (x, y) = ((i % size) as f32 - c, (i / size) as f32 - c);
                (sign * 0.5 * y.atan2(x)).rem_euclid(PI)
            })
            .collect();
        (grid, Plane { width: size, height: size, data }, Plane::filled(size, size, true))
    }

    #[test]
    fn core_and_delta_fields() {
        let (grid, angle, inside) = field(9, 1.0);
        let found = detect(grid, &angle, &inside);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].core);
        assert!((found[0].x - 35.5).abs() < 8.0 && (found[0].y - 35.5).abs() < 8.0, "{found:?}");
        let (grid, angle, inside) = field(9, -1.0);
        let found = detect(grid, &angle, &inside);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(!found[0].core);
    }

    #[test]
    fn parallel_flow_has_no_singular_point() {
        let grid = BlockGrid::new(80, 80, 8);
        let angle = Plane::filled(10, 10, 0.7f32);
        assert!(detect(grid, &angle, &Plane::filled(10, 10, true)).is_empty());
    }
}

//! The filtered minutiae: candidates minus the artefacts that noise, pores, scars and the edge of
//! the print leave in a skeleton.
//!
//! Each rule reads the branch graph of [`super::minutiae`] or plain geometry, and removes both
//! ends of what it recognises:
//! * border: too close to the edge of the foreground, or an ending whose ridge runs off it;
//! * spur: a short branch from an ending into a bifurcation (a hair on a ridge);
//! * bridge: a short ridge joining two bifurcations (a bridge across a valley);
//! * hole: a bifurcation whose branches close a small loop (a pore or a lake);
//! * fragment: a short ridge between two endings (a dot or island);
//! * broken ridge: two endings facing each other across a small gap;
//! * close pair: any two minutiae closer than a fraction of a ridge period.

use std::f32::consts::{PI, TAU};

use super::grid::angle_distance;
use super::minutiae::Candidate;
use super::parameters::*;
use super::segmentation::Mask;
use crate::template::MinutiaKind;

/// Why a candidate was removed (kept for the trace and for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Near the edge of the print.
    Border,
    /// Spur.
    Spur,
    /// Bridge.
    Bridge,
    /// Hole.
    Hole,
    /// Fragment.
    Fragment,
    /// Broken ridge.
    BrokenRidge,
    /// Close pair.
    ClosePair,
}

/// Decides, for every candidate, whether it is kept (`None`) or why it was removed.
pub(crate) fn apply(candidates: &[Candidate], mask: &Mask) -> Vec<Option<Removal>> {
    let n = candidates.len();
    let mut removed: Vec<Option<Removal>> = vec![None; n];
    for (i, c) in candidates.iter().enumerate() {
        if near_border(c, mask) {
            removed[i] = Some(Removal::Border);
        }
    }
    for (i, c) in candidates.iter().enumerate() {
        for (bi, branch) in c.branches.iter().enumerate() {
            let Some(j) = branch.to else { continue };
            let other = candidates[j].kind;
            let rule = match (c.kind, other) {
                (MinutiaKind::Ending, MinutiaKind::Bifurcation)
                    if branch.length_px < SPUR_MAX_PX =>
                {
                    Some(Removal::Spur)
                }
                (MinutiaKind::Ending, MinutiaKind::Ending)
                    if branch.length_px < SHORT_RIDGE_MAX_PX =>
                {
                    Some(Removal::Fragment)
                }
                (MinutiaKind::Bifurcation, MinutiaKind::Bifurcation) => {
                    let loops_back = j == i && branch.length_px < HOLE_MAX_PX;
                    let twice =
                        c.branches.iter().enumerate().any(|(bk, b)| {
                            bk != bi && b.to == Some(j) && b.length_px < HOLE_MAX_PX
                        }) && branch.length_px < HOLE_MAX_PX;
                    if loops_back || twice {
                        Some(Removal::Hole)
                    } else if branch.length_px < BRIDGE_MAX_PX {
                        Some(Removal::Bridge)
                    } else {
                        None
                    }
                }
                _ => None,
            };
            if let Some(rule) = rule {
                removed[i].get_or_insert(rule);
                removed[j].get_or_insert(rule);
            }
        }
    }
    // Geometric rules on what is left.
    let alive: Vec<usize> = (0..n).filter(|&i| removed[i].is_none()).collect();
    let mut doomed = Vec::new();
    for (a, &i) in alive.iter().enumerate() {
        for &j in &alive[a + 1..] {
            let (ci, cj) = (&candidates[i], &candidates[j]);
            let (dx, dy) = (cj.x - ci.x, cj.y - ci.y);
            let distance = (dx * dx + dy * dy).sqrt();
            if distance < CLOSE_PAIR_PX {
                doomed.push((i, j, Removal::ClosePair));
            } else if ci.kind == MinutiaKind::Ending
                && cj.kind == MinutiaKind::Ending
                && distance < BROKEN_RIDGE_GAP_PX
            {
                // Facing each other: opposite directions, and each ridge continues away from
                // the gap.
                let gap = dy.atan2(dx);
                let opposite = angle_distance(ci.direction, cj.direction + PI);
                let i_faces = angle_distance(ci.direction, gap + PI);
                let j_faces = angle_distance(cj.direction, gap);
                let tol = BROKEN_RIDGE_ANGLE_TOLERANCE_RAD;
                if opposite < tol && i_faces < tol && j_faces < tol {
                    doomed.push((i, j, Removal::BrokenRidge));
                }
            }
        }
    }
    for (i, j, rule) in doomed {
        removed[i].get_or_insert(rule);
        removed[j].get_or_insert(rule);
    }
    removed
}

/// Too close to the foreground's edge, or an ending whose free end runs into it.
fn near_border(c: &Candidate, mask: &Mask) -> bool {
    const DIRECTIONS: usize = 16;
    let inside = |x: f32, y: f32| mask.contains(x.round() as isize, y.round() as isize);
    for k in 0..DIRECTIONS {
        let a = k as f32 * TAU / DIRECTIONS as f32;
        if !inside(c.x + BORDER_DISTANCE_PX * a.cos(), c.y + BORDER_DISTANCE_PX * a.sin()) {
            return true;
        }
    }
    if c.kind == MinutiaKind::Ending {
        // The ridge leaves along `direction`; beyond the free end lies the opposite way.
        let (ux, uy) = (-c.direction.cos(), -c.direction.sin());
        let mut t = BORDER_DISTANCE_PX;
        while t <= BORDER_LOOKAHEAD_PX {
            if !inside(c.x + t * ux, c.y + t * uy) {
                return true;
            }
            t += 2.0;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::grid::{BlockGrid, Plane};
    use crate::extract::minutiae::Branch;

    fn full_mask(size: usize) -> Mask {
        let grid = BlockGrid::new(size, size, 8);
        Mask {
            blocks: Plane::filled(grid.cols, grid.rows, true),
            pixels: Plane::filled(size, size, true),
        }
    }

    fn cand(x: f32, y: f32, kind: MinutiaKind, direction: f32, branches: Vec<Branch>) -> Candidate {
        Candidate { x, y, kind, direction, branches }
    }

    #[test]
    fn spur_removes_both_ends_and_border_minutiae_go() {
        let mask = full_mask(100);
        let spur = Branch { to: Some(1), length_px: 6, direction: 0.0 };
        let back = Branch { to: Some(0), length_px: 6, direction: PI };
        let far = Branch { to: None, length_px: 40, direction: 1.0 };
        let c = vec![
            cand(50.0, 50.0, MinutiaKind::Ending, 0.0, vec![spur]),
            cand(56.0, 50.0, MinutiaKind::Bifurcation, 0.0, vec![back, far, far]),
            cand(30.0, 30.0, MinutiaKind::Bifurcation, 0.0, vec![far, far, far]),
            cand(3.0, 50.0, MinutiaKind::Bifurcation, 0.0, vec![far, far, far]),
        ];
        let r = apply(&c, &mask);
        assert_eq!(r, vec![Some(Removal::Spur), Some(Removal::Spur), None, Some(Removal::Border)]);
    }

    #[test]
    fn facing_endings_are_a_broken_ridge() {
        let mask = full_mask(100);
        let far = Branch { to: None, length_px: 40, direction: 0.0 };
        // Ending at (40,50) whose ridge runs left (π); ending at (50,50) whose ridge runs right.
        let c = vec![
            cand(40.0, 50.0, MinutiaKind::Ending, PI, vec![far]),
            cand(50.0, 50.0, MinutiaKind::Ending, 0.0, vec![far]),
            cand(50.0, 70.0, MinutiaKind::Ending, PI, vec![far]),
        ];
        let r = apply(&c, &mask);
        assert_eq!(r, vec![Some(Removal::BrokenRidge), Some(Removal::BrokenRidge), None]);
    }
}

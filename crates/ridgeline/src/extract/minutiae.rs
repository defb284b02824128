//! Minutiae candidates: ridge endings and bifurcations read off the skeleton by crossing number,
//! each with the ridges ("branches") that leave it.
//!
//! A skeleton pixel whose ring of 8 neighbours has one 0→1 transition is an ending; three or
//! more, a bifurcation (adjacent bifurcation pixels form one cluster, one minutia). From every
//! minutia each branch is followed along the skeleton until it reaches another minutia or
//! [`RIDGE_TRACE_MAX_PX`]: the resulting little graph is what the filtering stage reads to
//! recognise spurs, bridges, holes and fragments, and what gives each minutia its direction.
//!
//! Directions are in image coordinates (y down), directed, radians. An ending points along its
//! ridge, away from the free end; a bifurcation points away from its single ridge (the stem),
//! into the valley between its two arms: the ISO/IEC 19794-2 convention, in which a bifurcation
//! has the direction of the valley ending it is dual to (checked against commercial ISO
//! templates of the FVC2002 images: see `examples/iso_proxy.rs`).

use std::f32::consts::PI;

use super::grid::{angle_distance, Plane};
use super::orientation::OrientationField;
use super::parameters::*;
use super::skeleton::{neighbour_code, CROSSING_NUMBER, RING};
use crate::template::MinutiaKind;

/// A ridge leaving a minutia.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Branch {
    /// The minutia it leads to within the traced distance, if any.
    pub(crate) to: Option<usize>,
    /// Pixels followed.
    pub(crate) length_px: usize,
    /// Direction from the minutia to the branch's point at [`DIRECTION_TRACE_PX`] (or its end).
    pub(crate) direction: f32,
}

/// A minutia candidate on the skeleton.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Candidate {
    /// Column in working-resolution pixels.
    pub(crate) x: f32,
    /// Row in working-resolution pixels.
    pub(crate) y: f32,
    /// Ending or bifurcation.
    pub(crate) kind: MinutiaKind,
    /// Direction, image coordinates, radians in `(-π, π]`.
    pub(crate) direction: f32,
    /// The ridges leaving it.
    pub(crate) branches: Vec<Branch>,
}

/// Finds the minutiae of a skeleton and traces their branches.
pub(crate) fn detect(skeleton: &Plane<bool>, orientation: &OrientationField) -> Vec<Candidate> {
    let (w, h) = (skeleton.width, skeleton.height);
    let stride = w + 2;
    let mut buf = vec![0u8; stride * (h + 2)];
    for y in 0..h {
        for x in 0..w {
            buf[(y + 1) * stride + x + 1] = skeleton.data[y * w + x] as u8;
        }
    }
    let ring: Vec<isize> = RING.iter().map(|&(dx, dy)| dy * stride as isize + dx).collect();
    let step = |i: usize, k: usize| (i as isize + ring[k]) as usize;

    // Crossing numbers and minutia pixels.
    let mut owner = vec![u32::MAX; buf.len()];
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut kinds = Vec::new();
    let mut forks = Vec::new();
    for i in stride..buf.len() - stride {
        if buf[i] == 0 {
            continue;
        }
        match CROSSING_NUMBER[neighbour_code(&buf, i, stride) as usize] {
            1 => {
                owner[i] = members.len() as u32;
                members.push(vec![i]);
                kinds.push(MinutiaKind::Ending);
            }
            n if n >= 3 => forks.push(i),
            _ => {}
        }
    }
    // Adjacent fork pixels form one bifurcation.
    const UNASSIGNED_FORK: u32 = u32::MAX - 1;
    for &i in &forks {
        owner[i] = UNASSIGNED_FORK;
    }
    for &start in &forks {
        if owner[start] != UNASSIGNED_FORK {
            continue;
        }
        let id = members.len() as u32;
        let mut cluster = vec![start];
        owner[start] = id;
        let mut next = 0;
        while next < cluster.len() {
            let i = cluster[next];
            next += 1;
            for k in 0..8 {
                let n = step(i, k);
                if owner[n] == UNASSIGNED_FORK {
                    owner[n] = id;
                    cluster.push(n);
                }
            }
        }
        members.push(cluster);
        kinds.push(MinutiaKind::Bifurcation);
    }

    // Trace branches.
    let mut stamp = vec![0u32; buf.len()];
    let mut candidates = Vec::with_capacity(members.len());
    let mut exits = Vec::new();
    for (id, pixels) in members.iter().enumerate() {
        let stamp_id = id as u32 + 1;
        let (cx, cy) = centroid(pixels, stride);
        exits.clear();
        for &i in pixels {
            stamp[i] = stamp_id;
        }
        for &i in pixels {
            for k in 0..8 {
                let n = step(i, k);
                if buf[n] == 1 && stamp[n] != stamp_id {
                    stamp[n] = stamp_id;
                    exits.push(n);
                }
            }
        }
        let mut branches = Vec::with_capacity(exits.len());
        for &exit in &exits {
            let mut cur = exit;
            let mut length = 1;
            let mut to = None;
            let mut direction_point = cur;
            if owner[exit] < UNASSIGNED_FORK && owner[exit] != id as u32 {
                to = Some(owner[exit] as usize);
            } else {
                'walk: while length < RIDGE_TRACE_MAX_PX {
                    // Another minutia next to us ends the branch.
                    for k in 0..8 {
                        let n = step(cur, k);
                        if buf[n] == 1
                            && owner[n] < UNASSIGNED_FORK
                            && owner[n] != id as u32
                            && stamp[n] != stamp_id
                        {
                            to = Some(owner[n] as usize);
                            length += 1;
                            break 'walk;
                        }
                    }
                    // Otherwise continue on an unvisited ridge pixel, 4-neighbours first.
                    let mut next = None;
                    for k in [0, 2, 4, 6, 1, 3, 5, 7] {
                        let n = step(cur, k);
                        if buf[n] == 1 && stamp[n] != stamp_id {
                            next = Some(n);
                            break;
                        }
                    }
                    let Some(n) = next else { break };
                    stamp[n] = stamp_id;
                    cur = n;
                    length += 1;
                    if length <= DIRECTION_TRACE_PX {
                        direction_point = cur;
                    }
                }
            }
            let (px, py) = pixel_xy(direction_point, stride);
            // A dead end after a pixel or two is a side step of the exit itself, not a ridge.
            if to.is_some() || length > 2 {
                branches.push(Branch {
                    to,
                    length_px: length,
                    direction: (py - cy).atan2(px - cx),
                });
            }
        }
        let kind = kinds[id];
        let direction = direction_of(kind, &branches, orientation, cx, cy);
        candidates.push(Candidate { x: cx, y: cy, kind, direction, branches });
    }
    candidates
}

fn pixel_xy(i: usize, stride: usize) -> (f32, f32) {
    ((i % stride) as f32 - 1.0, (i / stride) as f32 - 1.0)
}

fn centroid(pixels: &[usize], stride: usize) -> (f32, f32) {
    let n = pixels.len().max(1) as f32;
    let (sx, sy) = pixels.iter().fold((0.0, 0.0), |(sx, sy), &i| {
        let (x, y) = pixel_xy(i, stride);
        (sx + x, sy + y)
    });
    (sx / n, sy / n)
}

/// The direction of a minutia from its branches, snapped to the (smoother, more precise) local
/// ridge orientation when the two agree.
fn direction_of(
    kind: MinutiaKind,
    branches: &[Branch],
    orientation: &OrientationField,
    x: f32,
    y: f32,
) -> f32 {
    let traced = match (kind, branches) {
        (_, []) => orientation.orientation_at(x, y),
        (MinutiaKind::Ending, [first, ..]) => first.direction,
        (MinutiaKind::Bifurcation, [a, b, c, ..]) => {
            // The two arms are the closest pair of directions; the stem is the odd one out.
            // The direction points away from the stem, between the arms.
            let ab = angle_distance(a.direction, b.direction);
            let bc = angle_distance(b.direction, c.direction);
            let ca = angle_distance(c.direction, a.direction);
            let stem = if ab <= bc && ab <= ca {
                c.direction
            } else if bc <= ca {
                a.direction
            } else {
                b.direction
            };
            stem + PI
        }
        (MinutiaKind::Bifurcation, [a, ..]) => a.direction,
    };
    let theta = orientation.orientation_at(x, y);
    let snapped = if angle_distance(theta, traced) <= PI / 2.0 { theta } else { theta - PI };
    if angle_distance(snapped, traced) < PI / 4.0 {
        super::grid::wrap_pi(snapped)
    } else {
        super::grid::wrap_pi(traced)
    }
}

//! Ground-truth minutiae of a master, found on its rendered ridges.
//!
//! The ridge map is binarised (ridge where the signal is positive), thinned to one-pixel
//! skeletons (Zhang–Suen), and every skeleton pixel with crossing number 1 (ending) or 3
//! (bifurcation) is a candidate. Thinning leaves a few artefacts even on clean synthetic ridges:
//! short spurs and close pairs are removed. The direction of each minutia comes from tracing
//! its ridge a few pixels along the skeleton.

use ridgeline::{Minutia, MinutiaKind};

use crate::params;

/// Neighbour offsets in cyclic order, starting north, clockwise as viewed.
const RING: [(i64, i64); 8] =
    [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)];

/// A one-pixel-wide skeleton on a byte canvas (1 = skeleton).
#[derive(Debug, Clone)]
pub struct Skeleton {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Skeleton {
    #[inline]
    fn at(&self, x: i64, y: i64) -> u8 {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            0
        } else {
            self.pixels[y as usize * self.width + x as usize]
        }
    }

    /// Neighbours of a pixel in [`RING`] order.
    #[inline]
    fn ring(&self, x: i64, y: i64) -> [u8; 8] {
        let mut ring = [0; 8];
        for (value, (dx, dy)) in ring.iter_mut().zip(RING) {
            *value = self.at(x + dx, y + dy);
        }
        ring
    }

    /// Crossing number: half the number of 0/1 transitions around the pixel.
    #[inline]
    fn crossing_number(&self, x: i64, y: i64) -> u8 {
        let ring = self.ring(x, y);
        let mut transitions = 0;
        for i in 0..8 {
            transitions += (ring[i] != ring[(i + 1) % 8]) as u8;
        }
        transitions / 2
    }
}

/// Thins a binary image (non-zero = ridge) to a one-pixel skeleton (Zhang and Suen 1984).
pub fn thin(width: usize, height: usize, binary: &[bool]) -> Skeleton {
    let mut skeleton =
        Skeleton { width, height, pixels: binary.iter().map(|&b| b as u8).collect() };
    let mut removable = Vec::new();
    loop {
        let mut changed = false;
        for pass in 0..2 {
            removable.clear();
            for y in 0..height as i64 {
                for x in 0..width as i64 {
                    if skeleton.at(x, y) == 0 {
                        continue;
                    }
                    let p = skeleton.ring(x, y); // p[0]=P2 (north), clockwise
                    let neighbours: u8 = p.iter().sum();
                    if !(2..=6).contains(&neighbours) {
                        continue;
                    }
                    let mut transitions = 0;
                    for i in 0..8 {
                        transitions += (p[i] == 0 && p[(i + 1) % 8] == 1) as u8;
                    }
                    if transitions != 1 {
                        continue;
                    }
                    let (n, e, s, w) = (p[0], p[2], p[4], p[6]);
                    let keep = if pass == 0 {
                        n * e * s != 0 || e * s * w != 0
                    } else {
                        n * e * w != 0 || n * s * w != 0
                    };
                    if !keep {
                        removable.push(y as usize * width + x as usize);
                    }
                }
            }
            for &index in &removable {
                skeleton.pixels[index] = 0;
            }
            changed |= !removable.is_empty();
        }
        if !changed {
            return skeleton;
        }
    }
}

/// Follows the skeleton from `start` through its neighbour `first` for up to `steps` pixels.
/// Returns where it stopped and whether it stopped at another minutia (or a dead end) early.
fn trace(
    skeleton: &Skeleton,
    start: (i64, i64),
    first: (i64, i64),
    steps: usize,
) -> ((i64, i64), usize) {
    let mut previous = start;
    let mut current = first;
    let mut walked = 1;
    while walked < steps {
        let cn = skeleton.crossing_number(current.0, current.1);
        if cn != 2 {
            break;
        }
        let mut advanced = false;
        // Prefer 4-neighbours: at a diagonal step both a 4- and an 8-neighbour may be set.
        for order in [[0usize, 2, 4, 6], [1, 3, 5, 7]] {
            for i in order {
                let (dx, dy) = RING[i];
                let candidate = (current.0 + dx, current.1 + dy);
                if candidate == previous || candidate == start {
                    continue;
                }
                if (candidate.0 - previous.0).abs() <= 1 && (candidate.1 - previous.1).abs() <= 1 {
                    continue; // a neighbour of where we came from: a corner of the same step
                }
                if skeleton.at(candidate.0, candidate.1) == 1 {
                    previous = current;
                    current = candidate;
                    advanced = true;
                    break;
                }
            }
            if advanced {
                break;
            }
        }
        if !advanced {
            break;
        }
        walked += 1;
    }
    (current, walked)
}

/// Direction (radians, counter-clockwise as viewed) from `from` to `to`.
fn direction(from: (i64, i64), to: (i64, i64)) -> f64 {
    (-((to.1 - from.1) as f64)).atan2((to.0 - from.0) as f64)
}

/// Branch starts around a skeleton pixel: set neighbours, dropping a diagonal one when an
/// adjacent 4-neighbour of the same branch is set.
fn branch_starts(skeleton: &Skeleton, x: i64, y: i64) -> Vec<(i64, i64)> {
    let ring = skeleton.ring(x, y);
    let mut starts = Vec::new();
    for i in 0..8 {
        if ring[i] == 0 {
            continue;
        }
        let diagonal = i % 2 == 1;
        if diagonal && (ring[(i + 7) % 8] == 1 || ring[(i + 1) % 8] == 1) {
            continue;
        }
        starts.push((x + RING[i].0, y + RING[i].1));
    }
    starts
}

/// A candidate minutia before cleaning.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    x: i64,
    y: i64,
    kind: MinutiaKind,
    angle: f64,
    /// For endings: the ridge reaches a bifurcation within the spur length.
    spur: bool,
}

/// Minutiae of a binary ridge image, keeping those for which `keep(x, y)` holds.
pub fn detect(
    width: usize,
    height: usize,
    binary: &[bool],
    keep: impl Fn(f64, f64) -> bool,
) -> Vec<Minutia> {
    let skeleton = thin(width, height, binary);
    let mut candidates = Vec::new();
    for y in 1..height as i64 - 1 {
        for x in 1..width as i64 - 1 {
            if skeleton.at(x, y) == 0 {
                continue;
            }
            let kind = match skeleton.crossing_number(x, y) {
                1 => MinutiaKind::Ending,
                3 => MinutiaKind::Bifurcation,
                _ => continue,
            };
            let starts = branch_starts(&skeleton, x, y);
            let traces: Vec<((i64, i64), usize)> = starts
                .iter()
                .map(|&s| trace(&skeleton, (x, y), s, params::DIRECTION_TRACE_STEPS))
                .collect();
            let (angle, spur) = match (kind, traces.as_slice()) {
                (MinutiaKind::Ending, [(end, walked)]) => {
                    (direction((x, y), *end), *walked < params::SPUR_LENGTH_PX)
                }
                (MinutiaKind::Bifurcation, [a, b, c]) => {
                    let d =
                        [direction((x, y), a.0), direction((x, y), b.0), direction((x, y), c.0)];
                    // The two fork branches are the closest pair; the third is the stem.
                    let gap = |i: usize, j: usize| angular_distance(d[i], d[j]);
                    let stem = if gap(0, 1) <= gap(0, 2) && gap(0, 1) <= gap(1, 2) {
                        2
                    } else if gap(0, 2) <= gap(1, 2) {
                        1
                    } else {
                        0
                    };
                    // The core convention (template.rs): a bifurcation points away from its
                    // stem, into the valley between the two arms.
                    ((d[stem] + std::f64::consts::PI).rem_euclid(std::f64::consts::TAU), false)
                }
                _ => continue, // a crossing-number pixel on a blob corner: not a clean minutia
            };
            candidates.push(Candidate { x, y, kind, angle, spur });
        }
    }

    // Clean-up: spurs (short ending next to a bifurcation) and close pairs are artefacts.
    let mut dropped = vec![false; candidates.len()];
    for i in 0..candidates.len() {
        for j in i + 1..candidates.len() {
            let (a, b) = (candidates[i], candidates[j]);
            let distance = (((a.x - b.x).pow(2) + (a.y - b.y).pow(2)) as f64).sqrt();
            let spur_pair = (a.spur || b.spur)
                && a.kind != b.kind
                && distance <= params::SPUR_LENGTH_PX as f64 + 1.5;
            if spur_pair || distance < params::CLOSE_PAIR_PX {
                dropped[i] = true;
                dropped[j] = true;
            }
        }
    }
    candidates
        .iter()
        .zip(dropped)
        .filter(|(c, dropped)| !dropped && !c.spur && keep(c.x as f64, c.y as f64))
        .map(|(c, _)| Minutia {
            x: c.x as f32,
            y: c.y as f32,
            angle: ridgeline::template::normalize_angle(c.angle as f32),
            kind: c.kind,
            quality: 100,
        })
        .collect()
}

/// Smallest absolute difference between two directions, in `[0, π]`.
pub fn angular_distance(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(std::f64::consts::TAU);
    d.min(std::f64::consts::TAU - d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A horizontal ridge 3 px thick from x = 10 to 40, and a second one forking from it.
    fn forked() -> (usize, usize, Vec<bool>) {
        let (w, h) = (60, 40);
        let mut b = vec![false; w * h];
        for x in 10..=40 {
            for y in 19..=21 {
                b[y * w + x] = true;
            }
        }
        // Branch from (25, 20) going up-right to (40, 5).
        for t in 0..=15 {
            for d in -1..=1i64 {
                let x = (25 + t) as i64 + d;
                let y = 20 - t as i64;
                b[y as usize * w + x as usize] = true;
            }
        }
        (w, h, b)
    }

    #[test]
    fn finds_ending_and_bifurcation_with_directions() {
        let (w, h, b) = forked();
        let found = detect(w, h, &b, |_, _| true);
        let ending = found
            .iter()
            .find(|m| m.kind == MinutiaKind::Ending && m.x < 15.0)
            .expect("left ending");
        // The ridge leaves the left ending towards +x: angle about 0.
        assert!(angular_distance(ending.angle as f64, 0.0) < 0.3, "{}", ending.angle);
        let fork = found.iter().find(|m| m.kind == MinutiaKind::Bifurcation).expect("fork");
        assert!((fork.x - 25.0).abs() < 4.0 && (fork.y - 20.0).abs() < 4.0, "{fork:?}");
        // The stem is the left part of the horizontal ridge; the fork points away from it: 0.
        assert!(angular_distance(fork.angle as f64, 0.0) < 0.4, "{}", fork.angle);
    }

    #[test]
    fn thinning_leaves_one_pixel_lines() {
        let (w, h, b) = forked();
        let skeleton = thin(w, h, &b);
        for x in 12..22 {
            let column: u8 = (15..25).map(|y| skeleton.pixels[y * w + x]).sum();
            assert_eq!(column, 1, "column {x}");
        }
    }
}

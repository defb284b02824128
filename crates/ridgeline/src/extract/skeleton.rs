//! The ridge skeleton: the binary ridge map thinned to curves one pixel wide.
//!
//! Zhang–Suen thinning (end-preserving: pixels with fewer than three neighbours stay; two sub-iterations, decided by 256-entry lookup tables over the 8
//! neighbours) runs until nothing changes; then pixels left on "staircases" (a corner between two
//! 4-neighbours that are themselves diagonal neighbours) are removed where that keeps the
//! topology, so that every ridge pixel of the result has exactly two neighbours and the crossing
//! number reads minutiae reliably. Both steps repeat until neither changes anything, which
//! makes thinning idempotent.
//!
//! Neighbour bits, clockwise from north: N=0, NE=1, E=2, SE=3, S=4, SW=5, W=6, NW=7.

use super::grid::Plane;

/// Offsets (dx, dy) of the neighbour bits, clockwise from north.
pub(crate) const RING: [(isize, isize); 8] =
    [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)];

/// The 8-neighbour code of pixel `i` in a buffer of row length `stride` (1 = ridge).
#[inline]
pub(crate) fn neighbour_code(buf: &[u8], i: usize, stride: usize) -> u8 {
    let up = i - stride;
    let down = i + stride;
    buf[up]
        | buf[up + 1] << 1
        | buf[i + 1] << 2
        | buf[down + 1] << 3
        | buf[down] << 4
        | buf[down - 1] << 5
        | buf[i - 1] << 6
        | buf[up - 1] << 7
}

/// Number of 0→1 transitions around the ring (the crossing number).
pub(crate) const fn transitions(code: u8) -> u32 {
    let mut count = 0;
    let mut k = 0;
    while k < 8 {
        let a = (code >> k) & 1;
        let b = (code >> ((k + 1) % 8)) & 1;
        if a == 0 && b == 1 {
            count += 1;
        }
        k += 1;
    }
    count
}

/// [`transitions`] of every neighbour code.
pub(crate) static CROSSING_NUMBER: [u8; 256] = crossing_number_table();

const fn crossing_number_table() -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = transitions(c as u8) as u8;
        c += 1;
    }
    table
}

const fn bit(code: u8, k: u32) -> bool {
    (code >> k) & 1 == 1
}

/// Zhang–Suen deletion tables for the two sub-iterations.
// The conditions are written as in the paper, which is clearer than their minimal form.
#[allow(clippy::nonminimal_bool)]
const fn zhang_suen_table(second: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let code = c as u8;
        let count = code.count_ones();
        let (n, e, s, w) = (bit(code, 0), bit(code, 2), bit(code, 4), bit(code, 6));
        let ok = if second {
            !(n && e && w) && !(n && s && w)
        } else {
            !(n && e && s) && !(e && s && w)
        };
        // Classic Zhang–Suen deletes from 2 neighbours up; requiring 3 keeps a line's end pixel
        // (whose two neighbours are adjacent), which otherwise erodes diagonal ridges from
        // their ends and moves every ridge ending inwards.
        table[c] = count >= 3 && count <= 6 && transitions(code) == 1 && ok;
        c += 1;
    }
    table
}

/// Whether removing the centre keeps the local topology: its ridge neighbours form one
/// 8-connected group and it is not the only thing separating background (it has a background
/// 4-neighbour).
const fn is_simple(code: u8) -> bool {
    // Ring neighbours k and k+1 are always adjacent; two 4-neighbours (even k) two apart are
    // adjacent diagonally. Count groups by union over the ring.
    let mut parent = [0usize, 1, 2, 3, 4, 5, 6, 7];
    let mut k = 0;
    while k < 8 {
        let next = (k + 1) % 8;
        if bit(code, k as u32) && bit(code, next as u32) {
            union(&mut parent, k, next);
        }
        if k % 2 == 0 {
            let next4 = (k + 2) % 8;
            if bit(code, k as u32) && bit(code, next4 as u32) {
                union(&mut parent, k, next4);
            }
        }
        k += 1;
    }
    let mut groups = 0;
    let mut i = 0;
    while i < 8 {
        if bit(code, i as u32) && find(&parent, i) == i {
            groups += 1;
        }
        i += 1;
    }
    let has_background_4 = !bit(code, 0) || !bit(code, 2) || !bit(code, 4) || !bit(code, 6);
    groups == 1 && has_background_4
}

const fn find(parent: &[usize; 8], mut i: usize) -> usize {
    while parent[i] != i {
        i = parent[i];
    }
    i
}

const fn union(parent: &mut [usize; 8], a: usize, b: usize) {
    let ra = find(parent, a);
    let rb = find(parent, b);
    if ra != rb {
        parent[ra] = rb;
    }
}

/// Staircase pixels: two 4-neighbours that are diagonal to each other are both set (the centre
/// is a redundant corner), at least two neighbours, and removal keeps the topology.
#[allow(clippy::nonminimal_bool)] // one term per corner reads best
const fn staircase_table() -> [bool; 256] {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let code = c as u8;
        let (n, e, s, w) = (bit(code, 0), bit(code, 2), bit(code, 4), bit(code, 6));
        let corner = (n && e) || (e && s) || (s && w) || (w && n);
        table[c] = corner && code.count_ones() >= 2 && is_simple(code);
        c += 1;
    }
    table
}

static ZHANG_SUEN_FIRST: [bool; 256] = zhang_suen_table(false);
static ZHANG_SUEN_SECOND: [bool; 256] = zhang_suen_table(true);
static STAIRCASE: [bool; 256] = staircase_table();

/// Thins a binary ridge map to a one-pixel-wide skeleton of the same size.
pub(crate) fn compute(binary: &Plane<bool>) -> Plane<bool> {
    let (w, h) = (binary.width, binary.height);
    let stride = w + 2;
    // One-pixel frame of background so that neighbour reads never leave the buffer.
    let mut buf = vec![0u8; stride * (h + 2)];
    let mut live: Vec<usize> = Vec::new();
    for y in 0..h {
        for x in 0..w {
            if binary.data[y * w + x] {
                let i = (y + 1) * stride + x + 1;
                buf[i] = 1;
                live.push(i);
            }
        }
    }
    let mut doomed = Vec::new();
    loop {
        loop {
            let mut changed = false;
            for table in [&ZHANG_SUEN_FIRST, &ZHANG_SUEN_SECOND] {
                doomed.clear();
                doomed.extend(
                    live.iter()
                        .copied()
                        .filter(|&i| table[neighbour_code(&buf, i, stride) as usize]),
                );
                for &i in &doomed {
                    buf[i] = 0;
                }
                changed |= !doomed.is_empty();
                live.retain(|&i| buf[i] == 1);
            }
            if !changed {
                break;
            }
        }
        // Staircase removal is sequential: each decision sees the previous ones.
        let mut removed = false;
        for &i in &live {
            if STAIRCASE[neighbour_code(&buf, i, stride) as usize] {
                buf[i] = 0;
                removed = true;
            }
        }
        live.retain(|&i| buf[i] == 1);
        // Zhang–Suen had already converged: if the staircase pass changed nothing either, the
        // skeleton is final.
        if !removed {
            break;
        }
    }
    let mut out = Plane::filled(w, h, false);
    for &i in &live {
        let (x, y) = (i % stride - 1, i / stride - 1);
        out.data[y * w + x] = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn parse(rows: &[&str]) -> Plane<bool> {
        let width = rows[0].len();
        Plane {
            width,
            height: rows.len(),
            data: rows.iter().flat_map(|r| r.bytes().map(|b| b == b'#')).collect(),
        }
    }

    fn show(p: &Plane<bool>) -> Vec<String> {
        p.data
            .chunks(p.width)
            .map(|r| r.iter().map(|&b| if b { '#' } else { '.' }).collect())
            .collect()
    }

    #[test]
    fn crossing_numbers() {
        assert_eq!(transitions(0b0000_0001), 1); // only N: an ending
        assert_eq!(transitions(0b0001_0001), 2); // N and S: a ridge
        assert_eq!(transitions(0b0101_0001), 3); // N, S, W: a fork
        assert_eq!(transitions(0b0000_0011), 1); // N and NE together
    }

    #[test]
    fn thick_bar_thins_to_a_line() {
        let bar = parse(&["..........", ".########.", ".########.", ".########.", ".........."]);
        let skel = compute(&bar);
        let rows = show(&skel);
        assert_eq!(
            skel.data.iter().filter(|&&b| b).count(),
            rows[2].matches('#').count(),
            "{rows:#?}"
        );
        assert!(rows[2].matches('#').count() >= 5, "{rows:#?}");
    }

    #[test]
    fn staircase_is_removed_keeping_connectivity() {
        // A 4-connected staircase, one pixel thick: every inner corner is redundant.
        let stairs = parse(&[
            "........", ".#......", ".##.....", "..##....", "...##...", "....##..", ".....#..",
            "........",
        ]);
        let skel = compute(&stairs);
        // Every remaining pixel has at most two neighbours: a clean 8-connected curve.
        for y in 0..skel.height as isize {
            for x in 0..skel.width as isize {
                if skel.get(x, y) == Some(true) {
                    let n = RING
                        .iter()
                        .filter(|(dx, dy)| skel.get(x + dx, y + dy) == Some(true))
                        .count();
                    assert!(n <= 2, "{:#?}", show(&skel));
                }
            }
        }
        assert!(skel.data.iter().filter(|&&b| b).count() >= 5, "{:#?}", show(&skel));
    }

    #[test]
    fn ring_keeps_its_hole() {
        let ring = parse(&[".......", ".#####.", ".#...#.", ".#...#.", ".#####.", "......."]);
        let skel = compute(&ring);
        // Corners may be cut, but the loop stays closed: every pixel has two neighbours.
        assert!(skel.data.iter().filter(|&&b| b).count() >= 10, "{:#?}", show(&skel));
        for y in 0..skel.height as isize {
            for x in 0..skel.width as isize {
                if skel.get(x, y) == Some(true) {
                    let n = RING
                        .iter()
                        .filter(|(dx, dy)| skel.get(x + dx, y + dy) == Some(true))
                        .count();
                    assert_eq!(n, 2, "{:#?}", show(&skel));
                }
            }
        }
    }

    #[test]
    fn thinning_is_idempotent_on_a_blob() {
        let blob = parse(&[
            "............",
            "..######....",
            ".#########..",
            ".##########.",
            "...#######..",
            "....###.....",
            "............",
        ]);
        let once = compute(&blob);
        assert_eq!(compute(&once), once);
    }
}

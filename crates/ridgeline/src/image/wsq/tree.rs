//! Subband geometry: the wavelet decomposition tree (20 nodes) and the 64 quantization
//! subbands, computed from the image size exactly as NBIS does (odd sizes split unevenly, in a
//! direction that depends on the node).

/// A wavelet tree node: a rectangle split into four, with spectral inversion flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WNode {
    pub x: i32,
    pub y: i32,
    pub lenx: i32,
    pub leny: i32,
    pub inv_rw: bool,
    pub inv_cl: bool,
}

/// A quantization subband rectangle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct QNode {
    pub x: i32,
    pub y: i32,
    pub lenx: i32,
    pub leny: i32,
}

impl QNode {
    pub(crate) fn area(&self) -> usize {
        (self.lenx.max(0) as usize) * (self.leny.max(0) as usize)
    }
}

/// Both trees for an image of `width` × `height`.
pub(crate) fn build(width: i32, height: i32) -> ([WNode; 20], [QNode; 64]) {
    let w = build_w_tree(width, height);
    let q = build_q_tree(&w);
    (w, q)
}

fn halves(len: i32) -> (i32, i32) {
    if len % 2 == 0 {
        (len / 2, len / 2)
    } else {
        ((len + 1) / 2, (len + 1) / 2 - 1)
    }
}

fn build_w_tree(width: i32, height: i32) -> [WNode; 20] {
    let mut w = [WNode::default(); 20];
    for n in [2, 4, 7, 9, 11, 13, 16, 18] {
        w[n].inv_rw = true;
    }
    for n in [3, 5, 8, 9, 12, 13, 17, 18] {
        w[n].inv_cl = true;
    }
    w_tree4(&mut w, 0, 1, width, height, 0, 0, true);
    let (lenx, lenx2) = halves(w[1].lenx);
    let (leny, leny2) = halves(w[1].leny);
    w_tree4(&mut w, 4, 6, lenx2, leny, lenx, 0, false);
    w_tree4(&mut w, 5, 10, lenx, leny2, 0, leny, false);
    w_tree4(&mut w, 14, 15, lenx, leny, 0, 0, false);
    w[19].x = 0;
    w[19].y = 0;
    w[19].lenx = halves(w[15].lenx).0;
    w[19].leny = halves(w[15].leny).0;
    w
}

#[allow(clippy::too_many_arguments)]
fn w_tree4(
    w: &mut [WNode; 20],
    p1: usize,
    p2: usize,
    lenx: i32,
    leny: i32,
    x: i32,
    y: i32,
    stop1: bool,
) {
    w[p1].x = x;
    w[p1].y = y;
    w[p1].lenx = lenx;
    w[p1].leny = leny;
    w[p2].x = x;
    w[p2 + 2].x = x;
    w[p2].y = y;
    w[p2 + 1].y = y;
    if lenx % 2 == 0 {
        w[p2].lenx = lenx / 2;
        w[p2 + 1].lenx = w[p2].lenx;
    } else if p1 == 4 {
        w[p2].lenx = (lenx - 1) / 2;
        w[p2 + 1].lenx = w[p2].lenx + 1;
    } else {
        w[p2].lenx = (lenx + 1) / 2;
        w[p2 + 1].lenx = w[p2].lenx - 1;
    }
    w[p2 + 1].x = w[p2].lenx + x;
    if !stop1 {
        w[p2 + 3].lenx = w[p2 + 1].lenx;
        w[p2 + 3].x = w[p2 + 1].x;
    }
    w[p2 + 2].lenx = w[p2].lenx;
    if leny % 2 == 0 {
        w[p2].leny = leny / 2;
        w[p2 + 2].leny = w[p2].leny;
    } else if p1 == 5 {
        w[p2].leny = (leny - 1) / 2;
        w[p2 + 2].leny = w[p2].leny + 1;
    } else {
        w[p2].leny = (leny + 1) / 2;
        w[p2 + 2].leny = w[p2].leny - 1;
    }
    w[p2 + 2].y = w[p2].leny + y;
    if !stop1 {
        w[p2 + 3].leny = w[p2 + 2].leny;
        w[p2 + 3].y = w[p2 + 2].y;
    }
    w[p2 + 1].leny = w[p2].leny;
}

fn build_q_tree(w: &[WNode; 20]) -> [QNode; 64] {
    let mut q = [QNode::default(); 64];
    q_tree16(&mut q, 3, w[14], false, false);
    q_tree16(&mut q, 19, w[4], false, true);
    q_tree16(&mut q, 48, w[0], false, false);
    q_tree16(&mut q, 35, w[5], true, false);
    // Overwrites subband 3 written above, as NBIS does.
    q_tree4(&mut q, 0, w[19].lenx, w[19].leny, w[19].x, w[19].y);
    q
}

fn q_tree16(q: &mut [QNode; 64], p: usize, n: WNode, rw: bool, cl: bool) {
    let (lenx, leny, x, y) = (n.lenx, n.leny, n.x, n.y);
    let (tempx, temp2x) = if lenx % 2 == 0 {
        (lenx / 2, lenx / 2)
    } else if cl {
        ((lenx + 1) / 2 - 1, (lenx + 1) / 2)
    } else {
        ((lenx + 1) / 2, (lenx + 1) / 2 - 1)
    };
    let (tempy, temp2y) = if leny % 2 == 0 {
        (leny / 2, leny / 2)
    } else if rw {
        ((leny + 1) / 2 - 1, (leny + 1) / 2)
    } else {
        ((leny + 1) / 2, (leny + 1) / 2 - 1)
    };
    q_tree4(q, p, tempx, tempy, x, y);
    // The second quadrant group (p+4..p+7) splits temp2x; rows as the first group.
    q[p + 4].x = x + tempx;
    q[p + 6].x = q[p + 4].x;
    q[p + 4].y = y;
    q[p + 5].y = y;
    q[p + 6].y = q[p + 2].y;
    q[p + 7].y = q[p + 2].y;
    q[p + 4].leny = q[p].leny;
    q[p + 5].leny = q[p].leny;
    q[p + 6].leny = q[p + 2].leny;
    q[p + 7].leny = q[p + 2].leny;
    if temp2x % 2 == 0 {
        q[p + 4].lenx = temp2x / 2;
        q[p + 5].lenx = q[p + 4].lenx;
        q[p + 6].lenx = q[p + 4].lenx;
        q[p + 7].lenx = q[p + 4].lenx;
    } else {
        q[p + 5].lenx = (temp2x + 1) / 2;
        q[p + 4].lenx = q[p + 5].lenx - 1;
        q[p + 6].lenx = q[p + 4].lenx;
        q[p + 7].lenx = q[p + 5].lenx;
    }
    q[p + 5].x = q[p + 4].x + q[p + 4].lenx;
    q[p + 7].x = q[p + 5].x;
    // The third group (p+8..p+11) splits temp2y.
    q[p + 8].x = x;
    q[p + 9].x = q[p + 1].x;
    q[p + 10].x = x;
    q[p + 11].x = q[p + 1].x;
    q[p + 8].y = y + tempy;
    q[p + 9].y = q[p + 8].y;
    q[p + 8].lenx = q[p].lenx;
    q[p + 9].lenx = q[p + 1].lenx;
    q[p + 10].lenx = q[p].lenx;
    q[p + 11].lenx = q[p + 1].lenx;
    if temp2y % 2 == 0 {
        q[p + 8].leny = temp2y / 2;
        q[p + 9].leny = q[p + 8].leny;
        q[p + 10].leny = q[p + 8].leny;
        q[p + 11].leny = q[p + 8].leny;
    } else {
        q[p + 10].leny = (temp2y + 1) / 2;
        q[p + 11].leny = q[p + 10].leny;
        q[p + 8].leny = q[p + 10].leny - 1;
        q[p + 9].leny = q[p + 8].leny;
    }
    q[p + 10].y = q[p + 8].y + q[p + 8].leny;
    q[p + 11].y = q[p + 10].y;
    // The fourth group (p+12..p+15) combines the columns of the second and rows of the third.
    for (k, (cx, ry)) in [(4, 8), (5, 8), (4, 10), (5, 10)].into_iter().enumerate() {
        q[p + 12 + k].x = q[p + cx].x;
        q[p + 12 + k].lenx = q[p + cx].lenx;
        q[p + 12 + k].y = q[p + ry].y;
        q[p + 12 + k].leny = q[p + ry].leny;
    }
}

fn q_tree4(q: &mut [QNode; 64], p: usize, lenx: i32, leny: i32, x: i32, y: i32) {
    q[p].x = x;
    q[p + 2].x = x;
    q[p].y = y;
    q[p + 1].y = y;
    if lenx % 2 == 0 {
        q[p].lenx = lenx / 2;
        q[p + 1].lenx = q[p].lenx;
        q[p + 2].lenx = q[p].lenx;
        q[p + 3].lenx = q[p].lenx;
    } else {
        q[p].lenx = (lenx + 1) / 2;
        q[p + 1].lenx = q[p].lenx - 1;
        q[p + 2].lenx = q[p].lenx;
        q[p + 3].lenx = q[p + 1].lenx;
    }
    q[p + 1].x = x + q[p].lenx;
    q[p + 3].x = q[p + 1].x;
    if leny % 2 == 0 {
        q[p].leny = leny / 2;
        q[p + 1].leny = q[p].leny;
        q[p + 2].leny = q[p].leny;
        q[p + 3].leny = q[p].leny;
    } else {
        q[p].leny = (leny + 1) / 2;
        q[p + 1].leny = q[p].leny;
        q[p + 2].leny = q[p].leny - 1;
        q[p + 3].leny = q[p + 2].leny;
    }
    q[p + 2].y = y + q[p].leny;
    q[p + 3].y = q[p + 2].y;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subbands_tile_the_image_without_overlap() {
        for (w, h) in [(832, 768), (512, 512), (333, 517), (1800, 1000), (64, 65)] {
            let (_, q) = build(w, h);
            let mut covered = vec![0u8; (w * h) as usize];
            for node in q.iter().take(64) {
                for yy in node.y..node.y + node.leny {
                    for xx in node.x..node.x + node.lenx {
                        covered[(yy * w + xx) as usize] += 1;
                    }
                }
            }
            assert!(covered.iter().all(|&c| c == 1), "{w}x{h}");
        }
    }
}

//! Duplicate clusters: records linked by matching pairs, grouped with union-find.
//!
//! A cluster is a connected component of the graph whose edges are the pairs above threshold.
//! Its *weakest link* is the bottleneck of its maximum spanning tree: the lowest-scoring pair
//! that is still needed to hold the cluster together. The cluster is only as certain as that
//! link, so its false match rate is the one a clerk should read.

use std::cmp::Ordering;

/// Disjoint sets over `0..n` with union by size and path halving.
#[derive(Debug, Clone)]
pub(crate) struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> Self {
        UnionFind { parent: (0..n as u32).collect(), size: vec![1; n] }
    }

    /// The representative of `x`'s set.
    pub(crate) fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grandparent = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grandparent;
            x = grandparent;
        }
        x
    }

    /// Merges the sets of `a` and `b`; returns whether they were separate.
    pub(crate) fn union(&mut self, a: u32, b: u32) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
        true
    }
}

/// A record pair above threshold. `a < b` are record indices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkedPair {
    /// Lower record index.
    pub a: u32,
    /// Higher record index.
    pub b: u32,
    /// Fused score (`−log10` of `fmr`).
    pub score: f64,
    /// Fused false match rate.
    pub fmr: f64,
}

/// One group of records that appear to be the same person.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Record indices, ascending.
    pub records: Vec<u32>,
    /// Every linked pair within the cluster, strongest first.
    pub pairs: Vec<LinkedPair>,
    /// False match rate of the weakest link of the maximum spanning tree.
    pub weakest_link_fmr: f64,
}

impl Cluster {
    /// Score of the strongest pair.
    pub(crate) fn best_score(&self) -> f64 {
        self.pairs.first().map_or(0.0, |p| p.score)
    }
}

/// Strongest first; ties broken by record indices so that output is deterministic.
fn strongest_first(x: &LinkedPair, y: &LinkedPair) -> Ordering {
    y.score.total_cmp(&x.score).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b))
}

/// Groups the pairs into clusters over records `0..records`, strongest cluster first.
///
/// Pairs whose indices are out of range are ignored (they cannot come from a consistent run).
pub(crate) fn build_clusters(records: usize, pairs: &[LinkedPair]) -> Vec<Cluster> {
    let mut sorted: Vec<LinkedPair> =
        pairs.iter().copied().filter(|p| (p.a.max(p.b) as usize) < records && p.a != p.b).collect();
    sorted.sort_by(strongest_first);
    // Kruskal in decreasing score: every pair that merges two sets is a spanning-tree edge.
    let mut sets = UnionFind::new(records);
    let mut tree_edges = Vec::with_capacity(sorted.len());
    for (k, p) in sorted.iter().enumerate() {
        if sets.union(p.a, p.b) {
            tree_edges.push(k);
        }
    }
    let mut by_root: std::collections::BTreeMap<u32, Cluster> = std::collections::BTreeMap::new();
    for (k, p) in sorted.iter().enumerate() {
        let root = sets.find(p.a);
        let cluster = by_root.entry(root).or_insert_with(|| Cluster {
            records: Vec::new(),
            pairs: Vec::new(),
            weakest_link_fmr: 0.0,
        });
        cluster.pairs.push(*p);
        cluster.records.extend([p.a, p.b]);
        if tree_edges.binary_search(&k).is_ok() {
            cluster.weakest_link_fmr = cluster.weakest_link_fmr.max(p.fmr);
        }
    }
    let mut clusters: Vec<Cluster> = by_root
        .into_values()
        .map(|mut c| {
            c.records.sort_unstable();
            c.records.dedup();
            c
        })
        .collect();
    clusters.sort_by(|x, y| {
        y.best_score().total_cmp(&x.best_score()).then(x.records.first().cmp(&y.records.first()))
    });
    clusters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: u32, b: u32, fmr: f64) -> LinkedPair {
        LinkedPair { a, b, score: -fmr.log10(), fmr }
    }

    #[test]
    fn union_find_merges_transitively() {
        let mut uf = UnionFind::new(6);
        assert!(uf.union(0, 1));
        assert!(uf.union(2, 3));
        assert!(!uf.union(1, 0));
        assert_ne!(uf.find(0), uf.find(2));
        assert!(uf.union(1, 3));
        assert_eq!(uf.find(0), uf.find(2));
        assert_eq!(uf.find(3), uf.find(0));
        assert_ne!(uf.find(4), uf.find(5));
    }

    #[test]
    fn union_find_handles_long_chains() {
        let n = 100_000;
        let mut uf = UnionFind::new(n);
        for i in 1..n as u32 {
            uf.union(i - 1, i);
        }
        let root = uf.find(0);
        assert!((0..n as u32).all(|i| uf.find(i) == root));
    }

    #[test]
    fn clusters_group_components_and_find_the_weakest_link() {
        // 0-1-2 is a chain held by a weak 1-2 link; the strong 0-2 link makes 1-2 redundant.
        let pairs = [pair(0, 1, 1e-12), pair(1, 2, 1e-6), pair(0, 2, 1e-10), pair(5, 7, 1e-8)];
        let clusters = build_clusters(10, &pairs);
        assert_eq!(clusters.len(), 2);
        assert_eq!(clusters[0].records, vec![0, 1, 2]);
        assert_eq!(clusters[0].pairs.len(), 3);
        assert_eq!(clusters[0].pairs[0], pairs[0]);
        assert_eq!(clusters[0].weakest_link_fmr, 1e-10);
        assert_eq!(clusters[1].records, vec![5, 7]);
        assert_eq!(clusters[1].weakest_link_fmr, 1e-8);
    }

    #[test]
    fn chains_are_only_as_strong_as_their_weakest_link() {
        let pairs = [pair(3, 4, 1e-12), pair(4, 9, 1e-5)];
        let clusters = build_clusters(10, &pairs);
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].weakest_link_fmr, 1e-5);
    }

    #[test]
    fn output_does_not_depend_on_input_order() {
        let mut pairs =
            vec![pair(0, 1, 1e-9), pair(2, 3, 1e-9), pair(1, 4, 1e-7), pair(6, 8, 1e-11)];
        let forward = build_clusters(9, &pairs);
        pairs.reverse();
        assert_eq!(build_clusters(9, &pairs), forward);
        assert_eq!(forward[0].records, vec![6, 8]);
    }

    #[test]
    fn ignores_out_of_range_and_self_pairs() {
        let clusters = build_clusters(3, &[pair(1, 7, 1e-9), pair(2, 2, 1e-9)]);
        assert!(clusters.is_empty());
    }
}

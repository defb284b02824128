//! Every tuning constant of the matcher, with its unit. Distances are in pixels at 500 dpi
//! (templates at other resolutions are scaled to 500 dpi when prepared), angles in radians.
//!
//! The values start from the published Minutia Cylinder-Code design (Cappelli, Ferrara, Maltoni,
//! TPAMI 2010), bit-based variant with local similarity sort and relaxation (LSS-R); where
//! they differ, the comment says why.

use std::f32::consts::PI;

/// Resolution all geometry is normalised to.
pub(crate) const WORKING_DPI: f32 = 500.0;

/// Cylinder radius.
pub(crate) const CYLINDER_RADIUS_PX: f32 = 70.0;
/// Spatial cells along one side of the cylinder's base: 8, where the paper has 16. A cylinder of
/// 8 × 8 × 6 cells takes 56 bytes instead of 224 and, with the spatial sigma below, matches as
/// well on the development sets; bytes, accuracy and time of other geometries:
/// `scripts/template-tradeoff` (`docs/PERFORMANCE.md`, "Template size"). The coarse pooling
/// needs a multiple of 8.
pub const SPATIAL_CELLS: usize = 8;
/// Angular sections of the cylinder (directional differences of the neighbours).
pub const ANGULAR_CELLS: usize = 6;
/// Standard deviation of the spatial Gaussian contribution of a neighbour. The paper's 28/3 px
/// suits its 8.75-px cells; for the 17.5-px cells here 8 px was chosen leave one development
/// set out (over 6, 7, 8 and 9.33 px, the three-set mean picks 8 in all four folds).
pub const SPATIAL_SIGMA_PX: f32 = 8.0;
/// Standard deviation of the directional Gaussian contribution.
pub(crate) const ANGULAR_SIGMA_RAD: f32 = 2.0 * PI / 9.0;
/// A cell's bit is set when the summed contribution reaches this value (the bit-based form
/// replaces the paper's sigmoid by this step).
pub(crate) const CELL_ON_THRESHOLD: f32 = 0.01;
/// Neighbours farther than this many sigmas from a cell centre contribute nothing.
pub(crate) const NEIGHBOUR_CUTOFF_SIGMAS: f32 = 3.0;
/// The region of interest is the minutiae's convex hull grown by this much; cells outside
/// are invalid (unknown), not empty.
pub(crate) const HULL_MARGIN_PX: f32 = 50.0;
/// A cylinder is kept when at least this share of its disk's cells is valid.
pub(crate) const MIN_VALID_CELL_SHARE: f32 = 0.75;
/// A cylinder is kept when at least this many other minutiae lie within its reach.
pub(crate) const MIN_NEIGHBOURS: usize = 2;
/// Two cylinders are comparable when at least this share of the disk's cells is valid in both.
pub(crate) const MIN_COMMON_CELL_SHARE: f32 = 0.6;
/// Two minutiae whose directions differ by more than this are never paired.
pub(crate) const MAX_DIRECTION_DIFFERENCE_RAD: f32 = PI / 2.0;

/// Most minutiae a prepared template holds; above it the best by quality are kept. Plain
/// impressions at 500 dpi have about 30 usable minutiae (28.4 cylinders on average on the
/// development sets); keeping 40 measured the same as keeping 64, holds the prepared record
/// under 3 KB, and the cost of a comparison grows with the product of the two counts.
pub const MAX_PREPARED_MINUTIAE: usize = 40;

/// Pairs taken into relaxation: at most this many, chosen one-to-one by local similarity.
pub(crate) const MAX_RELAXATION_PAIRS: usize = 24;
/// Relaxation iterations.
pub(crate) const RELAXATION_ITERATIONS: usize = 5;
/// Weight of a pair's own similarity against its neighbours' support in each iteration.
pub(crate) const RELAXATION_SELF_WEIGHT: f32 = 0.5;
/// Geometric consistency of two pairs: the position predicted by one pair's rigid motion may
/// miss the other pair's by this much (plus the share below of their distance) before the
/// pairs count as incompatible.
pub(crate) const COMPATIBLE_POSITION_ERROR_PX: f32 = 12.0;
/// Distance-proportional part of the position tolerance (rotation uncertainty and skin
/// distortion grow with distance).
pub(crate) const COMPATIBLE_POSITION_ERROR_PER_PX: f32 = 0.1;
/// Rotations of two compatible pairs may differ by up to this much.
pub(crate) const COMPATIBLE_ROTATION_ERROR_RAD: f32 = PI / 6.0;
/// The score averages the best `n_p` relaxed similarities, `n_p` growing with the smaller
/// minutiae count from `MIN_SCORED_PAIRS` to `MAX_SCORED_PAIRS` along a sigmoid centred at
/// `SCORED_PAIRS_MIDPOINT` with slope `SCORED_PAIRS_SLOPE` (per minutia).
pub(crate) const MIN_SCORED_PAIRS: usize = 4;
/// See [`MIN_SCORED_PAIRS`].
pub(crate) const MAX_SCORED_PAIRS: usize = 12;
/// See [`MIN_SCORED_PAIRS`]. The paper centres the sigmoid at 20 minutiae; 26 here because a
/// template of 20–25 minutiae (typical of our extractor on small or dry prints) rarely has 8 or
/// more true mates in the common area, so the paper's `n_p` averages wrong pairs into genuine
/// scores. Measured on the four FVC2002 B sets with our extractor: every centre from 24 to 30
/// gives about the same result (mean EER 2.3 % against 2.62 % at 20); on the ISO templates it
/// is neutral.
pub(crate) const SCORED_PAIRS_MIDPOINT: f32 = 26.0;
/// See [`MIN_SCORED_PAIRS`].
pub(crate) const SCORED_PAIRS_SLOPE: f32 = 0.4;

/// Seeds of the global agreement: the rigid motions of this many best pairs after relaxation
/// are tried, and the one that pairs up the most minutiae of the two templates counts. The best
/// pair alone measured the same as the best 2, 3, 4 or 8 on the FVC2002 B sets (then seeded by
/// raw local similarity), and costs least.
pub(crate) const AGREEMENT_SEEDS: usize = 1;
/// Under a seed's motion, a minutia pairs with the other template's nearest minutia of
/// compatible direction (within [`COMPATIBLE_ROTATION_ERROR_RAD`]) within this distance: about
/// one and a half ridge periods, for placement error plus a little distortion. 12 to 20 px
/// measured the same; unlike relaxation no share of the distance is added, which let chance
/// pairs far from the seed count and measured worse.
pub(crate) const AGREEMENT_POSITION_ERROR_PX: f32 = 15.0;
/// Weight of the global agreement (`k² / (n_probe · n_candidate)`) beside the relaxed local
/// similarity in the score `(local + w · agreement) / (1 + w)`. Small because impostors'
/// agreement is far from zero (one alignment always explains a few minutiae) while their
/// relaxed similarity stays near it. With the agreement seeded by the best relaxed pair, 0.08
/// to 0.13 measured alike on the FVC2002 B sets and better than 0.05 at FMR 1 % and 0.1 %
/// (`docs/ACCURACY.md`, "The agreement's seed and weight"); 0.2 worse.
pub(crate) const AGREEMENT_WEIGHT: f32 = 0.1;

/// The common region of two prints under the seed's motion: a minutia lies in it when a
/// minutia of the other print is within this distance (the union of these disks stands for the
/// other print's footprint, as the hull margin does for the cylinders' validity). The global
/// agreement counts only the minutiae inside, so that two impressions placed far apart are not
/// penalised for the minutiae the other cannot show. 30 to 50 px measured alike on the FVC2002
/// B sets, and the leave-one-set-out choice picked 40 px in three folds of four
/// (`docs/ACCURACY.md`, "Partial overlap and distortion in the consolidation"). Zero counts
/// every minutia.
pub(crate) const OVERLAP_RADIUS_PX: f32 = 40.0;
/// Fewest minutiae a print counts in the common region, as a share of its minutiae (never more
/// than it has), so that a tiny overlap (a few chance pairs) cannot make an agreement near one.
/// 0.4: at most two and a half times the agreement of the same mates over all minutiae; 0.3 let
/// impostors with small overlaps through on DB3, 0.5 and 0.6 gave back part of the gain, and a
/// fixed count of 12 or 16 minutiae measured worse than a share, which scales with the print.
pub(crate) const OVERLAP_MIN_SHARE: f32 = 0.4;

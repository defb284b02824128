//! Every tuning constant of the extractor, in one place, with its unit in its name.
//!
//! All lengths are at the working resolution of 500 dpi ([`crate::image::STANDARD_DPI`]), where
//! one pixel is 50.8 µm and a typical ridge period is 8–11 pixels. Inputs at other resolutions
//! are resampled to 500 dpi before any of these apply.

/// Side of the square blocks on which segmentation, orientation and frequency are computed.
pub(crate) const BLOCK_SIZE_PX: usize = 8;

// --- Segmentation -------------------------------------------------------------------------------

/// A block is a foreground candidate when its grey-level standard deviation reaches this
/// fraction of a high percentile of all blocks' standard deviations.
pub(crate) const SEGMENTATION_CONTRAST_RELATIVE: f32 = 0.35;
/// The percentile (0–1) of block standard deviations taken as the print's typical contrast.
pub(crate) const SEGMENTATION_CONTRAST_PERCENTILE: f32 = 0.9;
/// ... and it must reach this absolute standard deviation (grey levels) in any case.
pub(crate) const SEGMENTATION_CONTRAST_MIN_GRAY: f32 = 5.0;
/// Foreground also needs oriented structure: coherence of the gradients summed over a window
/// of blocks round the block.
pub(crate) const SEGMENTATION_COHERENCE_MIN: f32 = 0.15;
/// Side of that window, in blocks (odd): 5 blocks, 40 px, spans four or five ridge periods, so
/// the random edges of a dry print's blotches and pores average out while the ridge flow, smooth
/// over that distance, stays coherent. A 3-block window cuts notches into good but blotchy print
/// (DB3 110_3: `docs/ACCURACY.md`, "Segmentation: coherence over 5 × 5 blocks").
pub(crate) const SEGMENTATION_COHERENCE_WINDOW_BLOCKS: usize = 5;
const _: () = assert!(SEGMENTATION_COHERENCE_WINDOW_BLOCKS % 2 == 1);
/// Connected foreground regions smaller than this fraction of the largest are dropped.
pub(crate) const SEGMENTATION_MIN_REGION_FRACTION: f32 = 0.2;

// --- Orientation --------------------------------------------------------------------------------

/// Gaussian smoothing of the doubled-angle structure tensor across blocks.
pub(crate) const ORIENTATION_SMOOTHING_SIGMA_BLOCKS: f32 = 1.5;
/// Number of discrete orientations over π used by oriented filters.
pub(crate) const ORIENTATION_BINS: usize = 32;

// --- Frequency ----------------------------------------------------------------------------------

/// Length of the oriented window across the ridges (the x-signature's length).
pub(crate) const FREQUENCY_WINDOW_ACROSS_PX: usize = 32;
/// Width of the oriented window along the ridges over which the x-signature is averaged.
pub(crate) const FREQUENCY_WINDOW_ALONG_PX: usize = 16;
/// Shortest plausible ridge period.
pub(crate) const RIDGE_PERIOD_MIN_PX: f32 = 5.0;
/// Longest plausible ridge period.
pub(crate) const RIDGE_PERIOD_MAX_PX: f32 = 15.0;
/// Period assumed where no block of the print gives a valid estimate (typical at 500 dpi).
pub(crate) const RIDGE_PERIOD_DEFAULT_PX: f32 = 9.0;
/// Smallest peak-to-valley amplitude (grey levels) of an x-signature for its period to count.
pub(crate) const FREQUENCY_SIGNATURE_AMPLITUDE_MIN_GRAY: f32 = 6.0;
/// Gaussian smoothing of the period field across blocks.
pub(crate) const FREQUENCY_SMOOTHING_SIGMA_BLOCKS: f32 = 2.0;

// --- Enhancement (separable oriented Gabor filter) ----------------------------------------------

/// Standard deviation of the Gaussian that smooths along the ridges.
pub(crate) const GABOR_ALONG_SIGMA_PX: f32 = 4.5;
/// Sampling step of the along-ridge smoothing (the signal varies slowly along a ridge).
pub(crate) const GABOR_ALONG_STEP_PX: usize = 2;
/// Standard deviation of the Gabor envelope across the ridges, in ridge periods.
pub(crate) const GABOR_ACROSS_SIGMA_PERIODS: f32 = 0.45;
/// Step between the quantised ridge periods for which across-ridge kernels are precomputed.
pub(crate) const GABOR_PERIOD_STEP_PX: f32 = 0.5;

// --- Minutiae -----------------------------------------------------------------------------------

/// How far a ridge is followed from a minutia to find where it leads.
pub(crate) const RIDGE_TRACE_MAX_PX: usize = 40;
/// Distance along the ridge at which a minutia's direction is read.
pub(crate) const DIRECTION_TRACE_PX: usize = 10;

// --- Filtering ----------------------------------------------------------------------------------

/// Minutiae closer than this to the edge of the foreground are dropped.
pub(crate) const BORDER_DISTANCE_PX: f32 = 8.0;
/// An ending is dropped when the foreground ends within this distance beyond its free end.
pub(crate) const BORDER_LOOKAHEAD_PX: f32 = 16.0;
/// A branch from an ending to a bifurcation shorter than this is a spur.
pub(crate) const SPUR_MAX_PX: usize = 10;
/// A ridge joining two bifurcations shorter than this is a bridge.
pub(crate) const BRIDGE_MAX_PX: usize = 10;
/// A ridge joining two endings shorter than this is a fragment (a dot or short island).
pub(crate) const SHORT_RIDGE_MAX_PX: usize = 20;
/// Two bifurcations joined by two ridges both shorter than this enclose a hole (a pore or lake).
pub(crate) const HOLE_MAX_PX: usize = 30;
/// Two endings closer than this, facing each other, are the two sides of a broken ridge.
pub(crate) const BROKEN_RIDGE_GAP_PX: f32 = 16.0;
/// ... when their directions are opposite within this angle.
pub(crate) const BROKEN_RIDGE_ANGLE_TOLERANCE_RAD: f32 = 0.7;
/// Any two remaining minutiae closer than this are both dropped as a noise cluster.
pub(crate) const CLOSE_PAIR_PX: f32 = 6.0;

// --- Bridging pass (sparse prints) -------------------------------------------------------------

/// Along-ridge Gaussian of the bridging pass: long enough to join the dashes of a dry ridge that
/// the first pass leaves broken (chosen leaving one dev set out: docs/ACCURACY.md, "A bridging
/// pass over sparse prints").
pub(crate) const BRIDGING_ALONG_SIGMA_PX: f32 = 6.5;
/// A bridging minutia is added only this far from every minutia the first pass kept...
pub(crate) const BRIDGING_APART_PX: f32 = 12.0;
/// ... and only this close to a candidate the first pass's filters removed (not at the border):
/// where the first pass saw a maze of broken ridges.
pub(crate) const BRIDGING_MAZE_PX: f32 = 6.0;

// --- Quality ------------------------------------------------------------------------------------

/// Foreground area at which the area term of the image quality saturates (a full optical print).
pub(crate) const QUALITY_REFERENCE_AREA_PX: f32 = 60_000.0;

// --- Singular points ----------------------------------------------------------------------------

/// Extra smoothing of the orientation field before the Poincaré index is taken.
pub(crate) const SINGULAR_SMOOTHING_SIGMA_BLOCKS: f32 = 2.0;
/// Detections of the same kind closer than this are merged.
pub(crate) const SINGULAR_MERGE_DISTANCE_PX: f32 = 24.0;

/// Block grey-level standard deviation at which the contrast term of quality saturates.
pub(crate) const QUALITY_CONTRAST_REFERENCE_GRAY: f32 = 30.0;

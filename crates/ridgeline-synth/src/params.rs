//! Tuning constants of the generator, in one place, with their units in their names.
//!
//! Lengths are in pixels at 500 dpi (the generator works at 500 dpi and resamples at the end
//! when another resolution is asked for). Values that a user may want to change per data set
//! live in the config structs ([`crate::MasterConfig`], [`crate::ImpressionConfig`],
//! [`crate::templates::TemplateConfig`]); these are the model's inner constants.

/// Margin around the image on the master canvas, so that rotated and shifted impressions still
/// find ridges under every pixel.
pub const MASTER_MARGIN_PX: u32 = 40;

/// Standard deviation of the fingertip centre around the canvas centre.
pub const SILHOUETTE_CENTER_SD_PX: f64 = 10.0;
/// How far below the canvas centre the fingertip centre sits on average (the finger's base
/// usually runs off the bottom of the image).
pub const SILHOUETTE_CENTER_DROP_PX: f64 = 15.0;
/// Range of the fingertip half-width.
pub const HALF_WIDTH_PX: (f64, f64) = (110.0, 140.0);
/// Range of the half-height above the centre.
pub const HALF_HEIGHT_TOP_PX: (f64, f64) = (150.0, 190.0);
/// Range of the half-height below the centre.
pub const HALF_HEIGHT_BOTTOM_PX: (f64, f64) = (190.0, 260.0);
/// Range of the super-ellipse exponent of the outline.
pub const SILHOUETTE_EXPONENT: (f64, f64) = (2.0, 2.6);
/// How far above the fingertip centre the singular points cluster.
pub const CORE_ABOVE_CENTER_PX: f64 = 25.0;
/// Largest random offset of a Vizcaya–Gerhardt warp node (must stay below π/8).
pub const POLE_WARP_MAX_RAD: f64 = 0.30;
/// Standard deviation of the orientation far from singular points.
pub const FAR_ORIENTATION_SD_RAD: f64 = 0.08;

/// Range of a finger's mean ridge period (FVC2002 DB4: about 8.5 px).
pub const RIDGE_PERIOD_PX: (f64, f64) = (7.8, 9.4);
/// Relative amplitude of the smooth random variation of the period.
pub const RIDGE_PERIOD_VARIATION: f64 = 0.06;
/// Relative widening of the period at the tip and the base of the finger.
pub const RIDGE_PERIOD_EDGE_GAIN: f64 = 0.10;

/// Half-size of the Gabor kernels used to grow ridges (kernels are `2r+1` wide).
pub const GABOR_RADIUS_PX: usize = 6;
/// Orientation bins of the Gabor filter bank over `[0, π)`.
pub const GABOR_ORIENTATION_BINS: usize = 48;
/// Smallest ridge period in the filter bank.
pub const GABOR_PERIOD_MIN_PX: f64 = 5.0;
/// Step between periods of the filter bank.
pub const GABOR_PERIOD_STEP_PX: f64 = 0.25;
/// Number of periods of the filter bank.
pub const GABOR_PERIOD_BINS: usize = 41;
/// Gaussian envelope across the ridges, as a fraction of the period.
pub const GABOR_SIGMA_ACROSS_PER_PERIOD: f64 = 0.42;
/// Gaussian envelope along the ridges, as a fraction of the period.
pub const GABOR_SIGMA_ALONG_PER_PERIOD: f64 = 0.55;
/// Gain applied before saturation at each growth step (> 1 makes ridges grow).
pub const GROWTH_GAIN: f32 = 2.2;
/// Most growth iterations.
pub const GROWTH_MAX_ITERATIONS: usize = 40;
/// Ridges grow only in blocks within this normalised radius of the fingertip outline.
pub const GROWTH_REGION_RADIUS: f64 = 1.15;
/// A pixel whose signal is below this in magnitude has not been reached by any ridge yet.
pub const GROWTH_EMPTY_LEVEL: f32 = 0.02;
/// The canvas counts as filled when fewer pixels than this fraction are still empty.
pub const GROWTH_FILLED_UNDECIDED_FRACTION: f64 = 0.01;
/// Iterations run after the canvas is filled, so that the places where patterns met settle
/// into clean minutiae.
pub const GROWTH_SETTLE_ITERATIONS: usize = 8;
/// Side of the blocks whose activity is tracked to skip empty areas while ridges grow.
pub const GROWTH_BLOCK_PX: usize = 16;

/// Minutiae closer than this to the fingertip outline are not ground truth: the rendered
/// ridges fade out there.
pub const TRUTH_OUTLINE_MARGIN_PX: f64 = 12.0;
/// Ridge steps traced from a minutia to measure its direction.
pub const DIRECTION_TRACE_STEPS: usize = 9;
/// Spurs (an ending joined to a bifurcation) shorter than this are thinning artefacts.
pub const SPUR_LENGTH_PX: usize = 7;
/// Two minutiae closer than this are an artefact pair (bridge, break, hole).
pub const CLOSE_PAIR_PX: f64 = 5.0;

/// Minutiae closer than this to the edge of the visible area of an impression are dropped from
/// its ground truth (an extractor cannot see them either).
pub const VISIBLE_MARGIN_PX: f64 = 10.0;

/// Template-level masters: minutiae per 10,000 square pixels of fingertip, calibrated on
/// rendered masters (`cargo run --release -p ridgeline-synth --example calibrate_templates`), then scaled
/// so that the mean count matches what the final-tuned extractor finds on rendered impressions
/// (the test `template_statistics_match_extracted_rendered_prints`).
pub const TEMPLATE_DENSITY_PER_10K_PX2: f64 = 8.0;
/// Template-level masters: smallest distance between two minutiae.
pub const TEMPLATE_MIN_SPACING_PX: f64 = 9.5;
/// Template-level masters: fraction of bifurcations.
pub const TEMPLATE_BIFURCATION_FRACTION: f64 = 0.5;
/// Template-level masters: minutiae density falls as `exp(−k·r)` with the normalised distance
/// `r` from the fingertip centre (fitted to the radial histogram of rendered masters).
pub const TEMPLATE_CENTRAL_FALLOFF: f64 = 2.2;
/// Template-level masters: deviation of a minutia's direction from the model orientation
/// (rendered minutiae sit where ridges bend, fork and end): most deviate a little, a few a lot.
pub const TEMPLATE_ANGLE_SD_DEG: f64 = 8.0;
/// Template-level masters: fraction of minutiae with a wide direction deviation.
pub const TEMPLATE_ANGLE_WIDE_FRACTION: f64 = 0.15;
/// Template-level masters: the wide direction deviation.
pub const TEMPLATE_ANGLE_WIDE_SD_DEG: f64 = 55.0;
/// Template-level impressions: minutiae whose directions differ by more than this face each
/// other and are dropped in pairs over a longer range than other close pairs.
pub const TEMPLATE_FACING_ANGLE_RAD: f64 = 1.6;
/// Template-level impressions: the facing-pair range as a multiple of the squared close-pair
/// range. 1 = off: longer ranges (2.5, 9) dropped too many minutiae without bringing the
/// neighbour-angle distribution close to the current extractor's (see docs/SYNTH.md).
pub const TEMPLATE_FACING_RANGE_FACTOR: f32 = 1.0;

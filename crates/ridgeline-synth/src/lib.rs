//! Synthetic fingerprints with ground-truth minutiae, the SFinGe way.
//!
//! After Cappelli, Maio and Maltoni (SFinGe): a *master* fingerprint per finger — pattern
//! class, singular points, orientation field (zero-pole model with the Vizcaya–Gerhardt
//! correction), ridge-period map, ridges grown by iterative contextual Gabor filtering from
//! random seeds — and any number of *impressions* of it: non-linear skin distortion (Cappelli's
//! model), rotation, translation, partial contact, pressure, noise, scratches and background.
//!
//! ```text
//! class ─> model (outline, cores/deltas, orientation, period) ─> ridges ─> minutiae = master
//! master ─> placement + distortion ─> contact, pressure, noise, background ─> impression + truth
//!        (+ acquisition conditions: placement, pressure, distortion, rotation, dry, wet,
//!           creases, worn, partial, optical — [`condition`])
//! model ─> statistical minutiae ─> placement + distortion + dropout ─> template (no image)
//! ```
//!
//! A key design decision: everything is derived from `(seed, finger, impression)` through
//! independent random streams ([`rng`]), so output is byte-identical for a seed whatever the
//! thread count, and any finger can be produced without the ones before it.

pub mod class;
pub mod condition;
pub mod dataset;
pub mod error;
pub mod fixture;
pub mod impression;
mod impression_config;
pub mod master;
pub mod minutiae;
pub mod model;
pub mod pack;
pub mod params;
pub mod population;
pub mod ridges;
pub mod rng;
pub mod stats;
pub mod templates;
pub mod truth;
pub mod warp;

pub use class::{PatternClass, NATURAL_CLASS_FREQUENCIES};
pub use condition::{Condition, ConditionKind};
pub use error::{Error, Result};
pub use impression::{Impression, ImpressionConfig};
pub use master::{Master, MasterConfig};
pub use templates::{TemplateConfig, TemplateMaster};
pub use warp::PlacementConfig;

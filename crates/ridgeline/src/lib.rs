//! Ridgeline: a fingerprint identification engine.
//!
//! The modules follow the data flow of a fingerprint through the engine:
//!
//! ```text
//! FingerImage ─> Extractor ─> Template ─┬─> Matcher (1:1) ─> score ─> calibrated FMR
//!                                        ├─> Gallery (mmap store) ─> identify (1:N) ─> Identification
//!                                        └─> dedup (N:N) ─> duplicate clusters
//! ```
//!
//! The entry points are at the root: [`FingerImage`] (8-bit grayscale with its resolution),
//! [`Extractor`] (image in, [`Template`] out), [`Matcher`] with [`MatchTemplate`] (prepare a
//! template once, compare it with many) returning a [`Score`] with its false match rate,
//! [`Gallery`] (a crash-safe, memory-mapped store with
//! 1:N search returning an [`Identification`]), and the one error type [`Error`]. Scores are
//! calibrated: [`matcher::calibration`] turns a score into an estimated false match rate and
//! back, so thresholds are chosen as a rate (`1e-4`), not as a magic number.
//!
//! # Example: image → template → gallery → identify
//!
//! The prints here are made up in code so that the example runs anywhere: parallel ridges
//! 9 pixels apart (500 dpi), bent by a gentle wave and by phase dislocations, each of which is
//! a minutia (a ridge ending or a bifurcation), as in a real print. Real images come from
//! [`FingerImage::open`] (PNG, BMP, TIFF, JPEG, PGM, WSQ) or [`FingerImage::from_raw`].
//!
//! ```
//! use ridgeline::{Extractor, ExtractorConfig, FingerImage, Gallery, SearchOptions};
//!
//! /// A synthetic print of finger `seed`, shifted right by `shift_px` pixels.
//! fn print(seed: u64, shift_px: f64) -> ridgeline::Result<FingerImage> {
//!     let (width, height) = (288usize, 320usize);
//!     let mut state = seed;
//!     let mut uniform = move || {
//!         state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
//!         (state >> 11) as f64 / (1u64 << 53) as f64
//!     };
//!     // Where the minutiae are, and which way each dislocation turns.
//!     let dislocations: Vec<(f64, f64, f64)> = (0..36)
//!         .map(|i| {
//!             let x = 30.0 + uniform() * (width as f64 - 60.0);
//!             let y = 30.0 + uniform() * (height as f64 - 60.0);
//!             (x, y, if i % 2 == 0 { 1.0 } else { -1.0 })
//!         })
//!         .collect();
//!     let mut pixels = Vec::with_capacity(width * height);
//!     for row in 0..height {
//!         for column in 0..width {
//!             let (x, y) = (column as f64 - shift_px, row as f64);
//!             let mut phase = (x + 12.0 * (y / 45.0).sin()) * std::f64::consts::TAU / 9.0;
//!             for &(dx, dy, turn) in &dislocations {
//!                 phase += turn * (y - dy).atan2(x - dx);
//!             }
//!             pixels.push((128.0 + 90.0 * phase.cos()) as u8);
//!         }
//!     }
//!     FingerImage::from_raw(width as u32, height as u32, 500, pixels)
//! }
//!
//! let extractor = Extractor::new(ExtractorConfig::default());
//! let dir = tempfile::tempdir().expect("a temporary folder");
//! let gallery = Gallery::create(dir.path())?;
//! for (seed, subject) in [(1, "alice"), (2, "bob"), (3, "carol")] {
//!     let template = extractor.extract(&print(seed, 0.0)?)?;
//!     gallery.enroll(subject, 2, &template)?; // 2: right index finger (ISO position)
//! }
//!
//! // Bob comes back: the same finger, placed 4 pixels further right.
//! let probe = extractor.extract(&print(2, 4.0)?)?;
//! let identification = gallery.identify(&probe, &SearchOptions::default())?;
//! let best = &identification.candidates[0];
//! assert_eq!(best.subject_id, "bob");
//! // The decision at a false match rate of 1e-4 for the whole search.
//! let matched = identification.matched(1e-4).expect("bob is found registered");
//! assert_eq!(matched.subject_id, "bob");
//! # Ok::<(), ridgeline::Error>(())
//! ```
//!
//! Comparing two templates directly (1:1) goes through the same prepared form:
//!
//! ```
//! # use ridgeline::{MatchTemplate, Matcher, Template};
//! # let empty = || Template {
//! #     width: 300, height: 300, dpi: 500, quality: 0, minutiae: vec![], singular_points: vec![],
//! # };
//! # let (a, b) = (empty(), empty());
//! let matcher = Matcher::new();
//! let (probe, candidate) = (MatchTemplate::prepare(&a), MatchTemplate::prepare(&b));
//! let score = matcher.score(probe.view(), candidate.view());
//! let same_finger = score.matches_at(1e-4); // the decision at a false match rate of 1e-4
//! println!("score {:.3}, false match rate {:.1e}", score.value(), score.fmr());
//! # assert!(!same_finger);
//! ```
//!
//! # Modules
//!
//! * [`image`]: 8-bit grayscale images with their resolution, decoded from files or raw buffers.
//! * [`extract`]: the minutiae extraction pipeline; its intermediate products are seen through
//!   [`extract::trace`].
//! * [`template`]: the minutiae template and its native file format.
//! * [`formats`]: interchange formats (ISO/IEC 19794-2, ANSI INCITS 378, ANSI/NIST-ITL); WSQ is
//!   [`image::wsq`].
//! * [`matcher`]: 1:1 comparison on prepared templates, with calibrated scores.
//! * [`gallery`]: the memory-mapped template store and 1:N identification.
//! * [`dedup`]: N:N de-duplication of a population, with clusters and reports.
//! * [`eval`]: accuracy metrics (EER, FNMR at FMR, DET curves).
//! * [`people`]: a person's demographic fields, the people manifest, subject-id forms.
//! * [`private_files`]: owner-only files and folders for what the engine writes about people.
//! * [`cpu`]: the one CPU-feature detection that picks every SIMD kernel.
//!
//! Errors are typed ([`Error`]); nothing in this crate panics on user-controlled input.

#![warn(missing_docs)]

mod bytes;
pub mod cpu;
pub mod dedup;
mod error;
pub mod eval;
pub mod extract;
pub mod formats;
pub mod gallery;
pub mod image;
pub mod matcher;
pub mod people;
pub mod private_files;
pub mod template;
#[cfg(test)]
mod test_support;
// The gallery fixture (`ridgeline-synth`'s `fixture.rs`, compiled into the unit tests by
// `test_support`) names the core `ridgeline::`, as it does in its own crate.
#[cfg(test)]
extern crate self as ridgeline;

pub use error::{Error, Result};
pub use extract::{Extractor, ExtractorConfig};
pub use gallery::{Candidate, Gallery, Identification, OpenMode, SearchMode, SearchOptions};
pub use image::FingerImage;
pub use matcher::{MatchTemplate, Matcher, PreparedRef, Score};
pub use template::{Minutia, MinutiaKind, SingularPoint, SingularPointKind, Template};

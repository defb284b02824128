//! Ridgeline: a fingerprint identification engine.
//!
//! The modules follow the data flow of a fingerprint through the engine:
//!
//! ```text
//! image ─> extract ─> template ─┬─> matcher (1:1) ─> score
//!                                ├─> gallery (mmap store) ─> identify (1:N)
//!                                └─> dedup (N:N)
//! ```
//!
//! * [`image`]: 8-bit grayscale images with their resolution, decoded from files or raw buffers.
//! * [`extract`]: the minutiae extraction pipeline, one module per intermediate product.
//! * [`template`]: the minutiae template and its native file format.
//! * [`formats`]: interchange formats (ISO/IEC 19794-2, ANSI INCITS 378, WSQ, ANSI/NIST-ITL).
//! * [`matcher`]: 1:1 comparison on prepared templates, with calibrated scores.
//! * [`gallery`]: the memory-mapped template store and 1:N identification.
//! * [`eval`]: accuracy metrics (EER, FNMR at FMR, DET curves).
//!
//! Errors are typed ([`Error`]); nothing in this crate panics on user-controlled input.

pub mod dedup;
pub mod error;
pub mod eval;
pub mod extract;
pub mod formats;
pub mod gallery;
pub mod image;
pub mod matcher;
pub mod people;
pub mod template;
#[cfg(test)]
mod test_support;

pub use error::{Error, Result};
pub use image::FingerImage;
pub use template::{Minutia, MinutiaKind, SingularPoint, SingularPointKind, Template};

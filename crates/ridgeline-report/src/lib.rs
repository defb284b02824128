//! The reports of Ridgeline for people, kept out of the engine: the clerk's adjudication page
//! (one self-contained HTML file) of a de-duplication or link run, and the CSV form of a
//! de-duplication report. The `ridgeline` CLI and the Python package write their reports with
//! this crate, so a page is the same whichever wrote it.
//!
//! * [`html`]: the page model ([`Page`], [`ClusterView`], [`PairView`], [`PrintView`]), its
//!   [`render`](html::render)ing and [`write`](html::write)-out, and the text helpers the page
//!   speaks with (`1 in N`, grouped digits, character differences).
//! * [`dedup`]: the page of a de-duplication [`Report`](ridgeline::dedup::Report)
//!   ([`dedup::page`], [`dedup::write_page`]), the drawings of its pairs from a gallery
//!   ([`dedup::pair_views`]), the groups a clerk decides ([`dedup::units`]) and the CSV
//!   ([`dedup::csv`]).
//! * [`link`]: the pairs of a link run a clerk reviews and their page.
//! * [`prints`]: which minutiae of two templates the matcher paired, for the drawings.
//!
//! Writing the page of a de-duplication run over a gallery:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::collections::HashMap;
//! use ridgeline::dedup::GalleryPopulation;
//! # let gallery: ridgeline::Gallery = unimplemented!();
//! # let population: GalleryPopulation<'_> = unimplemented!();
//! # let report: ridgeline::dedup::Report = unimplemented!();
//! let views = ridgeline_report::dedup::pair_views(&population, &report, &gallery, &HashMap::new());
//! let (extra, notes) = (HashMap::new(), HashMap::new());
//! ridgeline_report::dedup::write_page(
//!     &report,
//!     &views,
//!     population.infos(),
//!     &extra,
//!     &notes,
//!     "duplicates.html".as_ref(),
//! )?;
//! std::fs::write("duplicates.csv", ridgeline_report::dedup::csv(&report))?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod dedup;
mod error;
pub mod html;
pub mod link;
pub mod prints;

pub use error::{ReportError, Result};
pub use html::{ClusterView, Page, PairView, PrintView};

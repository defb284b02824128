//! The compiled half of the `ridgeline` Python package (`ridgeline._native`); the public API is
//! re-exported, with docs and type stubs, by `ridgeline/__init__.py`.
//!
//! Every function that does real work releases the GIL (`Python::detach`) while the engine
//! runs, so other Python threads go on and the engine's own threads (rayon) use every core.
//! Core errors become Python exceptions of one class per error kind ([`errors`]).

mod dedup;
mod errors;
mod gallery;
mod identification;
mod template;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    template::register(m)?;
    gallery::register(m)?;
    dedup::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

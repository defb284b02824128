//! `FingerImage`, `Template`, `extract`, `compare`, and the calibration functions.

use std::sync::Arc;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use ridgeline::extract::{Extractor, ExtractorConfig};
use ridgeline::formats::{self, TemplateFormat};
use ridgeline::matcher::calibration;
use ridgeline::{FingerImage, MinutiaKind, Template};

use crate::errors::{invalid, IntoPy};

/// Field names and NumPy types of `Template.minutiae` (packed, 14 bytes a minutia).
pub const MINUTIA_FIELDS: [(&str, &str); 5] =
    [("x", "<f4"), ("y", "<f4"), ("angle", "<f4"), ("kind", "u1"), ("quality", "u1")];
/// `kind` of a ridge ending in `Template.minutiae`.
pub const KIND_ENDING: u8 = 0;
/// `kind` of a bifurcation in `Template.minutiae`.
pub const KIND_BIFURCATION: u8 = 1;

/// An 8-bit grayscale fingerprint image with its resolution (dark ridges on a light
/// background).
///
/// Make one with `FingerImage.open(path)` (PNG, TIFF, BMP, JPEG, PNM, WSQ) or
/// `FingerImage.from_array(pixels, dpi)`.
#[pyclass(module = "ridgeline._native", name = "FingerImage", frozen)]
#[derive(Debug)]
pub struct PyFingerImage {
    pub inner: Arc<FingerImage>,
}

#[pymethods]
impl PyFingerImage {
    /// Reads and decodes an image file. `dpi` gives the resolution of files that carry none
    /// (and overrides a stored one); without either, 500 dpi is assumed.
    #[staticmethod]
    #[pyo3(signature = (path, dpi=None))]
    fn open(py: Python<'_>, path: std::path::PathBuf, dpi: Option<u32>) -> PyResult<Self> {
        let image = py.detach(|| FingerImage::open(&path, dpi)).py(py)?;
        Ok(PyFingerImage { inner: Arc::new(image) })
    }

    /// An image from a 2-D NumPy array of `uint8` (rows × columns) at `dpi` dots per inch.
    #[staticmethod]
    fn from_array(py: Python<'_>, pixels: PyReadonlyArray2<'_, u8>, dpi: u32) -> PyResult<Self> {
        let shape = pixels.shape();
        let (height, width) = (shape[0], shape[1]);
        let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height)) else {
            return Err(invalid(py, format!("image of {width}x{height} pixels is too large")));
        };
        // `as_slice` fails on non-contiguous views; copy those row by row instead.
        let data: Vec<u8> = match pixels.as_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => pixels.as_array().iter().copied().collect(),
        };
        let image = FingerImage::from_raw(w, h, dpi, data).py(py)?;
        Ok(PyFingerImage { inner: Arc::new(image) })
    }

    /// Width in pixels.
    #[getter]
    fn width(&self) -> u32 {
        self.inner.width()
    }

    /// Height in pixels.
    #[getter]
    fn height(&self) -> u32 {
        self.inner.height()
    }

    /// Resolution in dots per inch.
    #[getter]
    fn dpi(&self) -> u32 {
        self.inner.dpi()
    }

    /// The pixels as a new `uint8` array of shape (height, width).
    fn to_array<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let flat = PyArray1::from_slice(py, self.inner.pixels());
        let shape = [self.inner.height() as usize, self.inner.width() as usize];
        Ok(flat.reshape(shape)?.into_any())
    }

    fn __repr__(&self) -> String {
        format!(
            "FingerImage(width={}, height={}, dpi={})",
            self.inner.width(),
            self.inner.height(),
            self.inner.dpi()
        )
    }
}

/// A minutiae template of one finger impression.
///
/// `minutiae` is a NumPy structured array with fields `x`, `y` (pixels of the source image,
/// y pointing down), `angle` (radians in [0, 2π), counter-clockwise from +x as viewed),
/// `kind` (0 = ridge ending, 1 = bifurcation) and `quality` (0–100). Templates pickle (as
/// their native bytes), so they travel to Ray workers as they are.
#[pyclass(module = "ridgeline._native", name = "Template", frozen)]
#[derive(Debug)]
pub struct PyTemplate {
    pub inner: Arc<Template>,
}

impl PyTemplate {
    pub fn new(template: Template) -> Self {
        PyTemplate { inner: Arc::new(template) }
    }
}

fn iso_format(py: Python<'_>, version: &str) -> PyResult<TemplateFormat> {
    match version {
        "2005" => Ok(TemplateFormat::Iso19794_2_2005),
        "2011" => Ok(TemplateFormat::Iso19794_2_2011),
        other => {
            Err(invalid(py, format!("ISO/IEC 19794-2 version {other:?}: use \"2005\" or \"2011\"")))
        }
    }
}

fn ansi_format(py: Python<'_>, version: &str) -> PyResult<TemplateFormat> {
    match version {
        "2004" => Ok(TemplateFormat::Ansi378_2004),
        "2009" => Ok(TemplateFormat::Ansi378_2009),
        other => {
            Err(invalid(py, format!("ANSI INCITS 378 version {other:?}: use \"2004\" or \"2009\"")))
        }
    }
}

#[pymethods]
impl PyTemplate {
    /// Width of the source image in pixels.
    #[getter]
    fn width(&self) -> u32 {
        self.inner.width
    }

    /// Height of the source image in pixels.
    #[getter]
    fn height(&self) -> u32 {
        self.inner.height
    }

    /// Resolution of the source image in dots per inch.
    #[getter]
    fn dpi(&self) -> u32 {
        self.inner.dpi
    }

    /// Overall image quality 0–100.
    #[getter]
    fn quality(&self) -> u8 {
        self.inner.quality
    }

    /// The minutiae as a NumPy structured array (x, y, angle, kind, quality).
    #[getter]
    fn minutiae<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut packed = Vec::with_capacity(self.inner.minutiae.len() * 14);
        for m in &self.inner.minutiae {
            packed.extend_from_slice(&m.x.to_le_bytes());
            packed.extend_from_slice(&m.y.to_le_bytes());
            packed.extend_from_slice(&m.angle.to_le_bytes());
            packed.push(match m.kind {
                MinutiaKind::Ending => KIND_ENDING,
                MinutiaKind::Bifurcation => KIND_BIFURCATION,
            });
            packed.push(m.quality);
        }
        let np = py.import("numpy")?;
        let dtype = np.getattr("dtype")?.call1((MINUTIA_FIELDS.to_vec(),))?;
        let bytes = PyBytes::new(py, &packed);
        np.getattr("frombuffer")?.call1((bytes, dtype))?.call_method0("copy")
    }

    /// Exports as an ISO/IEC 19794-2 record, `version` "2005" or "2011".
    #[pyo3(signature = (version="2005"))]
    fn to_iso<'py>(&self, py: Python<'py>, version: &str) -> PyResult<Bound<'py, PyBytes>> {
        let format = iso_format(py, version)?;
        self.encode(py, format)
    }

    /// Exports as an ANSI INCITS 378 record, `version` "2004" or "2009".
    #[pyo3(signature = (version="2004"))]
    fn to_ansi<'py>(&self, py: Python<'py>, version: &str) -> PyResult<Bound<'py, PyBytes>> {
        let format = ansi_format(py, version)?;
        self.encode(py, format)
    }

    /// Ridgeline's native template bytes (lossless).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.encode(py, TemplateFormat::Native)
    }

    /// Reads a template: native, ISO/IEC 19794-2 (2005, 2011) or ANSI INCITS 378 (2004, 2009),
    /// recognised from the bytes. A record holding several views gives its first.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let template = py.detach(|| formats::decode_template(data)).py(py)?;
        Ok(PyTemplate::new(template))
    }

    /// Reads a template file (any format `from_bytes` reads).
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let template = py
            .detach(|| {
                let bytes = std::fs::read(&path).map_err(|e| ridgeline::Error::io(&path, e))?;
                formats::decode_template(&bytes)
            })
            .py(py)?;
        Ok(PyTemplate::new(template))
    }

    fn __len__(&self) -> usize {
        self.inner.minutiae.len()
    }

    fn __eq__(&self, other: PyRef<'_, PyTemplate>) -> bool {
        *self.inner == *other.inner
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let from_bytes = py.get_type::<PyTemplate>().getattr("from_bytes")?;
        Ok((from_bytes, (self.to_bytes(py)?,)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Template(width={}, height={}, dpi={}, quality={}, minutiae={})",
            self.inner.width,
            self.inner.height,
            self.inner.dpi,
            self.inner.quality,
            self.inner.minutiae.len()
        )
    }
}

impl PyTemplate {
    fn encode<'py>(
        &self,
        py: Python<'py>,
        format: TemplateFormat,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let inner = Arc::clone(&self.inner);
        let bytes = py.detach(|| formats::encode_template(&inner, format)).py(py)?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// Extracts the minutiae template of a fingerprint image (releases the GIL while it runs).
#[pyfunction]
pub fn extract(py: Python<'_>, image: PyRef<'_, PyFingerImage>) -> PyResult<PyTemplate> {
    let inner = Arc::clone(&image.inner);
    let template =
        py.detach(|| Extractor::new(ExtractorConfig::default()).extract(&inner)).py(py)?;
    Ok(PyTemplate::new(template))
}

/// The similarity score of two templates: higher is more similar, comparable across calls;
/// `fmr_for_score` gives its estimated false match rate.
#[pyfunction]
pub fn compare(py: Python<'_>, a: PyRef<'_, PyTemplate>, b: PyRef<'_, PyTemplate>) -> f64 {
    let (a, b) = (Arc::clone(&a.inner), Arc::clone(&b.inner));
    py.detach(|| ridgeline::Matcher::new().score_templates(&a, &b).value())
}

/// The lowest score whose estimated false match rate is at most `fmr` (per comparison): the
/// threshold of a 1:1 decision at that rate.
#[pyfunction]
pub fn threshold_for_fmr(py: Python<'_>, fmr: f64) -> PyResult<f64> {
    if !(fmr > 0.0 && fmr <= 1.0) {
        return Err(invalid(py, format!("fmr {fmr} is not in (0, 1]")));
    }
    Ok(calibration::threshold_for_fmr(fmr))
}

/// The estimated false match rate of a comparison score (from the matcher's calibration).
#[pyfunction]
pub fn fmr_for_score(score: f64) -> f64 {
    calibration::fmr_for_score(score)
}

/// Deterministic synthetic templates (no images) for tests and benchmarks: impression
/// `impression` of synthetic finger `finger` of population `seed`; impressions of one finger
/// match each other, different fingers do not.
#[pyfunction]
#[pyo3(signature = (seed, finger, impression=0))]
pub fn synthetic_template(seed: u64, finger: u64, impression: u32) -> PyTemplate {
    PyTemplate::new(
        ridgeline_synth::fixture::FixturePopulation::new(seed).impression(finger, impression),
    )
}

/// Registers the classes and functions of this module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFingerImage>()?;
    m.add_class::<PyTemplate>()?;
    m.add_function(wrap_pyfunction!(extract, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(threshold_for_fmr, m)?)?;
    m.add_function(wrap_pyfunction!(fmr_for_score, m)?)?;
    m.add_function(wrap_pyfunction!(synthetic_template, m)?)?;
    m.add("KIND_ENDING", KIND_ENDING)?;
    m.add("KIND_BIFURCATION", KIND_BIFURCATION)?;
    Ok(())
}

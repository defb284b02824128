//! Templates: extraction, (de)serialisation in every supported format, 1:1 comparison.

use std::ffi::c_char;

use ridgeline::extract::{Extractor, ExtractorConfig};
use ridgeline::formats::{self, TemplateFormat};
use ridgeline::matcher::{self, MatchTemplate, Matcher};
use ridgeline::{FingerImage, Template};

use crate::guard::{self, byte_slice, c_str, out_ptr};
use crate::registry::{Release, BUFFERS, TEMPLATES};
use crate::status::{rl_status, FfiError, RL_ERR_LOW_QUALITY};

/// Native Ridgeline template (`.rlt`).
pub const RL_FORMAT_NATIVE: i32 = 0;
/// ISO/IEC 19794-2:2005 finger minutiae record.
pub const RL_FORMAT_ISO19794_2_2005: i32 = 1;
/// ISO/IEC 19794-2:2011 finger minutiae record.
pub const RL_FORMAT_ISO19794_2_2011: i32 = 2;
/// ANSI INCITS 378-2004 finger minutiae record.
pub const RL_FORMAT_ANSI378_2004: i32 = 3;
/// ANSI INCITS 378-2009 finger minutiae record.
pub const RL_FORMAT_ANSI378_2009: i32 = 4;

/// Fewest minutiae a template needs to be worth keeping; below this extraction reports
/// `RL_ERR_LOW_QUALITY` so the clerk can ask for a re-take.
pub const RL_MIN_USABLE_MINUTIAE: u32 = 6;

/// Image quality (0–100, `rl_template_quality`) below which a print should be captured again.
/// Chosen on the error-versus-reject curves of the development sets: the threshold with the
/// lowest FNMR at FMR 0.1 % that sends back at most 5 % of prints (docs/ACCURACY.md). Equal to
/// the core crate's `RECAPTURE_QUALITY` (a test checks it).
pub const RL_QUALITY_RECAPTURE: u8 = 38;

/// An extracted or imported fingerprint template (opaque). Create with `rl_extract_*` or
/// `rl_template_deserialize`; release with `rl_template_free`.
#[derive(Debug)]
pub struct rl_template {
    pub(crate) template: Template,
    pub(crate) prepared: MatchTemplate,
}

impl rl_template {
    fn new(template: Template) -> Self {
        let prepared = MatchTemplate::prepare(&template);
        rl_template { template, prepared }
    }
}

/// Checks a template handle against the registry and borrows it.
pub(crate) fn template_ref<'a>(
    t: *const rl_template,
    name: &str,
) -> Result<&'a rl_template, FfiError> {
    if t.is_null() {
        return Err(FfiError::invalid(format!("{name} is NULL")));
    }
    if !TEMPLATES.contains(t as usize) {
        return Err(FfiError::invalid(format!("{name} is not a live rl_template handle")));
    }
    // SAFETY: the address is one we created with Box::into_raw and have not freed.
    Ok(unsafe { &*t })
}

fn give_template(template: Template, out: &mut *mut rl_template) {
    let ptr = Box::into_raw(Box::new(rl_template::new(template)));
    TEMPLATES.insert(ptr as usize);
    *out = ptr;
}

fn extract_checked(image: &FingerImage) -> Result<Template, FfiError> {
    let template = Extractor::new(ExtractorConfig::default()).extract(image)?;
    if (template.minutiae.len() as u32) < RL_MIN_USABLE_MINUTIAE {
        return Err(FfiError::new(
            RL_ERR_LOW_QUALITY,
            format!(
                "only {} minutiae found (image quality {}); capture the finger again",
                template.minutiae.len(),
                template.quality
            ),
        ));
    }
    Ok(template)
}

/// Extracts a template from an 8-bit grayscale buffer (`width * height` bytes, row-major, dark
/// ridges on light background) at `dpi` (250–1000). On success `*out` receives a new template.
/// `RL_ERR_LOW_QUALITY` when too few minutiae are found.
///
/// Thread safety: safe to call from many threads at once.
#[no_mangle]
pub extern "C" fn rl_extract_from_gray(
    pixels: *const u8,
    width: u32,
    height: u32,
    dpi: u32,
    out: *mut *mut rl_template,
) -> rl_status {
    guard::run(|| {
        let out = out_ptr(out, "out")?;
        // Check the stated size before touching the buffer: a wrong size must not make us read
        // gigabytes past the caller's allocation.
        use ridgeline::image::{check_dpi, MAX_SIDE_PX, MIN_SIDE_PX};
        let side_ok = |side: u32| (MIN_SIDE_PX..=MAX_SIDE_PX).contains(&side);
        if !side_ok(width) || !side_ok(height) {
            return Err(FfiError::invalid(format!(
                "image size {width}x{height} is outside {MIN_SIDE_PX}x{MIN_SIDE_PX} to {MAX_SIDE_PX}x{MAX_SIDE_PX}"
            )));
        }
        check_dpi(dpi)?;
        let len = (width as usize)
            .checked_mul(height as usize)
            .ok_or_else(|| FfiError::invalid("width * height overflows"))?;
        let bytes = byte_slice(pixels, len, "pixels")?;
        let image = FingerImage::from_raw(width, height, dpi, bytes.to_vec())?;
        give_template(extract_checked(&image)?, out);
        Ok(())
    })
}

/// Extracts a template from an image file (PNG, BMP, TIFF, JPEG, PGM, WSQ). The resolution is
/// read from the file where it has one, else 500 dpi is assumed.
///
/// Thread safety: safe to call from many threads at once.
#[no_mangle]
pub extern "C" fn rl_extract_from_file(
    path: *const c_char,
    out: *mut *mut rl_template,
) -> rl_status {
    guard::run(|| {
        let out = out_ptr(out, "out")?;
        let path = c_str(path, "path")?;
        let image = FingerImage::open(path, None)?;
        give_template(extract_checked(&image)?, out);
        Ok(())
    })
}

/// Serialises a template in `format` (`RL_FORMAT_*`) into a new buffer: `*buf` and `*len`
/// receive it; release it with `rl_buffer_free(*buf, *len)`.
///
/// Thread safety: safe; the template is only read.
#[no_mangle]
pub extern "C" fn rl_template_serialize(
    t: *const rl_template,
    format: i32,
    buf: *mut *mut u8,
    len: *mut usize,
) -> rl_status {
    guard::run(|| {
        let t = template_ref(t, "t")?;
        let buf = out_ptr(buf, "buf")?;
        let len = out_ptr(len, "len")?;
        let format = match format {
            RL_FORMAT_NATIVE => TemplateFormat::Native,
            RL_FORMAT_ISO19794_2_2005 => TemplateFormat::Iso19794_2_2005,
            RL_FORMAT_ISO19794_2_2011 => TemplateFormat::Iso19794_2_2011,
            RL_FORMAT_ANSI378_2004 => TemplateFormat::Ansi378_2004,
            RL_FORMAT_ANSI378_2009 => TemplateFormat::Ansi378_2009,
            other => return Err(FfiError::invalid(format!("unknown template format {other}"))),
        };
        let bytes = formats::encode_template(&t.template, format)?;
        (*buf, *len) = guard::give_bytes(bytes);
        Ok(())
    })
}

/// Reads a template from bytes in any supported format (native, ISO/IEC 19794-2:2005/2011,
/// ANSI INCITS 378-2004/2009), detected from the bytes. The first finger view is used.
///
/// Thread safety: safe to call from many threads at once.
#[no_mangle]
pub extern "C" fn rl_template_deserialize(
    bytes: *const u8,
    len: usize,
    out: *mut *mut rl_template,
) -> rl_status {
    guard::run(|| {
        let out = out_ptr(out, "out")?;
        let bytes = byte_slice(bytes, len, "bytes")?;
        give_template(formats::decode_template(bytes)?, out);
        Ok(())
    })
}

/// The template's image quality, 0–100.
///
/// Thread safety: safe; the template is only read.
#[no_mangle]
pub extern "C" fn rl_template_quality(t: *const rl_template, quality: *mut u8) -> rl_status {
    guard::run(|| {
        let t = template_ref(t, "t")?;
        *out_ptr(quality, "quality")? = t.template.quality;
        Ok(())
    })
}

/// The number of minutiae in the template.
///
/// Thread safety: safe; the template is only read.
#[no_mangle]
pub extern "C" fn rl_template_minutiae_count(t: *const rl_template, count: *mut u32) -> rl_status {
    guard::run(|| {
        let t = template_ref(t, "t")?;
        *out_ptr(count, "count")? = t.template.minutiae.len() as u32;
        Ok(())
    })
}

/// Releases a buffer returned by `rl_template_serialize` or `rl_reader_capture`. NULL is
/// ignored; a pointer that is not a live buffer of ours is ignored (and reported through
/// `rl_last_error_message`) rather than freed, and so is a live buffer with a `len` other than
/// the one it was returned with (it stays live: free it again with the right length).
///
/// Thread safety: safe, but each buffer must be freed once.
#[no_mangle]
pub extern "C" fn rl_buffer_free(buf: *mut u8, len: usize) {
    guard::run_void(|| {
        if buf.is_null() {
            return Ok(());
        }
        match BUFFERS.remove_sized(buf as usize, len) {
            Release::Done => {}
            Release::NotLive => {
                return Err(FfiError::invalid("rl_buffer_free: not a live buffer (freed twice?)"))
            }
            Release::WrongLength(live) => {
                return Err(FfiError::invalid(format!(
                    "rl_buffer_free: length {len}, the buffer holds {live} bytes; not freed"
                )))
            }
        }
        // SAFETY: the pointer was produced by `give_bytes` from a boxed slice of exactly `len`
        // bytes (the caller passes back the length it was given) and was live until now.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(buf, len)) });
        Ok(())
    })
}

/// Releases a template. NULL and handles that are not live are ignored.
///
/// Thread safety: do not free a template while another thread uses it.
#[no_mangle]
pub extern "C" fn rl_template_free(t: *mut rl_template) {
    guard::run_void(|| {
        if t.is_null() {
            return Ok(());
        }
        if !TEMPLATES.remove(t as usize) {
            return Err(FfiError::invalid("rl_template_free: not a live template (freed twice?)"));
        }
        // SAFETY: created by Box::into_raw in `give_template`, live until this call.
        drop(unsafe { Box::from_raw(t) });
        Ok(())
    })
}

/// Compares two templates; `*score` receives the similarity score (higher = more similar; use
/// `rl_threshold_for_fmr` to choose a decision threshold).
///
/// Thread safety: safe to call from many threads at once, with shared templates.
#[no_mangle]
pub extern "C" fn rl_compare(
    a: *const rl_template,
    b: *const rl_template,
    score: *mut f64,
) -> rl_status {
    guard::run(|| {
        let a = template_ref(a, "a")?;
        let b = template_ref(b, "b")?;
        let score = out_ptr(score, "score")?;
        *score = Matcher::default().compare(a.prepared.view(), b.prepared.view());
        Ok(())
    })
}

/// The score threshold whose estimated false match rate is `fmr` (for example 1e-4), from the
/// matcher's calibration table. `fmr` must be in (0, 1).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn rl_threshold_for_fmr(fmr: f64, score: *mut f64) -> rl_status {
    guard::run(|| {
        let score = out_ptr(score, "score")?;
        if !(fmr > 0.0 && fmr < 1.0) {
            return Err(FfiError::invalid(format!("fmr {fmr} is not in (0, 1)")));
        }
        *score = matcher::calibration::threshold_for_fmr(fmr);
        Ok(())
    })
}

#[cfg(test)]
mod recapture_tests {
    #[test]
    fn the_c_threshold_is_the_core_one() {
        assert_eq!(super::RL_QUALITY_RECAPTURE, ridgeline::extract::RECAPTURE_QUALITY);
    }
}

//! Galleries: open, enrol, remove, identify (1:N), count.

use std::ffi::c_char;
use std::path::Path;

use ridgeline::gallery::{Gallery, OpenMode, OpenOptions, SearchOptions};

use crate::guard::{self, c_str, out_ptr};
use crate::registry::{Release, CANDIDATES, GALLERIES};
use crate::status::*;
use crate::template::rl_template;
use crate::template::template_ref;

/// Open without write access; any number of read-only handles may coexist with one writer.
pub const RL_OPEN_READ_ONLY: u32 = 1;
/// Open for enrolment and removal (takes the gallery's writer lock).
pub const RL_OPEN_WRITE: u32 = 2;
/// Create the gallery if the directory holds none (implies write).
pub const RL_OPEN_CREATE: u32 = 4;

/// With `RL_OPEN_READ_ONLY` or `RL_OPEN_WRITE`: searches of this handle skip records they
/// cannot read and return `RL_PARTIAL` instead of failing with `RL_ERR_DAMAGED`.
pub const RL_OPEN_ALLOW_PARTIAL: u32 = 8;

/// Longest subject id in bytes (the `id` field of `rl_candidate` holds it plus a NUL).
pub const RL_MAX_ID_LEN: usize = 64;

/// Options of `rl_gallery_open_with`. Set `struct_size` to `sizeof(rl_open_options)` and zero
/// what you do not use (`memset`); fields join at the end in later versions, and a library
/// reads only the first `struct_size` bytes (refusing a larger struct than it knows).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_open_options {
    /// `sizeof(rl_open_options)` as the caller compiled it.
    pub struct_size: usize,
    /// Operator recorded in the gallery's audit trail with everything this handle does
    /// (NUL-terminated, 1–256 bytes of UTF-8 without control characters), or NULL for none.
    pub operator_id: *const c_char,
    /// The gallery key of an encrypted gallery (32 bytes), or NULL for a clear gallery. With
    /// `RL_OPEN_CREATE`, a new gallery is created encrypted under it. Copied at open; the
    /// caller may wipe its buffer when the call returns.
    pub key: *const u8,
    /// Bytes at `key`: 32, or 0 when `key` is NULL.
    pub key_len: usize,
}

/// The least `struct_size` `rl_gallery_open_with` accepts: up to and including
/// `operator_id`.
const OPEN_OPTIONS_MIN_SIZE: usize =
    std::mem::offset_of!(rl_open_options, operator_id) + std::mem::size_of::<*const c_char>();

/// Reads the caller's options (NULL: the defaults).
fn open_options(options: *const rl_open_options) -> Result<OpenOptions, FfiError> {
    if options.is_null() {
        return Ok(OpenOptions::new());
    }
    // SAFETY: non-NULL; the caller promises a readable rl_open_options of at least
    // `struct_size` bytes, and struct_size is the first field of every version.
    let size = unsafe { std::ptr::addr_of!((*options).struct_size).read_unaligned() };
    let ours = std::mem::size_of::<rl_open_options>();
    if size < OPEN_OPTIONS_MIN_SIZE || size > ours {
        return Err(FfiError::invalid(format!(
            "options->struct_size is {size}; this library reads rl_open_options of \
             {OPEN_OPTIONS_MIN_SIZE} to {ours} bytes (set it to sizeof(rl_open_options))"
        )));
    }
    let mut o = rl_open_options {
        struct_size: size,
        operator_id: std::ptr::null(),
        key: std::ptr::null(),
        key_len: 0,
    };
    // SAFETY: copies the `size` bytes the caller declared, at most our struct's size.
    unsafe {
        std::ptr::copy_nonoverlapping(
            options.cast::<u8>(),
            (&mut o as *mut rl_open_options).cast::<u8>(),
            size,
        )
    };
    let mut out = OpenOptions::new();
    match (o.key.is_null(), o.key_len) {
        (true, 0) => {}
        (false, ridgeline::gallery::seal::KEY_LEN) => {
            // SAFETY: non-NULL; the caller promises `key_len` readable bytes at `key`.
            let bytes = unsafe { std::slice::from_raw_parts(o.key, o.key_len) };
            out =
                out.key(ridgeline::gallery::GalleryKey::from_bytes(bytes).map_err(FfiError::from)?);
        }
        (null, len) => {
            return Err(FfiError::invalid(format!(
                "options->key is {} with key_len {len}: give a 32-byte key, or NULL and 0",
                if null { "NULL" } else { "set" }
            )))
        }
    }
    if !o.operator_id.is_null() {
        out = out.operator(c_str(o.operator_id, "options->operator_id")?);
    }
    Ok(out)
}

/// One identification candidate: subject id (NUL-terminated), finger position (0–10), score.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_candidate {
    /// Subject id, NUL-terminated.
    pub id: [c_char; 65],
    /// Finger position as in ISO/IEC 19794-2 (0 = unknown, 1–10).
    pub finger: u8,
    /// Matcher score; compare with `rl_threshold_for_fmr`.
    pub score: f64,
}

/// A template gallery on disk (opaque). Open with `rl_gallery_open`, release with
/// `rl_gallery_close`.
#[derive(Debug)]
pub struct rl_gallery {
    pub(crate) gallery: Gallery,
    pub(crate) writable: bool,
    pub(crate) allow_partial: bool,
}

pub(crate) fn gallery_ref<'a>(g: *const rl_gallery) -> Result<&'a rl_gallery, FfiError> {
    if g.is_null() {
        return Err(FfiError::invalid("g is NULL"));
    }
    if !GALLERIES.contains(g as usize) {
        return Err(FfiError::invalid("g is not a live rl_gallery handle"));
    }
    // SAFETY: created by Box::into_raw in rl_gallery_open and not yet closed.
    Ok(unsafe { &*g })
}

pub(crate) fn gallery_error(error: ridgeline::Error) -> FfiError {
    use ridgeline::Error as E;
    let status = match &error {
        E::SubjectNotFound { .. } => RL_ERR_NOT_FOUND,
        E::GalleryLocked { .. } => RL_ERR_BUSY,
        E::GalleryReadOnly { .. } => RL_ERR_READ_ONLY,
        E::GalleryCorrupt { .. } | E::GalleryVersion { .. } | E::GalleryDescriptorLayout { .. } => {
            RL_ERR_FORMAT
        }
        E::AlreadyEnrolled { .. } | E::InvalidSubjectId { .. } => RL_ERR_INVALID_ARGUMENT,
        E::GalleryKey { .. } => RL_ERR_KEY,
        // Records committed after the manifest that was put back cannot be read.
        E::GalleryRolledBack { .. } => RL_ERR_DAMAGED,
        E::DuplicatePerson { .. } | E::SubjectExists { .. } => RL_ERR_DUPLICATE,
        // The operation is not carried out when its entry cannot be appended.
        E::AuditTrail { .. } => RL_ERR_IO,
        other => FfiError::from_core_status(other),
    };
    FfiError::new(status, error.to_string())
}

/// Opens the gallery in directory `dir`. `flags`: `RL_OPEN_READ_ONLY`, or `RL_OPEN_WRITE`
/// optionally with `RL_OPEN_CREATE`, either optionally with `RL_OPEN_ALLOW_PARTIAL`.
/// `RL_ERR_NOT_FOUND` when there is no gallery and `RL_OPEN_CREATE` is not given;
/// `RL_ERR_BUSY` when another writer holds it.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn rl_gallery_open(
    dir: *const c_char,
    flags: u32,
    out: *mut *mut rl_gallery,
) -> rl_status {
    rl_gallery_open_with(dir, flags, std::ptr::null(), out)
}

/// Like `rl_gallery_open`, with options (NULL: the defaults of `rl_gallery_open`): the
/// operator recorded in the gallery's audit trail with every enrolment, search, removal and
/// compaction of this handle, and the key of an encrypted gallery. `RL_ERR_INVALID_ARGUMENT`
/// for a bad `struct_size`, a bad operator id or a key that is not 32 bytes; `RL_ERR_KEY` for
/// an encrypted gallery without its key or with another key, or a key for a clear gallery.
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn rl_gallery_open_with(
    dir: *const c_char,
    flags: u32,
    options: *const rl_open_options,
    out: *mut *mut rl_gallery,
) -> rl_status {
    guard::run(|| {
        let out = out_ptr(out, "out")?;
        let options = open_options(options)?;
        let dir = Path::new(c_str(dir, "dir")?);
        let known = RL_OPEN_READ_ONLY | RL_OPEN_WRITE | RL_OPEN_CREATE | RL_OPEN_ALLOW_PARTIAL;
        let read_only = flags & RL_OPEN_READ_ONLY != 0;
        let write = flags & (RL_OPEN_WRITE | RL_OPEN_CREATE) != 0;
        if flags & !known != 0 || read_only == write {
            return Err(FfiError::invalid(format!(
                "flags {flags:#x}: give RL_OPEN_READ_ONLY, or RL_OPEN_WRITE with optional RL_OPEN_CREATE"
            )));
        }
        let exists = dir.join(ridgeline::gallery::MANIFEST_FILE).exists();
        let gallery = if !exists && flags & RL_OPEN_CREATE != 0 {
            std::fs::create_dir_all(dir)
                .map_err(|e| FfiError::from(ridgeline::Error::io(dir, e)))?;
            Gallery::create_with(dir, &options)
        } else if !exists {
            return Err(FfiError::new(
                RL_ERR_NOT_FOUND,
                format!("no gallery in {} (pass RL_OPEN_CREATE to create one)", dir.display()),
            ));
        } else {
            let mode = if write { OpenMode::Writable } else { OpenMode::ReadOnly };
            Gallery::open_with(dir, mode, &options)
        }
        .map_err(gallery_error)?;
        let allow_partial = flags & RL_OPEN_ALLOW_PARTIAL != 0;
        let handle =
            Box::into_raw(Box::new(rl_gallery { gallery, writable: write, allow_partial }));
        GALLERIES.insert(handle as usize);
        *out = handle;
        Ok(())
    })
}

/// Enrols template `t` for subject `id` (1–64 bytes of printable UTF-8) and finger position
/// `finger` (0–10). Durable when the call returns. `RL_ERR_LOW_QUALITY` for a template with
/// fewer than `RL_MIN_USABLE_MINUTIAE` minutiae (as extraction refuses them);
/// `RL_ERR_DAMAGED` when the duplicate check cannot read every record.
///
/// Thread safety: safe from many threads (enrolments are serialised internally); searches on
/// other threads see either the gallery before or after the enrolment.
#[no_mangle]
pub extern "C" fn rl_gallery_enroll(
    g: *mut rl_gallery,
    id: *const c_char,
    finger: u8,
    t: *const rl_template,
) -> rl_status {
    guard::run(|| {
        let g = gallery_ref(g)?;
        let id = c_str(id, "id")?;
        let t = template_ref(t, "t")?;
        if finger > 10 {
            return Err(FfiError::invalid(format!("finger {finger} is not a position 0-10")));
        }
        if !g.writable {
            return Err(FfiError::new(RL_ERR_READ_ONLY, "the gallery was opened read-only"));
        }
        g.gallery.enroll(id, finger, &t.template).map_err(gallery_error)?;
        Ok(())
    })
}

/// Removes every record of subject `id` (de-registration). `RL_ERR_NOT_FOUND` if none.
///
/// Thread safety: as `rl_gallery_enroll`.
#[no_mangle]
pub extern "C" fn rl_gallery_remove(g: *mut rl_gallery, id: *const c_char) -> rl_status {
    guard::run(|| {
        let g = gallery_ref(g)?;
        let id = c_str(id, "id")?;
        if !g.writable {
            return Err(FfiError::new(RL_ERR_READ_ONLY, "the gallery was opened read-only"));
        }
        g.gallery.remove(id).map_err(gallery_error)?;
        Ok(())
    })
}

/// Searches the gallery for `probe`; `*candidates` receives up to `top_k` candidates, best
/// first, and `*count` how many (release with `rl_candidates_free(*candidates, *count)`; with
/// `*count == 0` the pointer is NULL). A `top_k` above the gallery size is clamped.
/// `RL_ERR_DAMAGED` when committed records cannot be read; with `RL_OPEN_ALLOW_PARTIAL`,
/// `RL_PARTIAL` with the outputs filled from the readable records.
///
/// Thread safety: safe from many threads at once on one handle, also while another thread
/// enrols.
#[no_mangle]
pub extern "C" fn rl_gallery_identify(
    g: *const rl_gallery,
    probe: *const rl_template,
    top_k: u32,
    candidates: *mut *mut rl_candidate,
    count: *mut usize,
) -> rl_status {
    guard::run(|| {
        let g = gallery_ref(g)?;
        let probe = template_ref(probe, "probe")?;
        let candidates = out_ptr(candidates, "candidates")?;
        let count = out_ptr(count, "count")?;
        if top_k == 0 {
            return Err(FfiError::invalid("top_k is 0"));
        }
        let top_k = (top_k as usize).min(g.gallery.len().max(1));
        let options =
            SearchOptions { top_k, allow_partial: g.allow_partial, ..SearchOptions::default() };
        let found = g.gallery.identify(&probe.template, &options).map_err(gallery_error)?;
        let list: Vec<rl_candidate> = found
            .candidates
            .iter()
            .map(|c| {
                let mut id = [0 as c_char; 65];
                for (slot, byte) in id.iter_mut().zip(c.subject_id.bytes().take(RL_MAX_ID_LEN)) {
                    *slot = byte as c_char;
                }
                rl_candidate { id, finger: c.finger, score: c.score }
            })
            .collect();
        *count = list.len();
        *candidates = if list.is_empty() {
            std::ptr::null_mut()
        } else {
            let len = list.len();
            let ptr = Box::into_raw(list.into_boxed_slice()).cast::<rl_candidate>();
            CANDIDATES.insert_sized(ptr as usize, len);
            ptr
        };
        if found.partial() {
            return Err(partial_search(found.skipped_records));
        }
        Ok(())
    })
}

/// The `RL_PARTIAL` status of a search that skipped records it could not read.
pub(crate) fn partial_search(skipped_records: usize) -> FfiError {
    FfiError::new(
        RL_PARTIAL,
        format!("partial search: {skipped_records} committed records could not be read and were skipped"),
    )
}

/// Releases candidates returned by `rl_gallery_identify`. NULL and pointers that are not live
/// are ignored, and so is a live list with a `count` other than the one it was returned with
/// (it stays live: free it again with the right count).
///
/// Thread safety: safe; free each list once.
#[no_mangle]
pub extern "C" fn rl_candidates_free(candidates: *mut rl_candidate, count: usize) {
    guard::run_void(|| {
        if candidates.is_null() {
            return Ok(());
        }
        match CANDIDATES.remove_sized(candidates as usize, count) {
            Release::Done => {}
            Release::NotLive => {
                return Err(FfiError::invalid(
                    "rl_candidates_free: not a live candidate list (freed twice?)",
                ))
            }
            Release::WrongLength(live) => {
                return Err(FfiError::invalid(format!(
                    "rl_candidates_free: count {count}, the list holds {live}; not freed"
                )))
            }
        }
        // SAFETY: produced by Box::into_raw of a boxed slice of exactly `count` elements (the
        // caller passes back the count it was given), live until now.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(candidates, count)) });
        Ok(())
    })
}

/// The number of live templates in the gallery.
///
/// Thread safety: safe from many threads at once.
#[no_mangle]
pub extern "C" fn rl_gallery_count(g: *const rl_gallery, count: *mut u64) -> rl_status {
    guard::run(|| {
        let g = gallery_ref(g)?;
        *out_ptr(count, "count")? = g.gallery.len() as u64;
        Ok(())
    })
}

/// The score the best candidate of `rl_gallery_identify` must reach for the probe to be taken
/// as already enrolled, when the whole search may yield a false match with probability
/// `fmr_per_search` (for example 1e-4; must be in (0, 1)): `rl_threshold_for_fmr` of that rate
/// divided by the templates in the gallery now, each of them a chance for an impostor.
///
/// Thread safety: safe from many threads at once.
#[no_mangle]
pub extern "C" fn rl_gallery_match_threshold(
    g: *const rl_gallery,
    fmr_per_search: f64,
    score: *mut f64,
) -> rl_status {
    guard::run(|| {
        let g = gallery_ref(g)?;
        let score = out_ptr(score, "score")?;
        if !(fmr_per_search > 0.0 && fmr_per_search < 1.0) {
            return Err(FfiError::invalid(format!(
                "fmr_per_search {fmr_per_search} is not in (0, 1)"
            )));
        }
        *score = ridgeline::gallery::identify::match_threshold(fmr_per_search, g.gallery.len());
        Ok(())
    })
}

/// Closes the gallery and releases its writer lock. NULL and handles that are not live are
/// ignored.
///
/// Thread safety: do not close while another thread uses the handle.
#[no_mangle]
pub extern "C" fn rl_gallery_close(g: *mut rl_gallery) {
    guard::run_void(|| {
        if g.is_null() {
            return Ok(());
        }
        if !GALLERIES.remove(g as usize) {
            return Err(FfiError::invalid("rl_gallery_close: not a live gallery (closed twice?)"));
        }
        // SAFETY: created by Box::into_raw in rl_gallery_open, live until this call.
        drop(unsafe { Box::from_raw(g) });
        Ok(())
    })
}

//! People: enrol several fingers of one person in one call (refused when the person is
//! already enrolled under another id), and identify from several fingers with fused evidence.

use std::ffi::c_char;

use ridgeline::gallery::{EnrolOptions, PersonCandidate, PersonSearchOptions, Print, SearchMode};

use crate::gallery::{gallery_error, gallery_ref, rl_gallery, RL_MAX_ID_LEN};
use crate::guard::{self, c_str, out_ptr};
use crate::registry::PERSON_CANDIDATES;
use crate::status::*;
use crate::template::{rl_template, template_ref};

/// Most prints of one person (ten fingers).
pub const RL_MAX_PRINTS: usize = 10;
/// `rl_gallery_enroll_person` flag: the call updates the enrolled subject of the same id (adds
/// fingers; a re-captured finger replaces its old record). Without it an enrolled id is
/// refused with `RL_ERR_DUPLICATE`.
pub const RL_ENROLL_UPDATE: u32 = 1;

/// One print of a person: finger position (ISO/IEC 19794-2: 0 unknown, 1–10) and template.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_print {
    /// Finger position 0–10; a known position at most once per person.
    pub finger: u8,
    /// A live template handle (borrowed for the call; `tmpl` because `template` is a C++
    /// keyword).
    pub tmpl: *const rl_template,
}

/// The evidence of one probe finger for a candidate.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_finger_evidence {
    /// The probe's finger position.
    pub probe_finger: u8,
    /// Finger position of the candidate's best-matching record.
    pub finger: u8,
    /// Matcher score of that record.
    pub score: f64,
    /// Estimated false match rate of this finger's evidence.
    pub fmr: f64,
}

/// One candidate person of `rl_gallery_identify_person`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_person_candidate {
    /// Subject id, NUL-terminated.
    pub id: [c_char; 65],
    /// Fused score on the matcher's calibrated scale (a single comparison's own score when
    /// it is the only evidence).
    pub score: f64,
    /// Fused false match rate of the per-finger evidence.
    pub fmr: f64,
    /// How many entries of `fingers` are filled.
    pub finger_count: u32,
    /// Per-finger evidence, in probe order.
    pub fingers: [rl_finger_evidence; 10],
}

/// The decision of `rl_gallery_identify_person`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_person_decision {
    /// Index of the matched candidate (always 0 when there is one), or -1: not enrolled.
    pub matched: i32,
    /// Subjects searched.
    pub searched: u64,
    /// The fused false match rate a match needed: `fmr_per_search / searched`.
    pub threshold_fmr: f64,
}

fn id_field(id: &str) -> [c_char; 65] {
    let mut out = [0 as c_char; 65];
    for (slot, byte) in out.iter_mut().zip(id.bytes().take(RL_MAX_ID_LEN)) {
        *slot = byte as c_char;
    }
    out
}

fn check_rate(fmr_per_search: f64) -> Result<(), FfiError> {
    if fmr_per_search > 0.0 && fmr_per_search < 1.0 {
        Ok(())
    } else {
        Err(FfiError::invalid(format!("fmr_per_search {fmr_per_search} is not in (0, 1)")))
    }
}

/// Borrows the caller's prints and their templates.
fn prints_of<'a>(prints: *const rl_print, count: usize) -> Result<Vec<Print<'a>>, FfiError> {
    if prints.is_null() {
        return Err(FfiError::invalid("prints is NULL"));
    }
    if count == 0 || count > RL_MAX_PRINTS {
        return Err(FfiError::invalid(format!("count {count}: give 1-{RL_MAX_PRINTS} prints")));
    }
    // SAFETY: non-null, and the caller promises `count` readable rl_print (documented);
    // count is at most 10.
    let raw = unsafe { std::slice::from_raw_parts(prints, count) };
    raw.iter()
        .enumerate()
        .map(|(i, p)| {
            if p.finger > 10 {
                return Err(FfiError::invalid(format!(
                    "prints[{i}].finger {} is not a position 0-10",
                    p.finger
                )));
            }
            let t = template_ref(p.tmpl, &format!("prints[{i}].tmpl"))?;
            Ok(Print { finger: p.finger, template: &t.template })
        })
        .collect()
}

/// Enrols person `id` with `count` prints (1–10) in one commit, durable when the call
/// returns. Refused with `RL_ERR_DUPLICATE` when the prints match another enrolled subject at
/// the false match rate per search `fmr_per_search` (e.g. 1e-4) — `existing`, when not NULL,
/// then receives that subject's id (NUL-terminated, at most 65 bytes; an empty string for
/// other errors) — or when `id` is enrolled and `flags` lacks `RL_ENROLL_UPDATE`. With
/// `RL_ENROLL_UPDATE` the prints are added to the enrolled subject `id` (`RL_ERR_NOT_FOUND` if
/// it is not enrolled), a re-captured finger replacing its old record. `id` is normalised
/// (Unicode NFC, trimmed); one holding control or invisible characters is refused with
/// `RL_ERR_INVALID_ARGUMENT`.
///
/// Thread safety: as `rl_gallery_enroll`.
#[no_mangle]
pub extern "C" fn rl_gallery_enroll_person(
    g: *mut rl_gallery,
    id: *const c_char,
    prints: *const rl_print,
    count: usize,
    flags: u32,
    fmr_per_search: f64,
    existing: *mut c_char,
) -> rl_status {
    if !existing.is_null() {
        // SAFETY: non-null, and the caller promises 65 writable bytes (documented).
        unsafe { *existing = 0 };
    }
    guard::run(|| {
        let g = gallery_ref(g)?;
        let id = c_str(id, "id")?;
        let prints = prints_of(prints, count)?;
        check_rate(fmr_per_search)?;
        if flags & !RL_ENROLL_UPDATE != 0 {
            return Err(FfiError::invalid(format!("flags {flags:#x}: only RL_ENROLL_UPDATE")));
        }
        if !g.writable {
            return Err(FfiError::new(RL_ERR_READ_ONLY, "the gallery was opened read-only"));
        }
        let person =
            ridgeline::gallery::NewPerson { subject_id: id, prints: &prints, demographics: None };
        let options = EnrolOptions {
            update: flags & RL_ENROLL_UPDATE != 0,
            fmr_per_search,
            mode: SearchMode::Indexed,
        };
        match g.gallery.enroll_person(&person, &options) {
            Ok(_) => Ok(()),
            Err(error) => {
                if let (false, ridgeline::Error::DuplicatePerson { existing: other, .. }) =
                    (existing.is_null(), &error)
                {
                    let field = id_field(other);
                    // SAFETY: non-null, 65 writable bytes promised by the caller.
                    unsafe { std::ptr::copy_nonoverlapping(field.as_ptr(), existing, field.len()) };
                }
                Err(gallery_error(error))
            }
        }
    })
}

/// Identifies a person from `count` prints (1–10) of their fingers: each finger searched, the
/// evidence fused per subject. `*candidates` receives up to `top_k` candidates, best first,
/// and `*count_out` how many (release with `rl_person_candidates_free(*candidates,
/// *count_out)`; NULL when none); `*decision` whether the best one matches at the false match
/// rate per search `fmr_per_search` (e.g. 1e-4), which is divided by the subjects searched.
///
/// Thread safety: as `rl_gallery_identify`.
#[no_mangle]
pub extern "C" fn rl_gallery_identify_person(
    g: *const rl_gallery,
    prints: *const rl_print,
    count: usize,
    top_k: u32,
    fmr_per_search: f64,
    candidates: *mut *mut rl_person_candidate,
    count_out: *mut usize,
    decision: *mut rl_person_decision,
) -> rl_status {
    guard::run(|| {
        let g = gallery_ref(g)?;
        let prints = prints_of(prints, count)?;
        let candidates = out_ptr(candidates, "candidates")?;
        let count_out = out_ptr(count_out, "count_out")?;
        let decision = out_ptr(decision, "decision")?;
        check_rate(fmr_per_search)?;
        if top_k == 0 {
            return Err(FfiError::invalid("top_k is 0"));
        }
        let options = PersonSearchOptions {
            top_k: (top_k as usize).min(10_000),
            fmr_per_search,
            mode: SearchMode::Indexed,
            allow_partial: g.allow_partial,
        };
        let found = g.gallery.identify_person(&prints, &options).map_err(gallery_error)?;
        let to_c = |c: &PersonCandidate| {
            let mut fingers =
                [rl_finger_evidence { probe_finger: 0, finger: 0, score: 0.0, fmr: 1.0 }; 10];
            for (slot, f) in fingers.iter_mut().zip(&c.fingers) {
                *slot = rl_finger_evidence {
                    probe_finger: f.probe_finger,
                    finger: f.finger,
                    score: f.score,
                    fmr: f.fmr,
                };
            }
            rl_person_candidate {
                id: id_field(&c.subject_id),
                score: c.score,
                fmr: c.fmr,
                finger_count: c.fingers.len().min(RL_MAX_PRINTS) as u32,
                fingers,
            }
        };
        let list: Vec<rl_person_candidate> = found.candidates.iter().map(to_c).collect();
        *decision = rl_person_decision {
            matched: if found.matched().is_some() { 0 } else { -1 },
            searched: found.searched as u64,
            threshold_fmr: found.threshold_fmr,
        };
        *count_out = list.len();
        *candidates = if list.is_empty() {
            std::ptr::null_mut()
        } else {
            let ptr = Box::into_raw(list.into_boxed_slice()).cast::<rl_person_candidate>();
            PERSON_CANDIDATES.insert(ptr as usize);
            ptr
        };
        if found.partial() {
            return Err(crate::gallery::partial_search(found.skipped_records));
        }
        Ok(())
    })
}

/// Releases candidates returned by `rl_gallery_identify_person`. NULL and pointers that are
/// not live are ignored.
///
/// Thread safety: safe; free each list once.
#[no_mangle]
pub extern "C" fn rl_person_candidates_free(candidates: *mut rl_person_candidate, count: usize) {
    guard::run_void(|| {
        if candidates.is_null() {
            return Ok(());
        }
        if !PERSON_CANDIDATES.remove(candidates as usize) {
            return Err(FfiError::invalid(
                "rl_person_candidates_free: not a live candidate list (freed twice?)",
            ));
        }
        // SAFETY: produced by Box::into_raw of a boxed slice of exactly `count` elements (the
        // caller passes back the count it was given), live until now.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(candidates, count)) });
        Ok(())
    })
}

/// The number of enrolled subjects (people) in the gallery.
///
/// Thread safety: safe from many threads at once.
#[no_mangle]
pub extern "C" fn rl_gallery_subject_count(g: *const rl_gallery, count: *mut u64) -> rl_status {
    guard::run(|| {
        let g = gallery_ref(g)?;
        let count = out_ptr(count, "count")?;
        *count = g.gallery.subject_count().map_err(gallery_error)? as u64;
        Ok(())
    })
}

//! The files of an encrypted gallery (manifest version 2, sealed segments, sealed `.idx`
//! sidecars, sealed audit subject ids) must open, or be refused with a typed error, never
//! panic or hand out unauthenticated bytes. The key is that of the checked-in test gallery
//! `crates/ridgeline/tests/data/gallery-sealed-v1`, whose files are the seeds
//! (`make-seeds.sh`); inputs not sealed under it exercise every refusal path.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use ridgeline::gallery::coarse_file::{self, CoarseFile};
use ridgeline::gallery::segment::{self, Segment};
use ridgeline::gallery::{GalleryKey, Manifest};

fn get_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn get_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fuzz_target!(|data: &[u8]| {
    let hex = b"5e41ed0000000000000000000000000000000000000000000000000000c0ffee";
    let Ok(key) = GalleryKey::from_file_contents(hex) else { return };
    let key = Arc::new(key);
    let path = PathBuf::from("MANIFEST");
    let _ = Manifest::decode_with(&path, data, Some(&key));
    let _ = Manifest::decode(&path, data);
    let _ = Manifest::decode_unauthenticated(&path, data);

    let file = std::env::temp_dir().join(format!("ridgeline-fuzz-sealed-{}", std::process::id()));
    if std::fs::write(&file, data).is_ok() {
        // The id and count the manifest would expect, from the input, so that mutations get
        // past those checks to the sealed payload.
        let id = get_u64(data, segment::OFFSET_SEGMENT_ID).unwrap_or(1);
        let count = get_u32(data, segment::OFFSET_RECORD_COUNT).unwrap_or(1);
        let records = get_u32(data, coarse_file::OFFSET_RECORD_COUNT).unwrap_or(1);
        if let Ok(seg) = Segment::open_with(&file, id, count, Some(&key)) {
            let _ = seg.verify();
            for i in 0..seg.len() {
                let _ = (seg.subject(i), seg.demographics(i), seg.descriptor(i));
            }
        }
        if let Ok(coarse) = CoarseFile::open_with(&file, records, Some(&key)) {
            let _ = coarse.record(0);
        }
        let _ = CoarseFile::verify_file_with(&file, records, Some(&key));
        let _ = std::fs::remove_file(&file);
    }

    let mut report = ridgeline::gallery::audit::verify_bytes(data);
    let _ = ridgeline::gallery::audit::unseal_subjects(&mut report.entries, &key);
});

//! The files of a clear gallery (manifest version 1, clear segments, `.idx` sidecars version 1)
//! must open, or be refused with a typed error, never panic or hand out unchecked bytes. Seeds:
//! the checked-in clear test gallery `crates/ridgeline/tests/data/gallery-v1` (`make-seeds.sh`).
//! The segment id and record count the manifest would expect are read from the input itself,
//! so that mutations get past those two checks to the regions behind them.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use ridgeline::gallery::coarse_file::{self, CoarseFile};
use ridgeline::gallery::Manifest;
use ridgeline::gallery::segment::{self, Segment};

fn get_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn get_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fuzz_target!(|data: &[u8]| {
    let path = PathBuf::from("MANIFEST");
    let _ = Manifest::decode(&path, data);
    let _ = Manifest::decode_with(&path, data, None);

    let file = std::env::temp_dir().join(format!("ridgeline-fuzz-clear-{}", std::process::id()));
    if std::fs::write(&file, data).is_ok() {
        let id = get_u64(data, segment::OFFSET_SEGMENT_ID).unwrap_or(1);
        let count = get_u32(data, segment::OFFSET_RECORD_COUNT).unwrap_or(1);
        if let Ok(seg) = Segment::open_with(&file, id, count, None) {
            let _ = seg.verify();
            for i in 0..seg.len().min(4096) {
                let _ = (seg.subject(i), seg.demographics(i), seg.descriptor(i));
                let _ = (seg.entry_view(i), seg.record_intact(i), seg.record_checksums(i));
            }
        }
        let records = get_u32(data, coarse_file::OFFSET_RECORD_COUNT).unwrap_or(1);
        if let Ok(f) = CoarseFile::open_with(&file, records, None) {
            for r in 0..records.min(4096) {
                let _ = f.record(r);
            }
        }
        let _ = CoarseFile::verify_file_with(&file, records, None);
        let _ = std::fs::remove_file(&file);
    }
});

//! The files of an encrypted gallery (manifest version 2, sealed segments, sealed `.idx`
//! sidecars, sealed audit subject ids) must open, or be refused with a typed error, never
//! panic or hand out unauthenticated bytes. The key is that of the checked-in test gallery
//! `crates/ridgeline/tests/data/gallery-sealed-v1`, whose files are the seeds
//! (`make-seeds.sh`); inputs not sealed under it exercise every refusal path.
#![no_main]

use std::path::PathBuf;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use ridgeline::gallery::filter::SegmentFilter;
use ridgeline::gallery::manifest::Manifest;
use ridgeline::gallery::segment::Segment;
use ridgeline::gallery::GalleryKey;

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
        if let Ok(seg) = Segment::open_with(&file, 1, 1, Some(&key)) {
            let _ = seg.verify();
            for i in 0..seg.len() {
                let _ = (seg.subject(i), seg.demographics(i), seg.descriptor(i));
            }
        }
        if let Ok(filter) = SegmentFilter::open_with(&file, 1, Some(&key)) {
            let _ = filter.record(0);
        }
        let _ = SegmentFilter::verify_file_with(&file, 1, Some(&key));
        let _ = std::fs::remove_file(&file);
    }

    let mut report = ridgeline::gallery::audit::verify_bytes(data);
    let _ = ridgeline::gallery::audit::unseal_subjects(&mut report.entries, &key);
});

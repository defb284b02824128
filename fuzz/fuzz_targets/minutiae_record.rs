//! ISO/IEC 19794-2 (2005, 2011) and ANSI INCITS 378 (2004, 2009) records: detection, decoding,
//! conversion to templates and re-encoding must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = ridgeline::formats::decode_record(data) {
        let mut warnings = Vec::new();
        let _ = record.templates(&mut warnings);
        let _ = record.encode();
        for view in &record.views {
            for block in &view.extensions {
                let _ = block.ridge_counts();
                let _ = block.singular_points();
            }
        }
    }
    let _ = ridgeline::formats::decode_template(data);
});

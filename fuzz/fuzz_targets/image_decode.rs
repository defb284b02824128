//! Image files (PNG, BMP, TIFF, JPEG, PGM, WSQ) through `FingerImage::decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ridgeline::FingerImage::decode(data, None);
});

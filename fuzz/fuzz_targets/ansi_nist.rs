//! ANSI/NIST-ITL transactions: parsing and decoding every listed fingerprint image.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = ridgeline::formats::an2k::parse(data) {
        for fp in &t.fingerprints {
            let _ = fp.decode();
        }
    }
});

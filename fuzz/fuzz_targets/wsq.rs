//! WSQ streams: the decoder must never panic, and its allocation is bounded by the input size.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ridgeline::image::wsq::decode(data);
});

//! Native `.rlt` templates must decode or fail with an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = ridgeline::Template::from_native_bytes(data) {
        let _ = t.to_native_bytes();
    }
});

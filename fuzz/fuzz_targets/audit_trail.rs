//! Gallery audit trails (`AUDIT`) must be checked or reported broken, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let report = ridgeline::gallery::audit::verify_bytes(data);
    for e in &report.entries {
        let _ = (e.operation_name(), e.outcome_name(), e.time_utc());
    }
    let _ = ridgeline::gallery::audit::decode_entry(data, 0);
});

//! Timing parameters of the drivers, in one place, with their units in their names.
//!
//! Register accesses on these readers answer within a millisecond; the generous limits below only
//! bound how long a wedged or vanished device can keep a capture waiting.

/// Limit for one register read or write (U.are.U control transfer, AES3500 register bulk write).
pub const REGISTER_ACCESS_TIMEOUT_MS: u64 = 1_000;
/// Limit for the image transfer once the capture has been started (the finger is already down).
pub const IMAGE_TRANSFER_TIMEOUT_MS: u64 = 5_000;
/// Limit for the U.are.U to report that its scanner is powered (`56aa` interrupt) after power-up.
pub const POWER_ON_EVENT_TIMEOUT_MS: u64 = 1_000;
/// How many times the U.are.U power-up polls the status register before giving up.
pub const POWER_UP_POLLS: u32 = 100;
/// Pause between two power-up polls of the status register.
pub const POWER_UP_POLL_INTERVAL_MS: u64 = 10;
/// Limit for each clean-up step after a failed or cancelled capture (mode off, cancelling reads).
pub const CLEANUP_STEP_TIMEOUT_MS: u64 = 300;
/// Longest single wait inside the event loop, so that cancellation is noticed quickly.
pub const EVENT_LOOP_TICK_MS: u64 = 20;
/// Default time a capture waits for a finger when the caller gives none.
pub const DEFAULT_FINGER_TIMEOUT_MS: u64 = 30_000;

//! C ABI of the Ridgeline engine (issue #9).

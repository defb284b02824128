//! Fingerprint readers: USB drivers over rusb and a virtual reader (issue #8).

//! 1:1 comparison of prepared templates with calibrated scores (issue #3).

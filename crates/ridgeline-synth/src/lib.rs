//! Synthetic fingerprints with ground-truth minutiae (issue #5).

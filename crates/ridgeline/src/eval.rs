//! Accuracy metrics: EER, FNMR at FMR, DET curves (issue #3).

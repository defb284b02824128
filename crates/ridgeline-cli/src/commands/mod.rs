pub mod capture;
pub mod eval_extract;
pub mod extract;
pub mod readers;
pub mod synth;

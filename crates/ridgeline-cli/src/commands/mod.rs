pub mod capture;
pub mod compare;
pub mod eval;
pub mod convert;
pub mod extract;
pub mod readers;
pub mod synth;

pub mod capture;
pub mod extract;
pub mod synth;
pub mod readers;

pub mod extract;
pub mod synth;

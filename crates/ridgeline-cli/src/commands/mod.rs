pub mod bench;
pub mod bench_search;
pub mod enroll;
pub mod extract;
pub mod gallery;
pub mod identify;
pub mod probe_input;
pub mod remove;

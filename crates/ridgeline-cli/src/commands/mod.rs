pub mod capture;
pub mod compare;
pub mod eval;
pub mod extract;
pub mod readers;

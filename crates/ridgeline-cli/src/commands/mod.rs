pub mod capture;
pub mod extract;
pub mod readers;

pub mod capture;
pub mod convert;
pub mod extract;
pub mod readers;

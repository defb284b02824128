pub mod convert;
pub mod extract;

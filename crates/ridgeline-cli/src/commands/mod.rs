pub mod compare;
pub mod eval;
pub mod extract;

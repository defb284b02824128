//! Identity linkage: the same person in two registries, by name, identity number, birth date,
//! sex, address and, where present, prints.
//!
//! A key design decision is to keep the evidence probabilistic end to end (Fellegi–Sunter):
//! every field comparison becomes a level, every level a log-likelihood ratio estimated from
//! the data by EM, and fingerprint evidence a further ratio from the matcher's calibrated FMR,
//! so that a link carries one posterior probability and the report can say which evidence
//! decided it. Comparators know Chinese identity data: names by characters and pinyin
//! ([`name`]), GB 11643 identity numbers ([`id_number`]), dates with typical slips ([`date`]),
//! addresses by administrative tokens ([`address`]).
//!
//! The data flow: [`record::read_records`] → [`record::Person::prepare`] → [`blocking`] →
//! [`compare`] → [`model::em`] → [`linker::link`] → links, conflicts, summary. One system
//! against itself (de-duplication): [`linker::dedup`]. A clerk's decisions on the result:
//! [`decisions`].

pub mod address;
pub mod blocking;
pub mod compare;
pub mod date;
pub mod decisions;
pub mod error;
pub mod eval;
pub mod fusion;
pub mod id_number;
pub mod linker;
pub mod model;
pub mod name;
pub mod record;
pub mod rng;
pub mod sex;
pub mod synth;
pub mod text;

pub use error::{Error, Result};
pub use linker::{
    dedup, link, Conflict, ConflictKind, Evidence, LinkConfig, Linkage, PrintEvidence, ScoredPair,
};
pub use record::{read_records, ColumnMap, Person, RawRecord};

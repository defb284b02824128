//! Pattern classes and how often they occur.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// The five Henry classes SFinGe generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternClass {
    /// Plain arch: no singular point, ridges flow from one side to the other.
    Arch,
    /// Tented arch: a core with a delta right below it.
    TentedArch,
    /// Left loop: ridges enter and leave on the left, delta on the right (as viewed).
    LeftLoop,
    /// Right loop: ridges enter and leave on the right, delta on the left (as viewed).
    RightLoop,
    /// Whorl: two cores and two deltas.
    Whorl,
}

impl PatternClass {
    /// All classes, in the order of [`NATURAL_CLASS_FREQUENCIES`].
    pub const ALL: [PatternClass; 5] = [
        PatternClass::Arch,
        PatternClass::TentedArch,
        PatternClass::LeftLoop,
        PatternClass::RightLoop,
        PatternClass::Whorl,
    ];

    /// Lower-case name, as used in file names and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PatternClass::Arch => "arch",
            PatternClass::TentedArch => "tented_arch",
            PatternClass::LeftLoop => "left_loop",
            PatternClass::RightLoop => "right_loop",
            PatternClass::Whorl => "whorl",
        }
    }

    /// Draws a class with the given relative weights (in the order of [`PatternClass::ALL`]).
    pub fn sample(rng: &mut Rng, weights: &[f64; 5]) -> PatternClass {
        let total: f64 = weights.iter().sum();
        let mut pick = rng.unit() * total;
        for (class, weight) in Self::ALL.iter().zip(weights) {
            if pick < *weight {
                return *class;
            }
            pick -= weight;
        }
        PatternClass::Whorl
    }
}

/// Natural class frequencies (arch, tented arch, left loop, right loop, whorl), as used by
/// SFinGe after Wilson, Candela and Watson (1993): 3.7 %, 2.9 %, 33.8 %, 31.7 %, 27.9 %.
pub const NATURAL_CLASS_FREQUENCIES: [f64; 5] = [0.037, 0.029, 0.338, 0.317, 0.279];

//! Shared helpers for the core crate's unit tests.

use std::path::PathBuf;

use crate::template::{Minutia, MinutiaKind, Template};

/// `ridgeline_synth::fixture`, the one source of the gallery tests' template population: unit
/// tests cannot use a crate that depends on the core, so they compile its file here.
#[path = "../../ridgeline-synth/src/fixture.rs"]
pub(crate) mod fixture;

/// A path below `../shared/` beside the repository, or `None` with a SKIPPED message where the
/// shared data is absent. (Integration tests use `ridgeline_tests::shared_path`, which the core
/// crate cannot depend on.)
pub(crate) fn shared_path(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared").join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: ../shared/{relative} is absent");
        None
    }
}

/// A template of `count` minutiae scattered by a hash of their index and `seed` over the middle
/// of a 500 × 500 image, then turned by `turn` radians about its centre and shifted by `shift`
/// pixels (right and up): mates for equal seeds, strangers for different ones.
pub(crate) fn scattered_template(count: u32, seed: u32, turn: f32, shift: f32) -> Template {
    let (s, c) = turn.sin_cos();
    let minutiae = (0..count)
        .map(|i| {
            let h = (i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)) % 100_000;
            let (x, y) = (100.0 + (h % 300) as f32, 100.0 + (h / 300 % 300) as f32);
            let (u, v) = (x - 250.0, y - 250.0);
            Minutia {
                x: 250.0 + c * u - s * v + shift,
                y: 250.0 + s * u + c * v - shift,
                angle: (h % 628) as f32 / 100.0 + turn,
                kind: if h % 2 == 0 { MinutiaKind::Ending } else { MinutiaKind::Bifurcation },
                quality: 60 + (h % 40) as u8,
            }
        })
        .collect();
    Template { width: 500, height: 500, dpi: 500, quality: 80, minutiae, singular_points: vec![] }
}

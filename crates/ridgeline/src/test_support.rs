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

/// The FVC2002 "B" sets under `../shared/datasets/fvc2002` and their resolutions (DB2's images
/// are 569 dpi, whatever its files state).
pub(crate) const DEV_SETS: [(&str, u32); 4] =
    [("DB1_B", 500), ("DB2_B", 569), ("DB3_B", 500), ("DB4_B", 500)];

/// The SecuGen ISO template beside dev-set image `finger_impression` of `set` (under `root`, the
/// `fvc2002` folder), at the set's resolution `dpi`.
pub(crate) fn dev_set_iso(
    root: &std::path::Path,
    (set, dpi): (&str, u32),
    finger: u32,
    impression: u32,
) -> Template {
    let path = root.join(set).join(format!("{finger}_{impression}.iso"));
    let bytes = std::fs::read(&path).expect("dev set file readable");
    let mut template = crate::formats::decode_template(&bytes).expect("ISO decodes");
    template.dpi = dpi;
    template
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

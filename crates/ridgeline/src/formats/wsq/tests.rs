//! WSQ against NIST's reference decoder output.

use std::path::PathBuf;

use super::*;

fn shared(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared").join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: ../shared/{relative} is absent");
        None
    }
}

/// Pixels of a binary PGM (P5, maxval 255).
fn read_pgm(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..pos]).to_string());
    }
    assert_eq!(fields[0], "P5");
    let w: u32 = fields[1].parse().expect("width");
    let h: u32 = fields[2].parse().expect("height");
    (w, h, bytes[pos + 1..].to_vec())
}

#[test]
fn decodes_bit_exactly_like_nbis() {
    let (Some(wsq), Some(pgm), Some(png)) = (
        shared("format-vectors/sourceafis/wsq-original.wsq"),
        shared("format-vectors/sourceafis/wsq-original.nbis.pgm"),
        shared("format-vectors/sourceafis/wsq-converted.png"),
    ) else {
        return;
    };
    let img = decode(&std::fs::read(wsq).expect("read")).expect("decode");
    let (w, h, expected) = read_pgm(&std::fs::read(pgm).expect("read"));
    assert_eq!((img.width, img.height), (w, h));
    assert_eq!((img.width, img.height), (832, 768));
    let differing = img.pixels.iter().zip(&expected).filter(|(a, b)| a != b).count();
    let worst = img.pixels.iter().zip(&expected).map(|(&a, &b)| (a as i32 - b as i32).abs()).max();
    assert_eq!(differing, 0, "{differing} pixels differ, worst by {worst:?}");
    let png = crate::FingerImage::open(png, None).expect("png");
    assert_eq!(png.pixels(), &img.pixels[..]);
    assert_eq!(img.ppi, Some(500));
}

#[test]
fn truncations_and_corruptions_are_errors_not_panics() {
    let Some(wsq) = shared("format-vectors/sourceafis/wsq-original.wsq") else { return };
    let bytes = std::fs::read(wsq).expect("read");
    for cut in (0..bytes.len()).step_by(bytes.len() / 25) {
        assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // Flip bytes through the headers and tables and the start of the coded data.
    for at in (0..bytes.len().min(1200)).step_by(40) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x5a;
        let _ = decode(&bad);
    }
}

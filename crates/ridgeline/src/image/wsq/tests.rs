//! WSQ against NIST's reference decoder output.

use super::encode::MIN_BITRATE_BPP;
use super::*;

use crate::test_support::shared_path as shared;

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

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse =
        a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

/// PSNR at 0.75 bpp the encoder must keep reaching, per FVC 2002 set, as the mean over the
/// first impression of fingers 101, 104, 107 and 110 (measured with the
/// rate–distortion allocation: DB1 36.14, DB2 35.86, DB3 30.83, DB4 35.59 dB; over all 80
/// images a set the specification's allocation gave 0.5–0.6 dB less). The bounds sit 0.3 dB
/// below the measurement.
///
/// The issue asked for 40 dB. That is out of reach of any WSQ encoder on these images: a JPEG
/// 2000 coder (stronger entropy coding) gets 36.2/36.9/32.6/35.7 dB at 0.75 bpp on the same
/// sets and needs 1.0–2.3 bpp for 40 dB (docs/FORMATS.md, WSQ encoder).
const MIN_MEAN_PSNR_DB: [(&str, f64); 4] =
    [("DB1_B", 35.8), ("DB2_B", 35.55), ("DB3_B", 30.5), ("DB4_B", 35.25)];
/// The smooth SourceAFIS sample is the one image that passes 40 dB at 0.75 bpp (57 dB).
const MIN_PSNR_SOURCEAFIS_DB: f64 = 50.0;

/// Encodes at 0.75 bpp (compressed bytes × 8 / all pixels) and decodes with the NBIS-exact
/// decoder: the budget is met (never exceeded, used to within 2 %), and the PSNR per set holds
/// its bound.
#[test]
fn encoder_round_trip_on_dev_images() {
    let Some(root) = shared("datasets/fvc2002") else { return };
    let encode_decode = |img: &crate::FingerImage| -> (f64, f64) {
        let bytes = encode(img, TARGET_BITRATE_BPP).expect("encode");
        let back = decode(&bytes).expect("our (NBIS-exact) decoder reads the stream");
        assert_eq!((back.width, back.height, back.ppi), (img.width(), img.height(), Some(500)));
        let budget = (TARGET_BITRATE_BPP as f64 * img.pixels().len() as f64 / 8.0).floor();
        assert!(bytes.len() as f64 <= budget && bytes.len() as f64 >= 0.98 * budget);
        (bytes.len() as f64 * 8.0 / img.pixels().len() as f64, psnr(img.pixels(), &back.pixels))
    };
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    for (set, bound) in MIN_MEAN_PSNR_DB {
        let mut sum = 0.0;
        for finger in [101, 104, 107, 110] {
            let path = root.join(set).join(format!("{finger}_1.tif"));
            let img = crate::FingerImage::open(&path, Some(500)).expect("image");
            let (bpp, p) = encode_decode(&img);
            lines.push(format!("{set}/{finger}_1: {bpp:.4} bpp, PSNR {p:.2} dB"));
            sum += p;
        }
        let mean = sum / 4.0;
        lines.push(format!("{set}: mean PSNR {mean:.2} dB (bound {bound})"));
        if mean < bound {
            failures.push(set);
        }
    }
    if let Some(p) = shared("format-vectors/sourceafis/wsq-converted.png") {
        let img = crate::FingerImage::open(p, Some(500)).expect("image");
        let (bpp, p) = encode_decode(&img);
        lines.push(format!("SourceAFIS 832x768: {bpp:.4} bpp, PSNR {p:.2} dB"));
        if p < MIN_PSNR_SOURCEAFIS_DB {
            failures.push("SourceAFIS");
        }
    }
    eprintln!("{}", lines.join("\n"));
    assert!(failures.is_empty(), "below bound: {failures:?}\n{}", lines.join("\n"));
}

/// A deterministic textured test image (ridges plus noise) of any size.
fn synthetic(width: u32, height: u32, seed: u64) -> crate::FingerImage {
    let mut state = seed;
    let pixels = (0..width * height)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (x, y) = ((i % width) as f64, (i / width) as f64);
            let ridge = 60.0 * ((x * 0.7 + y * 0.4) * 0.9).sin();
            (128.0 + ridge + (state % 21) as f64 - 10.0).clamp(0.0, 255.0) as u8
        })
        .collect();
    crate::FingerImage::from_raw(width, height, 500, pixels).expect("image")
}

/// Offset of the SOF segment's marker in a stream (walking the segments from SOI).
fn sof_offset(stream: &[u8]) -> usize {
    let mut at = 2;
    while u16::from_be_bytes([stream[at], stream[at + 1]]) != SOF {
        at += 2 + u16::from_be_bytes([stream[at + 2], stream[at + 3]]) as usize;
    }
    at
}

#[test]
fn forged_image_size_is_refused_before_allocation() {
    let stream = encode(&synthetic(64, 64, 7), TARGET_BITRATE_BPP).expect("encode");
    assert!(decode(&stream).is_ok());
    // Height and width follow the SOF marker, length, black and white (offsets 6 and 8).
    let sof = sof_offset(&stream);
    let mut forged = stream.clone();
    let side = ((stream.len() * MAX_PIXELS_PER_INPUT_BYTE) as f64).sqrt() as u16 + 1;
    forged[sof + 6..sof + 8].copy_from_slice(&side.to_be_bytes());
    forged[sof + 8..sof + 10].copy_from_slice(&side.to_be_bytes());
    let err = decode(&forged).expect_err("a forged size is refused").to_string();
    assert!(err.contains("hostile header"), "{err}");
    // One pixel less per row and it is accepted by the size check (and fails later or decodes).
    let mut fits = stream.clone();
    let side = side - 2;
    fits[sof + 6..sof + 8].copy_from_slice(&side.to_be_bytes());
    fits[sof + 8..sof + 10].copy_from_slice(&side.to_be_bytes());
    if let Err(e) = decode(&fits) {
        assert!(!e.to_string().contains("hostile header"), "{e}");
    }
}

#[test]
fn blank_images_are_padded_to_what_decoders_accept() {
    let blank = crate::FingerImage::from_raw(700, 600, 500, vec![200; 700 * 600]).expect("image");
    let stream = encode(&blank, TARGET_BITRATE_BPP).expect("encode");
    assert!(stream.len() * MAX_PIXELS_PER_INPUT_BYTE >= 700 * 600, "{} bytes", stream.len());
    let back = decode(&stream).expect("decodes");
    assert!(back.pixels.iter().all(|&p| p.abs_diff(200) <= 1));
    assert!(encode(&blank, MIN_BITRATE_BPP / 2.0).is_err());
}

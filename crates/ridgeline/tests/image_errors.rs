//! Every refusal of `FingerImage`, through the public API: each bad input is a typed error,
//! never a panic and never a huge allocation.

use ridgeline::{Error, FingerImage};

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::GrayImage::from_pixel(width, height, image::Luma([128]))
        .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("encodes");
    bytes
}

#[test]
fn empty_input() {
    assert!(matches!(FingerImage::decode(&[], None), Err(Error::EmptyInput)));
}

#[test]
fn unsupported_format() {
    let err = FingerImage::decode(b"GIF89a not really", None).expect_err("refused");
    assert!(matches!(err, Error::UnsupportedImageFormat(_)), "{err}");
}

#[test]
fn truncated_files_of_every_format() {
    let image = FingerImage::from_raw(80, 80, 500, (0..6400).map(|i| (i % 256) as u8).collect())
        .expect("valid");
    let gray = image::GrayImage::from_raw(80, 80, image.pixels().to_vec()).expect("sized");
    for format in [
        image::ImageFormat::Png,
        image::ImageFormat::Bmp,
        image::ImageFormat::Tiff,
        image::ImageFormat::Pnm,
    ] {
        let mut bytes = Vec::new();
        gray.write_to(&mut std::io::Cursor::new(&mut bytes), format).expect("encodes");
        assert!(FingerImage::decode(&bytes, None).is_ok(), "{format:?} whole");
        let cut = &bytes[..bytes.len() * 2 / 3];
        let err = FingerImage::decode(cut, None).expect_err("truncated is refused");
        assert!(
            matches!(err, Error::CorruptImage(_) | Error::UnsupportedImageFormat(_)),
            "{format:?}: {err}"
        );
    }
}

#[test]
fn too_small_and_too_large() {
    let err = FingerImage::decode(&png(64, 63), None).expect_err("refused");
    assert!(matches!(err, Error::ImageSize { height: 63, .. }), "{err}");
    let err = FingerImage::from_raw(4097, 64, 500, vec![0; 4097 * 64]).expect_err("refused");
    assert!(matches!(err, Error::ImageSize { width: 4097, .. }), "{err}");
}

#[test]
fn hostile_header_is_refused_before_decoding() {
    // A PGM header announcing 100 000 × 100 000 pixels and holding none: refused from the
    // header, without trying to allocate 10 GB.
    let err = FingerImage::decode(b"P5\n100000 100000\n255\n\x00\x00", None).expect_err("refused");
    assert!(
        matches!(err, Error::ImageSize { width: 100_000, .. } | Error::CorruptImage(_)),
        "{err}"
    );
}

#[test]
fn resolution_out_of_range() {
    for dpi in [0, 249, 1001] {
        let err = FingerImage::decode(&png(64, 64), Some(dpi)).expect_err("refused");
        assert!(matches!(err, Error::Resolution { .. }), "{dpi}: {err}");
        let err = FingerImage::from_raw(64, 64, dpi, vec![0; 4096]).expect_err("refused");
        assert!(matches!(err, Error::Resolution { .. }), "{dpi}: {err}");
    }
}

#[test]
fn raw_buffer_of_the_wrong_length() {
    let err = FingerImage::from_raw(64, 64, 500, vec![0; 4095]).expect_err("refused");
    assert!(matches!(err, Error::BufferLength { expected: 4096, actual: 4095, .. }), "{err}");
}

#[test]
fn blank_images_extract_to_empty_templates() {
    // Nothing to find is not an error: a uniform image gives no minutiae and quality 0.
    let image = FingerImage::from_raw(128, 128, 500, vec![200; 128 * 128]).expect("valid");
    let t = ridgeline::extract::Extractor::default().extract(&image).expect("extracts");
    assert!(t.minutiae.is_empty());
    assert_eq!(t.quality, 0);
}

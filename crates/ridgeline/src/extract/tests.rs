//! Property tests of the extraction stages on generated images (fixed seeds, no data needed).

use super::grid::{BlockGrid, PaddedImage, Plane};
use super::*;
use proptest::prelude::*;

/// A striped "print": ridges of the given orientation and period, with a ripple so the flow
/// curves, on a light background border.
fn striped(width: usize, height: usize, theta: f32, period: f32, noise_seed: u32) -> Vec<u8> {
    let (nx, ny) = (-theta.sin(), theta.cos());
    let mut state = noise_seed | 1;
    (0..width * height)
        .map(|i| {
            let (x, y) = ((i % width) as f32, (i / width) as f32);
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state % 41) as f32 - 20.0;
            let u = x * nx + y * ny + 3.0 * (y / 40.0).sin();
            let v = 128.0 + 90.0 * (u * std::f32::consts::TAU / period).cos() + noise;
            v.clamp(0.0, 255.0) as u8
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha, ..ProptestConfig::default() })]

    #[test]
    fn every_stage_keeps_the_image_dimensions(
        width in 64usize..220,
        height in 64usize..220,
        theta in 0.0f32..std::f32::consts::PI,
        period in 6.0f32..13.0,
        seed in any::<u32>(),
    ) {
        let gray = Plane { width, height, data: striped(width, height, theta, period, seed) };
        let grid = BlockGrid::new(width, height, parameters::BLOCK_SIZE_PX);
        let g = gradients::compute(&gray, grid);
        let mask = segmentation::compute(&g);
        prop_assert_eq!((mask.pixels.width, mask.pixels.height), (width, height));
        prop_assert_eq!((mask.blocks.width, mask.blocks.height), (grid.cols, grid.rows));
        let o = orientation::compute(&g, &mask);
        prop_assert_eq!((o.angle.width, o.angle.height), (grid.cols, grid.rows));
        let values = Plane { width, height, data: gray.data.iter().map(|&v| v as f32).collect() };
        let padded = PaddedImage::new(&values, enhancement::padding_px().max(frequency::reach_px()));
        let f = frequency::compute(&padded, &o, &mask);
        prop_assert_eq!((f.period_px.width, f.period_px.height), (grid.cols, grid.rows));
        let e = enhancement::compute(&padded, &o, &f, &mask, parameters::GABOR_ALONG_SIGMA_PX);
        prop_assert_eq!((e.width, e.height), (width, height));
        let b = binarization::compute(&e, &mask);
        prop_assert_eq!((b.width, b.height), (width, height));
        let s = skeleton::compute(&b);
        prop_assert_eq!((s.width, s.height), (width, height));

        // And the whole pipeline, through the trace.
        let image = FingerImage::from_raw(width as u32, height as u32, 500, gray.data.clone()).expect("valid");
        let mut trace = CollectTrace::default();
        let t = Extractor::default().extract_traced(&image, &mut trace).expect("extracts");
        prop_assert_eq!((t.width, t.height), (width as u32, height as u32));
        for (key, picture) in &trace.stages {
            prop_assert_eq!((picture.width, picture.height), (width as u32, height as u32), "{}", key);
        }
    }

    #[test]
    fn thinning_is_idempotent_and_inside_its_input(
        width in 8usize..48,
        height in 8usize..48,
        bits in proptest::collection::vec(any::<bool>(), 48 * 48),
        blobs in proptest::collection::vec((0usize..48, 0usize..48, 1usize..6), 0..6),
    ) {
        let mut data: Vec<bool> = bits[..width * height].to_vec();
        for (cx, cy, r) in blobs {
            for y in cy.saturating_sub(r)..(cy + r).min(height) {
                for x in cx.saturating_sub(r)..(cx + r).min(width) {
                    data[y * width + x] = true;
                }
            }
        }
        let input = Plane { width, height, data };
        let once = skeleton::compute(&input);
        prop_assert_eq!(&skeleton::compute(&once), &once);
        prop_assert!(once.data.iter().zip(&input.data).all(|(&s, &i)| !s || i));
    }

    #[test]
    fn resolution_is_honoured(dpi in 250u32..=1000) {
        // The same stripes stated at another resolution: extraction works and reports in the
        // original pixels and dpi.
        let (w, h) = (160usize, 180usize);
        let image = FingerImage::from_raw(w as u32, h as u32, dpi, striped(w, h, 0.6, 9.0, 7)).expect("valid");
        let t = Extractor::default().extract(&image).expect("extracts");
        prop_assert_eq!((t.width, t.height, t.dpi), (w as u32, h as u32, dpi));
        prop_assert!(t.minutiae.iter().all(|m| m.x >= 0.0 && m.y >= 0.0 && m.x < w as f32 && m.y < h as f32));
    }
}

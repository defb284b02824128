//! WSQ rate–distortion on the FVC2002 dev sets: what our encoder achieves, measured through our
//! NBIS-exact decoder.
//!
//! `cargo run --release -p ridgeline --example wsq_rate_distortion [at BPP | curve | reach DB]`
//!
//! - `at BPP` (default 0.75): per set, the bit rate (compressed bytes × 8 / all pixels of the
//!   image, background included) and the PSNR of every image encoded at that target.
//! - `curve`: mean and minimum PSNR per set at a ladder of target rates.
//! - `reach DB` (default 40): per set, how many images reach that PSNR at all (at 8 bpp, the
//!   WSQ ceiling: subbands 60–63 are never sent), and the bit rate those need (bisection on the
//!   target rate), mean, median and maximum.
//!
//! `curve` and `reach` use the first impression of each finger (10 images a set) to keep the
//! run short; `at` uses all 80.

use std::path::PathBuf;

use ridgeline::image::wsq;
use ridgeline::FingerImage;

const SETS: [&str; 4] = ["DB1_B", "DB2_B", "DB3_B", "DB4_B"];

fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse =
        a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-12)).log10()
}

/// Bit rate and PSNR of one image encoded at `target` bpp.
fn measure(image: &FingerImage, target: f32) -> (f64, f64) {
    let bytes = wsq::encode(image, target).expect("encode");
    let back = wsq::decode(&bytes).expect("decode");
    let bpp = bytes.len() as f64 * 8.0 / image.pixels().len() as f64;
    (bpp, psnr(image.pixels(), &back.pixels))
}

fn load(root: &std::path::Path, set: &str, first_impressions_only: bool) -> Vec<FingerImage> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(root.join(set))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.retain(|p| p.extension().is_some_and(|e| e == "tif"));
    if first_impressions_only {
        names.retain(|p| p.file_stem().is_some_and(|s| s.to_string_lossy().ends_with("_1")));
    }
    names.sort();
    names.iter().filter_map(|p| FingerImage::open(p, Some(500)).ok()).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/fvc2002");
    if !root.is_dir() {
        eprintln!("SKIPPED: {} is absent", root.display());
        return;
    }
    let mode = args.get(1).map(String::as_str).unwrap_or("at");
    let value = |default: f64| args.get(2).and_then(|a| a.parse().ok()).unwrap_or(default);
    match mode {
        "curve" => {
            let rates = [0.5f32, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0];
            print!("set   ");
            for r in rates {
                print!("  {r:>4.2} bpp (mean/min)");
            }
            println!();
            for set in SETS {
                let images = load(&root, set, true);
                print!("{set}");
                for r in rates {
                    let p: Vec<f64> = images.iter().map(|i| measure(i, r).1).collect();
                    let mean = p.iter().sum::<f64>() / p.len() as f64;
                    let min = p.iter().cloned().fold(f64::INFINITY, f64::min);
                    print!("   {mean:6.2} / {min:6.2} dB  ");
                }
                println!();
            }
        }
        "reach" => {
            let goal = value(40.0);
            println!(
                "set    images  reach {goal} dB  bpp needed: mean  median  max    PSNR at 8 bpp: mean  max"
            );
            for set in SETS {
                let images = load(&root, set, true);
                let mut need = Vec::new();
                let mut ceiling = Vec::new();
                for image in &images {
                    // At 8 bpp every sent subband is nearly exact: what is left is the error of
                    // subbands 60-63, which WSQ never transmits.
                    let top = measure(image, 8.0).1;
                    ceiling.push(top);
                    if top < goal {
                        continue;
                    }
                    let (mut lo, mut hi) = (0.25f32, 8.0f32);
                    for _ in 0..9 {
                        let mid = 0.5 * (lo + hi);
                        if measure(image, mid).1 >= goal {
                            hi = mid;
                        } else {
                            lo = mid;
                        }
                    }
                    need.push(measure(image, hi).0);
                }
                need.sort_by(f64::total_cmp);
                let stat = |v: &[f64]| -> String {
                    if v.is_empty() {
                        return "     -       -      -".into();
                    }
                    let mean = v.iter().sum::<f64>() / v.len() as f64;
                    format!("{mean:6.3}  {:6.3}  {:6.3}", v[v.len() / 2], v[v.len() - 1])
                };
                let c_mean = ceiling.iter().sum::<f64>() / ceiling.len() as f64;
                let c_max = ceiling.iter().cloned().fold(0.0, f64::max);
                println!(
                    "{set}  {:>6}  {:>8}/{:<3}  {}    {c_mean:6.2}  {c_max:6.2}",
                    images.len(),
                    need.len(),
                    images.len(),
                    stat(&need)
                );
            }
        }
        _ => {
            let target = value(0.75) as f32;
            println!(
                "set    images  bpp mean   max    PSNR mean  min     max   (target {target} bpp)"
            );
            for set in SETS {
                let m: Vec<(f64, f64)> =
                    load(&root, set, false).iter().map(|i| measure(i, target)).collect();
                let n = m.len() as f64;
                let bpp_mean = m.iter().map(|x| x.0).sum::<f64>() / n;
                let bpp_max = m.iter().map(|x| x.0).fold(0.0, f64::max);
                let p_mean = m.iter().map(|x| x.1).sum::<f64>() / n;
                let p_min = m.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
                let p_max = m.iter().map(|x| x.1).fold(0.0, f64::max);
                println!(
                    "{set}  {:>6}  {bpp_mean:.3}  {bpp_max:.3}  {p_mean:8.2}  {p_min:6.2}  {p_max:6.2}",
                    m.len()
                );
            }
        }
    }
}

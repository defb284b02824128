//! Build script: enables the matcher's and the coarse stage's AVX-512 kernels where the
//! compiler provides the AVX-512 intrinsics (stable since Rust 1.89; the crate's minimum Rust is
//! older, and there both fall back to auto-vectorised code).

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ridgeline_avx512_intrinsics)");
    println!("cargo::rerun-if-changed=build.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .unwrap_or_default();
    // "rustc 1.95.0 (59807616e 2026-04-14)": the minor version is the second number.
    let minor = version
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.split('.').nth(1))
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_some_and(|m| m >= 89) {
        println!("cargo::rustc-cfg=ridgeline_avx512_intrinsics");
    }
}

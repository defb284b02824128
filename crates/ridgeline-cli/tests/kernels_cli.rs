//! The kernel choice through the CLI: `RIDGELINE_KERNEL` forces a kernel family the CPU
//! supports, refuses one it does not or a name that is no kernel (exit 1), and every benchmark
//! report says which CPU features and kernel it ran with.

use std::process::{Command, Output};

fn ridgeline(kernel: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ridgeline"));
    command.args(args).env_remove("RIDGELINE_KERNEL");
    if let Some(k) = kernel {
        command.env("RIDGELINE_KERNEL", k);
    }
    command.output().expect("the binary runs")
}

const BENCH: &[&str] = &["bench", "kernels", "--fingers", "3", "--seconds", "0.001", "--json"];

fn report(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn every_supported_kernel_can_be_forced_and_scores_as_the_portable_one() {
    let detected = report(&ridgeline(None, BENCH));
    let supported: Vec<String> = detected["cpu"]["supported_kernels"]
        .as_array()
        .expect("a list of kernels")
        .iter()
        .map(|k| k.as_str().expect("a name").to_string())
        .collect();
    assert!(supported.iter().any(|k| k == "portable"), "{supported:?}");
    assert!(detected["cpu"]["features"].is_array());
    for kernel in &supported {
        let forced = report(&ridgeline(Some(kernel), BENCH));
        assert_eq!(forced["cpu"]["kernel"], kernel.as_str());
        let rows = forced["kernels"].as_array().expect("one row per kernel");
        assert_eq!(rows.len(), supported.len());
        for row in rows {
            assert_eq!(row["identical_to_portable"], true, "{row}");
            assert!(row["compare_us"].as_f64().is_some_and(|us| us > 0.0), "{row}");
        }
    }
}

#[test]
fn unknown_or_unsupported_kernels_are_refused_as_user_errors() {
    let out = ridgeline(Some("sse9"), BENCH);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("RIDGELINE_KERNEL") && stderr.contains("portable"), "{stderr}");

    let detected = report(&ridgeline(None, BENCH));
    let supported = detected["cpu"]["supported_kernels"].as_array().expect("a list").clone();
    if let Some(missing) =
        ["avx2", "avx512", "neon"].into_iter().find(|k| !supported.iter().any(|s| s == k))
    {
        let out = ridgeline(Some(missing), BENCH);
        assert_eq!(out.status.code(), Some(1), "{missing}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("does not support"), "{stderr}");
    }
}

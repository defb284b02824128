//! `ridgeline readers` and `ridgeline capture` against the recorded USB sessions replayed by
//! `umockdev-run`, and against a virtual reader.

#[path = "../../ridgeline-sensor/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

const RIDGELINE: &str = env!("CARGO_BIN_EXE_ridgeline");

#[test]
fn capture_writes_the_recorded_uru4500_image() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("finger.png");
    let out_arg = out.display().to_string();
    let seed = common::RECORDED_SEED.to_string();
    let args = common::uru4500_args(&dir, &dir.join("capture.pcapng"));
    let replay = common::run_replayed(
        &umockdev,
        &args,
        Path::new(RIDGELINE),
        &[
            "capture",
            "--reader",
            "usb:05ba:000a",
            "-o",
            &out_arg,
            "--timeout",
            "10",
            "--json",
            "--scramble-seed",
            &seed,
        ],
        &[],
    );
    assert!(replay.success, "ridgeline capture failed:\n{}\n{}", replay.stdout, replay.stderr);
    let report: serde_json::Value =
        serde_json::from_str(replay.stdout.trim()).expect("one JSON object");
    assert_eq!(report["dpi"], 512);
    assert_eq!(report["driver"], "uru4000");
    assert_eq!(report["firmware"], "hardware 0010, firmware 0115");
    let (_, _, written) = common::grey_png(&out);
    let (_, _, expected) = common::grey_png(&dir.join("capture.png"));
    assert!(written == expected, "the written image differs from capture.png");
}

#[test]
fn capture_writes_the_recorded_aes3500_frame() {
    let Some(dir) = common::recording("aes3500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("finger.png");
    let out_arg = out.display().to_string();
    let args = common::aes3500_args(&dir, &dir.join("capture.ioctl"));
    let replay = common::run_replayed(
        &umockdev,
        &args,
        Path::new(RIDGELINE),
        &["capture", "-o", &out_arg, "--timeout", "10"],
        &[],
    );
    assert!(replay.success, "ridgeline capture failed:\n{}\n{}", replay.stdout, replay.stderr);
    assert!(replay.stdout.contains("128x128 at 500 dpi"), "{}", replay.stdout);
    let (w, h, written) = common::grey_png(&out);
    assert_eq!((w, h), (128, 128));
    let (_, _, expected) = common::grey_png(&dir.join("capture.png"));
    assert!(common::libfprint_enlarge(&written, 128) == expected, "2x enlargement differs");
}

#[test]
fn readers_lists_the_replayed_reader_as_json() {
    let Some(dir) = common::recording("aes3500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    let args = common::aes3500_args(&dir, &dir.join("capture.ioctl"));
    let replay =
        common::run_replayed(&umockdev, &args, Path::new(RIDGELINE), &["readers", "--json"], &[]);
    assert!(replay.success, "ridgeline readers failed:\n{}", replay.stderr);
    let report: serde_json::Value =
        serde_json::from_str(replay.stdout.trim()).expect("one JSON object");
    let readers = report["readers"].as_array().expect("readers array");
    assert_eq!(readers.len(), 1, "{report}");
    assert_eq!(readers[0]["vendor_id"], "08ff");
    assert_eq!(readers[0]["product_id"], "5731");
    assert_eq!(readers[0]["driver"], "aes3500");
    assert_eq!((readers[0]["bus"].as_u64(), readers[0]["address"].as_u64()), (Some(3), Some(4)));
}

#[test]
fn capture_from_a_virtual_reader_copies_the_folder_image() {
    let temp = tempfile::tempdir().expect("tempdir");
    let folder = temp.path().join("fingers");
    std::fs::create_dir(&folder).expect("mkdir");
    let pixels: Vec<u8> = (0..100u32 * 80).map(|i| (i % 251) as u8).collect();
    let source = ridgeline::FingerImage::from_raw(100, 80, 500, pixels).expect("image");
    source.save_png(folder.join("a.png")).expect("save");
    let out = temp.path().join("out.png");
    let status = Command::new(RIDGELINE)
        .args(["capture", "--reader", &format!("virtual:{}", folder.display()), "-o"])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let written = ridgeline::FingerImage::open(&out, None).expect("written image");
    assert_eq!(written.pixels(), source.pixels());
}

#[test]
fn capture_reports_user_errors_with_exit_code_1() {
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("out.png");
    for reader in
        ["serial:1", "usb:zz:1", &format!("virtual:{}", temp.path().join("none").display())]
    {
        let run = Command::new(RIDGELINE)
            .args(["capture", "--reader", reader, "-o"])
            .arg(&out)
            .output()
            .expect("runs");
        assert_eq!(
            run.status.code(),
            Some(1),
            "{reader}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let run = Command::new(RIDGELINE)
        .args(["capture", "-o"])
        .arg(temp.path().join("out.jpg"))
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(1));
}

#[test]
fn capture_with_extract_writes_the_template_and_reports_its_quality() {
    let Some(dataset) = common::recording("aes3500").and_then(|d| {
        let db1 = d.join("../../datasets/fvc2002/DB1_B");
        if db1.is_dir() {
            Some(db1)
        } else {
            eprintln!("SKIPPED: ../shared/datasets/fvc2002/DB1_B is absent");
            None
        }
    }) else {
        return;
    };
    let temp = tempfile::tempdir().expect("tempdir");
    let out = temp.path().join("finger.png");
    let run = Command::new(RIDGELINE)
        .args([
            "capture",
            "--reader",
            &format!("virtual:{}", dataset.display()),
            "--extract",
            "--json",
            "-o",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("one JSON object");
    let template_path = temp.path().join("finger.rlt");
    assert_eq!(report["template"], template_path.display().to_string());
    let bytes = std::fs::read(&template_path).expect("template written");
    let template = ridgeline::Template::from_native_bytes(&bytes).expect("template decodes");
    assert_eq!(report["quality"], template.quality);
    assert_eq!(report["minutiae"], template.minutiae.len());
    assert!(template.minutiae.len() >= 10, "a real fingerprint yields minutiae");
    // The recapture threshold of `extract` and `enroll`, and capture's floor of 8 minutiae.
    let retake =
        ridgeline::extract::needs_recapture(template.quality) || template.minutiae.len() < 8;
    assert_eq!(report["retake"], retake);
}

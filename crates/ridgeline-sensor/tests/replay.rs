//! The drivers against the real recorded USB sessions, replayed by `umockdev-run`.
//!
//! Each `*_replays_*` test re-runs this test binary under `umockdev-run`, selecting one of the
//! `child_*` tests (ignored in a normal run, because they need the replayed device). The child
//! opens the reader through the ordinary API, so every transfer the driver makes is checked
//! against the recording, and compares what it captures with the recorded image. A watchdog
//! kills a child that hangs.

mod common;

use std::path::Path;
use std::time::Duration;

use ridgeline_sensor::usb::aes3500;
use ridgeline_sensor::{open_reader, CancelToken, Error, OpenOptions, ReaderSpec};

/// Environment variable naming the recording folder for a child test.
const RECORDING_ENV: &str = "RIDGELINE_TEST_RECORDING";

/// Runs the child test `name` under `umockdev-run` with `umockdev_args`; returns its output.
fn replay_child(
    name: &str,
    dir: &Path,
    umockdev: &Path,
    umockdev_args: &[String],
) -> common::Replay {
    let me = std::env::current_exe().expect("test binary path");
    let replay = common::run_replayed(
        umockdev,
        umockdev_args,
        &me,
        &["--exact", name, "--ignored", "--nocapture", "--test-threads=1"],
        &[(RECORDING_ENV, dir.display().to_string())],
    );
    eprintln!("--- child {name} stdout:\n{}\n--- stderr:\n{}", replay.stdout, replay.stderr);
    replay
}

/// Asserts that the child passed and that the replay consumed the recording without umockdev
/// having to answer a transfer the recording does not contain.
fn assert_replayed_exactly(name: &str, replay: &common::Replay) {
    assert_child_passed(name, replay);
    assert!(
        !replay.stderr.contains("Replay may be stuck") && !replay.stderr.contains("Stuck for"),
        "umockdev reports that the driver strayed from the recording"
    );
}

fn assert_child_passed(name: &str, replay: &common::Replay) {
    assert!(replay.success, "child {name} failed under umockdev-run");
    assert!(
        replay.stdout.contains(&format!("test {name} ... ok")),
        "child {name} did not run (filtered out?)"
    );
}

fn child_recording() -> std::path::PathBuf {
    std::env::var_os(RECORDING_ENV).expect("run by a replay test under umockdev-run").into()
}

#[test]
fn uru4500_replays_to_the_recorded_image() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    let args = common::uru4500_args(&dir, &dir.join("capture.pcapng"));
    let replay = replay_child("child_uru4500_capture", &dir, &umockdev, &args);
    assert_replayed_exactly("child_uru4500_capture", &replay);
}

#[test]
#[ignore = "run by uru4500_replays_to_the_recorded_image under umockdev-run"]
fn child_uru4500_capture() {
    let dir = child_recording();
    let readers = ridgeline_sensor::list_readers().expect("lists");
    assert_eq!(readers.len(), 1, "{readers:?}");
    assert_eq!(readers[0].driver, "uru4000");
    let options = OpenOptions { scramble_seed: Some(common::RECORDED_SEED) };
    let mut reader = open_reader(&ReaderSpec::Usb, &options).expect("opens");
    let image = reader.capture(Duration::from_secs(10), &CancelToken::new()).expect("captures");
    let (w, h, expected) = common::grey_png(&dir.join("capture.png"));
    assert_eq!((image.width(), image.height(), image.dpi()), (w, h, 512));
    let differing = image.pixels().iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} pixels differ from capture.png");
    assert!(reader.info().firmware.is_some(), "the device info register was read");
}

#[test]
fn msv2_replays_to_the_recorded_image() {
    let Some(dir) = common::recording("uru4000-msv2") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    let args = common::uru4500_args(&dir, &dir.join("capture.pcapng"));
    let replay = replay_child("child_msv2_capture", &dir, &umockdev, &args);
    assert_replayed_exactly("child_msv2_capture", &replay);
}

#[test]
#[ignore = "run by msv2_replays_to_the_recorded_image under umockdev-run"]
fn child_msv2_capture() {
    let dir = child_recording();
    let options = OpenOptions { scramble_seed: Some(common::RECORDED_SEED) };
    let spec: ReaderSpec = "usb:045e:00ca".parse().expect("spec");
    let mut reader = open_reader(&spec, &options).expect("opens");
    let image = reader.capture(Duration::from_secs(10), &CancelToken::new()).expect("captures");
    let (_, _, expected) = common::grey_png(&dir.join("capture.png"));
    let differing = image.pixels().iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} pixels differ from capture.png");
}

#[test]
fn uru4500_with_a_wrong_seed_times_out_instead_of_hanging() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    let args = common::uru4500_args(&dir, &dir.join("capture.pcapng"));
    let replay = replay_child("child_uru4500_wrong_seed", &dir, &umockdev, &args);
    assert_child_passed("child_uru4500_wrong_seed", &replay);
}

#[test]
#[ignore = "run by uru4500_with_a_wrong_seed_times_out_instead_of_hanging under umockdev-run"]
fn child_uru4500_wrong_seed() {
    // The seed is sent to the device: a different one does not match the recording, so the
    // replayed device never answers that write, as a real device that lost it would not.
    let options = OpenOptions { scramble_seed: Some(common::RECORDED_SEED ^ 1) };
    let mut reader = open_reader(&ReaderSpec::Usb, &options).expect("opens");
    let err = reader.capture(Duration::from_secs(10), &CancelToken::new()).expect_err("must fail");
    assert!(
        matches!(err, Error::Timeout { waiting_for: "the reader to answer a register write", .. }),
        "{err}"
    );
}

#[test]
fn uru4500_with_a_dropped_image_transfer_times_out_instead_of_hanging() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    // The same session with the completion of the image transfer lost.
    let packets = common::pcapng_packets(&dir.join("capture.pcapng"));
    let image_completion = packets
        .iter()
        .position(|p| p.event == b'C' && p.transfer_type == 3 && p.endpoint == 0x82)
        .expect("the recording has the image transfer");
    let temp = tempfile::tempdir().expect("tempdir");
    let pcapng = temp.path().join("dropped.pcapng");
    common::pcapng_without_packet(&dir.join("capture.pcapng"), &pcapng, image_completion);
    let args = common::uru4500_args(&dir, &pcapng);
    let replay = replay_child("child_uru4500_dropped_image", &dir, &umockdev, &args);
    assert_child_passed("child_uru4500_dropped_image", &replay);
}

#[test]
#[ignore = "run by uru4500_with_a_dropped_image_transfer_times_out_instead_of_hanging under umockdev-run"]
fn child_uru4500_dropped_image() {
    let options = OpenOptions { scramble_seed: Some(common::RECORDED_SEED) };
    let mut reader = open_reader(&ReaderSpec::Usb, &options).expect("opens");
    let err = reader.capture(Duration::from_secs(10), &CancelToken::new()).expect_err("must fail");
    assert!(matches!(err, Error::Timeout { waiting_for: "the image", .. }), "{err}");
}

#[test]
fn aes3500_replays_to_the_recorded_frame() {
    let Some(dir) = common::recording("aes3500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    let args = common::aes3500_args(&dir, &dir.join("capture.ioctl"));
    let replay = replay_child("child_aes3500_capture", &dir, &umockdev, &args);
    assert_replayed_exactly("child_aes3500_capture", &replay);
}

#[test]
#[ignore = "run by aes3500_replays_to_the_recorded_frame under umockdev-run"]
fn child_aes3500_capture() {
    let dir = child_recording();
    let spec: ReaderSpec = "usb:08ff:5731".parse().expect("spec");
    let mut reader = open_reader(&spec, &OpenOptions::default()).expect("opens");
    let image = reader.capture(Duration::from_secs(10), &CancelToken::new()).expect("captures");
    let side = aes3500::FRAME_SIDE_PX;
    assert_eq!((image.width(), image.height(), image.dpi()), (side as u32, side as u32, 500));
    let (_, _, expected) = common::grey_png(&dir.join("capture.png"));
    let enlarged = common::libfprint_enlarge(image.pixels(), side);
    let worst = enlarged.iter().zip(&expected).map(|(&a, &b)| (a as i32 - b as i32).abs()).max();
    assert_eq!(worst, Some(0), "the 2x enlargement differs from capture.png");
}

/// A copy of the U.are.U 4500 session in which the finger never arrives: the finger-on event
/// is dropped, so the replayed device stays waiting, as a real one does with nobody at it.
fn uru4500_without_finger(dir: &Path, temp: &Path) -> std::path::PathBuf {
    let packets = common::pcapng_packets(&dir.join("capture.pcapng"));
    let finger_on = packets
        .iter()
        .position(|p| p.event == b'C' && p.transfer_type == 1 && p.data.starts_with(&[0x01, 0x01]))
        .expect("the recording has the finger-on event");
    let pcapng = temp.join("no-finger.pcapng");
    common::pcapng_without_packet(&dir.join("capture.pcapng"), &pcapng, finger_on);
    pcapng
}

#[test]
fn uru4500_without_a_finger_times_out_waiting_for_one() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    let temp = tempfile::tempdir().expect("tempdir");
    let args = common::uru4500_args(&dir, &uru4500_without_finger(&dir, temp.path()));
    let replay = replay_child("child_uru4500_no_finger", &dir, &umockdev, &args);
    assert_child_passed("child_uru4500_no_finger", &replay);
}

#[test]
#[ignore = "run by uru4500_without_a_finger_times_out_waiting_for_one under umockdev-run"]
fn child_uru4500_no_finger() {
    let options = OpenOptions { scramble_seed: Some(common::RECORDED_SEED) };
    let mut reader = open_reader(&ReaderSpec::Auto, &options).expect("opens");
    let err = reader.capture(Duration::from_secs(2), &CancelToken::new()).expect_err("must fail");
    assert!(
        matches!(err, Error::Timeout { waiting_for: "a finger", .. }),
        "expected a finger timeout, got {err}"
    );
}

#[test]
fn a_capture_is_cancelled_from_another_thread() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    let temp = tempfile::tempdir().expect("tempdir");
    let args = common::uru4500_args(&dir, &uru4500_without_finger(&dir, temp.path()));
    let replay = replay_child("child_cancelled", &dir, &umockdev, &args);
    assert_child_passed("child_cancelled", &replay);
}

#[test]
#[ignore = "run by a_capture_is_cancelled_from_another_thread under umockdev-run"]
fn child_cancelled() {
    let options = OpenOptions { scramble_seed: Some(common::RECORDED_SEED) };
    let mut reader = open_reader(&ReaderSpec::Auto, &options).expect("opens");
    let cancel = CancelToken::new();
    let canceller = cancel.clone();
    // Cancel while the capture waits for a finger that never comes (it would wait 10 minutes).
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        canceller.cancel();
    });
    let err = reader.capture(Duration::from_secs(600), &cancel).expect_err("must fail");
    thread.join().expect("canceller thread");
    assert!(matches!(err, Error::Cancelled), "expected cancellation, got {err}");
}

#[test]
fn uru4500_in_a_bad_state_is_reported_after_one_power_up_retry() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    // A made-up session of the same device whose status register keeps the bad-state bit
    // (0x04) through two power-ups; the driver must try exactly twice and switch off.
    let mut session = common::SyntheticSession::new(&dir.join("capture.pcapng"), 1, 50);
    session.interrupt_read(0x81, 64);
    for first_status in [0x01u8, 0x05] {
        session.read_register(0x07, &[first_status]);
        session.write_register(0x07, &[first_status | 0x80]);
        session.write_register(0x07, &[first_status & 0x0f]);
        session.read_register(0x07, &[0x05]);
    }
    session.write_register(0x4e, &[0x70]);
    let temp = tempfile::tempdir().expect("tempdir");
    let pcapng = temp.path().join("bad-state.pcapng");
    session.save(&pcapng);
    let args = common::uru4500_args(&dir, &pcapng);
    let replay = replay_child("child_uru4500_bad_state", &dir, &umockdev, &args);
    // Every transfer of the made-up session, retry included, and nothing else.
    assert_replayed_exactly("child_uru4500_bad_state", &replay);
}

#[test]
#[ignore = "run by uru4500_in_a_bad_state_is_reported_after_one_power_up_retry under umockdev-run"]
fn child_uru4500_bad_state() {
    let options = OpenOptions { scramble_seed: Some(common::RECORDED_SEED) };
    let mut reader = open_reader(&ReaderSpec::Usb, &options).expect("opens");
    let err = reader.capture(Duration::from_secs(10), &CancelToken::new()).expect_err("must fail");
    assert!(matches!(err, Error::BadState { .. }), "expected a bad state, got {err}");
}

#[test]
fn uru4500_unplugged_while_waiting_for_a_finger_reports_it() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let Some(umockdev) = common::umockdev_run() else { return };
    // A made-up session: normal power-up, then the pending interrupt read ends the way usbfs
    // ends transfers of a device that was pulled out (status -ESHUTDOWN).
    const ESHUTDOWN: i32 = 108;
    let mut session = common::SyntheticSession::new(&dir.join("capture.pcapng"), 1, 50);
    let first = session.interrupt_read(0x81, 64);
    session.read_register(0x07, &[0x01]);
    session.write_register(0x07, &[0x81]);
    session.write_register(0x07, &[0x01]);
    let mut powered = [0u8; 64];
    powered[..2].copy_from_slice(&[0x56, 0xaa]);
    session.complete_interrupt(first, 0x81, 0, &powered);
    let second = session.interrupt_read(0x81, 64);
    session.read_register(0x07, &[0x01]);
    session.read_register(0xf0, &[0; 16]);
    session.write_register(0x4e, &[0x10]);
    session.complete_interrupt(second, 0x81, -ESHUTDOWN, &[]);
    let temp = tempfile::tempdir().expect("tempdir");
    let pcapng = temp.path().join("unplugged.pcapng");
    session.save(&pcapng);
    let args = common::uru4500_args(&dir, &pcapng);
    let replay = replay_child("child_uru4500_unplugged", &dir, &umockdev, &args);
    assert_child_passed("child_uru4500_unplugged", &replay);
}

#[test]
#[ignore = "run by uru4500_unplugged_while_waiting_for_a_finger_reports_it under umockdev-run"]
fn child_uru4500_unplugged() {
    let options = OpenOptions { scramble_seed: Some(common::RECORDED_SEED) };
    let mut reader = open_reader(&ReaderSpec::Usb, &options).expect("opens");
    let err = reader.capture(Duration::from_secs(10), &CancelToken::new()).expect_err("must fail");
    assert!(matches!(err, Error::Disconnected { .. }), "expected an unplugged reader, got {err}");
}

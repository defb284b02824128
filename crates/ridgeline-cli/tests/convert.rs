//! `ridgeline convert` end to end on the shared vectors.

use std::process::Command;

use ridgeline_tests::shared_path as shared;

fn ridgeline(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ridgeline")).args(args).output().expect("runs")
}

#[test]
fn iso_to_every_format_and_back_keeps_views_and_minutiae() {
    let Some(iso) = shared("format-vectors/fingerprintio/iso19794p2v2005-sample.dat") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    for to in ["iso19794-2:2011", "ansi378:2004", "ansi378:2009", "native"] {
        let out = dir.path().join("out.bin");
        let o = ridgeline(&[
            "convert".as_ref(),
            iso.as_os_str(),
            out.as_os_str(),
            "--to".as_ref(),
            to.as_ref(),
            "--json".as_ref(),
        ]);
        assert!(o.status.success(), "{to}: {}", String::from_utf8_lossy(&o.stderr));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
        assert_eq!(json["output_format"], to);
        assert_eq!(json["minutiae"], 49);
        let back = dir.path().join("back.iso");
        let o =
            ridgeline(&["convert".as_ref(), out.as_os_str(), back.as_os_str(), "--json".as_ref()]);
        assert!(o.status.success(), "{to} back: {}", String::from_utf8_lossy(&o.stderr));
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let expected_views = if to == "native" { 1 } else { 2 };
        assert_eq!(json["views"], expected_views, "{to}");
    }
}

#[test]
fn wsq_to_png_and_user_errors_exit_1() {
    let Some(wsq) = shared("format-vectors/sourceafis/wsq-original.wsq") else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let png = dir.path().join("w.png");
    let o = ridgeline(&["convert".as_ref(), wsq.as_os_str(), png.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o =
        ridgeline(&["convert".as_ref(), wsq.as_os_str(), dir.path().join("x.unknown").as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
    let o = ridgeline(&["convert".as_ref(), png.as_os_str(), dir.path().join("t.rlt").as_os_str()]);
    assert_eq!(o.status.code(), Some(1));
}

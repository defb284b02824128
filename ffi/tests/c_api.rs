//! The C API as C programs see it: the checked-in header matches a fresh cbindgen run, the
//! examples and the bad-input test compile with `-Wall -Wextra -Werror` against the header,
//! link against both libridgeline.so and libridgeline.a, run, and run clean under valgrind.

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding libridgeline.so / .a for the profile this test was built with,
/// after making sure they are current.
fn lib_dir() -> PathBuf {
    static BUILD: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/c_api-<hash> -> target/<profile>
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf();
    // Cargo builds a test's own crate only as far as the test links it, and nothing links the
    // cdylib/staticlib: build them here so the C programs never run against a stale library.
    BUILD.call_once(|| {
        let release = dir.file_name().is_some_and(|name| name == "release");
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--quiet", "-p", "ridgeline-ffi", "--lib"]);
        if release {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("run cargo build");
        assert!(status.success(), "building libridgeline failed");
    });
    dir
}

fn generate_header() -> String {
    let config =
        cbindgen::Config::from_file(crate_dir().join("cbindgen.toml")).expect("cbindgen.toml");
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir())
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn header_is_up_to_date() {
    let fresh = generate_header();
    let path = crate_dir().join("include/ridgeline.h");
    if std::env::var_os("REGENERATE").is_some() {
        std::fs::write(&path, &fresh).expect("write header");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == fresh,
        "ffi/include/ridgeline.h is stale: run `REGENERATE=1 cargo test -p ridgeline-ffi --test c_api header` and commit it"
    );
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

enum Link {
    Shared,
    Static,
}

fn compile(source: &Path, link: Link, out: &Path) {
    let mut cc = Command::new("cc");
    cc.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-I"])
        .arg(crate_dir().join("include"))
        .arg(source)
        .arg("-o")
        .arg(out);
    match link {
        Link::Shared => {
            cc.arg("-L")
                .arg(lib_dir())
                .arg("-lridgeline")
                .arg(format!("-Wl,-rpath,{}", lib_dir().display()));
        }
        Link::Static => {
            // The static library needs what the Rust standard library and libusb need.
            cc.arg(lib_dir().join("libridgeline.a")).args([
                "-lusb-1.0",
                "-lpthread",
                "-ldl",
                "-lm",
            ]);
        }
    }
    let output = cc.output().expect("run the C compiler");
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run(program: &Path, args: &[&Path], under_valgrind: bool) {
    let mut command = if under_valgrind {
        let mut v = Command::new("valgrind");
        v.args([
            "--tool=memcheck",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect",
            "--error-exitcode=99",
            "--quiet",
        ])
        .arg(program);
        v
    } else {
        Command::new(program)
    };
    let output = command.args(args).output().expect("run the C program");
    assert!(
        output.status.success(),
        "{} {}failed ({}):\nstdout:\n{}\nstderr:\n{}",
        program.display(),
        if under_valgrind { "under valgrind " } else { "" },
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn dataset() -> Option<PathBuf> {
    ridgeline_tests::shared_path("datasets/fvc2002/DB1_B")
}

#[test]
fn enroll_identify_example_builds_and_runs_with_both_libraries() {
    let Some(dataset) = dataset() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let source = crate_dir().join("examples/enroll_identify.c");
    for (link, name) in [(Link::Shared, "shared"), (Link::Static, "static")] {
        let exe = work.path().join(format!("enroll_identify_{name}"));
        compile(&source, link, &exe);
        let gallery = work.path().join(format!("gallery_{name}"));
        run(&exe, &[&dataset, &gallery], false);
    }
}

#[test]
fn bad_input_is_rejected_with_error_codes() {
    let Some(dataset) = dataset() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let exe = work.path().join("bad_input");
    compile(&crate_dir().join("tests/c/bad_input.c"), Link::Shared, &exe);
    run(&exe, &[&dataset.join("101_1.tif"), &work.path().join("gallery")], false);
}

#[test]
fn audit_trail_records_the_operator_of_each_handle() {
    let Some(dataset) = dataset() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let exe = work.path().join("audit");
    compile(&crate_dir().join("tests/c/audit.c"), Link::Shared, &exe);
    run(&exe, &[&dataset.join("101_1.tif"), &work.path().join("gallery")], false);
}

#[test]
fn an_encrypted_gallery_needs_its_key() {
    let Some(dataset) = dataset() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let exe = work.path().join("sealed");
    compile(&crate_dir().join("tests/c/sealed.c"), Link::Shared, &exe);
    run(&exe, &[&dataset.join("101_1.tif"), &work.path().join("gallery")], false);
}

#[test]
fn c_programs_run_clean_under_valgrind() {
    let Some(dataset) = dataset() else { return };
    if !have("valgrind") {
        eprintln!("SKIPPED: valgrind is not installed (scripts/test installs it)");
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let bad = work.path().join("bad_input");
    compile(&crate_dir().join("tests/c/bad_input.c"), Link::Shared, &bad);
    run(&bad, &[&dataset.join("101_1.tif"), &work.path().join("gallery_bad")], true);
    let audit = work.path().join("audit");
    compile(&crate_dir().join("tests/c/audit.c"), Link::Shared, &audit);
    run(&audit, &[&dataset.join("101_1.tif"), &work.path().join("gallery_audit")], true);
    let sealed = work.path().join("sealed");
    compile(&crate_dir().join("tests/c/sealed.c"), Link::Shared, &sealed);
    run(&sealed, &[&dataset.join("101_1.tif"), &work.path().join("gallery_sealed")], true);
    let example = work.path().join("enroll_identify");
    compile(&crate_dir().join("examples/enroll_identify.c"), Link::Shared, &example);
    run(&example, &[&dataset, &work.path().join("gallery_example")], true);
}

#[test]
fn python_ctypes_example_runs() {
    let Some(dataset) = dataset() else { return };
    if !have("python3") {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    let work = tempfile::tempdir().expect("tempdir");
    let output = Command::new("python3")
        .arg(crate_dir().join("examples/ridgeline.py"))
        .arg(&dataset)
        .arg(work.path().join("gallery"))
        .env("RIDGELINE_LIB", lib_dir().join("libridgeline.so"))
        .output()
        .expect("run python3");
    assert!(
        output.status.success(),
        "python example failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn pkg_config_file_compiles_and_links_the_example() {
    let Some(dataset) = dataset() else { return };
    if !have("pkg-config") {
        eprintln!("SKIPPED: pkg-config is not installed (scripts/test installs it)");
        return;
    }
    // A prefix laid out as scripts/install-c-lib lays it out, made of links to the build.
    let prefix = tempfile::tempdir().expect("tempdir");
    let lib = prefix.path().join("lib");
    std::fs::create_dir_all(lib.join("pkgconfig")).expect("mkdir");
    std::fs::create_dir_all(prefix.path().join("include")).expect("mkdir");
    std::os::unix::fs::symlink(lib_dir().join("libridgeline.so"), lib.join("libridgeline.so"))
        .expect("link");
    std::os::unix::fs::symlink(
        crate_dir().join("include/ridgeline.h"),
        prefix.path().join("include/ridgeline.h"),
    )
    .expect("link");
    let template =
        std::fs::read_to_string(crate_dir().join("ridgeline.pc.in")).expect("pc template");
    let pc = template
        .replace("@PREFIX@", &prefix.path().display().to_string())
        .replace("@VERSION@", env!("CARGO_PKG_VERSION"));
    std::fs::write(lib.join("pkgconfig/ridgeline.pc"), pc).expect("write pc");
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "ridgeline"])
        .env("PKG_CONFIG_PATH", lib.join("pkgconfig"))
        .output()
        .expect("pkg-config");
    assert!(flags.status.success(), "{}", String::from_utf8_lossy(&flags.stderr));
    let flags = String::from_utf8(flags.stdout).expect("utf-8");
    let exe = prefix.path().join("enroll_identify");
    let status = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror"])
        .arg(crate_dir().join("examples/enroll_identify.c"))
        .arg("-o")
        .arg(&exe)
        .args(flags.split_whitespace())
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .expect("cc");
    assert!(status.success(), "compiling with pkg-config flags `{flags}` failed");
    run(&exe, &[&dataset, &prefix.path().join("gallery")], false);
}

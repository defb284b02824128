//! The de-duplication HTML report in a real headless browser: it renders, and every
//! embedded print decodes. Skips with a message where Debian's `chromium` is not installed.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use ridgeline::dedup::html::{render, PairView, PrintView};
use ridgeline::dedup::report::{ClusterEntry, PairEntry, RecordEntry, Report};
use ridgeline::{FingerImage, Minutia, MinutiaKind};

/// A ridge-like test pattern: concentric rings, the way a whorl looks.
fn ring_image(width: u32, height: u32, shift: f32) -> FingerImage {
    let mut pixels = Vec::with_capacity((width * height) as usize);
    for y in 0..height {
        for x in 0..width {
            let dx = x as f32 - width as f32 / 2.0 - shift;
            let dy = y as f32 - height as f32 / 2.0;
            let r = (dx * dx + dy * dy).sqrt();
            pixels.push((127.5 + 120.0 * (r * std::f32::consts::TAU / 9.0).cos()) as u8);
        }
    }
    FingerImage::from_raw(width, height, 500, pixels).expect("valid test image")
}

fn minutiae(shift: f32) -> Vec<Minutia> {
    (0..12)
        .map(|k| Minutia {
            x: 40.0 + 25.0 * (k % 4) as f32 + shift,
            y: 50.0 + 60.0 * (k / 4) as f32,
            angle: k as f32 * 0.5,
            kind: if k % 2 == 0 { MinutiaKind::Ending } else { MinutiaKind::Bifurcation },
            quality: 80,
        })
        .collect()
}

fn sample_report() -> (Report, HashMap<(String, String), PairView>) {
    let record = |id: &str, person: &str| RecordEntry {
        record_id: id.into(),
        person_id: person.into(),
        name: "Li Wei".into(),
        finger: vec![2],
    };
    let report = Report {
        clusters: vec![ClusterEntry {
            records: vec![record("R1", "11010519491231002X"), record("R2", "440524188001010014")],
            pairs: vec![PairEntry { a: "R1".into(), b: "R2".into(), score: 11.3, fmr: 5e-12 }],
            weakest_link_fmr: 5e-12,
        }],
        flags: vec![],
        stats: Default::default(),
    };
    let print = |label: &str, shift: f32| {
        let image = ring_image(200, 240, shift);
        PrintView {
            label: label.into(),
            finger: 2,
            png: Some(image.to_png().expect("PNG encodes")),
            width: 200,
            height: 240,
            minutiae: minutiae(shift),
        }
    };
    let view = PairView {
        left: print("R1", 0.0),
        right: print("R2", 6.0),
        matched: (0..9).map(|k| (k, k)).collect(),
        finger_score: 0.71,
    };
    (report, HashMap::from([(("R1".to_string(), "R2".to_string()), view)]))
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()))
}

fn headless(browser: &str, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1200,900",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[test]
fn report_renders_in_chromium_with_every_print_decoded() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: chromium is not installed (scripts/test installs it with apt-get)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, views) = sample_report();
    let html = render(&report, &views, "Browser test");
    // The report as a clerk gets it, and a copy that writes what the browser decoded into the DOM.
    let report_path = dir.path().join("report.html");
    std::fs::write(&report_path, &html).expect("write report");
    let probe = "<script>window.addEventListener('load', () => { const p = document.createElement('pre'); \
                 p.id = 'probe'; p.textContent = Array.from(document.images).map(i => i.complete + ':' + \
                 i.naturalWidth + 'x' + i.naturalHeight).join(' ') + ' svg:' + \
                 document.querySelectorAll('svg g.m').length; document.body.appendChild(p); });</script></body>";
    let probed_path = dir.path().join("probed.html");
    std::fs::write(&probed_path, html.replace("</body>", probe)).expect("write probed copy");

    let output = headless(browser, &dir.path().join("profile"))
        .args(["--virtual-time-budget=5000", "--dump-dom"])
        .arg(format!("file://{}", probed_path.display()))
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&output.stdout);
    let start =
        dom.find("<pre id=\"probe\">").expect("the probe script ran") + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").expect("probe closes");
    let probed = &dom[start..end];
    assert_eq!(probed, "true:200x240 true:200x240 svg:24", "decoded images and drawn minutiae");

    let screenshot = dir.path().join("report.png");
    let status = headless(browser, &dir.path().join("profile2"))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("file://{}", report_path.display()))
        .output()
        .expect("chromium runs");
    assert!(status.status.success(), "screenshot: {}", String::from_utf8_lossy(&status.stderr));
    let shot = FingerImage::open(&screenshot, None).expect("screenshot is a PNG");
    // Not a blank page: the prints and text put many grey levels on the screen.
    let mut levels = [false; 256];
    shot.pixels().iter().for_each(|&p| levels[p as usize] = true);
    assert!(levels.iter().filter(|&&l| l).count() > 64, "screenshot looks blank");
    if let Ok(keep) = std::env::var("RIDGELINE_KEEP_SCREENSHOT") {
        std::fs::copy(&screenshot, keep).expect("copy screenshot");
    }
}

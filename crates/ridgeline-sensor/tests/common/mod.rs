//! Helpers for the tests over the recorded USB sessions in `../shared/usb-recordings/`: finding
//! them, reading their expected images, extracting transfers from the recordings, and re-running
//! this test binary under `umockdev-run`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Seed the U.are.U 4500 session was recorded with.
pub const RECORDED_SEED: u32 = 1_374_298_404;

/// The folder of one recorded session, or `None` (test skipped, said on stderr).
pub fn recording(name: &str) -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = repo.join("../shared/usb-recordings").join(name);
    if dir.join("device").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: ../shared/usb-recordings/{name} is absent; this test needs the shared data beside the repository"
        );
        None
    }
}

/// The grey levels of a PNG (the recorded `capture.png` files are grey stored as RGB).
pub fn grey_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let image = ridgeline::FingerImage::open(path, Some(500)).expect("expected image decodes");
    (image.width(), image.height(), image.into_pixels())
}

/// One usbmon packet of a pcapng recording.
#[derive(Debug, Clone)]
pub struct UsbPacket {
    /// `b'S'` submit or `b'C'` complete.
    pub event: u8,
    /// 0 iso, 1 interrupt, 2 control, 3 bulk.
    pub transfer_type: u8,
    /// Endpoint address including the direction bit.
    pub endpoint: u8,
    /// The setup packet (control submits).
    pub setup: [u8; 8],
    /// The captured data.
    pub data: Vec<u8>,
}

/// Every usbmon packet of a pcapng file (link type USB_LINUX_MMAPPED), in order.
pub fn pcapng_packets(path: &Path) -> Vec<UsbPacket> {
    const ENHANCED_PACKET_BLOCK: u32 = 6;
    const USBMON_HEADER_LEN: usize = 64;
    let bytes = std::fs::read(path).expect("recording reads");
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let mut packets = Vec::new();
    let mut pos = 0;
    while pos + 12 <= bytes.len() {
        let kind = u32_at(pos);
        let len = u32_at(pos + 4) as usize;
        assert!(len >= 12 && pos + len <= bytes.len(), "pcapng block at {pos} is damaged");
        if kind == ENHANCED_PACKET_BLOCK {
            let captured = u32_at(pos + 20) as usize;
            let packet = &bytes[pos + 28..pos + 28 + captured];
            if packet.len() >= USBMON_HEADER_LEN {
                packets.push(UsbPacket {
                    event: packet[8],
                    transfer_type: packet[9],
                    endpoint: packet[10],
                    setup: packet[40..48].try_into().expect("8 bytes"),
                    data: packet[USBMON_HEADER_LEN..].to_vec(),
                });
            }
        }
        pos += len;
    }
    packets
}

/// Writes a copy of a pcapng recording without the `skip`-th enhanced packet block (0-based):
/// a recording of a session in which that transfer was lost.
pub fn pcapng_without_packet(from: &Path, to: &Path, skip: usize) {
    let bytes = std::fs::read(from).expect("recording reads");
    let mut out = Vec::with_capacity(bytes.len());
    let (mut pos, mut packet) = (0, 0);
    while pos + 12 <= bytes.len() {
        let kind = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes"));
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes")) as usize;
        let keep = kind != 6 || packet != skip;
        if kind == 6 {
            packet += 1;
        }
        if keep {
            out.extend_from_slice(&bytes[pos..pos + len]);
        }
        pos += len;
    }
    std::fs::write(to, out).expect("copy writes");
}

/// The data of the bulk IN read of an AES3500 ioctl recording (endpoint 129).
pub fn ioctl_bulk_in(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).expect("recording reads");
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first() == Some(&"USBDEVFS_REAPURBNDELAY") && fields.get(3) == Some(&"129") {
            let hex = fields.get(9).expect("the read carries data");
            return (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
        }
    }
    panic!("no bulk IN read in {}", path.display());
}

/// libfprint's 2× enlargement of the AES3500 frame, as worked out from the recording: pixman
/// bilinear on the *sensor* image (light ridges, before inversion) with pixel-centre sampling
/// (source = (x + 0.5) / 2 − 0.5), transparent (zero) pixels outside the frame and truncation;
/// the result is then shown inverted. `upright` is our output (inverted and rotated).
pub fn libfprint_enlarge(upright: &[u8], side: usize) -> Vec<u8> {
    let sensor: Vec<f64> = upright.iter().map(|&p| 255.0 - p as f64).collect();
    let at = |x: i64, y: i64| {
        if x < 0 || y < 0 || x >= side as i64 || y >= side as i64 {
            0.0
        } else {
            sensor[y as usize * side + x as usize]
        }
    };
    let big = 2 * side;
    let mut out = Vec::with_capacity(big * big);
    for y in 0..big {
        let sy = (y as f64 + 0.5) / 2.0 - 0.5;
        let (y0, fy) = (sy.floor() as i64, sy - sy.floor());
        for x in 0..big {
            let sx = (x as f64 + 0.5) / 2.0 - 0.5;
            let (x0, fx) = (sx.floor() as i64, sx - sx.floor());
            let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
            let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
            let value = (top * (1.0 - fy) + bottom * fy).floor();
            out.push(255 - value as u8);
        }
    }
    out
}

/// A plain 2× bilinear enlargement (pixel centres, edge pixels repeated, rounding).
pub fn bilinear_enlarge(image: &[u8], side: usize) -> Vec<u8> {
    let img = ridgeline::FingerImage::from_raw(side as u32, side as u32, 500, image.to_vec())
        .expect("frame");
    img.resampled_to(1000).into_pixels()
}

/// The `umockdev-run` program, or `None` with the reason the replay tests skip.
pub fn umockdev_run() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|p| p.join("umockdev-run")).find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!(
            "SKIPPED: umockdev-run is not installed (apt-get install umockdev; scripts/test installs it when run as root)"
        );
    }
    found
}

/// The `P:` line of a umockdev device file: the sysfs path of the recorded device.
pub fn sysfs_path(device_file: &Path) -> String {
    let text = std::fs::read_to_string(device_file).expect("device file reads");
    let line = text.lines().find(|l| l.starts_with("P: ")).expect("device file has a P: line");
    format!("/sys{}", &line[3..])
}

/// The `@DEV` line of a umockdev ioctl recording: the device node it belongs to.
pub fn ioctl_device_node(ioctl_file: &Path) -> String {
    let text = std::fs::read_to_string(ioctl_file).expect("ioctl file reads");
    let line = text.lines().find(|l| l.starts_with("@DEV ")).expect("ioctl file has @DEV");
    line[5..].trim().to_string()
}

/// Output of a program run under `umockdev-run`.
#[derive(Debug)]
pub struct Replay {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `program args` under `umockdev-run` with `umockdev_args` (device and recording), with a
/// watchdog: a replay that hangs is killed and reported as such.
pub fn run_replayed(
    umockdev: &Path,
    umockdev_args: &[String],
    program: &Path,
    args: &[&str],
    envs: &[(&str, String)],
) -> Replay {
    const WATCHDOG: Duration = Duration::from_secs(120);
    let mut command = Command::new(umockdev);
    command.args(umockdev_args).arg("--").arg(program).args(args);
    for (key, value) in envs {
        command.env(key, value);
    }
    let out_file = tempfile::NamedTempFile::new().expect("temp file");
    let err_file = tempfile::NamedTempFile::new().expect("temp file");
    command
        .stdout(Stdio::from(out_file.reopen().expect("reopen")))
        .stderr(Stdio::from(err_file.reopen().expect("reopen")));
    let mut child = command.spawn().expect("umockdev-run starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > WATCHDOG {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(out_file.path()).unwrap_or_default();
    let mut stderr = std::fs::read_to_string(err_file.path()).unwrap_or_default();
    if status.is_none() {
        stderr.push_str("\n[watchdog] the replay hung and was killed");
    }
    Replay { success: status.is_some_and(|s| s.success()), stdout, stderr }
}

/// `umockdev-run` arguments replaying the U.are.U 4500 session from `pcapng`.
pub fn uru4500_args(dir: &Path, pcapng: &Path) -> Vec<String> {
    vec![
        "-d".into(),
        dir.join("device").display().to_string(),
        "-p".into(),
        format!("{}={}", sysfs_path(&dir.join("device")), pcapng.display()),
    ]
}

/// `umockdev-run` arguments replaying the AES3500 session from `ioctl`.
pub fn aes3500_args(dir: &Path, ioctl: &Path) -> Vec<String> {
    vec![
        "-d".into(),
        dir.join("device").display().to_string(),
        "-i".into(),
        format!("{}={}", ioctl_device_node(ioctl), ioctl.display()),
    ]
}

/// Builds a usbmon pcapng recording of a made-up session, for device states no real recording
/// shows (a reader stuck in a bad state). The section and interface headers are taken from a
/// real recording; each transfer becomes a submit and a complete packet like usbmon writes them.
#[derive(Debug)]
pub struct SyntheticSession {
    bytes: Vec<u8>,
    next_id: u64,
    time_us: u64,
    bus: u16,
    device: u8,
}

impl SyntheticSession {
    /// Starts a recording for the device `bus`/`device`, with the headers of `template`.
    pub fn new(template: &Path, bus: u16, device: u8) -> Self {
        let source = std::fs::read(template).expect("template recording reads");
        // Section header block and interface description block: the first two blocks.
        let mut end = 0;
        for _ in 0..2 {
            let len =
                u32::from_le_bytes(source[end + 4..end + 8].try_into().expect("4 bytes")) as usize;
            end += len;
        }
        SyntheticSession { bytes: source[..end].to_vec(), next_id: 1, time_us: 0, bus, device }
    }

    #[allow(clippy::too_many_arguments)]
    fn packet(
        &mut self,
        id: u64,
        event: u8,
        kind: u8,
        endpoint: u8,
        setup: Option<[u8; 8]>,
        status: i32,
        length: u32,
        data: &[u8],
    ) {
        self.time_us += 1_000;
        let mut p = Vec::with_capacity(64 + data.len());
        p.extend_from_slice(&id.to_le_bytes());
        p.extend_from_slice(&[event, kind, endpoint, self.device]);
        p.extend_from_slice(&self.bus.to_le_bytes());
        p.push(if setup.is_some() { 0 } else { b'-' });
        p.push(if data.is_empty() { b'<' } else { 0 });
        p.extend_from_slice(&((self.time_us / 1_000_000) as i64).to_le_bytes());
        p.extend_from_slice(&((self.time_us % 1_000_000) as i32).to_le_bytes());
        p.extend_from_slice(&status.to_le_bytes());
        p.extend_from_slice(&length.to_le_bytes());
        p.extend_from_slice(&(data.len() as u32).to_le_bytes());
        p.extend_from_slice(&setup.unwrap_or([0; 8]));
        p.extend_from_slice(&[0; 16]); // interval, start frame, transfer flags, descriptors
        p.extend_from_slice(data);
        let padded = p.len().div_ceil(4) * 4;
        let total = 28 + padded + 4;
        self.bytes.extend_from_slice(&6u32.to_le_bytes());
        self.bytes.extend_from_slice(&(total as u32).to_le_bytes());
        self.bytes.extend_from_slice(&0u32.to_le_bytes()); // interface 0
        self.bytes.extend_from_slice(&((self.time_us >> 32) as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(self.time_us as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(p.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&(p.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&p);
        self.bytes.resize(self.bytes.len() + padded - p.len(), 0);
        self.bytes.extend_from_slice(&(total as u32).to_le_bytes());
    }

    /// Submits an interrupt read that stays pending; returns its id.
    pub fn interrupt_read(&mut self, endpoint: u8, len: u32) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.packet(id, b'S', 1, endpoint, None, -115, len, &[]);
        id
    }

    /// Completes the pending interrupt read `id` with `status` and `data`.
    pub fn complete_interrupt(&mut self, id: u64, endpoint: u8, status: i32, data: &[u8]) {
        self.packet(id, b'C', 1, endpoint, None, status, data.len() as u32, data);
    }

    /// A vendor register read (request 0x04) answered with `answer`.
    pub fn read_register(&mut self, register: u16, answer: &[u8]) {
        let id = self.next_id;
        self.next_id += 1;
        let len = answer.len() as u16;
        let r = register.to_le_bytes();
        let l = len.to_le_bytes();
        let setup = [0xc0, 0x04, r[0], r[1], 0, 0, l[0], l[1]];
        self.packet(id, b'S', 2, 0x80, Some(setup), -115, len as u32, &[]);
        self.packet(id, b'C', 2, 0x80, None, 0, len as u32, answer);
    }

    /// A vendor register write (request 0x04) of `values`.
    pub fn write_register(&mut self, register: u16, values: &[u8]) {
        let id = self.next_id;
        self.next_id += 1;
        let len = values.len() as u16;
        let r = register.to_le_bytes();
        let l = len.to_le_bytes();
        let setup = [0x40, 0x04, r[0], r[1], 0, 0, l[0], l[1]];
        self.packet(id, b'S', 2, 0x00, Some(setup), -115, len as u32, values);
        self.packet(id, b'C', 2, 0x00, None, 0, len as u32, &[]);
    }

    /// Writes the recording.
    pub fn save(&self, path: &Path) {
        std::fs::write(path, &self.bytes).expect("synthetic recording writes");
    }
}

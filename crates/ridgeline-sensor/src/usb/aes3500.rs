//! AuthenTec AES3500 driver.
//!
//! The protocol, as recorded from a real AES3500 (`../shared/usb-recordings/README.md`): bulk
//! transfers only. Registers are written as (register, value) byte pairs on bulk OUT 0x02, at
//! most 16 pairs per transfer. After the initialisation and capture-start writes, one bulk read
//! of 8,329 bytes on 0x81 blocks until a finger is present; it holds 8 frames of 16 rows each,
//! 4 bits per pixel, which together make the 128×128 image.
//!
//! Resolution: libfprint enlarges this sensor's image 2× "to make it big enough for NBIS"; that
//! is about NBIS's minimum image size, not about the sensor. The recorded image shows a ridge
//! period of 9.5 pixels, i.e. 0.48 mm at 500 dpi (a typical adult ridge period) and an
//! implausible 0.97 mm at 250 dpi; the sensor is a "very small touch sensor" of about
//! 6.5 × 6.5 mm. We therefore return the native 128×128 frame at 500 dpi.

use std::time::{Duration, Instant};

use ridgeline::FingerImage;
use rusb::{Context, DeviceHandle};

use crate::error::{Error, Result};
use crate::params::*;
use crate::reader::{CancelToken, Reader, ReaderInfo};
use crate::usb::transfer::{EventLoop, Transfer};

/// Short driver name.
pub const DRIVER_NAME: &str = "aes3500";
/// Side of the square frame, pixels.
pub const FRAME_SIDE_PX: usize = 128;
/// Resolution of the sensor (see the module docs for how it was established).
pub const DPI: u32 = 500;

const ENDPOINT_OUT: u8 = 0x02;
const ENDPOINT_IN: u8 = 0x81;
/// Rows per sub-frame of the image read.
pub const ROWS_PER_FRAME: usize = 16;
/// Sub-frames per image.
pub const FRAMES: usize = FRAME_SIDE_PX / ROWS_PER_FRAME;
/// Bytes per sub-frame: 128 columns × 16 rows at 4 bits per pixel.
pub const FRAME_BYTES: usize = FRAME_SIDE_PX * ROWS_PER_FRAME / 2;
/// Length of the image read (8 × (1 header byte + 1,024 bytes), then trailing status bytes).
pub const IMAGE_TRANSFER_LEN: usize = 8_329;
/// Register pairs per bulk write, at most.
const PAIRS_PER_WRITE: usize = 16;

/// One batch of register writes; each batch starts a new bulk transfer.
type Batch = &'static [(u8, u8)];

/// Initialisation: master reset, scan reset, register buffering off, then the analogue set-up
/// of registers 0x80–0x9f (bias, finger detection, calibration, gain, image window).
const INIT: &[Batch] = &[
    &[(0x80, 0x01)],
    &[(0x80, 0x00)],
    &[(0x81, 0x00), (0x80, 0x00)],
    &[(0x80, 0x02)],
    &[(0x80, 0x00)],
    &[(0x80, 0x04)],
    &[(0x80, 0x00)],
    &[(0x81, 0x00)],
    &[
        (0x80, 0x00),
        (0x81, 0x00),
        (0x82, 0x04),
        (0x83, 0x13),
        (0x84, 0x07),
        (0x85, 0x3d),
        (0x86, 0x03),
        (0x87, 0x01),
        (0x88, 0x02),
        (0x89, 0x02),
        (0x8a, 0x33),
        (0x8b, 0x33),
        (0x8c, 0x0f),
        (0x8d, 0x04),
        (0x8e, 0x23),
        (0x8f, 0x07),
        (0x90, 0x00),
        (0x91, 0x1c),
        (0x92, 0x08),
        (0x93, 0x00),
        (0x94, 0x07),
        (0x95, 0x00),
        (0x96, 0x1f),
        (0x97, 0x04),
        (0x98, 0x28),
        (0x99, 0x00),
        (0x9a, 0x0b),
        (0x9b, 0x00),
        (0x9c, 0x00),
        (0x9d, 0x09),
        (0x9e, 0x53),
        (0x9f, 0x6b),
    ],
];

/// Capture start: the image read that follows blocks until a finger is present.
const CAPTURE_START: &[Batch] = &[&[(0x80, 0x00), (0x81, 0x00)], &[(0x81, 0x04)], &[(0x81, 0x00)]];

/// An AES3500 reader, opened and claimed.
#[derive(Debug)]
pub struct Aes3500 {
    handle: DeviceHandle<Context>,
    info: ReaderInfo,
}

impl Aes3500 {
    /// Wraps an opened handle whose interface 0 is claimed.
    pub fn new(handle: DeviceHandle<Context>, info: ReaderInfo) -> Self {
        Aes3500 { handle, info }
    }

    fn write_batches(&self, batches: &[Batch], cancel: &CancelToken) -> Result<()> {
        for batch in batches {
            for pairs in batch.chunks(PAIRS_PER_WRITE) {
                let bytes: Vec<u8> = pairs.iter().flat_map(|&(r, v)| [r, v]).collect();
                let mut t = Transfer::bulk_write(
                    &self.handle,
                    ENDPOINT_OUT,
                    &bytes,
                    Duration::from_millis(REGISTER_ACCESS_TIMEOUT_MS),
                    "the reader to accept a register write",
                )?;
                t.submit()?;
                self.wait(&mut t, Duration::from_millis(REGISTER_ACCESS_TIMEOUT_MS * 2), cancel)?;
                let written = t.outcome()?.len();
                if written != bytes.len() {
                    return Err(Error::Protocol(format!(
                        "register write sent {written} of {} bytes",
                        bytes.len()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Runs the event loop until `t` completes; cancels it after `limit`.
    fn wait(&self, t: &mut Transfer<'_>, limit: Duration, cancel: &CancelToken) -> Result<bool> {
        let events = EventLoop::new(self.handle.context());
        events.wait_until(Instant::now() + limit, cancel, || Ok(t.is_complete()))
    }
}

impl Reader for Aes3500 {
    fn info(&self) -> &ReaderInfo {
        &self.info
    }

    fn capture(&mut self, timeout: Duration, cancel: &CancelToken) -> Result<FingerImage> {
        cancel.check()?;
        self.write_batches(INIT, cancel)?;
        self.write_batches(CAPTURE_START, cancel)?;
        // No libusb timeout: the read completes when a finger is present; we cancel it ourselves
        // at the deadline (dropping the transfer cancels it and waits for libusb to confirm).
        let mut image = Transfer::bulk_read(
            &self.handle,
            ENDPOINT_IN,
            IMAGE_TRANSFER_LEN,
            Duration::ZERO,
            "a finger",
        )?;
        image.submit()?;
        if !self.wait(&mut image, timeout, cancel)? {
            return Err(Error::Timeout { waiting_for: "a finger", after: timeout });
        }
        let data = image.outcome()?;
        let raw = assemble_frame(data)?;
        let pixels = orient(&raw);
        // The sensor has no finger-off report; the next capture's reset re-arms it.
        Ok(FingerImage::from_raw(FRAME_SIDE_PX as u32, FRAME_SIDE_PX as u32, DPI, pixels)?)
    }
}

/// Assembles the 8 sub-frames of an image read into the raw 128×128 frame (sensor
/// orientation, light ridges). Within a sub-frame the bytes run column by column, each byte
/// holding two vertically adjacent pixels (low nibble the even row); grey = nibble × 17.
pub fn assemble_frame(transfer: &[u8]) -> Result<Vec<u8>> {
    if transfer.len() != IMAGE_TRANSFER_LEN {
        return Err(Error::Protocol(format!(
            "image read returned {} bytes, expected {IMAGE_TRANSFER_LEN}",
            transfer.len()
        )));
    }
    let mut frame = vec![0u8; FRAME_SIDE_PX * FRAME_SIDE_PX];
    for (f, chunk) in transfer.chunks_exact(1 + FRAME_BYTES).take(FRAMES).enumerate() {
        // chunk[0] is the sub-frame header (0xe0 + index); the pixels follow.
        let pixels = &chunk[1..];
        for (i, &byte) in pixels.iter().enumerate() {
            let column = i / (ROWS_PER_FRAME / 2);
            let row = f * ROWS_PER_FRAME + 2 * (i % (ROWS_PER_FRAME / 2));
            frame[row * FRAME_SIDE_PX + column] = (byte & 0x0f) * 17;
            frame[(row + 1) * FRAME_SIDE_PX + column] = (byte >> 4) * 17;
        }
    }
    Ok(frame)
}

/// Dark ridges on light ground, upright: the sensor image is inverted and rotated by 180°.
pub fn orient(raw: &[u8]) -> Vec<u8> {
    raw.iter().rev().map(|&p| 255 - p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_batches_fit_the_transfer_limit_or_are_split() {
        let transfers: usize =
            INIT.iter().map(|b| b.len().div_ceil(PAIRS_PER_WRITE)).sum::<usize>();
        // 8 short writes and the 32 analogue registers in two transfers, as recorded.
        assert_eq!(transfers, 10);
    }

    #[test]
    fn nibbles_land_in_column_major_row_pairs() {
        let mut transfer = vec![0u8; IMAGE_TRANSFER_LEN];
        // Sub-frame 1, second byte: column 0, rows 16+2 (low nibble) and 16+3 (high nibble).
        transfer[(1 + FRAME_BYTES) + 1 + 1] = 0x51;
        // Sub-frame 0, byte 8: column 1, rows 0 and 1.
        transfer[1 + 8] = 0xf0;
        let frame = assemble_frame(&transfer).expect("assembles");
        assert_eq!(frame[18 * FRAME_SIDE_PX], 17);
        assert_eq!(frame[19 * FRAME_SIDE_PX], 5 * 17);
        assert_eq!(frame[1], 0);
        assert_eq!(frame[FRAME_SIDE_PX + 1], 255);
    }

    #[test]
    fn refuses_a_short_read() {
        assert!(matches!(assemble_frame(&[0; 100]), Err(Error::Protocol(_))));
    }
}

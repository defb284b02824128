//! DigitalPersona U.are.U 4000 / 4000B / 4500 driver.
//!
//! The protocol, as recorded from a real 4500 (`../shared/usb-recordings/README.md`):
//! registers are read and written with vendor control transfers; the device reports power and
//! finger events on an interrupt endpoint, which must have a read pending at all times; the
//! image comes over a bulk endpoint, partly scrambled with a key obtained through a small key
//! exchange, mirrored and with light ridges.
//!
//! One capture is one session, as the vendor's driver does it: start the interrupt read,
//! power the scanner up, wait for a finger, read and decode the image, wait for the finger to
//! leave, switch the scanner off, cancel the interrupt read.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ridgeline::FingerImage;
use rusb::{Context, DeviceHandle};

use crate::error::{Error, Result};
use crate::params::*;
use crate::reader::{CancelToken, Reader, ReaderInfo};
use crate::usb::transfer::{EventLoop, Transfer};

/// Short driver name.
pub const DRIVER_NAME: &str = "uru4000";
/// Image width, pixels.
pub const IMAGE_WIDTH_PX: usize = 384;
/// Image height, pixels.
pub const IMAGE_HEIGHT_PX: usize = 290;
/// Resolution of the sensor (vendor specification: 512 dpi).
pub const DPI: u32 = 512;

/// Bytes of the image header that precedes the pixel data.
pub const IMAGE_HEADER_LEN: usize = 64;
/// Length of the image bulk read: the header and a full image.
pub const IMAGE_TRANSFER_LEN: usize = IMAGE_HEADER_LEN + IMAGE_WIDTH_PX * IMAGE_HEIGHT_PX;

const ENDPOINT_INTERRUPT: u8 = 0x81;
const ENDPOINT_IMAGE: u8 = 0x82;
const INTERRUPT_LEN: usize = 64;
const REQUEST_REGISTER: u8 = 0x04;

const REG_HWSTAT: u16 = 0x07;
const REG_SCRAMBLE_INDEX: u16 = 0x33;
const REG_SCRAMBLE_KEY: u16 = 0x34;
const REG_MODE: u16 = 0x4e;
const REG_DEVICE_INFO: u16 = 0xf0;
const DEVICE_INFO_LEN: u16 = 16;

const HWSTAT_LOW_POWER: u8 = 0x80;
const HWSTAT_BAD_STATE: u8 = 0x04;
const HWSTAT_ALIVE: u8 = 0x01;

const MODE_AWAIT_FINGER_ON: u8 = 0x10;
const MODE_AWAIT_FINGER_OFF: u8 = 0x12;
const MODE_CAPTURE: u8 = 0x20;
const MODE_OFF: u8 = 0x70;

const EVENT_SCANNER_POWERED: u16 = 0x56aa;
const EVENT_FINGER_ON: u16 = 0x0101;
const EVENT_FINGER_OFF: u16 = 0x0200;

/// Block flags in the image header.
mod block_flags {
    pub const CHANGE_KEY: u8 = 0x80;
    pub const NO_KEY_UPDATE: u8 = 0x04;
    pub const SCRAMBLED: u8 = 0x02;
    pub const NOT_PRESENT: u8 = 0x01;
}

/// Offsets in the image header.
const HEADER_LINES_OFFSET: usize = 4;
const HEADER_KEY_NUMBER_OFFSET: usize = 6;
const HEADER_BLOCKS_OFFSET: usize = 16;
const HEADER_BLOCKS: usize = 15;

/// What differs between the models of the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// The image arrives rotated by 180° (U.are.U 4000B and 4500).
    pub rotated: bool,
    /// The device challenges the host during power-up (Microsoft Fingerprint Reader v2).
    pub challenge_response: bool,
}

/// Registers of the power-up challenge-response (Microsoft Fingerprint Reader v2).
const REG_CHALLENGE: u16 = 0x2010;
const REG_RESPONSE: u16 = 0x2000;
const CHALLENGE_LEN: u16 = 16;
/// The AES-128 key of the challenge-response: a fixed protocol constant of these devices
/// (published with libfprint's uru4000 driver). It authenticates the driver to the device and
/// protects nothing.
const CHALLENGE_KEY: [u8; 16] = [
    0x79, 0xac, 0x91, 0x79, 0x5c, 0xa1, 0x47, 0x8e, 0x98, 0xe0, 0x0f, 0x3c, 0x59, 0x8f, 0x5f, 0x4b,
];

/// The answer to a power-up challenge: the challenge encrypted with AES-128 (one block).
pub fn challenge_response(challenge: [u8; 16]) -> [u8; 16] {
    use aes::cipher::{BlockEncrypt, KeyInit};
    let cipher = aes::Aes128::new(&CHALLENGE_KEY.into());
    let mut block = challenge.into();
    cipher.encrypt_block(&mut block);
    block.into()
}

/// A U.are.U 4000-family reader, opened and claimed.
#[derive(Debug)]
pub struct Uru4000 {
    handle: DeviceHandle<Context>,
    info: ReaderInfo,
    profile: Profile,
    scramble_seed: Option<u32>,
}

impl Uru4000 {
    /// Wraps an opened handle whose interface 0 is claimed. `scramble_seed` fixes the
    /// key-exchange seed (for replaying recordings); `None` draws a random one per exchange.
    pub fn new(
        handle: DeviceHandle<Context>,
        info: ReaderInfo,
        profile: Profile,
        scramble_seed: Option<u32>,
    ) -> Self {
        Uru4000 { handle, info, profile, scramble_seed }
    }
}

impl Reader for Uru4000 {
    fn info(&self) -> &ReaderInfo {
        &self.info
    }

    fn capture(&mut self, timeout: Duration, cancel: &CancelToken) -> Result<FingerImage> {
        cancel.check()?;
        let mut session = Session::start(&self.handle, cancel, self.scramble_seed, self.profile)?;
        let result = session.capture(timeout);
        if let Some(firmware) = session.firmware.take() {
            self.info.firmware = Some(firmware);
        }
        if result.is_err() {
            session.switch_off_quietly();
        }
        // The capture's own error, if any, is the one worth reporting.
        let stopped = session.stop();
        let image = result?;
        stopped?;
        Ok(image)
    }
}

/// One capture session: the pending interrupt read and the events it has delivered.
struct Session<'h> {
    handle: &'h DeviceHandle<Context>,
    events: EventLoop<'h>,
    cancel: &'h CancelToken,
    interrupt: Transfer<'h>,
    received: VecDeque<u16>,
    /// The interrupt read came back cancelled and is no longer pending.
    interrupt_ended: bool,
    scramble_seed: Option<u32>,
    profile: Profile,
    firmware: Option<String>,
}

impl<'h> Session<'h> {
    /// Submits the interrupt read that stays pending for the whole session.
    fn start(
        handle: &'h DeviceHandle<Context>,
        cancel: &'h CancelToken,
        scramble_seed: Option<u32>,
        profile: Profile,
    ) -> Result<Self> {
        // No timeout: the device answers this read only when it has an event to report.
        let mut interrupt = Transfer::interrupt_read(
            handle,
            ENDPOINT_INTERRUPT,
            INTERRUPT_LEN,
            Duration::ZERO,
            "the wait for a reader event",
        )?;
        interrupt.submit()?;
        Ok(Session {
            handle,
            events: EventLoop::new(handle.context()),
            cancel,
            interrupt,
            received: VecDeque::new(),
            interrupt_ended: false,
            scramble_seed,
            profile,
            firmware: None,
        })
    }

    fn capture(&mut self, timeout: Duration) -> Result<FingerImage> {
        self.power_up_with_retry()?;
        let info = self.read_registers(REG_DEVICE_INFO, DEVICE_INFO_LEN)?;
        self.firmware = Some(describe_device_info(&info));

        self.write_register(REG_MODE, &[MODE_AWAIT_FINGER_ON])?;
        self.wait_event(EVENT_FINGER_ON, timeout, "a finger")?;

        // The image read must be in flight before the capture mode is written.
        let mut image = Transfer::bulk_read(
            self.handle,
            ENDPOINT_IMAGE,
            IMAGE_TRANSFER_LEN,
            Duration::ZERO,
            "the image",
        )?;
        image.submit()?;
        self.write_register(REG_MODE, &[MODE_CAPTURE])?;
        self.wait_transfer(
            &mut image,
            Duration::from_millis(IMAGE_TRANSFER_TIMEOUT_MS),
            "the image",
        )?;
        let raw = image.outcome()?.to_vec();
        drop(image);

        let seed = self.scramble_seed;
        let sensor = decode_image(&raw, |key_number| self.exchange_key(key_number, seed))?;
        let pixels = orient(&sensor, self.profile.rotated);

        self.write_register(REG_MODE, &[MODE_AWAIT_FINGER_OFF])?;
        // A finger left on the reader does not spoil the image already read: switch off anyway.
        match self.wait_event(EVENT_FINGER_OFF, timeout, "the finger to be lifted") {
            Ok(()) | Err(Error::Timeout { .. }) => {}
            Err(other) => return Err(other),
        }
        self.write_register(REG_MODE, &[MODE_OFF])?;
        Ok(FingerImage::from_raw(IMAGE_WIDTH_PX as u32, IMAGE_HEIGHT_PX as u32, DPI, pixels)?)
    }

    /// Powers the scanner up; on a bad state, repeats the documented power-up once.
    fn power_up_with_retry(&mut self) -> Result<()> {
        match self.power_up() {
            Err(Error::BadState { .. }) => self.power_up(),
            other => other,
        }
    }

    /// The power-up sequence: leave low power through a write of the status register with the
    /// low-power bit set and then cleared, poll until the device agrees, and wait for the
    /// scanner-powered event.
    fn power_up(&mut self) -> Result<()> {
        let mut status = self.read_register(REG_HWSTAT)?;
        if status & (HWSTAT_LOW_POWER | HWSTAT_BAD_STATE) == HWSTAT_LOW_POWER | HWSTAT_BAD_STATE {
            self.reboot_power(status)?;
        }
        if status & HWSTAT_LOW_POWER == 0 {
            status |= HWSTAT_LOW_POWER;
            self.write_register(REG_HWSTAT, &[status])?;
        }
        let powered = status & 0x0f;
        let mut last = status;
        for _ in 0..POWER_UP_POLLS {
            self.write_register(REG_HWSTAT, &[powered])?;
            last = self.read_register(REG_HWSTAT)?;
            if last & HWSTAT_LOW_POWER == 0 {
                break;
            }
            self.pause(Duration::from_millis(POWER_UP_POLL_INTERVAL_MS))?;
            if self.profile.challenge_response {
                self.answer_challenge()?;
            }
        }
        if last & HWSTAT_LOW_POWER != 0 {
            return Err(Error::BadState {
                detail: format!("status {last:#04x}: the scanner stays in low power"),
            });
        }
        if last & HWSTAT_BAD_STATE != 0 {
            return Err(Error::BadState { detail: format!("status {last:#04x}") });
        }
        match self.wait_event(
            EVENT_SCANNER_POWERED,
            Duration::from_millis(POWER_ON_EVENT_TIMEOUT_MS),
            "the scanner to power on",
        ) {
            Err(Error::Timeout { .. }) => {
                Err(Error::BadState { detail: "the scanner did not report power-on".into() })
            }
            other => other,
        }
    }

    /// Recovers from the status "low power and bad state": clear the high bits and poll until
    /// the device reports itself alive.
    fn reboot_power(&mut self, status: u8) -> Result<()> {
        self.write_register(REG_HWSTAT, &[status & 0x0f])?;
        for _ in 0..POWER_UP_POLLS {
            if self.read_register(REG_HWSTAT)? & HWSTAT_ALIVE != 0 {
                return Ok(());
            }
            self.pause(Duration::from_millis(POWER_UP_POLL_INTERVAL_MS))?;
        }
        Err(Error::BadState { detail: format!("status {status:#04x}: power reboot failed") })
    }

    /// Reads the device's challenge and writes back the response; the device leaves low power
    /// only after that.
    fn answer_challenge(&mut self) -> Result<()> {
        let challenge = self.read_registers(REG_CHALLENGE, CHALLENGE_LEN)?;
        let challenge: [u8; 16] = challenge
            .as_slice()
            .try_into()
            .map_err(|_| Error::Protocol(format!("challenge of {} bytes", challenge.len())))?;
        self.write_register(REG_RESPONSE, &challenge_response(challenge))
    }

    /// The key exchange: send the key number and our seed, read back the key XOR the seed.
    fn exchange_key(&mut self, key_number: u8, fixed_seed: Option<u32>) -> Result<u32> {
        let seed = fixed_seed.unwrap_or_else(random_seed);
        let mut index = [0u8; 5];
        index[0] = key_number;
        index[1..].copy_from_slice(&seed.to_le_bytes());
        self.write_register(REG_SCRAMBLE_INDEX, &index)?;
        let key = self.read_registers(REG_SCRAMBLE_KEY, 4)?;
        let key: [u8; 4] = key
            .as_slice()
            .try_into()
            .map_err(|_| Error::Protocol(format!("scramble key of {} bytes", key.len())))?;
        Ok(u32::from_le_bytes(key) ^ seed)
    }

    fn read_register(&mut self, register: u16) -> Result<u8> {
        let value = self.read_registers(register, 1)?;
        value.first().copied().ok_or_else(|| {
            Error::Protocol(format!("register {register:#04x} read returned no data"))
        })
    }

    fn read_registers(&mut self, register: u16, len: u16) -> Result<Vec<u8>> {
        let mut t = Transfer::vendor_read(
            self.handle,
            REQUEST_REGISTER,
            register,
            len,
            Duration::from_millis(REGISTER_ACCESS_TIMEOUT_MS),
            "the reader to answer a register read",
        )?;
        t.submit()?;
        let limit = Duration::from_millis(REGISTER_ACCESS_TIMEOUT_MS * 2);
        self.wait_transfer(&mut t, limit, "the reader to answer a register read")?;
        let data = t.outcome()?;
        if data.len() != len as usize {
            return Err(Error::Protocol(format!(
                "register {register:#04x}: read {} bytes of {len}",
                data.len()
            )));
        }
        Ok(data.to_vec())
    }

    fn write_register(&mut self, register: u16, values: &[u8]) -> Result<()> {
        let mut t = Transfer::vendor_write(
            self.handle,
            REQUEST_REGISTER,
            register,
            values,
            Duration::from_millis(REGISTER_ACCESS_TIMEOUT_MS),
            "the reader to answer a register write",
        )?;
        t.submit()?;
        let limit = Duration::from_millis(REGISTER_ACCESS_TIMEOUT_MS * 2);
        self.wait_transfer(&mut t, limit, "the reader to answer a register write")?;
        t.outcome().map(|_| ())
    }

    /// Takes a completed interrupt packet (if any) into the event queue and re-submits the read,
    /// so that one is pending again before the device has anything more to say. A read that
    /// comes back cancelled or short is not re-submitted: the session's event stream has ended.
    fn service_interrupt(&mut self) -> Result<()> {
        if self.interrupt_ended || !self.interrupt.is_complete() {
            return Ok(());
        }
        match self.interrupt.outcome() {
            Ok(packet) if packet.len() == INTERRUPT_LEN => {
                self.received.push_back(u16::from_be_bytes([packet[0], packet[1]]));
            }
            // The device always sends full packets; a short or empty completion is how an
            // aborted read comes back (the recorded session ends with one).
            Ok(_) | Err(Error::Cancelled) => {
                self.interrupt_ended = true;
                return Ok(());
            }
            Err(other) => return Err(other),
        }
        self.interrupt.submit()
    }

    /// Runs the event loop until `transfer` completes, servicing the interrupt read meanwhile.
    /// A transfer not complete by `limit` is cancelled and reported as a timeout.
    fn wait_transfer(
        &mut self,
        transfer: &mut Transfer<'h>,
        limit: Duration,
        what: &'static str,
    ) -> Result<()> {
        let deadline = Instant::now() + limit;
        let events = EventLoop::new(self.handle.context());
        let cancel = self.cancel;
        let done = events.wait_until(deadline, cancel, || {
            self.service_interrupt()?;
            Ok(transfer.is_complete())
        });
        match done {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Timeout { waiting_for: what, after: limit }),
            Err(e) => Err(e),
        }
    }

    /// Waits for the interrupt event `wanted`, ignoring others (the device repeats `56aa`).
    fn wait_event(&mut self, wanted: u16, limit: Duration, what: &'static str) -> Result<()> {
        let deadline = Instant::now() + limit;
        let events = EventLoop::new(self.handle.context());
        let cancel = self.cancel;
        let seen = events.wait_until(deadline, cancel, || {
            self.service_interrupt()?;
            while let Some(event) = self.received.pop_front() {
                if event == wanted {
                    return Ok(true);
                }
            }
            if self.interrupt_ended {
                return Err(Error::Protocol("the reader stopped reporting events".into()));
            }
            Ok(false)
        })?;
        if seen {
            Ok(())
        } else {
            Err(Error::Timeout { waiting_for: what, after: limit })
        }
    }

    /// Waits for `duration` while keeping events flowing.
    fn pause(&mut self, duration: Duration) -> Result<()> {
        let deadline = Instant::now() + duration;
        let events = EventLoop::new(self.handle.context());
        let cancel = self.cancel;
        events.wait_until(deadline, cancel, || self.service_interrupt().map(|()| false))?;
        Ok(())
    }

    /// Best-effort switch-off after a failure; errors are ignored (the device may be gone).
    fn switch_off_quietly(&mut self) {
        if let Ok(mut t) = Transfer::vendor_write(
            self.handle,
            REQUEST_REGISTER,
            REG_MODE,
            &[MODE_OFF],
            Duration::from_millis(CLEANUP_STEP_TIMEOUT_MS),
            "switching the scanner off",
        ) {
            if t.submit().is_ok() {
                let deadline = Instant::now() + Duration::from_millis(CLEANUP_STEP_TIMEOUT_MS);
                let never_cancelled = CancelToken::new();
                let _ = self.events.wait_until(deadline, &never_cancelled, || Ok(t.is_complete()));
            }
        }
    }

    /// Cancels the interrupt read and waits for libusb to confirm it.
    fn stop(mut self) -> Result<()> {
        self.interrupt.cancel();
        let deadline = Instant::now() + Duration::from_millis(CLEANUP_STEP_TIMEOUT_MS);
        let never_cancelled = CancelToken::new();
        let interrupt = &mut self.interrupt;
        self.events.wait_until(deadline, &never_cancelled, || Ok(interrupt.is_complete()))?;
        Ok(())
    }
}

/// A seed for the key exchange that differs between calls and processes.
fn random_seed() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish() as u32
}

/// "hardware AABB, firmware CCDD" from the 16-byte device-info register.
fn describe_device_info(info: &[u8]) -> String {
    let byte = |i: usize| info.get(i).copied().unwrap_or(0);
    format!("hardware {:02x}{:02x}, firmware {:02x}{:02x}", byte(10), byte(11), byte(4), byte(5))
}

/// Advances the scrambling register by one step (32-bit LFSR, feedback taps mask 0x9248144d).
pub fn next_key(key: u32) -> u32 {
    let parity = (key & 0x9248_144d).count_ones() & 1;
    (parity << 31) | (key >> 1)
}

/// The byte XORed onto the data at this register state: key bits 4, 8, 11, 14, 18, 21, 24, 29.
fn key_byte(key: u32) -> u8 {
    const BITS: [u32; 8] = [4, 8, 11, 14, 18, 21, 24, 29];
    BITS.iter().enumerate().fold(0u8, |byte, (i, &bit)| byte | ((((key >> bit) & 1) as u8) << i))
}

/// Unscrambles `data` in place, returning the register state after it. The device shifts the
/// data by one byte: output byte `i` is input byte `i + 1` XOR the key byte, the last is zero.
pub fn unscramble(data: &mut [u8], mut key: u32) -> u32 {
    let len = data.len();
    for i in 0..len.saturating_sub(1) {
        let k = key_byte(key);
        key = next_key(key);
        data[i] = data[i + 1] ^ k;
    }
    if let Some(last) = data.last_mut() {
        *last = 0;
    }
    next_key(key)
}

/// Decodes an image transfer (header and pixel data) into the sensor's 384×290 raw image (light
/// ridges, in sensor orientation). `fetch_key(key_number)` performs the key exchange; it is
/// called only when a block is scrambled, and again for a block that asks for a key change.
pub fn decode_image(
    transfer: &[u8],
    mut fetch_key: impl FnMut(u8) -> Result<u32>,
) -> Result<Vec<u8>> {
    let header = transfer.get(..IMAGE_HEADER_LEN).ok_or_else(|| {
        Error::Protocol(format!("image transfer of {} bytes has no header", transfer.len()))
    })?;
    let lines =
        u16::from_le_bytes([header[HEADER_LINES_OFFSET], header[HEADER_LINES_OFFSET + 1]]) as usize;
    let mut key_number = header[HEADER_KEY_NUMBER_OFFSET];
    let received = transfer.len() - IMAGE_HEADER_LEN;
    if lines >= IMAGE_HEIGHT_PX || received < lines * IMAGE_WIDTH_PX {
        return Err(Error::Protocol(format!(
            "bad image: header says {lines} lines, {received} bytes of pixels received"
        )));
    }
    let mut blocks: Vec<(u8, usize)> = (0..HEADER_BLOCKS)
        .map(|b| {
            let at = HEADER_BLOCKS_OFFSET + 2 * b;
            (header[at], header[at + 1] as usize)
        })
        .collect();

    // The device's frame buffer: what arrived, zero beyond.
    let mut data = vec![0u8; IMAGE_WIDTH_PX * IMAGE_HEIGHT_PX];
    let copied = received.min(data.len());
    data[..copied].copy_from_slice(&transfer[IMAGE_HEADER_LEN..IMAGE_HEADER_LEN + copied]);

    let scrambled = |flags: u8| {
        flags & (block_flags::NO_KEY_UPDATE | block_flags::SCRAMBLED) == block_flags::SCRAMBLED
    };
    let needs_key = blocks.iter().take_while(|&&(_, n)| n > 0).any(|&(f, _)| scrambled(f));
    if needs_key {
        let mut key = fetch_key(key_number)?;
        let mut done_lines = 0usize;
        let mut block = 0usize;
        while block < blocks.len() && done_lines < lines {
            let (flags, n) = blocks[block];
            if n == 0 {
                break;
            }
            if flags & block_flags::CHANGE_KEY != 0 {
                blocks[block].0 &= !block_flags::CHANGE_KEY;
                key_number = key_number.wrapping_add(1);
                key = fetch_key(key_number)?;
                continue;
            }
            let range = done_lines * IMAGE_WIDTH_PX..(done_lines + n) * IMAGE_WIDTH_PX;
            match flags & (block_flags::NO_KEY_UPDATE | block_flags::SCRAMBLED) {
                block_flags::SCRAMBLED => {
                    let rows = data.get_mut(range).ok_or_else(|| {
                        Error::Protocol(format!("scrambled block {block} runs past the image"))
                    })?;
                    key = unscramble(rows, key);
                }
                0 => {
                    for _ in 0..n * IMAGE_WIDTH_PX {
                        key = next_key(key);
                    }
                }
                _ => {}
            }
            if flags & block_flags::NOT_PRESENT == 0 {
                done_lines += n;
            }
            block += 1;
        }
    }

    // Lay the blocks out: a missing block repeats the source lines without consuming them.
    let mut image = vec![0u8; IMAGE_WIDTH_PX * IMAGE_HEIGHT_PX];
    let (mut source_line, mut target_line) = (0usize, 0usize);
    for &(flags, n) in &blocks {
        if n == 0 || source_line >= lines || target_line >= IMAGE_HEIGHT_PX {
            break;
        }
        let n_copy = n.min(IMAGE_HEIGHT_PX - target_line).min(IMAGE_HEIGHT_PX - source_line);
        let from = source_line * IMAGE_WIDTH_PX..(source_line + n_copy) * IMAGE_WIDTH_PX;
        let to = target_line * IMAGE_WIDTH_PX..(target_line + n_copy) * IMAGE_WIDTH_PX;
        image[to].copy_from_slice(&data[from]);
        if flags & block_flags::NOT_PRESENT == 0 {
            source_line += n;
        }
        target_line += n;
    }
    Ok(image)
}

/// Dark ridges on light ground, upright: invert, and rotate by 180° where the model needs it.
pub fn orient(sensor: &[u8], rotated: bool) -> Vec<u8> {
    if rotated {
        sensor.iter().rev().map(|&p| 255 - p).collect()
    } else {
        sensor.iter().map(|&p| 255 - p).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_register_shifts_right_and_feeds_back_parity() {
        // Only bit 0 set: it is a tap (mask bit 0), so the parity is 1 and feeds bit 31.
        assert_eq!(next_key(1), 0x8000_0000);
        // Bit 1 is not a tap: shifts without feedback.
        assert_eq!(next_key(2), 1);
        assert_eq!(key_byte(1 << 4 | 1 << 29), 0b1000_0001);
    }

    #[test]
    fn unscrambling_shifts_by_one_byte_and_zeroes_the_last() {
        let mut data = [0x11, 0x22, 0x33];
        let after = unscramble(&mut data, 0);
        assert_eq!(data, [0x22, 0x33, 0x00]);
        assert_eq!(after, 0);
    }

    #[test]
    fn refuses_short_or_inconsistent_transfers() {
        let never = |_| -> Result<u32> { Err(Error::Protocol("no key".into())) };
        assert!(matches!(decode_image(&[0; 10], never), Err(Error::Protocol(_))));
        let mut header = vec![0u8; IMAGE_HEADER_LEN];
        header[HEADER_LINES_OFFSET] = 10; // 10 lines claimed, none sent
        assert!(matches!(decode_image(&header, never), Err(Error::Protocol(_))));
        header[HEADER_LINES_OFFSET..HEADER_LINES_OFFSET + 2].copy_from_slice(&300u16.to_le_bytes());
        assert!(matches!(decode_image(&header, never), Err(Error::Protocol(_))));
    }

    #[test]
    fn plain_blocks_are_laid_out_without_a_key_exchange() {
        let mut transfer = vec![0u8; IMAGE_HEADER_LEN + 3 * IMAGE_WIDTH_PX];
        transfer[HEADER_LINES_OFFSET] = 3;
        // Block 0: 2 lines present; block 1: 1 line missing; block 2: 1 line present.
        transfer[HEADER_BLOCKS_OFFSET..HEADER_BLOCKS_OFFSET + 6].copy_from_slice(&[
            0,
            2,
            block_flags::NOT_PRESENT,
            1,
            0,
            1,
        ]);
        for line in 0..3 {
            let at = IMAGE_HEADER_LEN + line * IMAGE_WIDTH_PX;
            transfer[at..at + IMAGE_WIDTH_PX].fill(10 * (line as u8 + 1));
        }
        let never = |_| -> Result<u32> { Err(Error::Protocol("no key expected".into())) };
        let image = decode_image(&transfer, never).expect("decodes");
        let line = |l: usize| image[l * IMAGE_WIDTH_PX];
        assert_eq!([line(0), line(1), line(2), line(3), line(4)], [10, 20, 30, 30, 0]);
    }
}

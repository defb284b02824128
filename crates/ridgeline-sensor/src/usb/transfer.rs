//! A safe wrapper over libusb's asynchronous transfers, and the event loop that completes them.
//!
//! rusb only offers blocking transfers. The U.are.U protocol needs several transfers in flight
//! at once (an interrupt read pending for the whole session; the image read submitted before the
//! write that starts the capture), so the drivers submit transfers here and then run
//! [`EventLoop::wait_until`], which completes them while watching a deadline and a
//! [`CancelToken`].
//!
//! # Safety
//!
//! The API is safe; the `unsafe` blocks inside (each with a `SAFETY:` note) rely on three
//! rules, each enforced by this module rather than by its callers:
//! * a [`Transfer`] owns its libusb transfer, its buffer and its completion flag, all at stable
//!   heap addresses that libusb may write to while the transfer is in flight;
//! * a transfer in flight is never freed: dropping one cancels it and runs the event loop until
//!   libusb reports it complete; if that does not happen within a bound, the memory is leaked
//!   rather than freed under libusb's feet;
//! * a [`Transfer`] borrows the device handle, so the handle (and its context) outlive it.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusb::ffi;
use rusb::{Context, DeviceHandle, UsbContext};

use crate::error::{Error, Result};
use crate::params::{CLEANUP_STEP_TIMEOUT_MS, EVENT_LOOP_TICK_MS};
use crate::reader::CancelToken;

/// Size of the setup packet at the start of a control transfer's buffer.
const SETUP_LEN: usize = 8;

/// The kind of a transfer, with its fixed parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Control,
    Bulk,
    Interrupt,
}

/// One libusb transfer with its own buffer; see the module docs for the rules it keeps.
#[derive(Debug)]
pub(crate) struct Transfer<'h> {
    handle: &'h DeviceHandle<Context>,
    raw: NonNull<ffi::libusb_transfer>,
    /// The transfer's data; libusb writes into it while the transfer is in flight.
    buffer: Box<[u8]>,
    /// Set by the completion callback; `user_data` points at it.
    completed: Box<AtomicBool>,
    in_flight: bool,
    kind: Kind,
    /// What the transfer is for, for error messages.
    purpose: &'static str,
}

/// Completion callback: flags the transfer as complete. Runs inside
/// `libusb_handle_events_timeout_completed`, on the thread running the event loop.
extern "system" fn on_complete(transfer: *mut ffi::libusb_transfer) {
    // SAFETY: libusb passes back the transfer we submitted; its `user_data` was set to the
    // address of the `AtomicBool` boxed in the owning `Transfer`, which stays alive while the
    // transfer is in flight (see `Drop`).
    unsafe {
        let flag = (*transfer).user_data as *const AtomicBool;
        if let Some(flag) = flag.as_ref() {
            flag.store(true, Ordering::Release);
        }
    }
}

impl<'h> Transfer<'h> {
    fn new(
        handle: &'h DeviceHandle<Context>,
        kind: Kind,
        endpoint: u8,
        buffer: Box<[u8]>,
        timeout: Duration,
        purpose: &'static str,
    ) -> Result<Self> {
        let length = i32::try_from(buffer.len()).map_err(|_| {
            Error::Protocol(format!("transfer of {} bytes is too long", buffer.len()))
        })?;
        // SAFETY: allocating a transfer without isochronous packets has no preconditions.
        let raw = NonNull::new(unsafe { ffi::libusb_alloc_transfer(0) })
            .ok_or(Error::Usb { during: purpose, source: rusb::Error::NoMem })?;
        let mut transfer = Transfer {
            handle,
            raw,
            buffer,
            completed: Box::new(AtomicBool::new(false)),
            in_flight: false,
            kind,
            purpose,
        };
        let transfer_type = match kind {
            Kind::Control => rusb::constants::LIBUSB_TRANSFER_TYPE_CONTROL,
            Kind::Bulk => rusb::constants::LIBUSB_TRANSFER_TYPE_BULK,
            Kind::Interrupt => rusb::constants::LIBUSB_TRANSFER_TYPE_INTERRUPT,
        };
        // SAFETY: `raw` was just allocated and is not in flight; the buffer and the flag are
        // heap allocations owned by `transfer`, so the pointers stay valid as long as it lives.
        unsafe {
            let t = transfer.raw.as_ptr();
            (*t).dev_handle = handle.as_raw();
            (*t).flags = 0;
            (*t).endpoint = endpoint;
            (*t).transfer_type = transfer_type;
            // libusb's timeout is in milliseconds; 0 means none (an always-pending read).
            (*t).timeout = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
            (*t).length = length;
            (*t).callback = on_complete;
            (*t).user_data = &*transfer.completed as *const AtomicBool as *mut libc::c_void;
            (*t).buffer = transfer.buffer.as_mut_ptr();
        }
        Ok(transfer)
    }

    /// A vendor control transfer. `data` is the OUT payload, or `in_len` bytes are read.
    #[allow(clippy::too_many_arguments)]
    fn control(
        handle: &'h DeviceHandle<Context>,
        request_type: u8,
        request: u8,
        value: u16,
        index: u16,
        data: &[u8],
        in_len: u16,
        timeout: Duration,
        purpose: &'static str,
    ) -> Result<Self> {
        let payload_len = if request_type & rusb::constants::LIBUSB_ENDPOINT_IN != 0 {
            in_len as usize
        } else {
            data.len()
        };
        let w_length = u16::try_from(payload_len)
            .map_err(|_| Error::Protocol(format!("control payload of {payload_len} bytes")))?;
        let mut buffer = vec![0u8; SETUP_LEN + payload_len].into_boxed_slice();
        buffer[0] = request_type;
        buffer[1] = request;
        buffer[2..4].copy_from_slice(&value.to_le_bytes());
        buffer[4..6].copy_from_slice(&index.to_le_bytes());
        buffer[6..8].copy_from_slice(&w_length.to_le_bytes());
        if request_type & rusb::constants::LIBUSB_ENDPOINT_IN == 0 {
            buffer[SETUP_LEN..].copy_from_slice(data);
        }
        Self::new(handle, Kind::Control, 0, buffer, timeout, purpose)
    }

    /// A vendor control read of `len` bytes (`bmRequestType` 0xc0).
    pub(crate) fn vendor_read(
        handle: &'h DeviceHandle<Context>,
        request: u8,
        value: u16,
        len: u16,
        timeout: Duration,
        purpose: &'static str,
    ) -> Result<Self> {
        let request_type = rusb::request_type(
            rusb::Direction::In,
            rusb::RequestType::Vendor,
            rusb::Recipient::Device,
        );
        Self::control(handle, request_type, request, value, 0, &[], len, timeout, purpose)
    }

    /// A vendor control write of `data` (`bmRequestType` 0x40).
    pub(crate) fn vendor_write(
        handle: &'h DeviceHandle<Context>,
        request: u8,
        value: u16,
        data: &[u8],
        timeout: Duration,
        purpose: &'static str,
    ) -> Result<Self> {
        let request_type = rusb::request_type(
            rusb::Direction::Out,
            rusb::RequestType::Vendor,
            rusb::Recipient::Device,
        );
        Self::control(handle, request_type, request, value, 0, data, 0, timeout, purpose)
    }

    /// A bulk read of up to `len` bytes from `endpoint`.
    pub(crate) fn bulk_read(
        handle: &'h DeviceHandle<Context>,
        endpoint: u8,
        len: usize,
        timeout: Duration,
        purpose: &'static str,
    ) -> Result<Self> {
        Self::new(handle, Kind::Bulk, endpoint, vec![0; len].into_boxed_slice(), timeout, purpose)
    }

    /// A bulk write of `data` to `endpoint`.
    pub(crate) fn bulk_write(
        handle: &'h DeviceHandle<Context>,
        endpoint: u8,
        data: &[u8],
        timeout: Duration,
        purpose: &'static str,
    ) -> Result<Self> {
        Self::new(handle, Kind::Bulk, endpoint, data.into(), timeout, purpose)
    }

    /// An interrupt read of `len` bytes from `endpoint`.
    pub(crate) fn interrupt_read(
        handle: &'h DeviceHandle<Context>,
        endpoint: u8,
        len: usize,
        timeout: Duration,
        purpose: &'static str,
    ) -> Result<Self> {
        let buffer = vec![0; len].into_boxed_slice();
        Self::new(handle, Kind::Interrupt, endpoint, buffer, timeout, purpose)
    }

    /// Hands the transfer to libusb. It completes while an [`EventLoop`] runs.
    pub(crate) fn submit(&mut self) -> Result<()> {
        if self.in_flight {
            return Err(Error::Protocol(format!("{} submitted twice", self.purpose)));
        }
        self.completed.store(false, Ordering::Release);
        // SAFETY: the transfer is fully initialised (see `new`) and not in flight; its buffer
        // and completion flag live as long as `self`, and `Drop` never frees it in flight.
        let rc = unsafe { ffi::libusb_submit_transfer(self.raw.as_ptr()) };
        if rc != 0 {
            return Err(Error::usb(self.purpose, libusb_error(rc)));
        }
        self.in_flight = true;
        Ok(())
    }

    /// Whether libusb has completed the transfer (successfully or not) since its submission.
    pub(crate) fn is_complete(&mut self) -> bool {
        if self.in_flight && self.completed.load(Ordering::Acquire) {
            self.in_flight = false;
        }
        !self.in_flight
    }

    /// Asks libusb to cancel the transfer; it completes (as cancelled) during a later event loop.
    pub(crate) fn cancel(&mut self) {
        if self.in_flight && !self.completed.load(Ordering::Acquire) {
            // SAFETY: the transfer is in flight, so it was submitted and is still allocated.
            // Cancelling an already finishing transfer returns an error we can ignore.
            unsafe {
                ffi::libusb_cancel_transfer(self.raw.as_ptr());
            }
        }
    }

    /// The result of a completed transfer: the bytes received or sent, or the typed failure.
    pub(crate) fn outcome(&mut self) -> Result<&[u8]> {
        if !self.is_complete() {
            return Err(Error::Protocol(format!("{} is still in flight", self.purpose)));
        }
        // SAFETY: the transfer is not in flight, so libusb no longer writes to it.
        let (status, actual) = unsafe {
            let t = self.raw.as_ptr();
            ((*t).status, (*t).actual_length)
        };
        let actual = usize::try_from(actual).unwrap_or(0);
        match status {
            ffi::constants::LIBUSB_TRANSFER_COMPLETED => {
                let start = if self.kind == Kind::Control { SETUP_LEN } else { 0 };
                let end = start.saturating_add(actual).min(self.buffer.len());
                Ok(self.buffer.get(start..end).unwrap_or(&[]))
            }
            ffi::constants::LIBUSB_TRANSFER_TIMED_OUT => Err(Error::Timeout {
                waiting_for: self.purpose,
                // SAFETY: not in flight (see above).
                after: Duration::from_millis(unsafe { (*self.raw.as_ptr()).timeout }.into()),
            }),
            ffi::constants::LIBUSB_TRANSFER_CANCELLED => Err(Error::Cancelled),
            ffi::constants::LIBUSB_TRANSFER_NO_DEVICE => {
                Err(Error::Disconnected { during: self.purpose })
            }
            ffi::constants::LIBUSB_TRANSFER_STALL => {
                Err(Error::Usb { during: self.purpose, source: rusb::Error::Pipe })
            }
            ffi::constants::LIBUSB_TRANSFER_OVERFLOW => {
                Err(Error::Usb { during: self.purpose, source: rusb::Error::Overflow })
            }
            _ => Err(Error::Usb { during: self.purpose, source: rusb::Error::Io }),
        }
    }
}

impl Drop for Transfer<'_> {
    fn drop(&mut self) {
        if !self.is_complete() {
            self.cancel();
            let events = EventLoop::new(self.handle.context());
            let deadline = Instant::now() + Duration::from_millis(CLEANUP_STEP_TIMEOUT_MS);
            while !self.is_complete() && Instant::now() < deadline {
                if events.pump(Duration::from_millis(EVENT_LOOP_TICK_MS)).is_err() {
                    break;
                }
            }
        }
        if self.is_complete() {
            // SAFETY: the transfer is not in flight, so libusb holds no reference to it; the
            // buffer it points to is freed after it (field drop order), not before.
            unsafe { ffi::libusb_free_transfer(self.raw.as_ptr()) };
        } else {
            // libusb still owns the transfer: leak it, its buffer and its flag rather than free
            // memory that libusb may still write to.
            let buffer = std::mem::take(&mut self.buffer);
            std::mem::forget(buffer);
            let flag = std::mem::replace(&mut self.completed, Box::new(AtomicBool::new(true)));
            std::mem::forget(flag);
        }
    }
}

/// Runs libusb's event handling for one context: completes transfers and runs their callbacks.
#[derive(Debug)]
pub(crate) struct EventLoop<'c> {
    context: &'c Context,
}

impl<'c> EventLoop<'c> {
    pub(crate) fn new(context: &'c Context) -> Self {
        EventLoop { context }
    }

    /// Handles pending events, waiting at most `max_wait` for one.
    pub(crate) fn pump(&self, max_wait: Duration) -> Result<()> {
        let tv = libc::timeval {
            tv_sec: max_wait.as_secs() as libc::time_t,
            tv_usec: max_wait.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: the context is alive (borrowed), `tv` is a valid timeval, and a null
        // `completed` pointer is allowed.
        let rc = unsafe {
            ffi::libusb_handle_events_timeout_completed(
                self.context.as_raw(),
                &tv,
                std::ptr::null_mut(),
            )
        };
        match rc {
            0 => Ok(()),
            rc if rc == ffi::constants::LIBUSB_ERROR_INTERRUPTED => Ok(()),
            rc => Err(Error::usb("USB event handling", libusb_error(rc))),
        }
    }

    /// Runs the event loop until `ready` returns `true` (then `Ok(true)`), the deadline passes
    /// (`Ok(false)`), or `cancel` is triggered (`Err(Cancelled)`). `ready` is called before
    /// every wait, so it also serves as the place to react to completed transfers.
    pub(crate) fn wait_until(
        &self,
        deadline: Instant,
        cancel: &CancelToken,
        mut ready: impl FnMut() -> Result<bool>,
    ) -> Result<bool> {
        let tick = Duration::from_millis(EVENT_LOOP_TICK_MS);
        loop {
            if ready()? {
                return Ok(true);
            }
            cancel.check()?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            self.pump(tick.min(deadline - now))?;
        }
    }
}

/// The rusb error for a libusb error code.
fn libusb_error(code: i32) -> rusb::Error {
    use ffi::constants::*;
    match code {
        LIBUSB_ERROR_IO => rusb::Error::Io,
        LIBUSB_ERROR_INVALID_PARAM => rusb::Error::InvalidParam,
        LIBUSB_ERROR_ACCESS => rusb::Error::Access,
        LIBUSB_ERROR_NO_DEVICE => rusb::Error::NoDevice,
        LIBUSB_ERROR_NOT_FOUND => rusb::Error::NotFound,
        LIBUSB_ERROR_BUSY => rusb::Error::Busy,
        LIBUSB_ERROR_TIMEOUT => rusb::Error::Timeout,
        LIBUSB_ERROR_OVERFLOW => rusb::Error::Overflow,
        LIBUSB_ERROR_PIPE => rusb::Error::Pipe,
        LIBUSB_ERROR_INTERRUPTED => rusb::Error::Interrupted,
        LIBUSB_ERROR_NO_MEM => rusb::Error::NoMem,
        LIBUSB_ERROR_NOT_SUPPORTED => rusb::Error::NotSupported,
        _ => rusb::Error::Other,
    }
}

//! Fingerprint readers: open by spec, capture with timeout, cancel from another thread.

use std::ffi::c_char;
use std::sync::Mutex;
use std::time::Duration;

use ridgeline_sensor::{
    open_reader, CancelToken, Error as SensorError, OpenOptions, Reader, ReaderSpec,
};

use crate::guard::{self, c_str, out_ptr};
use crate::registry::READERS;
use crate::status::*;

/// An open fingerprint reader (opaque). Open with `rl_reader_open`, release with
/// `rl_reader_close`.
#[derive(Debug)]
pub struct rl_reader {
    reader: Mutex<Box<dyn Reader>>,
    /// The token of the capture in progress, so that another thread can cancel it.
    current_cancel: Mutex<CancelToken>,
}

impl From<SensorError> for FfiError {
    fn from(error: SensorError) -> Self {
        let status = match &error {
            SensorError::NoReader { .. } | SensorError::Disconnected { .. } => RL_ERR_NO_DEVICE,
            SensorError::VirtualFolder { .. } => RL_ERR_NO_DEVICE,
            SensorError::InvalidSpec { .. } => RL_ERR_INVALID_ARGUMENT,
            SensorError::PermissionDenied { .. } => RL_ERR_PERMISSION_DENIED,
            SensorError::Busy => RL_ERR_BUSY,
            SensorError::Timeout { .. } => RL_ERR_TIMEOUT,
            SensorError::Cancelled => RL_ERR_CANCELLED,
            SensorError::Image(inner) => {
                return FfiError::new(FfiError::from_core_status(inner), error.to_string())
            }
            _ => RL_ERR_IO,
        };
        FfiError::new(status, error.to_string())
    }
}

fn reader_ref<'a>(r: *const rl_reader) -> Result<&'a rl_reader, FfiError> {
    if r.is_null() {
        return Err(FfiError::invalid("r is NULL"));
    }
    if !READERS.contains(r as usize) {
        return Err(FfiError::invalid("r is not a live rl_reader handle"));
    }
    // SAFETY: created by Box::into_raw in rl_reader_open and not yet closed.
    Ok(unsafe { &*r })
}

/// Opens a reader: `"auto"` or `"usb"` (the first supported USB reader), `"usb:VID:PID"`
/// (hexadecimal ids), or `"virtual:DIR"` (cycles through the images of a folder).
/// `RL_ERR_NO_DEVICE` when none is attached; `RL_ERR_PERMISSION_DENIED` when the device node
/// is not accessible (the message names the udev rule to install).
///
/// Thread safety: safe from any thread.
#[no_mangle]
pub extern "C" fn rl_reader_open(spec: *const c_char, out: *mut *mut rl_reader) -> rl_status {
    guard::run(|| {
        let out = out_ptr(out, "out")?;
        let spec: ReaderSpec = c_str(spec, "spec")?.parse()?;
        let reader = open_reader(&spec, &OpenOptions::default())?;
        let handle = Box::into_raw(Box::new(rl_reader {
            reader: Mutex::new(reader),
            current_cancel: Mutex::new(CancelToken::new()),
        }));
        READERS.insert(handle as usize);
        *out = handle;
        Ok(())
    })
}

/// Captures one image: waits up to `timeout_ms` for a finger, reads the image, waits for the
/// finger to be lifted. On success `*pixels` receives `*width * *height` bytes of 8-bit
/// grayscale (release with `rl_buffer_free(*pixels, *width * *height)`), and `*dpi` the
/// resolution. `RL_ERR_TIMEOUT` when no finger came; `RL_ERR_CANCELLED` after
/// `rl_reader_cancel`; `RL_ERR_NO_DEVICE` when the reader was unplugged.
///
/// Thread safety: one capture per reader at a time (a second concurrent call waits).
#[no_mangle]
pub extern "C" fn rl_reader_capture(
    r: *mut rl_reader,
    timeout_ms: u32,
    pixels: *mut *mut u8,
    width: *mut u32,
    height: *mut u32,
    dpi: *mut u32,
) -> rl_status {
    guard::run(|| {
        let r = reader_ref(r)?;
        let pixels = out_ptr(pixels, "pixels")?;
        let width = out_ptr(width, "width")?;
        let height = out_ptr(height, "height")?;
        let dpi = out_ptr(dpi, "dpi")?;
        if timeout_ms == 0 {
            return Err(FfiError::invalid("timeout_ms is 0"));
        }
        let mut reader = r.reader.lock().unwrap_or_else(|e| e.into_inner());
        let token = CancelToken::new();
        *r.current_cancel.lock().unwrap_or_else(|e| e.into_inner()) = token.clone();
        let image = reader.capture(Duration::from_millis(timeout_ms as u64), &token)?;
        *width = image.width();
        *height = image.height();
        *dpi = image.dpi();
        (*pixels, _) = guard::give_bytes(image.into_pixels());
        Ok(())
    })
}

/// Cancels the capture in progress on `r` (it returns `RL_ERR_CANCELLED` promptly). A no-op
/// when no capture is running.
///
/// Thread safety: meant to be called from another thread than the one capturing.
#[no_mangle]
pub extern "C" fn rl_reader_cancel(r: *mut rl_reader) -> rl_status {
    guard::run(|| {
        let r = reader_ref(r)?;
        r.current_cancel.lock().unwrap_or_else(|e| e.into_inner()).cancel();
        Ok(())
    })
}

/// Closes a reader. NULL and handles that are not live are ignored.
///
/// Thread safety: do not close a reader while another thread captures from it.
#[no_mangle]
pub extern "C" fn rl_reader_close(r: *mut rl_reader) {
    guard::run_void(|| {
        if r.is_null() {
            return Ok(());
        }
        if !READERS.remove(r as usize) {
            return Err(FfiError::invalid("rl_reader_close: not a live reader (closed twice?)"));
        }
        // SAFETY: created by Box::into_raw in rl_reader_open, live until this call.
        drop(unsafe { Box::from_raw(r) });
        Ok(())
    })
}

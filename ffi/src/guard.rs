//! The wrapper every entry point runs in: panics caught, errors recorded for
//! `rl_last_error_message`, status returned.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::status::{rl_status, FfiError, RL_ERR_INTERNAL, RL_OK};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Runs `body`, turning its error or panic into a status and a thread-local message.
pub(crate) fn run(body: impl FnOnce() -> Result<(), FfiError>) -> rl_status {
    // AssertUnwindSafe: on a panic we only report it; no state observed by the closure is
    // used afterwards except through handles whose contents stay valid (we never leave a
    // handle half-updated: updates are done on locals and moved in at the end).
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last_error("");
            RL_OK
        }
        Ok(Err(error)) => {
            set_last_error(&error.message);
            error.status
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal error (caught panic): {what}"));
            RL_ERR_INTERNAL
        }
    }
}

/// Runs a function that returns nothing to C (the `_free` family); panics are swallowed.
pub(crate) fn run_void(body: impl FnOnce() -> Result<(), FfiError>) {
    let _status = run(body);
}

pub(crate) fn set_last_error(message: &str) {
    // Interior NULs would truncate the C string; replace them rather than lose the message.
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
}

pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

/// Checks an output pointer for null.
pub(crate) fn out_ptr<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, FfiError> {
    // SAFETY: the caller promises that a non-null pointer points to writable storage for a T,
    // as the header documents for every output parameter.
    unsafe { ptr.as_mut() }.ok_or_else(|| FfiError::invalid(format!("{name} is NULL")))
}

/// Reads a NUL-terminated UTF-8 string argument.
pub(crate) fn c_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-null, and the caller promises a NUL-terminated string (documented).
    let text = unsafe { std::ffi::CStr::from_ptr(ptr) };
    text.to_str().map_err(|_| FfiError::invalid(format!("{name} is not valid UTF-8")))
}

/// Borrows a caller-provided byte buffer with an explicit length.
pub(crate) fn byte_slice<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], FfiError> {
    if ptr.is_null() {
        return Err(FfiError::invalid(format!("{name} is NULL")));
    }
    if len > isize::MAX as usize {
        return Err(FfiError::invalid(format!("{name} length {len} is too large")));
    }
    // SAFETY: non-null, length bounded, and the caller promises `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Hands a Rust byte vector to C; released with `rl_buffer_free(ptr, len)`.
pub(crate) fn give_bytes(bytes: Vec<u8>) -> (*mut u8, usize) {
    let boxed = bytes.into_boxed_slice();
    let len = boxed.len();
    let ptr = Box::into_raw(boxed).cast::<u8>();
    crate::registry::BUFFERS.insert_sized(ptr as usize, len);
    (ptr, len)
}

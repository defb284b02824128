//! Fingerprint readers: USB drivers over libusb and a virtual reader backed by image files.
//!
//! A [`Reader`] captures one [`FingerImage`] at a time: it waits for a finger, reads the image,
//! and waits for the finger to be lifted, within a timeout and cancellable from another thread
//! through a [`CancelToken`]. [`list_readers`] enumerates the attached supported readers by USB
//! id and [`open_reader`] opens one from a [`ReaderSpec`] (`auto`, `usb`, `usb:VID:PID`,
//! `virtual:DIR`).
//!
//! A key design decision made in this crate is that the USB drivers use libusb's asynchronous
//! transfer API (wrapped in [`usb::transfer`]) rather than rusb's synchronous calls: the
//! U.are.U readers need an interrupt read pending for the whole session and the image read
//! submitted *before* the register write that starts the capture, which blocking calls cannot
//! express. The same event loop gives every wait a deadline and a cancellation check, so that
//! nothing hangs past its timeout.
//!
//! This is the only crate of the workspace that links libusb.

pub mod error;
mod open;
pub mod params;
pub mod reader;
pub mod usb;
pub mod virtual_reader;

pub use error::{Error, Result, UDEV_RULE};
pub use open::open_reader;
pub use reader::{CancelToken, Connection, OpenOptions, Reader, ReaderInfo, ReaderSpec};
pub use ridgeline::FingerImage;
pub use usb::list_readers;

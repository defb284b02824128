//! The one error type of the sensor crate.
//!
//! Every failure a clerk at the reader can meet has its own variant, carrying what is needed to
//! act on it: which reader, which stage timed out, which status byte the device reported. The
//! enum is `#[non_exhaustive]` so that new failure modes are not a breaking change.

use std::path::PathBuf;
use std::time::Duration;

/// Result alias used throughout the sensor crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The udev rule that gives the logged-in user access to the supported readers.
///
/// Install it as `/etc/udev/rules.d/70-ridgeline.rules`, then run
/// `sudo udevadm control --reload && sudo udevadm trigger` and re-plug the reader.
pub const UDEV_RULE: &str = concat!(
    "SUBSYSTEM==\"usb\", ATTRS{idVendor}==\"05ba\", ATTRS{idProduct}==\"0007|0008|000a\", MODE=\"0660\", TAG+=\"uaccess\"\n",
    "SUBSYSTEM==\"usb\", ATTRS{idVendor}==\"045e\", ATTRS{idProduct}==\"00ca\", MODE=\"0660\", TAG+=\"uaccess\"\n",
    "SUBSYSTEM==\"usb\", ATTRS{idVendor}==\"08ff\", ATTRS{idProduct}==\"5731\", MODE=\"0660\", TAG+=\"uaccess\""
);

/// Everything that can go wrong while finding, opening or reading a fingerprint reader.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No supported reader is attached (or none matches the requested USB id).
    #[error("no supported fingerprint reader found{}", match .wanted { Some(w) => format!(" matching {w}"), None => String::new() })]
    NoReader {
        /// The USB id asked for, as `VID:PID`, if any.
        wanted: Option<String>,
    },

    /// The reader spec given by the user (`--reader`) is not one we understand.
    #[error(
        "invalid reader spec {spec:?}: {reason} (expected auto, usb, usb:VID:PID or virtual:DIR)"
    )]
    InvalidSpec {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The operating system refused to open the device node.
    #[error(
        "permission denied opening the reader {vendor_id:04x}:{product_id:04x} (bus {bus}, address {address}); \
         install this udev rule as /etc/udev/rules.d/70-ridgeline.rules, run \
         `sudo udevadm control --reload && sudo udevadm trigger` and re-plug the reader:\n{rule}",
        rule = UDEV_RULE
    )]
    PermissionDenied {
        /// USB vendor id.
        vendor_id: u16,
        /// USB product id.
        product_id: u16,
        /// USB bus number.
        bus: u8,
        /// Device address on the bus.
        address: u8,
    },

    /// The reader is claimed by another program.
    #[error("the reader is in use by another program")]
    Busy,

    /// The reader went away (unplugged) while we were talking to it.
    #[error("the reader was unplugged during {during}")]
    Disconnected {
        /// What we were doing.
        during: &'static str,
    },

    /// Nothing happened within the allowed time.
    #[error("timed out after {:.1} s waiting for {waiting_for}", after.as_secs_f64())]
    Timeout {
        /// What we were waiting for (`"a finger"`, `"the image"`, ...).
        waiting_for: &'static str,
        /// How long we waited.
        after: Duration,
    },

    /// The device reports a state we cannot recover from (after one documented power-up retry).
    #[error("the reader is in a bad state ({detail}); unplug it and plug it in again")]
    BadState {
        /// What the device reported.
        detail: String,
    },

    /// The capture was cancelled through its [`CancelToken`](crate::CancelToken).
    #[error("capture cancelled")]
    Cancelled,

    /// The device answered with data that does not follow its protocol.
    #[error("protocol error: {0}")]
    Protocol(String),

    /// Any other libusb failure.
    #[error("USB error during {during}: {source}")]
    Usb {
        /// What we were doing.
        during: &'static str,
        /// The libusb error.
        #[source]
        source: rusb::Error,
    },

    /// The virtual reader's folder cannot be used.
    #[error("virtual reader folder {path}: {reason}")]
    VirtualFolder {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// An image could not be built or read.
    #[error("image error: {0}")]
    Image(#[from] ridgeline::Error),
}

impl Error {
    /// Maps a libusb error met while doing `during` to the most specific variant.
    pub(crate) fn usb(during: &'static str, source: rusb::Error) -> Self {
        match source {
            rusb::Error::NoDevice => Error::Disconnected { during },
            rusb::Error::Busy => Error::Busy,
            other => Error::Usb { during, source: other },
        }
    }
}

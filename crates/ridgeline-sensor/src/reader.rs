//! The [`Reader`] trait and reader specs.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ridgeline::FingerImage;

use crate::error::{Error, Result};

/// A fingerprint reader that captures one image at a time.
pub trait Reader: Send + std::fmt::Debug {
    /// What the reader is and where it is attached.
    fn info(&self) -> &ReaderInfo;

    /// Captures one image: waits up to `timeout` for a finger, reads the image, then waits up to
    /// `timeout` for the finger to be lifted.
    ///
    /// Returns [`Error::Timeout`] when no finger comes, [`Error::Cancelled`] as soon as `cancel`
    /// is triggered (from any thread), [`Error::Disconnected`] when the reader is unplugged.
    /// A finger still resting on the reader after the image was read is not an error: the image
    /// is returned and the reader switched off.
    fn capture(&mut self, timeout: Duration, cancel: &CancelToken) -> Result<FingerImage>;
}

/// A handle that cancels a running capture from another thread.
///
/// Clone it, hand the clone to the thread that may cancel, and pass the original to
/// [`Reader::capture`]. A cancelled token stays cancelled; use a fresh one per capture.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every capture watching this token; they return [`Error::Cancelled`] promptly.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CancelToken::cancel`] has been called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Cancelled)` once cancelled.
    pub(crate) fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Where a reader is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    /// A USB device.
    Usb {
        /// USB vendor id.
        vendor_id: u16,
        /// USB product id.
        product_id: u16,
        /// Bus number.
        bus: u8,
        /// Device address on the bus.
        address: u8,
    },
    /// A folder of images.
    Virtual {
        /// The folder.
        dir: PathBuf,
    },
}

/// What a reader is: driver, model, image geometry and resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    /// Short driver name (`uru4000`, `aes3500`, `virtual`).
    pub driver: &'static str,
    /// Model name.
    pub model: String,
    /// Where it is attached.
    pub connection: Connection,
    /// Width of the images it returns, in pixels (0 where it varies).
    pub width: u32,
    /// Height of the images it returns, in pixels (0 where it varies).
    pub height: u32,
    /// Resolution of the images it returns, in dots per inch (0 where it varies).
    pub dpi: u32,
    /// Firmware/hardware version, once the reader has reported it (after a capture).
    pub firmware: Option<String>,
}

/// Which reader to open, as given on the command line (`--reader`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderSpec {
    /// The first attached supported USB reader (`auto`).
    Auto,
    /// The first attached supported USB reader (`usb`).
    Usb,
    /// The first attached reader with this USB id (`usb:VID:PID`, hexadecimal).
    UsbId {
        /// USB vendor id.
        vendor_id: u16,
        /// USB product id.
        product_id: u16,
    },
    /// A virtual reader cycling through the images of a folder (`virtual:DIR`).
    Virtual(PathBuf),
}

impl FromStr for ReaderSpec {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self> {
        let invalid =
            |reason: &str| Error::InvalidSpec { spec: spec.into(), reason: reason.into() };
        match spec {
            "auto" => return Ok(ReaderSpec::Auto),
            "usb" => return Ok(ReaderSpec::Usb),
            _ => {}
        }
        if let Some(dir) = spec.strip_prefix("virtual:") {
            if dir.is_empty() {
                return Err(invalid("the folder is missing"));
            }
            return Ok(ReaderSpec::Virtual(PathBuf::from(dir)));
        }
        if let Some(id) = spec.strip_prefix("usb:") {
            let (vendor, product) =
                id.split_once(':').ok_or_else(|| invalid("a USB id is written VID:PID"))?;
            let parse = |hex: &str| {
                let hex = hex.trim_start_matches("0x");
                if hex.is_empty() || hex.len() > 4 {
                    return Err(invalid("USB ids are 1 to 4 hexadecimal digits"));
                }
                u16::from_str_radix(hex, 16).map_err(|_| invalid("USB ids are hexadecimal"))
            };
            return Ok(ReaderSpec::UsbId {
                vendor_id: parse(vendor)?,
                product_id: parse(product)?,
            });
        }
        Err(invalid("unknown kind of reader"))
    }
}

/// Options for opening a reader.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The seed of the U.are.U image scrambling key exchange. `None` draws a fresh random seed
    /// for every key exchange (what real use wants); a fixed value makes a recorded session
    /// replay, since the seed is sent to the device.
    pub scramble_seed: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_spec() {
        assert_eq!("auto".parse::<ReaderSpec>().ok(), Some(ReaderSpec::Auto));
        assert_eq!("usb".parse::<ReaderSpec>().ok(), Some(ReaderSpec::Usb));
        assert_eq!(
            "usb:05ba:000a".parse::<ReaderSpec>().ok(),
            Some(ReaderSpec::UsbId { vendor_id: 0x05ba, product_id: 0x000a })
        );
        assert_eq!(
            "usb:0x8ff:5731".parse::<ReaderSpec>().ok(),
            Some(ReaderSpec::UsbId { vendor_id: 0x08ff, product_id: 0x5731 })
        );
        assert_eq!(
            "virtual:/tmp/x".parse::<ReaderSpec>().ok(),
            Some(ReaderSpec::Virtual(PathBuf::from("/tmp/x")))
        );
    }

    #[test]
    fn refuses_bad_specs_with_a_reason() {
        for bad in ["", "usb:", "usb:05ba", "usb:zz:0001", "usb:12345:1", "virtual:", "serial"] {
            let err = bad.parse::<ReaderSpec>().expect_err("must fail");
            assert!(matches!(err, Error::InvalidSpec { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn cancel_token_is_shared_between_clones() {
        let token = CancelToken::new();
        let other = token.clone();
        assert!(token.check().is_ok());
        std::thread::spawn(move || other.cancel()).join().ok();
        assert!(matches!(token.check(), Err(Error::Cancelled)));
    }
}

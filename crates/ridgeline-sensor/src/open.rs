//! From a reader spec to an open reader: the one place that knows every driver.

use crate::error::Result;
use crate::reader::{OpenOptions, Reader, ReaderSpec};
use crate::{usb, virtual_reader};

/// Opens the reader named by `spec`.
pub fn open_reader(spec: &ReaderSpec, options: &OpenOptions) -> Result<Box<dyn Reader>> {
    match spec {
        ReaderSpec::Auto | ReaderSpec::Usb => usb::open(None, options),
        ReaderSpec::UsbId { vendor_id, product_id } => {
            usb::open(Some((*vendor_id, *product_id)), options)
        }
        ReaderSpec::Virtual(dir) => Ok(Box::new(virtual_reader::VirtualReader::open(dir)?)),
    }
}

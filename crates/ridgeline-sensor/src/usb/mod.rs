//! USB readers: the table of supported models, enumeration, and opening.
//!
//! Enumeration reads only what libusb caches from sysfs (device descriptors, bus and address):
//! it sends nothing to the devices, so listing readers never disturbs a capture in progress and
//! works without permission to open them.

pub mod aes3500;
pub(crate) mod transfer;
pub mod uru4000;

use rusb::{Context, Device, UsbContext};

use crate::error::{Error, Result};
use crate::reader::{Connection, OpenOptions, Reader, ReaderInfo};

/// The driver that handles a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// DigitalPersona U.are.U 4000/4000B/4500 family and its Microsoft relatives ([`uru4000`]).
    Uru4000(uru4000::Profile),
    /// AuthenTec AES3500 ([`aes3500`]).
    Aes3500,
}

/// A supported reader model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    /// USB vendor id.
    pub vendor_id: u16,
    /// USB product id.
    pub product_id: u16,
    /// Model name.
    pub name: &'static str,
    /// The driver that handles it.
    pub driver: Driver,
}

/// Every supported model, by USB id.
pub const MODELS: &[Model] = &[
    Model {
        vendor_id: 0x05ba,
        product_id: 0x000a,
        name: "DigitalPersona U.are.U 4000B/4500",
        driver: Driver::Uru4000(uru4000::Profile { rotated: true, challenge_response: false }),
    },
    Model {
        vendor_id: 0x05ba,
        product_id: 0x0007,
        name: "DigitalPersona U.are.U 4000",
        driver: Driver::Uru4000(uru4000::Profile { rotated: false, challenge_response: false }),
    },
    Model {
        vendor_id: 0x05ba,
        product_id: 0x0008,
        name: "DigitalPersona U.are.U 4000",
        driver: Driver::Uru4000(uru4000::Profile { rotated: false, challenge_response: false }),
    },
    Model {
        vendor_id: 0x045e,
        product_id: 0x00ca,
        name: "Microsoft Fingerprint Reader v2",
        driver: Driver::Uru4000(uru4000::Profile { rotated: false, challenge_response: true }),
    },
    Model {
        vendor_id: 0x08ff,
        product_id: 0x5731,
        name: "AuthenTec AES3500",
        driver: Driver::Aes3500,
    },
];

/// The supported model with this USB id, if any.
pub fn model(vendor_id: u16, product_id: u16) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.vendor_id == vendor_id && m.product_id == product_id)
}

/// Lists the attached supported readers.
pub fn list_readers() -> Result<Vec<ReaderInfo>> {
    let context = Context::new().map_err(|e| Error::usb("starting libusb", e))?;
    Ok(attached(&context)?.into_iter().map(|(_, model, info)| info_for(model, info)).collect())
}

/// Where a device is attached, as found by enumeration.
#[derive(Debug, Clone, Copy)]
struct Attachment {
    bus: u8,
    address: u8,
}

fn attached(context: &Context) -> Result<Vec<(Device<Context>, &'static Model, Attachment)>> {
    let devices = context.devices().map_err(|e| Error::usb("listing USB devices", e))?;
    let mut found = Vec::new();
    for device in devices.iter() {
        // The descriptor comes from libusb's cache; a device that vanished meanwhile is skipped.
        let Ok(descriptor) = device.device_descriptor() else { continue };
        if let Some(model) = model(descriptor.vendor_id(), descriptor.product_id()) {
            let at = Attachment { bus: device.bus_number(), address: device.address() };
            found.push((device, model, at));
        }
    }
    Ok(found)
}

fn info_for(model: &Model, at: Attachment) -> ReaderInfo {
    let (driver, width, height, dpi) = match model.driver {
        Driver::Uru4000(_) => (
            uru4000::DRIVER_NAME,
            uru4000::IMAGE_WIDTH_PX as u32,
            uru4000::IMAGE_HEIGHT_PX as u32,
            uru4000::DPI,
        ),
        Driver::Aes3500 => (
            aes3500::DRIVER_NAME,
            aes3500::FRAME_SIDE_PX as u32,
            aes3500::FRAME_SIDE_PX as u32,
            aes3500::DPI,
        ),
    };
    ReaderInfo {
        driver,
        model: model.name.to_string(),
        connection: Connection::Usb {
            vendor_id: model.vendor_id,
            product_id: model.product_id,
            bus: at.bus,
            address: at.address,
        },
        width,
        height,
        dpi,
        firmware: None,
    }
}

/// Opens the first attached supported reader, or the first with the USB id `wanted`.
pub(crate) fn open(wanted: Option<(u16, u16)>, options: &OpenOptions) -> Result<Box<dyn Reader>> {
    let context = Context::new().map_err(|e| Error::usb("starting libusb", e))?;
    let candidates = attached(&context)?;
    let chosen = candidates.into_iter().find(|(_, model, _)| match wanted {
        Some((vid, pid)) => model.vendor_id == vid && model.product_id == pid,
        None => true,
    });
    let Some((device, model, at)) = chosen else {
        return Err(Error::NoReader {
            wanted: wanted.map(|(vid, pid)| format!("{vid:04x}:{pid:04x}")),
        });
    };
    let handle = device.open().map_err(|e| match e {
        rusb::Error::Access => Error::PermissionDenied {
            vendor_id: model.vendor_id,
            product_id: model.product_id,
            bus: at.bus,
            address: at.address,
        },
        other => Error::usb("opening the reader", other),
    })?;
    // Both families use interface 0 and have no kernel driver bound to it.
    handle.claim_interface(0).map_err(|e| match e {
        rusb::Error::Access => Error::PermissionDenied {
            vendor_id: model.vendor_id,
            product_id: model.product_id,
            bus: at.bus,
            address: at.address,
        },
        other => Error::usb("claiming the reader's interface", other),
    })?;
    let info = info_for(model, at);
    Ok(match model.driver {
        Driver::Uru4000(profile) => {
            Box::new(uru4000::Uru4000::new(handle, info, profile, options.scramble_seed))
        }
        Driver::Aes3500 => Box::new(aes3500::Aes3500::new(handle, info)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_udev_rule_covers_every_supported_model() {
        for m in MODELS {
            let covered = crate::UDEV_RULE.lines().any(|line| {
                line.contains(&format!("ATTRS{{idVendor}}==\"{:04x}\"", m.vendor_id))
                    && line.contains(&format!("{:04x}", m.product_id))
            });
            assert!(
                covered,
                "{} ({:04x}:{:04x}) is missing from UDEV_RULE",
                m.name, m.vendor_id, m.product_id
            );
        }
    }

    #[test]
    fn usb_ids_are_unique() {
        for (i, a) in MODELS.iter().enumerate() {
            for b in &MODELS[i + 1..] {
                assert!((a.vendor_id, a.product_id) != (b.vendor_id, b.product_id), "{}", a.name);
            }
        }
    }
}

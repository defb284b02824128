//! `ridgeline readers [--json]`: the attached supported fingerprint readers.
//!
//! JSON: `{"readers": [{driver, model, vendor_id, product_id, bus, address, width, height,
//! dpi}]}` with the USB ids as 4-digit hexadecimal strings.

use anyhow::Context;
use ridgeline_sensor::{Connection, ReaderInfo};
use serde::Serialize;

/// Arguments of `ridgeline readers`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct ReaderJson {
    driver: &'static str,
    model: String,
    vendor_id: String,
    product_id: String,
    bus: u8,
    address: u8,
    width: u32,
    height: u32,
    dpi: u32,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let readers = ridgeline_sensor::list_readers().context("cannot list USB devices")?;
    if args.json {
        let list: Vec<ReaderJson> = readers.iter().filter_map(to_json).collect();
        println!("{}", serde_json::json!({ "readers": list }));
        return Ok(());
    }
    if readers.is_empty() {
        println!("no supported fingerprint reader attached");
        println!("(supported: U.are.U 4000/4000B/4500, Microsoft Fingerprint Reader v2, AuthenTec AES3500; see docs/READERS.md)");
    }
    for reader in &readers {
        println!("{}", describe(reader));
    }
    Ok(())
}

fn to_json(info: &ReaderInfo) -> Option<ReaderJson> {
    let Connection::Usb { vendor_id, product_id, bus, address } = info.connection else {
        return None;
    };
    Some(ReaderJson {
        driver: info.driver,
        model: info.model.clone(),
        vendor_id: format!("{vendor_id:04x}"),
        product_id: format!("{product_id:04x}"),
        bus,
        address,
        width: info.width,
        height: info.height,
        dpi: info.dpi,
    })
}

/// One line: `usb:05ba:000a  DigitalPersona U.are.U 4000B/4500  bus 1 address 50  384x290 at 512 dpi`.
pub fn describe(info: &ReaderInfo) -> String {
    let place = match &info.connection {
        Connection::Usb { vendor_id, product_id, bus, address } => {
            format!(
                "usb:{vendor_id:04x}:{product_id:04x}  {}  bus {bus} address {address}",
                info.model
            )
        }
        Connection::Virtual { dir } => format!("virtual:{}  {}", dir.display(), info.model),
    };
    if info.width > 0 {
        format!("{place}  {}x{} at {} dpi", info.width, info.height, info.dpi)
    } else {
        place
    }
}

//! The decoders against the recorded sessions' data, without USB: the U.are.U 4500 image
//! transfer decodes to exactly the recorded `capture.png`, and the AES3500 frame enlarges to
//! the recorded `capture.png` the way libfprint enlarges it.

mod common;

use ridgeline_sensor::usb::{aes3500, uru4000};

#[test]
fn uru4500_transfer_decodes_to_the_recorded_image_pixel_for_pixel() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let packets = common::pcapng_packets(&dir.join("capture.pcapng"));
    let image = packets
        .iter()
        .find(|p| p.event == b'C' && p.transfer_type == 3 && p.endpoint == 0x82)
        .expect("the recording has the image transfer");
    // The key register read: the completion after the submit reading register 0x34.
    let key_submit = packets
        .iter()
        .position(|p| {
            p.event == b'S' && p.transfer_type == 2 && p.setup[..4] == [0xc0, 0x04, 0x34, 0x00]
        })
        .expect("the recording reads the key");
    let key_read = packets[key_submit..]
        .iter()
        .find(|p| p.event == b'C' && p.transfer_type == 2 && p.data.len() == 4)
        .expect("the key read completes");
    let device_key = u32::from_le_bytes(key_read.data[..4].try_into().expect("4 bytes"));

    let mut key_numbers = Vec::new();
    let sensor = uru4000::decode_image(&image.data, |key_number| {
        key_numbers.push(key_number);
        Ok(device_key ^ common::RECORDED_SEED)
    })
    .expect("decodes");
    assert_eq!(key_numbers, [0], "one key exchange, for key number 0");
    let pixels = uru4000::orient(&sensor, true);

    let (w, h, expected) = common::grey_png(&dir.join("capture.png"));
    assert_eq!((w as usize, h as usize), (uru4000::IMAGE_WIDTH_PX, uru4000::IMAGE_HEIGHT_PX));
    let differing = pixels.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} pixels differ from capture.png");
}

/// The key the device sent in a recorded session (the completion after the read of 0x34).
fn recorded_device_key(packets: &[common::UsbPacket]) -> u32 {
    let submit = packets
        .iter()
        .position(|p| {
            p.event == b'S' && p.transfer_type == 2 && p.setup[..4] == [0xc0, 0x04, 0x34, 0x00]
        })
        .expect("the recording reads the key");
    let read = packets[submit..]
        .iter()
        .find(|p| p.event == b'C' && p.transfer_type == 2 && p.data.len() == 4)
        .expect("the key read completes");
    u32::from_le_bytes(read.data[..4].try_into().expect("4 bytes"))
}

#[test]
fn msv2_answers_the_recorded_challenge_and_decodes_to_the_recorded_image() {
    let Some(dir) = common::recording("uru4000-msv2") else { return };
    let packets = common::pcapng_packets(&dir.join("capture.pcapng"));
    // The challenge is read from register 0x2010; the response written to 0x2000.
    let challenge_submit = packets
        .iter()
        .position(|p| p.event == b'S' && p.setup[..4] == [0xc0, 0x04, 0x10, 0x20])
        .expect("the recording has the challenge");
    let challenge = packets[challenge_submit..]
        .iter()
        .find(|p| p.event == b'C' && p.data.len() == 16)
        .expect("the challenge is answered");
    let response = packets
        .iter()
        .find(|p| p.event == b'S' && p.setup[..4] == [0x40, 0x04, 0x00, 0x20])
        .expect("the recording has the response");
    let ours = uru4000::challenge_response(challenge.data[..16].try_into().expect("16 bytes"));
    assert_eq!(ours.as_slice(), &response.data[..16]);

    let image = packets
        .iter()
        .find(|p| p.event == b'C' && p.transfer_type == 3 && p.endpoint == 0x82)
        .expect("the recording has the image transfer");
    let device_key = recorded_device_key(&packets);
    let sensor = uru4000::decode_image(&image.data, |_| Ok(device_key ^ common::RECORDED_SEED))
        .expect("decodes");
    let pixels = uru4000::orient(&sensor, false);
    let (_, _, expected) = common::grey_png(&dir.join("capture.png"));
    let differing = pixels.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} pixels differ from capture.png");
}

#[test]
fn uru4500_transfer_with_a_wrong_key_does_not_decode_to_the_image() {
    let Some(dir) = common::recording("uru4000-4500") else { return };
    let packets = common::pcapng_packets(&dir.join("capture.pcapng"));
    let image = packets
        .iter()
        .find(|p| p.event == b'C' && p.transfer_type == 3 && p.endpoint == 0x82)
        .expect("the recording has the image transfer");
    let sensor = uru4000::decode_image(&image.data, |_| Ok(0x1234_5678)).expect("decodes");
    let pixels = uru4000::orient(&sensor, true);
    let (_, _, expected) = common::grey_png(&dir.join("capture.png"));
    let differing = pixels.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert!(differing > pixels.len() / 4, "only {differing} pixels differ");
}

#[test]
fn aes3500_frame_enlarges_to_the_recorded_image() {
    let Some(dir) = common::recording("aes3500") else { return };
    let data = common::ioctl_bulk_in(&dir.join("capture.ioctl"));
    let raw = aes3500::assemble_frame(&data).expect("assembles");
    let frame = aes3500::orient(&raw);
    let side = aes3500::FRAME_SIDE_PX;
    let (w, h, expected) = common::grey_png(&dir.join("capture.png"));
    assert_eq!((w as usize, h as usize), (2 * side, 2 * side));

    // libfprint's exact convention reproduces every pixel.
    let enlarged = common::libfprint_enlarge(&frame, side);
    let differing = enlarged.iter().zip(&expected).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "{differing} pixels differ from capture.png");

    // A plain bilinear 2× enlargement agrees within one grey level away from the border (where
    // libfprint blends with the transparent outside).
    let plain = common::bilinear_enlarge(&frame, side);
    let big = 2 * side;
    for y in 1..big - 1 {
        for x in 1..big - 1 {
            let (a, b) = (plain[y * big + x] as i32, expected[y * big + x] as i32);
            assert!((a - b).abs() <= 1, "pixel ({x}, {y}): {a} vs {b}");
        }
    }
}

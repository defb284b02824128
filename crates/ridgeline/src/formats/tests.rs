//! Tests of the minutiae codecs against real files written by other implementations.

use std::path::PathBuf;

use serde_json::Value;

use super::*;
use crate::template::{Minutia, MinutiaKind};

use crate::test_support::shared_path as shared;

fn read(path: &PathBuf) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn finger_code(name: &str) -> u8 {
    const NAMES: [&str; 11] = [
        "UNKNOWN",
        "RIGHT_THUMB",
        "RIGHT_INDEX",
        "RIGHT_MIDDLE",
        "RIGHT_RING",
        "RIGHT_LITTLE",
        "LEFT_THUMB",
        "LEFT_INDEX",
        "LEFT_MIDDLE",
        "LEFT_RING",
        "LEFT_LITTLE",
    ];
    NAMES.iter().position(|n| *n == name).unwrap_or_else(|| panic!("finger {name}")) as u8
}

fn scan_code(name: &str) -> u8 {
    const NAMES: [&str; 4] = ["LIVE_PLAIN", "LIVE_ROLLED", "NONLIVE_PLAIN", "NONLIVE_ROLLED"];
    NAMES.iter().position(|n| *n == name).unwrap_or_else(|| panic!("scan type {name}")) as u8
}

fn kind_code(name: &str) -> u8 {
    match name {
        "ENDING" => record::TYPE_ENDING,
        "BIFURCATION" => record::TYPE_BIFURCATION,
        "OTHER" | "EITHER" => record::TYPE_OTHER,
        other => panic!("minutia type {other}"),
    }
}

fn int(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("JSON field {key} in {v}"))
}

/// Checks every field FingerprintIO reports for a view against the decoded view.
fn check_view_against_json(view: &FingerView, fp: &Value, header: Option<&Value>) {
    assert_eq!(view.finger_position, finger_code(fp["position"].as_str().expect("position")));
    assert_eq!(view.view_number as u64, int(fp, "view"));
    assert_eq!(view.impression_type, scan_code(fp["scanType"].as_str().expect("scanType")));
    let dims = header.unwrap_or(fp);
    assert_eq!(view.width as u64, int(dims, "width"));
    assert_eq!(view.height as u64, int(dims, "height"));
    assert_eq!(view.resolution_x as u64, int(dims, "resolutionX"));
    assert_eq!(view.resolution_y as u64, int(dims, "resolutionY"));
    let minutiae = fp["minutiae"].as_array().expect("minutiae");
    assert_eq!(view.minutiae.len(), minutiae.len());
    for (m, j) in view.minutiae.iter().zip(minutiae) {
        assert_eq!(m.kind, kind_code(j["type"].as_str().expect("type")), "{j}");
        assert_eq!(m.x as u64, int(j, "positionX"), "{j}");
        assert_eq!(m.y as u64, int(j, "positionY"), "{j}");
        assert_eq!(m.angle as u64, int(j, "angle"), "{j}");
        assert_eq!(m.quality as u64, int(j, "quality"), "{j}");
    }
    match &fp["counts"] {
        Value::Null => assert!(view.extensions.iter().all(|b| b.ridge_counts().is_none())),
        counts => {
            let decoded = view
                .extensions
                .iter()
                .find_map(ExtensionBlock::ridge_counts)
                .expect("a ridge count block");
            let method = match counts["type"].as_str().expect("type") {
                "NONSPECIFIC" => 0,
                "QUADRANTS" | "FOUR_NEIGHBOR" => 1,
                "OCTANTS" | "EIGHT_NEIGHBOR" => 2,
                other => panic!("count type {other}"),
            };
            assert_eq!(decoded.method, method);
            let edges: Vec<_> = counts["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| RidgeCount {
                    from: int(e, "from") as u8,
                    to: int(e, "to") as u8,
                    count: int(e, "count") as u8,
                })
                .collect();
            assert_eq!(decoded.edges, edges);
        }
    }
    assert!(fp["coredelta"].is_null() == view.extensions.iter().all(|b| b.type_id != 2));
    if let Some(extensions) = fp["extensions"].as_array() {
        let vendor: Vec<_> = view.extensions.iter().filter(|b| b.type_id > 2).collect();
        assert_eq!(vendor.len(), extensions.len());
        for (b, j) in vendor.iter().zip(extensions) {
            assert_eq!(b.type_id as u64, int(j, "type"));
            assert_eq!(base64(&b.data), j["data"].as_str().expect("data"));
        }
    }
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn load_vector(stem: &str) -> Option<(Vec<u8>, Value)> {
    let dat = shared(&format!("format-vectors/fingerprintio/{stem}.dat"))?;
    let json = shared(&format!("format-vectors/fingerprintio/{stem}.json"))?;
    let value = serde_json::from_slice(&read(&json)).expect("JSON");
    Some((read(&dat), value))
}

#[test]
fn iso2005_sample_decodes_to_fingerprintio_fields_and_reencodes_exactly() {
    let Some((bytes, json)) = load_vector("iso19794p2v2005-sample") else { return };
    assert_eq!(detect_format(&bytes).expect("detect"), TemplateFormat::Iso19794_2_2005);
    let record = decode_record(&bytes).expect("decode");
    assert_eq!(record.header.capture_device_id as u64, int(&json, "sensorId"));
    assert_eq!(record.header.certification != 0, json["sensorCertified"].as_bool().expect("b"));
    let fps = json["fingerprints"].as_array().expect("fingerprints");
    assert_eq!(record.views.len(), fps.len());
    for (view, fp) in record.views.iter().zip(fps) {
        check_view_against_json(view, fp, Some(&json));
    }
    assert_eq!(record.encode().expect("encode"), bytes);
}

#[test]
fn ansi2004_sample_decodes_to_fingerprintio_fields_and_reencodes_exactly() {
    let Some((bytes, json)) = load_vector("ansi378v2004-sample") else { return };
    assert_eq!(detect_format(&bytes).expect("detect"), TemplateFormat::Ansi378_2004);
    let record = decode_record(&bytes).expect("decode");
    assert_eq!(record.header.product_owner as u64, int(&json, "vendorId"));
    assert_eq!(record.header.product_type as u64, int(&json, "subformat"));
    assert_eq!(record.header.capture_device_id as u64, int(&json, "sensorId"));
    let fps = json["fingerprints"].as_array().expect("fingerprints");
    assert_eq!(record.views.len(), fps.len());
    for (view, fp) in record.views.iter().zip(fps) {
        check_view_against_json(view, fp, Some(&json));
    }
    // The sample's length field says 340 while the file holds 342 bytes; we write the true
    // length, so the bytes match everywhere else and the record decodes to the same fields.
    assert!(record.warnings.iter().any(|w| w.contains("2 bytes after")), "{:?}", record.warnings);
    let encoded = record.encode().expect("encode");
    assert_eq!(encoded[ANSI_LENGTH_END..], bytes[ANSI_LENGTH_END..]);
    assert_eq!(u16::from_be_bytes([encoded[8], encoded[9]]) as usize, bytes.len());
    let again = decode_record(&encoded).expect("decode again");
    assert_eq!((again.header, again.views), (record.header, record.views));
}

/// End of the ANSI 2004 2-byte length field.
const ANSI_LENGTH_END: usize = 10;

#[test]
fn ansi2009_and_amd1_samples_decode_to_fingerprintio_fields_and_reencode_exactly() {
    for (stem, version) in [("ansi378v2009-sample", b"030\0"), ("ansi378v2009am1-sample", b"035\0")]
    {
        let Some((bytes, json)) = load_vector(stem) else { return };
        assert_eq!(detect_format(&bytes).expect("detect"), TemplateFormat::Ansi378_2009, "{stem}");
        let record = decode_record(&bytes).expect("decode");
        assert_eq!(&record.header.version, version);
        assert_eq!(record.header.product_owner as u64, int(&json, "vendorId"));
        assert_eq!(record.header.product_type as u64, int(&json, "subformat"));
        assert_eq!(record.header.capture_device_id as u64, int(&json, "sensorId"));
        assert_eq!(
            record.header.certification & 0x80 != 0,
            json["sensorCertified"].as_bool().expect("b")
        );
        let fps = json["fingerprints"].as_array().expect("fingerprints");
        assert_eq!(record.views.len(), fps.len());
        for (view, fp) in record.views.iter().zip(fps) {
            check_view_against_json(view, fp, None);
            assert_eq!(view.quality as u64, int(fp, "quality"));
            assert_eq!(view.quality_records[0].vendor as u64, int(fp, "qualityVendorId"));
            assert_eq!(view.quality_records[0].algorithm as u64, int(fp, "qualityAlgorithmId"));
        }
        // The 2009 sample's length field is one short of its 364 bytes; we write the true
        // length, so only that field may differ.
        let encoded = record.encode().expect("encode");
        assert_eq!(encoded.len(), bytes.len());
        assert_eq!(encoded[12..], bytes[12..], "{stem}");
        assert_eq!(u32::from_be_bytes(encoded[8..12].try_into().expect("4")) as usize, bytes.len());
        assert_eq!(record.warnings.is_empty(), encoded == bytes, "{:?}", record.warnings);
    }
}

#[test]
fn iso2011_sample_decodes_to_fingerprintio_fields_and_reencodes_exactly() {
    let Some((bytes, json)) = load_vector("iso19794p2v2011-sample") else { return };
    assert_eq!(detect_format(&bytes).expect("detect"), TemplateFormat::Iso19794_2_2011);
    let record = decode_record(&bytes).expect("decode");
    let fps = json["fingerprints"].as_array().expect("fingerprints");
    assert_eq!(record.views.len(), fps.len());
    for (view, fp) in record.views.iter().zip(fps) {
        check_view_against_json(view, fp, None);
        let capture = view.capture.expect("capture details");
        let dt = &fp["datetime"];
        assert_eq!(
            (
                capture.year,
                capture.month,
                capture.day,
                capture.hour,
                capture.minute,
                capture.second,
                capture.millisecond
            ),
            (
                int(dt, "year") as u16,
                int(dt, "month") as u8,
                int(dt, "day") as u8,
                int(dt, "hour") as u8,
                int(dt, "minute") as u8,
                int(dt, "second") as u8,
                int(dt, "millisecond") as u16
            )
        );
        assert_eq!(fp["sensorType"].as_str(), Some("UNKNOWN"));
        assert_eq!(capture.technology, 0);
        assert_eq!(capture.vendor as u64, int(fp, "sensorVendor"));
        assert_eq!(capture.device_type as u64, int(fp, "sensorId"));
        let qrecords = fp["qrecords"].as_array().expect("qrecords");
        assert_eq!(view.quality_records.len(), qrecords.len());
        for (q, j) in view.quality_records.iter().zip(qrecords) {
            assert_eq!(
                (q.score as u64, q.vendor as u64, q.algorithm as u64),
                (int(j, "quality"), int(j, "vendor"), int(j, "algorithm"))
            );
        }
        assert_eq!(view.certificates.len(), fp["certificates"].as_array().expect("c").len());
        assert_eq!(fp["endingType"].as_str(), Some("VALLEY_SKELETON_BIFURCATION"));
        assert_eq!(view.ending_type, 0);
    }
    assert_eq!(record.encode().expect("encode"), bytes);
}

#[test]
fn every_format_round_trips_a_multi_view_record_with_extensions() {
    let Some((bytes, _)) = load_vector("iso19794p2v2011-sample") else { return };
    let source = decode_record(&bytes).expect("decode");
    for format in [
        TemplateFormat::Iso19794_2_2005,
        TemplateFormat::Iso19794_2_2011,
        TemplateFormat::Ansi378_2004,
        TemplateFormat::Ansi378_2009,
    ] {
        let mut record = source.clone();
        record.format = format;
        record.header = RecordHeader {
            width: 512,
            height: 512,
            resolution_x: 197,
            resolution_y: 197,
            ..RecordHeader::default()
        };
        let encoded = record.encode().expect("encode");
        assert_eq!(detect_format(&encoded).expect("detect"), format);
        let back = decode_record(&encoded).expect("decode");
        assert_eq!(back.views.len(), 2, "{format}");
        for (a, b) in record.views.iter().zip(&back.views) {
            assert_eq!(a.minutiae, b.minutiae, "{format}");
            assert_eq!(a.extensions, b.extensions, "{format}");
            assert_eq!((a.finger_position, a.view_number), (b.finger_position, b.view_number));
        }
    }
}

#[test]
fn decode_template_returns_first_view_in_ridgeline_units() {
    let Some((bytes, json)) = load_vector("iso19794p2v2005-sample") else { return };
    let template = decode_template(&bytes).expect("decode");
    let first = &json["fingerprints"][0];
    assert_eq!((template.width, template.height, template.dpi), (512, 512, 500));
    assert_eq!(template.quality as u64, int(first, "quality"));
    let m = &template.minutiae[0];
    assert_eq!((m.x, m.y, m.kind), (100.0, 14.0, MinutiaKind::Ending));
    // Code 80 of 256 per turn is 112.5 degrees.
    assert!((m.angle.to_degrees() - 112.5).abs() < 1e-3, "{}", m.angle.to_degrees());
}

#[test]
fn secugen_templates_with_understated_image_size_are_read_with_a_warning() {
    let Some(dir) = shared("datasets/fvc2002/DB1_B") else { return };
    let mut warned = 0;
    for finger in 101..=110 {
        for impression in 1..=8 {
            let path = dir.join(format!("{finger}_{impression}.iso"));
            let bytes = read(&path);
            let (template, warnings) =
                decode_template_with_warnings(&bytes).expect("SecuGen template decodes");
            assert_eq!((template.width, template.height, template.dpi), (300, 400, 500));
            assert!(!template.minutiae.is_empty());
            let outside = template.minutiae.iter().any(|m| m.x >= 300.0 || m.y >= 400.0);
            assert_eq!(outside, !warnings.is_empty(), "{}: {warnings:?}", path.display());
            warned += outside as usize;
        }
    }
    eprintln!("{warned} of 80 DB1 templates have minutiae outside the stated size");
}

#[test]
fn sourceafis_templates_decode() {
    for name in ["iso-probe.dat", "iso-matching.dat", "iso-nonmatching.dat"] {
        let Some(path) = shared(&format!("format-vectors/sourceafis/{name}")) else { return };
        let template = decode_template(&read(&path)).expect("decode");
        assert!(template.minutiae.len() > 20, "{name}");
    }
}

/// Mean intensity of the image sampled along a segment from (x, y) in direction `angle`
/// (Ridgeline convention: a step is (cos, −sin)), from `from` to `to` pixels.
fn mean_along(
    img: &crate::FingerImage,
    m: &Minutia,
    angle: f32,
    from: f32,
    to: f32,
) -> Option<f32> {
    let mut sum = 0.0;
    let mut n = 0.0;
    let mut r = from;
    while r <= to {
        let x = (m.x + r * angle.cos()).round();
        let y = (m.y - r * angle.sin()).round();
        if x < 0.0 || y < 0.0 || x >= img.width() as f32 || y >= img.height() as f32 {
            return None;
        }
        sum += img.get(x as u32, y as u32) as f32;
        n += 1.0;
        r += 1.0;
    }
    Some(sum / n)
}

/// Ridge orientation (axis, radians mod π, Ridgeline's viewed-CCW convention) around (x, y)
/// from the gradient structure tensor, and its coherence.
fn ridge_axis(img: &crate::FingerImage, x: i64, y: i64, radius: i64) -> Option<(f32, f32)> {
    let (mut gxx, mut gyy, mut gxy) = (0.0f64, 0.0f64, 0.0f64);
    for v in y - radius..=y + radius {
        for u in x - radius..=x + radius {
            if u < 1 || v < 1 || u + 1 >= img.width() as i64 || v + 1 >= img.height() as i64 {
                return None;
            }
            let p = |a: i64, b: i64| img.get(a as u32, b as u32) as f64;
            let gx = p(u + 1, v) - p(u - 1, v);
            let gy = p(u, v + 1) - p(u, v - 1);
            gxx += gx * gx;
            gyy += gy * gy;
            gxy += gx * gy;
        }
    }
    // Gradient axis in y-down coordinates; the ridge runs perpendicular to it; a y-down
    // angle is clockwise as viewed, so negate to get the viewed-CCW convention.
    let gradient = 0.5 * (2.0 * gxy).atan2(gxx - gyy);
    let ridge_down = gradient + std::f64::consts::FRAC_PI_2;
    let coherence = ((gxx - gyy).powi(2) + 4.0 * gxy * gxy).sqrt() / (gxx + gyy + 1e-9);
    Some(((-ridge_down) as f32, coherence as f32))
}

/// The angle convention, checked on real data rather than by reasoning: a commercial
/// extractor's ISO 2005 templates of the FVC 2002 DB1 images must run along the ridge flow
/// measured in the image, which the opposite sign would not. (Whether the direction points
/// into the ridge or the valley is printed, not asserted: SecuGen's coordinates are shifted
/// against the image, centre-cropped to its 300-pixel width, which blurs that statistic.)
#[test]
fn angle_convention_matches_images() {
    let Some(dir) = shared("datasets/fvc2002/DB1_B") else { return };
    let (mut axis_as_is, mut axis_flipped, mut axis_n) = (0.0f64, 0.0f64, 0usize);
    let mut dark_ahead = [0usize; 2];
    let mut total = [0usize; 2];
    for finger in 101..=110 {
        let stem = dir.join(format!("{finger}_1"));
        let img = crate::FingerImage::open(stem.with_extension("tif"), Some(500)).expect("image");
        let template =
            decode_template(&read(&stem.with_extension("iso"))).expect("template decodes");
        for m in &template.minutiae {
            if let Some((axis, coherence)) = ridge_axis(&img, m.x as i64, m.y as i64, 7) {
                if coherence > 0.5 {
                    axis_as_is += (2.0 * (m.angle - axis)).cos() as f64;
                    axis_flipped += (2.0 * (-m.angle - axis)).cos() as f64;
                    axis_n += 1;
                }
            }
            let ahead = mean_along(&img, m, m.angle, 3.0, 8.0);
            let behind = mean_along(&img, m, m.angle + std::f32::consts::PI, 3.0, 8.0);
            if let (Some(ahead), Some(behind)) = (ahead, behind) {
                let k = (m.kind == MinutiaKind::Bifurcation) as usize;
                total[k] += 1;
                dark_ahead[k] += (ahead < behind) as usize;
            }
        }
    }
    let (as_is, flipped) = (axis_as_is / axis_n as f64, axis_flipped / axis_n as f64);
    eprintln!(
        "axis agreement over {axis_n} minutiae: as decoded {as_is:.3}, sign flipped {flipped:.3}; \
         dark ahead: endings {}/{}, bifurcations {}/{}",
        dark_ahead[0], total[0], dark_ahead[1], total[1]
    );
    assert!(as_is > 0.4 && flipped < as_is - 0.3, "{as_is} vs {flipped}");
}

#[test]
fn encode_template_round_trips_within_quantisation() {
    let template = Template {
        width: 388,
        height: 374,
        dpi: 500,
        quality: 60,
        minutiae: (0..40)
            .map(|i| Minutia {
                x: 10.3 + i as f32 * 8.7,
                y: 370.0 - i as f32 * 9.1,
                angle: crate::template::normalize_angle(i as f32 * 0.77),
                kind: if i % 3 == 0 { MinutiaKind::Bifurcation } else { MinutiaKind::Ending },
                quality: (i * 2) as u8,
            })
            .collect(),
        singular_points: vec![],
    };
    for format in TemplateFormat::ALL.into_iter().filter(|&f| f != TemplateFormat::Native) {
        let bytes = encode_template(&template, format).expect("encode");
        assert_eq!(detect_format(&bytes).expect("detect"), format);
        let back = decode_template(&bytes).expect("decode");
        let step = std::f32::consts::TAU / record::angle_codes_per_turn(format) as f32;
        assert_eq!((back.width, back.height, back.dpi), (388, 374, 500));
        for (a, b) in template.minutiae.iter().zip(&back.minutiae) {
            assert!((a.x - b.x).abs() <= 0.5 && (a.y - b.y).abs() <= 0.5);
            let d = (a.angle - b.angle).rem_euclid(std::f32::consts::TAU);
            assert!(d.min(std::f32::consts::TAU - d) <= step / 2.0 + 1e-4, "{format}");
            assert_eq!((a.kind, a.quality), (b.kind, b.quality));
        }
    }
}

#[test]
fn truncated_and_corrupt_records_are_errors_not_panics() {
    let Some((bytes, _)) = load_vector("iso19794p2v2005-sample") else { return };
    for cut in 0..bytes.len() {
        let _ = decode_template(&bytes[..cut]);
    }
    let mut bad = bytes.clone();
    bad[22] = 200; // 200 views announced
    assert!(decode_record(&bad).is_err());
}

#[test]
fn format_names_parse_back() {
    for format in TemplateFormat::ALL {
        assert_eq!(TemplateFormat::parse(format.name()).expect("parse"), format);
    }
    assert!(TemplateFormat::parse("iso").is_err());
}

/// The header offsets documented in docs/FORMATS.md hold the fields the writers put there.
#[test]
fn documented_header_offsets_hold_their_fields() {
    use super::{ansi2009, iso2005_ansi2004 as legacy, iso2011};
    let template = Template {
        width: 388,
        height: 374,
        dpi: 500,
        quality: 77,
        minutiae: vec![Minutia {
            x: 10.0,
            y: 20.0,
            angle: 1.0,
            kind: MinutiaKind::Ending,
            quality: 60,
        }],
        singular_points: vec![],
    };
    let be16 = |b: &[u8], at: usize| u16::from_be_bytes([b[at], b[at + 1]]) as usize;
    let be32 =
        |b: &[u8], at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;

    let iso = encode_template(&template, TemplateFormat::Iso19794_2_2005).expect("iso");
    assert_eq!(be32(&iso, legacy::ISO_OFFSET_LENGTH), iso.len());
    assert_eq!(be16(&iso, legacy::ISO_OFFSET_WIDTH), 388);
    assert_eq!(be16(&iso, legacy::ISO_OFFSET_HEIGHT), 374);
    assert_eq!(be16(&iso, legacy::ISO_OFFSET_RESOLUTION_X), 197);
    assert_eq!(be16(&iso, legacy::ISO_OFFSET_RESOLUTION_Y), 197);
    assert_eq!(iso[legacy::ISO_OFFSET_VIEW_COUNT], 1);
    assert_eq!(iso[legacy::ISO_HEADER_LEN + 2], 77);
    assert_eq!(
        iso.len(),
        legacy::ISO_HEADER_LEN + legacy::VIEW_HEADER_LEN + legacy::MINUTIA_LEN + 2
    );

    let ansi = encode_template(&template, TemplateFormat::Ansi378_2004).expect("ansi");
    assert_eq!(be16(&ansi, legacy::ANSI_OFFSET_LENGTH), ansi.len());
    assert_eq!(
        ansi.len(),
        legacy::ANSI_HEADER_LEN + legacy::VIEW_HEADER_LEN + legacy::MINUTIA_LEN + 2
    );

    let v2011 = encode_template(&template, TemplateFormat::Iso19794_2_2011).expect("2011");
    assert_eq!(be32(&v2011, iso2011::OFFSET_LENGTH), v2011.len());
    assert_eq!(be16(&v2011, iso2011::OFFSET_VIEW_COUNT), 1);
    assert_eq!(v2011[iso2011::OFFSET_CERTIFICATION], 0);
    assert_eq!(be32(&v2011, iso2011::HEADER_LEN), v2011.len() - iso2011::HEADER_LEN);

    let v2009 = encode_template(&template, TemplateFormat::Ansi378_2009).expect("2009");
    assert_eq!(be32(&v2009, ansi2009::OFFSET_LENGTH), v2009.len());
    assert_eq!(v2009[ansi2009::OFFSET_VIEW_COUNT], 1);
    assert_eq!(v2009[ansi2009::HEADER_LEN + 3], 77);
}

mod round_trip {
    use proptest::prelude::*;

    use super::super::*;
    use crate::template::{Minutia, MinutiaKind};

    fn template() -> impl Strategy<Value = Template> {
        let minutia = (
            0.0f32..1000.0,
            0.0f32..1000.0,
            0.0f32..std::f32::consts::TAU,
            any::<bool>(),
            0u8..=100,
        )
            .prop_map(|(x, y, angle, bif, quality)| Minutia {
                x,
                y,
                angle: crate::template::normalize_angle(angle),
                kind: if bif { MinutiaKind::Bifurcation } else { MinutiaKind::Ending },
                quality,
            });
        (prop::collection::vec(minutia, 0..60), 250u32..=1000, 0u8..=100).prop_map(
            |(minutiae, dpi, quality)| Template {
                width: 1000,
                height: 1000,
                dpi,
                quality,
                minutiae,
                singular_points: vec![],
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha, ..ProptestConfig::default() })]
        /// native → each interchange format → native keeps every minutia within the format's
        /// quantisation: half a pixel, half an angle unit, the resolution within one px/cm.
        #[test]
        fn native_to_interchange_and_back(t in template()) {
            for format in TemplateFormat::ALL.into_iter().filter(|&f| f != TemplateFormat::Native) {
                let bytes = encode_template(&t, format).expect("encode");
                let back = decode_template(&bytes).expect("decode");
                prop_assert_eq!(back.minutiae.len(), t.minutiae.len());
                prop_assert!((back.dpi as f32 - t.dpi as f32).abs() <= 1.5);
                let step = std::f32::consts::TAU / record::angle_codes_per_turn(format) as f32;
                for (a, b) in t.minutiae.iter().zip(&back.minutiae) {
                    prop_assert!((a.x - b.x).abs() <= 0.5 && (a.y - b.y).abs() <= 0.5);
                    let d = (a.angle - b.angle).rem_euclid(std::f32::consts::TAU);
                    prop_assert!(d.min(std::f32::consts::TAU - d) <= step / 2.0 + 1e-4);
                    prop_assert_eq!((a.kind, a.quality), (b.kind, b.quality));
                }
            }
        }
    }
}

/// Regression (found by the round-trip property test): an ANSI 2009 view without minutiae was
/// refused because the view-size bound counted 19 header bytes instead of 17.
#[test]
fn views_without_minutiae_round_trip_in_every_format() {
    let empty = Template {
        width: 300,
        height: 400,
        dpi: 500,
        quality: 0,
        minutiae: vec![],
        singular_points: vec![],
    };
    for format in TemplateFormat::ALL {
        let bytes = encode_template(&empty, format).expect("encode");
        let back = decode_template(&bytes).expect("decode");
        assert!(back.minutiae.is_empty(), "{format}");
    }
}

/// SourceAFIS's ISO 2005 probe matches its mate better than the other finger, through our
/// decoder and matcher (their README's expectation). Note: in the shared copy the probe and
/// its mate are the same bytes, so only the impostor side says much.
#[test]
fn sourceafis_iso_probe_matches_its_mate_not_the_other_finger() {
    let load = |name: &str| -> Option<Template> {
        let path = shared(&format!("format-vectors/sourceafis/{name}"))?;
        Some(decode_template(&read(&path)).expect("decode"))
    };
    let (Some(probe), Some(mate), Some(other)) =
        (load("iso-probe.dat"), load("iso-matching.dat"), load("iso-nonmatching.dat"))
    else {
        return;
    };
    let matcher = crate::matcher::Matcher::new();
    let genuine = matcher.score_templates(&probe, &mate).value();
    let impostor = matcher.score_templates(&probe, &other).value();
    eprintln!("genuine {genuine:.4}, impostor {impostor:.4}");
    assert!(genuine > 2.0 * impostor && genuine > impostor + 0.1, "{genuine} vs {impostor}");
}

//! CI smoke run of every parser of untrusted bytes: the seed files plus a few thousand
//! deterministic mutations and random inputs each. The long runs are the cargo-fuzz targets in
//! `fuzz/`; this keeps a regression net in the ordinary test suite (no nightly needed).

use std::path::PathBuf;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seed(relative: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared").join(relative);
    std::fs::read(path).ok()
}

/// A mutation of `base`: byte flips, overwrites with boundary values, truncation, splices.
fn mutate(base: &[u8], rng: &mut Rng, header_bias: usize) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        if v.is_empty() {
            break;
        }
        let limit = if rng.below(4) == 0 { v.len() } else { v.len().min(header_bias) };
        let at = rng.below(limit);
        match rng.below(5) {
            0 => v[at] ^= 1 << rng.below(8),
            1 => v[at] = [0, 1, 0x7f, 0x80, 0xff][rng.below(5)],
            2 => v.truncate(at),
            3 => {
                let len = rng.below(8);
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                v.splice(at..at, bytes);
            }
            _ => v[at] = rng.next() as u8,
        }
    }
    v
}

fn run(name: &str, seeds: &[Vec<u8>], mutations: usize, header_bias: usize, parse: impl Fn(&[u8])) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ name.len() as u64);
    for s in seeds {
        parse(s);
    }
    for i in 0..mutations {
        let input = if seeds.is_empty() || i % 4 == 0 {
            (0..rng.below(300)).map(|_| rng.next() as u8).collect()
        } else {
            mutate(&seeds[i % seeds.len()], &mut rng, header_bias)
        };
        parse(&input);
    }
}

#[test]
fn minutiae_records_survive_mutations() {
    let seeds: Vec<_> = [
        "format-vectors/fingerprintio/iso19794p2v2005-sample.dat",
        "format-vectors/fingerprintio/iso19794p2v2011-sample.dat",
        "format-vectors/fingerprintio/ansi378v2004-sample.dat",
        "format-vectors/fingerprintio/ansi378v2009-sample.dat",
        "format-vectors/fingerprintio/ansi378v2009am1-sample.dat",
        "format-vectors/sourceafis/iso-probe.dat",
    ]
    .iter()
    .filter_map(|s| seed(s))
    .collect();
    run("minutiae", &seeds, 4000, 64, |b| {
        if let Ok(record) = super::decode_record(b) {
            let mut w = Vec::new();
            let _ = record.templates(&mut w);
            let _ = record.encode();
            for f in super::TemplateFormat::ALL {
                let _ = super::convert_record(&record, f);
            }
        }
    });
}

#[test]
fn native_templates_survive_mutations() {
    let t = crate::Template {
        width: 300,
        height: 400,
        dpi: 500,
        quality: 50,
        minutiae: vec![],
        singular_points: vec![],
    };
    let seeds = vec![t.to_native_bytes().expect("encode")];
    run("native", &seeds, 3000, 32, |b| {
        let _ = crate::Template::from_native_bytes(b);
    });
}

/// Small WSQ streams from our encoder (textured images of even and odd sizes): mutations of
/// these decode in milliseconds, so the smoke run can afford thousands.
fn small_wsq_streams() -> Vec<Vec<u8>> {
    [(64u32, 64u32), (65, 97), (120, 72)]
        .iter()
        .map(|&(w, h)| {
            let pixels = (0..w * h)
                .map(|i| {
                    let (x, y) = ((i % w) as f32, (i / w) as f32);
                    (128.0 + 90.0 * ((x * 0.8 + y * 0.5) * 0.7).sin()) as u8
                })
                .collect();
            let image = crate::FingerImage::from_raw(w, h, 500, pixels).expect("image");
            crate::image::wsq::encode(&image, crate::image::wsq::TARGET_BITRATE_BPP)
                .expect("encode")
        })
        .collect()
}

#[test]
fn wsq_survives_mutations() {
    let small = small_wsq_streams();
    run("wsq-small", &small, 3000, 1024, |b| {
        let _ = crate::image::wsq::decode(b);
    });
    let seeds: Vec<_> = seed("format-vectors/sourceafis/wsq-original.wsq").into_iter().collect();
    // Full decodes of an 832x768 image are slow; most mutations hit the tables (first 1 KB).
    run("wsq", &seeds, 60, 1024, |b| {
        let _ = crate::image::wsq::decode(b);
    });
}

#[test]
fn ansi_nist_survives_mutations() {
    let seeds: Vec<_> = seed("format-vectors/ansi-nist/valid1.1.an2").into_iter().collect();
    run("an2k", &seeds, 80, 512, |b| {
        if let Ok(t) = super::an2k::parse(b) {
            for fp in &t.fingerprints {
                let _ = fp.decode();
            }
        }
    });
}

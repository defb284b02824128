//! Template packs: many native templates in one file, random access by finger and impression.
//!
//! Written by `ridgeline synth --templates-only --out FILE.rlp` for million-template galleries,
//! where one file per template would cost more in file-system overhead than in data.
//! Documented byte by byte in `docs/FORMATS.md`; the offsets are the constants below.
//! All multi-byte integers are little-endian.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `RLP\x1a` |
//! | 4 | 2 | format version (u16) |
//! | 6 | 2 | reserved, zero |
//! | 8 | 8 | fingers (u64) |
//! | 16 | 4 | impressions per finger (u32) |
//! | 20 | 4 | CRC-32 (IEEE) of the index |
//! | 24 | 8 | generator seed (u64) |
//! | 32 | 8 | index offset (u64) |
//! | 40 | … | records: native `.rlt` templates back to back, finger-major |
//! | index offset | 8·(n+1) | absolute record offsets (u64), n = fingers × impressions; the last is the index offset |

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ridgeline::Template;

use crate::error::{Error, Result};

/// Magic number at the start of every template pack.
pub const PACK_MAGIC: [u8; 4] = *b"RLP\x1a";
/// Template pack format version written by this build.
pub const PACK_VERSION: u16 = 1;
/// Offset of the magic number.
pub const OFFSET_MAGIC: usize = 0;
/// Offset of the format version.
pub const OFFSET_VERSION: usize = 4;
/// Offset of the reserved field.
pub const OFFSET_RESERVED: usize = 6;
/// Offset of the finger count.
pub const OFFSET_FINGERS: usize = 8;
/// Offset of the impressions per finger.
pub const OFFSET_IMPRESSIONS: usize = 16;
/// Offset of the index checksum.
pub const OFFSET_INDEX_CHECKSUM: usize = 20;
/// Offset of the generator seed.
pub const OFFSET_SEED: usize = 24;
/// Offset of the index offset.
pub const OFFSET_INDEX_OFFSET: usize = 32;
/// Size of the header; the first record starts here.
pub const HEADER_LEN: usize = 40;
/// Largest record accepted when reading (a native template's header plus its largest payload).
const MAX_RECORD_LEN: u64 =
    (ridgeline::template::HEADER_LEN + ridgeline::template::MAX_PAYLOAD_LEN) as u64;

/// Writes a template pack sequentially.
#[derive(Debug)]
pub struct PackWriter {
    path: PathBuf,
    out: BufWriter<File>,
    fingers: u64,
    impressions: u32,
    seed: u64,
    offsets: Vec<u64>,
    position: u64,
}

impl PackWriter {
    /// Creates (or truncates) `path` for `fingers × impressions` templates.
    pub fn create(
        path: impl AsRef<Path>,
        fingers: u64,
        impressions: u32,
        seed: u64,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let total = fingers.checked_mul(impressions as u64).filter(|&n| n > 0 && n < (1 << 40));
        let Some(total) = total else {
            return Err(Error::InvalidConfig(format!(
                "{fingers} fingers x {impressions} impressions"
            )));
        };
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(&[0u8; HEADER_LEN]).map_err(|e| Error::io(&path, e))?;
        let mut offsets = Vec::new();
        offsets.try_reserve_exact(total as usize + 1).map_err(|_| {
            Error::InvalidConfig(format!("{total} templates: index does not fit in memory"))
        })?;
        Ok(PackWriter {
            path,
            out,
            fingers,
            impressions,
            seed,
            offsets,
            position: HEADER_LEN as u64,
        })
    }

    /// Appends the next template, already encoded as native `.rlt` bytes.
    pub fn push_encoded(&mut self, bytes: &[u8]) -> Result<()> {
        if self.offsets.len() as u64 >= self.fingers * self.impressions as u64 {
            return Err(Error::InvalidConfig(
                "more templates than the pack was created for".into(),
            ));
        }
        self.offsets.push(self.position);
        self.out.write_all(bytes).map_err(|e| Error::io(&self.path, e))?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    /// Appends the next template.
    pub fn push(&mut self, template: &Template) -> Result<()> {
        self.push_encoded(&template.to_native_bytes()?)
    }

    /// Writes the index and the header; the pack is complete once this returns.
    pub fn finish(mut self) -> Result<()> {
        let expected = self.fingers * self.impressions as u64;
        if self.offsets.len() as u64 != expected {
            return Err(Error::InvalidConfig(format!(
                "pack holds {} templates, {expected} announced",
                self.offsets.len()
            )));
        }
        let index_offset = self.position;
        self.offsets.push(index_offset);
        let mut index = Vec::with_capacity(self.offsets.len() * 8);
        for offset in &self.offsets {
            index.extend_from_slice(&offset.to_le_bytes());
        }
        let io = |e| Error::io(&self.path, e);
        self.out.write_all(&index).map_err(io)?;
        let mut header = [0u8; HEADER_LEN];
        header[OFFSET_MAGIC..OFFSET_MAGIC + 4].copy_from_slice(&PACK_MAGIC);
        header[OFFSET_VERSION..OFFSET_VERSION + 2].copy_from_slice(&PACK_VERSION.to_le_bytes());
        header[OFFSET_FINGERS..OFFSET_FINGERS + 8].copy_from_slice(&self.fingers.to_le_bytes());
        header[OFFSET_IMPRESSIONS..OFFSET_IMPRESSIONS + 4]
            .copy_from_slice(&self.impressions.to_le_bytes());
        header[OFFSET_INDEX_CHECKSUM..OFFSET_INDEX_CHECKSUM + 4]
            .copy_from_slice(&crc32fast::hash(&index).to_le_bytes());
        header[OFFSET_SEED..OFFSET_SEED + 8].copy_from_slice(&self.seed.to_le_bytes());
        header[OFFSET_INDEX_OFFSET..OFFSET_INDEX_OFFSET + 8]
            .copy_from_slice(&index_offset.to_le_bytes());
        let mut file = self.out.into_inner().map_err(|e| Error::io(&self.path, e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(&self.path, e))?;
        file.write_all(&header).map_err(|e| Error::io(&self.path, e))?;
        file.sync_all().map_err(|e| Error::io(&self.path, e))?;
        Ok(())
    }
}

/// A template pack opened for reading.
#[derive(Debug)]
pub struct Pack {
    path: PathBuf,
    file: Mutex<File>,
    fingers: u64,
    impressions: u32,
    seed: u64,
    offsets: Vec<u64>,
}

fn le_u64(bytes: &[u8], offset: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(b)
}

fn le_u32(bytes: &[u8], offset: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_le_bytes(b)
}

impl Pack {
    /// Opens a pack: checks magic, version, sizes, and the index against its checksum.
    pub fn open(path: impl AsRef<Path>) -> Result<Pack> {
        let path = path.as_ref().to_path_buf();
        let mut file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let length = file.metadata().map_err(|e| Error::io(&path, e))?.len();
        let mut header = [0u8; HEADER_LEN];
        let got = read_up_to(&mut file, &mut header).map_err(|e| Error::io(&path, e))?;
        if got < 4 || header[..4] != PACK_MAGIC {
            return Err(Error::PackMagic { found: header[..got.min(4)].to_vec() });
        }
        if got < HEADER_LEN {
            return Err(Error::CorruptPack(format!(
                "{got} bytes is shorter than the {HEADER_LEN}-byte header"
            )));
        }
        let version = u16::from_le_bytes([header[OFFSET_VERSION], header[OFFSET_VERSION + 1]]);
        if version != PACK_VERSION {
            return Err(Error::PackVersion { expected: PACK_VERSION, got: version });
        }
        let fingers = le_u64(&header, OFFSET_FINGERS);
        let impressions = le_u32(&header, OFFSET_IMPRESSIONS);
        let index_offset = le_u64(&header, OFFSET_INDEX_OFFSET);
        let count = fingers
            .checked_mul(impressions as u64)
            .and_then(|n| n.checked_add(1))
            .and_then(|n| n.checked_mul(8))
            .ok_or_else(|| Error::CorruptPack(format!("{fingers} x {impressions} overflows")))?;
        if index_offset < HEADER_LEN as u64 || index_offset.checked_add(count) != Some(length) {
            return Err(Error::CorruptPack(format!(
                "index at {index_offset} with {count} bytes does not end the {length}-byte file"
            )));
        }
        file.seek(SeekFrom::Start(index_offset)).map_err(|e| Error::io(&path, e))?;
        let mut index = vec![0u8; count as usize];
        file.read_exact(&mut index).map_err(|e| Error::io(&path, e))?;
        let expected = le_u32(&header, OFFSET_INDEX_CHECKSUM);
        let computed = crc32fast::hash(&index);
        if expected != computed {
            return Err(Error::PackChecksum { expected, got: computed });
        }
        let offsets: Vec<u64> = index.chunks_exact(8).map(|c| le_u64(c, 0)).collect();
        let ordered = offsets.windows(2).all(|w| w[0] <= w[1] && w[1] - w[0] <= MAX_RECORD_LEN);
        if offsets.first() != Some(&(HEADER_LEN as u64))
            || offsets.last() != Some(&index_offset)
            || !ordered
        {
            return Err(Error::CorruptPack("record offsets out of order or out of bounds".into()));
        }
        Ok(Pack {
            path,
            file: Mutex::new(file),
            fingers,
            impressions,
            seed: le_u64(&header, OFFSET_SEED),
            offsets,
        })
    }

    /// Number of fingers.
    pub fn fingers(&self) -> u64 {
        self.fingers
    }

    /// Impressions per finger.
    pub fn impressions(&self) -> u32 {
        self.impressions
    }

    /// The seed the pack was generated with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of templates.
    pub fn len(&self) -> u64 {
        self.offsets.len() as u64 - 1
    }

    /// Whether the pack holds no template.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The template of `finger` (from 1), `impression` (from 1).
    pub fn get(&self, finger: u64, impression: u32) -> Result<Template> {
        if finger == 0 || finger > self.fingers || impression == 0 || impression > self.impressions
        {
            return Err(Error::OutOfRange {
                finger,
                impression,
                fingers: self.fingers,
                impressions: self.impressions,
            });
        }
        let slot = ((finger - 1) * self.impressions as u64 + (impression - 1) as u64) as usize;
        let (start, end) = (self.offsets[slot], self.offsets[slot + 1]);
        let mut bytes = vec![0u8; (end - start) as usize];
        {
            // A poisoned lock only means another reader panicked mid-read; the file is intact.
            let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
            file.seek(SeekFrom::Start(start)).map_err(|e| Error::io(&self.path, e))?;
            file.read_exact(&mut bytes).map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(Template::from_native_bytes(&bytes)?)
    }
}

fn read_up_to(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let n = file.read(&mut buffer[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::{generate, TemplateConfig};

    fn write_sample(path: &Path) -> Vec<Template> {
        let config = TemplateConfig::default();
        let mut writer = PackWriter::create(path, 3, 2, 99).expect("create");
        let mut all = Vec::new();
        for finger in 1..=3 {
            for impression in 1..=2 {
                let t = generate(99, finger, impression, &config).expect("generate");
                writer.push(&t).expect("push");
                all.push(t);
            }
        }
        writer.finish().expect("finish");
        all
    }

    #[test]
    fn round_trip_and_random_access() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.rlp");
        let all = write_sample(&path);
        let pack = Pack::open(&path).expect("open");
        assert_eq!((pack.fingers(), pack.impressions(), pack.seed(), pack.len()), (3, 2, 99, 6));
        assert_eq!(pack.get(2, 1).expect("get"), all[2]);
        assert_eq!(pack.get(3, 2).expect("get"), all[5]);
        assert!(matches!(pack.get(4, 1), Err(Error::OutOfRange { .. })));
        assert!(matches!(pack.get(1, 0), Err(Error::OutOfRange { .. })));
    }

    #[test]
    fn header_offsets_match_the_documented_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.rlp");
        write_sample(&path);
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(&bytes[OFFSET_MAGIC..OFFSET_MAGIC + 4], b"RLP\x1a");
        assert_eq!(
            u16::from_le_bytes([bytes[OFFSET_VERSION], bytes[OFFSET_VERSION + 1]]),
            PACK_VERSION
        );
        assert_eq!(&bytes[OFFSET_RESERVED..OFFSET_RESERVED + 2], &[0, 0]);
        assert_eq!(le_u64(&bytes, OFFSET_FINGERS), 3);
        assert_eq!(le_u32(&bytes, OFFSET_IMPRESSIONS), 2);
        assert_eq!(le_u64(&bytes, OFFSET_SEED), 99);
        let index_offset = le_u64(&bytes, OFFSET_INDEX_OFFSET) as usize;
        assert_eq!(bytes.len(), index_offset + 7 * 8);
        assert_eq!(le_u32(&bytes, OFFSET_INDEX_CHECKSUM), crc32fast::hash(&bytes[index_offset..]));
        assert_eq!(le_u64(&bytes, index_offset), HEADER_LEN as u64);
        // The first record is a native template.
        assert_eq!(&bytes[HEADER_LEN..HEADER_LEN + 4], &ridgeline::template::NATIVE_MAGIC);
    }

    #[test]
    fn refuses_damaged_packs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.rlp");
        write_sample(&path);
        let good = std::fs::read(&path).expect("read");
        let check = |bytes: &[u8]| {
            let p = dir.path().join("bad.rlp");
            std::fs::write(&p, bytes).expect("write");
            Pack::open(&p)
        };
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(matches!(check(&bad), Err(Error::PackMagic { .. })));
        let mut bad = good.clone();
        bad[OFFSET_VERSION] = 7;
        assert!(matches!(check(&bad), Err(Error::PackVersion { expected: 1, got: 7 })));
        let mut bad = good.clone();
        let last = bad.len() - 3;
        bad[last] ^= 1;
        assert!(matches!(check(&bad), Err(Error::PackChecksum { .. })));
        for cut in [0, 3, 20, HEADER_LEN, good.len() - 1] {
            assert!(check(&good[..cut]).is_err(), "cut at {cut}");
        }
    }
}

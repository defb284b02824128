//! The manifest: which segments are live and which of their records are deleted.
//!
//! It is the gallery's single point of commit. A new manifest is written to `MANIFEST.tmp`,
//! fsync'd, renamed over `MANIFEST` (atomic on POSIX file systems) and the folder is fsync'd,
//! so a reader sees either the old or the new manifest, never a mixture, and a crash at any
//! instant leaves the last committed one in place.
//!
//! Layout (little-endian; offsets are the constants below, documented in `docs/FORMATS.md`):
//! a 48-byte header, then one 16-byte entry per segment, then one 16-byte entry per deletion.
//! An encrypted gallery's manifest (version 2) ends with a 56-byte trailer: the key id, a
//! nonce and a MAC under the gallery key over every byte before the MAC, so that an edited
//! manifest (a deletion dropped, a segment listed twice, a generation changed) fails with a
//! typed error. The manifest holds no personal data (ids, counts, record indices), so it is
//! authenticated, not encrypted.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use super::seal::{self, GalleryKey, KEY_ID_LEN, NONCE_LEN, TAG_LEN};
use super::segment::{get_u16, get_u32, get_u64, DescriptorLayout};
use crate::error::{Error, Result};

/// Magic number of the manifest file.
pub(crate) const MANIFEST_MAGIC: [u8; 8] = [0x89, b'R', b'L', b'M', b'\r', b'\n', 0x1a, b'\n'];
/// Manifest format version of a clear gallery.
pub(crate) const MANIFEST_VERSION: u16 = 1;
/// Manifest format version of an encrypted gallery: version 1 followed by the trailer.
pub(crate) const MANIFEST_VERSION_SEALED: u16 = 2;
/// Size of the trailer of a version-2 manifest.
pub(crate) const TRAILER_LEN: usize = KEY_ID_LEN + NONCE_LEN + TAG_LEN;
/// Trailer: key id of the gallery key (16 bytes), relative to the trailer's start.
pub(crate) const TRAILER_KEY_ID: usize = 0;
/// Trailer: XChaCha20-Poly1305 nonce (24 bytes).
pub(crate) const TRAILER_NONCE: usize = KEY_ID_LEN;
/// Trailer: the MAC, a Poly1305 tag of XChaCha20-Poly1305 sealing nothing with every byte of
/// the manifest before it as associated data (16 bytes).
pub(crate) const TRAILER_TAG: usize = KEY_ID_LEN + NONCE_LEN;
/// File name of the committed manifest.
pub const MANIFEST_FILE: &str = "MANIFEST";
/// File name of a manifest being written.
pub(crate) const MANIFEST_TMP_FILE: &str = "MANIFEST.tmp";

/// Magic (8 bytes).
pub(crate) const OFFSET_MAGIC: usize = 0;
/// Format version (u16).
pub(crate) const OFFSET_VERSION: usize = 8;
/// Reserved, zero (u16).
#[cfg(test)]
pub(crate) const OFFSET_RESERVED_A: usize = 10;
/// CRC-32 of every byte from [`OFFSET_GENERATION`] to the end of the deletion entries (u32).
pub(crate) const OFFSET_CRC: usize = 12;
/// Commit generation, +1 per commit (u64).
pub(crate) const OFFSET_GENERATION: usize = 16;
/// Id the next new segment gets (u64).
pub(crate) const OFFSET_NEXT_SEGMENT_ID: usize = 24;
/// Bytes per descriptor record (u32).
pub(crate) const OFFSET_DESCRIPTOR_LEN: usize = 32;
/// Descriptor format version (u16).
pub(crate) const OFFSET_DESCRIPTOR_VERSION: usize = 36;
/// Reserved, zero (u16).
#[cfg(test)]
pub(crate) const OFFSET_RESERVED_B: usize = 38;
/// Number of segment entries (u32).
pub(crate) const OFFSET_SEGMENT_COUNT: usize = 40;
/// Number of deletion entries (u32).
pub(crate) const OFFSET_DELETION_COUNT: usize = 44;
/// Size of the header; the segment entries start here.
pub(crate) const HEADER_LEN: usize = 48;
/// Size of a segment entry: segment id (u64), record count (u32), reserved (u32).
pub(crate) const SEGMENT_ENTRY_LEN: usize = 16;
/// Size of a deletion entry: segment id (u64), record index (u32), reserved (u32).
pub(crate) const DELETION_ENTRY_LEN: usize = 16;

/// A live segment as the manifest names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentEntry {
    /// Segment id (its file is `segment::file_name(id)`).
    pub id: u64,
    /// Records in it, deleted ones included.
    pub count: u32,
}

/// The committed state of a gallery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Commit generation.
    pub(crate) generation: u64,
    /// Id for the next segment written.
    pub(crate) next_segment_id: u64,
    /// Descriptor layout every segment must have.
    pub(crate) layout: DescriptorLayout,
    /// Live segments, oldest first.
    pub segments: Vec<SegmentEntry>,
    /// Deleted records as (segment id, record index).
    pub(crate) deletions: BTreeSet<(u64, u32)>,
}

impl Manifest {
    /// An empty gallery's manifest.
    pub(crate) fn empty(layout: DescriptorLayout) -> Manifest {
        Manifest {
            generation: 0,
            next_segment_id: 1,
            layout,
            segments: Vec::new(),
            deletions: BTreeSet::new(),
        }
    }

    /// Serialises the manifest: clear (version 1), or authenticated under `key` (version 2).
    pub(crate) fn encode_with(&self, key: Option<&GalleryKey>) -> Result<Vec<u8>> {
        let mut out = self.encode();
        if let Some(key) = key {
            out[OFFSET_VERSION..OFFSET_VERSION + 2]
                .copy_from_slice(&MANIFEST_VERSION_SEALED.to_le_bytes());
            let nonce = seal::new_nonce()?;
            out.extend_from_slice(&key.id());
            out.extend_from_slice(&nonce);
            let tag = seal::seal_in_place(key, &nonce, &out, &mut [])?;
            out.extend_from_slice(&tag);
        }
        Ok(out)
    }

    /// Serialises the manifest of a clear gallery (version 1).
    pub fn encode(&self) -> Vec<u8> {
        let len = HEADER_LEN
            + self.segments.len() * SEGMENT_ENTRY_LEN
            + self.deletions.len() * DELETION_ENTRY_LEN;
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(&MANIFEST_MAGIC);
        out.extend_from_slice(&MANIFEST_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // checksum, filled in below
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.next_segment_id.to_le_bytes());
        out.extend_from_slice(&self.layout.len.to_le_bytes());
        out.extend_from_slice(&self.layout.version.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(self.segments.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.deletions.len() as u32).to_le_bytes());
        for s in &self.segments {
            out.extend_from_slice(&s.id.to_le_bytes());
            out.extend_from_slice(&s.count.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
        }
        for &(segment, index) in &self.deletions {
            out.extend_from_slice(&segment.to_le_bytes());
            out.extend_from_slice(&index.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
        }
        let crc = crc32fast::hash(&out[OFFSET_GENERATION..]);
        out[OFFSET_CRC..OFFSET_CRC + 4].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses and checks a clear manifest read from `path`.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        Manifest::decode_with(path, bytes, None)
    }

    /// Parses and checks a manifest; a version-2 manifest needs its key and must authenticate
    /// under it, a version-1 one must come without a key ([`Error::GalleryKey`] otherwise).
    pub fn decode_with(path: &Path, bytes: &[u8], key: Option<&GalleryKey>) -> Result<Manifest> {
        Manifest::decode_checked(path, bytes, Some(key))
    }

    /// Parses a manifest of either version without checking its MAC: for tools that only
    /// compare generations and hold no key. Never the basis of reading a gallery.
    pub fn decode_unauthenticated(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        Manifest::decode_checked(path, bytes, None)
    }

    /// `key`: `None` skips authentication; `Some(k)` checks the version-2 MAC under `k`.
    fn decode_checked(
        path: &Path,
        bytes: &[u8],
        key: Option<Option<&GalleryKey>>,
    ) -> Result<Manifest> {
        let corrupt = |offset: usize, message: String| Error::GalleryCorrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            message,
        };
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(bytes.len(), "manifest shorter than its header".into()));
        }
        if bytes[OFFSET_MAGIC..OFFSET_MAGIC + 8] != MANIFEST_MAGIC {
            return Err(corrupt(OFFSET_MAGIC, "not a Ridgeline gallery manifest".into()));
        }
        // Every header read below is inside the HEADER_LEN bytes checked above.
        let version = get_u16(bytes, OFFSET_VERSION).unwrap_or(0);
        let body = match version {
            MANIFEST_VERSION => {
                if let Some(Some(_)) = key {
                    return Err(seal::clear_with_key(path));
                }
                bytes
            }
            MANIFEST_VERSION_SEALED => {
                let Some(trailer_at) =
                    bytes.len().checked_sub(TRAILER_LEN).filter(|&t| t >= HEADER_LEN)
                else {
                    return Err(corrupt(bytes.len(), "manifest shorter than its trailer".into()));
                };
                let trailer = &bytes[trailer_at..];
                if let Some(key) = key {
                    let stored_id = &trailer[TRAILER_KEY_ID..TRAILER_KEY_ID + KEY_ID_LEN];
                    let key = seal::check_key(path, key, stored_id)?;
                    let nonce = seal::array_at::<NONCE_LEN>(trailer, TRAILER_NONCE);
                    let tag = seal::array_at::<TAG_LEN>(trailer, TRAILER_TAG);
                    let authentic = match (nonce, tag) {
                        (Some(nonce), Some(tag)) => seal::open_in_place(
                            key,
                            &nonce,
                            &bytes[..trailer_at + TRAILER_TAG],
                            &mut [],
                            &tag,
                        ),
                        _ => false,
                    };
                    if !authentic {
                        return Err(corrupt(
                            trailer_at + TRAILER_TAG,
                            "manifest fails authentication under the gallery key: it was edited \
                             or damaged"
                                .into(),
                        ));
                    }
                }
                &bytes[..trailer_at]
            }
            _ => {
                return Err(Error::GalleryVersion {
                    path: path.to_path_buf(),
                    expected: MANIFEST_VERSION_SEALED,
                    got: version,
                })
            }
        };
        let bytes = body;
        let stored = get_u32(bytes, OFFSET_CRC).unwrap_or(0);
        let computed = crc32fast::hash(&bytes[OFFSET_GENERATION..]);
        if stored != computed {
            return Err(corrupt(
                OFFSET_CRC,
                format!("manifest checksum {stored:#010x}, computed {computed:#010x}"),
            ));
        }
        let segment_count = get_u32(bytes, OFFSET_SEGMENT_COUNT).unwrap_or(0) as usize;
        let deletion_count = get_u32(bytes, OFFSET_DELETION_COUNT).unwrap_or(0) as usize;
        let expected_len =
            HEADER_LEN + segment_count * SEGMENT_ENTRY_LEN + deletion_count * DELETION_ENTRY_LEN;
        if bytes.len() != expected_len {
            return Err(corrupt(
                OFFSET_SEGMENT_COUNT,
                format!("manifest is {} bytes, its counts need {expected_len}", bytes.len()),
            ));
        }
        let mut segments = Vec::with_capacity(segment_count);
        for i in 0..segment_count {
            let at = HEADER_LEN + i * SEGMENT_ENTRY_LEN;
            segments.push(SegmentEntry {
                id: get_u64(bytes, at).unwrap_or(0),
                count: get_u32(bytes, at + 8).unwrap_or(0),
            });
        }
        let mut deletions = BTreeSet::new();
        let base = HEADER_LEN + segment_count * SEGMENT_ENTRY_LEN;
        for i in 0..deletion_count {
            let at = base + i * DELETION_ENTRY_LEN;
            deletions
                .insert((get_u64(bytes, at).unwrap_or(0), get_u32(bytes, at + 8).unwrap_or(0)));
        }
        Ok(Manifest {
            generation: get_u64(bytes, OFFSET_GENERATION).unwrap_or(0),
            next_segment_id: get_u64(bytes, OFFSET_NEXT_SEGMENT_ID).unwrap_or(0),
            layout: DescriptorLayout {
                len: get_u32(bytes, OFFSET_DESCRIPTOR_LEN).unwrap_or(0),
                version: get_u16(bytes, OFFSET_DESCRIPTOR_VERSION).unwrap_or(0),
            },
            segments,
            deletions,
        })
    }

    /// Reads the committed manifest of the clear gallery in `dir`.
    pub fn read(dir: &Path) -> Result<Manifest> {
        Manifest::read_with(dir, None)
    }

    /// Reads and checks the committed manifest of the gallery in `dir` ([`Manifest::decode_with`]).
    pub(crate) fn read_with(dir: &Path, key: Option<&GalleryKey>) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Manifest::decode_with(&path, &bytes, key)
    }

    /// Reads the committed manifest without checking its MAC ([`Manifest::decode_unauthenticated`]).
    pub(crate) fn read_unauthenticated(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Manifest::decode_unauthenticated(&path, &bytes)
    }

    /// Commits this clear manifest: write temp, fsync, rename, fsync the folder.
    pub fn commit(&self, dir: &Path) -> Result<()> {
        self.commit_with(dir, None)
    }

    /// Commits this manifest, authenticated under `key` when given.
    pub(crate) fn commit_with(&self, dir: &Path, key: Option<&GalleryKey>) -> Result<()> {
        let bytes = self.encode_with(key)?;
        let tmp = dir.join(MANIFEST_TMP_FILE);
        let path = dir.join(MANIFEST_FILE);
        {
            let mut file =
                crate::private_files::create_file(&tmp, false).map_err(|e| Error::io(&tmp, e))?;
            file.write_all(&bytes).map_err(|e| Error::io(&tmp, e))?;
            file.sync_all().map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        sync_dir(dir)
    }
}

/// Makes the folder's entries (new, renamed and removed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_offsets_hold_documented_fields() {
        let mut m = Manifest::empty(DescriptorLayout { len: 24, version: 7 });
        m.generation = 9;
        m.next_segment_id = 4;
        m.segments = vec![SegmentEntry { id: 2, count: 5 }, SegmentEntry { id: 3, count: 1 }];
        m.deletions.insert((2, 4));
        let b = m.encode();
        assert_eq!(&b[..8], &[0x89, 0x52, 0x4c, 0x4d, 0x0d, 0x0a, 0x1a, 0x0a]);
        assert_eq!(get_u16(&b, OFFSET_VERSION), Some(1));
        assert_eq!(get_u16(&b, OFFSET_RESERVED_A), Some(0));
        assert_eq!(get_u32(&b, OFFSET_CRC), Some(crc32fast::hash(&b[16..])));
        assert_eq!(get_u64(&b, OFFSET_GENERATION), Some(9));
        assert_eq!(get_u64(&b, OFFSET_NEXT_SEGMENT_ID), Some(4));
        assert_eq!(get_u32(&b, OFFSET_DESCRIPTOR_LEN), Some(24));
        assert_eq!(get_u16(&b, OFFSET_DESCRIPTOR_VERSION), Some(7));
        assert_eq!(get_u16(&b, OFFSET_RESERVED_B), Some(0));
        assert_eq!(get_u32(&b, OFFSET_SEGMENT_COUNT), Some(2));
        assert_eq!(get_u32(&b, OFFSET_DELETION_COUNT), Some(1));
        assert_eq!(get_u64(&b, HEADER_LEN + SEGMENT_ENTRY_LEN), Some(3));
        assert_eq!(get_u32(&b, HEADER_LEN + SEGMENT_ENTRY_LEN + 8), Some(1));
        let del = HEADER_LEN + 2 * SEGMENT_ENTRY_LEN;
        assert_eq!(get_u64(&b, del), Some(2));
        assert_eq!(get_u32(&b, del + 8), Some(4));
        assert_eq!(b.len(), del + DELETION_ENTRY_LEN);
        let path = Path::new("MANIFEST");
        assert_eq!(Manifest::decode(path, &b).expect("decode"), m);
        for cut in [0, 10, 47, b.len() - 1] {
            assert!(Manifest::decode(path, &b[..cut]).is_err());
        }
        let mut flipped = b.clone();
        flipped[30] ^= 4;
        assert!(matches!(Manifest::decode(path, &flipped), Err(Error::GalleryCorrupt { .. })));
    }
}

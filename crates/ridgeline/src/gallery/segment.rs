//! Segment files: immutable, memory-mapped batches of enrolled records.
//!
//! A segment is written once, in full, fsync'd, and only then named by the manifest. From then
//! on no process of ours writes to it again: compaction writes *new* segments and unlinks old
//! ones, which leaves existing mappings intact (the inode lives on until the last map goes).
//! Because a mapped file is never truncated or rewritten by us, a mapping can't fault with
//! SIGBUS from our own writes; only someone editing files inside the gallery folder behind our
//! back could cause that, which is outside the contract (see `docs/FORMATS.md`).
//!
//! Opening checks magic, version, header checksum and that every region lies inside the file,
//! without touching the records; [`Segment::verify`] reads everything and checks every checksum.
//!
//! The layout is documented byte by byte in `docs/FORMATS.md`; the offsets are the constants
//! below and a test checks them against a written file.

use std::fs::File;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use memmap2::Mmap;

use super::seal::{self, GalleryKey, KEY_ID_LEN, NONCE_LEN, TAG_LEN};
use crate::bytes::{FileBytes, OwnedBytes};
use crate::error::{Error, Result};

/// PNG-style magic: a high byte (catches 7-bit transfers), the name, CR LF (catches line-ending
/// conversion), SUB (stops `type`), LF.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = [0x89, b'R', b'L', b'G', b'\r', b'\n', 0x1a, b'\n'];
/// Newest segment format version this build reads and writes. Version 2 adds the demographic
/// block of a record (see [`ENTRY_DEMOGRAPHICS_LEN`]); a segment without any such block is still
/// written as version 1, so galleries without demographics stay readable by version-1 builds,
/// while a version-1 build refuses (rather than silently drops, e.g. at compaction) the blocks
/// it does not know.
pub(crate) const SEGMENT_VERSION: u16 = 2;
/// The first segment format version: no demographic blocks (the entry field is zero).
pub(crate) const SEGMENT_VERSION_1: u16 = 1;
/// Size of the header; the descriptor records start right after it.
pub const HEADER_LEN: usize = 128;
/// Size of one entry of the entry table.
pub const ENTRY_LEN: usize = 32;
/// Payload protection: plaintext.
pub(crate) const PROTECTION_NONE: u16 = 0;
/// Payload protection: every byte after the header, up to the tag, is sealed with
/// XChaCha20-Poly1305 (see [`super::seal`]) under the key whose id is at [`OFFSET_KEY_ID`],
/// with the nonce at [`OFFSET_NONCE`] and the header (as stored) as associated data; the
/// 16-byte tag closes the file and counts in its length. The sealed bytes are, once
/// decrypted, exactly what a clear segment holds at the same offsets.
pub(crate) const PROTECTION_SEALED: u16 = 1;

/// Header field offsets.
pub(crate) const OFFSET_MAGIC: usize = 0;
/// Format version (u16).
pub(crate) const OFFSET_VERSION: usize = 8;
/// Header length (u16).
pub(crate) const OFFSET_HEADER_LEN: usize = 10;
/// CRC-32 of the header with this field zeroed (u32).
pub(crate) const OFFSET_HEADER_CRC: usize = 12;
/// Segment id (u64), the same as in the file name and the manifest.
pub const OFFSET_SEGMENT_ID: usize = 16;
/// Total file length (u64).
pub(crate) const OFFSET_FILE_LEN: usize = 24;
/// Number of records (u32).
pub const OFFSET_RECORD_COUNT: usize = 32;
/// Bytes per prepared-descriptor record (u32, multiple of 8).
pub const OFFSET_DESCRIPTOR_LEN: usize = 36;
/// Prepared-descriptor format version (u16).
pub(crate) const OFFSET_DESCRIPTOR_VERSION: usize = 40;
/// Payload protection (u16): 0 = plaintext.
pub(crate) const OFFSET_PROTECTION: usize = 42;
/// Reserved, zero (u32).
#[cfg(test)]
pub(crate) const OFFSET_RESERVED_A: usize = 44;
/// Key id of the protection key (16 bytes), zero when plaintext.
pub(crate) const OFFSET_KEY_ID: usize = 48;
/// Offset of the descriptor records (u64), always [`HEADER_LEN`].
pub(crate) const OFFSET_RECORDS_OFFSET: usize = 64;
/// Offset of the entry table (u64).
pub const OFFSET_ENTRIES_OFFSET: usize = 72;
/// Offset of the subject-id region (u64).
pub(crate) const OFFSET_IDS_OFFSET: usize = 80;
/// Offset of the template region (u64).
pub const OFFSET_TEMPLATES_OFFSET: usize = 88;
/// CRC-32 of the entry table (u32).
pub(crate) const OFFSET_ENTRIES_CRC: usize = 96;
/// Reserved, zero, up to the end of the header (clear segments).
#[cfg(test)]
pub(crate) const OFFSET_RESERVED_B: usize = 100;
/// Sealed segments: the XChaCha20-Poly1305 nonce (24 bytes), in what clear segments reserve.
pub(crate) const OFFSET_NONCE: usize = 100;
/// Sealed segments: reserved, zero (4 bytes), up to the end of the header.
#[cfg(test)]
pub(crate) const OFFSET_RESERVED_C: usize = 124;

/// Entry field offsets (relative to the entry).
pub(crate) const ENTRY_TEMPLATE_OFFSET: usize = 0;
/// Template length in bytes (u32).
pub(crate) const ENTRY_TEMPLATE_LEN: usize = 8;
/// Subject-id offset within the id region (u32).
pub(crate) const ENTRY_ID_OFFSET: usize = 12;
/// Subject-id length in bytes (u8).
pub const ENTRY_ID_LEN: usize = 16;
/// Finger position 0–10 (u8).
pub(crate) const ENTRY_FINGER: usize = 17;
/// Version 1: reserved, zero (u16). Version 2: the same bytes are [`ENTRY_DEMOGRAPHICS_LEN`].
pub(crate) const ENTRY_RESERVED: usize = 18;
/// Length in bytes (u16) of the record's demographic block, 0 for none (version 2). The block
/// lies in the id region right after the record's subject id: an opaque payload (see
/// `crate::people::Demographics`) followed by the CRC-32 of that payload (u32), which the
/// length includes.
pub(crate) const ENTRY_DEMOGRAPHICS_LEN: usize = ENTRY_RESERVED;
/// Bytes of the CRC-32 that closes a demographic block.
pub(crate) const DEMOGRAPHICS_CRC_LEN: usize = 4;
/// Largest demographic payload (the block length is a u16 and includes the CRC).
pub(crate) const MAX_DEMOGRAPHICS_LEN: usize = u16::MAX as usize - DEMOGRAPHICS_CRC_LEN;
/// CRC-32 of the descriptor record (u32).
pub(crate) const ENTRY_DESCRIPTOR_CRC: usize = 20;
/// CRC-32 of the native template bytes (u32).
pub(crate) const ENTRY_TEMPLATE_CRC: usize = 24;
/// CRC-32 of the subject id bytes followed by the finger byte (u32).
pub(crate) const ENTRY_ID_CRC: usize = 28;

/// Most subject-id bytes.
pub(crate) const MAX_SUBJECT_ID_LEN: usize = 64;
/// Highest finger position (ISO/IEC 19794-2: 0 unknown, 1–10 right thumb to left little).
pub const MAX_FINGER: u8 = 10;

/// Shape of the prepared match descriptors a gallery stores: fixed record length and the
/// matcher's format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorLayout {
    /// Bytes per record, a multiple of 8 so that every record is 8-byte aligned in the map.
    pub len: u32,
    /// The matcher's prepared-descriptor format version.
    pub version: u16,
}

/// One record to be written: who, which finger, the native template and its descriptors.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Validated subject id.
    pub subject_id: String,
    /// Finger position 0–10.
    pub finger: u8,
    /// The template in the native `.rlt` format.
    pub template: Vec<u8>,
    /// Prepared match descriptors, exactly `DescriptorLayout::len` bytes.
    pub descriptor: Vec<u8>,
    /// Demographic payload stored with the record (empty for none); at most
    /// `MAX_DEMOGRAPHICS_LEN` bytes.
    pub demographics: Vec<u8>,
}

/// Checks a subject id: 1–64 bytes of printable text (no control characters, so no NUL).
pub(crate) fn validate_subject_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_SUBJECT_ID_LEN {
        return Err(Error::InvalidArgument(format!(
            "subject id must be 1-{MAX_SUBJECT_ID_LEN} bytes, got {}",
            id.len()
        )));
    }
    if id.chars().any(|c| c.is_control()) {
        return Err(Error::InvalidArgument(format!("subject id {id:?} holds control characters")));
    }
    Ok(())
}

/// Checks a finger position (0–10).
pub(crate) fn validate_finger(finger: u8) -> Result<()> {
    if finger > MAX_FINGER {
        return Err(Error::InvalidArgument(format!(
            "finger position {finger} is outside 0-{MAX_FINGER}"
        )));
    }
    Ok(())
}

/// The file name of segment `id` inside the gallery folder.
pub(crate) fn file_name(id: u64) -> String {
    format!("{id:016x}.seg")
}

fn put_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

pub use super::damage::Problem;
pub(crate) use crate::bytes::{get_u16, get_u32, get_u64};

/// Serialises a segment into memory (the caller writes and syncs it).
pub(crate) fn encode(
    segment_id: u64,
    layout: DescriptorLayout,
    records: &[NewRecord],
) -> Result<Vec<u8>> {
    let count = u32::try_from(records.len())
        .map_err(|_| Error::InvalidArgument("too many records for one segment".into()))?;
    let dlen = layout.len as usize;
    if dlen == 0 || dlen % 8 != 0 {
        return Err(Error::InvalidArgument(format!(
            "descriptor length {dlen} is not a positive multiple of 8"
        )));
    }
    let records_off = HEADER_LEN;
    let entries_off = records_off + records.len() * dlen;
    let ids_off = entries_off + records.len() * ENTRY_LEN;
    let block_len = |r: &NewRecord| match r.demographics.len() {
        0 => 0,
        n => n + DEMOGRAPHICS_CRC_LEN,
    };
    let ids_len: usize = records.iter().map(|r| r.subject_id.len() + block_len(r)).sum();
    let version = if records.iter().any(|r| !r.demographics.is_empty()) {
        SEGMENT_VERSION
    } else {
        SEGMENT_VERSION_1
    };
    let templates_off = ids_off + ids_len;
    let templates_len: usize = records.iter().map(|r| r.template.len()).sum();
    let file_len = templates_off + templates_len;
    if u32::try_from(ids_len).is_err() {
        return Err(Error::InvalidArgument("subject ids exceed 4 GiB in one segment".into()));
    }

    let mut out = vec![0u8; file_len];
    let (mut id_pos, mut tpl_pos) = (0usize, 0usize);
    for (i, r) in records.iter().enumerate() {
        validate_subject_id(&r.subject_id)?;
        validate_finger(r.finger)?;
        if r.descriptor.len() != dlen {
            return Err(Error::InvalidArgument(format!(
                "descriptor of {} bytes, the gallery stores {dlen}",
                r.descriptor.len()
            )));
        }
        if r.demographics.len() > MAX_DEMOGRAPHICS_LEN {
            return Err(Error::InvalidArgument(format!(
                "demographic block of {} bytes, at most {MAX_DEMOGRAPHICS_LEN}",
                r.demographics.len()
            )));
        }
        let template_len = u32::try_from(r.template.len())
            .map_err(|_| Error::InvalidArgument("template larger than 4 GiB".into()))?;
        out[records_off + i * dlen..records_off + (i + 1) * dlen].copy_from_slice(&r.descriptor);
        let id = r.subject_id.as_bytes();
        out[ids_off + id_pos..ids_off + id_pos + id.len()].copy_from_slice(id);
        let block_at = ids_off + id_pos + id.len();
        if !r.demographics.is_empty() {
            let d = &r.demographics;
            out[block_at..block_at + d.len()].copy_from_slice(d);
            put_u32(&mut out, block_at + d.len(), crc32fast::hash(d));
        }
        out[templates_off + tpl_pos..templates_off + tpl_pos + r.template.len()]
            .copy_from_slice(&r.template);

        let e = entries_off + i * ENTRY_LEN;
        put_u64(&mut out, e + ENTRY_TEMPLATE_OFFSET, tpl_pos as u64);
        put_u32(&mut out, e + ENTRY_TEMPLATE_LEN, template_len);
        put_u32(&mut out, e + ENTRY_ID_OFFSET, id_pos as u32);
        out[e + ENTRY_ID_LEN] = id.len() as u8; // validated ≤ 64 above
        out[e + ENTRY_FINGER] = r.finger;
        put_u16(&mut out, e + ENTRY_DEMOGRAPHICS_LEN, block_len(r) as u16); // checked above
        put_u32(&mut out, e + ENTRY_DESCRIPTOR_CRC, crc32fast::hash(&r.descriptor));
        put_u32(&mut out, e + ENTRY_TEMPLATE_CRC, crc32fast::hash(&r.template));
        put_u32(&mut out, e + ENTRY_ID_CRC, id_crc(id, r.finger));
        id_pos += id.len() + block_len(r);
        tpl_pos += r.template.len();
    }

    out[OFFSET_MAGIC..OFFSET_MAGIC + 8].copy_from_slice(&SEGMENT_MAGIC);
    put_u16(&mut out, OFFSET_VERSION, version);
    put_u16(&mut out, OFFSET_HEADER_LEN, HEADER_LEN as u16);
    put_u64(&mut out, OFFSET_SEGMENT_ID, segment_id);
    put_u64(&mut out, OFFSET_FILE_LEN, file_len as u64);
    put_u32(&mut out, OFFSET_RECORD_COUNT, count);
    put_u32(&mut out, OFFSET_DESCRIPTOR_LEN, layout.len);
    put_u16(&mut out, OFFSET_DESCRIPTOR_VERSION, layout.version);
    put_u16(&mut out, OFFSET_PROTECTION, PROTECTION_NONE);
    put_u64(&mut out, OFFSET_RECORDS_OFFSET, records_off as u64);
    put_u64(&mut out, OFFSET_ENTRIES_OFFSET, entries_off as u64);
    put_u64(&mut out, OFFSET_IDS_OFFSET, ids_off as u64);
    put_u64(&mut out, OFFSET_TEMPLATES_OFFSET, templates_off as u64);
    let entries_crc = crc32fast::hash(&out[entries_off..ids_off]);
    put_u32(&mut out, OFFSET_ENTRIES_CRC, entries_crc);
    let header_crc = header_crc(&out[..HEADER_LEN]);
    put_u32(&mut out, OFFSET_HEADER_CRC, header_crc);
    Ok(out)
}

/// Serialises a segment sealed under `key` ([`PROTECTION_SEALED`]).
pub(crate) fn encode_sealed(
    segment_id: u64,
    layout: DescriptorLayout,
    records: &[NewRecord],
    key: &GalleryKey,
) -> Result<Vec<u8>> {
    let mut out = encode(segment_id, layout, records)?;
    let nonce = seal::new_nonce()?;
    put_u16(&mut out, OFFSET_PROTECTION, PROTECTION_SEALED);
    out[OFFSET_KEY_ID..OFFSET_KEY_ID + KEY_ID_LEN].copy_from_slice(&key.id());
    out[OFFSET_NONCE..OFFSET_NONCE + NONCE_LEN].copy_from_slice(&nonce);
    let file_len = (out.len() + TAG_LEN) as u64;
    put_u64(&mut out, OFFSET_FILE_LEN, file_len);
    let crc = header_crc(&out[..HEADER_LEN]);
    put_u32(&mut out, OFFSET_HEADER_CRC, crc);
    let (header, payload) = out.split_at_mut(HEADER_LEN);
    let tag = seal::seal_in_place(key, &nonce, header, payload)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Serialises a segment, sealed when a key is given.
pub(crate) fn encode_with(
    segment_id: u64,
    layout: DescriptorLayout,
    records: &[NewRecord],
    key: Option<&GalleryKey>,
) -> Result<Vec<u8>> {
    match key {
        Some(key) => encode_sealed(segment_id, layout, records, key),
        None => encode(segment_id, layout, records),
    }
}

fn id_crc(id: &[u8], finger: u8) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(id);
    h.update(&[finger]);
    h.finalize()
}

/// CRC-32 of a header with its own checksum field taken as zero.
fn header_crc(header: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&header[..OFFSET_HEADER_CRC]);
    h.update(&[0; 4]);
    h.update(&header[OFFSET_HEADER_CRC + 4..HEADER_LEN]);
    h.finalize()
}

/// Writes a segment file durably: create (failing if it exists), write, fsync.
/// The caller fsyncs the folder before naming the segment in the manifest.
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::private_files::write_new_synced(path, bytes).map_err(|e| Error::io(path, e))
}

/// Whether every page of `bytes` (inside one of this process's file maps) is in memory.
#[cfg(unix)]
fn resident(bytes: &[u8]) -> bool {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    let page = *PAGE.get_or_init(|| match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    });
    let start = bytes.as_ptr() as usize / page * page;
    let end = (bytes.as_ptr() as usize + bytes.len()).div_ceil(page) * page;
    let mut pages = [0u8; 8];
    let len = (end - start).min(pages.len() * page);
    // SAFETY: `start..start + len` lies within the map that holds `bytes` (whole pages of it),
    // and `pages` has room for one byte per page of that range.
    let rc = unsafe { libc::mincore(start as *mut libc::c_void, len, pages.as_mut_ptr()) };
    rc == 0 && pages[..len / page].iter().all(|&p| p & 1 == 1)
}

/// A header-checked segment: mapped (clear) or decrypted into memory (sealed).
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    map: FileBytes,
    /// The key a sealed segment was opened with (its sidecar is sealed under the same key).
    key: Option<Arc<GalleryKey>>,
    id: u64,
    count: u32,
    version: u16,
    layout: DescriptorLayout,
    entries_off: usize,
    ids_off: usize,
    templates_off: usize,
    /// End of the template region: the file's end, or where a sealed file's tag starts.
    payload_end: usize,
    /// [`Segment::damaged_ids`], once computed.
    damaged_ids: std::sync::OnceLock<Vec<u32>>,
}

/// What a record's entry says, bounds-checked against the file.
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a> {
    /// Subject id bytes (validated UTF-8 when read through [`Segment::subject`]).
    pub subject_id: &'a [u8],
    /// Finger position.
    pub finger: u8,
    /// Native template bytes.
    pub template: &'a [u8],
    /// The demographic block (payload followed by its CRC-32), empty for none; read the
    /// payload, checked, through [`Segment::demographics`].
    pub demographics_block: &'a [u8],
}

impl Segment {
    /// Maps a clear segment and checks its header and region bounds (no per-record work).
    #[cfg(test)]
    pub(crate) fn open(path: &Path, expected_id: u64, expected_count: u32) -> Result<Segment> {
        Segment::open_with(path, expected_id, expected_count, None)
    }

    /// Opens a segment: a clear one is mapped, a sealed one is read, authenticated and
    /// decrypted into memory under `key`. A sealed segment without its key, or a clear one
    /// where a key is given, is [`Error::GalleryKey`]; a sealed payload that fails
    /// authentication is [`Error::GalleryCorrupt`].
    pub fn open_with(
        path: &Path,
        expected_id: u64,
        expected_count: u32,
        key: Option<&Arc<GalleryKey>>,
    ) -> Result<Segment> {
        let corrupt = |offset: usize, message: String| Error::GalleryCorrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            message,
        };
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let actual_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if actual_len < HEADER_LEN as u64 {
            return Err(corrupt(
                actual_len as usize,
                format!("truncated: {actual_len} bytes, shorter than the {HEADER_LEN}-byte header"),
            ));
        }
        // SAFETY: segment files are immutable once the manifest names them; no process of
        // ours writes to or truncates a segment after that (see the module docs), so the
        // mapping's contents do not change under us.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let h = &map[..HEADER_LEN];
        if h[OFFSET_MAGIC..OFFSET_MAGIC + 8] != SEGMENT_MAGIC {
            return Err(corrupt(
                OFFSET_MAGIC,
                "not a Ridgeline gallery segment (bad magic)".into(),
            ));
        }
        // The reads below are inside the 128-byte header, checked above.
        let field16 = |at| get_u16(h, at).unwrap_or(0);
        let field32 = |at| get_u32(h, at).unwrap_or(0);
        let field64 = |at| get_u64(h, at).unwrap_or(0);
        let version = field16(OFFSET_VERSION);
        if !(SEGMENT_VERSION_1..=SEGMENT_VERSION).contains(&version) {
            return Err(Error::GalleryVersion {
                path: path.to_path_buf(),
                expected: SEGMENT_VERSION,
                got: version,
            });
        }
        let stored_crc = field32(OFFSET_HEADER_CRC);
        let computed = header_crc(h);
        if stored_crc != computed {
            return Err(corrupt(
                OFFSET_HEADER_CRC,
                format!("header checksum {stored_crc:#010x}, computed {computed:#010x}"),
            ));
        }
        if field16(OFFSET_HEADER_LEN) as usize != HEADER_LEN {
            return Err(corrupt(OFFSET_HEADER_LEN, "unexpected header length".into()));
        }
        let protection = field16(OFFSET_PROTECTION);
        let sealed_with = match protection {
            PROTECTION_NONE if key.is_some() => return Err(seal::clear_with_key(path)),
            PROTECTION_NONE => None,
            PROTECTION_SEALED => {
                let stored = &h[OFFSET_KEY_ID..OFFSET_KEY_ID + KEY_ID_LEN];
                seal::check_key(path, key.map(|k| &**k), stored)?;
                key.cloned()
            }
            _ => {
                return Err(corrupt(
                    OFFSET_PROTECTION,
                    format!("payload protection {protection} is not supported by this build"),
                ))
            }
        };
        let id = field64(OFFSET_SEGMENT_ID);
        if id != expected_id {
            return Err(corrupt(
                OFFSET_SEGMENT_ID,
                format!("segment id {id:#x}, the manifest expects {expected_id:#x}"),
            ));
        }
        let file_len = field64(OFFSET_FILE_LEN);
        if file_len != actual_len {
            return Err(corrupt(
                actual_len.min(file_len) as usize,
                format!("file is {actual_len} bytes, its header says {file_len}"),
            ));
        }
        let count = field32(OFFSET_RECORD_COUNT);
        if count != expected_count {
            return Err(corrupt(
                OFFSET_RECORD_COUNT,
                format!("{count} records, the manifest expects {expected_count}"),
            ));
        }
        let layout = DescriptorLayout {
            len: field32(OFFSET_DESCRIPTOR_LEN),
            version: field16(OFFSET_DESCRIPTOR_VERSION),
        };
        if layout.len == 0 || layout.len % 8 != 0 {
            return Err(corrupt(
                OFFSET_DESCRIPTOR_LEN,
                "descriptor length not a multiple of 8".into(),
            ));
        }
        let n = count as u64;
        let tag_len = if sealed_with.is_some() { TAG_LEN as u64 } else { 0 };
        let Some(payload_end) = file_len.checked_sub(tag_len).filter(|&e| e >= HEADER_LEN as u64)
        else {
            return Err(corrupt(OFFSET_FILE_LEN, "file too short for its tag".into()));
        };
        let records_off = field64(OFFSET_RECORDS_OFFSET);
        let entries_off = field64(OFFSET_ENTRIES_OFFSET);
        let ids_off = field64(OFFSET_IDS_OFFSET);
        let templates_off = field64(OFFSET_TEMPLATES_OFFSET);
        let regions_ok = records_off == HEADER_LEN as u64
            && Some(entries_off) == n.checked_mul(layout.len as u64).map(|x| x + records_off)
            && Some(ids_off) == n.checked_mul(ENTRY_LEN as u64).map(|x| x + entries_off)
            && ids_off <= templates_off
            && templates_off <= payload_end;
        if !regions_ok {
            return Err(corrupt(OFFSET_RECORDS_OFFSET, "region offsets are inconsistent".into()));
        }
        let map = match &sealed_with {
            None => FileBytes::Mapped(map),
            Some(key) => {
                let mut owned = OwnedBytes::copy_of(&map);
                drop(map);
                let bytes = owned.as_bytes_mut();
                let (header, rest) = bytes.split_at_mut(HEADER_LEN);
                let (payload, tag) = rest.split_at_mut(payload_end as usize - HEADER_LEN);
                let nonce = seal::array_at::<NONCE_LEN>(header, OFFSET_NONCE).unwrap_or_default();
                let tag = seal::array_at::<TAG_LEN>(tag, 0).unwrap_or_default();
                if !seal::open_in_place(key, &nonce, header, payload, &tag) {
                    return Err(corrupt(
                        HEADER_LEN,
                        "sealed payload fails authentication: the file is damaged or was edited"
                            .into(),
                    ));
                }
                FileBytes::Owned(owned)
            }
        };
        Ok(Segment {
            path: path.to_path_buf(),
            map,
            key: sealed_with,
            id,
            count,
            version,
            layout,
            entries_off: entries_off as usize,
            ids_off: ids_off as usize,
            templates_off: templates_off as usize,
            payload_end: payload_end as usize,
            damaged_ids: std::sync::OnceLock::new(),
        })
    }

    /// The key a sealed segment was opened with (`None`: a clear segment).
    pub(crate) fn key(&self) -> Option<&Arc<GalleryKey>> {
        self.key.as_ref()
    }

    /// The file this segment was mapped from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Segment id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Format version of the file (`SEGMENT_VERSION_1` or `SEGMENT_VERSION`).
    #[cfg(test)]
    pub(crate) fn version(&self) -> u16 {
        self.version
    }

    /// Number of records (deleted ones included).
    pub fn len(&self) -> u32 {
        self.count
    }

    /// Whether the segment holds no records.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Descriptor layout of this segment.
    pub(crate) fn layout(&self) -> DescriptorLayout {
        self.layout
    }

    /// Total bytes of the file.
    pub(crate) fn file_len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Descriptor record `index`.
    pub fn descriptor(&self, index: u32) -> Option<&[u8]> {
        let len = self.layout.len as usize;
        let start = HEADER_LEN + index as usize * len;
        (index < self.count).then(|| &self.map[start..start + len])
    }

    /// Asks the kernel to start reading what comparing record `index` reads (its descriptor and
    /// entry). A search names the records it is about to compare, so a gallery that is not in
    /// the page cache is read as thousands of small reads in flight at once; left to page
    /// faults, it is read one fault per thread at a time, and the kernel's read-around makes
    /// each fault read megabytes the search does not need. Only a hint: a failure changes
    /// nothing but the speed, and heap (decrypted) segments need none.
    pub(crate) fn will_need(&self, index: u32) {
        let FileBytes::Mapped(map) = &self.map else {
            return;
        };
        if index >= self.count {
            return;
        }
        let len = self.layout.len as usize;
        #[cfg(unix)]
        for (at, len) in [
            (HEADER_LEN + index as usize * len, len),
            (self.entries_off + index as usize * ENTRY_LEN, ENTRY_LEN),
        ] {
            let _ = map.advise_range(memmap2::Advice::WillNeed, at, len);
        }
        #[cfg(not(unix))]
        let _ = (map, len);
    }

    /// Whether record `index`'s descriptor is in memory now (`mincore`), so that reading it
    /// costs no disk read. Heap (decrypted) segments always are; where the kernel cannot say,
    /// `false`.
    pub(crate) fn descriptor_resident(&self, index: u32) -> bool {
        if !matches!(self.map, FileBytes::Mapped(_)) {
            return true;
        }
        let Some(descriptor) = self.descriptor(index) else {
            return false;
        };
        #[cfg(unix)]
        return resident(descriptor);
        #[cfg(not(unix))]
        {
            let _ = descriptor;
            false
        }
    }

    fn entry(&self, index: u32) -> Option<&[u8]> {
        let start = self.entries_off + index as usize * ENTRY_LEN;
        (index < self.count).then(|| &self.map[start..start + ENTRY_LEN])
    }

    /// Subject id, finger and template of record `index`, bounds-checked; a damaged entry gives
    /// an error naming the file and offset.
    pub fn entry_view(&self, index: u32) -> Result<EntryView<'_>> {
        let entry_at = self.entries_off + index as usize * ENTRY_LEN;
        let corrupt = |message: &str| Error::GalleryCorrupt {
            path: self.path.clone(),
            offset: entry_at as u64,
            message: format!("record {index}: {message}"),
        };
        let e = self.entry(index).ok_or_else(|| corrupt("no such record"))?;
        let id_off = get_u32(e, ENTRY_ID_OFFSET).unwrap_or(0) as usize;
        let id_len = e[ENTRY_ID_LEN] as usize;
        let finger = e[ENTRY_FINGER];
        let tpl_off = get_u64(e, ENTRY_TEMPLATE_OFFSET).unwrap_or(u64::MAX);
        let tpl_len = get_u32(e, ENTRY_TEMPLATE_LEN).unwrap_or(0) as u64;
        let ids = &self.map[self.ids_off..self.templates_off];
        let templates = &self.map[self.templates_off..self.payload_end];
        let subject_id =
            ids.get(id_off..id_off + id_len).ok_or_else(|| corrupt("subject id out of bounds"))?;
        // Version 1 files hold zero here (reserved), so they have no block.
        let block_len = match self.version {
            SEGMENT_VERSION_1 => 0,
            _ => get_u16(e, ENTRY_DEMOGRAPHICS_LEN).unwrap_or(0) as usize,
        };
        let demographics_block = match block_len {
            0 => &[][..],
            n if n < DEMOGRAPHICS_CRC_LEN => return Err(corrupt("demographic block too short")),
            n => ids
                .get(id_off + id_len..id_off + id_len + n)
                .ok_or_else(|| corrupt("demographic block out of bounds"))?,
        };
        let template = usize::try_from(tpl_off)
            .ok()
            .zip(usize::try_from(tpl_off.saturating_add(tpl_len)).ok())
            .and_then(|(a, b)| templates.get(a..b))
            .ok_or_else(|| corrupt("template out of bounds"))?;
        Ok(EntryView { subject_id, finger, template, demographics_block })
    }

    /// Subject id and finger of record `index` (cheap: touches the entry and the id only),
    /// checked against the record's id checksum: a damaged id is an error, never another
    /// subject's name.
    pub fn subject(&self, index: u32) -> Result<(&str, u8)> {
        let view = self.entry_view(index)?;
        if !self.id_intact(index) {
            return Err(Error::GalleryCorrupt {
                path: self.path.clone(),
                offset: (self.entries_off + index as usize * ENTRY_LEN) as u64,
                message: format!("record {index}: subject id checksum mismatch"),
            });
        }
        let id = std::str::from_utf8(view.subject_id).map_err(|_| Error::GalleryCorrupt {
            path: self.path.clone(),
            offset: (self.entries_off + index as usize * ENTRY_LEN) as u64,
            message: format!("record {index}: subject id is not UTF-8"),
        })?;
        Ok((id, view.finger))
    }

    fn entry_crc(&self, index: u32, field: usize) -> Option<u32> {
        get_u32(self.entry(index)?, field)
    }

    /// Whether record `index`'s subject id and finger match their checksum.
    pub(crate) fn id_intact(&self, index: u32) -> bool {
        self.entry_view(index).is_ok_and(|v| {
            Some(id_crc(v.subject_id, v.finger)) == self.entry_crc(index, ENTRY_ID_CRC)
        })
    }

    /// Whether record `index`'s descriptor matches its checksum.
    pub(crate) fn descriptor_intact(&self, index: u32) -> bool {
        self.descriptor(index).is_some_and(|d| {
            Some(crc32fast::hash(d)) == self.entry_crc(index, ENTRY_DESCRIPTOR_CRC)
        })
    }

    /// Whether record `index`'s template matches its checksum.
    pub(crate) fn template_intact(&self, index: u32) -> bool {
        self.entry_view(index).is_ok_and(|v| {
            Some(crc32fast::hash(v.template)) == self.entry_crc(index, ENTRY_TEMPLATE_CRC)
        })
    }

    /// Whether every part of record `index` (id, descriptor, template) matches its checksum.
    pub fn record_intact(&self, index: u32) -> bool {
        self.id_intact(index) && self.descriptor_intact(index) && self.template_intact(index)
    }

    /// The stored checksums of record `index` (descriptor, template, id): a cheap fingerprint
    /// of its content that reads only the entry.
    pub fn record_checksums(&self, index: u32) -> Option<[u32; 3]> {
        Some([
            self.entry_crc(index, ENTRY_DESCRIPTOR_CRC)?,
            self.entry_crc(index, ENTRY_TEMPLATE_CRC)?,
            self.entry_crc(index, ENTRY_ID_CRC)?,
        ])
    }

    /// Records whose subject id does not match its checksum, ascending; computed once per
    /// segment (it never changes) on first use.
    pub(crate) fn damaged_ids(&self) -> &[u32] {
        self.damaged_ids.get_or_init(|| (0..self.count).filter(|&i| !self.id_intact(i)).collect())
    }

    /// The demographic payload of record `index` after checking its CRC-32; `None` when the
    /// record has no block.
    pub fn demographics(&self, index: u32) -> Result<Option<&[u8]>> {
        let view = self.entry_view(index)?;
        match split_block(view.demographics_block) {
            Ok(None) => Ok(None),
            Ok(Some(payload)) => Ok(Some(payload)),
            Err(message) => Err(Error::GalleryCorrupt {
                path: self.path.clone(),
                offset: (self.entries_off + index as usize * ENTRY_LEN) as u64,
                message: format!("record {index}: {message}"),
            }),
        }
    }

    /// Reads every byte and checks every checksum; returns each problem with its offset.
    pub fn verify(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut report = |offset: usize, message: String| {
            problems.push(Problem { path: self.path.clone(), offset: offset as u64, message })
        };
        let entries = &self.map[self.entries_off..self.ids_off];
        let stored = get_u32(&self.map, OFFSET_ENTRIES_CRC).unwrap_or(0);
        let computed = crc32fast::hash(entries);
        if stored != computed {
            report(
                self.entries_off,
                format!("entry table checksum {stored:#010x}, computed {computed:#010x}"),
            );
        }
        for i in 0..self.count {
            let entry_at = self.entries_off + i as usize * ENTRY_LEN;
            // In range: i < count.
            let e = &self.map[entry_at..entry_at + ENTRY_LEN];
            let crc_at = |at| get_u32(e, at).unwrap_or(0);
            let desc_at = HEADER_LEN + i as usize * self.layout.len as usize;
            if let Some(desc) = self.descriptor(i) {
                if crc32fast::hash(desc) != crc_at(ENTRY_DESCRIPTOR_CRC) {
                    report(desc_at, format!("record {i}: descriptor checksum mismatch"));
                }
            }
            match self.entry_view(i) {
                Err(err) => report(entry_at, err.to_string()),
                Ok(view) => {
                    if id_crc(view.subject_id, view.finger) != crc_at(ENTRY_ID_CRC) {
                        let at = self.ids_off + get_u32(e, ENTRY_ID_OFFSET).unwrap_or(0) as usize;
                        report(at, format!("record {i}: subject id checksum mismatch"));
                    }
                    if let Err(message) = split_block(view.demographics_block) {
                        let at = self.ids_off
                            + get_u32(e, ENTRY_ID_OFFSET).unwrap_or(0) as usize
                            + view.subject_id.len();
                        report(at, format!("record {i}: {message}"));
                    }
                    if crc32fast::hash(view.template) != crc_at(ENTRY_TEMPLATE_CRC) {
                        let rel = get_u64(e, ENTRY_TEMPLATE_OFFSET).unwrap_or(0) as usize;
                        report(
                            self.templates_off + rel,
                            format!("record {i}: template checksum mismatch"),
                        );
                    }
                }
            }
        }
        problems
    }
}

/// A demographic block split into its payload after checking the CRC-32 that closes it.
fn split_block(block: &[u8]) -> std::result::Result<Option<&[u8]>, &'static str> {
    if block.is_empty() {
        return Ok(None);
    }
    let Some(split) = block.len().checked_sub(DEMOGRAPHICS_CRC_LEN) else {
        return Err("demographic block too short");
    };
    let (payload, crc) = block.split_at(split);
    match get_u32(crc, 0) {
        Some(stored) if stored == crc32fast::hash(payload) => Ok(Some(payload)),
        _ => Err("demographic block checksum mismatch"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: usize) -> NewRecord {
        NewRecord {
            subject_id: format!("subject-{i}"),
            finger: (i % 11) as u8,
            template: vec![i as u8; 10 + i],
            descriptor: vec![(i * 7) as u8; 16],
            demographics: Vec::new(),
        }
    }

    const LAYOUT: DescriptorLayout = DescriptorLayout { len: 16, version: 3 };

    #[test]
    fn header_offsets_hold_documented_fields() {
        let records: Vec<_> = (0..3).map(record).collect();
        let b = encode(42, LAYOUT, &records).expect("encode");
        assert_eq!(&b[OFFSET_MAGIC..8], &[0x89, 0x52, 0x4c, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        assert_eq!(get_u16(&b, OFFSET_VERSION), Some(1));
        assert_eq!(get_u16(&b, OFFSET_HEADER_LEN), Some(128));
        assert_eq!(get_u64(&b, OFFSET_SEGMENT_ID), Some(42));
        assert_eq!(get_u64(&b, OFFSET_FILE_LEN), Some(b.len() as u64));
        assert_eq!(get_u32(&b, OFFSET_RECORD_COUNT), Some(3));
        assert_eq!(get_u32(&b, OFFSET_DESCRIPTOR_LEN), Some(16));
        assert_eq!(get_u16(&b, OFFSET_DESCRIPTOR_VERSION), Some(3));
        assert_eq!(get_u16(&b, OFFSET_PROTECTION), Some(0));
        assert_eq!(&b[OFFSET_KEY_ID..OFFSET_KEY_ID + 16], &[0; 16]);
        assert_eq!(get_u32(&b, OFFSET_RESERVED_A), Some(0));
        assert!(b[OFFSET_RESERVED_B..HEADER_LEN].iter().all(|&x| x == 0));
        assert_eq!(get_u64(&b, OFFSET_RECORDS_OFFSET), Some(128));
        let entries = 128 + 3 * 16;
        assert_eq!(get_u64(&b, OFFSET_ENTRIES_OFFSET), Some(entries as u64));
        let ids = entries + 3 * ENTRY_LEN;
        assert_eq!(get_u64(&b, OFFSET_IDS_OFFSET), Some(ids as u64));
        assert_eq!(&b[ids..ids + 9], b"subject-0");
        let templates = ids + 27;
        assert_eq!(get_u64(&b, OFFSET_TEMPLATES_OFFSET), Some(templates as u64));
        assert_eq!(&b[128 + 16..128 + 32], &[7; 16]);
        // Second entry: template at 10, 11 bytes; id at 9, 9 bytes, finger 1.
        let e = entries + ENTRY_LEN;
        assert_eq!(get_u64(&b, e + ENTRY_TEMPLATE_OFFSET), Some(10));
        assert_eq!(get_u32(&b, e + ENTRY_TEMPLATE_LEN), Some(11));
        assert_eq!(get_u32(&b, e + ENTRY_ID_OFFSET), Some(9));
        assert_eq!(b[e + ENTRY_ID_LEN], 9);
        assert_eq!(b[e + ENTRY_FINGER], 1);
        assert_eq!(get_u16(&b, e + ENTRY_RESERVED), Some(0));
        assert_eq!(get_u32(&b, e + ENTRY_DESCRIPTOR_CRC), Some(crc32fast::hash(&[7; 16])));
        assert_eq!(get_u32(&b, e + ENTRY_TEMPLATE_CRC), Some(crc32fast::hash(&[1; 11])));
        assert_eq!(get_u32(&b, e + ENTRY_ID_CRC), Some(crc32fast::hash(b"subject-1\x01")));
        assert_eq!(
            get_u32(&b, OFFSET_ENTRIES_CRC),
            Some(crc32fast::hash(&b[entries..entries + 3 * ENTRY_LEN]))
        );
        assert_eq!(get_u32(&b, OFFSET_HEADER_CRC), Some(header_crc(&b[..HEADER_LEN])));
    }

    #[test]
    fn read_ahead_hints_change_nothing_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(file_name(5));
        let records: Vec<_> = (0..70).map(record).collect();
        write(&path, &encode(5, LAYOUT, &records).expect("encode")).expect("write");
        let seg = Segment::open(&path, 5, 70).expect("open");
        assert!(seg.map.is_mapped());
        let before: Vec<_> = (0..70).map(|i| seg.descriptor(i).map(<[u8]>::to_vec)).collect();
        for i in [0, 69, 3, 3, 70, u32::MAX] {
            seg.will_need(i);
        }
        let after: Vec<_> = (0..70).map(|i| seg.descriptor(i).map(<[u8]>::to_vec)).collect();
        assert_eq!(before, after);
        assert!(seg.verify().is_empty());
        // Just read, so in memory; no such record, no answer but "not in memory".
        assert!(seg.descriptor_resident(69));
        assert!(!seg.descriptor_resident(70));
    }

    #[test]
    fn open_reads_back_and_verify_finds_flips_with_offsets() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(file_name(5));
        let records: Vec<_> = (0..4).map(record).collect();
        let bytes = encode(5, LAYOUT, &records).expect("encode");
        write(&path, &bytes).expect("write");
        let seg = Segment::open(&path, 5, 4).expect("open");
        assert_eq!(seg.subject(2).expect("subject"), ("subject-2", 2));
        assert_eq!(seg.descriptor(3), Some(&[21u8; 16][..]));
        assert!(seg.verify().is_empty());
        drop(seg);

        let templates = get_u64(&bytes, OFFSET_TEMPLATES_OFFSET).expect("field") as usize;
        let flip_at = templates + 10 + 3; // inside record 1's template
        let mut damaged = bytes.clone();
        damaged[flip_at] ^= 1;
        let path2 = dir.path().join(file_name(6));
        let damaged = {
            // Re-stamp the id so the file opens as segment 6 (the header checksum covers it).
            put_u64(&mut damaged, OFFSET_SEGMENT_ID, 6);
            let crc = header_crc(&damaged[..HEADER_LEN]);
            put_u32(&mut damaged, OFFSET_HEADER_CRC, crc);
            damaged
        };
        write(&path2, &damaged).expect("write");
        let seg = Segment::open(&path2, 6, 4).expect("a flipped payload bit still opens");
        let problems = seg.verify();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].offset, (templates + 10) as u64);
        assert_eq!(problems[0].path, path2);
        assert!(problems[0].message.contains("record 1"));

        let path3 = dir.path().join(file_name(7));
        let mut bad_header = bytes.clone();
        bad_header[OFFSET_RECORD_COUNT] ^= 0x10;
        write(&path3, &bad_header).expect("write");
        assert!(matches!(
            Segment::open(&path3, 7, 4),
            Err(Error::GalleryCorrupt { offset, .. }) if offset == OFFSET_HEADER_CRC as u64
        ));

        let path4 = dir.path().join(file_name(8));
        write(&path4, &bytes[..bytes.len() - 5]).expect("write");
        assert!(matches!(Segment::open(&path4, 5, 4), Err(Error::GalleryCorrupt { .. })));
    }

    #[test]
    fn demographic_blocks_follow_their_id_and_make_version_2() {
        let mut records: Vec<_> = (0..3).map(record).collect();
        // Without blocks the file is version 1, byte for byte what version-1 builds write.
        let plain = encode(9, LAYOUT, &records).expect("encode");
        assert_eq!(get_u16(&plain, OFFSET_VERSION), Some(SEGMENT_VERSION_1));
        records[1].demographics = b"\x01\x03\x00Ann".to_vec();
        let b = encode(9, LAYOUT, &records).expect("encode");
        assert_eq!(get_u16(&b, OFFSET_VERSION), Some(2));
        let entries = 128 + 3 * 16;
        let ids = entries + 3 * ENTRY_LEN;
        // Record 1: id at 9 ("subject-1"), its block (6 + 4 bytes) right after; record 2's id
        // after the block.
        let e1 = entries + ENTRY_LEN;
        assert_eq!(get_u16(&b, e1 + ENTRY_DEMOGRAPHICS_LEN), Some(10));
        assert_eq!(get_u16(&b, entries + ENTRY_DEMOGRAPHICS_LEN), Some(0));
        let block = ids + 9 + 9;
        assert_eq!(&b[block..block + 6], b"\x01\x03\x00Ann");
        assert_eq!(get_u32(&b, block + 6), Some(crc32fast::hash(b"\x01\x03\x00Ann")));
        assert_eq!(get_u32(&b, entries + 2 * ENTRY_LEN + ENTRY_ID_OFFSET), Some(9 + 9 + 10));
        assert_eq!(get_u64(&b, OFFSET_TEMPLATES_OFFSET), Some((ids + 27 + 10) as u64));

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(file_name(9));
        write(&path, &b).expect("write");
        let seg = Segment::open(&path, 9, 3).expect("open");
        assert_eq!(seg.version(), 2);
        assert_eq!(seg.demographics(1).expect("checked"), Some(&b"\x01\x03\x00Ann"[..]));
        assert_eq!(seg.demographics(0).expect("checked"), None);
        assert_eq!(seg.subject(2).expect("subject"), ("subject-2", 2));
        assert!(seg.verify().is_empty());
        drop(seg);
        // A flipped bit in the block: reading it fails, verify names its offset.
        let mut damaged = b.clone();
        damaged[block + 4] ^= 1;
        let path = dir.path().join(file_name(10));
        put_u64(&mut damaged, OFFSET_SEGMENT_ID, 10);
        let crc = header_crc(&damaged[..HEADER_LEN]);
        put_u32(&mut damaged, OFFSET_HEADER_CRC, crc);
        write(&path, &damaged).expect("write");
        let seg = Segment::open(&path, 10, 3).expect("open");
        assert!(matches!(seg.demographics(1), Err(Error::GalleryCorrupt { .. })));
        let problems = seg.verify();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].offset, block as u64);
    }

    #[test]
    fn subject_ids_are_validated() {
        assert!(validate_subject_id("A-123 ü").is_ok());
        assert!(validate_subject_id("").is_err());
        assert!(validate_subject_id("a\0b").is_err());
        assert!(validate_subject_id("a\nb").is_err());
        assert!(validate_subject_id(&"x".repeat(65)).is_err());
        assert!(validate_subject_id(&"x".repeat(64)).is_ok());
        assert!(validate_finger(10).is_ok());
        assert!(validate_finger(11).is_err());
    }
}

//! The coarse stage's sidecar file: a segment's coarse descriptors
//! ([`crate::matcher::coarse`]), one fixed-length record per segment record, so that a search
//! maps them instead of pooling every record's cylinders again.
//!
//! The sidecar `<segment id>.idx` (layout in `docs/FORMATS.md`, offsets below) is written with
//! its segment and fsync'd before the manifest names the segment, and mapped at the first
//! search. A missing or damaged sidecar (galleries written before it existed, bit rot) is
//! rebuilt in memory from the segment's descriptors.

use std::path::Path;

use crate::bytes::{FileBytes, OwnedBytes};
use crate::error::{Error, Result};
use crate::matcher::coarse::{Coarse, RECORD_LEN, RECORD_WORDS};
use crate::matcher::PreparedRef;

use super::seal::{self, GalleryKey, KEY_ID_LEN, NONCE_LEN, TAG_LEN};

/// Magic of a coarse-descriptor file.
pub(crate) const COARSE_MAGIC: [u8; 4] = *b"RLCF";
/// Format version of the coarse-descriptor file of a clear gallery.
pub(crate) const COARSE_VERSION: u16 = 1;
/// Format version of a sealed coarse-descriptor file: the version-1 header, then a seal block
/// ([`SEAL_OFFSET_KEY_ID`] to [`SEALED_HEADER_LEN`]), then the records sealed with
/// XChaCha20-Poly1305 (everything before them as associated data), then the 16-byte tag.
pub(crate) const COARSE_VERSION_SEALED: u16 = 2;
/// Sealed files: key id of the gallery key (16 bytes).
pub(crate) const SEAL_OFFSET_KEY_ID: usize = 32;
/// Sealed files: XChaCha20-Poly1305 nonce (24 bytes).
pub(crate) const SEAL_OFFSET_NONCE: usize = 48;
/// Sealed files: reserved, zero (8 bytes).
pub(crate) const SEAL_OFFSET_RESERVED: usize = 72;
/// Sealed files: where the sealed records start.
pub(crate) const SEALED_HEADER_LEN: usize = 80;
/// Header size; the records follow.
pub(crate) const COARSE_HEADER_LEN: usize = 32;
/// Magic (4 bytes).
pub(crate) const OFFSET_MAGIC: usize = 0;
/// Format version (u16).
pub(crate) const OFFSET_VERSION: usize = 4;
/// Reserved, zero (u16).
#[cfg(test)]
pub(crate) const OFFSET_RESERVED_A: usize = 6;
/// Records (u32); equals the segment's.
pub const OFFSET_RECORD_COUNT: usize = 8;
/// Bytes per record (u32), [`RECORD_LEN`].
pub(crate) const OFFSET_RECORD_LEN: usize = 12;
/// CRC-32 of the records (u32).
pub(crate) const OFFSET_BODY_CRC: usize = 16;
/// Reserved, zero, up to the end of the header.
#[cfg(test)]
pub(crate) const OFFSET_RESERVED_B: usize = 20;

/// The coarse descriptors of one segment's records.
#[derive(Debug)]
pub struct CoarseFile {
    bytes: FileBytes,
    records: u32,
}

impl CoarseFile {
    /// Builds the coarse file of a segment's records (`descriptor(i)` for `i < count`); records whose
    /// descriptor does not parse get an empty coarse descriptor (they never make a short list;
    /// verify reports them).
    pub fn build<'a>(
        count: u32,
        descriptor: impl Fn(u32) -> Option<PreparedRef<'a>> + Sync,
    ) -> CoarseFile {
        use rayon::prelude::*;
        let coarse: Vec<Option<Coarse>> =
            (0..count).into_par_iter().map(|r| descriptor(r).map(Coarse::of)).collect();
        let mut words = vec![0u64; COARSE_HEADER_LEN / 8 + coarse.len() * RECORD_WORDS];
        for (r, c) in coarse.iter().enumerate() {
            let at = COARSE_HEADER_LEN / 8 + r * RECORD_WORDS;
            if let Some(c) = c {
                words[at..at + RECORD_WORDS].copy_from_slice(c.words());
            }
        }
        let body_crc = {
            let mut h = crc32fast::Hasher::new();
            for w in &words[COARSE_HEADER_LEN / 8..] {
                h.update(&w.to_le_bytes());
            }
            h.finalize()
        };
        let mut header = [0u8; COARSE_HEADER_LEN];
        header[OFFSET_MAGIC..OFFSET_MAGIC + 4].copy_from_slice(&COARSE_MAGIC);
        header[OFFSET_VERSION..OFFSET_VERSION + 2].copy_from_slice(&COARSE_VERSION.to_le_bytes());
        header[OFFSET_RECORD_COUNT..OFFSET_RECORD_COUNT + 4].copy_from_slice(&count.to_le_bytes());
        header[OFFSET_RECORD_LEN..OFFSET_RECORD_LEN + 4]
            .copy_from_slice(&(RECORD_LEN as u32).to_le_bytes());
        header[OFFSET_BODY_CRC..OFFSET_BODY_CRC + 4].copy_from_slice(&body_crc.to_le_bytes());
        for (w, chunk) in header.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            words[w] = u64::from_le_bytes(b);
        }
        CoarseFile { bytes: FileBytes::Owned(OwnedBytes::from_words(words)), records: count }
    }

    /// The file as words: built and decrypted ones are, and `open` checked a mapped one's
    /// alignment and length.
    #[inline]
    fn all_words(&self) -> &[u64] {
        self.bytes.words()
    }

    /// The words of record `r`, if it exists.
    #[inline]
    pub fn record(&self, r: u32) -> Option<&[u64]> {
        self.records(r, r.checked_add(1)?)
    }

    /// The words of records `start..end`, back to back ([`RECORD_WORDS`] each), if they all
    /// exist: a pass over a run of records takes the slice once and walks it with
    /// `chunks_exact`, instead of a bounds check per record.
    #[inline]
    pub(crate) fn records(&self, start: u32, end: u32) -> Option<&[u64]> {
        if start > end || end > self.records {
            return None;
        }
        let first = COARSE_HEADER_LEN / 8 + start as usize * RECORD_WORDS;
        self.all_words().get(first..first + (end - start) as usize * RECORD_WORDS)
    }

    /// The file bytes.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        self.all_words().iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Writes the file to `path` (a new file) and fsyncs it.
    pub(crate) fn write(&self, path: &Path) -> Result<()> {
        crate::private_files::write_new_synced(path, &self.to_bytes())
            .map_err(|e| Error::io(path, e))
    }

    /// The bytes of a sealed file (`COARSE_VERSION_SEALED`).
    pub(crate) fn to_sealed_bytes(&self, key: &GalleryKey) -> Result<Vec<u8>> {
        let clear = self.to_bytes();
        let mut out =
            Vec::with_capacity(clear.len() + SEALED_HEADER_LEN - COARSE_HEADER_LEN + TAG_LEN);
        out.extend_from_slice(&clear[..COARSE_HEADER_LEN]);
        out[OFFSET_VERSION..OFFSET_VERSION + 2]
            .copy_from_slice(&COARSE_VERSION_SEALED.to_le_bytes());
        let nonce = seal::new_nonce()?;
        out.extend_from_slice(&key.id());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&[0u8; SEALED_HEADER_LEN - SEAL_OFFSET_RESERVED]);
        out.extend_from_slice(&clear[COARSE_HEADER_LEN..]);
        let (header, body) = out.split_at_mut(SEALED_HEADER_LEN);
        let tag = seal::seal_in_place(key, &nonce, header, body)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Writes the file to `path`, sealed under `key` when given.
    pub(crate) fn write_with(&self, path: &Path, key: Option<&GalleryKey>) -> Result<()> {
        match key {
            Some(key) => crate::private_files::write_new_synced(path, &self.to_sealed_bytes(key)?)
                .map_err(|e| Error::io(path, e)),
            None => self.write(path),
        }
    }

    /// Opens a sidecar: a clear one (`key` `None`) is mapped and its header and length checked
    /// against the segment's record count, without per-record work
    /// ([`CoarseFile::verify_file_with`] checks the body); a sealed one is read, authenticated
    /// and decrypted into memory under `key`.
    pub fn open_with(path: &Path, records: u32, key: Option<&GalleryKey>) -> Result<CoarseFile> {
        let Some(key) = key else { return CoarseFile::open(path, records) };
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let mut body = open_sealed(path, &bytes, records, Some(key))?;
        let mut words = vec![0u64; COARSE_HEADER_LEN / 8 + records as usize * RECORD_WORDS];
        for (w, chunk) in
            bytes[..COARSE_HEADER_LEN].chunks_exact(8).chain(body.chunks_exact(8)).enumerate()
        {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            words[w] = u64::from_le_bytes(b);
        }
        zeroize::Zeroize::zeroize(&mut body);
        Ok(CoarseFile { bytes: FileBytes::Owned(OwnedBytes::from_words(words)), records })
    }

    /// Maps a clear coarse file and checks its header and length against the segment's record
    /// count (no per-record work; `verify_file_with` checks the body).
    pub(crate) fn open(path: &Path, records: u32) -> Result<CoarseFile> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // Every search reads every coarse record, so the pages are faulted in here, in one
        // batch (`build_coarse`, or the first search), rather than one fault per 4 KiB.
        // SAFETY: like segments, coarse files are written once before the manifest names their
        // segment and never modified afterwards (see `segment`'s module docs).
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }
            .map_err(|e| Error::io(path, e))?;
        let corrupt = |offset: usize, message: String| Error::GalleryCorrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            message,
        };
        check_header(&map, records).map_err(|(at, message)| corrupt(at, message))?;
        if map.as_ptr() as usize % 8 != 0 {
            return Err(corrupt(0, "mapping is not 8-byte aligned".into()));
        }
        Ok(CoarseFile { bytes: FileBytes::Mapped(map), records })
    }

    /// [`CoarseFile::verify_file_with`] of a clear sidecar.
    #[cfg(test)]
    pub(crate) fn verify_file(path: &Path, records: u32) -> Option<super::damage::Problem> {
        CoarseFile::verify_file_with(path, records, None)
    }

    /// Checks the sidecar of a segment with `records` records, if there is one: header, length
    /// and checksum, and for a sealed one (`key` given) its authentication. A missing sidecar
    /// is no damage (it is rebuilt in memory).
    pub fn verify_file_with(
        path: &Path,
        records: u32,
        key: Option<&GalleryKey>,
    ) -> Option<super::damage::Problem> {
        let problem = |offset: usize, message: String| {
            Some(super::damage::Problem {
                path: path.to_path_buf(),
                offset: offset as u64,
                message,
            })
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return problem(0, format!("cannot read: {e}")),
        };
        if key.is_some() {
            return match open_sealed(path, &bytes, records, key) {
                Ok(mut body) => {
                    let stored = crate::bytes::get_u32(&bytes, OFFSET_BODY_CRC).unwrap_or(0);
                    let computed = crc32fast::hash(&body);
                    zeroize::Zeroize::zeroize(&mut body);
                    (stored != computed).then(|| super::damage::Problem {
                        path: path.to_path_buf(),
                        offset: OFFSET_BODY_CRC as u64,
                        message: format!(
                            "coarse-descriptor checksum {stored:#010x}, computed {computed:#010x}"
                        ),
                    })
                }
                Err(Error::GalleryCorrupt { offset, message, .. }) => {
                    problem(offset as usize, message)
                }
                Err(e) => problem(0, e.to_string()),
            };
        }
        if let Err((at, message)) = check_header(&bytes, records) {
            return problem(at, message);
        }
        let stored = crate::bytes::get_u32(&bytes, OFFSET_BODY_CRC).unwrap_or(0);
        let computed = crc32fast::hash(&bytes[COARSE_HEADER_LEN..]);
        if stored != computed {
            // Point at the first damaged record when the header is fine.
            return problem(
                OFFSET_BODY_CRC,
                format!("coarse-descriptor checksum {stored:#010x}, computed {computed:#010x}"),
            );
        }
        None
    }

    /// Bytes the coarse descriptors take (in memory or mapped).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.all_words().len() * 8
    }

    /// Whether the descriptors are mapped from its sidecar file (rather than built in memory).
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        self.bytes.is_mapped()
    }
}

/// Checks a sealed sidecar's header and key and decrypts its records.
fn open_sealed(
    path: &Path,
    bytes: &[u8],
    records: u32,
    key: Option<&GalleryKey>,
) -> Result<Vec<u8>> {
    let corrupt = |offset: usize, message: String| Error::GalleryCorrupt {
        path: path.to_path_buf(),
        offset: offset as u64,
        message,
    };
    let version = crate::bytes::get_u16(bytes, OFFSET_VERSION);
    if bytes.len() >= COARSE_HEADER_LEN && version == Some(COARSE_VERSION) {
        return Err(seal::clear_with_key(path));
    }
    check_fields(bytes, records, COARSE_VERSION_SEALED).map_err(|(at, m)| corrupt(at, m))?;
    let expected = SEALED_HEADER_LEN + records as usize * RECORD_LEN + TAG_LEN;
    if bytes.len() != expected {
        return Err(corrupt(
            bytes.len().min(expected),
            format!("{} bytes, expected {expected}", bytes.len()),
        ));
    }
    let key =
        seal::check_key(path, key, &bytes[SEAL_OFFSET_KEY_ID..SEAL_OFFSET_KEY_ID + KEY_ID_LEN])?;
    let nonce = seal::array_at::<NONCE_LEN>(bytes, SEAL_OFFSET_NONCE).unwrap_or_default();
    let tag = seal::array_at::<TAG_LEN>(bytes, expected - TAG_LEN).unwrap_or_default();
    let mut body = bytes[SEALED_HEADER_LEN..expected - TAG_LEN].to_vec();
    if !seal::open_in_place(key, &nonce, &bytes[..SEALED_HEADER_LEN], &mut body, &tag) {
        return Err(corrupt(
            SEALED_HEADER_LEN,
            "sealed coarse descriptors fail authentication: damaged or edited".into(),
        ));
    }
    Ok(body)
}

fn check_header(bytes: &[u8], records: u32) -> std::result::Result<(), (usize, String)> {
    check_fields(bytes, records, COARSE_VERSION)?;
    let expected = COARSE_HEADER_LEN + records as usize * RECORD_LEN;
    if bytes.len() != expected {
        return Err((
            bytes.len().min(expected),
            format!("{} bytes, expected {expected}", bytes.len()),
        ));
    }
    Ok(())
}

/// The header fields both versions share; `version` is the one expected.
fn check_fields(
    bytes: &[u8],
    records: u32,
    version: u16,
) -> std::result::Result<(), (usize, String)> {
    if bytes.len() < COARSE_HEADER_LEN || bytes[..4] != COARSE_MAGIC {
        return Err((OFFSET_MAGIC, "not a Ridgeline coarse-descriptor file".into()));
    }
    let field16 = |at| crate::bytes::get_u16(bytes, at).unwrap_or(0);
    let field32 = |at| crate::bytes::get_u32(bytes, at).unwrap_or(0);
    if field16(OFFSET_VERSION) != version {
        return Err((OFFSET_VERSION, format!("format version {}", field16(OFFSET_VERSION))));
    }
    if field32(OFFSET_RECORD_COUNT) != records {
        return Err((
            OFFSET_RECORD_COUNT,
            format!("{} records, the segment has {records}", field32(OFFSET_RECORD_COUNT)),
        ));
    }
    if field32(OFFSET_RECORD_LEN) as usize != RECORD_LEN {
        return Err((OFFSET_RECORD_LEN, format!("record length {}", field32(OFFSET_RECORD_LEN))));
    }
    Ok(())
}

/// File name of a segment's coarse-descriptor sidecar.
pub(crate) fn file_name(segment_id: u64) -> String {
    format!("{segment_id:016x}.idx")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::coarse::{coarse_score, coarse_score_generic, RECORD_VALIDITY};
    use crate::matcher::MatchTemplate;
    use crate::template::Template;
    use crate::test_support::scattered_template;

    fn template(seed: u32, turn: f32, shift: f32) -> Template {
        scattered_template(40, seed, turn, shift)
    }

    #[test]
    fn the_mate_scores_highest_and_the_file_round_trips() {
        let gallery: Vec<MatchTemplate> =
            (0..6).map(|k| MatchTemplate::prepare(&template(k, 0.0, 0.0))).collect();
        let filter = CoarseFile::build(6, |r| gallery.get(r as usize).map(|m| m.view()));
        let probe = Coarse::of(MatchTemplate::prepare(&template(4, 0.1, 4.0)).view());
        let scores: Vec<f32> =
            (0..6).map(|r| filter.record(r).map_or(0.0, |w| coarse_score(&probe, w))).collect();
        let best = (0..6).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(0);
        assert_eq!(best, 4, "scores {scores:?}");
        assert_eq!(
            coarse_score_generic(&probe, filter.record(4).expect("test fixture")),
            scores[4]
        );

        let dir = tempfile::tempdir().expect("test fixture");
        let path = dir.path().join(file_name(3));
        filter.write(&path).expect("test fixture");
        let mapped = CoarseFile::open(&path, 6).expect("test fixture");
        assert!(mapped.is_mapped());
        assert_eq!(mapped.to_bytes(), filter.to_bytes());
        assert_eq!(mapped.record(4), filter.record(4));
        assert!(mapped.record(6).is_none());
        // A run of records is the records back to back; runs past the end do not exist.
        let run = mapped.records(2, 5).expect("records 2..5");
        assert_eq!(run.len(), 3 * RECORD_WORDS);
        for (r, words) in (2..5).zip(run.chunks_exact(RECORD_WORDS)) {
            assert_eq!(Some(words), filter.record(r));
        }
        assert_eq!(mapped.records(6, 6).map(<[u64]>::len), Some(0));
        assert!(mapped.records(5, 7).is_none() && mapped.records(4, 3).is_none());
        assert!(CoarseFile::verify_file(&path, 6).is_none());
        // Header offsets and sizes as documented.
        let bytes = std::fs::read(&path).expect("test fixture");
        assert_eq!(&bytes[OFFSET_MAGIC..OFFSET_MAGIC + 4], b"RLCF");
        assert_eq!(bytes[OFFSET_RECORD_COUNT], 6);
        assert_eq!(bytes[OFFSET_RESERVED_A..OFFSET_RECORD_COUNT], [0, 0]);
        assert!(bytes[OFFSET_RESERVED_B..COARSE_HEADER_LEN].iter().all(|&b| b == 0));
        assert_eq!(
            bytes[OFFSET_RECORD_LEN..OFFSET_RECORD_LEN + 2],
            (RECORD_LEN as u16).to_le_bytes()
        );
        assert_eq!(bytes.len(), COARSE_HEADER_LEN + 6 * RECORD_LEN);
        assert_eq!(RECORD_LEN, 832);
        // Record 4's first slot validity sits at its documented offset.
        let at = COARSE_HEADER_LEN + 4 * RECORD_LEN + RECORD_VALIDITY;
        assert_eq!(
            u64::from_le_bytes(bytes[at..at + 8].try_into().expect("test fixture")),
            filter.record(4).expect("test fixture")[0]
        );
    }

    #[test]
    fn damaged_or_foreign_files_are_refused_or_reported() {
        let one = MatchTemplate::prepare(&template(1, 0.0, 0.0));
        let filter = CoarseFile::build(1, |_| Some(one.view()));
        let dir = tempfile::tempdir().expect("test fixture");
        let path = dir.path().join(file_name(1));
        let mut bytes = filter.to_bytes();
        let last = bytes.len() - 1;
        bytes[last - 40] ^= 0x10;
        std::fs::write(&path, &bytes).expect("test fixture");
        let problem = CoarseFile::verify_file(&path, 1).expect("damage reported");
        assert_eq!(problem.offset, OFFSET_BODY_CRC as u64);
        assert!(CoarseFile::open(&path, 2).is_err(), "record count differs");
        std::fs::write(&path, &bytes[..100]).expect("test fixture");
        assert!(CoarseFile::open(&path, 1).is_err(), "truncated");
        assert!(CoarseFile::verify_file(&dir.path().join("missing.idx"), 1).is_none());
        // A record shorter than the layout scores zero instead of panicking.
        let probe = Coarse::of(one.view());
        assert_eq!(coarse_score(&probe, &[0u64; 3]), 0.0);
    }
}

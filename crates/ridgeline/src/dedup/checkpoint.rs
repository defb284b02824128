//! The de-duplication checkpoint: how far the N:N search got and the pairs it found so far.
//!
//! Records are searched in index order, in blocks; after a block the state is a prefix
//! (`next_record`), the pairs found, and the pairs already compared towards records not searched
//! yet (so that a resumed run does not compare them again), which is all a resumed run needs.
//! The file is replaced
//! atomically (write a temporary file, fsync, rename over the old one, fsync the folder), so a
//! kill at any instant leaves either the previous or the new checkpoint, never a torn one.
//!
//! # Format (version 2), all integers little-endian
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `RLC\x1a` |
//! | 4 | 2 | format version (u16) |
//! | 6 | 2 | reserved, zero |
//! | 8 | 8 | job key (u64): hash of the inputs (paths and contents), settings and engine version; a resume must match it |
//! | 16 | 8 | records in the population (u64) |
//! | 24 | 8 | next record to search (u64); records before it are done |
//! | 32 | 8 | number of pairs that follow (u64) |
//! | 40 | 8 | record pairs compared so far (u64) |
//! | 48 | 8 | search time so far in milliseconds (u64) |
//! | 56 | 4 | CRC-32 (IEEE) of bytes 0–55 and of every pair record |
//! | 60 | 4 | reserved, zero |
//! | 64 | 24·n | pairs: `a` u32, `b` u32 (record indices, a < b), `score` f64, `fmr` f64 |
//! | 64 + 24·n | 8 | number of compared pairs that follow (u64), `m` |
//! | 72 + 24·n | 8·m | compared pairs `a` u32, `b` u32 (a < next record ≤ b) |
//!
//! Version 1 (no compared-pairs section) is still read: such a resume compares those pairs again.
//!
//! # Sealed checkpoint (version 3)
//! A run under a gallery key (an encrypted gallery, or `dedup --key-file`) seals the whole
//! version-2 encoding, so that which records were linked, and how strongly, stays with the key
//! holder. The clear header names the key; `--resume` needs the same key again.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `RLC\x1a` |
//! | 4 | 2 | format version 3 (u16) |
//! | 6 | 2 | reserved, zero |
//! | 8 | 16 | key id ([`crate::gallery::seal`]) |
//! | 24 | 24 | nonce |
//! | 48 | n | XChaCha20 ciphertext of the complete version-2 checkpoint |
//! | 48 + n | 16 | Poly1305 tag; associated data = bytes 0–47 |

use std::io::Write;
use std::path::{Path, PathBuf};

use super::clusters::LinkedPair;
use crate::error::{Error, Result};
use crate::gallery::seal::{self, GalleryKey, KEY_ID_LEN, NONCE_LEN, TAG_LEN};

/// Magic number at the start of a checkpoint.
pub const CHECKPOINT_MAGIC: [u8; 4] = *b"RLC\x1a";
/// Checkpoint format version written by this build.
pub(crate) const CHECKPOINT_VERSION: u16 = 2;
/// The first version, without the compared-pairs section; still read.
pub(crate) const CHECKPOINT_VERSION_WITHOUT_COMPARED: u16 = 1;
/// Offset of the format version.
pub(crate) const OFFSET_VERSION: usize = 4;
/// Offset of the job key.
pub(crate) const OFFSET_JOB_KEY: usize = 8;
/// Offset of the population size.
pub(crate) const OFFSET_RECORDS: usize = 16;
/// Offset of the next record to search.
pub(crate) const OFFSET_NEXT_RECORD: usize = 24;
/// Offset of the pair count.
pub(crate) const OFFSET_PAIR_COUNT: usize = 32;
/// Offset of the number of record pairs compared.
pub(crate) const OFFSET_PAIRS_COMPARED: usize = 40;
/// Offset of the elapsed search time.
pub(crate) const OFFSET_ELAPSED_MS: usize = 48;
/// Offset of the checksum.
pub(crate) const OFFSET_CHECKSUM: usize = 56;
/// Size of the header; pair records start here.
pub(crate) const HEADER_LEN: usize = 64;
/// Size of one pair record.
pub(crate) const PAIR_RECORD_LEN: usize = 24;
/// Size of the count before the compared pairs.
pub(crate) const COMPARED_COUNT_LEN: usize = 8;
/// Size of one compared-pair record.
pub(crate) const COMPARED_RECORD_LEN: usize = 8;
/// Format version of a sealed checkpoint.
pub const CHECKPOINT_VERSION_SEALED: u16 = 3;
/// Offset of a sealed checkpoint's key id.
pub(crate) const SEALED_OFFSET_KEY_ID: usize = 8;
/// Offset of a sealed checkpoint's nonce.
pub(crate) const SEALED_OFFSET_NONCE: usize = SEALED_OFFSET_KEY_ID + KEY_ID_LEN;
/// Size of a sealed checkpoint's clear header (the AEAD's associated data); the ciphertext
/// starts here.
pub(crate) const SEALED_HEADER_LEN: usize = SEALED_OFFSET_NONCE + NONCE_LEN;
/// Associated data prefix that keeps a sealed checkpoint from passing for another sealed file.
pub const SEALED_DOMAIN: &[u8] = b"ridgeline dedup checkpoint";

/// The resumable state of a de-duplication run.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// Identifies the population and settings the state belongs to.
    pub job_key: u64,
    /// Records in the population.
    pub records: u64,
    /// Records `0..next_record` have been searched.
    pub next_record: u64,
    /// Record pairs compared so far (for statistics).
    pub pairs_compared: u64,
    /// Search time so far, milliseconds.
    pub elapsed_ms: u64,
    /// Pairs above threshold found so far.
    pub pairs: Vec<LinkedPair>,
    /// Pairs `(a, b)` already compared with `a < next_record <= b`: proposed towards a record not
    /// searched yet, they must not be compared again when `b` is searched.
    pub compared_ahead: Vec<(u32, u32)>,
}

impl Checkpoint {
    /// Encodes the checkpoint.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            HEADER_LEN
                + PAIR_RECORD_LEN * self.pairs.len()
                + COMPARED_COUNT_LEN
                + COMPARED_RECORD_LEN * self.compared_ahead.len(),
        );
        out.extend_from_slice(&CHECKPOINT_MAGIC);
        out.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        for field in [
            self.job_key,
            self.records,
            self.next_record,
            self.pairs.len() as u64,
            self.pairs_compared,
            self.elapsed_ms,
        ] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&[0; 8]);
        for p in &self.pairs {
            out.extend_from_slice(&p.a.to_le_bytes());
            out.extend_from_slice(&p.b.to_le_bytes());
            out.extend_from_slice(&p.score.to_le_bytes());
            out.extend_from_slice(&p.fmr.to_le_bytes());
        }
        out.extend_from_slice(&(self.compared_ahead.len() as u64).to_le_bytes());
        for &(a, b) in &self.compared_ahead {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
        let crc = checksum(&out);
        out[OFFSET_CHECKSUM..OFFSET_CHECKSUM + 4].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes a checkpoint, checking magic, version, length and checksum.
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let header = bytes.get(..HEADER_LEN).ok_or("shorter than its header")?;
        if header[..4] != CHECKPOINT_MAGIC {
            return Err("not a Ridgeline dedup checkpoint (bad magic number)".into());
        }
        let version = u16::from_le_bytes([header[OFFSET_VERSION], header[OFFSET_VERSION + 1]]);
        if version != CHECKPOINT_VERSION && version != CHECKPOINT_VERSION_WITHOUT_COMPARED {
            return Err(format!(
                "format version {version}, this build reads {CHECKPOINT_VERSION}; start afresh without --resume"
            ));
        }
        let u64_at = |o: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&header[o..o + 8]);
            u64::from_le_bytes(b)
        };
        let pair_count = u64_at(OFFSET_PAIR_COUNT);
        let pairs_end = (pair_count as u128) * PAIR_RECORD_LEN as u128 + HEADER_LEN as u128;
        let compared_count = if version == CHECKPOINT_VERSION_WITHOUT_COMPARED {
            0
        } else {
            let at = usize::try_from(pairs_end).map_err(|_| "pair count too large")?;
            let count = at
                .checked_add(COMPARED_COUNT_LEN)
                .and_then(|end| bytes.get(at..end))
                .ok_or("shorter than its pairs and compared-pair count")?;
            let mut b = [0u8; 8];
            b.copy_from_slice(count);
            u64::from_le_bytes(b) as u128
        };
        let compared_start = if version == CHECKPOINT_VERSION_WITHOUT_COMPARED {
            pairs_end
        } else {
            pairs_end + COMPARED_COUNT_LEN as u128
        };
        let expected_len = compared_start + compared_count * COMPARED_RECORD_LEN as u128;
        if expected_len != bytes.len() as u128 {
            return Err(format!(
                "holds {} bytes, its header announces {expected_len}",
                bytes.len()
            ));
        }
        let mut stored = [0u8; 4];
        stored.copy_from_slice(&header[OFFSET_CHECKSUM..OFFSET_CHECKSUM + 4]);
        if u32::from_le_bytes(stored) != checksum(bytes) {
            return Err("checksum mismatch (damaged file)".into());
        }
        // Both ends were checked against the length above.
        let pairs_end = pairs_end as usize;
        let compared_start = compared_start as usize;
        let pairs = bytes[HEADER_LEN..pairs_end]
            .chunks_exact(PAIR_RECORD_LEN)
            .map(|r| {
                let mut a = [0u8; 4];
                let mut b = [0u8; 4];
                let mut score = [0u8; 8];
                let mut fmr = [0u8; 8];
                a.copy_from_slice(&r[0..4]);
                b.copy_from_slice(&r[4..8]);
                score.copy_from_slice(&r[8..16]);
                fmr.copy_from_slice(&r[16..24]);
                LinkedPair {
                    a: u32::from_le_bytes(a),
                    b: u32::from_le_bytes(b),
                    score: f64::from_le_bytes(score),
                    fmr: f64::from_le_bytes(fmr),
                }
            })
            .collect();
        let compared_ahead = bytes[compared_start..]
            .chunks_exact(COMPARED_RECORD_LEN)
            .map(|r| {
                let mut a = [0u8; 4];
                let mut b = [0u8; 4];
                a.copy_from_slice(&r[0..4]);
                b.copy_from_slice(&r[4..8]);
                (u32::from_le_bytes(a), u32::from_le_bytes(b))
            })
            .collect();
        Ok(Checkpoint {
            job_key: u64_at(OFFSET_JOB_KEY),
            records: u64_at(OFFSET_RECORDS),
            next_record: u64_at(OFFSET_NEXT_RECORD),
            pairs_compared: u64_at(OFFSET_PAIRS_COMPARED),
            elapsed_ms: u64_at(OFFSET_ELAPSED_MS),
            pairs,
            compared_ahead,
        })
    }

    /// Encodes the checkpoint, sealed under `key` (version 3) or clear (version 2).
    pub(crate) fn to_bytes_with(&self, key: Option<&GalleryKey>) -> Result<Vec<u8>> {
        let Some(key) = key else {
            return Ok(self.to_bytes());
        };
        let clear = zeroize::Zeroizing::new(self.to_bytes());
        let nonce = seal::new_nonce()?;
        let mut out = Vec::with_capacity(SEALED_HEADER_LEN + clear.len() + TAG_LEN);
        out.extend_from_slice(&CHECKPOINT_MAGIC);
        out.extend_from_slice(&CHECKPOINT_VERSION_SEALED.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&key.id());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&clear);
        let (header, payload) = out.split_at_mut(SEALED_HEADER_LEN);
        let tag = seal::seal_in_place(key, &nonce, &sealed_aad(header), payload)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Decodes a clear or sealed checkpoint read from `path`. A sealed one needs its key: none,
    /// or another key, is [`Error::GalleryKey`]; a clear one read with a key is refused too
    /// (the run that wrote it was not protected, the one resuming expects protection).
    pub fn from_bytes_with(path: &Path, bytes: &[u8], key: Option<&GalleryKey>) -> Result<Self> {
        let corrupt = |message: String| Error::Checkpoint { path: path.into(), message };
        let version = seal::array_at::<2>(bytes, OFFSET_VERSION).map(u16::from_le_bytes);
        if bytes.get(..4) != Some(&CHECKPOINT_MAGIC[..])
            || version != Some(CHECKPOINT_VERSION_SEALED)
        {
            if key.is_some() && bytes.get(..4) == Some(&CHECKPOINT_MAGIC[..]) {
                return Err(Error::GalleryKey {
                    path: path.into(),
                    message: "a clear checkpoint (its run had no key), but a key was given; \
                              resume without the key, or run without --resume to start afresh"
                        .into(),
                });
            }
            return Self::from_bytes(bytes).map_err(corrupt);
        }
        let header = bytes
            .get(..SEALED_HEADER_LEN)
            .ok_or_else(|| corrupt("shorter than its header".into()))?;
        let key = seal::check_key(path, key, &header[SEALED_OFFSET_KEY_ID..SEALED_OFFSET_NONCE])?;
        if bytes.len() < SEALED_HEADER_LEN + TAG_LEN {
            return Err(corrupt("shorter than its header and tag".into()));
        }
        let nonce: [u8; NONCE_LEN] = seal::array_at(header, SEALED_OFFSET_NONCE)
            .ok_or_else(|| corrupt("shorter than its header".into()))?;
        let tag: [u8; TAG_LEN] = seal::array_at(bytes, bytes.len() - TAG_LEN)
            .ok_or_else(|| corrupt("shorter than its tag".into()))?;
        let mut clear =
            zeroize::Zeroizing::new(bytes[SEALED_HEADER_LEN..bytes.len() - TAG_LEN].to_vec());
        if !seal::open_in_place(key, &nonce, &sealed_aad(header), &mut clear, &tag) {
            return Err(corrupt(
                "does not authenticate under the key (damaged or edited file)".into(),
            ));
        }
        let inner = seal::array_at::<2>(&clear, OFFSET_VERSION).map(u16::from_le_bytes);
        if inner != Some(CHECKPOINT_VERSION) {
            return Err(corrupt("its sealed contents are not a version-2 checkpoint".into()));
        }
        Self::from_bytes(&clear).map_err(corrupt)
    }

    /// Reads a clear checkpoint file.
    pub fn read(path: &Path) -> Result<Self> {
        Self::read_with(path, None)
    }

    /// Reads a checkpoint file, sealed under `key` or clear ([`Checkpoint::from_bytes_with`]).
    pub fn read_with(path: &Path, key: Option<&GalleryKey>) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes_with(path, &bytes, key)
    }

    /// Replaces the checkpoint file atomically and durably, clear.
    #[cfg(test)]
    pub(crate) fn write_atomic(&self, path: &Path) -> Result<()> {
        self.write_atomic_with(path, None)
    }

    /// Replaces the checkpoint file atomically and durably, sealed under `key` if given.
    pub(crate) fn write_atomic_with(&self, path: &Path, key: Option<&GalleryKey>) -> Result<()> {
        write_file_atomic(path, &self.to_bytes_with(key)?)
    }
}

/// The associated data of a sealed checkpoint: a domain and its clear header.
fn sealed_aad(header: &[u8]) -> Vec<u8> {
    [SEALED_DOMAIN, header].concat()
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new file: temporary
/// file, fsync, rename, fsync of the folder.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut temporary = PathBuf::from(path);
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    temporary.set_file_name(name);
    {
        // Owner-only: checkpoints and reports carry identities.
        let mut file = crate::private_files::create_file(&temporary, false)
            .map_err(|e| Error::io(&temporary, e))?;
        file.write_all(bytes).map_err(|e| Error::io(&temporary, e))?;
        file.sync_all().map_err(|e| Error::io(&temporary, e))?;
    }
    std::fs::rename(&temporary, path).map_err(|e| Error::io(path, e))?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // Directories can be opened for fsync on Unix; elsewhere the rename is as durable as it gets.
    #[cfg(unix)]
    std::fs::File::open(folder).and_then(|d| d.sync_all()).map_err(|e| Error::io(folder, e))?;
    Ok(())
}

fn checksum(bytes: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&bytes[..OFFSET_CHECKSUM.min(bytes.len())]);
    hasher.update(bytes.get(HEADER_LEN..).unwrap_or(&[]));
    hasher.finalize()
}

/// A stable 64-bit key (FNV-1a) over the parts that define a job: record ids and fingers, the
/// threshold and the search mode. Not `std`'s hasher, whose seed changes between runs.
pub fn job_key<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    for part in parts {
        for &byte in part.iter().chain((part.len() as u64).to_le_bytes().iter()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            job_key: 0x0123_4567_89ab_cdef,
            records: 1000,
            next_record: 512,
            pairs_compared: 4242,
            elapsed_ms: 1234,
            pairs: vec![
                LinkedPair { a: 3, b: 700, score: 9.5, fmr: 3.1e-10 },
                LinkedPair { a: 10, b: 11, score: 12.0, fmr: 1e-12 },
            ],
            compared_ahead: vec![(7, 512), (500, 900)],
        }
    }

    #[test]
    fn round_trip() {
        let c = sample();
        assert_eq!(Checkpoint::from_bytes(&c.to_bytes()), Ok(c));
    }

    #[test]
    fn offsets_hold_documented_fields() {
        let c = sample();
        let bytes = c.to_bytes();
        let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes"));
        assert_eq!(&bytes[..4], b"RLC\x1a");
        assert_eq!(u16::from_le_bytes([bytes[OFFSET_VERSION], bytes[OFFSET_VERSION + 1]]), 2);
        assert_eq!(&bytes[6..8], &[0, 0]);
        assert_eq!(u64_at(OFFSET_JOB_KEY), c.job_key);
        assert_eq!(u64_at(OFFSET_RECORDS), 1000);
        assert_eq!(u64_at(OFFSET_NEXT_RECORD), 512);
        assert_eq!(u64_at(OFFSET_PAIR_COUNT), 2);
        assert_eq!(u64_at(OFFSET_PAIRS_COMPARED), 4242);
        assert_eq!(u64_at(OFFSET_ELAPSED_MS), 1234);
        assert_eq!(&bytes[60..64], &[0; 4]);
        let compared_at = HEADER_LEN + 2 * PAIR_RECORD_LEN;
        assert_eq!(bytes.len(), compared_at + COMPARED_COUNT_LEN + 2 * COMPARED_RECORD_LEN);
        let first = &bytes[HEADER_LEN..HEADER_LEN + PAIR_RECORD_LEN];
        assert_eq!(u32::from_le_bytes(first[0..4].try_into().expect("4")), 3);
        assert_eq!(u32::from_le_bytes(first[4..8].try_into().expect("4")), 700);
        assert_eq!(f64::from_le_bytes(first[8..16].try_into().expect("8")), 9.5);
        assert_eq!(f64::from_le_bytes(first[16..24].try_into().expect("8")), 3.1e-10);
        assert_eq!(u64_at(compared_at), 2);
        let second = compared_at + COMPARED_COUNT_LEN + COMPARED_RECORD_LEN;
        assert_eq!(u32::from_le_bytes(bytes[second..second + 4].try_into().expect("4")), 500);
        assert_eq!(u32::from_le_bytes(bytes[second + 4..second + 8].try_into().expect("4")), 900);
    }

    #[test]
    fn reads_version_1_without_compared_pairs() {
        let mut c = sample();
        let mut bytes = c.to_bytes();
        bytes.truncate(HEADER_LEN + 2 * PAIR_RECORD_LEN);
        bytes[OFFSET_VERSION] = 1;
        let crc = checksum(&bytes);
        bytes[OFFSET_CHECKSUM..OFFSET_CHECKSUM + 4].copy_from_slice(&crc.to_le_bytes());
        c.compared_ahead.clear();
        assert_eq!(Checkpoint::from_bytes(&bytes), Ok(c));
    }

    #[test]
    fn refuses_damage() {
        let bytes = sample().to_bytes();
        for cut in [0, 10, HEADER_LEN, HEADER_LEN + 2 * PAIR_RECORD_LEN, bytes.len() - 1] {
            assert!(Checkpoint::from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        for flip in [0, OFFSET_VERSION, OFFSET_NEXT_RECORD, HEADER_LEN + 5, bytes.len() - 1] {
            let mut bad = bytes.clone();
            bad[flip] ^= 0x10;
            assert!(Checkpoint::from_bytes(&bad).is_err(), "flip at {flip}");
        }
    }

    fn key(byte: u8) -> GalleryKey {
        GalleryKey::from_bytes(&[byte; 32]).expect("key")
    }

    #[test]
    fn sealed_checkpoints_round_trip_and_hold_their_documented_fields() {
        let c = sample();
        let k = key(1);
        let path = Path::new("r.json.checkpoint");
        let clear = c.to_bytes();
        let sealed = c.to_bytes_with(Some(&k)).expect("seal");
        assert_eq!(&sealed[..4], b"RLC\x1a");
        assert_eq!(u16::from_le_bytes([sealed[OFFSET_VERSION], sealed[OFFSET_VERSION + 1]]), 3);
        assert_eq!(&sealed[6..8], &[0, 0]);
        assert_eq!(&sealed[SEALED_OFFSET_KEY_ID..SEALED_OFFSET_KEY_ID + 16], &k.id());
        assert_eq!((SEALED_OFFSET_NONCE, SEALED_HEADER_LEN), (24, 48));
        assert_eq!(sealed.len(), SEALED_HEADER_LEN + clear.len() + TAG_LEN);
        // Nothing of the clear encoding after its magic shows: not the job key, not a pair.
        let body = &sealed[SEALED_HEADER_LEN..];
        for window in [&clear[8..16], &clear[HEADER_LEN..HEADER_LEN + 8]] {
            assert!(!body.windows(8).any(|w| w == window));
        }
        assert_eq!(Checkpoint::from_bytes_with(path, &sealed, Some(&k)).expect("opens"), c);
        // A fresh nonce each time: two writes of one state differ.
        assert_ne!(sealed, c.to_bytes_with(Some(&k)).expect("seal"));
        assert_eq!(c.to_bytes_with(None).expect("clear"), clear);
    }

    #[test]
    fn a_sealed_checkpoint_refuses_a_missing_or_wrong_key_and_damage() {
        let c = sample();
        let path = Path::new("r.json.checkpoint");
        let sealed = c.to_bytes_with(Some(&key(1))).expect("seal");
        for k in [None, Some(key(2))] {
            match Checkpoint::from_bytes_with(path, &sealed, k.as_ref()) {
                Err(Error::GalleryKey { .. }) => {}
                other => panic!("{k:?}: {other:?}"),
            }
        }
        // A clear checkpoint read with a key: the resuming run expects protection.
        let clear = c.to_bytes();
        assert!(matches!(
            Checkpoint::from_bytes_with(path, &clear, Some(&key(1))),
            Err(Error::GalleryKey { .. })
        ));
        assert_eq!(Checkpoint::from_bytes_with(path, &clear, None).expect("clear"), c);
        for flip in [6, SEALED_OFFSET_NONCE, SEALED_HEADER_LEN, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[flip] ^= 0x10;
            match Checkpoint::from_bytes_with(path, &bad, Some(&key(1))) {
                Err(Error::Checkpoint { .. }) => {}
                other => panic!("flip at {flip}: {other:?}"),
            }
        }
        for cut in [0, 7, SEALED_HEADER_LEN, SEALED_HEADER_LEN + TAG_LEN - 1, sealed.len() - 1] {
            let got = Checkpoint::from_bytes_with(path, &sealed[..cut], Some(&key(1)));
            assert!(got.is_err(), "cut at {cut}");
        }
    }

    /// Sixteen records; each even record and the next are duplicates.
    struct Pairs;

    impl crate::dedup::Population for Pairs {
        fn len(&self) -> usize {
            16
        }
        fn candidates(&self, record: u32) -> Result<Vec<u32>> {
            Ok((0..16).filter(|&r| r != record).collect())
        }
        fn finger_fmrs(&self, a: u32, b: u32) -> Result<Vec<f64>> {
            Ok(vec![if a % 2 == 0 && b == a + 1 { 1e-12 } else { 0.5 }])
        }
    }

    #[test]
    fn a_search_under_a_key_checkpoints_sealed_and_resumes_only_with_it() {
        use crate::dedup::{search, Resumable, SearchConfig};
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("r.json.checkpoint");
        let config = SearchConfig {
            block_records: 4,
            checkpoint_interval: std::time::Duration::ZERO,
            ..SearchConfig::default()
        };
        let never = AtomicBool::new(false);
        let reference = search(&Pairs, &config, 9, None, &never, &mut |_, _| {}).expect("runs");
        assert_eq!(reference.pairs.len(), 8);

        // Stopped after the first block: the checkpoint on disk is sealed.
        let k = key(1);
        let stop = AtomicBool::new(false);
        let sealed = Resumable { path: &path, resume: false, key: Some(&k) };
        let first = search(&Pairs, &config, 9, Some(sealed), &stop, &mut |done, _| {
            if done > 0 {
                stop.store(true, Ordering::Relaxed);
            }
        })
        .expect("runs");
        assert!(!first.complete);
        let bytes = std::fs::read(&path).expect("checkpoint");
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), CHECKPOINT_VERSION_SEALED);
        assert!(matches!(Checkpoint::read(&path), Err(Error::GalleryKey { .. })));

        // Without the key or with another: refused, and the checkpoint is left as it was.
        for wrong in [None, Some(key(2))] {
            let resume = Resumable { path: &path, resume: true, key: wrong.as_ref() };
            let got = search(&Pairs, &config, 9, Some(resume), &never, &mut |_, _| {});
            assert!(matches!(got, Err(Error::GalleryKey { .. })), "{wrong:?}: {got:?}");
            assert_eq!(std::fs::read(&path).expect("checkpoint"), bytes);
        }
        let resume = Resumable { path: &path, resume: true, key: Some(&k) };
        let resumed =
            search(&Pairs, &config, 9, Some(resume), &never, &mut |_, _| {}).expect("runs");
        assert_eq!(resumed.stats.resumed_from, Some(4));
        assert_eq!(resumed.pairs, reference.pairs);
        assert_eq!(resumed.stats.pairs_compared, reference.stats.pairs_compared);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("run.ckpt");
        let mut c = sample();
        c.write_atomic(&path).expect("first write");
        c.next_record = 1000;
        c.write_atomic(&path).expect("second write");
        assert_eq!(Checkpoint::read(&path).expect("reads"), c);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("lists")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run.ckpt")]);
    }
}

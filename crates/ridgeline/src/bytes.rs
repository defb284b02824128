//! Bounds-checked byte reading: big-endian reading and writing shared by every interchange
//! codec, the little-endian reads of the gallery's own files, and the one type that holds such
//! a file's bytes, mapped or in memory ([`FileBytes`]).
//!
//! Every read names the format and the byte offset in its error, so a bad record is reported
//! as "iso19794-2:2005: … (at byte offset 37)" rather than as a panic.

use crate::error::{Error, Result};

/// A cursor over untrusted bytes; every read is checked against the end of the input.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    format: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], format: &'static str) -> Self {
        Reader { bytes, pos: 0, format }
    }

    /// Current offset from the start of the input.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left after the cursor.
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// A format error at the current offset.
    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::Format { format: self.format, message: message.into(), offset: self.pos }
    }

    /// A format error at a given offset.
    pub(crate) fn error_at(&self, offset: usize, message: impl Into<String>) -> Error {
        Error::Format { format: self.format, message: message.into(), offset }
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        let end =
            self.pos.checked_add(len).filter(|&end| end <= self.bytes.len()).ok_or_else(|| {
                self.error(format!(
                    "truncated: {len} bytes needed, {} left",
                    self.bytes.len() - self.pos
                ))
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    pub(crate) fn skip(&mut self, len: usize) -> Result<()> {
        self.take(len).map(|_| ())
    }

    /// A reader over the next `len` bytes only (offsets stay absolute); this one skips them.
    pub(crate) fn sub(&mut self, len: usize) -> Result<Reader<'a>> {
        let start = self.pos;
        self.take(len)?;
        Ok(Reader { bytes: &self.bytes[..start + len], pos: start, format: self.format })
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Big-endian output buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) out: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.out.extend_from_slice(v);
    }
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }
    /// Overwrites a big-endian u32 written earlier (length fields known only at the end).
    pub(crate) fn patch_u32(&mut self, at: usize, v: u32) {
        self.out[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }
}

/// Little-endian reads of the gallery's files that fail (with `None`) instead of panicking past the end.
pub(crate) fn get_u16(buf: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(buf.get(at..at.checked_add(2)?)?.try_into().ok()?))
}
pub(crate) fn get_u32(buf: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(buf.get(at..at.checked_add(4)?)?.try_into().ok()?))
}
pub(crate) fn get_u64(buf: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(buf.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded_and_report_offsets() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5], "test");
        assert_eq!(r.u16().expect("2 bytes"), 0x0102);
        assert_eq!(r.u16().expect("2 bytes"), 0x0304);
        let err = r.u16().expect_err("past the end");
        assert!(matches!(err, Error::Format { offset: 4, .. }), "{err}");
        let mut r = Reader::new(&[0; 4], "test");
        assert!(r.take(usize::MAX).is_err());
        assert_eq!(r.pos(), 0);
    }
}

/// The bytes of one of the gallery's files: mapped from a clear file, or in memory (decrypted
/// from a sealed file, or built). Either way they start 8-byte aligned (records are read in
/// place as u64 words) and readers do not care which.
#[derive(Debug)]
pub(crate) enum FileBytes {
    /// A read-only map of a file that is never modified while named by a manifest.
    Mapped(memmap2::Mmap),
    /// Heap bytes, wiped when dropped.
    Owned(OwnedBytes),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Owned(o) => o.as_bytes(),
        }
    }
}

impl FileBytes {
    /// The bytes as native-endian u64 words (the gallery's files are little-endian, and so are
    /// the targets that read them in place); empty when they do not start 8-byte aligned or
    /// their length is not a multiple of 8, which the opener checks and reports first.
    #[inline]
    pub(crate) fn words(&self) -> &[u64] {
        let bytes: &[u8] = self;
        if bytes.as_ptr() as usize % 8 != 0 || bytes.len() % 8 != 0 {
            return &[];
        }
        // SAFETY: the start is 8-byte aligned and the length a multiple of 8 (checked above),
        // the bytes live as long as `self`, and every bit pattern is a valid u64.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u64>(), bytes.len() / 8) }
    }

    /// Whether the bytes are mapped from their file.
    #[cfg(test)]
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, FileBytes::Mapped(_))
    }
}

/// Heap bytes that start 8-byte aligned, like a map (records are read as u64 words), and are
/// wiped when dropped (they may be decrypted personal data).
pub(crate) struct OwnedBytes {
    words: Vec<u64>,
    len: usize,
}

impl OwnedBytes {
    /// A copy of `bytes`.
    pub(crate) fn copy_of(bytes: &[u8]) -> OwnedBytes {
        let mut owned = OwnedBytes { words: vec![0u64; bytes.len().div_ceil(8)], len: bytes.len() };
        owned.as_bytes_mut().copy_from_slice(bytes);
        owned
    }

    /// The bytes of `words` (native-endian), without copying.
    pub(crate) fn from_words(words: Vec<u64>) -> OwnedBytes {
        let len = words.len() * 8;
        OwnedBytes { words, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        // SAFETY: the words own at least `len` initialised bytes; u8 has no alignment needs.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }

    pub(crate) fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_bytes`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }
}

impl Drop for OwnedBytes {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.words);
    }
}

impl std::fmt::Debug for OwnedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OwnedBytes({} bytes)", self.len)
    }
}

//! Protection at rest: the gallery key and the AEAD (XChaCha20-Poly1305) that seals the
//! payload of segment files and coarse sidecars, and authenticates the manifest.
//!
//! A key design decision: **decryption happens at open, never per search**. A sealed file is
//! read and decrypted into memory once; searches then run on plaintext in memory exactly as
//! on a mapped clear file. Each sealed file gets a fresh random 192-bit nonce, so one key can
//! seal any number of files without nonce bookkeeping. The clear header of a file is the
//! AEAD's associated data: it stays readable (magic, version, counts, key id) but an edit to
//! it fails authentication like an edit to the payload.
//!
//! The key id written into every sealed file is the first `KEY_ID_LEN` (16) bytes of
//! SHA-256(`KEY_ID_DOMAIN` ‖ key): it tells a wrong key from a damaged file without revealing
//! the key, and is domain-separated so that it is no hash of the key used anywhere else.

use std::path::Path;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Bytes of a gallery key.
pub const KEY_LEN: usize = 32;
/// Bytes of the key id stored in sealed files.
pub(crate) const KEY_ID_LEN: usize = 16;
/// Bytes of an XChaCha20-Poly1305 nonce.
pub(crate) const NONCE_LEN: usize = 24;
/// Bytes of a Poly1305 authentication tag.
pub(crate) const TAG_LEN: usize = 16;
/// Prefix hashed before the key to make its id.
pub(crate) const KEY_ID_DOMAIN: &[u8] = b"ridgeline gallery key id v1\0";
/// Largest key file read (a key with surrounding whitespace, never a stray big file).
const MAX_KEY_FILE_LEN: u64 = 256;

/// A 256-bit gallery key. The bytes are wiped from memory when the key is dropped and never
/// printed (`Debug` shows the key id).
#[derive(Clone)]
pub struct GalleryKey {
    bytes: Zeroizing<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for GalleryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GalleryKey {{ id: {} }}", self.id_hex())
    }
}

impl PartialEq for GalleryKey {
    fn eq(&self, other: &Self) -> bool {
        // Ids, not bytes: no timing difference depends on the key itself.
        self.id() == other.id()
    }
}
impl Eq for GalleryKey {}

impl GalleryKey {
    /// A key from exactly [`KEY_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<GalleryKey> {
        let array: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::InvalidArgument(format!("a gallery key is {KEY_LEN} bytes, got {}", bytes.len()))
        })?;
        Ok(GalleryKey { bytes: Zeroizing::new(array) })
    }

    /// A key from the contents of a key file: exactly 32 raw bytes, or 64 hexadecimal
    /// characters (surrounding whitespace allowed).
    pub fn from_file_contents(contents: &[u8]) -> Result<GalleryKey> {
        if contents.len() == KEY_LEN {
            return GalleryKey::from_bytes(contents);
        }
        let text = contents.trim_ascii();
        if text.len() == 2 * KEY_LEN && text.iter().all(u8::is_ascii_hexdigit) {
            let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
            for (i, pair) in text.chunks_exact(2).enumerate() {
                let nibble = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                bytes[i] = nibble(pair[0]) << 4 | nibble(pair[1]);
            }
            return Ok(GalleryKey { bytes });
        }
        Err(Error::InvalidArgument(format!(
            "a key file holds {KEY_LEN} raw bytes or {} hexadecimal characters; this one has {} bytes",
            2 * KEY_LEN,
            contents.len()
        )))
    }

    /// Reads a key file ([`GalleryKey::from_file_contents`]).
    pub fn read_file(path: &Path) -> Result<GalleryKey> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut contents = Zeroizing::new(Vec::new());
        file.take(MAX_KEY_FILE_LEN + 1)
            .read_to_end(&mut contents)
            .map_err(|e| Error::io(path, e))?;
        GalleryKey::from_file_contents(&contents).map_err(|e| match e {
            Error::InvalidArgument(m) => Error::InvalidArgument(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<GalleryKey> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom(&mut bytes[..])?;
        Ok(GalleryKey { bytes })
    }

    /// The key in hexadecimal, for writing a key file (wiped when dropped).
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(2 * KEY_LEN));
        for b in self.bytes.iter() {
            out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            out.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
        }
        out
    }

    /// The key id stored in sealed files.
    pub fn id(&self) -> [u8; KEY_ID_LEN] {
        let mut h = Sha256::new();
        h.update(KEY_ID_DOMAIN);
        h.update(&self.bytes[..]);
        let digest = h.finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        id
    }

    /// The key id in hexadecimal (for messages and the audit trail).
    pub fn id_hex(&self) -> String {
        hex(&self.id())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&*self.bytes).into())
    }
}

/// Lower-case hexadecimal of key ids (the audit trail's own helper would close an import cycle).
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn getrandom(buf: &mut [u8]) -> Result<()> {
    use chacha20poly1305::aead::rand_core::RngCore;
    chacha20poly1305::aead::OsRng.try_fill_bytes(buf).map_err(|e| {
        Error::io(Path::new("<system random generator>"), std::io::Error::other(e.to_string()))
    })
}

/// A fresh random nonce.
pub(crate) fn new_nonce() -> Result<[u8; NONCE_LEN]> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom(&mut nonce)?;
    Ok(nonce)
}

/// Encrypts `buf` in place under `key` and `nonce`, authenticating `aad` with it; returns the
/// tag.
pub fn seal_in_place(
    key: &GalleryKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; TAG_LEN]> {
    let tag = key
        .cipher()
        .encrypt_in_place_detached(XNonce::from_slice(nonce), aad, buf)
        .map_err(|_| Error::InvalidArgument("payload too large to seal".into()))?;
    Ok(tag.into())
}

/// Decrypts `buf` in place; `false` (and `buf` unchanged in meaning) when the tag does not
/// authenticate `aad` and the ciphertext under this key: a damaged or edited file.
#[must_use]
pub(crate) fn open_in_place(
    key: &GalleryKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; TAG_LEN],
) -> bool {
    key.cipher().decrypt_in_place_detached(XNonce::from_slice(nonce), aad, buf, tag.into()).is_ok()
}

/// Reads a fixed-size array at `at`, `None` past the end.
pub(crate) fn array_at<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Checks that a file's key id is the key's: a missing key or another key is a
/// [`Error::GalleryKey`], never a decryption attempt that would read as damage.
pub(crate) fn check_key<'k>(
    path: &Path,
    key: Option<&'k GalleryKey>,
    stored_id: &[u8],
) -> Result<&'k GalleryKey> {
    let Some(key) = key else {
        return Err(Error::GalleryKey {
            path: path.to_path_buf(),
            message: format!(
                "encrypted (key id {}); give its key (--key-file, RIDGELINE_KEY_FILE)",
                hex(stored_id)
            ),
        });
    };
    if key.id()[..] != *stored_id {
        return Err(Error::GalleryKey {
            path: path.to_path_buf(),
            message: format!(
                "encrypted under key id {}, the key given has id {}: wrong key",
                hex(stored_id),
                key.id_hex()
            ),
        });
    }
    Ok(key)
}

/// The error of a clear file opened with a key: the caller expects protection the file does
/// not have.
pub(crate) fn clear_with_key(path: &Path) -> Error {
    Error::GalleryKey {
        path: path.to_path_buf(),
        message: "not encrypted, but a key was given; open it without a key, or encrypt it with \
                  `gallery rekey`"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_parse_raw_and_hex_and_refuse_the_rest() {
        let raw: Vec<u8> = (0..32).collect();
        let a = GalleryKey::from_file_contents(&raw).expect("raw");
        let hex: String = raw.iter().map(|b| format!("{b:02X}")).collect();
        let b = GalleryKey::from_file_contents(format!("  {hex}\n").as_bytes()).expect("hex");
        assert_eq!(a, b);
        assert!(GalleryKey::from_file_contents(&raw[..31]).is_err());
        assert!(GalleryKey::from_file_contents(&[b'g'; 64]).is_err());
        assert!(GalleryKey::from_file_contents(b"").is_err());
        // The id is the documented truncated, domain-separated SHA-256.
        let mut h = Sha256::new();
        h.update(b"ridgeline gallery key id v1\0");
        h.update(&raw);
        assert_eq!(a.id()[..], h.finalize()[..16]);
        assert!(!format!("{a:?}").contains("000102"));
    }

    #[test]
    fn sealing_round_trips_and_any_flip_fails() {
        let key = GalleryKey::from_bytes(&[7; 32]).expect("key");
        let other = GalleryKey::from_bytes(&[8; 32]).expect("key");
        let nonce = new_nonce().expect("nonce");
        let mut buf = b"subject-42 template bytes".to_vec();
        let tag = seal_in_place(&key, &nonce, b"header", &mut buf).expect("seal");
        assert_ne!(&buf[..], b"subject-42 template bytes");
        let sealed = buf.clone();
        assert!(open_in_place(&key, &nonce, b"header", &mut buf, &tag));
        assert_eq!(&buf[..], b"subject-42 template bytes");
        let mut b = sealed.clone();
        assert!(!open_in_place(&other, &nonce, b"header", &mut b, &tag));
        let mut b = sealed.clone();
        assert!(!open_in_place(&key, &nonce, b"headeR", &mut b, &tag));
        let mut b = sealed.clone();
        b[3] ^= 1;
        assert!(!open_in_place(&key, &nonce, b"header", &mut b, &tag));
    }
}

//! De-duplication checkpoints (clear version 1/2, sealed version 3) must decode, or be refused
//! with a typed error, never panic or allocate what the file only claims. The input is decoded
//! as it is, and also sealed as the contents of a version-3 checkpoint under the key the
//! `sealed_gallery` target uses, so that arbitrary contents reach the parse behind a valid tag.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ridgeline::dedup::checkpoint::{
    Checkpoint, CHECKPOINT_MAGIC, CHECKPOINT_VERSION_SEALED, SEALED_DOMAIN,
};
use ridgeline::gallery::seal::{seal_in_place, GalleryKey};

fuzz_target!(|data: &[u8]| {
    let hex = b"5e41ed0000000000000000000000000000000000000000000000000000c0ffee";
    let Ok(key) = GalleryKey::from_file_contents(hex) else { return };
    let path = Path::new("REPORT.json.checkpoint");
    let _ = Checkpoint::from_bytes(data);
    let _ = Checkpoint::from_bytes_with(path, data, None);
    let _ = Checkpoint::from_bytes_with(path, data, Some(&key));

    let nonce = [7u8; 24];
    let mut sealed = Vec::with_capacity(48 + data.len() + 16);
    sealed.extend_from_slice(&CHECKPOINT_MAGIC);
    sealed.extend_from_slice(&CHECKPOINT_VERSION_SEALED.to_le_bytes());
    sealed.extend_from_slice(&[0, 0]);
    sealed.extend_from_slice(&key.id());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(data);
    let aad = [SEALED_DOMAIN, &sealed[..48]].concat();
    let Ok(tag) = seal_in_place(&key, &nonce, &aad, &mut sealed[48..]) else { return };
    sealed.extend_from_slice(&tag);
    if let Ok(c) = Checkpoint::from_bytes_with(path, &sealed, Some(&key)) {
        // What decodes re-encodes to a checkpoint that decodes to the same bytes (compared as
        // bytes: a NaN score is not equal to itself).
        let bytes = c.to_bytes();
        let again = Checkpoint::from_bytes(&bytes).map(|d| d.to_bytes());
        assert_eq!(again.as_deref(), Ok(&bytes[..]));
    }
});

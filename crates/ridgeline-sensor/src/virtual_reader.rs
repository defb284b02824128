//! A virtual reader backed by a folder of fingerprint images, for demos and tests.
//!
//! Every capture returns the next image of the folder (by file name), starting again after the
//! last. Files are decoded at capture time, so images added to the folder while the program runs
//! are not seen, but an unreadable file is reported when it is reached, not at open.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ridgeline::FingerImage;

use crate::error::{Error, Result};
use crate::reader::{CancelToken, Connection, Reader, ReaderInfo};

/// Short driver name.
pub const DRIVER_NAME: &str = "virtual";
/// File extensions taken as images (lower case).
const IMAGE_EXTENSIONS: &[&str] = &["png", "bmp", "tif", "tiff", "jpg", "jpeg", "pgm", "pnm"];

/// A reader that cycles through the images of a folder.
#[derive(Debug)]
pub struct VirtualReader {
    files: Vec<PathBuf>,
    next: usize,
    info: ReaderInfo,
}

impl VirtualReader {
    /// Opens the folder; it must hold at least one image file.
    pub fn open(dir: &Path) -> Result<Self> {
        let folder_error =
            |reason: String| Error::VirtualFolder { path: dir.to_path_buf(), reason };
        let entries = std::fs::read_dir(dir).map_err(|e| folder_error(e.to_string()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| folder_error(e.to_string()))?.path();
            let is_image = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
            if is_image && path.is_file() {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(folder_error(format!(
                "holds no image files ({})",
                IMAGE_EXTENSIONS.join(", ")
            )));
        }
        files.sort();
        let info = ReaderInfo {
            driver: DRIVER_NAME,
            model: format!("virtual reader ({} images)", files.len()),
            connection: Connection::Virtual { dir: dir.to_path_buf() },
            width: 0,
            height: 0,
            dpi: 0,
            firmware: None,
        };
        Ok(VirtualReader { files, next: 0, info })
    }
}

impl Reader for VirtualReader {
    fn info(&self) -> &ReaderInfo {
        &self.info
    }

    /// Returns the next image at once: a virtual finger is always present.
    fn capture(&mut self, _timeout: Duration, cancel: &CancelToken) -> Result<FingerImage> {
        cancel.check()?;
        let path = self.files.get(self.next % self.files.len()).ok_or_else(|| {
            Error::VirtualFolder { path: PathBuf::new(), reason: "no images".into() }
        })?;
        self.next = (self.next + 1) % self.files.len();
        Ok(FingerImage::open(path, None)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_image(dir: &Path, name: &str, grey: u8) {
        let img = FingerImage::from_raw(64, 64, 500, vec![grey; 64 * 64]).expect("image");
        img.save_png(dir.join(name)).expect("save");
    }

    #[test]
    fn cycles_through_the_images_in_name_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_image(dir.path(), "b.png", 20);
        write_image(dir.path(), "a.png", 10);
        std::fs::write(dir.path().join("notes.txt"), "not an image").expect("write");
        let mut reader = VirtualReader::open(dir.path()).expect("opens");
        let cancel = CancelToken::new();
        let greys: Vec<u8> = (0..3)
            .map(|_| reader.capture(Duration::from_secs(1), &cancel).expect("capture").pixels()[0])
            .collect();
        assert_eq!(greys, [10, 20, 10]);
    }

    #[test]
    fn refuses_missing_and_empty_folders() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = VirtualReader::open(dir.path()).expect_err("must fail");
        assert!(matches!(err, Error::VirtualFolder { .. }), "{err}");
        let err = VirtualReader::open(&dir.path().join("absent")).expect_err("must fail");
        assert!(matches!(err, Error::VirtualFolder { .. }), "{err}");
    }

    #[test]
    fn honours_cancellation_and_reports_bad_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("broken.png"), b"not a png").expect("write");
        let mut reader = VirtualReader::open(dir.path()).expect("opens");
        let cancel = CancelToken::new();
        let err = reader.capture(Duration::from_secs(1), &cancel).expect_err("must fail");
        assert!(matches!(err, Error::Image(_)), "{err}");
        cancel.cancel();
        let err = reader.capture(Duration::from_secs(1), &cancel).expect_err("must fail");
        assert!(matches!(err, Error::Cancelled), "{err}");
    }
}

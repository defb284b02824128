//! The writer lock: at most one writer per gallery, any number of readers (who take no lock).
//!
//! The lock is an advisory `flock` on the file `LOCK`, held for the writer's lifetime. The
//! kernel drops it when the holder's file descriptor closes, including when the process is
//! killed, so a crashed writer never leaves a stale lock behind: the file itself may remain
//! (it is never deleted, to avoid races between unlink and lock), but it only blocks while a
//! live process holds it. The holder's process id is written into the file for the error
//! message of a writer that finds it taken.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// File name of the lock file inside the gallery folder.
pub const LOCK_FILE: &str = "LOCK";

/// A held writer lock; released on drop.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock without waiting; fails with `GalleryLocked` if another writer has it.
    pub fn acquire(dir: &Path) -> Result<WriterLock> {
        let path = dir.join(LOCK_FILE);
        let mut options = File::options();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            // A symbolic link planted as LOCK would make the writer truncate and overwrite its
            // target: refuse to follow one (ELOOP).
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW).mode(crate::private_files::PRIVATE_FILE_MODE);
        }
        let mut file = options.open(&path).map_err(|e| Error::io(&path, e))?;
        if !try_lock_exclusive(&file).map_err(|e| Error::io(&path, e))? {
            let mut holder = String::new();
            // Best effort: the holder may be rewriting it right now.
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "unknown process".to_string(),
                pid => format!("process {pid}"),
            };
            return Err(Error::GalleryLocked { path, holder });
        }
        let mut stamp = || -> std::io::Result<()> {
            file.set_len(0)?;
            file.rewind()?;
            write!(file, "{}", std::process::id())?;
            file.flush()
        };
        stamp().map_err(|e| Error::io(&path, e))?;
        Ok(WriterLock { _file: file })
    }
}

#[cfg(unix)]
fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(err)
    }
}

#[cfg(not(unix))]
fn try_lock_exclusive(_file: &File) -> std::io::Result<bool> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "gallery writer locks need a Unix system",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_writer_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = WriterLock::acquire(dir.path()).expect("first");
        match WriterLock::acquire(dir.path()) {
            Err(Error::GalleryLocked { holder, .. }) => {
                assert_eq!(holder, format!("process {}", std::process::id()))
            }
            other => panic!("expected GalleryLocked, got {other:?}"),
        }
        drop(first);
        WriterLock::acquire(dir.path()).expect("free again after drop");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_lock_file_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("precious");
        std::fs::write(&target, b"do not touch").expect("write");
        let gallery = dir.path().join("g");
        std::fs::create_dir(&gallery).expect("mkdir");
        std::os::unix::fs::symlink(&target, gallery.join(LOCK_FILE)).expect("symlink");
        assert!(matches!(WriterLock::acquire(&gallery), Err(Error::Io { .. })));
        assert_eq!(std::fs::read(&target).expect("read"), b"do not touch");
    }
}

//! Files and folders that hold personal data (gallery files, de-duplication work folders,
//! checkpoints, reports) are created readable by their owner only: 0600 files, 0700 folders.
//!
//! The mode is given at creation (so the data is never readable by others, not even for an
//! instant) and set again explicitly afterwards, so that neither a permissive umask nor a file
//! that already existed with a wider mode leaves it open. A restrictive umask can only narrow
//! it further.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Mode of files holding personal data.
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of folders holding personal data.
pub(crate) const PRIVATE_DIR_MODE: u32 = 0o700;

/// Opens `path` for writing as an owner-only file: a new file (`create_new`, failing if it
/// exists), or created or truncated.
pub fn create_file(path: &Path, create_new: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(PRIVATE_FILE_MODE);
    }
    let file = options.open(path)?;
    restrict(&file, PRIVATE_FILE_MODE)?;
    Ok(file)
}

/// Creates `dir` (and missing parents) as an owner-only folder; an existing `dir` is made
/// owner-only.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(PRIVATE_DIR_MODE);
    }
    builder.create(dir)?;
    restrict_path(dir, PRIVATE_DIR_MODE)
}

#[cfg(unix)]
fn restrict(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_file: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn restrict_path(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict_path(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Writes `bytes` to `path` as an owner-only file (created or replaced in place).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = create_file(path, false)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Writes `bytes` to a new owner-only file at `path` durably: created (failing if it exists),
/// written and fsynced. The caller fsyncs the folder before anything names the file.
pub(crate) fn write_new_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = create_file(path, true)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn files_and_folders_are_owner_only_even_when_they_existed_wider() {
        let dir = tempfile::tempdir().expect("tempdir");
        let folder = dir.path().join("a/b");
        create_dir(&folder).expect("dir");
        assert_eq!(mode(&folder), 0o700);
        let file = folder.join("f");
        std::fs::write(&file, b"x").expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        write(&file, b"secret").expect("write");
        assert_eq!(mode(&file), 0o600);
        assert!(create_file(&file, true).is_err(), "create_new refuses an existing file");
    }
}

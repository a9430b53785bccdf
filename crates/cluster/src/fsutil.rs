//! Small file helpers with the original's write pattern: write `<file>.tmp.<pid>`, then rename
//! it onto `<file>` (atomic cluster-wide on pmxcfs, atomic locally elsewhere).
//!
//! Modes are given at creation only: pmxcfs refuses most `chmod` calls, and its permissions are
//! path based anyway.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp.{}", std::process::id()));
    PathBuf::from(name)
}

/// Replaces `path` with `data` atomically; a new file gets `mode`.
pub(crate) fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let tmp = tmp_name(path);
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| Error::io("cannot create", &tmp, e))?;
        file.write_all(data)
            .map_err(|e| Error::io("cannot write", &tmp, e))?;
        file.sync_all()
            .map_err(|e| Error::io("cannot sync", &tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| Error::io("cannot rename onto", path, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates `path` exclusively with `data` and `mode`; `Ok(false)` if it already exists.
pub(crate) fn create_new(path: &Path, data: &[u8], mode: u32) -> Result<bool> {
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(Error::io("cannot create", path, e)),
    };
    file.write_all(data)
        .map_err(|e| Error::io("cannot write", path, e))?;
    Ok(true)
}

/// The content of `path`, or `None` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// The content of `path` as text, or `None` if it does not exist.
pub(crate) fn read_text_optional(path: &Path) -> Result<Option<String>> {
    Ok(read_optional(path)?.map(|d| String::from_utf8_lossy(&d).into_owned()))
}

/// The content of `path`, which must exist.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io("cannot read", path, e))
}

/// Creates the directory `path` (and missing parents); an existing one is fine.
pub(crate) fn ensure_dir(path: &Path) -> Result<()> {
    fs::create_dir_all(path).map_err(|e| Error::io("unable to create directory", path, e))
}

/// Creates the parent directory of `path` if needed.
pub(crate) fn ensure_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => ensure_dir(p),
        _ => Ok(()),
    }
}

/// Whether `path` is a regular file (following symlinks, like Perl's `-f`).
pub(crate) fn is_file(path: &Path) -> bool {
    path.is_file()
}

/// Whether `path` itself is a symlink.
pub(crate) fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

/// Removes `path`; a missing file is fine.
pub(crate) fn remove_optional(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot remove", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_replaces_and_sets_mode_on_create() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        write_atomic(&p, b"one", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        // no temp file left behind
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn create_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        assert!(create_new(&p, b"a", 0o400).unwrap());
        assert!(!create_new(&p, b"b", 0o400).unwrap());
        assert_eq!(fs::read(&p).unwrap(), b"a");
        assert_eq!(read_optional(&dir.path().join("missing")).unwrap(), None);
    }
}

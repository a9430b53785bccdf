//! The node-local lock `/var/lock/pvecm.lock` serializing cluster create/join/add, taken with
//! `flock` and a timeout like the original's `lock_file`.

use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::{fsutil, Error, Result};

/// Where `pvecm` takes its local lock.
pub const PVECM_LOCK: &str = "/var/lock/pvecm.lock";

/// An exclusive lock, released when dropped (the file is closed).
#[derive(Debug)]
pub struct LockFile {
    _file: File,
}

impl LockFile {
    /// Takes the lock on `path`, waiting at most `timeout`.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<LockFile> {
        ensure_lock_dir(path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io("cannot open lock file", path, e))?;
        let deadline = Instant::now() + timeout;
        loop {
            // SAFETY: flock on an open descriptor we own.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(LockFile { _file: file });
            }
            if Instant::now() >= deadline {
                return Err(Error::Invalid(format!(
                    "can't lock file '{}' - got timeout (another pvecm is running)",
                    path.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Creates the lock's directory; `/var/lock` is usually a symlink to `/run/lock`, whose target
/// may not exist yet on a fresh tmpfs `/run`.
fn ensure_lock_dir(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        if let Ok(target) = std::fs::read_link(dir) {
            let target = dir.parent().map(|p| p.join(&target)).unwrap_or(target);
            std::fs::create_dir_all(&target)
                .map_err(|e| Error::io("unable to create directory", &target, e))?;
        }
    }
    fsutil::ensure_parent(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/lock/pvecm.lock");
        let held = LockFile::acquire(&path, Duration::from_secs(1)).unwrap();
        let e = LockFile::acquire(&path, Duration::from_millis(200)).unwrap_err();
        assert!(e.to_string().contains("got timeout"), "{e}");
        drop(held);
        LockFile::acquire(&path, Duration::from_millis(200)).unwrap();
        // a dangling directory symlink, like /var/lock -> /run/lock on a fresh /run
        std::os::unix::fs::symlink("run2/lock", dir.path().join("lock")).unwrap();
        LockFile::acquire(&dir.path().join("lock/pvecm.lock"), Duration::from_secs(1)).unwrap();
        assert!(dir.path().join("run2/lock/pvecm.lock").exists());
    }
}

//! Cluster-wide locks on the cluster file system (`/etc/pve/priv/lock/<id>`), taken the way
//! PVE's Perl helpers take them: `mkdir` to acquire (pmxcfs orders it cluster-wide), a
//! `utime(0, 0)` on a held lock to ask pmxcfs to expire it when stale (120 s), `rmdir` to
//! release. Lock ids: `authkey`, `file-corosync_conf`, ...
//!
//! Used by the API daemon (ticket key rotation, the `file-corosync_conf` config-change lock)
//! and by `pvecm` for the same config changes. Blocking: call from a blocking thread.

use std::ffi::CString;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::PveDir;

/// Default time to wait for a lock.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a lock could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cfs-lock '{id}' error: {reason}")]
pub struct LockError {
    pub id: String,
    pub reason: String,
}

fn request_unlock(path: &Path) {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    let times = libc::utimbuf {
        actime: 0,
        modtime: 0,
    };
    // SAFETY: valid NUL-terminated path and utimbuf; the result is ignored on purpose (pmxcfs
    // answers EACCES after forwarding the request).
    unsafe {
        libc::utime(c.as_ptr(), &times);
    }
}

/// Runs `f` while holding the cluster lock `id`, waiting up to `timeout` for it.
pub fn with_lock<T>(
    pve: &PveDir,
    id: &str,
    timeout: Duration,
    f: impl FnOnce() -> T,
) -> Result<T, LockError> {
    let err = |reason: String| LockError {
        id: id.to_string(),
        reason,
    };
    let dir = pve.priv_dir().join("lock");
    let _ = std::fs::create_dir(&dir);
    if !dir.is_dir() {
        return Err(err("pve cluster filesystem not online.".into()));
    }
    let path = dir.join(id);
    let start = Instant::now();
    loop {
        match std::fs::create_dir(&path) {
            Ok(()) => break,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(_) if !crate::cfs::is_quorate(pve) => return Err(err("no quorum!".into())),
            Err(e) => return Err(err(format!("cannot create '{}': {e}", path.display()))),
        }
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(err("got lock request timeout".into()));
        }
        request_unlock(&path);
        let secs = left.as_secs().clamp(1, 10) as u32;
        std::thread::sleep((Duration::from_millis(100) * secs).min(left));
    }
    let result = f();
    if let Err(e) = std::fs::remove_dir(&path) {
        eprintln!("cannot release cluster lock '{}': {e}", path.display());
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acquires_releases_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let pve = PveDir::new(dir.path());
        std::fs::create_dir(dir.path().join("priv")).unwrap();
        let inside = with_lock(&pve, "authkey", DEFAULT_TIMEOUT, || {
            dir.path().join("priv/lock/authkey").is_dir()
        })
        .unwrap();
        assert!(inside);
        assert!(!dir.path().join("priv/lock/authkey").exists());

        std::fs::create_dir(dir.path().join("priv/lock/held")).unwrap();
        let e = with_lock(&pve, "held", Duration::from_millis(300), || ()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cfs-lock 'held' error: got lock request timeout"
        );
    }

    #[test]
    fn refuses_without_file_system() {
        let pve = PveDir::new("/nonexistent/quorate-test");
        let e = with_lock(&pve, "x", DEFAULT_TIMEOUT, || ()).unwrap_err();
        assert!(e.reason.contains("not online"));
    }
}

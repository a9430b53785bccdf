//! The state of the cluster file system as clients see it: mounted when `/etc/pve/local` is a
//! symlink, quorate when that symlink is writable by its owner (0755 quorate, 0555 not).

use std::os::unix::fs::PermissionsExt;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::PveDir;

/// Whether pmxcfs is mounted on `pve`.
pub fn is_mounted(pve: &PveDir) -> bool {
    std::fs::symlink_metadata(pve.root().join("local")).is_ok_and(|m| m.file_type().is_symlink())
}

/// Whether pmxcfs is mounted and quorate.
pub fn is_quorate(pve: &PveDir) -> bool {
    std::fs::symlink_metadata(pve.root().join("local"))
        .is_ok_and(|m| m.file_type().is_symlink() && m.permissions().mode() & 0o200 != 0)
}

/// Polls `check` every 100 ms until it holds or `deadline` passes; `tick` is called with the
/// poll count after every failed poll. Returns whether `check` held.
pub fn poll_until(
    deadline: Instant,
    mut check: impl FnMut() -> bool,
    mut tick: impl FnMut(u32),
) -> bool {
    let mut polls = 0u32;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        polls += 1;
        tick(polls);
        sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_is_read_from_the_local_link_mode() {
        let dir = tempfile::tempdir().unwrap();
        let pve = PveDir::new(dir.path());
        assert!(!is_mounted(&pve));
        assert!(!is_quorate(&pve));
        std::os::unix::fs::symlink("nodes/x", dir.path().join("local")).unwrap();
        assert!(is_mounted(&pve));
        // symlinks on an ordinary file system are 0777
        assert!(is_quorate(&pve));
    }

    #[test]
    fn polling_stops_at_the_deadline() {
        let mut ticks = 0;
        let ok = poll_until(
            Instant::now() + Duration::from_millis(250),
            || false,
            |n| ticks = n,
        );
        assert!(!ok);
        assert!((2..=4).contains(&ticks), "{ticks}");
        let mut n = 0;
        assert!(poll_until(
            Instant::now() + Duration::from_secs(5),
            || {
                n += 1;
                n > 2
            },
            |_| {}
        ));
    }
}

//! The corosync authentication key (`/etc/corosync/authkey`): 256 random bytes, root-only,
//! as `corosync-keygen` makes it.

use std::io::Read;
use std::path::Path;

use crate::{fsutil, Error, Result};

/// Size of the key corosync-keygen writes by default (2048 bits).
pub const KEY_LEN: usize = 256;

/// A fresh random key.
pub fn generate() -> Result<[u8; KEY_LEN]> {
    let mut key = [0u8; KEY_LEN];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut key))
        .map_err(|e| Error::io("cannot read", Path::new("/dev/urandom"), e))?;
    Ok(key)
}

/// Writes a new key to `path` (mode 0400); fails if `path` exists.
pub fn write_new(path: &Path) -> Result<()> {
    if !fsutil::create_new(path, &generate()?, 0o400)? {
        return Err(Error::io(
            "refusing to replace",
            path,
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keys_are_random_root_only_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authkey");
        super::write_new(&path).unwrap();
        let key = std::fs::read(&path).unwrap();
        assert_eq!(key.len(), super::KEY_LEN);
        assert_ne!(key, super::generate().unwrap().to_vec());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o400);
        assert!(super::write_new(&path).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), key);
    }
}

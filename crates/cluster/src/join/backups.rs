//! The database backups a join leaves in `/var/lib/pve-cluster/backup/` (`config-<time>.db`
//! with its `-wal`/`-shm` files): only the newest few are kept, as the original keeps its
//! last ten dumps.

use std::path::Path;

use crate::{fsutil, Result};

/// How many backups a join keeps.
pub const KEEP: usize = 10;

/// Removes all but the `keep` newest backups in `dir`; returns how many were removed.
pub fn prune(dir: &Path, keep: usize) -> Result<usize> {
    let entries = std::fs::read_dir(dir).map_err(|e| crate::Error::io("cannot read", dir, e))?;
    let mut times: Vec<u64> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("config-")?
                .strip_suffix(".db")?
                .parse()
                .ok()
        })
        .collect();
    times.sort_unstable_by(|a, b| b.cmp(a));
    let old = times.get(keep..).unwrap_or_default();
    for time in old {
        for suffix in ["", "-wal", "-shm"] {
            fsutil::remove_optional(&dir.join(format!("config-{time}.db{suffix}")))?;
        }
    }
    Ok(old.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_backups_and_their_wal_files() {
        let dir = tempfile::tempdir().unwrap();
        for t in [100, 900, 30, 1000, 5] {
            std::fs::write(dir.path().join(format!("config-{t}.db")), "x").unwrap();
            std::fs::write(dir.path().join(format!("config-{t}.db-wal")), "x").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), "kept").unwrap();
        assert_eq!(prune(dir.path(), 2).unwrap(), 3);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "config-1000.db",
                "config-1000.db-wal",
                "config-900.db",
                "config-900.db-wal",
                "notes.txt"
            ]
        );
        assert_eq!(prune(dir.path(), 2).unwrap(), 0);
    }
}

//! FUSE node ids of directories, bound to paths as the original's (libfuse high-level) node
//! ids are, so the kernel may cache directory names: a cached name always leads to whatever
//! directory is at that path now, also after another node renamed or replaced it.

use std::collections::HashMap;
use std::sync::Mutex;

use fuser::INodeNo;

use crate::pipeline::PROVISIONAL_BASE;

/// First FUSE node id of a directory (memdb inodes stay far below, provisional ones above).
pub const DIR_BASE: u64 = 1 << 60;

/// The directory node ids the kernel holds, with the path each stands for.
#[derive(Default)]
pub struct DirIds(Mutex<Table>);

#[derive(Default)]
struct Table {
    by_path: HashMap<String, u64>,
    by_id: HashMap<u64, Bound>,
    next: u64,
}

struct Bound {
    path: String,
    /// Entry replies the kernel has not forgotten yet.
    lookups: u64,
}

impl DirIds {
    pub fn is_dir_id(ino: INodeNo) -> bool {
        (DIR_BASE..PROVISIONAL_BASE).contains(&ino.0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The id of directory `path` for an entry reply (the kernel counts it as one lookup).
    pub fn acquire(&self, path: &str) -> INodeNo {
        let mut table = self.lock();
        let id = match table.by_path.get(path) {
            Some(&id) => id,
            None => {
                let id = DIR_BASE + table.next;
                table.next += 1;
                table.by_path.insert(path.to_string(), id);
                let path = path.to_string();
                table.by_id.insert(id, Bound { path, lookups: 0 });
                id
            }
        };
        if let Some(bound) = table.by_id.get_mut(&id) {
            bound.lookups += 1;
        }
        INodeNo(id)
    }

    pub fn path(&self, ino: INodeNo) -> Option<String> {
        self.lock().by_id.get(&ino.0).map(|b| b.path.clone())
    }

    /// The kernel dropped `lookups` of its references to `ino`.
    pub fn forget(&self, ino: INodeNo, lookups: u64) {
        let mut table = self.lock();
        let Some(bound) = table.by_id.get_mut(&ino.0) else {
            return;
        };
        bound.lookups = bound.lookups.saturating_sub(lookups);
        if bound.lookups == 0 {
            let path = table.by_id.remove(&ino.0).map(|b| b.path);
            if let Some(path) = path {
                if table.by_path.get(&path) == Some(&ino.0) {
                    table.by_path.remove(&path);
                }
            }
        }
    }

    /// A rename through this mount moved `from` to `to`, and the kernel moved its cached name
    /// along: the id of `from` now stands for `to`. (Only empty directories can be renamed,
    /// as in the original, so nothing below moves with it.)
    pub fn renamed(&self, from: &str, to: &str) {
        let mut table = self.lock();
        let Some(id) = table.by_path.remove(from) else {
            return;
        };
        if let Some(bound) = table.by_id.get_mut(&id) {
            bound.path = to.to_string();
        }
        table.by_path.insert(to.to_string(), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_keeps_its_id_until_every_lookup_is_forgotten() {
        let dirs = DirIds::default();
        let a = dirs.acquire("a");
        assert!(DirIds::is_dir_id(a));
        assert_eq!(dirs.acquire("a"), a);
        let b = dirs.acquire("a/b");
        assert_ne!(a, b);
        assert_eq!(dirs.path(b).as_deref(), Some("a/b"));
        dirs.forget(a, 1);
        assert_eq!(dirs.path(a).as_deref(), Some("a"));
        dirs.forget(a, 1);
        assert_eq!(dirs.path(a), None);
        // A forgotten path gets a fresh id; ids are never reused.
        let again = dirs.acquire("a");
        assert!(again != a && again != b);
        // Forgetting an unknown id is harmless.
        dirs.forget(INodeNo(DIR_BASE + 999), 3);
    }

    #[test]
    fn a_rename_moves_the_id_to_the_new_path() {
        let dirs = DirIds::default();
        let a = dirs.acquire("a");
        let ax = dirs.acquire("ax");
        let target = dirs.acquire("d");
        dirs.renamed("a", "d");
        assert_eq!(dirs.path(a).as_deref(), Some("d"));
        assert_eq!(dirs.path(ax).as_deref(), Some("ax"));
        // The replaced directory's id still stands for its path, but lookups get the moved one.
        assert_eq!(dirs.path(target).as_deref(), Some("d"));
        assert_eq!(dirs.acquire("d"), a);
        assert_ne!(dirs.acquire("a"), a);
        // Forgetting the replaced id leaves the moved one bound.
        dirs.forget(target, 1);
        assert_eq!(dirs.acquire("d"), a);
        // Renaming what the kernel does not hold changes nothing.
        dirs.renamed("nothing", "a");
        assert_eq!(dirs.path(a).as_deref(), Some("d"));
    }

    #[test]
    fn only_the_directory_range_is_claimed() {
        assert!(!DirIds::is_dir_id(INodeNo::ROOT));
        assert!(!DirIds::is_dir_id(INodeNo(PROVISIONAL_BASE)));
        assert!(DirIds::is_dir_id(INodeNo(PROVISIONAL_BASE - 1)));
    }
}

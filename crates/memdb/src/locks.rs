//! Node-local bookkeeping of cluster-wide locks `priv/lock/<name>` (§3.6).
//!
//! Pure: the caller supplies the current monotonic time (`now`). A lock is expired when
//! the same entry checksum has been seen for more than [`LOCK_TIMEOUT`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::path::{components, is_lock_path, normalize};
use crate::tree::{Kind, Tree};
use crate::Op;

/// `CFS_LOCK_TIMEOUT`: 120 s.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// What this node recorded for one lock directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockInfo {
    /// Entry checksum (§2.8) the timestamp belongs to.
    pub csum: [u8; 32],
    /// When this node first saw the lock with that checksum.
    pub first_seen: Instant,
}

/// Lock bookkeeping, keyed by normalized path (`priv/lock/<name>`).
#[derive(Debug, Clone, Default)]
pub struct LockTable {
    locks: HashMap<String, LockInfo>,
}

impl LockTable {
    /// Bookkeeping for every lock directory in `tree`, all timestamps = `now`
    /// (start-up and after a sync commit).
    pub fn rebuild(tree: &Tree, now: Instant) -> LockTable {
        let mut table = LockTable::default();
        if let Ok(children) = tree.readdir("priv/lock") {
            for (name, info) in children {
                if info.kind == Kind::Dir {
                    table.record(tree, &format!("priv/lock/{name}"), now);
                }
            }
        }
        table
    }

    /// Recorded state of a lock path.
    pub fn get(&self, path: &str) -> Option<&LockInfo> {
        self.locks.get(&normalize(path))
    }

    /// Number of recorded locks.
    pub fn len(&self) -> usize {
        self.locks.len()
    }

    /// True if nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.locks.is_empty()
    }

    /// (Re)starts the timer of a lock with its current checksum.
    fn record(&mut self, tree: &Tree, path: &str, now: Instant) {
        if let Some(csum) = tree.entry_checksum(path) {
            let info = LockInfo {
                csum,
                first_seen: now,
            };
            self.locks.insert(normalize(path), info);
        }
    }

    /// Updates the bookkeeping after `op` was applied successfully to `tree`.
    pub fn observe(&mut self, tree: &Tree, op: &Op, now: Instant) {
        match op {
            Op::Mkdir { path } | Op::Mtime { path, .. } => {
                let is_dir = tree.lookup(path).is_some_and(|i| i.kind == Kind::Dir);
                if is_dir && is_lock_path(&components(path)) {
                    self.record(tree, path, now);
                }
            }
            Op::Delete { path } => {
                self.locks.remove(&normalize(path));
            }
            Op::Rename { to, .. } => {
                self.locks.remove(&normalize(to));
            }
            Op::Create { .. } | Op::Write { .. } => {}
        }
    }

    /// The original's expiry test for an unlock request carrying `csum`: an unknown lock
    /// or a different checksum (re)starts the timer and is not expired; otherwise expired
    /// if more than 120 s passed since the timer started.
    pub fn is_expired(&mut self, path: &str, csum: &[u8; 32], now: Instant) -> bool {
        let key = normalize(path);
        match self.locks.get(&key) {
            Some(info) if info.csum == *csum => {
                now.saturating_duration_since(info.first_seen) > LOCK_TIMEOUT
            }
            _ => {
                let info = LockInfo {
                    csum: *csum,
                    first_seen: now,
                };
                self.locks.insert(key, info);
                false
            }
        }
    }

    /// Recorded locks whose checksum still matches the tree and whose timer ran out,
    /// sorted by path, with their checksum (for UNLOCK messages).
    pub fn expired(&self, tree: &Tree, now: Instant) -> Vec<(String, [u8; 32])> {
        let mut out: Vec<(String, [u8; 32])> = self
            .locks
            .iter()
            .filter(|(path, info)| {
                tree.entry_checksum(path) == Some(info.csum)
                    && now.saturating_duration_since(info.first_seen) > LOCK_TIMEOUT
            })
            .map(|(path, info)| (path.clone(), info.csum))
            .collect();
        out.sort();
        out
    }
}

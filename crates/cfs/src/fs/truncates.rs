//! `open(O_TRUNC)` of an existing file without a round trip of its own (cluster mode).
//!
//! The kernel hands the truncation to `open` (`FUSE_ATOMIC_O_TRUNC`). Sent there and waited
//! for, an overwrite would cost two blocking round trips, the truncation's and the first
//! write's, as in the original (whose kernel sends a separate SETATTR). Instead the open only
//! records it under its file handle, and the truncation travels in that handle's first write
//! (a WRITE at offset 0 with the truncate flag leaves exactly the written bytes, as a
//! truncation followed by that write does), or alone at close (`flush`) if nothing was
//! written. Errors (no quorum, the file went away meanwhile) reach the writer from that
//! write or from close.
//!
//! Nothing else on this node may see the file untruncated: every other request first sends
//! all pending truncations ([`Truncates::send_all`]), and does so under the same lock as the
//! owner's first write, so no write can overtake a truncation it should follow. Other nodes
//! see the old content until the new one arrives in one message, never an empty file.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use fuser::FileHandle;

/// Truncations recorded by opens, by file handle.
pub struct Truncates {
    pending: Mutex<HashMap<u64, String>>,
    next_fh: AtomicU64,
}

impl Default for Truncates {
    fn default() -> Self {
        Truncates {
            pending: Mutex::default(),
            // Handle 0 is every other open's.
            next_fh: AtomicU64::new(1),
        }
    }
}

impl Truncates {
    /// Records the truncation of `path` by a new open; its file handle.
    pub fn insert(&self, path: String) -> FileHandle {
        let fh = self.next_fh.fetch_add(1, Ordering::SeqCst);
        self.pending.lock().unwrap().insert(fh, path);
        FileHandle(fh)
    }

    /// If `fh`'s truncation is still pending, `send`s it (given the path) while no other
    /// message can go out through this table, and returns what `send` returned.
    pub fn take_and_send<R>(&self, fh: FileHandle, send: impl FnOnce(&str) -> R) -> Option<R> {
        let mut pending = self.pending.lock().unwrap();
        let path = pending.remove(&fh.0)?;
        Some(send(&path))
    }

    /// Sends every pending truncation (`send` gets each path), in the order of their opens;
    /// returns what `send` returned for each.
    pub fn send_all<R>(&self, mut send: impl FnMut(&str) -> R) -> Vec<R> {
        let mut pending = self.pending.lock().unwrap();
        if pending.is_empty() {
            return Vec::new();
        }
        let mut all: Vec<(u64, String)> = pending.drain().collect();
        all.sort_unstable_by_key(|(fh, _)| *fh);
        all.iter().map(|(_, path)| send(path)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_write_takes_its_own_truncation_once() {
        let t = Truncates::default();
        let fh = t.insert("a".into());
        assert_ne!(fh, FileHandle(0));
        assert_eq!(t.take_and_send(fh, str::to_string), Some("a".into()));
        assert_eq!(t.take_and_send(fh, str::to_string), None);
    }

    #[test]
    fn others_send_every_pending_truncation_in_open_order() {
        let t = Truncates::default();
        let (a, b) = (t.insert("a".into()), t.insert("b".into()));
        assert_eq!(t.send_all(str::to_string), ["a", "b"]);
        // Sent: neither owner's first write carries it again.
        assert_eq!(t.take_and_send(a, str::to_string), None);
        assert_eq!(t.take_and_send(b, str::to_string), None);
        assert!(t.send_all(str::to_string).is_empty());
    }
}

//! The cluster log (§4.6): entries in their exact binary layout, the ring buffer that is
//! exchanged as KVSTORE state, per-node de-duplication, the sort before a sync, the merge
//! of all members' rings after it, and the `.clusterlog` JSON dump.
//!
//! * [`Entry`]: one `clog_entry_t` (creation with message escaping, strict decoding of
//!   LOG messages, lenient reading from rings).
//! * [`Ring`]: the `clog_base_t` byte image (allocation with wrap-around, walking).
//! * [`sort`], [`merge`]: the sync-time operations, in the original's (quirky) order.
//! * [`ClusterLog`]: a node's log — ring + dedup table + uid counter.

mod entry;
mod merge;
mod order;
mod ring;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ring;

pub use entry::{
    cstr, escape_message, fnv1a64, name_digest, Entry, EntryError, DATA_OFFSET, ENTRY_STRUCT_SIZE,
    MAX_ENTRY_SIZE,
};
pub use merge::{dedup_record, merge, sort, Dedup};
pub use order::{quirk_cmp, EntryTree};
pub use ring::{Ring, RingError, Walk, WalkItem, DEFAULT_SIZE, MIN_SIZE, RING_HEADER};

/// Entries in the `.clusterlog` file (and the IPC default for `max = 0`).
pub const DUMP_ENTRIES: usize = 50;

/// Who logs: node name, ident (user), program tag and process id.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// Node name.
    pub node: &'a str,
    /// Ident (user, e.g. `root@pam`).
    pub ident: &'a str,
    /// Program / syslog tag.
    pub tag: &'a str,
    /// Process id.
    pub pid: u32,
}

/// A node's cluster log.
#[derive(Debug, Clone, Default)]
pub struct ClusterLog {
    ring: Ring,
    dedup: Dedup,
    uid_counter: u32,
}

impl ClusterLog {
    /// An empty log with a ring of the default size (131072 bytes).
    pub fn new() -> ClusterLog {
        ClusterLog::default()
    }

    /// An empty log with a ring of `size` bytes (at least 40960).
    pub fn with_size(size: u32) -> Result<ClusterLog, RingError> {
        Ok(ClusterLog {
            ring: Ring::new(size)?,
            ..ClusterLog::default()
        })
    }

    /// The ring buffer.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The dedup table (node digest → newest `(time, uid)`).
    pub fn dedup(&self) -> &Dedup {
        &self.dedup
    }

    /// Creates an entry originating in this process (`clog_pack`) with the next uid;
    /// `None` (and no uid used) if `priority >= 8`.
    pub fn pack(
        &mut self,
        source: &Source<'_>,
        time: u32,
        priority: u8,
        msg: &str,
    ) -> Option<Entry> {
        if priority >= 8 {
            return None;
        }
        self.uid_counter = self.uid_counter.wrapping_add(1);
        Entry::pack(source, self.uid_counter, time, priority, msg)
    }

    /// Logs a message of this node: packs it and inserts it (subject to dedup). Returns
    /// the entry to multicast as a KVSTORE LOG message (sent even if dedup refused it
    /// locally, as the original does), or `None` if `priority >= 8`.
    pub fn log(
        &mut self,
        source: &Source<'_>,
        time: u32,
        priority: u8,
        msg: &str,
    ) -> Option<Entry> {
        let entry = self.pack(source, time, priority, msg)?;
        self.insert(&entry);
        Some(entry)
    }

    /// Inserts an entry (local or received) unless its node already has an entry with a
    /// later `time`, or the same `time` and a greater or equal `uid`. Returns whether dedup
    /// accepted it. (As the original, an accepted entry larger than 4096 bytes updates
    /// the dedup table but is not stored.)
    pub fn insert(&mut self, entry: &Entry) -> bool {
        if !dedup_record(&mut self.dedup, entry) {
            return false;
        }
        self.ring.push(entry);
        true
    }

    /// The entries of the ring, newest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.ring.entries()
    }

    /// The `.clusterlog` JSON: newest first, at most `max` entries.
    pub fn dump_json(&self, max: usize) -> String {
        self.dump_json_for(max, "")
    }

    /// The cluster-log JSON (IPC op 8): newest first, at most `max` entries, only those
    /// whose ident digest equals the digest of `user` (all if `user` is empty).
    ///
    /// Strings are printed raw up to their first NUL (node, ident and tag are not
    /// escaped, as in the original); bytes that are not UTF-8 become U+FFFD.
    pub fn dump_json_for(&self, max: usize, user: &str) -> String {
        let user = cstr(user.as_bytes());
        let filter = (!user.is_empty()).then(|| {
            let mut with_nul = user.to_vec();
            with_nul.push(0);
            fnv1a64(&with_nul)
        });
        let mut out = String::from("{\n\"data\": [\n");
        let mut count = 0usize;
        for item in self.ring.walk() {
            if item.wraps_onto_visited || count >= max {
                break;
            }
            let e = &item.entry;
            if filter.is_some_and(|d| d != e.ident_digest) {
                continue;
            }
            if count > 0 {
                out.push_str(",\n");
            }
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            out.push_str(&format!(
                "{{\"uid\": {}, \"time\": {}, \"pri\": {}, \"tag\": \"{}\", \"pid\": {}, \"node\": \"{}\", \"user\": \"{}\", \"msg\": \"{}\"}}",
                e.uid,
                e.time,
                e.priority,
                text(e.tag()),
                e.pid,
                text(e.node()),
                text(e.ident()),
                text(e.msg())
            ));
            count += 1;
        }
        if count > 0 {
            out.push('\n');
        }
        out.push_str("]\n}\n");
        out
    }

    /// The STATE blob (`clusterlog_get_state`): re-sorts the ring in place, then returns
    /// its byte image (exactly `size` bytes).
    pub fn get_state(&mut self) -> Vec<u8> {
        self.ring = sort(&self.ring);
        self.ring.as_bytes().to_vec()
    }

    /// Merges after a sync (`clusterlog_merge`): `logs` are the members' rings in member
    /// order (`None` for an invalid state); the one at `local_index` is replaced by this
    /// log's current ring. The result (a default-size ring) and its dedup table replace
    /// this log's. Returns false (nothing changed) for fewer than two logs or a bad
    /// `local_index`, as the original refuses those.
    pub fn merge(&mut self, logs: &[Option<&Ring>], local_index: usize) -> bool {
        if logs.len() < 2 || local_index >= logs.len() {
            return false;
        }
        let (ring, dedup) = {
            let mut inputs = logs.to_vec();
            inputs[local_index] = Some(&self.ring);
            merge(&inputs)
        };
        self.ring = ring;
        self.dedup = dedup;
        true
    }
}

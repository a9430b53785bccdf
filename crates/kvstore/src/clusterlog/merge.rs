//! Sorting a ring before it is sent as STATE, and merging the rings of all members after
//! a sync (§4.6).

use std::collections::HashMap;

use super::entry::{Entry, MAX_ENTRY_SIZE};
use super::order::EntryTree;
use super::ring::{Ring, WalkItem, DEFAULT_SIZE, RING_HEADER};

/// Per node digest: the newest `(time, uid)` accepted.
pub type Dedup = HashMap<u64, (u32, u32)>;

/// Records `entry` in `dedup` if it is newer than what is known for its node: later
/// `time`, or the same `time` and a greater `uid`. Returns whether it was newer.
pub fn dedup_record(dedup: &mut Dedup, entry: &Entry) -> bool {
    match dedup.get_mut(&entry.node_digest) {
        None => {
            dedup.insert(entry.node_digest, (entry.time, entry.uid));
            true
        }
        Some(seen) => {
            if entry.time > seen.0 || (entry.time == seen.0 && entry.uid > seen.1) {
                *seen = (entry.time, entry.uid);
                true
            } else {
                false
            }
        }
    }
}

fn build(size: u32, tree: EntryTree) -> Ring {
    let mut ring = Ring::new(size).unwrap_or_default();
    for entry in tree.into_sorted() {
        ring.push(&entry);
    }
    ring
}

/// `clog_sort`: a new ring of the same size holding the walked entries in ascending
/// original order (entries equal under the comparator collapse into the one walked
/// last). An empty ring is returned unchanged.
pub fn sort(ring: &Ring) -> Ring {
    if ring.is_empty() {
        return ring.clone();
    }
    let mut tree = EntryTree::new();
    for item in ring.walk() {
        tree.insert(item.entry);
    }
    build(ring.size(), tree)
}

/// `clusterlog_merge`: walks all logs newest-first, each step taking the current entry
/// with the largest `time` (strictly larger than 0; ties go to the first log), skipping
/// entries equal under the comparator to one already taken, until the ring space of the
/// taken entries reaches `131072 - 8 - 4096`. Returns a new ring of the default size with
/// the taken entries in ascending order, and the dedup table rebuilt from them.
///
/// `None` logs (invalid states) are skipped.
///
/// QUIRK (reproduced): an entry with `time == 0` is never taken and hides every older
/// entry of its log.
pub fn merge(logs: &[Option<&Ring>]) -> (Ring, Dedup) {
    let limit = u64::from(DEFAULT_SIZE - RING_HEADER) - MAX_ENTRY_SIZE as u64;
    let mut walks: Vec<std::iter::Peekable<_>> = logs
        .iter()
        .map(|log| log.map(|r| r.walk()).into_iter().flatten().peekable())
        .collect();
    let mut tree = EntryTree::new();
    let mut dedup = Dedup::new();
    let mut used = 0u64;
    loop {
        let mut found = None;
        let mut last = 0u32;
        for (i, walk) in walks.iter_mut().enumerate() {
            if let Some(item) = walk.peek() {
                if item.entry.time > last {
                    last = item.entry.time;
                    found = Some(i);
                }
            }
        }
        let Some(i) = found else { break };
        let Some(WalkItem { entry, space, .. }) = walks[i].next() else {
            break;
        };
        if !tree.contains(&entry) {
            dedup_record(&mut dedup, &entry);
            tree.insert(entry);
            used += u64::from(space);
            if used >= limit {
                break;
            }
        }
    }
    (build(DEFAULT_SIZE, tree), dedup)
}

//! Digests: the per-entry index digest and index blob (§2.6, §1.12.2), the whole-tree
//! checksum (§2.7) and the entry checksum (§2.8). All integers little-endian.

use sha2::{Digest, Sha256};

use crate::tree::{Entry, Tree};

/// One `(inode, digest)` pair of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexEntry {
    /// Inode number.
    pub inode: u64,
    /// SHA-256 of the entry without its inode (§2.6).
    pub digest: [u8; 32],
}

/// The memdb index = DCDB STATE payload (`memdb_index_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Global version (root version).
    pub version: u64,
    /// Highest inode in the tree.
    pub last_inode: u64,
    /// Root writer (node of the last modification).
    pub writer: u32,
    /// Root mtime (time of the last modification).
    pub mtime: u32,
    /// Entries sorted by inode ascending, root (inode 0) included.
    pub entries: Vec<IndexEntry>,
}

/// Length of the index header.
pub const INDEX_HEADER_LEN: usize = 32;
/// Length of one index entry.
pub const INDEX_ENTRY_LEN: usize = 40;

/// Why a STATE blob is not a valid index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// Fewer than 32 bytes.
    #[error("index blob too short ({0} bytes)")]
    TooShort(usize),
    /// The `bytes` field disagrees with the blob length.
    #[error("index blob length {len} does not match its bytes field {bytes}")]
    LengthMismatch {
        /// Actual length.
        len: usize,
        /// The `bytes` field.
        bytes: u32,
    },
    /// `bytes != 32 + 40 * size`.
    #[error("index blob size field {size} does not match its length {len}")]
    SizeMismatch {
        /// The `size` field.
        size: u32,
        /// Actual length.
        len: usize,
    },
    /// Entries not strictly ascending by inode (the original never sends that; we
    /// reject it because the leader/commit merge walks rely on the order).
    #[error("index entries not sorted by inode at position {0}")]
    Unsorted(usize),
}

impl Index {
    /// Number of entries (`size` field).
    pub fn size(&self) -> u32 {
        self.entries.len() as u32
    }

    /// Blob length (`bytes` field) = 32 + 40 · size.
    pub fn bytes(&self) -> u32 {
        (INDEX_HEADER_LEN + INDEX_ENTRY_LEN * self.entries.len()) as u32
    }

    /// The exact STATE blob.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes() as usize);
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.last_inode.to_le_bytes());
        out.extend_from_slice(&self.writer.to_le_bytes());
        out.extend_from_slice(&self.mtime.to_le_bytes());
        out.extend_from_slice(&self.size().to_le_bytes());
        out.extend_from_slice(&self.bytes().to_le_bytes());
        for e in &self.entries {
            out.extend_from_slice(&e.inode.to_le_bytes());
            out.extend_from_slice(&e.digest);
        }
        out
    }

    /// Parses and validates a STATE blob.
    pub fn decode(blob: &[u8]) -> Result<Index, IndexError> {
        if blob.len() < INDEX_HEADER_LEN {
            return Err(IndexError::TooShort(blob.len()));
        }
        let u64_at = |o: usize| u64::from_le_bytes(blob[o..o + 8].try_into().expect("8 bytes"));
        let u32_at = |o: usize| u32::from_le_bytes(blob[o..o + 4].try_into().expect("4 bytes"));
        let (size, bytes) = (u32_at(24), u32_at(28));
        if bytes as usize != blob.len() {
            return Err(IndexError::LengthMismatch {
                len: blob.len(),
                bytes,
            });
        }
        let expected = (size as usize)
            .checked_mul(INDEX_ENTRY_LEN)
            .and_then(|n| n.checked_add(INDEX_HEADER_LEN));
        if expected != Some(blob.len()) {
            return Err(IndexError::SizeMismatch {
                size,
                len: blob.len(),
            });
        }
        let mut entries = Vec::with_capacity(size as usize);
        for i in 0..size as usize {
            let o = INDEX_HEADER_LEN + i * INDEX_ENTRY_LEN;
            let inode = u64_at(o);
            if entries
                .last()
                .is_some_and(|p: &IndexEntry| p.inode >= inode)
            {
                return Err(IndexError::Unsorted(i));
            }
            let digest = blob[o + 8..o + 40].try_into().expect("32 bytes");
            entries.push(IndexEntry { inode, digest });
        }
        Ok(Index {
            version: u64_at(0),
            last_inode: u64_at(8),
            writer: u32_at(16),
            mtime: u32_at(20),
            entries,
        })
    }

    /// Leader side (§1.12.3): inodes of `self` whose `(inode, digest)` pair is not present
    /// identically in `member` — the entries the leader must send as UPDATE records.
    /// Both indexes are sorted by inode, so one merge walk finds them.
    pub fn missing_in(&self, member: &Index) -> Vec<u64> {
        let mut theirs = member.entries.iter().peekable();
        self.entries
            .iter()
            .filter(|ours| {
                while theirs.next_if(|t| t.inode < ours.inode).is_some() {}
                theirs.peek() != Some(ours)
            })
            .map(|e| e.inode)
            .collect()
    }
}

/// Feeds the fields common to all digests, after the optional inode.
fn feed(h: &mut Sha256, e: &Entry) {
    let data = e.data();
    h.update(e.version.to_le_bytes());
    h.update(e.writer.to_le_bytes());
    h.update(e.mtime.to_le_bytes());
    h.update((data.len() as u32).to_le_bytes());
    h.update([e.kind().code()]);
    h.update(e.parent.to_le_bytes());
    h.update(e.name.as_bytes());
    h.update(data);
}

impl Entry {
    /// The index digest (§2.6, inode not included), computed once per change.
    pub fn index_digest(&self) -> [u8; 32] {
        *self.digest.get_or_init(|| {
            let mut h = Sha256::new();
            feed(&mut h, self);
            h.finalize().into()
        })
    }
}

/// The entry checksum (§2.8: inode first, then as §2.6).
pub(crate) fn entry_checksum(tree: &Tree, inode: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(inode.to_le_bytes());
    feed(&mut h, &tree.entries[&inode]);
    h.finalize().into()
}

impl Tree {
    /// The index of this tree (STATE blob content).
    pub fn index(&self) -> Index {
        let root = self.root();
        Index {
            version: root.version,
            last_inode: self.last_inode(),
            writer: root.writer,
            mtime: root.mtime,
            entries: self
                .entries
                .iter()
                .map(|(inode, e)| IndexEntry {
                    inode: *inode,
                    digest: e.index_digest(),
                })
                .collect(),
        }
    }

    /// Computes the index digests of these entries now, so the next [`Tree::index`] only
    /// copies them.
    pub(crate) fn warm_digests(&self, inodes: impl Iterator<Item = u64>) {
        for inode in inodes {
            if let Some(e) = self.entries.get(&inode) {
                e.index_digest();
            }
        }
    }

    /// The whole-tree checksum used by VERIFY (§2.7).
    pub fn checksum(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for (inode, e) in &self.entries {
            h.update(inode.to_le_bytes());
            feed(&mut h, e);
        }
        h.finalize().into()
    }
}

/// Lower-case hex of a digest (for logs and tests).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

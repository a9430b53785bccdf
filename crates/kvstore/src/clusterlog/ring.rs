//! The cluster-log ring buffer `clog_base_t` (§4.6): the exact byte image that is sent as
//! the KVSTORE STATE blob.
//!
//! Header: `u32 size` (whole buffer), `u32 cpos` (offset of the newest entry, 0 = empty),
//! then entries at 8-byte aligned offsets, each linked to the previous (older) one by
//! `prev` and recording in `next` where the following allocation starts.

use super::entry::{Entry, EntryError, ENTRY_STRUCT_SIZE, MAX_ENTRY_SIZE};

/// Ring header size (`sizeof(clog_base_t)`).
pub const RING_HEADER: u32 = 8;
/// Default ring size (`CLOG_DEFAULT_SIZE` = 8192 × 16).
pub const DEFAULT_SIZE: u32 = 131_072;
/// Smallest ring `clog_new` accepts (10 × the maximum entry size).
pub const MIN_SIZE: u32 = 10 * MAX_ENTRY_SIZE as u32;

/// Why bytes are not a ring.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// A new ring must hold at least 40960 bytes.
    #[error("ring size {0} below the minimum of 40960")]
    TooSmall(u64),
    /// A received state must be longer than 8 bytes and equal its own `size` field.
    #[error("received log with wrong size {len} (size field {field})")]
    WrongSize {
        /// Bytes received.
        len: usize,
        /// The `size` field (0 if absent).
        field: u32,
    },
}

/// A cluster-log ring buffer, byte-exact.
#[derive(Clone, PartialEq, Eq)]
pub struct Ring {
    buf: Vec<u8>,
}

impl Default for Ring {
    /// An empty ring of the default size.
    fn default() -> Ring {
        Ring::blank(DEFAULT_SIZE)
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("size", &self.size())
            .field("cpos", &self.cpos())
            .finish()
    }
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Offsets of the window that the newest entry may have overwritten: `cpos < off <=
/// cpos + 4096` (walks stop there).
fn overwritten(off: u32, cpos: u32) -> bool {
    off > cpos && u64::from(off) <= u64::from(cpos) + MAX_ENTRY_SIZE as u64
}

impl Ring {
    /// An empty ring of `size` bytes (`clog_new`; `size >= 40960`).
    pub fn new(size: u32) -> Result<Ring, RingError> {
        if size < MIN_SIZE {
            return Err(RingError::TooSmall(size.into()));
        }
        Ok(Ring::blank(size))
    }

    fn blank(size: u32) -> Ring {
        let mut buf = vec![0u8; size as usize];
        buf[..4].copy_from_slice(&size.to_le_bytes());
        Ring { buf }
    }

    /// A received STATE blob: accepted if longer than 8 bytes and equal to its `size`
    /// field. Its entries are validated only while walking.
    pub fn from_state(bytes: &[u8]) -> Result<Ring, RingError> {
        let field = u32_at(bytes, 0).unwrap_or(0);
        if bytes.len() <= RING_HEADER as usize || bytes.len() as u64 != u64::from(field) {
            return Err(RingError::WrongSize {
                len: bytes.len(),
                field,
            });
        }
        Ok(Ring {
            buf: bytes.to_vec(),
        })
    }

    /// Total size in bytes, header included.
    pub fn size(&self) -> u32 {
        self.buf.len() as u32
    }

    /// Offset of the newest entry (0: empty).
    pub fn cpos(&self) -> u32 {
        u32_at(&self.buf, 4).unwrap_or(0)
    }

    /// True if no entry was ever added.
    pub fn is_empty(&self) -> bool {
        self.cpos() == 0
    }

    /// The byte image (the STATE blob).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Consumes the ring into its byte image.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn set_cpos(&mut self, cpos: u32) {
        self.buf[4..8].copy_from_slice(&cpos.to_le_bytes());
    }

    /// The `(prev, next)` links and the entry at `off`, if `off` is a plausible entry
    /// position and the entry is structurally complete with consistent links.
    pub fn entry_at(&self, off: u32) -> Result<(u32, u32, Entry), EntryError> {
        let start = off as usize;
        if off < RING_HEADER || off % 8 != 0 || start >= self.buf.len() {
            return Err(EntryError::Short(0));
        }
        let bytes = &self.buf[start..];
        let entry = Entry::from_ring_bytes(bytes)?;
        let prev = u32_at(bytes, 0).unwrap_or(0);
        let next = u32_at(bytes, 4).unwrap_or(0);
        let realsize = (entry.size() + 7) & !7;
        if u64::from(next) != u64::from(off) + realsize {
            return Err(EntryError::BadSize(entry.size()));
        }
        Ok((prev, next, entry))
    }

    /// Appends a copy of `entry` (`clog_copy`): allocates `(size + 7) & !7` bytes after
    /// the newest entry, wrapping to offset 8 when the end would reach the buffer size,
    /// links it and makes it the newest. Entries outside `48 < size <= 4096` are refused.
    pub fn push(&mut self, entry: &Entry) -> bool {
        let size = entry.size();
        if size <= ENTRY_STRUCT_SIZE as u64 || size > MAX_ENTRY_SIZE as u64 {
            return false;
        }
        let realsize = ((size as u32) + 7) & !7;
        let cpos = self.cpos();
        let mut pos = if cpos == 0 {
            RING_HEADER
        } else {
            u32_at(&self.buf, cpos as usize + 4).unwrap_or(RING_HEADER)
        };
        if cpos != 0 && u64::from(pos) + u64::from(realsize) >= u64::from(self.size()) {
            pos = RING_HEADER;
        }
        let bytes = entry.encode_linked(cpos, pos + realsize);
        let start = pos as usize;
        let Some(dest) = self.buf.get_mut(start..start + bytes.len()) else {
            return false;
        };
        dest.copy_from_slice(&bytes);
        self.set_cpos(pos);
        true
    }

    /// Walks the entries newest → oldest (see [`Walk`]).
    pub fn walk(&self) -> Walk<'_> {
        Walk {
            ring: self,
            pos: self.cpos(),
            done: false,
        }
    }

    /// All entries reachable by [`Ring::walk`], newest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.walk().map(|item| item.entry).collect()
    }
}

/// One entry met by a [`Walk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkItem {
    /// Its offset in the ring.
    pub offset: u32,
    /// Its ring size (`next - offset`, alignment included).
    pub space: u32,
    /// The entry.
    pub entry: Entry,
    /// Its `prev` link wraps forward onto data already visited (`offset < prev <= cpos`):
    /// the walk ends here. The original's JSON dump drops such an entry, its sort and
    /// merge keep it.
    pub wraps_onto_visited: bool,
}

/// Newest → oldest walk over a ring, following `prev` links like the original:
/// start at `cpos`; stop at offset 0, at an offset inside the window the newest entry may
/// have overwritten (`cpos < off <= cpos + 4096`), and after an entry whose `prev` wraps
/// forward onto already visited data (`off < prev <= cpos`).
///
/// Additionally (the original would read garbage or loop forever there) the walk stops
/// at any entry that is not structurally valid, and at any link other than "backwards
/// within the same side of `cpos`" or the single forward jump from the newer part
/// (`<= cpos`) to the older part (`> cpos + 4096`). So every walk terminates and visits
/// each offset at most once.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    ring: &'a Ring,
    pos: u32,
    done: bool,
}

impl Iterator for Walk<'_> {
    type Item = WalkItem;

    fn next(&mut self) -> Option<WalkItem> {
        if self.done {
            return None;
        }
        let cpos = self.ring.cpos();
        let pos = self.pos;
        self.done = true;
        if pos == 0 || overwritten(pos, cpos) {
            return None;
        }
        let (prev, next, entry) = self.ring.entry_at(pos).ok()?;
        let wraps_onto_visited = pos < prev && prev <= cpos;
        let backwards = prev < pos && (pos <= cpos || prev > cpos);
        let jump_to_older = pos <= cpos && prev > cpos;
        if !wraps_onto_visited && (backwards || jump_to_older) {
            self.pos = prev;
            self.done = false;
        }
        Some(WalkItem {
            offset: pos,
            space: next - pos,
            entry,
            wraps_onto_visited,
        })
    }
}

//! One cluster-log entry (`clog_entry_t`, §4.6): its binary layout, creation from a log
//! call (including the message escaping), and validation of untrusted bytes.
//!
//! Layout (little-endian): `prev` u32, `next` u32, `uid` u32, `time` u32, `node_digest`
//! u64, `ident_digest` u64, `pid` u32, `priority` u8, `node_len` u8, `ident_len` u8,
//! `tag_len` u8, `msg_len` u32, then at offset 44 the four NUL-terminated strings. The
//! size of an entry is `48 + node_len + ident_len + tag_len + msg_len`: the C structure
//! is padded to 48 bytes, so every entry carries 4 bytes more than its strings need.

use super::Source;

/// Offset of the strings (`data`) inside an entry.
pub const DATA_OFFSET: usize = 44;
/// The C `sizeof(clog_entry_t)`; the base of the entry size rule.
pub const ENTRY_STRUCT_SIZE: usize = 48;
/// Largest entry a ring accepts (`CLOG_MAX_ENTRY_SIZE`).
pub const MAX_ENTRY_SIZE: usize = 4096;

const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 over `bytes` exactly as given.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_BASIS, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// The digest of a node or ident name as stored in entries: FNV-1a 64 over the name and
/// its terminating NUL (the name is cut at an embedded NUL, as a C string would be).
pub fn name_digest(name: &str) -> u64 {
    let (_, digest) = c_field(name.as_bytes());
    digest
}

/// Why bytes are not an acceptable entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Fewer bytes than the fixed part.
    #[error("received short log message ({0} < 48)")]
    Short(usize),
    /// The length does not match the declared string lengths.
    #[error("received log message with wrong size ({got} != {expected})")]
    WrongSize {
        /// Bytes received.
        got: usize,
        /// `48 + node_len + ident_len + tag_len + msg_len`.
        expected: u64,
    },
    /// A string is empty or does not end in NUL at its declared length.
    #[error("unterminated string in log message")]
    Unterminated,
    /// Too small or too large for a ring (`48 < size <= 4096`).
    #[error("log entry size {0} out of range")]
    BadSize(u64),
}

/// A cluster-log entry without its ring links (`prev`/`next`).
///
/// The bytes from offset 44 to the end (strings plus the 4 trailing bytes) are kept
/// verbatim, so an entry copied between rings or nodes stays byte-identical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Per-process counter of the originating daemon.
    pub uid: u32,
    /// Unix seconds.
    pub time: u32,
    /// FNV-1a 64 of the node name incl. NUL.
    pub node_digest: u64,
    /// FNV-1a 64 of the ident (user) incl. NUL.
    pub ident_digest: u64,
    /// Process id of the logger.
    pub pid: u32,
    /// Syslog priority (0..7 when created locally).
    pub priority: u8,
    node_len: u8,
    ident_len: u8,
    tag_len: u8,
    msg_len: u32,
    data: Vec<u8>,
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// A C string field: the name cut at NUL, limited to 254 bytes + NUL, and the digest of
/// the first `len` bytes of "name + NUL" (which for names of 255+ bytes holds no NUL).
fn c_field(name: &[u8]) -> (Vec<u8>, u64) {
    let name = cstr(name);
    let len = (name.len() + 1).min(255);
    let mut with_nul = name.to_vec();
    with_nul.push(0);
    let digest = fnv1a64(&with_nul[..len]);
    let mut stored = name[..len - 1].to_vec();
    stored.push(0);
    (stored, digest)
}

/// The bytes of `b` up to (not including) the first NUL.
pub fn cstr(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

impl Entry {
    /// Creates an entry as the original `clog_pack` does: strings cut to 254 bytes,
    /// the message escaped into the room left below 4096 bytes. `None` if
    /// `priority >= 8` (nothing is logged then).
    ///
    /// QUIRK (reproduced): the escaping may overshoot its room by up to 3 bytes; the
    /// original then shortens `msg_len` so that the entry is exactly 4096 bytes, which
    /// leaves the message without a NUL at its declared end. Such an entry is kept
    /// locally (its text ends in the trailing bytes) but receivers reject it as a LOG
    /// message.
    pub fn pack(
        source: &Source<'_>,
        uid: u32,
        time: u32,
        priority: u8,
        msg: &str,
    ) -> Option<Entry> {
        if priority >= 8 {
            return None;
        }
        let (node, node_digest) = c_field(source.node.as_bytes());
        let (ident, ident_digest) = c_field(source.ident.as_bytes());
        let (tag, _) = c_field(source.tag.as_bytes());
        let fixed = node.len() + ident.len() + tag.len();
        let room = MAX_ENTRY_SIZE - DATA_OFFSET - fixed;
        let text = escape_message(cstr(msg.as_bytes()), room);
        let mut msg_len = text.len() as u32 + 1;
        let mut data = Vec::with_capacity(fixed + text.len() + 5);
        data.extend_from_slice(&node);
        data.extend_from_slice(&ident);
        data.extend_from_slice(&tag);
        data.extend_from_slice(text.as_bytes());
        data.extend_from_slice(&[0; 5]);
        let size = ENTRY_STRUCT_SIZE + fixed + msg_len as usize;
        if size > MAX_ENTRY_SIZE {
            msg_len -= (size - MAX_ENTRY_SIZE) as u32;
            data.truncate(MAX_ENTRY_SIZE - DATA_OFFSET);
        }
        Some(Entry {
            uid,
            time,
            node_digest,
            ident_digest,
            pid: source.pid,
            priority,
            node_len: node.len() as u8,
            ident_len: ident.len() as u8,
            tag_len: tag.len() as u8,
            msg_len,
            data,
        })
    }

    /// Parses a received KVSTORE LOG payload: the length must equal the size rule and each
    /// string must be non-empty and end in NUL at its declared length.
    pub fn decode_message(bytes: &[u8]) -> Result<Entry, EntryError> {
        let mut entry = Entry::parse(bytes)?;
        if bytes.len() as u64 != entry.size() {
            return Err(EntryError::WrongSize {
                got: bytes.len(),
                expected: entry.size(),
            });
        }
        entry.data = bytes[DATA_OFFSET..].to_vec();
        let mut off = 0usize;
        for len in entry.string_lens() {
            if len == 0 || entry.data[off + len - 1] != 0 {
                return Err(EntryError::Unterminated);
            }
            off += len;
        }
        Ok(entry)
    }

    /// Parses an entry found in a ring at the start of `bytes` (which may extend past its
    /// end). Only the structure is checked (`48 < size <= 4096`, all bytes present): ring
    /// contents of C nodes are copied without string checks, so neither are they here.
    pub(crate) fn from_ring_bytes(bytes: &[u8]) -> Result<Entry, EntryError> {
        let entry = Entry::parse(bytes)?;
        let size = entry.size();
        if size <= ENTRY_STRUCT_SIZE as u64 || size > MAX_ENTRY_SIZE as u64 {
            return Err(EntryError::BadSize(size));
        }
        if (bytes.len() as u64) < size {
            return Err(EntryError::WrongSize {
                got: bytes.len(),
                expected: size,
            });
        }
        Ok(Entry {
            data: bytes[DATA_OFFSET..size as usize].to_vec(),
            ..entry
        })
    }

    /// Reads the fixed part (`data` is left empty for the caller to fill).
    fn parse(bytes: &[u8]) -> Result<Entry, EntryError> {
        if bytes.len() < ENTRY_STRUCT_SIZE {
            return Err(EntryError::Short(bytes.len()));
        }
        Ok(Entry {
            uid: u32_at(bytes, 8),
            time: u32_at(bytes, 12),
            node_digest: u64_at(bytes, 16),
            ident_digest: u64_at(bytes, 24),
            pid: u32_at(bytes, 32),
            priority: bytes[36],
            node_len: bytes[37],
            ident_len: bytes[38],
            tag_len: bytes[39],
            msg_len: u32_at(bytes, 40),
            data: Vec::new(),
        })
    }

    fn string_lens(&self) -> [usize; 4] {
        [
            usize::from(self.node_len),
            usize::from(self.ident_len),
            usize::from(self.tag_len),
            self.msg_len as usize,
        ]
    }

    /// Entry size: `48 + node_len + ident_len + tag_len + msg_len`.
    pub fn size(&self) -> u64 {
        ENTRY_STRUCT_SIZE as u64
            + u64::from(self.node_len)
            + u64::from(self.ident_len)
            + u64::from(self.tag_len)
            + u64::from(self.msg_len)
    }

    /// The wire form (a LOG payload): `prev` and `next` are 0.
    pub fn encode(&self) -> Vec<u8> {
        self.encode_linked(0, 0)
    }

    /// The entry bytes with the given ring links.
    pub(crate) fn encode_linked(&self, prev: u32, next: u32) -> Vec<u8> {
        let mut out = Vec::with_capacity(DATA_OFFSET + self.data.len());
        for v in [prev, next, self.uid, self.time] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.node_digest.to_le_bytes());
        out.extend_from_slice(&self.ident_digest.to_le_bytes());
        out.extend_from_slice(&self.pid.to_le_bytes());
        out.extend_from_slice(&[self.priority, self.node_len, self.ident_len, self.tag_len]);
        out.extend_from_slice(&self.msg_len.to_le_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Declared string lengths `(node, ident, tag, msg)`, NULs included.
    pub fn lens(&self) -> (u8, u8, u8, u32) {
        (self.node_len, self.ident_len, self.tag_len, self.msg_len)
    }

    /// String `i` read as C does (`%s`): from its declared start to the first NUL, bounded
    /// by the entry's end.
    fn string(&self, i: usize) -> &[u8] {
        let start: usize = self.string_lens()[..i].iter().sum();
        self.data.get(start..).map_or(&[][..], cstr)
    }

    /// Node name.
    pub fn node(&self) -> &[u8] {
        self.string(0)
    }

    /// Ident (user).
    pub fn ident(&self) -> &[u8] {
        self.string(1)
    }

    /// Program tag.
    pub fn tag(&self) -> &[u8] {
        self.string(2)
    }

    /// Escaped message.
    pub fn msg(&self) -> &[u8] {
        self.string(3)
    }
}

/// Converts a message to "JSON- and syslog-safe ASCII" like the original `utf8_to_ascii`
/// with quote escaping, for an output buffer of `bufsize` bytes (NUL included): pieces
/// are appended while the output is shorter than `bufsize - 7`, so the last piece may
/// reach `bufsize - 2` bytes. Valid UTF-8: `"` → `\"`, controls and DEL → `#` + 3
/// decimal digits, printable ASCII as is, BMP code points → `\uXXXX` (lowercase hex),
/// others dropped. Invalid UTF-8 (byte-wise): `"` → `\"`, bytes 1..31 → `#0` + 2
/// decimal digits, printable ASCII as is, anything else → `?`. Input stops at a NUL.
pub fn escape_message(msg: &[u8], bufsize: usize) -> String {
    let msg = cstr(msg);
    let mut out = String::new();
    if bufsize <= 10 {
        return out;
    }
    let end = bufsize - 7;
    match std::str::from_utf8(msg) {
        Ok(text) => {
            for c in text.chars() {
                if out.len() >= end {
                    break;
                }
                match u32::from(c) {
                    0x22 => out.push_str("\\\""),
                    u @ (0..=31 | 127) => out.push_str(&format!("#{u:03}")),
                    32..=126 => out.push(c),
                    u @ 128..=0xffff => out.push_str(&format!("\\u{u:04x}")),
                    _ => {}
                }
            }
        }
        Err(_) => {
            for &b in msg {
                if out.len() >= end {
                    break;
                }
                match b {
                    b'"' => out.push_str("\\\""),
                    0..=31 => out.push_str(&format!("#0{b:02}")),
                    32..=126 => out.push(char::from(b)),
                    _ => out.push('?'),
                }
            }
        }
    }
    out
}

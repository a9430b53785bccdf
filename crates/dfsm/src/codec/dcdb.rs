//! DCDB payloads: the NORMAL subtypes, the FUSE-op record, the unlock record and the
//! UPDATE record (§1.12.1, §1.12.3).

use memdb::{Row, RowRef, TYPE_DIR, TYPE_FILE};

use super::{u32_at, u64_at, CodecError};

/// Length of the fixed part of a FUSE-op record.
pub const FUSE_OP_FIXED_LEN: usize = 20;
/// Length of the fixed part of an UPDATE record.
pub const UPDATE_FIXED_LEN: usize = 41;
/// Length of the checksum in front of an unlock record's path.
const CSUM_LEN: usize = 32;

/// NORMAL message subtypes of the DCDB group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DcdbSubtype {
    /// 1: write / truncate.
    Write,
    /// 2: mkdir.
    Mkdir,
    /// 3: unlink and rmdir.
    Delete,
    /// 4: rename (path = from, to = to).
    Rename,
    /// 5: create an empty file.
    Create,
    /// 6: set mtime (in `offset`).
    Mtime,
    /// 7: ask the lowest node to check a lock for expiry.
    UnlockRequest,
    /// 8: delete an expired lock.
    Unlock,
}

impl DcdbSubtype {
    /// The numeric subtype.
    pub fn code(self) -> u16 {
        match self {
            DcdbSubtype::Write => 1,
            DcdbSubtype::Mkdir => 2,
            DcdbSubtype::Delete => 3,
            DcdbSubtype::Rename => 4,
            DcdbSubtype::Create => 5,
            DcdbSubtype::Mtime => 6,
            DcdbSubtype::UnlockRequest => 7,
            DcdbSubtype::Unlock => 8,
        }
    }

    /// The subtype with this number, if defined.
    pub fn from_code(code: u16) -> Option<DcdbSubtype> {
        Some(match code {
            1 => DcdbSubtype::Write,
            2 => DcdbSubtype::Mkdir,
            3 => DcdbSubtype::Delete,
            4 => DcdbSubtype::Rename,
            5 => DcdbSubtype::Create,
            6 => DcdbSubtype::Mtime,
            7 => DcdbSubtype::UnlockRequest,
            8 => DcdbSubtype::Unlock,
            _ => return None,
        })
    }
}

/// The FUSE-op record carried by DCDB subtypes 1–6.
///
/// Wire layout: `size u32, offset u32, pathlen u32, tolen u32, flags u32`, then `pathlen`
/// bytes of path (NUL included, absent if 0), `tolen` bytes of target, `size` data bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FuseOp {
    /// Write offset, new length (truncate) or new mtime (MTIME).
    pub offset: u32,
    /// 1 = truncate (WRITE only), else 0.
    pub flags: u32,
    /// Path relative to the root, if present.
    pub path: Option<String>,
    /// Rename target, if present.
    pub to: Option<String>,
    /// Data bytes (`size` = length).
    pub data: Vec<u8>,
}

impl FuseOp {
    /// The record bytes.
    pub fn encode(&self) -> Vec<u8> {
        let strlen = |s: &Option<String>| s.as_ref().map_or(0, |s| s.len() as u32 + 1);
        let mut out = Vec::with_capacity(FUSE_OP_FIXED_LEN + self.data.len() + 64);
        out.extend_from_slice(&(self.data.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&strlen(&self.path).to_le_bytes());
        out.extend_from_slice(&strlen(&self.to).to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        for s in [&self.path, &self.to].into_iter().flatten() {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        out.extend_from_slice(&self.data);
        out
    }

    /// Decodes a record: at least 20 bytes, `len - 20 == size + pathlen + tolen` exactly,
    /// every present string NUL-terminated (and UTF-8).
    pub fn decode(bytes: &[u8]) -> Result<FuseOp, CodecError> {
        if bytes.len() < FUSE_OP_FIXED_LEN {
            return Err(CodecError::TooShort {
                what: "FUSE-op record",
                len: bytes.len(),
                min: FUSE_OP_FIXED_LEN,
            });
        }
        let size = u32_at(bytes, 0);
        let pathlen = u32_at(bytes, 8);
        let tolen = u32_at(bytes, 12);
        let rest = &bytes[FUSE_OP_FIXED_LEN..];
        let declared = u64::from(size) + u64::from(pathlen) + u64::from(tolen);
        if declared != rest.len() as u64 {
            return Err(CodecError::LengthMismatch {
                what: "FUSE-op record",
                declared,
                actual: rest.len(),
            });
        }
        let (path, rest) = rest.split_at(pathlen as usize);
        let (to, data) = rest.split_at(tolen as usize);
        Ok(FuseOp {
            offset: u32_at(bytes, 4),
            flags: u32_at(bytes, 16),
            path: optional_cstr(path, "FUSE-op path")?,
            to: optional_cstr(to, "FUSE-op target")?,
            data: data.to_vec(),
        })
    }
}

/// The record of UNLOCK_REQUEST / UNLOCK: the lock directory's entry checksum, then its
/// NUL-terminated path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnlockRecord {
    /// Entry checksum of the lock directory as seen by the sender.
    pub csum: [u8; 32],
    /// Path of the lock directory.
    pub path: String,
}

impl UnlockRecord {
    /// The record bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CSUM_LEN + self.path.len() + 1);
        out.extend_from_slice(&self.csum);
        out.extend_from_slice(self.path.as_bytes());
        out.push(0);
        out
    }

    /// Decodes a record: at least 33 bytes, last byte NUL.
    pub fn decode(bytes: &[u8]) -> Result<UnlockRecord, CodecError> {
        if bytes.len() < CSUM_LEN + 1 {
            return Err(CodecError::TooShort {
                what: "unlock record",
                len: bytes.len(),
                min: CSUM_LEN + 1,
            });
        }
        Ok(UnlockRecord {
            csum: bytes[..CSUM_LEN].try_into().expect("32 bytes"),
            path: cstr(&bytes[CSUM_LEN..], "unlock path")?,
        })
    }
}

/// Encodes one UPDATE record from a tree row (`Tree::row_ref`; the root has an empty name).
pub fn encode_update(row: RowRef<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(UPDATE_FIXED_LEN + row.name.len() + 1 + row.data.len());
    encode_update_into(&mut out, row);
    out
}

/// [`encode_update`], appending to `out`.
pub fn encode_update_into(out: &mut Vec<u8>, row: RowRef<'_>) {
    out.extend_from_slice(&row.parent.to_le_bytes());
    out.extend_from_slice(&row.inode.to_le_bytes());
    out.extend_from_slice(&row.version.to_le_bytes());
    out.extend_from_slice(&row.writer.to_le_bytes());
    out.extend_from_slice(&row.mtime.to_le_bytes());
    out.extend_from_slice(&(row.data.len() as u32).to_le_bytes());
    out.extend_from_slice(&(row.name.len() as u32 + 1).to_le_bytes());
    out.push(row.kind);
    out.extend_from_slice(row.name.as_bytes());
    out.push(0);
    out.extend_from_slice(row.data);
}

/// Decodes one UPDATE record into a row: at least 41 bytes, type 4 or 8,
/// `len - 41 == size + namelen` exactly, name NUL-terminated. Empty data gives `None`.
pub fn decode_update(bytes: &[u8]) -> Result<Row, CodecError> {
    if bytes.len() < UPDATE_FIXED_LEN {
        return Err(CodecError::TooShort {
            what: "UPDATE record",
            len: bytes.len(),
            min: UPDATE_FIXED_LEN,
        });
    }
    let kind = bytes[40];
    if kind != TYPE_DIR && kind != TYPE_FILE {
        return Err(CodecError::BadEntryType(kind));
    }
    let size = u32_at(bytes, 32);
    let namelen = u32_at(bytes, 36);
    let rest = &bytes[UPDATE_FIXED_LEN..];
    let declared = u64::from(size) + u64::from(namelen);
    if declared != rest.len() as u64 {
        return Err(CodecError::LengthMismatch {
            what: "UPDATE record",
            declared,
            actual: rest.len(),
        });
    }
    let (name, data) = rest.split_at(namelen as usize);
    Ok(Row {
        parent: u64_at(bytes, 0),
        inode: u64_at(bytes, 8),
        version: u64_at(bytes, 16),
        writer: u32_at(bytes, 24),
        mtime: u32_at(bytes, 28),
        kind,
        name: cstr(name, "UPDATE name")?,
        data: (!data.is_empty()).then(|| data.to_vec()),
    })
}

/// A NUL-terminated string field (the NUL is the last byte; bytes before it are kept
/// as they are, so an embedded NUL reaches memdb, which rejects it).
fn cstr(field: &[u8], what: &'static str) -> Result<String, CodecError> {
    match field.split_last() {
        Some((0, text)) => {
            String::from_utf8(text.to_vec()).map_err(|_| CodecError::NotUtf8 { what })
        }
        _ => Err(CodecError::MissingNul { what }),
    }
}

fn optional_cstr(field: &[u8], what: &'static str) -> Result<Option<String>, CodecError> {
    if field.is_empty() {
        Ok(None)
    } else {
        cstr(field, what).map(Some)
    }
}

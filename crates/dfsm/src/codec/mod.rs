//! Exact wire formats of the DFSM layer and of the DCDB application records.
//!
//! All integers are little-endian and the structures are packed, as on every platform
//! pmxcfs runs on. Encoders build complete messages; decoders take untrusted bytes, never
//! panic and report a typed [`CodecError`]. Semantic checks on paths and names (`..`,
//! embedded NUL, over-long components) are left to memdb, which rejects them with an errno
//! on every node alike.
//!
//! Layouts (§1.2 of the facts):
//!
//! | structure | bytes | fields |
//! |---|---|---|
//! | base header | 16 | `type u16, subtype u16, protocol_version u32, time u32, reserved u32` |
//! | normal header | 24 | base + `count u64` |
//! | state header | 32 | base + epoch `{epoch u32, time u32, nodeid u32, pid u32}` |

mod dcdb;
#[cfg(test)]
mod tests;

pub use dcdb::{decode_update, encode_update, encode_update_into};
pub use dcdb::{DcdbSubtype, FuseOp, UnlockRecord, FUSE_OP_FIXED_LEN, UPDATE_FIXED_LEN};

/// CPG group name of the configuration database, with the NUL that C counts in the length.
pub const DCDB_GROUP: &[u8] = b"pve_dcdb_v1\0";
/// CPG group name of the status key/value store, NUL included.
pub const KVSTORE_GROUP: &[u8] = b"pve_kvstore_v1\0";
/// DFSM protocol version of the DCDB group.
pub const DCDB_PROTOCOL_VERSION: u32 = 1;
/// DFSM protocol version of the KVSTORE group.
pub const KVSTORE_PROTOCOL_VERSION: u32 = 0;

/// Length of the base header.
pub const BASE_HEADER_LEN: usize = 16;
/// Length of the header of NORMAL messages.
pub const NORMAL_HEADER_LEN: usize = 24;
/// Length of the header of state messages (types 1..6).
pub const STATE_HEADER_LEN: usize = 32;
/// Payload length of VERIFY_REQUEST (the request id).
pub const VERIFY_REQUEST_LEN: usize = 8;
/// Payload length of VERIFY (request id + SHA-256).
pub const VERIFY_LEN: usize = 40;

/// Why bytes are not a valid message or record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Fewer bytes than the fixed part needs.
    #[error("{what}: {len} bytes, need at least {min}")]
    TooShort {
        /// Structure being decoded.
        what: &'static str,
        /// Bytes present.
        len: usize,
        /// Minimum length.
        min: usize,
    },
    /// A structure with a fixed size has another length.
    #[error("{what}: {len} bytes, expected exactly {expected}")]
    BadLength {
        /// Structure being decoded.
        what: &'static str,
        /// Bytes present.
        len: usize,
        /// Required length.
        expected: usize,
    },
    /// The length fields inside a record disagree with the bytes present.
    #[error("{what}: the length fields announce {declared} bytes, {actual} are present")]
    LengthMismatch {
        /// Structure being decoded.
        what: &'static str,
        /// Sum of the length fields.
        declared: u64,
        /// Bytes present after the fixed part.
        actual: usize,
    },
    /// A string field does not end in NUL.
    #[error("{what}: string is not NUL-terminated")]
    MissingNul {
        /// Field being decoded.
        what: &'static str,
    },
    /// A string field is not UTF-8 (memdb names are Rust strings).
    #[error("{what}: string is not valid UTF-8")]
    NotUtf8 {
        /// Field being decoded.
        what: &'static str,
    },
    /// An UPDATE record with an entry type other than 4 (directory) or 8 (file).
    #[error("unknown entry type {0}")]
    BadEntryType(u8),
}

/// DFSM message types (`type` field, §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MsgType {
    /// 0: application message with a normal header.
    Normal,
    /// 1: the lowest node starts a sync round.
    SyncStart,
    /// 2: a member's application state.
    State,
    /// 3: one update record from the leader.
    Update,
    /// 4: the leader sent all updates.
    UpdateComplete,
    /// 5: checksum request (payload: u64 id).
    VerifyRequest,
    /// 6: checksum (payload: u64 id + 32 bytes).
    Verify,
}

impl MsgType {
    /// The numeric `type` value.
    pub fn code(self) -> u16 {
        match self {
            MsgType::Normal => 0,
            MsgType::SyncStart => 1,
            MsgType::State => 2,
            MsgType::Update => 3,
            MsgType::UpdateComplete => 4,
            MsgType::VerifyRequest => 5,
            MsgType::Verify => 6,
        }
    }

    /// The type with this value, if defined.
    pub fn from_code(code: u16) -> Option<MsgType> {
        Some(match code {
            0 => MsgType::Normal,
            1 => MsgType::SyncStart,
            2 => MsgType::State,
            3 => MsgType::Update,
            4 => MsgType::UpdateComplete,
            5 => MsgType::VerifyRequest,
            6 => MsgType::Verify,
            _ => return None,
        })
    }
}

/// A sync epoch: identifies one sync round (created by a member at a configuration change
/// and adopted by everyone from the SYNC_START message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Epoch {
    /// Per-process epoch counter of the creator.
    pub epoch: u32,
    /// `time(NULL)` at creation.
    pub time: u32,
    /// Node id of the creator.
    pub nodeid: u32,
    /// Process id of the creator.
    pub pid: u32,
}

impl Epoch {
    /// The 16 wire bytes.
    pub fn encode(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[0..4].copy_from_slice(&self.epoch.to_le_bytes());
        out[4..8].copy_from_slice(&self.time.to_le_bytes());
        out[8..12].copy_from_slice(&self.nodeid.to_le_bytes());
        out[12..16].copy_from_slice(&self.pid.to_le_bytes());
        out
    }

    fn decode(b: &[u8; 16]) -> Epoch {
        Epoch {
            epoch: u32_at(b, 0),
            time: u32_at(b, 4),
            nodeid: u32_at(b, 8),
            pid: u32_at(b, 12),
        }
    }
}

/// The 16-byte header every DFSM message starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseHeader {
    /// Raw message type (see [`MsgType`]); values above 6 are kept as received.
    pub msg_type: u16,
    /// Application subtype of NORMAL messages, 0 otherwise.
    pub subtype: u16,
    /// Sender's group protocol version.
    pub protocol_version: u32,
    /// Sender's Unix time when sending.
    pub time: u32,
    /// Unused, 0.
    pub reserved: u32,
}

impl BaseHeader {
    /// Decodes the first 16 bytes of a message.
    pub fn decode(bytes: &[u8]) -> Result<BaseHeader, CodecError> {
        let b = fixed::<BASE_HEADER_LEN>(bytes, "DFSM header")?;
        Ok(BaseHeader {
            msg_type: u16::from_le_bytes([b[0], b[1]]),
            subtype: u16::from_le_bytes([b[2], b[3]]),
            protocol_version: u32_at(b, 4),
            time: u32_at(b, 8),
            reserved: u32_at(b, 12),
        })
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.msg_type.to_le_bytes());
        out.extend_from_slice(&self.subtype.to_le_bytes());
        out.extend_from_slice(&self.protocol_version.to_le_bytes());
        out.extend_from_slice(&self.time.to_le_bytes());
        out.extend_from_slice(&self.reserved.to_le_bytes());
    }
}

/// Header of a NORMAL message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalHeader {
    /// Base header (type 0).
    pub base: BaseHeader,
    /// Sender's per-process message counter (first message = 1).
    pub count: u64,
}

/// Header of a state message (types 1..6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateHeader {
    /// Base header.
    pub base: BaseHeader,
    /// Sync epoch the message belongs to.
    pub epoch: Epoch,
}

/// Encodes a NORMAL message.
pub fn encode_normal(
    subtype: u16,
    protocol: u32,
    time: u32,
    count: u64,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(NORMAL_HEADER_LEN + payload.len());
    base(MsgType::Normal, subtype, protocol, time).encode_into(&mut out);
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Encodes a state message of type `kind` (never [`MsgType::Normal`]: state messages
/// always carry the 32-byte state header).
pub fn encode_state(
    kind: MsgType,
    protocol: u32,
    time: u32,
    epoch: &Epoch,
    payload: &[u8],
) -> Vec<u8> {
    debug_assert!(kind != MsgType::Normal, "NORMAL messages use encode_normal");
    let mut out = Vec::with_capacity(STATE_HEADER_LEN + payload.len());
    base(kind, 0, protocol, time).encode_into(&mut out);
    out.extend_from_slice(&epoch.encode());
    out.extend_from_slice(payload);
    out
}

fn base(kind: MsgType, subtype: u16, protocol: u32, time: u32) -> BaseHeader {
    BaseHeader {
        msg_type: kind.code(),
        subtype,
        protocol_version: protocol,
        time,
        reserved: 0,
    }
}

/// Splits a NORMAL message (at least 24 bytes) into header and payload.
pub fn decode_normal(bytes: &[u8]) -> Result<(NormalHeader, &[u8]), CodecError> {
    let b = fixed::<NORMAL_HEADER_LEN>(bytes, "NORMAL message")?;
    let header = NormalHeader {
        base: BaseHeader::decode(bytes)?,
        count: u64_at(b, 16),
    };
    Ok((header, &bytes[NORMAL_HEADER_LEN..]))
}

/// Splits a state message (at least 32 bytes) into header and payload.
pub fn decode_state(bytes: &[u8]) -> Result<(StateHeader, &[u8]), CodecError> {
    let b = fixed::<STATE_HEADER_LEN>(bytes, "state message")?;
    let epoch: &[u8; 16] = b[16..32].try_into().expect("16 bytes");
    let header = StateHeader {
        base: BaseHeader::decode(bytes)?,
        epoch: Epoch::decode(epoch),
    };
    Ok((header, &bytes[STATE_HEADER_LEN..]))
}

/// VERIFY_REQUEST payload.
pub fn encode_verify_request(id: u64) -> [u8; VERIFY_REQUEST_LEN] {
    id.to_le_bytes()
}

/// Decodes a VERIFY_REQUEST payload (exactly 8 bytes).
pub fn decode_verify_request(payload: &[u8]) -> Result<u64, CodecError> {
    exact::<VERIFY_REQUEST_LEN>(payload, "VERIFY_REQUEST payload").map(|b| u64_at(b, 0))
}

/// VERIFY payload: request id and checksum.
pub fn encode_verify(id: u64, csum: &[u8; 32]) -> [u8; VERIFY_LEN] {
    let mut out = [0u8; VERIFY_LEN];
    out[..8].copy_from_slice(&id.to_le_bytes());
    out[8..].copy_from_slice(csum);
    out
}

/// Decodes a VERIFY payload (exactly 40 bytes).
pub fn decode_verify(payload: &[u8]) -> Result<(u64, [u8; 32]), CodecError> {
    let b = exact::<VERIFY_LEN>(payload, "VERIFY payload")?;
    Ok((u64_at(b, 0), b[8..].try_into().expect("32 bytes")))
}

/// The first `N` bytes, or `TooShort`.
fn fixed<'a, const N: usize>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<&'a [u8; N], CodecError> {
    bytes
        .get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or(CodecError::TooShort {
            what,
            len: bytes.len(),
            min: N,
        })
}

/// Exactly `N` bytes, or `BadLength`.
fn exact<'a, const N: usize>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<&'a [u8; N], CodecError> {
    bytes.try_into().map_err(|_| CodecError::BadLength {
        what,
        len: bytes.len(),
        expected: N,
    })
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

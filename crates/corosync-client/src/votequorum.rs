//! votequorum through our own minimal FFI: rust-corosync's `NodeInfo` has no `total_votes` and
//! drops every flag when one bit is unknown, and both matter for `pvecm status`.

use std::ffi::{c_char, c_uint, c_void};

use serde::Serialize;

use crate::{Error, Result};

const QDEVICE_MAX_NAME_LEN: usize = 255;
const CS_OK: u32 = 1;

#[repr(C)]
struct RawInfo {
    node_id: c_uint,
    node_state: c_uint,
    node_votes: c_uint,
    node_expected_votes: c_uint,
    highest_expected: c_uint,
    total_votes: c_uint,
    quorum: c_uint,
    flags: c_uint,
    qdevice_votes: c_uint,
    qdevice_name: [c_char; QDEVICE_MAX_NAME_LEN],
}

#[link(name = "votequorum")]
extern "C" {
    fn votequorum_initialize(handle: *mut u64, callbacks: *mut c_void) -> u32;
    fn votequorum_finalize(handle: u64) -> u32;
    fn votequorum_getinfo(handle: u64, nodeid: c_uint, info: *mut RawInfo) -> u32;
    fn votequorum_setexpected(handle: u64, expected_votes: c_uint) -> u32;
}

/// votequorum flag bits as reported by `votequorum_getinfo`.
pub mod flags {
    pub const TWO_NODE: u32 = 1;
    pub const QUORATE: u32 = 2;
    pub const WAIT_FOR_ALL: u32 = 4;
    pub const LAST_MAN_STANDING: u32 = 8;
    pub const AUTO_TIE_BREAKER: u32 = 16;
    pub const ALLOW_DOWNSCALE: u32 = 32;
    pub const QDEVICE_REGISTERED: u32 = 64;
    pub const QDEVICE_ALIVE: u32 = 128;
    pub const QDEVICE_CAST_VOTE: u32 = 256;
    pub const QDEVICE_MASTER_WINS: u32 = 512;
}

/// What votequorum reports about one node (node id 0 asks about the local node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoteInfo {
    pub node_id: u32,
    /// 1 member, 2 dead, 3 leaving.
    pub state: u32,
    pub votes: u32,
    pub expected_votes: u32,
    pub highest_expected: u32,
    pub total_votes: u32,
    pub quorum: u32,
    pub flags: u32,
    pub qdevice_votes: u32,
    pub qdevice_name: String,
}

impl VoteInfo {
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// An open votequorum connection; closed on drop.
pub struct Votequorum {
    handle: u64,
}

impl Votequorum {
    pub fn connect() -> Result<Self> {
        let mut handle = 0u64;
        // SAFETY: a valid out-pointer; a null callbacks table is allowed for query-only use.
        let rc = unsafe { votequorum_initialize(&mut handle, std::ptr::null_mut()) };
        check("votequorum_initialize", rc)?;
        Ok(Votequorum { handle })
    }

    /// Information about `nodeid` (0 = local node). Unknown nodes give `CS_ERR_NOT_EXIST`.
    pub fn info(&self, nodeid: u32) -> Result<VoteInfo> {
        // SAFETY: RawInfo is plain data matching `struct votequorum_info`; all-zero is valid.
        let mut raw: RawInfo = unsafe { std::mem::zeroed() };
        // SAFETY: the handle is open and `raw` outlives the call.
        let rc = unsafe { votequorum_getinfo(self.handle, nodeid, &mut raw) };
        check("votequorum_getinfo", rc)?;
        let name_bytes: Vec<u8> = raw
            .qdevice_name
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        Ok(VoteInfo {
            node_id: raw.node_id,
            state: raw.node_state,
            votes: raw.node_votes,
            expected_votes: raw.node_expected_votes,
            highest_expected: raw.highest_expected,
            total_votes: raw.total_votes,
            quorum: raw.quorum,
            flags: raw.flags,
            qdevice_votes: raw.qdevice_votes,
            qdevice_name: String::from_utf8_lossy(&name_bytes).into_owned(),
        })
    }

    pub fn set_expected(&self, expected_votes: u32) -> Result<()> {
        // SAFETY: the handle is open.
        let rc = unsafe { votequorum_setexpected(self.handle, expected_votes) };
        check("votequorum_setexpected", rc)
    }
}

impl Drop for Votequorum {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by `connect` and is closed exactly once.
        unsafe { votequorum_finalize(self.handle) };
    }
}

/// Sets the expected votes cluster-wide (what `corosync-quorumtool -e` does).
pub fn set_expected(expected_votes: u32) -> Result<()> {
    Votequorum::connect()?.set_expected(expected_votes)
}

fn check(call: &'static str, rc: u32) -> Result<()> {
    if rc == CS_OK {
        Ok(())
    } else {
        Err(Error::new(call, rc))
    }
}

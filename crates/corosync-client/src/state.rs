//! One snapshot of the local node's quorum state, as the lab probe and tests consume it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{membership, Result, Votequorum};

/// Quorum and membership of the local node, read through the Corosync client libraries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumState {
    pub node_id: u32,
    pub quorate: bool,
    pub ring_id: String,
    pub members: Vec<u32>,
    pub expected_votes: u32,
    pub highest_expected: u32,
    pub total_votes: u32,
    pub quorum: u32,
    pub flags: u32,
}

/// Reads quorum state from the running corosync on this node.
pub fn quorum_state() -> Result<QuorumState> {
    let members = membership(Duration::from_secs(5))?;
    let votequorum = Votequorum::connect()?;
    let local = votequorum.info(0)?;
    Ok(QuorumState {
        node_id: local.node_id,
        quorate: members.quorate,
        ring_id: members.ring_id(),
        members: members.members,
        expected_votes: local.expected_votes,
        highest_expected: local.highest_expected,
        total_votes: local.total_votes,
        quorum: local.quorum,
        flags: local.flags,
    })
}

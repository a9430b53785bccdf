//! The JSON form of `pvecm status` / `pvecm nodes` (`--output-format json`).
//!
//! Stable document (fields are only ever added):
//!
//! ```json
//! {
//!   "cluster": { "name": "prod", "config_version": "3", "transport": "knet",
//!                "secure_auth": "on" },                        // null without corosync.conf
//!   "quorum": { "date": "Tue Sep 14 11:06:47 2021", "provider": "corosync_votequorum",
//!               "nodes": 2, "node_id": 1, "ring_id": "1.1a8", "quorate": true },
//!   "votequorum": { "expected_votes": 3, "highest_expected": 3, "total_votes": 3,
//!                   "quorum": 2, "activity_blocked": false,
//!                   "flags": ["Quorate", "Qdevice"], "flags_raw": 66 },  // null without
//!   "members": [ { "node_id": 1, "votes": 1, "name": "pve1", "address": "10.0.0.1",
//!                  "local": true,
//!                  "qdevice": { "alive": true, "cast_vote": true, "master_wins": false,
//!                               "text": "A,V,NMW" } } ],              // qdevice null: NR
//!   "qdevice": { "name": "Qdevice", "votes": 1, "counted_locally": true }  // null if none
//! }
//! ```
//!
//! Values from corosync.conf stay text (as in the file); missing ones are `null`. `provider` is
//! `null` when no quorum provider is configured; `ring_id` is `<node hex>.<seq hex>` (only
//! `<seq hex>` without votequorum); `votes` is `null` without votequorum.

use serde::{Deserialize, Serialize};

use super::{flag_words, flags, qdevice_cell, ClusterInfo, StatusSnapshot};

/// Top-level JSON document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusJson {
    pub cluster: Option<ClusterInfo>,
    pub quorum: QuorumJson,
    pub votequorum: Option<VotequorumJson>,
    pub members: Vec<MemberJson>,
    pub qdevice: Option<QdeviceJson>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumJson {
    pub date: String,
    pub provider: Option<String>,
    pub nodes: usize,
    pub node_id: u32,
    pub ring_id: String,
    pub quorate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotequorumJson {
    pub expected_votes: u32,
    pub highest_expected: u32,
    pub total_votes: u32,
    pub quorum: u32,
    pub activity_blocked: bool,
    pub flags: Vec<String>,
    pub flags_raw: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberJson {
    pub node_id: u32,
    pub votes: Option<u32>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub local: bool,
    pub qdevice: Option<MemberQdeviceJson>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberQdeviceJson {
    pub alive: bool,
    pub cast_vote: bool,
    pub master_wins: bool,
    /// The quorumtool cell, e.g. `A,V,NMW`.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QdeviceJson {
    pub name: String,
    pub votes: u32,
    /// Whether the local node counts the device's votes (the tool shows 0 votes otherwise).
    pub counted_locally: bool,
}

impl From<&StatusSnapshot> for StatusJson {
    fn from(s: &StatusSnapshot) -> Self {
        let vq = s.votequorum.as_ref();
        let ring_id = if vq.is_some() {
            format!("{:x}.{:x}", s.quorum.ring_id.node, s.quorum.ring_id.seq)
        } else {
            format!("{:x}", s.quorum.ring_id.seq)
        };
        let members = s
            .members
            .iter()
            .map(|m| MemberJson {
                node_id: m.node_id,
                votes: vq.map(|_| m.votes),
                name: m.name.clone(),
                address: m.address.clone(),
                local: m.local,
                qdevice: (m.flags & flags::QDEVICE_REGISTERED != 0).then(|| MemberQdeviceJson {
                    alive: m.flags & flags::QDEVICE_ALIVE != 0,
                    cast_vote: m.flags & flags::QDEVICE_CAST_VOTE != 0,
                    master_wins: m.flags & flags::QDEVICE_MASTER_WINS != 0,
                    text: qdevice_cell(m.flags),
                }),
            })
            .collect();
        StatusJson {
            cluster: s.cluster.clone(),
            quorum: QuorumJson {
                date: s.quorum.date.clone(),
                provider: s.quorum.provider.clone(),
                nodes: s.members.len(),
                node_id: s.quorum.node_id,
                ring_id,
                quorate: s.quorum.quorate,
            },
            votequorum: vq.map(|v| VotequorumJson {
                expected_votes: v.expected_votes,
                highest_expected: v.highest_expected,
                total_votes: v.total_votes,
                quorum: v.quorum,
                activity_blocked: v.flags & flags::QUORATE == 0,
                flags: flag_words(v.flags).into_iter().map(String::from).collect(),
                flags_raw: v.flags,
            }),
            members,
            qdevice: s
                .shows_qdevice()
                .then(|| s.qdevice.clone().unwrap_or_default())
                .map(|d| QdeviceJson {
                    name: d.name,
                    votes: d.votes,
                    counted_locally: s.local_casts_qdevice_vote(),
                }),
        }
    }
}

/// The snapshot as pretty-printed JSON (with a trailing newline).
pub fn render_json(s: &StatusSnapshot) -> String {
    let mut text =
        serde_json::to_string_pretty(&StatusJson::from(s)).expect("plain data always serializes");
    text.push('\n');
    text
}

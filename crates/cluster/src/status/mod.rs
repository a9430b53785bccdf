//! `pvecm status` and `pvecm nodes`, rendered from plain snapshots.
//!
//! `pvecm status` prints Proxmox's "Cluster information" block (from corosync.conf; each line
//! `printf("%-17s %s\n", "<Label>:", value)`, then an empty line) followed by the output of
//! `corosync-quorumtool -siH`; `pvecm nodes` is `corosync-quorumtool -l`. The text renderers
//! here reproduce corosync 3.1.7's tool byte for byte, including trailing blanks:
//!
//! * numeric cells are right-aligned in 10 columns plus one space; `-H` ids are `0x%08x `;
//! * `Quorum:           <q> ` + one blank when quorate, else `Activity blocked`;
//! * `Flags:            ` + each set flag word followed by a blank
//!   (`2Node Quorate WaitForAll LastManStanding AutoTieBreaker AllowDownscale Qdevice`);
//! * the Qdevice column appears when any listed node has a registered device; its cell is
//!   `A|NA,V|NV,MW|NMW` or `NR`; then a row for node id 0 with the device votes (0 and a
//!   ` (votes N)` suffix when the local node does not cast the device's vote);
//! * without votequorum there are no Votes/Qdevice columns, no votequorum block, the ring id
//!   is only the sequence, and (as in the tool) no membership block in the status output.
//!
//! [`json`] gives the same data as a stable JSON document (`--output-format json`).

mod collect;
pub mod ctime;
pub mod json;

pub use collect::collect;

use std::fmt::Write;

use serde::{Deserialize, Serialize};

/// votequorum flag bits (`votequorum_info.flags`).
pub use corosync_client::flags;

/// The words of the `Flags:` line, in the tool's order.
pub const FLAG_WORDS: [(u32, &str); 7] = [
    (flags::TWO_NODE, "2Node"),
    (flags::QUORATE, "Quorate"),
    (flags::WAIT_FOR_ALL, "WaitForAll"),
    (flags::LAST_MAN_STANDING, "LastManStanding"),
    (flags::AUTO_TIE_BREAKER, "AutoTieBreaker"),
    (flags::ALLOW_DOWNSCALE, "AllowDownscale"),
    (flags::QDEVICE_REGISTERED, "Qdevice"),
];

/// The words for the set bits of `flags`.
pub fn flag_words(flags: u32) -> Vec<&'static str> {
    FLAG_WORDS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, w)| *w)
        .collect()
}

/// The `totem` values `pvecm status` shows (raw text from corosync.conf; `None` if absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: Option<String>,
    pub config_version: Option<String>,
    pub transport: Option<String>,
    pub secure_auth: Option<String>,
}

impl ClusterInfo {
    /// Reads the values from corosync.conf text; `None` if it does not parse or has no
    /// `totem` section (then `pvecm status` prints no cluster block).
    pub fn from_corosync_conf(text: &str) -> Option<ClusterInfo> {
        let conf = corosync_conf::Config::parse(text).ok()?;
        conf.root().sections_named("totem").next()?;
        let get = |k: &str| conf.get(&["totem"], k).map(str::to_string);
        Some(ClusterInfo {
            name: get("cluster_name"),
            config_version: get("config_version"),
            transport: get("transport"),
            secure_auth: get("secauth"),
        })
    }
}

/// Ring id: representative node id and sequence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RingId {
    pub node: u32,
    pub seq: u64,
}

/// What the quorum service reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumInfo {
    /// The `Date:` value, a `ctime(3)` string without newline (see [`ctime::ctime`]).
    pub date: String,
    /// The quorum provider (`corosync_votequorum`); `None` prints `Not configured`.
    pub provider: Option<String>,
    /// This node's id (`runtime.votequorum.this_node_id`).
    pub node_id: u32,
    pub ring_id: RingId,
    pub quorate: bool,
}

/// What votequorum reports for the local node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotequorumInfo {
    pub expected_votes: u32,
    pub highest_expected: u32,
    pub total_votes: u32,
    pub quorum: u32,
    /// [`flags`] bits.
    pub flags: u32,
}

/// One member of the current membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub node_id: u32,
    /// votequorum's votes for this node.
    pub votes: u32,
    /// votequorum's flags for this node (the qdevice bits matter).
    pub flags: u32,
    /// `nodelist.node.X.name`.
    pub name: Option<String>,
    /// The node's first (ring0) address.
    pub address: Option<String>,
    pub local: bool,
}

/// The quorum device as votequorum reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QdeviceInfo {
    pub name: String,
    pub votes: u32,
}

/// Everything `pvecm status` / `pvecm nodes` show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSnapshot {
    /// From corosync.conf; `None` if it is missing or has no totem section.
    pub cluster: Option<ClusterInfo>,
    pub quorum: QuorumInfo,
    /// `None` when corosync does not use votequorum.
    pub votequorum: Option<VotequorumInfo>,
    /// In the order corosync delivers them.
    pub members: Vec<Member>,
    pub qdevice: Option<QdeviceInfo>,
}

/// How node ids are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFormat {
    Decimal,
    /// `-H`: `0x%08x`.
    Hex,
}

/// What the Name column shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameFormat {
    /// The nodelist name (falling back to the address).
    Name,
    /// `-i`: the numeric address (falling back to the name).
    Address,
}

fn padded(out: &mut String, s: &str) {
    let _ = write!(out, "{s:>10} ");
}

fn id_cell(out: &mut String, id: u32, f: IdFormat) {
    match f {
        IdFormat::Decimal => padded(out, &id.to_string()),
        IdFormat::Hex => {
            let _ = write!(out, "0x{id:08x} ");
        }
    }
}

/// The Qdevice cell of a member: `A|NA,V|NV,MW|NMW`, or `NR` without a registered device.
pub fn qdevice_cell(flags: u32) -> String {
    if flags & flags::QDEVICE_REGISTERED == 0 {
        return "NR".into();
    }
    let pick = |bit, yes: &'static str, no: &'static str| if flags & bit != 0 { yes } else { no };
    format!(
        "{},{},{}",
        pick(flags::QDEVICE_ALIVE, "A", "NA"),
        pick(flags::QDEVICE_CAST_VOTE, "V", "NV"),
        pick(flags::QDEVICE_MASTER_WINS, "MW", "NMW")
    )
}

impl StatusSnapshot {
    /// Whether the Qdevice column (and row) is shown.
    pub fn shows_qdevice(&self) -> bool {
        self.votequorum.is_some()
            && self
                .members
                .iter()
                .any(|m| m.flags & flags::QDEVICE_REGISTERED != 0)
    }

    /// Whether the local node counts the quorum device's vote.
    pub fn local_casts_qdevice_vote(&self) -> bool {
        self.members
            .iter()
            .find(|m| m.local)
            .is_some_and(|m| m.flags & flags::QDEVICE_CAST_VOTE != 0)
    }

    /// Exit status of `pvecm status` (as `corosync-quorumtool -s`): 0 quorate, 2 not.
    pub fn exit_code(&self) -> i32 {
        if self.quorum.quorate {
            0
        } else {
            2
        }
    }
}

/// The "Cluster information" block of `pvecm status` (empty without corosync.conf).
pub fn render_cluster_info(info: Option<&ClusterInfo>) -> String {
    let Some(c) = info else {
        return String::new();
    };
    let mut out = String::from("Cluster information\n-------------------\n");
    let rows = [
        ("Name:", c.name.as_deref().unwrap_or("UNKOWN?")),
        (
            "Config Version:",
            c.config_version.as_deref().unwrap_or("-1"),
        ),
        ("Transport:", c.transport.as_deref().unwrap_or("knet")),
        ("Secure auth:", c.secure_auth.as_deref().unwrap_or("off")),
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "{label:<17} {value}");
    }
    out.push('\n');
    out
}

/// The membership block (`corosync-quorumtool -l`, and the end of `-s`).
pub fn render_membership(s: &StatusSnapshot, ids: IdFormat, names: NameFormat) -> String {
    let vq = s.votequorum.is_some();
    let qdev = s.shows_qdevice();
    let mut out = String::from("\nMembership information\n----------------------\n");
    padded(&mut out, "Nodeid");
    if vq {
        padded(&mut out, "Votes");
        if qdev {
            padded(&mut out, "Qdevice");
        }
    }
    out.push_str("Name\n");
    for m in &s.members {
        id_cell(&mut out, m.node_id, ids);
        if vq {
            padded(&mut out, &m.votes.to_string());
            if qdev {
                padded(&mut out, &qdevice_cell(m.flags));
            }
        }
        let (first, second) = match names {
            NameFormat::Name => (&m.name, &m.address),
            NameFormat::Address => (&m.address, &m.name),
        };
        out.push_str(first.as_deref().or(second.as_deref()).unwrap_or(""));
        if m.local {
            out.push_str(" (local)");
        }
        out.push('\n');
    }
    if qdev {
        let dev = s.qdevice.clone().unwrap_or_default();
        let casting = s.local_casts_qdevice_vote();
        id_cell(&mut out, 0, ids);
        padded(&mut out, &if casting { dev.votes } else { 0 }.to_string());
        let _ = write!(out, "           {}", dev.name);
        if !casting {
            let _ = write!(out, " (votes {})", dev.votes);
        }
        out.push('\n');
    }
    out
}

/// `corosync-quorumtool -s` output with the given id and name formats.
pub fn render_quorumtool_status(s: &StatusSnapshot, ids: IdFormat, names: NameFormat) -> String {
    let q = &s.quorum;
    let mut out = String::from("Quorum information\n------------------\n");
    let _ = writeln!(out, "Date:             {}", q.date);
    let provider = q.provider.as_deref().unwrap_or("Not configured");
    let _ = writeln!(out, "Quorum provider:  {provider}");
    let _ = writeln!(out, "Nodes:            {}", s.members.len());
    match ids {
        IdFormat::Decimal => writeln!(out, "Node ID:          {}", q.node_id),
        IdFormat::Hex => writeln!(out, "Node ID:          0x{:08x}", q.node_id),
    }
    .ok();
    let Some(v) = &s.votequorum else {
        let _ = writeln!(out, "Ring ID:          {:x}", q.ring_id.seq);
        let _ = writeln!(out, "Quorate:          {}", yes_no(q.quorate));
        return out;
    };
    let _ = writeln!(
        out,
        "Ring ID:          {:x}.{:x}",
        q.ring_id.node, q.ring_id.seq
    );
    let _ = writeln!(out, "Quorate:          {}", yes_no(q.quorate));
    out.push_str("\nVotequorum information\n----------------------\n");
    let _ = writeln!(out, "Expected votes:   {}", v.expected_votes);
    let _ = writeln!(out, "Highest expected: {}", v.highest_expected);
    let _ = writeln!(out, "Total votes:      {}", v.total_votes);
    let blocked = if v.flags & flags::QUORATE != 0 {
        " "
    } else {
        "Activity blocked"
    };
    let _ = writeln!(out, "Quorum:           {} {blocked}", v.quorum);
    out.push_str("Flags:            ");
    for w in flag_words(v.flags) {
        out.push_str(w);
        out.push(' ');
    }
    out.push('\n');
    out.push_str(&render_membership(s, ids, names));
    out
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

/// `pvecm status`: the cluster block, then `corosync-quorumtool -siH`.
pub fn render_pvecm_status(s: &StatusSnapshot) -> String {
    let mut out = render_cluster_info(s.cluster.as_ref());
    out.push_str(&render_quorumtool_status(
        s,
        IdFormat::Hex,
        NameFormat::Address,
    ));
    out
}

/// `pvecm nodes`: `corosync-quorumtool -l` (decimal ids, nodelist names).
pub fn render_pvecm_nodes(s: &StatusSnapshot) -> String {
    render_membership(s, IdFormat::Decimal, NameFormat::Name)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

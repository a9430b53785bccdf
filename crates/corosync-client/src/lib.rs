//! Reads the state of the local Corosync engine through its client libraries.
//!
//! This crate answers "what does corosync on this node think right now?": quorum, membership,
//! votes (votequorum), node names (cmap) and knet link status (cfg). It wraps `rust-corosync`
//! and adds a thin FFI where that crate lacks a value (`total_votes`, raw flag bits).
//!
//! It is not a daemon-side event loop: every call opens its own connections and closes them, so
//! it suits command-line tools and probes. Long-running services track changes themselves.

mod cmapview;
mod error;
mod links;
mod membership;
mod state;
mod tracker;
mod votequorum;

pub use cmapview::{
    cluster_info, cmap_string, first_ip, kill_node, local_node_id, member_ips, node_names,
    reload_config, totem_timers, ClusterInfo, ConfNode, TotemTimers,
};
pub use error::{Error, Result};
pub use links::{link_status, LinkState, PeerLinks};
pub use membership::{membership, wait_readable, Membership};
pub use state::{quorum_state, QuorumState};
pub use tracker::{track_quorum, QuorumEvent};
pub use votequorum::{flags, set_expected, VoteInfo, Votequorum};

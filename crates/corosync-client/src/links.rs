//! knet link status towards every other configured node (what `corosync-cfgtool -n` shows).

use rust_corosync::cfg;
use rust_corosync::NodeId;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// State of one knet link towards a peer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    pub link: u8,
    pub enabled: bool,
    pub connected: bool,
}

/// Links towards one peer node; only links that are enabled in the configuration are listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerLinks {
    pub node_id: u32,
    pub reachable: bool,
    pub links: Vec<LinkState>,
}

/// Link status towards each node in `peers` (the local node is skipped by the caller).
pub fn link_status(peers: &[u32]) -> Result<Vec<PeerLinks>> {
    let callbacks = cfg::Callbacks {
        corosync_cfg_shutdown_callback_fn: None,
    };
    let handle = cfg::initialize(&callbacks).map_err(|e| Error::from_cs("cfg_initialize", e))?;
    let mut out = Vec::new();
    for &peer in peers {
        let status = cfg::node_status_get(&handle, NodeId::from(peer), cfg::NodeStatusVersion::V1)
            .map_err(|e| Error::from_cs("corosync_cfg_node_status_get", e))?;
        let links = status
            .link_status
            .iter()
            .enumerate()
            .filter(|(_, l)| l.enabled)
            .map(|(i, l)| LinkState {
                link: i as u8,
                enabled: l.enabled,
                connected: l.connected,
            })
            .collect();
        out.push(PeerLinks {
            node_id: peer,
            reachable: status.reachable,
            links,
        });
    }
    Ok(out)
}

//! What pmxcfs publishes about the cluster: `.members` (nodes, their ids, addresses and
//! online state), `corosync.conf`, and the address other nodes reach a node at.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{IpAddr, ToSocketAddrs};

use serde::Deserialize;

use crate::{Error, PveDir, Result};

/// The `cluster` object of `.members`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MembersCluster {
    pub name: String,
    pub version: u64,
    pub nodes: u64,
    pub quorate: u8,
}

/// One node of `.members`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MembersNode {
    pub id: u32,
    pub online: u8,
    #[serde(default)]
    pub ip: Option<String>,
}

/// `/etc/pve/.members` as pmxcfs writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Members {
    pub nodename: String,
    #[serde(default)]
    pub cluster: Option<MembersCluster>,
    #[serde(default)]
    pub nodelist: BTreeMap<String, MembersNode>,
}

/// Reads `.members`; `None` when it does not exist (pmxcfs not mounted) or is not valid JSON.
pub fn read_members(pve: &PveDir) -> Option<Members> {
    let text = std::fs::read(pve.root().join(".members")).ok()?;
    match serde_json::from_slice(&text) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!("ignoring unreadable {}/.members: {e}", pve.root().display());
            None
        }
    }
}

/// Reads `corosync.conf` from the cluster file system; `None` when there is none.
pub fn read_corosync_conf(pve: &PveDir) -> Result<Option<Vec<u8>>> {
    let path = pve.corosync_conf();
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", &path, e)),
    }
}

/// The first non-loopback address `name` resolves to.
pub fn resolve_node(name: &str) -> Option<IpAddr> {
    let addrs = (name, 0u16).to_socket_addrs().ok()?;
    addrs.map(|a| a.ip()).find(|ip| !ip.is_loopback())
}

/// The address other nodes reach `node` at: its `ip` in `.members` (what pmxcfs announces),
/// else the first non-loopback address its name resolves to.
pub fn remote_node_ip(members: Option<&Members>, node: &str) -> Result<String> {
    if let Some(ip) = members
        .and_then(|m| m.nodelist.get(node))
        .and_then(|n| n.ip.clone())
    {
        return Ok(ip);
    }
    resolve_node(node).map(|ip| ip.to_string()).ok_or_else(|| {
        Error::Invalid(format!(
            "unable to get IP for node '{node}': it has no address in .members (is pmxcfs \
             running there?) and its name does not resolve to a non-loopback address (add it \
             to /etc/hosts or DNS)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_members_with_and_without_cluster() {
        let text = "{\n\"nodename\": \"n1\",\n\"version\": 5,\n\"cluster\": { \"name\": \"c\", \
                    \"version\": 3, \"nodes\": 2, \"quorate\": 1 },\n\"nodelist\": {\n  \"n1\": \
                    { \"id\": 1, \"online\": 1, \"ip\": \"10.0.0.1\"},\n  \"n2\": { \"id\": 2, \
                    \"online\": 0}\n  }\n}\n";
        let m: Members = serde_json::from_str(text).unwrap();
        assert_eq!(m.cluster.as_ref().unwrap().quorate, 1);
        assert_eq!(m.nodelist["n2"].ip, None);
        assert_eq!(remote_node_ip(Some(&m), "n1").unwrap(), "10.0.0.1");
        let local: Members =
            serde_json::from_str("{\n\"nodename\": \"n1\",\n\"version\": 0\n}\n").unwrap();
        assert!(local.cluster.is_none() && local.nodelist.is_empty());
    }
}

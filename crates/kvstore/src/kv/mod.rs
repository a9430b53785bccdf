//! Per-node key/value status (§4.3), node IPs (§4.4), the RRD sample table and the
//! `.version` kvstore block (§3.4).
//!
//! Keys come in three kinds: `rrd/<key>` (a table shared by all nodes), `nodeip` (the IP
//! table, by node name) and plain keys (one table per node; the local one plus one per
//! remote node, created on its first update). Plain entries carry a version that starts
//! at 0 and counts updates; an empty value deletes the key.

use std::collections::BTreeMap;

mod format;

pub use format::{
    classify, decode_update, encode_update, render_version_block, KeyKind, KvEntry, KvTable,
    UpdateError, KEY_FIELD_LEN, MAX_KEY_LEN, MAX_VALUE_SIZE,
};

/// One RRD sample (value NUL-terminated, 1..=4095 bytes) and when it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RrdEntry {
    /// The sample string with its NUL.
    pub data: Vec<u8>,
    /// Local Unix seconds of the last update.
    pub time: u32,
}

/// A cluster node as known from corosync's node list (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Corosync node id.
    pub nodeid: u32,
    /// Node name.
    pub name: String,
    /// Quorum votes.
    pub votes: u32,
}

/// A known node with its runtime data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    /// Identity from the node list.
    pub info: NodeInfo,
    /// Member of the KVSTORE group.
    pub online: bool,
    /// Its plain keys (`None` until its first update).
    pub kv: Option<KvTable>,
}

/// Where an accepted key/value went (for the caller's side effects).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A plain key of the node's table.
    Plain,
    /// A node IP; `changed` if new or different (`clinfo_version` was bumped).
    NodeIp {
        /// The IP changed.
        changed: bool,
    },
    /// An RRD sample (`key` without `rrd/`): the daemon writes it to its RRD file.
    Rrd {
        /// Key without the `rrd/` prefix.
        key: String,
    },
}

/// A rejected value: the errno the original answers locally (`-ENOMEM`, as its failed
/// table insert is reported that way).
pub const BAD_VALUE: i32 = -libc::ENOMEM;

/// The status tables of one daemon.
#[derive(Debug, Clone)]
pub struct Tables {
    nodename: String,
    local: KvTable,
    rrd: BTreeMap<String, RrdEntry>,
    ips: BTreeMap<String, String>,
    nodes: Option<BTreeMap<u32, ClusterNode>>,
    clinfo_version: u32,
}

fn ip_value(value: &[u8]) -> Option<String> {
    let ok = !value.is_empty() && value.len() < 256 && value.last() == Some(&0);
    let text = &value[..value.iter().position(|&b| b == 0)?];
    ok.then(|| String::from_utf8_lossy(text).into_owned())
}

fn rrd_value(value: &[u8]) -> bool {
    !value.is_empty() && value.len() < 4096 && value.last() == Some(&0)
}

impl Tables {
    /// Empty tables for the node `nodename`, without cluster information.
    pub fn new(nodename: &str) -> Tables {
        Tables {
            nodename: nodename.to_string(),
            local: KvTable::default(),
            rrd: BTreeMap::new(),
            ips: BTreeMap::new(),
            nodes: None,
            clinfo_version: 0,
        }
    }

    /// The local node name.
    pub fn nodename(&self) -> &str {
        &self.nodename
    }

    /// Counter bumped on node-list reloads, KVSTORE membership changes and IP changes.
    pub fn clinfo_version(&self) -> u32 {
        self.clinfo_version
    }

    /// Bumps [`Tables::clinfo_version`] (e.g. at shutdown).
    pub fn bump_clinfo_version(&mut self) {
        self.clinfo_version = self.clinfo_version.wrapping_add(1);
    }

    /// Replaces the node list (cmap reload): nodes keeping their node id keep their
    /// online flag and kv table; bumps `clinfo_version`.
    pub fn set_nodes(&mut self, nodes: &[NodeInfo]) {
        let mut old = self.nodes.take().unwrap_or_default();
        let new = nodes
            .iter()
            .map(|info| {
                let prev = old.remove(&info.nodeid);
                let node = ClusterNode {
                    info: info.clone(),
                    online: prev.as_ref().is_some_and(|p| p.online),
                    kv: prev.and_then(|p| p.kv),
                };
                (info.nodeid, node)
            })
            .collect();
        self.nodes = Some(new);
        self.bump_clinfo_version();
    }

    /// The known nodes by node id (`None` without cluster information).
    pub fn nodes(&self) -> Option<&BTreeMap<u32, ClusterNode>> {
        self.nodes.as_ref()
    }

    /// KVSTORE membership changed: known nodes are online iff listed. Without cluster
    /// information nothing happens; otherwise `clinfo_version` is bumped.
    pub fn set_online(&mut self, member_nodeids: &[u32]) {
        let Some(nodes) = self.nodes.as_mut() else {
            return;
        };
        for (id, node) in nodes.iter_mut() {
            node.online = member_nodeids.contains(id);
        }
        self.bump_clinfo_version();
    }

    /// Whether node `nodeid` is a KVSTORE member (false if unknown).
    pub fn online(&self, nodeid: u32) -> bool {
        self.nodes
            .as_ref()
            .and_then(|n| n.get(&nodeid))
            .is_some_and(|n| n.online)
    }

    /// Node IPs by node name.
    pub fn node_ips(&self) -> &BTreeMap<String, String> {
        &self.ips
    }

    /// The local plain table.
    pub fn local(&self) -> &KvTable {
        &self.local
    }

    /// The RRD sample table (keys without `rrd/`).
    pub fn rrd(&self) -> &BTreeMap<String, RrdEntry> {
        &self.rrd
    }

    fn set_ip(&mut self, name: &str, ip: String) -> bool {
        if self.ips.get(name) == Some(&ip) {
            return false;
        }
        self.ips.insert(name.to_string(), ip);
        self.bump_clinfo_version();
        true
    }

    fn apply(
        &mut self,
        sender: Option<u32>,
        key: &str,
        value: &[u8],
        now: u32,
    ) -> Result<Applied, i32> {
        match classify(key) {
            KeyKind::Rrd(rrd_key) => {
                if !rrd_value(value) {
                    return Err(BAD_VALUE);
                }
                let entry = RrdEntry {
                    data: value.to_vec(),
                    time: now,
                };
                self.rrd.insert(rrd_key.to_string(), entry);
                Ok(Applied::Rrd {
                    key: rrd_key.to_string(),
                })
            }
            KeyKind::NodeIp => {
                let ip = ip_value(value).ok_or(BAD_VALUE)?;
                let name = match sender {
                    None => self.nodename.clone(),
                    Some(id) => self.node_name(id).ok_or(BAD_VALUE)?,
                };
                let changed = self.set_ip(&name, ip);
                Ok(Applied::NodeIp { changed })
            }
            KeyKind::Plain => {
                let table = match sender {
                    None => &mut self.local,
                    Some(id) => {
                        let node = self
                            .nodes
                            .as_mut()
                            .and_then(|n| n.get_mut(&id))
                            .ok_or(BAD_VALUE)?;
                        node.kv.get_or_insert_with(KvTable::default)
                    }
                };
                table.set(key, value);
                Ok(Applied::Plain)
            }
        }
    }

    fn node_name(&self, nodeid: u32) -> Option<String> {
        Some(self.nodes.as_ref()?.get(&nodeid)?.info.name.clone())
    }

    /// Sets a key of the local node (IPC op 4). Errors: `-EFBIG` above 32 KiB, `-EINVAL`
    /// for a key the 256-byte field cannot carry, `-ENOMEM` (as the original) for an
    /// `rrd/` value that is not 1..4095 bytes NUL-terminated or a `nodeip` value that is
    /// not 1..255 bytes NUL-terminated.
    pub fn set_local(&mut self, key: &str, value: &[u8], now: u32) -> Result<Applied, i32> {
        if value.len() > MAX_VALUE_SIZE {
            return Err(-libc::EFBIG);
        }
        if key.len() > MAX_KEY_LEN || key.contains('\0') {
            return Err(-libc::EINVAL);
        }
        self.apply(None, key, value, now)
    }

    /// Applies an update received from node `nodeid`. `None` if ignored: unknown node
    /// (or no cluster information), or an invalid `rrd/` / `nodeip` value.
    pub fn set_remote(
        &mut self,
        nodeid: u32,
        key: &str,
        value: &[u8],
        now: u32,
    ) -> Option<Applied> {
        self.node_name(nodeid)?;
        self.apply(Some(nodeid), key, value, now).ok()
    }

    /// Reads a plain value (IPC op 5): an empty or the local node name reads the local
    /// table, another name that node's table.
    pub fn get(&self, nodename: &str, key: &str) -> Option<&[u8]> {
        let table = if nodename.is_empty() || nodename == self.nodename {
            Some(&self.local)
        } else {
            let nodes = self.nodes.as_ref()?;
            nodes
                .values()
                .find(|n| n.info.name == nodename)?
                .kv
                .as_ref()
        };
        table?.get(key).map(|e| e.value.as_slice())
    }

    /// The `.version` kvstore block (see [`render_version_block`]); other nodes in node
    /// id order.
    pub fn version_block(&self) -> String {
        let others: Vec<(String, Vec<(String, u32)>)> = self
            .nodes
            .iter()
            .flat_map(|n| n.values())
            .filter_map(|n| Some((n.info.name.clone(), n.kv.as_ref()?.versions())))
            .collect();
        render_version_block(&self.nodename, &self.local.versions(), &others)
    }

    /// The `.rrd` text: drops samples older than 5 minutes, then one `key:data⏎` line
    /// per sample (without the NUL the IPC answer appends).
    pub fn rrd_dump(&mut self, now: u32) -> String {
        self.rrd
            .retain(|_, e| (now.wrapping_sub(e.time) as i32) <= 300);
        let mut out = String::new();
        for (key, e) in &self.rrd {
            let data = &e.data[..e.data.iter().position(|&b| b == 0).unwrap_or(e.data.len())];
            out.push_str(&format!("{key}:{}\n", String::from_utf8_lossy(data)));
        }
        out
    }
}

#[cfg(test)]
mod tests;

//! Values read from the live configuration map (cmap): node names, totem timers, cluster info,
//! and the configuration reload request.

use std::collections::BTreeMap;

use rust_corosync::cmap;

use crate::{Error, Result};

/// Configured node name per node id (`nodelist.node.N.name`); nodes without a name are absent.
pub fn node_names() -> Result<BTreeMap<u32, String>> {
    let handle =
        cmap::initialize(cmap::Map::Icmap).map_err(|e| Error::from_cs("cmap_initialize", e))?;
    let mut nodes = NodeFields::default();
    let iter = cmap::CmapIterStart::new(&handle, "nodelist.node.")
        .map_err(|e| Error::from_cs("cmap_iter_init", e))?;
    for item in iter {
        nodes.add(item.key_name(), item.data());
    }
    Ok(nodes
        .0
        .into_values()
        .filter_map(|n| Some((n.id?, n.name?)))
        .collect())
}

/// `nodelist.node.<index>.*` values collected per index while iterating cmap.
#[derive(Default)]
struct NodeFields(BTreeMap<String, PartialNode>);

struct PartialNode {
    id: Option<u32>,
    name: Option<String>,
    ring0: Option<String>,
    votes: u32,
}

impl NodeFields {
    /// Takes one cmap key/value if it belongs to the nodelist.
    fn add(&mut self, key: &str, data: &cmap::Data) {
        let Some((index, field)) = key
            .strip_prefix("nodelist.node.")
            .and_then(|rest| rest.split_once('.'))
        else {
            return;
        };
        let node = self.0.entry(index.to_string()).or_insert(PartialNode {
            id: None,
            name: None,
            ring0: None,
            votes: 1,
        });
        match (field, data) {
            ("nodeid", cmap::Data::UInt32(id)) => node.id = Some(*id),
            ("nodeid", cmap::Data::String(s)) => node.id = s.parse().ok(),
            ("name", cmap::Data::String(s)) => node.name = Some(s.clone()),
            ("ring0_addr", cmap::Data::String(s)) => node.ring0 = Some(s.clone()),
            ("quorum_votes", cmap::Data::UInt32(v)) => node.votes = *v,
            _ => {}
        }
    }

    /// Nodes with an id and a name (or, lacking one, their ring0 address), as pmxcfs lists them.
    fn into_conf_nodes(self) -> Vec<ConfNode> {
        self.0
            .into_values()
            .filter_map(|n| {
                Some(ConfNode {
                    id: n.id?,
                    name: n.name.or(n.ring0)?,
                    votes: n.votes,
                })
            })
            .collect()
    }
}

/// One value of the live configuration, `None` if the key does not exist.
///
/// Read through a key iterator: rust-corosync's `cmap::get` offers corosync only 16 bytes for
/// the value, so any string of 16 bytes or more (e.g. `corosync_votequorum`) fails with
/// CS_ERR_INVALID_PARAM; the iterator asks for the real size first.
fn get(handle: &cmap::Handle, key: &str) -> Result<Option<Value>> {
    let iter =
        cmap::CmapIterStart::new(handle, key).map_err(|e| Error::from_cs("cmap_iter_init", e))?;
    Ok(iter
        .into_iter()
        .find(|item| item.key_name() == key)
        .map(|item| Value::from(item.data())))
}

/// The value types we read from cmap (rust-corosync's `Data` cannot be cloned out).
enum Value {
    U32(u32),
    U64(u64),
    Str(String),
    Other,
}

impl From<&cmap::Data> for Value {
    fn from(data: &cmap::Data) -> Value {
        match data {
            cmap::Data::UInt32(v) => Value::U32(*v),
            cmap::Data::UInt64(v) => Value::U64(*v),
            cmap::Data::String(s) => Value::Str(s.clone()),
            _ => Value::Other,
        }
    }
}

/// The effective totem timers (`runtime.config.totem.*`), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TotemTimers {
    pub token_ms: u32,
    pub consensus_ms: u32,
}

/// Reads the effective token and consensus timeouts from the running corosync.
pub fn totem_timers() -> Result<TotemTimers> {
    let handle =
        cmap::initialize(cmap::Map::Icmap).map_err(|e| Error::from_cs("cmap_initialize", e))?;
    let read = |key: &str| -> Result<u32> {
        match get(&handle, key)? {
            Some(Value::U32(v)) => Ok(v),
            Some(_) => Err(Error::new("cmap_get", 7)),
            None => Err(Error::new("cmap_get", 12)),
        }
    };
    Ok(TotemTimers {
        token_ms: read("runtime.config.totem.token")?,
        consensus_ms: read("runtime.config.totem.consensus")?,
    })
}

/// One node of the configured nodelist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfNode {
    pub id: u32,
    pub name: String,
    pub votes: u32,
}

/// The cluster as corosync's live configuration describes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClusterInfo {
    pub name: String,
    pub config_version: u64,
    pub nodes: Vec<ConfNode>,
    /// First address of each member corosync knows (`runtime.members.<id>.ip`).
    pub ips: BTreeMap<u32, String>,
}

/// Reads cluster name, config version, nodelist and member addresses from cmap.
pub fn cluster_info() -> Result<ClusterInfo> {
    let handle =
        cmap::initialize(cmap::Map::Icmap).map_err(|e| Error::from_cs("cmap_initialize", e))?;
    let name = match get(&handle, "totem.cluster_name")? {
        Some(Value::Str(s)) => s,
        Some(_) => return Err(Error::new("cmap_get", 7)),
        None => return Err(Error::new("cmap_get", 12)),
    };
    let config_version = match get(&handle, "totem.config_version")? {
        Some(Value::U64(v)) => v,
        _ => 0,
    };
    let mut nodes = NodeFields::default();
    for item in cmap::CmapIterStart::new(&handle, "nodelist.node.")
        .map_err(|e| Error::from_cs("cmap_iter_init", e))?
    {
        nodes.add(item.key_name(), item.data());
    }
    let ips = read_member_ips(&handle)?;
    let nodes = nodes.into_conf_nodes();
    Ok(ClusterInfo {
        name,
        config_version,
        nodes,
        ips,
    })
}

/// The first address of each current member (`runtime.members.<id>.ip`).
pub fn member_ips() -> Result<BTreeMap<u32, String>> {
    let handle =
        cmap::initialize(cmap::Map::Icmap).map_err(|e| Error::from_cs("cmap_initialize", e))?;
    read_member_ips(&handle)
}

fn read_member_ips(handle: &cmap::Handle) -> Result<BTreeMap<u32, String>> {
    let mut ips = BTreeMap::new();
    for item in cmap::CmapIterStart::new(handle, "runtime.members.")
        .map_err(|e| Error::from_cs("cmap_iter_init", e))?
    {
        let rest = &item.key_name()["runtime.members.".len()..];
        if let (Some((id, "ip")), cmap::Data::String(s)) = (rest.split_once('.'), item.data()) {
            if let (Ok(id), Some(ip)) = (id.parse(), first_ip(s)) {
                ips.insert(id, ip);
            }
        }
    }
    Ok(ips)
}

/// A string value of the live configuration, `None` if the key does not exist.
pub fn cmap_string(key: &str) -> Result<Option<String>> {
    let handle =
        cmap::initialize(cmap::Map::Icmap).map_err(|e| Error::from_cs("cmap_initialize", e))?;
    match get(&handle, key)? {
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(Error::new("cmap_get", 7)),
        None => Ok(None),
    }
}

/// This node's id (what `corosync-cfgtool -s` reports as local node ID).
pub fn local_node_id() -> Result<u32> {
    let callbacks = rust_corosync::cfg::Callbacks {
        corosync_cfg_shutdown_callback_fn: None,
    };
    let handle = rust_corosync::cfg::initialize(&callbacks)
        .map_err(|e| Error::from_cs("cfg_initialize", e))?;
    rust_corosync::cfg::local_get(&handle)
        .map(u32::from)
        .map_err(|e| Error::from_cs("cfg_local_get", e))
}

/// The first address in a `runtime.members.<id>.ip` value like `r(0) ip(10.0.0.1) r(1) ip(…) `.
pub fn first_ip(value: &str) -> Option<String> {
    let start = value.find("ip(")? + 3;
    let end = value[start..].find(')')? + start;
    Some(value[start..end].to_string())
}

/// Asks every node to re-read its corosync.conf (what `corosync-cfgtool -R` does).
pub fn reload_config() -> Result<()> {
    let callbacks = rust_corosync::cfg::Callbacks {
        corosync_cfg_shutdown_callback_fn: None,
    };
    let handle = rust_corosync::cfg::initialize(&callbacks)
        .map_err(|e| Error::from_cs("cfg_initialize", e))?;
    rust_corosync::cfg::reload_cnfig(&handle).map_err(|e| Error::from_cs("cfg_reload_config", e))
}

/// Asks corosync to kill node `nodeid` (what `corosync-cfgtool -k` does). The daemon answers
/// `CS_ERR_NOT_EXIST` when the node is not a joined member (e.g. already powered off).
pub fn kill_node(nodeid: u32, reason: &str) -> Result<()> {
    let callbacks = rust_corosync::cfg::Callbacks {
        corosync_cfg_shutdown_callback_fn: None,
    };
    let handle = rust_corosync::cfg::initialize(&callbacks)
        .map_err(|e| Error::from_cs("cfg_initialize", e))?;
    let result =
        rust_corosync::cfg::kill_node(&handle, rust_corosync::NodeId::from(nodeid), reason)
            .map_err(|e| Error::from_cs("cfg_kill_node", e));
    let _ = rust_corosync::cfg::finalize(&handle);
    result
}

#[cfg(test)]
mod tests {
    use super::first_ip;

    #[test]
    fn member_ip_is_the_first_address() {
        assert_eq!(
            first_ip("r(0) ip(10.99.0.1) r(1) ip(10.99.1.1) ").as_deref(),
            Some("10.99.0.1")
        );
        assert_eq!(first_ip("r(0) ip(fd00::1) ").as_deref(), Some("fd00::1"));
        assert_eq!(first_ip("nothing"), None);
    }
}

//! The web UI's "Join Information" blob, the join API versions and the corosync authkey
//! encoding of the addnode answer.
//!
//! The blob is the base64 (standard alphabet, padded) of a JSON object, keys in this order:
//! `ipAddress` (the preferred node's `pve_addr`), `fingerprint` (its `pve_fp`), `peerLinks`
//! (`{"<link number>": "<address>"}` from its `ring<N>_addr`/`link<N>_addr` keys), `ring_addr`
//! (the same addresses as a list, by link number) and `totem` (the `totem` object of
//! `GET /cluster/config/join`). The joining side needs `totem`; link numbers come from
//! `totem.interface[*].linknumber`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::certs::is_valid_fingerprint;
use crate::{corosync_json, members, PveDir};

/// This implementation's join API version.
pub const JOIN_API_VERSION: i64 = 1;
/// (version − this) is the oldest joining node a cluster member accepts.
pub const JOIN_API_AGE_AS_CLUSTER: i64 = 1;
/// (version − this) is the oldest cluster a joining node will join.
pub const JOIN_API_AGE_AS_JOINEE: i64 = 1;

/// A problem with join data; the message says what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JoinInfoError(pub String);

fn err(msg: impl Into<String>) -> JoinInfoError {
    JoinInfoError(msg.into())
}

/// The decoded Join Information.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinInformation {
    #[serde(rename = "ipAddress")]
    pub ip_address: String,
    pub fingerprint: String,
    #[serde(rename = "peerLinks", default)]
    pub peer_links: BTreeMap<String, String>,
    #[serde(default)]
    pub ring_addr: Vec<String>,
    pub totem: Map<String, Value>,
}

/// The number `N` of a `ring<N>_addr` / `link<N>_addr` key.
fn link_key_number(key: &str) -> Option<u32> {
    let rest = key
        .strip_prefix("ring")
        .or_else(|| key.strip_prefix("link"))?;
    let digits = rest.strip_suffix("_addr")?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl JoinInformation {
    /// Builds the blob's content from a `GET /cluster/config/join` answer (the `data` object:
    /// `nodelist`, `preferred_node`, `totem`).
    pub fn from_join_api(data: &Value) -> Result<Self, JoinInfoError> {
        let preferred = data
            .get("preferred_node")
            .and_then(Value::as_str)
            .ok_or_else(|| err("join info has no 'preferred_node'"))?;
        let node = data
            .get("nodelist")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|n| n.get("name").and_then(Value::as_str) == Some(preferred))
            .ok_or_else(|| err(format!("join info has no nodelist entry for '{preferred}'")))?;
        let field = |k: &str| {
            node.get(k)
                .and_then(text)
                .ok_or_else(|| err(format!("nodelist entry '{preferred}' has no '{k}'")))
        };
        let mut links = BTreeMap::new();
        for (k, v) in node.as_object().into_iter().flatten() {
            if let (Some(n), Some(addr)) = (link_key_number(k), text(v)) {
                links.insert(n, addr);
            }
        }
        let totem = data
            .get("totem")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| err("join info has no 'totem' object"))?;
        Ok(JoinInformation {
            ip_address: field("pve_addr")?,
            fingerprint: field("pve_fp")?,
            ring_addr: links.values().cloned().collect(),
            peer_links: links.into_iter().map(|(n, a)| (n.to_string(), a)).collect(),
            totem,
        })
    }

    /// The blob: base64 of the JSON text.
    pub fn encode(&self) -> String {
        STANDARD.encode(serde_json::to_vec(self).expect("plain data always serializes"))
    }

    /// Decodes a pasted blob (whitespace and missing padding tolerated) and checks it.
    pub fn decode(blob: &str) -> Result<Self, JoinInfoError> {
        let compact: String = blob.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = STANDARD_NO_PAD
            .decode(compact.trim_end_matches('='))
            .map_err(|e| {
                err(format!(
                    "the Join Information is not valid base64 ({e}): copy it again with \
                     'Copy Information' on a cluster node"
                ))
            })?;
        let info: JoinInformation = serde_json::from_slice(&bytes).map_err(|e| {
            err(format!(
                "the Join Information is not what a cluster node produces ({e}); copy it \
                 again from Datacenter → Cluster → Join Information"
            ))
        })?;
        if !is_valid_fingerprint(&info.fingerprint) {
            return Err(err(format!(
                "the Join Information has an invalid fingerprint '{}'",
                info.fingerprint
            )));
        }
        Ok(info)
    }

    /// The cluster's link numbers, from `totem.interface[*].linknumber` (defaults to link 0
    /// when the totem has no interface section).
    pub fn link_numbers(&self) -> Vec<u32> {
        let mut out: Vec<u32> = match self.totem.get("interface") {
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| {
                    v.get("linknumber")
                        .and_then(text)
                        .or_else(|| Some(k.clone()))
                        .and_then(|s| s.parse().ok())
                })
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.get("linknumber").and_then(text))
                .filter_map(|s| s.parse().ok())
                .collect(),
            _ => vec![0],
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The cluster name (`totem.cluster_name`), if present.
    pub fn cluster_name(&self) -> Option<String> {
        self.totem.get("cluster_name").and_then(text)
    }

    /// Whether the joining UI may leave link0 empty (use the node's default address): only
    /// with exactly one link whose peer address is the API address.
    pub fn link0_may_be_empty(&self) -> bool {
        self.link_numbers().len() == 1 && self.ring_addr.first() == Some(&self.ip_address)
    }
}

/// Joining side: refuses a cluster whose join API is too old.
pub fn check_cluster_version(remote: i64) -> Result<(), JoinInfoError> {
    let min = JOIN_API_VERSION - JOIN_API_AGE_AS_JOINEE;
    if remote >= min {
        return Ok(());
    }
    Err(err(format!(
        "error: incompatible join API version on cluster ({remote}), local node has \
         {JOIN_API_VERSION} and supports >= {min}. Make sure all cluster nodes are up-to-date."
    )))
}

/// Cluster side (addnode): refuses a joining node whose join API is too old.
pub fn check_joining_node_version(remote: i64) -> Result<(), JoinInfoError> {
    let min = JOIN_API_VERSION - JOIN_API_AGE_AS_CLUSTER;
    if remote >= min {
        return Ok(());
    }
    Err(err(format!(
        "error: unsupported old API version on joining node ({remote}), cluster node has \
         {JOIN_API_VERSION} and supports >= {min}. Please upgrade node before joining"
    )))
}

/// The corosync authkey as the addnode answer carries it: each byte becomes the character
/// with the same code point (Latin-1), so the JSON string is valid UTF-8.
pub fn authkey_to_text(key: &[u8]) -> String {
    key.iter().map(|&b| char::from(b)).collect()
}

/// The inverse of [`authkey_to_text`]; fails on characters above U+00FF.
pub fn authkey_from_text(text: &str) -> Result<Vec<u8>, JoinInfoError> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| {
            err(
                "corosync_authkey holds characters above U+00FF: it is not a byte string; \
                 the cluster node's answer is damaged, try the join again",
            )
        })
}

/// The answer of `GET /cluster/config/join` with `preferred` as the preferred node: the
/// nodelist of `corosync.conf` (each node with its certificate fingerprint `pve_fp` and the
/// address `pve_addr` other nodes reach it at, sorted by node id), the `totem` section and the
/// digest of the file. `None` when this node is not in a cluster.
pub fn join_api_answer(pve: &PveDir, preferred: &str) -> crate::Result<Option<Value>> {
    let Some(bytes) = members::read_corosync_conf(pve)? else {
        return Ok(None);
    };
    let conf = corosync_json::parse(&bytes)?;
    let nodes = conf.nodes();
    if !nodes.contains_key(preferred) {
        return Err(crate::Error::Invalid(format!("unknown node '{preferred}'")));
    }
    let members = members::read_members(pve);
    let mut list = Vec::new();
    for (name, mut node) in nodes {
        let fp = crate::certs::node_fingerprint(pve, &name)?;
        let addr = members::remote_node_ip(members.as_ref(), &name)?;
        if let Value::Object(m) = &mut node {
            m.insert("pve_fp".into(), Value::String(fp));
            m.insert("pve_addr".into(), Value::String(addr));
        }
        list.push(node);
    }
    list.sort_by_key(nodeid_of);
    Ok(Some(json!({
        "nodelist": list,
        "preferred_node": preferred,
        "totem": conf.totem().cloned().unwrap_or(Value::Object(Map::new())),
        "config_digest": conf.digest,
    })))
}

fn nodeid_of(node: &Value) -> u64 {
    node.get("nodeid")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "join_info_tests.rs"]
mod tests;

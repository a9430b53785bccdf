//! addnode: a cluster member adds a joining node to corosync.conf (the member's side of
//! `POST /cluster/config/nodes/{node}`).
//!
//! [`edit_conf`] is the pure edit of the text, with the original's checks and messages:
//! duplicate link addresses, link sets that do not match the cluster's, the legacy
//! single-link fallback (`new_node_ip`), existing names (only `force` with equal votes and
//! nodeid may overwrite), the smallest free node id, `quorum_votes` omitted for 0 votes,
//! `config_version` + 1. [`apply`] does it on the files: reads `/etc/pve/corosync.conf`, makes
//! the new node's directories, writes the new text atomically (`corosync.conf.new` + rename)
//! and returns what the joining node needs. Callers hold the locks (local `pvecm.lock` and,
//! with more than one member, the cluster lock `file-corosync_conf`).

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::Path;

use corosync_conf::{Config, Item, NodeSpec};

use crate::links::Links;
use crate::{fsutil, join_info, setup, Error, PveDir, Result};

/// The parameters of addnode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddNodeParams {
    pub node: String,
    pub nodeid: Option<u32>,
    pub votes: Option<u32>,
    pub links: Links,
    pub new_node_ip: Option<String>,
    pub force: bool,
    /// The joining node's join API version (0 when not sent).
    pub apiversion: i64,
}

/// The result of [`edit_conf`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The new corosync.conf text.
    pub text: String,
    /// Non-fatal notes (e.g. "forcing overwrite of configured node").
    pub notes: Vec<String>,
}

/// What the joining node receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddNodeAnswer {
    /// `/etc/corosync/authkey` as text ([`join_info::authkey_to_text`]).
    pub corosync_authkey: String,
    /// The new `/etc/pve/corosync.conf`.
    pub corosync_conf: String,
    pub warnings: Vec<String>,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

/// Adds `p.node` to the corosync.conf `text`.
pub fn edit_conf(text: &str, p: &AddNodeParams) -> Result<Edited> {
    join_info::check_joining_node_version(p.apiversion).map_err(|e| invalid(e.to_string()))?;
    let mut conf =
        Config::parse(text).map_err(|e| invalid(format!("invalid corosync.conf: {e}")))?;
    let problems = conf.validate();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|p| format!("error: {p}")).collect();
        return Err(invalid(format!(
            "invalid corosync.conf\n{}",
            list.join("\n")
        )));
    }
    let view = conf.view();
    let mut links = p.links.clone();
    let mut new_node_ip = p.new_node_ip.clone();

    for link in links.values() {
        for node in &view.nodes {
            if node.name.as_deref() == Some(p.node.as_str()) {
                continue;
            }
            for (ring, addr) in &node.addrs {
                if *addr == link.address {
                    return Err(invalid(format!(
                        "corosync: address '{}' already used on link ring{ring}_addr by node '{}'",
                        link.address,
                        node.name.as_deref().unwrap_or("")
                    )));
                }
            }
        }
    }

    let cluster_links: BTreeSet<u8> = view
        .nodes
        .first()
        .map(|n| n.addrs.keys().copied().collect())
        .unwrap_or_default();

    let legacy = new_node_ip.is_none() && links.len() == 1 && p.apiversion == 0;
    if legacy {
        new_node_ip = links.values().next().map(|l| l.address.clone());
        links.clear();
    }
    let mut addrs = std::collections::BTreeMap::new();
    if !links.is_empty() {
        for n in &cluster_links {
            if !links.contains_key(n) {
                return Err(invalid(format!(
                    "corosync: link {n} exists in cluster config but wasn't specified for new node"
                )));
            }
        }
        for (n, link) in &links {
            if !cluster_links.contains(n) {
                return Err(invalid(format!(
                    "corosync: link {n} specified for new node doesn't exist in cluster config"
                )));
            }
            addrs.insert(*n, link.address.clone());
        }
    } else {
        let ip = new_node_ip.ok_or_else(|| {
            invalid("no links and no fallback ip (new_node_ip) given, cannot join cluster")
        })?;
        if cluster_links.len() != 1 {
            return Err(invalid(if legacy {
                format!(
                    "cluster has {} links, but only 1 given",
                    cluster_links.len()
                )
            } else {
                "no links given but multiple links found on other nodes, fallback only \
                 supported on single-link clusters"
                    .to_string()
            }));
        }
        addrs.insert(*cluster_links.iter().next().unwrap_or(&0), ip);
    }

    let mut notes = Vec::new();
    let existing = view
        .nodes
        .iter()
        .find(|n| n.name.as_deref() == Some(p.node.as_str()));
    let (nodeid, votes) = match existing {
        Some(old) => {
            let nodeid = p.nodeid.or(old.nodeid);
            let votes = p.votes.or(old.quorum_votes);
            if !(p.force && nodeid == old.nodeid && votes == old.quorum_votes) {
                return Err(invalid(format!("can't add existing node '{}'", p.node)));
            }
            notes.push(format!("forcing overwrite of configured node '{}'", p.node));
            conf.remove_node(&p.node)
                .map_err(|e| invalid(e.to_string()))?;
            (nodeid.unwrap_or(1), votes.unwrap_or(1))
        }
        None => {
            let used: BTreeSet<u32> = view.nodes.iter().filter_map(|n| n.nodeid).collect();
            let nodeid = match p.nodeid {
                Some(id) => id,
                None => (1..).find(|id| !used.contains(id)).unwrap_or(1),
            };
            (nodeid, p.votes.unwrap_or(1))
        }
    };
    if existing.is_none() {
        if let Some((i, n)) = view
            .nodes
            .iter()
            .enumerate()
            .find(|(_, n)| n.nodeid == Some(nodeid))
        {
            return Err(invalid(format!(
                "Node ID {nodeid} already used by node '{}'",
                n.label(i)
            )));
        }
    }

    conf.add_node(&NodeSpec {
        name: p.node.clone(),
        nodeid,
        quorum_votes: votes,
        addrs,
    })
    .map_err(|e| invalid(e.to_string()))?;
    if votes == 0 {
        conf = without_votes_of_last_node(&conf);
    }
    conf.bump_config_version()
        .map_err(|e| invalid(e.to_string()))?;
    Ok(Edited {
        text: conf.to_text(),
        notes,
    })
}

/// The configuration with `quorum_votes` removed from the last node (a node with 0 votes
/// carries no `quorum_votes` line, as in the original).
fn without_votes_of_last_node(conf: &Config) -> Config {
    let mut root = conf.root().clone();
    let last_node = root
        .entries
        .iter_mut()
        .filter_map(|e| match &mut e.item {
            Item::Section(s) if s.name == "nodelist" => Some(s),
            _ => None,
        })
        .flat_map(|nl| nl.entries.iter_mut())
        .filter_map(|e| match &mut e.item {
            Item::Section(s) if s.name == "node" => Some(s),
            _ => None,
        })
        .last();
    if let Some(node) = last_node {
        node.entries.retain(|e| e.name() != "quorum_votes");
    }
    Config::from_root(root)
}

/// Runs addnode on the files: `pve`'s corosync.conf is edited and replaced atomically, the
/// new node's directories are made, and the answer carries `authkey` (the corosync key).
pub fn apply(pve: &PveDir, authkey: &Path, p: &AddNodeParams) -> Result<AddNodeAnswer> {
    let conf_path = pve.corosync_conf();
    let old =
        std::fs::read_to_string(&conf_path).map_err(|e| Error::io("cannot read", &conf_path, e))?;
    let edited = edit_conf(&old, p)?;
    setup::gen_local_dirs(pve, &p.node)?;
    let new = pve.root().join("corosync.conf.new");
    fsutil::write_atomic(&new, edited.text.as_bytes(), 0o640)?;
    std::fs::rename(&new, &conf_path).map_err(|e| {
        let _ = std::fs::remove_file(&new);
        invalid(format!("activating corosync.conf.new failed - {e}"))
    })?;
    let key = std::fs::read(authkey).map_err(|e| Error::io("cannot read", authkey, e))?;
    Ok(AddNodeAnswer {
        corosync_authkey: join_info::authkey_to_text(&key),
        corosync_conf: edited.text,
        warnings: edited.notes,
    })
}

/// How many nodes `text` lists (0 when it does not parse).
pub fn node_count(text: &str) -> usize {
    Config::parse(text).map_or(0, |c| c.view().nodes.len())
}

//! delnode: remove a node from the cluster (`DELETE /cluster/config/nodes/{node}`, `pvecm
//! delnode`).
//!
//! [`edit_conf`] is the pure edit: the node is found by name, `ring0_addr` or `ring1_addr`
//! (none: "Node/IP: <x> is not a known host of the cluster."), the local node is refused
//! ("Cannot delete myself from cluster!"), its `node { }` block is removed and
//! `config_version` goes up by one. [`apply`] does it on `/etc/pve/corosync.conf`: edit, ask
//! corosync to kill the node (errors are only reported — a powered-off node answers
//! `CS_ERR_NOT_EXIST`), then write the new text atomically. As in the original,
//! `/etc/pve/nodes/<name>` and the node's SSH keys stay (manual cleanup). Callers hold the
//! config-change lock ([`crate::config_change`]).

#[cfg(test)]
mod tests;

use corosync_conf::Config;

use crate::{fsutil, Error, PveDir, Result};

/// The result of [`edit_conf`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The new corosync.conf text.
    pub text: String,
    /// The removed node's name.
    pub name: String,
    /// The removed node's id (None if its entry had none).
    pub nodeid: Option<u32>,
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}

/// Removes the node `node` (a name, or a link 0/1 address) from the corosync.conf `text`;
/// `local` is this node's name.
pub fn edit_conf(text: &str, node: &str, local: &str) -> Result<Deleted> {
    if node == local {
        return Err(invalid("Cannot delete myself from cluster!"));
    }
    let mut conf =
        Config::parse(text).map_err(|e| invalid(format!("invalid corosync.conf: {e}")))?;
    let found = conf.view().nodes.into_iter().find(|n| {
        n.name.as_deref() == Some(node)
            || n.addrs.get(&0).map(String::as_str) == Some(node)
            || n.addrs.get(&1).map(String::as_str) == Some(node)
    });
    let found = found.ok_or_else(|| {
        invalid(format!(
            "Node/IP: {node} is not a known host of the cluster."
        ))
    })?;
    let name = found
        .name
        .clone()
        .ok_or_else(|| invalid(format!("node entry for '{node}' has no name")))?;
    if name == local {
        return Err(invalid("Cannot delete myself from cluster!"));
    }
    conf.remove_node(&name)
        .map_err(|e| invalid(e.to_string()))?;
    conf.bump_config_version()
        .map_err(|e| invalid(e.to_string()))?;
    Ok(Deleted {
        text: conf.to_text(),
        name,
        nodeid: found.nodeid,
    })
}

/// Runs delnode on the files of `pve`: `kill` is called with the node id between the edit and
/// the write (its errors are the caller's to report; they do not stop the removal).
pub fn apply(pve: &PveDir, node: &str, local: &str, kill: impl FnOnce(u32)) -> Result<Deleted> {
    let conf_path = pve.corosync_conf();
    let old =
        std::fs::read_to_string(&conf_path).map_err(|e| Error::io("cannot read", &conf_path, e))?;
    let deleted = edit_conf(&old, node, local)?;
    if let Some(id) = deleted.nodeid {
        kill(id);
    }
    let new = pve.root().join("corosync.conf.new");
    fsutil::write_atomic(&new, deleted.text.as_bytes(), 0o640)?;
    std::fs::rename(&new, &conf_path).map_err(|e| {
        let _ = std::fs::remove_file(&new);
        invalid(format!("activating corosync.conf.new failed - {e}"))
    })?;
    Ok(deleted)
}

/// Asks corosync to kill node `nodeid`, printing `Killing node N` first as
/// `corosync-cfgtool -k` does; a failure is printed as the tool prints it and not returned.
pub fn kill_node_verbose(nodeid: u32) {
    println!("Killing node {nodeid}");
    if let Err(e) = corosync_client::kill_node(nodeid, "Killed by corosync-cfgtool") {
        eprintln!("Could not kill node (error = {})", e.code_name());
    }
}

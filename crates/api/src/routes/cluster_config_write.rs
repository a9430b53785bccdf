//! The write side of `/cluster/config` (root only).
//!
//! * `POST /cluster/config/nodes/{node}` (addnode, run on a cluster member for a joining
//!   node): requires quorum ("cluster not ready - no quorum?"), takes the local
//!   `pvecm.lock` and, when the cluster has more than one node, the cluster lock
//!   `file-corosync_conf`, then edits `/etc/pve/corosync.conf` with
//!   [`cluster::addnode::apply`] and answers `{corosync_authkey, corosync_conf, warnings}`.
//! * `DELETE /cluster/config/nodes/{node}` (delnode): refuses the local node, then under the
//!   same locks ([`cluster::config_change::with_config_lock`]) runs
//!   [`cluster::delnode::apply`], asking corosync to kill the node (failures only logged).

use std::path::Path;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::routing::{delete, post};
use axum::Router;
use serde_json::{json, Value};

use cluster::addnode::{self, AddNodeParams};
use cluster::lockfile::{LockFile, PVECM_LOCK};

use crate::auth::AuthUser;
use crate::cfs_lock;
use crate::error::{ApiError, ApiResult};
use crate::params::{Kind, Param, Params, TEXT};
use crate::pmxcfs;
use crate::response::ApiData;
use crate::state::AppState;

/// `/etc/corosync/authkey`, sent to the joining node.
pub const COROSYNC_AUTHKEY: &str = "/etc/corosync/authkey";

const LINKS: [&str; 8] = [
    "link0", "link1", "link2", "link3", "link4", "link5", "link6", "link7",
];

/// Parameters of addnode (besides the `node` in the path).
pub const ADDNODE_SCHEMA: &[Param] = &[
    Param::optional(
        "nodeid",
        Kind::Integer {
            min: Some(1),
            max: None,
        },
    ),
    Param::optional(
        "votes",
        Kind::Integer {
            min: Some(0),
            max: None,
        },
    ),
    Param::optional("force", Kind::Boolean),
    Param::optional("new_node_ip", TEXT),
    Param::optional(
        "apiversion",
        Kind::Integer {
            min: None,
            max: None,
        },
    ),
    Param::optional("link0", TEXT),
    Param::optional("link1", TEXT),
    Param::optional("link2", TEXT),
    Param::optional("link3", TEXT),
    Param::optional("link4", TEXT),
    Param::optional("link5", TEXT),
    Param::optional("link6", TEXT),
    Param::optional("link7", TEXT),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cluster/config/nodes/{node}", post(addnode_handler))
        .route("/cluster/config/nodes/{node}", delete(delnode_handler))
}

/// The addnode parameters from the request.
pub fn addnode_params(node: &str, params: &Params) -> ApiResult<AddNodeParams> {
    params.check(ADDNODE_SCHEMA)?;
    cluster::links::check_node_name(node).map_err(|e| ApiError::param("node", e.0))?;
    let mut links = cluster::links::Links::new();
    for (n, name) in LINKS.iter().enumerate() {
        if let Some(v) = params.get(name) {
            let link = cluster::links::parse_link(v).map_err(|e| ApiError::param(name, e.0))?;
            links.insert(n as u8, link);
        }
    }
    if let Some(ip) = params.get("new_node_ip") {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(ApiError::param(
                "new_node_ip",
                "value does not look like a valid IP address",
            ));
        }
    }
    let int = |k: &str| params.integer(k).and_then(|v| u32::try_from(v).ok());
    Ok(AddNodeParams {
        node: node.to_string(),
        nodeid: int("nodeid"),
        votes: int("votes"),
        links,
        new_node_ip: params.get("new_node_ip").map(str::to_string),
        force: params.boolean("force").unwrap_or(false),
        apiversion: params.integer("apiversion").unwrap_or(0),
    })
}

async fn addnode_handler(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath(node): UrlPath<String>,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    user.require_root()?;
    let p = addnode_params(&node, &params)?;
    cluster::join_info::check_joining_node_version(p.apiversion)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let answer = crate::blocking(move || {
        if !pmxcfs::is_quorate(&state.pve) {
            return Err(ApiError::internal("cluster not ready - no quorum?"));
        }
        let _local = LockFile::acquire(Path::new(PVECM_LOCK), Duration::from_secs(10))?;
        let text = pmxcfs::read_corosync_conf(&state.pve)?
            .ok_or_else(|| ApiError::internal("node is not in a cluster"))?;
        let members = addnode::node_count(&String::from_utf8_lossy(&text));
        let run = || addnode::apply(&state.pve, Path::new(COROSYNC_AUTHKEY), &p);
        let answer = if members > 1 {
            cfs_lock::with_lock(
                &state.pve,
                "file-corosync_conf",
                cfs_lock::DEFAULT_TIMEOUT,
                run,
            )
            .map_err(|e| ApiError::internal(e.to_string()))??
        } else {
            run()?
        };
        tracing::info!("adding node {} to cluster", p.node);
        Ok(answer)
    })
    .await?;
    Ok(ApiData(json!({
        "corosync_authkey": answer.corosync_authkey,
        "corosync_conf": answer.corosync_conf,
        "warnings": answer.warnings,
    })))
}

async fn delnode_handler(
    user: AuthUser,
    State(state): State<AppState>,
    UrlPath(node): UrlPath<String>,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    user.require_root()?;
    params.check(&[])?;
    if node == state.nodename {
        return Err(ApiError::internal("Cannot delete myself from cluster!"));
    }
    crate::blocking(move || {
        let pve = &state.pve;
        let deleted = cluster::config_change::with_config_lock(pve, || {
            cluster::delnode::apply(pve, &node, &state.nodename, |id| {
                tracing::info!("Killing node {id}");
                if let Err(e) = corosync_client::kill_node(id, "Killed by corosync-cfgtool") {
                    tracing::warn!("Could not kill node (error = {})", e.code_name());
                }
            })
        })?;
        tracing::info!("deleting node {} from cluster", deleted.name);
        Ok(())
    })
    .await?;
    Ok(ApiData(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn addnode_parameters_are_checked_and_converted() {
        let p = addnode_params(
            "pve2",
            &params(&[
                ("link0", "10.0.0.2"),
                ("link1", "address=10.1.0.2,priority=3"),
                ("votes", "0"),
                ("force", "1"),
                ("apiversion", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(p.links.len(), 2);
        assert_eq!(p.links[&1].address, "10.1.0.2");
        assert_eq!(
            (p.votes, p.nodeid, p.force, p.apiversion),
            (Some(0), None, true, 1)
        );
        let e = addnode_params("pve2", &params(&[("nodeid", "0")])).unwrap_err();
        assert!(e.errors.unwrap().contains_key("nodeid"));
        let e = addnode_params("pve2", &params(&[("new_node_ip", "x")])).unwrap_err();
        assert!(e.errors.unwrap().contains_key("new_node_ip"));
        let e = addnode_params("bad.name", &params(&[])).unwrap_err();
        assert!(e.errors.unwrap().contains_key("node"));
        let e = addnode_params("pve2", &params(&[("bogus", "1")])).unwrap_err();
        assert!(e.errors.unwrap().contains_key("bogus"));
    }
}

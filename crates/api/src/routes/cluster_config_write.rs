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
//! * `POST /cluster/config` (create): turns this stand-alone node into a one-node cluster with
//!   [`cluster::create::create`] (parameters `clustername`, `nodeid`, `votes`,
//!   `token-coefficient`, `link0..7`). Refused up front when corosync.conf exists.
//! * `POST /cluster/config/join` (join, on the joining node): [`cluster::join::join`]
//!   (parameters `hostname`, `fingerprint`, `password`, `nodeid`, `votes`, `force`,
//!   `link0..7`). The fingerprint is required, so no question is ever asked.
//!
//! Create and join run as worker tasks (`clustercreate`, `clusterjoin`, see [`crate::tasks`])
//! as in the original: parameter errors and the checks that need no change (create: no
//! cluster yet, link addresses on this node) answer at once; then the answer is the task's
//! UPID and the work's progress lines, and its `TASK OK` or `TASK ERROR: ...`, go to the task
//! log. The join's final restart of the API daemon (to load the new certificate and keys)
//! happens after the task's log is closed, as the restart would otherwise cut it off.

use std::path::Path;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::routing::{delete, post};
use axum::Router;
use serde_json::{json, Value};

use cluster::addnode::{self, AddNodeParams};
use cluster::create::{CreateEnv, CreateParams, DEFAULT_TOKEN_COEFFICIENT};
use cluster::join::{JoinEnv, JoinParams, SystemNode};
use cluster::lockfile::{LockFile, PVECM_LOCK};
use cluster::node_ip;
use cluster::services::{Services, SystemServices};
use service_control::{Action, Service};

use crate::auth::AuthUser;
use crate::cfs_lock;
use crate::error::{ApiError, ApiResult};
use crate::params::{Kind, Param, Params, TEXT};
use crate::pmxcfs;
use crate::response::ApiData;
use crate::state::AppState;
use crate::tasks::{FollowUp, TaskOutcome, Upid};

/// `/etc/corosync/authkey`, sent to the joining node.
pub const COROSYNC_AUTHKEY: &str = "/etc/corosync/authkey";

/// `link0..7`, accepted by create, join and addnode besides their own parameters.
const LINK_PARAMS: &[Param] = &[
    Param::optional("link0", TEXT),
    Param::optional("link1", TEXT),
    Param::optional("link2", TEXT),
    Param::optional("link3", TEXT),
    Param::optional("link4", TEXT),
    Param::optional("link5", TEXT),
    Param::optional("link6", TEXT),
    Param::optional("link7", TEXT),
];

/// Checks `params` against `schema` plus [`LINK_PARAMS`].
fn check_with_links(params: &Params, schema: &[Param]) -> ApiResult<()> {
    let full: Vec<Param> = schema.iter().chain(LINK_PARAMS).copied().collect();
    params.check(&full)
}

/// Parameters of addnode (besides the `node` in the path and the links).
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
];

/// Parameters of create (besides the links).
pub const CREATE_SCHEMA: &[Param] = &[
    Param::required("clustername", TEXT),
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
            min: Some(1),
            max: None,
        },
    ),
    Param::optional(
        "token-coefficient",
        Kind::Integer {
            min: Some(0),
            max: None,
        },
    ),
];

/// Parameters of join (besides the links).
pub const JOIN_SCHEMA: &[Param] = &[
    Param::required("hostname", TEXT),
    Param::required("fingerprint", TEXT),
    Param::required("password", Kind::Text { max_len: Some(128) }),
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
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cluster/config", post(create_handler))
        .route("/cluster/config/join", post(join_handler))
        .route("/cluster/config/nodes/{node}", post(addnode_handler))
        .route("/cluster/config/nodes/{node}", delete(delnode_handler))
}

/// `link0..7` of the request, parsed.
fn links_param(params: &Params) -> ApiResult<cluster::links::Links> {
    let mut links = cluster::links::Links::new();
    for (n, name) in LINK_PARAMS.iter().map(|p| p.name).enumerate() {
        if let Some(v) = params.get(name) {
            let link = cluster::links::parse_link(v).map_err(|e| ApiError::param(name, e.0))?;
            links.insert(n as u8, link);
        }
    }
    Ok(links)
}

/// An integer parameter already checked by the schema (bounds ≥ 0), as `u32`.
fn u32_param(params: &Params, name: &str) -> ApiResult<Option<u32>> {
    match params.integer(name) {
        None => Ok(None),
        Some(v) => u32::try_from(v)
            .map(Some)
            .map_err(|_| ApiError::param(name, "value out of range")),
    }
}

/// The create parameters from the request.
pub fn create_params(params: &Params) -> ApiResult<CreateParams> {
    check_with_links(params, CREATE_SCHEMA)?;
    let name = params.get("clustername").unwrap_or_default();
    cluster::links::check_cluster_name(name).map_err(|e| ApiError::param("clustername", e.0))?;
    let mut p = CreateParams::new(name);
    p.links = links_param(params)?;
    p.nodeid = u32_param(params, "nodeid")?.unwrap_or(1);
    p.votes = u32_param(params, "votes")?.unwrap_or(1);
    p.token_coefficient =
        Some(u32_param(params, "token-coefficient")?.unwrap_or(DEFAULT_TOKEN_COEFFICIENT));
    p.validate()?;
    Ok(p)
}

/// The join parameters from the request.
pub fn join_params(params: &Params) -> ApiResult<JoinParams> {
    check_with_links(params, JOIN_SCHEMA)?;
    let fingerprint = params.get("fingerprint").unwrap_or_default();
    let fingerprint = cluster::certs::normalize_fingerprint(fingerprint)
        .map_err(|e| ApiError::param("fingerprint", e.to_string()))?;
    let host = params.get("hostname").unwrap_or_default();
    if host.is_empty() || cluster::links::check_address(host).is_err() {
        return Err(ApiError::param(
            "hostname",
            "value does not look like a valid IP address or DNS name",
        ));
    }
    Ok(JoinParams {
        host: host.to_string(),
        fingerprint: Some(fingerprint),
        password: params.get("password").unwrap_or_default().to_string(),
        nodeid: u32_param(params, "nodeid")?,
        votes: u32_param(params, "votes")?,
        force: params.boolean("force").unwrap_or(false),
        links: links_param(params)?,
    })
}

/// [`Services`] that passes everything on, except a restart of the API daemon, which it
/// only records (see the module documentation).
struct DeferApiRestart<'a> {
    inner: &'a dyn Services,
    restart_api: std::cell::Cell<bool>,
}

impl Services for DeferApiRestart<'_> {
    fn run(&self, action: Action, service: Service) -> cluster::Result<()> {
        if service == Service::Api && action == Action::Restart {
            self.restart_api.set(true);
            return Ok(());
        }
        self.inner.run(action, service)
    }

    fn quorate(&self) -> bool {
        self.inner.quorate()
    }
}

/// The addnode parameters from the request.
pub fn addnode_params(node: &str, params: &Params) -> ApiResult<AddNodeParams> {
    check_with_links(params, ADDNODE_SCHEMA)?;
    cluster::links::check_node_name(node).map_err(|e| ApiError::param("node", e.0))?;
    let links = links_param(params)?;
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

async fn create_handler(
    user: AuthUser,
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<ApiData<String>> {
    user.require_root()?;
    let p = create_params(&params)?;
    let userid = user.authid();
    let upid = crate::blocking(move || {
        let mut env = CreateEnv::system();
        env.ssh.pve = state.pve.clone();
        if env.ssh.pve.corosync_conf().exists() {
            return Err(ApiError::internal(cluster::create::already_exists_message(
                &env,
            )));
        }
        let node = state.nodename.clone();
        let ip = node_ip::resolve_node_ip(&node)?;
        let local = node_ip::local_addresses()?;
        node_ip::check_links_local(&p.links, &local, |name| node_ip::resolve_node_ip(name).ok())
            .map_err(|e| ApiError::internal(e.0))?;
        let services = SystemServices::detect(state.pve.clone())?;
        let upid = Upid::new(&node, "clustercreate", &p.cluster_name, &userid);
        start_task(&state, upid, move |log| {
            cluster::create::create(&env, &services, &node, ip, &p, log)
                .map(|()| None)
                .map_err(|e| e.to_string())
        })
    })
    .await?;
    Ok(ApiData(upid))
}

async fn join_handler(
    user: AuthUser,
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<ApiData<String>> {
    user.require_root()?;
    let p = join_params(&params)?;
    let userid = user.authid();
    let upid = crate::blocking(move || {
        let mut env = JoinEnv::system();
        env.ssh.pve = state.pve.clone();
        let me = SystemNode::detect(state.nodename.clone())?;
        let system = SystemServices::detect(state.pve.clone())?;
        let upid = Upid::new(&me.name, "clusterjoin", "", &userid);
        start_task(&state, upid, move |log| {
            let services = DeferApiRestart {
                inner: &system,
                restart_api: std::cell::Cell::new(false),
            };
            // the fingerprint is required here, so no question is ever asked
            me.join(&env, &services, &p, &mut |_| false, log)
                .map_err(|e| e.to_string())?;
            if !services.restart_api.get() {
                return Ok(None);
            }
            let restart: FollowUp = Box::new(move || {
                if let Err(e) = system.run(Action::Restart, Service::Api) {
                    tracing::warn!("cannot restart the API daemon: {e}");
                }
            });
            Ok(Some(restart))
        })
    })
    .await?;
    Ok(ApiData(upid))
}

/// Starts `work` as a task; its UPID, or why it could not start.
fn start_task(
    state: &AppState,
    upid: Upid,
    work: impl FnOnce(&mut dyn FnMut(&str)) -> TaskOutcome + Send + 'static,
) -> ApiResult<String> {
    state
        .tasks
        .start(upid, work)
        .map_err(|e| ApiError::internal(format!("cannot start the task: {e}")))
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

    #[test]
    fn create_parameters_are_checked_and_converted() {
        let p = create_params(&params(&[
            ("clustername", "demo"),
            ("link0", "10.0.0.1,priority=5"),
            ("token-coefficient", "0"),
            ("votes", "2"),
        ]))
        .unwrap();
        assert_eq!(p.cluster_name, "demo");
        assert_eq!(p.links[&0].address, "10.0.0.1");
        assert_eq!((p.nodeid, p.votes, p.token_coefficient), (1, 2, Some(0)));
        let p = create_params(&params(&[("clustername", "demo")])).unwrap();
        assert_eq!(p.token_coefficient, Some(DEFAULT_TOKEN_COEFFICIENT));
        for bad in [
            vec![],
            vec![("clustername", "way-too-long-cluster-name")],
            vec![("clustername", "demo"), ("nodeid", "0")],
            vec![("clustername", "demo"), ("votes", "0")],
            vec![("clustername", "demo"), ("link0", "not an address")],
            vec![("clustername", "demo"), ("token_coefficient", "1")],
        ] {
            assert!(create_params(&params(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn join_parameters_are_checked_and_converted() {
        let fp = ["ab"; 32].join(":");
        let p = join_params(&params(&[
            ("hostname", "10.0.0.1"),
            ("fingerprint", &fp),
            ("password", "secret"),
            ("votes", "0"),
            ("force", "1"),
            ("link1", "10.1.0.3"),
        ]))
        .unwrap();
        assert_eq!(p.fingerprint.as_deref(), Some(fp.to_uppercase().as_str()));
        assert_eq!((p.votes, p.nodeid, p.force), (Some(0), None, true));
        assert_eq!(p.links[&1].address, "10.1.0.3");
        let e = join_params(&params(&[
            ("hostname", "10.0.0.1"),
            ("fingerprint", "AB:CD"),
            ("password", "x"),
        ]))
        .unwrap_err();
        assert!(e.errors.unwrap().contains_key("fingerprint"));
        let e = join_params(&params(&[("hostname", "10.0.0.1"), ("password", "x")])).unwrap_err();
        assert!(e.errors.unwrap().contains_key("fingerprint"));
    }

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

//! The read side of `/cluster/config` (`Sys.Audit` on `/`), from `/etc/pve/corosync.conf`
//! in the shape of [`crate::corosync_json`].
//!
//! * `GET /cluster/config`: the children, `[{"name": "nodes"}, ...]`.
//! * `GET /cluster/config/apiversion`: the join API version, `1`.
//! * `GET /cluster/config/nodes`: the nodelist as a list, each node object plus `node` = its
//!   key (name, or `ring0_addr` for a nameless node), sorted by that key; `[]` without
//!   corosync.conf.
//! * `GET /cluster/config/totem`: the `totem` object; `null` without corosync.conf (as the
//!   original, which returns the missing section).
//! * `GET /cluster/config/join[?node=<name>]`: what a joining node needs (the web UI's
//!   "Join Information"): `nodelist` (each node plus `pve_fp`, the SHA-256 fingerprint of its
//!   API certificate — `pveproxy-ssl.pem` if present, else `pve-ssl.pem` — and `pve_addr`,
//!   its address as [`crate::pmxcfs::remote_node_ip`] finds it; sorted by node id),
//!   `preferred_node` (`node`, default the local node), `totem`, `config_digest` (SHA-1 of
//!   the file). Without corosync.conf: `424 node is not in a cluster, no join info
//!   available!`; a `node` not in the nodelist: `500 unknown node '<node>'`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use cluster::corosync_json::{self, PveConf};
use serde_json::{json, Value};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::params::{Kind, Param, Params};
use crate::pmxcfs;
use crate::response::ApiData;
use crate::state::{AppState, Settings};

/// The children listed by `GET /cluster/config` (each answers GET).
pub const CHILDREN: &[&str] = &["nodes", "totem", "join", "apiversion"];

/// Parameters of `GET /cluster/config/join`.
pub const JOIN_INFO_SCHEMA: &[Param] = &[Param::optional("node", Kind::NodeName)];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cluster/config", get(index))
        .route("/cluster/config/apiversion", get(apiversion))
        .route("/cluster/config/nodes", get(nodes))
        .route("/cluster/config/totem", get(totem))
        .route("/cluster/config/join", get(join_info))
}

/// Common start of every handler here: `Sys.Audit` on `/`, no parameters beyond `schema`.
fn audit(user: &AuthUser, params: &Params, schema: &[Param]) -> ApiResult<()> {
    user.require_privilege("/", "Sys.Audit")?;
    params.check(schema)
}

async fn index(user: AuthUser, params: Params) -> ApiResult<ApiData<Value>> {
    audit(&user, &params, &[])?;
    let list: Vec<Value> = CHILDREN.iter().map(|c| json!({ "name": c })).collect();
    Ok(ApiData(Value::Array(list)))
}

async fn apiversion(user: AuthUser, params: Params) -> ApiResult<ApiData<i64>> {
    audit(&user, &params, &[])?;
    Ok(ApiData(cluster::join_info::JOIN_API_VERSION))
}

/// corosync.conf of the PVE directory, parsed; `None` when there is none.
fn read_conf(st: &Settings) -> ApiResult<Option<PveConf>> {
    match pmxcfs::read_corosync_conf(&st.pve)? {
        Some(bytes) => Ok(Some(corosync_json::parse(&bytes)?)),
        None => Ok(None),
    }
}

/// The nodelist as the `nodes` endpoint returns it.
pub fn node_list(conf: &PveConf) -> Vec<Value> {
    conf.nodes()
        .into_iter()
        .map(|(key, mut node)| {
            if let Value::Object(m) = &mut node {
                m.insert("node".into(), Value::String(key));
            }
            node
        })
        .collect()
}

async fn nodes(
    user: AuthUser,
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<ApiData<Vec<Value>>> {
    audit(&user, &params, &[])?;
    let conf = crate::blocking(move || read_conf(&state)).await?;
    Ok(ApiData(conf.as_ref().map(node_list).unwrap_or_default()))
}

async fn totem(
    user: AuthUser,
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    audit(&user, &params, &[])?;
    let conf = crate::blocking(move || read_conf(&state)).await?;
    Ok(ApiData(
        conf.and_then(|c| c.totem().cloned()).unwrap_or(Value::Null),
    ))
}

/// The `GET /cluster/config/join` answer for `preferred` (default: the local node). Blocking.
pub fn build_join_info(st: &Settings, preferred: Option<&str>) -> ApiResult<Value> {
    let preferred = preferred.unwrap_or(&st.nodename);
    cluster::join_info::join_api_answer(&st.pve, preferred)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::FAILED_DEPENDENCY,
            "node is not in a cluster, no join info available!",
        )
    })
}

async fn join_info(
    user: AuthUser,
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<ApiData<Value>> {
    audit(&user, &params, JOIN_INFO_SCHEMA)?;
    let node = params.get("node").map(str::to_string);
    let info = crate::blocking(move || build_join_info(&state, node.as_deref())).await?;
    Ok(ApiData(info))
}

//! `GET /cluster/status` (any logged-in user): the cluster and its nodes.
//!
//! Entries (numbers are JSON integers, flags 0/1):
//! * `{"type": "cluster", "id": "cluster", "name", "nodes", "quorate", "version"}` — only on
//!   a clustered node; `version` is corosync.conf's `config_version`;
//! * per node, sorted by name: `{"type": "node", "id": "node/<name>", "name", "nodeid",
//!   "online", "local", "level": "", "ip"}` (`ip` only when known; `level` is the
//!   subscription level, always empty here).
//!
//! Sources, first that applies:
//! 1. `/etc/pve/.members` with cluster information (pmxcfs mounted and clustered): exactly
//!    what pmxcfs reports;
//! 2. a `corosync.conf` with nodes in the PVE directory but no usable `.members`: the nodes of
//!    the file, online/quorate from the running corosync ([`cluster::status::collect`]; all
//!    offline and not quorate if it cannot be asked), `ip` = the member's address or a
//!    literal `ring0_addr`;
//! 3. otherwise (no cluster): only the local node, `nodeid` 0, online, local, `ip` from
//!    `.members` or the resolved node name.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use cluster::corosync_json::{self, PveConf};
use serde_json::{json, Map, Value};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::params::Params;
use crate::pmxcfs::{self, Members};
use crate::response::ApiData;
use crate::state::{AppState, Settings};

pub fn router() -> Router<AppState> {
    Router::new().route("/cluster/status", get(status))
}

async fn status(
    _user: AuthUser,
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<ApiData<Vec<Value>>> {
    params.check(&[])?;
    let list = crate::blocking(move || build_status(&state)).await?;
    Ok(ApiData(list))
}

fn node_entry(name: &str, nodeid: u32, online: bool, local: bool, ip: Option<String>) -> Value {
    let mut e = json!({
        "type": "node",
        "id": format!("node/{name}"),
        "name": name,
        "nodeid": nodeid,
        "online": u8::from(online),
        "local": u8::from(local),
        "level": "",
    });
    if let Some(ip) = ip {
        e["ip"] = Value::String(ip);
    }
    e
}

fn cluster_entry(name: &str, nodes: usize, quorate: bool, version: u64) -> Value {
    json!({
        "type": "cluster",
        "id": "cluster",
        "name": name,
        "nodes": nodes,
        "quorate": u8::from(quorate),
        "version": version,
    })
}

/// The status list (see the module documentation). Blocking.
pub fn build_status(st: &Settings) -> ApiResult<Vec<Value>> {
    let members = pmxcfs::read_members(&st.pve);
    if let Some(m) = &members {
        if let (Some(c), false) = (&m.cluster, m.nodelist.is_empty()) {
            let mut out = vec![cluster_entry(
                &c.name,
                m.nodelist.len(),
                c.quorate != 0,
                c.version,
            )];
            for (name, n) in &m.nodelist {
                let local = *name == st.nodename;
                out.push(node_entry(name, n.id, n.online != 0, local, n.ip.clone()));
            }
            return Ok(out);
        }
    }
    if let Some(bytes) = pmxcfs::read_corosync_conf(&st.pve)? {
        let conf = corosync_json::parse(&bytes)?;
        if !conf.nodes().is_empty() {
            return Ok(from_corosync(st, &conf, &String::from_utf8_lossy(&bytes)));
        }
    }
    Ok(local_only(st, members.as_ref()))
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn from_corosync(st: &Settings, conf: &PveConf, raw: &str) -> Vec<Value> {
    let snapshot = if st.query_corosync {
        match cluster::status::collect(Some(raw)) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::debug!("corosync not reachable for /cluster/status: {e}");
                None
            }
        }
    } else {
        None
    };
    let online: BTreeMap<u32, Option<String>> = snapshot
        .as_ref()
        .map(|s| {
            s.members
                .iter()
                .map(|m| (m.node_id, m.address.clone()))
                .collect()
        })
        .unwrap_or_default();
    let quorate = snapshot.as_ref().is_some_and(|s| s.quorum.quorate);
    let totem = conf.totem().cloned().unwrap_or(Value::Object(Map::new()));
    let nodes = conf.nodes();
    let version = text(&totem, "config_version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let name = text(&totem, "cluster_name").unwrap_or_default();
    let mut entries: Vec<(String, Value)> = Vec::new();
    for (key, node) in &nodes {
        let node_name = text(node, "name").unwrap_or_else(|| key.clone());
        let nodeid = text(node, "nodeid")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let member = online.get(&nodeid);
        let literal = text(node, "ring0_addr").filter(|a| a.parse::<IpAddr>().is_ok());
        let ip = member.cloned().flatten().or(literal);
        let local = node_name == st.nodename;
        entries.push((
            node_name.clone(),
            node_entry(&node_name, nodeid, member.is_some(), local, ip),
        ));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = vec![cluster_entry(&name, nodes.len(), quorate, version)];
    out.extend(entries.into_iter().map(|(_, v)| v));
    out
}

fn local_only(st: &Settings, members: Option<&Members>) -> Vec<Value> {
    let ip = pmxcfs::remote_node_ip(members, &st.nodename).ok();
    vec![node_entry(&st.nodename, 0, true, true, ip)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use cluster::PveDir;

    fn settings(dir: &std::path::Path) -> Settings {
        let mut s = Settings::new(PveDir::new(dir), "n1");
        s.query_corosync = false;
        s
    }

    #[test]
    fn from_members_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".members"),
            "{\n\"nodename\": \"n1\",\n\"version\": 7,\n\"cluster\": { \"name\": \"demo\", \
             \"version\": 3, \"nodes\": 2, \"quorate\": 1 },\n\"nodelist\": {\n  \"n2\": { \
             \"id\": 2, \"online\": 0},\n  \"n1\": { \"id\": 1, \"online\": 1, \"ip\": \
             \"10.0.0.1\"}\n  }\n}\n",
        )
        .unwrap();
        let list = build_status(&settings(dir.path())).unwrap();
        assert_eq!(
            list,
            vec![
                json!({"type": "cluster", "id": "cluster", "name": "demo", "nodes": 2,
                       "quorate": 1, "version": 3}),
                json!({"type": "node", "id": "node/n1", "name": "n1", "nodeid": 1,
                       "online": 1, "local": 1, "level": "", "ip": "10.0.0.1"}),
                json!({"type": "node", "id": "node/n2", "name": "n2", "nodeid": 2,
                       "online": 0, "local": 0, "level": ""}),
            ]
        );
    }

    #[test]
    fn from_corosync_conf_without_corosync() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("corosync.conf"),
            "nodelist {\n  node {\n    name: n1\n    nodeid: 1\n    ring0_addr: 10.0.0.1\n  }\n  \
             node {\n    name: n2\n    nodeid: 2\n    ring0_addr: host2\n  }\n}\ntotem {\n  \
             cluster_name: demo\n  config_version: 5\n}\n",
        )
        .unwrap();
        let list = build_status(&settings(dir.path())).unwrap();
        assert_eq!(list[0]["version"], 5);
        assert_eq!(list[0]["quorate"], 0);
        assert_eq!(list[0]["nodes"], 2);
        assert_eq!(list[1]["ip"], "10.0.0.1");
        assert_eq!(list[1]["local"], 1);
        assert_eq!(list[1]["online"], 0);
        assert!(list[2].get("ip").is_none());
    }

    #[test]
    fn local_node_only_without_cluster() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".members"),
            "{\n\"nodename\": \"n1\",\n\"version\": 0\n}\n",
        )
        .unwrap();
        let list = build_status(&settings(dir.path())).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["type"], "node");
        assert_eq!(list[0]["nodeid"], 0);
        assert_eq!(list[0]["local"], 1);
        assert_eq!(list[0]["online"], 1);
    }
}

//! `pvecm addnode`, `pvecm delnode` (run on a cluster member; the same code as the API's
//! `POST`/`DELETE /cluster/config/nodes/{node}`, run locally as the original CLI does) and
//! `pvecm join-info` (ours: the web UI's "Join Information" blob and this node's fingerprint).

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use cluster::addnode::{self, AddNodeParams};
use cluster::config_change::with_config_lock;
use cluster::join_info::{self, JoinInformation};
use cluster::links::parse_links;
use cluster::{delnode, node_ip, PveDir};
use serde_json::Value;

use crate::create::pve_bool;
use crate::OutputFormat;

/// `/etc/corosync/authkey`.
const COROSYNC_AUTHKEY: &str = "/etc/corosync/authkey";

#[derive(Args)]
pub struct AddnodeArgs {
    /// The cluster node name of the new node.
    node: String,
    /// Node id for the new node.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    nodeid: Option<u32>,
    /// Number of votes for the new node.
    #[arg(long, value_parser = clap::value_parser!(u32))]
    votes: Option<u32>,
    /// Overwrite an existing node entry with the same name, node id and votes.
    #[arg(long, num_args = 0..=1, default_missing_value = "1", value_parser = pve_bool, default_value = "0")]
    force: bool,
    /// IP address of the new node, used when no links are given (single-link clusters).
    #[arg(long = "new_node_ip")]
    new_node_ip: Option<std::net::IpAddr>,
    /// The join API version of the new node.
    #[arg(long)]
    apiversion: Option<i64>,
    #[command(flatten)]
    links: crate::link_args::LinkArgs,
}

/// Dies like the original's `check_conf_exists` when this node is not in a cluster.
fn check_conf_exists(pve: &PveDir) -> Result<()> {
    if !pve.corosync_conf().exists() {
        bail!(
            "Error: Corosync config '{}' does not exist - is this node part of a cluster?",
            pve.corosync_conf().display()
        );
    }
    Ok(())
}

pub fn addnode(args: AddnodeArgs) -> Result<()> {
    let pve = PveDir::system();
    check_conf_exists(&pve)?;
    cluster::links::check_node_name(&args.node).map_err(|e| anyhow!("node: {}", e.0))?;
    let links = parse_links(args.links.given())?;
    let p = AddNodeParams {
        node: args.node.clone(),
        nodeid: args.nodeid,
        votes: args.votes,
        links,
        new_node_ip: args.new_node_ip.map(|ip| ip.to_string()),
        force: args.force,
        apiversion: args.apiversion.unwrap_or(0),
    };
    join_info::check_joining_node_version(p.apiversion).map_err(|e| anyhow!("{e}"))?;
    let answer = with_config_lock(&pve, || {
        addnode::apply(&pve, Path::new(COROSYNC_AUTHKEY), &p)
    })
    .map_err(|e| anyhow!("{e}"))?;
    for w in &answer.warnings {
        eprintln!("{w}");
    }
    Ok(())
}

pub fn delnode(node: &str) -> Result<()> {
    let pve = PveDir::system();
    check_conf_exists(&pve)?;
    let local = node_ip::short_hostname()?;
    if node == local {
        bail!("Cannot delete myself from cluster!");
    }
    with_config_lock(&pve, || {
        delnode::apply(&pve, node, &local, delnode::kill_node_verbose)
    })
    .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

pub fn join_info(format: OutputFormat) -> Result<()> {
    let pve = PveDir::system();
    check_conf_exists(&pve)?;
    let local = node_ip::short_hostname()?;
    let data = cluster::join_info::join_api_answer(&pve, &local)?
        .ok_or_else(|| anyhow!("node is not in a cluster, no join info available!"))?;
    let info = JoinInformation::from_join_api(&data).map_err(|e| anyhow!("{e}"))?;
    let blob = info.encode();
    match format {
        OutputFormat::Text => {
            println!("Join Information:");
            println!("{blob}");
            println!();
            println!("Fingerprint ({local}): {}", info.fingerprint);
        }
        _ => {
            let mut value = serde_json::to_value(&info)?;
            if let Value::Object(m) = &mut value {
                m.insert("node".into(), Value::String(local));
                m.insert("blob".into(), Value::String(blob));
            }
            crate::print_value(&value, format)?;
        }
    }
    Ok(())
}

//! The lab's replicated /etc/pve (`up --pmxcfs`): start pmxcfs everywhere and wait for sync.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Deserialize;
use service_control::Service;

use crate::layout::Lab;
use crate::{hosts, supervisor};

/// pmxcfs's replication summary (`/run/pve-cluster/dcdb.json` inside a node).
#[derive(Debug, Deserialize)]
struct DcdbState {
    mode: String,
    members: Vec<(u32, u32)>,
    version: u64,
}

fn read_state(lab: &Lab, node: &str) -> Option<DcdbState> {
    let out = hosts::command_in(lab, node, Path::new("cat"))
        .arg("/run/pve-cluster/dcdb.json")
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

fn node_dirs_exist(lab: &Lab, node: &str) -> bool {
    hosts::command_in(lab, node, Path::new("test"))
        .args(["-d", &format!("/etc/pve/nodes/{node}/priv")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts pmxcfs on every node, then waits until all are synced with every node as member,
/// at the same version, and each node's directories exist.
pub fn start_and_wait(lab: &Lab, ctl: &Path, timeout: Duration) -> Result<()> {
    for node in lab.node_names() {
        supervisor::start(lab, &node, Service::Pmxcfs, ctl)?;
    }
    let deadline = Instant::now() + timeout;
    loop {
        let states: Vec<_> = lab
            .node_names()
            .iter()
            .map(|node| read_state(lab, node))
            .collect();
        let synced = states.iter().all(|s| {
            s.as_ref()
                .is_some_and(|s| s.mode == "synced" && s.members.len() == lab.nodes as usize)
        });
        let versions: Vec<_> = states.iter().flatten().map(|s| s.version).collect();
        let same_version = versions.windows(2).all(|w| w[0] == w[1]);
        if synced && same_version && lab.node_names().iter().all(|n| node_dirs_exist(lab, n)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "/etc/pve did not get in sync on every node within {}s (states: {states:?}); see `quorate-lab logs NODE pmxcfs`",
                timeout.as_secs()
            );
        }
        sleep(Duration::from_millis(200));
    }
}

//! The lab's own Corosync cluster (`up --corosync`): configuration, key, and waiting for quorum.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use corosync_client::QuorumState;
use corosync_conf::{ClusterSpec, Config, LinkSpec, NodeSpec};

use crate::hosts;
use crate::layout::{Lab, CLUSTER_NAME};

/// Lowest token timeout the lab uses (the contract's floor; corosync's default is 3000 ms).
pub const LAB_TOKEN_MS: u32 = 2000;

/// corosync.conf for the lab's cluster `lab`: node K has id K and address 10.99.L.K on link L.
pub fn lab_corosync_conf(lab: &Lab) -> Result<String> {
    let links = (0..lab.links)
        .map(|number| LinkSpec {
            number,
            priority: None,
        })
        .collect();
    let mut conf = Config::create(&ClusterSpec {
        cluster_name: CLUSTER_NAME.into(),
        links,
        token_coefficient: None,
    });
    for (index, name) in lab.node_names().into_iter().enumerate() {
        let addrs = lab
            .addresses(&name)
            .into_iter()
            .map(|(link, addr)| (link, addr.to_string()))
            .collect();
        conf.add_node(&NodeSpec {
            name,
            nodeid: index as u32 + 1,
            quorum_votes: 1,
            addrs,
        })?;
    }
    conf.set(&["totem"], "token", &LAB_TOKEN_MS.to_string());
    conf.set(&["logging"], "to_syslog", "no");
    conf.set(&["logging"], "to_stderr", "yes");
    conf.set(&["logging"], "timestamp", "hires");
    if lab.corosync_normal_priority {
        // Neither realtime scheduling nor its fallback, nice -20: either would let each
        // node's corosync preempt the other nodes' daemons on the shared cores.
        conf.set(&["system"], "sched_rr", "no");
        conf.set(&["system"], "priority", "0");
    }
    conf.bump_config_version()?;
    let problems = conf.validate();
    if !problems.is_empty() {
        let list: Vec<_> = problems.iter().map(ToString::to_string).collect();
        bail!("generated corosync.conf is invalid: {}", list.join("; "));
    }
    Ok(conf.to_text())
}

/// Writes corosync.conf and one shared authkey into every node's /etc/corosync.
pub fn install_config(lab: &Lab) -> Result<()> {
    let conf = lab_corosync_conf(lab)?;
    let key = cluster::corosync_authkey::generate()?;
    for node in lab.node_names() {
        let dir = lab.host_dir(&node).join("fs/etc-corosync");
        fs::write(dir.join("corosync.conf"), &conf)?;
        fs::set_permissions(dir.join("corosync.conf"), fs::Permissions::from_mode(0o644))?;
        let authkey = dir.join("authkey");
        fs::write(&authkey, key)?;
        fs::set_permissions(&authkey, fs::Permissions::from_mode(0o400))?;
    }
    Ok(())
}

/// Reads `host`'s quorum state through the probe running inside it.
pub fn probe_quorum(lab: &Lab, host: &str, probe: &Path) -> Result<QuorumState> {
    let out = hosts::command_in(lab, host, probe)
        .arg("quorum")
        .output()
        .context("cannot run quorate-probe")?;
    if out.stdout.is_empty() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Waits until every node is quorate with all nodes as members.
pub fn wait_quorate(lab: &Lab, probe: &Path, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    for node in lab.node_names() {
        loop {
            let state = probe_quorum(lab, &node, probe);
            match &state {
                Ok(s) if s.quorate && s.members.len() == lab.nodes as usize => break,
                _ if Instant::now() >= deadline => {
                    let seen = match state {
                        Ok(s) => format!("quorate: {}, members: {:?}", s.quorate, s.members),
                        Err(e) => format!("{e:#}"),
                    };
                    bail!(
                        "{node} did not become quorate with {} members within {}s ({seen}); see `quorate-lab logs {node} corosync`",
                        lab.nodes,
                        timeout.as_secs()
                    );
                }
                _ => sleep(Duration::from_millis(200)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_config_lists_every_node_on_every_link() {
        let lab = Lab {
            name: "t".into(),
            nodes: 3,
            links: 2,
            qnetd: false,
            root_password: None,
            corosync_normal_priority: false,
        };
        let text = lab_corosync_conf(&lab).unwrap();
        let conf = Config::parse(&text).unwrap();
        let view = conf.view();
        assert_eq!(view.totem.cluster_name.as_deref(), Some("lab"));
        assert_eq!(view.totem.token, Some(2000));
        assert_eq!(view.totem.config_version, Some(1));
        assert_eq!(view.nodes.len(), 3);
        let node3 = &view.nodes[2];
        assert_eq!(node3.name.as_deref(), Some("node3"));
        assert_eq!(node3.nodeid, Some(3));
        assert_eq!(node3.addrs.get(&0).map(String::as_str), Some("10.99.0.3"));
        assert_eq!(node3.addrs.get(&1).map(String::as_str), Some("10.99.1.3"));
        assert_eq!(view.totem.interfaces.len(), 2);
        assert!(!text.contains("sched_rr"), "{text}");
    }

    #[test]
    fn normal_priority_turns_off_realtime_and_the_nice_fallback() {
        let lab = Lab {
            name: "t".into(),
            nodes: 2,
            links: 1,
            qnetd: false,
            root_password: None,
            corosync_normal_priority: true,
        };
        let text = lab_corosync_conf(&lab).unwrap();
        let conf = Config::parse(&text).unwrap();
        let system = &conf.view().other_sections;
        assert!(system.iter().any(|s| s.name == "system"), "{text}");
        assert!(text.contains("sched_rr: no"), "{text}");
        assert!(text.contains("priority: 0"), "{text}");
    }
}

//! Network namespaces, the hub with one bridge per link, and veth cables to each host.

use anyhow::Result;

use crate::layout::{lab_of_netns, Lab};
use crate::sys::run;

/// Creates the hub namespace with bridges `br0`(and `br1`).
pub fn create_hub(lab: &Lab) -> Result<()> {
    let hub = lab.hub_netns();
    run("ip", &["netns", "add", &hub])?;
    run("ip", &["-n", &hub, "link", "set", "lo", "up"])?;
    for link in 0..lab.links {
        let bridge = format!("br{link}");
        run(
            "ip",
            &["-n", &hub, "link", "add", &bridge, "type", "bridge"],
        )?;
        run("ip", &["-n", &hub, "link", "set", &bridge, "up"])?;
    }
    Ok(())
}

/// Creates `host`'s network namespace and cables it to the hub's bridges.
pub fn create_host(lab: &Lab, host: &str) -> Result<()> {
    let ns = lab.netns(host);
    let hub = lab.hub_netns();
    run("ip", &["netns", "add", &ns])?;
    run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
    for (link, addr) in lab.addresses(host) {
        let hub_end = format!("{host}-l{link}");
        let node_end = format!("eth{link}");
        run(
            "ip",
            &[
                "link", "add", &hub_end, "netns", &hub, "type", "veth", "peer", "name", &node_end,
                "netns", &ns,
            ],
        )?;
        run(
            "ip",
            &[
                "-n",
                &hub,
                "link",
                "set",
                &hub_end,
                "master",
                &format!("br{link}"),
                "up",
            ],
        )?;
        run(
            "ip",
            &[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                &node_end,
            ],
        )?;
        run("ip", &["-n", &ns, "link", "set", &node_end, "up"])?;
    }
    Ok(())
}

/// Every network namespace on the machine that belongs to `lab` (or to any lab if `None`).
pub fn lab_namespaces(lab: Option<&str>) -> Vec<String> {
    let Ok(list) = run("ip", &["netns", "list"]) else {
        return Vec::new();
    };
    list.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|ns| match (lab_of_netns(ns), lab) {
            (Some(owner), Some(wanted)) => owner == wanted,
            (Some(_), None) => true,
            (None, _) => false,
        })
        .map(str::to_string)
        .collect()
}

pub fn delete_namespace(ns: &str) -> Result<()> {
    run("ip", &["netns", "del", ns]).map(|_| ())
}

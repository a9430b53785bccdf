//! Names, addresses and paths of a lab: everything derived from the lab name and its shape.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Where every lab keeps its state: `<STATE_ROOT>/<lab>/`.
pub const STATE_ROOT: &str = "/var/lib/quorate-lab";
/// Prefix of every network namespace the lab creates: `qlab-<lab>-<host>`.
pub const NETNS_PREFIX: &str = "qlab-";
pub const QNETD_HOST: &str = "qnetd";
pub const QNETD_OCTET: u8 = 250;
pub const MAX_NODES: u8 = 249;
pub const CLUSTER_NAME: &str = "lab";

/// The shape of a lab, saved in `lab.json` when it is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lab {
    pub name: String,
    pub nodes: u8,
    pub links: u8,
    pub qnetd: bool,
    /// Root's password in every node, when `up --daemons` set one.
    #[serde(default)]
    pub root_password: Option<String>,
    /// Corosync runs at normal priority (`system.sched_rr: no`, `priority: 0`), see
    /// `up --corosync-normal-priority`.
    #[serde(default)]
    pub corosync_normal_priority: bool,
}

/// Checks a lab name (it ends up in namespace and file names).
pub fn validate_lab_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 24
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if !ok {
        bail!(
            "invalid lab name '{name}' (from QUORATE_LAB): use 1 to 24 characters of a-z, 0-9 and _, starting with a letter or digit"
        );
    }
    Ok(())
}

impl Lab {
    pub fn root(&self) -> PathBuf {
        lab_root(&self.name)
    }

    pub fn node_names(&self) -> Vec<String> {
        (1..=self.nodes).map(|k| format!("node{k}")).collect()
    }

    /// Every host of the lab: the nodes, then the qnetd host if there is one.
    pub fn hosts(&self) -> Vec<String> {
        let mut hosts = self.node_names();
        if self.qnetd {
            hosts.push(QNETD_HOST.to_string());
        }
        hosts
    }

    /// Fails with a clear message when `host` is not part of this lab.
    pub fn check_host(&self, host: &str) -> Result<()> {
        if !self.hosts().iter().any(|h| h == host) {
            bail!(
                "unknown node '{host}' in lab '{}' (hosts: {})",
                self.name,
                self.hosts().join(", ")
            );
        }
        Ok(())
    }

    /// The host's last address octet: K for `nodeK`, 250 for the qnetd host.
    pub fn octet(&self, host: &str) -> u8 {
        if host == QNETD_HOST {
            QNETD_OCTET
        } else {
            host.trim_start_matches("node").parse().unwrap_or(0)
        }
    }

    /// The links a host is attached to (the qnetd host sits on link 0 only).
    pub fn host_links(&self, host: &str) -> Vec<u8> {
        if host == QNETD_HOST {
            vec![0]
        } else {
            (0..self.links).collect()
        }
    }

    /// `(link, address)` pairs of a host.
    pub fn addresses(&self, host: &str) -> Vec<(u8, Ipv4Addr)> {
        self.host_links(host)
            .into_iter()
            .map(|link| (link, address(link, self.octet(host))))
            .collect()
    }

    pub fn netns(&self, host: &str) -> String {
        netns_name(&self.name, host)
    }

    pub fn hub_netns(&self) -> String {
        netns_name(&self.name, "hub")
    }

    pub fn ns_dir(&self) -> PathBuf {
        self.root().join("ns")
    }

    pub fn mnt_ns(&self, host: &str) -> PathBuf {
        self.ns_dir().join(format!("{host}.mnt"))
    }

    pub fn uts_ns(&self, host: &str) -> PathBuf {
        self.ns_dir().join(format!("{host}.uts"))
    }

    pub fn host_dir(&self, host: &str) -> PathBuf {
        self.root().join("hosts").join(host)
    }

    pub fn services_dir(&self, host: &str) -> PathBuf {
        self.host_dir(host).join("services")
    }

    /// The log of a service, as seen from the host (inside the node it is under /var/log).
    pub fn log_file(&self, host: &str, service: &str) -> PathBuf {
        self.host_dir(host)
            .join("fs/var-log/quorate-lab")
            .join(format!("{service}.log"))
    }
}

pub fn lab_root(name: &str) -> PathBuf {
    PathBuf::from(STATE_ROOT).join(name)
}

pub fn netns_name(lab: &str, host: &str) -> String {
    format!("{NETNS_PREFIX}{lab}-{host}")
}

/// The lab a namespace name belongs to, if it is one of ours.
pub fn lab_of_netns(netns: &str) -> Option<&str> {
    let rest = netns.strip_prefix(NETNS_PREFIX)?;
    let (lab, _host) = rest.rsplit_once('-')?;
    Some(lab)
}

/// `10.99.<link>.<octet>`: the lab's private test range, only ever inside its namespaces.
pub fn address(link: u8, octet: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 99, link, octet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(nodes: u8, links: u8, qnetd: bool) -> Lab {
        Lab {
            name: "t1".into(),
            nodes,
            links,
            qnetd,
            root_password: None,
            corosync_normal_priority: false,
        }
    }

    #[test]
    fn addresses_follow_the_contract() {
        let lab = lab(3, 2, true);
        assert_eq!(
            lab.addresses("node3"),
            vec![
                (0, "10.99.0.3".parse().unwrap()),
                (1, "10.99.1.3".parse().unwrap())
            ]
        );
        assert_eq!(
            lab.addresses("qnetd"),
            vec![(0, "10.99.0.250".parse().unwrap())]
        );
        assert_eq!(lab.hosts(), ["node1", "node2", "node3", "qnetd"]);
    }

    #[test]
    fn namespace_names_map_back_to_their_lab() {
        assert_eq!(netns_name("ci_2", "node7"), "qlab-ci_2-node7");
        assert_eq!(lab_of_netns("qlab-ci_2-node7"), Some("ci_2"));
        assert_eq!(lab_of_netns("qlab-ci_2-hub"), Some("ci_2"));
        assert_eq!(lab_of_netns("other-ns"), None);
    }

    #[test]
    fn lab_names_are_checked() {
        assert!(validate_lab_name("default").is_ok());
        assert!(validate_lab_name("e2e_cut_3").is_ok());
        for bad in ["", "Lab", "a-b", "a/b", "_x", "abcdefghijklmnopqrstuvwxyz"] {
            assert!(validate_lab_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_hosts_are_named_in_the_error() {
        let err = lab(2, 1, false)
            .check_host("node5")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "unknown node 'node5' in lab 't1' (hosts: node1, node2)"
        );
    }
}

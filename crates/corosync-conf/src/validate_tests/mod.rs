//! One test per validation rule, asserting the message; shared fixtures here.

use crate::{Config, Problem};

mod quorum;
mod structure;
mod values;

const BASE: &str = "logging {
  debug: off
  to_syslog: yes
}

nodelist {
  node {
    name: pve1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.0.0.1
  }
  node {
    name: pve2
    nodeid: 2
    quorum_votes: 1
    ring0_addr: 10.0.0.2
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: demo
  config_version: 3
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}

";

fn base() -> Config {
    Config::parse(BASE).unwrap()
}

fn messages(c: &Config) -> Vec<String> {
    c.validate().iter().map(ToString::to_string).collect()
}

/// Applies `edit` to the base config and returns the single problem's message.
fn only(edit: impl FnOnce(&mut Config)) -> String {
    let mut c = base();
    edit(&mut c);
    let m = messages(&c);
    assert_eq!(m.len(), 1, "expected exactly one problem, got {m:#?}");
    m.into_iter().next().unwrap()
}

fn from_text(text: &str) -> String {
    let m = messages(&Config::parse(text).unwrap());
    assert_eq!(m.len(), 1, "expected exactly one problem, got {m:#?}");
    m.into_iter().next().unwrap()
}

fn with_device(c: &mut Config) {
    c.set(&["quorum", "device"], "model", "net");
    c.set(&["quorum", "device"], "votes", "1");
    c.set(&["quorum", "device", "net"], "host", "10.0.0.9");
    c.set(&["quorum", "device", "net"], "algorithm", "ffsplit");
    c.set(&["quorum", "device", "net"], "tls", "on");
}

fn device_only(edit: impl FnOnce(&mut Config)) -> String {
    only(|c| {
        with_device(c);
        edit(c);
    })
}

#[test]
fn base_configs_are_clean() {
    assert_eq!(messages(&base()), Vec::<String>::new());
    let mut c = base();
    with_device(&mut c);
    assert_eq!(messages(&c), Vec::<String>::new());
}

#[test]
fn reports_every_problem_at_once() {
    let mut c = base();
    c.set_totem("cluster_name", "bad_name");
    c.set_totem("token", "fast");
    c.remove(&["quorum"], "provider");
    c.set(&["quorum", "device"], "model", "net");
    c.set(&["quorum"], "two_node", "1");
    let p = c.validate();
    assert!(p.contains(&Problem::InvalidClusterName {
        name: "bad_name".into(),
        reason: crate::names::cluster_name_problem("bad_name").unwrap(),
    }));
    assert!(p
        .iter()
        .any(|p| matches!(p, Problem::InvalidInteger { key, .. } if key == "totem.token")));
    assert!(p.contains(&Problem::NoQuorumProvider));
    assert!(p.contains(&Problem::DeviceIncompatible { option: "two_node" }));
    assert!(p.contains(&Problem::NetHostMissing));
    assert!(p.contains(&Problem::FfsplitDeviceVotes {
        found: "not set".into()
    }));
    assert_eq!(p.len(), 6, "{p:#?}");
}

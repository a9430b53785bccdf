//! Validation entry points and the structural checks (totem, nodes, links).
//!
//! Every check adds to one list, so a configuration with several problems reports all of
//! them. The rules are those corosync (3.1.x), votequorum, corosync-qdevice and Proxmox's
//! `verify_conf` apply; see the [`Problem`] variants.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::edit::MAX_LINK;
use crate::view::ConfView;
use crate::{names, validate_quorum, validate_values, Config, Problem};

impl Config {
    /// Every problem corosync, its tools or Proxmox would have with this configuration (as it
    /// would be written by [`Config::to_text`]); empty when it is fine.
    pub fn validate(&self) -> Vec<Problem> {
        let view = self.view();
        let mut problems = Vec::new();
        structure(self, &view, &mut problems);
        nodes(&view, &mut problems);
        links(&view, &mut problems);
        validate_values::values(&self.root, &mut problems);
        validate_values::text(&self.to_text(), &mut problems);
        validate_quorum::quorum(&view, &mut problems);
        problems
    }

    /// [`Config::validate`] plus the update rule: `config_version` must be greater than in
    /// `old`, the configuration being replaced.
    pub fn validate_update(&self, old: &Config) -> Vec<Problem> {
        let mut problems = self.validate();
        let (old, new) = (
            old.view().totem.config_version,
            self.view().totem.config_version,
        );
        if let (Some(old), Some(new)) = (old, new) {
            if new <= old {
                problems.push(Problem::ConfigVersionNotIncreased { old, new });
            }
        }
        problems
    }
}

fn structure(conf: &Config, view: &ConfView, out: &mut Vec<Problem>) {
    let totem = &view.totem;
    if conf.root.sections_named("totem").next().is_none() {
        out.push(Problem::NoTotem);
    } else {
        match &totem.cluster_name {
            None => out.push(Problem::NoClusterName),
            Some(name) => {
                if let Some(reason) = names::cluster_name_problem(name) {
                    out.push(Problem::InvalidClusterName {
                        name: name.clone(),
                        reason,
                    });
                }
            }
        }
        match (totem.version, totem.other.contains_key("version")) {
            (None, false) => out.push(Problem::BadTotemVersion {
                found: "missing".into(),
            }),
            (Some(v), _) if v != 2 => out.push(Problem::BadTotemVersion {
                found: format!("'{v}'"),
            }),
            _ => {}
        }
        let bad_raw = totem.other.contains_key("config_version");
        if matches!(totem.config_version, None | Some(0)) && !bad_raw {
            out.push(Problem::NoConfigVersion);
        }
        let secauth = totem.secauth.as_deref() == Some("on");
        let explicit = |key: &str| totem.other.get(key).map(String::as_str);
        let cipher = explicit("crypto_cipher").unwrap_or(if secauth { "aes256" } else { "none" });
        let hash = explicit("crypto_hash").unwrap_or(if secauth { "sha256" } else { "none" });
        if !secauth && matches!(explicit("crypto_cipher"), None | Some("none")) {
            out.push(Problem::NoEncryption);
        }
        if cipher != "none" && hash == "none" {
            out.push(Problem::CipherWithoutHash {
                cipher: cipher.to_string(),
            });
        }
    }
    if view.nodes.is_empty() {
        out.push(Problem::NoNodes);
    }
    if view.quorum.provider.is_none() {
        out.push(Problem::NoQuorumProvider);
    }
}

/// Whether the transport is knet (the default), which needs explicit 16-bit node ids.
fn is_knet(view: &ConfView) -> bool {
    matches!(view.totem.transport.as_deref(), None | Some("knet"))
}

fn nodes(view: &ConfView, out: &mut Vec<Problem>) {
    let knet = is_knet(view);
    let mut ids: BTreeMap<u32, String> = BTreeMap::new();
    let mut seen_names: BTreeSet<&str> = BTreeSet::new();
    let mut reported_names: BTreeSet<&str> = BTreeSet::new();
    for (i, node) in view.nodes.iter().enumerate() {
        let label = node.label(i);
        if let Some(name) = &node.name {
            if !names::is_valid_node_name(name) {
                out.push(Problem::InvalidNodeName { name: name.clone() });
            }
            if !seen_names.insert(name) && reported_names.insert(name) {
                out.push(Problem::DuplicateNodeName { name: name.clone() });
            }
        }
        match node.nodeid {
            None if knet && !node.other.contains_key("nodeid") => {
                out.push(Problem::MissingNodeId {
                    node: label.clone(),
                });
            }
            Some(id) if id == 0 || (knet && id > 65535) => out.push(Problem::InvalidNodeId {
                node: label.clone(),
                nodeid: id,
            }),
            Some(id) => {
                if let Some(first) = ids.get(&id) {
                    out.push(Problem::DuplicateNodeId {
                        nodeid: id,
                        first: first.clone(),
                        second: label.clone(),
                    });
                } else {
                    ids.insert(id, label.clone());
                }
            }
            None => {}
        }
        if node.addrs.is_empty() {
            out.push(Problem::NodeWithoutAddress {
                node: label.clone(),
            });
        }
        for &link in node.addrs.keys().filter(|l| **l > MAX_LINK) {
            out.push(Problem::NodeLinkOutOfRange {
                node: label.clone(),
                link,
            });
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

fn family(addr: &str) -> Option<Family> {
    if addr.parse::<Ipv4Addr>().is_ok() {
        Some(Family::V4)
    } else if addr.parse::<Ipv6Addr>().is_ok() {
        Some(Family::V6)
    } else {
        None
    }
}

fn links(view: &ConfView, out: &mut Vec<Problem>) {
    let mut interface_links: BTreeSet<u8> = BTreeSet::new();
    let mut duplicates: BTreeSet<u8> = BTreeSet::new();
    for iface in &view.totem.interfaces {
        let has_linknumber = iface.linknumber.is_some() || iface.other.contains_key("linknumber");
        if let (false, Some(ring)) = (has_linknumber, iface.other.get("ringnumber")) {
            if crate::cnum::parse_i64(ring) != Some(0) {
                out.push(Problem::RingnumberIgnored {
                    ringnumber: ring.clone(),
                });
            }
        }
        let Some(link) = iface.link() else { continue };
        if link > MAX_LINK {
            out.push(Problem::InterfaceLinkOutOfRange { link });
        } else if !interface_links.insert(link) && duplicates.insert(link) {
            out.push(Problem::DuplicateInterface { link });
        }
    }
    let node_links = |n: &crate::Node| -> BTreeSet<u8> {
        n.addrs.keys().copied().filter(|l| *l <= MAX_LINK).collect()
    };
    if !view.totem.interfaces.is_empty() {
        for (i, node) in view.nodes.iter().enumerate() {
            if node.addrs.is_empty() {
                continue;
            }
            let have = node_links(node);
            for &link in interface_links.difference(&have) {
                out.push(Problem::MissingLinkAddress {
                    node: node.label(i),
                    link,
                });
            }
            for &link in have.difference(&interface_links) {
                out.push(Problem::AddressWithoutInterface {
                    node: node.label(i),
                    link,
                });
            }
        }
    } else {
        let all: BTreeSet<u8> = view.nodes.iter().flat_map(node_links).collect();
        for (i, node) in view.nodes.iter().enumerate() {
            if node.addrs.is_empty() {
                continue;
            }
            for &link in all.difference(&node_links(node)) {
                out.push(Problem::LinkMissingOnNode {
                    node: node.label(i),
                    link,
                });
            }
        }
    }
    for link in 0..=MAX_LINK {
        let mut first: [Option<String>; 2] = [None, None];
        for (i, node) in view.nodes.iter().enumerate() {
            let slot = match node.addrs.get(&link).and_then(|a| family(a)) {
                Some(Family::V4) => 0,
                Some(Family::V6) => 1,
                None => continue,
            };
            first[slot].get_or_insert_with(|| node.label(i));
        }
        if let [Some(v4_node), Some(v6_node)] = first {
            out.push(Problem::MixedIpVersions {
                link,
                v4_node,
                v6_node,
            });
        }
    }
}

#[cfg(test)]
#[path = "validate_tests/mod.rs"]
mod tests;

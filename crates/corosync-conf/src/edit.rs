//! Node and link edits on the tree (unknown keys and comments elsewhere survive).

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{self, Item, Section};
use crate::create::LinkSpec;
use crate::names;
use crate::view::{ConfView, Node};
use crate::Config;

/// Highest knet link number corosync supports.
pub const MAX_LINK: u8 = 7;

/// A node to add.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeSpec {
    /// Node name (the short host name).
    pub name: String,
    /// Node id, 1 to 65535 (knet).
    pub nodeid: u32,
    /// `quorum_votes`.
    pub quorum_votes: u32,
    /// Link number → address (IP or host name), one per configured link.
    pub addrs: BTreeMap<u8, String>,
}

/// Why an edit was refused. The configuration is unchanged when an edit fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("invalid node name '{name}': use letters, digits and '-' only, starting and ending with a letter or digit")]
    InvalidNodeName { name: String },
    #[error("invalid nodeid {nodeid} for node '{name}': knet node ids go from 1 to 65535")]
    InvalidNodeId { name: String, nodeid: u32 },
    #[error("node '{name}' already exists")]
    NodeExists { name: String },
    #[error("nodeid {nodeid} is already used by node '{existing}'")]
    NodeIdExists { nodeid: u32, existing: String },
    #[error("node '{name}' does not exist")]
    UnknownNode { name: String },
    #[error("node '{node}' needs an address for link {link}")]
    MissingAddress { node: String, link: u8 },
    #[error("address given for node '{node}' on link {link}, but link {link} is not configured")]
    LinkNotConfigured { node: String, link: u8 },
    #[error("link {link} is out of range: corosync supports links 0 to 7")]
    LinkOutOfRange { link: u8 },
    #[error("link {link} is already configured")]
    LinkExists { link: u8 },
    #[error("link {link} is not configured")]
    UnknownLink { link: u8 },
    #[error("link {link} is the only link left: a cluster needs at least one")]
    LastLink { link: u8 },
    #[error("invalid address '{value}' for node '{node}': it must be non-empty without blanks, line breaks or braces")]
    InvalidAddress { node: String, value: String },
    #[error("invalid corosync config: unable to read config version")]
    NoConfigVersion,
    #[error("invalid corosync config: config_version '{value}' is not a number")]
    InvalidConfigVersion { value: String },
    #[error("config_version {value} cannot be increased any further")]
    ConfigVersionOverflow { value: u64 },
}

fn check_address(node: &str, value: &str) -> Result<(), EditError> {
    let bad = value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '{' || c == '}');
    if bad {
        return Err(EditError::InvalidAddress {
            node: node.to_string(),
            value: value.to_string(),
        });
    }
    Ok(())
}

/// Links that exist anywhere: interface sections and node addresses.
pub(crate) fn all_links(view: &ConfView) -> BTreeSet<u8> {
    let mut links: BTreeSet<u8> = view
        .totem
        .interfaces
        .iter()
        .filter_map(|i| i.link())
        .collect();
    for node in &view.nodes {
        links.extend(node.addrs.keys().copied());
    }
    links
}

/// Links a node must have: the interface links, or without interfaces the links the nodes use.
fn configured_links(view: &ConfView) -> BTreeSet<u8> {
    if view.totem.interfaces.is_empty() {
        view.nodes
            .iter()
            .flat_map(|n| n.addrs.keys().copied())
            .collect()
    } else {
        view.totem
            .interfaces
            .iter()
            .filter_map(|i| i.link())
            .collect()
    }
}

fn is_node_named(item: &Item, name: &str) -> bool {
    matches!(item, Item::Section(s) if s.name == "node" && s.get("name") == Some(name))
}

impl Config {
    /// Adds a node with an address for every configured link.
    pub fn add_node(&mut self, spec: &NodeSpec) -> Result<(), EditError> {
        let name = spec.name.as_str();
        if !names::is_valid_node_name(name) {
            return Err(EditError::InvalidNodeName { name: name.into() });
        }
        if spec.nodeid == 0 || spec.nodeid > 65535 {
            return Err(EditError::InvalidNodeId {
                name: name.into(),
                nodeid: spec.nodeid,
            });
        }
        let view = self.view();
        if view.nodes.iter().any(|n| n.name.as_deref() == Some(name)) {
            return Err(EditError::NodeExists { name: name.into() });
        }
        if let Some((i, n)) = view
            .nodes
            .iter()
            .enumerate()
            .find(|(_, n)| n.nodeid == Some(spec.nodeid))
        {
            return Err(EditError::NodeIdExists {
                nodeid: spec.nodeid,
                existing: n.label(i),
            });
        }
        let configured = configured_links(&view);
        for (&link, addr) in &spec.addrs {
            check_address(name, addr)?;
            if link > MAX_LINK {
                return Err(EditError::LinkOutOfRange { link });
            }
            if !configured.is_empty() && !configured.contains(&link) {
                return Err(EditError::LinkNotConfigured {
                    node: name.into(),
                    link,
                });
            }
        }
        let mut required: Vec<u8> = configured.into_iter().collect();
        if required.is_empty() && spec.addrs.is_empty() {
            required.push(0);
        }
        if let Some(&link) = required.iter().find(|l| !spec.addrs.contains_key(l)) {
            return Err(EditError::MissingAddress {
                node: name.into(),
                link,
            });
        }
        let mut node = Section::new("node");
        node.push_value("name", name);
        node.push_value("nodeid", spec.nodeid.to_string());
        node.push_value("quorum_votes", spec.quorum_votes.to_string());
        for (link, addr) in &spec.addrs {
            node.push_value(format!("ring{link}_addr"), addr.clone());
        }
        ast::ensure_path(self.root_mut(), &["nodelist"]).push_section(node);
        Ok(())
    }

    /// Removes the node called `name` (every entry with that name) and returns what it was.
    pub fn remove_node(&mut self, name: &str) -> Result<Node, EditError> {
        let removed = self
            .view()
            .nodes
            .into_iter()
            .find(|n| n.name.as_deref() == Some(name))
            .ok_or_else(|| EditError::UnknownNode { name: name.into() })?;
        ast::visit_path_mut(self.root_mut(), &["nodelist"], &mut |s| {
            s.remove_entries(|item| is_node_named(item, name));
        });
        Ok(removed)
    }

    /// Sets the address of node `name` on an existing link (updating `ringN_addr`, or the
    /// node's `linkN_addr` if that is what it uses).
    pub fn set_node_address(&mut self, name: &str, link: u8, addr: &str) -> Result<(), EditError> {
        check_address(name, addr)?;
        if link > MAX_LINK {
            return Err(EditError::LinkOutOfRange { link });
        }
        let view = self.view();
        if !view.nodes.iter().any(|n| n.name.as_deref() == Some(name)) {
            return Err(EditError::UnknownNode { name: name.into() });
        }
        if !all_links(&view).contains(&link) {
            return Err(EditError::LinkNotConfigured {
                node: name.into(),
                link,
            });
        }
        let (ring, alias) = (format!("ring{link}_addr"), format!("link{link}_addr"));
        let mut changed = false;
        ast::visit_path_mut(&mut self.root, &["nodelist", "node"], &mut |s| {
            if s.get("name") != Some(name) {
                return;
            }
            let key = if s.get(&ring).is_none() && s.get(&alias).is_some() {
                &alias
            } else {
                &ring
            };
            let (found, c) = s.replace_all(key, addr);
            if !found {
                s.push_value(key.clone(), addr);
            }
            changed |= c || !found;
        });
        self.modified |= changed;
        Ok(())
    }

    /// Adds a knet link: a `totem.interface` section and an address on every node
    /// (`addrs` maps node names to addresses and must cover all nodes).
    pub fn add_link(
        &mut self,
        link: &LinkSpec,
        addrs: BTreeMap<String, String>,
    ) -> Result<(), EditError> {
        let number = link.number;
        if number > MAX_LINK {
            return Err(EditError::LinkOutOfRange { link: number });
        }
        let view = self.view();
        if all_links(&view).contains(&number) {
            return Err(EditError::LinkExists { link: number });
        }
        for (name, addr) in &addrs {
            if !view.nodes.iter().any(|n| n.name.as_ref() == Some(name)) {
                return Err(EditError::UnknownNode { name: name.clone() });
            }
            check_address(name, addr)?;
        }
        for (i, node) in view.nodes.iter().enumerate() {
            if node.name.as_ref().and_then(|n| addrs.get(n)).is_none() {
                return Err(EditError::MissingAddress {
                    node: node.label(i),
                    link: number,
                });
            }
        }
        let root = self.root_mut();
        ast::ensure_path(root, &["totem"]).push_section(link.interface());
        let key = format!("ring{number}_addr");
        ast::visit_path_mut(root, &["nodelist", "node"], &mut |s| {
            if let Some(addr) = s.get("name").and_then(|n| addrs.get(n)).cloned() {
                s.push_value(key.clone(), addr);
            }
        });
        Ok(())
    }

    /// Removes a link: its interface section(s) and every node's address on it. The last
    /// remaining link cannot be removed.
    pub fn remove_link(&mut self, link: u8) -> Result<(), EditError> {
        let links = all_links(&self.view());
        if !links.contains(&link) {
            return Err(EditError::UnknownLink { link });
        }
        if links.len() == 1 {
            return Err(EditError::LastLink { link });
        }
        let root = self.root_mut();
        ast::visit_path_mut(root, &["totem"], &mut |s| {
            s.remove_entries(|item| match item {
                Item::Section(i) if i.name == "interface" => {
                    crate::extract::interface(i).link() == Some(link)
                }
                _ => false,
            });
        });
        let (ring, alias) = (format!("ring{link}_addr"), format!("link{link}_addr"));
        ast::visit_path_mut(root, &["nodelist", "node"], &mut |s| {
            s.remove_values(&ring);
            s.remove_values(&alias);
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests;

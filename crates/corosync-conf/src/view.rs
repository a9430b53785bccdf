//! The typed view: what the configuration says, as plain data.
//!
//! Derived from the tree on every call to [`crate::Config::view`]; editing the view changes
//! nothing. Conventions:
//! * Values follow corosync's reading: when a key appears twice the last one wins, and
//!   repeated sections of the same name are merged (repeated `node` / `interface` sections
//!   stay separate entries, in file order).
//! * A typed field (`Option<u32>` ...) is `None` when the key is missing **or** its value is
//!   not a number corosync would accept; in the latter case the raw text stays in `other`
//!   under its key, so nothing is lost ([`crate::Config::validate`] reports it).
//! * `other` holds the remaining `key: value` pairs of a section, `other_sections` its
//!   remaining subsections.

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything in a corosync.conf, typed where it matters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ConfView {
    /// `totem { ... }`.
    pub totem: Totem,
    /// `nodelist { node { ... } ... }`, in file order.
    pub nodes: Vec<Node>,
    /// `quorum { ... }`.
    pub quorum: Quorum,
    /// `logging { ... }`.
    pub logging: Logging,
    /// Scalars and non-`node` sections directly inside `nodelist`.
    pub nodelist_other: RawSection,
    /// Top-level keys outside any section.
    pub other: BTreeMap<String, String>,
    /// Unknown top-level sections (`system`, `resources`, `uidgid`, ...), in file order.
    pub other_sections: Vec<RawSection>,
}

/// A section the view does not interpret.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RawSection {
    /// Section name.
    pub name: String,
    /// Its `key: value` pairs (last one wins).
    pub values: BTreeMap<String, String>,
    /// Its subsections, in file order.
    pub sections: Vec<RawSection>,
}

/// `totem { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Totem {
    pub cluster_name: Option<String>,
    pub config_version: Option<u64>,
    pub version: Option<u32>,
    pub secauth: Option<String>,
    pub ip_version: Option<String>,
    pub link_mode: Option<String>,
    pub transport: Option<String>,
    pub token: Option<u32>,
    pub token_coefficient: Option<u32>,
    pub consensus: Option<u32>,
    /// `interface { ... }` sections, in file order.
    pub interfaces: Vec<Interface>,
    pub other: BTreeMap<String, String>,
    pub other_sections: Vec<RawSection>,
}

/// `totem.interface { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Interface {
    /// The `linknumber` key as written (corosync defaults to 0 when it is absent).
    pub linknumber: Option<u8>,
    pub knet_link_priority: Option<u8>,
    /// Everything else, e.g. the corosync-2 `ringnumber`, `bindnetaddr`, `mcastport`.
    pub other: BTreeMap<String, String>,
    pub other_sections: Vec<RawSection>,
}

impl Interface {
    /// The link this interface configures: `linknumber`, else the legacy `ringnumber` (as
    /// Proxmox reads it), else 0. `None` when the number present is not valid.
    pub fn link(&self) -> Option<u8> {
        if let Some(n) = self.linknumber {
            return Some(n);
        }
        if self.other.contains_key("linknumber") {
            return None;
        }
        match self.other.get("ringnumber") {
            Some(r) => crate::cnum::parse_typed(r),
            None => Some(0),
        }
    }
}

/// `nodelist.node { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Node {
    pub name: Option<String>,
    pub nodeid: Option<u32>,
    pub quorum_votes: Option<u32>,
    /// Link number → address, from `ringN_addr` (or `linkN_addr` when there is no
    /// `ringN_addr` for that N; a shadowed `linkN_addr` stays in `other`).
    pub addrs: BTreeMap<u8, String>,
    pub other: BTreeMap<String, String>,
    pub other_sections: Vec<RawSection>,
}

impl Node {
    /// How messages name the node: its name, else its `ring0_addr`, else `#<position>`
    /// (1-based position in the nodelist).
    pub fn label(&self, index: usize) -> String {
        match (&self.name, self.addrs.get(&0)) {
            (Some(name), _) => name.clone(),
            (None, Some(addr)) => addr.clone(),
            (None, None) => format!("#{}", index + 1),
        }
    }
}

/// `quorum { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Quorum {
    pub provider: Option<String>,
    pub expected_votes: Option<u32>,
    pub two_node: Option<u8>,
    pub wait_for_all: Option<u8>,
    pub last_man_standing: Option<u8>,
    pub auto_tie_breaker: Option<u8>,
    pub allow_downscale: Option<u8>,
    /// `quorum.device { ... }`, when present.
    pub device: Option<QuorumDevice>,
    pub other: BTreeMap<String, String>,
    pub other_sections: Vec<RawSection>,
}

/// `quorum.device { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct QuorumDevice {
    pub model: Option<String>,
    pub votes: Option<u32>,
    pub timeout: Option<u32>,
    pub sync_timeout: Option<u32>,
    /// `quorum.device.net { ... }`, when present.
    pub net: Option<NetDevice>,
    pub other: BTreeMap<String, String>,
    /// E.g. `heuristics { ... }`.
    pub other_sections: Vec<RawSection>,
}

/// `quorum.device.net { ... }` (read as strings by corosync-qdevice).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct NetDevice {
    pub host: Option<String>,
    pub port: Option<String>,
    pub algorithm: Option<String>,
    pub tls: Option<String>,
    pub tie_breaker: Option<String>,
    pub other: BTreeMap<String, String>,
    pub other_sections: Vec<RawSection>,
}

/// `logging { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Logging {
    pub debug: Option<String>,
    pub to_syslog: Option<String>,
    pub to_stderr: Option<String>,
    pub to_logfile: Option<String>,
    pub logfile: Option<String>,
    pub timestamp: Option<String>,
    pub other: BTreeMap<String, String>,
    /// E.g. `logger_subsys { ... }`.
    pub other_sections: Vec<RawSection>,
}

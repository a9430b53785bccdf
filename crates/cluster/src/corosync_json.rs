//! corosync.conf as PVE's API shows it (the shape of `PVE::Corosync::parse_conf`).
//!
//! * every `key: value` becomes a JSON string (a repeated key: the last one wins);
//! * sections become objects; `node` and `interface` sections are collected into lists, then
//!   `nodelist.node` becomes an object keyed by each node's `name` (or its `ring0_addr` when
//!   it has no name) and `totem.interface` an object keyed by `linknumber` (or `ringnumber`,
//!   or `0` when it has neither — corosync's default);
//! * a section name repeated in the same parent is merged into one object (corosync's
//!   reading; PVE's parser would refuse the file).
//!
//! The text is parsed with corosync's own grammar ([`corosync_conf::Config::parse`]).

use corosync_conf::{Item, Section};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// The parsed configuration and the SHA-1 of its raw text.
#[derive(Debug, Clone, PartialEq)]
pub struct PveConf {
    /// Top-level object (`totem`, `nodelist`, `quorum`, `logging`, ...).
    pub main: Map<String, Value>,
    /// Hex SHA-1 of the file's bytes (`config_digest`).
    pub digest: String,
}

fn is_list_section(name: &str) -> bool {
    name == "node" || name == "interface"
}

fn merge_into(target: &mut Map<String, Value>, add: Map<String, Value>) {
    for (k, v) in add {
        match (target.get_mut(&k), v) {
            (Some(Value::Object(t)), Value::Object(a)) => merge_into(t, a),
            (_, v) => {
                target.insert(k, v);
            }
        }
    }
}

fn section_to_json(section: &Section) -> Map<String, Value> {
    let mut out = Map::new();
    for entry in &section.entries {
        match &entry.item {
            Item::Value { key, value } => {
                out.insert(key.clone(), Value::String(value.clone()));
            }
            Item::Section(sub) if is_list_section(&sub.name) => {
                let slot = out
                    .entry(sub.name.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                if let Value::Array(list) = slot {
                    list.push(Value::Object(section_to_json(sub)));
                }
            }
            Item::Section(sub) => {
                let obj = section_to_json(sub);
                match out.get_mut(&sub.name) {
                    Some(Value::Object(existing)) => merge_into(existing, obj),
                    _ => {
                        out.insert(sub.name.clone(), Value::Object(obj));
                    }
                }
            }
        }
    }
    out
}

/// Replaces the list `parent[list]` by an object keyed by the first present key of `keys`.
fn key_list(parent: Option<&mut Value>, list: &str, keys: &[&str], default: &str) {
    let Some(Value::Object(parent)) = parent else {
        return;
    };
    let Some(Value::Array(items)) = parent.remove(list) else {
        return;
    };
    let mut keyed = Map::new();
    for item in items {
        let key = keys
            .iter()
            .find_map(|k| item.get(*k).and_then(Value::as_str))
            .unwrap_or(default)
            .to_string();
        keyed.insert(key, item);
    }
    parent.insert(list.to_string(), Value::Object(keyed));
}

/// Hex SHA-1 of `bytes`.
pub fn sha1_hex(bytes: &[u8]) -> String {
    openssl::sha::sha1(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses corosync.conf bytes into PVE's shape.
pub fn parse(bytes: &[u8]) -> Result<PveConf> {
    let text = String::from_utf8_lossy(bytes);
    let conf = corosync_conf::Config::parse(&text)
        .map_err(|e| Error::Invalid(format!("cannot parse corosync.conf: {e}")))?;
    let mut main = section_to_json(conf.root());
    key_list(
        main.get_mut("nodelist"),
        "node",
        &["name", "ring0_addr"],
        "",
    );
    key_list(
        main.get_mut("totem"),
        "interface",
        &["linknumber", "ringnumber"],
        "0",
    );
    Ok(PveConf {
        main,
        digest: sha1_hex(bytes),
    })
}

impl PveConf {
    /// `nodelist.node`: node key → node object (empty when there is no nodelist).
    pub fn nodes(&self) -> Map<String, Value> {
        self.main
            .get("nodelist")
            .and_then(|n| n.get("node"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// The `totem` object, if any.
    pub fn totem(&self) -> Option<&Value> {
        self.main.get("totem")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONF: &str = "logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n  node {\n    \
        name: n2\n    nodeid: 2\n    quorum_votes: 1\n    ring0_addr: 10.0.0.2\n  }\n  node {\n    \
        name: n1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n    ring1_addr: \
        10.1.0.1\n  }\n  node {\n    nodeid: 3\n    ring0_addr: 10.0.0.3\n  }\n}\n\nquorum {\n  \
        provider: corosync_votequorum\n}\n\ntotem {\n  cluster_name: demo\n  config_version: 4\n  \
        interface {\n    linknumber: 0\n  }\n  interface {\n    ringnumber: 1\n  }\n  ip_version: \
        ipv4-6\n  link_mode: passive\n  secauth: on\n  version: 2\n}\n";

    #[test]
    fn has_the_shape_of_pve_parse_conf() {
        let c = parse(CONF.as_bytes()).unwrap();
        assert_eq!(c.digest, sha1_hex(CONF.as_bytes()));
        assert_eq!(c.digest.len(), 40);
        let nodes = c.nodes();
        assert_eq!(
            nodes.keys().collect::<Vec<_>>(),
            vec!["10.0.0.3", "n1", "n2"]
        );
        assert_eq!(
            nodes["n1"],
            json!({"name": "n1", "nodeid": "1", "quorum_votes": "1", "ring0_addr": "10.0.0.1",
                   "ring1_addr": "10.1.0.1"})
        );
        assert_eq!(
            c.totem().unwrap(),
            &json!({"cluster_name": "demo", "config_version": "4",
                    "interface": {"0": {"linknumber": "0"}, "1": {"ringnumber": "1"}},
                    "ip_version": "ipv4-6", "link_mode": "passive", "secauth": "on",
                    "version": "2"})
        );
        assert_eq!(c.main["quorum"]["provider"], "corosync_votequorum");
        assert_eq!(c.main["logging"]["to_syslog"], "yes");
    }

    #[test]
    fn repeated_sections_merge_and_errors_name_the_file() {
        let c = parse(b"totem {\n a: 1\n}\ntotem {\n b: 2\n interface {\n }\n}\n").unwrap();
        assert_eq!(
            c.totem().unwrap(),
            &json!({"a": "1", "b": "2", "interface": {"0": {}}})
        );
        assert!(c.nodes().is_empty());
        let e = parse(b"totem {\n").unwrap_err();
        assert!(
            e.to_string().starts_with("cannot parse corosync.conf"),
            "{e}"
        );
    }
}

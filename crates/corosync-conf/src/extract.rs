//! Builds the typed view ([`crate::ConfView`]) from the document tree.

use std::collections::{btree_map, BTreeMap};

use crate::ast::{Item, Section};
use crate::cnum;
use crate::view::{
    ConfView, Interface, Logging, NetDevice, Node, Quorum, QuorumDevice, RawSection, Totem,
};

/// The merged content of one or more same-named sections: last value wins, subsections in
/// file order.
struct Merged<'a> {
    values: BTreeMap<String, String>,
    sections: Vec<&'a Section>,
}

impl<'a> Merged<'a> {
    fn of(sections: impl IntoIterator<Item = &'a Section>) -> Merged<'a> {
        let mut merged = Merged {
            values: BTreeMap::new(),
            sections: Vec::new(),
        };
        for section in sections {
            for entry in &section.entries {
                match &entry.item {
                    Item::Value { key, value } => {
                        merged.values.insert(key.clone(), value.clone());
                    }
                    Item::Section(s) => merged.sections.push(s),
                }
            }
        }
        merged
    }

    fn string(&mut self, key: &str) -> Option<String> {
        self.values.remove(key)
    }

    /// Takes a number out of the values if corosync would accept it for type `T`.
    fn number<T: TryFrom<i64>>(&mut self, key: &str) -> Option<T> {
        let n = cnum::parse_typed(self.values.get(key)?)?;
        self.values.remove(key);
        Some(n)
    }

    fn u64(&mut self, key: &str) -> Option<u64> {
        let n = cnum::parse_u64(self.values.get(key)?)?;
        self.values.remove(key);
        Some(n)
    }

    /// Removes and returns the subsections called `name`.
    fn take_sections(&mut self, name: &str) -> Vec<&'a Section> {
        let (taken, rest) = self.sections.iter().partition(|s| s.name == name);
        self.sections = rest;
        taken
    }

    fn rest_sections(&self) -> Vec<RawSection> {
        self.sections.iter().map(|s| raw(s)).collect()
    }
}

/// A section as untyped data.
pub(crate) fn raw(section: &Section) -> RawSection {
    let merged = Merged::of([section]);
    RawSection {
        name: section.name.clone(),
        values: merged.values.clone(),
        sections: merged.rest_sections(),
    }
}

/// Parses `ringN_addr` / `linkN_addr` keys: N must be written as corosync formats it (no sign,
/// no leading zeros) and fit in a u8.
pub(crate) fn link_of_key(key: &str, prefix: &str) -> Option<u8> {
    let digits = key.strip_prefix(prefix)?.strip_suffix("_addr")?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if canonical {
        digits.parse().ok()
    } else {
        None
    }
}

pub(crate) fn view(root: &Section) -> ConfView {
    let mut view = ConfView {
        totem: totem(root.sections_named("totem")),
        quorum: quorum(root.sections_named("quorum")),
        logging: logging(root.sections_named("logging")),
        ..ConfView::default()
    };
    let mut nodelist_rest: Vec<&Section> = Vec::new();
    let mut nodelist_values = BTreeMap::new();
    for nodelist in root.sections_named("nodelist") {
        for entry in &nodelist.entries {
            match &entry.item {
                Item::Section(s) if s.name == "node" => view.nodes.push(node(s)),
                Item::Section(s) => nodelist_rest.push(s),
                Item::Value { key, value } => {
                    nodelist_values.insert(key.clone(), value.clone());
                }
            }
        }
    }
    view.nodelist_other = RawSection {
        name: "nodelist".to_string(),
        values: nodelist_values,
        sections: nodelist_rest.into_iter().map(raw).collect(),
    };
    for entry in &root.entries {
        match &entry.item {
            Item::Value { key, value } => {
                view.other.insert(key.clone(), value.clone());
            }
            Item::Section(s) => {
                if !matches!(s.name.as_str(), "totem" | "nodelist" | "quorum" | "logging") {
                    view.other_sections.push(raw(s));
                }
            }
        }
    }
    view
}

fn totem<'a>(sections: impl IntoIterator<Item = &'a Section>) -> Totem {
    let mut m = Merged::of(sections);
    let interfaces = m
        .take_sections("interface")
        .into_iter()
        .map(interface)
        .collect();
    Totem {
        cluster_name: m.string("cluster_name"),
        config_version: m.u64("config_version"),
        version: m.number("version"),
        secauth: m.string("secauth"),
        ip_version: m.string("ip_version"),
        link_mode: m.string("link_mode"),
        transport: m.string("transport"),
        token: m.number("token"),
        token_coefficient: m.number("token_coefficient"),
        consensus: m.number("consensus"),
        interfaces,
        other_sections: m.rest_sections(),
        other: m.values,
    }
}

/// One `totem.interface` section.
pub(crate) fn interface(section: &Section) -> Interface {
    let mut i = Merged::of([section]);
    Interface {
        linknumber: i.number("linknumber"),
        knet_link_priority: i.number("knet_link_priority"),
        other_sections: i.rest_sections(),
        other: i.values,
    }
}

fn node(section: &Section) -> Node {
    let mut m = Merged::of([section]);
    let mut node = Node {
        name: m.string("name"),
        nodeid: m.number("nodeid"),
        quorum_votes: m.number("quorum_votes"),
        ..Node::default()
    };
    for prefix in ["ring", "link"] {
        let keys: Vec<String> = m.values.keys().cloned().collect();
        for key in keys {
            if let Some(link) = link_of_key(&key, prefix) {
                if let btree_map::Entry::Vacant(slot) = node.addrs.entry(link) {
                    slot.insert(m.values.remove(&key).expect("key listed above"));
                }
            }
        }
    }
    node.other_sections = m.rest_sections();
    node.other = m.values;
    node
}

fn quorum<'a>(sections: impl IntoIterator<Item = &'a Section>) -> Quorum {
    let mut m = Merged::of(sections);
    let devices = m.take_sections("device");
    let device = (!devices.is_empty()).then(|| {
        let mut d = Merged::of(devices);
        let nets = d.take_sections("net");
        let net = (!nets.is_empty()).then(|| {
            let mut n = Merged::of(nets);
            NetDevice {
                host: n.string("host"),
                port: n.string("port"),
                algorithm: n.string("algorithm"),
                tls: n.string("tls"),
                tie_breaker: n.string("tie_breaker"),
                other_sections: n.rest_sections(),
                other: n.values,
            }
        });
        QuorumDevice {
            model: d.string("model"),
            votes: d.number("votes"),
            timeout: d.number("timeout"),
            sync_timeout: d.number("sync_timeout"),
            net,
            other_sections: d.rest_sections(),
            other: d.values,
        }
    });
    Quorum {
        provider: m.string("provider"),
        expected_votes: m.number("expected_votes"),
        two_node: m.number("two_node"),
        wait_for_all: m.number("wait_for_all"),
        last_man_standing: m.number("last_man_standing"),
        auto_tie_breaker: m.number("auto_tie_breaker"),
        allow_downscale: m.number("allow_downscale"),
        device,
        other_sections: m.rest_sections(),
        other: m.values,
    }
}

fn logging<'a>(sections: impl IntoIterator<Item = &'a Section>) -> Logging {
    let mut m = Merged::of(sections);
    Logging {
        debug: m.string("debug"),
        to_syslog: m.string("to_syslog"),
        to_stderr: m.string("to_stderr"),
        to_logfile: m.string("to_logfile"),
        logfile: m.string("logfile"),
        timestamp: m.string("timestamp"),
        other_sections: m.rest_sections(),
        other: m.values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    #[test]
    fn link_keys() {
        assert_eq!(link_of_key("ring0_addr", "ring"), Some(0));
        assert_eq!(link_of_key("ring7_addr", "ring"), Some(7));
        assert_eq!(link_of_key("ring07_addr", "ring"), None);
        assert_eq!(link_of_key("ring_addr", "ring"), None);
        assert_eq!(link_of_key("ring256_addr", "ring"), None);
        assert_eq!(link_of_key("link1_addr", "link"), Some(1));
    }

    #[test]
    fn merges_and_keeps_bad_numbers_raw() {
        let root = parse(
            "totem {\ntoken: 1\n}\ntotem {\ntoken: x\nversion: 2\nfoo: bar\ninterface {\nlinknumber: 1\nbindnetaddr: 10.0.0.0\n}\n}\n",
        )
        .unwrap();
        let v = view(&root);
        assert_eq!(v.totem.token, None);
        assert_eq!(v.totem.other.get("token").map(String::as_str), Some("x"));
        assert_eq!(v.totem.version, Some(2));
        assert_eq!(v.totem.other.get("foo").map(String::as_str), Some("bar"));
        assert_eq!(v.totem.interfaces.len(), 1);
        assert_eq!(v.totem.interfaces[0].linknumber, Some(1));
        assert_eq!(v.totem.interfaces[0].link(), Some(1));
    }

    #[test]
    fn node_addresses_prefer_ring_keys() {
        let root = parse(
            "nodelist {\nnode {\nname: a\nring0_addr: 10.0.0.1\nlink0_addr: 10.9.9.9\nlink1_addr: 10.0.1.1\n}\n}\n",
        )
        .unwrap();
        let v = view(&root);
        let n = &v.nodes[0];
        assert_eq!(n.addrs.get(&0).map(String::as_str), Some("10.0.0.1"));
        assert_eq!(n.addrs.get(&1).map(String::as_str), Some("10.0.1.1"));
        assert_eq!(
            n.other.get("link0_addr").map(String::as_str),
            Some("10.9.9.9")
        );
    }

    #[test]
    fn quorum_device_and_unknown_sections() {
        let root = parse(
            "quorum {\nprovider: corosync_votequorum\ndevice {\nmodel: net\nvotes: 1\nnet {\nhost: 10.0.0.9\n}\nheuristics {\nmode: on\n}\n}\n}\nsystem {\nsched_rr: no\n}\nstray: 1\n",
        )
        .unwrap();
        let v = view(&root);
        let d = v.quorum.device.as_ref().unwrap();
        assert_eq!(d.model.as_deref(), Some("net"));
        assert_eq!(d.votes, Some(1));
        assert_eq!(d.net.as_ref().unwrap().host.as_deref(), Some("10.0.0.9"));
        assert_eq!(d.other_sections[0].name, "heuristics");
        assert_eq!(v.other_sections[0].name, "system");
        assert_eq!(v.other.get("stray").map(String::as_str), Some("1"));
    }
}

//! The VM list (§2.12): VMID → (node, type, per-VM version), derived from guest config
//! paths `nodes/<node>/{qemu-server,openvz,lxc}/<vmid>.conf`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::path::{is_ldh, parse_vmid_conf, GuestConfig, VmType};
use crate::tree::{Kind, Tree};

/// One guest of the VM list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmEntry {
    /// Node directory holding the config.
    pub node: String,
    /// Guest type.
    pub kind: VmType,
    /// Per-VM version: value of the process-wide insertion counter at registration.
    pub version: u64,
}

/// The VM list with its change counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VmList {
    version: u64,
    counter: u64,
    vms: BTreeMap<u32, VmEntry>,
}

/// Two guest configs with the same VMID were found while rebuilding the list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("detected duplicate VMID {vmid} (nodes {first} and {second})")]
pub struct DuplicateVmid {
    /// The VMID.
    pub vmid: u32,
    /// Node of the config found first (it stays registered).
    pub first: String,
    /// Node of the clashing config.
    pub second: String,
}

impl VmList {
    /// Global `vmlist_version`: bumped on every change and every rebuild.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The entry of a VMID.
    pub fn get(&self, vmid: u32) -> Option<&VmEntry> {
        self.vms.get(&vmid)
    }

    /// All guests by VMID.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &VmEntry)> {
        self.vms.iter().map(|(k, v)| (*k, v))
    }

    /// Number of guests.
    pub fn len(&self) -> usize {
        self.vms.len()
    }

    /// True if there are no guests.
    pub fn is_empty(&self) -> bool {
        self.vms.is_empty()
    }

    /// True if the VMID is registered with a different node or type (→ `EEXIST`).
    pub fn conflicts(&self, g: &GuestConfig) -> bool {
        self.vms
            .get(&g.vmid)
            .is_some_and(|e| e.kind != g.kind || e.node != g.node)
    }

    /// Registers (or re-registers) a guest with a fresh per-VM version.
    pub fn register(&mut self, g: &GuestConfig) {
        self.counter += 1;
        let entry = VmEntry {
            node: g.node.clone(),
            kind: g.kind,
            version: self.counter,
        };
        self.vms.insert(g.vmid, entry);
        self.version += 1;
    }

    /// Removes a VMID (whatever node/type it is registered with, like the original).
    pub fn remove(&mut self, vmid: u32) {
        if self.vms.remove(&vmid).is_some() {
            self.version += 1;
        }
    }

    /// Rebuilds the list from the tree, keeping the counters. On a duplicate VMID the
    /// first config found (in node/type/VMID order) stays registered and the error is
    /// returned after the whole tree was scanned.
    pub fn rebuild(&mut self, tree: &Tree) -> Result<(), DuplicateVmid> {
        self.vms.clear();
        self.version += 1;
        let mut dup = None;
        let Some(nodes) = tree.lookup_comps(&["nodes"]) else {
            return Ok(());
        };
        let Some(node_dirs) = tree.entries[&nodes].children() else {
            return Ok(());
        };
        for (node, node_ino) in node_dirs.iter().filter(|(n, _)| is_ldh(n)) {
            let Some(type_dirs) = tree.entries[node_ino].children() else {
                continue;
            };
            for (dir, dir_ino) in type_dirs {
                let Some(kind) = VmType::from_dir(dir) else {
                    continue;
                };
                let Some(files) = tree.entries[dir_ino].children() else {
                    continue;
                };
                for (file, ino) in files {
                    let Some(vmid) = parse_vmid_conf(file) else {
                        continue;
                    };
                    if tree.entries[ino].kind() != Kind::File {
                        continue;
                    }
                    if let Some(first) = self.vms.get(&vmid) {
                        dup.get_or_insert(DuplicateVmid {
                            vmid,
                            first: first.node.clone(),
                            second: node.clone(),
                        });
                        continue;
                    }
                    self.counter += 1;
                    let entry = VmEntry {
                        node: node.clone(),
                        kind,
                        version: self.counter,
                    };
                    self.vms.insert(vmid, entry);
                }
            }
        }
        dup.map_or(Ok(()), Err)
    }
}

/// Renders the exact `.vmlist` text (§3.4), guests in VMID order.
pub fn render_vmlist(list: &VmList) -> String {
    let mut out = format!("{{\n\"version\": {}", list.version());
    if !list.is_empty() {
        out.push_str(",\n\"ids\": {\n");
        let entries: Vec<String> = list
            .iter()
            .map(|(vmid, e)| {
                let mut s = String::new();
                let _ = write!(
                    s,
                    "\"{vmid}\": {{ \"node\": \"{}\", \"type\": \"{}\", \"version\": {} }}",
                    e.node,
                    e.kind.name(),
                    e.version
                );
                s
            })
            .collect();
        out.push_str(&entries.join(",\n"));
        out.push('}');
    }
    out.push_str("\n\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::guest_config;

    #[test]
    fn render_empty_and_filled() {
        let mut l = VmList::default();
        assert_eq!(render_vmlist(&l), "{\n\"version\": 0\n\n}\n");
        l.register(&guest_config("nodes/a/qemu-server/100.conf").unwrap());
        l.register(&guest_config("nodes/b/lxc/101.conf").unwrap());
        assert_eq!(
            render_vmlist(&l),
            "{\n\"version\": 2,\n\"ids\": {\n\
             \"100\": { \"node\": \"a\", \"type\": \"qemu\", \"version\": 1 },\n\
             \"101\": { \"node\": \"b\", \"type\": \"lxc\", \"version\": 2 }}\n\n}\n"
        );
    }

    #[test]
    fn register_conflict_remove() {
        let mut l = VmList::default();
        let a = guest_config("nodes/a/qemu-server/100.conf").unwrap();
        l.register(&a);
        assert!(!l.conflicts(&a));
        assert!(l.conflicts(&guest_config("nodes/b/qemu-server/100.conf").unwrap()));
        assert!(l.conflicts(&guest_config("nodes/a/lxc/100.conf").unwrap()));
        l.register(&a);
        assert_eq!(
            l.get(100).unwrap().version,
            2,
            "re-registration gets a new version"
        );
        assert_eq!(l.version(), 2);
        l.remove(100);
        l.remove(100);
        assert_eq!((l.version(), l.len()), (3, 0));
    }
}

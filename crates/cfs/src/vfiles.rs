//! Exact text of the virtual status files `.members`, `.version` and `.debug`.

/// Paths whose change counters `.version` reports, in the original's order.
pub const TRACKED_PATHS: [&str; 43] = [
    "corosync.conf",
    "corosync.conf.new",
    "storage.cfg",
    "user.cfg",
    "domains.cfg",
    "notifications.cfg",
    "priv/notifications.cfg",
    "priv/shadow.cfg",
    "priv/acme/plugins.cfg",
    "priv/tfa.cfg",
    "priv/token.cfg",
    "priv/wg-keys.cfg",
    "datacenter.cfg",
    "vzdump.cron",
    "vzdump.conf",
    "jobs.cfg",
    "ha/crm_commands",
    "ha/manager_status",
    "ha/resources.cfg",
    "ha/rules.cfg",
    "ha/groups.cfg",
    "ha/fence.cfg",
    "status.cfg",
    "replication.cfg",
    "ceph.conf",
    "sdn/vnets.cfg",
    "sdn/zones.cfg",
    "sdn/controllers.cfg",
    "sdn/subnets.cfg",
    "sdn/ipams.cfg",
    "sdn/mac-cache.json",
    "sdn/pve-ipam-state.json",
    "sdn/dns.cfg",
    "sdn/fabrics.cfg",
    "sdn/route-maps.cfg",
    "sdn/prefix-lists.cfg",
    "sdn/.running-config",
    "virtual-guest/cpu-models.conf",
    "virtual-guest/profiles.cfg",
    "firewall/cluster.fw",
    "mapping/directory.cfg",
    "mapping/pci.cfg",
    "mapping/usb.cfg",
];

/// `.members` without cluster information (local mode).
pub fn members_local(nodename: &str, clinfo_version: u64) -> String {
    format!("{{\n\"nodename\": \"{nodename}\",\n\"version\": {clinfo_version}\n}}\n")
}

/// One node in `.members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberNode {
    pub name: String,
    pub id: u32,
    pub online: bool,
    pub ip: Option<String>,
}

/// Cluster part of `.members`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMembers {
    pub name: String,
    pub config_version: u64,
    pub quorate: bool,
    pub nodes: Vec<MemberNode>,
}

/// `.members` with cluster information.
pub fn members_cluster(nodename: &str, clinfo_version: u64, cluster: &ClusterMembers) -> String {
    let mut out = format!(
        "{{\n\"nodename\": \"{nodename}\",\n\"version\": {clinfo_version},\n\"cluster\": {{ \"name\": \"{}\", \"version\": {}, \"nodes\": {}, \"quorate\": {} }},\n\"nodelist\": {{\n",
        cluster.name,
        cluster.config_version,
        cluster.nodes.len(),
        u8::from(cluster.quorate)
    );
    let nodes: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| {
            let ip =
                n.ip.as_ref()
                    .map(|ip| format!(", \"ip\": \"{ip}\""))
                    .unwrap_or_default();
            format!(
                "  \"{}\": {{ \"id\": {}, \"online\": {}{ip}}}",
                n.name,
                n.id,
                u8::from(n.online)
            )
        })
        .collect();
    out.push_str(&nodes.join(",\n"));
    out.push_str("\n  }\n}\n");
    out
}

/// Inputs of `.version`.
pub struct VersionInfo<'a> {
    pub start_time: u64,
    pub clinfo_version: u64,
    pub vmlist_version: u64,
    pub counters: &'a [u32; TRACKED_PATHS.len()],
    /// The `"kvstore": {…}` block (see `kvstore::render_version_block`).
    pub kvstore_block: &'a str,
}

/// `.version`: start time, info versions, change counters and kv store versions.
pub fn version(info: &VersionInfo) -> String {
    let mut out = format!(
        "{{\n\"starttime\": {},\n\"clinfo\": {},\n\"vmlist\": {},\n",
        info.start_time, info.clinfo_version, info.vmlist_version
    );
    for (path, counter) in TRACKED_PATHS.iter().zip(info.counters.iter()) {
        out.push_str(&format!("\"{path}\": {counter},\n"));
    }
    out.push_str(info.kvstore_block);
    out.push_str("}\n");
    out
}

/// `.debug`: the debug switch as `0\n` or `1\n`.
pub fn debug(enabled: bool) -> &'static str {
    if enabled {
        "1\n"
    } else {
        "0\n"
    }
}

/// What a write to `.debug` asks for: only exactly `0\n` or `1\n` at offset 0 is accepted.
pub fn parse_debug_write(offset: u64, data: &[u8]) -> Option<bool> {
    match (offset, data) {
        (0, b"0\n") => Some(false),
        (0, b"1\n") => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_in_local_mode() {
        assert_eq!(
            members_local("pve1", 3),
            "{\n\"nodename\": \"pve1\",\n\"version\": 3\n}\n"
        );
    }

    #[test]
    fn members_with_cluster_information() {
        let cluster = ClusterMembers {
            name: "lab".into(),
            config_version: 3,
            quorate: true,
            nodes: vec![
                MemberNode {
                    name: "node1".into(),
                    id: 1,
                    online: true,
                    ip: Some("10.99.0.1".into()),
                },
                MemberNode {
                    name: "node2".into(),
                    id: 2,
                    online: false,
                    ip: None,
                },
            ],
        };
        assert_eq!(
            members_cluster("node1", 4, &cluster),
            "{\n\"nodename\": \"node1\",\n\"version\": 4,\n\
             \"cluster\": { \"name\": \"lab\", \"version\": 3, \"nodes\": 2, \"quorate\": 1 },\n\
             \"nodelist\": {\n\
             \x20 \"node1\": { \"id\": 1, \"online\": 1, \"ip\": \"10.99.0.1\"},\n\
             \x20 \"node2\": { \"id\": 2, \"online\": 0}\n\
             \x20 }\n}\n"
        );
    }

    #[test]
    fn version_lists_every_tracked_path_and_the_local_kv_block() {
        let mut counters = [0u32; TRACKED_PATHS.len()];
        counters[0] = 4;
        counters[42] = 1;
        let text = version(&VersionInfo {
            start_time: 1700000000,
            clinfo_version: 2,
            vmlist_version: 5,
            counters: &counters,
            kvstore_block: &kvstore::render_version_block("pve1", &[], &[]),
        });
        assert!(text.starts_with(
            "{\n\"starttime\": 1700000000,\n\"clinfo\": 2,\n\"vmlist\": 5,\n\"corosync.conf\": 4,\n\"corosync.conf.new\": 0,\n"
        ));
        assert!(text.ends_with("\"mapping/usb.cfg\": 1,\n\"kvstore\": {\n\"pve1\": {\n}\n}\n}\n"));
        assert_eq!(text.lines().count(), 3 + 43 + 6);
    }

    #[test]
    fn debug_switch() {
        assert_eq!(debug(false), "0\n");
        assert_eq!(parse_debug_write(0, b"1\n"), Some(true));
        assert_eq!(parse_debug_write(0, b"1"), None);
        assert_eq!(parse_debug_write(1, b"0\n"), None);
    }
}

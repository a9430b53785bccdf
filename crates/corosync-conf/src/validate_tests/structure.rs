//! Structure, node and link rules.

use super::*;

#[test]
fn no_totem() {
    assert_eq!(
        only(|c| assert!(c.remove_section(&["totem"]))),
        "no totem section: add 'totem { version: 2  cluster_name: <name>  config_version: 1 ... }'"
    );
}

#[test]
fn no_nodes() {
    assert_eq!(
        only(|c| assert!(c.remove_section(&["nodelist"]))),
        "no nodes found: add a 'nodelist' section with one 'node { ... }' entry per cluster member"
    );
}

#[test]
fn no_cluster_name() {
    assert_eq!(
        only(|c| assert!(c.remove(&["totem"], "cluster_name"))),
        "totem has no cluster_name: add 'cluster_name: <name>' to the totem section"
    );
}

#[test]
fn invalid_cluster_name() {
    assert_eq!(
        only(|c| c.set_totem("cluster_name", "my_cluster")),
        "invalid cluster name 'my_cluster': only letters, digits and '-' are allowed, and it must start and end with a letter or digit; use at most 15 letters, digits or '-'"
    );
    assert_eq!(
        only(|c| c.set_totem("cluster_name", "a-very-long-name")),
        "invalid cluster name 'a-very-long-name': it is longer than 15 characters; use at most 15 letters, digits or '-'"
    );
}

#[test]
fn totem_version_must_be_2() {
    assert_eq!(
        only(|c| c.set_totem("version", "3")),
        "totem.version is '3': corosync only reads version 2 configurations; set 'version: 2'"
    );
    assert_eq!(
        only(|c| assert!(c.remove(&["totem"], "version"))),
        "totem.version is missing: corosync only reads version 2 configurations; set 'version: 2'"
    );
}

#[test]
fn config_version_missing_or_zero() {
    assert_eq!(
        only(|c| c.set_totem("config_version", "0")),
        "totem.config_version is missing or 0: pmxcfs ignores such a file; set 'config_version: 1' or higher"
    );
}

#[test]
fn config_version_must_increase() {
    let old = base();
    let mut new = base();
    new.set_totem("token", "4000");
    let p = new.validate_update(&old);
    assert_eq!(
        p.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["config_version 3 is not greater than the current 3: increase totem.config_version (to 3 + 1)"]
    );
    new.bump_config_version().unwrap();
    assert!(new.validate_update(&old).is_empty());
}

#[test]
fn no_quorum_provider() {
    assert_eq!(
        only(|c| assert!(c.remove(&["quorum"], "provider"))),
        "quorum.provider is not set: add 'provider: corosync_votequorum' to the quorum section, or the cluster never enforces quorum"
    );
    assert_eq!(
        only(|c| c.set(&["quorum"], "provider", "other")),
        "quorum.provider is 'other': use one of corosync_votequorum"
    );
}

#[test]
fn no_encryption() {
    assert_eq!(
        only(|c| c.set_totem("secauth", "off")),
        "totem sets neither 'secauth: on' nor a crypto_cipher: cluster traffic is neither authenticated nor encrypted; set 'secauth: on'"
    );
    let mut c = base();
    c.set_totem("secauth", "off");
    c.set_totem("crypto_cipher", "aes128");
    c.set_totem("crypto_hash", "sha1");
    assert_eq!(messages(&c), Vec::<String>::new());
}

#[test]
fn cipher_needs_hash() {
    assert_eq!(
        only(|c| c.set_totem("crypto_hash", "none")),
        "crypto_cipher 'aes256' is used with crypto_hash none: corosync refuses a cipher without a hash; set 'crypto_hash: sha256'"
    );
}

#[test]
fn missing_nodeid() {
    assert_eq!(
        from_text(&BASE.replace("    nodeid: 2\n", "")),
        "node 'pve2' has no nodeid: knet requires one for every node; add 'nodeid: <1..65535>'"
    );
}

#[test]
fn invalid_nodeid() {
    assert_eq!(
        from_text(&BASE.replace("nodeid: 2\n", "nodeid: 0\n")),
        "node 'pve2' has nodeid 0: knet node ids go from 1 to 65535; pick a free id in that range"
    );
    assert_eq!(
        from_text(&BASE.replace("nodeid: 2\n", "nodeid: 70000\n")),
        "node 'pve2' has nodeid 70000: knet node ids go from 1 to 65535; pick a free id in that range"
    );
}

#[test]
fn duplicate_nodeid() {
    assert_eq!(
        from_text(&BASE.replace("nodeid: 2\n", "nodeid: 1\n")),
        "nodeid 1 is used by node 'pve1' and node 'pve2': give every node its own nodeid"
    );
}

#[test]
fn duplicate_node_name() {
    assert_eq!(
        from_text(&BASE.replace("name: pve2", "name: pve1")),
        "node name 'pve1' appears more than once: remove or rename the duplicate node entry"
    );
}

#[test]
fn invalid_node_name() {
    assert_eq!(
        from_text(&BASE.replace("name: pve2", "name: pve2.example.com")),
        "invalid node name 'pve2.example.com': use the short host name (letters, digits and '-', starting and ending with a letter or digit)"
    );
}

#[test]
fn node_without_address() {
    assert_eq!(
        from_text(&BASE.replace("    ring0_addr: 10.0.0.2\n", "")),
        "node 'pve2' has no address: add 'ring0_addr: <IP or host name>'"
    );
}

#[test]
fn missing_link_address() {
    let text = BASE
        .replace(
            "  interface {\n    linknumber: 0\n  }\n",
            "  interface {\n    linknumber: 0\n  }\n  interface {\n    linknumber: 1\n  }\n",
        )
        .replace(
            "ring0_addr: 10.0.0.1\n",
            "ring0_addr: 10.0.0.1\n    ring1_addr: 10.1.0.1\n",
        );
    assert_eq!(
        from_text(&text),
        "node 'pve2' has no address for link 1 (interface 1 is configured): add ring1_addr or remove the link"
    );
}

#[test]
fn address_without_interface() {
    let text = BASE.replace(
        "ring0_addr: 10.0.0.2\n",
        "ring0_addr: 10.0.0.2\n    ring2_addr: 10.2.0.2\n",
    );
    let m = messages(&Config::parse(&text).unwrap());
    assert_eq!(
        m,
        vec!["node 'pve2' has an address for link 2, but no interface for link 2 is configured: add 'interface { linknumber: 2 }' to totem or remove the node's ring2_addr"]
    );
}

#[test]
fn link_missing_on_node_without_interfaces() {
    let text = BASE
        .replace("  interface {\n    linknumber: 0\n  }\n", "")
        .replace(
            "ring0_addr: 10.0.0.2\n",
            "ring0_addr: 10.0.0.2\n    link1_addr: 10.1.0.2\n",
        );
    assert_eq!(
        from_text(&text),
        "node 'pve1' is missing link 1, which other nodes have: add ring1_addr to it or remove the link from the other nodes"
    );
}

#[test]
fn node_link_out_of_range() {
    let text = BASE.replace(
        "ring0_addr: 10.0.0.2\n",
        "ring0_addr: 10.0.0.2\n    ring8_addr: 10.8.0.2\n",
    );
    assert_eq!(
        from_text(&text),
        "node 'pve2' has an address for link 8: corosync supports links 0 to 7 only; remove its ring8_addr"
    );
}

#[test]
fn interface_link_out_of_range() {
    let text = BASE.replace(
        "  interface {\n    linknumber: 0\n  }\n",
        "  interface {\n    linknumber: 0\n  }\n  interface {\n    linknumber: 9\n  }\n",
    );
    assert_eq!(
        from_text(&text),
        "an interface has linknumber 9: corosync supports links 0 to 7 only; renumber or remove it"
    );
}

#[test]
fn duplicate_interface() {
    let text = BASE.replace(
        "  interface {\n    linknumber: 0\n  }\n",
        "  interface {\n    linknumber: 0\n  }\n  interface {\n    linknumber: 0\n  }\n",
    );
    assert_eq!(
        from_text(&text),
        "link 0 is configured by more than one interface section: corosync merges them; remove or renumber the duplicate"
    );
}

#[test]
fn ringnumber_is_ignored_by_corosync_3() {
    let text = BASE
        .replace(
            "  interface {\n    linknumber: 0\n  }\n",
            "  interface {\n    ringnumber: 0\n  }\n  interface {\n    ringnumber: 1\n  }\n",
        )
        .replace(
            "ring0_addr: 10.0.0.1\n",
            "ring0_addr: 10.0.0.1\n    ring1_addr: 10.1.0.1\n",
        )
        .replace(
            "ring0_addr: 10.0.0.2\n",
            "ring0_addr: 10.0.0.2\n    ring1_addr: 10.1.0.2\n",
        );
    assert_eq!(
        from_text(&text),
        "an interface has 'ringnumber: 1' without linknumber: corosync 3 ignores ringnumber and configures link 0; replace it with 'linknumber: 1'"
    );
}

#[test]
fn mixed_ip_versions() {
    assert_eq!(
        from_text(&BASE.replace("ring0_addr: 10.0.0.2", "ring0_addr: fd00::2")),
        "link 0 mixes IPv4 and IPv6 addresses (node 'pve1' has IPv4, node 'pve2' IPv6): use one address family per link"
    );
    // Host names are not resolved, so they never count as mixing.
    let text = BASE.replace("ring0_addr: 10.0.0.2", "ring0_addr: pve2.lan");
    assert!(Config::parse(&text).unwrap().validate().is_empty());
}

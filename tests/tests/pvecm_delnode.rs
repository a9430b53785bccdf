//! `pvecm delnode` on a three-node cluster after node3 was powered off, and `pvecm join-info`.

use std::time::Duration;

use quorate_e2e::{text, wait_for, Lab};

fn run(lab: &Lab, node: &str, cmd: &[&str]) -> String {
    let out = lab.exec(node, cmd);
    assert!(out.status.success(), "{node} {cmd:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn config_version(conf: &str) -> u64 {
    conf.lines()
        .find_map(|l| l.trim().strip_prefix("config_version:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no config_version in\n{conf}"))
}

fn node_names(conf: &str) -> Vec<String> {
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("name:"))
        .map(|n| n.trim().to_string())
        .collect()
}

#[test]
fn delnode_removes_a_powered_off_node_and_join_info_decodes() {
    let lab = Lab::up("e2e_delnode", &["--nodes", "3", "--cluster", "demo"]);
    let before = run(&lab, "node1", &["cat", "/etc/pve/corosync.conf"]);
    assert_eq!(node_names(&before), ["node1", "node2", "node3"]);
    let version = config_version(&before);

    // join-info: the blob decodes to node1's address and certificate fingerprint.
    let info = run(&lab, "node1", &["pvecm", "join-info"]);
    let blob = info
        .lines()
        .nth(1)
        .unwrap_or_else(|| panic!("no blob in\n{info}"));
    let decoded = run(
        &lab,
        "node1",
        &["sh", "-c", &format!("printf %s '{blob}' | base64 -d")],
    );
    let doc: serde_json::Value = serde_json::from_str(&decoded).expect("blob is JSON");
    let fp = run(
        &lab,
        "node1",
        &[
            "openssl",
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
            "/etc/pve/nodes/node1/pve-ssl.pem",
        ],
    );
    let fp = fp.trim().rsplit('=').next().unwrap().to_string();
    assert_eq!(doc["fingerprint"].as_str(), Some(fp.as_str()), "{decoded}");
    assert_eq!(doc["totem"]["cluster_name"].as_str(), Some("demo"));
    assert!(
        info.contains(&format!("Fingerprint (node1): {fp}")),
        "{info}"
    );
    let json = run(
        &lab,
        "node1",
        &["pvecm", "join-info", "--output-format", "json"],
    );
    let json: serde_json::Value = serde_json::from_str(&json).expect("join-info JSON");
    assert_eq!(json["fingerprint"].as_str(), Some(fp.as_str()));
    assert_eq!(json["blob"].as_str(), Some(blob));
    assert_eq!(json["ipAddress"], doc["ipAddress"]);

    // Power off node3, then remove it from node1.
    lab.ctl_ok(&["stop", "node3", "corosync"]);
    lab.ctl_ok(&["stop", "node3", "pmxcfs"]);
    wait_for(Duration::from_secs(30), "node1 to see 2 members", || {
        lab.has_quorum_with("node1", &[1, 2])
    });
    let out = lab.exec("node1", &["pvecm", "delnode", "node3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Killing node 3"),
        "{}",
        text(&out)
    );

    for node in ["node1", "node2"] {
        wait_for(
            Duration::from_secs(20),
            "corosync.conf without node3",
            || {
                let conf = run(&lab, node, &["cat", "/etc/pve/corosync.conf"]);
                node_names(&conf) == ["node1", "node2"] && config_version(&conf) == version + 1
            },
        );
        wait_for(Duration::from_secs(20), "local corosync.conf copy", || {
            let conf = run(&lab, node, &["cat", "/etc/corosync/corosync.conf"]);
            config_version(&conf) == version + 1
        });
        let status = run(&lab, node, &["pvecm", "status"]);
        assert!(status.contains("Nodes:            2\n"), "{status}");
        assert!(status.contains("Quorate:          Yes\n"), "{status}");
        // As in the original, the node's files stay for manual cleanup.
        run(&lab, node, &["test", "-d", "/etc/pve/nodes/node3"]);
    }

    // Unknown nodes and the local node are refused.
    let out = lab.exec("node1", &["pvecm", "delnode", "nodeX"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Node/IP: nodeX is not a known host of the cluster."),
        "{}",
        text(&out)
    );
    let out = lab.exec("node1", &["pvecm", "delnode", "node1"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Cannot delete myself from cluster!"),
        "{}",
        text(&out)
    );

    // addnode on a member: the smallest free node id, refusal of existing names; the added
    // (never started) node is then removed again, its kill answering CS_ERR_NOT_EXIST.
    run(
        &lab,
        "node1",
        &["pvecm", "addnode", "node4", "--new_node_ip", "192.0.2.4"],
    );
    let conf = run(&lab, "node1", &["cat", "/etc/pve/corosync.conf"]);
    assert_eq!(node_names(&conf), ["node1", "node2", "node4"], "{conf}");
    assert!(conf.contains("    name: node4\n    nodeid: 3\n"), "{conf}");
    assert_eq!(config_version(&conf), version + 2);
    let out = lab.exec(
        "node1",
        &["pvecm", "addnode", "node2", "--new_node_ip", "192.0.2.5"],
    );
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("can't add existing node 'node2'"),
        "{}",
        text(&out)
    );
    wait_for(Duration::from_secs(20), "node4 added on node2", || {
        let out = lab.exec("node2", &["cat", "/etc/pve/corosync.conf"]);
        node_names(&String::from_utf8_lossy(&out.stdout)) == ["node1", "node2", "node4"]
    });
    let out = lab.exec("node1", &["pvecm", "delnode", "node4"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Killing node 3"),
        "{}",
        text(&out)
    );
    wait_for(Duration::from_secs(20), "node4 removed on node1", || {
        let conf = run(&lab, "node1", &["cat", "/etc/pve/corosync.conf"]);
        node_names(&conf) == ["node1", "node2"] && config_version(&conf) == version + 3
    });
    let status = run(&lab, "node1", &["pvecm", "status"]);
    assert!(status.contains("Quorate:          Yes\n"), "{status}");
}

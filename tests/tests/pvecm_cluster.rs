//! A three-node cluster formed with pvecm only (`quorate-lab up --cluster`).

use quorate_e2e::{text, Lab};

#[test]
fn create_and_two_joins_give_one_quorate_cluster_with_a_shared_etc_pve() {
    let lab = Lab::up("e2e_cluster3", &["--nodes", "3", "--cluster", "demo"]);
    let mut nodelists = Vec::new();
    for (i, node) in ["node1", "node2", "node3"].iter().enumerate() {
        let out = lab.exec(node, &["pvecm", "status"]);
        assert!(out.status.success(), "{}", text(&out));
        let status = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(status.contains("Name:             demo\n"), "{status}");
        assert!(status.contains("Nodes:            3\n"), "{status}");
        assert!(status.contains("Quorate:          Yes\n"), "{status}");
        assert!(
            status.contains(&format!("Node ID:          0x0000000{}\n", i + 1)),
            "{status}"
        );
        let nodes = lab.exec(node, &["pvecm", "nodes", "--output-format", "json"]);
        let doc: serde_json::Value = serde_json::from_slice(&nodes.stdout).expect("nodes JSON");
        let ids: Vec<_> = doc["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["node_id"].as_u64().unwrap(),
                    m["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        nodelists.push(ids);
    }
    assert!(nodelists.windows(2).all(|w| w[0] == w[1]), "{nodelists:?}");
    assert_eq!(nodelists[0].len(), 3);

    let conf1 = lab
        .exec("node1", &["cat", "/etc/corosync/corosync.conf"])
        .stdout;
    for node in ["node2", "node3"] {
        assert_eq!(
            lab.exec(node, &["cat", "/etc/corosync/corosync.conf"])
                .stdout,
            conf1
        );
    }
    let out = lab.exec("node3", &["sh", "-c", "echo shared > /etc/pve/shared.cfg"]);
    assert!(out.status.success(), "{}", text(&out));
    for node in ["node1", "node2"] {
        let out = lab.exec(node, &["cat", "/etc/pve/shared.cfg"]);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "shared\n", "{node}");
    }
}

//! `/version`, `/cluster/status` and `/cluster/config/*` against a sample cluster directory.

mod common;

use common::{Env, EnvOptions, COROSYNC_CONF, NODE};
use serde_json::json;

#[tokio::test]
async fn version() {
    let env = Env::start().await;
    let a = env.get_root("/version").await;
    assert_eq!(
        a.data(),
        &json!({"version": "8.4.0", "release": "8.4",
                "repoid": format!("quorate-{}", env!("CARGO_PKG_VERSION"))})
    );
}

#[tokio::test]
async fn config_index_apiversion_nodes_totem() {
    let env = Env::start().await;
    let index = env.get_root("/cluster/config").await;
    let names: Vec<&str> = index
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, api::routes::cluster_config::CHILDREN);
    for child in names {
        // every listed child answers
        env.get_root(&format!("/cluster/config/{child}"))
            .await
            .data();
    }
    assert_eq!(
        env.get_root("/cluster/config/apiversion").await.data(),
        &json!(1)
    );
    assert_eq!(
        env.get_root("/cluster/config/nodes").await.data(),
        &json!([
            {"node": "n1", "name": "n1", "nodeid": "1", "quorum_votes": "1",
             "ring0_addr": "192.0.2.1"},
            {"node": "n2", "name": "n2", "nodeid": "2", "quorum_votes": "1",
             "ring0_addr": "192.0.2.2", "ring1_addr": "198.51.100.2"},
        ])
    );
    assert_eq!(
        env.get_root("/cluster/config/totem").await.data(),
        &json!({"cluster_name": "demo", "config_version": "2",
                "interface": {"0": {"linknumber": "0"}}, "ip_version": "ipv4-6",
                "link_mode": "passive", "secauth": "on", "version": "2"})
    );
}

#[tokio::test]
async fn join_information() {
    let env = Env::start().await;
    let a = env.get_root("/cluster/config/join").await;
    let data = a.data();
    let fp1 = cluster::certs::node_fingerprint(&env.pve, "n1").unwrap();
    let fp2 = cluster::certs::node_fingerprint(&env.pve, "n2").unwrap();
    assert_eq!(data["preferred_node"], NODE);
    assert_eq!(
        data["config_digest"],
        cluster::corosync_json::sha1_hex(COROSYNC_CONF.as_bytes())
    );
    assert_eq!(
        data["nodelist"],
        json!([
            {"name": "n1", "nodeid": "1", "quorum_votes": "1", "ring0_addr": "192.0.2.1",
             "pve_addr": "192.0.2.1", "pve_fp": fp1},
            {"name": "n2", "nodeid": "2", "quorum_votes": "1", "ring0_addr": "192.0.2.2",
             "ring1_addr": "198.51.100.2", "pve_addr": "192.0.2.2", "pve_fp": fp2},
        ])
    );
    assert_eq!(data["totem"]["cluster_name"], "demo");
    // the web UI's Join Information blob can be made from it, and points at this node
    let blob = cluster::join_info::JoinInformation::from_join_api(data).unwrap();
    assert_eq!(blob.ip_address, "192.0.2.1");
    assert_eq!(blob.fingerprint, env.fingerprint());
    assert_eq!(blob.link_numbers(), vec![0]);

    let a = env.get_root("/cluster/config/join?node=n2").await;
    assert_eq!(a.data()["preferred_node"], "n2");
    env.get_root("/cluster/config/join?node=n9")
        .await
        .assert_error(500, "unknown node 'n9'");
    let a = env.get_root("/cluster/config/join?node=a.b").await;
    assert_eq!(a.status, 400);
    assert!(a.body["errors"]["node"]
        .as_str()
        .unwrap()
        .contains("node name"));
}

#[tokio::test]
async fn without_a_cluster() {
    let opts = EnvOptions {
        corosync_conf: false,
        members: false,
        ..EnvOptions::default()
    };
    let env = Env::start_with(opts, |_| {}).await;
    env.get_root("/cluster/config/join")
        .await
        .assert_error(424, "node is not in a cluster, no join info available!");
    assert_eq!(
        env.get_root("/cluster/config/nodes").await.data(),
        &json!([])
    );
    assert_eq!(
        env.get_root("/cluster/config/totem").await.data(),
        &json!(null)
    );
    let status = env.get_root("/cluster/status").await;
    let list = status.data().as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["type"], "node");
    assert_eq!(list[0]["name"], NODE);
    assert_eq!(list[0]["local"], 1);
    assert_eq!(list[0]["online"], 1);
}

#[tokio::test]
async fn cluster_status_from_members() {
    let env = Env::start().await;
    let a = env.get_root("/cluster/status").await;
    assert_eq!(
        a.data(),
        &json!([
            {"type": "cluster", "id": "cluster", "name": "demo", "nodes": 2, "quorate": 1,
             "version": 2},
            {"type": "node", "id": "node/n1", "name": "n1", "nodeid": 1, "online": 1,
             "local": 1, "level": "", "ip": "192.0.2.1"},
            {"type": "node", "id": "node/n2", "name": "n2", "nodeid": 2, "online": 0,
             "local": 0, "level": "", "ip": "192.0.2.2"},
        ])
    );
}

#[tokio::test]
async fn permissions() {
    let env = Env::start_with(EnvOptions::default(), |dir| {
        std::fs::write(
            dir.join("user.cfg"),
            "user:root@pam:1:0:::root@localhost::\nuser:alice@pam:1:0::::::\n",
        )
        .unwrap();
    })
    .await;
    let alice = env.ticket("alice@pam");
    // any logged-in user: version and cluster status
    env.get_as(Some(&alice), "/version").await.data();
    env.get_as(Some(&alice), "/cluster/status").await.data();
    // Sys.Audit on / needed for /cluster/config/*
    for path in ["", "/apiversion", "/nodes", "/totem", "/join"] {
        env.get_as(Some(&alice), &format!("/cluster/config{path}"))
            .await
            .assert_error(403, "Permission check failed (/, Sys.Audit)");
        env.get_as(None, &format!("/cluster/config{path}"))
            .await
            .assert_error(401, "No ticket");
    }
    env.get_as(None, "/cluster/status")
        .await
        .assert_error(401, "No ticket");
}

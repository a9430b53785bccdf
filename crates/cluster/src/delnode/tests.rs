use super::*;

const THREE: &str = "logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n  node {\n    name: pve1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n  }\n  node {\n    name: pve2\n    nodeid: 2\n    quorum_votes: 1\n    ring0_addr: 10.0.0.2\n  }\n  node {\n    name: pve3\n    nodeid: 3\n    quorum_votes: 1\n    ring0_addr: 10.0.0.3\n  }\n}\n\nquorum {\n  provider: corosync_votequorum\n}\n\ntotem {\n  cluster_name: demo\n  config_version: 3\n  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  token_coefficient: 125\n  version: 2\n}\n\n";

const PVE3: &str =
    "  node {\n    name: pve3\n    nodeid: 3\n    quorum_votes: 1\n    ring0_addr: 10.0.0.3\n  }\n";

#[test]
fn removes_the_node_block_and_bumps_the_version() {
    let out = edit_conf(THREE, "pve3", "pve1").unwrap();
    let expected = THREE
        .replace(PVE3, "")
        .replace("config_version: 3", "config_version: 4");
    assert_eq!(out.text, expected);
    assert_eq!((out.name.as_str(), out.nodeid), ("pve3", Some(3)));
}

#[test]
fn finds_the_node_by_its_link_address() {
    let out = edit_conf(THREE, "10.0.0.2", "pve1").unwrap();
    assert_eq!((out.name.as_str(), out.nodeid), ("pve2", Some(2)));
    assert!(!out.text.contains("name: pve2"));
    assert!(out.text.contains("name: pve3"));
}

#[test]
fn refuses_the_local_node_and_unknown_nodes() {
    let e = edit_conf(THREE, "pve1", "pve1").unwrap_err();
    assert_eq!(e.to_string(), "Cannot delete myself from cluster!");
    let e = edit_conf(THREE, "10.0.0.1", "pve1").unwrap_err();
    assert_eq!(e.to_string(), "Cannot delete myself from cluster!");
    let e = edit_conf(THREE, "nodeX", "pve1").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Node/IP: nodeX is not a known host of the cluster."
    );
}

#[test]
fn apply_writes_the_file_and_kills_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let pve = PveDir::new(dir.path());
    std::fs::write(pve.corosync_conf(), THREE).unwrap();
    std::fs::create_dir_all(pve.node_dir("pve3")).unwrap();
    let mut killed = None;
    let out = apply(&pve, "pve3", "pve1", |id| {
        killed = Some(id);
        assert_eq!(std::fs::read_to_string(pve.corosync_conf()).unwrap(), THREE);
    })
    .unwrap();
    assert_eq!(killed, Some(3));
    assert_eq!(
        std::fs::read_to_string(pve.corosync_conf()).unwrap(),
        out.text
    );
    assert!(pve.node_dir("pve3").is_dir(), "node files stay");
    assert!(!dir.path().join("corosync.conf.new").exists());
    let e = apply(&pve, "pve3", "pve1", |_| panic!("no kill")).unwrap_err();
    assert!(e.to_string().contains("not a known host"));
}

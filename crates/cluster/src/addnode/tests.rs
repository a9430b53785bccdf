use super::*;
use crate::links::parse_links;

const ONE: &str = "logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n  node {\n    name: pve1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.0.0.1\n  }\n}\n\nquorum {\n  provider: corosync_votequorum\n}\n\ntotem {\n  cluster_name: demo\n  config_version: 1\n  interface {\n    linknumber: 0\n  }\n  ip_version: ipv4-6\n  link_mode: passive\n  secauth: on\n  token_coefficient: 125\n  version: 2\n}\n\n";

fn params(node: &str) -> AddNodeParams {
    AddNodeParams {
        node: node.into(),
        new_node_ip: Some("10.0.0.2".into()),
        apiversion: 1,
        ..AddNodeParams::default()
    }
}

fn err(text: &str, p: &AddNodeParams) -> String {
    edit_conf(text, p).unwrap_err().to_string()
}

#[test]
fn new_node_with_fallback_ip_gives_the_exact_text() {
    let out = edit_conf(ONE, &params("pve2")).unwrap();
    let expected = ONE
        .replace(
            "    ring0_addr: 10.0.0.1\n  }\n",
            "    ring0_addr: 10.0.0.1\n  }\n  node {\n    name: pve2\n    nodeid: 2\n    quorum_votes: 1\n    ring0_addr: 10.0.0.2\n  }\n",
        )
        .replace("config_version: 1", "config_version: 2");
    assert_eq!(out.text, expected);
    assert!(out.notes.is_empty());
}

#[test]
fn zero_votes_omit_quorum_votes_and_ids_fill_gaps() {
    let mut p = params("pve2");
    p.votes = Some(0);
    p.nodeid = Some(7);
    let out = edit_conf(ONE, &p).unwrap();
    assert!(out
        .text
        .contains("  node {\n    name: pve2\n    nodeid: 7\n    ring0_addr: 10.0.0.2\n  }\n"));
    let mut p3 = params("pve3");
    p3.new_node_ip = Some("10.0.0.3".into());
    let out = edit_conf(&out.text, &p3).unwrap();
    assert!(
        out.text.contains("    name: pve3\n    nodeid: 2\n"),
        "{}",
        out.text
    );
    assert!(out.text.contains("config_version: 3"));
}

#[test]
fn explicit_links_and_the_legacy_fallback() {
    let mut p = params("pve2");
    p.new_node_ip = None;
    p.links = parse_links([(0, "10.0.0.9")]).unwrap();
    assert!(edit_conf(ONE, &p)
        .unwrap()
        .text
        .contains("ring0_addr: 10.0.0.9"));
    p.apiversion = 0; // legacy: the one link becomes new_node_ip
    assert!(edit_conf(ONE, &p)
        .unwrap()
        .text
        .contains("ring0_addr: 10.0.0.9"));
    p.apiversion = 1;
    p.links = parse_links([(0, "10.0.0.9"), (1, "10.1.0.9")]).unwrap();
    assert_eq!(
        err(ONE, &p),
        "corosync: link 1 specified for new node doesn't exist in cluster config"
    );
    p.links = parse_links([(1, "10.1.0.9")]).unwrap();
    assert_eq!(
        err(ONE, &p),
        "corosync: link 0 exists in cluster config but wasn't specified for new node"
    );
    p.links = Links::new();
    assert_eq!(
        err(ONE, &p),
        "no links and no fallback ip (new_node_ip) given, cannot join cluster"
    );
}

#[test]
fn clashes_are_refused_with_the_original_messages() {
    let mut p = params("pve2");
    p.new_node_ip = None;
    p.links = parse_links([(0, "10.0.0.1")]).unwrap();
    assert_eq!(
        err(ONE, &p),
        "corosync: address '10.0.0.1' already used on link ring0_addr by node 'pve1'"
    );
    let p = params("pve1");
    assert_eq!(err(ONE, &p), "can't add existing node 'pve1'");
    let mut p = params("pve2");
    p.nodeid = Some(1);
    assert_eq!(err(ONE, &p), "Node ID 1 already used by node 'pve1'");
    let mut p = params("pve2");
    p.apiversion = -1;
    assert!(err(ONE, &p).starts_with("error: unsupported old API version on joining node (-1)"));
    assert!(err("totem {\n}\n", &params("pve2")).starts_with("invalid corosync.conf\n"));
}

#[test]
fn force_overwrites_an_identical_entry() {
    let mut p = params("pve1");
    p.force = true;
    p.new_node_ip = Some("10.0.0.5".into());
    let out = edit_conf(ONE, &p).unwrap();
    assert_eq!(out.notes, ["forcing overwrite of configured node 'pve1'"]);
    assert!(out.text.contains(
        "    name: pve1\n    nodeid: 1\n    quorum_votes: 1\n    ring0_addr: 10.0.0.5\n"
    ));
    p.votes = Some(2);
    assert_eq!(err(ONE, &p), "can't add existing node 'pve1'");
}

#[test]
fn apply_writes_the_file_and_returns_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let pve = PveDir::new(dir.path().join("pve"));
    std::fs::create_dir_all(pve.root()).unwrap();
    std::fs::write(pve.corosync_conf(), ONE).unwrap();
    let key = dir.path().join("authkey");
    std::fs::write(&key, [0u8, 10, 0xff, b'a']).unwrap();
    let answer = apply(&pve, &key, &params("pve2")).unwrap();
    assert_eq!(answer.corosync_authkey, "\u{0}\n\u{ff}a");
    assert_eq!(
        std::fs::read_to_string(pve.corosync_conf()).unwrap(),
        answer.corosync_conf
    );
    assert!(pve.node_dir("pve2").join("qemu-server").is_dir());
    assert!(!pve.root().join("corosync.conf.new").exists());
    assert_eq!(node_count(&answer.corosync_conf), 2);
}
